//! The cart being rung up, and its pricing through `pos_protocol::totals` (the very function
//! the server recomputes every sale with).
//!
//! Every change is tried on a copy and priced before it replaces the cart, so a change the
//! pricing refuses (a discount larger than the line, a zero quantity) leaves the cart as it was.

use pos_protocol::money::{round_to_minor, Bound};
use pos_protocol::totals::{compute_totals, CartDiscount, LineInput, PricingRules, Totals};
use pos_protocol::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::views::{CartLineView, CartView, Discount, PartyRef, PartyView, ProductView};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    pub discount: Discount,
    pub customer: Option<PartyRef>,
}

/// A line keeps the price and VAT rate it was rung up with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: i64,
    pub name: String,
    pub product_code: Option<String>,
    #[serde(with = "pos_protocol::money::exact")]
    pub quantity: Decimal,
    #[serde(with = "pos_protocol::money::exact")]
    pub unit_price: Decimal,
    pub discount: Discount,
    #[serde(with = "pos_protocol::money::exact")]
    pub vat_rate: Decimal,
}

/// A quantity the till accepts: positive, within the bound the server holds every quantity to.
pub fn check_quantity(quantity: Decimal) -> Result<Decimal> {
    if quantity <= Decimal::ZERO {
        return Err(EngineError::invalid(format!(
            "quantity: must be greater than zero (got {quantity})"
        )));
    }
    Bound::Quantity
        .check(quantity)
        .map_err(|problem| EngineError::invalid(format!("quantity: {problem} (got {quantity})")))?;
    Ok(quantity.normalize())
}

fn check_discount(discount: Discount) -> Result<Discount> {
    match discount {
        Discount::Amount(a) if a < Decimal::ZERO => {
            Err(EngineError::invalid("discount: must not be negative"))
        }
        Discount::Percent(p) if p < Decimal::ZERO || p > Decimal::ONE_HUNDRED => Err(
            EngineError::invalid("discount: a percentage must be between 0 and 100"),
        ),
        Discount::Amount(a) | Discount::Percent(a) if a.is_zero() => Ok(Discount::None),
        other => Ok(other),
    }
}

/// The cart being rung up, as the store keeps it (migration 0010): written with every change,
/// emptied in the transaction that completes, holds or clears it, so a till that stops
/// mid-sale (crash, power cut, closed window) finds the cart again when it opens, and a sale
/// once completed is never offered again.
pub fn save_open(tx: &rusqlite::Connection, cart: &Cart) -> Result<()> {
    if cart.is_empty() && cart.customer.is_none() {
        tx.prepare_cached("DELETE FROM open_cart")?.execute([])?;
    } else {
        tx.prepare_cached(
            "INSERT INTO open_cart (id, cart, updated_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET cart = excluded.cart, updated_at = excluded.updated_at",
        )?
        .execute(rusqlite::params![
            serde_json::to_string(cart)?,
            crate::store::time_text(&pos_protocol::time::now())
        ])?;
    }
    Ok(())
}

/// The cart left open when the till last stopped (empty when none). A stored cart this version
/// cannot read is logged and left in the store, not lost.
pub fn load_open(conn: &rusqlite::Connection) -> Result<Cart> {
    use rusqlite::OptionalExtension;
    let text: Option<String> = conn
        .query_row("SELECT cart FROM open_cart WHERE id = 1", [], |r| r.get(0))
        .optional()?;
    Ok(match text.map(|t| serde_json::from_str::<Cart>(&t)) {
        Some(Ok(cart)) => cart,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "the cart left open could not be read; starting empty");
            Cart::default()
        }
        None => Cart::default(),
    })
}

impl Cart {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn line_mut(&mut self, line_no: u32) -> Result<&mut CartLine> {
        let count = self.lines.len();
        (line_no as usize)
            .checked_sub(1)
            .and_then(|i| self.lines.get_mut(i))
            .ok_or_else(|| {
                EngineError::not_found(format!(
                    "line_no: the cart has no line {line_no} (it has {count})"
                ))
            })
    }

    /// Adds `quantity` of a product; the same product at the same price joins its line.
    pub fn add(&mut self, product: &ProductView, quantity: Decimal) -> Result<()> {
        let quantity = check_quantity(quantity)?;
        if let Some(line) = self.lines.iter_mut().find(|l| {
            l.product_id == product.id
                && l.unit_price == product.product_sale_price
                && l.discount == Discount::None
        }) {
            line.quantity = check_quantity(line.quantity + quantity)?;
            return Ok(());
        }
        self.lines.push(CartLine {
            product_id: product.id,
            name: product.product_name.clone(),
            product_code: product.product_code.clone(),
            quantity,
            unit_price: product.product_sale_price,
            discount: Discount::None,
            vat_rate: product.vat_rate,
        });
        Ok(())
    }

    pub fn set_quantity(&mut self, line_no: u32, quantity: Decimal) -> Result<()> {
        let quantity = check_quantity(quantity)?;
        self.line_mut(line_no)?.quantity = quantity;
        Ok(())
    }

    pub fn set_line_discount(&mut self, line_no: u32, discount: Discount) -> Result<()> {
        let discount = check_discount(discount)?;
        self.line_mut(line_no)?.discount = discount;
        Ok(())
    }

    /// Removes a line; the lines after it move up one number.
    pub fn void_line(&mut self, line_no: u32) -> Result<()> {
        self.line_mut(line_no)?;
        self.lines.remove(line_no as usize - 1);
        Ok(())
    }

    pub fn set_discount(&mut self, discount: Discount) -> Result<()> {
        self.discount = check_discount(discount)?;
        Ok(())
    }

    /// Prices the cart. Percent line discounts become amounts of the rounded line gross.
    pub fn price(&self, rules: PricingRules) -> Result<Totals> {
        let inputs: Vec<LineInput> = self
            .lines
            .iter()
            .map(|line| {
                let gross = round_to_minor(line.quantity * line.unit_price, rules.minor_units);
                let discount = match line.discount {
                    Discount::None => Decimal::ZERO,
                    Discount::Amount(a) => a,
                    Discount::Percent(p) => {
                        round_to_minor(gross * p / Decimal::ONE_HUNDRED, rules.minor_units)
                    }
                };
                LineInput {
                    quantity: line.quantity,
                    unit_price: line.unit_price,
                    discount,
                    vat_rate: line.vat_rate,
                }
            })
            .collect();
        let discount = match self.discount {
            Discount::None => CartDiscount::None,
            Discount::Amount(a) => CartDiscount::Amount(a),
            Discount::Percent(p) => CartDiscount::Percent(p),
        };
        Ok(compute_totals(&inputs, discount, rules)?)
    }

    pub fn view(
        &self,
        rules: PricingRules,
        stock_ids: &[Option<i64>],
        customer: Option<PartyView>,
    ) -> Result<CartView> {
        let totals = self.price(rules)?;
        let lines = self
            .lines
            .iter()
            .zip(&totals.lines)
            .enumerate()
            .map(|(i, (line, t))| CartLineView {
                line_no: i as u32 + 1,
                product_id: line.product_id,
                stock_id: stock_ids.get(i).copied().flatten(),
                name: line.name.clone(),
                product_code: line.product_code.clone(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                discount: line.discount,
                gross: t.gross,
                line_discount: t.line_discount,
                cart_discount_share: t.cart_discount_share,
                vat_rate: line.vat_rate,
                vat_amount: t.vat_amount,
                total: t.total,
            })
            .collect();
        Ok(CartView {
            lines,
            discount: self.discount,
            subtotal: totals.subtotal,
            line_discount: totals.line_discount,
            cart_discount: totals.cart_discount,
            vat_amount: totals.vat_amount,
            total: totals.total_amount,
            vat_inclusive: rules.vat_inclusive,
            customer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn product(id: i64, price: &str, vat: &str) -> ProductView {
        ProductView {
            id,
            product_code: Some(format!("P{id}")),
            barcode: None,
            product_name: format!("Product {id}"),
            product_sale_price: d(price),
            vat_rate: d(vat),
            stock: d("10"),
            category_id: None,
        }
    }

    const RULES: PricingRules = PricingRules {
        vat_inclusive: false,
        minor_units: 2,
    };

    #[test]
    fn same_product_joins_its_line_and_void_renumbers() {
        let mut cart = Cart::default();
        cart.add(&product(1, "2.50", "0"), d("1")).unwrap();
        cart.add(&product(2, "1.00", "0"), d("0.5")).unwrap();
        cart.add(&product(1, "2.50", "0"), d("2")).unwrap();
        assert_eq!(cart.lines.len(), 2);
        assert_eq!(cart.lines[0].quantity, d("3"));
        cart.void_line(1).unwrap();
        assert_eq!(cart.lines[0].product_id, 2);
        assert!(cart.void_line(2).is_err());
    }

    #[test]
    fn bad_quantities_and_discounts_are_named() {
        let mut cart = Cart::default();
        let err = cart.add(&product(1, "1", "0"), d("0.0001")).unwrap_err();
        assert!(err.message.contains("3 decimal places"), "{}", err.message);
        let err = cart.add(&product(1, "1", "0"), d("-1")).unwrap_err();
        assert!(err.message.contains("greater than zero"));
        cart.add(&product(1, "1", "0"), d("1")).unwrap();
        let err = cart
            .set_line_discount(1, Discount::Percent(d("150")))
            .unwrap_err();
        assert!(err.message.contains("between 0 and 100"));
        cart.set_line_discount(1, Discount::Amount(d("5"))).unwrap();
        let err = cart.price(RULES).unwrap_err();
        assert!(err.message.contains("line 1"), "{}", err.message);
    }

    #[test]
    fn percent_line_discount_comes_off_the_rounded_gross() {
        let mut cart = Cart::default();
        cart.add(&product(1, "3.33", "10"), d("3")).unwrap();
        cart.set_line_discount(1, Discount::Percent(d("10")))
            .unwrap();
        let t = cart.price(RULES).unwrap();
        // 9.99 gross, 10% = 0.999 → 1.00 off, 8.99 net, VAT 0.899 → 0.90
        assert_eq!(t.line_discount, d("1.00"));
        assert_eq!(t.vat_amount, d("0.90"));
        assert_eq!(t.total_amount, d("9.89"));
    }
}
