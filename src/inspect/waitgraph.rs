//! The wait-for graph — thread → what it waits on → who holds that — and
//! its cycles, which are deadlocks.
//!
//! A primitive with several holders (a semaphore's permits) is an OR-wait:
//! its waiter goes on when *any* holder releases. So a cycle through it is
//! a deadlock only when every holder is stuck too; a holder outside the
//! cycle that can still run keeps it from being one. Before looking for
//! cycles the graph is cut down to its stuck nodes: a thread is stuck when
//! what it waits for is; a primitive when it has holders and all of them
//! are stuck (for a lock, its one holder).

use super::deadlock::{CycleStep, Deadlock};
use super::links::{PrimitiveLink, ThreadLink};
use super::snapshot::{PrimitiveView, ThreadView};
use crate::threading::{PrimitiveKind, RegistrySnapshot, WaitKind};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A node: a thread or a primitive, by registry id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// A thread.
    Thread(u64),
    /// A primitive.
    Primitive(u64),
}

/// Who waits for whom, from one registry snapshot.
#[derive(Debug, Default, Clone)]
pub struct WaitGraph {
    pub(super) edges: BTreeMap<Node, BTreeSet<Node>>,
    /// Every holder of each held primitive, edges or not: an OR-wait is
    /// released by any of them.
    pub(super) holders: HashMap<u64, Vec<u64>>,
    pub(super) threads: HashMap<u64, ThreadLink>,
    pub(super) primitives: HashMap<u64, PrimitiveLink>,
}

impl WaitGraph {
    /// The graph of `snapshot`: a thread points at the primitive it waits
    /// on (or the thread it joins), a primitive at its holders.
    pub fn from_snapshot(snapshot: &RegistrySnapshot) -> Self {
        let mut graph = Self::default();
        for t in &snapshot.threads {
            graph.threads.insert(t.id, ThreadLink { key: t.id, tid: t.native_id, name: t.name.clone() });
        }
        for p in &snapshot.primitives {
            graph.primitives.insert(p.id, PrimitiveLink { id: p.id, kind: p.kind, name: p.name.clone() });
            let node = Node::Primitive(p.id);
            for holder in &p.holders {
                graph.edge(node, Node::Thread(holder.id));
            }
            if !p.holders.is_empty() {
                graph.holders.insert(p.id, p.holders.iter().map(|h| h.id).collect());
            }
        }
        for t in &snapshot.threads {
            let node = Node::Thread(t.id);
            let Some(on) = &t.waiting_on else { continue };
            match on.primitive {
                Some(id) => graph.edge(node, Node::Primitive(id)),
                None if on.kind == WaitKind::Join => {
                    for joined in &on.holders {
                        graph.edge(node, Node::Thread(joined.id));
                    }
                }
                None => {}
            }
        }
        graph
    }

    /// The graph of a merged snapshot's `threads` and the primitives whose
    /// ids are in `only` (a runtime's locks): a thread (by key) points at
    /// the primitive it waits on, a primitive at its holders; a thread in
    /// `joining` (whose join the runtime saw) at the thread it joins.
    pub fn from_views(
        threads: &[ThreadView],
        primitives: &[PrimitiveView],
        only: &[u64],
        joining: &[u64],
    ) -> Self {
        // Links for the threads in an edge only: of 10,000 threads, those
        // that wait on or hold a lock the search covers, or join.
        let mut graph = Self::default();
        for p in primitives.iter().filter(|p| only.contains(&p.id)) {
            graph.primitives.insert(p.id, PrimitiveLink { id: p.id, kind: p.kind, name: p.name.clone() });
            for holder in &p.holders {
                graph.edge(Node::Primitive(p.id), Node::Thread(holder.key));
                graph.threads.entry(holder.key).or_insert_with(|| holder.clone());
            }
            if !p.holders.is_empty() {
                graph.holders.insert(p.id, p.holders.iter().map(|h| h.key).collect());
            }
        }
        for t in threads {
            let Some(on) = &t.waiting_on else { continue };
            match on.primitive {
                Some(id) if only.contains(&id) => graph.edge(Node::Thread(t.key), Node::Primitive(id)),
                // A join waits for its thread: stuck if that thread is.
                None if on.kind == WaitKind::Join && joining.contains(&t.key) => {
                    for joined in &on.holders {
                        graph.edge(Node::Thread(t.key), Node::Thread(joined.key));
                        graph.threads.entry(joined.key).or_insert_with(|| joined.clone());
                    }
                }
                _ => continue,
            }
            graph.threads.insert(t.key, t.link());
        }
        graph
    }

    pub(super) fn edge(&mut self, from: Node, to: Node) {
        self.edges.entry(from).or_default().insert(to);
    }

    fn thread_link(&self, id: u64) -> ThreadLink {
        self.threads.get(&id).cloned().unwrap_or(ThreadLink { key: id, tid: None, name: "?".to_owned() })
    }

    fn primitive_link(&self, id: u64) -> PrimitiveLink {
        self.primitives.get(&id).cloned().unwrap_or(PrimitiveLink {
            id,
            kind: PrimitiveKind::Lock,
            name: "?".to_owned(),
        })
    }

    /// The nodes that cannot go on: the greatest set in which every thread
    /// waits only for stuck things and every primitive has holders, all stuck.
    fn stuck(&self) -> BTreeSet<Node> {
        let mut stuck: BTreeSet<Node> = self
            .edges
            .iter()
            .flat_map(|(from, to)| std::iter::once(*from).chain(to.iter().copied()))
            .collect();
        loop {
            let before = stuck.len();
            let keep: Vec<Node> = stuck
                .iter()
                .copied()
                .filter(|&node| match node {
                    Node::Thread(_) => self
                        .edges
                        .get(&node)
                        .is_some_and(|to| !to.is_empty() && to.iter().all(|t| stuck.contains(t))),
                    Node::Primitive(id) => {
                        let edges = self.edges.get(&node).map(|to| to.iter().filter_map(thread_id).collect());
                        let holders = self.holders.get(&id).cloned().or(edges).unwrap_or_default();
                        !holders.is_empty() && holders.iter().all(|h| stuck.contains(&Node::Thread(*h)))
                    }
                })
                .collect();
            stuck = keep.into_iter().collect();
            if stuck.len() == before {
                return stuck;
            }
        }
    }

    /// The threads and primitives on some cycle of stuck nodes: what
    /// confirming those cycles has to re-read. Both empty when there is
    /// no cycle.
    pub fn cycle_members(&self) -> (Vec<u64>, Vec<u64>) {
        let mut threads = Vec::new();
        let mut primitives = Vec::new();
        for node in self.strongly_connected(&self.stuck()).into_iter().flatten() {
            match node {
                Node::Thread(id) => threads.push(id),
                Node::Primitive(id) => primitives.push(id),
            }
        }
        (threads, primitives)
    }

    /// Every deadlock: one cycle per strongly connected component of stuck
    /// nodes that has one, in a stable order. On a single snapshot these
    /// are only candidates (its records were read at different moments);
    /// see [`confirmed_deadlocks`](super::confirmed_deadlocks).
    pub fn deadlocks(&self) -> Vec<Deadlock> {
        let stuck = self.stuck();
        let mut out = Vec::new();
        for component in self.strongly_connected(&stuck) {
            let members: BTreeSet<Node> = component.iter().copied().collect();
            let Some(&start) = members.iter().find(|n| matches!(n, Node::Thread(_))) else { continue };
            if let Some(path) = self.cycle_from(start, &members) {
                out.push(self.deadlock(&path, &members));
            }
        }
        out.sort_by_key(|d| d.threads.iter().map(|t| t.key).min());
        out
    }

    /// One cycle through `path`; its threads and primitives are every
    /// member of the component (with shared primitives, more can be stuck
    /// together than one cycle passes through).
    fn deadlock(&self, path: &[Node], members: &BTreeSet<Node>) -> Deadlock {
        let mut threads = Vec::new();
        let mut primitives = Vec::new();
        for &node in members {
            match node {
                Node::Thread(id) => threads.push(self.thread_link(id)),
                Node::Primitive(id) => primitives.push(self.primitive_link(id)),
            }
        }
        let mut cycle = Vec::new();
        for (i, &node) in path.iter().enumerate() {
            match node {
                Node::Thread(id) => {
                    let link = self.thread_link(id);
                    cycle.push(CycleStep::Thread(link));
                    // A join points thread → thread: name the wait itself.
                    if let Node::Thread(next) = path[(i + 1) % path.len()] {
                        cycle.push(CycleStep::Join { of: self.thread_link(next) });
                    }
                }
                Node::Primitive(id) => cycle.push(CycleStep::Primitive(self.primitive_link(id))),
            }
        }
        Deadlock { cycle, threads, primitives }
    }

    /// A path from `start` back to it, staying inside `members`.
    fn cycle_from(&self, start: Node, members: &BTreeSet<Node>) -> Option<Vec<Node>> {
        let mut path = vec![start];
        let mut visited = BTreeSet::from([start]);
        let mut iters: Vec<Vec<Node>> = vec![self.successors(start, members)];
        while let Some(next) = iters.last_mut() {
            match next.pop() {
                Some(node) if node == start => return Some(path),
                Some(node) if visited.insert(node) => {
                    path.push(node);
                    iters.push(self.successors(node, members));
                }
                Some(_) => {}
                None => {
                    iters.pop();
                    path.pop();
                }
            }
        }
        None
    }

    fn successors(&self, node: Node, members: &BTreeSet<Node>) -> Vec<Node> {
        let mut next: Vec<Node> =
            self.edges.get(&node).into_iter().flatten().copied().filter(|n| members.contains(n)).collect();
        next.reverse(); // popped from the back: visit in ascending order
        next
    }

    /// Tarjan's algorithm, iteratively, over the nodes in `within`; only
    /// components with a cycle.
    fn strongly_connected(&self, within: &BTreeSet<Node>) -> Vec<Vec<Node>> {
        let next_of = |node: &Node| -> Vec<Node> {
            self.edges.get(node).into_iter().flatten().copied().filter(|n| within.contains(n)).collect()
        };
        let mut index: HashMap<Node, usize> = HashMap::new();
        let mut low: HashMap<Node, usize> = HashMap::new();
        let mut on_stack: BTreeSet<Node> = BTreeSet::new();
        let mut stack: Vec<Node> = Vec::new();
        let mut out = Vec::new();
        let mut counter = 0;
        for &root in within {
            if index.contains_key(&root) {
                continue;
            }
            let mut work: Vec<(Node, Vec<Node>)> = Vec::new();
            index.insert(root, counter);
            low.insert(root, counter);
            counter += 1;
            stack.push(root);
            on_stack.insert(root);
            work.push((root, next_of(&root)));
            while let Some((node, pending)) = work.last_mut() {
                let node = *node;
                if let Some(next) = pending.pop() {
                    if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(next) {
                        slot.insert(counter);
                        low.insert(next, counter);
                        counter += 1;
                        stack.push(next);
                        on_stack.insert(next);
                        work.push((next, next_of(&next)));
                    } else if on_stack.contains(&next) {
                        let l = low[&node].min(index[&next]);
                        low.insert(node, l);
                    }
                    continue;
                }
                work.pop();
                if let Some((parent, _)) = work.last() {
                    let l = low[parent].min(low[&node]);
                    low.insert(*parent, l);
                }
                if low[&node] == index[&node] {
                    let mut component = Vec::new();
                    while let Some(member) = stack.pop() {
                        on_stack.remove(&member);
                        component.push(member);
                        if member == node {
                            break;
                        }
                    }
                    let self_loop = self.edges.get(&node).is_some_and(|e| e.contains(&node));
                    if component.len() > 1 || self_loop {
                        component.sort();
                        out.push(component);
                    }
                }
            }
        }
        out
    }
}

fn thread_id(node: &Node) -> Option<u64> {
    match node {
        Node::Thread(id) => Some(*id),
        Node::Primitive(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threading::{
        PrimitiveKind, PrimitiveSnapshot, PrimitiveStats, StateTimes, ThreadOrigin, ThreadRef,
        ThreadSnapshot, ThreadState, WaitSnapshot,
    };
    use std::time::Duration;

    /// (kind, primitive id, holders) of a wait.
    type Waits<'a> = (&'a str, Option<u64>, Vec<(u64, &'a str)>);

    fn wait_kind(word: &str) -> WaitKind {
        match word {
            "join" => WaitKind::Join,
            "semaphore" => WaitKind::Primitive(PrimitiveKind::Semaphore),
            _ => WaitKind::Primitive(PrimitiveKind::Lock),
        }
    }

    fn thread(id: u64, name: &str, waits: Option<Waits<'_>>) -> ThreadSnapshot {
        ThreadSnapshot {
            id,
            name: name.to_owned(),
            ident: Some(id),
            native_id: Some(id as u32),
            daemon: false,
            origin: ThreadOrigin::Managed,
            state: if waits.is_some() { ThreadState::Waiting } else { ThreadState::Running },
            waiting_on: waits.map(|(kind, primitive, holders)| WaitSnapshot {
                kind: wait_kind(kind),
                name: String::new(),
                role: None,
                primitive,
                holders: holders.into_iter().map(|(id, n)| ThreadRef { id, name: n.to_owned() }).collect(),
                waited: Duration::ZERO,
                remaining: None,
            }),
            holds: Vec::new(),
            time_in_state: StateTimes::default(),
            age: Duration::ZERO,
            outcome: None,
            wait_backtrace: None,
        }
    }

    fn primitive(id: u64, name: &str, holders: &[(u64, &str)]) -> PrimitiveSnapshot {
        PrimitiveSnapshot {
            id,
            kind: PrimitiveKind::Lock,
            name: name.to_owned(),
            holders: holders.iter().map(|&(id, n)| ThreadRef { id, name: n.to_owned() }).collect(),
            waiters: Vec::new(),
            stats: PrimitiveStats::default(),
            details: Default::default(),
            related: None,
            last_raise: None,
        }
    }

    #[test]
    fn abba_is_one_deadlock() {
        let snapshot = RegistrySnapshot {
            threads: vec![
                thread(1, "AB", Some(("lock", Some(11), vec![]))),
                thread(2, "BA", Some(("lock", Some(10), vec![]))),
            ],
            primitives: vec![primitive(10, "A", &[(1, "AB")]), primitive(11, "B", &[(2, "BA")])],
        };
        let deadlocks = WaitGraph::from_snapshot(&snapshot).deadlocks();
        assert_eq!(deadlocks.len(), 1);
        assert_eq!(deadlocks[0].names(), ["AB", "B", "BA", "A"]);
        assert_eq!(
            deadlocks[0].describe(),
            "AB (tid 1) waits for lock B held by BA (tid 2); BA (tid 2) waits for lock A held by AB (tid 1)"
        );
    }

    #[test]
    fn a_chain_without_a_cycle_is_no_deadlock() {
        let snapshot = RegistrySnapshot {
            threads: vec![thread(1, "waiter", Some(("lock", Some(10), vec![]))), thread(2, "holder", None)],
            primitives: vec![primitive(10, "L", &[(2, "holder")])],
        };
        assert!(WaitGraph::from_snapshot(&snapshot).deadlocks().is_empty());
    }

    #[test]
    fn five_philosophers_make_one_cycle_of_ten() {
        let threads = (0..5)
            .map(|i| thread(i + 1, &format!("P{i}"), Some(("lock", Some(10 + (i + 1) % 5), vec![]))))
            .collect();
        let primitives = (0..5).map(|i| primitive(10 + i, &format!("fork-{i}"), &[(i + 1, "")])).collect();
        let deadlocks = WaitGraph::from_snapshot(&RegistrySnapshot { threads, primitives }).deadlocks();
        assert_eq!(deadlocks.len(), 1);
        assert_eq!(deadlocks[0].threads.len(), 5);
        assert_eq!(deadlocks[0].primitives.len(), 5);
        assert_eq!(deadlocks[0].names()[..2], ["P0".to_owned(), "fork-1".to_owned()]);
    }

    #[test]
    fn two_threads_joining_each_other_deadlock() {
        let snapshot = RegistrySnapshot {
            threads: vec![
                thread(1, "A", Some(("join", None, vec![(2, "B")]))),
                thread(2, "B", Some(("join", None, vec![(1, "A")]))),
            ],
            primitives: vec![],
        };
        let deadlocks = WaitGraph::from_snapshot(&snapshot).deadlocks();
        assert_eq!(deadlocks[0].names(), ["A", "join of B", "B", "join of A"]);
        assert_eq!(
            deadlocks[0].describe(),
            "A (tid 1) waits for the end of B (tid 2); B (tid 2) waits for the end of A (tid 1)"
        );
    }

    fn semaphore(id: u64, name: &str, holders: &[(u64, &str)]) -> PrimitiveSnapshot {
        PrimitiveSnapshot { kind: PrimitiveKind::Semaphore, ..primitive(id, name, holders) }
    }

    #[test]
    fn a_semaphore_whose_other_holder_runs_is_no_deadlock() {
        // T1 holds a permit of S and waits on L; T2 holds L and waits on S,
        // whose other permit T3 holds while running: T3 can release S, so
        // T2 and then T1 go on. An OR-wait, not a deadlock.
        let snapshot = RegistrySnapshot {
            threads: vec![
                thread(1, "T1", Some(("lock", Some(20), vec![]))),
                thread(2, "T2", Some(("semaphore", Some(21), vec![]))),
                thread(3, "T3", None),
            ],
            primitives: vec![primitive(20, "L", &[(2, "T2")]), semaphore(21, "S", &[(1, "T1"), (3, "T3")])],
        };
        let graph = WaitGraph::from_snapshot(&snapshot);
        assert!(graph.deadlocks().is_empty());
        assert_eq!(graph.cycle_members(), (vec![], vec![]));
    }

    #[test]
    fn a_semaphore_whose_holders_are_all_stuck_is_a_deadlock() {
        // As above, but T3 waits on L too: nobody can release S.
        let snapshot = RegistrySnapshot {
            threads: vec![
                thread(1, "T1", Some(("lock", Some(20), vec![]))),
                thread(2, "T2", Some(("semaphore", Some(21), vec![]))),
                thread(3, "T3", Some(("lock", Some(20), vec![]))),
            ],
            primitives: vec![primitive(20, "L", &[(2, "T2")]), semaphore(21, "S", &[(1, "T1"), (3, "T3")])],
        };
        let deadlocks = WaitGraph::from_snapshot(&snapshot).deadlocks();
        assert_eq!(deadlocks.len(), 1);
        let tids: Vec<Option<u32>> = deadlocks[0].threads.iter().map(|t| t.tid).collect();
        assert_eq!(tids, [Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn a_thread_queued_behind_a_deadlock_is_not_in_its_cycle() {
        let snapshot = RegistrySnapshot {
            threads: vec![
                thread(1, "AB", Some(("lock", Some(11), vec![]))),
                thread(2, "BA", Some(("lock", Some(10), vec![]))),
                thread(3, "late", Some(("lock", Some(10), vec![]))),
            ],
            primitives: vec![primitive(10, "A", &[(1, "AB")]), primitive(11, "B", &[(2, "BA")])],
        };
        let deadlocks = WaitGraph::from_snapshot(&snapshot).deadlocks();
        assert_eq!(deadlocks.len(), 1);
        assert_eq!(deadlocks[0].threads.len(), 2);
    }
}
