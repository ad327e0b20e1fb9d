//! Staff (`/api/v1/users`) and the caller's own account (`/api/v1/profile`).
//!
//! Every change runs in one write transaction that first locks the business row, so two
//! concurrent changes cannot both take away "the last" owner. The rules:
//! - cashiers do not manage staff; a manager may not create, change or remove an owner, nor
//!   make anyone an owner;
//! - a business always keeps an active owner: its last one cannot be demoted, deactivated or
//!   deleted, not even by itself;
//! - deactivating or deleting a user, or resetting their password, revokes their tokens;
//!   changing one's own password keeps only the token it was changed with, so every other
//!   session (a lost till, a stolen token) must sign in again with the new password.
//! - changing one's own email or password, through `/profile` or `/users/{own id}`, needs
//!   the current password.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use pos_protocol::auth::Role;
use pos_protocol::error::{ApiErrorBody, FieldErrors, VersionConflict};
use pos_protocol::office::StaffUser;
use pos_protocol::page::{PageQuery, Paged, Pagination};
use pos_protocol::DataResponse;
use serde::Deserialize;
use serde_json::Value as JsonValue;
use utoipa::ToSchema;

use crate::audit::{self, Change};
use crate::auth::{hash_password, password_matches, AuthUser};
use crate::error::{ApiError, ApiResult};
use crate::extract::{from_value, ApiJson, ApiPath, ApiQuery};
use crate::resources::{as_object, expected_version, ENTITY_VERSION_HEADER};
use crate::store::tx::SyncTx;
use crate::store::{Column, StoreError, StoreResult, TxExec, Value};
use crate::AppState;

const COLUMNS: &str = "id, business_id, name, email, role, is_active, version, created_at, \
     updated_at, deleted_at, pin_hash";
const READ: [Column; 11] = [
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Bool,
    Column::Int,
    Column::Time,
    Column::Time,
    Column::Time,
    Column::Text,
];
const NAME_MAX: usize = 255;
const EMAIL_MAX: usize = 255;
const PASSWORD_MIN: usize = 8;
const PASSWORD_MAX: usize = 128;

fn decode(row: Vec<Value>) -> StoreResult<StaffUser> {
    let corrupt = || StoreError::Corrupt("a user row".into());
    let int = |i: usize| match row.get(i) {
        Some(Value::Int(Some(v))) => Ok(*v),
        _ => Err(corrupt()),
    };
    let text = |i: usize| match row.get(i) {
        Some(Value::Text(Some(v))) => Ok(v.clone()),
        _ => Err(corrupt()),
    };
    let time = |i: usize| match row.get(i) {
        Some(Value::Time(v)) => Ok(*v),
        _ => Err(corrupt()),
    };
    Ok(StaffUser {
        id: int(0)?,
        business_id: int(1)?,
        name: text(2)?,
        email: text(3)?,
        role: Role::parse(&text(4)?).ok_or_else(corrupt)?,
        is_active: matches!(row.get(5), Some(Value::Bool(Some(true)))),
        has_pin: matches!(row.get(10), Some(Value::Text(Some(_)))),
        version: int(6)?,
        created_at: time(7)?.ok_or_else(corrupt)?,
        updated_at: time(8)?.ok_or_else(corrupt)?,
        deleted_at: time(9)?,
    })
}

fn int(v: i64) -> Value {
    Value::Int(Some(v))
}

fn count(rows: &[Vec<Value>]) -> i64 {
    match rows.first().and_then(|r| r.first()) {
        Some(Value::Int(Some(n))) => *n,
        _ => 0,
    }
}

/// Serialises staff changes of one business until the transaction ends.
async fn lock_business(exec: &mut dyn TxExec, business_id: i64) -> StoreResult<()> {
    exec.fetch_all(
        "SELECT id FROM businesses WHERE id = $1 FOR UPDATE",
        &[int(business_id)],
        &[Column::Int],
    )
    .await?;
    Ok(())
}

/// A live (not deleted) user of the business.
async fn find(exec: &mut dyn TxExec, business_id: i64, id: i64) -> StoreResult<Option<StaffUser>> {
    exec.fetch_all(
        &format!(
            "SELECT {COLUMNS} FROM users WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE"
        ),
        &[int(business_id), int(id)],
        &READ,
    )
    .await?
    .into_iter()
    .next()
    .map(decode)
    .transpose()
}

async fn active_owners(exec: &mut dyn TxExec, business_id: i64) -> StoreResult<i64> {
    let rows = exec
        .fetch_all(
            "SELECT COUNT(*) FROM users WHERE business_id = $1 AND role = 'owner' \
             AND is_active = $2 AND deleted_at IS NULL",
            &[int(business_id), Value::Bool(Some(true))],
            &[Column::Int],
        )
        .await?;
    Ok(count(&rows))
}

/// Emails are unique across businesses (sign-in names no business).
async fn email_taken(exec: &mut dyn TxExec, email: &str, except: i64) -> StoreResult<bool> {
    let rows = exec
        .fetch_all(
            "SELECT COUNT(*) FROM users WHERE email = $1 AND id <> $2",
            &[Value::Text(Some(email.into())), int(except)],
            &[Column::Int],
        )
        .await?;
    Ok(count(&rows) > 0)
}

/// Revokes the user's live tokens, except `keep` (a token hash).
async fn revoke_tokens(
    exec: &mut dyn TxExec,
    user_id: i64,
    keep: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    exec.execute(
        "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL \
         AND token_hash <> $3",
        &[
            int(user_id),
            Value::Time(Some(now)),
            Value::Text(Some(keep.unwrap_or_default().to_string())),
        ],
    )
    .await
}

/// What a client may send about a user. Unknown fields are ignored.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UserInput {
    pub name: Option<String>,
    pub email: Option<String>,
    /// A new password (8 to 128 characters); on update, a reset.
    pub password: Option<String>,
    /// `owner`, `manager` or `cashier` (default `cashier` on create).
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    /// A till PIN: 4 to 6 digits for a cashier, 6 to 12 for a manager or owner
    /// (`pos_protocol::pin`). Kept only as an Argon2 hash, which reaches a till only sealed for
    /// that till, so the person can switch in (and a manager authorise) offline. Never shown
    /// again, and never compared with other people's PINs: two people may share one.
    pub pin: Option<String>,
    /// On update: the version the change is based on (or `X-Entity-Version`).
    pub version: Option<i64>,
    /// Needed to change one's own email or password.
    pub current_password: Option<String>,
}

/// The caller's own account: a new email or password needs the current password.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProfileInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub current_password: Option<String>,
}

/// Checked, normalised fields; `None` leaves a field as it is.
#[derive(Debug, Default)]
struct Checked {
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn check_fields(
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
    required: bool,
) -> ApiResult<Checked> {
    let mut errors = FieldErrors::new();
    let mut problem = |field: &str, text: &str| {
        errors.insert(field.into(), vec![text.into()]);
    };
    let name = name.map(|n| n.trim().to_string());
    match &name {
        None if required => problem("name", "is required"),
        Some(n) if n.is_empty() => problem("name", "must not be empty"),
        Some(n) if n.contains('\0') => problem("name", "must not contain NUL characters"),
        Some(n) if n.chars().count() > NAME_MAX => {
            problem("name", "must be at most 255 characters")
        }
        _ => {}
    }
    let email = email.map(|e| e.trim().to_lowercase());
    match &email {
        None if required => problem("email", "is required"),
        Some(e) if e.chars().count() > EMAIL_MAX => {
            problem("email", "must be at most 255 characters")
        }
        Some(e) if !valid_email(e) => problem("email", "must be an email address"),
        _ => {}
    }
    match &password {
        None if required => problem("password", "is required"),
        Some(p) if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&p.chars().count()) => {
            problem("password", "must have 8 to 128 characters")
        }
        _ => {}
    }
    if errors.is_empty() {
        Ok(Checked {
            name,
            email,
            password,
        })
    } else {
        Err(ApiError::invalid_fields(errors))
    }
}

async fn hash(password: Option<String>) -> ApiResult<Option<String>> {
    match password {
        None => Ok(None),
        Some(password) => crate::auth::argon2_work(move || hash_password(&password))
            .await
            .map_err(ApiError::internal)?
            .map(Some)
            .map_err(ApiError::internal),
    }
}

/// A till PIN for a person of `role`, by the one rule of `pos_protocol::pin`. It is never
/// compared with anyone else's PIN: an answer "someone has this PIN" would tell the person
/// setting it another person's PIN (the till copes with two people sharing one).
fn check_pin(pin: Option<String>, role: Role) -> ApiResult<Option<String>> {
    match pin {
        Some(pin) => match pos_protocol::pin::check(&pin, role) {
            Ok(()) => Ok(Some(pin)),
            Err(problem) => Err(ApiError::invalid_field("pin", problem)),
        },
        None => Ok(None),
    }
}

/// A manager manages cashiers and managers; only an owner touches owners.
fn may_manage(actor: &AuthUser, target_role: Role, new_role: Option<Role>) -> ApiResult<()> {
    if actor.role != Role::Owner && (target_role == Role::Owner || new_role == Some(Role::Owner)) {
        return Err(ApiError::forbidden(
            "Only an owner may create, change or remove an owner",
        ));
    }
    Ok(())
}

fn last_owner(field: &str, what: &str) -> ApiError {
    ApiError::invalid_field(
        field,
        format!("the business's last active owner cannot be {what}; make another owner first"),
    )
}

async fn taken_check(exec: &mut dyn TxExec, email: Option<&str>, id: i64) -> ApiResult<()> {
    if let Some(email) = email {
        if email_taken(exec, email, id).await? {
            return Err(ApiError::invalid_field(
                "email",
                "is already used by another account",
            ));
        }
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(PageQuery),
    responses((status = 200, description = "One page of the business's staff", body = Paged<StaffUser>),
              (status = 403, description = "Managers and owners only", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Paged<StaffUser>>> {
    user.require(Role::Manager, "see the staff")?;
    let mut tx = state.store.begin_write().await?;
    let total = count(
        &tx.fetch_all(
            "SELECT COUNT(*) FROM users WHERE business_id = $1 AND deleted_at IS NULL",
            &[int(user.business_id)],
            &[Column::Int],
        )
        .await?,
    );
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT {COLUMNS} FROM users WHERE business_id = $1 AND deleted_at IS NULL \
                 ORDER BY id LIMIT $2 OFFSET $3"
            ),
            &[
                int(user.business_id),
                int(i64::from(page.per_page())),
                int(i64::try_from(page.offset()).unwrap_or(i64::MAX)),
            ],
            &READ,
        )
        .await?;
    tx.commit().await?;
    let data = rows
        .into_iter()
        .map(decode)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Json(Paged {
        message: "Users".into(),
        data,
        pagination: Pagination::new(&page, u64::try_from(total).unwrap_or(0)),
    }))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, description = "The user", body = DataResponse<StaffUser>),
              (status = 403, description = "Managers and owners only", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<DataResponse<StaffUser>>> {
    user.require(Role::Manager, "see the staff")?;
    let mut tx = state.store.begin_write().await?;
    let found = find(tx.as_mut(), user.business_id, id).await?;
    tx.commit().await?;
    let found = found.ok_or_else(|| ApiError::not_found("User"))?;
    Ok(Json(DataResponse::new("User", found)))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserInput,
    responses((status = 201, description = "Created", body = DataResponse<StaffUser>),
              (status = 403, description = "The role may not create this user", body = ApiErrorBody),
              (status = 422, description = "A field is wrong or the email is taken", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<(StatusCode, Json<DataResponse<StaffUser>>)> {
    user.require(Role::Manager, "add staff")?;
    let input: UserInput = from_value(body)?;
    let role = input.role.unwrap_or(Role::Cashier);
    may_manage(&user, role, Some(role))?;
    let checked = check_fields(input.name, input.email, input.password, true)?;
    let pin_hash = hash(check_pin(input.pin, role)?).await?;
    let password_hash = hash(checked.password).await?;
    let now = pos_protocol::time::now();
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    lock_business(tx.exec(), user.business_id).await?;
    taken_check(tx.exec(), checked.email.as_deref(), 0).await?;
    let created = tx
        .exec()
        .fetch_all(
            &format!(
                "INSERT INTO users (business_id, name, email, role, password_hash, is_active, version, \
                 created_at, updated_at, pin_hash) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $8) \
                 RETURNING {COLUMNS}"
            ),
            &[
                int(user.business_id),
                Value::Text(checked.name),
                Value::Text(checked.email),
                Value::Text(Some(role.as_str().into())),
                Value::Text(password_hash),
                Value::Bool(Some(input.is_active.unwrap_or(true))),
                Value::Time(Some(now)),
                Value::Text(pin_hash),
            ],
            &READ,
        )
        .await?
        .into_iter()
        .next()
        .map(decode)
        .transpose()?
        .ok_or_else(|| ApiError::internal("a user insert returned nothing"))?;
    audit::record(
        &mut tx,
        &user,
        &headers,
        Change {
            entity: "user",
            action: "create",
            entity_id: created.id,
            after: &created,
            before: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(DataResponse::new("User created", created)),
    ))
}

/// The change an update asks for, checked against the rules.
async fn update(
    state: &AppState,
    user: &AuthUser,
    id: i64,
    headers: &HeaderMap,
    body: JsonValue,
) -> ApiResult<Json<DataResponse<StaffUser>>> {
    user.require(Role::Manager, "change staff")?;
    let body = as_object(body)?;
    let expected = expected_version(user, headers, Some(&body))?;
    let input: UserInput = from_value(JsonValue::Object(body))?;
    let checked = check_fields(input.name, input.email, input.password, false)?;
    let own_email_changes = checked.email.as_deref().is_some_and(|e| e != user.email);
    if id == user.user_id && (own_email_changes || checked.password.is_some()) {
        confirm_current_password(state, user, input.current_password).await?;
    }
    let password_hash = hash(checked.password).await?;
    let now = pos_protocol::time::now();
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    lock_business(tx.exec(), user.business_id).await?;
    let current = find(tx.exec(), user.business_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))?;
    may_manage(user, current.role, input.role)?;
    if let Some(expected) = expected.filter(|v| *v != current.version) {
        return Err(ApiError::version_conflict(VersionConflict {
            entity_type: "user".into(),
            entity_id: id,
            client_version: Some(expected),
            server_version: current.version,
            server_data: serde_json::to_value(&current).map_err(ApiError::internal)?,
        }));
    }
    let role = input.role.unwrap_or(current.role);
    let is_active = input.is_active.unwrap_or(current.is_active);
    if current.role == Role::Owner
        && current.is_active
        && (role != Role::Owner || !is_active)
        && active_owners(tx.exec(), user.business_id).await? <= 1
    {
        return Err(if role != Role::Owner {
            last_owner("role", "demoted")
        } else {
            last_owner("is_active", "deactivated")
        });
    }
    if checked.email.as_deref() != Some(current.email.as_str()) {
        taken_check(tx.exec(), checked.email.as_deref(), id).await?;
    }
    let pin_hash = hash(check_pin(input.pin, role)?).await?;
    let updated = tx
        .exec()
        .fetch_all(
            &format!(
                "UPDATE users SET name = COALESCE($3, name), email = COALESCE($4, email), role = $5, \
                 is_active = $6, password_hash = COALESCE($7, password_hash), version = version + 1, \
                 updated_at = $8, pin_hash = COALESCE($9, pin_hash) \
                 WHERE business_id = $1 AND id = $2 RETURNING {COLUMNS}"
            ),
            &[
                int(user.business_id),
                int(id),
                Value::Text(checked.name),
                Value::Text(checked.email),
                Value::Text(Some(role.as_str().into())),
                Value::Bool(Some(is_active)),
                Value::Text(password_hash.clone()),
                Value::Time(Some(now)),
                Value::Text(pin_hash),
            ],
            &READ,
        )
        .await?
        .into_iter()
        .next()
        .map(decode)
        .transpose()?
        .ok_or_else(|| ApiError::internal("a user update returned nothing"))?;
    if !is_active || password_hash.is_some() {
        // A reset by someone else signs the user out everywhere; the actor's own session
        // survives a reset of its own password.
        let keep = (id == user.user_id).then_some(user.token_hash.as_str());
        revoke_tokens(tx.exec(), id, keep, now).await?;
    }
    audit::record(
        &mut tx,
        user,
        headers,
        Change {
            entity: "user",
            action: "update",
            entity_id: id,
            after: &updated,
            before: Some(&current),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(DataResponse::new("User updated", updated)))
}

#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    request_body = UserInput,
    responses((status = 200, description = "Updated", body = DataResponse<StaffUser>),
              (status = 403, description = "The role may not change this user", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody),
              (status = 409, description = "Based on a stale version", body = ApiErrorBody),
              (status = 422, description = "A field is wrong, or it would leave no active owner", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn replace(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<DataResponse<StaffUser>>> {
    update(&state, &user, id, &headers, body).await
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    request_body = UserInput,
    responses((status = 200, description = "Updated", body = DataResponse<StaffUser>),
              (status = 403, description = "The role may not change this user", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody),
              (status = 409, description = "Based on a stale version", body = ApiErrorBody),
              (status = 422, description = "A field is wrong, or it would leave no active owner", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<DataResponse<StaffUser>>> {
    update(&state, &user, id, &headers, body).await
}

/// Deactivates the account for good (soft delete) and revokes its tokens.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, description = "Deactivated and removed", body = DataResponse<StaffUser>),
              (status = 403, description = "The role may not remove this user", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody),
              (status = 409, description = "Based on a stale version", body = ApiErrorBody),
              (status = 422, description = "It is the last active owner", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<Json<DataResponse<StaffUser>>> {
    user.require(Role::Manager, "remove staff")?;
    let expected = match headers.get(ENTITY_VERSION_HEADER) {
        Some(_) => expected_version(&user, &headers, None)?,
        None => None,
    };
    let now = pos_protocol::time::now();
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    lock_business(tx.exec(), user.business_id).await?;
    let current = find(tx.exec(), user.business_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))?;
    may_manage(&user, current.role, None)?;
    if let Some(expected) = expected.filter(|v| *v != current.version) {
        return Err(ApiError::version_conflict(VersionConflict {
            entity_type: "user".into(),
            entity_id: id,
            client_version: Some(expected),
            server_version: current.version,
            server_data: serde_json::to_value(&current).map_err(ApiError::internal)?,
        }));
    }
    if current.role == Role::Owner
        && current.is_active
        && active_owners(tx.exec(), user.business_id).await? <= 1
    {
        return Err(last_owner("id", "deleted"));
    }
    let deleted = tx
        .exec()
        .fetch_all(
            &format!(
                "UPDATE users SET is_active = $3, deleted_at = $4, updated_at = $4, version = version + 1 \
                 WHERE business_id = $1 AND id = $2 RETURNING {COLUMNS}"
            ),
            &[
                int(user.business_id),
                int(id),
                Value::Bool(Some(false)),
                Value::Time(Some(now)),
            ],
            &READ,
        )
        .await?
        .into_iter()
        .next()
        .map(decode)
        .transpose()?
        .ok_or_else(|| ApiError::internal("a user delete returned nothing"))?;
    revoke_tokens(tx.exec(), id, None, now).await?;
    audit::record(
        &mut tx,
        &user,
        &headers,
        Change {
            entity: "user",
            action: "delete",
            entity_id: id,
            after: &deleted,
            before: Some(&current),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(DataResponse::new("User removed", deleted)))
}

#[utoipa::path(get, path = "/api/v1/profile", tag = "profile",
    responses((status = 200, description = "The caller's account", body = DataResponse<StaffUser>)),
    security(("bearer" = [])))]
pub async fn profile(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DataResponse<StaffUser>>> {
    let mut tx = state.store.begin_write().await?;
    let me = find(tx.as_mut(), user.business_id, user.user_id).await?;
    tx.commit().await?;
    let me = me.ok_or_else(|| ApiError::not_found("User"))?;
    Ok(Json(DataResponse::new("Profile", me)))
}

/// 422 unless `current_password` is the caller's password: changing one's own email or
/// password, by any route, needs it, so a token left signed in on a till is not enough to
/// take the account over.
async fn confirm_current_password(
    state: &AppState,
    user: &AuthUser,
    current_password: Option<String>,
) -> ApiResult<()> {
    let current_password = current_password.unwrap_or_default();
    let stored = state
        .store
        .user_by_email(&user.email)
        .await?
        .map(|u| u.password_hash)
        .unwrap_or_default();
    let matches = crate::auth::argon2_work(move || password_matches(&current_password, &stored))
        .await
        .map_err(ApiError::internal)?;
    if matches {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "current_password",
            "must be your current password to change the email or password",
        ))
    }
}

async fn update_profile(
    state: &AppState,
    user: &AuthUser,
    headers: &HeaderMap,
    body: JsonValue,
) -> ApiResult<Json<DataResponse<StaffUser>>> {
    let input: ProfileInput = from_value(body)?;
    let checked = check_fields(input.name, input.email, input.password, false)?;
    let email_changes = checked.email.as_deref().is_some_and(|e| e != user.email);
    if email_changes || checked.password.is_some() {
        confirm_current_password(state, user, input.current_password).await?;
    }
    let password_hash = hash(checked.password).await?;
    let now = pos_protocol::time::now();
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    lock_business(tx.exec(), user.business_id).await?;
    let current = find(tx.exec(), user.business_id, user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))?;
    if email_changes {
        taken_check(tx.exec(), checked.email.as_deref(), user.user_id).await?;
    }
    let updated = tx
        .exec()
        .fetch_all(
            &format!(
                "UPDATE users SET name = COALESCE($3, name), email = COALESCE($4, email), \
                 password_hash = COALESCE($5, password_hash), version = version + 1, updated_at = $6 \
                 WHERE business_id = $1 AND id = $2 RETURNING {COLUMNS}"
            ),
            &[
                int(user.business_id),
                int(user.user_id),
                Value::Text(checked.name),
                Value::Text(checked.email),
                Value::Text(password_hash.clone()),
                Value::Time(Some(now)),
            ],
            &READ,
        )
        .await?
        .into_iter()
        .next()
        .map(decode)
        .transpose()?
        .ok_or_else(|| ApiError::internal("a profile update returned nothing"))?;
    if password_hash.is_some() {
        revoke_tokens(tx.exec(), user.user_id, Some(&user.token_hash), now).await?;
    }
    audit::record(
        &mut tx,
        user,
        headers,
        Change {
            entity: "user",
            action: "update_profile",
            entity_id: user.user_id,
            after: &updated,
            before: Some(&current),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(DataResponse::new("Profile updated", updated)))
}

/// The original client saves the profile with a POST.
#[utoipa::path(post, path = "/api/v1/profile", tag = "profile", request_body = ProfileInput,
    responses((status = 200, description = "Updated", body = DataResponse<StaffUser>),
              (status = 422, description = "A field is wrong or the current password is not", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn profile_post(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<DataResponse<StaffUser>>> {
    update_profile(&state, &user, &headers, body).await
}

#[utoipa::path(put, path = "/api/v1/profile", tag = "profile", request_body = ProfileInput,
    responses((status = 200, description = "Updated", body = DataResponse<StaffUser>),
              (status = 422, description = "A field is wrong or the current password is not", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn profile_put(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<DataResponse<StaffUser>>> {
    update_profile(&state, &user, &headers, body).await
}
