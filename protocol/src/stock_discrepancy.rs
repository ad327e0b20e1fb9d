//! Stock discrepancies: a sale took more than a stock row held (offline selling), so the stock
//! went negative. A manager looks at each and resolves it.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::{exact, exact_opt};
use crate::time::{rfc3339, rfc3339_opt};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The negative stock stands; the system's adjustment is accepted.
    AutoAdjusted,
    /// Someone counted the shelf; `counted_stock` sets the stock row.
    Manual,
    /// The goods are owed to the customer and will be delivered later.
    Backorder,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::AutoAdjusted => "auto_adjusted",
            Resolution::Manual => "manual",
            Resolution::Backorder => "backorder",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StockDiscrepancy {
    pub id: i64,
    pub business_id: i64,
    pub product_id: i64,
    pub stock_id: Option<i64>,
    pub sale_id: Option<i64>,
    pub device_id: Option<String>,
    /// Quantity the sale took.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub expected: Decimal,
    /// Quantity the stock row held.
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub available: Decimal,
    /// `available - expected` (negative).
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub discrepancy: Decimal,
    /// `None` while open.
    pub resolution: Option<Resolution>,
    pub resolved_by: Option<i64>,
    #[serde(with = "rfc3339_opt", default)]
    pub resolved_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// `POST /stock-discrepancies/{id}/resolve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResolveDiscrepancyRequest {
    pub resolution: Resolution,
    #[serde(default)]
    pub note: Option<String>,
    /// With `manual`: the counted quantity the stock row is set to.
    #[serde(with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub counted_stock: Option<Decimal>,
}
