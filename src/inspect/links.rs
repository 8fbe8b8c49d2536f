//! References by identity: a thread by its key and TID, a primitive by its
//! id. Names ride along for showing, but nothing joins on them: two
//! threads called `python3`, or eight cut to `PaymentService-`, stay apart.

use crate::display::sanitize;
use crate::threading::PrimitiveKind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A thread, by identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ThreadLink {
    /// The thread's [`ThreadView::key`](super::ThreadView::key): stable
    /// across snapshots.
    pub key: u64,
    /// Its kernel TID, once it has one.
    pub tid: Option<u32>,
    /// Its name when the snapshot was taken (untrusted text).
    pub name: String,
}

impl ThreadLink {
    /// `name (tid 123)`, escaped: how the text dump and messages name a
    /// thread, so same-named threads stay apart.
    pub fn label(&self) -> String {
        match self.tid {
            Some(tid) => format!("{} (tid {tid})", sanitize(&self.name)),
            None => format!("{} (#{})", sanitize(&self.name), self.key),
        }
    }
}

impl fmt::Display for ThreadLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// A primitive, by identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrimitiveLink {
    /// Its registry id.
    pub id: u64,
    /// What it is.
    pub kind: PrimitiveKind,
    /// Its name, or `kind#id` when it has none (untrusted text).
    pub name: String,
}

impl PrimitiveLink {
    /// `lock fork-2`, escaped.
    pub fn label(&self) -> String {
        format!("{} {}", self.kind.label(), sanitize(&self.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_carry_the_identity_and_escape_the_name() {
        let python = |tid| ThreadLink { key: 7, tid: Some(tid), name: "python3".into() };
        assert_eq!(python(123).label(), "python3 (tid 123)");
        assert_ne!(python(123).label(), python(124).label());
        let unstarted = ThreadLink { key: 9, tid: None, name: "evil\u{1b}[2J".into() };
        assert_eq!(unstarted.label(), "evil\\e[2J (#9)");
        let fork = PrimitiveLink { id: 3, kind: PrimitiveKind::Lock, name: "fork-2".into() };
        assert_eq!(fork.label(), "lock fork-2");
    }
}
