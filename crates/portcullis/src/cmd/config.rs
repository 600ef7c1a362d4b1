//! `portcullis config`: print the defaults (every key commented) or check a file.

use crate::config;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  portcullis config --defaults > /etc/portcullis/portcullis.toml
  portcullis config --check /etc/portcullis/portcullis.toml")]
pub struct Args {
    /// Print every setting with its default value, commented.
    #[arg(long, conflicts_with = "check")]
    defaults: bool,
    /// Check a configuration file and report the first error with its line.
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(path) = args.check {
        config::load(Some(&path))?;
        println!("{}: ok", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    if args.defaults {
        print!("{}", config::defaults_toml());
        return Ok(ExitCode::SUCCESS);
    }
    anyhow::bail!("say --defaults or --check FILE (see `portcullis config --help`)")
}
