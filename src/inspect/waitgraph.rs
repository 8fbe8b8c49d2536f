//! The wait-for graph — thread → what it waits on → who holds that — and
//! its cycles, which are deadlocks.

use crate::threading::{RegistrySnapshot, WaitKind};
use serde::Serialize;
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
    pub(super) names: HashMap<Node, String>,
}

/// One deadlock: a cycle of threads and primitives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadlock {
    /// Names around the cycle, alternating thread and what it waits on
    /// (a primitive, or for a join the joined thread), starting from the
    /// lowest thread id.
    pub cycle: Vec<String>,
    /// The threads in it.
    pub threads: Vec<String>,
    /// The primitives in it.
    pub primitives: Vec<String>,
}

impl Deadlock {
    /// In words: `Philosopher-0 waits for fork-1 held by Philosopher-1; Philosopher-1 waits for …`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .cycle
            .chunks(2)
            .enumerate()
            .map(|(i, pair)| match pair {
                [thread, on] if on.starts_with("join of ") => format!("{thread} waits for the {on}"),
                [thread, on] => {
                    let holder = &self.cycle[(2 * i + 2) % self.cycle.len()];
                    format!("{thread} waits for {on} held by {holder}")
                }
                other => other.join(" "),
            })
            .collect();
        parts.join("; ")
    }
}

impl WaitGraph {
    /// The graph of `snapshot`: a thread points at the primitive it waits
    /// on (or the thread it joins), a primitive at its holders.
    pub fn from_snapshot(snapshot: &RegistrySnapshot) -> Self {
        let mut graph = Self::default();
        for p in &snapshot.primitives {
            let node = Node::Primitive(p.id);
            graph.names.insert(node, p.name.clone());
            for holder in &p.holders {
                graph.edge(node, Node::Thread(holder.id));
            }
        }
        for t in &snapshot.threads {
            let node = Node::Thread(t.id);
            graph.names.insert(node, t.name.clone());
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

    pub(super) fn edge(&mut self, from: Node, to: Node) {
        self.edges.entry(from).or_default().insert(to);
    }

    fn name(&self, node: Node) -> String {
        self.names.get(&node).cloned().unwrap_or_else(|| "?".to_owned())
    }

    /// The threads and primitives on some cycle (members of a strongly
    /// connected component that has one): what confirming those cycles
    /// has to re-read. Both empty when there is no cycle.
    pub fn cycle_members(&self) -> (Vec<u64>, Vec<u64>) {
        let mut threads = Vec::new();
        let mut primitives = Vec::new();
        for node in self.strongly_connected().into_iter().flatten() {
            match node {
                Node::Thread(id) => threads.push(id),
                Node::Primitive(id) => primitives.push(id),
            }
        }
        (threads, primitives)
    }

    /// Every deadlock: one cycle per strongly connected component that has
    /// one, in a stable order. On a single snapshot these are only
    /// candidates (its records were read at different moments); see
    /// [`confirmed_deadlocks`](super::confirmed_deadlocks).
    pub fn deadlocks(&self) -> Vec<Deadlock> {
        let mut out = Vec::new();
        for component in self.strongly_connected() {
            let members: BTreeSet<Node> = component.iter().copied().collect();
            let Some(&start) = members.iter().find(|n| matches!(n, Node::Thread(_))) else { continue };
            if let Some(path) = self.cycle_from(start, &members) {
                out.push(self.deadlock(&path));
            }
        }
        out
    }

    fn deadlock(&self, path: &[Node]) -> Deadlock {
        let mut threads = Vec::new();
        let mut primitives = Vec::new();
        let mut cycle = Vec::new();
        for (i, &node) in path.iter().enumerate() {
            let name = self.name(node);
            match node {
                Node::Thread(_) => {
                    threads.push(name.clone());
                    cycle.push(name);
                    // A join points thread → thread: name the wait itself.
                    let next = path[(i + 1) % path.len()];
                    if let Node::Thread(_) = next {
                        cycle.push(format!("join of {}", self.name(next)));
                    }
                }
                Node::Primitive(_) => {
                    primitives.push(name.clone());
                    cycle.push(name);
                }
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

    /// Tarjan's algorithm, iteratively; only components with a cycle.
    fn strongly_connected(&self) -> Vec<Vec<Node>> {
        let nodes: BTreeSet<Node> = self
            .edges
            .iter()
            .flat_map(|(from, to)| std::iter::once(*from).chain(to.iter().copied()))
            .collect();
        let mut index: HashMap<Node, usize> = HashMap::new();
        let mut low: HashMap<Node, usize> = HashMap::new();
        let mut on_stack: BTreeSet<Node> = BTreeSet::new();
        let mut stack: Vec<Node> = Vec::new();
        let mut out = Vec::new();
        let mut counter = 0;
        for &root in &nodes {
            if index.contains_key(&root) {
                continue;
            }
            let mut work: Vec<(Node, Vec<Node>)> = Vec::new();
            index.insert(root, counter);
            low.insert(root, counter);
            counter += 1;
            stack.push(root);
            on_stack.insert(root);
            work.push((root, self.edges.get(&root).into_iter().flatten().copied().collect()));
            while let Some((node, pending)) = work.last_mut() {
                let node = *node;
                if let Some(next) = pending.pop() {
                    if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(next) {
                        slot.insert(counter);
                        low.insert(next, counter);
                        counter += 1;
                        stack.push(next);
                        on_stack.insert(next);
                        work.push((next, self.edges.get(&next).into_iter().flatten().copied().collect()));
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
        out.sort();
        out
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
        assert_eq!(deadlocks[0].cycle, ["AB", "B", "BA", "A"]);
        assert_eq!(deadlocks[0].describe(), "AB waits for B held by BA; BA waits for A held by AB");
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
        assert_eq!(deadlocks[0].cycle[..2], ["P0".to_owned(), "fork-1".to_owned()]);
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
        assert_eq!(deadlocks[0].cycle, ["A", "join of B", "B", "join of A"]);
    }

    #[test]
    fn a_semaphore_holder_in_the_cycle_counts() {
        // T1 holds a permit of S and waits on L; T2 holds L and waits on S,
        // whose other permit T3 holds while running.
        let snapshot = RegistrySnapshot {
            threads: vec![
                thread(1, "T1", Some(("lock", Some(20), vec![]))),
                thread(2, "T2", Some(("semaphore", Some(21), vec![]))),
                thread(3, "T3", None),
            ],
            primitives: vec![primitive(20, "L", &[(2, "T2")]), primitive(21, "S", &[(1, "T1"), (3, "T3")])],
        };
        let deadlocks = WaitGraph::from_snapshot(&snapshot).deadlocks();
        assert_eq!(deadlocks.len(), 1);
        assert_eq!(deadlocks[0].threads, ["T1", "T2"]);
    }
}
