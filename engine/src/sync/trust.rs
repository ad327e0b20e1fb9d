//! The till's trust in its server: which certificate it accepts for an address, and whether
//! plain http may be used there.
//!
//! - A certificate valid for the host under the public web PKI (the Mozilla roots) is accepted
//!   as a browser would; nothing is pinned for it, so its routine renewals need nobody.
//! - Any other certificate (a back-room server's self-signed one) is shown to the person at the
//!   first sign-in as its SHA-256 fingerprint; once they confirm it matches what the server
//!   printed, it is pinned for that address and every other certificate is refused there, even
//!   one valid under the web PKI. Only an owner's sign-in replaces a pin.
//! - Plain http is used without asking only on loopback; elsewhere only after an owner's
//!   sign-in allowed it for that address.
//!
//! The pin is checked inside the TLS handshake, so nothing (no password, no token) is sent to a
//! server presenting another certificate.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use reqwest::Url;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{EngineError, ErrorCode, Result};
use crate::store::time_text;

/// What the person signing in confirmed beyond what the till already trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustConfirmation {
    /// The fingerprint the person compared with the one the server printed: the certificate
    /// to pin. Replacing another pin takes an owner's sign-in.
    pub certificate_sha256: Option<String>,
    /// Use plain http to an address beyond loopback (an owner's sign-in only).
    pub allow_plain_http: bool,
}

/// The certificate a server presented that the till did not accept, carried by the
/// `server_certificate_unknown` and `server_certificate_changed` errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSeen {
    /// SHA-256 of the certificate the server presented.
    pub presented_sha256: String,
    /// The pinned one it differs from, if any.
    pub pinned_sha256: Option<String>,
}

/// What the till trusts about one server address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ServerTrust {
    pub pinned_sha256: Option<String>,
    pub plain_http_allowed: bool,
}

impl ServerTrust {
    /// The trust a sign-in works with: the known one widened by what the person confirmed.
    pub fn confirmed(&self, confirmation: &TrustConfirmation) -> Result<ServerTrust> {
        Ok(ServerTrust {
            pinned_sha256: match &confirmation.certificate_sha256 {
                Some(text) => Some(normalise_fingerprint(text)?),
                None => self.pinned_sha256.clone(),
            },
            plain_http_allowed: self.plain_http_allowed || confirmation.allow_plain_http,
        })
    }
}

/// `scheme://host:port`: what trust is kept under.
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Whether the address names this machine (`localhost`, 127.0.0.0/8, ::1).
pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// SHA-256 of a DER certificate as upper-case hex pairs joined by colons (as the server and
/// `openssl x509 -fingerprint -sha256` print it).
pub fn fingerprint(der: &[u8]) -> String {
    colon_hex(&Sha256::digest(der))
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Reads a fingerprint as a person may type or paste it: any case, with or without colons
/// or spaces.
pub fn normalise_fingerprint(text: &str) -> Result<String> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    if digits.len() != 64 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(EngineError::invalid(format!(
            "certificate_sha256: '{text}' is not a SHA-256 fingerprint (64 hex digits)"
        )));
    }
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).expect("checked hex"))
        .collect();
    Ok(colon_hex(&bytes))
}

pub(crate) fn load(conn: &Connection, origin: &str) -> Result<ServerTrust> {
    let row = conn
        .query_row(
            "SELECT certificate_sha256, plain_http_allowed_at IS NOT NULL
             FROM server_trust WHERE origin = ?1",
            [origin],
            |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, bool>(1)?)),
        )
        .optional()?;
    Ok(row
        .map(|(pinned_sha256, plain_http_allowed)| ServerTrust {
            pinned_sha256,
            plain_http_allowed,
        })
        .unwrap_or_default())
}

pub(crate) fn pin(tx: &Transaction, origin: &str, sha256: &str, by: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO server_trust (origin, certificate_sha256, pinned_at, pinned_by)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (origin) DO UPDATE SET certificate_sha256 = ?2, pinned_at = ?3,
           pinned_by = ?4",
        params![origin, sha256, time_text(&pos_protocol::time::now()), by],
    )?;
    Ok(())
}

pub(crate) fn allow_plain_http(tx: &Transaction, origin: &str, by: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO server_trust (origin, plain_http_allowed_at, plain_http_allowed_by)
         VALUES (?1, ?2, ?3)
         ON CONFLICT (origin) DO UPDATE SET plain_http_allowed_at = ?2,
           plain_http_allowed_by = ?3",
        params![origin, time_text(&pos_protocol::time::now()), by],
    )?;
    Ok(())
}

/// How a handshake went: the certificate accepted, or the one refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Handshake {
    /// Accepted because it is the pinned one.
    Pinned,
    /// Accepted under the web PKI (nothing pinned for this address).
    PublicPki,
    Refused(CertificateSeen),
}

/// Accepts the pinned certificate only, or, with no pin, one valid under the web PKI; records
/// what happened so the client can explain a refusal.
#[derive(Debug)]
pub(crate) struct PinningVerifier {
    pinned_sha256: Option<String>,
    web_pki: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
    last: Mutex<Option<Handshake>>,
}

impl PinningVerifier {
    pub fn new(pinned_sha256: Option<String>) -> Result<PinningVerifier> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let web_pki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| EngineError::internal(format!("TLS roots: {e}")))?;
        Ok(PinningVerifier {
            pinned_sha256,
            web_pki,
            provider,
            last: Mutex::new(None),
        })
    }

    /// The outcome of the last handshake.
    pub fn last_handshake(&self) -> Option<Handshake> {
        self.last.lock().expect("handshake record").clone()
    }

    fn note(&self, outcome: Handshake) {
        *self.last.lock().expect("handshake record") = Some(outcome);
    }

    /// A rustls configuration that verifies servers with this verifier (ring provider).
    pub fn client_config(self: &Arc<Self>) -> Result<rustls::ClientConfig> {
        Ok(
            rustls::ClientConfig::builder_with_provider(self.provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| EngineError::internal(format!("TLS versions: {e}")))?
                .dangerous()
                .with_custom_certificate_verifier(self.clone())
                .with_no_client_auth(),
        )
    }
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let presented = fingerprint(end_entity);
        let refused = |pinned_sha256: Option<String>| {
            Handshake::Refused(CertificateSeen {
                presented_sha256: presented.clone(),
                pinned_sha256,
            })
        };
        match &self.pinned_sha256 {
            Some(pinned) if *pinned == presented => {
                self.note(Handshake::Pinned);
                Ok(ServerCertVerified::assertion())
            }
            Some(pinned) => {
                self.note(refused(Some(pinned.clone())));
                Err(rustls::Error::General(
                    "the certificate differs from the pinned one".into(),
                ))
            }
            None => match self.web_pki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Ok(verified) => {
                    self.note(Handshake::PublicPki);
                    Ok(verified)
                }
                Err(e) => {
                    self.note(refused(None));
                    Err(e)
                }
            },
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The error for a certificate the till refused: unknown (confirm it to sign in) or changed
/// (only an owner may accept it).
pub(crate) fn refused_certificate(seen: CertificateSeen) -> EngineError {
    let mut error = match &seen.pinned_sha256 {
        None => EngineError::new(
            ErrorCode::ServerCertificateUnknown,
            format!(
                "the server presents a certificate this till does not know yet, SHA-256 \
                 fingerprint {}; compare it with the fingerprint the server printed at start \
                 (`pos-server tls-fingerprint`) and confirm it to sign in",
                seen.presented_sha256
            ),
        ),
        Some(pinned) => EngineError::new(
            ErrorCode::ServerCertificateChanged,
            format!(
                "the server presents another certificate than the one this till trusts \
                 (presented {}, trusted {pinned}); nothing was sent to it. If the server's \
                 certificate was really replaced, an owner must sign in and confirm the new \
                 fingerprint",
                seen.presented_sha256
            ),
        ),
    };
    error.certificate = Some(seen);
    error
}

/// Plain http beyond loopback, not allowed for this address.
pub(crate) fn plain_http_refused(url: &Url) -> EngineError {
    EngineError::new(
        ErrorCode::PlainHttpRefused,
        format!(
            "{}: plain http would send passwords and tokens across the network unencrypted; \
             use https, or have an owner sign in allowing plain http to this server",
            origin(url)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_read_however_they_are_typed() {
        let canonical = fingerprint(b"certificate");
        assert_eq!(canonical.len(), 32 * 3 - 1);
        let typed = canonical.replace(':', " ").to_lowercase();
        assert_eq!(normalise_fingerprint(&typed).unwrap(), canonical);
        let err = normalise_fingerprint("AB:CD").unwrap_err();
        assert!(err.message.starts_with("certificate_sha256"), "{err}");
    }

    #[test]
    fn loopback_is_this_machine_only() {
        for url in [
            "http://127.0.0.1:8700",
            "http://localhost",
            "http://[::1]:1",
        ] {
            assert!(is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
        for url in [
            "http://192.168.1.20",
            "http://shop-server:8080",
            "http://a.local",
        ] {
            assert!(!is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
    }
}
