//! Terminals registered to a business, as `GET /api/v1/devices` lists them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::time::{rfc3339, rfc3339_opt};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Device {
    pub device_id: String,
    pub device_name: Option<String>,
    pub os: Option<String>,
    pub app_version: Option<String>,
    #[serde(with = "rfc3339")]
    pub registered_at: DateTime<Utc>,
    #[serde(with = "rfc3339_opt", default)]
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Highest `OFF-{DEVICE}-{N}` number received from the device.
    pub last_offline_seq: i64,
    /// `false` once the device has not synced for the stale period.
    pub is_active: bool,
}
