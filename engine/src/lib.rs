//! The terminal engine: everything a till does that is not a window.
//!
//! [`Engine`] is the facade the desktop app (`src-tauri/`) and the `pos-terminal` CLI call. It
//! owns the local SQLite store (catalog mirror, sales, outbox), the cart, the sync client and
//! the credentials. Every view type serialises as it is, and every error is an
//! [`EngineError`] `{"code", "message"}` with a stable snake_case code.
//!
//! Invariants:
//! - completing a sale is one local transaction (sale, lines, outbox operation, offline number);
//!   so is every shift change, cash movement and return, each with its own operation;
//! - every price is computed by `pos_protocol::totals`, the function the server also calls;
//! - the token lives in the OS credential store, never in SQLite or the logs;
//! - nothing queued is ever deleted without a person discarding it (audited).

mod cart;
mod cashiers;
mod catalog;
pub mod credentials;
mod device;
mod engine;
pub mod error;
pub mod logging;
pub mod mirror;
pub mod outbox;
mod parties;
pub mod printing;
mod rescue;
mod returns;
mod sales;
mod shifts;
mod store;
pub mod sync;
pub mod views;

pub use engine::Engine;
pub use error::{EngineError, ErrorCode, Result};
pub use rescue::export_from_file as rescue_export_from_file;
pub use views::*;

/// This terminal's version, sent as `X-Client-Version`.
pub const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");
