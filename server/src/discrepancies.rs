//! Stock discrepancies (`/api/v1/stock-discrepancies`): offline sales that took more than the
//! stock held. Listing and resolving them is a manager's job.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use pos_protocol::auth::Role;
use pos_protocol::error::{ApiErrorBody, ErrorCode};
use pos_protocol::page::{PageQuery, Paged, Pagination};
use pos_protocol::stock_discrepancy::{Resolution, ResolveDiscrepancyRequest, StockDiscrepancy};
use pos_protocol::DataResponse;
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::store::{Column, StoreError, StoreResult, TxExec, Value};
use crate::AppState;

const COLUMNS: &str =
    "id, business_id, product_id, stock_id, sale_id, device_id, expected, available, \
     discrepancy, resolution, resolved_by, resolved_at, note, created_at";
const READ: [Column; 14] = [
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
];

fn decode(row: Vec<Value>) -> StoreResult<StockDiscrepancy> {
    let corrupt = || StoreError::Corrupt("a stock discrepancy row".into());
    let int = |v: &Value| match v {
        Value::Int(v) => Ok(*v),
        _ => Err(corrupt()),
    };
    let text = |v: &Value| match v {
        Value::Text(v) => Ok(v.clone()),
        _ => Err(corrupt()),
    };
    let dec = |v: &Value| match v {
        Value::Decimal(Some(v)) => Ok(*v),
        _ => Err(corrupt()),
    };
    let time = |v: &Value| match v {
        Value::Time(v) => Ok(*v),
        _ => Err(corrupt()),
    };
    let resolution = match text(&row[9])?.as_deref() {
        None => None,
        Some("auto_adjusted") => Some(Resolution::AutoAdjusted),
        Some("manual") => Some(Resolution::Manual),
        Some("backorder") => Some(Resolution::Backorder),
        Some(_) => return Err(corrupt()),
    };
    Ok(StockDiscrepancy {
        id: int(&row[0])?.ok_or_else(corrupt)?,
        business_id: int(&row[1])?.ok_or_else(corrupt)?,
        product_id: int(&row[2])?.ok_or_else(corrupt)?,
        stock_id: int(&row[3])?,
        sale_id: int(&row[4])?,
        device_id: text(&row[5])?,
        expected: dec(&row[6])?,
        available: dec(&row[7])?,
        discrepancy: dec(&row[8])?,
        resolution,
        resolved_by: int(&row[10])?,
        resolved_at: time(&row[11])?,
        note: text(&row[12])?,
        created_at: time(&row[13])?.ok_or_else(corrupt)?,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open` (default), `resolved` or `all`.
    pub status: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
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
    let filter = match query.status.as_deref().unwrap_or("open") {
        "open" => " AND resolution IS NULL",
        "resolved" => " AND resolution IS NOT NULL",
        "all" => "",
        _ => {
            return Err(ApiError::invalid_field(
                "status",
                "must be open, resolved or all",
            ))
        }
    };
    let page = PageQuery {
        page: query.page,
        per_page: query.per_page,
    };
    let mut tx = state.store.begin_write().await?;
    let total = tx
        .fetch_all(
            &format!("SELECT COUNT(*) FROM stock_discrepancy_logs WHERE business_id = $1{filter}"),
            &[Value::Int(Some(user.business_id))],
            &[Column::Int],
        )
        .await?;
    let total = match total.first().and_then(|r| r.first()) {
        Some(Value::Int(Some(n))) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT {COLUMNS} FROM stock_discrepancy_logs WHERE business_id = $1{filter} \
                 ORDER BY id LIMIT $2 OFFSET $3"
            ),
            &[
                Value::Int(Some(user.business_id)),
                Value::Int(Some(i64::from(page.per_page()))),
                Value::Int(Some(i64::try_from(page.offset()).unwrap_or(i64::MAX))),
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
        message: "Stock discrepancies".into(),
        data,
        pagination: Pagination::new(&page, total),
    }))
}

async fn fetch_one(
    tx: &mut Box<dyn TxExec>,
    business_id: i64,
    id: i64,
) -> StoreResult<Option<StockDiscrepancy>> {
    let row = tx
        .fetch_all(
            &format!("SELECT {COLUMNS} FROM stock_discrepancy_logs WHERE business_id = $1 AND id = $2 FOR UPDATE"),
            &[Value::Int(Some(business_id)), Value::Int(Some(id))],
            &READ,
        )
        .await?
        .into_iter()
        .next();
    row.map(decode).transpose()
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
    let current = fetch_one(&mut tx, user.business_id, id)
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
    let resolved = fetch_one(&mut tx, user.business_id, id)
        .await?
        .ok_or_else(|| ApiError::internal("a resolved discrepancy vanished"))?;
    tx.commit().await?;
    Ok(Json(DataResponse::new(
        "Stock discrepancy resolved",
        resolved,
    )))
}
