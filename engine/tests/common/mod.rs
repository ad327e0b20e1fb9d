//! A seeded till for the engine's tests: a real SQLite file in a temp folder, filled through
//! the same apply path a full sync takes, and a signed-in cashier.
#![allow(dead_code)] // each test binary uses a different part of this kit

use chrono::{DateTime, Utc};
use pos_engine::{Engine, EngineConfig, SyncTimings};
use pos_protocol::auth::{Role, SignInData, UserSummary};
use pos_protocol::entities::*;
use pos_protocol::sync::{FullData, FullResponse};
use pos_protocol::Decimal;

pub fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

pub fn at() -> DateTime<Utc> {
    pos_protocol::time::parse("2026-11-25T09:00:00.000Z").unwrap()
}

pub fn fast_timings() -> SyncTimings {
    SyncTimings {
        connect_timeout_ms: 200,
        request_timeout_ms: 1_000,
        backoff_initial_ms: 10,
        backoff_max_ms: 100,
        periodic_interval_ms: 50,
        page_size: 100,
    }
}

pub fn open(dir: &std::path::Path) -> Engine {
    Engine::open(EngineConfig {
        data_dir: dir.to_path_buf(),
        server_url: None,
        timings: fast_timings(),
    })
    .unwrap()
}

pub fn settings(vat_enabled: bool, vat_inclusive: bool, minor_units: u32) -> Settings {
    Settings {
        company_name: "Corner Shop".into(),
        currency: Currency {
            code: "USD".into(),
            symbol: "$".into(),
            minor_units,
        },
        currency_position: CurrencyPosition::Before,
        vat_enabled,
        vat_inclusive,
        invoice_prefix: "INV-".into(),
        timezone: "Europe/London".into(),
        shifts_required: false,
        max_cashier_discount_percent: None,
        version: 1,
        updated_at: at(),
    }
}

pub fn category(id: i64, name: &str) -> Category {
    Category {
        id,
        business_id: 1,
        category_name: name.into(),
        icon: None,
        status: 1,
        version: 1,
        created_at: at(),
        updated_at: at(),
        deleted_at: None,
    }
}

pub fn vat(id: i64, rate: &str) -> Vat {
    Vat {
        id,
        business_id: 1,
        name: format!("VAT {rate}%"),
        rate: d(rate),
        status: true,
        version: 1,
        created_at: at(),
        updated_at: at(),
        deleted_at: None,
    }
}

pub fn payment_type(id: i64, name: &str, is_credit: bool) -> PaymentType {
    PaymentType {
        id,
        business_id: 1,
        name: name.into(),
        is_credit,
        status: 1,
        version: 1,
        created_at: at(),
        updated_at: at(),
        deleted_at: None,
    }
}

pub fn product(
    id: i64,
    name: &str,
    code: &str,
    barcode: Option<&str>,
    price: &str,
    vat_id: Option<i64>,
    category_id: i64,
) -> Product {
    Product {
        id,
        business_id: 1,
        product_name: name.into(),
        product_code: Some(code.into()),
        barcode: barcode.map(str::to_string),
        category_id: Some(category_id),
        brand_id: None,
        unit_id: None,
        vat_id,
        vat_type: "exclusive".into(),
        product_type: None,
        product_purchase_price: d("1"),
        product_sale_price: d(price),
        product_wholesale_price: d(price),
        product_dealer_price: d(price),
        product_stock: d("0"),
        alert_qty: d("0"),
        version: 1,
        created_at: at(),
        updated_at: at(),
        deleted_at: None,
    }
}

pub fn stock(id: i64, product_id: i64, quantity: &str, price: &str) -> Stock {
    Stock {
        id,
        business_id: 1,
        warehouse_id: Some(1),
        product_id,
        variant_id: None,
        batch_no: None,
        product_stock: d(quantity),
        product_purchase_price: d("1"),
        product_sale_price: d(price),
        product_wholesale_price: d(price),
        product_dealer_price: d(price),
        mfg_date: None,
        expire_date: None,
        version: 1,
        created_at: at(),
        updated_at: at(),
        deleted_at: None,
    }
}

pub fn party(id: i64, name: &str, due: &str) -> Party {
    Party {
        id,
        business_id: 1,
        name: name.into(),
        email: None,
        phone: Some("0700 000 000".into()),
        address: None,
        party_type: "Customer".into(),
        due: d(due),
        credit_limit: None,
        opening_balance: d("0"),
        status: 1,
        version: 1,
        created_at: at(),
        updated_at: at(),
        deleted_at: None,
    }
}

/// The demo catalog: VAT 15% and 5%, three payment types, five products.
pub fn catalog_page(settings: Settings) -> FullResponse {
    FullResponse {
        success: true,
        data: FullData {
            categories: Some(vec![category(1, "Drinks"), category(2, "Fresh")]),
            brands: Some(vec![]),
            units: Some(vec![]),
            vats: Some(vec![vat(1, "15"), vat(2, "5")]),
            payment_types: Some(vec![
                payment_type(1, "Cash", false),
                payment_type(2, "Card", false),
                payment_type(3, "Credit", true),
            ]),
            warehouses: Some(vec![]),
            products: Some(vec![
                product(
                    10,
                    "Cola Zero 330ml",
                    "COLA0",
                    Some("5000112637922"),
                    "1.20",
                    Some(1),
                    1,
                ),
                product(11, "Orange Juice 1L", "OJ1", None, "2.49", Some(2), 1),
                product(
                    12,
                    "Bananas loose",
                    "BAN",
                    Some("2000000000015"),
                    "1.99",
                    Some(2),
                    2,
                ),
                product(13, "Sparkling Water", "WATER", None, "0.80", None, 1),
                product(14, "Cola Classic 330ml", "COLA1", None, "1.10", Some(1), 1),
            ]),
            stocks: Some(vec![
                stock(100, 10, "24", "1.20"),
                stock(101, 11, "10", "2.49"),
                // An empty batch first: a sale must take the row that has stock.
                stock(102, 12, "0", "1.99"),
                stock(103, 12, "12.5", "1.99"),
                stock(104, 13, "6", "0.80"),
                stock(105, 14, "3", "1.10"),
            ]),
            parties: Some(vec![party(50, "Alice Martin", "0")]),
            cashiers: None,
            settings: Some(settings),
        },
        sync_token: "token-1".into(),
        server_timestamp: at(),
        has_more: false,
        next_cursor: None,
    }
}

pub fn sign_in_data(token: &str) -> SignInData {
    SignInData {
        token: token.into(),
        is_setup: true,
        currency: settings(true, false, 2).currency,
        user: UserSummary {
            id: 7,
            name: "Casey Cashier".into(),
            email: "cashier@example.com".into(),
            role: Role::Cashier,
            business_id: 1,
        },
        expires_at: at() + chrono::Duration::days(30),
    }
}

/// A till in `dir` with the demo catalog (VAT on, prices exclusive, 2 decimals) and a
/// signed-in cashier.
pub fn seeded(dir: &std::path::Path) -> Engine {
    seeded_with(dir, settings(true, false, 2))
}

pub fn seeded_with(dir: &std::path::Path, settings: Settings) -> Engine {
    seeded_as(dir, settings, Role::Cashier)
}

/// The demo till signed in by a manager (user 7), who authorises returns, pay-outs and
/// no-sale drawer openings themself.
pub fn seeded_by_manager(dir: &std::path::Path) -> Engine {
    seeded_as(dir, settings(true, false, 2), Role::Manager)
}

pub fn seeded_as(dir: &std::path::Path, settings: Settings, role: Role) -> Engine {
    let engine = open(dir);
    engine
        .apply_full_page(&catalog_page(settings), None)
        .unwrap();
    let mut sign_in = sign_in_data("test-token-0123456789");
    sign_in.user.role = role;
    engine
        .adopt_session("http://127.0.0.1:9", sign_in, None)
        .unwrap();
    engine
}

/// No file of the till's data folder (the database, its WAL and journal) holds an Argon2 string,
/// read as bytes, free pages included.
pub fn assert_no_verifier_in(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(7).any(|w| w == b"$argon2"),
                "{} holds an Argon2 verifier",
                path.display()
            );
        }
    }
}
