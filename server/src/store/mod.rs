//! Storage: one trait, one implementation per database. The implementations hold only SQL;
//! every rule (validation, versions, roles, idempotency decisions) lives above this trait and
//! is written once.

mod postgres;
pub mod row;
mod sql;
mod sqlite;
pub mod tx;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pos_protocol::entities::Settings as BusinessSettings;
use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};

use crate::resources::spec::ResourceSpec;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Duplicate(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A value bound to a column, typed even when null (PostgreSQL needs the type of a null).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Decimal(Option<Decimal>),
    Time(Option<DateTime<Utc>>),
    /// JSON text; PostgreSQL keeps it as `jsonb`.
    Json(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// How to read a column of a transaction's query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Text,
    Int,
    Bool,
    Decimal,
    Time,
    Bytes,
}

/// A write transaction running statements written once for both databases: `$1`-style
/// parameters, `::jsonb` casts and `FOR UPDATE` locks, which SQLite (whose write
/// transactions already hold the database lock, `BEGIN IMMEDIATE`) goes without.
#[async_trait]
pub trait TxExec: Send {
    async fn execute(&mut self, sql: &str, args: &[Value]) -> StoreResult<u64>;
    async fn fetch_all(
        &mut self,
        sql: &str,
        args: &[Value],
        columns: &[Column],
    ) -> StoreResult<Vec<Vec<Value>>>;
    /// `count` ids for new rows of `table` (a table of ours, never a client's word) that no
    /// other transaction gets, so that rows can be written together and still be told apart.
    async fn reserve_ids(&mut self, table: &'static str, count: usize) -> StoreResult<Vec<i64>>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// A catalog row as the API shows it: wire names, exact numbers, RFC 3339 times.
pub type Record = Map<String, Json>;

#[derive(Debug, Clone)]
pub struct NewBusiness {
    pub company_name: String,
    pub currency_code: String,
    pub currency_symbol: String,
    pub currency_minor_units: u32,
    pub invoice_prefix: String,
    pub timezone: String,
    pub vat_inclusive: bool,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub business_id: i64,
    pub name: String,
    /// Stored lower-cased: sign-in ignores case.
    pub email: String,
    pub role: String,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: i64,
    pub business_id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
    pub password_hash: String,
    pub is_active: bool,
}

/// The stored state of an idempotency key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub request_hash: String,
    /// `None` while the first request is still running.
    pub status_code: Option<u16>,
    pub response_body: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    pub business_id: i64,
    pub key: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub request_hash: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A position in the stream of changes: the writing transaction (PostgreSQL; 0 on SQLite)
/// and the change sequence. Ordered as the stream is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    pub txid: i64,
    pub seq: i64,
}

/// One changed row of a `changes` read.
#[derive(Debug, Clone)]
pub struct ChangedRow {
    /// Index into the specs the read was asked for.
    pub entity: usize,
    pub cursor: Cursor,
    pub record: Record,
}

/// Everything changed after a cursor, read from one snapshot.
#[derive(Debug, Clone, Default)]
pub struct ChangedRows {
    /// Per entity in stamp order, at most `limit` each.
    pub rows: Vec<ChangedRow>,
    /// The business settings, when they changed.
    pub settings: Option<(Cursor, BusinessSettings)>,
}

/// Where a device registration landed.
#[derive(Debug, Clone)]
pub enum DeviceRegistration {
    Registered {
        registered_at: DateTime<Utc>,
        last_offline_seq: i64,
    },
    /// The device id is registered to another business.
    OtherBusiness,
}

#[derive(Debug, Clone)]
pub struct NewDevice<'a> {
    pub business_id: i64,
    pub user_id: i64,
    pub device_id: &'a str,
    pub device_name: &'a str,
    pub os: Option<&'a str>,
    pub app_version: Option<&'a str>,
    pub now: DateTime<Utc>,
}

#[async_trait]
pub trait Store: Send + Sync {
    fn backend(&self) -> Backend;
    async fn migrate(&self) -> StoreResult<()>;
    /// Answers only when the database does.
    async fn ping(&self) -> StoreResult<()>;

    // Businesses and users.
    async fn create_business(&self, new: &NewBusiness, now: DateTime<Utc>) -> StoreResult<i64>;
    async fn business_id_by_name(&self, company_name: &str) -> StoreResult<Option<i64>>;
    async fn business_settings(&self, business_id: i64) -> StoreResult<Option<BusinessSettings>>;
    async fn create_user(&self, new: &NewUser, now: DateTime<Utc>) -> StoreResult<i64>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;

    // Tokens, by the hash of the token.
    async fn insert_token(
        &self,
        user_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The active user a token that is neither expired nor revoked belongs to.
    async fn token_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>>;
    async fn revoke_token(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()>;
    /// Issues `new_hash` and lets `old_hash` live on until `old_valid_until` at most, in one
    /// transaction; `false`, issuing nothing, when `old_hash` was already replaced (a token
    /// is refreshed once).
    async fn rotate_token(
        &self,
        user_id: i64,
        old_hash: &str,
        old_valid_until: DateTime<Utc>,
        new_hash: &str,
        now: DateTime<Utc>,
        new_expires_at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    // Catalog rows, always scoped by business.
    /// Live rows, by id, and how many live rows there are.
    async fn list_records(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        offset: u64,
        limit: u32,
    ) -> StoreResult<(Vec<Record>, u64)>;
    /// The row, soft-deleted or not.
    async fn get_record(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        id: i64,
    ) -> StoreResult<Option<Record>>;
    /// The first live row whose value in one of `columns` equals `value`, in column order.
    async fn find_record(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        columns: &[&str],
        value: &str,
    ) -> StoreResult<Option<Record>>;
    async fn insert_record(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        values: &[(&'static str, Value)],
        now: DateTime<Utc>,
    ) -> StoreResult<Record>;
    /// Sets `values` and bumps the version of a live row, if it has `expected_version`
    /// (any version when `None`). `None` when no row matched.
    async fn update_record(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        id: i64,
        values: &[(&'static str, Value)],
        expected_version: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Record>>;
    async fn soft_delete_record(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        id: i64,
        expected_version: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Record>>;
    /// Which of `ids` are live rows of `table` in the business.
    async fn live_ids(&self, table: &str, business_id: i64, ids: &[i64]) -> StoreResult<Vec<i64>>;
    /// Per product, the stock quantities of its live stock rows.
    async fn stock_quantities(
        &self,
        business_id: i64,
        product_ids: &[i64],
    ) -> StoreResult<Vec<(i64, Decimal)>>;

    /// Starts a write transaction (see `tx::SyncTx` for what it can do).
    async fn begin_write(&self) -> StoreResult<Box<dyn TxExec>>;

    /// Starts a read-only transaction: one consistent view (a count and its page agree) that
    /// never waits for, nor holds up, the writers (SQLite's write lock is not taken).
    async fn begin_read(&self) -> StoreResult<Box<dyn TxExec>>;

    // Sync.
    /// Registers the device or refreshes its name, os and version (keeping `registered_at`).
    async fn register_device(&self, new: &NewDevice<'_>) -> StoreResult<DeviceRegistration>;
    /// A cursor below every change not yet committed: whatever commits from now on, or is
    /// still in flight, comes after it.
    async fn snapshot_cursor(&self) -> StoreResult<Cursor>;
    /// Live rows with an id above `after_id`, by id.
    async fn live_records_after(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<Record>>;
    /// Rows (live or deleted) and settings stamped after `cursor` by committed transactions,
    /// read in one snapshot.
    async fn changed_records(
        &self,
        business_id: i64,
        specs: &[&'static ResourceSpec],
        with_settings: bool,
        cursor: Cursor,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> StoreResult<ChangedRows>;

    // Idempotency keys, scoped by business.
    /// Removes the key if it expired, or if its request has been in progress since before
    /// `abandoned_before`.
    async fn purge_key(
        &self,
        business_id: i64,
        key: &str,
        now: DateTime<Utc>,
        abandoned_before: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Records the key as in progress; `false` when it already exists.
    async fn insert_key(&self, new: &NewKey<'_>) -> StoreResult<bool>;
    async fn get_key(&self, business_id: i64, key: &str) -> StoreResult<Option<StoredKey>>;
    async fn complete_key(
        &self,
        business_id: i64,
        key: &str,
        status_code: u16,
        body: &[u8],
    ) -> StoreResult<()>;
    async fn delete_key(&self, business_id: i64, key: &str) -> StoreResult<()>;

    /// Live rows of one parent (a product's variants), by id, and how many there are.
    /// `parent` is a column of the spec.
    async fn list_records_of(
        &self,
        spec: &'static ResourceSpec,
        business_id: i64,
        parent: &'static str,
        parent_id: i64,
        offset: u64,
        limit: u32,
    ) -> StoreResult<(Vec<Record>, u64)>;
}

/// Opens the database a URL names: `postgres://` or `postgresql://` for PostgreSQL, anything
/// else (`sqlite://file.db`, `sqlite::memory:`) for SQLite.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    }
}

/// Both backends turn a unique-constraint violation into `Duplicate(what)`.
fn map_unique(err: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match err.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Duplicate(what()),
        _ => StoreError::Database(err),
    }
}

fn json_time(at: DateTime<Utc>) -> Json {
    Json::String(pos_protocol::time::format(&at))
}

fn json_decimal(value: Option<Decimal>) -> StoreResult<Json> {
    match value {
        None => Ok(Json::Null),
        Some(d) => pos_protocol::money::exact::serialize(&d, serde_json::value::Serializer)
            .map_err(|e| StoreError::Corrupt(e.to_string())),
    }
}

/// Sums stock quantities per product (done here rather than in SQL because SQLite keeps
/// exact decimals as text). A stored quantity can be anything, so the sum saturates rather
/// than panic.
pub fn stock_totals(rows: Vec<(i64, Decimal)>) -> HashMap<i64, Decimal> {
    let mut totals: HashMap<i64, Decimal> = HashMap::new();
    for (product_id, quantity) in rows {
        let total = totals.entry(product_id).or_insert(Decimal::ZERO);
        *total = total.saturating_add(quantity);
    }
    totals
}
