//! Staff PINs: the one rule for what a PIN may be, and the sealing of a PIN's verifier for
//! one till.
//!
//! A PIN is short, so its Argon2 verifier falls to an offline guess. Verifiers therefore never
//! travel or rest in the open: the server seals each one for the asking till with that till's
//! device key (XChaCha20-Poly1305, a random 192-bit nonce per seal), and the till keeps only
//! the sealed text and opens it in memory to check a PIN. The associated data binds a sealed
//! verifier to its business, person, till and the person's record version, so it cannot be
//! moved to another person, till or an older record.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use crate::auth::Role;

/// Fewest digits of a cashier's PIN.
pub const CASHIER_MIN_DIGITS: usize = 4;
/// Most digits of a cashier's PIN.
pub const CASHIER_MAX_DIGITS: usize = 6;
/// Fewest digits of a manager's or owner's PIN: their PIN authorises money leaving the drawer.
pub const MANAGER_MIN_DIGITS: usize = 6;
/// Most digits of a manager's or owner's PIN.
pub const MANAGER_MAX_DIGITS: usize = 12;

/// How many digits a PIN of this role has (inclusive bounds).
pub fn digits_for(role: Role) -> (usize, usize) {
    match role {
        Role::Cashier => (CASHIER_MIN_DIGITS, CASHIER_MAX_DIGITS),
        Role::Manager | Role::Owner => (MANAGER_MIN_DIGITS, MANAGER_MAX_DIGITS),
    }
}

/// Whether `pin` is a valid PIN for a person of `role`; the error says what is allowed.
pub fn check(pin: &str, role: Role) -> Result<(), String> {
    let (min, max) = digits_for(role);
    if (min..=max).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else if role == Role::Cashier {
        Err(format!("must be {min} to {max} digits"))
    } else {
        Err(format!(
            "must be {min} to {max} digits for a manager or owner"
        ))
    }
}

/// Whether `pin` could be anybody's PIN at all (digits, within the widest bounds).
pub fn plausible(pin: &str) -> bool {
    (CASHIER_MIN_DIGITS..=MANAGER_MAX_DIGITS).contains(&pin.len())
        && pin.bytes().all(|b| b.is_ascii_digit())
}

/// A till's 256-bit key for opening PIN verifiers sealed for it.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceKey([u8; 32]);

impl DeviceKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> DeviceKey {
        let mut key = [0u8; 32];
        key.copy_from_slice(&XChaCha20Poly1305::generate_key(&mut OsRng));
        DeviceKey(key)
    }

    /// The key as text (standard base64), for the credential store and registration.
    pub fn to_text(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// A key from its text; None when it is not base64 of exactly 32 bytes.
    pub fn from_text(text: &str) -> Option<DeviceKey> {
        let bytes = STANDARD.decode(text.trim()).ok()?;
        Some(DeviceKey(bytes.try_into().ok()?))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(&self.0))
    }
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(<redacted>)")
    }
}

/// What a sealed verifier belongs to; any difference makes it fail to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    pub business_id: i64,
    pub user_id: i64,
    pub device_id: &'a str,
    /// The person's record version the verifier was sealed with.
    pub version: i64,
}

impl Binding<'_> {
    fn associated_data(&self) -> Vec<u8> {
        format!(
            "pos-pin-verifier/1\0{}\0{}\0{}\0{}",
            self.business_id, self.user_id, self.device_id, self.version
        )
        .into_bytes()
    }
}

const NONCE_LEN: usize = 24;

/// Seals a PIN verifier for one till: base64 of nonce and ciphertext.
pub fn seal(key: &DeviceKey, binding: &Binding<'_>, verifier: &str) -> String {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let aad = binding.associated_data();
    let sealed = key
        .cipher()
        .encrypt(
            &nonce,
            Payload {
                msg: verifier.as_bytes(),
                aad: &aad,
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any message of a PIN verifier's size");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    STANDARD.encode(out)
}

/// Opens a verifier sealed by [`seal`]; None when the key, the binding or the text differ.
pub fn open(key: &DeviceKey, binding: &Binding<'_>, sealed: &str) -> Option<String> {
    let bytes = STANDARD.decode(sealed).ok()?;
    if bytes.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let aad = binding.associated_data();
    let plain = key
        .cipher()
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .ok()?;
    String::from_utf8(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cashiers_keep_four_to_six_digits_and_managers_need_six_or_more() {
        for good in ["1234", "12345", "000000"] {
            assert!(check(good, Role::Cashier).is_ok(), "{good}");
        }
        for bad in ["123", "1234567", "12a4", " 1234", ""] {
            assert!(check(bad, Role::Cashier).is_err(), "{bad}");
        }
        for role in [Role::Manager, Role::Owner] {
            for good in ["123456", "123456789012"] {
                assert!(check(good, role).is_ok(), "{good}");
            }
            for bad in ["1234", "12345", "1234567890123", "12345a"] {
                let problem = check(bad, role).unwrap_err();
                assert!(problem.contains("6 to 12"), "{bad}: {problem}");
            }
        }
    }

    #[test]
    fn a_sealed_verifier_opens_only_with_its_key_and_binding() {
        let key = DeviceKey::generate();
        let binding = Binding {
            business_id: 1,
            user_id: 7,
            device_id: "till-1",
            version: 3,
        };
        let sealed = seal(&key, &binding, "$argon2id$v=19$...");
        assert!(!sealed.contains("argon2"));
        assert_eq!(
            open(&key, &binding, &sealed).as_deref(),
            Some("$argon2id$v=19$...")
        );
        assert_ne!(seal(&key, &binding, "x"), seal(&key, &binding, "x"));
        assert_eq!(open(&DeviceKey::generate(), &binding, &sealed), None);
        for other in [
            Binding {
                business_id: 2,
                ..binding
            },
            Binding {
                user_id: 8,
                ..binding
            },
            Binding {
                device_id: "till-2",
                ..binding
            },
            Binding {
                version: 2,
                ..binding
            },
        ] {
            assert_eq!(open(&key, &other, &sealed), None, "{other:?}");
        }
        assert_eq!(open(&key, &binding, "not sealed"), None);
        let text = key.to_text();
        assert_eq!(DeviceKey::from_text(&text), Some(key));
        assert_eq!(DeviceKey::from_text("c2hvcnQ="), None);
    }
}
