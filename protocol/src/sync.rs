//! The sync API: health, register, full, changes and batch.
//!
//! See `20-sync-protocol.md` of the product spec for the rules; this module only fixes the
//! shapes. Operation payloads travel as JSON inside [`Operation::data`] and are parsed per entity
//! on the server, so one malformed operation fails alone instead of failing its whole batch.

use crate::entities::{
    Brand, Cashier, Category, Party, PaymentType, Product, Settings, Stock, Unit, Vat, Warehouse,
};
use crate::money::{amount, amount_opt, exact, quantity};
use crate::time::{rfc3339, rfc3339_opt};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Header every terminal request carries.
pub const CLIENT_VERSION_HEADER: &str = "X-Client-Version";
pub const DEVICE_ID_HEADER: &str = "X-Device-ID";
pub const IDEMPOTENCY_KEY_HEADER: &str = "X-Idempotency-Key";
pub const SERVER_TIMESTAMP_HEADER: &str = "X-Server-Timestamp";
/// Operations in one batch, at most.
pub const MAX_BATCH_OPERATIONS: usize = 500;
pub const DEFAULT_PAGE_SIZE: u32 = 500;
pub const MAX_PAGE_SIZE: u32 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthResponse {
    /// `healthy` or `unhealthy`.
    pub status: String,
    #[serde(with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
    pub version: String,
    pub min_client_version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegisterRequest {
    pub device_id: String,
    pub device_name: String,
    pub os: Option<String>,
    pub app_version: Option<String>,
    /// The till's PIN key (base64 of 32 random bytes, see [`crate::pin::DeviceKey`]). Kept
    /// only when a manager or owner registers: a cashier's token cannot choose the key that
    /// PIN verifiers are sealed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegisterData {
    pub device_id: String,
    #[serde(with = "rfc3339")]
    pub registered_at: DateTime<Utc>,
    /// Highest N of the `OFF-{DEVICE}-{N}` numbers received from this device (0 if none).
    pub last_offline_seq: i64,
    /// The server seals PIN verifiers for this device with the `pin_key` sent.
    #[serde(default)]
    pub pin_key_accepted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegisterResponse {
    pub success: bool,
    pub message: String,
    pub data: RegisterData,
}

/// Every mirrored entity of a full download; absent keys were not asked for.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct FullData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<Category>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brands: Option<Vec<Brand>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<Vec<Unit>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vats: Option<Vec<Vat>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_types: Option<Vec<PaymentType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouses: Option<Vec<Warehouse>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<Vec<Product>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stocks: Option<Vec<Stock>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parties: Option<Vec<Party>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cashiers: Option<Vec<Cashier>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FullResponse {
    pub success: bool,
    pub data: FullData,
    /// Where `changes` continues from: taken before the first page, so nothing written while
    /// the pages download is lost.
    pub sync_token: String,
    #[serde(with = "rfc3339")]
    pub server_timestamp: DateTime<Utc>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

/// What changed in one entity since a token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangeSet<T> {
    pub created: Vec<T>,
    pub updated: Vec<T>,
    /// Ids of records deleted since the token.
    pub deleted: Vec<i64>,
}

impl<T> Default for ChangeSet<T> {
    fn default() -> Self {
        Self {
            created: Vec::new(),
            updated: Vec::new(),
            deleted: Vec::new(),
        }
    }
}

impl<T> ChangeSet<T> {
    pub fn len(&self) -> usize {
        self.created.len() + self.updated.len() + self.deleted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ChangesData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<ChangeSet<Category>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brands: Option<ChangeSet<Brand>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<ChangeSet<Unit>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vats: Option<ChangeSet<Vat>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_types: Option<ChangeSet<PaymentType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouses: Option<ChangeSet<Warehouse>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<ChangeSet<Product>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stocks: Option<ChangeSet<Stock>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parties: Option<ChangeSet<Party>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cashiers: Option<ChangeSet<Cashier>>,
    /// The whole settings object, only when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangesResponse {
    pub success: bool,
    pub data: ChangesData,
    pub sync_token: String,
    #[serde(with = "rfc3339")]
    pub server_timestamp: DateTime<Utc>,
    pub has_more: bool,
    pub total_records: u64,
}

/// One queued operation of a terminal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Operation {
    pub idempotency_key: String,
    /// `sale`, `party`, `due_collection`, `shift`, `cash_movement`, `sale_return`.
    pub entity: String,
    /// `create`, `update`, `delete`, `open`, `close`.
    pub action: String,
    /// The entity's payload; its shape depends on `entity` and `action`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    #[serde(with = "rfc3339_opt", default)]
    pub offline_timestamp: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchRequest {
    pub operations: Vec<Operation>,
    #[serde(with = "rfc3339_opt", default)]
    pub client_timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub device_id: Option<String>,
}

/// Result statuses, as the original client knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    Created,
    Updated,
    Deleted,
    /// Already there (same client reference or local id): nothing changed.
    Skipped,
    /// Kept or not applied; a person must look at it.
    Conflict,
    /// Not applied; the client may retry or must fix it.
    Error,
}

impl ResultStatus {
    /// The operation needs nothing more from the terminal.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            ResultStatus::Created
                | ResultStatus::Updated
                | ResultStatus::Deleted
                | ResultStatus::Skipped
        )
    }
}

/// Machine codes of failed operations (upper snake case on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BatchErrorCode {
    ValidationFailed,
    StockNotFound,
    PartyNotFound,
    SaleNotFound,
    PaymentTypeNotFound,
    ShiftNotFound,
    DueRequiresParty,
    DependencyFailed,
    ClientTooOld,
    IdempotencyKeyReused,
    UnsupportedOperation,
    VersionConflict,
    ReturnExceedsSale,
    Internal,
}

/// Something the server accepted but wants a person to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Warning {
    /// A sale took more than the stock row held; stock went negative.
    StockDiscrepancy {
        product_id: i64,
        stock_id: i64,
        #[serde(with = "exact")]
        #[schema(value_type = f64)]
        expected: Decimal,
        #[serde(with = "exact")]
        #[schema(value_type = f64)]
        available: Decimal,
        #[serde(with = "exact")]
        #[schema(value_type = f64)]
        discrepancy: Decimal,
        /// `allowed_negative`.
        action: String,
    },
    /// The totals the terminal sent differ from the server's recomputation beyond rounding.
    TotalsMismatch {
        #[serde(with = "exact")]
        #[schema(value_type = f64)]
        client_total: Decimal,
        #[serde(with = "exact")]
        #[schema(value_type = f64)]
        server_total: Decimal,
    },
    /// A due collection took more than was due; the excess is the party's advance.
    Overpayment {
        party_id: i64,
        #[serde(with = "exact")]
        #[schema(value_type = f64)]
        excess: Decimal,
    },
    /// The operation happened after its shift was closed.
    AfterShiftClose { shift_id: i64 },
}

/// The answer for one operation, in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperationResult {
    pub idempotency_key: String,
    pub status: ResultStatus,
    /// This is the stored first answer to the same key.
    #[serde(default)]
    pub replayed: bool,
    pub server_id: Option<i64>,
    #[serde(default, deserialize_with = "local_id_opt")]
    pub local_id: Option<String>,
    pub invoice_number: Option<String>,
    pub version: Option<i64>,
    #[serde(with = "rfc3339_opt", default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
    pub error_code: Option<BatchErrorCode>,
    pub error: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub conflict: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchSummary {
    pub total: usize,
    pub success_count: usize,
    pub error_count: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    pub success: bool,
    pub results: Vec<OperationResult>,
    #[serde(with = "rfc3339")]
    pub server_timestamp: DateTime<Utc>,
    pub summary: BatchSummary,
}

/// A local id: terminals send it as a string or a number; it is kept as text.
pub fn local_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) if !s.is_empty() && s.len() <= 64 => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        _ => Err(serde::de::Error::custom(
            "expected a local id (a number or a string of 1 to 64 characters)",
        )),
    }
}

/// [`local_id`] for optional fields; pair with `#[serde(default)]`.
pub fn local_id_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        other => local_id(other).map(Some).map_err(serde::de::Error::custom),
    }
}

/// A party created at the till, embedded in the sale that needed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewParty {
    #[serde(deserialize_with = "local_id")]
    pub local_id: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(rename = "type", default)]
    pub party_type: Option<String>,
}

/// One line of a sale, as the terminal sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SaleLineData {
    pub line_no: u32,
    pub stock_id: i64,
    /// Quantity sold (up to 3 decimals).
    #[serde(with = "quantity")]
    #[schema(value_type = f64)]
    pub quantities: Decimal,
    /// Unit price charged.
    #[serde(with = "amount")]
    #[schema(value_type = f64)]
    pub price: Decimal,
    /// Amount taken off this line.
    #[serde(with = "amount_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub discount: Option<Decimal>,
    #[serde(default)]
    pub vat_id: Option<i64>,
    #[serde(with = "amount_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub vat_amount: Option<Decimal>,
    #[serde(rename = "lossProfit", with = "amount_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub loss_profit: Option<Decimal>,
}

/// `sale` / `create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SaleCreate {
    #[serde(deserialize_with = "local_id_opt", default)]
    pub local_id: Option<String>,
    #[serde(default)]
    pub offline_invoice_no: Option<String>,
    /// A UUID the terminal chose: the sale's identity for ever.
    #[serde(default)]
    pub client_reference: Option<String>,
    #[serde(default)]
    pub party_id: Option<i64>,
    #[serde(deserialize_with = "local_id_opt", default)]
    pub party_local_id: Option<String>,
    #[serde(default)]
    pub new_party: Option<NewParty>,
    #[serde(rename = "totalAmount", with = "amount")]
    #[schema(value_type = f64)]
    pub total_amount: Decimal,
    #[serde(rename = "paidAmount", with = "amount_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub paid_amount: Option<Decimal>,
    #[serde(rename = "dueAmount", with = "amount_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub due_amount: Option<Decimal>,
    #[serde(with = "amount_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub change_amount: Option<Decimal>,
    #[serde(rename = "isPaid", default)]
    pub is_paid: Option<bool>,
    /// The cart discount (line discounts travel on the lines).
    #[serde(rename = "discountAmount", with = "amount_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub discount_amount: Option<Decimal>,
    #[serde(with = "amount_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub vat_amount: Option<Decimal>,
    #[serde(with = "amount_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub vat_percent: Option<Decimal>,
    #[serde(default)]
    pub payment_type_id: Option<i64>,
    #[serde(rename = "saleDate", with = "rfc3339_opt", default)]
    pub sale_date: Option<DateTime<Utc>>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
    #[serde(default)]
    pub cashier_id: Option<i64>,
    #[serde(default)]
    pub shift_id: Option<i64>,
    #[serde(deserialize_with = "local_id_opt", default)]
    pub shift_local_id: Option<String>,
    pub products: Vec<SaleLineData>,
}

/// `party` / `create`, `update`, `delete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PartyData {
    #[serde(deserialize_with = "local_id_opt", default)]
    pub local_id: Option<String>,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(rename = "type", default)]
    pub party_type: Option<String>,
}

/// `due_collection` / `create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DueCollectionCreate {
    #[serde(deserialize_with = "local_id_opt", default)]
    pub local_id: Option<String>,
    #[serde(default)]
    pub client_reference: Option<String>,
    #[serde(default)]
    pub party_id: Option<i64>,
    #[serde(deserialize_with = "local_id_opt", default)]
    pub party_local_id: Option<String>,
    #[serde(default)]
    pub sale_id: Option<i64>,
    #[serde(deserialize_with = "local_id_opt", default)]
    pub sale_local_id: Option<String>,
    #[serde(with = "amount")]
    #[schema(value_type = f64)]
    pub amount: Decimal,
    #[serde(default)]
    pub payment_type_id: Option<i64>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub shift_id: Option<i64>,
    #[serde(deserialize_with = "local_id_opt", default)]
    pub shift_local_id: Option<String>,
}

/// The number part of an offline invoice number `OFF-{DEVICE}-{N}`.
pub fn offline_seq(offline_invoice_no: &str) -> Option<i64> {
    let mut parts = offline_invoice_no.splitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("OFF"), Some(device), Some(n)) if !device.is_empty() => n.parse().ok(),
        _ => None,
    }
}

/// The offline invoice number a device gives its `seq`-th sale.
pub fn offline_invoice_no(device_id: &str, seq: i64) -> String {
    let short: String = device_id
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    format!("OFF-{short}-{seq}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_numbers_round_trip() {
        let no = offline_invoice_no("3f2a9c1e-0b7d-4e55-9a0c-1d2e3f405060", 42);
        assert_eq!(no, "OFF-3F2A9C1E-42");
        assert_eq!(offline_seq(&no), Some(42));
        assert_eq!(offline_seq("INV-00042"), None);
    }

    #[test]
    fn sale_payload_reads_old_client_extras_and_string_numbers() {
        let sale: SaleCreate = serde_json::from_value(serde_json::json!({
            "local_id": 7,
            "client_reference": "c0ffee",
            "party_local_id": "3",
            "totalAmount": "23.00",
            "paidAmount": 23,
            "products": [{"line_no": 1, "stock_id": 5, "quantities": 2, "price": 11.5,
                           "product_name": "ignored extra"}],
            "unknown_extra": true
        }))
        .unwrap();
        assert_eq!(sale.local_id.as_deref(), Some("7"));
        assert_eq!(sale.party_local_id.as_deref(), Some("3"));
        assert_eq!(sale.total_amount, Decimal::new(2300, 2));
        assert_eq!(sale.products[0].price, Decimal::new(115, 1));
    }

    #[test]
    fn warnings_and_results_round_trip() {
        let result = OperationResult {
            idempotency_key: "k1".into(),
            status: ResultStatus::Created,
            replayed: false,
            server_id: Some(9),
            local_id: Some("7".into()),
            invoice_number: Some("INV-000009".into()),
            version: Some(1),
            created_at: None,
            warnings: vec![Warning::StockDiscrepancy {
                product_id: 1,
                stock_id: 2,
                expected: Decimal::new(5, 0),
                available: Decimal::new(3, 0),
                discrepancy: Decimal::new(-2, 0),
                action: "allowed_negative".into(),
            }],
            error_code: None,
            error: None,
            conflict: None,
        };
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["warnings"][0]["type"], "stock_discrepancy");
        assert_eq!(json["warnings"][0]["discrepancy"].to_string(), "-2");
        let back: OperationResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, result);
        assert_eq!(
            serde_json::to_value(BatchErrorCode::DependencyFailed).unwrap(),
            "DEPENDENCY_FAILED"
        );
    }
}
