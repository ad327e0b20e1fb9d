//! Properties of exact money and of the one totals function, over generated carts: whatever
//! the cashier rings up, the pieces add up to the cent, nothing goes negative, every amount is
//! in whole minor units, and a number survives the wire unchanged.

use pos_protocol::money;
use pos_protocol::totals::{compute_totals, settle, CartDiscount, LineInput, PricingRules};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A decimal with `scale` places between 0 and `max_units` (in units of that scale).
fn decimal(max_units: i64, scale: u32) -> impl Strategy<Value = Decimal> {
    (0..=max_units).prop_map(move |units| Decimal::new(units, scale))
}

fn line() -> impl Strategy<Value = LineInput> {
    (
        (1i64..=50_000).prop_map(|units| Decimal::new(units, 3)), // 0.001 to 50 (weighed goods)
        decimal(1_000_000, 2),                                    // price up to 10 000.00
        0u32..=100,                                               // discount in % of the line
        prop_oneof![Just(0), Just(5), Just(7), Just(15), Just(20), Just(25)],
    )
        .prop_map(|(quantity, unit_price, discount_percent, vat)| {
            let gross = money::round_to_minor(quantity * unit_price, 2);
            LineInput {
                quantity,
                unit_price,
                discount: money::round_to_minor(
                    gross * Decimal::from(discount_percent) / Decimal::ONE_HUNDRED,
                    2,
                ),
                vat_rate: Decimal::from(vat),
            }
        })
}

fn cart_discount() -> impl Strategy<Value = CartDiscount> {
    prop_oneof![
        Just(CartDiscount::None),
        decimal(10_000, 2).prop_map(CartDiscount::Percent),
        // An amount is clamped below to what the cart is worth.
        decimal(100_000, 2).prop_map(CartDiscount::Amount),
    ]
}

fn in_minor_units(value: Decimal, minor_units: u32) -> bool {
    money::fits_scale(value, minor_units)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn totals_add_up_and_never_go_negative(
        lines in prop::collection::vec(line(), 1..12),
        discount in cart_discount(),
        vat_inclusive in any::<bool>(),
        minor_units in 0u32..=3,
    ) {
        let rules = PricingRules { vat_inclusive, minor_units };
        let lines: Vec<LineInput> = lines
            .into_iter()
            .map(|l| {
                let gross = money::round_to_minor(l.quantity * l.unit_price, minor_units);
                LineInput { discount: money::round_to_minor(l.discount, minor_units).min(gross), ..l }
            })
            .collect();
        // A cart discount larger than the cart is refused; keep generated amounts within it.
        let base: Decimal = lines
            .iter()
            .map(|l| money::round_to_minor(l.quantity * l.unit_price, minor_units) - l.discount)
            .sum();
        let discount = match discount {
            CartDiscount::Amount(a) => CartDiscount::Amount(money::round_to_minor(a.min(base), minor_units)),
            other => other,
        };
        let totals = compute_totals(&lines, discount, rules).expect("a valid cart is priced");

        let shares: Decimal = totals.lines.iter().map(|l| l.cart_discount_share).sum();
        prop_assert_eq!(shares, totals.cart_discount, "the cart discount is shared out exactly");
        let nets: Decimal = totals.lines.iter().map(|l| l.net).sum();
        prop_assert_eq!(nets, totals.subtotal - totals.line_discount - totals.cart_discount);
        let line_totals: Decimal = totals.lines.iter().map(|l| l.total).sum();
        prop_assert_eq!(line_totals, totals.total_amount);
        let vats: Decimal = totals.lines.iter().map(|l| l.vat_amount).sum();
        prop_assert_eq!(vats, totals.vat_amount);
        for (n, line) in totals.lines.iter().enumerate() {
            prop_assert!(line.cart_discount_share >= Decimal::ZERO, "line {}: negative share {:?}", n + 1, totals);
            prop_assert!(line.net >= Decimal::ZERO, "line {}: negative net {:?}", n + 1, totals);
            prop_assert!(line.vat_amount >= Decimal::ZERO, "line {}: negative VAT", n + 1);
            if vat_inclusive {
                prop_assert_eq!(line.total, line.net);
            } else {
                prop_assert_eq!(line.total, line.net + line.vat_amount);
            }
            for amount in [line.gross, line.line_discount, line.cart_discount_share, line.net, line.vat_amount, line.total] {
                prop_assert!(in_minor_units(amount, minor_units), "line {}: {} is not in minor units", n + 1, amount);
            }
        }
    }

    #[test]
    fn a_payment_settles_the_total_exactly(total in decimal(10_000_000, 2), tendered in decimal(20_000_000, 2)) {
        let s = settle(total, tendered);
        prop_assert_eq!(s.paid_amount + s.due_amount, total);
        prop_assert!(s.paid_amount <= total && s.due_amount >= Decimal::ZERO);
        prop_assert_eq!(s.change_amount, (tendered - total).max(Decimal::ZERO));
        prop_assert_eq!(s.is_paid, tendered >= total);
    }

    #[test]
    fn money_survives_the_wire_unchanged(mantissa in any::<i64>(), scale in 0u32..=10) {
        #[derive(Serialize, Deserialize)]
        struct Amount {
            #[serde(with = "pos_protocol::money::exact")]
            value: Decimal,
        }
        let value = Decimal::new(mantissa, scale);
        let json = serde_json::to_string(&Amount { value }).unwrap();
        let back: Amount = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.value, value, "{}", json);
        // Old clients send numeric strings; they read the same.
        let as_string = format!("{{\"value\":\"{value}\"}}");
        let back: Amount = serde_json::from_str(&as_string).unwrap();
        prop_assert_eq!(back.value, value);
    }

    #[test]
    fn any_text_is_a_number_or_a_clear_error(text in ".{0,40}") {
        match money::parse_decimal(&text) {
            Ok(value) => prop_assert_eq!(money::parse_decimal(&value.to_string()).unwrap(), value),
            Err(message) => prop_assert!(message.contains("is not a number"), "{}", message),
        }
    }
}
