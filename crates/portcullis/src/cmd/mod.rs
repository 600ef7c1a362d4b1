//! One module per subcommand. Each has `Args` (clap) and `run(Args) -> Result<ExitCode>`.

pub mod admin;
pub mod analyze;
pub mod config;
pub mod eval;
pub mod parse;
pub mod passwords;
pub mod report;
pub mod serve;
pub mod simulate;
