//! Deadlocks confirmed before they are reported.
//!
//! A registry snapshot reads each record at its own moment, so a cycle in
//! its wait-for graph may be made of edges that never existed together —
//! a philosopher still shown waiting for a fork he has just been given, a
//! fork shown with the holder it had a moment before. A real deadlock does
//! not change, so it survives a re-read; a torn one does not.
//!
//! Confirmation costs nothing unless the snapshot has a cycle. Then only
//! the records on it are re-read ([`Registry::read_waits`]: statuses,
//! holders, statuses), and a graph is rebuilt from the edges that re-read
//! proves held at one instant:
//!
//! - a thread's edge, when both reads of its status have the same change
//!   count (one unbroken wait) and the same target;
//! - a primitive's edge to a holder, when that holder is such a thread: it
//!   cannot make itself a holder again while it waits, so it held from
//!   before its first status read until the holder read.
//!
//! Every kept edge held at the end of the first status pass; a cycle among
//! them was a cycle at that instant. Since a thread stops waiting before it
//! publishes a hold (see the registry's snapshot notes), the records never
//! show, at one instant, a wait-for cycle the threads were not in.

use super::deadlock::Deadlock;
use super::waitgraph::{Node, WaitGraph};
use crate::threading::{Registry, RegistrySnapshot, WaitEdge, WaitReads};
use std::collections::HashMap;

/// The deadlocks of `snapshot`, each confirmed against a re-read of the
/// records on it in `registry` (the registry the snapshot was taken from).
///
/// A deadlock that existed when the snapshot was taken is still there for
/// the re-read and is reported; a cycle made of reads from different
/// moments is not.
pub fn confirmed_deadlocks(registry: &Registry, snapshot: &RegistrySnapshot) -> Vec<Deadlock> {
    let candidates = WaitGraph::from_snapshot(snapshot);
    let (threads, primitives) = candidates.cycle_members();
    if threads.is_empty() {
        return Vec::new();
    }
    candidates.confirmed(&registry.read_waits(&threads, &primitives)).deadlocks()
}

impl WaitGraph {
    /// The part of this graph's cycles that `reads` proves held at one
    /// instant, as a graph of its own (names kept from this one).
    pub fn confirmed(&self, reads: &WaitReads) -> WaitGraph {
        let stable: HashMap<u64, WaitEdge> = reads
            .before
            .iter()
            .zip(&reads.after)
            .filter(|(first, second)| first == second)
            .filter_map(|(_, read)| read.waits.map(|edge| (read.thread, edge)))
            .collect();
        let mut graph = WaitGraph {
            threads: self.threads.clone(),
            primitives: self.primitives.clone(),
            ..WaitGraph::default()
        };
        for (&thread, &edge) in &stable {
            let to = match edge {
                WaitEdge::Primitive(id) => Node::Primitive(id),
                WaitEdge::Join(id) => Node::Thread(id),
            };
            graph.edge(Node::Thread(thread), to);
        }
        for read in &reads.holders {
            // Every holder as re-read, stable or not: any one of them that
            // can still run may release a shared primitive (an OR-wait).
            if !read.holders.is_empty() {
                graph.holders.insert(read.primitive, read.holders.clone());
            }
            for holder in read.holders.iter().filter(|h| stable.contains_key(h)) {
                graph.edge(Node::Primitive(read.primitive), Node::Thread(*holder));
            }
        }
        graph
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::{PrimitiveLink, ThreadLink};
    use crate::threading::{HoldersRead, PrimitiveKind, StatusRead};

    fn status(thread: u64, changes: u64, waits: Option<WaitEdge>) -> StatusRead {
        StatusRead { thread, changes, waits }
    }

    fn holders(primitive: u64, holders: &[u64]) -> HoldersRead {
        HoldersRead { primitive, holders: holders.to_vec() }
    }

    /// AB (1) holds A (10) and waits for B (11); BA (2) holds B, waits for A.
    fn abba() -> WaitGraph {
        let mut graph = WaitGraph::default();
        for (id, name) in [(1, "AB"), (2, "BA")] {
            graph
                .threads
                .insert(id, ThreadLink { key: id, tid: Some(100 + id as u32), name: name.to_owned() });
        }
        for (id, name) in [(10, "A"), (11, "B")] {
            graph
                .primitives
                .insert(id, PrimitiveLink { id, kind: PrimitiveKind::Lock, name: name.to_owned() });
        }
        graph.edge(Node::Thread(1), Node::Primitive(11));
        graph.edge(Node::Primitive(11), Node::Thread(2));
        graph.edge(Node::Thread(2), Node::Primitive(10));
        graph.edge(Node::Primitive(10), Node::Thread(1));
        graph
    }

    fn abba_reads() -> WaitReads {
        let statuses =
            vec![status(1, 7, Some(WaitEdge::Primitive(11))), status(2, 5, Some(WaitEdge::Primitive(10)))];
        WaitReads {
            before: statuses.clone(),
            holders: vec![holders(10, &[1]), holders(11, &[2])],
            after: statuses,
        }
    }

    #[test]
    fn the_candidates_are_the_records_on_the_cycle() {
        let mut graph = abba();
        graph.edge(Node::Thread(3), Node::Primitive(10)); // waits, but not on the cycle
        assert_eq!(graph.cycle_members(), (vec![1, 2], vec![10, 11]));
        assert_eq!(WaitGraph::default().cycle_members(), (vec![], vec![]));
    }

    #[test]
    fn a_deadlock_that_reads_the_same_twice_is_confirmed() {
        let deadlocks = abba().confirmed(&abba_reads()).deadlocks();
        assert_eq!(deadlocks.len(), 1);
        assert_eq!(deadlocks[0].names(), ["AB", "B", "BA", "A"]);
    }

    #[test]
    fn a_thread_that_moved_between_its_reads_breaks_the_cycle() {
        // Same target both times, but the status changed in between: the
        // wait ended and a new one began, so no one instant is proven.
        let mut reads = abba_reads();
        reads.after[1].changes += 2;
        assert!(abba().confirmed(&reads).deadlocks().is_empty());
    }

    #[test]
    fn a_thread_no_longer_waiting_breaks_the_cycle() {
        let mut reads = abba_reads();
        reads.after[0] = status(1, 8, None);
        assert!(abba().confirmed(&reads).deadlocks().is_empty());
    }

    #[test]
    fn a_lock_handed_on_breaks_the_cycle() {
        let mut reads = abba_reads();
        reads.holders[0] = holders(10, &[]);
        assert!(abba().confirmed(&reads).deadlocks().is_empty());
        reads.holders[0] = holders(10, &[3]);
        assert!(abba().confirmed(&reads).deadlocks().is_empty());
    }

    #[test]
    fn a_torn_wait_on_what_the_thread_holds_is_not_a_deadlock() {
        // The snapshot: Philosopher-2 (2) still shown waiting for fork-2
        // (12), which already names it as holder. The re-read finds the
        // wait over.
        let mut graph = WaitGraph::default();
        graph.edge(Node::Thread(2), Node::Primitive(12));
        graph.edge(Node::Primitive(12), Node::Thread(2));
        assert_eq!(graph.deadlocks().len(), 1, "the torn snapshot has a candidate");
        let reads = WaitReads {
            before: vec![status(2, 40, Some(WaitEdge::Primitive(12)))],
            holders: vec![holders(12, &[2])],
            after: vec![status(2, 41, None)],
        };
        assert!(graph.confirmed(&reads).deadlocks().is_empty());
    }

    #[test]
    fn a_real_self_deadlock_on_a_plain_lock_is_confirmed() {
        // A second acquire of a Lock by its holder waits forever (Python too).
        let mut graph = WaitGraph::default();
        graph.edge(Node::Thread(2), Node::Primitive(12));
        graph.edge(Node::Primitive(12), Node::Thread(2));
        let read = status(2, 9, Some(WaitEdge::Primitive(12)));
        let reads =
            WaitReads { before: vec![read.clone()], holders: vec![holders(12, &[2])], after: vec![read] };
        assert_eq!(graph.confirmed(&reads).deadlocks().len(), 1);
    }

    #[test]
    fn a_real_cycle_survives_beside_a_torn_one_in_the_same_component() {
        // 1 and 2 really deadlock on 10/11. Thread 3 is shown sharing 11
        // (a semaphore) and waiting for 10, a second cycle in the same
        // component — but 3 had moved on by the re-read.
        let mut graph = abba();
        graph.edge(Node::Primitive(11), Node::Thread(3));
        graph.edge(Node::Thread(3), Node::Primitive(10));
        assert_eq!(graph.cycle_members(), (vec![1, 2, 3], vec![10, 11]));
        let mut reads = abba_reads();
        reads.before.push(status(3, 3, Some(WaitEdge::Primitive(10))));
        reads.after.push(status(3, 4, None));
        // 3 gave its share back when it moved on.
        reads.holders[1] = holders(11, &[2]);
        let deadlocks = graph.confirmed(&reads).deadlocks();
        assert_eq!(deadlocks.len(), 1);
        let threads: Vec<u64> = deadlocks[0].threads.iter().map(|t| t.key).collect();
        assert_eq!(threads, [1, 2]);
    }

    #[test]
    fn threads_joining_each_other_are_confirmed_from_their_statuses_alone() {
        let mut graph = WaitGraph::default();
        graph.edge(Node::Thread(1), Node::Thread(2));
        graph.edge(Node::Thread(2), Node::Thread(1));
        let statuses = vec![status(1, 3, Some(WaitEdge::Join(2))), status(2, 3, Some(WaitEdge::Join(1)))];
        let reads = WaitReads { before: statuses.clone(), holders: vec![], after: statuses };
        assert_eq!(graph.confirmed(&reads).deadlocks().len(), 1);
    }
}
