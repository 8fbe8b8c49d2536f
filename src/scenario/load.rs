//! Finding a scenario by what a person typed: a built-in's name or a path
//! to a `.toml` file. The command line's `run` and `snapshot` and the TUI's
//! load prompt all go through [`load`], so they accept the same names and
//! say the same things when one is wrong.

use super::{BUILTINS, Scenario, ScenarioError};
use crate::display::sanitize;
use std::path::PathBuf;

/// Why [`load`] found no scenario.
///
/// Its `Display` is safe to print on a terminal: the name, the path and a
/// file's error (which quotes the file) are escaped with
/// [`sanitize`](crate::display::sanitize), because they come from the user
/// or from a file that may be hostile.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Neither a built-in nor something that looks like a file.
    #[error(
        "unknown scenario `{}` (built-ins: {}; or give a path to a .toml file)",
        sanitize(name),
        builtin_names()
    )]
    Unknown {
        /// What was asked for.
        name: String,
    },
    /// A file that could not be read.
    #[error("cannot read {}: {source}", sanitize(&path.display().to_string()))]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file (or built-in) that is not a valid scenario.
    #[error("{}", sanitize(&.0.to_string()))]
    Invalid(#[from] ScenarioError),
}

/// Loads a scenario by built-in name or file path, validated against how
/// many more threads this process can start.
///
/// A built-in's name wins over a file of the same name in the current
/// directory. Anything ending in `.toml`, or naming a file that exists, is
/// read as a file; anything else must be a built-in.
///
/// # Errors
///
/// [`LoadError::Unknown`] for a name that is neither, [`LoadError::Unreadable`]
/// for a file that cannot be read, [`LoadError::Invalid`] for the first
/// problem in the scenario (`file:line:column: message`).
pub fn load(name_or_path: &str) -> Result<Scenario, LoadError> {
    let room = crate::threading::thread_room();
    if let Some(builtin) = super::builtin(name_or_path) {
        return Ok(builtin.load(room)?);
    }
    let path = std::path::Path::new(name_or_path);
    if path.extension().is_some_and(|e| e == "toml") || path.exists() {
        let text = std::fs::read_to_string(path)
            .map_err(|source| LoadError::Unreadable { path: path.to_owned(), source })?;
        return Ok(super::parse(&path.display().to_string(), &text, room)?);
    }
    Err(LoadError::Unknown { name: name_or_path.to_owned() })
}

fn builtin_names() -> String {
    BUILTINS.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(name: &str) -> String {
        match load(name) {
            Ok(scenario) => panic!("{name} loaded as {}", scenario.name),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_builtin_loads_by_name() {
        let scenario = load("deadlock").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scenario.name, "deadlock");
    }

    #[test]
    fn an_unknown_name_lists_the_builtins_escaped() {
        let err = message("no\u{1b}[2Jpe");
        assert!(err.starts_with("unknown scenario `no\\e[2Jpe` (built-ins: tour, "), "{err}");
        assert!(err.ends_with("; or give a path to a .toml file)"), "{err}");
    }

    #[test]
    fn a_missing_file_cannot_be_read() {
        let err = message("/nonexistent/threadscope/x.toml");
        assert!(err.starts_with("cannot read /nonexistent/threadscope/x.toml: "), "{err}");
    }
}
