//! Cashiers on a shared till: PINs (sealed Argon2 verifiers, never the PIN), switching who
//! works the till, the manager's authorisation of what a cashier may not do alone, and the lock
//! on PIN entry after wrong tries.
//!
//! PINs come from the server: an owner or manager sets them in the back office
//! (`/api/v1/users`, field `pin`), and every till of the business mirrors each user's name and
//! role through sync (`cashiers` in `full` and `changes`), with the PIN's verifier sealed for
//! this till alone (`pos_protocol::pin`): it opens only with this device's PIN key, which lives
//! in the OS credential store, never in the SQLite file. So switching and authorising work
//! offline, while a copy of the file (or a token used without the till) gives nothing to guess
//! at. A PIN can also be set at the till (`cashier set-pin`), sealed the same way; the server's
//! PIN for the same person replaces it when it arrives. A user deactivated or deleted on the
//! server, or whose server PIN was removed, can no longer switch in (and is switched out if
//! working the till).
//!
//! Who a PIN belongs to: the PIN is checked against every person on the till, each by the PIN
//! rule of their role (so a manager's PIN shorter than 6 digits, set before that rule, no longer
//! opens anything until it is reset). Nobody is told that someone else has the same PIN when
//! setting one; if two people on the till share a PIN, switching with it is refused and says
//! so, and a manager gives one of them another.
//!
//! Wrong PINs: after [`MAX_WRONG_PINS`] wrong PINs in a row at this till (switching and
//! authorising alike, whoever types them), PIN entry is locked for [`LOCK_MINUTES`] minutes,
//! doubling with each further wrong PIN up to an hour. The count and the lock are in the
//! SQLite file, so restarting the till does not lift them; a right PIN resets the count, and a
//! manager or owner signing in online lifts the lock.
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
use chrono::{DateTime, Utc};
use pos_protocol::auth::Role;
use pos_protocol::entities::Cashier;
use pos_protocol::pin::{self, Binding, DeviceKey};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{EngineError, ErrorCode, Result};
use crate::store::{parse_time, time_text};
use crate::views::CashierView;

/// Wrong PINs in a row after which PIN entry locks.
pub const MAX_WRONG_PINS: i64 = 5;
/// How long the first lock lasts; each further wrong PIN doubles it, up to [`MAX_LOCK_MINUTES`].
pub const LOCK_MINUTES: i64 = 5;
pub const MAX_LOCK_MINUTES: i64 = 60;

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

/// What opens the verifiers sealed for this till.
pub struct TillKey<'a> {
    pub key: &'a DeviceKey,
    pub device_id: &'a str,
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

/// A PIN for a person of `role`, by the one rule of `pos_protocol::pin`.
pub fn check_pin(pin: &str, role: Role) -> Result<()> {
    pin::check(pin, role).map_err(|problem| EngineError::invalid(format!("pin: {problem}")))
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
    business_id: i64,
    pin_version: i64,
    pin_sealed: String,
}

impl Row {
    /// Whether `pin` is this person's: it fits their role's rule and matches the verifier,
    /// opened in memory only.
    fn has_pin(&self, pin: &str, till: &TillKey<'_>) -> bool {
        if pin::check(pin, self.view.role).is_err() {
            return false;
        }
        let binding = Binding {
            business_id: self.business_id,
            user_id: self.view.user_id,
            device_id: till.device_id,
            version: self.pin_version,
        };
        pin::open(till.key, &binding, &self.pin_sealed)
            .is_some_and(|verifier| pin_matches(pin, &verifier))
    }
}

fn rows(conn: &Connection) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, name, role, business_id, pin_version, pin_sealed FROM cashiers
         ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Row {
            view: CashierView {
                user_id: r.get(0)?,
                name: r.get(1)?,
                role: role_of(&r.get::<_, String>(2)?),
            },
            business_id: r.get(3)?,
            pin_version: r.get(4)?,
            pin_sealed: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn list(conn: &Connection) -> Result<Vec<CashierView>> {
    Ok(rows(conn)?.into_iter().map(|r| r.view).collect())
}

/// Everyone on this till whose PIN this is, among the roles `wanted` accepts.
pub fn with_pin(
    conn: &Connection,
    till: &TillKey<'_>,
    pin: &str,
    wanted: impl Fn(Role) -> bool,
) -> Result<Vec<CashierView>> {
    if !pin::plausible(pin) {
        return Err(EngineError::invalid(format!(
            "pin: {} to {} digits",
            pin::CASHIER_MIN_DIGITS,
            pin::MANAGER_MAX_DIGITS
        )));
    }
    Ok(rows(conn)?
        .into_iter()
        .filter(|r| wanted(r.view.role) && r.has_pin(pin, till))
        .map(|r| r.view)
        .collect())
}

fn terminal_business(tx: &Connection) -> Result<i64> {
    Ok(tx
        .query_row(
            "SELECT COALESCE(business_id, 0) FROM terminal_state WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Sets (or replaces) a person's PIN, sealed for this till. Not compared with other people's
/// PINs (see the module notes).
pub fn set_pin(
    tx: &Connection,
    till: &TillKey<'_>,
    who: &CashierView,
    pin: &str,
    now: &DateTime<Utc>,
) -> Result<CashierView> {
    check_pin(pin, who.role)?;
    let name = who.name.trim();
    if name.is_empty() {
        return Err(EngineError::invalid("name: who this PIN belongs to"));
    }
    let business_id = terminal_business(tx)?;
    let binding = Binding {
        business_id,
        user_id: who.user_id,
        device_id: till.device_id,
        version: 0,
    };
    let sealed = pin::seal(till.key, &binding, &hash_pin(pin)?);
    tx.execute(
        "INSERT INTO cashiers (user_id, name, role, pin_sealed, business_id, pin_version,
           updated_at, from_server)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, 0)
         ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, role = excluded.role,
           pin_sealed = excluded.pin_sealed, business_id = excluded.business_id,
           pin_version = 0, updated_at = excluded.updated_at, from_server = 0",
        params![
            who.user_id,
            name,
            role_text(who.role),
            sealed,
            business_id,
            time_text(now)
        ],
    )?;
    Ok(CashierView {
        user_id: who.user_id,
        name: name.to_string(),
        role: who.role,
    })
}

/// Keeps the server's view of one user (see the module notes): an active user with a PIN
/// sealed for this till is mirrored with the server's name, role and sealed verifier; without
/// one, a PIN set at this till stays under the server's name and role; a deactivated or deleted
/// user is removed.
pub fn mirror(tx: &Connection, user: &Cashier) -> Result<()> {
    if !user.is_active || user.deleted_at.is_some() {
        return forget(tx, user.id);
    }
    match &user.pin_sealed {
        Some(pin_sealed) => {
            tx.prepare_cached(
                "INSERT INTO cashiers (user_id, name, role, pin_sealed, business_id, pin_version,
                   updated_at, from_server)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)
                 ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, role = excluded.role,
                   pin_sealed = excluded.pin_sealed, business_id = excluded.business_id,
                   pin_version = excluded.pin_version, updated_at = excluded.updated_at,
                   from_server = 1",
            )?
            .execute(params![
                user.id,
                user.name,
                role_text(user.role),
                pin_sealed,
                user.business_id,
                user.version,
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

/// Refused while PIN entry is locked, saying until when and for how long.
pub fn ensure_unlocked(conn: &Connection, now: &DateTime<Utc>) -> Result<()> {
    let locked_until: Option<String> = conn
        .prepare_cached("SELECT pin_locked_until FROM terminal_state WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .flatten();
    match locked_until.as_deref().map(parse_time).transpose()? {
        Some(until) if until > *now => Err(locked(&until, now)),
        _ => Ok(()),
    }
}

fn locked(until: &DateTime<Utc>, now: &DateTime<Utc>) -> EngineError {
    let minutes = ((*until - *now).num_seconds() + 59).div_euclid(60);
    EngineError::new(
        ErrorCode::PinLocked,
        format!(
            "PIN entry is locked after {MAX_WRONG_PINS} wrong PINs: try again in {minutes} \
             minute(s), at {} UTC, or have a manager or owner sign in on this till",
            until.format("%H:%M:%S")
        ),
    )
}

/// Counts a wrong PIN and answers the error to show: how many tries are left, or, from the
/// [`MAX_WRONG_PINS`]th wrong PIN in a row, the lock and how long it lasts.
pub fn wrong_pin(tx: &Connection, now: &DateTime<Utc>, message: &str) -> Result<EngineError> {
    let failures: i64 = tx.query_row(
        "UPDATE terminal_state SET pin_failures = pin_failures + 1 WHERE id = 1
         RETURNING pin_failures",
        [],
        |r| r.get(0),
    )?;
    if failures < MAX_WRONG_PINS {
        let left = MAX_WRONG_PINS - failures;
        return Ok(EngineError::new(
            ErrorCode::WrongPin,
            format!("{message} ({left} more wrong PIN(s) lock PIN entry)"),
        ));
    }
    let doublings = u32::try_from(failures - MAX_WRONG_PINS)
        .unwrap_or(u32::MAX)
        .min(4);
    let minutes = (LOCK_MINUTES << doublings).min(MAX_LOCK_MINUTES);
    let until = *now + chrono::Duration::minutes(minutes);
    tx.execute(
        "UPDATE terminal_state SET pin_locked_until = ?1 WHERE id = 1",
        [time_text(&until)],
    )?;
    Ok(locked(&until, now))
}

/// A right PIN, or a manager's or owner's online sign-in: the count of wrong PINs starts again
/// and any lock is lifted.
pub fn reset_wrong_pins(tx: &Connection) -> Result<()> {
    tx.execute(
        "UPDATE terminal_state SET pin_failures = 0, pin_locked_until = NULL WHERE id = 1",
        [],
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
    fn the_till_applies_the_protocols_pin_rule() {
        assert!(check_pin("1234", Role::Cashier).is_ok());
        assert!(check_pin("123456", Role::Manager).is_ok());
        for (bad, role) in [
            ("1234", Role::Manager),
            ("12345", Role::Owner),
            ("12a4", Role::Cashier),
        ] {
            let refused = check_pin(bad, role).unwrap_err();
            assert_eq!(refused.code, ErrorCode::InvalidInput, "{bad}");
            assert!(refused.message.starts_with("pin:"), "{}", refused.message);
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
