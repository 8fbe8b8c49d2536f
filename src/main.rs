//! The `threadscope` binary: parses arguments and calls into the library.

use clap::Parser;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "threadscope",
    version,
    about = "Watch threads live: Python's threading model in Rust, cross-referenced with the kernel"
)]
struct Cli {}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    threadscope::cli::demo()
}
