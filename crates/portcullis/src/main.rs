//! The `portcullis` binary: the CLI, config loading and wiring. Nothing clever lives here: each
//! subcommand is a module under `cmd/` that parses its arguments and calls into a library crate.

mod cmd;
mod config;
mod credentials;
mod input;
mod replay;
mod summary;

use clap::{Parser, Subcommand};

/// portcullis protects an organisation's logins against password guessing: brute force,
/// per-account guessing and, above all, the low-and-slow distributed password spray.
#[derive(Parser, Debug)]
#[command(name = "portcullis", version, about, long_about = None, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "\
Examples:
  portcullis analyze /var/log/mail.log*          what happened? (report on the terminal)
  portcullis analyze --format json auth.log.gz   the same as JSON (report schema v1)
  portcullis parse /var/log/mail.log | head      how portcullis reads your logs
  portcullis serve --config /etc/portcullis/portcullis.toml
                                                 live policy server for Dovecot / wforce clients
  portcullis simulate --scenario parliament-2017 --out sim/   realistic attack + labels
  portcullis config --defaults                   every setting, commented";

#[derive(Subcommand, Debug)]
enum Command {
    /// Read logs and report brute force, guessing, sprays and compromised accounts.
    Analyze(cmd::analyze::Args),
    /// Print the login attempts found in logs as JSON lines (generic schema).
    Parse(cmd::parse::Args),
    /// Run the live policy server (Dovecot auth_policy, wforce API, native API, followers).
    Serve(cmd::serve::Args),
    /// Talk to a running server: campaigns, blocks, protections, shields up.
    Admin(cmd::admin::Args),
    /// Generate realistic traffic with attacks, in real log formats, plus ground-truth labels.
    Simulate(cmd::simulate::Args),
    /// Score a report against ground-truth labels.
    Eval(cmd::eval::Args),
    /// Breached and weak passwords: build the offline filter, check a password, audit hashes.
    Passwords(cmd::passwords::Args),
    /// Write a self-contained HTML incident report and indicator exports (CSV, STIX 2.1).
    Report(cmd::report::Args),
    /// Print the configuration (defaults, commented) or check a config file.
    Config(cmd::config::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(a) => cmd::analyze::run(a),
        Command::Parse(a) => cmd::parse::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Admin(a) => cmd::admin::run(a),
        Command::Simulate(a) => cmd::simulate::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Passwords(a) => cmd::passwords::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Config(a) => cmd::config::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("portcullis: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
