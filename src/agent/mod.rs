//! The agent: a program that uses the library serves its registry to
//! `threadscope attach` over a Unix socket (docs/agent-protocol.md).

pub mod protocol;
pub mod python;
