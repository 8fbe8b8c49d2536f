//! The registry accessors every primitive has, written once.

/// Expands to `set_name`, `name` and `record` for a primitive whose record
/// is at `self.<path>`: `record_accessors!("event", record);`.
macro_rules! record_accessors {
    ($noun:literal, $($record:ident).+) => {
        #[doc = concat!("Names the ", $noun, " for snapshots.")]
        pub fn set_name(&self, name: impl Into<String>) {
            self.$($record).+.set_name(Some(name.into()));
        }

        #[doc = concat!("The ", $noun, "'s name, if it has one.")]
        pub fn name(&self) -> Option<String> {
            self.$($record).+.name()
        }

        #[doc = concat!("The ", $noun, "'s registry record.")]
        pub fn record(&self) -> &std::sync::Arc<$crate::threading::PrimitiveRecord> {
            &self.$($record).+
        }
    };
}
