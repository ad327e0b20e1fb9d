//! `tracing` to a daily rolling file in the terminal's log folder (`<data dir>/logs`), the
//! last [`KEPT_LOG_FILES`] days kept. The desktop app and the CLI both write there.
//!
//! Lines are written as they happen (no background writer), so the line that explains a crash
//! or a failed start is on disk before the program ends; a till logs little.
//!
//! Secrets never reach a log line: the token is a [`crate::credentials::Secret`] whose `Debug`
//! prints `<redacted>`, and no request body or header is ever logged.

use std::path::{Path, PathBuf};

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// Days of logs kept in the folder.
pub const KEPT_LOG_FILES: usize = 14;
const LOG_PREFIX: &str = "pos-terminal";
const LOG_SUFFIX: &str = "log";

/// The log folder of a data folder.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

/// Installs the global subscriber writing `pos-terminal.<date>.log` files; `RUST_LOG` filters
/// (default `info`). Returns false when a subscriber was already installed.
pub fn init(data_dir: &Path) -> std::io::Result<bool> {
    let dir = log_dir(data_dir);
    std::fs::create_dir_all(&dir)?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(LOG_PREFIX)
        .filename_suffix(LOG_SUFFIX)
        .max_log_files(KEPT_LOG_FILES)
        .build(&dir)
        .map_err(std::io::Error::other)?;
    let installed = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(appender)
        .with_ansi(false)
        .try_init()
        .is_ok();
    Ok(installed)
}
