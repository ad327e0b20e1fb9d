//! The back office: staff, the business and its settings, reference lists, product variants,
//! stock batches and the dashboard figures, with the original backend's field names.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;
use crate::money::{exact, exact_opt};
use crate::time::{rfc3339, rfc3339_opt};

/// A member of staff. `DELETE` deactivates (and soft-deletes) the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffUser {
    pub id: i64,
    pub business_id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub is_active: bool,
    /// A till PIN is set (the PIN itself, and its hash, are never shown).
    #[serde(default)]
    pub has_pin: bool,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The caller's business as the back office edits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Business {
    pub id: i64,
    pub business_category_id: Option<i64>,
    #[serde(rename = "companyName")]
    pub company_name: String,
    pub address: Option<String>,
    pub email: Option<String>,
    #[serde(rename = "phoneNumber")]
    pub phone_number: Option<String>,
    pub vat_name: Option<String>,
    pub vat_no: Option<String>,
    #[serde(rename = "shopOpeningBalance", with = "exact")]
    #[schema(value_type = f64)]
    pub shop_opening_balance: Decimal,
    /// `a4`, `3_inch_80mm` or `2_inch_58mm`.
    pub invoice_size: String,
    /// `none`, `round_up`, `nearest_whole_number`, `nearest_0.05`, `nearest_0.1`, `nearest_0.5`.
    pub sale_rounding_option: String,
    pub gratitude_message: Option<String>,
    pub invoice_note: Option<String>,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// What receipts and invoices look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceSettings {
    pub invoice_size: String,
    pub invoice_prefix: String,
    pub sale_rounding_option: String,
    pub gratitude_message: Option<String>,
    pub invoice_note: Option<String>,
}

/// `GET /invoice-settings`: the original client reads `invoice_size` at the top level.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvoiceSettingsResponse {
    pub message: String,
    pub invoice_size: String,
    pub data: InvoiceSettings,
}

/// The next document number a kind of document would get, without taking it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InvoicePreview {
    /// `sales`, `purchases`, `due_collects`, `sales_return` or `purchases_return`.
    pub platform: String,
    pub invoice_number: String,
}

/// One currency of the reference list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CurrencyEntry {
    pub id: i64,
    pub name: String,
    pub code: String,
    pub symbol: String,
    pub minor_units: u32,
}

/// One kind of shop of the reference list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BusinessCategory {
    pub id: i64,
    pub name: String,
}

/// A sellable variant of a product (size, colour, ...), with its own code and prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductVariant {
    pub id: i64,
    pub business_id: i64,
    pub product_id: i64,
    pub sku: String,
    pub barcode: Option<String>,
    #[serde(with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub price: Option<Decimal>,
    #[serde(with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub cost_price: Option<Decimal>,
    #[serde(with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub wholesale_price: Option<Decimal>,
    #[serde(with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub dealer_price: Option<Decimal>,
    #[serde(with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub weight: Option<Decimal>,
    pub image: Option<String>,
    pub is_active: bool,
    pub sort_order: i32,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// `{id, name}` of a related record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NamedRef {
    pub id: i64,
    pub name: String,
}

/// The product a batch belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchProduct {
    pub id: i64,
    pub name: String,
    /// The product code.
    pub sku: Option<String>,
}

/// A stock batch: one stock row with its expiry seen from the business's today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Batch {
    /// The stock row's id.
    pub id: i64,
    pub business_id: i64,
    pub batch_no: Option<String>,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub quantity: Decimal,
    #[serde(rename = "productPurchasePrice", with = "exact")]
    #[schema(value_type = f64)]
    pub purchase_price: Decimal,
    #[serde(rename = "productSalePrice", with = "exact")]
    #[schema(value_type = f64)]
    pub sale_price: Decimal,
    pub mfg_date: Option<String>,
    pub expire_date: Option<String>,
    pub is_expired: bool,
    pub is_expiring_soon: bool,
    /// Negative once expired; null without an expiry date.
    pub days_until_expiry: Option<i64>,
    pub warehouse: Option<NamedRef>,
    pub product: BatchProduct,
    /// The product variant the stock is of (`name` is its SKU), if any.
    pub variant: Option<NamedRef>,
}

/// `GET /products/{id}/batches`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchesResponse {
    pub success: bool,
    pub batches: Vec<Batch>,
}

/// `GET /batches/expiring` and `GET /batches/expired` (`days` only for expiring).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExpiryResponse {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub days: Option<i64>,
    pub count: usize,
    pub batches: Vec<Batch>,
}

/// One thing that moved a batch's quantity: `sale` (issued), `sale_return` or `purchase`
/// (received).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchMovement {
    #[serde(rename = "type")]
    pub kind: String,
    /// The sale, return or purchase.
    pub reference_id: i64,
    pub invoice_number: Option<String>,
    /// Positive when received, negative when issued.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub quantity: Decimal,
    #[serde(with = "rfc3339")]
    pub date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MovementSummary {
    pub total_movements: usize,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub total_received: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub total_issued: Decimal,
}

/// `GET /batches/{id}` and `GET /batches/{id}/movements`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchDetailResponse {
    pub success: bool,
    pub batch: Batch,
    pub movement_summary: MovementSummary,
    pub movements: Vec<BatchMovement>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SelectBatchesRequest {
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub quantity: Decimal,
    #[serde(default)]
    pub warehouse_id: Option<i64>,
    /// Only this variant's batches.
    #[serde(default)]
    pub variant_id: Option<i64>,
}

/// A batch and how much to take from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SelectedBatch {
    #[serde(flatten)]
    pub batch: Batch,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub take_quantity: Decimal,
}

/// `POST /products/{id}/select-batches`: first expiry first out, expired batches left aside.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SelectBatchesResponse {
    pub success: bool,
    /// `fefo`.
    pub strategy: String,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub requested_quantity: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub total_available: Decimal,
    /// False when the batches hold less than asked; `selected_batches` then takes all.
    pub fulfilled: bool,
    pub selected_batches: Vec<SelectedBatch>,
    pub all_available_batches: Vec<Batch>,
}

/// A sale with something left to pay, for collecting a due against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DueInvoice {
    pub id: i64,
    pub party_id: i64,
    #[serde(rename = "invoiceNumber")]
    pub invoice_number: String,
    #[serde(rename = "totalAmount", with = "exact")]
    #[schema(value_type = f64)]
    pub total_amount: Decimal,
    #[serde(rename = "paidAmount", with = "exact")]
    #[schema(value_type = f64)]
    pub paid_amount: Decimal,
    #[serde(rename = "dueAmount", with = "exact")]
    #[schema(value_type = f64)]
    pub due_amount: Decimal,
    #[serde(rename = "saleDate", with = "rfc3339")]
    pub sale_date: DateTime<Utc>,
}

/// Today's money, on the business's UTC day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Summary {
    /// Total of today's sales.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub sales: Decimal,
    /// Money taken today: paid on sales plus dues collected.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub income: Decimal,
    /// Money paid out today on purchases.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub expense: Decimal,
    /// Total of today's purchases.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub purchase: Decimal,
    pub sales_count: u64,
}

/// One day of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DailyAmount {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub amount: Decimal,
}

/// The back office's front page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dashboard {
    /// Paid out on purchases, all time.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub total_expense: Decimal,
    /// Paid on sales plus dues collected, all time.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub total_income: Decimal,
    /// Live products.
    pub total_items: u64,
    pub total_categories: u64,
    /// Stock on hand at purchase price.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub stock_value: Decimal,
    /// What customers owe (positive dues only).
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub total_due: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub total_profit: Decimal,
    /// Losses as a positive amount.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub total_loss: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub today_sales: Decimal,
    pub today_sales_count: u64,
    /// Products whose stock is at or below their alert quantity.
    pub low_stock_count: u64,
    /// The last 7 days, oldest first.
    pub sales: Vec<DailyAmount>,
    pub purchases: Vec<DailyAmount>,
}

/// One variant's stock in `GET /products/{id}/variants/stock-summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VariantStock {
    pub id: i64,
    pub sku: String,
    pub barcode: Option<String>,
    #[serde(with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub price: Option<Decimal>,
    pub is_active: bool,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub stock: Decimal,
    /// The stock at its purchase prices.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub stock_value: Decimal,
}

/// `GET /products/{id}/variants/stock-summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VariantStockSummary {
    pub product_id: i64,
    pub product_name: String,
    pub total_variants: usize,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub total_stock: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub total_stock_value: Decimal,
    pub variants: Vec<VariantStock>,
}

/// `PUT /variants/{id}/stock`: the stock row counted and the variant's stock in all rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VariantStockUpdate {
    pub variant_id: i64,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub total_stock: Decimal,
    pub stock_record: crate::entities::Stock,
}
