//! The statements one sync operation runs inside its own write transaction, written once for
//! both databases and run through `TxExec`. Row locks (`FOR UPDATE`) make read-then-write of
//! stock and dues safe on PostgreSQL; SQLite holds its write lock from `BEGIN IMMEDIATE`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{Column, StoreError, StoreResult, TxExec, Value};

fn int(v: i64) -> Value {
    Value::Int(Some(v))
}
fn text(v: &str) -> Value {
    Value::Text(Some(v.to_string()))
}
fn opt_text(v: Option<&str>) -> Value {
    Value::Text(v.map(str::to_string))
}
fn opt_int(v: Option<i64>) -> Value {
    Value::Int(v)
}
fn dec(v: Decimal) -> Value {
    Value::Decimal(Some(v))
}
fn time(v: DateTime<Utc>) -> Value {
    Value::Time(Some(v))
}

fn get_int(row: &[Value], i: usize) -> StoreResult<i64> {
    match row.get(i) {
        Some(Value::Int(Some(v))) => Ok(*v),
        other => Err(StoreError::Corrupt(format!(
            "expected an integer, got {other:?}"
        ))),
    }
}
fn get_opt_int(row: &[Value], i: usize) -> Option<i64> {
    match row.get(i) {
        Some(Value::Int(v)) => *v,
        _ => None,
    }
}
fn get_text(row: &[Value], i: usize) -> StoreResult<String> {
    match row.get(i) {
        Some(Value::Text(Some(v))) => Ok(v.clone()),
        other => Err(StoreError::Corrupt(format!("expected text, got {other:?}"))),
    }
}
fn get_dec(row: &[Value], i: usize) -> StoreResult<Decimal> {
    match row.get(i) {
        Some(Value::Decimal(Some(v))) => Ok(*v),
        other => Err(StoreError::Corrupt(format!(
            "expected a number, got {other:?}"
        ))),
    }
}
fn get_time(row: &[Value], i: usize) -> StoreResult<DateTime<Utc>> {
    match row.get(i) {
        Some(Value::Time(Some(v))) => Ok(*v),
        other => Err(StoreError::Corrupt(format!(
            "expected a time, got {other:?}"
        ))),
    }
}
fn is_set(row: &[Value], i: usize) -> bool {
    matches!(row.get(i), Some(Value::Time(Some(_))))
}

/// `$first, …`: `count` numbered parameters, for an `IN (…)` list.
fn parameters(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($first, …), (…)`: `rows` rows of `columns` numbered parameters, for `VALUES`.
fn value_rows(first: usize, rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", parameters(first + row * columns, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A created or found document: what an operation result reports.
#[derive(Debug, Clone)]
pub struct DocumentRef {
    pub id: i64,
    pub invoice_number: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct StockRow {
    pub id: i64,
    pub product_id: i64,
    pub quantity: Decimal,
    pub purchase_price: Decimal,
}

#[derive(Debug, Clone)]
pub struct PartyRow {
    pub id: i64,
    pub due: Decimal,
    pub version: i64,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct SaleDue {
    pub id: i64,
    pub party_id: Option<i64>,
    pub due_amount: Decimal,
}

/// A sale row as written: its id was reserved beforehand (`reserve_ids`), so that the rows of
/// several sales can be written in one statement and still be reported one by one.
pub struct NewSale {
    pub id: i64,
    pub business_id: i64,
    pub invoice_number: String,
    pub user_id: i64,
    pub device_id: String,
    pub client_reference: Option<String>,
    pub offline_invoice_no: Option<String>,
    pub local_id: Option<String>,
    pub party_id: Option<i64>,
    pub payment_type_id: Option<i64>,
    pub total_amount: Decimal,
    pub discount_amount: Decimal,
    pub vat_amount: Decimal,
    pub vat_percent: Decimal,
    pub paid_amount: Decimal,
    pub due_amount: Decimal,
    pub change_amount: Decimal,
    pub is_paid: bool,
    pub loss_profit: Decimal,
    pub sale_date: DateTime<Utc>,
    pub offline_timestamp: Option<DateTime<Utc>>,
    pub totals_mismatch: bool,
    pub meta: Option<String>,
    pub shift_id: Option<i64>,
    pub now: DateTime<Utc>,
}

pub struct NewSaleLine {
    pub sale_id: i64,
    pub line_no: i64,
    pub stock_id: i64,
    pub product_id: i64,
    pub quantity: Decimal,
    pub price: Decimal,
    pub discount: Decimal,
    pub vat_id: Option<i64>,
    pub vat_amount: Decimal,
    pub loss_profit: Decimal,
}

/// A sale line that sold more than its stock row held, for the review list.
pub struct NewDiscrepancy {
    pub business_id: i64,
    pub product_id: i64,
    pub stock_id: i64,
    pub sale_id: i64,
    pub device_id: String,
    pub expected: Decimal,
    pub available: Decimal,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct SaleLineState {
    pub detail_id: i64,
    pub stock_id: Option<i64>,
    pub sold: Decimal,
    pub price: Decimal,
    pub discount: Decimal,
    pub vat_amount: Decimal,
    /// Taken back by earlier applied returns.
    pub returned: Decimal,
    pub refunded: Decimal,
}

pub struct NewSaleReturn<'a> {
    pub business_id: i64,
    pub sale_id: i64,
    pub user_id: i64,
    pub device_id: &'a str,
    pub local_id: Option<&'a str>,
    pub client_reference: Option<&'a str>,
    pub shift_id: Option<i64>,
    pub refund_method: &'a str,
    pub payment_type_id: Option<i64>,
    pub refund_amount: Decimal,
    pub authorised_by: Option<i64>,
    /// `applied`, or `conflict` when it asks back more than is left of the sale.
    pub status: &'a str,
    pub return_date: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

pub struct NewPartyRow<'a> {
    pub business_id: i64,
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub address: Option<&'a str>,
    pub party_type: &'a str,
    pub now: DateTime<Utc>,
}

pub struct NewDueCollection<'a> {
    pub business_id: i64,
    pub party_id: i64,
    pub sale_id: Option<i64>,
    pub user_id: i64,
    pub device_id: &'a str,
    pub local_id: Option<&'a str>,
    pub client_reference: Option<&'a str>,
    pub payment_type_id: Option<i64>,
    pub total_due: Decimal,
    pub amount: Decimal,
    pub due_after: Decimal,
    pub payment_date: DateTime<Utc>,
    pub note: Option<&'a str>,
    pub now: DateTime<Utc>,
}

pub struct AuditEntry<'a> {
    pub business_id: i64,
    pub device_id: &'a str,
    pub user_id: i64,
    pub entity: &'a str,
    pub action: &'a str,
    pub entity_id: Option<i64>,
    pub idempotency_key: &'a str,
    pub offline_timestamp: Option<DateTime<Utc>>,
    pub payload: String,
    pub diff: Option<String>,
    pub now: DateTime<Utc>,
}

/// One operation's transaction. Dropping it without `commit` rolls everything back.
pub struct SyncTx {
    exec: SavepointExec,
}

/// The transaction's statements, each preceded by the operation's `SAVEPOINT` when one was
/// asked for and not sent yet. An operation that runs no statement (a sale whose checks read
/// only what its chunk holds and whose rows are written with the chunk's) costs no round trip
/// for a savepoint, and rolling it back costs none either.
struct SavepointExec {
    inner: Box<dyn TxExec>,
    savepoint_due: bool,
}

impl SavepointExec {
    async fn send_savepoint(&mut self) -> StoreResult<()> {
        if self.savepoint_due {
            self.savepoint_due = false;
            self.inner.execute("SAVEPOINT operation", &[]).await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl TxExec for SavepointExec {
    async fn execute(&mut self, sql: &str, args: &[Value]) -> StoreResult<u64> {
        self.send_savepoint().await?;
        self.inner.execute(sql, args).await
    }

    async fn fetch_all(
        &mut self,
        sql: &str,
        args: &[Value],
        columns: &[Column],
    ) -> StoreResult<Vec<Vec<Value>>> {
        self.send_savepoint().await?;
        self.inner.fetch_all(sql, args, columns).await
    }

    async fn reserve_ids(&mut self, table: &'static str, count: usize) -> StoreResult<Vec<i64>> {
        self.send_savepoint().await?;
        self.inner.reserve_ids(table, count).await
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.inner.commit().await
    }
}

/// At most this many bound parameters go in one statement (SQLite allows 32,766, PostgreSQL
/// 65,535); longer row lists are split.
const MAX_PARAMETERS: usize = 30_000;

const OP_KEY_PREFIX: &str = "op:";

impl SyncTx {
    pub fn new(exec: Box<dyn TxExec>) -> Self {
        Self {
            exec: SavepointExec {
                inner: exec,
                savepoint_due: false,
            },
        }
    }

    pub async fn commit(self) -> StoreResult<()> {
        self.exec.inner.commit().await
    }

    /// Inserts rows in as few statements as the parameter limit allows: `head` is the
    /// statement up to `VALUES`, `row(first)` spells one row whose parameters start at
    /// `first`, and `args` holds `columns` values per row, row after row.
    async fn insert_rows(
        &mut self,
        head: &str,
        columns: usize,
        row: impl Fn(usize) -> String,
        args: &[Value],
    ) -> StoreResult<()> {
        for part in args.chunks((MAX_PARAMETERS / columns) * columns) {
            let rows = (0..part.len() / columns)
                .map(|i| row(1 + i * columns))
                .collect::<Vec<_>>()
                .join(", ");
            self.exec
                .execute(&format!("{head} VALUES {rows}"), part)
                .await?;
        }
        Ok(())
    }

    /// Ids for rows of `table` that no other transaction will use.
    pub async fn reserve_ids(
        &mut self,
        table: &'static str,
        count: usize,
    ) -> StoreResult<Vec<i64>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        self.exec.reserve_ids(table, count).await
    }

    async fn one(
        &mut self,
        sql: &str,
        args: &[Value],
        columns: &[Column],
    ) -> StoreResult<Option<Vec<Value>>> {
        Ok(self
            .exec
            .fetch_all(sql, args, columns)
            .await?
            .into_iter()
            .next())
    }

    /// Marks where the next operation starts, so that it can fail alone (`rollback_to_savepoint`)
    /// while the operations before it stay in the transaction.
    /// The savepoint itself is sent with the next statement.
    pub fn savepoint(&mut self) {
        self.exec.savepoint_due = true;
    }

    /// Undoes everything since the last `savepoint`, and leaves the transaction usable.
    pub async fn rollback_to_savepoint(&mut self) -> StoreResult<()> {
        if self.exec.savepoint_due {
            // No statement ran since: nothing to undo.
            self.exec.savepoint_due = false;
            return Ok(());
        }
        self.exec
            .inner
            .execute("ROLLBACK TO SAVEPOINT operation", &[])
            .await?;
        Ok(())
    }

    /// The stored, unexpired results of operation keys: key → (request hash, result JSON).
    pub async fn operation_results(
        &mut self,
        business_id: i64,
        keys: &[&str],
        now: DateTime<Utc>,
    ) -> StoreResult<HashMap<String, (String, String)>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut args = vec![int(business_id), time(now)];
        args.extend(keys.iter().map(|k| text(&format!("{OP_KEY_PREFIX}{k}"))));
        let rows = self
            .exec
            .fetch_all(
                &format!(
                    "SELECT idempotency_key, request_hash, response_body FROM idempotency_keys \
                     WHERE business_id = $1 AND expires_at > $2 AND idempotency_key IN ({})",
                    parameters(3, keys.len())
                ),
                &args,
                &[Column::Text, Column::Text, Column::Bytes],
            )
            .await?;
        let mut found = HashMap::new();
        for row in rows {
            let key = get_text(&row, 0)?;
            let body = match row.get(2) {
                Some(Value::Bytes(Some(bytes))) => String::from_utf8_lossy(bytes).into_owned(),
                _ => String::new(),
            };
            let key = key.strip_prefix(OP_KEY_PREFIX).unwrap_or(&key).to_string();
            found.insert(key, (get_text(&row, 1)?, body));
        }
        Ok(found)
    }

    /// Stores operation results under their keys: (key, request hash, result JSON).
    pub async fn store_operation_results(
        &mut self,
        business_id: i64,
        results: &[(&str, &str, &str)],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        if results.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = results
            .iter()
            .map(|(key, _, _)| format!("{OP_KEY_PREFIX}{key}"))
            .collect();
        // An expired record of a key gives way to the new one; a live one stays, so that a
        // concurrent first application ends in a unique violation instead of a second one.
        let mut args = vec![int(business_id), time(now)];
        args.extend(keys.iter().map(|k| text(k)));
        self.exec
            .execute(
                &format!(
                    "DELETE FROM idempotency_keys WHERE business_id = $1 AND expires_at <= $2 \
                     AND idempotency_key IN ({})",
                    parameters(3, keys.len())
                ),
                &args,
            )
            .await?;
        let mut args = vec![int(business_id), time(now), time(expires_at)];
        let mut rows = Vec::with_capacity(results.len());
        for (key, (_, hash, result)) in keys.iter().zip(results) {
            let n = args.len();
            rows.push(format!(
                "($1, ${}, 'SYNC', '/api/v1/sync/batch', ${}, 200, ${}, $2, $2, $3)",
                n + 1,
                n + 2,
                n + 3
            ));
            args.push(text(key));
            args.push(text(hash));
            args.push(Value::Bytes(Some(result.as_bytes().to_vec())));
        }
        self.exec
            .execute(
                &format!(
                    "INSERT INTO idempotency_keys (business_id, idempotency_key, method, path, request_hash, \
                     status_code, response_body, locked_at, created_at, expires_at) VALUES {}",
                    rows.join(", ")
                ),
                &args,
            )
            .await?;
        Ok(())
    }

    /// Sales of the business by client reference: reference → sale.
    pub async fn sales_by_reference(
        &mut self,
        business_id: i64,
        references: &[&str],
    ) -> StoreResult<HashMap<String, DocumentRef>> {
        if references.is_empty() {
            return Ok(HashMap::new());
        }
        let mut args = vec![int(business_id)];
        args.extend(references.iter().map(|r| text(r)));
        self.documents_by_text(
            &format!(
                "SELECT client_reference, id, invoice_number, version, created_at FROM sales \
                 WHERE business_id = $1 AND client_reference IN ({})",
                parameters(2, references.len())
            ),
            &args,
        )
        .await
    }

    /// Sales a device created from its local ids: local id → sale.
    pub async fn sales_by_local_id(
        &mut self,
        business_id: i64,
        device_id: &str,
        local_ids: &[&str],
    ) -> StoreResult<HashMap<String, DocumentRef>> {
        if local_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut args = vec![int(business_id), text(device_id)];
        args.extend(local_ids.iter().map(|l| text(l)));
        self.documents_by_text(
            &format!(
                "SELECT m.local_id, s.id, s.invoice_number, s.version, s.created_at \
                 FROM local_id_map m JOIN sales s ON s.id = m.server_id AND s.business_id = m.business_id \
                 WHERE m.business_id = $1 AND m.device_id = $2 AND m.entity = 'sale' AND m.local_id IN ({})",
                parameters(3, local_ids.len())
            ),
            &args,
        )
        .await
    }

    async fn documents_by_text(
        &mut self,
        sql: &str,
        args: &[Value],
    ) -> StoreResult<HashMap<String, DocumentRef>> {
        let rows = self
            .exec
            .fetch_all(
                sql,
                args,
                &[
                    Column::Text,
                    Column::Int,
                    Column::Text,
                    Column::Int,
                    Column::Time,
                ],
            )
            .await?;
        let mut found = HashMap::new();
        for row in rows {
            found.insert(
                get_text(&row, 0)?,
                DocumentRef {
                    id: get_int(&row, 1)?,
                    invoice_number: get_text(&row, 2).ok(),
                    version: get_int(&row, 3)?,
                    created_at: get_time(&row, 4)?,
                },
            );
        }
        Ok(found)
    }

    pub async fn local_id(
        &mut self,
        business_id: i64,
        device_id: &str,
        entity: &str,
        local_id: &str,
    ) -> StoreResult<Option<i64>> {
        let row = self
            .one(
                "SELECT server_id FROM local_id_map WHERE business_id = $1 AND device_id = $2 \
                 AND entity = $3 AND local_id = $4",
                &[
                    int(business_id),
                    text(device_id),
                    text(entity),
                    text(local_id),
                ],
                &[Column::Int],
            )
            .await?;
        row.map(|r| get_int(&r, 0)).transpose()
    }

    pub async fn map_local_id(
        &mut self,
        business_id: i64,
        device_id: &str,
        entity: &str,
        local_id: &str,
        server_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.map_local_ids(
            business_id,
            device_id,
            entity,
            &[(local_id, server_id)],
            now,
        )
        .await
    }

    /// Maps several of a device's local ids of one entity: (local id, server id).
    pub async fn map_local_ids(
        &mut self,
        business_id: i64,
        device_id: &str,
        entity: &str,
        ids: &[(&str, i64)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut args = Vec::with_capacity(ids.len() * 6);
        for (local_id, server_id) in ids {
            args.extend([
                int(business_id),
                text(device_id),
                text(entity),
                text(local_id),
                int(*server_id),
                time(now),
            ]);
        }
        self.insert_rows(
            "INSERT INTO local_id_map (business_id, device_id, entity, local_id, server_id, created_at)",
            6,
            |first| format!("({})", parameters(first, 6)),
            &args,
        )
        .await
    }

    pub async fn sale_by_reference(
        &mut self,
        business_id: i64,
        client_reference: &str,
    ) -> StoreResult<Option<DocumentRef>> {
        self.document(
            "SELECT id, invoice_number, version, created_at FROM sales \
             WHERE business_id = $1 AND client_reference = $2",
            &[int(business_id), text(client_reference)],
        )
        .await
    }

    pub async fn sale_by_id(
        &mut self,
        business_id: i64,
        id: i64,
    ) -> StoreResult<Option<DocumentRef>> {
        self.document(
            "SELECT id, invoice_number, version, created_at FROM sales WHERE business_id = $1 AND id = $2",
            &[int(business_id), int(id)],
        )
        .await
    }

    async fn document(&mut self, sql: &str, args: &[Value]) -> StoreResult<Option<DocumentRef>> {
        let row = self
            .one(
                sql,
                args,
                &[Column::Int, Column::Text, Column::Int, Column::Time],
            )
            .await?;
        row.map(|r| {
            Ok(DocumentRef {
                id: get_int(&r, 0)?,
                invoice_number: get_text(&r, 1).ok(),
                version: get_int(&r, 2)?,
                created_at: get_time(&r, 3)?,
            })
        })
        .transpose()
    }

    /// The next number of the business's `kind` counter; gap-free because the counter row
    /// stays locked until this transaction ends.
    pub async fn next_invoice_number(&mut self, business_id: i64, kind: &str) -> StoreResult<i64> {
        let row = self
            .one(
                "INSERT INTO invoice_counters (business_id, kind, last_number) VALUES ($1, $2, 1) \
                 ON CONFLICT (business_id, kind) DO UPDATE SET last_number = invoice_counters.last_number + 1 \
                 RETURNING last_number",
                &[int(business_id), text(kind)],
                &[Column::Int],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("the invoice counter returned nothing".into()))?;
        get_int(&row, 0)
    }

    /// The last number of the business's `kind` counter, its row locked until this transaction
    /// ends: whoever takes numbers after this waits, so the numbers this transaction hands out
    /// (`set_invoice_counter`) follow on without a gap.
    pub async fn lock_invoice_counter(&mut self, business_id: i64, kind: &str) -> StoreResult<i64> {
        let row = self
            .one(
                "INSERT INTO invoice_counters (business_id, kind, last_number) VALUES ($1, $2, 0) \
                 ON CONFLICT (business_id, kind) DO UPDATE SET last_number = invoice_counters.last_number \
                 RETURNING last_number",
                &[int(business_id), text(kind)],
                &[Column::Int],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("the invoice counter returned nothing".into()))?;
        get_int(&row, 0)
    }

    pub async fn set_invoice_counter(
        &mut self,
        business_id: i64,
        kind: &str,
        last_number: i64,
    ) -> StoreResult<()> {
        self.exec
            .execute(
                "UPDATE invoice_counters SET last_number = $3 WHERE business_id = $1 AND kind = $2",
                &[int(business_id), text(kind), int(last_number)],
            )
            .await?;
        Ok(())
    }

    /// Stock rows of the business, soft-deleted or not, locked for this transaction in id
    /// order (so two writers locking several rows cannot wait on each other in a cycle).
    pub async fn stocks_for_update(
        &mut self,
        business_id: i64,
        ids: &[i64],
    ) -> StoreResult<Vec<StockRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![int(business_id)];
        args.extend(ids.iter().map(|id| int(*id)));
        let rows = self
            .exec
            .fetch_all(
                &format!(
                    "SELECT id, product_id, product_stock, product_purchase_price FROM stocks \
                     WHERE business_id = $1 AND id IN ({}) ORDER BY id FOR UPDATE",
                    parameters(2, ids.len())
                ),
                &args,
                &[Column::Int, Column::Int, Column::Decimal, Column::Decimal],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StockRow {
                    id: get_int(r, 0)?,
                    product_id: get_int(r, 1)?,
                    quantity: get_dec(r, 2)?,
                    purchase_price: get_dec(r, 3)?,
                })
            })
            .collect()
    }

    /// Sets the quantities of stock rows (id, quantity) in one statement.
    pub async fn set_stocks(
        &mut self,
        quantities: &[(i64, Decimal)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        if quantities.is_empty() {
            return Ok(());
        }
        let mut args = vec![time(now)];
        for (id, quantity) in quantities {
            args.push(int(*id));
            args.push(dec(*quantity));
        }
        self.exec
            .execute(
                &format!(
                    "UPDATE stocks SET product_stock = v.column2, version = stocks.version + 1, updated_at = $1 \
                     FROM (VALUES {}) AS v WHERE stocks.id = v.column1",
                    value_rows(2, quantities.len(), 2)
                ),
                &args,
            )
            .await?;
        Ok(())
    }

    /// A stock row of the business, soft-deleted or not, locked for this transaction.
    pub async fn stock_for_update(
        &mut self,
        business_id: i64,
        id: i64,
    ) -> StoreResult<Option<StockRow>> {
        let row = self
            .one(
                "SELECT id, product_id, product_stock, product_purchase_price FROM stocks \
                 WHERE business_id = $1 AND id = $2 FOR UPDATE",
                &[int(business_id), int(id)],
                &[Column::Int, Column::Int, Column::Decimal, Column::Decimal],
            )
            .await?;
        row.map(|r| {
            Ok(StockRow {
                id: get_int(&r, 0)?,
                product_id: get_int(&r, 1)?,
                quantity: get_dec(&r, 2)?,
                purchase_price: get_dec(&r, 3)?,
            })
        })
        .transpose()
    }

    pub async fn set_stock(
        &mut self,
        id: i64,
        quantity: Decimal,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.exec
            .execute(
                "UPDATE stocks SET product_stock = $2, version = version + 1, updated_at = $3 WHERE id = $1",
                &[int(id), dec(quantity), time(now)],
            )
            .await?;
        Ok(())
    }

    pub async fn party_for_update(
        &mut self,
        business_id: i64,
        id: i64,
    ) -> StoreResult<Option<PartyRow>> {
        let row = self
            .one(
                "SELECT id, due, version, deleted_at, created_at FROM parties \
                 WHERE business_id = $1 AND id = $2 FOR UPDATE",
                &[int(business_id), int(id)],
                &[
                    Column::Int,
                    Column::Decimal,
                    Column::Int,
                    Column::Time,
                    Column::Time,
                ],
            )
            .await?;
        row.map(|r| {
            Ok(PartyRow {
                id: get_int(&r, 0)?,
                due: get_dec(&r, 1)?,
                version: get_int(&r, 2)?,
                deleted: is_set(&r, 3),
                created_at: get_time(&r, 4)?,
            })
        })
        .transpose()
    }

    pub async fn set_party_due(
        &mut self,
        id: i64,
        due: Decimal,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.exec
            .execute(
                "UPDATE parties SET due = $2, version = version + 1, updated_at = $3 WHERE id = $1",
                &[int(id), dec(due), time(now)],
            )
            .await?;
        Ok(())
    }

    /// Whether the payment type exists in the business (soft-deleted ones still count).
    pub async fn payment_type_exists(&mut self, business_id: i64, id: i64) -> StoreResult<bool> {
        Ok(self
            .one(
                "SELECT id FROM payment_types WHERE business_id = $1 AND id = $2",
                &[int(business_id), int(id)],
                &[Column::Int],
            )
            .await?
            .is_some())
    }

    /// VAT rates by id in the business (soft-deleted ones too).
    pub async fn vat_rate(&mut self, business_id: i64, id: i64) -> StoreResult<Option<Decimal>> {
        let row = self
            .one(
                "SELECT rate FROM vats WHERE business_id = $1 AND id = $2",
                &[int(business_id), int(id)],
                &[Column::Decimal],
            )
            .await?;
        row.map(|r| get_dec(&r, 0)).transpose()
    }

    /// Sale rows, with the ids reserved for them.
    pub async fn insert_sales(&mut self, sales: &[NewSale]) -> StoreResult<()> {
        const COLUMNS: usize = 26;
        let mut args = Vec::with_capacity(sales.len() * COLUMNS);
        for sale in sales {
            args.extend([
                int(sale.id),
                int(sale.business_id),
                text(&sale.invoice_number),
                int(sale.user_id),
                text(&sale.device_id),
                opt_text(sale.client_reference.as_deref()),
                opt_text(sale.offline_invoice_no.as_deref()),
                opt_text(sale.local_id.as_deref()),
                opt_int(sale.party_id),
                opt_int(sale.payment_type_id),
                dec(sale.total_amount),
                dec(sale.discount_amount),
                dec(sale.vat_amount),
                dec(sale.vat_percent),
                dec(sale.paid_amount),
                dec(sale.due_amount),
                dec(sale.change_amount),
                Value::Bool(Some(sale.is_paid)),
                dec(sale.loss_profit),
                time(sale.sale_date),
                Value::Time(sale.offline_timestamp),
                Value::Bool(Some(sale.totals_mismatch)),
                Value::Json(sale.meta.clone()),
                time(sale.now),
                time(sale.now),
                opt_int(sale.shift_id),
            ]);
        }
        self.insert_rows(
            "INSERT INTO sales (id, business_id, invoice_number, user_id, device_id, client_reference, \
             offline_invoice_no, local_id, party_id, payment_type_id, total_amount, discount_amount, \
             vat_amount, vat_percent, paid_amount, due_amount, change_amount, is_paid, loss_profit, \
             sale_date, offline_timestamp, totals_mismatch, meta, version, created_at, updated_at, shift_id)",
            COLUMNS,
            |first| {
                format!(
                    "({}, ${}::jsonb, 1, {})",
                    parameters(first, 22),
                    first + 22,
                    parameters(first + 23, 3)
                )
            },
            &args,
        )
        .await
    }

    /// Sale lines, of one sale or several.
    pub async fn insert_sale_lines(&mut self, lines: &[NewSaleLine]) -> StoreResult<()> {
        let mut args = Vec::with_capacity(lines.len() * 10);
        for line in lines {
            args.extend([
                int(line.sale_id),
                int(line.line_no),
                int(line.stock_id),
                int(line.product_id),
                dec(line.quantity),
                dec(line.price),
                dec(line.discount),
                opt_int(line.vat_id),
                dec(line.vat_amount),
                dec(line.loss_profit),
            ]);
        }
        self.insert_rows(
            "INSERT INTO sale_details (sale_id, line_no, stock_id, product_id, quantities, price, \
             discount, vat_id, vat_amount, loss_profit)",
            10,
            |first| format!("({})", parameters(first, 10)),
            &args,
        )
        .await
    }

    pub async fn insert_discrepancies(&mut self, found: &[NewDiscrepancy]) -> StoreResult<()> {
        let mut args = Vec::with_capacity(found.len() * 9);
        for d in found {
            args.extend([
                int(d.business_id),
                int(d.product_id),
                int(d.stock_id),
                int(d.sale_id),
                text(&d.device_id),
                dec(d.expected),
                dec(d.available),
                dec(d.available - d.expected),
                time(d.now),
            ]);
        }
        self.insert_rows(
            "INSERT INTO stock_discrepancy_logs (business_id, product_id, stock_id, sale_id, device_id, \
             expected, available, discrepancy, created_at)",
            9,
            |first| format!("({})", parameters(first, 9)),
            &args,
        )
        .await
    }

    pub async fn raise_offline_seq(&mut self, device_id: &str, seq: i64) -> StoreResult<()> {
        self.exec
            .execute(
                "UPDATE sync_devices SET last_offline_seq = $2 WHERE device_id = $1 AND last_offline_seq < $2",
                &[text(device_id), int(seq)],
            )
            .await?;
        Ok(())
    }

    pub async fn insert_party(&mut self, party: &NewPartyRow<'_>) -> StoreResult<DocumentRef> {
        let row = self
            .one(
                "INSERT INTO parties (business_id, name, phone, email, address, party_type, version, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING id",
                &[
                    int(party.business_id),
                    text(party.name),
                    opt_text(party.phone),
                    opt_text(party.email),
                    opt_text(party.address),
                    text(party.party_type),
                    time(party.now),
                ],
                &[Column::Int],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("a party insert returned nothing".into()))?;
        Ok(DocumentRef {
            id: get_int(&row, 0)?,
            invoice_number: None,
            version: 1,
            created_at: party.now,
        })
    }

    /// Sets the given text columns of a party and bumps its version; returns the new version.
    pub async fn update_party(
        &mut self,
        id: i64,
        fields: &[(&'static str, Option<String>)],
        deleted_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let mut sql = String::from("UPDATE parties SET version = version + 1, updated_at = $2");
        let mut args = vec![int(id), time(now)];
        for (column, value) in fields {
            args.push(Value::Text(value.clone()));
            sql.push_str(&format!(", {column} = ${}", args.len()));
        }
        if let Some(at) = deleted_at {
            args.push(time(at));
            sql.push_str(&format!(", deleted_at = ${}", args.len()));
        }
        sql.push_str(" WHERE id = $1 RETURNING version");
        let row = self
            .one(&sql, &args, &[Column::Int])
            .await?
            .ok_or_else(|| StoreError::Corrupt("a party update returned nothing".into()))?;
        get_int(&row, 0)
    }

    pub async fn sale_due(&mut self, business_id: i64, id: i64) -> StoreResult<Option<SaleDue>> {
        let row = self
            .one(
                "SELECT id, party_id, due_amount FROM sales WHERE business_id = $1 AND id = $2 FOR UPDATE",
                &[int(business_id), int(id)],
                &[Column::Int, Column::Int, Column::Decimal],
            )
            .await?;
        row.map(|r| {
            Ok(SaleDue {
                id: get_int(&r, 0)?,
                party_id: get_opt_int(&r, 1),
                due_amount: get_dec(&r, 2)?,
            })
        })
        .transpose()
    }

    pub async fn set_sale_due(
        &mut self,
        id: i64,
        due: Decimal,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.exec
            .execute(
                "UPDATE sales SET due_amount = $2, is_paid = $3, version = version + 1, updated_at = $4 WHERE id = $1",
                &[int(id), dec(due), Value::Bool(Some(due <= Decimal::ZERO)), time(now)],
            )
            .await?;
        Ok(())
    }

    pub async fn due_by_reference(
        &mut self,
        business_id: i64,
        client_reference: &str,
    ) -> StoreResult<Option<DocumentRef>> {
        self.document(
            "SELECT id, NULL, version, created_at FROM due_collects \
             WHERE business_id = $1 AND client_reference = $2",
            &[int(business_id), text(client_reference)],
        )
        .await
    }

    pub async fn due_by_id(
        &mut self,
        business_id: i64,
        id: i64,
    ) -> StoreResult<Option<DocumentRef>> {
        self.document(
            "SELECT id, NULL, version, created_at FROM due_collects WHERE business_id = $1 AND id = $2",
            &[int(business_id), int(id)],
        )
        .await
    }

    pub async fn insert_due_collection(
        &mut self,
        due: &NewDueCollection<'_>,
    ) -> StoreResult<DocumentRef> {
        let row = self
            .one(
                "INSERT INTO due_collects (business_id, party_id, sale_id, user_id, device_id, local_id, \
                 client_reference, payment_type_id, total_due, pay_amount, due_amount_after, payment_date, \
                 note, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $14) RETURNING id",
                &[
                    int(due.business_id),
                    int(due.party_id),
                    opt_int(due.sale_id),
                    int(due.user_id),
                    text(due.device_id),
                    opt_text(due.local_id),
                    opt_text(due.client_reference),
                    opt_int(due.payment_type_id),
                    dec(due.total_due),
                    dec(due.amount),
                    dec(due.due_after),
                    time(due.payment_date),
                    opt_text(due.note),
                    time(due.now),
                ],
                &[Column::Int],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("a due collection insert returned nothing".into()))?;
        Ok(DocumentRef {
            id: get_int(&row, 0)?,
            invoice_number: None,
            version: 1,
            created_at: due.now,
        })
    }

    /// A shift of the business by id or client reference, and whether it is closed.
    pub async fn shift(
        &mut self,
        business_id: i64,
        id: Option<i64>,
        client_reference: Option<&str>,
    ) -> StoreResult<Option<(DocumentRef, bool)>> {
        let row = self
            .one(
                "SELECT id, NULL, version, created_at, status FROM shifts WHERE business_id = $1 \
                 AND (id = $2 OR client_reference = $3) ORDER BY id LIMIT 1 FOR UPDATE",
                &[int(business_id), opt_int(id), opt_text(client_reference)],
                &[
                    Column::Int,
                    Column::Text,
                    Column::Int,
                    Column::Time,
                    Column::Text,
                ],
            )
            .await?;
        row.map(|r| {
            Ok((
                DocumentRef {
                    id: get_int(&r, 0)?,
                    invoice_number: None,
                    version: get_int(&r, 2)?,
                    created_at: get_time(&r, 3)?,
                },
                get_text(&r, 4)? == "closed",
            ))
        })
        .transpose()
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn open_shift(
        &mut self,
        business_id: i64,
        device_id: &str,
        local_id: Option<&str>,
        client_reference: Option<&str>,
        user_id: i64,
        opened_at: DateTime<Utc>,
        opening_float: Decimal,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<DocumentRef> {
        let row = self
            .one(
                "INSERT INTO shifts (business_id, device_id, local_id, client_reference, user_id, opened_at, \
                 opening_float, note, status, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', 1, $9, $9) RETURNING id",
                &[
                    int(business_id),
                    text(device_id),
                    opt_text(local_id),
                    opt_text(client_reference),
                    int(user_id),
                    time(opened_at),
                    dec(opening_float),
                    opt_text(note),
                    time(now),
                ],
                &[Column::Int],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("a shift insert returned nothing".into()))?;
        Ok(DocumentRef {
            id: get_int(&row, 0)?,
            invoice_number: None,
            version: 1,
            created_at: now,
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn close_shift(
        &mut self,
        id: i64,
        closed_at: DateTime<Utc>,
        counted_cash: Option<Decimal>,
        counted_denominations: Option<String>,
        expected_cash: Option<Decimal>,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let row = self
            .one(
                "UPDATE shifts SET status = 'closed', closed_at = $2, counted_cash = $3, \
                 counted_denominations = $4::jsonb, expected_cash = $5, note = COALESCE($6, note), \
                 version = version + 1, updated_at = $7 WHERE id = $1 RETURNING version",
                &[
                    int(id),
                    time(closed_at),
                    Value::Decimal(counted_cash),
                    Value::Json(counted_denominations),
                    Value::Decimal(expected_cash),
                    opt_text(note),
                    time(now),
                ],
                &[Column::Int],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("a shift update returned nothing".into()))?;
        get_int(&row, 0)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_cash_movement(
        &mut self,
        business_id: i64,
        shift_id: i64,
        user_id: i64,
        device_id: &str,
        local_id: Option<&str>,
        kind: &str,
        amount: Decimal,
        reason: Option<&str>,
        authorised_by: Option<i64>,
        occurred_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<DocumentRef> {
        let row = self
            .one(
                "INSERT INTO cash_movements (business_id, shift_id, user_id, device_id, local_id, kind, amount, \
                 reason, authorised_by, occurred_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                &[
                    int(business_id),
                    int(shift_id),
                    int(user_id),
                    text(device_id),
                    opt_text(local_id),
                    text(kind),
                    dec(amount),
                    opt_text(reason),
                    opt_int(authorised_by),
                    time(occurred_at),
                    time(now),
                ],
                &[Column::Int],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("a cash movement insert returned nothing".into()))?;
        Ok(DocumentRef {
            id: get_int(&row, 0)?,
            invoice_number: None,
            version: 1,
            created_at: now,
        })
    }

    /// A sale line by its number, with what earlier applied returns took back from it:
    /// (detail id, stock id, quantity sold, price, discount, VAT amount, returned, refunded).
    pub async fn sale_line_for_return(
        &mut self,
        sale_id: i64,
        line_no: i64,
    ) -> StoreResult<Option<SaleLineState>> {
        let row = self
            .one(
                "SELECT id, stock_id, quantities, price, discount, vat_amount FROM sale_details \
                 WHERE sale_id = $1 AND line_no = $2 FOR UPDATE",
                &[int(sale_id), int(line_no)],
                &[
                    Column::Int,
                    Column::Int,
                    Column::Decimal,
                    Column::Decimal,
                    Column::Decimal,
                    Column::Decimal,
                ],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let detail_id = get_int(&row, 0)?;
        let earlier = self
            .exec
            .fetch_all(
                "SELECT d.quantity, d.amount FROM sale_return_details d \
                 JOIN sale_returns r ON r.id = d.sale_return_id \
                 WHERE d.sale_detail_id = $1 AND r.status = 'applied'",
                &[int(detail_id)],
                &[Column::Decimal, Column::Decimal],
            )
            .await?;
        let mut returned = Decimal::ZERO;
        let mut refunded = Decimal::ZERO;
        for r in &earlier {
            returned += get_dec(r, 0)?;
            refunded += get_dec(r, 1)?;
        }
        Ok(Some(SaleLineState {
            detail_id,
            stock_id: get_opt_int(&row, 1),
            sold: get_dec(&row, 2)?,
            price: get_dec(&row, 3)?,
            discount: get_dec(&row, 4)?,
            vat_amount: get_dec(&row, 5)?,
            returned,
            refunded,
        }))
    }

    pub async fn sale_return_by_reference(
        &mut self,
        business_id: i64,
        client_reference: &str,
    ) -> StoreResult<Option<DocumentRef>> {
        self.document(
            "SELECT id, NULL, CAST(1 AS BIGINT), created_at FROM sale_returns WHERE business_id = $1 AND client_reference = $2",
            &[int(business_id), text(client_reference)],
        )
        .await
    }

    pub async fn sale_return_by_id(
        &mut self,
        business_id: i64,
        id: i64,
    ) -> StoreResult<Option<DocumentRef>> {
        self.document(
            "SELECT id, NULL, CAST(1 AS BIGINT), created_at FROM sale_returns WHERE business_id = $1 AND id = $2",
            &[int(business_id), int(id)],
        )
        .await
    }

    pub async fn insert_sale_return(
        &mut self,
        new: &NewSaleReturn<'_>,
    ) -> StoreResult<DocumentRef> {
        let row = self
            .one(
                "INSERT INTO sale_returns (business_id, sale_id, user_id, device_id, local_id, client_reference, \
                 shift_id, refund_method, payment_type_id, refund_amount, authorised_by, status, return_date, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
                 RETURNING id",
                &[
                    int(new.business_id),
                    int(new.sale_id),
                    int(new.user_id),
                    text(new.device_id),
                    opt_text(new.local_id),
                    opt_text(new.client_reference),
                    opt_int(new.shift_id),
                    text(new.refund_method),
                    opt_int(new.payment_type_id),
                    dec(new.refund_amount),
                    opt_int(new.authorised_by),
                    text(new.status),
                    time(new.return_date),
                    time(new.now),
                ],
                &[Column::Int],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("a return insert returned nothing".into()))?;
        Ok(DocumentRef {
            id: get_int(&row, 0)?,
            invoice_number: None,
            version: 1,
            created_at: new.now,
        })
    }

    pub async fn insert_return_line(
        &mut self,
        sale_return_id: i64,
        sale_detail_id: i64,
        line_no: i64,
        quantity: Decimal,
        amount: Decimal,
    ) -> StoreResult<()> {
        self.exec
            .execute(
                "INSERT INTO sale_return_details (sale_return_id, sale_detail_id, line_no, quantity, amount) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[int(sale_return_id), int(sale_detail_id), int(line_no), dec(quantity), dec(amount)],
            )
            .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_conflict(
        &mut self,
        business_id: i64,
        device_id: &str,
        entity: &str,
        entity_id: i64,
        idempotency_key: &str,
        reason: &str,
        operation: String,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.exec
            .execute(
                "INSERT INTO sync_conflicts (business_id, device_id, entity, entity_id, idempotency_key, reason, \
                 operation, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'open', $8)",
                &[
                    int(business_id),
                    text(device_id),
                    text(entity),
                    int(entity_id),
                    text(idempotency_key),
                    text(reason),
                    Value::Json(Some(operation)),
                    time(now),
                ],
            )
            .await?;
        Ok(())
    }

    pub async fn audit(&mut self, entry: &AuditEntry<'_>) -> StoreResult<()> {
        self.audits(std::slice::from_ref(entry)).await
    }

    /// Several audit rows in one statement.
    pub async fn audits(&mut self, entries: &[AuditEntry<'_>]) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut args = Vec::with_capacity(entries.len() * 11);
        let mut rows = Vec::with_capacity(entries.len());
        for entry in entries {
            let n = args.len();
            rows.push(format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}::jsonb, ${}::jsonb)",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6,
                n + 7,
                n + 8,
                n + 9,
                n + 10,
                n + 11
            ));
            args.extend([
                int(entry.business_id),
                text(entry.device_id),
                int(entry.user_id),
                text(entry.entity),
                text(entry.action),
                opt_int(entry.entity_id),
                text(entry.idempotency_key),
                Value::Time(entry.offline_timestamp),
                time(entry.now),
                Value::Json(Some(entry.payload.clone())),
                Value::Json(entry.diff.clone()),
            ]);
        }
        self.exec
            .execute(
                &format!(
                    "INSERT INTO offline_audit_logs (business_id, device_id, user_id, entity, action, entity_id, \
                     idempotency_key, offline_timestamp, server_timestamp, payload, diff) VALUES {}",
                    rows.join(", ")
                ),
                &args,
            )
            .await?;
        Ok(())
    }

    /// The batch's log line and the device's last sync time.
    #[allow(clippy::too_many_arguments)]
    pub async fn log_batch(
        &mut self,
        business_id: i64,
        device_id: &str,
        user_id: i64,
        total: usize,
        succeeded: usize,
        failed: usize,
        started_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.exec
            .execute(
                "INSERT INTO sync_logs (business_id, device_id, user_id, kind, operations_count, \
                 success_count, error_count, started_at, finished_at) \
                 VALUES ($1, $2, $3, 'batch', $4, $5, $6, $7, $8)",
                &[
                    int(business_id),
                    text(device_id),
                    int(user_id),
                    int(total as i64),
                    int(succeeded as i64),
                    int(failed as i64),
                    time(started_at),
                    time(now),
                ],
            )
            .await?;
        self.exec
            .execute(
                "UPDATE sync_devices SET last_sync_at = $2, last_seen_at = $2 WHERE device_id = $1 AND business_id = $3",
                &[text(device_id), time(now), int(business_id)],
            )
            .await?;
        Ok(())
    }

    /// Whether a shift of the business exists, and when it closed (`None` while open).
    pub async fn shift_closed_at(
        &mut self,
        business_id: i64,
        id: i64,
    ) -> StoreResult<Option<Option<DateTime<Utc>>>> {
        let row = self
            .one(
                "SELECT closed_at FROM shifts WHERE business_id = $1 AND id = $2",
                &[int(business_id), int(id)],
                &[Column::Time],
            )
            .await?;
        Ok(row.map(|r| match r.first() {
            Some(Value::Time(at)) => *at,
            _ => None,
        }))
    }

    /// Files a due collection under the shift whose drawer took the cash.
    pub async fn set_due_collection_shift(&mut self, id: i64, shift_id: i64) -> StoreResult<()> {
        self.exec
            .execute(
                "UPDATE due_collects SET shift_id = $2 WHERE id = $1",
                &[int(id), int(shift_id)],
            )
            .await?;
        Ok(())
    }
}

impl SyncTx {
    /// The raw transaction, for statements of other modules (the back office: `trade`, `users`,
    /// `business`) that must commit together with this transaction's own, audit rows included.
    pub fn exec(&mut self) -> &mut dyn TxExec {
        &mut self.exec
    }
}
