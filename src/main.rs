//! The `threadscope` binary: all the work is in the library.

fn main() -> std::process::ExitCode {
    threadscope::cli::main()
}
