//! A small blocking client of the admin API, used by `portcullis admin …` (and by tests).

use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

/// Talks to a running server's admin listener.
pub struct AdminClient {
    base: String,
    token: String,
    agent: ureq::Agent,
}

/// An admin API call that failed: transport, or an HTTP error with the server's explanation.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach {url}: {msg}")]
    Transport { url: String, msg: String },
    #[error("{status} from {url}: {msg}")]
    Http {
        url: String,
        status: u16,
        msg: String,
    },
}

impl AdminClient {
    /// `base` is e.g. `http://127.0.0.1:8301` (or `https://…`, verified against the Mozilla
    /// roots); `token` the admin bearer token.
    pub fn new(base: &str, token: &str) -> Self {
        Self::build(base, token, None)
    }

    /// As [`AdminClient::new`], trusting the PEM certificates of `ca_file` instead of the
    /// public roots (a private CA, or the server's self-signed certificate).
    pub fn with_ca_file(base: &str, token: &str, ca_file: &Path) -> Result<Self, String> {
        let pem = std::fs::read(ca_file).map_err(|e| format!("{}: {e}", ca_file.display()))?;
        let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", ca_file.display()))?;
        if certs.is_empty() {
            return Err(format!("{}: no PEM certificate in it", ca_file.display()));
        }
        Ok(Self::build(
            base,
            token,
            Some(RootCerts::new_with_certs(&certs)),
        ))
    }

    fn build(base: &str, token: &str, roots: Option<RootCerts>) -> Self {
        let mut tls = TlsConfig::builder().provider(TlsProvider::Rustls);
        if let Some(r) = roots {
            tls = tls.root_certs(r);
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .tls_config(tls.build())
            .build()
            .into();
        AdminClient {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            agent,
        }
    }

    fn finish(
        &self,
        url: &str,
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, ClientError> {
        let mut resp = r.map_err(|e| ClientError::Transport {
            url: url.to_string(),
            msg: e.to_string(),
        })?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| ClientError::Transport {
                url: url.to_string(),
                msg: e.to_string(),
            })?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            Ok(v)
        } else {
            let msg = v
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            Err(ClientError::Http {
                url: url.to_string(),
                status,
                msg,
            })
        }
    }

    /// `GET path` (e.g. `/v1/campaigns?limit=10`).
    pub fn get(&self, path: &str) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let r = self
            .agent
            .get(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .call();
        self.finish(&url, r)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let r = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .send(body.to_string());
        self.finish(&url, r)
    }

    /// `GET /metrics` (no token needed, sent anyway).
    pub fn metrics(&self) -> Result<String, ClientError> {
        let url = format!("{}/metrics", self.base);
        let r = self.agent.get(&url).call();
        match self.finish(&url, r)? {
            Value::String(s) => Ok(s),
            v => Ok(v.to_string()),
        }
    }
}
