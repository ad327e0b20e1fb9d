//! `GET /api/v1/shifts` and `GET /api/v1/shifts/{id}`: the till shifts terminals synced, and
//! a shift's report computed from what the server holds, including sales, refunds and due
//! collections that synced after the shift closed (they carry their shift's id).
//!
//! The figures follow the terminal's Z report (`engine/src/shifts.rs`): the same cash rule
//! (`is_cash_payment_type`) and the same expected-cash formula (`expected_cash`), both from
//! the shared crate.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use pos_protocol::auth::Role;
use pos_protocol::error::ApiErrorBody;
use pos_protocol::money::{exact, exact_opt};
use pos_protocol::page::{PageQuery, Paged, Pagination};
use pos_protocol::store_ops::{
    expected_cash, is_cash_payment_type, refund_share, DenominationCount,
};
use pos_protocol::time::{rfc3339, rfc3339_opt};
use pos_protocol::DataResponse;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::store::{Column, StoreError, StoreResult, TxExec, Value};
use crate::AppState;

/// A shift as the server holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Shift {
    pub id: i64,
    pub device_id: Option<String>,
    pub local_id: Option<String>,
    pub client_reference: Option<String>,
    pub cashier_id: Option<i64>,
    /// `open` or `closed`.
    pub status: String,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub opening_float: Decimal,
    /// What the terminal's Z report expected when it closed the shift.
    #[serde(with = "exact_opt")]
    #[schema(value_type = Option<f64>)]
    pub terminal_expected_cash: Option<Decimal>,
    #[serde(with = "exact_opt")]
    #[schema(value_type = Option<f64>)]
    pub counted_cash: Option<Decimal>,
    pub note: Option<String>,
    pub version: i64,
}

/// One payment type's part of a shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentTypeTotals {
    pub payment_type_id: Option<i64>,
    pub name: String,
    /// Counts as cash in the drawer.
    pub is_cash: bool,
    pub sales_count: u64,
    /// What the sales took by this type (paid amounts).
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub sales: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub due_collections: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub refunds: Decimal,
}

/// A shift's figures, named as the terminal's report names them. `expected_cash` = float +
/// cash sales + cash due collections − cash refunds + pay-ins − pay-outs; `difference` =
/// counted − expected (negative: cash missing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShiftReport {
    /// `x` while the shift is open, `z` once it closed.
    pub kind: String,
    pub sales_count: u64,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub sales_total: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub discounts: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub vat: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub due: Decimal,
    pub refunds_count: u64,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub refunds: Decimal,
    /// VAT contained in the refunds: each returned quantity's share of its sale line's VAT,
    /// priced by `refund_share` as the till prices it.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub refunds_vat: Decimal,
    pub by_payment_type: Vec<PaymentTypeTotals>,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub opening_float: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub cash_sales: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub cash_due_collections: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub cash_refunds: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub pay_ins: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub pay_outs: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub expected_cash: Decimal,
    #[serde(with = "exact_opt")]
    #[schema(value_type = Option<f64>)]
    pub counted_cash: Option<Decimal>,
    pub counted_denominations: Option<Vec<DenominationCount>>,
    #[serde(with = "exact_opt")]
    #[schema(value_type = Option<f64>)]
    pub difference: Option<Decimal>,
}

/// `GET /shifts/{id}`: the shift and its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShiftWithReport {
    #[serde(flatten)]
    pub shift: Shift,
    pub report: ShiftReport,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShiftQuery {
    /// Only this terminal's shifts.
    pub device: Option<String>,
    /// Only shifts of this cashier (user id).
    pub cashier: Option<i64>,
    /// `open` or `closed`.
    pub status: Option<String>,
    /// Only shifts opened on this day (`YYYY-MM-DD`, UTC).
    pub date: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

const SHIFT_COLUMNS: &str = "id, device_id, local_id, client_reference, user_id, status, \
     opened_at, closed_at, opening_float, expected_cash, counted_cash, note, version";
const SHIFT_READ: [Column; 13] = [
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Int,
    Column::Text,
    Column::Time,
    Column::Time,
    Column::Decimal,
    Column::Decimal,
    Column::Decimal,
    Column::Text,
    Column::Int,
];

/// Adds a stored figure to a report's sum: rows written before every amount was bounded can
/// hold anything, and a sum beyond a decimal is an error, never a panic.
fn plus(sum: &mut Decimal, value: Decimal) -> StoreResult<()> {
    *sum = sum
        .checked_add(value)
        .ok_or_else(|| StoreError::Corrupt("amounts that add up beyond a decimal".into()))?;
    Ok(())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("a {what} row"))
}

fn decode_shift(row: Vec<Value>) -> StoreResult<Shift> {
    let mut it = row.into_iter();
    let mut next = || it.next().ok_or_else(|| corrupt("shifts"));
    let (id, device_id, local_id, client_reference, cashier_id, status) =
        (next()?, next()?, next()?, next()?, next()?, next()?);
    let (opened_at, closed_at, opening_float, expected, counted, note, version) = (
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
    );
    let text = |v: Value| match v {
        Value::Text(t) => Ok(t),
        _ => Err(corrupt("shifts")),
    };
    let int = |v: Value| match v {
        Value::Int(i) => Ok(i),
        _ => Err(corrupt("shifts")),
    };
    let dec = |v: Value| match v {
        Value::Decimal(d) => Ok(d),
        _ => Err(corrupt("shifts")),
    };
    let time = |v: Value| match v {
        Value::Time(t) => Ok(t),
        _ => Err(corrupt("shifts")),
    };
    Ok(Shift {
        id: int(id)?.ok_or_else(|| corrupt("shifts"))?,
        device_id: text(device_id)?,
        local_id: text(local_id)?,
        client_reference: text(client_reference)?,
        cashier_id: int(cashier_id)?,
        status: text(status)?.ok_or_else(|| corrupt("shifts"))?,
        opened_at: time(opened_at)?.ok_or_else(|| corrupt("shifts"))?,
        closed_at: time(closed_at)?,
        opening_float: dec(opening_float)?.unwrap_or_default(),
        terminal_expected_cash: dec(expected)?,
        counted_cash: dec(counted)?,
        note: text(note)?,
        version: int(version)?.unwrap_or(1),
    })
}

/// The WHERE clause and its arguments for a list query.
fn filters(business_id: i64, query: &ShiftQuery) -> ApiResult<(String, Vec<Value>)> {
    let mut clause = String::from(" WHERE business_id = $1");
    let mut args = vec![Value::Int(Some(business_id))];
    let mut push = |sql: &str, value: Value, args: &mut Vec<Value>| {
        args.push(value);
        clause.push_str(&sql.replace('?', &format!("${}", args.len())));
    };
    if let Some(device) = &query.device {
        push(
            " AND device_id = ?",
            Value::Text(Some(device.clone())),
            &mut args,
        );
    }
    if let Some(cashier) = query.cashier {
        push(" AND user_id = ?", Value::Int(Some(cashier)), &mut args);
    }
    match query.status.as_deref() {
        None => {}
        Some(status @ ("open" | "closed")) => push(
            " AND status = ?",
            Value::Text(Some(status.to_string())),
            &mut args,
        ),
        Some(_) => return Err(ApiError::invalid_field("status", "must be open or closed")),
    }
    if let Some(date) = &query.date {
        let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| ApiError::invalid_field("date", "must be a day as YYYY-MM-DD"))?;
        let start = day
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .ok_or_else(|| ApiError::invalid_field("date", "must be a day as YYYY-MM-DD"))?;
        push(" AND opened_at >= ?", Value::Time(Some(start)), &mut args);
        push(
            " AND opened_at < ?",
            Value::Time(Some(start + chrono::Duration::days(1))),
            &mut args,
        );
    }
    Ok((clause, args))
}

#[utoipa::path(get, path = "/api/v1/shifts", tag = "shifts", params(ShiftQuery),
    responses((status = 200, description = "One page of shifts, newest first", body = Paged<Shift>),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 422, description = "A filter is malformed", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ShiftQuery>,
) -> ApiResult<Json<Paged<Shift>>> {
    user.require(Role::Manager, "see shifts")?;
    let (clause, mut args) = filters(user.business_id, &query)?;
    let page = PageQuery {
        page: query.page,
        per_page: query.per_page,
    };
    let mut tx = state.store.begin_read().await?;
    let total = tx
        .fetch_all(
            &format!("SELECT COUNT(*) FROM shifts{clause}"),
            &args,
            &[Column::Int],
        )
        .await?;
    let total = match total.first().and_then(|r| r.first()) {
        Some(Value::Int(Some(n))) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    let n = args.len();
    args.push(Value::Int(Some(i64::from(page.per_page()))));
    args.push(Value::Int(Some(
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    )));
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT {SHIFT_COLUMNS} FROM shifts{clause} ORDER BY opened_at DESC, id DESC \
                 LIMIT ${} OFFSET ${}",
                n + 1,
                n + 2
            ),
            &args,
            &SHIFT_READ,
        )
        .await?;
    tx.commit().await?;
    let data = rows
        .into_iter()
        .map(decode_shift)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Json(Paged {
        message: "Shifts".into(),
        data,
        pagination: Pagination::new(&page, total),
    }))
}

#[utoipa::path(get, path = "/api/v1/shifts/{id}", tag = "shifts", params(("id" = i64, Path)),
    responses((status = 200, description = "The shift and its report", body = DataResponse<ShiftWithReport>),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<DataResponse<ShiftWithReport>>> {
    user.require(Role::Manager, "see shift reports")?;
    let mut tx = state.store.begin_read().await?;
    let found = shift_report(tx.as_mut(), user.business_id, id).await?;
    tx.commit().await?;
    let found = found.ok_or_else(|| ApiError::not_found("Shift"))?;
    Ok(Json(DataResponse::new("Shift report", found)))
}

/// Adds to the payment type's row, made on first use (rows keep first-use order, as the
/// terminal's report does).
fn by_type<'a>(
    rows: &'a mut Vec<PaymentTypeTotals>,
    id: Option<i64>,
    name: &str,
    is_cash: bool,
) -> &'a mut PaymentTypeTotals {
    let at = match rows.iter().position(|r| r.payment_type_id == id) {
        Some(at) => at,
        None => {
            rows.push(PaymentTypeTotals {
                payment_type_id: id,
                name: name.to_string(),
                is_cash,
                sales_count: 0,
                sales: Decimal::ZERO,
                due_collections: Decimal::ZERO,
                refunds: Decimal::ZERO,
            });
            rows.len() - 1
        }
    };
    &mut rows[at]
}

fn decimals(row: &[Value], from: usize) -> StoreResult<Vec<Decimal>> {
    row[from..]
        .iter()
        .map(|v| match v {
            Value::Decimal(d) => Ok(d.unwrap_or_default()),
            _ => Err(corrupt("shift report")),
        })
        .collect()
}

fn opt_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => *i,
        _ => None,
    }
}

/// The VAT in the refunds of shift `shift_id`. A returned quantity's VAT is its share of the
/// sale line's VAT given what was returned of the line before (`refund_share`, the till's rule),
/// so every return of the lines this shift touched is walked in the order the server applied
/// them, and the shares of this shift's returns are summed.
async fn refunds_vat(tx: &mut dyn TxExec, business_id: i64, shift_id: i64) -> StoreResult<Decimal> {
    let minor_units = match tx
        .fetch_all(
            "SELECT currency_minor_units FROM businesses WHERE id = $1",
            &[Value::Int(Some(business_id))],
            &[Column::Int],
        )
        .await?
        .first()
        .and_then(|r| r.first())
    {
        Some(Value::Int(Some(units))) => {
            u32::try_from(*units).map_err(|_| corrupt("businesses"))?
        }
        _ => return Err(corrupt("businesses")),
    };
    let rows = tx
        .fetch_all(
            "SELECT r.shift_id, d.sale_detail_id, d.quantity, l.quantities, l.vat_amount \
             FROM sale_return_details d \
             JOIN sale_returns r ON r.id = d.sale_return_id \
             JOIN sale_details l ON l.id = d.sale_detail_id \
             WHERE r.business_id = $1 AND d.sale_detail_id IN ( \
               SELECT d2.sale_detail_id FROM sale_return_details d2 \
               JOIN sale_returns r2 ON r2.id = d2.sale_return_id \
               WHERE r2.business_id = $1 AND r2.shift_id = $2) \
             ORDER BY r.id, d.id",
            &[Value::Int(Some(business_id)), Value::Int(Some(shift_id))],
            &[
                Column::Int,
                Column::Int,
                Column::Decimal,
                Column::Decimal,
                Column::Decimal,
            ],
        )
        .await?;
    // Per sale line: quantity returned and VAT refunded so far.
    let mut before: HashMap<i64, (Decimal, Decimal)> = HashMap::new();
    let mut total = Decimal::ZERO;
    for row in &rows {
        let (Some(return_shift), Some(line)) = (opt_int(&row[0]), opt_int(&row[1])) else {
            return Err(corrupt("sale_return_details"));
        };
        let [quantity, sold, line_vat] =
            <[Decimal; 3]>::try_from(decimals(row, 2)?).map_err(|_| corrupt("refunds vat"))?;
        let (returned, refunded) = before.entry(line).or_default();
        let vat = refund_share(line_vat, sold, *returned, *refunded, quantity, minor_units);
        plus(returned, quantity)?;
        plus(refunded, vat)?;
        if return_shift == shift_id {
            plus(&mut total, vat)?;
        }
    }
    Ok(total)
}

/// The shift of the business and its report, from the rows that name it.
pub async fn shift_report(
    tx: &mut dyn TxExec,
    business_id: i64,
    id: i64,
) -> StoreResult<Option<ShiftWithReport>> {
    let business = Value::Int(Some(business_id));
    let shift_id = Value::Int(Some(id));
    let Some(row) = tx
        .fetch_all(
            &format!("SELECT {SHIFT_COLUMNS} FROM shifts WHERE business_id = $1 AND id = $2"),
            &[business.clone(), shift_id.clone()],
            &SHIFT_READ,
        )
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let shift = decode_shift(row)?;
    let denominations = tx
        .fetch_all(
            "SELECT CAST(counted_denominations AS TEXT) FROM shifts WHERE id = $1",
            std::slice::from_ref(&shift_id),
            &[Column::Text],
        )
        .await?;
    let counted_denominations: Option<Vec<DenominationCount>> =
        match denominations.first().and_then(|r| r.first()) {
            Some(Value::Text(Some(text))) => serde_json::from_str(text).ok(),
            _ => None,
        };

    // Payment types by id, soft-deleted ones too: an old sale still names its type.
    let mut types: HashMap<i64, (String, bool)> = HashMap::new();
    for row in tx
        .fetch_all(
            "SELECT id, name, is_credit FROM payment_types WHERE business_id = $1",
            std::slice::from_ref(&business),
            &[Column::Int, Column::Text, Column::Bool],
        )
        .await?
    {
        if let [Value::Int(Some(id)), Value::Text(Some(name)), Value::Bool(credit)] = row.as_slice()
        {
            types.insert(*id, (name.clone(), credit.unwrap_or(false)));
        }
    }
    let kind_of = |id: Option<i64>, fallback: &str| -> (String, bool) {
        match id.and_then(|id| types.get(&id)) {
            Some((name, credit)) => (name.clone(), is_cash_payment_type(name, *credit)),
            None => (fallback.to_string(), is_cash_payment_type(fallback, false)),
        }
    };

    let zero = Decimal::ZERO;
    let mut by_payment_type = Vec::new();
    let (mut sales_count, mut sales_total, mut discounts, mut vat, mut due, mut cash_sales) =
        (0u64, zero, zero, zero, zero, zero);
    let sales = tx
        .fetch_all(
            "SELECT s.payment_type_id, s.total_amount, s.paid_amount, s.due_amount, \
             s.discount_amount, s.vat_amount \
             FROM sales s WHERE s.business_id = $1 AND s.shift_id = $2 AND s.deleted_at IS NULL \
             ORDER BY s.id",
            &[business.clone(), shift_id.clone()],
            &[
                Column::Int,
                Column::Decimal,
                Column::Decimal,
                Column::Decimal,
                Column::Decimal,
                Column::Decimal,
            ],
        )
        .await?;
    // Summed here, not in SQL: SQLite keeps exact decimals as text.
    for row in tx
        .fetch_all(
            "SELECT d.discount FROM sale_details d JOIN sales s ON s.id = d.sale_id \
             WHERE s.business_id = $1 AND s.shift_id = $2 AND s.deleted_at IS NULL",
            &[business.clone(), shift_id.clone()],
            &[Column::Decimal],
        )
        .await?
    {
        plus(&mut discounts, decimals(&row, 0)?[0])?;
    }
    for row in &sales {
        let type_id = opt_int(&row[0]);
        let [total, paid, sale_due, cart_discount, sale_vat] =
            <[Decimal; 5]>::try_from(decimals(row, 1)?).map_err(|_| corrupt("shift report"))?;
        let (name, cash) = kind_of(type_id, "");
        sales_count += 1;
        plus(&mut sales_total, total)?;
        plus(&mut discounts, cart_discount)?;
        plus(&mut vat, sale_vat)?;
        plus(&mut due, sale_due)?;
        if cash {
            plus(&mut cash_sales, paid)?;
        }
        let entry = by_type(&mut by_payment_type, type_id, &name, cash);
        entry.sales_count += 1;
        plus(&mut entry.sales, paid)?;
    }

    let mut cash_due_collections = zero;
    for row in tx
        .fetch_all(
            "SELECT payment_type_id, pay_amount FROM due_collects \
             WHERE business_id = $1 AND shift_id = $2 AND deleted_at IS NULL ORDER BY id",
            &[business.clone(), shift_id.clone()],
            &[Column::Int, Column::Decimal],
        )
        .await?
    {
        let type_id = opt_int(&row[0]);
        let amount = decimals(&row, 1)?[0];
        let (name, cash) = kind_of(type_id, "");
        if cash {
            plus(&mut cash_due_collections, amount)?;
        }
        plus(
            &mut by_type(&mut by_payment_type, type_id, &name, cash).due_collections,
            amount,
        )?;
    }

    // Every return counts, a conflict one too: its refund was paid at the till.
    let (mut refunds_count, mut refunds, mut cash_refunds) = (0u64, zero, zero);
    for row in tx
        .fetch_all(
            "SELECT payment_type_id, refund_method, refund_amount FROM sale_returns \
             WHERE business_id = $1 AND shift_id = $2 ORDER BY id",
            &[business.clone(), shift_id.clone()],
            &[Column::Int, Column::Text, Column::Decimal],
        )
        .await?
    {
        let type_id = opt_int(&row[0]);
        let method = match &row[1] {
            Value::Text(Some(m)) => m.clone(),
            _ => return Err(corrupt("sale_returns")),
        };
        let amount = decimals(&row, 2)?[0];
        let (name, cash) = match method.as_str() {
            "cash" => (kind_of(type_id, "cash").0, true),
            "due" => ("due".to_string(), false),
            _ => kind_of(type_id, &method),
        };
        refunds_count += 1;
        plus(&mut refunds, amount)?;
        if cash {
            plus(&mut cash_refunds, amount)?;
        }
        plus(
            &mut by_type(&mut by_payment_type, type_id, &name, cash).refunds,
            amount,
        )?;
    }

    let refunds_vat = refunds_vat(tx, business_id, id).await?;

    let (mut pay_ins, mut pay_outs) = (zero, zero);
    for row in tx
        .fetch_all(
            "SELECT kind, amount FROM cash_movements WHERE business_id = $1 AND shift_id = $2",
            &[business, shift_id],
            &[Column::Text, Column::Decimal],
        )
        .await?
    {
        let amount = decimals(&row, 1)?[0];
        match &row[0] {
            Value::Text(Some(kind)) if kind == "pay_in" => plus(&mut pay_ins, amount)?,
            Value::Text(Some(kind)) if kind == "pay_out" => plus(&mut pay_outs, amount)?,
            _ => {}
        }
    }

    let expected = expected_cash(
        shift.opening_float,
        cash_sales,
        cash_due_collections,
        cash_refunds,
        pay_ins,
        pay_outs,
    );
    let report = ShiftReport {
        kind: if shift.closed_at.is_some() { "z" } else { "x" }.to_string(),
        sales_count,
        sales_total,
        discounts,
        vat,
        due,
        refunds_count,
        refunds,
        refunds_vat,
        by_payment_type,
        opening_float: shift.opening_float,
        cash_sales,
        cash_due_collections,
        cash_refunds,
        pay_ins,
        pay_outs,
        expected_cash: expected,
        counted_cash: shift.counted_cash,
        counted_denominations,
        difference: shift.counted_cash.map(|c| c - expected),
    };
    Ok(Some(ShiftWithReport { shift, report }))
}
