//! `tracing` to a daily rolling file in the terminal's log folder (`<data dir>/logs`).
//!
//! Secrets never reach a log line: the token is a [`crate::credentials::Secret`] whose `Debug`
//! prints `<redacted>`, and no request body or header is ever logged.

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// The log folder of a data folder.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

/// Installs the global subscriber writing `pos-terminal.log.<date>` files; `RUST_LOG` filters
/// (default `info`). Keep the guard alive for the life of the program: dropping it flushes.
/// Returns None when a subscriber was already installed (e.g. by the app).
pub fn init(data_dir: &Path) -> std::io::Result<Option<WorkerGuard>> {
    let dir = log_dir(data_dir);
    std::fs::create_dir_all(&dir)?;
    let appender = tracing_appender::rolling::daily(&dir, "pos-terminal.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let installed = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .is_ok();
    Ok(installed.then_some(guard))
}
