//! The contract between the till and the server.
//!
//! Everything that crosses the wire is defined here once and used by both sides, so the
//! terminal and the server cannot drift apart. This crate does no I/O.
//!
//! - [`money`]: exact decimal (de)serialisation of JSON numbers, rounding to minor units.
//! - [`time`]: RFC 3339 timestamps with milliseconds.
//! - [`error`]: the one error body every endpoint answers with, and its stable codes.
//! - [`page`]: pagination query and answer.
//! - [`totals`]: the one function that prices a cart; the till and the server both call it.
//! - [`entities`]: catalog, party and settings records as the API shows them.
//! - [`auth`]: sign-in and token refresh.
//! - [`sync`]: register, full, changes and batch envelopes and operation payloads.
//! - [`office`]: staff, business, variants, batches and dashboard figures.
//! - [`pin`]: the rule for staff PINs and the sealing of a PIN's verifier for one till.
//! - [`store_ops`]: shift, cash movement and return payloads; the rescue file.

pub mod auth;
pub mod conflict;
pub mod device;
pub mod entities;
pub mod error;
pub mod money;
pub mod office;
pub mod page;
pub mod pin;
pub mod stock_discrepancy;
pub mod store_ops;
pub mod sync;
pub mod time;
pub mod totals;

pub use rust_decimal::Decimal;

/// Generic success envelope of resource endpoints: `{"message": "...", "data": ...}`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DataResponse<T> {
    pub message: String,
    pub data: T,
}

impl<T> DataResponse<T> {
    pub fn new(message: impl Into<String>, data: T) -> Self {
        Self {
            message: message.into(),
            data,
        }
    }
}
