//! The physical baseline: plain rusqlite on a copy of the till's database (same schema, same
//! 100k rows, same SQLite build), with the same durability (WAL, `synchronous=FULL`), doing
//! the same rows as the engine with no logic around them. Values are prepared before the
//! clock starts, so the baseline is the storage cost alone.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use pos_protocol::entities::Product;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// One table row: its column names and values.
struct RowTemplate {
    columns: Vec<String>,
    values: Vec<Value>,
}

impl RowTemplate {
    fn read(conn: &Connection, sql: &str, key: i64) -> Result<Vec<RowTemplate>> {
        let mut stmt = conn.prepare(sql)?;
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let rows = stmt
            .query_map([key], |row| {
                (0..columns.len())
                    .map(|i| row.get::<_, Value>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .map(|values| RowTemplate {
                columns: columns.clone(),
                values,
            })
            .collect())
    }

    /// `INSERT INTO table (every column but `skip`) VALUES (?, …)`.
    fn insert_sql(&self, table: &str, skip: &str) -> String {
        let kept: Vec<&str> = self
            .columns
            .iter()
            .map(String::as_str)
            .filter(|c| *c != skip)
            .collect();
        let marks = vec!["?"; kept.len()].join(", ");
        format!("INSERT INTO {table} ({}) VALUES ({marks})", kept.join(", "))
    }

    /// The values for [`RowTemplate::insert_sql`], with `replace` applied by column name.
    fn values(&self, skip: &str, replace: &[(&str, Value)]) -> Vec<Value> {
        self.columns
            .iter()
            .zip(&self.values)
            .filter(|(c, _)| c.as_str() != skip)
            .map(|(c, v)| {
                replace
                    .iter()
                    .find(|(name, _)| name == c)
                    .map_or_else(|| v.clone(), |(_, new)| new.clone())
            })
            .collect()
    }
}

/// The rows one engine sale wrote (sale, its lines, its outbox operation), replayed with
/// fresh unique keys.
struct SaleTemplate {
    sale: RowTemplate,
    lines: Vec<RowTemplate>,
    outbox: RowTemplate,
}

/// The columns of the engine's `products` mirror, ready to bind.
#[derive(Debug, Clone)]
pub struct ProductRow {
    pub id: i64,
    pub name: String,
    pub code: Option<String>,
    pub barcode: Option<String>,
    pub category_id: Option<i64>,
    pub vat_id: Option<i64>,
    pub sale_price: String,
    pub version: i64,
    pub data: String,
}

impl ProductRow {
    pub fn of(product: &Product) -> Result<ProductRow> {
        Ok(ProductRow {
            id: product.id,
            name: product.product_name.clone(),
            code: product.product_code.clone(),
            barcode: product.barcode.clone(),
            category_id: product.category_id,
            vat_id: product.vat_id,
            sale_price: product.product_sale_price.normalize().to_string(),
            version: product.version,
            data: serde_json::to_string(product)?,
        })
    }
}

pub struct RawBaseline {
    conn: Connection,
    sale: Option<SaleTemplate>,
    next_seq: i64,
}

/// A durable connection as the engine opens one.
fn durable(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

impl RawBaseline {
    /// Copies the till's database at `till_db` to `copy` (`VACUUM INTO`, a consistent
    /// snapshot even while the till is open) and adds the plain FTS5 table the search
    /// baseline queries.
    pub fn copy_of(till_db: &Path, copy: &Path) -> Result<RawBaseline> {
        let source = Connection::open(till_db)
            .with_context(|| format!("opening the till database {}", till_db.display()))?;
        source.execute("VACUUM INTO ?1", [copy.to_string_lossy()])?;
        drop(source);
        let conn = durable(copy)?;
        conn.execute_batch(
            "CREATE VIRTUAL TABLE plain_names USING fts5 (
                 name, sale_price UNINDEXED, tokenize = 'unicode61 remove_diacritics 2',
                 prefix = '1 2 3');
             INSERT INTO plain_names (rowid, name, sale_price)
                 SELECT id, name, sale_price FROM products;",
        )?;
        let next_seq: i64 = conn.query_row(
            "SELECT COALESCE(MAX(offline_seq), 0) + 1000000 FROM sales",
            [],
            |r| r.get(0),
        )?;
        Ok(RawBaseline {
            conn,
            sale: None,
            next_seq,
        })
    }

    /// Takes the rows of the copy's sale `local_id` as the template [`RawBaseline::insert_sale`]
    /// replays.
    pub fn use_sale_as_template(&mut self, local_id: i64) -> Result<()> {
        let mut sale = RowTemplate::read(
            &self.conn,
            "SELECT * FROM sales WHERE local_id = ?1",
            local_id,
        )?;
        ensure!(sale.len() == 1, "no sale {local_id} in the copy");
        let sale = sale.remove(0);
        let outbox_id = sale
            .columns
            .iter()
            .position(|c| c == "outbox_id")
            .map(|i| sale.values[i].clone())
            .context("sales has no outbox_id column")?;
        let Value::Integer(outbox_id) = outbox_id else {
            anyhow::bail!("sale {local_id} has no outbox id");
        };
        let mut outbox =
            RowTemplate::read(&self.conn, "SELECT * FROM outbox WHERE id = ?1", outbox_id)?;
        ensure!(outbox.len() == 1, "no outbox row {outbox_id} in the copy");
        let lines = RowTemplate::read(
            &self.conn,
            "SELECT * FROM sale_lines WHERE sale_local_id = ?1 ORDER BY line_no",
            local_id,
        )?;
        self.sale = Some(SaleTemplate {
            sale,
            lines,
            outbox: outbox.remove(0),
        });
        Ok(())
    }

    /// One `BEGIN IMMEDIATE` transaction: the outbox row, the sale row and its lines, with
    /// fresh idempotency key, client reference and offline number.
    pub fn insert_sale(&mut self) -> Result<()> {
        let template = self
            .sale
            .as_ref()
            .context("no sale template: call use_sale_as_template first")?;
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = uuid::Uuid::new_v4().to_string();
        let reference = uuid::Uuid::new_v4().to_string();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(&template.outbox.insert_sql("outbox", "id"))?
            .execute(rusqlite::params_from_iter(
                template
                    .outbox
                    .values("id", &[("idempotency_key", Value::Text(key))]),
            ))?;
        let outbox_id = tx.last_insert_rowid();
        tx.prepare_cached(&template.sale.insert_sql("sales", "local_id"))?
            .execute(rusqlite::params_from_iter(template.sale.values(
                "local_id",
                &[
                    ("client_reference", Value::Text(reference)),
                    ("offline_invoice_no", Value::Text(format!("OFF-RAW-{seq}"))),
                    ("offline_seq", Value::Integer(seq)),
                    ("outbox_id", Value::Integer(outbox_id)),
                ],
            )))?;
        let sale_id = tx.last_insert_rowid();
        for line in &template.lines {
            tx.prepare_cached(&line.insert_sql("sale_lines", ""))?
                .execute(rusqlite::params_from_iter(
                    line.values("", &[("sale_local_id", Value::Integer(sale_id))]),
                ))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// An indexed look-up by barcode; returns the product id.
    pub fn product_by_barcode(&self, barcode: &str) -> Result<Option<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, code, barcode, sale_price FROM products WHERE barcode = ?1",
        )?;
        Ok(stmt
            .query_row([barcode], |r| {
                let _: (String, Option<String>, Option<String>, String) =
                    (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
                r.get(0)
            })
            .optional()?)
    }

    /// An FTS5 prefix query on the plain table (same tokenizer and prefix indexes as the
    /// till's): the first `limit` matches in rowid order, which are the rows the till shows;
    /// returns their ids.
    pub fn search(&self, fts: &str, limit: u32) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT rowid, name, sale_price FROM plain_names WHERE plain_names MATCH ?1
             ORDER BY rowid LIMIT ?2",
        )?;
        let ids = stmt
            .query_map(params![fts, limit], |r| {
                let _: (String, String) = (r.get(1)?, r.get(2)?);
                r.get(0)
            })?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(ids)
    }

    /// Upserts `rows` into the products table in one transaction (its indexes and FTS
    /// triggers are the engine's).
    pub fn upsert_products(&mut self, rows: &[ProductRow]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO products (id, name, code, barcode, category_id, vat_id, sale_price, version, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, code = excluded.code,
                   barcode = excluded.barcode, category_id = excluded.category_id,
                   vat_id = excluded.vat_id, sale_price = excluded.sale_price,
                   version = excluded.version, data = excluded.data",
            )?;
            for row in rows {
                stmt.execute(params![
                    row.id,
                    row.name,
                    row.code,
                    row.barcode,
                    row.category_id,
                    row.vat_id,
                    row.sale_price,
                    row.version,
                    row.data
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Rewrites the copy's FTS update trigger to fire only when a name really changes (an
    /// upsert names `name` in its SET list, so the till's trigger re-indexes every row it
    /// touches). Measures what that change to the engine's schema would save.
    pub fn reindex_names_only_when_changed(&self) -> Result<()> {
        self.conn.execute_batch(
            "DROP TRIGGER products_fts_update;
             CREATE TRIGGER products_fts_update AFTER UPDATE OF name ON products
             WHEN old.name IS NOT new.name BEGIN
                 INSERT INTO products_fts (products_fts, rowid, name)
                     VALUES ('delete', old.id, old.name);
                 INSERT INTO products_fts (rowid, name) VALUES (new.id, new.name);
             END;",
        )?;
        Ok(())
    }

    /// Time to open the file and run the integrity check the till runs at every start.
    pub fn time_quick_check(path: &Path) -> Result<std::time::Duration> {
        let started = std::time::Instant::now();
        let conn = Connection::open(path)?;
        let verdict: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        ensure!(verdict == "ok", "quick_check: {verdict}");
        Ok(started.elapsed())
    }
}

/// The disk's own durable-write latency: append one 4 KiB page and `fdatasync`, what a WAL
/// commit with `synchronous=FULL` costs at least.
pub struct DiskSync {
    file: std::fs::File,
    page: Vec<u8>,
}

impl DiskSync {
    pub fn create(path: &Path) -> Result<DiskSync> {
        Ok(DiskSync {
            file: std::fs::File::create(path)?,
            page: vec![0x5a; 4096],
        })
    }

    pub fn write_and_sync(&mut self) -> Result<()> {
        use std::io::Write;
        self.file.write_all(&self.page)?;
        self.file.sync_data()?;
        Ok(())
    }
}
