//! The `portcullis` binary: the CLI, config loading and wiring. Nothing clever lives here.
fn main() {}
