//! `/api/v1/purchase` and `/api/v1/purchases-return`: stock bought from a supplier (into a
//! warehouse and batch) and sent back, with the supplier's due.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use pos_protocol::auth::Role;
use pos_protocol::error::{ApiErrorBody, FieldErrors};
use pos_protocol::money::{exact, exact_opt};
use pos_protocol::page::PageQuery;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Map, Value as JsonValue};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    audit, context, count, int, list_page, operation, paged, row_by_id, rows, select_list,
    wire_columns,
};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::store::tx::SyncTx;
use crate::store::{Column, TxExec, Value};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct PurchaseLine {
    pub product_id: i64,
    /// The stock row to add to; without it the product's row of this warehouse and batch is
    /// used, or made.
    #[serde(default)]
    pub stock_id: Option<i64>,
    #[serde(default)]
    pub warehouse_id: Option<i64>,
    #[serde(default)]
    pub batch_no: Option<String>,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub quantities: Decimal,
    #[serde(rename = "productPurchasePrice", with = "exact")]
    #[schema(value_type = f64)]
    pub purchase_price: Decimal,
    #[serde(rename = "productSalePrice", with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub sale_price: Option<Decimal>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PurchaseCreate {
    /// The supplier.
    pub party_id: i64,
    #[serde(default)]
    pub payment_type_id: Option<i64>,
    #[serde(rename = "discountAmount", with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub discount_amount: Option<Decimal>,
    /// Paid now; the rest becomes the supplier's due. The whole total when absent.
    #[serde(rename = "paidAmount", with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub paid_amount: Option<Decimal>,
    #[serde(
        rename = "purchaseDate",
        with = "pos_protocol::time::rfc3339_opt",
        default
    )]
    #[schema(value_type = Option<String>)]
    pub purchase_date: Option<DateTime<Utc>>,
    pub products: Vec<PurchaseLine>,
}

const PURCHASE_COLUMNS: &[(&str, &str, Column)] = &[
    ("id", "id", Column::Int),
    ("business_id", "business_id", Column::Int),
    ("invoice_number", "invoiceNumber", Column::Text),
    ("party_id", "party_id", Column::Int),
    ("user_id", "user_id", Column::Int),
    ("payment_type_id", "payment_type_id", Column::Int),
    ("total_amount", "totalAmount", Column::Decimal),
    ("discount_amount", "discountAmount", Column::Decimal),
    ("paid_amount", "paidAmount", Column::Decimal),
    ("due_amount", "dueAmount", Column::Decimal),
    ("purchase_date", "purchaseDate", Column::Time),
    ("version", "version", Column::Int),
    ("created_at", "created_at", Column::Time),
    ("updated_at", "updated_at", Column::Time),
    ("deleted_at", "deleted_at", Column::Time),
];

fn dec_of(row: &[Value], i: usize) -> Decimal {
    match row.get(i) {
        Some(Value::Decimal(Some(v))) => *v,
        _ => Decimal::ZERO,
    }
}

fn int_of(row: &[Value], i: usize) -> Option<i64> {
    match row.get(i) {
        Some(Value::Int(v)) => *v,
        _ => None,
    }
}

/// A purchase with its lines, each with what was sent back of it.
async fn load_purchase(
    exec: &mut dyn TxExec,
    business_id: i64,
    id: i64,
) -> ApiResult<Option<Map<String, JsonValue>>> {
    let sql = format!(
        "SELECT {} FROM purchases WHERE business_id = $1 AND id = $2",
        select_list(PURCHASE_COLUMNS)
    );
    let Some(mut purchase) = rows(
        exec,
        &sql,
        &[int(business_id), int(id)],
        &wire_columns(PURCHASE_COLUMNS),
    )
    .await?
    .into_iter()
    .next() else {
        return Ok(None);
    };
    let mut details = Vec::new();
    for line in purchase_lines(exec, id).await? {
        details.push(json!({
            "id": line.id,
            "product_id": line.product_id,
            "stock_id": line.stock_id,
            "quantities": super::money(line.bought)?,
            "productPurchasePrice": super::money(line.price)?,
            "returned_quantity": super::money(line.returned)?,
        }));
    }
    purchase.insert("details".into(), json!(details));
    Ok(Some(purchase))
}

struct PurchaseLineState {
    id: i64,
    product_id: i64,
    stock_id: Option<i64>,
    bought: Decimal,
    price: Decimal,
    returned: Decimal,
}

/// The lines of a purchase and what returns took back of each (summed here: SQLite would
/// add decimals as floats).
async fn purchase_lines(
    exec: &mut dyn TxExec,
    purchase_id: i64,
) -> ApiResult<Vec<PurchaseLineState>> {
    let lines = exec
        .fetch_all(
            "SELECT id, product_id, stock_id, quantities, product_purchase_price FROM purchase_details \
             WHERE purchase_id = $1 ORDER BY id",
            &[int(purchase_id)],
            &[Column::Int, Column::Int, Column::Int, Column::Decimal, Column::Decimal],
        )
        .await?;
    let returned = exec
        .fetch_all(
            "SELECT d.purchase_detail_id, d.quantity FROM purchase_return_details d \
             JOIN purchase_returns r ON r.id = d.purchase_return_id WHERE r.purchase_id = $1",
            &[int(purchase_id)],
            &[Column::Int, Column::Decimal],
        )
        .await?;
    Ok(lines
        .iter()
        .map(|row| {
            let id = int_of(row, 0).unwrap_or_default();
            PurchaseLineState {
                id,
                product_id: int_of(row, 1).unwrap_or_default(),
                stock_id: int_of(row, 2),
                bought: dec_of(row, 3),
                price: dec_of(row, 4),
                returned: returned
                    .iter()
                    .filter(|r| int_of(r, 0) == Some(id))
                    .map(|r| dec_of(r, 1))
                    .sum(),
            }
        })
        .collect())
}

#[utoipa::path(get, path = "/api/v1/purchase", tag = "purchases", params(PageQuery),
    responses((status = 200, description = "One page of live purchases, newest first", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<JsonValue>> {
    user.require(Role::Manager, "see purchases")?;
    let mut exec = state.store.begin_read().await?;
    let total = count(
        exec.as_mut(),
        "SELECT COUNT(*) FROM purchases WHERE business_id = $1 AND deleted_at IS NULL",
        &[int(user.business_id)],
    )
    .await?;
    let sql = format!(
        "SELECT {} FROM purchases WHERE business_id = $1 AND deleted_at IS NULL \
         ORDER BY purchase_date DESC, id DESC LIMIT $2 OFFSET $3",
        select_list(PURCHASE_COLUMNS)
    );
    let data = rows(
        exec.as_mut(),
        &sql,
        &[
            int(user.business_id),
            int(i64::from(page.per_page())),
            int(i64::try_from(page.offset()).unwrap_or(i64::MAX)),
        ],
        &wire_columns(PURCHASE_COLUMNS),
    )
    .await?;
    Ok(Json(paged("Purchases list", data, &page, total)))
}

#[utoipa::path(get, path = "/api/v1/purchase/{id}", tag = "purchases", params(("id" = i64, Path)),
    responses((status = 200, description = "The purchase with its lines", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<JsonValue>> {
    user.require(Role::Manager, "see purchases")?;
    let mut exec = state.store.begin_read().await?;
    let purchase = load_purchase(exec.as_mut(), user.business_id, id)
        .await?
        .filter(|p| p.get("deleted_at").is_none_or(JsonValue::is_null))
        .ok_or_else(|| ApiError::not_found("Purchase"))?;
    Ok(Json(json!({"message": "Purchase", "data": purchase})))
}

fn check_lines(purchase: &PurchaseCreate) -> ApiResult<()> {
    let mut errors = FieldErrors::new();
    for (i, line) in purchase.products.iter().enumerate() {
        super::bounded(
            format!("products[{i}].quantities"),
            line.quantities,
            super::Bound::Quantity,
        )?;
        super::bounded(
            format!("products[{i}].productPurchasePrice"),
            line.purchase_price,
            super::Bound::Amount,
        )?;
        super::bounded(
            format!("products[{i}].productSalePrice"),
            line.sale_price.unwrap_or_default(),
            super::Bound::Amount,
        )?;
    }
    for (name, value) in [
        ("discountAmount", purchase.discount_amount),
        ("paidAmount", purchase.paid_amount),
    ] {
        super::bounded(name, value.unwrap_or_default(), super::Bound::Amount)?;
    }
    if purchase.products.is_empty() {
        errors.insert(
            "products".into(),
            vec!["a purchase needs at least one line".into()],
        );
    }
    for (i, line) in purchase.products.iter().enumerate() {
        if line.quantities <= Decimal::ZERO {
            errors.insert(
                format!("products[{i}].quantities"),
                vec!["must be greater than zero".into()],
            );
        }
        if line.purchase_price < Decimal::ZERO {
            errors.insert(
                format!("products[{i}].productPurchasePrice"),
                vec!["must not be negative".into()],
            );
        }
        if line.sale_price.is_some_and(|p| p < Decimal::ZERO) {
            errors.insert(
                format!("products[{i}].productSalePrice"),
                vec!["must not be negative".into()],
            );
        }
        if line
            .batch_no
            .as_ref()
            .is_some_and(|b| b.chars().count() > 100)
        {
            errors.insert(
                format!("products[{i}].batch_no"),
                vec!["must be at most 100 characters".into()],
            );
        }
    }
    for (name, value) in [
        ("discountAmount", purchase.discount_amount),
        ("paidAmount", purchase.paid_amount),
    ] {
        if value.is_some_and(|v| v < Decimal::ZERO) {
            errors.insert(name.into(), vec!["must not be negative".into()]);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(errors))
    }
}

/// The stock row a purchase line adds to: the one named, else the product's live row of this
/// warehouse and batch, else a new one.
async fn stock_for_line(
    tx: &mut SyncTx,
    business_id: i64,
    i: usize,
    line: &PurchaseLine,
    now: DateTime<Utc>,
) -> ApiResult<i64> {
    if let Some(stock_id) = line.stock_id {
        return match tx.stock_for_update(business_id, stock_id).await? {
            Some(stock) if stock.product_id == line.product_id => Ok(stock.id),
            _ => Err(ApiError::invalid_field(
                format!("products[{i}].stock_id"),
                format!(
                    "no stock {stock_id} of product {} in this business",
                    line.product_id
                ),
            )),
        };
    }
    let product = tx
        .exec()
        .fetch_all(
            "SELECT id FROM products WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL",
            &[int(business_id), int(line.product_id)],
            &[Column::Int],
        )
        .await?;
    if product.is_empty() {
        return Err(ApiError::invalid_field(
            format!("products[{i}].product_id"),
            format!("no product {} in this business", line.product_id),
        ));
    }
    if let Some(warehouse) = line.warehouse_id {
        let found = tx
            .exec()
            .fetch_all(
                "SELECT id FROM warehouses WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL",
                &[int(business_id), int(warehouse)],
                &[Column::Int],
            )
            .await?;
        if found.is_empty() {
            return Err(ApiError::invalid_field(
                format!("products[{i}].warehouse_id"),
                format!("no warehouse {warehouse} in this business"),
            ));
        }
    }
    let batch = line
        .batch_no
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    let existing = tx
        .exec()
        .fetch_all(
            "SELECT id FROM stocks WHERE business_id = $1 AND product_id = $2 AND deleted_at IS NULL \
             AND COALESCE(warehouse_id, 0) = COALESCE($3, 0) AND COALESCE(batch_no, '') = COALESCE($4, '') \
             ORDER BY id LIMIT 1",
            &[
                int(business_id),
                int(line.product_id),
                Value::Int(line.warehouse_id),
                Value::Text(batch.map(str::to_string)),
            ],
            &[Column::Int],
        )
        .await?;
    if let Some(Some(id)) = existing.first().map(|r| int_of(r, 0)) {
        return Ok(id);
    }
    let created = tx
        .exec()
        .fetch_all(
            "INSERT INTO stocks (business_id, product_id, warehouse_id, batch_no, product_stock, \
             product_purchase_price, product_sale_price, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) RETURNING id",
            &[
                int(business_id),
                int(line.product_id),
                Value::Int(line.warehouse_id),
                Value::Text(batch.map(str::to_string)),
                Value::Decimal(Some(Decimal::ZERO)),
                Value::Decimal(Some(line.purchase_price)),
                Value::Decimal(Some(line.sale_price.unwrap_or(Decimal::ZERO))),
                Value::Time(Some(now)),
            ],
            &[Column::Int],
        )
        .await?;
    created
        .first()
        .and_then(|r| int_of(r, 0))
        .ok_or_else(|| ApiError::internal("a stock insert returned nothing"))
}

/// The stock row a purchase line adds to, with the line's prices set on it.
async fn priced_stock_for_line(
    tx: &mut SyncTx,
    business_id: i64,
    i: usize,
    line: &PurchaseLine,
    now: DateTime<Utc>,
) -> ApiResult<i64> {
    let stock_id = stock_for_line(tx, business_id, i, line, now).await?;
    tx.exec()
        .execute(
            "UPDATE stocks SET product_purchase_price = $2, \
             product_sale_price = COALESCE($3, product_sale_price) WHERE id = $1",
            &[
                int(stock_id),
                Value::Decimal(Some(line.purchase_price)),
                Value::Decimal(line.sale_price),
            ],
        )
        .await?;
    Ok(stock_id)
}

/// The purchase's lines, each with the stock row it went to.
async fn insert_lines(
    tx: &mut SyncTx,
    purchase_id: i64,
    lines: &[PurchaseLine],
    stocks: &[i64],
) -> ApiResult<()> {
    for (line, stock_id) in lines.iter().zip(stocks) {
        tx.exec()
            .execute(
                "INSERT INTO purchase_details (purchase_id, product_id, stock_id, quantities, \
                 product_purchase_price, product_sale_price) VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    int(purchase_id),
                    int(line.product_id),
                    int(*stock_id),
                    Value::Decimal(Some(line.quantities)),
                    Value::Decimal(Some(line.purchase_price)),
                    Value::Decimal(Some(line.sale_price.unwrap_or(Decimal::ZERO))),
                ],
            )
            .await?;
    }
    Ok(())
}

/// Stock in: each line adds to its stock row (and sets its purchase price); what is not paid
/// now is owed to the supplier.
#[utoipa::path(post, path = "/api/v1/purchase", tag = "purchases", request_body = PurchaseCreate,
    responses((status = 201, description = "Created", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<(StatusCode, Json<JsonValue>)> {
    user.require(Role::Manager, "record a purchase")?;
    let purchase: PurchaseCreate = crate::extract::parse_json(body.to_string().as_bytes())?;
    check_lines(&purchase)?;
    let ctx = context(&state, &user, &headers).await?;
    let op = operation(&headers, "purchase", "create", body);
    let business_id = user.business_id;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let supplier = tx
        .party_for_update(business_id, purchase.party_id)
        .await?
        .filter(|p| !p.deleted)
        .ok_or_else(|| ApiError::invalid_field("party_id", "no such party in this business"))?;
    if let Some(id) = purchase.payment_type_id {
        if !tx.payment_type_exists(business_id, id).await? {
            return Err(ApiError::invalid_field(
                "payment_type_id",
                format!("no payment type {id} in this business"),
            ));
        }
    }
    let gross: Decimal = purchase
        .products
        .iter()
        .map(|l| l.quantities * l.purchase_price)
        .sum();
    let discount = purchase.discount_amount.unwrap_or(Decimal::ZERO);
    if discount > gross {
        return Err(ApiError::invalid_field(
            "discountAmount",
            "must not exceed the lines' total",
        ));
    }
    let total = gross - discount;
    let paid = purchase.paid_amount.unwrap_or(total);
    if paid > total {
        return Err(ApiError::invalid_field(
            "paidAmount",
            "must not exceed the total",
        ));
    }
    let due = total - paid;
    let mut stocks = Vec::new();
    for (i, line) in purchase.products.iter().enumerate() {
        let stock_id = priced_stock_for_line(&mut tx, business_id, i, line, ctx.now).await?;
        let stock = tx
            .stock_for_update(business_id, stock_id)
            .await?
            .ok_or_else(|| ApiError::internal("a stock row vanished"))?;
        tx.set_stock(stock.id, stock.quantity + line.quantities, ctx.now)
            .await?;
        stocks.push(stock.id);
    }
    let number = tx.next_invoice_number(business_id, "purchase").await?;
    let invoice_number = format!("P{number:06}");
    let created = tx
        .exec()
        .fetch_all(
            "INSERT INTO purchases (business_id, invoice_number, party_id, user_id, payment_type_id, \
             total_amount, discount_amount, paid_amount, due_amount, purchase_date, version, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11) RETURNING id",
            &[
                int(business_id),
                Value::Text(Some(invoice_number)),
                int(supplier.id),
                int(user.user_id),
                Value::Int(purchase.payment_type_id),
                Value::Decimal(Some(total)),
                Value::Decimal(Some(discount)),
                Value::Decimal(Some(paid)),
                Value::Decimal(Some(due)),
                Value::Time(Some(purchase.purchase_date.unwrap_or(ctx.now))),
                Value::Time(Some(ctx.now)),
            ],
            &[Column::Int],
        )
        .await?;
    let id = created
        .first()
        .and_then(|r| int_of(r, 0))
        .ok_or_else(|| ApiError::internal("a purchase insert returned nothing"))?;
    insert_lines(&mut tx, id, &purchase.products, &stocks).await?;
    if due > Decimal::ZERO {
        tx.set_party_due(supplier.id, supplier.due + due, ctx.now)
            .await?;
    }
    audit(&mut tx, &ctx, &op, Some(id), None).await?;
    let data = load_purchase(tx.exec(), business_id, id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"message": "Purchase created", "data": data})),
    ))
}

/// A purchase row, locked: (supplier, open due), or 404.
async fn locked_purchase(
    tx: &mut SyncTx,
    business_id: i64,
    id: i64,
) -> ApiResult<(Option<i64>, Decimal)> {
    let row = tx
        .exec()
        .fetch_all(
            "SELECT party_id, due_amount FROM purchases WHERE business_id = $1 AND id = $2 \
             AND deleted_at IS NULL FOR UPDATE",
            &[int(business_id), int(id)],
            &[Column::Int, Column::Decimal],
        )
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("Purchase"))?;
    Ok((int_of(&row, 0), dec_of(&row, 1)))
}

/// A void: what is left of each line leaves stock again, the open due comes off the supplier.
#[utoipa::path(delete, path = "/api/v1/purchase/{id}", tag = "purchases", params(("id" = i64, Path)),
    responses((status = 200, description = "Voided", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn void(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<Json<JsonValue>> {
    user.require(Role::Manager, "void a purchase")?;
    let ctx = context(&state, &user, &headers).await?;
    let op = operation(&headers, "purchase", "delete", json!({"id": id}));
    let business_id = user.business_id;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let (party_id, due) = locked_purchase(&mut tx, business_id, id).await?;
    for line in purchase_lines(tx.exec(), id).await? {
        let left = line.bought - line.returned;
        if let (Some(stock_id), true) = (line.stock_id, left > Decimal::ZERO) {
            if let Some(stock) = tx.stock_for_update(business_id, stock_id).await? {
                tx.set_stock(stock.id, stock.quantity - left, ctx.now)
                    .await?;
            }
        }
    }
    if let (Some(party_id), true) = (party_id, due > Decimal::ZERO) {
        if let Some(party) = tx.party_for_update(business_id, party_id).await? {
            tx.set_party_due(party.id, party.due - due, ctx.now).await?;
        }
    }
    tx.exec()
        .execute(
            "UPDATE purchases SET deleted_at = $2, version = version + 1, updated_at = $2 WHERE id = $1",
            &[int(id), Value::Time(Some(ctx.now))],
        )
        .await?;
    audit(&mut tx, &ctx, &op, Some(id), None).await?;
    let data = load_purchase(tx.exec(), business_id, id).await?;
    tx.commit().await?;
    Ok(Json(json!({"message": "Purchase voided", "data": data})))
}

/// Edits a purchase by replacing its lines: the old lines' stock goes out, the new lines'
/// comes in, and the supplier's due follows the new total, all in one transaction. Refused
/// when goods of it were sent back, and when stock it brought in is already sold (the edit
/// would take back more than is left). The body is a purchase's, with the `version` it is
/// based on (or `X-Entity-Version`).
#[utoipa::path(put, path = "/api/v1/purchase/{id}", tag = "purchases", params(("id" = i64, Path)),
    request_body = PurchaseCreate,
    responses((status = 200, description = "Updated", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody),
              (status = 409, description = "Based on a stale version", body = ApiErrorBody),
              (status = 422, description = "A field is wrong, or the edit cannot be made", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<JsonValue>> {
    user.require(Role::Manager, "edit a purchase")?;
    let map = crate::resources::as_object(body.clone())?;
    let expected = crate::resources::expected_version(&user, &headers, Some(&map))?;
    let purchase: PurchaseCreate = crate::extract::parse_json(body.to_string().as_bytes())?;
    check_lines(&purchase)?;
    let ctx = context(&state, &user, &headers).await?;
    let business_id = user.business_id;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let current = tx
        .exec()
        .fetch_all(
            "SELECT party_id, due_amount, paid_amount, version, purchase_date, total_amount \
             FROM purchases WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
            &[int(business_id), int(id)],
            &[
                Column::Int,
                Column::Decimal,
                Column::Decimal,
                Column::Int,
                Column::Time,
                Column::Decimal,
            ],
        )
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("Purchase"))?;
    let (old_party, old_due, old_paid) = (
        int_of(&current, 0),
        dec_of(&current, 1),
        dec_of(&current, 2),
    );
    let version = int_of(&current, 3).unwrap_or_default();
    let old_date = match current.get(4) {
        Some(Value::Time(Some(at))) => *at,
        _ => ctx.now,
    };
    if let Some(expected) = expected.filter(|v| *v != version) {
        let server = load_purchase(tx.exec(), business_id, id).await?;
        return Err(ApiError::version_conflict(
            pos_protocol::error::VersionConflict {
                entity_type: "purchase".into(),
                entity_id: id,
                client_version: Some(expected),
                server_version: version,
                server_data: server.map(JsonValue::Object).unwrap_or(JsonValue::Null),
            },
        ));
    }
    let old_lines = purchase_lines(tx.exec(), id).await?;
    if old_lines.iter().any(|l| l.returned > Decimal::ZERO) {
        return Err(ApiError::invalid_field(
            "products",
            "goods of this purchase were sent back; it can no longer be edited",
        ));
    }
    let supplier = tx
        .party_for_update(business_id, purchase.party_id)
        .await?
        .filter(|p| !p.deleted)
        .ok_or_else(|| ApiError::invalid_field("party_id", "no such party in this business"))?;
    if let Some(payment_type) = purchase.payment_type_id {
        if !tx.payment_type_exists(business_id, payment_type).await? {
            return Err(ApiError::invalid_field(
                "payment_type_id",
                format!("no payment type {payment_type} in this business"),
            ));
        }
    }
    // What was paid against this purchase since, through due payments, stays paid.
    let paid_later: Decimal = tx
        .exec()
        .fetch_all(
            "SELECT pay_amount FROM due_collects WHERE business_id = $1 AND purchase_id = $2 \
             AND deleted_at IS NULL",
            &[int(business_id), int(id)],
            &[Column::Decimal],
        )
        .await?
        .iter()
        .map(|r| dec_of(r, 0))
        .sum();
    if paid_later > Decimal::ZERO && old_party != Some(supplier.id) {
        return Err(ApiError::invalid_field(
            "party_id",
            "the supplier was paid against this purchase; it stays theirs",
        ));
    }
    let gross: Decimal = purchase
        .products
        .iter()
        .map(|l| l.quantities * l.purchase_price)
        .sum();
    let discount = purchase.discount_amount.unwrap_or(Decimal::ZERO);
    if discount > gross {
        return Err(ApiError::invalid_field(
            "discountAmount",
            "must not exceed the lines' total",
        ));
    }
    let total = gross - discount;
    let paid = purchase.paid_amount.unwrap_or(old_paid);
    let due = total - paid - paid_later;
    if due < Decimal::ZERO {
        return Err(ApiError::invalid_field(
            "paidAmount",
            format!(
                "with {} paid since, more than the total would be paid",
                paid_later.normalize()
            ),
        ));
    }
    // Each stock row's change: the old lines go out, the new ones come in.
    let mut moves: Vec<(i64, Decimal)> = Vec::new();
    let mut add =
        |stock_id: i64, quantity: Decimal| match moves.iter_mut().find(|(s, _)| *s == stock_id) {
            Some((_, total)) => *total += quantity,
            None => moves.push((stock_id, quantity)),
        };
    for line in &old_lines {
        if let Some(stock_id) = line.stock_id {
            add(stock_id, -line.bought);
        }
    }
    let mut stocks = Vec::new();
    for (i, line) in purchase.products.iter().enumerate() {
        let stock_id = priced_stock_for_line(&mut tx, business_id, i, line, ctx.now).await?;
        add(stock_id, line.quantities);
        stocks.push(stock_id);
    }
    for (stock_id, change) in moves {
        let Some(stock) = tx.stock_for_update(business_id, stock_id).await? else {
            continue;
        };
        let after = stock.quantity + change;
        if change < Decimal::ZERO && after < Decimal::ZERO {
            return Err(ApiError::invalid_field(
                "products",
                format!(
                    "{} of product {} from this purchase is already sold; the edit would take back \
                     more than the {} left in stock",
                    (-after).normalize(),
                    stock.product_id,
                    stock.quantity.max(Decimal::ZERO).normalize()
                ),
            ));
        }
        if !change.is_zero() {
            tx.set_stock(stock.id, after, ctx.now).await?;
        }
    }
    tx.exec()
        .execute(
            "DELETE FROM purchase_details WHERE purchase_id = $1",
            &[int(id)],
        )
        .await?;
    insert_lines(&mut tx, id, &purchase.products, &stocks).await?;
    if let Some(party_id) = old_party.filter(|_| old_due != Decimal::ZERO) {
        if let Some(party) = tx.party_for_update(business_id, party_id).await? {
            tx.set_party_due(party.id, party.due - old_due, ctx.now)
                .await?;
        }
    }
    if due != Decimal::ZERO {
        let supplier = tx
            .party_for_update(business_id, supplier.id)
            .await?
            .ok_or_else(|| ApiError::internal("the supplier vanished"))?;
        tx.set_party_due(supplier.id, supplier.due + due, ctx.now)
            .await?;
    }
    tx.exec()
        .execute(
            "UPDATE purchases SET party_id = $2, payment_type_id = $3, total_amount = $4, \
             discount_amount = $5, paid_amount = $6, due_amount = $7, purchase_date = $8, \
             version = version + 1, updated_at = $9 WHERE id = $1",
            &[
                int(id),
                int(supplier.id),
                Value::Int(purchase.payment_type_id),
                Value::Decimal(Some(total)),
                Value::Decimal(Some(discount)),
                Value::Decimal(Some(paid)),
                Value::Decimal(Some(due)),
                Value::Time(Some(purchase.purchase_date.unwrap_or(old_date))),
                Value::Time(Some(ctx.now)),
            ],
        )
        .await?;
    let op = operation(&headers, "purchase", "update", body);
    let diff = json!({"totalAmount": {
        "before": super::money(dec_of(&current, 5))?,
        "after": super::money(total)?,
    }});
    audit(&mut tx, &ctx, &op, Some(id), Some(diff)).await?;
    let data = load_purchase(tx.exec(), business_id, id).await?;
    tx.commit().await?;
    Ok(Json(json!({"message": "Purchase updated", "data": data})))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PurchaseReturnLine {
    pub purchase_detail_id: i64,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub quantity: Decimal,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PurchaseReturnCreate {
    pub purchase_id: i64,
    #[serde(with = "pos_protocol::time::rfc3339_opt", default)]
    #[schema(value_type = Option<String>)]
    pub return_date: Option<DateTime<Utc>>,
    pub lines: Vec<PurchaseReturnLine>,
}

const PURCHASE_RETURN_COLUMNS: &[(&str, &str, Column)] = &[
    ("id", "id", Column::Int),
    ("purchase_id", "purchase_id", Column::Int),
    ("user_id", "user_id", Column::Int),
    (
        "total_return_amount",
        "total_return_amount",
        Column::Decimal,
    ),
    ("return_date", "return_date", Column::Time),
    ("created_at", "created_at", Column::Time),
];

async fn load_purchase_return(
    exec: &mut dyn TxExec,
    business_id: i64,
    id: i64,
) -> ApiResult<Map<String, JsonValue>> {
    let mut found = row_by_id(
        exec,
        "purchase_returns",
        PURCHASE_RETURN_COLUMNS,
        (business_id, id),
        "",
        "Purchase return",
    )
    .await?;
    let lines = rows(
        exec,
        "SELECT purchase_detail_id, quantity, amount FROM purchase_return_details \
         WHERE purchase_return_id = $1 ORDER BY id",
        &[int(id)],
        &[
            ("purchase_detail_id", Column::Int),
            ("quantity", Column::Decimal),
            ("amount", Column::Decimal),
        ],
    )
    .await?;
    found.insert("lines".into(), json!(lines));
    Ok(found)
}

#[utoipa::path(get, path = "/api/v1/purchases-return", tag = "purchases", params(PageQuery),
    responses((status = 200, description = "One page of purchase returns, newest first", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn list_returns(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<JsonValue>> {
    user.require(Role::Manager, "see purchase returns")?;
    let mut exec = state.store.begin_read().await?;
    let answer = list_page(
        exec.as_mut(),
        ("purchase_returns", PURCHASE_RETURN_COLUMNS),
        user.business_id,
        "",
        &page,
        "Purchase returns",
    )
    .await?;
    Ok(Json(answer))
}

#[utoipa::path(get, path = "/api/v1/purchases-return/{id}", tag = "purchases", params(("id" = i64, Path)),
    responses((status = 200, description = "The return with its lines", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn show_return(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<JsonValue>> {
    user.require(Role::Manager, "see purchase returns")?;
    let mut exec = state.store.begin_read().await?;
    let found = load_purchase_return(exec.as_mut(), user.business_id, id).await?;
    Ok(Json(json!({"message": "Purchase return", "data": found})))
}

/// Stock out to the supplier, at the price bought; the supplier's due goes down by as much.
/// Never more of a line than was bought less what earlier returns sent back.
#[utoipa::path(post, path = "/api/v1/purchases-return", tag = "purchases", request_body = PurchaseReturnCreate,
    responses((status = 201, description = "Returned", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "The purchase is not in this business", body = ApiErrorBody),
              (status = 422, description = "A field is wrong, or more than is left is sent back", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn create_return(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<(StatusCode, Json<JsonValue>)> {
    user.require(Role::Manager, "return a purchase")?;
    let request: PurchaseReturnCreate = crate::extract::parse_json(body.to_string().as_bytes())?;
    if request.lines.is_empty() {
        return Err(ApiError::invalid_field(
            "lines",
            "a return needs at least one line",
        ));
    }
    let ctx = context(&state, &user, &headers).await?;
    let op = operation(&headers, "purchase_return", "create", body);
    let business_id = user.business_id;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let (party_id, open_due) = locked_purchase(&mut tx, business_id, request.purchase_id).await?;
    let mut lines = purchase_lines(tx.exec(), request.purchase_id).await?;
    let mut total = Decimal::ZERO;
    let mut taken = Vec::new();
    for (i, asked) in request.lines.iter().enumerate() {
        super::bounded(
            format!("lines[{i}].quantity"),
            asked.quantity,
            super::Bound::Quantity,
        )?;
        if asked.quantity <= Decimal::ZERO {
            return Err(ApiError::invalid_field(
                format!("lines[{i}].quantity"),
                "must be greater than zero",
            ));
        }
        let line = lines
            .iter_mut()
            .find(|l| l.id == asked.purchase_detail_id)
            .ok_or_else(|| {
                ApiError::invalid_field(
                    format!("lines[{i}].purchase_detail_id"),
                    "not a line of this purchase",
                )
            })?;
        if line.returned + asked.quantity > line.bought {
            return Err(ApiError::invalid_field(
                format!("lines[{i}].quantity"),
                format!(
                    "only {} of this line is left to return",
                    line.bought - line.returned
                ),
            ));
        }
        line.returned += asked.quantity;
        let amount = asked.quantity * line.price;
        total += amount;
        taken.push((line.id, line.stock_id, asked.quantity, amount));
    }
    let created = tx
        .exec()
        .fetch_all(
            "INSERT INTO purchase_returns (business_id, purchase_id, user_id, total_return_amount, \
             return_date, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                int(business_id),
                int(request.purchase_id),
                int(user.user_id),
                Value::Decimal(Some(total)),
                Value::Time(Some(request.return_date.unwrap_or(ctx.now))),
                Value::Time(Some(ctx.now)),
            ],
            &[Column::Int],
        )
        .await?;
    let id = created
        .first()
        .and_then(|r| int_of(r, 0))
        .ok_or_else(|| ApiError::internal("a purchase return insert returned nothing"))?;
    for (detail_id, stock_id, quantity, amount) in taken {
        tx.exec()
            .execute(
                "INSERT INTO purchase_return_details (purchase_return_id, purchase_detail_id, quantity, amount) \
                 VALUES ($1, $2, $3, $4)",
                &[int(id), int(detail_id), Value::Decimal(Some(quantity)), Value::Decimal(Some(amount))],
            )
            .await?;
        if let Some(stock) = match stock_id {
            Some(stock_id) => tx.stock_for_update(business_id, stock_id).await?,
            None => None,
        } {
            tx.set_stock(stock.id, stock.quantity - quantity, ctx.now)
                .await?;
        }
    }
    // What goes back is first taken off what is still owed on this purchase.
    tx.exec()
        .execute(
            "UPDATE purchases SET due_amount = $2, version = version + 1, updated_at = $3 WHERE id = $1",
            &[
                int(request.purchase_id),
                Value::Decimal(Some((open_due - total).max(Decimal::ZERO))),
                Value::Time(Some(ctx.now)),
            ],
        )
        .await?;
    if let Some(party_id) = party_id {
        if let Some(party) = tx.party_for_update(business_id, party_id).await? {
            tx.set_party_due(party.id, party.due - total, ctx.now)
                .await?;
        }
    }
    audit(&mut tx, &ctx, &op, Some(id), None).await?;
    let found = load_purchase_return(tx.exec(), business_id, id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"message": "Purchase returned", "data": found})),
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, void))
        .routes(routes!(list_returns, create_return))
        .routes(routes!(show_return))
}
