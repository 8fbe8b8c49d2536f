//! The `threadscope` binary: the command line ([`cli`]) over the library,
//! which does all the work.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
