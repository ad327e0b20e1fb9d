//! `POST /api/v1/sync/rescue` and `pos-server sync import-rescue FILE`: an owner brings in the
//! unsynced work a terminal exported (`pos-terminal rescue export FILE`).
//!
//! The file's operations keep their idempotency keys and client references, and run through
//! the batch's own code ([`batch::apply_operations`]) in chunks of a batch's size. So importing
//! twice, or importing and then letting the terminal sync, still leaves each sale once.

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pos_protocol::auth::Role;
use pos_protocol::error::ApiErrorBody;
use pos_protocol::store_ops::{rescue_checksum, RescueFile, RESCUE_FORMAT, RESCUE_FORMAT_VERSION};
use pos_protocol::sync::{BatchSummary, Operation, OperationResult, MAX_BATCH_OPERATIONS};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::batch;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::parse_json;
use crate::store::{Column, Store, Value};
use crate::AppState;

pub const RESCUE_PATH: &str = "/api/v1/sync/rescue";

/// What an import did, operation by operation in file order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RescueReport {
    pub success: bool,
    pub message: String,
    pub device_id: String,
    pub results: Vec<OperationResult>,
    pub summary: BatchSummary,
}

/// Checks a rescue file (format, checksum, business, device) and applies its operations under
/// the batch rules on behalf of `user`.
pub async fn import(state: &AppState, user: &AuthUser, bytes: &[u8]) -> ApiResult<RescueReport> {
    // The checksum covers the content as written, so it is taken over the parsed JSON value,
    // not over our re-serialisation of it.
    let raw: serde_json::Value = parse_json(bytes)?;
    let file: RescueFile = parse_json(bytes)?;
    if file.format != RESCUE_FORMAT {
        return Err(ApiError::invalid_field(
            "format",
            format!("must be {RESCUE_FORMAT}"),
        ));
    }
    if file.format_version == 0 || file.format_version > RESCUE_FORMAT_VERSION {
        return Err(ApiError::invalid_field(
            "format_version",
            format!("this server reads versions 1 to {RESCUE_FORMAT_VERSION}"),
        ));
    }
    let content = raw.get("content").cloned().unwrap_or_default();
    if rescue_checksum(&content) != file.sha256.to_ascii_lowercase() {
        return Err(ApiError::invalid_field(
            "sha256",
            "does not match the content: the file is damaged or was edited",
        ));
    }
    let content = file.content;
    if content.business_id.is_some_and(|id| id != user.business_id) {
        return Err(ApiError::invalid_field(
            "content.business_id",
            "the file was exported from another business",
        ));
    }
    let device_id = content.device_id.trim().to_string();
    if device_id.is_empty() || device_id.len() > 128 {
        return Err(ApiError::invalid_field(
            "content.device_id",
            "1 to 128 characters",
        ));
    }
    if device_of_other_business(state.store.as_ref(), &device_id, user.business_id).await? {
        return Err(ApiError::invalid_field(
            "content.device_id",
            "this device is registered to another business",
        ));
    }
    let operations: Vec<Operation> = content
        .operations
        .into_iter()
        .map(|op| Operation {
            idempotency_key: op.idempotency_key,
            entity: op.entity,
            action: op.action,
            data: op.data,
            offline_timestamp: op.offline_timestamp,
        })
        .collect();
    let mut results = Vec::with_capacity(operations.len());
    for chunk in operations.chunks(MAX_BATCH_OPERATIONS) {
        let answer = batch::apply_operations(state, user, device_id.clone(), chunk).await?;
        results.extend(answer.results);
    }
    let success_count = results.iter().filter(|r| r.status.is_done()).count();
    let summary = BatchSummary {
        total: results.len(),
        success_count,
        error_count: results.len() - success_count,
    };
    Ok(RescueReport {
        success: summary.error_count == 0,
        message: format!(
            "{} of {} rescued operations applied or already there",
            summary.success_count, summary.total
        ),
        device_id,
        results,
        summary,
    })
}

async fn device_of_other_business(
    store: &dyn Store,
    device_id: &str,
    business_id: i64,
) -> ApiResult<bool> {
    let mut tx = store.begin_write().await?;
    let rows = tx
        .fetch_all(
            "SELECT business_id FROM sync_devices WHERE device_id = $1",
            &[Value::Text(Some(device_id.to_string()))],
            &[Column::Int],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .any(|row| !matches!(row.first(), Some(Value::Int(Some(id))) if *id == business_id)))
}

/// The business's first active owner: the command-line import acts as them.
pub async fn owner_of(store: &dyn Store, business_id: i64) -> ApiResult<AuthUser> {
    let mut tx = store.begin_write().await?;
    let rows = tx
        .fetch_all(
            "SELECT id, name, email FROM users WHERE business_id = $1 AND role = 'owner' \
             AND is_active = $2 AND deleted_at IS NULL ORDER BY id LIMIT 1",
            &[Value::Int(Some(business_id)), Value::Bool(Some(true))],
            &[Column::Int, Column::Text, Column::Text],
        )
        .await?;
    tx.commit().await?;
    match rows.first().map(Vec::as_slice) {
        Some([Value::Int(Some(id)), Value::Text(Some(name)), Value::Text(Some(email))]) => {
            Ok(AuthUser {
                user_id: *id,
                business_id,
                role: Role::Owner,
                name: name.clone(),
                email: email.clone(),
                token_hash: String::new(),
            })
        }
        _ => Err(ApiError::not_found("An active owner of this business")),
    }
}

fn status_of(report: &RescueReport) -> StatusCode {
    if report.summary.error_count == 0 {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    }
}

#[utoipa::path(post, path = "/api/v1/sync/rescue", tag = "sync", request_body = RescueFile,
    responses((status = 200, description = "Every operation applied or already there", body = RescueReport),
              (status = 207, description = "Some operations failed or conflict", body = RescueReport),
              (status = 403, description = "Owners only", body = ApiErrorBody),
              (status = 413, description = "Larger than the rescue body limit", body = ApiErrorBody),
              (status = 422, description = "Not a rescue file, damaged, or from another business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn rescue(
    State(state): State<AppState>,
    user: AuthUser,
    body: Body,
) -> ApiResult<Response> {
    user.require(Role::Owner, "import a rescue file")?;
    // Read here rather than through `ApiJson`, whose limit is the ordinary one: a rescue file
    // has its own (the body-limit layer already enforced it).
    let bytes = to_bytes(body, state.settings.rescue_body_limit)
        .await
        .map_err(|_| {
            ApiError::new(
                pos_protocol::error::ErrorCode::PayloadTooLarge,
                "The rescue file is too large",
            )
        })?;
    let report = import(&state, &user, &bytes).await?;
    Ok((status_of(&report), Json(report)).into_response())
}

/// The command-line import: reads the file, and applies it as the owner of the business it
/// names (or of `business_id`, which must agree with the file when both are given).
pub async fn import_file(
    store: std::sync::Arc<dyn Store>,
    settings: crate::Settings,
    path: &std::path::Path,
    business_id: Option<i64>,
) -> anyhow::Result<RescueReport> {
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let named = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.pointer("/content/business_id").and_then(|b| b.as_i64()));
    let business_id = business_id
        .or(named)
        .ok_or_else(|| anyhow::anyhow!("the file names no business: give --business-id"))?;
    let user = owner_of(store.as_ref(), business_id).await?;
    let state = AppState::new(store, settings);
    Ok(import(&state, &user, &bytes).await?)
}
