//! Secrets of the terminal: the API token, the device's PIN key (which opens the staff's PIN
//! verifiers sealed for this till) and a copy of the device id, in the OS credential store through `keyring` (Windows Credential Manager, macOS Keychain, Secret Service or the
//! kernel keyring on Linux). Never in SQLite, never in the logs.
//!
//! Fallback for machines without a credential store (a headless box, a container): set
//! `POS_TERMINAL_CREDENTIALS=file`. Secrets then go to `credentials.json` in the data folder,
//! readable by the owner only (mode 0600 on Unix), and every start logs a loud warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{EngineError, ErrorCode, Result};

/// Service name under which every entry is stored.
pub const SERVICE: &str = "pos-terminal";
/// Environment variable choosing the fallback store (`file`).
pub const CREDENTIALS_ENV: &str = "POS_TERMINAL_CREDENTIALS";
pub const CREDENTIALS_FILE: &str = "credentials.json";

/// A secret's value that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialStore {
    /// The OS credential store.
    Os,
    /// The documented fallback: a 0600 JSON file.
    File(PathBuf),
}

impl CredentialStore {
    /// The OS store, unless `POS_TERMINAL_CREDENTIALS=file` asks for the file fallback.
    pub fn from_env(data_dir: &Path) -> Result<CredentialStore> {
        match std::env::var(CREDENTIALS_ENV).ok().as_deref() {
            None | Some("") | Some("os") => Ok(CredentialStore::Os),
            Some("file") => {
                let path = data_dir.join(CREDENTIALS_FILE);
                tracing::warn!(
                    path = %path.display(),
                    "{CREDENTIALS_ENV}=file: the API token is kept in a plain file readable by \
                     this user only, NOT in the OS credential store"
                );
                Ok(CredentialStore::File(path))
            }
            Some(other) => Err(EngineError::invalid(format!(
                "{CREDENTIALS_ENV}: '{other}' is not a credential store (use 'os' or 'file')"
            ))),
        }
    }

    pub fn get(&self, account: &str) -> Result<Option<Secret>> {
        match self {
            CredentialStore::Os => match entry(account)?.get_password() {
                Ok(value) => Ok(Some(Secret(value))),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(store_error("read", e)),
            },
            CredentialStore::File(path) => Ok(read_file(path)?.remove(account).map(Secret)),
        }
    }

    pub fn set(&self, account: &str, secret: &Secret) -> Result<()> {
        match self {
            CredentialStore::Os => entry(account)?
                .set_password(secret.expose())
                .map_err(|e| store_error("write", e)),
            CredentialStore::File(path) => {
                let mut all = read_file(path)?;
                all.insert(account.to_string(), secret.expose().to_string());
                write_file(path, &all)
            }
        }
    }

    /// Removes the entry; removing a missing one is fine.
    pub fn delete(&self, account: &str) -> Result<()> {
        match self {
            CredentialStore::Os => match entry(account)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(store_error("delete", e)),
            },
            CredentialStore::File(path) => {
                let mut all = read_file(path)?;
                if all.remove(account).is_some() {
                    write_file(path, &all)?;
                }
                Ok(())
            }
        }
    }
}

/// The account name of a device's API token.
pub fn token_account(device_id: &str) -> String {
    format!("token:{device_id}")
}

/// The account name of a device's PIN key (see `pos_protocol::pin`).
pub fn pin_key_account(device_id: &str) -> String {
    format!("pin-key:{device_id}")
}

/// The device's PIN key, made on first use: 256 random bits that never leave this machine
/// except once to the server, when a manager or owner registers the till.
pub fn pin_key(store: &CredentialStore, device_id: &str) -> Result<pos_protocol::pin::DeviceKey> {
    use pos_protocol::pin::DeviceKey;
    let account = pin_key_account(device_id);
    if let Some(key) = store
        .get(&account)?
        .and_then(|text| DeviceKey::from_text(text.expose()))
    {
        return Ok(key);
    }
    let key = DeviceKey::generate();
    store.set(&account, &Secret::new(key.to_text()))?;
    Ok(key)
}

/// The account name of the device id kept for a data folder (so a reinstall that keeps the
/// same folder path finds its identity again).
pub fn device_account(data_dir: &Path) -> String {
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    format!("device-id:{}", dir.display())
}

fn entry(account: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, account).map_err(|e| store_error("open", e))
}

fn store_error(what: &str, e: keyring::Error) -> EngineError {
    EngineError::new(
        ErrorCode::CredentialStore,
        format!(
            "the OS credential store could not {what} the entry ({e}); on a machine without one \
             set {CREDENTIALS_ENV}=file"
        ),
    )
}

fn read_file(path: &Path) -> Result<BTreeMap<String, String>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            EngineError::new(
                ErrorCode::CredentialStore,
                format!("{} is not a credentials file: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e.into()),
    }
}

fn write_file(path: &Path, all: &BTreeMap<String, String>) -> Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(&serde_json::to_vec(all)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_fallback_round_trips_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::File(dir.path().join(CREDENTIALS_FILE));
        assert_eq!(store.get("token:a").unwrap(), None);
        store.set("token:a", &Secret::new("s3cret")).unwrap();
        assert_eq!(store.get("token:a").unwrap().unwrap().expose(), "s3cret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(CREDENTIALS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store.delete("token:a").unwrap();
        assert_eq!(store.get("token:a").unwrap(), None);
    }

    #[test]
    fn secrets_never_print() {
        assert_eq!(format!("{:?}", Secret::new("abc")), "Secret(<redacted>)");
    }
}
