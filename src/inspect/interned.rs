//! Words the model holds as `&'static str` (a runtime's name, a gauge's
//! name), read back from a recording.
//!
//! Live, those words are literals in the code. Read back, each distinct
//! word is leaked once and shared from then on, so replaying a long
//! recording does not grow memory per sample; a recording that holds more
//! distinct words than [`MAX_WORDS`] is refused rather than allowed to
//! leak without bound (the live code has a few dozen).

use serde::{Deserialize, Deserializer, de::Error};
use std::collections::{BTreeMap, HashSet};
use std::sync::{LazyLock, Mutex};

/// The most distinct words kept for the life of the process.
pub const MAX_WORDS: usize = 4096;

static WORDS: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// `text` as a `&'static str`: the same one each time for the same text;
/// `None` once [`MAX_WORDS`] distinct words are held.
pub fn intern(text: &str) -> Option<&'static str> {
    let mut words = WORDS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(word) = words.get(text) {
        return Some(word);
    }
    if words.len() >= MAX_WORDS {
        return None;
    }
    let word: &'static str = Box::leak(text.to_owned().into_boxed_str());
    words.insert(word);
    Some(word)
}

pub(crate) fn interned<E: Error>(text: &str) -> Result<&'static str, E> {
    intern(text).ok_or_else(|| E::custom(format!("more than {MAX_WORDS} distinct names in one recording")))
}

/// `deserialize_with` for a map keyed by `&'static str`.
pub(crate) fn keyed<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
    d: D,
) -> Result<BTreeMap<&'static str, V>, D::Error> {
    let map = BTreeMap::<String, V>::deserialize(d)?;
    map.into_iter().map(|(k, v)| Ok((interned(&k)?, v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_gives_the_same_word() {
        let a = intern("depth-interned-test").unwrap();
        let b = intern(&String::from("depth-interned-test")).unwrap();
        assert!(std::ptr::eq(a, b));
        assert_eq!(a, "depth-interned-test");
    }
}
