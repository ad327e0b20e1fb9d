//! The generator's promises: same seed, same catalog; valid and unique barcodes; pages that
//! hold every record once and that the engine's real apply path accepts.

use std::collections::HashSet;

use pos_bench::dataset::{is_valid_ean13, Dataset, DatasetConfig};
use pos_bench::fixture;
use pos_protocol::entities::EntityKind;

fn small(seed: u64) -> Dataset {
    Dataset::new(DatasetConfig {
        seed,
        products: 2_000,
        parties: 300,
        business_id: 1,
    })
}

fn page_json(dataset: &Dataset) -> Vec<String> {
    dataset
        .full_pages(250)
        .map(|p| serde_json::to_string(&p).unwrap())
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    assert_eq!(page_json(&small(7)), page_json(&small(7)));
    assert_ne!(page_json(&small(7)), page_json(&small(8)));
}

#[test]
fn records_can_be_made_one_at_a_time_and_match_the_pages() {
    let dataset = small(3);
    let from_pages: Vec<_> = dataset
        .full_pages(500)
        .flat_map(|p| p.data.products.unwrap_or_default())
        .collect();
    assert_eq!(from_pages.len(), 2_000);
    assert_eq!(from_pages[1234], dataset.product(1234));
    assert_eq!(dataset.product(1234).id, 1235);
}

#[test]
fn every_barcode_of_the_full_catalog_is_a_valid_unique_ean13() {
    let dataset = Dataset::new(DatasetConfig::default());
    let mut seen = HashSet::with_capacity(100_000);
    for index in 0..dataset.config().products {
        let code = dataset.barcode(index);
        assert!(
            is_valid_ean13(&code),
            "product {index}: {code} is not a valid EAN-13"
        );
        assert!(
            seen.insert(code.clone()),
            "product {index}: {code} used twice"
        );
    }
    assert_eq!(seen.len(), 100_000);
}

#[test]
fn product_codes_and_party_phones_are_unique() {
    let dataset = small(11);
    let codes: HashSet<_> = (0..2_000)
        .map(|i| dataset.product(i).product_code)
        .collect();
    assert_eq!(codes.len(), 2_000);
    let phones: HashSet<_> = (0..300).map(|i| dataset.party(i).phone).collect();
    assert_eq!(phones.len(), 300);
}

#[test]
fn prices_are_exact_cents_and_stock_matches_the_product() {
    let dataset = small(5);
    for index in 0..2_000 {
        let product = dataset.product(index);
        let stock = dataset.stock(index);
        assert!(product.product_sale_price > pos_protocol::Decimal::ZERO);
        assert!(
            product.product_sale_price.scale() <= 2,
            "{}",
            product.product_sale_price
        );
        assert!(product.product_purchase_price < product.product_sale_price);
        assert_eq!(stock.product_id, product.id);
        assert_eq!(stock.product_stock, product.product_stock);
        assert!(stock.product_stock.scale() <= 3);
        let words = product.product_name.split_whitespace().count();
        assert!(
            words >= 4,
            "name '{}' is too short to search by words",
            product.product_name
        );
    }
}

#[test]
fn pages_hold_every_record_once_within_the_page_size() {
    let dataset = small(9);
    let pages: Vec<_> = dataset.full_pages(300).collect();
    assert_eq!(pages.len(), dataset.page_count(300));
    assert!(
        pages[0].data.settings.is_some(),
        "the first page carries the settings"
    );
    assert!(
        pages[0].data.parties.is_some(),
        "the first page names every entity, so the mirror is cleared"
    );
    assert!(pages
        .last()
        .is_some_and(|p| !p.has_more && p.next_cursor.is_none()));
    assert!(pages[..pages.len() - 1].iter().all(|p| p.has_more));
    let mut per_kind = std::collections::BTreeMap::<&str, usize>::new();
    for page in &pages {
        let json = serde_json::to_value(&page.data).unwrap();
        let mut in_page = 0;
        for kind in EntityKind::ALL {
            let n = json[kind.as_str()].as_array().map_or(0, Vec::len);
            *per_kind.entry(kind.as_str()).or_default() += n;
            in_page += n;
        }
        assert!(in_page <= 300, "a page held {in_page} records");
    }
    for kind in EntityKind::ALL {
        assert_eq!(
            per_kind[kind.as_str()],
            dataset.count(kind),
            "{}",
            kind.as_str()
        );
    }
    let ids: HashSet<i64> = pages
        .iter()
        .flat_map(|p| p.data.parties.clone().unwrap_or_default())
        .map(|p| p.id)
        .collect();
    assert_eq!(ids.len(), 300);
}

#[test]
fn the_engine_takes_the_pages_and_finds_products_by_barcode_and_word_prefix() {
    fixture::use_file_credentials();
    let dir = tempfile::tempdir().unwrap();
    let dataset = small(13);
    let engine = fixture::open_engine(dir.path()).unwrap();
    let report = fixture::load_full_download(&engine, &dataset, 500).unwrap();
    assert_eq!(
        report.records as usize,
        dataset.total_records() + 1,
        "records + settings"
    );
    let wanted = dataset.product(777);
    let found = engine
        .product_by_code(&dataset.barcode(777))
        .unwrap()
        .unwrap();
    assert_eq!(found.id, wanted.id);
    assert_eq!(found.product_sale_price, wanted.product_sale_price);
    let first_word = wanted.product_name.split_whitespace().next().unwrap();
    let prefix = &first_word[..3];
    let hits = engine.search_products(prefix, 20).unwrap();
    assert!(!hits.is_empty(), "nothing starts with '{prefix}'");
    assert!(hits.iter().all(|p| p
        .product_name
        .split_whitespace()
        .any(|w| w.to_lowercase().starts_with(&prefix.to_lowercase()))));
}

#[test]
fn a_pull_page_changes_prices_and_the_engine_applies_it() {
    fixture::use_file_credentials();
    let dir = tempfile::tempdir().unwrap();
    let dataset = small(17);
    let engine = fixture::open_engine(dir.path()).unwrap();
    fixture::load_full_download(&engine, &dataset, 1000).unwrap();
    let changes = dataset.changed_products(100, 500, 3);
    assert_eq!(changes.total_records, 500);
    assert_eq!(engine.apply_changes(&changes).unwrap(), 500);
    let after = engine
        .product_by_code(&dataset.barcode(150))
        .unwrap()
        .unwrap();
    let before = dataset.product(150);
    assert_eq!(
        after.product_sale_price,
        before.product_sale_price + pos_protocol::Decimal::new(20, 2)
    );
}
