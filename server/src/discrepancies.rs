//! Stock discrepancies (`/api/v1/stock-discrepancies`): offline sales that took more than the
//! stock held. Listing and resolving them is a manager's job.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use pos_protocol::auth::Role;
use pos_protocol::error::{ApiErrorBody, ErrorCode};
use pos_protocol::page::Paged;
use pos_protocol::stock_discrepancy::{Resolution, ResolveDiscrepancyRequest, StockDiscrepancy};
use pos_protocol::DataResponse;
use rust_decimal::Decimal;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::review_queue::{ListQuery, Queue};
use crate::store::row::required;
use crate::store::{Column, StoreError, StoreResult, Value};
use crate::AppState;

const DISCREPANCIES: Queue<StockDiscrepancy> = Queue {
    table: "stock_discrepancy_logs",
    select: "id, business_id, product_id, stock_id, sale_id, device_id, expected, available, \
             discrepancy, resolution, resolved_by, resolved_at, note, created_at",
    columns: &[
        Column::Int,
        Column::Int,
        Column::Int,
        Column::Int,
        Column::Int,
        Column::Text,
        Column::Decimal,
        Column::Decimal,
        Column::Decimal,
        Column::Text,
        Column::Int,
        Column::Time,
        Column::Text,
        Column::Time,
    ],
    open: "resolution IS NULL",
    resolved: "resolution IS NOT NULL",
    decode,
    message: "Stock discrepancies",
};

fn decode(row: Vec<Value>) -> StoreResult<StockDiscrepancy> {
    const WHAT: &str = "a stock discrepancy row";
    let resolution = match row[9].text()?.as_deref() {
        None => None,
        Some("auto_adjusted") => Some(Resolution::AutoAdjusted),
        Some("manual") => Some(Resolution::Manual),
        Some("backorder") => Some(Resolution::Backorder),
        Some(other) => {
            return Err(StoreError::Corrupt(format!(
                "{WHAT} with the resolution {other:?}"
            )))
        }
    };
    Ok(StockDiscrepancy {
        id: required(row[0].int()?, WHAT)?,
        business_id: required(row[1].int()?, WHAT)?,
        product_id: required(row[2].int()?, WHAT)?,
        stock_id: row[3].int()?,
        sale_id: row[4].int()?,
        device_id: row[5].text()?,
        expected: required(row[6].decimal()?, WHAT)?,
        available: required(row[7].decimal()?, WHAT)?,
        discrepancy: required(row[8].decimal()?, WHAT)?,
        resolution,
        resolved_by: row[10].int()?,
        resolved_at: row[11].time()?,
        note: row[12].text()?,
        created_at: required(row[13].time()?, WHAT)?,
    })
}

#[utoipa::path(get, path = "/api/v1/stock-discrepancies", tag = "stock", params(ListQuery),
    responses((status = 200, description = "One page of discrepancies", body = Paged<StockDiscrepancy>),
              (status = 403, description = "Managers only", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Paged<StockDiscrepancy>>> {
    user.require(Role::Manager, "see stock discrepancies")?;
    let mut tx = state.store.begin_read().await?;
    let page = DISCREPANCIES
        .list(tx.as_mut(), user.business_id, &query)
        .await?;
    tx.commit().await?;
    Ok(Json(page))
}

#[utoipa::path(post, path = "/api/v1/stock-discrepancies/{id}/resolve", tag = "stock",
    params(("id" = i64, Path)), request_body = ResolveDiscrepancyRequest,
    responses((status = 200, description = "Resolved", body = DataResponse<StockDiscrepancy>),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody),
              (status = 409, description = "Already resolved", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn resolve(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ResolveDiscrepancyRequest>,
) -> ApiResult<Json<DataResponse<StockDiscrepancy>>> {
    user.require(Role::Manager, "resolve stock discrepancies")?;
    if let Some(note) = &request.note {
        if note.chars().count() > 1000 {
            return Err(ApiError::invalid_field(
                "note",
                "must be at most 1000 characters",
            ));
        }
    }
    let counted = match (request.resolution, request.counted_stock) {
        (Resolution::Manual, Some(counted)) => {
            if counted < Decimal::ZERO
                || !pos_protocol::money::fits_scale(counted, pos_protocol::money::QUANTITY_SCALE)
            {
                return Err(ApiError::invalid_field(
                    "counted_stock",
                    "must be a non-negative quantity with at most 3 decimals",
                ));
            }
            Some(counted)
        }
        (_, Some(_)) => {
            return Err(ApiError::invalid_field(
                "counted_stock",
                "goes only with the manual resolution",
            ))
        }
        (_, None) => None,
    };
    let now: DateTime<Utc> = pos_protocol::time::now();
    let mut tx = state.store.begin_write().await?;
    let current = DISCREPANCIES
        .fetch_for_update(tx.as_mut(), user.business_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Stock discrepancy"))?;
    if current.resolution.is_some() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "This discrepancy is already resolved",
        ));
    }
    tx.execute(
        "UPDATE stock_discrepancy_logs SET resolution = $3, resolved_by = $4, resolved_at = $5, note = $6 \
         WHERE business_id = $1 AND id = $2",
        &[
            Value::Int(Some(user.business_id)),
            Value::Int(Some(id)),
            Value::Text(Some(request.resolution.as_str().into())),
            Value::Int(Some(user.user_id)),
            Value::Time(Some(now)),
            Value::Text(request.note.clone()),
        ],
    )
    .await?;
    if let (Some(counted), Some(stock_id)) = (counted, current.stock_id) {
        tx.execute(
            "UPDATE stocks SET product_stock = $3, version = version + 1, updated_at = $4 \
             WHERE business_id = $1 AND id = $2",
            &[
                Value::Int(Some(user.business_id)),
                Value::Int(Some(stock_id)),
                Value::Decimal(Some(counted)),
                Value::Time(Some(now)),
            ],
        )
        .await?;
    }
    let resolved = DISCREPANCIES
        .fetch_for_update(tx.as_mut(), user.business_id, id)
        .await?
        .ok_or_else(|| ApiError::internal("a resolved discrepancy vanished"))?;
    tx.commit().await?;
    Ok(Json(DataResponse::new(
        "Stock discrepancy resolved",
        resolved,
    )))
}
