//! Applying the server's `full` pages and `changes` answers to the local mirror.
//! Run under `engine/scripts/with-keyring.sh`.

mod common;

use common::*;
use pos_protocol::sync::{ChangeSet, ChangesData, ChangesResponse, FullData, FullResponse};

fn changes(data: ChangesData, token: &str) -> ChangesResponse {
    ChangesResponse {
        success: true,
        data,
        sync_token: token.into(),
        server_timestamp: at(),
        has_more: false,
        total_records: 0,
    }
}

fn names(engine: &pos_engine::Engine, text: &str) -> Vec<String> {
    engine
        .search_products(text, 20)
        .unwrap()
        .into_iter()
        .map(|p| p.product_name)
        .collect()
}

#[test]
fn changes_create_update_and_delete_and_an_old_version_never_wins() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());

    let mut renamed = product(11, "Apple Juice 1L", "OJ1", None, "2.99", Some(2), 1);
    renamed.version = 3;
    let mut stale = product(13, "Old Water Name", "WATER", None, "0.10", None, 1);
    stale.version = 0;
    let mut tombstone = product(14, "Cola Classic 330ml", "COLA1", None, "1.10", Some(1), 1);
    tombstone.deleted_at = Some(at());
    let mut new_settings = settings(false, false, 2);
    new_settings.company_name = "Corner Shop Ltd".into();
    let applied = engine
        .apply_changes(&changes(
            ChangesData {
                products: Some(ChangeSet {
                    created: vec![product(
                        15,
                        "Tea Bags 80",
                        "TEA",
                        Some("123"),
                        "3.50",
                        Some(1),
                        2,
                    )],
                    updated: vec![renamed, stale, tombstone],
                    deleted: vec![12],
                }),
                categories: Some(ChangeSet {
                    created: vec![],
                    updated: vec![],
                    deleted: vec![2],
                }),
                settings: Some(new_settings),
                ..ChangesData::default()
            },
            "token-2",
        ))
        .unwrap();
    assert_eq!(
        applied, 7,
        "five product records, one category, the settings"
    );

    assert_eq!(names(&engine, "apple"), ["Apple Juice 1L"]);
    assert!(
        names(&engine, "orange").is_empty(),
        "the old name left the search index"
    );
    let juice = engine.product_by_code("OJ1").unwrap().unwrap();
    assert_eq!(juice.product_sale_price, d("2.99"));
    assert_eq!(
        juice.vat_rate,
        d("0"),
        "VAT was switched off in the new settings"
    );
    assert_eq!(
        names(&engine, "water"),
        ["Sparkling Water"],
        "version 0 did not overwrite 1"
    );
    assert!(
        engine.product_by_code("COLA1").unwrap().is_none(),
        "tombstone"
    );
    assert!(
        engine.product_by_code("BAN").unwrap().is_none(),
        "deleted id"
    );
    assert_eq!(
        engine.product_by_code("123").unwrap().unwrap().product_name,
        "Tea Bags 80"
    );
    assert_eq!(engine.categories().unwrap().len(), 1);
    assert_eq!(engine.session().unwrap().business_name, "Corner Shop Ltd");
}

#[test]
fn a_price_change_keeps_the_name_searchable_and_the_name_index_sound() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    let mut repriced = product(13, "Sparkling Water", "WATER", None, "0.95", None, 1);
    repriced.version = 2;
    let mut renamed = product(14, "Cola Cherry 330ml", "COLA1", None, "1.10", Some(1), 1);
    renamed.version = 2;
    engine
        .apply_changes(&changes(
            ChangesData {
                products: Some(ChangeSet {
                    created: vec![],
                    updated: vec![repriced, renamed],
                    deleted: vec![],
                }),
                ..ChangesData::default()
            },
            "token-2",
        ))
        .unwrap();
    assert_eq!(names(&engine, "sparkl"), ["Sparkling Water"]);
    assert_eq!(
        engine
            .product_by_code("WATER")
            .unwrap()
            .unwrap()
            .product_sale_price,
        d("0.95")
    );
    assert_eq!(names(&engine, "cola cher"), ["Cola Cherry 330ml"]);
    assert!(
        names(&engine, "classic").is_empty(),
        "the old name left the index"
    );
    let db = rusqlite::Connection::open(engine.database_path()).unwrap();
    db.execute(
        "INSERT INTO products_fts (products_fts) VALUES ('integrity-check')",
        [],
    )
    .expect("the name index matches the products table");
}

#[test]
fn a_full_download_in_pages_replaces_the_mirror_and_keeps_the_first_token() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    let page = |products, token: &str, has_more| FullResponse {
        success: true,
        data: FullData {
            products: Some(products),
            ..FullData::default()
        },
        sync_token: token.into(),
        server_timestamp: at(),
        has_more,
        next_cursor: has_more.then(|| "next".to_string()),
    };
    engine
        .apply_full_page(
            &page(
                vec![product(20, "Rye Bread", "RYE", None, "2.10", None, 1)],
                "first",
                true,
            ),
            None,
        )
        .unwrap();
    engine
        .apply_full_page(
            &page(
                vec![product(21, "Rye Crackers", "RYC", None, "1.60", None, 1)],
                "later",
                false,
            ),
            Some("first"),
        )
        .unwrap();
    assert_eq!(names(&engine, "rye"), ["Rye Bread", "Rye Crackers"]);
    assert!(
        names(&engine, "cola").is_empty(),
        "products not in the download are gone"
    );
    assert_eq!(
        engine.payment_types().unwrap().len(),
        3,
        "entities not in it are kept"
    );

    let db = rusqlite::Connection::open(engine.database_path()).unwrap();
    let token: String = db
        .query_row("SELECT sync_token FROM terminal_state", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        token, "first",
        "changes continue from before the download began"
    );
}

#[test]
fn a_full_download_cut_short_gets_its_name_index_rebuilt_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    let first_page = FullResponse {
        success: true,
        data: FullData {
            products: Some(vec![product(20, "Rye Bread", "RYE", None, "2.10", None, 1)]),
            ..FullData::default()
        },
        sync_token: "first".into(),
        server_timestamp: at(),
        has_more: true,
        next_cursor: Some("next".into()),
    };
    engine.apply_full_page(&first_page, None).unwrap();
    // The terminal stops here: the last page never comes.
    drop(engine);

    let engine = open(dir.path());
    assert_eq!(names(&engine, "rye"), ["Rye Bread"]);
    assert!(
        names(&engine, "cola").is_empty(),
        "emptied products left the index"
    );
    let db = rusqlite::Connection::open(engine.database_path()).unwrap();
    db.execute(
        "INSERT INTO products_fts (products_fts) VALUES ('integrity-check')",
        [],
    )
    .expect("the name index matches the products table");
    let stale: bool = db
        .query_row("SELECT name_index_stale FROM terminal_state", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(!stale, "the rebuild cleared the flag");
}
