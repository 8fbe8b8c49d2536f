//! [`DisplayName`]: a name as read (raw bytes kept) and as it may be shown.

use crate::display::sanitize;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// A thread or process name made where it is read, from untrusted bytes.
///
/// Decoding is lenient (a kernel comm can end in half a UTF-8 character:
/// the kernel cuts at 15 bytes); [`shown`](Self::shown) escapes control
/// characters, escape sequences, bidi overrides and zero-width characters
/// visibly, bytes that are not UTF-8 as `\xNN`, and doubles a backslash,
/// so two names never show alike; the raw bytes are kept for anyone who
/// needs the exact value.
/// `Display` prints the safe form, so nothing prints a raw name by accident.
///
/// # Examples
///
/// ```
/// use threadscope::inspect::DisplayName;
/// let name = DisplayName::from_bytes(b"evil\x1b[2J\xe2\x82");
/// assert_eq!(name.to_string(), "evil\\e[2J\\xe2\\x82");
/// assert_eq!(name.raw(), b"evil\x1b[2J\xe2\x82");
/// assert!(name.has_unprintable());
/// ```
///
/// Cloning shares the decoded name (a reference count): a snapshot of
/// 10,000 threads gives each sleeping thread the name decoded for it once.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct DisplayName(Arc<Decoded>);

#[derive(PartialEq, Eq, Hash, Default)]
struct Decoded {
    raw: Box<[u8]>,
    shown: Box<str>,
    /// Columns `shown` takes on a terminal, worked out once.
    width: usize,
    unprintable: bool,
}

/// `raw` shown without ambiguity: a backslash the name holds is doubled,
/// so the escapes the sanitizer writes (`\e`, `\u{202e}`) and the bytes
/// that are not UTF-8 (`\xff`) never read like a name's own text, and two
/// different names never show alike.
fn unambiguous(raw: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut shown = String::with_capacity(raw.len() + 8);
    for chunk in raw.utf8_chunks() {
        shown.push_str(&sanitize(&chunk.valid().replace('\\', "\\\\")));
        for byte in chunk.invalid() {
            let _ = write!(shown, "\\x{byte:02x}");
        }
    }
    shown
}

impl DisplayName {
    /// From raw bytes (a comm, a `/proc` field).
    pub fn from_bytes(raw: &[u8]) -> Self {
        let shown = match std::str::from_utf8(raw) {
            // The common case, borrowed until the sanitizer changes it.
            Ok(text) if !text.contains('\\') => sanitize(text),
            _ => std::borrow::Cow::Owned(unambiguous(raw)),
        };
        // Whatever was changed is not shown as it is: the bytes are kept.
        let unprintable = shown.as_bytes() != raw;
        let width = unicode_width::UnicodeWidthStr::width(&*shown);
        Self(Arc::new(Decoded { raw: raw.into(), shown: shown.into(), width, unprintable }))
    }

    /// From a Rust string (a library name, which is valid UTF-8 but may
    /// still hold anything).
    pub fn from_text(text: &str) -> Self {
        Self::from_bytes(text.as_bytes())
    }

    /// The safe form, for screens and text output.
    pub fn shown(&self) -> &str {
        &self.0.shown
    }

    /// The columns the safe form takes on a terminal.
    pub fn width(&self) -> usize {
        self.0.width
    }

    /// The bytes as read.
    pub fn raw(&self) -> &[u8] {
        &self.0.raw
    }

    /// True if the raw name had bytes that could not be shown as they are
    /// (controls, escapes, bidi or zero-width characters, invalid UTF-8).
    pub fn has_unprintable(&self) -> bool {
        self.0.unprintable
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.shown())
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DisplayName({:?})", self.shown())
    }
}

/// In JSON: the safe form, as a string. Where it differs from the bytes
/// read, views add the raw bytes beside it (see [`raw_if_unprintable`](Self::raw_if_unprintable)).
impl Serialize for DisplayName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.shown())
    }
}

/// Read back from its safe form (a recording replayed). The safe form is
/// all JSON holds; where the raw bytes differ, the view that holds the
/// name also holds them (`name_raw`, `comm_raw`), and the reader rebuilds
/// the name from those with [`from_bytes`](Self::from_bytes).
impl<'de> Deserialize<'de> for DisplayName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_text(&String::deserialize(d)?))
    }
}

impl DisplayName {
    /// The raw bytes when they could not be shown as they are, else `None`:
    /// what JSON views put beside the name (`"name_raw": [27, 91, …]`).
    pub fn raw_if_unprintable(&self) -> Option<Vec<u8>> {
        self.0.unprintable.then(|| self.0.raw.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_utf8_comm_shows_the_byte_left_of_its_last_character() {
        // "ünïcödé-wö" cut inside the ö, as the kernel's 15-byte limit can.
        let raw = "ünïcödé-wö".as_bytes();
        let cut = &raw[..raw.len() - 1];
        let name = DisplayName::from_bytes(cut);
        assert_eq!(name.shown(), "ünïcödé-w\\xc3");
        assert!(name.has_unprintable());
        assert_eq!(name.raw(), cut);
    }

    #[test]
    fn different_names_never_show_alike() {
        // A literal backslash-e, a real ESC, and bytes that are not UTF-8.
        let names: Vec<DisplayName> =
            [&b"\\e[2J"[..], b"\x1b[2J", b"\xff\xfebad", b"\xef\xbf\xbd\xef\xbf\xbdbad"]
                .into_iter()
                .map(DisplayName::from_bytes)
                .collect();
        let shown: Vec<&str> = names.iter().map(DisplayName::shown).collect();
        assert_eq!(shown, ["\\\\e[2J", "\\e[2J", "\\xff\\xfebad", "\u{fffd}\u{fffd}bad"]);
        assert!(names[..3].iter().all(DisplayName::has_unprintable), "their bytes are kept");
    }

    #[test]
    fn ordinary_names_are_shown_as_they_are() {
        let name = DisplayName::from_text("HTTP-Worker-1");
        assert_eq!(format!("[{name:<15}]"), "[HTTP-Worker-1  ]");
        assert_eq!((name.width(), DisplayName::from_text("名前").width()), (13, 4));
        assert!(!name.has_unprintable());
    }

    #[test]
    fn json_is_the_safe_text_and_the_raw_bytes_are_at_hand() {
        let name = DisplayName::from_bytes(b"a\x1bb");
        assert_eq!(serde_json::to_value(&name).unwrap_or_default(), "a\\eb");
        assert_eq!(name.raw_if_unprintable(), Some(vec![97, 27, 98]));
        assert_eq!(DisplayName::from_text("plain").raw_if_unprintable(), None);
    }
}
