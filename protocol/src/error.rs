//! The one error body every endpoint answers with.
//!
//! `{"success": false, "error": "validation_failed", "message": "...", "errors": {"field": ["..."]}}`
//! Clients branch on `error` (a stable code), never on the message text.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Stable machine codes of HTTP-level errors (snake case on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    VersionConflict,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    ValidationFailed,
    PayloadTooLarge,
    RateLimited,
    ClientTooOld,
    Conflict,
    ServiceUnavailable,
    Internal,
}

impl ErrorCode {
    /// The HTTP status this code is always sent with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::VersionConflict
            | ErrorCode::IdempotencyKeyInProgress
            | ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::IdempotencyKeyReused | ErrorCode::ValidationFailed => 422,
            ErrorCode::ClientTooOld => 426,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::ServiceUnavailable => 503,
        }
    }
}

/// Field name → what is wrong with it.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiErrorBody {
    /// Always `false`.
    pub success: bool,
    pub error: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<VersionConflict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_options: Option<ResolutionOptions>,
}

impl ApiErrorBody {
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            success: false,
            error,
            message: message.into(),
            errors: None,
            conflict: None,
            resolution_options: None,
        }
    }

    /// A 422 naming one field.
    pub fn invalid_field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        let field = field.into();
        let problem = problem.into();
        let mut errors = FieldErrors::new();
        errors.insert(field.clone(), vec![problem.clone()]);
        Self {
            errors: Some(errors),
            ..Self::new(ErrorCode::ValidationFailed, format!("{field}: {problem}"))
        }
    }

    /// The 409 of an update based on a stale version.
    pub fn version_conflict(conflict: VersionConflict) -> Self {
        Self {
            conflict: Some(conflict),
            resolution_options: Some(ResolutionOptions::default()),
            ..Self::new(
                ErrorCode::VersionConflict,
                "The record was changed by someone else since you loaded it",
            )
        }
    }
}

/// What a stale update collided with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionConflict {
    pub entity_type: String,
    pub entity_id: i64,
    pub client_version: Option<i64>,
    pub server_version: i64,
    /// The record as the server holds it now.
    #[schema(value_type = Object)]
    pub server_data: serde_json::Value,
}

/// How a client may resolve a version conflict (each a short instruction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResolutionOptions {
    pub force_update: String,
    pub merge: String,
    pub discard: String,
}

impl Default for ResolutionOptions {
    fn default() -> Self {
        Self {
            force_update: "Send the update again with X-Force-Update: true (manager or owner)"
                .into(),
            merge: "Apply your change to server_data and send it with its version".into(),
            discard: "Keep server_data and drop your change".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_the_spec_shape() {
        let body = ApiErrorBody::invalid_field("productSalePrice", "must not be negative");
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["success"], false);
        assert_eq!(json["error"], "validation_failed");
        assert_eq!(
            json["errors"]["productSalePrice"][0],
            "must not be negative"
        );
        assert!(json.get("conflict").is_none());
        assert_eq!(ErrorCode::IdempotencyKeyReused.http_status(), 422);
        assert_eq!(
            serde_json::to_value(ErrorCode::IdempotencyKeyInProgress).unwrap(),
            "idempotency_key_in_progress"
        );
    }
}
