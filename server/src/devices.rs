//! `GET /api/v1/devices`: the business's terminals and when each last synced (managers).

use axum::extract::State;
use axum::Json;
use pos_protocol::auth::Role;
use pos_protocol::device::Device;
use pos_protocol::error::ApiErrorBody;
use pos_protocol::DataResponse;

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::store::{Column, StoreError, Value};
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
