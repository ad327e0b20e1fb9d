//! `POST /api/v1/stocks/{id}/adjustments`: a counted correction of a stock row (breakage,
//! stocktake), with the reason in the audit log.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use pos_protocol::auth::Role;
use pos_protocol::error::ApiErrorBody;
use pos_protocol::money::exact;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{audit, context, operation};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::store::tx::SyncTx;
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct StockAdjustment {
    /// Added to the stock (negative takes away).
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub quantity: Decimal,
    /// Why: kept in the audit log.
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/stocks/{id}/adjustments", tag = "stocks", params(("id" = i64, Path)),
    request_body = StockAdjustment,
    responses((status = 200, description = "Adjusted", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn adjust(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<JsonValue>> {
    // The role first: a cashier learns nothing about the body's shape.
    user.require(Role::Manager, "adjust stock")?;
    let request: StockAdjustment = crate::extract::parse_json(body.to_string().as_bytes())?;
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > 255 {
        return Err(ApiError::invalid_field("reason", "1 to 255 characters"));
    }
    super::bounded("quantity", request.quantity, super::Bound::Quantity)?;
    if request.quantity.is_zero() {
        return Err(ApiError::invalid_field("quantity", "must not be zero"));
    }
    let ctx = context(&state, &user, &headers).await?;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let stock = tx
        .stock_for_update(user.business_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Stock"))?;
    let after = stock.quantity + request.quantity;
    tx.set_stock(stock.id, after, ctx.now).await?;
    let op = operation(
        &headers,
        "stock",
        "adjust",
        json!({"stock_id": id, "quantity": super::money(request.quantity)?, "reason": reason}),
    );
    let diff = json!({"productStock": {"before": super::money(stock.quantity)?, "after": super::money(after)?}});
    audit(&mut tx, &ctx, &op, Some(id), Some(diff)).await?;
    tx.commit().await?;
    Ok(Json(json!({
        "message": "Stock adjusted",
        "data": {"id": id, "product_id": stock.product_id, "productStock": super::money(after)?}
    })))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(adjust))
}
