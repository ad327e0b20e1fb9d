//! What an operator can tune. `main.rs` fills it from flags and environment; tests build it
//! directly (for example with higher sign-in limits).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::tls::Transport;

/// Where the server keeps its data when `DATABASE_URL` is not set: a SQLite file in the
/// working folder, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://pos-server.db?mode=rwc";

#[derive(Debug, Clone)]
pub struct Settings {
    /// `postgres://…` for PostgreSQL, `sqlite://…` for an embedded SQLite file.
    pub database_url: String,
    /// HTTPS or plain HTTP; by default plain on loopback and HTTPS on any other address.
    pub transport: Transport,
    /// The certificate chain and its private key (PEM files) to serve HTTPS with; without
    /// them the server makes a self-signed certificate in `data_dir` on first start.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Where the server keeps what it makes for itself (the generated certificate).
    pub data_dir: PathBuf,
    /// How long a token issued by sign-in or refresh stays valid.
    pub token_ttl: chrono::Duration,
    /// How long a token keeps working after it was refreshed, so a lost refresh answer
    /// cannot lock a till out.
    pub refresh_grace: chrono::Duration,
    /// How long an idempotency key and its stored answer are kept.
    pub idempotency_ttl: chrono::Duration,
    /// A request still marked in progress after this long is taken to be abandoned
    /// (its process died) and the key may be claimed again.
    pub idempotency_lock_timeout: chrono::Duration,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Largest rescue file `POST /api/v1/sync/rescue` accepts, in bytes.
    pub rescue_body_limit: usize,
    /// Sign-in attempts answered at once for one account from one client address, and for
    /// one client address over all accounts; past them each further attempt waits twice as
    /// long as the one before (one second first), up to `sign_in_window`.
    pub sign_in_failures_per_account: u32,
    pub sign_in_failures_per_address: u32,
    /// The longest wait between sign-in attempts.
    pub sign_in_window: Duration,
    /// How long the sign-in limiter remembers an account or address after its last attempt.
    pub sign_in_memory: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client; any other peer is the client.
    pub trusted_proxies: Vec<IpNet>,
    /// Origins allowed to call the API from a browser; empty means none.
    pub cors_origins: Vec<String>,
    /// Oldest terminal version the sync API accepts.
    pub min_client_version: String,
    /// The daily cleanup drops sync logs (and answered idempotency keys) older than this.
    pub cleanup_days: i64,
    /// The daily cleanup marks devices silent this long inactive.
    pub stale_device_days: i64,
}

impl Settings {
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            transport: Transport::Auto,
            tls_cert: None,
            tls_key: None,
            data_dir: PathBuf::from("."),
            token_ttl: chrono::Duration::days(30),
            refresh_grace: chrono::Duration::minutes(10),
            idempotency_ttl: chrono::Duration::hours(24),
            idempotency_lock_timeout: chrono::Duration::minutes(5),
            body_limit: 2 * 1024 * 1024,
            rescue_body_limit: 64 * 1024 * 1024,
            sign_in_failures_per_account: 10,
            sign_in_failures_per_address: 50,
            sign_in_window: Duration::from_secs(15 * 60),
            sign_in_memory: Duration::from_secs(24 * 60 * 60),
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
            min_client_version: "0.1.0".to_string(),
            cleanup_days: 30,
            stale_device_days: 90,
        }
    }

    /// The body limit of a request path: a rescue file may be far larger than a request.
    pub fn body_limit_for(&self, path: &str) -> usize {
        if path == crate::sync::rescue::RESCUE_PATH {
            self.rescue_body_limit.max(self.body_limit)
        } else {
            self.body_limit
        }
    }
}

/// One entry of `POS_TRUSTED_PROXIES`: an address (`10.0.0.2`) or a network (`10.0.0.0/8`).
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is neither an IP address nor a network like 10.0.0.0/8"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let one = super::parse_trusted_proxy(" 10.0.0.2 ").unwrap();
        assert!(one.contains(&"10.0.0.2".parse::<std::net::IpAddr>().unwrap()));
        assert!(!one.contains(&"10.0.0.3".parse::<std::net::IpAddr>().unwrap()));
        let net = super::parse_trusted_proxy("fd00::/8").unwrap();
        assert!(net.contains(&"fd12::1".parse::<std::net::IpAddr>().unwrap()));
        assert!(super::parse_trusted_proxy("proxy.local").is_err());
    }
}
