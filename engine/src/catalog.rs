//! Catalog look-ups as the cashier feels them: exact barcode or code first, then name by any
//! word prefix (FTS5), category browsing, and the stock the till shows.

use pos_protocol::Decimal;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;
use crate::mirror::load_settings;
use crate::store::{dec_col, from_milli, parse_dec};
use crate::views::{CategoryView, PaymentTypeView, ProductView};

/// Columns of a [`ProductView`]; shown stock is the mirror's stock minus this till's sales, plus
/// its returns, that the mirror has not caught up with yet.
const PRODUCT_SELECT: &str = "
    SELECT p.id, p.code, p.barcode, p.name, p.sale_price, p.category_id, v.rate, v.active,
      COALESCE((SELECT SUM(s.quantity_milli) FROM stocks s WHERE s.product_id = p.id), 0)
      - COALESCE((SELECT SUM(l.quantity_milli) FROM sale_lines l
                  JOIN sales x ON x.local_id = l.sale_local_id
                  WHERE l.product_id = p.id AND x.stock_settled = 0), 0)
      + COALESCE((SELECT SUM(r.quantity_milli) FROM sale_return_lines r
                  JOIN sale_returns y ON y.local_id = r.return_local_id
                  WHERE r.product_id = p.id AND y.stock_settled = 0), 0)
    FROM products p LEFT JOIN vats v ON v.id = p.vat_id";

fn vat_enabled(conn: &Connection) -> Result<bool> {
    Ok(load_settings(conn)?.is_some_and(|s| s.vat_enabled))
}

fn product_rows(
    conn: &Connection,
    sql_tail: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<ProductView>> {
    let vat_on = vat_enabled(conn)?;
    let mut stmt = conn.prepare_cached(&format!("{PRODUCT_SELECT} {sql_tail}"))?;
    let rows = stmt.query_map(params, |row| {
        let rate: Option<String> = row.get(6)?;
        let active: Option<bool> = row.get(7)?;
        Ok((
            ProductView {
                id: row.get(0)?,
                product_code: row.get(1)?,
                barcode: row.get(2)?,
                product_name: row.get(3)?,
                product_sale_price: dec_col(row, 4)?,
                category_id: row.get(5)?,
                vat_rate: Decimal::ZERO,
                stock: from_milli(row.get(8)?),
            },
            rate.filter(|_| vat_on && active.unwrap_or(false)),
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (mut view, rate) = row?;
        if let Some(rate) = rate {
            view.vat_rate = parse_dec(&rate)?;
        }
        out.push(view);
    }
    Ok(out)
}

pub fn product(conn: &Connection, id: i64) -> Result<Option<ProductView>> {
    Ok(product_rows(conn, "WHERE p.id = ?1", [id])?
        .into_iter()
        .next())
}

/// Exact barcode, then exact product code.
pub fn product_by_code(conn: &Connection, code: &str) -> Result<Option<ProductView>> {
    let code = code.trim();
    if code.is_empty() {
        return Ok(None);
    }
    Ok(product_rows(
        conn,
        "WHERE p.barcode = ?1 OR p.code = ?1 ORDER BY (p.barcode = ?1) DESC, p.id LIMIT 1",
        [code],
    )?
    .into_iter()
    .next())
}

/// Barcode / code exact matches first, then names where every word of `text` starts a word.
pub fn search(conn: &Connection, text: &str, limit: u32) -> Result<Vec<ProductView>> {
    let text = text.trim();
    let limit = limit.max(1);
    if text.is_empty() {
        return product_rows(conn, "ORDER BY p.name, p.id LIMIT ?1", [limit]);
    }
    let mut found = product_rows(
        conn,
        "WHERE p.barcode = ?1 OR p.code = ?1 ORDER BY (p.barcode = ?1) DESC, p.id LIMIT ?2",
        params![text, limit],
    )?;
    if let Some(query) = fts_prefix_query(text) {
        // FTS5 hands matches out in rowid order and stops at the LIMIT, so even a one-letter
        // prefix over 100k names costs a page, not every match; the page is shown by name.
        let by_name = product_rows(
            conn,
            "WHERE p.id IN (SELECT rowid FROM products_fts WHERE products_fts MATCH ?1
                            ORDER BY rowid LIMIT ?2)
             ORDER BY p.name, p.id",
            params![query, limit],
        )?;
        for view in by_name {
            if found.len() >= limit as usize {
                break;
            }
            if !found.iter().any(|f| f.id == view.id) {
                found.push(view);
            }
        }
    }
    Ok(found)
}

/// `cola zero` → `"cola"* AND "zero"*`; None when the text has no word characters.
fn fts_prefix_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!words.is_empty()).then(|| words.join(" AND "))
}

pub fn products_in_category(
    conn: &Connection,
    category_id: i64,
    limit: u32,
) -> Result<Vec<ProductView>> {
    product_rows(
        conn,
        "WHERE p.category_id = ?1 ORDER BY p.name, p.id LIMIT ?2",
        params![category_id, limit.max(1)],
    )
}

pub fn categories(conn: &Connection) -> Result<Vec<CategoryView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, icon FROM categories WHERE status = 1 ORDER BY name, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(CategoryView {
            id: r.get(0)?,
            name: r.get(1)?,
            icon: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn payment_types(conn: &Connection) -> Result<Vec<PaymentTypeView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, is_credit FROM payment_types WHERE status = 1 ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PaymentTypeView {
            id: r.get(0)?,
            name: r.get(1)?,
            is_credit: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The stock row a sale of `product_id` takes from: the first with quantity, else any.
pub fn stock_for_sale(conn: &Connection, product_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM stocks WHERE product_id = ?1
             ORDER BY (quantity_milli > 0) DESC, id LIMIT 1",
        )?
        .query_row([product_id], |r| r.get(0))
        .optional()?)
}

/// The VAT id of a product, for the sale line.
pub fn product_vat_id(conn: &Connection, product_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT vat_id FROM products WHERE id = ?1")?
        .query_row([product_id], |r| r.get(0))
        .optional()?
        .flatten())
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefix_query_quotes_every_word() {
        assert_eq!(
            super::fts_prefix_query("Cola  zer\"o").as_deref(),
            Some("\"Cola\"* AND \"zer\"* AND \"o\"*")
        );
        assert_eq!(super::fts_prefix_query(" -- "), None);
    }
}
