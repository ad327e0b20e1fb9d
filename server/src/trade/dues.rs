//! `/api/v1/dues`: money a customer pays against their due (any role), or the business pays a
//! supplier (managers). Both run the synced due collection's rules; `dues/invoices` lists what
//! is still open for a party.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use pos_protocol::auth::Role;
use pos_protocol::error::ApiErrorBody;
use pos_protocol::money::exact;
use pos_protocol::page::PageQuery;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Map, Value as JsonValue};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{audit, context, int, list_page, operation, row_by_id, rows};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::store::tx::SyncTx;
use crate::store::{Column, TxExec, Value};
use crate::sync::batch::collect_due;
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct DueCreate {
    pub party_id: i64,
    #[serde(rename = "payDueAmount", with = "exact")]
    #[schema(value_type = f64)]
    pub amount: Decimal,
    #[serde(default)]
    pub payment_type_id: Option<i64>,
    #[serde(
        rename = "paymentDate",
        with = "pos_protocol::time::rfc3339_opt",
        default
    )]
    #[schema(value_type = Option<String>)]
    pub payment_date: Option<DateTime<Utc>>,
    /// The sale (customer) or purchase (supplier) the payment is against.
    #[serde(rename = "invoiceNumber", default)]
    pub invoice_number: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

const DUE_COLUMNS: &[(&str, &str, Column)] = &[
    ("id", "id", Column::Int),
    ("business_id", "business_id", Column::Int),
    ("party_id", "party_id", Column::Int),
    ("sale_id", "sale_id", Column::Int),
    ("purchase_id", "purchase_id", Column::Int),
    ("user_id", "user_id", Column::Int),
    ("payment_type_id", "payment_type_id", Column::Int),
    ("total_due", "totalDue", Column::Decimal),
    ("pay_amount", "payDueAmount", Column::Decimal),
    ("due_amount_after", "dueAmountAfterPay", Column::Decimal),
    ("payment_date", "paymentDate", Column::Time),
    ("note", "note", Column::Text),
    ("version", "version", Column::Int),
    ("created_at", "created_at", Column::Time),
    ("updated_at", "updated_at", Column::Time),
    ("deleted_at", "deleted_at", Column::Time),
];

async fn load_due(
    exec: &mut dyn TxExec,
    business_id: i64,
    id: i64,
) -> ApiResult<Map<String, JsonValue>> {
    row_by_id(
        exec,
        "due_collects",
        DUE_COLUMNS,
        (business_id, id),
        " AND deleted_at IS NULL",
        "Due collection",
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/dues", tag = "dues", params(PageQuery),
    responses((status = 200, description = "One page of due payments, newest first", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<JsonValue>> {
    let mut exec = state.store.begin_read().await?;
    let answer = list_page(
        exec.as_mut(),
        ("due_collects", DUE_COLUMNS),
        user.business_id,
        " AND deleted_at IS NULL",
        &page,
        "Due payments",
    )
    .await?;
    Ok(Json(answer))
}

#[utoipa::path(get, path = "/api/v1/dues/{id}", tag = "dues", params(("id" = i64, Path)),
    responses((status = 200, description = "The due payment", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<JsonValue>> {
    let mut exec = state.store.begin_read().await?;
    let due = load_due(exec.as_mut(), user.business_id, id).await?;
    Ok(Json(json!({"message": "Due payment", "data": due})))
}

/// The party's type, or a 422 naming `party_id`.
async fn party_type(
    exec: &mut dyn TxExec,
    business_id: i64,
    party_id: i64,
) -> ApiResult<Option<String>> {
    let found = exec
        .fetch_all(
            "SELECT party_type FROM parties WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL",
            &[int(business_id), int(party_id)],
            &[Column::Text],
        )
        .await?;
    Ok(found
        .into_iter()
        .next()
        .map(|r| match r.into_iter().next() {
            Some(Value::Text(Some(t))) => t,
            _ => String::new(),
        }))
}

/// The live document of the business with this invoice number, in `table`.
async fn invoice_id(
    exec: &mut dyn TxExec,
    table: &str,
    business_id: i64,
    number: &str,
) -> ApiResult<Option<i64>> {
    let found = exec
        .fetch_all(
            &format!(
                "SELECT id FROM {table} WHERE business_id = $1 AND invoice_number = $2 AND deleted_at IS NULL"
            ),
            &[int(business_id), Value::Text(Some(number.trim().to_string()))],
            &[Column::Int],
        )
        .await?;
    Ok(found.into_iter().next().and_then(|r| match r.first() {
        Some(Value::Int(v)) => *v,
        _ => None,
    }))
}

#[utoipa::path(post, path = "/api/v1/dues", tag = "dues", request_body = DueCreate,
    responses((status = 201, description = "Paid: the party's due went down", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(request): ApiJson<DueCreate>,
) -> ApiResult<(StatusCode, Json<JsonValue>)> {
    super::bounded("payDueAmount", request.amount, super::Bound::Amount)?;
    if request.amount <= Decimal::ZERO {
        return Err(ApiError::invalid_field(
            "payDueAmount",
            "must be greater than zero",
        ));
    }
    let ctx = context(&state, &user, &headers).await?;
    let business_id = user.business_id;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let kind = party_type(tx.exec(), business_id, request.party_id)
        .await?
        .ok_or_else(|| ApiError::invalid_field("party_id", "no such party in this business"))?;
    let supplier = kind.eq_ignore_ascii_case("supplier");
    if supplier {
        user.require(Role::Manager, "pay a supplier")?;
    }
    let (sale_id, purchase_id) = match request
        .invoice_number
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        None => (None, None),
        Some(number) => {
            let table = if supplier { "purchases" } else { "sales" };
            let id = invoice_id(tx.exec(), table, business_id, number)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid_field("invoiceNumber", "no open invoice with this number")
                })?;
            if supplier {
                (None, Some(id))
            } else {
                (Some(id), None)
            }
        }
    };
    let mut op = operation(
        &headers,
        "due_collection",
        "create",
        json!({
            "party_id": request.party_id,
            "sale_id": sale_id,
            "amount": super::money(request.amount)?,
            "payment_type_id": request.payment_type_id,
            "note": request.note,
        }),
    );
    op.offline_timestamp = request.payment_date;
    let result = collect_due(&ctx, &mut tx, &op).await?;
    let id = result
        .server_id
        .ok_or_else(|| ApiError::internal("a due payment without an id"))?;
    if let Some(purchase_id) = purchase_id {
        let open = tx
            .exec()
            .fetch_all(
                "SELECT due_amount FROM purchases WHERE id = $1 FOR UPDATE",
                &[int(purchase_id)],
                &[Column::Decimal],
            )
            .await?;
        let due = match open.first().and_then(|r| r.first()) {
            Some(Value::Decimal(Some(d))) => *d,
            _ => Decimal::ZERO,
        };
        let left = (due - request.amount).max(Decimal::ZERO);
        tx.exec()
            .execute(
                "UPDATE purchases SET due_amount = $2, version = version + 1, updated_at = $3 WHERE id = $1",
                &[int(purchase_id), Value::Decimal(Some(left)), Value::Time(Some(ctx.now))],
            )
            .await?;
        tx.exec()
            .execute(
                "UPDATE due_collects SET purchase_id = $2 WHERE id = $1",
                &[int(id), int(purchase_id)],
            )
            .await?;
    }
    audit(&mut tx, &ctx, &op, Some(id), None).await?;
    let due = load_due(tx.exec(), business_id, id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"message": "Due paid", "data": due, "warnings": result.warnings})),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoicesQuery {
    pub party_id: i64,
}

#[utoipa::path(get, path = "/api/v1/dues/invoices", tag = "dues", params(InvoicesQuery),
    responses((status = 200, description = "The party's open invoices (sales for a customer, purchases for a supplier)", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 404, description = "The party is not in this business", body = ApiErrorBody),
              (status = 422, description = "party_id is missing or wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn invoices(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<InvoicesQuery>,
) -> ApiResult<Json<JsonValue>> {
    let mut exec = state.store.begin_read().await?;
    let kind = party_type(exec.as_mut(), user.business_id, query.party_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Party"))?;
    let (table, date) = if kind.eq_ignore_ascii_case("supplier") {
        ("purchases", "purchase_date")
    } else {
        ("sales", "sale_date")
    };
    // Compared in Rust: SQLite keeps decimals as text.
    let open: Vec<Map<String, JsonValue>> = rows(
        exec.as_mut(),
        &format!(
            "SELECT id, invoice_number, total_amount, due_amount, {date} FROM {table} \
             WHERE business_id = $1 AND party_id = $2 AND deleted_at IS NULL ORDER BY {date}, id"
        ),
        &[int(user.business_id), int(query.party_id)],
        &[
            ("id", Column::Int),
            ("invoiceNumber", Column::Text),
            ("totalAmount", Column::Decimal),
            ("dueAmount", Column::Decimal),
            ("date", Column::Time),
        ],
    )
    .await?
    .into_iter()
    .filter(|r| {
        r.get("dueAmount")
            .and_then(|v| v.to_string().parse::<Decimal>().ok())
            .is_some_and(|d| d > Decimal::ZERO)
    })
    .collect();
    Ok(Json(json!({"message": "Open invoices", "data": open})))
}

/// A due payment as stored, locked for its transaction.
struct DueRow {
    party_id: i64,
    sale_id: Option<i64>,
    purchase_id: Option<i64>,
    shift_id: Option<i64>,
    amount: Decimal,
    total_due: Decimal,
    version: i64,
}

async fn locked_due(tx: &mut SyncTx, business_id: i64, id: i64) -> ApiResult<DueRow> {
    let row = tx
        .exec()
        .fetch_all(
            "SELECT party_id, sale_id, purchase_id, shift_id, pay_amount, total_due, version \
             FROM due_collects WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
            &[int(business_id), int(id)],
            &[
                Column::Int,
                Column::Int,
                Column::Int,
                Column::Int,
                Column::Decimal,
                Column::Decimal,
                Column::Int,
            ],
        )
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("Due collection"))?;
    let int_at = |i: usize| match row.get(i) {
        Some(Value::Int(v)) => *v,
        _ => None,
    };
    let dec_at = |i: usize| match row.get(i) {
        Some(Value::Decimal(Some(v))) => *v,
        _ => Decimal::ZERO,
    };
    Ok(DueRow {
        party_id: int_at(0).unwrap_or_default(),
        sale_id: int_at(1),
        purchase_id: int_at(2),
        shift_id: int_at(3),
        amount: dec_at(4),
        total_due: dec_at(5),
        version: int_at(6).unwrap_or_default(),
    })
}

/// A payment counted in a closed shift's drawer stays as the shift report shows it.
async fn check_shift_open(tx: &mut SyncTx, business_id: i64, due: &DueRow) -> ApiResult<()> {
    if let Some(shift_id) = due.shift_id {
        if let Some(Some(_closed)) = tx.shift_closed_at(business_id, shift_id).await? {
            return Err(ApiError::invalid_field(
                "id",
                "this payment was counted in a shift that is closed; record a new payment instead",
            ));
        }
    }
    Ok(())
}

/// Moves a payment's effect on the invoice it was made against: `-amount` paid it, `+amount`
/// undoes that. The open due stays between zero and the invoice's total.
async fn move_invoice_due(
    tx: &mut SyncTx,
    (table, id): (&str, i64),
    change: Decimal,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let found = tx
        .exec()
        .fetch_all(
            &format!("SELECT due_amount, total_amount FROM {table} WHERE id = $1 FOR UPDATE"),
            &[int(id)],
            &[Column::Decimal, Column::Decimal],
        )
        .await?;
    let Some(row) = found.first() else {
        return Ok(());
    };
    let (due, total) = match (row.first(), row.get(1)) {
        (Some(Value::Decimal(Some(d))), Some(Value::Decimal(Some(t)))) => (*d, *t),
        _ => return Ok(()),
    };
    let left = (due + change)
        .max(Decimal::ZERO)
        .min(total.max(Decimal::ZERO));
    if table == "sales" {
        tx.set_sale_due(id, left, now).await?;
    } else {
        tx.exec()
            .execute(
                "UPDATE purchases SET due_amount = $2, version = version + 1, updated_at = $3 WHERE id = $1",
                &[int(id), Value::Decimal(Some(left)), Value::Time(Some(now))],
            )
            .await?;
    }
    Ok(())
}

/// Moves the party's due, and that of the invoice a payment was against, by `change`: a
/// payment's amount takes it off again, its negative puts it on.
async fn move_payment(
    tx: &mut SyncTx,
    business_id: i64,
    (party_id, sale_id, purchase_id): (i64, Option<i64>, Option<i64>),
    change: Decimal,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let party = tx
        .party_for_update(business_id, party_id)
        .await?
        .ok_or_else(|| ApiError::internal("a due payment's party is gone"))?;
    tx.set_party_due(party.id, party.due + change, now).await?;
    if let Some(id) = sale_id {
        move_invoice_due(tx, ("sales", id), change, now).await?;
    }
    if let Some(id) = purchase_id {
        move_invoice_due(tx, ("purchases", id), change, now).await?;
    }
    Ok(())
}

/// Who may change a payment: anyone for a customer's, managers for a supplier's.
async fn may_change(
    tx: &mut SyncTx,
    user: &AuthUser,
    party_id: i64,
    what: &str,
) -> ApiResult<bool> {
    let supplier = party_type(tx.exec(), user.business_id, party_id)
        .await?
        .is_some_and(|kind| kind.eq_ignore_ascii_case("supplier"));
    if supplier {
        user.require(Role::Manager, what)?;
    }
    Ok(supplier)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DueUpdate {
    pub payment_type_id: i64,
    #[serde(rename = "paymentDate", with = "pos_protocol::time::rfc3339")]
    #[schema(value_type = String)]
    pub payment_date: DateTime<Utc>,
    #[serde(rename = "payDueAmount", with = "exact")]
    #[schema(value_type = f64)]
    pub amount: Decimal,
    /// Moves the payment to another open invoice of the same party; absent or empty keeps it
    /// where it is.
    #[serde(rename = "invoiceNumber", default)]
    pub invoice_number: Option<String>,
}

/// Corrects a due payment: what it took off the party and its invoice is put back, and the
/// corrected amount taken off instead, in one transaction. The body carries the `version` it
/// is based on (or `X-Entity-Version`).
#[utoipa::path(put, path = "/api/v1/dues/{id}", tag = "dues", params(("id" = i64, Path)),
    request_body = DueUpdate,
    responses((status = 200, description = "Corrected", body = Object),
              (status = 403, description = "A supplier's payment: managers only", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody),
              (status = 409, description = "Based on a stale version", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<JsonValue>> {
    let map = crate::resources::as_object(body.clone())?;
    let expected = crate::resources::expected_version(&user, &headers, Some(&map))?;
    let request: DueUpdate = crate::extract::parse_json(body.to_string().as_bytes())?;
    super::bounded("payDueAmount", request.amount, super::Bound::Amount)?;
    if request.amount <= Decimal::ZERO {
        return Err(ApiError::invalid_field(
            "payDueAmount",
            "must be greater than zero",
        ));
    }
    let ctx = context(&state, &user, &headers).await?;
    let business_id = user.business_id;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let due = locked_due(&mut tx, business_id, id).await?;
    if let Some(expected) = expected.filter(|v| *v != due.version) {
        let current = load_due(tx.exec(), business_id, id).await?;
        return Err(ApiError::version_conflict(
            pos_protocol::error::VersionConflict {
                entity_type: "due_collection".into(),
                entity_id: id,
                client_version: Some(expected),
                server_version: due.version,
                server_data: JsonValue::Object(current),
            },
        ));
    }
    let supplier = may_change(&mut tx, &user, due.party_id, "change a supplier payment").await?;
    check_shift_open(&mut tx, business_id, &due).await?;
    if !tx
        .payment_type_exists(business_id, request.payment_type_id)
        .await?
    {
        return Err(ApiError::invalid_field(
            "payment_type_id",
            format!(
                "no payment type {} in this business",
                request.payment_type_id
            ),
        ));
    }
    let (sale_id, purchase_id) = match request
        .invoice_number
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        None => (due.sale_id, due.purchase_id),
        Some(number) => {
            let table = if supplier { "purchases" } else { "sales" };
            let invoice = invoice_id(tx.exec(), table, business_id, number)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid_field("invoiceNumber", "no open invoice with this number")
                })?;
            let owner = tx
                .exec()
                .fetch_all(
                    &format!("SELECT party_id FROM {table} WHERE id = $1"),
                    &[int(invoice)],
                    &[Column::Int],
                )
                .await?;
            if !matches!(owner.first().and_then(|r| r.first()), Some(Value::Int(Some(p))) if *p == due.party_id)
            {
                return Err(ApiError::invalid_field(
                    "invoiceNumber",
                    "the invoice is not this party's",
                ));
            }
            if supplier {
                (None, Some(invoice))
            } else {
                (Some(invoice), None)
            }
        }
    };
    move_payment(
        &mut tx,
        business_id,
        (due.party_id, due.sale_id, due.purchase_id),
        due.amount,
        ctx.now,
    )
    .await?;
    move_payment(
        &mut tx,
        business_id,
        (due.party_id, sale_id, purchase_id),
        -request.amount,
        ctx.now,
    )
    .await?;
    tx.exec()
        .execute(
            "UPDATE due_collects SET pay_amount = $2, due_amount_after = $3, payment_type_id = $4, \
             payment_date = $5, sale_id = $6, purchase_id = $7, version = version + 1, updated_at = $8 \
             WHERE id = $1",
            &[
                int(id),
                Value::Decimal(Some(request.amount)),
                Value::Decimal(Some(due.total_due - request.amount)),
                int(request.payment_type_id),
                Value::Time(Some(request.payment_date)),
                Value::Int(sale_id),
                Value::Int(purchase_id),
                Value::Time(Some(ctx.now)),
            ],
        )
        .await?;
    let data = load_due_any(tx.exec(), business_id, id).await?;
    let op = operation(&headers, "due_collection", "update", body);
    audit(
        &mut tx,
        &ctx,
        &op,
        Some(id),
        Some(json!({"payDueAmount": {"before": super::money(due.amount)?, "after": super::money(request.amount)?}})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        json!({"message": "Due payment updated", "data": data}),
    ))
}

/// A void: the payment no longer counts; the party owes it again, and so does its invoice.
/// Like voiding a sale, it takes a manager: cash that was taken would otherwise vanish.
#[utoipa::path(delete, path = "/api/v1/dues/{id}", tag = "dues", params(("id" = i64, Path)),
    responses((status = 200, description = "Voided", body = Object),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody),
              (status = 422, description = "Counted in a closed shift", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn void(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<Json<JsonValue>> {
    user.require(Role::Manager, "void a due payment")?;
    let ctx = context(&state, &user, &headers).await?;
    let business_id = user.business_id;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let due = locked_due(&mut tx, business_id, id).await?;
    check_shift_open(&mut tx, business_id, &due).await?;
    move_payment(
        &mut tx,
        business_id,
        (due.party_id, due.sale_id, due.purchase_id),
        due.amount,
        ctx.now,
    )
    .await?;
    tx.exec()
        .execute(
            "UPDATE due_collects SET deleted_at = $2, version = version + 1, updated_at = $2 WHERE id = $1",
            &[int(id), Value::Time(Some(ctx.now))],
        )
        .await?;
    let op = operation(&headers, "due_collection", "delete", json!({"id": id}));
    audit(&mut tx, &ctx, &op, Some(id), None).await?;
    let data = load_due_any(tx.exec(), business_id, id).await?;
    tx.commit().await?;
    Ok(Json(json!({"message": "Due payment voided", "data": data})))
}

/// A due payment, voided or not.
async fn load_due_any(
    exec: &mut dyn TxExec,
    business_id: i64,
    id: i64,
) -> ApiResult<Map<String, JsonValue>> {
    row_by_id(
        exec,
        "due_collects",
        DUE_COLUMNS,
        (business_id, id),
        "",
        "Due collection",
    )
    .await
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(invoices))
        .routes(routes!(show, update, void))
}
