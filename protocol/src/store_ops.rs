//! Store operations at the till: shifts, cash movements, returns and the rescue file.
//!
//! See `35-store-operations.md` of the product spec. Like the other operation payloads these
//! travel inside [`crate::sync::Operation::data`]; the terminal writes them and the server reads
//! them with these same types. [`refund_share`] is the one rule that prices a returned quantity.

use crate::money::{amount, amount_opt, quantity, round_to_minor};
use crate::sync::local_id_opt;
use crate::time::rfc3339_opt;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Entity names of the operations this module adds.
pub const SHIFT_ENTITY: &str = "shift";
pub const CASH_MOVEMENT_ENTITY: &str = "cash_movement";
pub const SALE_RETURN_ENTITY: &str = "sale_return";

/// How many notes or coins of one value were counted in the drawer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DenominationCount {
    /// Face value of the note or coin.
    #[serde(with = "amount")]
    #[schema(value_type = f64)]
    pub value: Decimal,
    pub count: u32,
}

impl DenominationCount {
    /// What all the counted denominations add up to.
    pub fn total(counts: &[DenominationCount]) -> Decimal {
        counts
            .iter()
            .map(|c| c.value * Decimal::from(c.count))
            .sum()
    }
}

/// `shift` / `open` and `shift` / `close`. Open carries the float; close carries the count and
/// the terminal's expected cash (its Z report), so the server can compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShiftData {
    /// The shift's id on this device (the terminal sends its client reference).
    #[serde(deserialize_with = "local_id_opt", default)]
    pub local_id: Option<String>,
    /// A UUID: the shift's identity for ever (unique per business).
    #[serde(default)]
    pub client_reference: Option<String>,
    /// Server id, when the terminal already knows it (close after the open synced).
    #[serde(default)]
    pub shift_id: Option<i64>,
    #[serde(with = "rfc3339_opt", default)]
    pub opened_at: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339_opt", default)]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(with = "amount_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub opening_float: Option<Decimal>,
    #[serde(with = "amount_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub counted_cash: Option<Decimal>,
    /// Present when the cash was counted note by note.
    #[serde(default)]
    pub counted_denominations: Option<Vec<DenominationCount>>,
    #[serde(with = "amount_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub expected_cash: Option<Decimal>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub cashier_id: Option<i64>,
}

/// What a cash movement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CashMovementKind {
    PayIn,
    PayOut,
    /// The drawer opened with no sale (amount 0).
    DrawerOpen,
}

impl CashMovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CashMovementKind::PayIn => "pay_in",
            CashMovementKind::PayOut => "pay_out",
            CashMovementKind::DrawerOpen => "drawer_open",
        }
    }
}

/// `cash_movement` / `create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CashMovementCreate {
    #[serde(deserialize_with = "local_id_opt", default)]
    pub local_id: Option<String>,
    #[serde(default)]
    pub client_reference: Option<String>,
    #[serde(deserialize_with = "local_id_opt", default)]
    pub shift_local_id: Option<String>,
    #[serde(default)]
    pub shift_id: Option<i64>,
    pub kind: CashMovementKind,
    /// Always positive; `kind` says which way the cash went.
    #[serde(with = "amount")]
    #[schema(value_type = f64)]
    pub amount: Decimal,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub cashier_id: Option<i64>,
    /// The manager who authorised it, when one had to.
    #[serde(default)]
    pub authorised_by: Option<i64>,
    #[serde(with = "rfc3339_opt", default)]
    pub created_at: Option<DateTime<Utc>>,
}

/// How a return is refunded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundMethod {
    /// Cash from the drawer (counts in the shift).
    Cash,
    /// Back through a payment type (`payment_type_id`).
    PaymentType,
    /// Lowers what the sale's customer owes.
    Due,
}

impl RefundMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundMethod::Cash => "cash",
            RefundMethod::PaymentType => "payment_type",
            RefundMethod::Due => "due",
        }
    }
}

/// One returned quantity of one sale line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SaleReturnLine {
    /// The sale line's `line_no`.
    pub line_no: u32,
    #[serde(with = "quantity")]
    #[schema(value_type = f64)]
    pub quantity: Decimal,
}

/// `sale_return` / `create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SaleReturnCreate {
    #[serde(deserialize_with = "local_id_opt", default)]
    pub local_id: Option<String>,
    /// A UUID: the return's identity for ever (unique per business).
    #[serde(default)]
    pub client_reference: Option<String>,
    #[serde(default)]
    pub sale_id: Option<i64>,
    #[serde(deserialize_with = "local_id_opt", default)]
    pub sale_local_id: Option<String>,
    #[serde(deserialize_with = "local_id_opt", default)]
    pub shift_local_id: Option<String>,
    #[serde(default)]
    pub shift_id: Option<i64>,
    pub lines: Vec<SaleReturnLine>,
    pub refund_method: RefundMethod,
    #[serde(default)]
    pub payment_type_id: Option<i64>,
    /// What the customer got back: the sum of [`refund_share`] over the lines.
    #[serde(with = "amount")]
    #[schema(value_type = f64)]
    pub refund_amount: Decimal,
    #[serde(default)]
    pub authorised_by: Option<i64>,
    #[serde(default)]
    pub cashier_id: Option<i64>,
    #[serde(with = "rfc3339_opt", default)]
    pub returned_at: Option<DateTime<Utc>>,
}

/// The part of a sale line's charged amount (`line_amount`: its total, or its VAT) that
/// `quantity` returned items are worth, given what was returned before.
///
/// The line's amount is shared by quantity and rounded to the minor unit; the return that
/// takes the last items gets exactly what is left, so all returns of a line add up to the line.
pub fn refund_share(
    line_amount: Decimal,
    sold: Decimal,
    returned_before: Decimal,
    refunded_before: Decimal,
    quantity: Decimal,
    minor_units: u32,
) -> Decimal {
    if sold <= Decimal::ZERO || quantity <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    if returned_before + quantity >= sold {
        return line_amount - refunded_before;
    }
    // Quantity first keeps the exact digits; a product too large for a decimal (a line of
    // the largest amount times the largest quantity) is shared the other way round instead,
    // which cannot overflow since `quantity < sold`.
    let share = line_amount
        .checked_mul(quantity)
        .map(|product| product / sold)
        .unwrap_or_else(|| line_amount * (quantity / sold));
    round_to_minor(share, minor_units)
}

/// Format name and version of a rescue file.
pub const RESCUE_FORMAT: &str = "pos-terminal-rescue";
pub const RESCUE_FORMAT_VERSION: u32 = 1;

/// A terminal's unsynced work written to one file (`pos-terminal rescue export FILE`).
///
/// `sha256` is the lower-case hex SHA-256 of [`canonical_json`] of `content`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RescueFile {
    pub format: String,
    pub format_version: u32,
    pub sha256: String,
    pub content: RescueContent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RescueContent {
    pub device_id: String,
    #[serde(default)]
    pub business_id: Option<i64>,
    #[serde(with = "rfc3339_opt", default)]
    pub exported_at: Option<DateTime<Utc>>,
    /// In the order they happened (and must be applied).
    pub operations: Vec<RescueOperation>,
}

/// One unsynced operation, as the batch would have carried it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RescueOperation {
    pub idempotency_key: String,
    #[serde(default)]
    pub client_reference: Option<String>,
    pub entity: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    #[serde(with = "rfc3339_opt", default)]
    pub offline_timestamp: Option<DateTime<Utc>>,
    /// `queued`, `sent`, `failed` or `conflict` on the terminal when it was exported.
    pub state: String,
    #[serde(default)]
    pub last_error: Option<String>,
}

/// The canonical text a rescue checksum is taken over: JSON with object keys sorted at every
/// level and no whitespace (numbers as written, exactly).
pub fn canonical_json(value: &serde_json::Value) -> String {
    fn write(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push(':');
                    write(&map[key], out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// The checksum a rescue file carries: lower-case hex SHA-256 of [`canonical_json`] of its
/// `content`. The terminal writes it and the server checks it with this one function.
pub fn rescue_checksum(content: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(canonical_json(content).as_bytes()))
}

/// Whether a payment type counts as cash in the drawer (the shift's expected cash): the
/// non-credit type named "Cash". The terminal's Z report and the server's shift report both
/// decide with this.
pub fn is_cash_payment_type(name: &str, is_credit: bool) -> bool {
    !is_credit && name.trim().eq_ignore_ascii_case("cash")
}

/// What should be in the drawer: float + cash sales + cash due collections − cash refunds +
/// pay-ins − pay-outs.
pub fn expected_cash(
    opening_float: Decimal,
    cash_sales: Decimal,
    cash_due_collections: Decimal,
    cash_refunds: Decimal,
    pay_ins: Decimal,
    pay_outs: Decimal,
) -> Decimal {
    opening_float + cash_sales + cash_due_collections - cash_refunds + pay_ins - pay_outs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn refund_shares_of_a_line_add_up_to_the_line() {
        // 3 items for 10.00: 3.33 + 3.33, then the last one takes 3.34.
        let first = refund_share(d("10.00"), d("3"), d("0"), d("0"), d("1"), 2);
        let second = refund_share(d("10.00"), d("3"), d("1"), first, d("1"), 2);
        let last = refund_share(d("10.00"), d("3"), d("2"), first + second, d("1"), 2);
        assert_eq!((first, second, last), (d("3.33"), d("3.33"), d("3.34")));
        assert_eq!(
            refund_share(d("10.00"), d("3"), d("0"), d("0"), d("3"), 2),
            d("10.00")
        );
    }

    #[test]
    fn return_payload_reads_its_wire_shape() {
        let ret: SaleReturnCreate = serde_json::from_value(serde_json::json!({
            "local_id": "r1", "client_reference": "r1", "sale_local_id": "s1",
            "shift_local_id": "sh1", "lines": [{"line_no": 2, "quantity": "1.5"}],
            "refund_method": "payment_type", "payment_type_id": 2, "refund_amount": 3.10
        }))
        .unwrap();
        assert_eq!(ret.lines[0].quantity, d("1.5"));
        assert_eq!(ret.refund_method, RefundMethod::PaymentType);
        assert_eq!(ret.refund_amount, d("3.10"));
        let movement: CashMovementCreate = serde_json::from_value(serde_json::json!({
            "local_id": "m1", "shift_local_id": "sh1", "kind": "pay_out", "amount": 5,
            "reason": "milk"
        }))
        .unwrap();
        assert_eq!(movement.kind, CashMovementKind::PayOut);
    }

    #[test]
    fn canonical_json_sorts_keys_and_keeps_numbers() {
        let value: serde_json::Value =
            serde_json::from_str(r#"{"b": [1.50, {"z": 1, "a": "x"}], "a": null}"#).unwrap();
        assert_eq!(
            canonical_json(&value),
            r#"{"a":null,"b":[1.50,{"a":"x","z":1}]}"#
        );
    }
}
