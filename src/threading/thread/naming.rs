//! Thread names: defaults, target names, and the kernel's 15-byte comm.

/// The longest comm the kernel keeps, in bytes (16 with the NUL).
pub const COMM_MAX_BYTES: usize = 15;

/// The kernel comm a name becomes: up to the first NUL, cut to 15 bytes at
/// a UTF-8 character boundary.
///
/// # Examples
///
/// ```
/// use threadscope::threading::kernel_comm;
/// assert_eq!(kernel_comm("PaymentService-Processor-1"), "PaymentService-");
/// // 14 bytes fit; the 2-byte "ö" would straddle the limit, so it goes whole.
/// assert_eq!(kernel_comm("ünïcödé-wxörker"), "ünïcödé-wx");
/// ```
pub fn kernel_comm(name: &str) -> &str {
    let name = name.split('\0').next().unwrap_or_default();
    if name.len() <= COMM_MAX_BYTES {
        return name;
    }
    let mut end = COMM_MAX_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// The function name behind a target type, or None for closures (which,
/// like Python objects without `__name__`, add nothing to "Thread-N").
pub(crate) fn target_name<F>() -> Option<String> {
    let full = std::any::type_name::<F>();
    if full.contains("{{closure}}") || full.contains('&') || full.contains("dyn ") {
        return None;
    }
    let without_generics = full.split('<').next().unwrap_or(full);
    let last = without_generics.rsplit("::").next().unwrap_or(without_generics);
    (!last.is_empty()).then(|| last.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker() {}

    #[test]
    fn fn_items_have_names_and_closures_do_not() {
        fn name_of<F: FnOnce()>(_: F) -> Option<String> {
            target_name::<F>()
        }
        assert_eq!(name_of(worker).as_deref(), Some("worker"));
        assert_eq!(name_of(|| ()), None);
    }

    #[test]
    fn comm_stops_at_nul_and_keeps_short_names() {
        assert_eq!(kernel_comm("a\0b"), "a");
        assert_eq!(kernel_comm("MainThread"), "MainThread");
        assert_eq!(kernel_comm("exactly-15-byte"), "exactly-15-byte");
    }

    #[test]
    fn comm_never_splits_a_character() {
        // 14 ASCII bytes then a 3-byte character: cutting at 15 would split it.
        let name = "abcdefghijklmn\u{20ac}x";
        assert_eq!(kernel_comm(name), "abcdefghijklmn");
    }
}
