//! Scenario errors: where in which file, and what is wrong.

use std::fmt;
use std::ops::Range;

/// A scenario that cannot be loaded or run, with its place in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file (or built-in name) the scenario came from.
    pub origin: String,
    /// 1-based line and column, when the error has a place.
    pub position: Option<(usize, usize)>,
    /// What is wrong, in words.
    pub message: String,
}

impl ScenarioError {
    /// An error at byte `span` of `source`.
    pub fn at(origin: &str, source: &str, span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Self {
            origin: origin.to_owned(),
            position: span.map(|s| line_column(source, s.start)),
            message: message.into(),
        }
    }

    /// An error about the file as a whole.
    pub fn whole(origin: &str, message: impl Into<String>) -> Self {
        Self { origin: origin.to_owned(), position: None, message: message.into() }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

/// 1-based line and column (in characters) of byte `offset`.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_characters() {
        let source = "a = 1\nbé = 2\n";
        assert_eq!(line_column(source, 0), (1, 1));
        assert_eq!(line_column(source, 6), (2, 1));
        assert_eq!(line_column(source, 9), (2, 3), "é is one column");
    }

    #[test]
    fn display_names_file_line_and_column() {
        let err = ScenarioError::at("demo.toml", "x\ny = 1", Some(2..3), "unknown key `y`");
        assert_eq!(err.to_string(), "demo.toml:2:1: unknown key `y`");
        assert_eq!(ScenarioError::whole("demo.toml", "empty").to_string(), "demo.toml: empty");
    }
}
