//! Exact money and quantities on the wire.
//!
//! Amounts are JSON numbers read and written without ever passing through `f64` (the workspace
//! enables serde_json's `arbitrary_precision`, so a number keeps its exact digits). Strings
//! holding a number are accepted on input, because old clients send them.
//!
//! Use with `#[serde(with = "pos_protocol::money::exact")]` on a `Decimal` field, or
//! `money::exact_opt` on an `Option<Decimal>`.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};
use std::str::FromStr;

/// Quantities carry at most this many decimal places (weighed goods).
pub const QUANTITY_SCALE: u32 = 3;
/// The largest number of minor units a currency may have.
pub const MAX_MINOR_UNITS: u32 = 3;

/// Largest magnitude of an amount a client may send (a price, a total, a refund, a float).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// Largest magnitude of a quantity a client may send.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// The bounds every number from a client is held to, on every route and operation, before any
/// arithmetic: with them, a line's price times its quantity (at most 10^21) and the sum of any
/// request's lines stay far inside what a `Decimal` holds (about 7.9 × 10^28), so nothing a
/// client sends can overflow. The till checks its own input against the same bounds, so it
/// never queues what the server would refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// |x| ≤ [`MAX_AMOUNT`], any number of decimals (shares of VAT keep full precision).
    Amount,
    /// |x| ≤ [`MAX_QUANTITY`], at most [`QUANTITY_SCALE`] decimals.
    Quantity,
}

impl Bound {
    /// `value` when it is within this bound; otherwise the problem, worded to follow a field
    /// name.
    pub fn check(self, value: Decimal) -> Result<Decimal, String> {
        let max = match self {
            Bound::Amount => MAX_AMOUNT,
            Bound::Quantity => MAX_QUANTITY,
        };
        if value.abs() > Decimal::from(max) {
            return Err(format!("must be between -{max} and {max}"));
        }
        if self == Bound::Quantity && !fits_scale(value, QUANTITY_SCALE) {
            return Err(format!("must have at most {QUANTITY_SCALE} decimal places"));
        }
        Ok(value)
    }
}

/// Parses the text of a JSON number or of a numeric string exactly.
pub fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let text = text.trim();
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| format!("'{text}' is not a number"))
}

/// Rounds an amount to the currency's minor unit, half away from zero (shop rounding).
pub fn round_to_minor(amount: Decimal, minor_units: u32) -> Decimal {
    amount.round_dp_with_strategy(minor_units, RoundingStrategy::MidpointAwayFromZero)
}

/// True when `value` has no more than `places` decimal places (trailing zeros ignored).
pub fn fits_scale(value: Decimal, places: u32) -> bool {
    value.normalize().scale() <= places
}

fn to_json_number(value: &Decimal) -> Result<serde_json::Number, String> {
    serde_json::Number::from_str(&value.normalize().to_string()).map_err(|e| e.to_string())
}

fn from_json_value(value: serde_json::Value) -> Result<Decimal, String> {
    match value {
        serde_json::Value::Number(n) => parse_decimal(&n.to_string()),
        serde_json::Value::String(s) => parse_decimal(&s),
        other => Err(format!("expected a number, found {}", kind_of(&other))),
    }
}

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Serde adapter for `Decimal` fields: exact JSON number out, number or numeric string in.
pub mod exact {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        to_json_number(value)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        from_json_value(serde_json::Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

/// Serde adapter for `Option<Decimal>` fields; `null` and a missing field are `None`.
/// Pair it with `#[serde(default)]` so a missing field is accepted.
pub mod exact_opt {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &Option<Decimal>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => super::exact::serialize(v, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Decimal>, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Null => Ok(None),
            other => from_json_value(other).map(Some).map_err(D::Error::custom),
        }
    }
}

/// Declares a serde adapter pair (`Decimal` and `Option<Decimal>`) that reads exactly like
/// [`exact`] and refuses a value outside `bound`; serde names the field in the error.
macro_rules! bounded_adapters {
    ($module:ident, $optional:ident, $bound:expr, $what:literal) => {
        #[doc = concat!("Serde adapter for ", $what, " from clients: [`exact`], held to [`Bound`].")]
        pub mod $module {
            use super::*;

            pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
                super::exact::serialize(value, serializer)
            }

            pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
                let value = super::exact::deserialize(deserializer)?;
                $bound.check(value).map_err(D::Error::custom)
            }
        }

        #[doc = concat!("[`", stringify!($module), "`] for optional fields; pair with `#[serde(default)]`.")]
        pub mod $optional {
            use super::*;

            pub fn serialize<S: Serializer>(
                value: &Option<Decimal>,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                super::exact_opt::serialize(value, serializer)
            }

            pub fn deserialize<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Option<Decimal>, D::Error> {
                super::exact_opt::deserialize(deserializer)?
                    .map(|value| $bound.check(value).map_err(D::Error::custom))
                    .transpose()
            }
        }
    };
}

bounded_adapters!(amount, amount_opt, Bound::Amount, "amounts");
bounded_adapters!(quantity, quantity_opt, Bound::Quantity, "quantities");

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Amounts {
        #[serde(with = "exact")]
        price: Decimal,
        #[serde(with = "exact_opt", default)]
        paid: Option<Decimal>,
    }

    #[test]
    fn numbers_keep_every_digit_both_ways() {
        let parsed: Amounts =
            serde_json::from_str(r#"{"price": 1234567890123456.78, "paid": 19.99}"#).unwrap();
        // f64 would print 1234567890123456.8
        assert_eq!(parsed.price.to_string(), "1234567890123456.78");
        assert_eq!(parsed.paid, Some(Decimal::new(1999, 2)));
        let text = serde_json::to_string(&Amounts {
            price: Decimal::new(3, 1) + Decimal::new(6, 1),
            paid: None,
        })
        .unwrap();
        assert_eq!(text, r#"{"price":0.9,"paid":null}"#);
    }

    #[test]
    fn strings_and_exponents_are_accepted_and_junk_is_named() {
        let parsed: Amounts = serde_json::from_str(r#"{"price": " 12.50 ", "paid": 1e2}"#).unwrap();
        assert_eq!(parsed.price, Decimal::new(1250, 2));
        assert_eq!(parsed.paid, Some(Decimal::new(100, 0)));
        let err = serde_json::from_str::<Amounts>(r#"{"price": "twelve"}"#).unwrap_err();
        assert!(
            err.to_string().contains("'twelve' is not a number"),
            "{err}"
        );
        let err = serde_json::from_str::<Amounts>(r#"{"price": true}"#).unwrap_err();
        assert!(err.to_string().contains("found a boolean"), "{err}");
    }

    #[test]
    fn survives_buffering_in_tagged_enums() {
        #[derive(Deserialize, Debug)]
        #[serde(tag = "type")]
        enum Tagged {
            Amount {
                #[serde(with = "exact")]
                value: Decimal,
            },
        }
        let Tagged::Amount { value } =
            serde_json::from_str(r#"{"type": "Amount", "value": 1.005}"#).unwrap();
        assert_eq!(value, Decimal::new(1005, 3));
    }

    #[test]
    fn client_numbers_are_bounded_and_the_field_is_named() {
        #[derive(Deserialize, Debug)]
        struct Line {
            #[serde(with = "quantity")]
            quantity: Decimal,
            #[serde(with = "amount_opt", default)]
            price: Option<Decimal>,
        }
        let read = |text: &str| {
            serde_path_to_error::deserialize::<_, Line>(&mut serde_json::Deserializer::from_str(
                text,
            ))
        };
        let line = read(r#"{"quantity": 1000000000, "price": -1000000000000}"#).unwrap();
        assert_eq!(line.quantity, Decimal::from(MAX_QUANTITY));
        assert_eq!(line.price, Some(-Decimal::from(MAX_AMOUNT)));
        let err = read(r#"{"quantity": 79228162514264337593543950335}"#).unwrap_err();
        assert_eq!(err.path().to_string(), "quantity");
        assert!(err.to_string().contains("between"), "{err}");
        let err = read(r#"{"quantity": 1.0005}"#).unwrap_err();
        assert!(err.to_string().contains("3 decimal places"), "{err}");
        let err = read(r#"{"quantity": 1, "price": 1e13}"#).unwrap_err();
        assert_eq!(err.path().to_string(), "price");
        assert!(read(r#"{"quantity": 1.500, "price": null}"#).is_ok());
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(
            round_to_minor(Decimal::new(1005, 3), 2),
            Decimal::new(101, 2)
        );
        assert_eq!(
            round_to_minor(Decimal::new(-1005, 3), 2),
            Decimal::new(-101, 2)
        );
        assert_eq!(round_to_minor(Decimal::new(125, 1), 0), Decimal::new(13, 0));
        assert!(fits_scale(Decimal::new(12500, 3), 2));
        assert!(!fits_scale(Decimal::new(12501, 3), 2));
    }
}
