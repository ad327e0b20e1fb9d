//! Decimal edge cases as properties over many random carts (seeded, so a failure repeats):
//! weighed quantities, 0–3 decimal currencies, line and cart discounts with VAT on top or
//! inside. Every amount is exact to the currency's minor unit, the parts add up to the total,
//! and the server's recomputation of the queued sale (the same shared function over what the
//! payload carries) gives the very same figures.
//! Cases: `POS_PROPERTY_CASES` (default 30). Run under `engine/scripts/with-keyring.sh`.

mod common;

use common::*;
use pos_engine::{Discount, PaymentInput};
use pos_protocol::money::fits_scale;
use pos_protocol::sync::{FullData, FullResponse, SaleCreate};
use pos_protocol::totals::{compute_totals, CartDiscount, LineInput};
use pos_protocol::Decimal;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const VAT_RATES: [&str; 5] = ["0", "5", "7.5", "15", "20"];

fn random_amount(rng: &mut StdRng, max_units: i64, scale: u32) -> Decimal {
    Decimal::new(rng.gen_range(1..=max_units), scale)
}

fn catalog(rng: &mut StdRng, minor_units: u32, vat_inclusive: bool) -> FullResponse {
    let vats = VAT_RATES
        .iter()
        .enumerate()
        .map(|(i, rate)| vat(i as i64 + 1, rate))
        .collect();
    let mut products = Vec::new();
    let mut stocks = Vec::new();
    for id in 1..=6 {
        let price = random_amount(rng, 50_000, minor_units);
        let vat_id = rng.gen_range(1..=VAT_RATES.len() as i64);
        products.push(product(
            id,
            &format!("Item {id}"),
            &format!("C{id}"),
            None,
            &price.to_string(),
            Some(vat_id),
            1,
        ));
        stocks.push(stock(100 + id, id, "5", &price.to_string()));
    }
    FullResponse {
        success: true,
        data: FullData {
            categories: Some(vec![category(1, "All")]),
            vats: Some(vats),
            payment_types: Some(vec![payment_type(1, "Cash", false)]),
            products: Some(products),
            stocks: Some(stocks),
            parties: Some(vec![party(50, "Regular", "0")]),
            settings: Some(settings(true, vat_inclusive, minor_units)),
            ..FullData::default()
        },
        sync_token: "t".into(),
        server_timestamp: at(),
        has_more: false,
        next_cursor: None,
    }
}

#[test]
fn random_carts_are_exact_consistent_and_agree_with_the_server_recomputation() {
    let cases: u64 = std::env::var("POS_PROPERTY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let mut priced = 0;
    for case in 0..cases {
        let mut rng = StdRng::seed_from_u64(0x5EED_0000 + case);
        let minor_units = rng.gen_range(0..=3u32);
        let vat_inclusive = rng.gen_bool(0.5);
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        engine
            .apply_full_page(&catalog(&mut rng, minor_units, vat_inclusive), None)
            .unwrap();
        engine
            .adopt_session("http://127.0.0.1:9", sign_in_data("property-token"), None)
            .unwrap();

        let context = format!("case {case}: minor units {minor_units}, inclusive {vat_inclusive}");
        for _ in 0..rng.gen_range(1..=5) {
            // Weighed goods: up to 3 decimals.
            let scale = rng.gen_range(0..=3);
            let quantity = random_amount(&mut rng, 5_000, scale);
            engine
                .cart_add(rng.gen_range(1..=6), quantity)
                .unwrap_or_else(|e| panic!("{context}: {e}"));
        }
        let lines = engine.cart().unwrap().lines;
        for line in &lines {
            let discount = match rng.gen_range(0..3) {
                0 => Discount::None,
                1 => Discount::Percent(Decimal::new(rng.gen_range(1..=1000), 1)),
                _ => Discount::Amount(line.gross * Decimal::new(rng.gen_range(0..=100), 2))
                    .round_to(minor_units),
            };
            engine
                .cart_set_line_discount(line.line_no, discount)
                .unwrap_or_else(|e| panic!("{context}: {e}"));
        }
        let base = {
            let cart = engine.cart().unwrap();
            cart.subtotal - cart.line_discount
        };
        let cart_discount = match rng.gen_range(0..3) {
            0 => Discount::None,
            1 => Discount::Percent(Decimal::new(rng.gen_range(1..=500), 1)),
            _ => Discount::Amount(base * Decimal::new(rng.gen_range(0..=50), 2))
                .round_to(minor_units),
        };
        let cart = engine
            .cart_set_discount(cart_discount)
            .unwrap_or_else(|e| panic!("{context}: {e}"));

        // Exact to the minor unit, and the parts add up.
        for amount in [
            cart.subtotal,
            cart.line_discount,
            cart.cart_discount,
            cart.vat_amount,
            cart.total,
        ] {
            assert!(fits_scale(amount, minor_units), "{context}: {amount}");
        }
        let line_sum: Decimal = cart.lines.iter().map(|l| l.total).sum();
        assert_eq!(line_sum, cart.total, "{context}");
        let net = cart.subtotal - cart.line_discount - cart.cart_discount;
        let expected_total = if vat_inclusive {
            net
        } else {
            net + cart.vat_amount
        };
        assert_eq!(cart.total, expected_total, "{context}");
        assert!(cart.total >= Decimal::ZERO, "{context}");

        // Pay part of it on account, so paid + due + change are all exercised.
        engine
            .cart_set_customer(Some(pos_engine::PartyRef::Server(50)))
            .unwrap();
        let tendered = (cart.total * Decimal::new(rng.gen_range(0..=150), 2)).round_to(minor_units);
        let sale = engine
            .complete_sale(PaymentInput {
                payment_type_id: None,
                tendered: Some(tendered),
            })
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(sale.total, cart.total, "{context}");
        assert_eq!(sale.paid + sale.due, sale.total, "{context}");
        assert_eq!(
            sale.change,
            (tendered - sale.total).max(Decimal::ZERO),
            "{context}"
        );

        // The server recomputes from the payload alone (rates from the VAT ids it names).
        let queued = engine.queue().unwrap();
        let payload: SaleCreate = serde_json::from_value(queued[0].payload.clone()).unwrap();
        let inputs: Vec<LineInput> = payload
            .products
            .iter()
            .map(|l| LineInput {
                quantity: l.quantities,
                unit_price: l.price,
                discount: l.discount.unwrap_or_default(),
                vat_rate: l
                    .vat_id
                    .map(|id| VAT_RATES[id as usize - 1].parse().unwrap())
                    .unwrap_or_default(),
            })
            .collect();
        let server = compute_totals(
            &inputs,
            CartDiscount::Amount(payload.discount_amount.unwrap_or_default()),
            settings(true, vat_inclusive, minor_units).pricing_rules(),
        )
        .unwrap_or_else(|e| panic!("{context}: the server would refuse: {e}"));
        assert_eq!(server.total_amount, payload.total_amount, "{context}");
        assert_eq!(Some(server.vat_amount), payload.vat_amount, "{context}");
        let vat_lines: Vec<_> = payload
            .products
            .iter()
            .map(|l| l.vat_amount.unwrap())
            .collect();
        let server_vat_lines: Vec<_> = server.lines.iter().map(|l| l.vat_amount).collect();
        assert_eq!(vat_lines, server_vat_lines, "{context}");
        priced += 1;
    }
    assert_eq!(priced, cases);
}

/// Rounding a discount to the currency the way a cashier would type it.
trait RoundTo {
    fn round_to(self, minor_units: u32) -> Self;
}

impl RoundTo for Discount {
    fn round_to(self, minor_units: u32) -> Discount {
        match self {
            Discount::Amount(a) => Discount::Amount(a.round_dp(minor_units)),
            other => other,
        }
    }
}

impl RoundTo for Decimal {
    fn round_to(self, minor_units: u32) -> Decimal {
        self.round_dp(minor_units)
    }
}
