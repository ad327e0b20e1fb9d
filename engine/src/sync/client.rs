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
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::credentials::Secret;
use crate::error::{EngineError, ErrorCode, Result};
use crate::views::SyncTimings;

pub struct SyncClient {
    http: reqwest::Client,
    base: Url,
    token: Option<Secret>,
    device_id: String,
    /// Server clock minus local clock, from the last answer (ms).
    clock_offset_ms: AtomicI64,
    clock_seen: std::sync::atomic::AtomicBool,
}

/// Checks a server address: http(s) only, and plain http only to this machine or the shop's
/// own network (loopback, private and link-local addresses, names without a dot, `.local`
/// names), so a token never crosses the internet in clear text.
pub fn parse_server_url(text: &str) -> Result<Url> {
    let text = text.trim().trim_end_matches('/');
    let url = Url::parse(text)
        .map_err(|e| EngineError::invalid(format!("server: '{text}' is not an address ({e})")))?;
    let host = url
        .host_str()
        .ok_or_else(|| EngineError::invalid(format!("server: '{text}' names no host")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_local_host(host) => Ok(url),
        "http" => Err(EngineError::invalid(format!(
            "server: plain http is only allowed to this machine or a private network address; \
             use https://{host}"
        ))),
        other => Err(EngineError::invalid(format!(
            "server: '{other}' is not http or https"
        ))),
    }
}

fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    // A name without a dot (`shop-server`) or under `.local` only resolves inside the shop's
    // own network.
    if (!host.contains('.') && host.parse::<IpAddr>().is_err()) || host.ends_with(".local") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Ok(IpAddr::V6(ip)) => ip.is_loopback() || (ip.segments()[0] & 0xfe00) == 0xfc00,
        Err(_) => false,
    }
}

impl SyncClient {
    pub fn new(base: Url, timings: &SyncTimings, device_id: &str) -> Result<SyncClient> {
        let http = reqwest::Client::builder()
            .connect_timeout(timings.connect_timeout())
            .timeout(timings.request_timeout())
            .user_agent(format!("pos-terminal/{}", crate::CLIENT_VERSION))
            .build()
            .map_err(|e| EngineError::internal(format!("HTTP client: {e}")))?;
        Ok(SyncClient {
            http,
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
        let response = request.send().await.map_err(|e| unreachable(path, &e))?;
        self.note_server_time(response.headers());
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| unreachable(path, &e))?;
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
    fn plain_http_only_to_local_addresses() {
        assert!(parse_server_url("http://127.0.0.1:8080/").is_ok());
        assert!(parse_server_url("http://192.168.1.20").is_ok());
        assert!(parse_server_url("http://localhost:3000").is_ok());
        assert!(parse_server_url("http://shop-server:8080").is_ok());
        assert!(parse_server_url("http://till-host.local").is_ok());
        assert!(parse_server_url("http://[::1]:8080").is_ok());
        assert!(parse_server_url("http://8.8.8.8").is_err());
        assert!(parse_server_url("https://pos.example.com").is_ok());
        let err = parse_server_url("http://pos.example.com").unwrap_err();
        assert!(
            err.message.contains("https://pos.example.com"),
            "{}",
            err.message
        );
        assert!(parse_server_url("ftp://x").is_err());
        assert!(parse_server_url("not a url").is_err());
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
