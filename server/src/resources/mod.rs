//! The catalog and party API: one generic code path for every business-scoped, versioned,
//! soft-deletable resource, driven by the tables in `spec.rs`. Each resource only declares its
//! routes (`catalog.rs`), so the rules below hold for all of them:
//!
//! - every query is scoped by the caller's business (another business's id is a 404);
//! - reading needs any role, writing needs the resource's `write_role` (else 403), deleting
//!   at least a manager;
//! - an update names the version it is based on (body `version` or `X-Entity-Version`) and a
//!   stale one is a 409 carrying the server's record; `X-Force-Update: true` skips the check
//!   for managers and owners; neither is a 422;
//! - every write bumps `version` (the change cursor is stamped by the database).

pub mod catalog;
pub mod spec;

use std::collections::HashSet;

use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use pos_protocol::auth::Role;
use pos_protocol::error::{FieldErrors, VersionConflict};
use pos_protocol::page::{PageQuery, Paged, Pagination};
use pos_protocol::DataResponse;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as JsonValue};

use crate::audit::{self, Change};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::store::tx::SyncTx;
use crate::store::{stock_totals, Record, Store, Value};
use crate::AppState;
use spec::{Field, FieldKind, ResourceSpec};

pub const ENTITY_VERSION_HEADER: &str = "x-entity-version";
pub const FORCE_UPDATE_HEADER: &str = "x-force-update";

/// Fields a client may send back unchanged that are never written from input.
const SERVER_FIELDS: &[&str] = &[
    "id",
    "business_id",
    "version",
    "created_at",
    "updated_at",
    "deleted_at",
];

/// Turns stored records into the protocol type; a mismatch is our bug, so a 500.
pub(crate) fn typed<E: DeserializeOwned>(spec: &ResourceSpec, record: Record) -> ApiResult<E> {
    serde_json::from_value(JsonValue::Object(record)).map_err(|e| {
        ApiError::internal(format!(
            "stored {} does not match its type: {e}",
            spec.entity_type
        ))
    })
}

/// Adds what is derived from other tables (a product's `productStock`).
pub(crate) async fn complete(
    store: &dyn Store,
    spec: &ResourceSpec,
    business_id: i64,
    records: &mut [Record],
) -> ApiResult<()> {
    if !spec.with_stock_total {
        return Ok(());
    }
    let ids: Vec<i64> = records
        .iter()
        .filter_map(|r| r.get("id").and_then(JsonValue::as_i64))
        .collect();
    let totals = stock_totals(store.stock_quantities(business_id, &ids).await?);
    for record in records.iter_mut() {
        let id = record
            .get("id")
            .and_then(JsonValue::as_i64)
            .unwrap_or_default();
        let total = totals.get(&id).copied().unwrap_or(Decimal::ZERO);
        let json = pos_protocol::money::exact::serialize(&total, serde_json::value::Serializer)
            .map_err(ApiError::internal)?;
        record.insert("productStock".into(), json);
    }
    Ok(())
}

async fn completed_one(
    store: &dyn Store,
    spec: &ResourceSpec,
    business_id: i64,
    record: Record,
) -> ApiResult<Record> {
    let mut records = [record];
    complete(store, spec, business_id, &mut records).await?;
    let [record] = records;
    Ok(record)
}

fn is_live(record: &Record) -> bool {
    record.get("deleted_at").is_none_or(JsonValue::is_null)
}

fn version_of(record: &Record) -> i64 {
    record
        .get("version")
        .and_then(JsonValue::as_i64)
        .unwrap_or_default()
}

pub async fn list<E: DeserializeOwned>(
    state: &AppState,
    user: &AuthUser,
    spec: &'static ResourceSpec,
    page: PageQuery,
) -> ApiResult<Json<Paged<E>>> {
    let (mut records, total) = state
        .store
        .list_records(spec, user.business_id, page.offset(), page.per_page())
        .await?;
    complete(state.store.as_ref(), spec, user.business_id, &mut records).await?;
    let data = records
        .into_iter()
        .map(|r| typed(spec, r))
        .collect::<ApiResult<Vec<E>>>()?;
    Ok(Json(Paged {
        message: format!("{} list", spec.label),
        data,
        pagination: Pagination::new(&page, total),
    }))
}

/// A live row of the caller's business, or 404.
async fn live_record(
    state: &AppState,
    user: &AuthUser,
    spec: &'static ResourceSpec,
    id: i64,
) -> ApiResult<Record> {
    state
        .store
        .get_record(spec, user.business_id, id)
        .await?
        .filter(is_live)
        .ok_or_else(|| ApiError::not_found(spec.label))
}

pub async fn show<E: DeserializeOwned>(
    state: &AppState,
    user: &AuthUser,
    spec: &'static ResourceSpec,
    id: i64,
) -> ApiResult<Json<DataResponse<E>>> {
    let record = live_record(state, user, spec, id).await?;
    let record = completed_one(state.store.as_ref(), spec, user.business_id, record).await?;
    Ok(Json(DataResponse::new(spec.label, typed(spec, record)?)))
}

/// The first live row whose value in one of `columns` is `code` (e.g. barcode, then code).
pub async fn find_by_code<E: DeserializeOwned>(
    state: &AppState,
    user: &AuthUser,
    spec: &'static ResourceSpec,
    columns: &[&str],
    code: &str,
) -> ApiResult<Json<DataResponse<E>>> {
    let record = state
        .store
        .find_record(spec, user.business_id, columns, code.trim())
        .await?
        .ok_or_else(|| ApiError::not_found(spec.label))?;
    let record = completed_one(state.store.as_ref(), spec, user.business_id, record).await?;
    Ok(Json(DataResponse::new(spec.label, typed(spec, record)?)))
}

/// Creates a row from client input after checking every field; used by the API and by
/// `seed-demo`, so both obey the same rules.
pub async fn create_record(
    store: &dyn Store,
    spec: &'static ResourceSpec,
    business_id: i64,
    body: &Map<String, JsonValue>,
) -> ApiResult<Record> {
    let mut values = parse_fields(spec, body, true)?;
    check_references(store, business_id, &values).await?;
    for (target, source) in spec.initial_copies {
        let copied = values
            .iter()
            .find(|(field, _)| field.column == *source)
            .map(|(_, value)| value.clone());
        if let (Some(value), Some(field)) = (copied, spec.field(target)) {
            values.push((field, value));
        }
    }
    let columns: Vec<(&'static str, Value)> =
        values.into_iter().map(|(f, v)| (f.column, v)).collect();
    let record = store
        .insert_record(spec, business_id, &columns, pos_protocol::time::now())
        .await?;
    completed_one(store, spec, business_id, record).await
}

pub async fn create<E: DeserializeOwned>(
    state: &AppState,
    user: &AuthUser,
    spec: &'static ResourceSpec,
    body: JsonValue,
) -> ApiResult<(StatusCode, Json<DataResponse<E>>)> {
    user.require(spec.write_role, &format!("create a {}", spec.entity_type))?;
    let body = as_object(body)?;
    let record = create_record(state.store.as_ref(), spec, user.business_id, &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(DataResponse::new(
            format!("{} created", spec.label),
            typed(spec, record)?,
        )),
    ))
}

/// What an update is based on: a version, or a manager's decision to overwrite.
pub(crate) fn expected_version(
    user: &AuthUser,
    headers: &HeaderMap,
    body: Option<&Map<String, JsonValue>>,
) -> ApiResult<Option<i64>> {
    let forced = headers
        .get(FORCE_UPDATE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true") || v.trim() == "1");
    if forced {
        user.require(Role::Manager, "force an update")?;
        return Ok(None);
    }
    if let Some(version) = body.and_then(|b| b.get("version")).filter(|v| !v.is_null()) {
        return version
            .as_i64()
            .or_else(|| version.as_str().and_then(|s| s.trim().parse().ok()))
            .filter(|v| *v >= 1)
            .map(Some)
            .ok_or_else(|| ApiError::invalid_field("version", "must be a positive integer"));
    }
    match headers.get(ENTITY_VERSION_HEADER) {
        Some(header) => header
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|v| *v >= 1)
            .map(Some)
            .ok_or_else(|| {
                ApiError::invalid_field("X-Entity-Version", "must be a positive integer")
            }),
        None => Err(ApiError::invalid_field(
            "version",
            "name the version your change is based on (body `version` or X-Entity-Version), \
             or send X-Force-Update: true as a manager",
        )),
    }
}

/// 409 when the row lives on at another version, 404 when it is gone or never existed here.
async fn explain_miss(
    state: &AppState,
    user: &AuthUser,
    spec: &'static ResourceSpec,
    id: i64,
    client_version: Option<i64>,
) -> ApiError {
    match state.store.get_record(spec, user.business_id, id).await {
        Ok(Some(current)) if is_live(&current) => {
            let server_version = version_of(&current);
            match completed_one(state.store.as_ref(), spec, user.business_id, current).await {
                Ok(server) => ApiError::version_conflict(VersionConflict {
                    entity_type: spec.entity_type.into(),
                    entity_id: id,
                    client_version,
                    server_version,
                    server_data: JsonValue::Object(server),
                }),
                Err(err) => err,
            }
        }
        Ok(_) => ApiError::not_found(spec.label),
        Err(err) => err.into(),
    }
}

pub async fn update<E: DeserializeOwned>(
    state: &AppState,
    user: &AuthUser,
    spec: &'static ResourceSpec,
    id: i64,
    headers: &HeaderMap,
    body: JsonValue,
) -> ApiResult<Json<DataResponse<E>>> {
    user.require(spec.write_role, &format!("change a {}", spec.entity_type))?;
    let body = as_object(body)?;
    let expected = expected_version(user, headers, Some(&body))?;
    let values = parse_fields(spec, &body, false)?;
    check_references(state.store.as_ref(), user.business_id, &values).await?;
    let columns: Vec<(&'static str, Value)> =
        values.into_iter().map(|(f, v)| (f.column, v)).collect();
    let updated = state
        .store
        .update_record(
            spec,
            user.business_id,
            id,
            &columns,
            expected,
            pos_protocol::time::now(),
        )
        .await?;
    match updated {
        Some(record) => {
            let record =
                completed_one(state.store.as_ref(), spec, user.business_id, record).await?;
            Ok(Json(DataResponse::new(
                format!("{} updated", spec.label),
                typed(spec, record)?,
            )))
        }
        None => Err(explain_miss(state, user, spec, id, expected).await),
    }
}

/// Soft delete: the row stays as a tombstone for sync. A version, when given, is checked.
pub async fn delete<E: DeserializeOwned>(
    state: &AppState,
    user: &AuthUser,
    spec: &'static ResourceSpec,
    id: i64,
    headers: &HeaderMap,
) -> ApiResult<Json<DataResponse<E>>> {
    // Removing a record is a manager's decision even where a cashier may write (a customer
    // with a payment history is not a cashier's to remove).
    let role = spec.write_role.max(Role::Manager);
    user.require(role, &format!("delete a {}", spec.entity_type))?;
    let expected = match headers.get(ENTITY_VERSION_HEADER) {
        Some(_) => expected_version(user, headers, None)?,
        None => None,
    };
    let deleted = state
        .store
        .soft_delete_record(
            spec,
            user.business_id,
            id,
            expected,
            pos_protocol::time::now(),
        )
        .await?;
    match deleted {
        Some(record) => {
            let record =
                completed_one(state.store.as_ref(), spec, user.business_id, record).await?;
            Ok(Json(DataResponse::new(
                format!("{} deleted", spec.label),
                typed(spec, record)?,
            )))
        }
        None => Err(explain_miss(state, user, spec, id, expected).await),
    }
}

/// Undoes a soft delete: the row is live again at a new version, so sync hands it back to
/// terminals as an update. A live row is answered as it is; the restore is audited.
pub async fn restore<E: DeserializeOwned>(
    state: &AppState,
    user: &AuthUser,
    spec: &'static ResourceSpec,
    id: i64,
    headers: &HeaderMap,
) -> ApiResult<Json<DataResponse<E>>> {
    user.require(spec.write_role, &format!("restore a {}", spec.entity_type))?;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    // The table name comes from the static spec, never from the client.
    let restored = tx
        .exec()
        .execute(
            &format!(
                "UPDATE {} SET deleted_at = NULL, updated_at = $3, version = version + 1 \
                 WHERE business_id = $1 AND id = $2 AND deleted_at IS NOT NULL",
                spec.table
            ),
            &[
                Value::Int(Some(user.business_id)),
                Value::Int(Some(id)),
                Value::Time(Some(pos_protocol::time::now())),
            ],
        )
        .await?;
    if restored > 0 {
        audit::record(
            &mut tx,
            user,
            headers,
            Change {
                entity: spec.entity_type,
                action: "restore",
                entity_id: id,
                after: &serde_json::json!({"id": id}),
                before: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    let record = live_record(state, user, spec, id).await?;
    let record = completed_one(state.store.as_ref(), spec, user.business_id, record).await?;
    let message = if restored > 0 {
        format!("{} restored", spec.label)
    } else {
        format!("{} was not deleted", spec.label)
    };
    Ok(Json(DataResponse::new(message, typed(spec, record)?)))
}

pub(crate) fn as_object(body: JsonValue) -> ApiResult<Map<String, JsonValue>> {
    match body {
        JsonValue::Object(map) => Ok(map),
        _ => Err(ApiError::invalid_field("body", "expected a JSON object")),
    }
}

/// Reads every writable field present in `body` (all required ones on create), collecting
/// a problem per field. Unknown fields are ignored.
pub(crate) fn parse_fields(
    spec: &'static ResourceSpec,
    body: &Map<String, JsonValue>,
    creating: bool,
) -> ApiResult<Vec<(&'static Field, Value)>> {
    let mut values = Vec::new();
    let mut errors = FieldErrors::new();
    for field in spec.fields.iter().filter(|f| f.writable) {
        if SERVER_FIELDS.contains(&field.wire) {
            continue;
        }
        match body.get(field.wire) {
            None if creating && field.required => {
                errors.insert(field.wire.into(), vec!["is required".into()]);
            }
            None => {}
            Some(raw) => match parse_value(field, raw) {
                Ok(value) => values.push((field, value)),
                Err(problem) => {
                    errors.insert(field.wire.into(), vec![problem]);
                }
            },
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::invalid_fields(errors))
    }
}

fn null_of(kind: FieldKind) -> Value {
    match kind.storage() {
        spec::Storage::Text => Value::Text(None),
        spec::Storage::Int => Value::Int(None),
        spec::Storage::Bool => Value::Bool(None),
        spec::Storage::Decimal => Value::Decimal(None),
    }
}

fn parse_value(field: &Field, raw: &JsonValue) -> Result<Value, String> {
    if raw.is_null() {
        return if field.nullable {
            Ok(null_of(field.kind))
        } else {
            Err("must not be null".into())
        };
    }
    match field.kind {
        FieldKind::Text { max_len } => {
            let text = raw.as_str().ok_or("must be a string")?.trim();
            if field.required && text.is_empty() {
                return Err("must not be empty".into());
            }
            if text.chars().count() > max_len {
                return Err(format!("must be at most {max_len} characters"));
            }
            Ok(Value::Text(Some(text.to_string())))
        }
        FieldKind::Choice(choices) => {
            let text = raw.as_str().ok_or("must be a string")?.trim();
            choices
                .iter()
                .find(|c| c.eq_ignore_ascii_case(text))
                .map(|c| Value::Text(Some((*c).to_string())))
                .ok_or_else(|| format!("must be one of {}", choices.join(", ")))
        }
        // Integer fields (such as `status`) are 32-bit on the wire: a larger value could be
        // stored but never answered back, so it is refused here.
        FieldKind::Integer => raw
            .as_i64()
            .filter(|n| i32::try_from(*n).is_ok())
            .map(|n| Value::Int(Some(n)))
            .ok_or_else(|| format!("must be an integer between {} and {}", i32::MIN, i32::MAX)),
        FieldKind::Reference(_) => raw
            .as_i64()
            .filter(|n| *n >= 1)
            .map(|n| Value::Int(Some(n)))
            .ok_or_else(|| "must be the id of an existing record".into()),
        FieldKind::Bool => match raw {
            JsonValue::Bool(b) => Ok(Value::Bool(Some(*b))),
            // Old clients send 1 and 0.
            JsonValue::Number(n) if n.as_i64() == Some(1) => Ok(Value::Bool(Some(true))),
            JsonValue::Number(n) if n.as_i64() == Some(0) => Ok(Value::Bool(Some(false))),
            _ => Err("must be true or false".into()),
        },
        FieldKind::Decimal { places } => {
            let number = pos_protocol::money::exact::deserialize(raw.clone())
                .map_err(|e| format!("must be a number ({e})"))?;
            if number.is_sign_negative() && !number.is_zero() {
                return Err("must not be negative".into());
            }
            if !pos_protocol::money::fits_scale(number, places) {
                return Err(format!("must have at most {places} decimal places"));
            }
            // Prices, stock and rates alike: beyond this no sum of them is safe.
            pos_protocol::money::Bound::Amount.check(number)?;
            Ok(Value::Decimal(Some(number)))
        }
    }
}

/// Every referenced id must be a live row of the same business: another business's id is
/// as unknown as a missing one.
async fn check_references(
    store: &dyn Store,
    business_id: i64,
    values: &[(&'static Field, Value)],
) -> ApiResult<()> {
    let mut errors = FieldErrors::new();
    for (field, value) in values {
        let (FieldKind::Reference(table), Value::Int(Some(id))) = (field.kind, value) else {
            continue;
        };
        let live: HashSet<i64> = store
            .live_ids(table, business_id, &[*id])
            .await?
            .into_iter()
            .collect();
        if !live.contains(id) {
            errors.insert(
                field.wire.into(),
                vec![format!("no {table} record with id {id} in this business")],
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(errors))
    }
}

/// The live rows of one parent record (a product's variants); 404 when the parent is not a
/// live row of the caller's business.
pub async fn list_of<E: DeserializeOwned>(
    state: &AppState,
    user: &AuthUser,
    spec: &'static ResourceSpec,
    parent: (&'static ResourceSpec, &'static str, i64),
    page: PageQuery,
) -> ApiResult<Json<Paged<E>>> {
    let (parent_spec, column, parent_id) = parent;
    live_record(state, user, parent_spec, parent_id).await?;
    let (mut records, total) = state
        .store
        .list_records_of(
            spec,
            user.business_id,
            column,
            parent_id,
            page.offset(),
            page.per_page(),
        )
        .await?;
    complete(state.store.as_ref(), spec, user.business_id, &mut records).await?;
    let data = records
        .into_iter()
        .map(|r| typed(spec, r))
        .collect::<ApiResult<Vec<E>>>()?;
    Ok(Json(Paged {
        message: format!("{} list", spec.label),
        data,
        pagination: Pagination::new(&page, total),
    }))
}

/// Creates a row under a parent named by the path (a variant of `/products/{id}`): the
/// parent must be a live row of the caller's business (else 404), and the path wins over
/// any parent id in the body.
pub async fn create_under<E: DeserializeOwned>(
    state: &AppState,
    user: &AuthUser,
    spec: &'static ResourceSpec,
    parent: (&'static ResourceSpec, &'static str, i64),
    body: JsonValue,
) -> ApiResult<(StatusCode, Json<DataResponse<E>>)> {
    user.require(spec.write_role, &format!("create a {}", spec.entity_type))?;
    let (parent_spec, column, parent_id) = parent;
    live_record(state, user, parent_spec, parent_id).await?;
    let mut body = as_object(body)?;
    let wire = spec.field(column).map_or(column, |f| f.wire);
    body.insert(wire.into(), parent_id.into());
    create(state, user, spec, JsonValue::Object(body)).await
}

/// Flips a boolean column of a live row, based on the version it was read at.
pub async fn toggle<E: DeserializeOwned>(
    state: &AppState,
    user: &AuthUser,
    spec: &'static ResourceSpec,
    id: i64,
    column: &'static str,
) -> ApiResult<Json<DataResponse<E>>> {
    user.require(spec.write_role, &format!("change a {}", spec.entity_type))?;
    let current = live_record(state, user, spec, id).await?;
    let wire = spec.field(column).map_or(column, |f| f.wire);
    let flipped = !current
        .get(wire)
        .and_then(JsonValue::as_bool)
        .unwrap_or(false);
    let version = version_of(&current);
    let updated = state
        .store
        .update_record(
            spec,
            user.business_id,
            id,
            &[(column, Value::Bool(Some(flipped)))],
            Some(version),
            pos_protocol::time::now(),
        )
        .await?;
    match updated {
        Some(record) => Ok(Json(DataResponse::new(
            format!("{} updated", spec.label),
            typed(spec, record)?,
        ))),
        None => Err(explain_miss(state, user, spec, id, Some(version)).await),
    }
}
