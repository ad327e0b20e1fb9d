//! Operations the server kept but could not apply on its own (`GET /api/v1/sync/conflicts`),
//! such as a return that asks back more than is left of its sale.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::time::{rfc3339, rfc3339_opt};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SyncConflict {
    pub id: i64,
    pub device_id: Option<String>,
    /// The operation's entity, e.g. `sale_return`.
    pub entity: String,
    /// The record kept for it.
    pub entity_id: Option<i64>,
    pub idempotency_key: Option<String>,
    /// Machine reason, e.g. `RETURN_EXCEEDS_SALE`.
    pub reason: String,
    /// The operation's payload as the terminal sent it.
    #[schema(value_type = Object)]
    pub operation: serde_json::Value,
    /// `open` or `resolved`.
    pub status: String,
    /// `accept` or `reject` once resolved.
    pub resolution: Option<String>,
    pub resolved_by: Option<i64>,
    #[serde(with = "rfc3339_opt", default)]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConflictResolution {
    /// Apply it after all (a return puts its stock back).
    Accept,
    /// Leave it unapplied (the refund stays counted, the stock stays as it is).
    Reject,
}

/// `POST /api/v1/sync/conflicts/{id}/resolve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResolveConflictRequest {
    pub resolution: ConflictResolution,
}
