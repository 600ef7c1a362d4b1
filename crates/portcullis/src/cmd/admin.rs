//! `portcullis admin …`: talks to a running server's admin API (campaigns, findings, blocks,
//! protections, shields, resets, the audit log). Every change names who (`--actor`, default
//! the login name) and why (`--reason`, required); the server audits both.
//!
//! Where the server is: `--url`, else `http://<admin_listen>` from the configuration. The
//! token: `--token`, else `PORTCULLIS_ADMIN_TOKEN`, else `admin_token` from the configuration.

use anyhow::Context;
use portcullis_server::client::AdminClient;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Admin API base URL (default: http://<admin_listen> from the configuration, https://
    /// when the admin listener speaks TLS).
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// PEM certificate(s) to trust for an https URL instead of the public roots: a private CA
    /// or the server's self-signed certificate (default: $PORTCULLIS_CA_CERT).
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Bearer token (default: $PORTCULLIS_ADMIN_TOKEN, then `admin_token` in the configuration).
    #[arg(long, global = true)]
    pub token: Option<String>,
    /// Configuration file (default: /etc/portcullis/portcullis.toml when it exists).
    #[arg(long, short, global = true)]
    pub config: Option<PathBuf>,
    /// Who is acting, for the audit log (default: $SUDO_USER, then $USER).
    #[arg(long, global = true)]
    pub actor: Option<String>,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// List campaigns, most recently active first.
    Campaigns {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One campaign with the findings that name it.
    Campaign { id: String },
    /// Findings after a sequence number.
    Findings {
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// The engine's live view (report schema v1).
    Report,
    /// Blocks in force.
    Blocks,
    /// Block a source address or prefix (203.0.113.9, 198.51.100.0/24, 2001:db8::/48).
    Block {
        prefix: String,
        #[arg(long)]
        reason: String,
        /// Expiry: 3600, 30m, 12h, 7d (default: until unblocked).
        #[arg(long = "for")]
        duration: Option<String>,
    },
    /// Lift a block.
    Unblock {
        prefix: String,
        #[arg(long)]
        reason: String,
    },
    /// Protections in force.
    Protections,
    /// Protect an account: internal-only, disabled or must-reset.
    Protect {
        account: String,
        #[arg(long, value_parser = ["internal-only", "disabled", "must-reset"])]
        mode: String,
        #[arg(long)]
        reason: String,
        #[arg(long = "for")]
        duration: Option<String>,
    },
    /// Lift an account's protection.
    Unprotect {
        account: String,
        #[arg(long)]
        reason: String,
    },
    /// Shields: `show`, `up` (remote access only from familiar sources and trusted networks),
    /// `down`.
    Shields {
        #[arg(value_parser = ["show", "up", "down"], default_value = "show")]
        state: String,
        /// Protocols (imap, pop3, submission, ...); none = all.
        #[arg(long = "protocol")]
        protocols: Vec<String>,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long = "for")]
        duration: Option<String>,
    },
    /// Forget an account's failure state (after a password reset).
    Reset {
        account: String,
        #[arg(long)]
        reason: String,
    },
    /// CrowdSec bouncers allowed to pull decisions from `/v1/decisions`: `list`, `add NAME`
    /// (prints its API key, once), `delete NAME`.
    Bouncers {
        #[arg(value_parser = ["list", "add", "delete"], default_value = "list")]
        action: String,
        name: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        /// With `add`: send this bouncer narrow IPv4 ranges (/22 or narrower) address by
        /// address, for bouncers that cannot enforce a range (Debian 12's
        /// crowdsec-firewall-bouncer in nftables mode).
        #[arg(long)]
        expand_ranges: bool,
    },
    /// The audit log, newest first.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// The Prometheus metrics text.
    Metrics,
}

/// Parses `3600`, `90s`, `30m`, `12h`, `7d` into seconds.
pub fn parse_duration(s: &str) -> anyhow::Result<i64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        Some((i, 'd')) => (&s[..i], 86_400),
        Some((i, 'w')) => (&s[..i], 7 * 86_400),
        _ => (s, 1),
    };
    let n: i64 = num
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .with_context(|| format!("not a duration: {s:?} (e.g. 3600, 30m, 12h, 7d)"))?;
    Ok(n.saturating_mul(mult))
}

fn actor(args: &Args) -> String {
    args.actor
        .clone()
        .or_else(|| std::env::var("SUDO_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn client(args: &Args) -> anyhow::Result<AdminClient> {
    let needs_config = args.url.is_none()
        || (args.token.is_none() && std::env::var("PORTCULLIS_ADMIN_TOKEN").is_err());
    let server = if needs_config {
        let (cfg, _) = crate::config::load(args.config.as_deref())?;
        let s: portcullis_server::ServerConfig = toml::Value::Table(cfg.server)
            .try_into()
            .context("invalid [server] section")?;
        let mut s = s.with_env_secrets();
        crate::credentials::fill_admin_token(&mut s);
        Some(s)
    } else {
        None
    };
    let url = match (&args.url, &server) {
        (Some(u), _) => u.clone(),
        (None, Some(s)) if !s.admin_listen.is_empty() => {
            let scheme = if s.tls_on().1 { "https" } else { "http" };
            format!("{scheme}://{}", s.admin_listen)
        }
        _ => anyhow::bail!("the admin API is disabled in the configuration: give --url"),
    };
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var("PORTCULLIS_ADMIN_TOKEN").ok())
        .or_else(|| server.as_ref().map(|s| s.admin_token.clone()))
        .filter(|t| !t.is_empty())
        .context("no admin token: give --token, set PORTCULLIS_ADMIN_TOKEN or admin_token")?;
    let ca = args
        .ca_cert
        .clone()
        .or_else(|| std::env::var_os("PORTCULLIS_CA_CERT").map(PathBuf::from));
    match ca {
        Some(ca) => AdminClient::with_ca_file(&url, &token, &ca)
            .map_err(|e| anyhow::anyhow!("--ca-cert {e}")),
        None => Ok(AdminClient::new(&url, &token)),
    }
}

fn expiry(d: &Option<String>) -> anyhow::Result<Value> {
    Ok(match d {
        Some(d) => json!(parse_duration(d)?),
        None => Value::Null,
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let c = client(&args)?;
    let who = actor(&args);
    let out = match &args.command {
        AdminCommand::Campaigns { limit } => c.get(&format!("/v1/campaigns?limit={limit}"))?,
        AdminCommand::Campaign { id } => c.get(&format!("/v1/campaigns/{id}"))?,
        AdminCommand::Findings { after, limit } => {
            c.get(&format!("/v1/findings?after={after}&limit={limit}"))?
        }
        AdminCommand::Report => c.get("/v1/report")?,
        AdminCommand::Blocks => c.get("/v1/blocks")?,
        AdminCommand::Block {
            prefix,
            reason,
            duration,
        } => c.post(
            "/v1/blocks",
            &json!({"prefix": prefix, "expires_in_secs": expiry(duration)?, "actor": who, "reason": reason}),
        )?,
        AdminCommand::Unblock { prefix, reason } => c.post(
            "/v1/unblock",
            &json!({"prefix": prefix, "actor": who, "reason": reason}),
        )?,
        AdminCommand::Protections => c.get("/v1/protections")?,
        AdminCommand::Protect {
            account,
            mode,
            reason,
            duration,
        } => c.post(
            "/v1/protections",
            &json!({"account": account, "mode": mode.replace('-', "_"), "expires_in_secs": expiry(duration)?, "actor": who, "reason": reason}),
        )?,
        AdminCommand::Unprotect { account, reason } => c.post(
            "/v1/unprotect",
            &json!({"account": account, "actor": who, "reason": reason}),
        )?,
        AdminCommand::Shields {
            state,
            protocols,
            reason,
            duration,
        } => {
            if state == "show" {
                c.get("/v1/shields")?
            } else {
                let reason = reason
                    .as_deref()
                    .context("--reason is required to raise or lower the shields")?;
                let protocols: Vec<String> =
                    protocols.iter().map(|p| p.to_ascii_lowercase()).collect();
                c.post(
                    "/v1/shields",
                    &json!({"up": state == "up", "protocols": protocols, "expires_in_secs": expiry(duration)?, "actor": who, "reason": reason}),
                )?
            }
        }
        AdminCommand::Reset { account, reason } => c.post(
            "/v1/reset",
            &json!({"account": account, "actor": who, "reason": reason}),
        )?,
        AdminCommand::Bouncers {
            action,
            name,
            reason,
            expand_ranges,
        } => {
            if action == "list" {
                c.get("/v1/bouncers")?
            } else {
                let name = name.as_deref().context("give the bouncer's name")?;
                let reason = reason.as_deref().context("--reason is required")?;
                let path = if action == "add" {
                    "/v1/bouncers"
                } else {
                    "/v1/bouncers/delete"
                };
                let mut body = json!({"name": name, "actor": who, "reason": reason});
                if action == "add" {
                    body["expand_ranges"] = json!(expand_ranges);
                }
                c.post(path, &body)?
            }
        }
        AdminCommand::Audit { limit } => c.get(&format!("/v1/audit?limit={limit}"))?,
        AdminCommand::Metrics => {
            emit(&c.metrics()?)?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout; a reader that stops early (`| head`, `| grep -q`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600").unwrap(), 3600);
        assert_eq!(parse_duration("30m").unwrap(), 1800);
        assert_eq!(parse_duration("12h").unwrap(), 43_200);
        assert_eq!(parse_duration("7d").unwrap(), 604_800);
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-5m").is_err());
        assert!(parse_duration("").is_err());
    }
}
