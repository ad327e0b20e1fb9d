//! `/api/v1/sales` and `/api/v1/sales-return`: the back office's view of sales, online sales and
//! returns (the sync rules), edits of a sale's header, and voids.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use pos_protocol::auth::Role;
use pos_protocol::error::{ApiErrorBody, VersionConflict};
use pos_protocol::page::PageQuery;
use pos_protocol::store_ops::SaleReturnCreate;
use pos_protocol::sync::{ResultStatus, SaleCreate};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Map, Value as JsonValue};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    audit, context, count, int, list_page, operation, paged, row_by_id, rows, select_list, strip,
    wire_columns,
};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::store::tx::SyncTx;
use crate::store::{Column, TxExec, Value};
use crate::sync::batch::{create_sale, return_sale, SaleChunk, SaleWrites};
use crate::AppState;

pub(crate) const SALE_COLUMNS: &[(&str, &str, Column)] = &[
    ("s.id", "id", Column::Int),
    ("s.business_id", "business_id", Column::Int),
    ("s.invoice_number", "invoiceNumber", Column::Text),
    ("s.offline_invoice_no", "offline_invoice_no", Column::Text),
    ("s.party_id", "party_id", Column::Int),
    ("s.user_id", "user_id", Column::Int),
    ("s.device_id", "device_id", Column::Text),
    ("s.shift_id", "shift_id", Column::Int),
    ("s.payment_type_id", "payment_type_id", Column::Int),
    ("s.total_amount", "totalAmount", Column::Decimal),
    ("s.discount_amount", "discountAmount", Column::Decimal),
    ("s.vat_amount", "vat_amount", Column::Decimal),
    ("s.vat_percent", "vat_percent", Column::Decimal),
    ("s.paid_amount", "paidAmount", Column::Decimal),
    ("s.due_amount", "dueAmount", Column::Decimal),
    ("s.change_amount", "change_amount", Column::Decimal),
    ("s.is_paid", "isPaid", Column::Bool),
    ("s.loss_profit", "lossProfit", Column::Decimal),
    ("s.sale_date", "saleDate", Column::Time),
    ("s.totals_mismatch", "totals_mismatch", Column::Bool),
    ("s.version", "version", Column::Int),
    ("s.created_at", "created_at", Column::Time),
    ("s.updated_at", "updated_at", Column::Time),
    ("s.deleted_at", "deleted_at", Column::Time),
];

/// Filters of the sales list and the sales report.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SaleFilter {
    /// First business day (YYYY-MM-DD), inclusive; also `from_date`.
    #[serde(alias = "from_date")]
    pub date_from: Option<String>,
    /// Last business day (YYYY-MM-DD), inclusive; also `to_date`.
    #[serde(alias = "to_date")]
    pub date_to: Option<String>,
    pub party_id: Option<i64>,
    pub payment_type_id: Option<i64>,
    #[serde(rename = "isPaid")]
    pub is_paid: Option<bool>,
    #[serde(rename = "invoiceNumber")]
    pub invoice_number: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

impl SaleFilter {
    pub(crate) fn page(&self) -> PageQuery {
        PageQuery {
            page: self.page,
            per_page: self.per_page,
        }
    }

    /// `WHERE …` over live sales `s` of the business, and its arguments.
    pub(crate) fn where_clause(&self, business_id: i64) -> ApiResult<(String, Vec<Value>)> {
        let mut sql = String::from("WHERE s.business_id = $1 AND s.deleted_at IS NULL");
        let mut args = vec![int(business_id)];
        let mut push = |condition: &str, value: Value| {
            args.push(value);
            sql.push_str(&condition.replace('?', &format!("${}", args.len())));
        };
        if let Some(from) = &self.date_from {
            push(
                " AND s.sale_date >= ?",
                Value::Time(Some(super::day("date_from", from, false)?)),
            );
        }
        if let Some(to) = &self.date_to {
            push(
                " AND s.sale_date < ?",
                Value::Time(Some(super::day("date_to", to, true)?)),
            );
        }
        if let Some(party) = self.party_id {
            push(" AND s.party_id = ?", int(party));
        }
        if let Some(payment_type) = self.payment_type_id {
            push(" AND s.payment_type_id = ?", int(payment_type));
        }
        if let Some(paid) = self.is_paid {
            push(" AND s.is_paid = ?", Value::Bool(Some(paid)));
        }
        if let Some(number) = self.invoice_number.as_deref().map(str::trim) {
            push(
                " AND s.invoice_number = ?",
                Value::Text(Some(number.into())),
            );
        }
        Ok((sql, args))
    }
}

/// One sale with its lines (each with what was returned of it) and its returns.
pub(crate) async fn load_sale(
    exec: &mut dyn TxExec,
    business_id: i64,
    id: i64,
) -> ApiResult<Option<Map<String, JsonValue>>> {
    let sql = format!(
        "SELECT {} FROM sales s WHERE s.business_id = $1 AND s.id = $2",
        select_list(SALE_COLUMNS)
    );
    let Some(mut sale) = rows(
        exec,
        &sql,
        &[int(business_id), int(id)],
        &wire_columns(SALE_COLUMNS),
    )
    .await?
    .into_iter()
    .next() else {
        return Ok(None);
    };
    let mut details = rows(
        exec,
        "SELECT id, line_no, stock_id, product_id, quantities, price, discount, vat_id, vat_amount, \
         loss_profit FROM sale_details WHERE sale_id = $1 ORDER BY line_no",
        &[int(id)],
        &[
            ("id", Column::Int),
            ("line_no", Column::Int),
            ("stock_id", Column::Int),
            ("product_id", Column::Int),
            ("quantities", Column::Decimal),
            ("price", Column::Decimal),
            ("discount", Column::Decimal),
            ("vat_id", Column::Int),
            ("vat_amount", Column::Decimal),
            ("lossProfit", Column::Decimal),
        ],
    )
    .await?;
    // Summed here, not in SQL: SQLite would add the decimals as floats.
    let returned = exec
        .fetch_all(
            "SELECT d.sale_detail_id, d.quantity FROM sale_return_details d \
             JOIN sale_returns r ON r.id = d.sale_return_id WHERE r.sale_id = $1 AND r.status = 'applied'",
            &[int(id)],
            &[Column::Int, Column::Decimal],
        )
        .await?;
    for detail in &mut details {
        let detail_id = detail.get("id").and_then(JsonValue::as_i64);
        let total: Decimal = returned
            .iter()
            .filter(|r| matches!(r.first(), Some(Value::Int(id)) if *id == detail_id))
            .filter_map(|r| match r.get(1) {
                Some(Value::Decimal(Some(q))) => Some(*q),
                _ => None,
            })
            .sum();
        detail.insert("returned_quantity".into(), super::money(total)?);
    }
    let returns = rows(
        exec,
        "SELECT id, refund_method, refund_amount, status, return_date FROM sale_returns \
         WHERE sale_id = $1 ORDER BY id",
        &[int(id)],
        &[
            ("id", Column::Int),
            ("refund_method", Column::Text),
            ("refund_amount", Column::Decimal),
            ("status", Column::Text),
            ("return_date", Column::Time),
        ],
    )
    .await?;
    sale.insert("details".into(), json!(details));
    sale.insert("saleReturns".into(), json!(returns));
    Ok(Some(sale))
}

async fn read_sale(
    state: &AppState,
    business_id: i64,
    id: i64,
) -> ApiResult<Map<String, JsonValue>> {
    let mut exec = state.store.begin_write().await?;
    load_sale(exec.as_mut(), business_id, id)
        .await?
        .filter(|s| s.get("deleted_at").is_none_or(JsonValue::is_null))
        .ok_or_else(|| ApiError::not_found("Sale"))
}

#[utoipa::path(get, path = "/api/v1/sales", tag = "sales", params(SaleFilter),
    responses((status = 200, description = "One page of live sales, newest first", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 422, description = "A filter is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(filter): ApiQuery<SaleFilter>,
) -> ApiResult<Json<JsonValue>> {
    let (clause, mut args) = filter.where_clause(user.business_id)?;
    let page = filter.page();
    let mut exec = state.store.begin_write().await?;
    let total = count(
        exec.as_mut(),
        &format!("SELECT COUNT(*) FROM sales s {clause}"),
        &args,
    )
    .await?;
    args.push(int(i64::from(page.per_page())));
    args.push(int(i64::try_from(page.offset()).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {} FROM sales s {clause} ORDER BY s.sale_date DESC, s.id DESC LIMIT ${} OFFSET ${}",
        select_list(SALE_COLUMNS),
        args.len() - 1,
        args.len()
    );
    let data = rows(exec.as_mut(), &sql, &args, &wire_columns(SALE_COLUMNS)).await?;
    Ok(Json(paged("Sales list", data, &page, total)))
}

#[utoipa::path(get, path = "/api/v1/sales/{id}", tag = "sales", params(("id" = i64, Path)),
    responses((status = 200, description = "The sale with its lines and returns", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<JsonValue>> {
    let sale = read_sale(&state, user.business_id, id).await?;
    Ok(Json(json!({"message": "Sale", "data": sale})))
}

/// An online sale: the synced sale's rules, made by the caller.
#[utoipa::path(post, path = "/api/v1/sales", tag = "sales", request_body = SaleCreate,
    responses((status = 201, description = "Created", body = Object),
              (status = 200, description = "Already there (same client reference)", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 404, description = "A named sale is not in this business", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<(StatusCode, Json<JsonValue>)> {
    let ctx = context(&state, &user, &headers).await?;
    let op = operation(&headers, "sale", "create", strip(body, &["cashier_id"]));
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let mut chunk = SaleChunk::prepare(
        &ctx,
        &mut tx,
        std::slice::from_ref(&op),
        SaleWrites::Together,
    )
    .await?;
    let result = create_sale(&ctx, &mut tx, &mut chunk, &op).await?;
    chunk.finish(&ctx, &mut tx).await?;
    let id = result
        .server_id
        .ok_or_else(|| ApiError::internal("a created sale without an id"))?;
    let created = result.status == ResultStatus::Created;
    if created {
        audit(&mut tx, &ctx, &op, Some(id), None).await?;
    }
    tx.commit().await?;
    let sale = read_sale(&state, user.business_id, id).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"message": "Sale created", "data": sale, "warnings": result.warnings})),
    ))
}

/// What a sale's header may change after the fact; lines change only by return or void.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SaleUpdate {
    pub version: Option<i64>,
    pub payment_type_id: Option<i64>,
    #[serde(rename = "saleDate", with = "pos_protocol::time::rfc3339_opt", default)]
    #[schema(value_type = Option<String>)]
    pub sale_date: Option<chrono::DateTime<chrono::Utc>>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<JsonValue>,
}

/// The sale row, locked, or 404; a stale version is a 409 carrying the server's sale.
async fn locked_sale(
    tx: &mut SyncTx,
    business_id: i64,
    id: i64,
    expected: Option<i64>,
) -> ApiResult<(Option<i64>, Decimal)> {
    let row = tx
        .exec()
        .fetch_all(
            "SELECT version, party_id, due_amount, deleted_at FROM sales \
             WHERE business_id = $1 AND id = $2 FOR UPDATE",
            &[int(business_id), int(id)],
            &[Column::Int, Column::Int, Column::Decimal, Column::Time],
        )
        .await?
        .into_iter()
        .next();
    let Some(row) = row else {
        return Err(ApiError::not_found("Sale"));
    };
    let (
        Value::Int(Some(version)),
        Value::Int(party_id),
        Value::Decimal(Some(due)),
        Value::Time(deleted),
    ) = (&row[0], &row[1], &row[2], &row[3])
    else {
        return Err(ApiError::internal("a sale row of unexpected shape"));
    };
    if deleted.is_some() {
        return Err(ApiError::not_found("Sale"));
    }
    if let Some(expected) = expected.filter(|e| e != version) {
        let server = load_sale(tx.exec(), business_id, id)
            .await?
            .unwrap_or_default();
        return Err(ApiError::version_conflict(VersionConflict {
            entity_type: "sale".into(),
            entity_id: id,
            client_version: Some(expected),
            server_version: *version,
            server_data: JsonValue::Object(server),
        }));
    }
    Ok((*party_id, *due))
}

#[utoipa::path(put, path = "/api/v1/sales/{id}", tag = "sales", params(("id" = i64, Path)),
    request_body = SaleUpdate,
    responses((status = 200, description = "Updated", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody),
              (status = 409, description = "Based on a stale version", body = ApiErrorBody),
              (status = 422, description = "A field is wrong or no version given", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<JsonValue>> {
    user.require(Role::Manager, "change a sale")?;
    let expected = crate::resources::expected_version(&user, &headers, body.as_object())?;
    let change: SaleUpdate = crate::extract::parse_json(body.to_string().as_bytes())?;
    let ctx = context(&state, &user, &headers).await?;
    let op = operation(&headers, "sale", "update", body);
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    locked_sale(&mut tx, user.business_id, id, expected).await?;
    if let Some(payment_type) = change.payment_type_id {
        if !tx
            .payment_type_exists(user.business_id, payment_type)
            .await?
        {
            return Err(ApiError::invalid_field(
                "payment_type_id",
                format!("no payment type {payment_type} in this business"),
            ));
        }
    }
    tx.exec()
        .execute(
            "UPDATE sales SET payment_type_id = COALESCE($2, payment_type_id), \
             sale_date = COALESCE($3, sale_date), meta = COALESCE($4::jsonb, meta), \
             version = version + 1, updated_at = $5 WHERE id = $1",
            &[
                int(id),
                Value::Int(change.payment_type_id),
                Value::Time(change.sale_date),
                Value::Json(change.meta.as_ref().map(JsonValue::to_string)),
                Value::Time(Some(ctx.now)),
            ],
        )
        .await?;
    audit(&mut tx, &ctx, &op, Some(id), None).await?;
    tx.commit().await?;
    let sale = read_sale(&state, user.business_id, id).await?;
    Ok(Json(json!({"message": "Sale updated", "data": sale})))
}

/// A void: the sale stays as a tombstone, what is left of its lines goes back to stock and its
/// open due comes off the party.
#[utoipa::path(delete, path = "/api/v1/sales/{id}", tag = "sales", params(("id" = i64, Path)),
    responses((status = 200, description = "Voided", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody),
              (status = 409, description = "Based on a stale version", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn void(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<Json<JsonValue>> {
    user.require(Role::Manager, "void a sale")?;
    let expected = match headers.get(crate::resources::ENTITY_VERSION_HEADER) {
        Some(_) => crate::resources::expected_version(&user, &headers, None)?,
        None => None,
    };
    let ctx = context(&state, &user, &headers).await?;
    let op = operation(&headers, "sale", "delete", json!({"id": id}));
    let business_id = user.business_id;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let (party_id, due) = locked_sale(&mut tx, business_id, id, expected).await?;
    let line_numbers = tx
        .exec()
        .fetch_all(
            "SELECT line_no FROM sale_details WHERE sale_id = $1 ORDER BY line_no",
            &[int(id)],
            &[Column::Int],
        )
        .await?;
    for row in line_numbers {
        let Some(Value::Int(Some(line_no))) = row.first().cloned() else {
            continue;
        };
        let Some(line) = tx.sale_line_for_return(id, line_no).await? else {
            continue;
        };
        let back = line.sold - line.returned;
        if let (Some(stock_id), true) = (line.stock_id, back > Decimal::ZERO) {
            if let Some(stock) = tx.stock_for_update(business_id, stock_id).await? {
                tx.set_stock(stock.id, stock.quantity + back, ctx.now)
                    .await?;
            }
        }
    }
    // Returns refunded as a due reduction already took their share off the party.
    let due_refunds: Decimal = tx
        .exec()
        .fetch_all(
            "SELECT refund_amount FROM sale_returns WHERE sale_id = $1 AND status = 'applied' \
             AND refund_method = 'due'",
            &[int(id)],
            &[Column::Decimal],
        )
        .await?
        .iter()
        .filter_map(|r| match r.first() {
            Some(Value::Decimal(Some(v))) => Some(*v),
            _ => None,
        })
        .sum();
    let open = (due - due_refunds).max(Decimal::ZERO);
    if let (Some(party_id), true) = (party_id, open > Decimal::ZERO) {
        if let Some(party) = tx.party_for_update(business_id, party_id).await? {
            tx.set_party_due(party.id, party.due - open, ctx.now)
                .await?;
        }
    }
    tx.exec()
        .execute(
            "UPDATE sales SET deleted_at = $2, version = version + 1, updated_at = $2 WHERE id = $1",
            &[int(id), Value::Time(Some(ctx.now))],
        )
        .await?;
    audit(&mut tx, &ctx, &op, Some(id), None).await?;
    let sale = load_sale(tx.exec(), business_id, id).await?;
    tx.commit().await?;
    Ok(Json(json!({"message": "Sale voided", "data": sale})))
}

const RETURN_COLUMNS: &[(&str, &str, Column)] = &[
    ("id", "id", Column::Int),
    ("sale_id", "sale_id", Column::Int),
    ("user_id", "user_id", Column::Int),
    ("device_id", "device_id", Column::Text),
    ("refund_method", "refund_method", Column::Text),
    ("payment_type_id", "payment_type_id", Column::Int),
    ("refund_amount", "refund_amount", Column::Decimal),
    ("status", "status", Column::Text),
    ("return_date", "return_date", Column::Time),
    ("created_at", "created_at", Column::Time),
];

async fn load_return(
    exec: &mut dyn TxExec,
    business_id: i64,
    id: i64,
) -> ApiResult<Map<String, JsonValue>> {
    let mut found = row_by_id(
        exec,
        "sale_returns",
        RETURN_COLUMNS,
        (business_id, id),
        "",
        "Sale return",
    )
    .await?;
    let lines = rows(
        exec,
        "SELECT sale_detail_id, line_no, quantity, amount FROM sale_return_details \
         WHERE sale_return_id = $1 ORDER BY line_no",
        &[int(id)],
        &[
            ("sale_detail_id", Column::Int),
            ("line_no", Column::Int),
            ("quantity", Column::Decimal),
            ("amount", Column::Decimal),
        ],
    )
    .await?;
    found.insert("lines".into(), json!(lines));
    Ok(found)
}

#[utoipa::path(get, path = "/api/v1/sales-return", tag = "sales", params(PageQuery),
    responses((status = 200, description = "One page of sale returns, newest first", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn list_returns(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<JsonValue>> {
    let mut exec = state.store.begin_write().await?;
    let answer = list_page(
        exec.as_mut(),
        ("sale_returns", RETURN_COLUMNS),
        user.business_id,
        "",
        &page,
        "Sale returns",
    )
    .await?;
    Ok(Json(answer))
}

#[utoipa::path(get, path = "/api/v1/sales-return/{id}", tag = "sales", params(("id" = i64, Path)),
    responses((status = 200, description = "The return with its lines", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn show_return(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<JsonValue>> {
    let mut exec = state.store.begin_write().await?;
    let found = load_return(exec.as_mut(), user.business_id, id).await?;
    Ok(Json(json!({"message": "Sale return", "data": found})))
}

/// A partial return by line and quantity, under the rule every path shares: never more than
/// was sold less what earlier returns (synced ones included) took back, and a refund never
/// above what is left of the sale. Returns are a manager's (at the till a cashier needs a
/// manager's PIN for one); a named `authorised_by` must be a manager of the business.
#[utoipa::path(post, path = "/api/v1/sales-return", tag = "sales", request_body = SaleReturnCreate,
    responses((status = 201, description = "Returned: stock back, refund or due reduced", body = Object),
              (status = 200, description = "Already there (same client reference)", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "The sale is not in this business", body = ApiErrorBody),
              (status = 422, description = "A field is wrong, or more than is left is asked back or refunded", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn create_return(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<(StatusCode, Json<JsonValue>)> {
    user.require(Role::Manager, "take a return")?;
    let ctx = context(&state, &user, &headers).await?;
    let op = operation(
        &headers,
        "sale_return",
        "create",
        strip(body, &["cashier_id"]),
    );
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let result = return_sale(&ctx, &mut tx, &op).await?;
    let id = result
        .server_id
        .ok_or_else(|| ApiError::internal("a created return without an id"))?;
    let created = result.status == ResultStatus::Created;
    if created {
        audit(&mut tx, &ctx, &op, Some(id), None).await?;
    }
    let found = load_return(tx.exec(), user.business_id, id).await?;
    tx.commit().await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"message": "Sale returned", "data": found})),
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, void))
        .routes(routes!(list_returns, create_return))
        .routes(routes!(show_return))
}
