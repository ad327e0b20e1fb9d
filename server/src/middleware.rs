//! Layers every request passes through: the server timestamp, NUL bytes refused in the URL,
//! the bearer token checked before any body is read, the body limit, and the
//! database-backed idempotency of POST, PUT and PATCH (per caller).

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use pos_protocol::error::ErrorCode;
use sha2::{Digest, Sha256};

use crate::auth::{authenticate, AuthUser};
use crate::error::ApiError;
use crate::store::NewKey;
use crate::AppState;

pub const IDEMPOTENCY_KEY_HEADER: &str = "x-idempotency-key";
pub const IDEMPOTENCY_REPLAYED_HEADER: &str = "x-idempotency-replayed";
pub const SERVER_TIMESTAMP_HEADER: &str = "x-server-timestamp";
const MAX_KEY_LEN: usize = 64;

fn too_large() -> Response {
    ApiError::new(ErrorCode::PayloadTooLarge, "The request body is too large").into_response()
}

/// Reads the whole body up to the limit (413 above it), so later layers and extractors work
/// on bytes that are known to fit.
pub async fn body_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.settings.body_limit_for(request.uri().path());
    let declared = declared_length(&request);
    let (parts, body) = request.into_parts();
    if declared.is_some_and(|len| len > limit.max(DRAIN_LIMIT)) {
        return too_large();
    }
    match read_within(body, limit).await {
        Some(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        None => too_large(),
    }
}

/// HTTP clients write the whole body before they read an answer: a 413 sent while one is
/// still writing, followed by the connection closing, reaches it as a reset ("broken pipe")
/// instead of the 413. Bodies up to this size are therefore read to their end, the part past
/// the limit thrown away as it arrives, before the 413 goes out; larger ones are cut off.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// The body when it fits in `limit`; `None` (after draining up to [`DRAIN_LIMIT`]) when not.
async fn read_within(mut body: Body, limit: usize) -> Option<Vec<u8>> {
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return None;
        };
        let Some(data) = frame.data_ref() else {
            continue;
        };
        seen += data.len();
        if seen <= limit {
            kept.extend_from_slice(data);
        } else if seen > DRAIN_LIMIT {
            return None;
        }
    }
    (seen <= limit).then_some(kept)
}

/// Routes anyone may call; every other route under `/api/v1/` needs a token. A route added
/// later is therefore closed until it is listed here.
const OPEN_ROUTES: [&str; 3] = [
    "/api/v1/sign-in",
    "/api/v1/sync/health",
    "/api/v1/openapi.json",
];

/// Whether the route a request was routed to needs a bearer token.
pub fn needs_token(route: &str) -> bool {
    route.starts_with("/api/v1/") && !OPEN_ROUTES.contains(&route)
}

/// Resolves the bearer token before anything reads the body, so an outsider's upload is
/// answered 401 from its headers alone instead of being held in memory first. The caller is
/// left in the request's extensions for the idempotency layer and the handler.
pub async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    if !route.is_some_and(|route| needs_token(route.as_str())) {
        return next.run(request).await;
    }
    match authenticate(&state, request.headers()).await {
        Ok(user) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Err(refused) => {
            // A body within the ordinary limit is read and dropped, so a client still
            // writing it sees the 401 rather than a reset connection; a larger or unsized
            // one (a rescue file, an outsider's upload) is not read at all.
            let limit = state.settings.body_limit;
            if declared_length(&request).is_some_and(|len| len <= limit) {
                discard(request.into_body(), limit).await;
            }
            refused.into_response()
        }
    }
}

fn declared_length(request: &Request) -> Option<usize> {
    request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// Reads a body to its end without keeping it, giving up past `most` bytes.
async fn discard(mut body: Body, most: usize) {
    let mut seen = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        seen += frame.data_ref().map_or(0, |data| data.len());
        if seen > most {
            return;
        }
    }
}

/// A NUL character in a path or query parameter is a 422 naming the parameter: PostgreSQL
/// cannot hold one in text (SQLite could, so the databases would disagree), and it is never
/// part of a real name, code or search. A URL can carry NUL only as `%00`.
pub async fn refuse_nul_in_url(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let in_query = uri.query().is_some_and(|q| q.contains("%00"));
    if !in_query && !uri.path().contains("%00") {
        return next.run(request).await;
    }
    let (mut parts, _) = request.into_parts();
    let field = match parts.uri.query().and_then(nul_in_query) {
        Some(field) => field,
        None => nul_in_path(&mut parts).await,
    };
    ApiError::invalid_field(field, "may not contain NUL characters").into_response()
}

/// The query parameter whose name or value holds a NUL.
fn nul_in_query(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| name.replace('\0', ""))
}

/// The path parameter holding a NUL, else `path`.
async fn nul_in_path(parts: &mut Parts) -> String {
    RawPathParams::from_request_parts(parts, &())
        .await
        .ok()
        .and_then(|params| {
            params
                .iter()
                .find(|(_, value)| value.contains('\0'))
                .map(|(name, _)| name.to_string())
        })
        .unwrap_or_else(|| "path".to_string())
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// `X-Server-Timestamp` on every response and `_server_timestamp` in every JSON object body,
/// so terminals can estimate their clock offset from any answer.
pub async fn server_timestamp(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let stamp = pos_protocol::time::format(&pos_protocol::time::now());
    let (mut parts, body) = response.into_parts();
    if let Ok(value) = HeaderValue::from_str(&stamp) {
        parts.headers.insert(SERVER_TIMESTAMP_HEADER, value);
    }
    let response = Response::from_parts(parts, body);
    if !is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return ApiError::internal("cannot read a response body").into_response();
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut object)) => {
            object.insert("_server_timestamp".into(), stamp.into());
            match serde_json::to_vec(&object) {
                Ok(stamped) => {
                    parts.headers.remove(CONTENT_LENGTH);
                    Body::from(stamped)
                }
                Err(_) => Body::from(bytes),
            }
        }
        _ => Body::from(bytes),
    };
    Response::from_parts(parts, body)
}

fn valid_key(key: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What makes two requests "the same" for a key: method, path with query, and body.
pub fn request_hash(method: &Method, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

enum Claim {
    /// This request runs and its answer is stored.
    Run,
    /// Answer without running.
    Answer(Response),
}

/// A client that hangs up must not cancel a write half-way: hyper drops the handler's future
/// when the connection closes, which would abandon a transaction between two statements (and
/// leave an idempotency key "in progress"). Writes therefore run to their end in a task of
/// their own; reads are cheap to cancel and stay in the connection's task.
pub async fn run_to_completion(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(err) => {
            tracing::error!(%err, "a write request's task failed");
            ApiError::internal("the request failed").into_response()
        }
    }
}

/// Replays a stored answer, refuses a different request under the same key, and holds off a
/// duplicate of a request still running.
async fn claim(state: &AppState, key: &NewKey<'_>) -> Result<Claim, ApiError> {
    let store = &state.store;
    let abandoned_before = key.now - state.settings.idempotency_lock_timeout;
    store
        .purge_key(key.business_id, key.key, key.now, abandoned_before)
        .await?;
    // The stored key can vanish between the insert and the read (it expired); try again once.
    for _ in 0..2 {
        if store.insert_key(key).await? {
            return Ok(Claim::Run);
        }
        let Some(stored) = store.get_key(key.business_id, key.key).await? else {
            continue;
        };
        if stored.request_hash != key.request_hash {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "This idempotency key was already used for a different request",
            ));
        }
        let Some(status) = stored.status_code else {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyInProgress,
                "A request with this idempotency key is still running; retry shortly",
            ));
        };
        let mut response = Response::new(Body::from(stored.response_body));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            IDEMPOTENCY_REPLAYED_HEADER,
            HeaderValue::from_static("true"),
        );
        return Ok(Claim::Answer(response));
    }
    Err(ApiError::new(
        ErrorCode::IdempotencyKeyInProgress,
        "The idempotency key is busy; retry shortly",
    ))
}

/// Routes that hand out or end tokens: a key sent with them is ignored, so a stored answer
/// (a token) can never be replayed to anyone.
const TOKEN_ROUTES: [&str; 3] = [
    "/api/v1/sign-in",
    "/api/v1/refresh-token",
    "/api/v1/sign-out",
];

/// How a key is stored: scoped by the caller, so one user's key never reaches another's
/// answer, even within a business. Client keys hold no `:`, so scoped keys cannot collide
/// with each other or with the keys of batch operations.
pub fn caller_key(user_id: i64, key: &str) -> String {
    format!("{user_id}:{key}")
}

/// POST, PUT and PATCH with `X-Idempotency-Key` run at most once per caller and key; the
/// stored status and body answer every repeat by the same user. The keys live in the
/// database, so several server processes honour each other's.
pub async fn idempotency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH
    ) || TOKEN_ROUTES.contains(&request.uri().path())
    {
        return next.run(request).await;
    }
    let Some(raw_key) = request.headers().get(IDEMPOTENCY_KEY_HEADER) else {
        return next.run(request).await;
    };
    let key = match raw_key.to_str() {
        Ok(key) if valid_key(key) => key.to_string(),
        _ => {
            return ApiError::invalid_field(
                "X-Idempotency-Key",
                "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'",
            )
            .into_response()
        }
    };
    // The token layer resolved the caller of every route that needs one; the open routes
    // have no caller to scope a key by, and take none.
    let Some(user) = request.extensions().get::<AuthUser>().cloned() else {
        return next.run(request).await;
    };
    let key = caller_key(user.user_id, &key);
    let limit = state.settings.body_limit_for(request.uri().path());
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, limit).await else {
        return too_large();
    };
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    let hash = request_hash(&parts.method, &path, &bytes);
    let now = pos_protocol::time::now();
    let new_key = NewKey {
        business_id: user.business_id,
        key: &key,
        method: parts.method.as_str(),
        path: &path,
        request_hash: &hash,
        now,
        expires_at: now + state.settings.idempotency_ttl,
    };
    match claim(&state, &new_key).await {
        Ok(Claim::Run) => {}
        Ok(Claim::Answer(response)) => return response,
        Err(err) => return err.into_response(),
    }
    let business_id = user.business_id;
    // In a task of its own, so a handler that panics answers 500 here and the key is let go
    // below, instead of staying "in progress" until the lock times out.
    let running = tokio::spawn(next.run(Request::from_parts(parts, Body::from(bytes))));
    let response = match running.await {
        Ok(response) => response,
        Err(err) => {
            tracing::error!(%err, key, "a request holding an idempotency key failed");
            ApiError::internal("the request failed").into_response()
        }
    };
    let (response_parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, usize::MAX).await else {
        let _ = state.store.delete_key(business_id, &key).await;
        return ApiError::internal("cannot read a response body").into_response();
    };
    let outcome = if response_parts.status.is_server_error() {
        // Nothing was applied (or the client cannot know): let a retry run again.
        state.store.delete_key(business_id, &key).await
    } else {
        state
            .store
            .complete_key(business_id, &key, response_parts.status.as_u16(), &body)
            .await
    };
    if let Err(err) = outcome {
        tracing::error!(%err, key, "cannot record the idempotency outcome");
    }
    Response::from_parts(response_parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_and_plain() {
        assert!(valid_key("sale-0f8a_12"));
        assert!(!valid_key(""));
        assert!(!valid_key(&"a".repeat(65)));
        assert!(!valid_key("has space"));
        assert!(!valid_key("ümlaut"));
    }

    #[test]
    fn the_hash_covers_method_path_and_body() {
        let a = request_hash(&Method::POST, "/api/v1/products", b"{}");
        assert_eq!(a, request_hash(&Method::POST, "/api/v1/products", b"{}"));
        assert_ne!(a, request_hash(&Method::PUT, "/api/v1/products", b"{}"));
        assert_ne!(a, request_hash(&Method::POST, "/api/v1/brands", b"{}"));
        assert_ne!(a, request_hash(&Method::POST, "/api/v1/products", b"{ }"));
    }
}
