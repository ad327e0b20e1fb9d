//! `/api/v1/sync/conflicts`: operations kept for a manager (an over-return), and resolving
//! them. Accepting a return puts its stock back; rejecting leaves the stock as it is.

use axum::extract::State;
use axum::Json;
use pos_protocol::auth::Role;
use pos_protocol::conflict::{ConflictResolution, ResolveConflictRequest, SyncConflict};
use pos_protocol::error::{ApiErrorBody, ErrorCode};
use pos_protocol::page::Paged;
use pos_protocol::DataResponse;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{from_value, ApiJson, ApiPath, ApiQuery};
use crate::review_queue::{ListQuery, Queue};
use crate::store::row::required;
use crate::store::{Column, StoreResult, TxExec, Value};
use crate::AppState;

/// The operation is read as text: PostgreSQL reads `jsonb` as text only when asked to.
const CONFLICTS: Queue<SyncConflict> = Queue {
    table: "sync_conflicts",
    select: "id, device_id, entity, entity_id, idempotency_key, reason, \
             CAST(operation AS TEXT), status, resolution, resolved_by, resolved_at, created_at",
    columns: &[
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
    ],
    open: "status = 'open'",
    resolved: "status = 'resolved'",
    decode,
    message: "Sync conflicts",
};

fn decode(row: Vec<Value>) -> StoreResult<SyncConflict> {
    const WHAT: &str = "a sync_conflicts row";
    let operation = row[6]
        .text()?
        .map(|t| serde_json::from_str(&t).unwrap_or(serde_json::Value::String(t)))
        .unwrap_or(serde_json::Value::Null);
    Ok(SyncConflict {
        id: required(row[0].int()?, WHAT)?,
        device_id: row[1].text()?,
        entity: required(row[2].text()?, WHAT)?,
        entity_id: row[3].int()?,
        idempotency_key: row[4].text()?,
        reason: required(row[5].text()?, WHAT)?,
        operation,
        status: required(row[7].text()?, WHAT)?,
        resolution: row[8].text()?,
        resolved_by: row[9].int()?,
        resolved_at: row[10].time()?,
        created_at: required(row[11].time()?, WHAT)?,
    })
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
    let mut tx = state.store.begin_read().await?;
    let page = CONFLICTS
        .list(tx.as_mut(), user.business_id, &query)
        .await?;
    tx.commit().await?;
    Ok(Json(page))
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
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Json<DataResponse<SyncConflict>>> {
    // The role first: a cashier learns nothing from how the body would have been judged.
    user.require(Role::Manager, "resolve sync conflicts")?;
    let request: ResolveConflictRequest = from_value(body)?;
    let mut tx = state.store.begin_write().await?;
    let current = CONFLICTS
        .fetch_for_update(tx.as_mut(), user.business_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Sync conflict"))?;
    if current.status != "open" {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "This conflict is already resolved",
        ));
    }
    // Only an over-return waits for its stock; other entries (authorisation, review) are
    // about operations that applied in full.
    if let (ConflictResolution::Accept, "sale_return", "RETURN_EXCEEDS_SALE", Some(return_id)) = (
        request.resolution,
        current.entity.as_str(),
        current.reason.as_str(),
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
            Value::Int(Some(user.business_id)),
            Value::Int(Some(id)),
            Value::Text(Some(resolution.into())),
            Value::Int(Some(user.user_id)),
            Value::Time(Some(pos_protocol::time::now())),
        ],
    )
    .await?;
    let resolved = CONFLICTS
        .fetch_for_update(tx.as_mut(), user.business_id, id)
        .await?
        .ok_or_else(|| ApiError::internal("a resolved conflict vanished"))?;
    tx.commit().await?;
    Ok(Json(DataResponse::new("Sync conflict resolved", resolved)))
}
