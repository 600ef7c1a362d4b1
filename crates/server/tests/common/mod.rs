//! The in-process server the HTTP tests run against: `start_engine` + `Listeners::bind` +
//! `serve` on loopback ports chosen by the kernel, stopped through the shutdown future so the
//! store is flushed and closed exactly as in production.

#![allow(dead_code)] // each test file uses its own part of this

use portcullis_core::Prefix;
use portcullis_engine::{Engine, EngineConfig};
use portcullis_passwords::PasswordChecker;
use portcullis_server::{Listeners, ServerConfig, serve, start_engine};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A running server: its runtime, its listener addresses, and how to stop it.
pub struct Running {
    pub rt: tokio::runtime::Runtime,
    pub policy: SocketAddr,
    /// `None` when `admin_listen` is empty.
    pub admin_addr: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Starts `serve` with a default engine that trusts `trusted` (instead of the default
    /// private ranges) and an optional password checker.
    pub fn start(
        cfg: ServerConfig,
        trusted: Vec<Prefix>,
        passwords: Option<Arc<PasswordChecker>>,
    ) -> Running {
        Running::start_with_engine(
            cfg,
            EngineConfig {
                trusted_networks: trusted,
                ..EngineConfig::default()
            },
            passwords,
        )
    }

    /// Starts `serve` with an engine of the given configuration.
    pub fn start_with_engine(
        cfg: ServerConfig,
        engine: EngineConfig,
        passwords: Option<Arc<PasswordChecker>>,
    ) -> Running {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let engine = Engine::new(engine);
        let handle = start_engine(&cfg, engine).unwrap();
        let listeners = rt.block_on(Listeners::bind(&cfg)).unwrap();
        let (policy, admin_addr) = (listeners.policy_addr(), listeners.admin_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let done = rt.spawn(serve(
            listeners,
            Arc::new(cfg),
            handle,
            Arc::new(Default::default()),
            passwords,
            async move {
                let _ = rx.await;
            },
        ));
        Running {
            rt,
            policy,
            admin_addr,
            stop: Some(tx),
            done: Some(done),
        }
    }

    /// The admin listener's address (panics when it is disabled).
    pub fn admin(&self) -> SocketAddr {
        self.admin_addr.expect("admin listener enabled")
    }

    /// Shuts down gracefully and checks that `serve` returned Ok.
    pub fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let done = self.done.take().unwrap();
        self.rt.block_on(done).unwrap().unwrap();
    }
}

/// A blocking HTTP client that returns every status as an answer, with a 20 s timeout.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}
