//! The built-in scenarios, embedded in the binary from `assets/scenarios/`.

use super::{Scenario, ScenarioError};

/// One embedded scenario file.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Its name (`threadscope run NAME`).
    pub name: &'static str,
    /// The TOML text.
    pub source: &'static str,
}

macro_rules! builtins {
    ($($name:literal),* $(,)?) => {
        /// Every built-in, the default (`tour`) first.
        pub const BUILTINS: &[Builtin] = &[
            $(Builtin { name: $name, source: include_str!(concat!("../../assets/scenarios/", $name, ".toml")) },)*
        ];
    };
}

builtins![
    "tour",
    "producer-consumer",
    "deadlock",
    "dining-philosophers",
    "dining-philosophers-ordered",
    "lock-convoy",
    "daemon-vs-nondaemon",
    "thread-pool",
    "event-cancellation",
    "naming-patterns",
    "thread-storm",
    "gil",
    "interrupt-main",
    "exceptions",
];

/// The scenario `threadscope` runs with no arguments.
pub const DEFAULT: &str = "tour";

/// The built-in named `name`.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

impl Builtin {
    /// Parses and validates it.
    ///
    /// # Errors
    ///
    /// Only if the embedded file is broken (a test checks they are not) or
    /// the process has no room for its threads.
    pub fn load(&self, room: Option<usize>) -> Result<Scenario, ScenarioError> {
        super::parse(&format!("{}.toml", self.name), self.source, room)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_valid_and_named_like_its_file() {
        for b in BUILTINS {
            let scenario = b.load(None).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(scenario.name, b.name);
            assert!(!scenario.description.is_empty() && !scenario.notes.is_empty(), "{}", b.name);
        }
        assert_eq!(BUILTINS[0].name, DEFAULT);
    }

    #[test]
    fn every_asset_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/scenarios");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".toml").map(str::to_owned))
            .collect();
        files.sort();
        let mut listed: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
        listed.sort_unstable();
        assert_eq!(files, listed);
    }
}
