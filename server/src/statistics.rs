//! Figures for the back office (`/api/v1/summary`, `/api/v1/dashboard`) and a party's unpaid
//! invoices (`/api/v1/invoices`).
//!
//! Amounts are summed here rather than in SQL: SQLite keeps exact decimals as text, and a
//! SQL sum there would go through floating point. Days are UTC days.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use pos_protocol::auth::Role;
use pos_protocol::error::ApiErrorBody;
use pos_protocol::office::{DailyAmount, Dashboard, DueInvoice, Summary};
use pos_protocol::DataResponse;
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::store::row::required;
use crate::store::{stock_totals, Column, StoreError, StoreResult, TxExec, Value};
use crate::trade::{add, sum};
use crate::AppState;

/// Days of the dashboard's charts.
const CHART_DAYS: i64 = 7;

fn cell(row: &[Value], i: usize) -> StoreResult<&Value> {
    row.get(i)
        .ok_or_else(|| StoreError::Corrupt(format!("a row without column {i}")))
}

fn dec(row: &[Value], i: usize) -> StoreResult<Decimal> {
    Ok(cell(row, i)?.decimal()?.unwrap_or(Decimal::ZERO))
}

fn int(row: &[Value], i: usize) -> StoreResult<i64> {
    required(cell(row, i)?.int()?, "a figures row")
}

fn time(row: &[Value], i: usize) -> StoreResult<DateTime<Utc>> {
    required(cell(row, i)?.time()?, "a figures row")
}

/// A money document: its total, what was paid on it, its profit and its date.
struct Document {
    total: Decimal,
    paid: Decimal,
    profit: Decimal,
    date: DateTime<Utc>,
}

/// Live rows of a document table, from `since` on when given.
async fn documents(
    exec: &mut dyn TxExec,
    select: &str,
    date_column: &str,
    business_id: i64,
    since: Option<DateTime<Utc>>,
) -> StoreResult<Vec<Document>> {
    let mut sql = format!("{select} WHERE business_id = $1 AND deleted_at IS NULL");
    let mut args = vec![Value::Int(Some(business_id))];
    if let Some(since) = since {
        sql.push_str(&format!(" AND {date_column} >= $2"));
        args.push(Value::Time(Some(since)));
    }
    let rows = exec
        .fetch_all(
            &sql,
            &args,
            &[
                Column::Decimal,
                Column::Decimal,
                Column::Decimal,
                Column::Time,
            ],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Document {
                total: dec(r, 0)?,
                paid: dec(r, 1)?,
                profit: dec(r, 2)?,
                date: time(r, 3)?,
            })
        })
        .collect()
}

const SALES: &str = "SELECT total_amount, paid_amount, loss_profit, sale_date FROM sales";
// Purchases and due collections carry no profit: the third column only fills the shape.
const PURCHASES: &str =
    "SELECT total_amount, paid_amount, total_amount, purchase_date FROM purchases";
const DUES: &str = "SELECT pay_amount, pay_amount, pay_amount, payment_date FROM due_collects";

/// Everything the figures are made of, from `since` on (all time when `None`).
struct Books {
    sales: Vec<Document>,
    purchases: Vec<Document>,
    dues: Vec<Document>,
}

async fn books(
    exec: &mut dyn TxExec,
    business_id: i64,
    since: Option<DateTime<Utc>>,
) -> StoreResult<Books> {
    Ok(Books {
        sales: documents(exec, SALES, "sale_date", business_id, since).await?,
        purchases: documents(exec, PURCHASES, "purchase_date", business_id, since).await?,
        dues: documents(exec, DUES, "payment_date", business_id, since).await?,
    })
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_else(Utc::now)
}

fn sum_of(docs: &[Document], pick: impl Fn(&Document) -> Decimal) -> ApiResult<Decimal> {
    sum(docs.iter().map(pick))
}

/// Today's figures from books read since the start of today.
fn summarise_today(today: &Books) -> ApiResult<Summary> {
    Ok(Summary {
        sales: sum_of(&today.sales, |d| d.total)?,
        income: sum([
            sum_of(&today.sales, |d| d.paid)?,
            sum_of(&today.dues, |d| d.paid)?,
        ])?,
        expense: sum_of(&today.purchases, |d| d.paid)?,
        purchase: sum_of(&today.purchases, |d| d.total)?,
        sales_count: today.sales.len() as u64,
    })
}

fn daily(docs: &[Document], first_day: NaiveDate) -> ApiResult<Vec<DailyAmount>> {
    (0..CHART_DAYS)
        .map(|offset| {
            let day = first_day + Duration::days(offset);
            Ok(DailyAmount {
                date: day.format("%Y-%m-%d").to_string(),
                amount: sum(docs
                    .iter()
                    .filter(|d| d.date.date_naive() == day)
                    .map(|d| d.total))?,
            })
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/summary", tag = "statistics",
    responses((status = 200, description = "Today's figures", body = DataResponse<Summary>),
              (status = 403, description = "Managers and owners only", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn summary(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DataResponse<Summary>>> {
    user.require(Role::Manager, "see the business's figures")?;
    let since = start_of(Utc::now().date_naive());
    let mut tx = state.store.begin_read().await?;
    let today = books(tx.as_mut(), user.business_id, Some(since)).await?;
    tx.commit().await?;
    Ok(Json(DataResponse::new("Summary", summarise_today(&today)?)))
}

fn count(rows: &[Vec<Value>]) -> u64 {
    rows.first()
        .and_then(|r| int(r, 0).ok())
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0)
}

#[utoipa::path(get, path = "/api/v1/dashboard", tag = "statistics",
    responses((status = 200, description = "The back office's front page", body = DataResponse<Dashboard>),
              (status = 403, description = "Managers and owners only", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn dashboard(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DataResponse<Dashboard>>> {
    user.require(Role::Manager, "see the business's figures")?;
    let business = Value::Int(Some(user.business_id));
    let today = Utc::now().date_naive();
    let mut tx = state.store.begin_read().await?;
    let all = books(tx.as_mut(), user.business_id, None).await?;
    let live_count = |table: &str| {
        format!("SELECT COUNT(*) FROM {table} WHERE business_id = $1 AND deleted_at IS NULL")
    };
    let total_items = count(
        &tx.fetch_all(
            &live_count("products"),
            std::slice::from_ref(&business),
            &[Column::Int],
        )
        .await?,
    );
    let total_categories = count(
        &tx.fetch_all(
            &live_count("categories"),
            std::slice::from_ref(&business),
            &[Column::Int],
        )
        .await?,
    );
    let stock_rows = tx
        .fetch_all(
            "SELECT product_id, product_stock, product_purchase_price FROM stocks \
             WHERE business_id = $1 AND deleted_at IS NULL",
            std::slice::from_ref(&business),
            &[Column::Int, Column::Decimal, Column::Decimal],
        )
        .await?;
    let alerts = tx
        .fetch_all(
            "SELECT id, alert_qty FROM products WHERE business_id = $1 AND deleted_at IS NULL",
            std::slice::from_ref(&business),
            &[Column::Int, Column::Decimal],
        )
        .await?;
    let dues = tx
        .fetch_all(
            "SELECT due FROM parties WHERE business_id = $1 AND deleted_at IS NULL",
            std::slice::from_ref(&business),
            &[Column::Decimal],
        )
        .await?;
    tx.commit().await?;

    let mut stock_value = Decimal::ZERO;
    let mut quantities = Vec::with_capacity(stock_rows.len());
    for row in &stock_rows {
        let quantity = dec(row, 1)?;
        let value = quantity
            .max(Decimal::ZERO)
            .checked_mul(dec(row, 2)?)
            .unwrap_or(Decimal::MAX);
        add(&mut stock_value, value)?;
        quantities.push((int(row, 0)?, quantity));
    }
    let totals = stock_totals(quantities);
    let mut low_stock_count = 0;
    for row in &alerts {
        let alert = dec(row, 1)?;
        let held = totals.get(&int(row, 0)?).copied().unwrap_or(Decimal::ZERO);
        if alert > Decimal::ZERO && held <= alert {
            low_stock_count += 1;
        }
    }
    let mut total_due = Decimal::ZERO;
    for row in &dues {
        add(&mut total_due, dec(row, 0)?.max(Decimal::ZERO))?;
    }
    let since = start_of(today);
    let todays: Vec<&Document> = all.sales.iter().filter(|d| d.date >= since).collect();
    let first_day = today - Duration::days(CHART_DAYS - 1);
    Ok(Json(DataResponse::new(
        "Dashboard",
        Dashboard {
            total_expense: sum_of(&all.purchases, |d| d.paid)?,
            total_income: sum([
                sum_of(&all.sales, |d| d.paid)?,
                sum_of(&all.dues, |d| d.paid)?,
            ])?,
            total_items,
            total_categories,
            stock_value,
            total_due,
            total_profit: sum_of(&all.sales, |d| d.profit.max(Decimal::ZERO))?,
            total_loss: sum_of(&all.sales, |d| (-d.profit).max(Decimal::ZERO))?,
            today_sales: sum(todays.iter().map(|d| d.total))?,
            today_sales_count: todays.len() as u64,
            low_stock_count,
            sales: daily(&all.sales, first_day)?,
            purchases: daily(&all.purchases, first_day)?,
        },
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoicesQuery {
    /// The customer whose unpaid sales to list (every customer's when absent).
    pub party_id: Option<i64>,
}

/// A party's sales with something left to pay, oldest first: what a due collection can be
/// made against.
#[utoipa::path(get, path = "/api/v1/invoices", tag = "statistics", params(InvoicesQuery),
    responses((status = 200, description = "The party's unpaid sales", body = DataResponse<Vec<DueInvoice>>),
              (status = 422, description = "No such party in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn invoices(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<InvoicesQuery>,
) -> ApiResult<Json<DataResponse<Vec<DueInvoice>>>> {
    if let Some(party_id) = query.party_id {
        let live = state
            .store
            .live_ids("parties", user.business_id, &[party_id])
            .await?;
        if live.is_empty() {
            return Err(ApiError::invalid_field(
                "party_id",
                format!("no party with id {party_id} in this business"),
            ));
        }
    }
    let mut tx = state.store.begin_read().await?;
    let rows = tx
        .fetch_all(
            "SELECT id, invoice_number, total_amount, paid_amount, due_amount, sale_date, party_id \
             FROM sales WHERE business_id = $1 AND party_id IS NOT NULL \
             AND ($2 = 0 OR party_id = $2) AND deleted_at IS NULL ORDER BY sale_date, id",
            &[
                Value::Int(Some(user.business_id)),
                Value::Int(Some(query.party_id.unwrap_or(0))),
            ],
            &[
                Column::Int,
                Column::Text,
                Column::Decimal,
                Column::Decimal,
                Column::Decimal,
                Column::Time,
                Column::Int,
            ],
        )
        .await?;
    tx.commit().await?;
    let mut unpaid = Vec::new();
    for row in rows {
        let due = dec(&row, 4)?;
        if due <= Decimal::ZERO {
            continue;
        }
        unpaid.push(DueInvoice {
            id: int(&row, 0)?,
            party_id: int(&row, 6)?,
            invoice_number: match row.get(1) {
                Some(Value::Text(Some(v))) => v.clone(),
                _ => return Err(StoreError::Corrupt("a sale without a number".into()).into()),
            },
            total_amount: dec(&row, 2)?,
            paid_amount: dec(&row, 3)?,
            due_amount: due,
            sale_date: time(&row, 5)?,
        });
    }
    Ok(Json(DataResponse::new("Unpaid invoices", unpaid)))
}
