//! What the engine hands to the desktop app and the CLI, and what it takes from them.
//!
//! Every output derives `Serialize` (inputs also `Deserialize`) so a Tauri command can return it
//! as it is. Money and quantities are exact decimals written as JSON numbers.

use chrono::{DateTime, Utc};
use pos_protocol::entities::{Currency, Settings};
use pos_protocol::money::{exact, exact_opt};
use pos_protocol::time::{rfc3339, rfc3339_opt};
use pos_protocol::Decimal;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::EngineError;

/// How to open an engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineConfig {
    /// Folder of the local database, the device id file and the logs.
    pub data_dir: PathBuf,
    /// Server address to use when none was remembered at sign-in.
    pub server_url: Option<String>,
    pub timings: SyncTimings,
}

impl EngineConfig {
    /// A config on `data_dir` with the production timings.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            server_url: None,
            timings: SyncTimings::default(),
        }
    }

    /// The OS's per-user, non-roaming application data folder for the terminal:
    /// `%LOCALAPPDATA%\pos-terminal` on Windows (a till's database must not travel with a
    /// roaming profile), `~/.local/share/pos-terminal` on Linux.
    pub fn default_data_dir() -> PathBuf {
        dirs::data_local_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("pos-terminal")
    }
}

/// Every wait of the sync engine, in milliseconds, so tests can turn them down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncTimings {
    pub connect_timeout_ms: u64,
    /// Whole-request timeout: a lost response never hangs a sync.
    pub request_timeout_ms: u64,
    /// First retry delay after a transport failure.
    pub backoff_initial_ms: u64,
    /// Longest retry delay.
    pub backoff_max_ms: u64,
    /// Background sync period while online.
    pub periodic_interval_ms: u64,
    /// Records per page asked of `full` and `changes`: the most the server gives, so a first
    /// download of a large catalog takes as few round trips and commits as it can.
    pub page_size: u32,
}

impl Default for SyncTimings {
    fn default() -> Self {
        Self {
            connect_timeout_ms: 5_000,
            request_timeout_ms: 30_000,
            backoff_initial_ms: 1_000,
            backoff_max_ms: 300_000,
            periodic_interval_ms: 30_000,
            page_size: pos_protocol::sync::MAX_PAGE_SIZE,
        }
    }
}

impl SyncTimings {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
    pub fn periodic_interval(&self) -> Duration {
        Duration::from_millis(self.periodic_interval_ms)
    }
}

/// The signed-in user as the till shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// `cashier`, `manager` or `owner`.
    pub role: pos_protocol::auth::Role,
    pub business_id: i64,
}

/// This terminal's identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceView {
    pub id: String,
    /// First 8 hex digits of the id, upper case: the DEVICE of `OFF-{DEVICE}-{N}`.
    pub short_code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub server_url: String,
    pub business_name: String,
    pub user: UserView,
    pub device: DeviceView,
    /// The mirrored business settings (None until the first full sync).
    pub settings: Option<Settings>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogoutOutcome {
    /// Operations still waiting for the server; they stay and sync after the next sign-in.
    pub queued_operations: u64,
    /// The server revoked the token (false when it could not be reached).
    pub signed_out_on_server: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryView {
    pub id: i64,
    pub name: String,
    pub icon: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentTypeView {
    pub id: i64,
    pub name: String,
    /// Leaves the whole amount as the customer's due.
    pub is_credit: bool,
}

/// A product as the selling screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductView {
    pub id: i64,
    #[serde(rename = "productCode")]
    pub product_code: Option<String>,
    pub barcode: Option<String>,
    #[serde(rename = "productName")]
    pub product_name: String,
    #[serde(rename = "productSalePrice", with = "exact")]
    pub product_sale_price: Decimal,
    /// VAT rate in percent that a sale charges (0 when VAT is off or the product has none).
    #[serde(with = "exact")]
    pub vat_rate: Decimal,
    /// Server stock minus this terminal's sales the server has not yet taken into account.
    #[serde(with = "exact")]
    pub stock: Decimal,
    pub category_id: Option<i64>,
}

/// A discount: an amount or a percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Discount {
    #[default]
    None,
    Amount(#[serde(with = "exact")] Decimal),
    Percent(#[serde(with = "exact")] Decimal),
}

impl std::str::FromStr for Discount {
    type Err = EngineError;

    /// `5`, `5.50` (an amount) or `10%` (a percentage).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (number, percent) = match text.strip_suffix('%') {
            Some(n) => (n, true),
            None => (text, false),
        };
        let value = pos_protocol::money::parse_decimal(number)
            .map_err(|e| EngineError::invalid(format!("discount: {e}")))?;
        if value < Decimal::ZERO {
            return Err(EngineError::invalid("discount: must not be negative"));
        }
        Ok(match (percent, value.is_zero()) {
            (_, true) => Discount::None,
            (true, false) => Discount::Percent(value),
            (false, false) => Discount::Amount(value),
        })
    }
}

/// A customer: one the server knows, or one created at this till and not yet confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyRef {
    /// A server id.
    Server(i64),
    /// The number of a customer created at this till (`local:N`).
    Local(i64),
}

impl std::str::FromStr for PartyRef {
    type Err = EngineError;

    /// `42` (a server id) or `local:7`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let parse = |n: &str| {
            n.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                EngineError::invalid(format!(
                    "customer: '{text}' is neither a server id nor local:N"
                ))
            })
        };
        match text.strip_prefix("local:") {
            Some(n) => parse(n).map(PartyRef::Local),
            None => parse(text).map(PartyRef::Server),
        }
    }
}

impl std::fmt::Display for PartyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartyRef::Server(id) => write!(f, "{id}"),
            PartyRef::Local(n) => write!(f, "local:{n}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartyView {
    /// How to name this customer to the engine.
    pub party_ref: PartyRef,
    /// Server id, once known.
    pub id: Option<i64>,
    /// Local number when it was created at this till.
    pub local_id: Option<i64>,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    #[serde(rename = "type")]
    pub party_type: String,
    /// What the customer owes as last known (server due plus this till's unsynced dues).
    #[serde(with = "exact")]
    pub due: Decimal,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewCustomer {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    /// `Customer` when absent.
    #[serde(rename = "type", default)]
    pub party_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartLineView {
    pub line_no: u32,
    pub product_id: i64,
    pub stock_id: Option<i64>,
    pub name: String,
    pub product_code: Option<String>,
    #[serde(with = "exact")]
    pub quantity: Decimal,
    #[serde(with = "exact")]
    pub unit_price: Decimal,
    /// The discount as the cashier gave it.
    pub discount: Discount,
    /// quantity × price, rounded.
    #[serde(with = "exact")]
    pub gross: Decimal,
    #[serde(with = "exact")]
    pub line_discount: Decimal,
    #[serde(with = "exact")]
    pub cart_discount_share: Decimal,
    #[serde(with = "exact")]
    pub vat_rate: Decimal,
    #[serde(with = "exact")]
    pub vat_amount: Decimal,
    /// What the customer pays for the line.
    #[serde(with = "exact")]
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartView {
    pub lines: Vec<CartLineView>,
    /// The cart discount as the cashier gave it.
    pub discount: Discount,
    #[serde(with = "exact")]
    pub subtotal: Decimal,
    #[serde(with = "exact")]
    pub line_discount: Decimal,
    #[serde(with = "exact")]
    pub cart_discount: Decimal,
    #[serde(with = "exact")]
    pub vat_amount: Decimal,
    #[serde(with = "exact")]
    pub total: Decimal,
    pub vat_inclusive: bool,
    pub customer: Option<PartyView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldCartView {
    pub id: i64,
    pub label: String,
    pub line_count: usize,
    #[serde(with = "exact")]
    pub total: Decimal,
    pub customer_name: Option<String>,
    #[serde(with = "rfc3339")]
    pub held_at: DateTime<Utc>,
}

/// How the customer pays.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PaymentInput {
    /// None: the business's first cash-like payment type.
    #[serde(default)]
    pub payment_type_id: Option<i64>,
    /// What was handed over. None: exactly the total (or nothing for a credit type).
    #[serde(with = "exact_opt", default)]
    pub tendered: Option<Decimal>,
}

/// Where a sale or another queued operation stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Waiting to be sent.
    Queued,
    /// Sent; no answer read yet.
    Sent,
    /// The server has it (created or already there).
    Confirmed,
    /// The server refused it; a person must retry or discard it.
    Failed,
    /// The server kept it aside for a person to resolve.
    Conflict,
    /// A person discarded it (audited).
    Discarded,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaleLineView {
    pub line_no: u32,
    pub product_id: i64,
    pub stock_id: i64,
    pub name: String,
    #[serde(with = "exact")]
    pub quantity: Decimal,
    #[serde(with = "exact")]
    pub unit_price: Decimal,
    /// Line discount plus its share of the cart discount.
    #[serde(with = "exact")]
    pub discount: Decimal,
    #[serde(with = "exact")]
    pub vat_rate: Decimal,
    #[serde(with = "exact")]
    pub vat_amount: Decimal,
    #[serde(with = "exact")]
    pub total: Decimal,
    /// Quantity already returned against this line (what is left: quantity − returned).
    #[serde(with = "exact", default)]
    pub returned: Decimal,
}

/// One sale with everything a receipt prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaleDetail {
    pub local_id: i64,
    pub offline_invoice_no: String,
    /// The server's invoice number, once confirmed.
    pub invoice_number: Option<String>,
    pub client_reference: String,
    pub business_name: String,
    pub cashier_name: Option<String>,
    #[serde(with = "rfc3339")]
    pub sale_date: DateTime<Utc>,
    pub customer: Option<PartyView>,
    pub lines: Vec<SaleLineView>,
    #[serde(with = "exact")]
    pub subtotal: Decimal,
    #[serde(with = "exact")]
    pub line_discount: Decimal,
    #[serde(with = "exact")]
    pub cart_discount: Decimal,
    #[serde(with = "exact")]
    pub vat_amount: Decimal,
    pub vat_inclusive: bool,
    #[serde(with = "exact")]
    pub total: Decimal,
    #[serde(with = "exact")]
    pub tendered: Decimal,
    #[serde(with = "exact")]
    pub paid: Decimal,
    #[serde(with = "exact")]
    pub due: Decimal,
    #[serde(with = "exact")]
    pub change: Decimal,
    pub payment_type_id: i64,
    pub payment_type_name: String,
    pub currency: Option<Currency>,
    pub sync_state: SyncState,
    pub warnings: Vec<pos_protocol::sync::Warning>,
    /// Why the server refused it, when it did.
    pub sync_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletedSale {
    pub local_id: i64,
    pub offline_invoice_no: String,
    pub client_reference: String,
    #[serde(with = "exact")]
    pub total: Decimal,
    #[serde(with = "exact")]
    pub paid: Decimal,
    #[serde(with = "exact")]
    pub due: Decimal,
    #[serde(with = "exact")]
    pub change: Decimal,
    /// Everything the receipt prints.
    pub receipt: SaleDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaleSummary {
    pub local_id: i64,
    pub offline_invoice_no: String,
    pub invoice_number: Option<String>,
    #[serde(with = "exact")]
    pub total: Decimal,
    #[serde(with = "exact")]
    pub due: Decimal,
    pub customer_name: Option<String>,
    #[serde(with = "rfc3339")]
    pub sale_date: DateTime<Utc>,
    pub sync_state: SyncState,
    pub sync_error: Option<String>,
    pub warnings: Vec<pos_protocol::sync::Warning>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DueCollectionView {
    pub local_id: i64,
    pub client_reference: String,
    pub party: PartyRef,
    pub party_name: String,
    #[serde(with = "exact")]
    pub amount: Decimal,
    pub payment_type_id: i64,
    pub note: Option<String>,
    #[serde(with = "rfc3339")]
    pub collected_at: DateTime<Utc>,
    pub sync_state: SyncState,
}

/// What the sync engine is doing right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncActivity {
    #[default]
    Idle,
    SigningIn,
    Registering,
    Pushing,
    FullSync,
    Pulling,
    /// Waiting before retrying after a failure.
    BackingOff,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// Records or operations handled so far in the current activity.
    pub done: u64,
    /// How many there are, when known.
    pub total: Option<u64>,
}

/// The status line the cashier always sees. `status --json` prints exactly this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// The last contact attempt with the server succeeded.
    pub online: bool,
    /// Queued operations not yet acknowledged and not failed.
    pub pending: u64,
    /// Operations the server refused, kept for a person.
    pub failed: u64,
    /// Operations the server kept as conflicts.
    pub conflicts: u64,
    #[serde(with = "rfc3339_opt")]
    pub last_sync_at: Option<DateTime<Utc>>,
    pub activity: SyncActivity,
    pub progress: Option<SyncProgress>,
    /// The server needs a newer terminal; the queue is kept.
    pub client_too_old: bool,
    pub signed_in: bool,
    pub last_error: Option<String>,
    /// The code of the last sync failure (e.g. `server_unreachable`, `unauthenticated`: sign
    /// in again, `client_too_old`); None after a successful sync.
    pub last_error_code: Option<crate::error::ErrorCode>,
}

/// What one `sync_now` did.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SyncReport {
    /// Operations sent.
    pub pushed: u64,
    /// Operations the server applied or already had.
    pub acknowledged: u64,
    /// Operations the server refused for good (kept as failed).
    pub rejected: u64,
    pub conflicts: u64,
    /// Operations still queued (transport failure, dependency waiting, backoff).
    pub still_pending: u64,
    /// Mirror records applied from `full` or `changes`.
    pub pulled_records: u64,
    /// A full download ran (first sync).
    pub full_sync: bool,
}

/// One outbox entry as the sync panel shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedOperation {
    pub id: i64,
    pub idempotency_key: String,
    /// `sale`, `party`, `due_collection`.
    pub entity: String,
    pub action: String,
    pub state: SyncState,
    /// A short human description, e.g. the offline invoice number and total.
    pub summary: String,
    pub attempts: u32,
    #[serde(with = "rfc3339_opt")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub error_code: Option<String>,
    pub last_error: Option<String>,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// The operation's data as it will be sent.
    pub payload: serde_json::Value,
}

// ---- store operations: shifts, cash, returns, rescue ------------------------------------

/// The cash counted at a shift's close: a total, or note by note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountedCash {
    Total(#[serde(with = "exact")] Decimal),
    Denominations(Vec<pos_protocol::store_ops::DenominationCount>),
}

impl CountedCash {
    pub fn total(&self) -> Decimal {
        match self {
            CountedCash::Total(total) => *total,
            CountedCash::Denominations(counts) => {
                pos_protocol::store_ops::DenominationCount::total(counts)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftView {
    pub local_id: i64,
    pub client_reference: String,
    pub cashier_name: Option<String>,
    #[serde(with = "rfc3339")]
    pub opened_at: DateTime<Utc>,
    #[serde(with = "exact")]
    pub opening_float: Decimal,
    #[serde(with = "rfc3339_opt")]
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CashMovementView {
    pub local_id: i64,
    pub client_reference: String,
    pub shift_local_id: i64,
    pub kind: pos_protocol::store_ops::CashMovementKind,
    #[serde(with = "exact")]
    pub amount: Decimal,
    pub reason: Option<String>,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// X report (shift still open) or Z report (closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShiftReportKind {
    X,
    Z,
}

/// One payment type's part of a shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentTypeTotals {
    pub payment_type_id: Option<i64>,
    pub name: String,
    /// Counts as cash in the drawer (see the engine README).
    pub is_cash: bool,
    pub sales_count: u64,
    /// What the sales took by this type (paid amounts, change already handed back).
    #[serde(with = "exact")]
    pub sales: Decimal,
    #[serde(with = "exact")]
    pub due_collections: Decimal,
    #[serde(with = "exact")]
    pub refunds: Decimal,
}

/// A shift's figures. `expected_cash` = float + cash sales + cash due collections − cash
/// refunds + pay-ins − pay-outs; `difference` = counted − expected (negative: cash missing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftReport {
    pub kind: ShiftReportKind,
    pub shift_local_id: i64,
    pub client_reference: String,
    pub cashier_name: Option<String>,
    #[serde(with = "rfc3339")]
    pub opened_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt")]
    pub closed_at: Option<DateTime<Utc>>,
    pub sales_count: u64,
    /// Sum of the sales' totals.
    #[serde(with = "exact")]
    pub sales_total: Decimal,
    /// Line and cart discounts given.
    #[serde(with = "exact")]
    pub discounts: Decimal,
    /// VAT charged on the sales.
    #[serde(with = "exact")]
    pub vat: Decimal,
    /// Left owing by customers.
    #[serde(with = "exact")]
    pub due: Decimal,
    pub refunds_count: u64,
    #[serde(with = "exact")]
    pub refunds: Decimal,
    /// VAT contained in the refunds.
    #[serde(with = "exact")]
    pub refunds_vat: Decimal,
    pub by_payment_type: Vec<PaymentTypeTotals>,
    #[serde(with = "exact")]
    pub opening_float: Decimal,
    #[serde(with = "exact")]
    pub cash_sales: Decimal,
    #[serde(with = "exact")]
    pub cash_due_collections: Decimal,
    #[serde(with = "exact")]
    pub cash_refunds: Decimal,
    #[serde(with = "exact")]
    pub pay_ins: Decimal,
    #[serde(with = "exact")]
    pub pay_outs: Decimal,
    #[serde(with = "exact")]
    pub expected_cash: Decimal,
    #[serde(with = "exact_opt")]
    pub counted_cash: Option<Decimal>,
    pub counted_denominations: Option<Vec<pos_protocol::store_ops::DenominationCount>>,
    #[serde(with = "exact_opt")]
    pub difference: Option<Decimal>,
}

/// Which line of a sale is returned: by product (barcode or code) or by line number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnItem {
    Code(String),
    LineNo(u32),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnLineInput {
    pub item: ReturnItem,
    #[serde(with = "exact")]
    pub quantity: Decimal,
}

/// How a return is refunded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundInput {
    /// Cash from the drawer, counted in the open shift.
    #[default]
    Cash,
    /// Lowers what the sale's customer owes.
    Due,
    /// Through this payment type (a cash one counts in the drawer).
    PaymentType(i64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnLineView {
    pub line_no: u32,
    pub product_id: i64,
    pub name: String,
    #[serde(with = "exact")]
    pub quantity: Decimal,
    /// Refunded for this line.
    #[serde(with = "exact")]
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnView {
    pub local_id: i64,
    pub client_reference: String,
    pub sale_local_id: i64,
    pub offline_invoice_no: String,
    pub lines: Vec<ReturnLineView>,
    pub refund_method: pos_protocol::store_ops::RefundMethod,
    pub payment_type_id: Option<i64>,
    /// The refund left the drawer as cash.
    pub refund_is_cash: bool,
    #[serde(with = "exact")]
    pub refund_amount: Decimal,
    pub shift_local_id: Option<i64>,
    #[serde(with = "rfc3339")]
    pub returned_at: DateTime<Utc>,
    pub sync_state: SyncState,
}

/// What `rescue_export` wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RescueExportView {
    pub path: PathBuf,
    pub operations: usize,
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The window and scripts read these shapes; they must not drift.
    #[test]
    fn inputs_and_views_keep_their_json_shapes() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(
            serde_json::to_value(Discount::Percent(d("12.5"))).unwrap(),
            json!({"kind": "percent", "value": 12.5})
        );
        assert_eq!(
            serde_json::from_value::<Discount>(json!({"kind": "amount", "value": "1.50"})).unwrap(),
            Discount::Amount(d("1.5"))
        );
        assert_eq!(
            serde_json::from_value::<Discount>(json!({"kind": "none"})).unwrap(),
            Discount::None
        );
        assert_eq!(
            serde_json::to_value(PartyRef::Local(3)).unwrap(),
            json!({"local": 3})
        );
        assert_eq!(
            serde_json::from_value::<PartyRef>(json!({"server": 42})).unwrap(),
            PartyRef::Server(42)
        );
        let payment: PaymentInput =
            serde_json::from_value(json!({"payment_type_id": 2, "tendered": 20})).unwrap();
        assert_eq!(payment.tendered, Some(d("20")));
        let product = ProductView {
            id: 1,
            product_code: Some("C1".into()),
            barcode: None,
            product_name: "Tea".into(),
            product_sale_price: d("2.50"),
            vat_rate: d("5"),
            stock: d("7.25"),
            category_id: Some(3),
        };
        let json = serde_json::to_value(&product).unwrap();
        for key in [
            "id",
            "productCode",
            "productName",
            "productSalePrice",
            "stock",
            "vat_rate",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        assert_eq!(json["stock"].to_string(), "7.25");
    }

    #[test]
    fn store_operation_inputs_keep_their_json_shapes() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(
            serde_json::from_value::<CountedCash>(json!({"total": "122.25"})).unwrap(),
            CountedCash::Total(d("122.25"))
        );
        let counted: CountedCash = serde_json::from_value(
            json!({"denominations": [{"value": 20, "count": 5}, {"value": 0.05, "count": 3}]}),
        )
        .unwrap();
        assert_eq!(counted.total(), d("100.15"));
        assert_eq!(
            serde_json::from_value::<RefundInput>(json!({"payment_type": 2})).unwrap(),
            RefundInput::PaymentType(2)
        );
        assert_eq!(
            serde_json::from_value::<RefundInput>(json!("cash")).unwrap(),
            RefundInput::Cash
        );
        let line: ReturnLineInput =
            serde_json::from_value(json!({"item": {"code": "COLA0"}, "quantity": 2})).unwrap();
        assert_eq!(line.item, ReturnItem::Code("COLA0".into()));
        let line: ReturnLineInput =
            serde_json::from_value(json!({"item": {"line_no": 3}, "quantity": "0.5"})).unwrap();
        assert_eq!(
            (line.item, line.quantity),
            (ReturnItem::LineNo(3), d("0.5"))
        );
    }

    #[test]
    fn typed_discounts_and_customers_parse_or_say_why() {
        assert_eq!(
            "10%".parse::<Discount>().unwrap(),
            Discount::Percent(Decimal::TEN)
        );
        assert_eq!(
            "2.5".parse::<Discount>().unwrap(),
            Discount::Amount(Decimal::new(25, 1))
        );
        assert_eq!("0".parse::<Discount>().unwrap(), Discount::None);
        assert!("-1"
            .parse::<Discount>()
            .unwrap_err()
            .message
            .contains("negative"));
        assert!("ten"
            .parse::<Discount>()
            .unwrap_err()
            .message
            .starts_with("discount:"));
        assert_eq!("local:4".parse::<PartyRef>().unwrap(), PartyRef::Local(4));
        assert_eq!(" 17 ".parse::<PartyRef>().unwrap(), PartyRef::Server(17));
        assert!("local:x".parse::<PartyRef>().is_err());
        assert!("0".parse::<PartyRef>().is_err());
        assert_eq!(PartyRef::Local(4).to_string(), "local:4");
    }
}

/// Paper roll width of the receipt printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PaperWidth {
    /// 80 mm: 48 columns.
    #[default]
    #[serde(rename = "80mm")]
    Mm80,
    /// 58 mm: 32 columns.
    #[serde(rename = "58mm")]
    Mm58,
}

/// How receipts reach the printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterKind {
    /// No printer: the window offers the system print dialog.
    #[default]
    None,
    /// Raw TCP to `target:port` (9100 for most network printers).
    Network,
    /// A Windows printer by name, through the spooler in RAW mode.
    Windows,
    /// A CUPS queue by name (`lp -o raw`).
    Cups,
}

impl PrinterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrinterKind::None => "none",
            PrinterKind::Network => "network",
            PrinterKind::Windows => "windows",
            PrinterKind::Cups => "cups",
        }
    }
}

/// This till's receipt printer (kept in the local store; the printer is the till's hardware).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterSettings {
    pub kind: PrinterKind,
    /// Host (network), printer name (windows) or queue (cups).
    pub target: Option<String>,
    /// TCP port of a network printer.
    pub port: u16,
    pub paper: PaperWidth,
    /// Print the receipt as soon as a sale is completed.
    pub auto_print: bool,
    /// A cash drawer hangs on the printer: kick it on the events that open it.
    pub drawer: bool,
}

/// Why the drawer opens (`35-store-operations.md`): each of these pulses it when a drawer is
/// set up on the printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawerEvent {
    CashSale,
    CashRefund,
    PayIn,
    PayOut,
    ShiftOpen,
    ShiftClose,
    /// A manager's "open drawer" with no sale (logged as a `drawer_open` cash movement).
    NoSale,
}

/// What was printed, or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintOutcome {
    pub printed: bool,
    pub bytes: usize,
    /// The drawer pulse went with it.
    pub drawer_kicked: bool,
    pub copy: bool,
}

/// A person who works this till with a PIN (the PIN itself is never shown or kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashierView {
    /// The server's user id: what the operations record.
    pub user_id: i64,
    pub name: String,
    pub role: pos_protocol::auth::Role,
}
