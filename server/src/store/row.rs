//! Typed reads of a fetched row's values. A value of another type than its column was read as
//! means the query and its reader disagree: the row is reported corrupt, naming what was read.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{StoreError, StoreResult, Value};

fn mismatch(expected: &str, found: &Value) -> StoreError {
    StoreError::Corrupt(format!("expected {expected}, read {found:?}"))
}

impl Value {
    pub fn int(&self) -> StoreResult<Option<i64>> {
        match self {
            Value::Int(v) => Ok(*v),
            other => Err(mismatch("an integer", other)),
        }
    }

    pub fn text(&self) -> StoreResult<Option<String>> {
        match self {
            Value::Text(v) | Value::Json(v) => Ok(v.clone()),
            other => Err(mismatch("text", other)),
        }
    }

    pub fn decimal(&self) -> StoreResult<Option<Decimal>> {
        match self {
            Value::Decimal(v) => Ok(*v),
            other => Err(mismatch("a number", other)),
        }
    }

    pub fn time(&self) -> StoreResult<Option<DateTime<Utc>>> {
        match self {
            Value::Time(v) => Ok(*v),
            other => Err(mismatch("a time", other)),
        }
    }
}

/// A column that may not be null; `what` names the row in the error.
pub fn required<T>(value: Option<T>, what: &str) -> StoreResult<T> {
    value.ok_or_else(|| StoreError::Corrupt(format!("{what} with a null where a value belongs")))
}
