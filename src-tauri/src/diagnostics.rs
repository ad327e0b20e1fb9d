//! What a support person needs when the till does not start or stops: the log file in the data
//! folder, and, because a release build on Windows has no console, a message window saying what
//! happened, where the log is and what to do.

use std::path::{Path, PathBuf};

use pos_engine::{EngineError, ErrorCode};

/// Where the till's logs are, and what to send to support.
pub struct Diagnostics {
    log_dir: PathBuf,
}

impl Diagnostics {
    /// Starts the rolling log of `data_dir` and reports every panic in a message window.
    pub fn start(data_dir: &Path) -> Diagnostics {
        let log_dir = pos_engine::logging::log_dir(data_dir);
        if let Err(e) = pos_engine::logging::init(data_dir) {
            // The till still runs; the message says the log is missing.
            eprintln!(
                "pos-terminal-app: no log file in {}: {e}",
                log_dir.display()
            );
        }
        tracing::info!(version = env!("CARGO_PKG_VERSION"), data_dir = %data_dir.display(), "desktop app starting");
        let diagnostics = Diagnostics { log_dir };
        let log_dir = diagnostics.log_dir.clone();
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            tracing::error!(panic = %info, "the desktop app stopped on an internal error");
            show_message(&report(
                &format!("The till stopped on an internal error: {info}"),
                &log_dir,
                "Start POS Terminal again. Completed sales are saved and nothing queued is lost. \
                 If it happens again, send the log files to support.",
            ));
            default_hook(info);
        }));
        diagnostics
    }

    /// A failed start: logged, shown in a message window, then the process ends.
    pub fn failed_start(&self, what: &str, advice: &str) -> ! {
        tracing::error!(reason = what, "the desktop app could not start");
        show_message(&report(what, &self.log_dir, advice));
        std::process::exit(1);
    }
}

/// What to do about an engine error that stopped the start.
pub fn advice(error: &EngineError) -> &'static str {
    match error.code {
        ErrorCode::DatabaseCorrupt => {
            "Start POS Terminal again: it begins with a fresh database and downloads the catalog. \
             The damaged file was kept; to send its unsynced sales to the server, run \
             pos-terminal rescue export --from <the damaged file> rescue.json and give the file \
             to the owner to import."
        }
        ErrorCode::DataFolderInUse => {
            "POS Terminal (or pos-terminal) is already running on this computer: use that window, \
             or close it and start again."
        }
        _ => "Start POS Terminal again. If it fails again, send the log files to support.",
    }
}

/// The WebView2 runtime draws the till's window on Windows; without it the window would stay
/// blank, so the start stops with a message instead.
#[cfg(windows)]
pub fn require_webview(diagnostics: &Diagnostics) {
    if let Err(e) = tauri::webview_version() {
        diagnostics.failed_start(
            &format!("The Microsoft Edge WebView2 Runtime, which draws the till's window, is not installed ({e})."),
            "Install POS Terminal again with its installer: it contains the WebView2 Runtime and \
             installs it without an internet connection. Or install the \"Microsoft Edge WebView2 \
             Runtime\" (Evergreen Standalone Installer) from Microsoft, then start POS Terminal.",
        );
    }
}

#[cfg(not(windows))]
pub fn require_webview(_diagnostics: &Diagnostics) {}

fn report(what: &str, log_dir: &Path, advice: &str) -> String {
    format!(
        "{what}\n\nWhat to do: {advice}\n\nThe log files are in {}",
        log_dir.display()
    )
}

/// A message window on Windows (no console there); standard error everywhere.
fn show_message(text: &str) {
    eprintln!("pos-terminal-app: {text}");
    #[cfg(windows)]
    {
        use windows_sys::Win32::UI::WindowsAndMessaging::{MessageBoxW, MB_ICONERROR, MB_OK};
        let wide = |s: &str| s.encode_utf16().chain(Some(0)).collect::<Vec<u16>>();
        let (text, title) = (wide(text), wide("POS Terminal"));
        // SAFETY: both strings are NUL-terminated UTF-16 that outlive the call; no owner window.
        unsafe {
            MessageBoxW(
                std::ptr::null_mut(),
                text.as_ptr(),
                title.as_ptr(),
                MB_OK | MB_ICONERROR,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_database_is_explained_with_the_rescue_command() {
        let damaged = EngineError::new(ErrorCode::DatabaseCorrupt, "moved aside");
        assert!(advice(&damaged).contains("rescue export --from"));
        let text = report("it broke", Path::new("/data/logs"), advice(&damaged));
        assert!(text.starts_with("it broke"));
        assert!(text.ends_with("/data/logs"));
    }
}
