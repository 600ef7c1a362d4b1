//! `portcullis serve`: the live policy server (Dovecot auth_policy, wforce API, native API,
//! admin API). Reads `portcullis.toml` (`[accounts]`, `[engine]`, `[server]`), opens the store,
//! replays the stored admin state into a fresh engine, and serves until SIGTERM / Ctrl-C, then
//! drains connections and flushes the store. See docs/server.md and docs/operations.md.

use anyhow::Context;
use portcullis_engine::Engine;
use portcullis_server::{Listeners, ServerConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Configuration file (default: /etc/portcullis/portcullis.toml when it exists).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Override `[server] policy_listen`.
    #[arg(long)]
    pub policy_listen: Option<String>,
    /// Override `[server] admin_listen` ("" disables the admin API).
    #[arg(long)]
    pub admin_listen: Option<String>,
    /// Override `[server] data_dir`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Check the configuration and exit.
    #[arg(long)]
    pub check: bool,
}

/// The `[server]` section of the loaded configuration, with environment secrets and
/// command-line overrides applied.
pub fn server_config(table: &toml::Table, args: &Args) -> anyhow::Result<ServerConfig> {
    let mut cfg: ServerConfig = toml::Value::Table(table.clone())
        .try_into()
        .context("invalid [server] section")?;
    cfg = cfg.with_env_secrets();
    if let Some(v) = &args.policy_listen {
        cfg.policy_listen = v.clone();
    }
    if let Some(v) = &args.admin_listen {
        cfg.admin_listen = v.clone();
    }
    if let Some(v) = &args.data_dir {
        cfg.data_dir = v.clone();
    }
    if !args.check
        && let Some((path, created)) = crate::credentials::ensure(&mut cfg)?
    {
        let what = if created { "generated" } else { "using" };
        eprintln!(
            "portcullis: {what} credentials in {} (policy user {:?}; the admin token is read \
             from there by `portcullis admin`). Set them in portcullis.toml to choose your own.",
            path.display(),
            cfg.policy_user
        );
    }
    cfg.validate()?;
    Ok(cfg)
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: keep the first.
    let _ = if json {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (config, origin) = crate::config::load(args.config.as_deref())?;
    let server = server_config(&config.server, &args)?;
    if args.check {
        println!(
            "configuration OK ({}); policy {}, admin {}, store {}",
            origin
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "built-in defaults".into()),
            server.policy_listen,
            if server.admin_listen.is_empty() {
                "disabled"
            } else {
                &server.admin_listen
            },
            server.store_file().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    init_logging(server.log_format == "json");
    let engine = Engine::new(config.engine.clone());
    let cluster = config.cluster.clone();
    let handle = if cluster.enabled() {
        cluster.validate().map_err(|m| anyhow::anyhow!(m))?;
        portcullis_server::start_replica(&server, engine)?
    } else {
        portcullis_server::start_engine(&server, engine)?
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(server.effective_worker_threads(cpus))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let normalize = Arc::new(config.accounts.clone());
    // The password checker is opened before serving: a configured but unreadable breach filter
    // stops start-up rather than silently checking nothing.
    let passwords = Arc::new(config.passwords.open_checker().with_context(|| {
        format!(
            "cannot open the breach filter {:?} ([passwords] filter)",
            config.passwords.filter
        )
    })?);
    rt.block_on(async move {
        if cluster.enabled() {
            portcullis_server::cluster::start(&handle, &cluster, &server.data_dir)?;
            handle.set_ready(true);
        }
        let listeners = Listeners::bind(&server).await?;
        // Log followers and the syslog receiver (docs/followers.md); they stop before the
        // store closes, so nothing is fed to a closed store.
        let sources = portcullis_server::Sources::start(&server, &normalize, &handle).await?;
        let shutdown = async move {
            portcullis_server::shutdown_signal().await;
            sources.stop().await;
        };
        tracing::info!(
            config = %origin.map(|p| p.display().to_string()).unwrap_or_else(|| "built-in defaults".into()),
            "portcullis serving"
        );
        portcullis_server::serve(
            listeners,
            Arc::new(server),
            handle,
            normalize,
            Some(passwords),
            shutdown,
        )
        .await
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> Args {
        Args {
            config: None,
            policy_listen: None,
            admin_listen: None,
            data_dir: None,
            check: false,
        }
    }

    #[test]
    fn server_section_is_read_validated_and_overridden() {
        let table: toml::Table = toml::from_str(
            "policy_password = \"pw\"\nadmin_token = \"0123456789abcdef\"\ndata_dir = \"/tmp/x\"\n",
        )
        .unwrap();
        let cfg = server_config(&table, &args()).unwrap();
        assert_eq!(cfg.policy_listen, "127.0.0.1:8300");
        assert_eq!(cfg.store_file(), PathBuf::from("/tmp/x/portcullis.db"));
        let over = Args {
            policy_listen: Some("127.0.0.1:9300".into()),
            admin_listen: Some(String::new()),
            ..args()
        };
        let cfg = server_config(&table, &over).unwrap();
        assert_eq!(cfg.policy_listen, "127.0.0.1:9300");
        assert!(cfg.admin_addr().unwrap().is_none());
    }

    #[test]
    fn bad_server_sections_are_explained() {
        let typo: toml::Table = toml::from_str("polcy_password = \"pw\"\n").unwrap();
        let e = format!("{:#}", server_config(&typo, &args()).unwrap_err());
        assert!(e.contains("polcy_password"), "{e}");
        let short: toml::Table =
            toml::from_str("policy_password = \"pw\"\nadmin_token = \"short\"\n").unwrap();
        let e = format!("{:#}", server_config(&short, &args()).unwrap_err());
        assert!(e.contains("admin_token"), "{e}");
    }
}
