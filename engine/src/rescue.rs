//! `rescue export`: every operation the server has not acknowledged, in one checksummed JSON
//! file an owner can import on the server under the same exactly-once rules. The token is
//! never part of it (it is not in the store at all).

use std::io::Write as _;
use std::path::Path;

use pos_protocol::store_ops::{
    rescue_checksum, RescueContent, RescueFile, RescueOperation, RESCUE_FORMAT,
    RESCUE_FORMAT_VERSION,
};
use rusqlite::Connection;

use crate::error::{EngineError, Result};
use crate::store::{time_col, Store};
use crate::views::RescueExportView;

/// Operations in these states have not been acknowledged by the server.
const UNSYNCED: &str = "('queued', 'sent', 'failed', 'conflict')";

/// The rescue file of everything unsynced, in queue order.
pub fn collect(conn: &Connection, device_id: &str) -> Result<RescueFile> {
    let business_id: Option<i64> = conn.query_row(
        "SELECT business_id FROM terminal_state WHERE id = 1",
        [],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT idempotency_key, entity, action, payload, offline_timestamp, state, last_error
         FROM outbox WHERE state IN {UNSYNCED} ORDER BY id"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            time_col(r, 4)?,
            r.get::<_, String>(5)?,
            r.get::<_, Option<String>>(6)?,
        ))
    })?;
    let mut operations = Vec::new();
    for row in rows {
        let (key, entity, action, payload, at, state, last_error) = row?;
        let data: serde_json::Value = serde_json::from_str(&payload)?;
        let client_reference = ["client_reference", "local_id"]
            .iter()
            .find_map(|field| data.get(*field).and_then(|v| v.as_str()))
            .map(str::to_string);
        operations.push(RescueOperation {
            idempotency_key: key,
            client_reference,
            entity,
            action,
            data,
            offline_timestamp: Some(at),
            state,
            last_error,
        });
    }
    let content = RescueContent {
        device_id: device_id.to_string(),
        business_id,
        exported_at: Some(pos_protocol::time::now()),
        operations,
    };
    Ok(RescueFile {
        format: RESCUE_FORMAT.to_string(),
        format_version: RESCUE_FORMAT_VERSION,
        sha256: checksum(&content)?,
        content,
    })
}

/// `rescue export --from`: the unsynced work of a till database that is not in use, typically
/// one moved aside as damaged, written to `out`. The file is only read; its own device id goes
/// into the export, so the server matches the operations to the till that made them.
pub fn export_from_file(database: &Path, out: &Path) -> Result<RescueExportView> {
    let conn = Store::open_damaged(database)?;
    let device_id: String = conn
        .query_row(
            "SELECT device_id FROM terminal_state WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .map_err(|e| {
            EngineError::storage(format!(
                "{}: the till's identity cannot be read ({e})",
                database.display()
            ))
        })?;
    let file = collect(&conn, &device_id).map_err(|e| {
        EngineError::storage(format!(
            "{}: the unsynced operations cannot be read ({})",
            database.display(),
            e.message
        ))
    })?;
    write(&file, out)?;
    tracing::info!(from = %database.display(), path = %out.display(), operations = file.content.operations.len(), "rescue file written from a database file");
    Ok(RescueExportView {
        path: out.to_path_buf(),
        operations: file.content.operations.len(),
        sha256: file.sha256,
    })
}

/// Lower-case hex SHA-256 of the canonical JSON of `content`.
pub fn checksum(content: &RescueContent) -> Result<String> {
    Ok(rescue_checksum(&serde_json::to_value(content)?))
}

/// Writes `file` to `path` whole or not at all (a temporary file beside it, then a rename).
pub fn write(file: &RescueFile, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(file)?;
    let name = path
        .file_name()
        .ok_or_else(|| EngineError::invalid(format!("file: '{}' names no file", path.display())))?;
    let partial = path.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    // One handle that writes and flushes: Windows refuses FlushFileBuffers on a handle opened
    // for reading only.
    let written = std::fs::File::create(&partial)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&partial, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        EngineError::invalid(format!("file: cannot write {}: {e}", path.display()))
    })
}
