//! The background sync runs by itself and reports through the status stream.
//! Run under `engine/scripts/with-keyring.sh`.

mod common;

use common::*;
use pos_engine::{PaymentInput, SyncActivity};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_server_it_backs_off_reports_offline_and_keeps_selling() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    let mut statuses = engine.subscribe_status();
    engine.start_background_sync();
    engine.start_background_sync(); // a second start is a no-op

    let backing_off = tokio::time::timeout(
        Duration::from_secs(10),
        statuses.wait_for(|s| s.activity == SyncActivity::BackingOff && s.last_error.is_some()),
    )
    .await
    .expect("the first attempt fails and the loop backs off")
    .unwrap()
    .clone();
    assert!(!backing_off.online);

    engine.cart_add_code("WATER", d("1")).unwrap();
    engine.complete_sale(PaymentInput::default()).unwrap();
    let queued = tokio::time::timeout(
        Duration::from_secs(10),
        statuses.wait_for(|s| s.pending == 1),
    )
    .await
    .expect("the sale shows as pending")
    .unwrap()
    .clone();
    assert!(queued.signed_in);
    assert_eq!(engine.sales(5).unwrap().len(), 1);
}
