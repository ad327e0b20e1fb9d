//! `seed-demo`: a demo business to try the product with, and a second one to try isolation.
//! Running it again changes nothing: a business that already exists is left alone.
//! Catalog rows go through the same checks as the API (`resources::create_record`).

use anyhow::Context;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::auth::hash_password;
use crate::resources::{create_record, spec};
use crate::store::{NewBusiness, NewUser, Store};

pub const DEMO_PASSWORD: &str = "demo-pass-1";
pub const DEMO_BUSINESS: &str = "Demo Mart";
pub const OTHER_BUSINESS: &str = "Other Shop";

#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub demo_business_id: i64,
    pub other_business_id: i64,
    /// Businesses created by this run (0 when everything already existed).
    pub created: usize,
}

/// Creates one user; the email is stored lower-cased.
pub async fn create_user(
    store: &dyn Store,
    business_id: i64,
    name: &str,
    email: &str,
    role: &str,
    password: &str,
) -> anyhow::Result<i64> {
    if pos_protocol::auth::Role::parse(role).is_none() {
        anyhow::bail!("role must be owner, manager or cashier, not '{role}'");
    }
    if password.chars().count() < 8 {
        anyhow::bail!("the password must have at least 8 characters");
    }
    let password = password.to_string();
    let password_hash = crate::auth::argon2_work(move || hash_password(&password)).await??;
    let id = store
        .create_user(
            &NewUser {
                business_id,
                name: name.trim().to_string(),
                email: email.trim().to_lowercase(),
                role: role.to_string(),
                password_hash,
            },
            pos_protocol::time::now(),
        )
        .await?;
    Ok(id)
}

async fn add(
    store: &dyn Store,
    spec: &'static spec::ResourceSpec,
    business_id: i64,
    body: Value,
) -> anyhow::Result<i64> {
    let body: Map<String, Value> = match body {
        Value::Object(map) => map,
        _ => anyhow::bail!("seed rows are objects"),
    };
    let record = create_record(store, spec, business_id, &body)
        .await
        .with_context(|| format!("seeding a {}", spec.entity_type))?;
    record
        .get("id")
        .and_then(Value::as_i64)
        .context("a created row has an id")
}

/// The product's own barcode sold as its standard variant, so the demo has a variant to show.
async fn add_standard_variant(
    store: &dyn Store,
    business_id: i64,
    product_id: i64,
    barcode: &str,
    price: &str,
) -> anyhow::Result<i64> {
    add(
        store,
        &spec::VARIANTS,
        business_id,
        json!({"product_id": product_id, "sku": format!("{barcode}-STD"), "barcode": barcode, "price": price}),
    )
    .await
}

/// A 13-digit code in the in-store range (prefix 200) with a valid EAN-13 check digit.
pub fn ean13(n: u64) -> String {
    let body = format!("200{:09}", n % 1_000_000_000);
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

const ITEMS: &[(&str, usize)] = &[
    // (name, category index)
    ("Rice", 0),
    ("Flour", 0),
    ("Sugar", 0),
    ("Lentils", 0),
    ("Pasta", 0),
    ("Cooking Oil", 0),
    ("Tea", 1),
    ("Coffee", 1),
    ("Orange Juice", 1),
    ("Mineral Water", 1),
    ("Cola", 1),
    ("Milk", 1),
    ("Dish Soap", 2),
    ("Laundry Powder", 2),
    ("Glass Cleaner", 2),
    ("Paper Towels", 2),
    ("Shampoo", 3),
    ("Toothpaste", 3),
    ("Hand Soap", 3),
    ("Body Lotion", 3),
    ("Potato Chips", 4),
    ("Chocolate Bar", 4),
    ("Biscuits", 4),
    ("Salted Peanuts", 4),
    ("Granola Bar", 4),
];
const SIZES: &[&str] = &["Small", "Medium", "Large", "Family Pack"];

/// Seeds both demo businesses; `products` is the size of Demo Mart's catalog.
pub async fn seed_demo(store: &dyn Store, products: usize) -> anyhow::Result<SeedReport> {
    let mut report = SeedReport::default();
    match store.business_id_by_name(DEMO_BUSINESS).await? {
        Some(id) => report.demo_business_id = id,
        None => {
            report.demo_business_id = seed_demo_mart(store, products).await?;
            report.created += 1;
        }
    }
    match store.business_id_by_name(OTHER_BUSINESS).await? {
        Some(id) => report.other_business_id = id,
        None => {
            report.other_business_id = seed_other_shop(store).await?;
            report.created += 1;
        }
    }
    Ok(report)
}

async fn seed_demo_mart(store: &dyn Store, products: usize) -> anyhow::Result<i64> {
    let business = store
        .create_business(
            &NewBusiness {
                company_name: DEMO_BUSINESS.into(),
                currency_code: "USD".into(),
                currency_symbol: "$".into(),
                currency_minor_units: 2,
                invoice_prefix: "DM-".into(),
                timezone: "UTC".into(),
                vat_inclusive: false,
            },
            pos_protocol::time::now(),
        )
        .await?;
    for (name, email, role) in [
        ("Olivia Owner", "owner@demo.test", "owner"),
        ("Max Manager", "manager@demo.test", "manager"),
        ("Cara Cashier", "cashier@demo.test", "cashier"),
    ] {
        create_user(store, business, name, email, role, DEMO_PASSWORD).await?;
    }

    let mut categories = Vec::new();
    for name in [
        "Groceries",
        "Beverages",
        "Household",
        "Personal Care",
        "Snacks",
    ] {
        categories.push(
            add(
                store,
                &spec::CATEGORIES,
                business,
                json!({"categoryName": name}),
            )
            .await?,
        );
    }
    let mut brands = Vec::new();
    for name in ["FreshFarm", "Sunny", "CleanCo", "Daily"] {
        brands.push(add(store, &spec::BRANDS, business, json!({"brandName": name})).await?);
    }
    let mut units = Vec::new();
    for name in ["Piece", "Kg", "Litre", "Pack"] {
        units.push(add(store, &spec::UNITS, business, json!({"unitName": name})).await?);
    }
    let mut vats = Vec::new();
    for (name, rate) in [("No VAT", "0"), ("Reduced 5%", "5"), ("Standard 15%", "15")] {
        vats.push(
            add(
                store,
                &spec::VATS,
                business,
                json!({"name": name, "rate": rate}),
            )
            .await?,
        );
    }
    for (name, is_credit) in [("Cash", false), ("Card", false), ("Due", true)] {
        add(
            store,
            &spec::PAYMENT_TYPES,
            business,
            json!({"name": name, "is_credit": is_credit}),
        )
        .await?;
    }
    let warehouse = add(
        store,
        &spec::WAREHOUSES,
        business,
        json!({"name": "Main Store", "address": "1 Market Street"}),
    )
    .await?;

    for i in 0..products {
        let (item, category) = ITEMS[i % ITEMS.len()];
        let size = SIZES[(i / ITEMS.len()) % SIZES.len()];
        let brand_index = (i / (ITEMS.len() * SIZES.len())) % brands.len();
        let brand_name = ["FreshFarm", "Sunny", "CleanCo", "Daily"][brand_index];
        let sale_cents = 50 + (i as i64 * 37) % 2000;
        let sale = Decimal::new(sale_cents, 2);
        let purchase = Decimal::new(sale_cents * 7 / 10, 2);
        let product = add(
            store,
            &spec::PRODUCTS,
            business,
            json!({
                "productName": format!("{brand_name} {item} {size}"),
                "productCode": format!("P{:05}", i + 1),
                "barcode": ean13(i as u64 + 1),
                "category_id": categories[category],
                "brand_id": brands[brand_index],
                "unit_id": units[i % units.len()],
                "vat_id": vats[i % vats.len()],
                "vat_type": "exclusive",
                "productPurchasePrice": purchase.to_string(),
                "productSalePrice": sale.to_string(),
                "productWholeSalePrice": sale.to_string(),
                "productDealerPrice": sale.to_string(),
                "alert_qty": "5",
            }),
        )
        .await?;
        add(
            store,
            &spec::STOCKS,
            business,
            json!({
                "product_id": product,
                "warehouse_id": warehouse,
                "productStock": 20 + (i * 7) % 80,
                "productPurchasePrice": purchase.to_string(),
                "productSalePrice": sale.to_string(),
                "productWholeSalePrice": sale.to_string(),
                "productDealerPrice": sale.to_string(),
            }),
        )
        .await?;
        if i == 0 {
            add_standard_variant(store, business, product, &ean13(1), &sale.to_string()).await?;
        }
    }

    for (name, phone) in [
        ("Alice Brown", "555-0101"),
        ("Bilal Khan", "555-0102"),
        ("Chen Wei", "555-0103"),
        ("Dana Smith", "555-0104"),
        ("Eve Adams", "555-0105"),
    ] {
        add(
            store,
            &spec::PARTIES,
            business,
            json!({"name": name, "phone": phone, "type": "Customer"}),
        )
        .await?;
    }
    add(
        store,
        &spec::PARTIES,
        business,
        json!({"name": "Metro Wholesale", "phone": "555-0200", "type": "Supplier"}),
    )
    .await?;
    Ok(business)
}

async fn seed_other_shop(store: &dyn Store) -> anyhow::Result<i64> {
    let business = store
        .create_business(
            &NewBusiness {
                company_name: OTHER_BUSINESS.into(),
                currency_code: "EUR".into(),
                currency_symbol: "€".into(),
                currency_minor_units: 2,
                invoice_prefix: "OS-".into(),
                timezone: "Europe/Berlin".into(),
                vat_inclusive: true,
            },
            pos_protocol::time::now(),
        )
        .await?;
    for (name, email, role) in [
        ("Otto Owner", "owner@other.test", "owner"),
        ("Clara Cashier", "cashier@other.test", "cashier"),
    ] {
        create_user(store, business, name, email, role, DEMO_PASSWORD).await?;
    }
    add(
        store,
        &spec::PAYMENT_TYPES,
        business,
        json!({"name": "Cash"}),
    )
    .await?;
    let warehouse = add(
        store,
        &spec::WAREHOUSES,
        business,
        json!({"name": "Back Room"}),
    )
    .await?;
    for (i, (name, price)) in [("Sourdough Bread", "3.20"), ("Whole Milk", "1.15")]
        .into_iter()
        .enumerate()
    {
        let product = add(
            store,
            &spec::PRODUCTS,
            business,
            json!({
                "productName": name,
                "productCode": format!("OS{:03}", i + 1),
                "barcode": ean13(900_000 + i as u64),
                "productSalePrice": price,
            }),
        )
        .await?;
        add(
            store,
            &spec::STOCKS,
            business,
            json!({"product_id": product, "warehouse_id": warehouse, "productStock": 10, "productSalePrice": price}),
        )
        .await?;
        add_standard_variant(store, business, product, &ean13(900_000 + i as u64), price).await?;
    }
    Ok(business)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ean13_check_digit_is_valid() {
        let code = super::ean13(42);
        assert_eq!(code.len(), 13);
        let sum: u32 = code
            .bytes()
            .enumerate()
            .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
            .sum();
        assert_eq!(sum % 10, 0);
    }
}
