//! `/api/v1/reports/sales` and `/api/v1/reports/sales/summary`: what was sold, in exact
//! decimals (summed here, never by SQLite, which would add them as floats). Profit is each
//! line's sale price less its stock's purchase price, as stored with the sale. Days are UTC.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use pos_protocol::auth::Role;
use pos_protocol::error::ApiErrorBody;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value as JsonValue};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::sales::{SaleFilter, SALE_COLUMNS};
use super::{count, int, money, paged, rows, select_list, wire_columns};
use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::store::{Column, TxExec, Value};
use crate::AppState;

/// Sums of a group of sales.
#[derive(Debug, Default)]
struct Totals {
    count: i64,
    total_amount: Decimal,
    vat_amount: Decimal,
    discount_amount: Decimal,
    paid_amount: Decimal,
    due_amount: Decimal,
    profit: Decimal,
}

struct SaleFigures {
    day: String,
    payment_type_id: Option<i64>,
    user_id: Option<i64>,
    device_id: Option<String>,
    total_amount: Decimal,
    vat_amount: Decimal,
    discount_amount: Decimal,
    paid_amount: Decimal,
    due_amount: Decimal,
    profit: Decimal,
}

impl Totals {
    fn add(&mut self, sale: &SaleFigures) {
        self.count += 1;
        self.total_amount += sale.total_amount;
        self.vat_amount += sale.vat_amount;
        self.discount_amount += sale.discount_amount;
        self.paid_amount += sale.paid_amount;
        self.due_amount += sale.due_amount;
        self.profit += sale.profit;
    }

    fn json(&self) -> ApiResult<Map<String, JsonValue>> {
        let mut out = Map::new();
        out.insert("count".into(), json!(self.count));
        for (name, value) in [
            ("totalAmount", self.total_amount),
            ("vat_amount", self.vat_amount),
            ("discountAmount", self.discount_amount),
            ("paidAmount", self.paid_amount),
            ("dueAmount", self.due_amount),
            ("profit", self.profit),
        ] {
            out.insert(name.into(), money(value)?);
        }
        Ok(out)
    }
}

fn dec(v: &Value) -> Decimal {
    match v {
        Value::Decimal(Some(d)) => *d,
        _ => Decimal::ZERO,
    }
}

fn opt_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(v) => *v,
        _ => None,
    }
}

async fn figures(
    exec: &mut dyn TxExec,
    clause: &str,
    args: &[Value],
) -> ApiResult<Vec<SaleFigures>> {
    let found = exec
        .fetch_all(
            &format!(
                "SELECT s.sale_date, s.payment_type_id, s.user_id, s.device_id, s.total_amount, \
                 s.vat_amount, s.discount_amount, s.paid_amount, s.due_amount, s.loss_profit \
                 FROM sales s {clause}"
            ),
            args,
            &[
                Column::Time,
                Column::Int,
                Column::Int,
                Column::Text,
                Column::Decimal,
                Column::Decimal,
                Column::Decimal,
                Column::Decimal,
                Column::Decimal,
                Column::Decimal,
            ],
        )
        .await?;
    Ok(found
        .iter()
        .map(|r| SaleFigures {
            day: match &r[0] {
                Value::Time(Some(t)) => t.format("%Y-%m-%d").to_string(),
                _ => String::new(),
            },
            payment_type_id: opt_int(&r[1]),
            user_id: opt_int(&r[2]),
            device_id: match &r[3] {
                Value::Text(t) => t.clone(),
                _ => None,
            },
            total_amount: dec(&r[4]),
            vat_amount: dec(&r[5]),
            discount_amount: dec(&r[6]),
            paid_amount: dec(&r[7]),
            due_amount: dec(&r[8]),
            profit: dec(&r[9]),
        })
        .collect())
}

fn totals_of(sales: &[SaleFigures]) -> Totals {
    let mut totals = Totals::default();
    for sale in sales {
        totals.add(sale);
    }
    totals
}

/// Sums by a key, in key order, each as `{key_name: key, …totals}`.
fn grouped<K: Ord + Clone + Into<JsonValue>>(
    sales: &[SaleFigures],
    key_name: &str,
    key: impl Fn(&SaleFigures) -> K,
) -> ApiResult<Vec<JsonValue>> {
    let mut groups: BTreeMap<K, Totals> = BTreeMap::new();
    for sale in sales {
        groups.entry(key(sale)).or_default().add(sale);
    }
    groups
        .into_iter()
        .map(|(k, totals)| {
            let mut out = totals.json()?;
            out.insert(key_name.into(), k.into());
            Ok(JsonValue::Object(out))
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/reports/sales", tag = "reports", params(SaleFilter),
    responses((status = 200, description = "One page of the sales that match, with the totals of all of them", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 422, description = "A filter is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn sales(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(filter): ApiQuery<SaleFilter>,
) -> ApiResult<Json<JsonValue>> {
    user.require(Role::Manager, "see reports")?;
    let (clause, mut args) = filter.where_clause(user.business_id)?;
    let page = filter.page();
    let mut exec = state.store.begin_write().await?;
    let all = figures(exec.as_mut(), &clause, &args).await?;
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
    let mut body = paged("Sales report", data, &page, total);
    body["totals"] = JsonValue::Object(totals_of(&all).json()?);
    Ok(Json(body))
}

/// Returns in the period (applied ones of live sales): (count, refunded).
async fn returns(
    exec: &mut dyn TxExec,
    business_id: i64,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> ApiResult<(i64, Decimal)> {
    let found = exec
        .fetch_all(
            "SELECT r.refund_amount FROM sale_returns r JOIN sales s ON s.id = r.sale_id \
             WHERE r.business_id = $1 AND r.status = 'applied' AND s.deleted_at IS NULL \
             AND ($2 IS NULL OR r.return_date >= $2) AND ($3 IS NULL OR r.return_date < $3)",
            &[int(business_id), Value::Time(from), Value::Time(to)],
            &[Column::Decimal],
        )
        .await?;
    Ok((found.len() as i64, found.iter().map(|r| dec(&r[0])).sum()))
}

#[utoipa::path(get, path = "/api/v1/reports/sales/summary", tag = "reports", params(SaleFilter),
    responses((status = 200, description = "Totals of the period, by day, payment type, cashier and device, with VAT, profit and returns", body = Object),
              (status = 401, description = "No valid token", body = ApiErrorBody),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 422, description = "A filter is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn summary(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(filter): ApiQuery<SaleFilter>,
) -> ApiResult<Json<JsonValue>> {
    user.require(Role::Manager, "see reports")?;
    let (clause, args) = filter.where_clause(user.business_id)?;
    let from = filter
        .date_from
        .as_deref()
        .map(|d| super::day("date_from", d, false))
        .transpose()?;
    let to = filter
        .date_to
        .as_deref()
        .map(|d| super::day("date_to", d, true))
        .transpose()?;
    let mut exec = state.store.begin_write().await?;
    let sales = figures(exec.as_mut(), &clause, &args).await?;
    let (returns_count, refunded) = returns(exec.as_mut(), user.business_id, from, to).await?;
    let totals = totals_of(&sales);
    let mut overall = totals.json()?;
    overall.insert("returns_count".into(), json!(returns_count));
    overall.insert("returns_amount".into(), money(refunded)?);
    overall.insert("net_amount".into(), money(totals.total_amount - refunded)?);
    Ok(Json(json!({
        "message": "Sales summary",
        "data": {
            "from_date": filter.date_from,
            "to_date": filter.date_to,
            "totals": overall,
            "by_day": grouped(&sales, "date", |s| s.day.clone())?,
            "by_payment_type": grouped(&sales, "payment_type_id", |s| s.payment_type_id)?,
            "by_cashier": grouped(&sales, "user_id", |s| s.user_id)?,
            "by_device": grouped(&sales, "device_id", |s| s.device_id.clone())?,
        }
    })))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sales))
        .routes(routes!(summary))
}
