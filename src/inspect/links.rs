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
    /// The key of a link that has a name and nothing else: no thread has
    /// it (the registry counts from 1, the other key spaces sit far above;
    /// see `ids.rs`).
    pub const NAME_ONLY: u64 = 0;

    /// A link known by name alone: what a naming finding in a recording
    /// made before findings carried identities reads as.
    pub fn name_only(name: String) -> Self {
        Self { key: Self::NAME_ONLY, tid: None, name }
    }

    /// `name (tid 123)`, escaped: how the text dump and messages name a
    /// thread, so same-named threads stay apart. A name-only link has
    /// nothing to add to its name.
    pub fn label(&self) -> String {
        match self.tid {
            Some(tid) => format!("{} (tid {tid})", sanitize(&self.name)),
            None if self.key == Self::NAME_ONLY => sanitize(&self.name).into_owned(),
            None => format!("{} (#{})", sanitize(&self.name), self.key),
        }
    }
}

/// Reads a list of thread references, each either a link or, as
/// recordings made before references carried identities have them, a
/// bare name (read as [`ThreadLink::name_only`]), so those still replay
/// without a schema bump.
pub(super) fn links_or_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ThreadLink>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Reference {
        Link(ThreadLink),
        Name(String),
    }
    let references = Vec::<Reference>::deserialize(d)?;
    Ok(references
        .into_iter()
        .map(|r| match r {
            Reference::Link(link) => link,
            Reference::Name(name) => ThreadLink::name_only(name),
        })
        .collect())
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
        assert_eq!(ThreadLink::name_only("evil\u{1b}".into()).label(), "evil\\e");
        let fork = PrimitiveLink { id: 3, kind: PrimitiveKind::Lock, name: "fork-2".into() };
        assert_eq!(fork.label(), "lock fork-2");
    }

    #[test]
    fn references_read_as_links_or_as_the_bare_names_of_older_recordings() {
        #[derive(Deserialize)]
        struct Holder {
            #[serde(deserialize_with = "links_or_names")]
            threads: Vec<ThreadLink>,
        }
        let json = r#"{"threads": [{"key": 5, "tid": 42, "name": "waiter"}, "waiter"]}"#;
        let read: Holder = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            read.threads,
            [
                ThreadLink { key: 5, tid: Some(42), name: "waiter".into() },
                ThreadLink::name_only("waiter".into())
            ]
        );
        assert!(serde_json::from_str::<Holder>(r#"{"threads": [7]}"#).is_err(), "a number is neither");
    }
}
