//! Property tests of the scenario parser: any text, and valid files with
//! random edits, give a scenario or an error at a line and column inside
//! the text — never a panic.
//!
//! 256 cases a property by default; `PROPTEST_CASES=100000` for a soak.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::collection::vec;
use proptest::prelude::*;
use threadscope::scenario::{ScenarioError, parse};

/// Every valid scenario this repository has: the built-ins and the test
/// fixtures.
fn valid_files() -> Vec<(String, String)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = Vec::new();
    for dir in ["assets/scenarios", "tests/scenarios/valid"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    assert!(files.len() > 10, "found {} scenario files", files.len());
    files
}

/// Parses `text`; on error, checks its position lies inside `text`.
fn check(text: &str) -> Result<(), TestCaseError> {
    let Err(err) = parse("prop.toml", text, Some(64)) else { return Ok(()) };
    let ScenarioError { position, message, .. } = &err;
    prop_assert!(!message.is_empty());
    let Some((line, column)) = *position else {
        return Err(TestCaseError::fail(format!("no position: {err}\n--- text ---\n{text}")));
    };
    let lines: Vec<&str> = text.split('\n').collect();
    prop_assert!((1..=lines.len()).contains(&line), "line {line} of {}: {err}", lines.len());
    let width = lines[line - 1].chars().count();
    prop_assert!((1..=width + 1).contains(&column), "column {column} of {width}: {err}");
    prop_assert!(err.to_string().starts_with(&format!("prop.toml:{line}:{column}: ")), "{err}");
    Ok(())
}

/// Characters that matter to TOML and to the scenario format, and a few
/// that do not belong anywhere.
fn char_strategy() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select("[]{}=\"'#\n\r\t ,.-_+:0123456789abcdefxyzn{}*".chars().collect::<Vec<_>>()),
        any::<char>(),
    ]
}

/// `text` with up to `max` edits: a character replaced, inserted or
/// removed, or a whole line repeated or dropped.
fn mutated(text: String, max: usize) -> impl Strategy<Value = String> {
    vec((0u8..5, any::<prop::sample::Index>(), char_strategy()), 0..=max).prop_map(move |edits| {
        let mut chars: Vec<char> = text.chars().collect();
        for (kind, at, c) in edits {
            let at = at.index(chars.len() + 1);
            match kind {
                0 if at < chars.len() => chars[at] = c,
                1 => chars.insert(at, c),
                2 if at < chars.len() => drop(chars.remove(at)),
                3 | 4 => {
                    let start = chars[..at].iter().rposition(|&c| c == '\n').map_or(0, |i| i + 1);
                    let end = chars[at..].iter().position(|&c| c == '\n').map_or(chars.len(), |i| at + i + 1);
                    let line: Vec<char> = chars[start..end].to_vec();
                    if kind == 3 {
                        chars.splice(start..start, line);
                    } else {
                        chars.drain(start..end);
                    }
                }
                _ => {}
            }
        }
        chars.into_iter().collect()
    })
}

fn mutated_valid_file() -> impl Strategy<Value = String> {
    prop::sample::select(valid_files()).prop_flat_map(|(_, text)| mutated(text, 6))
}

/// A one-thread scenario whose thread is named by `template`.
fn named(template: &str) -> String {
    let quoted = serde_json::to_string(template).unwrap();
    format!("name = \"t\"\ndescription = \"d\"\n\n[[threads]]\nname = {quoted}\ncount = 3\nsteps = []\n")
}

/// Template expressions: the arithmetic's own characters, numbers at the
/// edges of `i64`, and nesting deep enough to exhaust a stack.
fn template_strategy() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        prop::sample::select(vec!["i", "n", "+", "-", "*", "/", "%", "(", ")", " ", "0", "1", "7"]),
        Just("9223372036854775807"),
        Just("9223372036854775808"),
        Just("-9223372036854775807-1"),
    ];
    let expr = vec(token, 0..24).prop_map(|tokens| tokens.concat());
    let deep = (1usize..20_000, prop::sample::select(vec!["(", "-", "(-"])).prop_map(|(depth, open)| {
        format!("{}i{}", open.repeat(depth), ")".repeat(depth * open.matches('(').count()))
    });
    prop_oneof![4 => expr, 1 => deep].prop_map(|e| format!("T-{{{e}}}"))
}

#[test]
fn the_valid_files_parse() {
    assert!(parse("t", &named("T-{(i+1)%n}"), None).is_ok());
    for (path, text) in valid_files() {
        assert!(parse(&path, &text, None).is_ok(), "{path}: {:?}", parse(&path, &text, None));
    }
}

proptest! {
    #[test]
    fn any_text_is_a_scenario_or_an_error_with_a_place(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn toml_like_text_is_a_scenario_or_an_error_with_a_place(text in vec(char_strategy(), 0..200)) {
        check(&text.into_iter().collect::<String>())?;
    }

    #[test]
    fn any_name_template_is_a_name_or_an_error_with_a_place(template in template_strategy()) {
        check(&named(&template))?;
    }

    #[test]
    fn an_edited_valid_file_is_a_scenario_or_an_error_with_a_place(text in mutated_valid_file()) {
        check(&text)?;
    }
}
