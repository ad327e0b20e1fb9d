//! The one error the engine returns: a stable snake_case code plus a sentence for people.
//!
//! The desktop app and the CLI branch on `code`, never on `message`. It serialises as
//! `{"code": "...", "message": "..."}` so a Tauri command can return it unchanged.

use serde::{Deserialize, Serialize};

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct EngineError {
    pub code: ErrorCode,
    pub message: String,
    /// The certificate a server presented, on `server_certificate_unknown` and
    /// `server_certificate_changed`: what the person signing in compares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<crate::sync::trust::CertificateSeen>,
}

/// Stable error codes. New ones may be added; existing ones never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input is wrong; the message names the field.
    InvalidInput,
    /// The thing asked for does not exist (product, line, held cart, sale, operation).
    NotFound,
    /// Nobody is signed in on this terminal.
    NotSignedIn,
    /// The cart has no lines.
    EmptyCart,
    /// A sale leaving a due needs a customer.
    DueRequiresCustomer,
    /// No payment type is known (sync the catalog first).
    NoPaymentType,
    /// The server could not be reached (network, timeout, 5xx).
    ServerUnreachable,
    /// The server refused the credentials or the token.
    Unauthenticated,
    /// The server needs a newer terminal.
    ClientTooOld,
    /// The server presents a certificate this till has not pinned and the web PKI does not
    /// vouch for; `certificate` carries its fingerprint for the person to confirm.
    ServerCertificateUnknown,
    /// The server presents another certificate than the pinned one; only an owner's sign-in
    /// confirming the new fingerprint replaces the pin.
    ServerCertificateChanged,
    /// Plain http beyond loopback, which no owner allowed for this server.
    PlainHttpRefused,
    /// The server answered with an error it explained.
    ServerRejected,
    /// The server refused a request as too large (the sync sends smaller batches).
    PayloadTooLarge,
    /// The server answered with something this terminal cannot read.
    ProtocolError,
    /// The OS credential store is missing or refused access.
    CredentialStore,
    /// The local database file is damaged; it was moved aside.
    DatabaseCorrupt,
    /// Any other local storage failure.
    Storage,
    /// The operation is in a state that does not allow this (e.g. retrying a done one).
    InvalidState,
    /// A failure that is a bug.
    Internal,
    /// No shift is open on this till (and the business requires one, or the action needs it).
    NoOpenShift,
    /// More would be returned than is left of the sale line.
    ReturnExceedsSale,
    /// The receipt printer could not be reached or refused the job (the sale itself is kept).
    PrinterUnavailable,
    /// A manager's PIN must authorise this (a return, a pay-out, a no-sale drawer opening, a
    /// discount above the business's limit).
    ManagerRequired,
    /// No cashier (or, where a manager was asked for, no manager) has this PIN.
    WrongPin,
    /// Another till process (the app or the CLI) is using the data folder.
    DataFolderInUse,
    /// PIN entry on this till is locked after too many wrong PINs; the message says until when.
    PinLocked,
}

impl EngineError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            certificate: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Storage, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

impl From<rusqlite::Error> for EngineError {
    fn from(e: rusqlite::Error) -> Self {
        EngineError::storage(format!("local database: {e}"))
    }
}

impl From<serde_json::Error> for EngineError {
    fn from(e: serde_json::Error) -> Self {
        EngineError::internal(format!("stored JSON could not be read: {e}"))
    }
}

impl From<std::io::Error> for EngineError {
    fn from(e: std::io::Error) -> Self {
        EngineError::storage(format!("file system: {e}"))
    }
}

impl From<pos_protocol::totals::TotalsError> for EngineError {
    fn from(e: pos_protocol::totals::TotalsError) -> Self {
        EngineError::invalid(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_message() {
        let e = EngineError::new(ErrorCode::DueRequiresCustomer, "pick a customer");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "due_requires_customer", "message": "pick a customer"})
        );
    }
}
