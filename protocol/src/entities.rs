//! Records as the API shows them, with the original backend's field names.
//!
//! Every syncable record carries `version` (1 on create, +1 on every change), `updated_at` and
//! `deleted_at` (a soft delete, which sync reports as a tombstone).

use crate::money::{exact, exact_opt};
use crate::time::{rfc3339, rfc3339_opt};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The syncable entity kinds, by their names in sync payloads (`entities=` and `data` keys).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Categories,
    Brands,
    Units,
    Vats,
    PaymentTypes,
    Warehouses,
    Products,
    Stocks,
    Parties,
    Cashiers,
}

impl EntityKind {
    /// In dependency order: a terminal applying them in this order never sees a dangling id.
    pub const ALL: [EntityKind; 10] = [
        EntityKind::Categories,
        EntityKind::Brands,
        EntityKind::Units,
        EntityKind::Vats,
        EntityKind::PaymentTypes,
        EntityKind::Warehouses,
        EntityKind::Products,
        EntityKind::Stocks,
        EntityKind::Parties,
        EntityKind::Cashiers,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Categories => "categories",
            EntityKind::Brands => "brands",
            EntityKind::Units => "units",
            EntityKind::Vats => "vats",
            EntityKind::PaymentTypes => "payment_types",
            EntityKind::Warehouses => "warehouses",
            EntityKind::Products => "products",
            EntityKind::Stocks => "stocks",
            EntityKind::Parties => "parties",
            EntityKind::Cashiers => "cashiers",
        }
    }

    pub fn parse(name: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub id: i64,
    pub business_id: i64,
    #[serde(rename = "categoryName")]
    pub category_name: String,
    pub icon: Option<String>,
    pub status: i32,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Brand {
    pub id: i64,
    pub business_id: i64,
    #[serde(rename = "brandName")]
    pub brand_name: String,
    pub icon: Option<String>,
    pub status: i32,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Unit {
    pub id: i64,
    pub business_id: i64,
    #[serde(rename = "unitName")]
    pub unit_name: String,
    pub status: i32,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Vat {
    pub id: i64,
    pub business_id: i64,
    pub name: String,
    /// Percent.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub rate: Decimal,
    pub status: bool,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentType {
    pub id: i64,
    pub business_id: i64,
    pub name: String,
    /// A credit payment type leaves the amount as the customer's due.
    pub is_credit: bool,
    pub status: i32,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Warehouse {
    pub id: i64,
    pub business_id: i64,
    pub name: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: i64,
    pub business_id: i64,
    #[serde(rename = "productName")]
    pub product_name: String,
    /// The product's code; scanners read it as the barcode when `barcode` is empty.
    #[serde(rename = "productCode")]
    pub product_code: Option<String>,
    /// A separate barcode (EAN/UPC) when it differs from the product code.
    pub barcode: Option<String>,
    pub category_id: Option<i64>,
    pub brand_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub vat_id: Option<i64>,
    /// `inclusive` or `exclusive`.
    pub vat_type: String,
    pub product_type: Option<String>,
    #[serde(rename = "productPurchasePrice", with = "exact")]
    #[schema(value_type = f64)]
    pub product_purchase_price: Decimal,
    #[serde(rename = "productSalePrice", with = "exact")]
    #[schema(value_type = f64)]
    pub product_sale_price: Decimal,
    #[serde(rename = "productWholeSalePrice", with = "exact")]
    #[schema(value_type = f64)]
    pub product_wholesale_price: Decimal,
    #[serde(rename = "productDealerPrice", with = "exact")]
    #[schema(value_type = f64)]
    pub product_dealer_price: Decimal,
    /// Sum of the product's stock rows.
    #[serde(rename = "productStock", with = "exact")]
    #[schema(value_type = f64)]
    pub product_stock: Decimal,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub alert_qty: Decimal,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Stock of one product in one warehouse and batch, with its own prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Stock {
    pub id: i64,
    pub business_id: i64,
    pub warehouse_id: Option<i64>,
    pub product_id: i64,
    /// The product variant this stock is of, when it is of one.
    #[serde(default)]
    pub variant_id: Option<i64>,
    pub batch_no: Option<String>,
    #[serde(rename = "productStock", with = "exact")]
    #[schema(value_type = f64)]
    pub product_stock: Decimal,
    #[serde(rename = "productPurchasePrice", with = "exact")]
    #[schema(value_type = f64)]
    pub product_purchase_price: Decimal,
    #[serde(rename = "productSalePrice", with = "exact")]
    #[schema(value_type = f64)]
    pub product_sale_price: Decimal,
    #[serde(rename = "productWholeSalePrice", with = "exact")]
    #[schema(value_type = f64)]
    pub product_wholesale_price: Decimal,
    #[serde(rename = "productDealerPrice", with = "exact")]
    #[schema(value_type = f64)]
    pub product_dealer_price: Decimal,
    pub mfg_date: Option<String>,
    pub expire_date: Option<String>,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A customer or supplier. `due` is what the party owes (negative: an advance it holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Party {
    pub id: i64,
    pub business_id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// `Customer`, `Retailer`, `Dealer`, `Wholesaler` or `Supplier`.
    #[serde(rename = "type")]
    pub party_type: String,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub due: Decimal,
    #[serde(with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub credit_limit: Option<Decimal>,
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub opening_balance: Decimal,
    pub status: i32,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A person of the business as terminals mirror them: who may switch in at a till with a PIN,
/// and whose PIN authorises what a cashier may not do alone. The PIN's verifier travels only
/// sealed for the asking till (`pin_sealed`, see [`crate::pin`]): null when no PIN is set or the
/// till holds no device key the server accepted; a deactivated or deleted user can no longer
/// switch in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Cashier {
    pub id: i64,
    pub business_id: i64,
    pub name: String,
    pub role: crate::auth::Role,
    #[serde(default)]
    pub pin_sealed: Option<String>,
    pub is_active: bool,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Currency {
    /// ISO 4217 code, e.g. `USD`.
    pub code: String,
    pub symbol: String,
    /// Decimal places, 0–3.
    pub minor_units: u32,
}

/// Where the currency symbol goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CurrencyPosition {
    Before,
    After,
}

/// The business settings a terminal mirrors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    pub company_name: String,
    pub currency: Currency,
    pub currency_position: CurrencyPosition,
    pub vat_enabled: bool,
    /// Prices include VAT.
    pub vat_inclusive: bool,
    pub invoice_prefix: String,
    /// IANA time zone: the business day for reports and shifts.
    pub timezone: String,
    pub shifts_required: bool,
    /// Largest discount (percent of the cart) a cashier may give without a manager.
    #[serde(with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub max_cashier_discount_percent: Option<Decimal>,
    pub version: i64,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
}

impl Settings {
    pub fn pricing_rules(&self) -> crate::totals::PricingRules {
        crate::totals::PricingRules {
            vat_inclusive: self.vat_inclusive,
            minor_units: self.currency.minor_units,
        }
    }
}
