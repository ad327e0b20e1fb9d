//! The cashier's desktop app: a window over the terminal engine.
//!
//! Every command is a few lines: take the engine, call it, hand back its view or its
//! `{code, message}` error. No business rule lives here; the engine prices, saves and syncs.

// No console window next to the till on Windows.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod diagnostics;

use clap::Parser;
use diagnostics::Diagnostics;
use pos_engine::{Engine, EngineConfig, SessionInfo};
use std::path::PathBuf;
use tauri::{AppHandle, Emitter, Manager};

/// The event that carries every change of the engine's sync status to the window.
pub const STATUS_EVENT: &str = "sync-status";

#[derive(Parser, Debug)]
#[command(name = "pos-terminal-app", version, about = "The point of sale till")]
struct Args {
    /// Folder of the till's database and logs (default: the OS's per-user app data folder).
    #[arg(long, env = "POS_TERMINAL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Server address to offer when none was remembered.
    #[arg(long, env = "POS_TERMINAL_SERVER")]
    server: Option<String>,
}

/// "<business> — <device>" once signed in, the product name before.
pub fn show_session_in_title(app: &AppHandle, session: Option<&SessionInfo>) {
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    let title = match session {
        Some(s) => format!("{} — {}", s.business_name, s.device.name),
        None => app.package_info().name.clone(),
    };
    if let Err(e) = window.set_title(&title) {
        tracing::warn!("window title: {e}");
    }
}

/// Forwards every sync status the engine publishes to the window, starting with the current one.
fn forward_status(app: AppHandle, engine: Engine) {
    tauri::async_runtime::spawn(async move {
        let mut statuses = engine.subscribe_status();
        loop {
            let status = statuses.borrow_and_update().clone();
            if let Err(e) = app.emit(STATUS_EVENT, status) {
                tracing::warn!("status event: {e}");
            }
            if statuses.changed().await.is_err() {
                break;
            }
        }
    });
}

fn main() {
    let args = Args::parse();
    let config = EngineConfig {
        data_dir: args.data_dir.unwrap_or_else(EngineConfig::default_data_dir),
        server_url: args.server,
        timings: Default::default(),
    };
    let diagnostics = Diagnostics::start(&config.data_dir);
    diagnostics::require_webview(&diagnostics);
    let engine = match Engine::open(config) {
        Ok(engine) => engine,
        Err(e) => diagnostics.failed_start(
            &format!("The till's data could not be opened: {}", e.message),
            diagnostics::advice(&e),
        ),
    };

    tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            // A second start brings the running till to the front instead.
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .manage(engine.clone())
        .setup(move |app| {
            show_session_in_title(app.handle(), engine.session().as_ref());
            forward_status(app.handle().clone(), engine.clone());
            let background = engine.clone();
            tauri::async_runtime::spawn(async move { background.start_background_sync() });
            Ok(())
        })
        .invoke_handler(commands::handler())
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            diagnostics.failed_start(
                &format!("The till's window could not be started: {e}"),
                "Start POS Terminal again. If it fails again, send the log files to support.",
            )
        });
}
