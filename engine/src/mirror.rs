//! Applying the server's catalog, parties and settings to the local mirror.
//!
//! The same functions apply a `full` page and a `changes` answer, each inside the caller's one
//! transaction. A record carrying `deleted_at` (or listed in `deleted`) leaves the mirror; an
//! older version never overwrites a newer one.

use pos_protocol::entities::{
    Brand, Cashier, Category, Party, PaymentType, Product, Settings, Stock, Unit, Vat, Warehouse,
};
use pos_protocol::sync::{ChangeSet, ChangesData, FullData};
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::Mutex;

use crate::error::Result;
use crate::store::{dec_text, to_milli};

/// The mirror tables, in the order the protocol lists the entities.
const TABLES: [&str; 9] = [
    "categories",
    "brands",
    "units",
    "vats",
    "payment_types",
    "warehouses",
    "products",
    "stocks",
    "parties",
];

/// Empties the mirror tables a full download is about to fill (its first page does this in the
/// same transaction, so a rerun full download never leaves stale rows behind).
pub fn clear_for_full(tx: &Connection, data: &FullData) -> Result<()> {
    let present = [
        data.categories.is_some(),
        data.brands.is_some(),
        data.units.is_some(),
        data.vats.is_some(),
        data.payment_types.is_some(),
        data.warehouses.is_some(),
        data.products.is_some(),
        data.stocks.is_some(),
        data.parties.is_some(),
    ];
    for (table, present) in TABLES.iter().zip(present) {
        if present {
            tx.execute(&format!("DELETE FROM {table}"), [])?;
        }
    }
    if data.cashiers.is_some() {
        // PINs set at this till stay; the server's come again with the download.
        crate::cashiers::forget_mirrored(tx)?;
    }
    Ok(())
}

/// Page cache of the writer while a full download runs (KiB, as `PRAGMA cache_size` takes a
/// negative size): the product table, its indexes and the name index outgrow the default 2 MiB.
const FULL_DOWNLOAD_CACHE_KIB: i64 = 65_536;
/// SQLite's default page cache, given back when the download ends.
const DEFAULT_CACHE_KIB: i64 = 2_000;

/// Before a full-download page with products: the name index stops following row by row (see
/// migration 0008) and the writer gets a larger page cache.
pub fn begin_full_page(tx: &Connection, data: &FullData) -> Result<()> {
    tx.pragma_update(None, "cache_size", -FULL_DOWNLOAD_CACHE_KIB)?;
    if data.products.is_some() {
        tx.prepare_cached("UPDATE terminal_state SET name_index_stale = 1 WHERE id = 1")?
            .execute([])?;
    }
    Ok(())
}

/// After the last full-download page: the name index is rebuilt once, if a page left it behind.
pub fn end_full_download(tx: &Connection) -> Result<()> {
    rebuild_name_index_if_stale(tx)?;
    tx.pragma_update(None, "cache_size", -DEFAULT_CACHE_KIB)?;
    Ok(())
}

/// Rebuilds the name index from the products when a full download left it behind (also after a
/// download cut short by a crash); clears the flag in the same transaction.
pub fn rebuild_name_index_if_stale(tx: &Connection) -> Result<()> {
    if name_index_stale(tx)? {
        tx.execute(
            "INSERT INTO products_fts (products_fts) VALUES ('rebuild')",
            [],
        )?;
        tx.execute(
            "UPDATE terminal_state SET name_index_stale = 0 WHERE id = 1",
            [],
        )?;
        tracing::info!("product name index rebuilt");
    }
    Ok(())
}

/// Whether a full download left the name index behind (migration 0008).
pub fn name_index_stale(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT name_index_stale FROM terminal_state WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// Applies one page of a full download; returns how many records it held.
pub fn apply_full_data(tx: &Connection, data: &FullData) -> Result<u64> {
    let mut count = 0u64;
    macro_rules! each {
        ($field:ident, $apply:ident) => {
            if let Some(rows) = &data.$field {
                for row in rows {
                    $apply(tx, row)?;
                }
                count += rows.len() as u64;
            }
        };
    }
    each!(categories, put_category);
    each!(brands, put_brand);
    each!(units, put_unit);
    each!(vats, put_vat);
    each!(payment_types, put_payment_type);
    each!(warehouses, put_warehouse);
    each!(products, put_product);
    each!(stocks, put_stock);
    each!(parties, put_party);
    each!(cashiers, put_cashier);
    if let Some(settings) = &data.settings {
        put_settings(tx, settings)?;
        count += 1;
    }
    Ok(count)
}

/// Applies one `changes` answer; returns how many records it held.
pub fn apply_changes(tx: &Connection, data: &ChangesData) -> Result<u64> {
    let mut count = 0u64;
    macro_rules! each {
        ($field:ident, $table:literal, $apply:ident) => {
            if let Some(set) = &data.$field {
                count += apply_set(tx, $table, set, $apply)?;
            }
        };
    }
    each!(categories, "categories", put_category);
    each!(brands, "brands", put_brand);
    each!(units, "units", put_unit);
    each!(vats, "vats", put_vat);
    each!(payment_types, "payment_types", put_payment_type);
    each!(warehouses, "warehouses", put_warehouse);
    each!(products, "products", put_product);
    each!(stocks, "stocks", put_stock);
    each!(parties, "parties", put_party);
    if let Some(set) = &data.cashiers {
        for row in set.created.iter().chain(&set.updated) {
            put_cashier(tx, row)?;
        }
        for id in &set.deleted {
            crate::cashiers::forget(tx, *id)?;
        }
        count += set.len() as u64;
    }
    if let Some(settings) = &data.settings {
        put_settings(tx, settings)?;
        count += 1;
    }
    Ok(count)
}

fn apply_set<T>(
    tx: &Connection,
    table: &str,
    set: &ChangeSet<T>,
    put: fn(&Connection, &T) -> Result<()>,
) -> Result<u64> {
    for row in set.created.iter().chain(&set.updated) {
        put(tx, row)?;
    }
    for id in &set.deleted {
        tx.execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])?;
    }
    Ok(set.len() as u64)
}

pub fn load_settings(conn: &Connection) -> Result<Option<Settings>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT data FROM settings WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    let Some(text) = text else {
        return Ok(None);
    };
    let mut memo = PARSED_SETTINGS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((seen, parsed)) = memo.as_ref() {
        if *seen == text {
            return Ok(Some(parsed.clone()));
        }
    }
    let parsed: Settings = serde_json::from_str(&text)?;
    *memo = Some((text, parsed.clone()));
    Ok(Some(parsed))
}

/// The settings last parsed, beside the stored text they came from. Every scan, search, cart
/// change and sale needs them, yet they change only when the mirror applies new ones: the
/// stored text is still read each time (one compiled statement), so new settings are seen at
/// once, and only a text not seen last time is parsed again.
static PARSED_SETTINGS: Mutex<Option<(String, Settings)>> = Mutex::new(None);

fn put_cashier(tx: &Connection, cashier: &Cashier) -> Result<()> {
    crate::cashiers::mirror(tx, cashier)
}

fn put_settings(tx: &Connection, settings: &Settings) -> Result<()> {
    tx.execute(
        "INSERT INTO settings (id, data) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET data = excluded.data",
        [serde_json::to_string(settings)?],
    )?;
    Ok(())
}

/// Deletes `id` from `table` when the record is a tombstone; says whether it was.
fn removed(tx: &Connection, table: &str, id: i64, deleted: bool) -> Result<bool> {
    if deleted {
        tx.execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])?;
    }
    Ok(deleted)
}

fn put_category(tx: &Connection, c: &Category) -> Result<()> {
    if removed(tx, "categories", c.id, c.deleted_at.is_some())? {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO categories (id, name, icon, status, version, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, icon = excluded.icon,
           status = excluded.status, version = excluded.version, data = excluded.data
         WHERE excluded.version >= categories.version",
    )?
    .execute(params![c.id, c.category_name, c.icon, c.status, c.version, serde_json::to_string(c)?],
    )?;
    Ok(())
}

fn put_brand(tx: &Connection, b: &Brand) -> Result<()> {
    if removed(tx, "brands", b.id, b.deleted_at.is_some())? {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO brands (id, name, version, data) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, version = excluded.version,
           data = excluded.data
         WHERE excluded.version >= brands.version",
    )?
    .execute(params![
        b.id,
        b.brand_name,
        b.version,
        serde_json::to_string(b)?
    ])?;
    Ok(())
}

fn put_unit(tx: &Connection, u: &Unit) -> Result<()> {
    if removed(tx, "units", u.id, u.deleted_at.is_some())? {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO units (id, name, version, data) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, version = excluded.version,
           data = excluded.data
         WHERE excluded.version >= units.version",
    )?
    .execute(params![
        u.id,
        u.unit_name,
        u.version,
        serde_json::to_string(u)?
    ])?;
    Ok(())
}

fn put_vat(tx: &Connection, v: &Vat) -> Result<()> {
    if removed(tx, "vats", v.id, v.deleted_at.is_some())? {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO vats (id, name, rate, active, version, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, rate = excluded.rate,
           active = excluded.active, version = excluded.version, data = excluded.data
         WHERE excluded.version >= vats.version",
    )?
    .execute(params![
        v.id,
        v.name,
        dec_text(v.rate),
        v.status,
        v.version,
        serde_json::to_string(v)?
    ])?;
    Ok(())
}

fn put_payment_type(tx: &Connection, p: &PaymentType) -> Result<()> {
    if removed(tx, "payment_types", p.id, p.deleted_at.is_some())? {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO payment_types (id, name, is_credit, status, version, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, is_credit = excluded.is_credit,
           status = excluded.status, version = excluded.version, data = excluded.data
         WHERE excluded.version >= payment_types.version",
    )?
    .execute(params![
        p.id,
        p.name,
        p.is_credit,
        p.status,
        p.version,
        serde_json::to_string(p)?
    ])?;
    Ok(())
}

fn put_warehouse(tx: &Connection, w: &Warehouse) -> Result<()> {
    if removed(tx, "warehouses", w.id, w.deleted_at.is_some())? {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO warehouses (id, name, version, data) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, version = excluded.version,
           data = excluded.data
         WHERE excluded.version >= warehouses.version",
    )?
    .execute(params![w.id, w.name, w.version, serde_json::to_string(w)?])?;
    Ok(())
}

fn put_product(tx: &Connection, p: &Product) -> Result<()> {
    if removed(tx, "products", p.id, p.deleted_at.is_some())? {
        return Ok(());
    }
    let blank_is_none = |s: &Option<String>| s.as_ref().filter(|s| !s.trim().is_empty()).cloned();
    tx.prepare_cached(
        "INSERT INTO products (id, name, code, barcode, category_id, vat_id, sale_price, version, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, code = excluded.code,
           barcode = excluded.barcode, category_id = excluded.category_id,
           vat_id = excluded.vat_id, sale_price = excluded.sale_price,
           version = excluded.version, data = excluded.data
         WHERE excluded.version >= products.version",
    )?
    .execute(params![
            p.id,
            p.product_name,
            blank_is_none(&p.product_code),
            blank_is_none(&p.barcode),
            p.category_id,
            p.vat_id,
            dec_text(p.product_sale_price),
            p.version,
            serde_json::to_string(p)?
        ],
    )?;
    Ok(())
}

fn put_stock(tx: &Connection, s: &Stock) -> Result<()> {
    if removed(tx, "stocks", s.id, s.deleted_at.is_some())? {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO stocks (id, product_id, warehouse_id, quantity_milli, sale_price, version, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET product_id = excluded.product_id,
           warehouse_id = excluded.warehouse_id, quantity_milli = excluded.quantity_milli,
           sale_price = excluded.sale_price, version = excluded.version, data = excluded.data
         WHERE excluded.version >= stocks.version",
    )?
    .execute(params![
            s.id,
            s.product_id,
            s.warehouse_id,
            to_milli(s.product_stock),
            dec_text(s.product_sale_price),
            s.version,
            serde_json::to_string(s)?
        ],
    )?;
    Ok(())
}

fn put_party(tx: &Connection, p: &Party) -> Result<()> {
    if removed(tx, "parties", p.id, p.deleted_at.is_some())? {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO parties (id, name, phone, email, type, due, version, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone,
           email = excluded.email, type = excluded.type, due = excluded.due,
           version = excluded.version, data = excluded.data
         WHERE excluded.version >= parties.version",
    )?
    .execute(params![
        p.id,
        p.name,
        p.phone,
        p.email,
        p.party_type,
        dec_text(p.due),
        p.version,
        serde_json::to_string(p)?
    ])?;
    Ok(())
}
