//! A per-thread figure that may not have been read, and why.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Why a [`Field`] holds no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The kernel refused to show it to us (another user's process, or a
    /// file that needs ptrace access such as `syscall`).
    Denied,
    /// Skipped on this refresh to keep sampling cheap (see
    /// [`SampleOptions`](super::SampleOptions)).
    NotSampled,
    /// The thread ended (or became a zombie) after its `stat` was read, so
    /// there was nothing left to read.
    Gone,
    /// The file was read but did not say it the way Linux documents (a
    /// line missing, a number that is not one, a line cut short): only
    /// this figure of this thread is left out, the rest of the sample
    /// stands.
    Malformed,
    /// The thing it describes keeps no such figure: a lock of another
    /// program records no acquisitions or waits.
    NotRecorded,
}

impl Reason {
    /// Why, in a few words, for a person: what the screen and the text
    /// dump show where the figure would be.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Denied => "the kernel refused it: needs the process's user, root or CAP_SYS_PTRACE",
            Self::NotSampled => "not sampled yet",
            Self::Gone => "the thread ended mid-read",
            Self::Malformed => "the kernel's file did not read as documented",
            Self::NotRecorded => "not recorded by this kind of lock",
        }
    }
}

/// A figure read from the kernel, or the [`Reason`] it is missing.
///
/// Serialises as the bare value when available and as
/// `{"unavailable": "denied" | "not_sampled" | "gone" | "malformed" |
/// "not_recorded"}`
/// otherwise, so a missing figure is marked rather than silently empty.
///
/// # Examples
///
/// ```
/// use threadscope::kernel::{Field, Reason};
///
/// let read: Field<u64> = Field::Available(42);
/// let skipped: Field<u64> = Field::Unavailable(Reason::NotSampled);
/// assert_eq!(read.value(), Some(&42));
/// assert_eq!(skipped.reason(), Some(Reason::NotSampled));
/// assert_eq!(serde_json::to_string(&skipped).unwrap(), r#"{"unavailable":"not_sampled"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Field<T> {
    /// The value the kernel gave.
    Available(T),
    /// Not read, for this reason.
    Unavailable(Reason),
}

impl<T> Field<T> {
    /// The value, if it was read.
    pub fn value(&self) -> Option<&T> {
        match self {
            Field::Available(value) => Some(value),
            Field::Unavailable(_) => None,
        }
    }

    /// Why there is no value, if there is none.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Field::Available(_) => None,
            Field::Unavailable(reason) => Some(*reason),
        }
    }

    /// True when the value was read.
    pub fn is_available(&self) -> bool {
        matches!(self, Field::Available(_))
    }

    /// Applies `f` to the value, keeping the reason when there is none.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Available(value) => Field::Available(f(value)),
            Field::Unavailable(reason) => Field::Unavailable(reason),
        }
    }

    /// Borrows the value.
    pub fn as_ref(&self) -> Field<&T> {
        match self {
            Field::Available(value) => Field::Available(value),
            Field::Unavailable(reason) => Field::Unavailable(*reason),
        }
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Available(value) => value.serialize(serializer),
            Field::Unavailable(reason) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("unavailable", reason)?;
                map.end()
            }
        }
    }
}

/// Reads back what [`Serialize`] wrote: `{"unavailable": reason}` or the bare value.
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Field<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Repr<T> {
            #[serde(rename_all = "snake_case")]
            Missing {
                unavailable: Reason,
            },
            Value(T),
        }
        Ok(match Repr::deserialize(deserializer)? {
            Repr::Missing { unavailable } => Field::Unavailable(unavailable),
            Repr::Value(value) => Field::Available(value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_values_serialise_bare() {
        assert_eq!(serde_json::to_string(&Field::Available(7u64)).unwrap(), "7");
        assert_eq!(serde_json::to_string(&Field::Available("futex_wait")).unwrap(), r#""futex_wait""#);
    }

    #[test]
    fn missing_values_say_why() {
        let denied: Field<String> = Field::Unavailable(Reason::Denied);
        assert_eq!(serde_json::to_string(&denied).unwrap(), r#"{"unavailable":"denied"}"#);
        let gone: Field<String> = Field::Unavailable(Reason::Gone);
        assert_eq!(serde_json::to_string(&gone).unwrap(), r#"{"unavailable":"gone"}"#);
        let malformed: Field<u64> = Field::Unavailable(Reason::Malformed);
        assert_eq!(serde_json::to_string(&malformed).unwrap(), r#"{"unavailable":"malformed"}"#);
    }

    #[test]
    fn map_keeps_the_reason() {
        assert_eq!(Field::Available(2).map(|v| v * 3), Field::Available(6));
        assert_eq!(
            Field::<u8>::Unavailable(Reason::Denied).map(|v| v + 1),
            Field::Unavailable(Reason::Denied)
        );
    }
}
