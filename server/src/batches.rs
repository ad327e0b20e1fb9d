//! Stock batches (`/api/v1/batches/*`, `/api/v1/products/{id}/batches`): a batch is a stock
//! row with its batch number and dates. Expiry is judged against today's date (UTC): a batch
//! is expired from the day after its `expire_date`. Dates the server cannot read as
//! `YYYY-MM-DD` count as no expiry date rather than failing the list.

use axum::extract::State;
use axum::Json;
use chrono::{NaiveDate, Utc};
use pos_protocol::error::ApiErrorBody;
use pos_protocol::office::{
    Batch, BatchDetailResponse, BatchMovement, BatchProduct, BatchesResponse, ExpiryResponse,
    MovementSummary, NamedRef, SelectBatchesRequest, SelectBatchesResponse, SelectedBatch,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::store::{Column, StoreError, StoreResult, TxExec, Value};
use crate::AppState;

/// How far ahead "expiring soon" looks unless asked otherwise.
const DEFAULT_SOON_DAYS: i64 = 30;
const MAX_DAYS: i64 = 3650;

const SELECT: &str = "SELECT s.id, s.business_id, s.batch_no, s.product_stock, \
     s.product_purchase_price, s.product_sale_price, s.mfg_date, s.expire_date, s.warehouse_id, \
     w.name, p.id, p.product_name, p.product_code, v.id, v.sku \
     FROM stocks s JOIN products p ON p.id = s.product_id \
     LEFT JOIN warehouses w ON w.id = s.warehouse_id \
     LEFT JOIN product_variants v ON v.id = s.variant_id \
     WHERE s.business_id = $1 AND s.deleted_at IS NULL";
const READ: [Column; 15] = [
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Decimal,
    Column::Decimal,
    Column::Decimal,
    Column::Text,
    Column::Text,
    Column::Int,
    Column::Text,
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Int,
    Column::Text,
];

/// The date an expiry text names (its first ten characters as `YYYY-MM-DD`).
fn expiry_date(text: &str) -> Option<NaiveDate> {
    let head = text.trim().get(..10)?;
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
}

fn decode(row: Vec<Value>, today: NaiveDate, soon_days: i64) -> StoreResult<Batch> {
    let corrupt = || StoreError::Corrupt("a stock batch row".into());
    let int = |i: usize| match row.get(i) {
        Some(Value::Int(v)) => Ok(*v),
        _ => Err(corrupt()),
    };
    let text = |i: usize| match row.get(i) {
        Some(Value::Text(v)) => Ok(v.clone()),
        _ => Err(corrupt()),
    };
    let dec = |i: usize| match row.get(i) {
        Some(Value::Decimal(v)) => Ok(v.unwrap_or(Decimal::ZERO)),
        _ => Err(corrupt()),
    };
    let expire_date = text(7)?;
    let days_until_expiry = expire_date
        .as_deref()
        .and_then(expiry_date)
        .map(|d| (d - today).num_days());
    let warehouse = match (int(8)?, text(9)?) {
        (Some(id), Some(name)) => Some(NamedRef { id, name }),
        _ => None,
    };
    Ok(Batch {
        id: int(0)?.ok_or_else(corrupt)?,
        business_id: int(1)?.ok_or_else(corrupt)?,
        batch_no: text(2)?,
        quantity: dec(3)?,
        purchase_price: dec(4)?,
        sale_price: dec(5)?,
        mfg_date: text(6)?,
        expire_date,
        is_expired: days_until_expiry.is_some_and(|d| d < 0),
        is_expiring_soon: days_until_expiry.is_some_and(|d| (0..=soon_days).contains(&d)),
        days_until_expiry,
        warehouse,
        product: BatchProduct {
            id: int(10)?.ok_or_else(corrupt)?,
            name: text(11)?.ok_or_else(corrupt)?,
            sku: text(12)?,
        },
        variant: match (int(13)?, text(14)?) {
            (Some(id), Some(name)) => Some(NamedRef { id, name }),
            _ => None,
        },
    })
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// First expiry first; batches without a date last; then by id.
fn fefo(batches: &mut [Batch]) {
    batches.sort_by_key(|b| (b.days_until_expiry.is_none(), b.days_until_expiry, b.id));
}

async fn load(
    state: &AppState,
    business_id: i64,
    extra: &str,
    args: Vec<Value>,
    soon_days: i64,
) -> ApiResult<Vec<Batch>> {
    let mut all_args = vec![Value::Int(Some(business_id))];
    all_args.extend(args);
    let mut tx = state.store.begin_read().await?;
    let rows = tx
        .fetch_all(&format!("{SELECT}{extra}"), &all_args, &READ)
        .await?;
    tx.commit().await?;
    let today = today();
    let mut batches = rows
        .into_iter()
        .map(|row| decode(row, today, soon_days))
        .collect::<StoreResult<Vec<_>>>()?;
    fefo(&mut batches);
    Ok(batches)
}

/// The live product's batches, or 404 when it is not a live product of the business.
async fn product_batches(
    state: &AppState,
    user: &AuthUser,
    product_id: i64,
    soon_days: i64,
) -> ApiResult<Vec<Batch>> {
    let live = state
        .store
        .live_ids("products", user.business_id, &[product_id])
        .await?;
    if live.is_empty() {
        return Err(ApiError::not_found("Product"));
    }
    load(
        state,
        user.business_id,
        " AND s.product_id = $2",
        vec![Value::Int(Some(product_id))],
        soon_days,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/products/{id}/batches", tag = "batches",
    params(("id" = i64, Path)),
    responses((status = 200, description = "The product's batches, first expiry first", body = BatchesResponse),
              (status = 404, description = "No such product in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn of_product(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<BatchesResponse>> {
    let batches = product_batches(&state, &user, id, DEFAULT_SOON_DAYS).await?;
    Ok(Json(BatchesResponse {
        success: true,
        batches,
    }))
}

#[utoipa::path(get, path = "/api/v1/variants/{id}/batches", tag = "batches",
    params(("id" = i64, Path)),
    responses((status = 200, description = "The variant's batches, first expiry first", body = BatchesResponse),
              (status = 404, description = "No such variant in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn of_variant(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<BatchesResponse>> {
    let live = state
        .store
        .live_ids("product_variants", user.business_id, &[id])
        .await?;
    if live.is_empty() {
        return Err(ApiError::not_found("Variant"));
    }
    let batches = load(
        &state,
        user.business_id,
        " AND s.variant_id = $2",
        vec![Value::Int(Some(id))],
        DEFAULT_SOON_DAYS,
    )
    .await?;
    Ok(Json(BatchesResponse {
        success: true,
        batches,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpiringQuery {
    /// How many days ahead (default 30, at most 3650).
    pub days: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/batches/expiring", tag = "batches", params(ExpiringQuery),
    responses((status = 200, description = "Batches with stock that expire within the days asked", body = ExpiryResponse),
              (status = 422, description = "Days out of range", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn expiring(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ExpiringQuery>,
) -> ApiResult<Json<ExpiryResponse>> {
    let days = query.days.unwrap_or(DEFAULT_SOON_DAYS);
    if !(0..=MAX_DAYS).contains(&days) {
        return Err(ApiError::invalid_field(
            "days",
            format!("must be between 0 and {MAX_DAYS}"),
        ));
    }
    let batches: Vec<Batch> = load(
        &state,
        user.business_id,
        " AND s.expire_date IS NOT NULL",
        Vec::new(),
        days,
    )
    .await?
    .into_iter()
    .filter(|b| b.is_expiring_soon && b.quantity > Decimal::ZERO)
    .collect();
    Ok(Json(ExpiryResponse {
        success: true,
        days: Some(days),
        count: batches.len(),
        batches,
    }))
}

#[utoipa::path(get, path = "/api/v1/batches/expired", tag = "batches",
    responses((status = 200, description = "Expired batches that still hold stock", body = ExpiryResponse)),
    security(("bearer" = [])))]
pub async fn expired(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<ExpiryResponse>> {
    let batches: Vec<Batch> = load(
        &state,
        user.business_id,
        " AND s.expire_date IS NOT NULL",
        Vec::new(),
        DEFAULT_SOON_DAYS,
    )
    .await?
    .into_iter()
    .filter(|b| b.is_expired && b.quantity > Decimal::ZERO)
    .collect();
    Ok(Json(ExpiryResponse {
        success: true,
        days: None,
        count: batches.len(),
        batches,
    }))
}

fn row_movement(row: Vec<Value>, kind: &str, sign: Decimal) -> StoreResult<BatchMovement> {
    let corrupt = || StoreError::Corrupt("a batch movement row".into());
    Ok(BatchMovement {
        kind: kind.into(),
        reference_id: match row.first() {
            Some(Value::Int(Some(v))) => *v,
            _ => return Err(corrupt()),
        },
        invoice_number: match row.get(1) {
            Some(Value::Text(v)) => v.clone(),
            _ => None,
        },
        quantity: match row.get(2) {
            Some(Value::Decimal(Some(v))) => *v * sign,
            _ => return Err(corrupt()),
        },
        date: match row.get(3) {
            Some(Value::Time(Some(v))) => *v,
            _ => return Err(corrupt()),
        },
    })
}

/// Everything that moved a stock row: sale lines (issued), applied returns and purchase
/// lines (received), oldest first.
async fn movements(
    exec: &mut dyn TxExec,
    business_id: i64,
    stock_id: i64,
) -> StoreResult<Vec<BatchMovement>> {
    const MOVED: [Column; 4] = [Column::Int, Column::Text, Column::Decimal, Column::Time];
    let args = [Value::Int(Some(stock_id)), Value::Int(Some(business_id))];
    let sources = [
        (
            "SELECT s.id, s.invoice_number, d.quantities, s.sale_date FROM sale_details d \
             JOIN sales s ON s.id = d.sale_id \
             WHERE d.stock_id = $1 AND s.business_id = $2 AND s.deleted_at IS NULL",
            "sale",
            Decimal::NEGATIVE_ONE,
        ),
        (
            "SELECT r.id, s.invoice_number, rd.quantity, r.return_date FROM sale_return_details rd \
             JOIN sale_returns r ON r.id = rd.sale_return_id \
             JOIN sale_details d ON d.id = rd.sale_detail_id JOIN sales s ON s.id = d.sale_id \
             WHERE d.stock_id = $1 AND r.business_id = $2 AND r.status = 'applied'",
            "sale_return",
            Decimal::ONE,
        ),
        (
            "SELECT p.id, p.invoice_number, pd.quantities, p.purchase_date FROM purchase_details pd \
             JOIN purchases p ON p.id = pd.purchase_id \
             WHERE pd.stock_id = $1 AND p.business_id = $2 AND p.deleted_at IS NULL",
            "purchase",
            Decimal::ONE,
        ),
    ];
    let mut all = Vec::new();
    for (sql, kind, sign) in sources {
        for row in exec.fetch_all(sql, &args, &MOVED).await? {
            all.push(row_movement(row, kind, sign)?);
        }
    }
    all.sort_by_key(|m: &BatchMovement| (m.date, m.reference_id));
    Ok(all)
}

fn summarise(movements: &[BatchMovement]) -> MovementSummary {
    let received = movements
        .iter()
        .filter(|m| m.quantity > Decimal::ZERO)
        .map(|m| m.quantity)
        .sum();
    let issued = movements
        .iter()
        .filter(|m| m.quantity < Decimal::ZERO)
        .map(|m| -m.quantity)
        .sum();
    MovementSummary {
        total_movements: movements.len(),
        total_received: received,
        total_issued: issued,
    }
}

async fn detail(state: &AppState, user: &AuthUser, id: i64) -> ApiResult<BatchDetailResponse> {
    let mut tx = state.store.begin_read().await?;
    let row = tx
        .fetch_all(
            &format!("{SELECT} AND s.id = $2"),
            &[Value::Int(Some(user.business_id)), Value::Int(Some(id))],
            &READ,
        )
        .await?
        .into_iter()
        .next();
    let Some(row) = row else {
        return Err(ApiError::not_found("Batch"));
    };
    let batch = decode(row, today(), DEFAULT_SOON_DAYS)?;
    let moved = movements(tx.as_mut(), user.business_id, id).await?;
    tx.commit().await?;
    Ok(BatchDetailResponse {
        success: true,
        batch,
        movement_summary: summarise(&moved),
        movements: moved,
    })
}

#[utoipa::path(get, path = "/api/v1/batches/{id}", tag = "batches", params(("id" = i64, Path)),
    responses((status = 200, description = "The batch and what moved it", body = BatchDetailResponse),
              (status = 404, description = "Not in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<BatchDetailResponse>> {
    Ok(Json(detail(&state, &user, id).await?))
}

#[utoipa::path(get, path = "/api/v1/batches/{id}/movements", tag = "batches",
    params(("id" = i64, Path)),
    responses((status = 200, description = "What moved the batch, oldest first", body = BatchDetailResponse),
              (status = 404, description = "Not in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn movements_of(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<BatchDetailResponse>> {
    Ok(Json(detail(&state, &user, id).await?))
}

/// Which batches to take a quantity from: first expiry first, expired and empty batches left
/// aside. It only proposes; stock moves with the sale.
pub fn select(batches: Vec<Batch>, wanted: Decimal) -> SelectBatchesResponse {
    let available: Vec<Batch> = batches
        .into_iter()
        .filter(|b| !b.is_expired && b.quantity > Decimal::ZERO)
        .collect();
    let total_available: Decimal = available.iter().map(|b| b.quantity).sum();
    let mut left = wanted;
    let mut selected = Vec::new();
    for batch in &available {
        if left <= Decimal::ZERO {
            break;
        }
        let take = left.min(batch.quantity);
        left -= take;
        selected.push(SelectedBatch {
            batch: batch.clone(),
            take_quantity: take,
        });
    }
    SelectBatchesResponse {
        success: true,
        strategy: "fefo".into(),
        requested_quantity: wanted,
        total_available,
        fulfilled: left <= Decimal::ZERO,
        selected_batches: selected,
        all_available_batches: available,
    }
}

#[utoipa::path(post, path = "/api/v1/products/{id}/select-batches", tag = "batches",
    params(("id" = i64, Path)), request_body = SelectBatchesRequest,
    responses((status = 200, description = "The batches to take from", body = SelectBatchesResponse),
              (status = 404, description = "No such product in this business", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn select_batches(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<SelectBatchesRequest>,
) -> ApiResult<Json<SelectBatchesResponse>> {
    if request.quantity <= Decimal::ZERO
        || !pos_protocol::money::fits_scale(request.quantity, pos_protocol::money::QUANTITY_SCALE)
    {
        return Err(ApiError::invalid_field(
            "quantity",
            "must be a positive quantity with at most 3 decimals",
        ));
    }
    let mut batches = product_batches(&state, &user, id, DEFAULT_SOON_DAYS).await?;
    if let Some(warehouse) = request.warehouse_id {
        batches.retain(|b| b.warehouse.as_ref().is_some_and(|w| w.id == warehouse));
    }
    if let Some(variant) = request.variant_id {
        batches.retain(|b| b.variant.as_ref().is_some_and(|v| v.id == variant));
    }
    Ok(Json(select(batches, request.quantity)))
}
