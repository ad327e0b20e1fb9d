//! The local SQLite file: opening it safely, migrating it, and the value conversions every
//! table uses.
//!
//! One writer connection behind a mutex (write transactions start with `BEGIN IMMEDIATE`, so a
//! read-then-write never fails half way) and one reader connection for look-ups. Neither lock is
//! ever held across an `.await`: async callers go through `spawn_blocking`.

use chrono::{DateTime, Utc};
use pos_protocol::Decimal;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::error::{EngineError, ErrorCode, Result};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

pub const DATABASE_FILE: &str = "pos-terminal.db";
/// Held locked by the one process using a data folder for as long as it runs.
pub const LOCK_FILE: &str = "pos-terminal.lock";

/// Compiled statements kept per connection.
const STATEMENT_CACHE_CAPACITY: usize = 64;

pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// The data folder's lock, released when the store is dropped or the process ends (even
    /// killed): SQLite would let two tills share the file, but two tills selling under one
    /// device id would hand out the same offline invoice numbers.
    _folder_lock: std::fs::File,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir`, checks its integrity and brings
    /// its schema up to date. A damaged file is moved aside, never deleted, and the error says
    /// where it went.
    pub fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            EngineError::storage(format!(
                "cannot create the data folder {}: {e}",
                data_dir.display()
            ))
        })?;
        let folder_lock = lock_folder(data_dir)?;
        let path = data_dir.join(DATABASE_FILE);
        if path.exists() {
            if let Err(problem) = check_integrity(&path) {
                let moved = move_aside(&path)?;
                return Err(EngineError::new(
                    ErrorCode::DatabaseCorrupt,
                    format!(
                        "the local database {} is damaged ({problem}); it was moved to {} and \
                         kept for rescue; start again to begin with a fresh database",
                        path.display(),
                        moved.display()
                    ),
                ));
            }
        }
        let mut writer = connect(&path)?;
        migrate(&mut writer)?;
        let reader = connect(&path)?;
        Ok(Store {
            path,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            _folder_lock: folder_lock,
        })
    }

    /// Opens a database file read-only with no integrity check and no migration: a file moved
    /// aside as damaged can still be read for a rescue export. Nothing is written to it.
    pub fn open_damaged(path: &Path) -> Result<Connection> {
        if !path.is_file() {
            return Err(EngineError::invalid(format!(
                "from: {} is not a file",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(conn)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction on the writer; commits when it
    /// returns `Ok`, rolls back otherwise.
    pub fn write<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs read-only `work` on the reader connection.
    pub fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = lock(&self.reader);
        work(&conn)
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves no half transaction behind (it rolled back on
    // drop), so the connection is still good to use.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes the data folder's lock (`LockFileEx` on Windows, `flock` elsewhere) or says which
/// folder another till program is using.
fn lock_folder(data_dir: &Path) -> Result<std::fs::File> {
    let path = data_dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| EngineError::storage(format!("cannot open {}: {e}", path.display())))?;
    // The trait's method, not std's `File::try_lock` (newer than the workspace's Rust).
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(file),
        Err(fs4::TryLockError::WouldBlock) => Err(EngineError::new(
            ErrorCode::DataFolderInUse,
            format!(
                "another till program (the app or pos-terminal) is using the data folder {}; \
                 close it first, or give this one another --data-dir",
                data_dir.display()
            ),
        )),
        Err(fs4::TryLockError::Error(e)) => Err(EngineError::storage(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // WAL with FULL sync: a committed sale survives a power cut.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A sale, a scan and a search each run a dozen or more distinct statements; keep them all
    // compiled (the default of 16 let a sale evict its own statements).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(conn)
}

fn check_integrity(path: &Path) -> std::result::Result<(), String> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| e.to_string())?;
    let verdict: String = conn
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(verdict)
    }
}

/// Renames the database and its WAL files to `*.damaged-<time>`; returns the new name.
fn move_aside(path: &Path) -> Result<PathBuf> {
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let target = path.with_file_name(format!("{DATABASE_FILE}.damaged-{stamp}"));
    std::fs::rename(path, &target)?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            std::fs::rename(&side, format!("{}{suffix}", target.display()))?;
        }
    }
    tracing::error!(from = %path.display(), to = %target.display(), "damaged local database moved aside");
    Ok(target)
}

/// Applies every embedded migration above the file's `user_version`, each in its own
/// transaction together with the version bump.
fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let known = embedded::MIGRATIONS.len() as i64;
    if current > known {
        return Err(EngineError::new(
            ErrorCode::Storage,
            format!(
                "the local database has schema version {current}, newer than this terminal \
                 knows ({known}); install the newer terminal again"
            ),
        ));
    }
    for (index, (name, sql)) in embedded::MIGRATIONS
        .iter()
        .enumerate()
        .skip(current as usize)
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)
            .map_err(|e| EngineError::storage(format!("local migration {name} failed: {e}")))?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(migration = name, "local migration applied");
    }
    Ok(())
}

// ---- value conversions ---------------------------------------------------------------

/// Decimals are stored as their exact text.
pub fn dec_text(value: Decimal) -> String {
    value.normalize().to_string()
}

pub fn parse_dec(text: &str) -> Result<Decimal> {
    pos_protocol::money::parse_decimal(text)
        .map_err(|e| EngineError::storage(format!("stored amount: {e}")))
}

/// Reads a decimal column inside a row mapper.
pub fn dec_col(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Decimal> {
    let text: String = row.get(index)?;
    pos_protocol::money::parse_decimal(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
    })
}

/// Quantities have at most 3 decimals: stored as thousandths.
pub fn to_milli(quantity: Decimal) -> i64 {
    let scaled = (quantity * Decimal::ONE_THOUSAND).round();
    i64::try_from(scaled).unwrap_or(if scaled.is_sign_negative() {
        i64::MIN
    } else {
        i64::MAX
    })
}

pub fn from_milli(milli: i64) -> Decimal {
    Decimal::new(milli, 3).normalize()
}

pub fn time_text(at: &DateTime<Utc>) -> String {
    pos_protocol::time::format(at)
}

pub fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    pos_protocol::time::parse(text).map_err(EngineError::storage)
}

pub fn time_col(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = row.get(index)?;
    pos_protocol::time::parse(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
    })
}

pub fn opt_time_col(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let text: Option<String> = row.get(index)?;
    text.map(|t| {
        pos_protocol::time::parse(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_round_trip_through_thousandths() {
        let q: Decimal = "1.234".parse().unwrap();
        assert_eq!(to_milli(q), 1234);
        assert_eq!(from_milli(1234), q);
        assert_eq!(from_milli(-500).to_string(), "-0.5");
    }

    #[test]
    fn a_fresh_file_gets_the_latest_schema_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let version: i64 = store
            .read(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?))
            .unwrap();
        assert_eq!(version as usize, embedded::MIGRATIONS.len());
        drop(store);
        Store::open(dir.path()).unwrap();
    }

    #[test]
    fn a_second_opening_of_the_folder_is_refused_until_the_first_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path()).err().unwrap();
        assert_eq!(err.code, ErrorCode::DataFolderInUse);
        assert!(
            err.message.contains("another till program"),
            "{}",
            err.message
        );
        drop(first);
        Store::open(dir.path()).unwrap();
    }

    #[test]
    fn a_damaged_file_is_moved_aside_and_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(DATABASE_FILE),
            b"this is not a database at all, just some text long enough".repeat(100),
        )
        .unwrap();
        let err = Store::open(dir.path()).err().unwrap();
        assert_eq!(err.code, ErrorCode::DatabaseCorrupt);
        assert!(err.message.contains("moved to"), "{}", err.message);
        let kept: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".damaged-"))
            .collect();
        assert_eq!(kept.len(), 1, "the damaged file is kept");
        // The next start begins with a fresh database.
        Store::open(dir.path()).unwrap();
    }
}
