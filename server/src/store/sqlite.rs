//! SQLite: the embedded store of a single shop. Exact numbers are kept as text and times as
//! RFC 3339 text (both sort and compare as the API expects); write transactions start with
//! `BEGIN IMMEDIATE` so a transaction that reads before it writes cannot fail half way.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pos_protocol::entities::{Currency, CurrencyPosition, Settings as BusinessSettings};
use rust_decimal::Decimal;
use serde_json::Value as Json;
use std::str::FromStr;
use std::time::Duration;

use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection, Row, Sqlite};

use super::sql::{self, Dialect};
use super::{
    json_decimal, json_time, map_unique, Backend, ChangedRow, ChangedRows, Column, Cursor,
    DeviceRegistration, NewBusiness, NewDevice, NewKey, NewUser, Record, Store, StoreError,
    StoreResult, StoredKey, TxExec, UserRecord, Value,
};
use crate::resources::spec::{ResourceSpec, Storage};

const D: Dialect = Dialect::Sqlite;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Money: a committed sale must survive a power cut.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            // A `BEGIN IMMEDIATE` whose future is dropped after the database acknowledged it
            // but before sqlx built the transaction is never rolled back, and its connection
            // would hold the write lock for good. Such a connection is closed instead (closing
            // rolls back). No extra round trip on the hot path: a committed connection reads
            // depth 0; one whose dropped transaction's rollback is still queued is closed too,
            // which only costs a reconnect after a failed operation.
            .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }
}

type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

fn bind<'q>(query: SqliteQuery<'q>, value: &Value) -> SqliteQuery<'q> {
    match value.clone() {
        Value::Text(v) => query.bind(v),
        Value::Int(v) => query.bind(v),
        Value::Bool(v) => query.bind(v),
        Value::Decimal(v) => query.bind(v.map(|d| d.normalize().to_string())),
        Value::Time(v) => query.bind(v.map(text_time)),
        Value::Json(v) => query.bind(v),
        Value::Bytes(v) => query.bind(v),
    }
}

fn read_column(row: &SqliteRow, index: usize, column: Column) -> StoreResult<Value> {
    let text = |row: &SqliteRow| row.try_get::<Option<String>, _>(index);
    Ok(match column {
        Column::Text => Value::Text(text(row)?),
        Column::Int => Value::Int(row.try_get(index)?),
        Column::Bool => Value::Bool(row.try_get(index)?),
        Column::Decimal => Value::Decimal(
            text(row)?
                .map(|t| pos_protocol::money::parse_decimal(&t).map_err(StoreError::Corrupt))
                .transpose()?,
        ),
        Column::Time => Value::Time(
            text(row)?
                .map(|t| pos_protocol::time::parse(&t).map_err(StoreError::Corrupt))
                .transpose()?,
        ),
        Column::Bytes => Value::Bytes(row.try_get(index)?),
    })
}

/// The shared statements in SQLite's spelling.
fn sqlite_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out.replace("::jsonb", "").replace(" FOR UPDATE", "")
}

struct SqliteTx {
    tx: sqlx::Transaction<'static, Sqlite>,
}

#[async_trait]
impl TxExec for SqliteTx {
    async fn execute(&mut self, sql: &str, args: &[Value]) -> StoreResult<u64> {
        let sql = sqlite_sql(sql);
        let mut query = sqlx::query(&sql);
        for arg in args {
            query = bind(query, arg);
        }
        Ok(query.execute(&mut *self.tx).await?.rows_affected())
    }

    async fn fetch_all(
        &mut self,
        sql: &str,
        args: &[Value],
        columns: &[Column],
    ) -> StoreResult<Vec<Vec<Value>>> {
        let sql = sqlite_sql(sql);
        let mut query = sqlx::query(&sql);
        for arg in args {
            query = bind(query, arg);
        }
        let rows = query.fetch_all(&mut *self.tx).await?;
        rows.iter()
            .map(|row| {
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| read_column(row, i, *c))
                    .collect()
            })
            .collect()
    }

    async fn reserve_ids(&mut self, table: &'static str, count: usize) -> StoreResult<Vec<i64>> {
        // The table's AUTOINCREMENT counter is moved past the reserved ids inside this
        // transaction, which holds the write lock: nobody else can take them, and a rollback
        // gives them back with everything else.
        let last: i64 = sqlx::query_scalar(&format!(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?1), 0), \
             COALESCE((SELECT MAX(id) FROM {table}), 0))"
        ))
        .bind(table)
        .fetch_one(&mut *self.tx)
        .await?;
        let reserved = last + count as i64;
        let moved = sqlx::query("UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1")
            .bind(table)
            .bind(reserved)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        if moved == 0 {
            sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)")
                .bind(table)
                .bind(reserved)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok((last + 1..=reserved).collect())
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

fn text_time(at: DateTime<Utc>) -> String {
    pos_protocol::time::format(&at)
}

fn read_time(row: &SqliteRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    row.try_get::<Option<String>, _>(column)?
        .map(|text| pos_protocol::time::parse(&text).map_err(StoreError::Corrupt))
        .transpose()
}

fn required_time(row: &SqliteRow, column: &str) -> StoreResult<DateTime<Utc>> {
    read_time(row, column)?.ok_or_else(|| StoreError::Corrupt(format!("{column} is empty")))
}

fn read_decimal(row: &SqliteRow, column: &str) -> StoreResult<Option<Decimal>> {
    row.try_get::<Option<String>, _>(column)?
        .map(|text| pos_protocol::money::parse_decimal(&text).map_err(StoreError::Corrupt))
        .transpose()
}

fn record(row: &SqliteRow, spec: &ResourceSpec) -> StoreResult<Record> {
    let mut out = Record::new();
    out.insert("id".into(), row.try_get::<i64, _>("id")?.into());
    out.insert(
        "business_id".into(),
        row.try_get::<i64, _>("business_id")?.into(),
    );
    out.insert("version".into(), row.try_get::<i64, _>("version")?.into());
    out.insert(
        "created_at".into(),
        json_time(required_time(row, "created_at")?),
    );
    out.insert(
        "updated_at".into(),
        json_time(required_time(row, "updated_at")?),
    );
    let deleted = read_time(row, "deleted_at")?;
    out.insert(
        "deleted_at".into(),
        deleted.map(json_time).unwrap_or(Json::Null),
    );
    for field in spec.fields {
        let value = match field.kind.storage() {
            Storage::Text => row
                .try_get::<Option<String>, _>(field.column)?
                .map(Json::String)
                .unwrap_or(Json::Null),
            Storage::Int => row
                .try_get::<Option<i64>, _>(field.column)?
                .map(Json::from)
                .unwrap_or(Json::Null),
            Storage::Bool => row
                .try_get::<Option<bool>, _>(field.column)?
                .map(Json::Bool)
                .unwrap_or(Json::Null),
            Storage::Decimal => json_decimal(read_decimal(row, field.column)?)?,
        };
        out.insert(field.wire.into(), value);
    }
    Ok(out)
}

fn user(row: &SqliteRow) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        business_id: row.try_get("business_id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        role: row.try_get("role")?,
        password_hash: row.try_get("password_hash")?,
        is_active: row.try_get("is_active")?,
    })
}

fn settings(row: &SqliteRow) -> StoreResult<BusinessSettings> {
    let minor_units: i64 = row.try_get("currency_minor_units")?;
    let position: String = row.try_get("currency_position")?;
    Ok(BusinessSettings {
        company_name: row.try_get("company_name")?,
        currency: Currency {
            code: row.try_get("currency_code")?,
            symbol: row.try_get("currency_symbol")?,
            minor_units: u32::try_from(minor_units)
                .map_err(|_| StoreError::Corrupt("currency_minor_units".into()))?,
        },
        currency_position: if position == "after" {
            CurrencyPosition::After
        } else {
            CurrencyPosition::Before
        },
        vat_enabled: row.try_get("vat_enabled")?,
        vat_inclusive: row.try_get("vat_inclusive")?,
        invoice_prefix: row.try_get("invoice_prefix")?,
        timezone: row.try_get("timezone")?,
        shifts_required: row.try_get("shifts_required")?,
        max_cashier_discount_percent: read_decimal(row, "max_cashier_discount_percent")?,
        version: row.try_get("version")?,
        updated_at: required_time(row, "updated_at")?,
    })
}

fn stamp(row: &SqliteRow) -> StoreResult<Cursor> {
    Ok(Cursor {
        txid: row.try_get("cursor_txid")?,
        seq: row.try_get("change_seq")?,
    })
}

const USER_COLUMNS: &str =
    "u.id, u.business_id, u.name, u.email, u.role, u.password_hash, u.is_active";

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/sqlite").run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_business(&self, new: &NewBusiness, now: DateTime<Utc>) -> StoreResult<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO businesses (company_name, currency_code, currency_symbol, currency_minor_units, \
             invoice_prefix, timezone, vat_inclusive, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING id",
        )
        .bind(&new.company_name)
        .bind(&new.currency_code)
        .bind(&new.currency_symbol)
        .bind(i64::from(new.currency_minor_units))
        .bind(&new.invoice_prefix)
        .bind(&new.timezone)
        .bind(new.vat_inclusive)
        .bind(text_time(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    async fn business_id_by_name(&self, company_name: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM businesses WHERE company_name = ?1 AND deleted_at IS NULL ORDER BY id LIMIT 1",
        )
        .bind(company_name)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn business_settings(&self, business_id: i64) -> StoreResult<Option<BusinessSettings>> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM businesses WHERE id = ?1",
            sql::SETTINGS_COLUMNS
        ))
        .bind(business_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(settings).transpose()
    }

    async fn create_user(&self, new: &NewUser, now: DateTime<Utc>) -> StoreResult<i64> {
        sqlx::query_scalar(
            "INSERT INTO users (business_id, name, email, role, password_hash, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
        )
        .bind(new.business_id)
        .bind(&new.name)
        .bind(&new.email)
        .bind(&new.role)
        .bind(&new.password_hash)
        .bind(text_time(now))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| map_unique(e, || format!("A user with email {}", new.email)))
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.email = ?1 AND u.deleted_at IS NULL"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user).transpose()
    }

    async fn insert_token(
        &self,
        user_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(user_id)
        .bind(token_hash)
        .bind(text_time(now))
        .bind(text_time(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn token_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND t.expires_at > ?2 \
             AND u.is_active AND u.deleted_at IS NULL"
        ))
        .bind(token_hash)
        .bind(text_time(now))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user).transpose()
    }

    async fn revoke_token(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(text_time(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn rotate_token(
        &self,
        user_id: i64,
        old_hash: &str,
        old_valid_until: DateTime<Utc>,
        new_hash: &str,
        now: DateTime<Utc>,
        new_expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let replaced = sqlx::query(
            "UPDATE api_tokens SET replaced_at = ?2, expires_at = MIN(expires_at, ?3) \
             WHERE token_hash = ?1 AND replaced_at IS NULL",
        )
        .bind(old_hash)
        .bind(text_time(now))
        .bind(text_time(old_valid_until))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if replaced == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(user_id)
        .bind(new_hash)
        .bind(text_time(now))
        .bind(text_time(new_expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_records(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        offset: u64,
        limit: u32,
    ) -> StoreResult<(Vec<Record>, u64)> {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let rows = sqlx::query(&sql::list(D, spec))
            .bind(business_id)
            .bind(i64::from(limit))
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let total: i64 = sqlx::query_scalar(&sql::count(D, spec))
            .bind(business_id)
            .fetch_one(&self.pool)
            .await?;
        let records = rows
            .iter()
            .map(|r| record(r, spec))
            .collect::<StoreResult<_>>()?;
        Ok((records, u64::try_from(total).unwrap_or(0)))
    }

    async fn get_record(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        id: i64,
    ) -> StoreResult<Option<Record>> {
        let row = sqlx::query(&sql::get(D, spec))
            .bind(business_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(|r| record(r, spec)).transpose()
    }

    async fn find_record(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        columns: &[&str],
        value: &str,
    ) -> StoreResult<Option<Record>> {
        let row = sqlx::query(&sql::find(D, spec, columns))
            .bind(business_id)
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(|r| record(r, spec)).transpose()
    }

    async fn insert_record(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        values: &[(&'static str, Value)],
        now: DateTime<Utc>,
    ) -> StoreResult<Record> {
        let columns: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
        let statement = sql::insert(D, spec, &columns);
        let mut query = sqlx::query(&statement)
            .bind(business_id)
            .bind(text_time(now));
        for (_, value) in values {
            query = bind(query, value);
        }
        let row = query
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_unique(e, || format!("This {}", spec.label)))?;
        record(&row, spec)
    }

    async fn update_record(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        id: i64,
        values: &[(&'static str, Value)],
        expected_version: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Record>> {
        let columns: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
        let statement = sql::update(D, spec, &columns, expected_version.is_some());
        let mut query = sqlx::query(&statement)
            .bind(business_id)
            .bind(id)
            .bind(text_time(now))
            .bind(expected_version);
        for (_, value) in values {
            query = bind(query, value);
        }
        let row = query
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_unique(e, || format!("This {}", spec.label)))?;
        row.as_ref().map(|r| record(r, spec)).transpose()
    }

    async fn soft_delete_record(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        id: i64,
        expected_version: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Record>> {
        let row = sqlx::query(&sql::soft_delete(D, spec, expected_version.is_some()))
            .bind(business_id)
            .bind(id)
            .bind(text_time(now))
            .bind(expected_version)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(|r| record(r, spec)).transpose()
    }

    async fn live_ids(&self, table: &str, business_id: i64, ids: &[i64]) -> StoreResult<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let statement = sql::live_ids(D, table, ids.len());
        let mut query = sqlx::query_scalar(&statement).bind(business_id);
        for id in ids {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    async fn stock_quantities(
        &self,
        business_id: i64,
        product_ids: &[i64],
    ) -> StoreResult<Vec<(i64, Decimal)>> {
        if product_ids.is_empty() {
            return Ok(Vec::new());
        }
        let statement = sql::stock_quantities(D, product_ids.len());
        let mut query = sqlx::query_as::<_, (i64, String)>(&statement).bind(business_id);
        for id in product_ids {
            query = query.bind(*id);
        }
        query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(id, quantity)| {
                pos_protocol::money::parse_decimal(&quantity)
                    .map(|q| (id, q))
                    .map_err(StoreError::Corrupt)
            })
            .collect()
    }

    async fn register_device(&self, new: &NewDevice<'_>) -> StoreResult<DeviceRegistration> {
        // A device of another business fails the WHERE of the update and returns no row.
        let row = sqlx::query(
            "INSERT INTO sync_devices (business_id, user_id, device_id, device_name, os, app_version, \
             registered_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) \
             ON CONFLICT (device_id) DO UPDATE SET device_name = excluded.device_name, os = excluded.os, \
             app_version = excluded.app_version, user_id = excluded.user_id, \
             last_seen_at = excluded.last_seen_at, is_active = TRUE \
             WHERE sync_devices.business_id = excluded.business_id \
             RETURNING registered_at, last_offline_seq",
        )
        .bind(new.business_id)
        .bind(new.user_id)
        .bind(new.device_id)
        .bind(new.device_name)
        .bind(new.os)
        .bind(new.app_version)
        .bind(text_time(new.now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(DeviceRegistration::OtherBusiness);
        };
        Ok(DeviceRegistration::Registered {
            registered_at: required_time(&row, "registered_at")?,
            last_offline_seq: row.try_get("last_offline_seq")?,
        })
    }

    async fn begin_write(&self) -> StoreResult<Box<dyn TxExec>> {
        Ok(Box::new(SqliteTx {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
        }))
    }

    async fn begin_read(&self) -> StoreResult<Box<dyn TxExec>> {
        // A deferred transaction reads one WAL snapshot and takes no write lock.
        Ok(Box::new(SqliteTx {
            tx: self.pool.begin_with("BEGIN DEFERRED").await?,
        }))
    }

    async fn snapshot_cursor(&self) -> StoreResult<Cursor> {
        let seq: i64 = sqlx::query_scalar("SELECT seq FROM change_counter WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(Cursor { txid: 0, seq })
    }

    async fn live_records_after(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<Record>> {
        let rows = sqlx::query(&sql::live_after(D, spec))
            .bind(business_id)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| record(r, spec)).collect()
    }

    async fn changed_records(
        &self,
        business_id: i64,
        specs: &[&'static ResourceSpec],
        with_settings: bool,
        cursor: Cursor,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> StoreResult<ChangedRows> {
        // A read transaction: one WAL snapshot for every table. SQLite ignores the xmin.
        let mut tx = self.pool.begin().await?;
        let xmin: i64 = 0;
        let mut out = ChangedRows::default();
        for (entity, spec) in specs.iter().enumerate() {
            let statement = sql::changed_after(D, spec.table, &sql::columns(spec), "business_id");
            let rows = sqlx::query(&statement)
                .bind(business_id)
                .bind(cursor.txid)
                .bind(cursor.seq)
                .bind(xmin)
                .bind(since.map(text_time))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
            for row in &rows {
                out.rows.push(ChangedRow {
                    entity,
                    cursor: stamp(row)?,
                    record: record(row, spec)?,
                });
            }
        }
        if with_settings {
            let statement = sql::changed_after(D, "businesses", sql::SETTINGS_COLUMNS, "id");
            let row = sqlx::query(&statement)
                .bind(business_id)
                .bind(cursor.txid)
                .bind(cursor.seq)
                .bind(xmin)
                .bind(since.map(text_time))
                .bind(1_i64)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = row {
                out.settings = Some((stamp(&row)?, settings(&row)?));
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn purge_key(
        &self,
        business_id: i64,
        key: &str,
        now: DateTime<Utc>,
        abandoned_before: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE business_id = ?1 AND idempotency_key = ?2 \
             AND (expires_at <= ?3 OR (status_code IS NULL AND locked_at < ?4))",
        )
        .bind(business_id)
        .bind(key)
        .bind(text_time(now))
        .bind(text_time(abandoned_before))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_key(&self, new: &NewKey<'_>) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (business_id, idempotency_key, method, path, request_hash, \
             locked_at, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) \
             ON CONFLICT (business_id, idempotency_key) DO NOTHING",
        )
        .bind(new.business_id)
        .bind(new.key)
        .bind(new.method)
        .bind(new.path)
        .bind(new.request_hash)
        .bind(text_time(new.now))
        .bind(text_time(new.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn get_key(&self, business_id: i64, key: &str) -> StoreResult<Option<StoredKey>> {
        let row = sqlx::query(
            "SELECT request_hash, status_code, response_body FROM idempotency_keys \
             WHERE business_id = ?1 AND idempotency_key = ?2",
        )
        .bind(business_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let status: Option<i64> = row.try_get("status_code")?;
        Ok(Some(StoredKey {
            request_hash: row.try_get("request_hash")?,
            status_code: status.and_then(|s| u16::try_from(s).ok()),
            response_body: row
                .try_get::<Option<Vec<u8>>, _>("response_body")?
                .unwrap_or_default(),
        }))
    }

    async fn complete_key(
        &self,
        business_id: i64,
        key: &str,
        status_code: u16,
        body: &[u8],
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status_code = ?3, response_body = ?4 \
             WHERE business_id = ?1 AND idempotency_key = ?2",
        )
        .bind(business_id)
        .bind(key)
        .bind(i64::from(status_code))
        .bind(body)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_key(&self, business_id: i64, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE business_id = ?1 AND idempotency_key = ?2")
            .bind(business_id)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_records_of(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        parent: &'static str,
        parent_id: i64,
        offset: u64,
        limit: u32,
    ) -> StoreResult<(Vec<Record>, u64)> {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let rows = sqlx::query(&sql::list_of(D, spec, parent))
            .bind(business_id)
            .bind(parent_id)
            .bind(i64::from(limit))
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let total: i64 = sqlx::query_scalar(&sql::count_of(D, spec, parent))
            .bind(business_id)
            .bind(parent_id)
            .fetch_one(&self.pool)
            .await?;
        let records = rows
            .iter()
            .map(|r| record(r, spec))
            .collect::<StoreResult<_>>()?;
        Ok((records, u64::try_from(total).unwrap_or(0)))
    }
}
