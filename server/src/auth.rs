//! Who is calling: passwords (argon2id), opaque bearer tokens stored as SHA-256 hashes,
//! sign-in with a failure limit per account and per address, and the `AuthUser` extractor
//! every protected handler takes.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::Json;
use base64::Engine;
use pos_protocol::auth::{
    RefreshData, RefreshResponse, Role, SignInData, SignInRequest, SignInResponse, UserSummary,
};
use pos_protocol::error::{ApiErrorBody, ErrorCode};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::store::UserRecord;
use crate::AppState;

/// Runs argon2 work (hashing or checking a password or PIN) off the async runtime, at most one
/// per core at a time. Each hash takes 19 MiB and a core for tens of milliseconds: fifty
/// terminals signing in at once queue here instead of holding a gigabyte between them.
pub async fn argon2_work<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    static GATE: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let gate = GATE.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    });
    // The gate is never closed, so a permit always comes.
    let _permit = gate.acquire().await;
    tokio::task::spawn_blocking(work).await
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

pub(crate) fn password_matches(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checked when the account does not exist, so an unknown email costs as long as a known one.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password").unwrap_or_default())
}

/// A new opaque token: 256 random bits, URL-safe.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The caller, resolved from its bearer token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: i64,
    pub business_id: i64,
    pub role: Role,
    pub name: String,
    pub email: String,
    pub token_hash: String,
}

impl AuthUser {
    /// 403 unless the caller has at least `role`.
    pub fn require(&self, role: Role, action: &str) -> ApiResult<()> {
        if self.role.at_least(role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "A {} may not {action}; it needs a {} or above",
                self.role.as_str(),
                role.as_str()
            )))
        }
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Resolves the bearer token of a request, or 401.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> ApiResult<AuthUser> {
    let token = bearer_token(headers).ok_or_else(|| {
        ApiError::unauthenticated("Sign in first: send Authorization: Bearer <token>")
    })?;
    let hash = token_hash(token);
    let user = state
        .store
        .token_user(&hash, pos_protocol::time::now())
        .await?
        .ok_or_else(|| ApiError::unauthenticated("The token is unknown, expired or revoked"))?;
    let role = Role::parse(&user.role)
        .ok_or_else(|| ApiError::internal(format!("user {} has role {}", user.id, user.role)))?;
    Ok(AuthUser {
        user_id: user.id,
        business_id: user.business_id,
        role,
        name: user.name,
        email: user.email,
        token_hash: hash,
    })
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        // The idempotency layer may have resolved the caller already.
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        authenticate(state, &parts.headers).await
    }
}

/// Counts failed sign-ins in a sliding window, per account and per client address.
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
    window: Duration,
    per_account: u32,
    per_address: u32,
}

impl SignInLimiter {
    pub fn new(window: Duration, per_account: u32, per_address: u32) -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            window,
            per_account,
            per_address,
        }
    }

    fn keys(account: &str, address: Option<SocketAddr>) -> [(String, bool); 2] {
        let address = address.map(|a| a.ip().to_string()).unwrap_or_default();
        [
            (format!("account:{account}"), true),
            (format!("address:{address}"), false),
        ]
    }

    fn allowed(&self, account: &str, address: Option<SocketAddr>) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        Self::keys(account, address)
            .iter()
            .all(|(key, is_account)| {
                let limit = if *is_account {
                    self.per_account
                } else {
                    self.per_address
                };
                let Some(times) = failures.get_mut(key) else {
                    return true;
                };
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > self.window)
                {
                    times.pop_front();
                }
                times.len() < limit as usize
            })
    }

    fn record_failure(&self, account: &str, address: Option<SocketAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for (key, _) in Self::keys(account, address) {
            failures.entry(key).or_default().push_back(Instant::now());
        }
    }
}

/// The client's address when the server was started with connection info.
pub struct ClientAddress(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr),
        ))
    }
}

#[utoipa::path(post, path = "/api/v1/sign-in", tag = "auth", request_body = SignInRequest,
    responses(
        (status = 200, description = "Signed in", body = SignInResponse),
        (status = 401, description = "Wrong email or password", body = ApiErrorBody),
        (status = 429, description = "Too many failed attempts", body = ApiErrorBody),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(request): ApiJson<SignInRequest>,
) -> ApiResult<Json<SignInResponse>> {
    let email = request.email.trim().to_lowercase();
    if !state.sign_in_limiter.allowed(&email, address) {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            "Too many failed sign-ins; wait a few minutes and try again",
        ));
    }
    let user = state.store.user_by_email(&email).await?;
    let stored_hash = user
        .as_ref()
        .filter(|u| u.is_active)
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_string());
    let password = request.password;
    let matches = argon2_work(move || password_matches(&password, &stored_hash))
        .await
        .map_err(ApiError::internal)?;
    let user = match user {
        Some(user) if matches && user.is_active => user,
        _ => {
            state.sign_in_limiter.record_failure(&email, address);
            return Err(ApiError::unauthenticated("Wrong email or password"));
        }
    };
    let settings = state
        .store
        .business_settings(user.business_id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("user {} has no business", user.id)))?;
    let (token, expires_at) = issue_token(&state, &user).await?;
    let role = Role::parse(&user.role)
        .ok_or_else(|| ApiError::internal(format!("user {} has role {}", user.id, user.role)))?;
    Ok(Json(SignInResponse {
        message: "Signed in".into(),
        data: SignInData {
            token,
            is_setup: true,
            currency: settings.currency,
            user: UserSummary {
                id: user.id,
                name: user.name,
                email: user.email,
                role,
                business_id: user.business_id,
            },
            expires_at,
        },
    }))
}

async fn issue_token(
    state: &AppState,
    user: &UserRecord,
) -> ApiResult<(String, chrono::DateTime<chrono::Utc>)> {
    let token = new_token();
    let now = pos_protocol::time::now();
    let expires_at = now + state.settings.token_ttl;
    state
        .store
        .insert_token(user.id, &token_hash(&token), now, expires_at)
        .await?;
    Ok((token, expires_at))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub message: String,
}

#[utoipa::path(get, path = "/api/v1/sign-out", tag = "auth",
    responses((status = 200, description = "The token no longer works", body = MessageResponse)),
    security(("bearer" = [])))]
pub async fn sign_out(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<MessageResponse>> {
    state
        .store
        .revoke_token(&user.token_hash, pos_protocol::time::now())
        .await?;
    Ok(Json(MessageResponse {
        message: "Signed out".into(),
    }))
}

/// A new token; the presented one keeps working for the refresh grace period only.
async fn refresh(state: AppState, user: AuthUser) -> ApiResult<Json<RefreshResponse>> {
    let token = new_token();
    let now = pos_protocol::time::now();
    let expires_at = now + state.settings.token_ttl;
    state
        .store
        .rotate_token(
            user.user_id,
            &user.token_hash,
            now + state.settings.refresh_grace,
            &token_hash(&token),
            now,
            expires_at,
        )
        .await?;
    Ok(Json(RefreshResponse {
        message: "Token refreshed".into(),
        token: token.clone(),
        data: RefreshData { token, expires_at },
    }))
}

#[utoipa::path(get, path = "/api/v1/refresh-token", tag = "auth",
    responses((status = 200, description = "A new token", body = RefreshResponse),
              (status = 401, description = "Token unknown, expired or revoked", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn refresh_token_get(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<RefreshResponse>> {
    refresh(state, user).await
}

/// The original client sends the refresh as a POST.
#[utoipa::path(post, path = "/api/v1/refresh-token", tag = "auth",
    responses((status = 200, description = "A new token", body = RefreshResponse),
              (status = 401, description = "Token unknown, expired or revoked", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn refresh_token_post(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<RefreshResponse>> {
    refresh(state, user).await
}
