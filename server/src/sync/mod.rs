//! The sync API (`/api/v1/sync/*`): health, device registration, the paged full download and
//! incremental changes from an opaque cursor.
//!
//! Why `changes` never skips a change: every write to a syncable row is stamped by the
//! database with (writing transaction, change sequence); a reader only returns rows whose
//! transaction is below the oldest one still in flight (PostgreSQL: `pg_snapshot_xmin`), in
//! stamp order, and hands out the stamp of the last row returned. A transaction that commits
//! late has a stamp above that cursor, so a later pull returns it. On SQLite writers are
//! serialised, so the sequence alone follows commit order.

pub mod batch;
pub mod cursor;
pub mod rescue;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use pos_protocol::entities::EntityKind;
use pos_protocol::error::{ApiErrorBody, ErrorCode};
use pos_protocol::pin::{self, DeviceKey};
use pos_protocol::sync::{
    ChangeSet, ChangesData, ChangesResponse, FullData, FullResponse, HealthResponse, RegisterData,
    RegisterRequest, RegisterResponse, DEFAULT_PAGE_SIZE, DEVICE_ID_HEADER, MAX_PAGE_SIZE,
};
use serde::Deserialize;
use serde_json::Value as JsonValue;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::devices;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::resources::spec::{self, ResourceSpec};
use crate::resources::{complete, typed};
use crate::store::{Cursor, DeviceRegistration, NewDevice, Record};
use crate::AppState;
use cursor::FullPosition;

/// For load balancers: no token; 503 when the database does not answer.
#[utoipa::path(get, path = "/api/v1/sync/health", tag = "sync",
    responses((status = 200, description = "Serving", body = HealthResponse),
              (status = 503, description = "The database is unreachable", body = HealthResponse)))]
pub async fn health(State(state): State<AppState>) -> Response {
    let healthy = match state.store.ping().await {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(%err, "health check: database unreachable");
            false
        }
    };
    let body = HealthResponse {
        status: if healthy { "healthy" } else { "unhealthy" }.into(),
        timestamp: pos_protocol::time::now(),
        version: env!("CARGO_PKG_VERSION").into(),
        min_client_version: state.settings.min_client_version.clone(),
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

fn valid_device_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn short_text(field: &str, value: Option<&str>, max: usize) -> ApiResult<()> {
    match value {
        Some(text) if text.chars().count() > max => Err(ApiError::invalid_field(
            field,
            format!("must be at most {max} characters"),
        )),
        _ => Ok(()),
    }
}

#[utoipa::path(post, path = "/api/v1/sync/register", tag = "sync", request_body = RegisterRequest,
    responses((status = 200, description = "Registered", body = RegisterResponse),
              (status = 409, description = "The device belongs to another business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn register(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> ApiResult<Json<RegisterResponse>> {
    let device_id = request.device_id.trim();
    if !valid_device_id(device_id) {
        return Err(ApiError::invalid_field(
            "device_id",
            "must be 1 to 128 characters of letters, digits, '-', '_', '.' and ':'",
        ));
    }
    let device_name = request.device_name.trim();
    if device_name.is_empty() {
        return Err(ApiError::invalid_field("device_name", "must not be empty"));
    }
    short_text("device_name", Some(device_name), 255)?;
    short_text("os", request.os.as_deref(), 255)?;
    short_text("app_version", request.app_version.as_deref(), 64)?;
    let pin_key = match request.pin_key.as_deref() {
        None => None,
        Some(text) => Some(
            DeviceKey::from_text(text)
                .ok_or_else(|| ApiError::invalid_field("pin_key", "must be base64 of 32 bytes"))?,
        ),
    };
    let outcome = state
        .store
        .register_device(&NewDevice {
            business_id: user.business_id,
            user_id: user.user_id,
            device_id,
            device_name,
            os: request.os.as_deref(),
            app_version: request.app_version.as_deref(),
            now: pos_protocol::time::now(),
        })
        .await?;
    match outcome {
        DeviceRegistration::Registered {
            registered_at,
            last_offline_seq,
        } => {
            let pin_key_accepted = match &pin_key {
                Some(key) => {
                    devices::offer_pin_key(
                        state.store.as_ref(),
                        user.business_id,
                        device_id,
                        user.role,
                        key,
                    )
                    .await?
                }
                None => false,
            };
            Ok(Json(RegisterResponse {
                success: true,
                message: "Device registered".into(),
                data: RegisterData {
                    device_id: device_id.to_string(),
                    registered_at,
                    last_offline_seq,
                    pin_key_accepted,
                },
            }))
        }
        DeviceRegistration::OtherBusiness => Err(ApiError::new(
            ErrorCode::Conflict,
            "This device id is registered to another business",
        )),
    }
}

fn spec_of(kind: EntityKind) -> &'static ResourceSpec {
    match kind {
        EntityKind::Categories => &spec::CATEGORIES,
        EntityKind::Brands => &spec::BRANDS,
        EntityKind::Units => &spec::UNITS,
        EntityKind::Vats => &spec::VATS,
        EntityKind::PaymentTypes => &spec::PAYMENT_TYPES,
        EntityKind::Warehouses => &spec::WAREHOUSES,
        EntityKind::Products => &spec::PRODUCTS,
        EntityKind::Stocks => &spec::STOCKS,
        EntityKind::Parties => &spec::PARTIES,
        EntityKind::Cashiers => &spec::CASHIERS,
    }
}

/// The entities asked for, in dependency order, and whether settings are.
fn requested(entities: Option<&str>) -> ApiResult<(Vec<EntityKind>, bool)> {
    let Some(list) = entities.filter(|l| !l.trim().is_empty()) else {
        return Ok((EntityKind::ALL.to_vec(), true));
    };
    let mut kinds = Vec::new();
    let mut settings = false;
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name == "settings" {
            settings = true;
        } else {
            let kind = EntityKind::parse(name).ok_or_else(|| {
                ApiError::invalid_field("entities", format!("unknown entity '{name}'"))
            })?;
            kinds.push(kind);
        }
    }
    kinds.sort();
    kinds.dedup();
    Ok((kinds, settings))
}

fn page_size(asked: Option<u32>) -> u32 {
    asked.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
}

fn typed_all<E: serde::de::DeserializeOwned>(
    spec: &ResourceSpec,
    records: Vec<Record>,
) -> ApiResult<Vec<E>> {
    records.into_iter().map(|r| typed(spec, r)).collect()
}

fn put_full(data: &mut FullData, kind: EntityKind, records: Vec<Record>) -> ApiResult<()> {
    let spec = spec_of(kind);
    match kind {
        EntityKind::Categories => data.categories = Some(typed_all(spec, records)?),
        EntityKind::Brands => data.brands = Some(typed_all(spec, records)?),
        EntityKind::Units => data.units = Some(typed_all(spec, records)?),
        EntityKind::Vats => data.vats = Some(typed_all(spec, records)?),
        EntityKind::PaymentTypes => data.payment_types = Some(typed_all(spec, records)?),
        EntityKind::Warehouses => data.warehouses = Some(typed_all(spec, records)?),
        EntityKind::Products => data.products = Some(typed_all(spec, records)?),
        EntityKind::Stocks => data.stocks = Some(typed_all(spec, records)?),
        EntityKind::Parties => data.parties = Some(typed_all(spec, records)?),
        EntityKind::Cashiers => data.cashiers = Some(typed_all(spec, records)?),
    }
    Ok(())
}

/// The asking till and its PIN key, when it sent `X-Device-ID` of a device of the caller's
/// business that a manager or owner registered with a key.
struct PinSeal {
    device_id: String,
    key: DeviceKey,
}

impl PinSeal {
    /// Looked up only when there are cashier records to send.
    async fn of_request(
        state: &AppState,
        user: &AuthUser,
        headers: &HeaderMap,
    ) -> ApiResult<Option<PinSeal>> {
        let Some(device_id) = headers
            .get(DEVICE_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|id| valid_device_id(id))
        else {
            return Ok(None);
        };
        Ok(
            devices::pin_key(state.store.as_ref(), user.business_id, device_id)
                .await?
                .map(|key| PinSeal {
                    device_id: device_id.to_string(),
                    key,
                }),
        )
    }
}

/// A cashier record as it leaves the server: its PIN hash (read from the row) is taken out and
/// sent only sealed for the asking till (`pin_sealed`), or not at all. No token, of any role,
/// ever receives a verifier it could guess at offline.
fn seal_pins(records: &mut [Record], business_id: i64, seal: Option<&PinSeal>) {
    for record in records {
        let hash = match record.remove("pin_hash") {
            Some(JsonValue::String(hash)) => Some(hash),
            _ => None,
        };
        let sealed = match (hash, seal, record.get("id").and_then(JsonValue::as_i64)) {
            (Some(hash), Some(seal), Some(user_id)) => {
                let binding = pin::Binding {
                    business_id,
                    user_id,
                    device_id: &seal.device_id,
                    version: record
                        .get("version")
                        .and_then(JsonValue::as_i64)
                        .unwrap_or(0),
                };
                JsonValue::String(pin::seal(&seal.key, &binding, &hash))
            }
            _ => JsonValue::Null,
        };
        record.insert("pin_sealed".into(), sealed);
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FullQuery {
    /// Comma-separated subset of the entities (and `settings`); all when absent.
    pub entities: Option<String>,
    /// Records per page (default 500, at most 1000).
    pub page_size: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/sync/full", tag = "sync", params(FullQuery),
    responses((status = 200, description = "One page of the catalog", body = FullResponse),
              (status = 422, description = "Unknown entity or cursor", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn full(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<FullQuery>,
) -> ApiResult<Json<FullResponse>> {
    let (kinds, with_settings) = requested(query.entities.as_deref())?;
    let limit = page_size(query.page_size);
    let first_page = query.cursor.is_none();
    let start = match &query.cursor {
        Some(text) => cursor::parse_full_cursor(text)
            .filter(|p| p.entity <= kinds.len())
            .ok_or_else(|| ApiError::invalid_field("cursor", "is not a cursor of this download"))?,
        // Taken before any row is read: whatever changes while the pages download comes
        // after it, so `changes` from here misses nothing.
        None => FullPosition {
            entity: 0,
            after_id: 0,
            token: state.store.snapshot_cursor().await?,
        },
    };
    let store = state.store.as_ref();
    let mut data = FullData::default();
    let mut remaining = limit;
    let mut next = None;
    for (index, kind) in kinds.iter().enumerate() {
        if index < start.entity || next.is_some() {
            put_full(&mut data, *kind, Vec::new())?;
            continue;
        }
        let after_id = if index == start.entity {
            start.after_id
        } else {
            0
        };
        let spec = spec_of(*kind);
        let mut records = store
            .live_records_after(spec, user.business_id, after_id, remaining + 1)
            .await?;
        if records.len() > remaining as usize {
            records.truncate(remaining as usize);
            let last = records
                .last()
                .and_then(|r| r.get("id"))
                .and_then(JsonValue::as_i64)
                .unwrap_or(after_id);
            next = Some(FullPosition {
                entity: index,
                after_id: last,
                token: start.token,
            });
        }
        remaining -= records.len() as u32;
        complete(store, spec, user.business_id, &mut records).await?;
        if *kind == EntityKind::Cashiers && !records.is_empty() {
            let seal = PinSeal::of_request(&state, &user, &headers).await?;
            seal_pins(&mut records, user.business_id, seal.as_ref());
        }
        put_full(&mut data, *kind, records)?;
        if remaining == 0 && next.is_none() && index + 1 < kinds.len() {
            next = Some(FullPosition {
                entity: index + 1,
                after_id: 0,
                token: start.token,
            });
        }
    }
    if first_page && with_settings {
        data.settings = store.business_settings(user.business_id).await?;
    }
    Ok(Json(FullResponse {
        success: true,
        data,
        sync_token: cursor::sync_token(start.token),
        server_timestamp: pos_protocol::time::now(),
        has_more: next.is_some(),
        next_cursor: next.map(cursor::full_cursor),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `sync_token` of the previous answer (or of `full`).
    pub sync_token: Option<String>,
    /// For old clients: changes after this RFC 3339 time.
    pub since: Option<String>,
    /// Comma-separated subset of the entities (and `settings`); all when absent.
    pub entities: Option<String>,
    /// Records per answer (default 500, at most 1000).
    pub page_size: Option<u32>,
}

/// One record of the merged, stamp-ordered change stream.
enum Change {
    Row { kind: EntityKind, record: Record },
    Settings(Box<pos_protocol::entities::Settings>),
}

#[utoipa::path(get, path = "/api/v1/sync/changes", tag = "sync", params(ChangesQuery),
    responses((status = 200, description = "What changed after the token", body = ChangesResponse),
              (status = 422, description = "Unknown entity or token", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn changes(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<ChangesResponse>> {
    let (kinds, with_settings) = requested(query.entities.as_deref())?;
    let limit = page_size(query.page_size);
    let (cursor, since): (Cursor, Option<DateTime<Utc>>) = match (&query.sync_token, &query.since) {
        (Some(token), _) => (
            cursor::parse_sync_token(token)
                .ok_or_else(|| ApiError::invalid_field("sync_token", "is not a sync token"))?,
            None,
        ),
        (None, Some(since)) => (
            Cursor::default(),
            Some(
                pos_protocol::time::parse(since)
                    .map_err(|problem| ApiError::invalid_field("since", problem))?,
            ),
        ),
        (None, None) => (Cursor::default(), None),
    };
    let specs: Vec<&'static ResourceSpec> = kinds.iter().map(|k| spec_of(*k)).collect();
    let read = state
        .store
        .changed_records(
            user.business_id,
            &specs,
            with_settings,
            cursor,
            since,
            limit + 1,
        )
        .await?;

    // Each table gave at most limit + 1 rows in stamp order, so the first `limit` of the
    // merge are the first `limit` of the whole stream.
    let mut stream: Vec<(Cursor, Change)> = read
        .rows
        .into_iter()
        .map(|row| {
            (
                row.cursor,
                Change::Row {
                    kind: kinds[row.entity],
                    record: row.record,
                },
            )
        })
        .collect();
    if let Some((stamp, settings)) = read.settings {
        stream.push((stamp, Change::Settings(Box::new(settings))));
    }
    stream.sort_by_key(|(stamp, _)| *stamp);
    let has_more = stream.len() > limit as usize;
    stream.truncate(limit as usize);
    let next = stream.last().map(|(stamp, _)| *stamp).unwrap_or(cursor);
    let total_records = stream.len() as u64;

    let mut per_kind: Vec<(EntityKind, Vec<Record>)> =
        kinds.iter().map(|k| (*k, Vec::new())).collect();
    let mut data = ChangesData::default();
    for (_, change) in stream {
        match change {
            Change::Row { kind, record } => {
                if let Some((_, records)) = per_kind.iter_mut().find(|(k, _)| *k == kind) {
                    records.push(record);
                }
            }
            Change::Settings(settings) => data.settings = Some(*settings),
        }
    }
    for (kind, mut records) in per_kind {
        let spec = spec_of(kind);
        complete(state.store.as_ref(), spec, user.business_id, &mut records).await?;
        if kind == EntityKind::Cashiers && !records.is_empty() {
            let seal = PinSeal::of_request(&state, &user, &headers).await?;
            seal_pins(&mut records, user.business_id, seal.as_ref());
        }
        put_changes(&mut data, kind, records)?;
    }
    Ok(Json(ChangesResponse {
        success: true,
        data,
        sync_token: cursor::sync_token(next),
        server_timestamp: pos_protocol::time::now(),
        has_more,
        total_records,
    }))
}

/// Sorts records into created (version 1), updated and deleted (tombstones, by id).
fn change_set<E: serde::de::DeserializeOwned>(
    spec: &ResourceSpec,
    records: Vec<Record>,
) -> ApiResult<ChangeSet<E>> {
    let mut set = ChangeSet::default();
    for record in records {
        let deleted = record.get("deleted_at").is_some_and(|d| !d.is_null());
        if deleted {
            if let Some(id) = record.get("id").and_then(JsonValue::as_i64) {
                set.deleted.push(id);
            }
        } else if record.get("version").and_then(JsonValue::as_i64) == Some(1) {
            set.created.push(typed(spec, record)?);
        } else {
            set.updated.push(typed(spec, record)?);
        }
    }
    Ok(set)
}

fn put_changes(data: &mut ChangesData, kind: EntityKind, records: Vec<Record>) -> ApiResult<()> {
    let spec = spec_of(kind);
    match kind {
        EntityKind::Categories => data.categories = Some(change_set(spec, records)?),
        EntityKind::Brands => data.brands = Some(change_set(spec, records)?),
        EntityKind::Units => data.units = Some(change_set(spec, records)?),
        EntityKind::Vats => data.vats = Some(change_set(spec, records)?),
        EntityKind::PaymentTypes => data.payment_types = Some(change_set(spec, records)?),
        EntityKind::Warehouses => data.warehouses = Some(change_set(spec, records)?),
        EntityKind::Products => data.products = Some(change_set(spec, records)?),
        EntityKind::Stocks => data.stocks = Some(change_set(spec, records)?),
        EntityKind::Parties => data.parties = Some(change_set(spec, records)?),
        EntityKind::Cashiers => data.cashiers = Some(change_set(spec, records)?),
    }
    Ok(())
}
