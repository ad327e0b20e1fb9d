//! `GET /api/v1/devices`: the business's terminals and when each last synced (managers); and
//! each terminal's PIN key, with which its staff's PIN verifiers are sealed for it alone.

use axum::extract::State;
use axum::Json;
use pos_protocol::auth::Role;
use pos_protocol::device::Device;
use pos_protocol::error::ApiErrorBody;
use pos_protocol::pin::DeviceKey;
use pos_protocol::DataResponse;

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::store::{Column, Store, StoreError, StoreResult, Value};
use crate::AppState;

#[utoipa::path(get, path = "/api/v1/devices", tag = "sync",
    responses((status = 200, description = "The business's terminals", body = DataResponse<Vec<Device>>),
              (status = 403, description = "Managers only", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DataResponse<Vec<Device>>>> {
    user.require(Role::Manager, "see the devices")?;
    let mut tx = state.store.begin_read().await?;
    let rows = tx
        .fetch_all(
            "SELECT device_id, device_name, os, app_version, registered_at, last_sync_at, \
             last_offline_seq, is_active FROM sync_devices WHERE business_id = $1 ORDER BY device_id",
            &[Value::Int(Some(user.business_id))],
            &[
                Column::Text,
                Column::Text,
                Column::Text,
                Column::Text,
                Column::Time,
                Column::Time,
                Column::Int,
                Column::Bool,
            ],
        )
        .await?;
    tx.commit().await?;
    let devices = rows
        .into_iter()
        .map(|row| match row.as_slice() {
            [Value::Text(Some(device_id)), Value::Text(name), Value::Text(os), Value::Text(version), Value::Time(Some(registered_at)), Value::Time(last_sync_at), Value::Int(Some(seq)), Value::Bool(Some(active))] => {
                Ok(Device {
                    device_id: device_id.clone(),
                    device_name: name.clone(),
                    os: os.clone(),
                    app_version: version.clone(),
                    registered_at: *registered_at,
                    last_sync_at: *last_sync_at,
                    last_offline_seq: *seq,
                    is_active: *active,
                })
            }
            _ => Err(StoreError::Corrupt("a sync_devices row".into())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(DataResponse::new("Devices", devices)))
}

/// Keeps `key` as the PIN key of the business's device `device_id`, when `role` may choose it:
/// only a manager or owner may, because whoever chooses the key can open the verifiers sealed
/// with it. Returns whether the device's PIN key is now `key`.
pub async fn offer_pin_key(
    store: &dyn Store,
    business_id: i64,
    device_id: &str,
    role: Role,
    key: &DeviceKey,
) -> StoreResult<bool> {
    let mut tx = store.begin_write().await?;
    if role.at_least(Role::Manager) {
        tx.execute(
            "UPDATE sync_devices SET pin_key = $3 WHERE business_id = $1 AND device_id = $2",
            &[
                Value::Int(Some(business_id)),
                Value::Text(Some(device_id.to_string())),
                Value::Text(Some(key.to_text())),
            ],
        )
        .await?;
    }
    let kept = pin_key_in(tx.as_mut(), business_id, device_id).await?;
    tx.commit().await?;
    Ok(kept.as_ref() == Some(key))
}

/// The PIN key of the business's active device `device_id`; None for a device of another
/// business, an unknown or deactivated one, or one no manager or owner registered.
pub async fn pin_key(
    store: &dyn Store,
    business_id: i64,
    device_id: &str,
) -> StoreResult<Option<DeviceKey>> {
    let mut tx = store.begin_read().await?;
    let key = pin_key_in(tx.as_mut(), business_id, device_id).await?;
    tx.commit().await?;
    Ok(key)
}

async fn pin_key_in(
    exec: &mut dyn crate::store::TxExec,
    business_id: i64,
    device_id: &str,
) -> StoreResult<Option<DeviceKey>> {
    let rows = exec
        .fetch_all(
            "SELECT pin_key FROM sync_devices WHERE business_id = $1 AND device_id = $2 \
             AND is_active = $3",
            &[
                Value::Int(Some(business_id)),
                Value::Text(Some(device_id.to_string())),
                Value::Bool(Some(true)),
            ],
            &[Column::Text],
        )
        .await?;
    Ok(
        match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
            Some(Value::Text(Some(text))) => DeviceKey::from_text(&text),
            _ => None,
        },
    )
}
