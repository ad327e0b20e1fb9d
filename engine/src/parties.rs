//! Customers: the server's (mirrored) and those created at this till, and due collection.

use pos_protocol::money::fits_scale;
use pos_protocol::sync::{DueCollectionCreate, PartyData};
use pos_protocol::Decimal;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{EngineError, Result};
use crate::outbox::{enqueue, state_of, NewOperation, Stamp};
use crate::store::{dec_col, dec_text, parse_dec, time_text};
use crate::views::{DueCollectionView, NewCustomer, PartyRef, PartyView};

/// How a sale or a due collection names its party on the wire.
pub struct WireParty {
    pub party_id: Option<i64>,
    pub party_local_id: Option<String>,
    /// The party's own queued create, when the server does not know it yet.
    pub depends_on: Option<i64>,
    pub name: String,
}

/// What this till knows a party owes beyond the mirror: dues of sales and collections the
/// mirror has not caught up with yet.
fn unsettled_due(conn: &Connection, column: &str, value: i64) -> Result<Decimal> {
    let mut due = Decimal::ZERO;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT due_amount FROM sales WHERE {column} = ?1 AND stock_settled = 0"
    ))?;
    for text in stmt.query_map([value], |r| r.get::<_, String>(0))? {
        due += parse_dec(&text?)?;
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT d.amount FROM due_collections d JOIN outbox o ON o.id = d.outbox_id
         WHERE d.{column} = ?1 AND o.state NOT IN ('done', 'discarded')"
    ))?;
    for text in stmt.query_map([value], |r| r.get::<_, String>(0))? {
        due -= parse_dec(&text?)?;
    }
    Ok(due)
}

fn mirror_party(conn: &Connection, id: i64) -> Result<Option<PartyView>> {
    let found = conn
        .query_row(
            "SELECT id, name, phone, email, type, due, data FROM parties WHERE id = ?1",
            [id],
            |r| {
                let data: String = r.get(6)?;
                Ok((
                    PartyView {
                        party_ref: PartyRef::Server(r.get(0)?),
                        id: Some(r.get(0)?),
                        local_id: None,
                        name: r.get(1)?,
                        phone: r.get(2)?,
                        email: r.get(3)?,
                        address: None,
                        party_type: r.get(4)?,
                        due: dec_col(r, 5)?,
                    },
                    data,
                ))
            },
        )
        .optional()?;
    let Some((mut view, data)) = found else {
        return Ok(None);
    };
    if let Ok(party) = serde_json::from_str::<pos_protocol::entities::Party>(&data) {
        view.address = party.address;
    }
    view.due += unsettled_due(conn, "party_id", id)?;
    Ok(Some(view))
}

fn local_party(conn: &Connection, local_id: i64) -> Result<Option<PartyView>> {
    let found = conn
        .query_row(
            "SELECT local_id, server_id, name, phone, email, address, type FROM local_parties
             WHERE local_id = ?1",
            [local_id],
            |r| {
                Ok(PartyView {
                    party_ref: PartyRef::Local(r.get(0)?),
                    id: r.get(1)?,
                    local_id: Some(r.get(0)?),
                    name: r.get(2)?,
                    phone: r.get(3)?,
                    email: r.get(4)?,
                    address: r.get(5)?,
                    party_type: r.get(6)?,
                    due: Decimal::ZERO,
                })
            },
        )
        .optional()?;
    let Some(mut view) = found else {
        return Ok(None);
    };
    view.due = unsettled_due(conn, "party_local_id", local_id)?;
    if let Some(server_id) = view.id {
        if let Some(mirrored) = mirror_party(conn, server_id)? {
            view.due += mirrored.due - unsettled_due(conn, "party_id", server_id)?;
        }
    }
    Ok(Some(view))
}

pub fn party(conn: &Connection, party: PartyRef) -> Result<PartyView> {
    match party {
        PartyRef::Server(id) => mirror_party(conn, id)?,
        PartyRef::Local(n) => local_party(conn, n)?,
    }
    .ok_or_else(|| EngineError::not_found(format!("customer: no customer {party} on this till")))
}

/// Customers whose name, phone or email contains `search` (all when empty), this till's new
/// ones first.
pub fn search(conn: &Connection, search: &str, limit: u32) -> Result<Vec<PartyView>> {
    let pattern = format!("%{}%", search.trim());
    let mut out = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT local_id FROM local_parties
         WHERE (server_id IS NULL OR server_id NOT IN (SELECT id FROM parties))
           AND (name LIKE ?1 OR phone LIKE ?1 OR email LIKE ?1)
         ORDER BY local_id DESC LIMIT ?2",
    )?;
    let locals: Vec<i64> = stmt
        .query_map(params![pattern, limit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for n in locals {
        out.extend(local_party(conn, n)?);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM parties WHERE type != 'Supplier'
           AND (name LIKE ?1 OR phone LIKE ?1 OR email LIKE ?1)
         ORDER BY name COLLATE NOCASE, id LIMIT ?2",
    )?;
    let ids: Vec<i64> = stmt
        .query_map(params![pattern, limit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in ids {
        if out.len() >= limit as usize {
            break;
        }
        out.extend(mirror_party(conn, id)?);
    }
    Ok(out)
}

/// Creates a customer at the till: a local party and its queued `party` create.
pub fn create(tx: &Connection, customer: NewCustomer, stamp: Stamp) -> Result<PartyView> {
    let clean = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let name = customer.name.trim().to_string();
    if name.is_empty() {
        return Err(EngineError::invalid("name: a customer needs a name"));
    }
    if name.chars().count() > 255 {
        return Err(EngineError::invalid("name: at most 255 characters"));
    }
    let party_type = clean(customer.party_type).unwrap_or_else(|| "Customer".to_string());
    let local_key = uuid::Uuid::new_v4().to_string();
    let data = PartyData {
        local_id: Some(local_key.clone()),
        id: None,
        version: None,
        name: Some(name.clone()),
        phone: clean(customer.phone),
        email: clean(customer.email),
        address: clean(customer.address),
        party_type: Some(party_type.clone()),
    };
    let (outbox_id, _) = enqueue(
        tx,
        NewOperation {
            entity: "party",
            action: "create",
            payload: serde_json::to_value(&data)?,
            summary: format!("new customer {name}"),
            depends_on: None,
        },
        stamp,
    )?;
    tx.execute(
        "INSERT INTO local_parties (local_key, name, phone, email, address, type, outbox_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            local_key,
            name,
            data.phone,
            data.email,
            data.address,
            party_type,
            outbox_id,
            time_text(&stamp.now)
        ],
    )?;
    party(tx, PartyRef::Local(tx.last_insert_rowid()))
}

/// How to name `party` in an operation sent now.
pub fn wire_party(conn: &Connection, party_ref: PartyRef) -> Result<WireParty> {
    let view = party(conn, party_ref)?;
    match party_ref {
        PartyRef::Server(id) => Ok(WireParty {
            party_id: Some(id),
            party_local_id: None,
            depends_on: None,
            name: view.name,
        }),
        PartyRef::Local(n) => {
            let (key, server_id, outbox_id): (String, Option<i64>, i64) = conn.query_row(
                "SELECT local_key, server_id, outbox_id FROM local_parties WHERE local_id = ?1",
                [n],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            Ok(match server_id {
                Some(id) => WireParty {
                    party_id: Some(id),
                    party_local_id: None,
                    depends_on: None,
                    name: view.name,
                },
                None => WireParty {
                    party_id: None,
                    party_local_id: Some(key),
                    depends_on: Some(outbox_id),
                    name: view.name,
                },
            })
        }
    }
}

/// A due collection as the cashier enters it.
pub struct DueInput {
    pub party: PartyRef,
    pub amount: Decimal,
    pub payment_type_id: i64,
    pub note: Option<String>,
    /// The open shift it is collected in.
    pub shift: Option<crate::shifts::ShiftLink>,
}

/// Records money a customer paid against what they owe, offline.
pub fn collect_due(
    tx: &Connection,
    input: DueInput,
    minor_units: u32,
    stamp: Stamp,
) -> Result<DueCollectionView> {
    let DueInput {
        party: party_ref,
        amount,
        payment_type_id,
        note,
        shift,
    } = input;
    if amount <= Decimal::ZERO {
        return Err(EngineError::invalid("amount: must be greater than zero"));
    }
    if !fits_scale(amount, minor_units) {
        return Err(EngineError::invalid(format!(
            "amount: at most {minor_units} decimal places"
        )));
    }
    let party = wire_party(tx, party_ref)?;
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    let client_reference = uuid::Uuid::new_v4().to_string();
    let (shift_id, shift_local_id) = crate::shifts::wire_ids(shift.as_ref());
    let data = DueCollectionCreate {
        local_id: Some(client_reference.clone()),
        client_reference: Some(client_reference.clone()),
        party_id: party.party_id,
        party_local_id: party.party_local_id.clone(),
        sale_id: None,
        sale_local_id: None,
        amount,
        payment_type_id: Some(payment_type_id),
        note: note.clone(),
        shift_id,
        shift_local_id,
    };
    let (outbox_id, _) = enqueue(
        tx,
        NewOperation {
            entity: "due_collection",
            action: "create",
            payload: serde_json::to_value(&data)?,
            summary: format!("due collected from {}: {}", party.name, amount.normalize()),
            depends_on: party.depends_on,
        },
        stamp,
    )?;
    let (party_id, party_local_id) = match party_ref {
        PartyRef::Server(id) => (Some(id), None),
        PartyRef::Local(n) => (None, Some(n)),
    };
    tx.execute(
        "INSERT INTO due_collections (client_reference, party_id, party_local_id, party_name, amount,
           payment_type_id, note, outbox_id, collected_at, shift_local_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            client_reference,
            party_id,
            party_local_id,
            party.name,
            dec_text(amount),
            payment_type_id,
            note,
            outbox_id,
            time_text(&stamp.now),
            shift.as_ref().map(|s| s.local_id)
        ],
    )?;
    let local_id = tx.last_insert_rowid();
    let state: String =
        tx.query_row("SELECT state FROM outbox WHERE id = ?1", [outbox_id], |r| {
            r.get(0)
        })?;
    Ok(DueCollectionView {
        local_id,
        client_reference,
        party: party_ref,
        party_name: party.name,
        amount,
        payment_type_id,
        note,
        collected_at: stamp.now,
        sync_state: state_of(&state),
    })
}
