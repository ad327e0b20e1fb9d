//! The statements of the generic catalog queries, built from a `ResourceSpec`. The SQL is the
//! same on both databases apart from how parameters are written, so it is built once here.

use crate::resources::spec::ResourceSpec;

#[derive(Debug, Clone, Copy)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// The n-th (1-based) bound parameter.
    pub fn param(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite => format!("?{n}"),
        }
    }
}

pub const COMMON_COLUMNS: &str = "id, business_id, version, created_at, updated_at, deleted_at";

pub fn columns(spec: &ResourceSpec) -> String {
    let mut out = COMMON_COLUMNS.to_string();
    for field in spec.fields {
        out.push_str(", ");
        out.push_str(field.column);
    }
    out
}

pub fn list(d: Dialect, spec: &ResourceSpec) -> String {
    format!(
        "SELECT {} FROM {} WHERE business_id = {} AND deleted_at IS NULL ORDER BY id LIMIT {} OFFSET {}",
        columns(spec),
        spec.table,
        d.param(1),
        d.param(2),
        d.param(3)
    )
}

pub fn count(d: Dialect, spec: &ResourceSpec) -> String {
    format!(
        "SELECT COUNT(*) FROM {} WHERE business_id = {} AND deleted_at IS NULL",
        spec.table,
        d.param(1)
    )
}

pub fn get(d: Dialect, spec: &ResourceSpec) -> String {
    format!(
        "SELECT {} FROM {} WHERE business_id = {} AND id = {}",
        columns(spec),
        spec.table,
        d.param(1),
        d.param(2)
    )
}

/// `columns` come from the spec (never from a client), so they are safe to splice in.
pub fn find(d: Dialect, spec: &ResourceSpec, lookup: &[&str]) -> String {
    let matches = lookup
        .iter()
        .map(|c| format!("{c} = {}", d.param(2)))
        .collect::<Vec<_>>()
        .join(" OR ");
    let order = lookup
        .iter()
        .map(|c| format!("CASE WHEN {c} = {} THEN 0 ELSE 1 END", d.param(2)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {} FROM {} WHERE business_id = {} AND deleted_at IS NULL AND ({matches}) ORDER BY {order}, id LIMIT 1",
        columns(spec),
        spec.table,
        d.param(1)
    )
}

/// Parameters: 1 business, 2 now, then one per column of `set`.
pub fn insert(d: Dialect, spec: &ResourceSpec, set: &[&str]) -> String {
    let mut names = vec!["business_id", "version", "created_at", "updated_at"];
    let mut values = vec![d.param(1), "1".to_string(), d.param(2), d.param(2)];
    for (i, column) in set.iter().enumerate() {
        names.push(column);
        values.push(d.param(i + 3));
    }
    format!(
        "INSERT INTO {} ({}) VALUES ({}) RETURNING {}",
        spec.table,
        names.join(", "),
        values.join(", "),
        columns(spec)
    )
}

/// Parameters: 1 business, 2 id, 3 now, 4 expected version (when checked), then one per
/// column of `set`.
pub fn update(d: Dialect, spec: &ResourceSpec, set: &[&str], check_version: bool) -> String {
    let mut assignments = vec![
        "version = version + 1".to_string(),
        format!("updated_at = {}", d.param(3)),
    ];
    for (i, column) in set.iter().enumerate() {
        assignments.push(format!("{column} = {}", d.param(i + 5)));
    }
    format!(
        "UPDATE {} SET {} WHERE business_id = {} AND id = {} AND deleted_at IS NULL{} RETURNING {}",
        spec.table,
        assignments.join(", "),
        d.param(1),
        d.param(2),
        version_check(d, check_version),
        columns(spec)
    )
}

/// Parameters: 1 business, 2 id, 3 now, 4 expected version (when checked).
pub fn soft_delete(d: Dialect, spec: &ResourceSpec, check_version: bool) -> String {
    format!(
        "UPDATE {} SET deleted_at = {now}, updated_at = {now}, version = version + 1 \
         WHERE business_id = {} AND id = {} AND deleted_at IS NULL{} RETURNING {}",
        spec.table,
        d.param(1),
        d.param(2),
        version_check(d, check_version),
        columns(spec),
        now = d.param(3),
    )
}

fn version_check(d: Dialect, check: bool) -> String {
    if check {
        format!(" AND version = {}", d.param(4))
    } else {
        // Keeps parameter 4 bound in both shapes of the statement.
        format!(" AND {} IS NULL", d.param(4))
    }
}

/// Parameters: 1 business, 2.. the ids.
pub fn live_ids(d: Dialect, table: &str, count: usize) -> String {
    let list = (0..count)
        .map(|i| d.param(i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT id FROM {table} WHERE business_id = {} AND deleted_at IS NULL AND id IN ({list})",
        d.param(1)
    )
}

/// Parameters: 1 business, 2.. the product ids.
pub fn stock_quantities(d: Dialect, count: usize) -> String {
    let list = (0..count)
        .map(|i| d.param(i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT product_id, product_stock FROM stocks WHERE business_id = {} AND deleted_at IS NULL AND product_id IN ({list})",
        d.param(1)
    )
}

/// Parameters: 1 business, 2 after id, 3 limit.
pub fn live_after(d: Dialect, spec: &ResourceSpec) -> String {
    format!(
        "SELECT {} FROM {} WHERE business_id = {} AND deleted_at IS NULL AND id > {} ORDER BY id LIMIT {}",
        columns(spec),
        spec.table,
        d.param(1),
        d.param(2),
        d.param(3)
    )
}

/// Rows stamped after a cursor, in stamp order, with their stamp as `cursor_txid` and
/// `change_seq`. Parameters: 1 business, 2 cursor txid, 3 cursor seq, 4 snapshot xmin
/// (PostgreSQL only; SQLite leaves 2 and 4 unused), 5 changed at or after (a row written in
/// the same millisecond as an old client's last sync is sent again rather than missed) (or null), 6 limit. `scope` is the business column.
pub fn changed_after(d: Dialect, table: &str, select: &str, scope: &str) -> String {
    match d {
        // Only transactions below the snapshot's xmin have all finished: a change still in
        // flight has a larger txid and is left for a later pull.
        Dialect::Postgres => format!(
            "SELECT {select}, change_seq, (change_txid::text)::bigint AS cursor_txid FROM {table} \
             WHERE {scope} = $1 AND (change_txid, change_seq) > (($2::bigint)::text::xid8, $3) \
             AND change_txid < ($4::bigint)::text::xid8 \
             AND ($5::timestamptz IS NULL OR updated_at >= $5) \
             ORDER BY change_txid, change_seq LIMIT $6"
        ),
        // One writer at a time: stamps follow commit order, so the sequence alone is safe.
        Dialect::Sqlite => format!(
            "SELECT {select}, change_seq, 0 AS cursor_txid FROM {table} \
             WHERE {scope} = ?1 AND change_seq > ?3 \
             AND (?5 IS NULL OR updated_at >= ?5) \
             ORDER BY change_seq LIMIT ?6"
        ),
    }
}

pub const SETTINGS_COLUMNS: &str =
    "company_name, currency_code, currency_symbol, currency_minor_units, \
     currency_position, vat_enabled, vat_inclusive, invoice_prefix, timezone, shifts_required, \
     max_cashier_discount_percent, version, updated_at";

/// Live rows whose `parent` column (from the spec, never from a client) holds a value.
/// Parameters: 1 business, 2 parent id, 3 limit, 4 offset.
pub fn list_of(d: Dialect, spec: &ResourceSpec, parent: &str) -> String {
    format!(
        "SELECT {} FROM {} WHERE business_id = {} AND {parent} = {} AND deleted_at IS NULL ORDER BY id LIMIT {} OFFSET {}",
        columns(spec),
        spec.table,
        d.param(1),
        d.param(2),
        d.param(3),
        d.param(4)
    )
}

/// Parameters: 1 business, 2 parent id.
pub fn count_of(d: Dialect, spec: &ResourceSpec, parent: &str) -> String {
    format!(
        "SELECT COUNT(*) FROM {} WHERE business_id = {} AND {parent} = {} AND deleted_at IS NULL",
        spec.table,
        d.param(1),
        d.param(2)
    )
}
