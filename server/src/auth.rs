//! Who is calling: passwords (argon2id), opaque bearer tokens stored as SHA-256 hashes,
//! sign-in slowed down per account and client address (`SignInLimiter`), and the `AuthUser`
//! extractor every protected handler takes.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::Json;
use base64::Engine;
use hmac::{Hmac, Mac};
use ipnet::IpNet;
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
use crate::store::{Column, Store, UserRecord, Value};
use crate::{AppState, Settings};

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
    hex(&Sha256::digest(token.as_bytes()))
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
        // The token layer resolved the caller before the body was read.
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        authenticate(state, &parts.headers).await
    }
}

/// Slows password guessing down without locking anyone out.
///
/// Every attempt is counted, before its password is checked, in two buckets: one for the
/// account from this client address, one for the address over all accounts. A bucket answers
/// its first attempts at once; past them each attempt must wait twice as long as the one
/// before (one second first, at most `sign_in_window`), and one arriving earlier is refused
/// (429 with `Retry-After`) unchecked. So a flood of guesses, even sent all at once, is
/// checked only as often as the buckets allow, and it delays only its own address: the
/// owner signing in from another address is not held up. A right password empties the
/// account's bucket and takes its attempt back from the address's.
///
/// The buckets live in the database (`sign_in_throttle`), so every server process on it
/// counts together; each is a keyed hash (HMAC-SHA256 under the database's own
/// `sign_in_secret`), so no email is stored, and is forgotten once quiet for
/// `sign_in_memory` (a day): long enough that waiting it out gains a guesser little.
pub struct SignInLimiter {
    longest_wait: Duration,
    memory: Duration,
    per_account: u32,
    per_address: u32,
    secret: tokio::sync::OnceCell<Vec<u8>>,
}

/// One counter of attempts, and how many it answers before they must wait.
struct Bucket {
    id: String,
    answered_at_once: u32,
}

impl SignInLimiter {
    pub fn new(settings: &Settings) -> Self {
        Self {
            longest_wait: settings.sign_in_window,
            memory: settings.sign_in_memory,
            per_account: settings.sign_in_failures_per_account,
            per_address: settings.sign_in_failures_per_address,
            secret: tokio::sync::OnceCell::new(),
        }
    }

    async fn secret(&self, store: &dyn Store) -> ApiResult<&[u8]> {
        let secret = self
            .secret
            .get_or_try_init(|| async {
                let mut tx = store.begin_read().await?;
                let rows = tx
                    .fetch_all(
                        "SELECT secret FROM sign_in_secret WHERE id = 1",
                        &[],
                        &[Column::Text],
                    )
                    .await?;
                tx.commit().await?;
                match rows.first().map(Vec::as_slice) {
                    Some([Value::Text(Some(secret))]) => Ok(secret.clone().into_bytes()),
                    _ => Err::<_, ApiError>(ApiError::internal("the sign-in secret is missing")),
                }
            })
            .await?;
        Ok(secret)
    }

    /// The account's bucket from `address`, then the address's own.
    async fn buckets(
        &self,
        store: &dyn Store,
        email: &str,
        address: Option<IpAddr>,
    ) -> ApiResult<[Bucket; 2]> {
        let secret = self.secret(store).await?;
        let address = address.map(|a| a.to_string()).unwrap_or_default();
        let keyed = |parts: &[&str]| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
                .expect("HMAC takes a key of any length");
            for part in parts {
                mac.update(part.as_bytes());
                mac.update(b"\n");
            }
            hex(&mac.finalize().into_bytes())
        };
        Ok([
            Bucket {
                id: keyed(&["account", email, &address]),
                answered_at_once: self.per_account,
            },
            Bucket {
                id: keyed(&["address", &address]),
                answered_at_once: self.per_address,
            },
        ])
    }

    /// How long the attempt after the `attempts`-th must wait.
    fn wait_after(&self, attempts: i64, answered_at_once: u32) -> Duration {
        let over = attempts - i64::from(answered_at_once);
        if over < 0 {
            return Duration::ZERO;
        }
        let doublings = u32::try_from(over).unwrap_or(u32::MAX).min(20);
        Duration::from_secs(1u64 << doublings).min(self.longest_wait)
    }

    /// Counts an attempt at `email` from `address`, or refuses it (429) while either bucket
    /// is waiting. Called before the password is checked, in one transaction that locks
    /// both buckets, so concurrent attempts are counted one after the other.
    pub async fn admit(
        &self,
        store: &dyn Store,
        email: &str,
        address: Option<IpAddr>,
    ) -> ApiResult<()> {
        let buckets = self.buckets(store, email, address).await?;
        let now = pos_protocol::time::now();
        let memory = chrono::Duration::from_std(self.memory).map_err(ApiError::internal)?;
        let mut tx = store.begin_write().await?;
        tx.execute(
            "DELETE FROM sign_in_throttle WHERE expires_at <= $1",
            &[Value::Time(Some(now))],
        )
        .await?;
        let mut counts = Vec::with_capacity(buckets.len());
        let mut refused_for = chrono::Duration::zero();
        for bucket in &buckets {
            tx.execute(
                "INSERT INTO sign_in_throttle (bucket, attempts, next_attempt_at, expires_at) \
                 VALUES ($1, 0, $2, $3) ON CONFLICT (bucket) DO NOTHING",
                &[
                    Value::Text(Some(bucket.id.clone())),
                    Value::Time(Some(now)),
                    Value::Time(Some(now + memory)),
                ],
            )
            .await?;
            let rows = tx
                .fetch_all(
                    "SELECT attempts, next_attempt_at FROM sign_in_throttle WHERE bucket = $1 \
                     FOR UPDATE",
                    &[Value::Text(Some(bucket.id.clone()))],
                    &[Column::Int, Column::Time],
                )
                .await?;
            let Some([Value::Int(Some(attempts)), Value::Time(Some(next_attempt_at))]) =
                rows.first().map(Vec::as_slice)
            else {
                return Err(ApiError::internal("a sign-in bucket vanished"));
            };
            refused_for = refused_for.max(*next_attempt_at - now);
            counts.push(*attempts);
        }
        if refused_for > chrono::Duration::zero() {
            tx.commit().await?;
            let seconds = u64::try_from(refused_for.num_seconds() + 1).unwrap_or(1);
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                format!("Too many sign-in attempts; try again in {seconds} s"),
            )
            .retry_after(seconds));
        }
        for (bucket, attempts) in buckets.iter().zip(counts) {
            let attempts = attempts + 1;
            let wait =
                chrono::Duration::from_std(self.wait_after(attempts, bucket.answered_at_once))
                    .map_err(ApiError::internal)?;
            tx.execute(
                "UPDATE sign_in_throttle SET attempts = $2, next_attempt_at = $3, expires_at = $4 \
                 WHERE bucket = $1",
                &[
                    Value::Text(Some(bucket.id.clone())),
                    Value::Int(Some(attempts)),
                    Value::Time(Some(now + wait)),
                    Value::Time(Some(now + wait + memory)),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// After a right password: the account's bucket from this address starts afresh, and
    /// the address's bucket takes the attempt back, so staff signing in through one shop
    /// address never slow each other down.
    pub async fn succeeded(
        &self,
        store: &dyn Store,
        email: &str,
        address: Option<IpAddr>,
    ) -> ApiResult<()> {
        let [account, address] = self.buckets(store, email, address).await?;
        let mut tx = store.begin_write().await?;
        tx.execute(
            "DELETE FROM sign_in_throttle WHERE bucket = $1",
            &[Value::Text(Some(account.id))],
        )
        .await?;
        tx.execute(
            "UPDATE sign_in_throttle SET attempts = attempts - 1 WHERE bucket = $1 AND attempts > 0",
            &[Value::Text(Some(address.id))],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the address its
/// `X-Forwarded-For` names (read from the right, past every trusted proxy, since only the
/// entries our own proxies appended can be believed).
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| {
                    client_address(peer.ip(), &parts.headers, &state.settings.trusted_proxies)
                }),
        ))
    }
}

pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    let mut client = peer.to_canonical();
    for entry in forwarded.iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match entry.trim().parse::<IpAddr>() {
            Ok(hop) => client = hop.to_canonical(),
            Err(_) => break,
        }
    }
    client
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
    let limiter = &state.sign_in_limiter;
    limiter.admit(state.store.as_ref(), &email, address).await?;
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
        _ => return Err(ApiError::unauthenticated("Wrong email or password")),
    };
    limiter
        .succeeded(state.store.as_ref(), &email, address)
        .await?;
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

/// A new token; the presented one keeps working for the refresh grace period only, and
/// cannot be refreshed again (409): a copied token cannot breed tokens of its own while
/// its grace lasts.
async fn refresh(state: AppState, user: AuthUser) -> ApiResult<Json<RefreshResponse>> {
    let token = new_token();
    let now = pos_protocol::time::now();
    let expires_at = now + state.settings.token_ttl;
    let rotated = state
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
    if !rotated {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "This token was refreshed already; use the token that refresh returned, or sign in",
        ));
    }
    Ok(Json(RefreshResponse {
        message: "Token refreshed".into(),
        token: token.clone(),
        data: RefreshData { token, expires_at },
    }))
}

#[utoipa::path(get, path = "/api/v1/refresh-token", tag = "auth",
    responses((status = 200, description = "A new token", body = RefreshResponse),
              (status = 401, description = "Token unknown, expired or revoked", body = ApiErrorBody),
              (status = 409, description = "This token was refreshed already", body = ApiErrorBody)),
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
              (status = 401, description = "Token unknown, expired or revoked", body = ApiErrorBody),
              (status = 409, description = "This token was refreshed already", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn refresh_token_post(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<RefreshResponse>> {
    refresh(state, user).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn the_client_is_named_only_by_trusted_proxies() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        let proxies = [
            crate::settings::parse_trusted_proxy("10.0.0.0/8").unwrap(),
            crate::settings::parse_trusted_proxy("127.0.0.1").unwrap(),
        ];
        let header = forwarded("1.1.1.1, 203.0.113.9, 10.0.0.7");
        // Read from the right, past our own proxies: what the client wrote first is not
        // believed.
        assert_eq!(
            client_address(ip("127.0.0.1"), &header, &proxies),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("198.51.100.1"), &header, &proxies),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), &forwarded("junk"), &proxies),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), &forwarded("203.0.113.9"), &proxies),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), &header, &[]),
            ip("127.0.0.1")
        );
    }
}
