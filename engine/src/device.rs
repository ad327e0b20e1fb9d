//! The terminal's identity: a UUID made on first start, kept in the data folder and in the
//! credential store (so a reinstall that wiped the folder finds it again).

use std::path::Path;

use crate::credentials::{device_account, CredentialStore, Secret};
use crate::error::{EngineError, Result};

pub const DEVICE_ID_FILE: &str = "device-id";

/// Reads the device id from the data folder, else from the credential store, else makes one;
/// then makes sure both places hold it. The credential store is best effort here (the folder
/// copy is enough to keep selling).
pub fn load_or_create(data_dir: &Path, credentials: &CredentialStore) -> Result<String> {
    let file = data_dir.join(DEVICE_ID_FILE);
    let account = device_account(data_dir);
    let from_file = match std::fs::read_to_string(&file) {
        Ok(text) => Some(
            parse(text.trim())
                .map_err(|e| EngineError::storage(format!("{}: {e}", file.display())))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let from_store = match credentials.get(&account) {
        Ok(found) => found.and_then(|s| parse(s.expose()).ok()),
        Err(e) => {
            tracing::warn!(error = %e, "device id not read from the credential store");
            None
        }
    };
    let id = from_file
        .clone()
        .or(from_store.clone())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if from_file.as_deref() != Some(id.as_str()) {
        std::fs::write(&file, &id)?;
    }
    if from_store.as_deref() != Some(id.as_str()) {
        if let Err(e) = credentials.set(&account, &Secret::new(id.clone())) {
            tracing::warn!(error = %e, "device id not copied to the credential store");
        }
    }
    Ok(id)
}

fn parse(text: &str) -> std::result::Result<String, String> {
    uuid::Uuid::parse_str(text)
        .map(|u| u.to_string())
        .map_err(|_| format!("'{text}' is not a device id (a UUID)"))
}

/// The short code in offline invoice numbers: the first 8 hex digits, upper case.
pub fn short_code(device_id: &str) -> String {
    device_id
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase()
}

/// A default device name: the host name.
pub fn host_name() -> String {
    sysinfo::System::host_name().unwrap_or_else(|| "terminal".to_string())
}

/// The OS as the server's device list shows it, e.g. `Windows 11 (26100)` or `Linux 12 Debian`.
pub fn os_description() -> String {
    sysinfo::System::long_os_version()
        .or_else(sysinfo::System::name)
        .unwrap_or_else(|| std::env::consts::OS.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_copy_is_kept_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::File(dir.path().join("creds.json"));
        let first = load_or_create(dir.path(), &store).unwrap();
        assert_eq!(load_or_create(dir.path(), &store).unwrap(), first);
        // A wiped folder finds the id again in the credential store.
        std::fs::remove_file(dir.path().join(DEVICE_ID_FILE)).unwrap();
        assert_eq!(load_or_create(dir.path(), &store).unwrap(), first);
        assert_eq!(short_code(&first).len(), 8);
    }
}
