//! HTTP to the server: sign-in, register, full, changes, batch. Only this module knows HTTP.
//!
//! Every request has a connect and a total timeout (a lost response never hangs a sync) and
//! carries `X-Client-Version`; every answer's `X-Server-Timestamp` updates the clock offset.

use chrono::{DateTime, Utc};
use pos_protocol::auth::{RefreshData, RefreshResponse, SignInData, SignInRequest, SignInResponse};
use pos_protocol::error::ApiErrorBody;
use pos_protocol::sync::{
    BatchRequest, BatchResponse, ChangesResponse, FullResponse, RegisterData, RegisterRequest,
    RegisterResponse, CLIENT_VERSION_HEADER, DEVICE_ID_HEADER, SERVER_TIMESTAMP_HEADER,
};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::trust::{self, Handshake, PinningVerifier, ServerTrust};
use crate::credentials::Secret;
use crate::error::{EngineError, ErrorCode, Result};
use crate::views::SyncTimings;

pub struct SyncClient {
    http: reqwest::Client,
    verifier: Arc<PinningVerifier>,
    base: Url,
    token: Option<Secret>,
    device_id: String,
    /// Server clock minus local clock, from the last answer (ms).
    clock_offset_ms: AtomicI64,
    clock_seen: std::sync::atomic::AtomicBool,
}

/// Checks a server address: http or https with a host. Whether plain http may be used there
/// is the till's trust in that server (`trust`), checked when a client is made.
pub fn parse_server_url(text: &str) -> Result<Url> {
    let text = text.trim().trim_end_matches('/');
    let url = Url::parse(text)
        .map_err(|e| EngineError::invalid(format!("server: '{text}' is not an address ({e})")))?;
    if url.host_str().is_none() {
        return Err(EngineError::invalid(format!(
            "server: '{text}' names no host"
        )));
    }
    match url.scheme() {
        "https" | "http" => Ok(url),
        other => Err(EngineError::invalid(format!(
            "server: '{other}' is not http or https"
        ))),
    }
}

impl SyncClient {
    /// A client that speaks to `base` only as far as `trust` allows: plain http beyond
    /// loopback is refused unless allowed, and a TLS handshake accepts the pinned certificate
    /// only (or, with no pin, one valid under the web PKI).
    pub(crate) fn new(
        base: Url,
        timings: &SyncTimings,
        device_id: &str,
        trust: &ServerTrust,
    ) -> Result<SyncClient> {
        if base.scheme() == "http" && !trust::is_loopback(&base) && !trust.plain_http_allowed {
            return Err(trust::plain_http_refused(&base));
        }
        let verifier = Arc::new(PinningVerifier::new(trust.pinned_sha256.clone())?);
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(verifier.client_config()?)
            .connect_timeout(timings.connect_timeout())
            .timeout(timings.request_timeout())
            .user_agent(format!("pos-terminal/{}", crate::CLIENT_VERSION))
            .build()
            .map_err(|e| EngineError::internal(format!("HTTP client: {e}")))?;
        Ok(SyncClient {
            http,
            verifier,
            base,
            token: None,
            device_id: device_id.to_string(),
            clock_offset_ms: AtomicI64::new(0),
            clock_seen: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn with_token(mut self, token: Secret) -> SyncClient {
        self.token = Some(token);
        self
    }

    /// How the last TLS handshake went (None over plain http).
    pub(crate) fn handshake(&self) -> Option<Handshake> {
        self.verifier.last_handshake()
    }

    /// Server clock minus local clock, when an answer has told it.
    pub fn clock_offset_ms(&self) -> Option<i64> {
        self.clock_seen
            .load(Ordering::Relaxed)
            .then(|| self.clock_offset_ms.load(Ordering::Relaxed))
    }

    fn url(&self, path: &str) -> Result<Url> {
        let joined = format!("{}{path}", self.base.as_str().trim_end_matches('/'));
        Url::parse(&joined).map_err(|e| EngineError::internal(format!("URL {joined}: {e}")))
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<(StatusCode, T)> {
        let url = self.url(path)?;
        let mut request = self
            .http
            .request(method, url)
            .query(query)
            .header(CLIENT_VERSION_HEADER, crate::CLIENT_VERSION)
            .header(DEVICE_ID_HEADER, &self.device_id);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.failed(path, &e))?;
        self.note_server_time(response.headers());
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.failed(path, &e))?;
        if status.is_success() {
            let value = serde_json::from_slice(&bytes).map_err(|e| {
                EngineError::new(
                    ErrorCode::ProtocolError,
                    format!("{path}: the server's answer could not be read: {e}"),
                )
            })?;
            return Ok((status, value));
        }
        let explained = serde_json::from_slice::<ApiErrorBody>(&bytes)
            .map(|b| b.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).chars().take(200).collect());
        Err(match status {
            StatusCode::UNAUTHORIZED => EngineError::new(
                ErrorCode::Unauthenticated,
                format!("the server refused the sign-in or the session ended: {explained}"),
            ),
            StatusCode::UPGRADE_REQUIRED => EngineError::new(
                ErrorCode::ClientTooOld,
                format!("the server needs a newer terminal: {explained}"),
            ),
            StatusCode::PAYLOAD_TOO_LARGE => EngineError::new(
                ErrorCode::PayloadTooLarge,
                format!("{path}: the server found the request too large: {explained}"),
            ),
            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => EngineError::new(
                ErrorCode::ServerUnreachable,
                format!("{path}: the server answered {s}: {explained}"),
            ),
            s => EngineError::new(
                ErrorCode::ServerRejected,
                format!("{path}: the server answered {s}: {explained}"),
            ),
        })
    }

    fn note_server_time(&self, headers: &reqwest::header::HeaderMap) {
        let Some(server) = headers
            .get(SERVER_TIMESTAMP_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_server_time)
        else {
            return;
        };
        let offset = (server - Utc::now()).num_milliseconds();
        self.clock_offset_ms.store(offset, Ordering::Relaxed);
        self.clock_seen.store(true, Ordering::Relaxed);
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Result<SignInData> {
        let body = SignInRequest {
            email: email.to_string(),
            password: password.to_string(),
        };
        let (_, answer): (_, SignInResponse) = self
            .call(Method::POST, "/api/v1/sign-in", &[], Some(&body))
            .await?;
        Ok(answer.data)
    }

    /// Revokes the token on the server.
    pub async fn sign_out(&self) -> Result<()> {
        let (_, _): (_, serde_json::Value) = self
            .call::<(), _>(Method::GET, "/api/v1/sign-out", &[], None)
            .await?;
        Ok(())
    }

    /// Trades the current token for a fresh one (the old one keeps working for a grace
    /// period, so a lost answer cannot lock the till out).
    pub async fn refresh_token(&self) -> Result<RefreshData> {
        let (_, answer): (_, RefreshResponse) = self
            .call::<(), _>(Method::GET, "/api/v1/refresh-token", &[], None)
            .await?;
        Ok(answer.data)
    }

    pub async fn register(&self, request: &RegisterRequest) -> Result<RegisterData> {
        let (_, answer): (_, RegisterResponse) = self
            .call(Method::POST, "/api/v1/sync/register", &[], Some(request))
            .await?;
        Ok(answer.data)
    }

    pub async fn full(&self, page_size: u32, cursor: Option<&str>) -> Result<FullResponse> {
        let mut query = vec![("page_size", page_size.to_string())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_string()));
        }
        let (_, answer) = self
            .call::<(), _>(Method::GET, "/api/v1/sync/full", &query, None)
            .await?;
        Ok(answer)
    }

    pub async fn changes(&self, sync_token: &str, page_size: u32) -> Result<ChangesResponse> {
        let query = [
            ("sync_token", sync_token.to_string()),
            ("page_size", page_size.to_string()),
        ];
        let (_, answer) = self
            .call::<(), _>(Method::GET, "/api/v1/sync/changes", &query, None)
            .await?;
        Ok(answer)
    }

    /// Sends one batch; 200 and 207 both carry per-operation results.
    pub async fn batch(&self, request: &BatchRequest) -> Result<BatchResponse> {
        let (_, answer) = self
            .call(Method::POST, "/api/v1/sync/batch", &[], Some(request))
            .await?;
        Ok(answer)
    }
}

/// `X-Server-Timestamp`: RFC 3339, or milliseconds / seconds since the epoch.
fn parse_server_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = pos_protocol::time::parse(text) {
        return Some(at);
    }
    let number: i64 = text.trim().parse().ok()?;
    if number > 100_000_000_000 {
        DateTime::from_timestamp_millis(number)
    } else {
        DateTime::from_timestamp(number, 0)
    }
}

impl SyncClient {
    /// A request that got no answer: refused by this till's trust in the server, or the
    /// network failed.
    fn failed(&self, path: &str, e: &reqwest::Error) -> EngineError {
        match self.verifier.last_handshake() {
            Some(Handshake::Refused(seen)) => trust::refused_certificate(seen),
            _ => unreachable(path, e),
        }
    }
}

fn unreachable(path: &str, e: &reqwest::Error) -> EngineError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    EngineError::new(
        ErrorCode::ServerUnreachable,
        format!("{path}: {what} ({e})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_are_http_or_https_with_a_host() {
        assert!(parse_server_url("http://127.0.0.1:8080/").is_ok());
        assert!(parse_server_url("http://192.168.1.20").is_ok());
        assert!(parse_server_url("https://pos.example.com").is_ok());
        assert!(parse_server_url("ftp://x").is_err());
        assert!(parse_server_url("not a url").is_err());
    }

    #[test]
    fn plain_http_beyond_loopback_needs_an_allowance() {
        let timings = SyncTimings::default();
        let client = |url: &str, trust: &ServerTrust| {
            SyncClient::new(parse_server_url(url).unwrap(), &timings, "d", trust)
        };
        let none = ServerTrust::default();
        assert!(client("http://127.0.0.1:8700", &none).is_ok());
        assert!(client("http://localhost:8700", &none).is_ok());
        for url in [
            "http://192.168.1.20",
            "http://shop-server:8080",
            "http://8.8.8.8",
        ] {
            let err = client(url, &none).err().expect(url);
            assert_eq!(err.code, ErrorCode::PlainHttpRefused, "{url}");
        }
        let allowed = ServerTrust {
            plain_http_allowed: true,
            ..ServerTrust::default()
        };
        assert!(client("http://192.168.1.20", &allowed).is_ok());
        assert!(client("https://pos.example.com", &none).is_ok());
    }

    #[test]
    fn server_time_in_any_usual_form() {
        let rfc = parse_server_time("2026-11-25T17:10:24.123Z").unwrap();
        assert_eq!(rfc.timestamp_millis(), 1_795_626_624_123);
        assert_eq!(parse_server_time("1795626624123").unwrap(), rfc);
        assert_eq!(
            parse_server_time("1795626624").unwrap().timestamp(),
            1_795_626_624
        );
        assert!(parse_server_time("soon").is_none());
    }
}
