//! `/api/v1/sync/conflicts`: operations kept for a manager (an over-return), and resolving
//! them. Accepting a return puts its stock back; rejecting leaves the stock as it is.

use axum::extract::State;
use axum::Json;
use pos_protocol::auth::Role;
use pos_protocol::conflict::{ConflictResolution, ResolveConflictRequest, SyncConflict};
use pos_protocol::error::{ApiErrorBody, ErrorCode};
use pos_protocol::page::{PageQuery, Paged, Pagination};
use pos_protocol::DataResponse;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::store::{Column, StoreError, StoreResult, TxExec, Value};
use crate::AppState;

const COLUMNS: &str =
    "id, device_id, entity, entity_id, idempotency_key, reason, operation, status, \
     resolution, resolved_by, resolved_at, created_at";
const READ: [Column; 12] = [
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Int,
    Column::Time,
    Column::Time,
];

fn decode(row: Vec<Value>) -> StoreResult<SyncConflict> {
    let corrupt = || StoreError::Corrupt("a sync_conflicts row".into());
    let int = |v: &Value| match v {
        Value::Int(v) => Ok(*v),
        _ => Err(corrupt()),
    };
    let text = |v: &Value| match v {
        Value::Text(v) => Ok(v.clone()),
        _ => Err(corrupt()),
    };
    let time = |v: &Value| match v {
        Value::Time(v) => Ok(*v),
        _ => Err(corrupt()),
    };
    let operation = text(&row[6])?
        .map(|t| serde_json::from_str(&t).unwrap_or(serde_json::Value::String(t)))
        .unwrap_or(serde_json::Value::Null);
    Ok(SyncConflict {
        id: int(&row[0])?.ok_or_else(corrupt)?,
        device_id: text(&row[1])?,
        entity: text(&row[2])?.ok_or_else(corrupt)?,
        entity_id: int(&row[3])?,
        idempotency_key: text(&row[4])?,
        reason: text(&row[5])?.ok_or_else(corrupt)?,
        operation,
        status: text(&row[7])?.ok_or_else(corrupt)?,
        resolution: text(&row[8])?,
        resolved_by: int(&row[9])?,
        resolved_at: time(&row[10])?,
        created_at: time(&row[11])?.ok_or_else(corrupt)?,
    })
}

/// PostgreSQL reads `jsonb` as text only when asked to.
fn select(filter: &str) -> String {
    format!(
        "SELECT {} FROM sync_conflicts WHERE business_id = $1{filter}",
        COLUMNS.replace("operation,", "CAST(operation AS TEXT),")
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open` (default), `resolved` or `all`.
    pub status: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/sync/conflicts", tag = "sync", params(ListQuery),
    responses((status = 200, description = "One page of conflicts", body = Paged<SyncConflict>),
              (status = 403, description = "Managers only", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Paged<SyncConflict>>> {
    user.require(Role::Manager, "see sync conflicts")?;
    let filter = match query.status.as_deref().unwrap_or("open") {
        "open" => " AND status = 'open'",
        "resolved" => " AND status = 'resolved'",
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
            &format!("SELECT COUNT(*) FROM sync_conflicts WHERE business_id = $1{filter}"),
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
            &format!("{} ORDER BY id LIMIT $2 OFFSET $3", select(filter)),
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
        message: "Sync conflicts".into(),
        data,
        pagination: Pagination::new(&page, total),
    }))
}

/// Puts back the stock of a return that was kept as a conflict, and marks it applied.
async fn apply_return(
    tx: &mut Box<dyn TxExec>,
    business_id: i64,
    return_id: i64,
) -> StoreResult<()> {
    let now = Value::Time(Some(pos_protocol::time::now()));
    let lines = tx
        .fetch_all(
            "SELECT d.stock_id, rd.quantity, s.product_stock FROM sale_return_details rd \
             JOIN sale_details d ON d.id = rd.sale_detail_id \
             JOIN stocks s ON s.id = d.stock_id \
             WHERE rd.sale_return_id = $1 AND s.business_id = $2",
            &[Value::Int(Some(return_id)), Value::Int(Some(business_id))],
            &[Column::Int, Column::Decimal, Column::Decimal],
        )
        .await?;
    for line in lines {
        if let [Value::Int(Some(stock_id)), Value::Decimal(Some(quantity)), Value::Decimal(Some(current))] =
            line.as_slice()
        {
            tx.execute(
                "UPDATE stocks SET product_stock = $2, version = version + 1, updated_at = $3 WHERE id = $1",
                &[Value::Int(Some(*stock_id)), Value::Decimal(Some(*current + *quantity)), now.clone()],
            )
            .await?;
        }
    }
    tx.execute(
        "UPDATE sale_returns SET status = 'applied', updated_at = $2 WHERE id = $1",
        &[Value::Int(Some(return_id)), now],
    )
    .await?;
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/sync/conflicts/{id}/resolve", tag = "sync",
    params(("id" = i64, Path)), request_body = ResolveConflictRequest,
    responses((status = 200, description = "Resolved", body = DataResponse<SyncConflict>),
              (status = 404, description = "Not in this business", body = ApiErrorBody),
              (status = 409, description = "Already resolved", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn resolve(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ResolveConflictRequest>,
) -> ApiResult<Json<DataResponse<SyncConflict>>> {
    user.require(Role::Manager, "resolve sync conflicts")?;
    let mut tx = state.store.begin_write().await?;
    let business = Value::Int(Some(user.business_id));
    let current = tx
        .fetch_all(
            &format!("{} AND id = $2 FOR UPDATE", select("")),
            &[business.clone(), Value::Int(Some(id))],
            &READ,
        )
        .await?
        .into_iter()
        .next()
        .map(decode)
        .transpose()?
        .ok_or_else(|| ApiError::not_found("Sync conflict"))?;
    if current.status != "open" {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "This conflict is already resolved",
        ));
    }
    if let (ConflictResolution::Accept, "sale_return", Some(return_id)) = (
        request.resolution,
        current.entity.as_str(),
        current.entity_id,
    ) {
        apply_return(&mut tx, user.business_id, return_id).await?;
    }
    let resolution = match request.resolution {
        ConflictResolution::Accept => "accept",
        ConflictResolution::Reject => "reject",
    };
    tx.execute(
        "UPDATE sync_conflicts SET status = 'resolved', resolution = $3, resolved_by = $4, resolved_at = $5 \
         WHERE business_id = $1 AND id = $2",
        &[
            business.clone(),
            Value::Int(Some(id)),
            Value::Text(Some(resolution.into())),
            Value::Int(Some(user.user_id)),
            Value::Time(Some(pos_protocol::time::now())),
        ],
    )
    .await?;
    let resolved = tx
        .fetch_all(
            &format!("{} AND id = $2", select("")),
            &[business, Value::Int(Some(id))],
            &READ,
        )
        .await?
        .into_iter()
        .next()
        .map(decode)
        .transpose()?
        .ok_or_else(|| ApiError::internal("a resolved conflict vanished"))?;
    tx.commit().await?;
    Ok(Json(DataResponse::new("Sync conflict resolved", resolved)))
}
