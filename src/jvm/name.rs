//! A Java thread name as the JVM printed it: raw bytes, decoded on demand.

use std::fmt;

use serde::{Serialize, Serializer};

/// A thread name exactly as it appeared between the quotes of a dump.
///
/// HotSpot prints names in *modified UTF-8*: a character outside the Basic
/// Multilingual Plane comes out as two 3-byte surrogates (CESU-8) and NUL
/// as `C0 80`, neither of which is valid UTF-8. The bytes are kept as they
/// came; [`JavaName::to_text`] decodes them (surrogate pairs joined,
/// anything undecodable as U+FFFD). Nothing is sanitized here: a name may
/// hold control characters or escape sequences, and the display layer
/// (`inspect::DisplayName::from_bytes`) makes it safe to print.
///
/// It serializes as its decoded text.
///
/// # Examples
///
/// ```
/// use threadscope::jvm::JavaName;
/// let name = JavaName::from_bytes(b"PaymentService-Processor-1".to_vec());
/// assert_eq!(name.to_text(), "PaymentService-Processor-1");
/// // U+1F600 as the JVM prints it: a CESU-8 surrogate pair.
/// let smiley = JavaName::from_bytes(vec![0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]);
/// assert_eq!(smiley.to_text(), "\u{1F600}");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JavaName(Vec<u8>);

impl JavaName {
    /// A name from the bytes between the quotes.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        JavaName(bytes)
    }

    /// The bytes as the JVM printed them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name decoded from modified UTF-8 (lossy only where the bytes are
    /// neither UTF-8 nor CESU-8).
    pub fn to_text(&self) -> String {
        match std::str::from_utf8(&self.0) {
            Ok(text) => text.to_owned(),
            Err(_) => decode_modified_utf8(&self.0),
        }
    }
}

impl fmt::Debug for JavaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_text(), f)
    }
}

impl Serialize for JavaName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_text())
    }
}

impl PartialEq<str> for JavaName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for JavaName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

/// Decodes modified UTF-8 / CESU-8: valid UTF-8 runs as they are, `C0 80`
/// as NUL, a high surrogate followed by a low one as the character they
/// encode, anything else as U+FFFD.
fn decode_modified_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                out.push_str(text);
                break;
            }
            Err(err) => {
                let (good, bad) = rest.split_at(err.valid_up_to());
                // `good` is valid by construction.
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                let used = decode_special(bad, &mut out);
                rest = &bad[used.max(1)..];
            }
        }
    }
    out
}

/// Decodes one modified-UTF-8 sequence at the start of `bad` into `out`;
/// returns how many bytes it used (pushing U+FFFD for one byte otherwise).
fn decode_special(bad: &[u8], out: &mut String) -> usize {
    if bad.starts_with(&[0xC0, 0x80]) {
        out.push('\0');
        return 2;
    }
    if let (Some(high), Some(low)) = (surrogate(bad), bad.get(3..).and_then(surrogate))
        && (0xD800..0xDC00).contains(&high)
        && (0xDC00..0xE000).contains(&low)
    {
        let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
        out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
        return 6;
    }
    out.push(char::REPLACEMENT_CHARACTER);
    1
}

/// The surrogate code unit a 3-byte `ED A0..BF xx` sequence encodes.
fn surrogate(bytes: &[u8]) -> Option<u32> {
    match bytes {
        [0xED, b1 @ 0xA0..=0xBF, b2 @ 0x80..=0xBF, ..] => {
            Some(0xD000 | (u32::from(b1 & 0x3F) << 6) | u32::from(b2 & 0x3F))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_names_are_kept() {
        assert_eq!(JavaName::from_bytes("Größe-1".into()).to_text(), "Größe-1");
    }

    #[test]
    fn modified_utf8_nul_and_lone_surrogates() {
        assert_eq!(JavaName::from_bytes(vec![b'a', 0xC0, 0x80, b'b']).to_text(), "a\0b");
        // A lone high surrogate cannot be a char: one replacement per byte.
        assert_eq!(JavaName::from_bytes(vec![0xED, 0xA0, 0xBD, b'x']).to_text(), "\u{FFFD}\u{FFFD}\u{FFFD}x");
        assert_eq!(JavaName::from_bytes(vec![0xFF]).to_text(), "\u{FFFD}");
    }

    #[test]
    fn serializes_as_text() {
        let json = serde_json::to_string(&JavaName::from_bytes(b"a\"b".to_vec())).unwrap();
        assert_eq!(json, r#""a\"b""#);
    }
}
