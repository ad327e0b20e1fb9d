//! The back office's trade API: sales, returns, purchases, dues, stock adjustments and the
//! sales reports.
//!
//! An online sale, return or due collection runs the very function a synced operation runs
//! (`sync::batch`), inside the same kind of transaction, so both paths obey one set of rules
//! (totals check, gap-free invoice numbers, stock with discrepancy logs, party dues). The only
//! difference: online, a return beyond what is left of a sale is refused, since no refund has
//! been paid yet. Every write is audited in its transaction; stock and party rows are changed
//! through `SyncTx`, which bumps their version, so the change cursor delivers them to terminals.

pub(crate) mod authority;
pub mod dues;
pub mod purchases;
pub mod reports;
pub mod sales;
pub mod stock;

use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDate, Utc};
use pos_protocol::error::ErrorCode;
pub(crate) use pos_protocol::money::Bound;
use pos_protocol::sync::{BatchErrorCode, Operation};
use rust_decimal::Decimal;
use serde_json::{Map, Value as JsonValue};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::middleware::IDEMPOTENCY_KEY_HEADER;
use crate::store::tx::{AuditEntry, SyncTx};
use crate::store::{Column, TxExec, Value};
use crate::sync::batch::{Context, OpFailure};
use crate::AppState;

/// Online writes without a device header are recorded as made in the back office.
const BACK_OFFICE_DEVICE: &str = "back-office";

fn device_of(headers: &HeaderMap) -> String {
    headers
        .get("x-device-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|d| !d.is_empty() && d.len() <= 128)
        .unwrap_or(BACK_OFFICE_DEVICE)
        .to_string()
}

/// The key the audit log files a write under: the request's idempotency key when it has one.
fn key_of(headers: &HeaderMap) -> String {
    headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| format!("api:{}", uuid::Uuid::new_v4().simple()))
}

/// The context an online write runs the sync rules in.
pub(crate) async fn context<'a>(
    state: &'a AppState,
    user: &'a AuthUser,
    headers: &HeaderMap,
) -> ApiResult<Context<'a>> {
    let settings = state
        .store
        .business_settings(user.business_id)
        .await?
        .ok_or_else(|| ApiError::internal("the caller's business has no settings"))?;
    Ok(Context {
        state,
        user,
        device_id: device_of(headers),
        settings,
        now: pos_protocol::time::now(),
        online: true,
    })
}

/// An online request as the operation the sync rules take.
pub(crate) fn operation(
    headers: &HeaderMap,
    entity: &str,
    action: &str,
    data: JsonValue,
) -> Operation {
    Operation {
        idempotency_key: key_of(headers),
        entity: entity.into(),
        action: action.into(),
        data,
        offline_timestamp: None,
    }
}

/// Takes out what a client may not choose online (who made it is the caller).
pub(crate) fn strip(mut data: JsonValue, fields: &[&str]) -> JsonValue {
    if let Some(map) = data.as_object_mut() {
        for field in fields {
            map.remove(*field);
        }
    }
    data
}

impl From<OpFailure> for ApiError {
    fn from(failure: OpFailure) -> Self {
        // Messages read `field: problem` where a field is at fault.
        let (field, problem) = match failure.message.split_once(": ") {
            Some((field, problem)) if !field.contains(' ') => (field.to_string(), problem.into()),
            _ => (String::new(), failure.message.clone()),
        };
        let named = |default: &str| {
            let field = if field.is_empty() { default } else { &field };
            ApiError::invalid_field(field.to_string(), problem.clone())
        };
        match failure.code {
            BatchErrorCode::SaleNotFound => ApiError::not_found("Sale"),
            BatchErrorCode::StockNotFound => named("products"),
            BatchErrorCode::PartyNotFound | BatchErrorCode::DueRequiresParty => named("party_id"),
            BatchErrorCode::PaymentTypeNotFound => named("payment_type_id"),
            BatchErrorCode::ShiftNotFound => named("shift_id"),
            BatchErrorCode::ReturnExceedsSale => named("lines"),
            BatchErrorCode::VersionConflict => ApiError::new(ErrorCode::Conflict, failure.message),
            BatchErrorCode::Internal => ApiError::internal(failure.message),
            _ => named("body"),
        }
    }
}

/// Files an online write in the audit log, inside its transaction.
pub(crate) async fn audit(
    tx: &mut SyncTx,
    ctx: &Context<'_>,
    op: &Operation,
    entity_id: Option<i64>,
    diff: Option<JsonValue>,
) -> ApiResult<()> {
    tx.audit(&AuditEntry {
        business_id: ctx.user.business_id,
        device_id: &ctx.device_id,
        user_id: ctx.user.user_id,
        entity: &op.entity,
        action: &op.action,
        entity_id,
        idempotency_key: &op.idempotency_key,
        offline_timestamp: None,
        payload: op.data.to_string(),
        diff: diff.map(|d| d.to_string()),
        now: ctx.now,
    })
    .await?;
    Ok(())
}

fn json_of(value: Value) -> ApiResult<JsonValue> {
    Ok(match value {
        Value::Text(v) | Value::Json(v) => v.map(JsonValue::String).unwrap_or(JsonValue::Null),
        Value::Int(v) => v.map(JsonValue::from).unwrap_or(JsonValue::Null),
        Value::Bool(v) => v.map(JsonValue::Bool).unwrap_or(JsonValue::Null),
        Value::Decimal(Some(v)) => money(v)?,
        Value::Decimal(None) => JsonValue::Null,
        Value::Time(v) => v
            .map(|t| JsonValue::String(pos_protocol::time::format(&t)))
            .unwrap_or(JsonValue::Null),
        Value::Bytes(_) => JsonValue::Null,
    })
}

/// An exact decimal as a JSON number.
pub(crate) fn money(v: rust_decimal::Decimal) -> ApiResult<JsonValue> {
    pos_protocol::money::exact::serialize(&v, serde_json::value::Serializer)
        .map_err(ApiError::internal)
}

/// Rows as JSON objects named by `columns` (wire name, how to read it), in select order.
pub(crate) async fn rows(
    exec: &mut dyn TxExec,
    sql: &str,
    args: &[Value],
    columns: &[(&str, Column)],
) -> ApiResult<Vec<Map<String, JsonValue>>> {
    let kinds: Vec<Column> = columns.iter().map(|(_, c)| *c).collect();
    let mut out = Vec::new();
    for row in exec.fetch_all(sql, args, &kinds).await? {
        let mut record = Map::new();
        for ((name, _), value) in columns.iter().zip(row) {
            record.insert((*name).to_string(), json_of(value)?);
        }
        out.push(record);
    }
    Ok(out)
}

/// The row of `table` with this id in the business, as a JSON object named by `columns`
/// (SQL expression, wire name, kind); `condition` narrows it further (e.g. live rows only).
/// `what` names the record in the not-found answer.
pub(crate) async fn row_by_id(
    exec: &mut dyn TxExec,
    table: &str,
    columns: &[(&str, &str, Column)],
    (business_id, id): (i64, i64),
    condition: &str,
    what: &str,
) -> ApiResult<Map<String, JsonValue>> {
    let sql = format!(
        "SELECT {} FROM {table} WHERE business_id = $1 AND id = $2{condition}",
        select_list(columns)
    );
    rows(
        exec,
        &sql,
        &[int(business_id), int(id)],
        &wire_columns(columns),
    )
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| ApiError::not_found(what))
}

/// The SELECT list of `columns` given as (SQL expression, wire name, kind).
pub(crate) fn select_list(columns: &[(&str, &str, Column)]) -> String {
    columns
        .iter()
        .map(|(sql, _, _)| *sql)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn wire_columns<'a>(columns: &[(&str, &'a str, Column)]) -> Vec<(&'a str, Column)> {
    columns
        .iter()
        .map(|(_, wire, kind)| (*wire, *kind))
        .collect()
}

/// A day (`YYYY-MM-DD`) as its first instant; `next` gives the first instant after it.
pub(crate) fn day(field: &str, text: &str, next: bool) -> ApiResult<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::invalid_field(field, "must be a date, YYYY-MM-DD"))?;
    let date = if next {
        date.succ_opt()
            .ok_or_else(|| ApiError::invalid_field(field, "is out of range"))?
    } else {
        date
    };
    Ok(date.and_time(chrono::NaiveTime::MIN).and_utc())
}

pub(crate) fn int(v: i64) -> Value {
    Value::Int(Some(v))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(sales::router())
        .merge(purchases::router())
        .merge(dues::router())
        .merge(stock::router())
        .merge(reports::router())
}

/// One page of rows in the shape of the catalog lists.
pub(crate) fn paged(
    message: &str,
    data: Vec<Map<String, JsonValue>>,
    page: &pos_protocol::page::PageQuery,
    total: i64,
) -> JsonValue {
    let pagination =
        pos_protocol::page::Pagination::new(page, u64::try_from(total).unwrap_or_default());
    serde_json::json!({"message": message, "data": data, "pagination": pagination})
}

/// One page of a business's rows of `table`, newest first, answered with its pagination;
/// `condition` narrows the rows (e.g. live ones only) for the count and the page alike.
pub(crate) async fn list_page(
    exec: &mut dyn TxExec,
    (table, columns): (&str, &[(&str, &str, Column)]),
    business_id: i64,
    condition: &str,
    page: &pos_protocol::page::PageQuery,
    message: &str,
) -> ApiResult<JsonValue> {
    let total = count(
        exec,
        &format!("SELECT COUNT(*) FROM {table} WHERE business_id = $1{condition}"),
        &[int(business_id)],
    )
    .await?;
    let sql = format!(
        "SELECT {} FROM {table} WHERE business_id = $1{condition} \
         ORDER BY id DESC LIMIT $2 OFFSET $3",
        select_list(columns)
    );
    let data = rows(
        exec,
        &sql,
        &[
            int(business_id),
            int(i64::from(page.per_page())),
            int(i64::try_from(page.offset()).unwrap_or(i64::MAX)),
        ],
        &wire_columns(columns),
    )
    .await?;
    Ok(paged(message, data, page, total))
}

/// The single integer a `SELECT COUNT(*)` answers.
pub(crate) async fn count(exec: &mut dyn TxExec, sql: &str, args: &[Value]) -> ApiResult<i64> {
    let rows = exec.fetch_all(sql, args, &[Column::Int]).await?;
    match rows.first().and_then(|r| r.first()) {
        Some(Value::Int(Some(n))) => Ok(*n),
        _ => Ok(0),
    }
}

/// A 422 naming `field` when `value` is outside `bound`: the one rule every number from a
/// client is held to (`pos_protocol::money::Bound`), here for the back office's own bodies.
pub(crate) fn bounded(
    field: impl Into<String>,
    value: rust_decimal::Decimal,
    bound: Bound,
) -> ApiResult<()> {
    bound
        .check(value)
        .map(drop)
        .map_err(|problem| ApiError::invalid_field(field, problem))
}

/// Stored figures added up for a report. Rows written before every amount was bounded can
/// hold anything, so a sum beyond what a decimal holds is answered as a conflict naming the
/// fix, never a panic.
pub(crate) fn add(sum: &mut Decimal, value: Decimal) -> ApiResult<()> {
    *sum = sum.checked_add(value).ok_or_else(sum_too_large)?;
    Ok(())
}

/// [`add`] over many figures.
pub(crate) fn sum(values: impl IntoIterator<Item = Decimal>) -> ApiResult<Decimal> {
    let mut total = Decimal::ZERO;
    for value in values {
        add(&mut total, value)?;
    }
    Ok(total)
}

/// `a - b` of stored figures, under the same rule as [`add`].
pub(crate) fn difference(a: Decimal, b: Decimal) -> ApiResult<Decimal> {
    a.checked_sub(b).ok_or_else(sum_too_large)
}

fn sum_too_large() -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        "The stored amounts add up beyond what can be counted: void or correct the record \
         that holds an absurd amount",
    )
}
