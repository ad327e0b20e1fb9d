//! Housekeeping behind `pos-server sync cleanup` and `sync check-stale`, and the daily cleanup
//! `serve` runs by itself.
//!
//! Dropping idempotency keys never lets a sale or due collection in twice: those stay unique
//! for ever by client reference and local id, whatever the key table holds.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::{Column, Store, StoreResult, Value};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanupReport {
    pub idempotency_keys: u64,
    pub sync_logs: u64,
    pub devices_marked_inactive: u64,
}

/// Drops idempotency keys that expired or were answered more than `days` ago, sync logs
/// older than `days`, and marks devices silent for `stale_device_days` inactive.
pub async fn cleanup(
    store: &dyn Store,
    days: i64,
    stale_device_days: i64,
) -> StoreResult<CleanupReport> {
    let now = pos_protocol::time::now();
    let cutoff = Value::Time(Some(now - chrono::Duration::days(days)));
    let stale = Value::Time(Some(now - chrono::Duration::days(stale_device_days)));
    let mut tx = store.begin_write().await?;
    let idempotency_keys = tx
        .execute(
            "DELETE FROM idempotency_keys WHERE expires_at <= $1 \
             OR (status_code IS NOT NULL AND created_at <= $2)",
            &[Value::Time(Some(now)), cutoff.clone()],
        )
        .await?;
    let sync_logs = tx
        .execute("DELETE FROM sync_logs WHERE started_at <= $1", &[cutoff])
        .await?;
    let devices_marked_inactive = tx
        .execute(
            "UPDATE sync_devices SET is_active = FALSE \
             WHERE is_active AND COALESCE(last_sync_at, registered_at) <= $1",
            &[stale],
        )
        .await?;
    tx.commit().await?;
    Ok(CleanupReport {
        idempotency_keys,
        sync_logs,
        devices_marked_inactive,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct StaleDevice {
    pub business_id: i64,
    pub device_id: String,
    pub device_name: Option<String>,
    pub last_sync_at: Option<DateTime<Utc>>,
}

/// Active devices that have not synced for `hours` (never-synced ones count from registration).
pub async fn stale_devices(store: &dyn Store, hours: i64) -> StoreResult<Vec<StaleDevice>> {
    let before = pos_protocol::time::now() - chrono::Duration::hours(hours);
    let mut tx = store.begin_read().await?;
    let rows = tx
        .fetch_all(
            "SELECT business_id, device_id, device_name, last_sync_at FROM sync_devices \
             WHERE is_active AND COALESCE(last_sync_at, registered_at) <= $1 ORDER BY business_id, device_id",
            &[Value::Time(Some(before))],
            &[Column::Int, Column::Text, Column::Text, Column::Time],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [Value::Int(Some(business_id)), Value::Text(Some(device_id)), Value::Text(name), Value::Time(last)] => {
                Some(StaleDevice {
                    business_id: *business_id,
                    device_id: device_id.clone(),
                    device_name: name.clone(),
                    last_sync_at: *last,
                })
            }
            _ => None,
        })
        .collect())
}

/// Runs `cleanup` once a day for as long as the server runs.
pub async fn daily_cleanup(store: std::sync::Arc<dyn Store>, days: i64, stale_device_days: i64) {
    let mut ticker = tokio::time::interval(Duration::from_secs(24 * 60 * 60));
    loop {
        ticker.tick().await;
        match cleanup(store.as_ref(), days, stale_device_days).await {
            Ok(report) => tracing::info!(?report, "daily cleanup"),
            Err(err) => tracing::warn!(%err, "daily cleanup failed"),
        }
    }
}
