//! The one function that prices a cart.
//!
//! The till calls it while the cashier rings a sale up; the server calls it again on every sale
//! it receives and flags a difference. Both sides therefore round the same way, line by line:
//!
//! 1. line gross = quantity × unit price, rounded to the minor unit;
//! 2. the line discount (an amount) comes off that line;
//! 3. the cart discount (an amount, or a percentage of what is left) is shared over the lines in
//!    proportion to their value, in whole minor units by largest remainder (`share_out`), so VAT
//!    is charged on what the customer really pays and no line goes below zero;
//! 4. VAT per line at the line's rate: contained in the price when prices include VAT, added on
//!    top otherwise;
//! 5. the total is the sum of the lines.

use crate::money::round_to_minor;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// One cart line as the pricing sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LineInput {
    pub quantity: Decimal,
    pub unit_price: Decimal,
    /// Amount taken off this line.
    pub discount: Decimal,
    /// VAT rate in percent (0 when VAT is off or the product has none).
    pub vat_rate: Decimal,
}

/// A discount on the whole cart.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum CartDiscount {
    #[default]
    None,
    Amount(Decimal),
    /// Percent of the cart after line discounts.
    Percent(Decimal),
}

/// The business settings that pricing depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricingRules {
    /// Prices already contain VAT.
    pub vat_inclusive: bool,
    /// Decimal places of the currency (0–3).
    pub minor_units: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTotals {
    /// quantity × unit price, rounded.
    pub gross: Decimal,
    /// The line's own discount.
    pub line_discount: Decimal,
    /// Its share of the cart discount.
    pub cart_discount_share: Decimal,
    /// What the line sells for after discounts, as priced (VAT included when prices include it).
    pub net: Decimal,
    pub vat_amount: Decimal,
    /// What the customer pays for the line.
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub lines: Vec<LineTotals>,
    /// Sum of line gross amounts.
    pub subtotal: Decimal,
    pub line_discount: Decimal,
    pub cart_discount: Decimal,
    pub vat_amount: Decimal,
    pub total_amount: Decimal,
}

impl Totals {
    /// Every discount on the sale (lines and cart).
    pub fn discount_amount(&self) -> Decimal {
        self.line_discount + self.cart_discount
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotalsError {
    #[error("line {line}: quantity must be greater than zero")]
    NonPositiveQuantity { line: usize },
    #[error("line {line}: price must not be negative")]
    NegativePrice { line: usize },
    #[error("line {line}: discount must be between zero and the line amount")]
    LineDiscountOutOfRange { line: usize },
    #[error("line {line}: VAT rate must be between 0 and 100")]
    VatRateOutOfRange { line: usize },
    #[error("cart discount must be between zero and the cart amount")]
    CartDiscountOutOfRange,
    #[error("currency minor units must be between 0 and 3")]
    MinorUnitsOutOfRange,
}

/// Prices a cart. Lines are numbered from 1 in errors.
pub fn compute_totals(
    lines: &[LineInput],
    cart_discount: CartDiscount,
    rules: PricingRules,
) -> Result<Totals, TotalsError> {
    if rules.minor_units > crate::money::MAX_MINOR_UNITS {
        return Err(TotalsError::MinorUnitsOutOfRange);
    }
    let round = |d: Decimal| round_to_minor(d, rules.minor_units);
    let hundred = Decimal::ONE_HUNDRED;

    let mut after_line_discount = Vec::with_capacity(lines.len());
    let mut subtotal = Decimal::ZERO;
    let mut line_discount = Decimal::ZERO;
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if line.quantity <= Decimal::ZERO {
            return Err(TotalsError::NonPositiveQuantity { line: n });
        }
        if line.unit_price < Decimal::ZERO {
            return Err(TotalsError::NegativePrice { line: n });
        }
        if line.vat_rate < Decimal::ZERO || line.vat_rate > hundred {
            return Err(TotalsError::VatRateOutOfRange { line: n });
        }
        let gross = round(line.quantity * line.unit_price);
        let discount = round(line.discount);
        if discount < Decimal::ZERO || discount > gross {
            return Err(TotalsError::LineDiscountOutOfRange { line: n });
        }
        subtotal += gross;
        line_discount += discount;
        after_line_discount.push((gross, discount, gross - discount));
    }

    let base: Decimal = after_line_discount.iter().map(|(_, _, v)| *v).sum();
    let cart_discount = match cart_discount {
        CartDiscount::None => Decimal::ZERO,
        CartDiscount::Amount(a) => round(a),
        CartDiscount::Percent(p) => {
            if p < Decimal::ZERO || p > hundred {
                return Err(TotalsError::CartDiscountOutOfRange);
            }
            round(base * p / hundred)
        }
    };
    if cart_discount < Decimal::ZERO || cart_discount > base {
        return Err(TotalsError::CartDiscountOutOfRange);
    }

    let values: Vec<Decimal> = after_line_discount.iter().map(|(_, _, v)| *v).collect();
    let shares = share_out(cart_discount, &values, rules.minor_units);
    let mut out = Vec::with_capacity(lines.len());
    let mut vat_amount = Decimal::ZERO;
    let mut total_amount = Decimal::ZERO;
    for (((gross, discount, value), line), share) in
        after_line_discount.iter().zip(lines).zip(shares)
    {
        let net = value - share;
        let (vat, total) = if rules.vat_inclusive {
            (round(net * line.vat_rate / (hundred + line.vat_rate)), net)
        } else {
            let vat = round(net * line.vat_rate / hundred);
            (vat, net + vat)
        };
        vat_amount += vat;
        total_amount += total;
        out.push(LineTotals {
            gross: *gross,
            line_discount: *discount,
            cart_discount_share: share,
            net,
            vat_amount: vat,
            total,
        });
    }

    Ok(Totals {
        lines: out,
        subtotal,
        line_discount,
        cart_discount,
        vat_amount,
        total_amount,
    })
}

/// Shares `amount` (at most the sum of `values`) over the lines in proportion to their values,
/// in whole minor units: each share is first rounded down, then the units left over go one
/// each to the lines with the largest remainders (the earlier line on a tie). No share is
/// negative or larger than its line's value, and the shares add up to `amount` exactly; giving
/// the whole remainder to one line instead can push a small line below zero.
fn share_out(amount: Decimal, values: &[Decimal], minor_units: u32) -> Vec<Decimal> {
    let base: Decimal = values.iter().sum();
    if amount.is_zero() || base.is_zero() {
        return vec![Decimal::ZERO; values.len()];
    }
    let unit = Decimal::new(1, minor_units);
    let exact: Vec<Decimal> = values.iter().map(|v| amount * *v / base).collect();
    let mut shares: Vec<Decimal> = exact
        .iter()
        .map(|e| e.round_dp_with_strategy(minor_units, RoundingStrategy::ToZero))
        .collect();
    let mut left = amount - shares.iter().sum::<Decimal>();
    let mut by_remainder: Vec<usize> = (0..values.len()).collect();
    by_remainder.sort_by(|&a, &b| (exact[b] - shares[b]).cmp(&(exact[a] - shares[a])));
    // Fewer units are left over than lines with a remainder, and each such line has room for
    // one more unit below its value, so one pass places them all.
    for i in by_remainder {
        if left <= Decimal::ZERO {
            break;
        }
        if shares[i] + unit <= values[i] {
            shares[i] += unit;
            left -= unit;
        }
    }
    shares
}

/// How a payment settles a total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    /// What goes against the sale (never more than the total).
    pub paid_amount: Decimal,
    /// What the customer still owes (needs a customer when positive).
    pub due_amount: Decimal,
    /// What the cashier hands back.
    pub change_amount: Decimal,
    pub is_paid: bool,
}

/// Settles `total` with `tendered` (the cash or card amount handed over).
pub fn settle(total: Decimal, tendered: Decimal) -> Settlement {
    let tendered = tendered.max(Decimal::ZERO);
    let paid_amount = tendered.min(total);
    let due_amount = total - paid_amount;
    Settlement {
        paid_amount,
        due_amount,
        change_amount: (tendered - total).max(Decimal::ZERO),
        is_paid: due_amount.is_zero(),
    }
}

/// True when two totals agree within rounding: one minor unit per line, at least one.
pub fn within_rounding(a: Decimal, b: Decimal, minor_units: u32, line_count: usize) -> bool {
    let unit = Decimal::new(1, minor_units);
    let tolerance = unit * Decimal::from(line_count.max(1) as u64);
    (a - b).abs() <= tolerance
}

/// The business's limit (a percentage of the gross amount) when a sale's discount is above it:
/// the discount a cashier may not give alone. The till asks a manager for it; the server flags
/// a synced sale that has none. No arithmetic here can overflow: a result too large to compute
/// is over any limit.
pub fn discount_over_limit(
    limit_percent: Option<Decimal>,
    discount: Decimal,
    gross: Decimal,
) -> Option<Decimal> {
    let limit = limit_percent?;
    if gross <= Decimal::ZERO || discount <= Decimal::ZERO {
        return None;
    }
    let over = discount
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|d| d.checked_div(gross))
        .is_none_or(|percent| percent > limit);
    over.then_some(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn line(q: &str, p: &str, disc: &str, vat: &str) -> LineInput {
        LineInput {
            quantity: d(q),
            unit_price: d(p),
            discount: d(disc),
            vat_rate: d(vat),
        }
    }

    const EXCL: PricingRules = PricingRules {
        vat_inclusive: false,
        minor_units: 2,
    };
    const INCL: PricingRules = PricingRules {
        vat_inclusive: true,
        minor_units: 2,
    };

    #[test]
    fn vat_added_on_top_when_prices_exclude_it() {
        let t = compute_totals(
            &[
                line("2", "10.00", "0", "15"),
                line("0.375", "12.99", "0", "5"),
            ],
            CartDiscount::None,
            EXCL,
        )
        .unwrap();
        // 0.375 × 12.99 = 4.87125 → 4.87; VAT 15% of 20 = 3, 5% of 4.87 = 0.2435 → 0.24
        assert_eq!(t.subtotal, d("24.87"));
        assert_eq!(t.vat_amount, d("3.24"));
        assert_eq!(t.total_amount, d("28.11"));
    }

    #[test]
    fn vat_is_contained_when_prices_include_it() {
        let t =
            compute_totals(&[line("1", "115.00", "0", "15")], CartDiscount::None, INCL).unwrap();
        assert_eq!(t.vat_amount, d("15.00"));
        assert_eq!(t.total_amount, d("115.00"));
    }

    #[test]
    fn cart_discount_is_shared_and_adds_up_exactly() {
        let lines = [
            line("1", "10.00", "0", "10"),
            line("1", "10.00", "0", "10"),
            line("1", "10.00", "0", "10"),
        ];
        let t = compute_totals(&lines, CartDiscount::Amount(d("10.00")), EXCL).unwrap();
        let shares: Vec<_> = t.lines.iter().map(|l| l.cart_discount_share).collect();
        // Equal remainders: the left-over cent goes to the first line.
        assert_eq!(shares, vec![d("3.34"), d("3.33"), d("3.33")]);
        assert_eq!(t.cart_discount, d("10.00"));
        // VAT on 6.66 + 6.67 + 6.67 = 0.67 + 0.67 + 0.67
        assert_eq!(t.vat_amount, d("2.01"));
        assert_eq!(t.total_amount, d("22.01"));
        assert_eq!(t.discount_amount(), d("10.00"));
    }

    #[test]
    fn a_small_line_never_takes_more_discount_than_it_is_worth() {
        // Rounded to the nearest cent, each large line's share is 0.02: 0.06 of the 0.05 to
        // share. The old "remainder to the last line" rule gave the last line -0.01.
        let lines = [
            line("1", "10.6", "0", "0"),
            line("1", "10.6", "0", "0"),
            line("1", "10.6", "0", "0"),
            line("1", "0.01", "0", "0"),
        ];
        let rules = PricingRules {
            vat_inclusive: false,
            minor_units: 2,
        };
        let t = compute_totals(&lines, CartDiscount::Amount(d("0.05")), rules).unwrap();
        let shares: Vec<_> = t.lines.iter().map(|l| l.cart_discount_share).collect();
        assert_eq!(shares, vec![d("0.02"), d("0.02"), d("0.01"), d("0.00")]);
        assert!(t.lines.iter().all(|l| l.net >= Decimal::ZERO), "{t:?}");
    }

    #[test]
    fn percent_discount_and_line_discount_combine() {
        let t = compute_totals(
            &[line("3", "5.00", "1.00", "0")],
            CartDiscount::Percent(d("10")),
            EXCL,
        )
        .unwrap();
        assert_eq!(t.line_discount, d("1.00"));
        assert_eq!(t.cart_discount, d("1.40"));
        assert_eq!(t.total_amount, d("12.60"));
    }

    #[test]
    fn zero_minor_units_round_to_whole_amounts() {
        let rules = PricingRules {
            vat_inclusive: false,
            minor_units: 0,
        };
        let t = compute_totals(&[line("1.5", "333", "0", "0")], CartDiscount::None, rules).unwrap();
        assert_eq!(t.total_amount, d("500"));
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(
            compute_totals(&[line("0", "1", "0", "0")], CartDiscount::None, EXCL),
            Err(TotalsError::NonPositiveQuantity { line: 1 })
        );
        assert_eq!(
            compute_totals(
                &[line("1", "1", "0", "0"), line("1", "2", "3", "0")],
                CartDiscount::None,
                EXCL
            ),
            Err(TotalsError::LineDiscountOutOfRange { line: 2 })
        );
        assert_eq!(
            compute_totals(
                &[line("1", "1", "0", "0")],
                CartDiscount::Amount(d("2")),
                EXCL
            ),
            Err(TotalsError::CartDiscountOutOfRange)
        );
    }

    #[test]
    fn settlement_gives_change_or_leaves_a_due() {
        let s = settle(d("28.11"), d("50"));
        assert_eq!(
            (s.paid_amount, s.due_amount, s.change_amount),
            (d("28.11"), d("0"), d("21.89"))
        );
        assert!(s.is_paid);
        let s = settle(d("28.11"), d("20"));
        assert_eq!(
            (s.paid_amount, s.due_amount, s.change_amount),
            (d("20"), d("8.11"), d("0"))
        );
        assert!(!s.is_paid);
        assert!(within_rounding(d("10.00"), d("10.02"), 2, 3));
        assert!(!within_rounding(d("10.00"), d("10.05"), 2, 3));
    }
}
