//! Making untrusted text safe to print: thread names, `/proc` fields and
//! scenario strings are attacker-controlled.
//!
//! [`sanitize`] keeps printable text as is and makes everything that could
//! move the cursor, change colours, reorder text or hide characters
//! *visible* instead: C0 and C1 controls (ESC included, which defuses every
//! escape sequence), DEL, bidirectional overrides and isolates, and
//! zero-width characters, each shown as `\u{…}` (or `\n`, `\t`, `\e`).
//! So are zero-width characters a name *begins* with (combining marks):
//! with nothing of the name to attach to, they fall onto whatever the
//! screen has before the name, and take no cell of their own.

mod duration;

pub use duration::human;

/// `1 thread`, `8 threads`.
pub fn threads(n: usize) -> String {
    if n == 1 { "1 thread".to_owned() } else { format!("{n} threads") }
}

use std::borrow::Cow;

/// True for characters that must not reach a terminal as themselves.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}'              // zero-width no-break space (BOM)
            | '\u{061C}'              // Arabic letter mark
        )
}

/// `text` with every unsafe character escaped visibly. Borrowed when
/// nothing needed escaping.
///
/// # Examples
///
/// ```
/// use threadscope::display::sanitize;
/// assert_eq!(sanitize("worker-1"), "worker-1");
/// assert_eq!(sanitize("evil\x1b[2J"), "evil\\e[2J");
/// assert_eq!(sanitize("abc\u{202E}def"), "abc\\u{202e}def");
/// ```
pub fn sanitize(text: &str) -> Cow<'_, str> {
    let leading = leading_zero_width(text);
    if leading == 0 && !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in text.chars().enumerate() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x1b' => out.push_str("\\e"),
            c if is_unsafe(c) || i < leading => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// How many zero-width characters `text` begins with (combining marks,
/// Hangul medial vowels without their initial…).
fn leading_zero_width(text: &str) -> usize {
    use unicode_width::UnicodeWidthChar;
    text.chars().take_while(|c| c.width() == Some(0)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c0_c1_and_del_are_escaped() {
        assert_eq!(sanitize("a\x07b\x7fc\u{9b}d"), "a\\u{7}b\\u{7f}c\\u{9b}d");
        assert_eq!(sanitize("line\nbreak\ttab\rcr"), "line\\nbreak\\ttab\\rcr");
    }

    #[test]
    fn escape_sequences_lose_their_escape() {
        let hostile = "\x1b]0;pwned\x07\x1b[31mred";
        let safe = sanitize(hostile);
        assert!(!safe.contains('\x1b') && !safe.contains('\x07'));
        assert_eq!(safe, "\\e]0;pwned\\u{7}\\e[31mred");
    }

    #[test]
    fn bidi_and_zero_width_are_visible() {
        for c in ['\u{202E}', '\u{2066}', '\u{2069}', '\u{200B}', '\u{200D}', '\u{FEFF}'] {
            let text = format!("x{c}y");
            assert_eq!(sanitize(&text), format!("x\\u{{{:x}}}y", c as u32));
        }
    }

    #[test]
    fn combining_marks_a_name_begins_with_are_visible() {
        assert_eq!(sanitize("\u{301}\u{301}combining"), "\\u{301}\\u{301}combining");
        // Where a mark has a letter to sit on, it is text: kept.
        assert_eq!(sanitize("cafe\u{301}"), "cafe\u{301}");
        assert_eq!(sanitize("e\u{301}\u{301}x"), "e\u{301}\u{301}x");
    }

    #[test]
    fn ordinary_unicode_is_kept() {
        assert_eq!(sanitize("Ünïcödé-ワーカー-1"), "Ünïcödé-ワーカー-1");
        assert!(matches!(sanitize("plain"), Cow::Borrowed(_)));
    }
}
