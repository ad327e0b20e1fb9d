//! Cashiers on a shared till: PINs (Argon2 hashes, never the PIN), switching who works the till,
//! and the manager's authorisation of what a cashier may not do alone.
//!
//! PINs come from the server: an owner or manager sets them in the back office
//! (`/api/v1/users`, field `pin`), and every till of the business mirrors each user's name, role
//! and PIN hash through sync (`cashiers` in `full` and `changes`), so switching and authorising
//! work offline. A PIN can also be set at the till (`cashier set-pin`); the server's PIN for the
//! same person replaces it when it arrives. A user deactivated or deleted on the server, or whose
//! server PIN was removed, can no longer switch in (and is switched out if working the till).
//!
//! The rule: when the person working the till is a cashier, a return, a pay-out, a no-sale
//! drawer opening and a discount above the business's `max_cashier_discount_percent` need a
//! manager's (or owner's) PIN first. The manager who authorised is recorded with the operation
//! (`authorised_by`); a manager or owner working the till authorises their own. A till that
//! knows no manager PIN at all refuses these to a cashier too (`manager_required`, saying that
//! no manager PIN is known yet): the spec makes them a manager's decision, and a till that let
//! everything through until someone set a PIN would be the weakest till of the shop.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use pos_protocol::auth::Role;
use pos_protocol::entities::Cashier;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{EngineError, ErrorCode, Result};
use crate::store::time_text;
use crate::views::CashierView;

/// Who works the till: the one switched in by PIN, else the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

/// A manager's PIN given for the next guarded operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub manager_id: i64,
    pub manager_name: String,
}

fn role_text(role: Role) -> &'static str {
    role.as_str()
}

fn role_of(text: &str) -> Role {
    match text {
        "owner" => Role::Owner,
        "manager" => Role::Manager,
        _ => Role::Cashier,
    }
}

pub fn is_manager(role: Role) -> bool {
    matches!(role, Role::Manager | Role::Owner)
}

/// 4 to 6 digits.
pub fn check_pin(pin: &str) -> Result<()> {
    if (4..=6).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(EngineError::invalid("pin: 4 to 6 digits"))
    }
}

fn hash_pin(pin: &str) -> Result<String> {
    Argon2::default()
        .hash_password(pin.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|hash| hash.to_string())
        .map_err(|e| EngineError::internal(format!("PIN hash: {e}")))
}

fn pin_matches(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

struct Row {
    view: CashierView,
    pin_hash: String,
}

fn rows(conn: &Connection) -> Result<Vec<Row>> {
    let mut stmt =
        conn.prepare_cached("SELECT user_id, name, role, pin_hash FROM cashiers ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok(Row {
            view: CashierView {
                user_id: r.get(0)?,
                name: r.get(1)?,
                role: role_of(&r.get::<_, String>(2)?),
            },
            pin_hash: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn list(conn: &Connection) -> Result<Vec<CashierView>> {
    Ok(rows(conn)?.into_iter().map(|r| r.view).collect())
}

/// The cashier whose PIN this is (PINs are unique on a till).
pub fn find_by_pin(conn: &Connection, pin: &str) -> Result<Option<CashierView>> {
    check_pin(pin)?;
    Ok(rows(conn)?
        .into_iter()
        .find(|r| pin_matches(pin, &r.pin_hash))
        .map(|r| r.view))
}

/// Sets (or replaces) a person's PIN. Refused when another person already has the same PIN,
/// since a PIN alone says who is switching in.
pub fn set_pin(
    tx: &Connection,
    who: &CashierView,
    pin: &str,
    now: &chrono::DateTime<chrono::Utc>,
) -> Result<CashierView> {
    check_pin(pin)?;
    let name = who.name.trim();
    if name.is_empty() {
        return Err(EngineError::invalid("name: who this PIN belongs to"));
    }
    if rows(tx)?
        .iter()
        .any(|r| r.view.user_id != who.user_id && pin_matches(pin, &r.pin_hash))
    {
        return Err(EngineError::invalid(
            "pin: another person on this till has it; choose another",
        ));
    }
    tx.execute(
        "INSERT INTO cashiers (user_id, name, role, pin_hash, updated_at, from_server)
         VALUES (?1, ?2, ?3, ?4, ?5, 0)
         ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, role = excluded.role,
           pin_hash = excluded.pin_hash, updated_at = excluded.updated_at, from_server = 0",
        params![
            who.user_id,
            name,
            role_text(who.role),
            hash_pin(pin)?,
            time_text(now)
        ],
    )?;
    Ok(CashierView {
        user_id: who.user_id,
        name: name.to_string(),
        role: who.role,
    })
}

/// Keeps the server's view of one user (see the module notes): an active user with a PIN is
/// mirrored with the server's name, role and PIN hash; without a PIN on the server, a PIN set at
/// this till stays under the server's name and role; a deactivated or deleted user is removed.
pub fn mirror(tx: &Connection, user: &Cashier) -> Result<()> {
    if !user.is_active || user.deleted_at.is_some() {
        return forget(tx, user.id);
    }
    match &user.pin_hash {
        Some(pin_hash) => {
            tx.prepare_cached(
                "INSERT INTO cashiers (user_id, name, role, pin_hash, updated_at, from_server)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1)
                 ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, role = excluded.role,
                   pin_hash = excluded.pin_hash, updated_at = excluded.updated_at,
                   from_server = 1",
            )?
            .execute(params![
                user.id,
                user.name,
                role_text(user.role),
                pin_hash,
                time_text(&user.updated_at)
            ])?;
        }
        None => {
            let from_server: Option<bool> = tx
                .query_row(
                    "SELECT from_server FROM cashiers WHERE user_id = ?1",
                    [user.id],
                    |r| r.get(0),
                )
                .optional()?;
            match from_server {
                // The server's PIN was removed.
                Some(true) => forget(tx, user.id)?,
                Some(false) => {
                    tx.execute(
                        "UPDATE cashiers SET name = ?2, role = ?3 WHERE user_id = ?1",
                        params![user.id, user.name, role_text(user.role)],
                    )?;
                }
                None => {}
            }
        }
    }
    Ok(())
}

/// Removes a person's PIN from this till; switched out first if they work it now.
pub fn forget(tx: &Connection, user_id: i64) -> Result<()> {
    tx.execute(
        "UPDATE terminal_state SET active_cashier_id = NULL
         WHERE id = 1 AND active_cashier_id = ?1",
        [user_id],
    )?;
    tx.execute("DELETE FROM cashiers WHERE user_id = ?1", [user_id])?;
    Ok(())
}

/// Removes every PIN mirrored from the server (before a full download brings them again).
pub fn forget_mirrored(tx: &Connection) -> Result<()> {
    tx.execute(
        "UPDATE terminal_state SET active_cashier_id = NULL WHERE id = 1
           AND active_cashier_id IN (SELECT user_id FROM cashiers WHERE from_server = 1)",
        [],
    )?;
    tx.execute("DELETE FROM cashiers WHERE from_server = 1", [])?;
    Ok(())
}

/// The person switched in by PIN, if any.
pub fn switched_in(conn: &Connection) -> Result<Option<CashierView>> {
    Ok(conn
        .prepare_cached(
            "SELECT c.user_id, c.name, c.role FROM terminal_state t
             JOIN cashiers c ON c.user_id = t.active_cashier_id WHERE t.id = 1",
        )?
        .query_row([], |r| {
            Ok(CashierView {
                user_id: r.get(0)?,
                name: r.get(1)?,
                role: role_of(&r.get::<_, String>(2)?),
            })
        })
        .optional()?)
}

/// Who works the till from now on (None: the signed-in user again).
pub fn switch_to(tx: &Connection, user_id: Option<i64>) -> Result<()> {
    tx.execute(
        "UPDATE terminal_state SET active_cashier_id = ?1 WHERE id = 1",
        [user_id],
    )?;
    Ok(())
}

fn any_manager_pin(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM cashiers WHERE role IN ('manager', 'owner'))",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Who authorises `what` for `acting`: the acting manager themself or the manager whose PIN was
/// given. Otherwise refused with `manager_required`, also when this till knows no manager PIN
/// at all (see the module notes).
pub fn authorise(
    conn: &Connection,
    acting: &Acting,
    approval: Option<&Approval>,
    what: &str,
) -> Result<i64> {
    if is_manager(acting.role) {
        return Ok(acting.id);
    }
    if let Some(approval) = approval {
        return Ok(approval.manager_id);
    }
    if !any_manager_pin(conn)? {
        return Err(EngineError::new(
            ErrorCode::ManagerRequired,
            format!(
                "{what} needs a manager's PIN, and no manager or owner has a PIN on this till \
                 yet: set one in the back office (Users) and sync, or have a manager sign in"
            ),
        ));
    }
    Err(EngineError::new(
        ErrorCode::ManagerRequired,
        format!("{what} needs a manager's PIN"),
    ))
}

/// The server holds synced sales to the same rule.
pub use pos_protocol::totals::discount_over_limit;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_four_to_six_digits() {
        for good in ["1234", "12345", "000000"] {
            assert!(check_pin(good).is_ok(), "{good}");
        }
        for bad in ["123", "1234567", "12a4", " 1234", ""] {
            assert_eq!(
                check_pin(bad).unwrap_err().code,
                ErrorCode::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_hash_matches_its_pin_only_and_never_holds_it() {
        let hash = hash_pin("4821").unwrap();
        assert!(!hash.contains("4821"));
        assert!(hash.starts_with("$argon2"));
        assert!(pin_matches("4821", &hash));
        assert!(!pin_matches("4820", &hash));
        assert!(!pin_matches("4821", "not a hash"));
    }

    #[test]
    fn the_discount_limit_is_a_percentage_of_the_gross() {
        let d = |t: &str| t.parse::<pos_protocol::Decimal>().unwrap();
        assert_eq!(discount_over_limit(None, d("50"), d("100")), None);
        assert_eq!(discount_over_limit(Some(d("10")), d("10"), d("100")), None);
        assert_eq!(
            discount_over_limit(Some(d("10")), d("10.01"), d("100")),
            Some(d("10"))
        );
        assert_eq!(discount_over_limit(Some(d("0")), d("0"), d("100")), None);
    }
}
