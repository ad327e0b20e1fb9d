//! The audit trail of back-office writes: one `offline_audit_logs` row per change, written in
//! the change's own transaction, beside the rows the sync batch writes for terminal operations.

use axum::http::HeaderMap;
use serde::Serialize;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::middleware::IDEMPOTENCY_KEY_HEADER;
use crate::store::tx::{AuditEntry, SyncTx};

/// What a back-office write leaves in the `device_id` column (terminals leave their id).
const BACK_OFFICE: &str = "back-office";

/// What one write changed: the record after it, and before it when it existed.
pub struct Change<'a, T: Serialize> {
    pub entity: &'a str,
    pub action: &'a str,
    pub entity_id: i64,
    pub after: &'a T,
    pub before: Option<&'a T>,
}

pub async fn record<T: Serialize>(
    tx: &mut SyncTx,
    user: &AuthUser,
    headers: &HeaderMap,
    change: Change<'_, T>,
) -> ApiResult<()> {
    let payload = serde_json::to_string(change.after).map_err(ApiError::internal)?;
    let diff = change
        .before
        .map(|before| serde_json::to_string(&serde_json::json!({ "before": before })))
        .transpose()
        .map_err(ApiError::internal)?;
    let key = headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tx.audit(&AuditEntry {
        business_id: user.business_id,
        device_id: BACK_OFFICE,
        user_id: user.user_id,
        entity: change.entity,
        action: change.action,
        entity_id: Some(change.entity_id),
        idempotency_key: key,
        offline_timestamp: None,
        payload,
        diff,
        now: pos_protocol::time::now(),
    })
    .await?;
    Ok(())
}
