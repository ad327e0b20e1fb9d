//! `/api/v1/reports/sales` and `/api/v1/reports/sales/summary`: what was sold, in exact
//! decimals (summed here, never by SQLite, which would add them as floats). Profit is each
//! line's sale price less its stock's purchase price, as stored with the sale. Days are UTC.
//!
//! Returns take back their share of each line's VAT and profit (the returned quantity's part
//! of the line, rounded to the currency's minor units): the totals' `vat_amount` and `profit`
//! are net of them, and `returns_vat_amount` and `returns_profit` say how much came off. The
//! groups (by day, payment type, cashier, device) stay the sales as made.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use pos_protocol::auth::Role;
use pos_protocol::error::ApiErrorBody;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Map, Value as JsonValue};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::sales::{SaleFilter, SALE_COLUMNS};
use super::{add, count, difference, int, money, paged, rows, select_list, wire_columns};
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
    fn add(&mut self, sale: &SaleFigures) -> ApiResult<()> {
        self.count += 1;
        add(&mut self.total_amount, sale.total_amount)?;
        add(&mut self.vat_amount, sale.vat_amount)?;
        add(&mut self.discount_amount, sale.discount_amount)?;
        add(&mut self.paid_amount, sale.paid_amount)?;
        add(&mut self.due_amount, sale.due_amount)?;
        add(&mut self.profit, sale.profit)
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

fn totals_of(sales: &[SaleFigures]) -> ApiResult<Totals> {
    let mut totals = Totals::default();
    for sale in sales {
        totals.add(sale)?;
    }
    Ok(totals)
}

/// Sums by a key, in key order, each as `{key_name: key, …totals}`.
fn grouped<K: Ord + Clone + Into<JsonValue>>(
    sales: &[SaleFigures],
    key_name: &str,
    key: impl Fn(&SaleFigures) -> K,
) -> ApiResult<Vec<JsonValue>> {
    let mut groups: BTreeMap<K, Totals> = BTreeMap::new();
    for sale in sales {
        groups.entry(key(sale)).or_default().add(sale)?;
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
    responses((status = 200, description = "One page of the sales that match, with the totals of all of them (VAT and profit net of their returns)", body = Object),
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
    let places = minor_units(&state, user.business_id).await?;
    let mut exec = state.store.begin_read().await?;
    let all = figures(exec.as_mut(), &clause, &args).await?;
    // The returns of the sales listed.
    let returns = returned(exec.as_mut(), &clause, &args, places).await?;
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
    body["totals"] = JsonValue::Object(returns.net_of(&totals_of(&all)?)?);
    Ok(Json(body))
}

/// What applied returns took back: how many, the refunds, and the VAT and profit of the
/// quantities returned.
#[derive(Debug, Default)]
struct Returned {
    count: i64,
    refunded: Decimal,
    vat_amount: Decimal,
    profit: Decimal,
}

impl Returned {
    /// The sales' totals less what the returns took back, with the returns' own figures.
    fn net_of(&self, totals: &Totals) -> ApiResult<Map<String, JsonValue>> {
        let mut out = totals.json()?;
        out.insert(
            "vat_amount".into(),
            money(difference(totals.vat_amount, self.vat_amount)?)?,
        );
        out.insert(
            "profit".into(),
            money(difference(totals.profit, self.profit)?)?,
        );
        out.insert("returns_count".into(), json!(self.count));
        out.insert("returns_amount".into(), money(self.refunded)?);
        out.insert("returns_vat_amount".into(), money(self.vat_amount)?);
        out.insert("returns_profit".into(), money(self.profit)?);
        out.insert(
            "net_amount".into(),
            money(difference(totals.total_amount, self.refunded)?)?,
        );
        Ok(out)
    }
}

/// The applied returns of live sales that `clause` selects (it filters `r`, the return, and
/// `s`, its sale), each line's share rounded to `places`.
async fn returned(
    exec: &mut dyn TxExec,
    clause: &str,
    args: &[Value],
    places: u32,
) -> ApiResult<Returned> {
    let found = exec
        .fetch_all(
            &format!(
                "SELECT r.id, r.refund_amount, d.quantity, l.quantities, l.vat_amount, l.loss_profit \
                 FROM sale_returns r JOIN sales s ON s.id = r.sale_id \
                 LEFT JOIN sale_return_details d ON d.sale_return_id = r.id \
                 LEFT JOIN sale_details l ON l.id = d.sale_detail_id \
                 {clause} AND r.status = 'applied' ORDER BY r.id"
            ),
            args,
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
    let mut out = Returned::default();
    let mut last_return = None;
    for row in &found {
        let id = opt_int(&row[0]);
        if id != last_return {
            last_return = id;
            out.count += 1;
            add(&mut out.refunded, dec(&row[1]))?;
        }
        let (quantity, of) = (dec(&row[2]), dec(&row[3]));
        if of > Decimal::ZERO {
            // Stored figures can be anything: when the exact product overflows, the share is
            // taken the other way round (a returned quantity is at most what was sold).
            let share = |whole: Decimal| {
                whole
                    .checked_mul(quantity)
                    .and_then(|product| product.checked_div(of))
                    .unwrap_or_else(|| {
                        let part = quantity.checked_div(of).unwrap_or(Decimal::ONE);
                        whole * part.min(Decimal::ONE)
                    })
                    .round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero)
            };
            add(&mut out.vat_amount, share(dec(&row[4])))?;
            add(&mut out.profit, share(dec(&row[5])))?;
        }
    }
    Ok(out)
}

/// The currency's decimal places of the caller's business.
async fn minor_units(state: &AppState, business_id: i64) -> ApiResult<u32> {
    Ok(state
        .store
        .business_settings(business_id)
        .await?
        .map_or(2, |s| s.currency.minor_units))
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
    let places = minor_units(&state, user.business_id).await?;
    let mut exec = state.store.begin_read().await?;
    let sales = figures(exec.as_mut(), &clause, &args).await?;
    // Returns made in the period, whichever day their sale was.
    let returns = returned(
        exec.as_mut(),
        "WHERE r.business_id = $1 AND s.deleted_at IS NULL \
         AND ($2 IS NULL OR r.return_date >= $2) AND ($3 IS NULL OR r.return_date < $3)",
        &[int(user.business_id), Value::Time(from), Value::Time(to)],
        places,
    )
    .await?;
    let overall = returns.net_of(&totals_of(&sales)?)?;
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
