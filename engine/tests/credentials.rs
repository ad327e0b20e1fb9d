//! The token and the device id in the real OS credential store (Secret Service here).
//! Run under `engine/scripts/with-keyring.sh`, which starts a private, unlocked GNOME Keyring.

mod common;

use common::*;
use pos_engine::credentials::{device_account, token_account, CredentialStore, Secret};
use pos_engine::{ErrorCode, PaymentInput};

#[test]
fn the_os_store_keeps_a_secret_until_it_is_deleted() {
    let store = CredentialStore::Os;
    let account = format!("test:{}", uuid::Uuid::new_v4());
    assert_eq!(store.get(&account).unwrap(), None);
    store.set(&account, &Secret::new("first")).unwrap();
    store.set(&account, &Secret::new("second")).unwrap();
    assert_eq!(store.get(&account).unwrap().unwrap().expose(), "second");
    store.delete(&account).unwrap();
    assert_eq!(store.get(&account).unwrap(), None);
    store.delete(&account).unwrap();
}

#[test]
fn the_token_lives_in_the_credential_store_and_never_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let token = format!("tok-{}", uuid::Uuid::new_v4().simple());
    let engine = open(dir.path());
    engine
        .apply_full_page(&catalog_page(settings(true, false, 2)), None)
        .unwrap();
    engine
        .adopt_session("http://127.0.0.1:9", sign_in_data(&token), None)
        .unwrap();
    let device = engine.device().unwrap();
    let stored = CredentialStore::Os.get(&token_account(&device.id)).unwrap();
    assert_eq!(stored.unwrap().expose(), token);
    let session = engine.session().unwrap();
    assert_eq!(session.user.name, "Casey Cashier");
    assert_eq!(session.business_name, "Corner Shop");
    assert_eq!(session.device.short_code.len(), 8);

    engine.cart_add_code("WATER", d("1")).unwrap();
    engine.complete_sale(PaymentInput::default()).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "the token leaked into {}",
                path.display()
            );
        }
    }
}

#[test]
fn a_wiped_data_folder_finds_its_device_id_again() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path()).device().unwrap().id;
    let kept = CredentialStore::Os
        .get(&device_account(dir.path()))
        .unwrap();
    assert_eq!(kept.unwrap().expose(), first);
    // A reinstall that lost the folder's contents but not the folder's place.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::remove_file(path).unwrap();
        }
    }
    assert_eq!(open(dir.path()).device().unwrap().id, first);
}

#[tokio::test]
async fn signing_out_forgets_the_token_and_keeps_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    engine.cart_add_code("WATER", d("1")).unwrap();
    engine.complete_sale(PaymentInput::default()).unwrap();
    let device = engine.device().unwrap();

    let outcome = engine.logout().await.unwrap();
    assert_eq!(outcome.queued_operations, 1);
    assert!(
        !outcome.signed_out_on_server,
        "the server at :9 cannot be reached"
    );
    assert!(engine.session().is_none());
    assert_eq!(
        engine.remembered_server().unwrap().as_deref(),
        Some("http://127.0.0.1:9"),
        "the next sign-in is offered the same server"
    );
    assert_eq!(
        CredentialStore::Os.get(&token_account(&device.id)).unwrap(),
        None
    );
    assert_eq!(engine.status().pending, 1);
    assert!(!engine.status().signed_in);
    assert_eq!(engine.sales(10).unwrap().len(), 1);

    engine.cart_add_code("WATER", d("1")).unwrap();
    let err = engine.complete_sale(PaymentInput::default()).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotSignedIn);
    let err = engine.sync_now().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotSignedIn);
}

#[tokio::test]
async fn an_unreachable_server_is_reported_and_the_sale_stays_queued() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    engine.cart_add_code("WATER", d("1")).unwrap();
    engine.complete_sale(PaymentInput::default()).unwrap();
    let err = engine.sync_now().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ServerUnreachable, "{err:?}");
    let status = engine.status();
    assert!(!status.online);
    assert_eq!(status.pending, 1);
    assert!(status.last_error.is_some());
    assert_eq!(status.last_error_code, Some(ErrorCode::ServerUnreachable));
}

#[test]
fn queued_work_of_one_business_never_goes_to_another() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    engine.cart_add_code("WATER", d("1")).unwrap();
    engine.complete_sale(PaymentInput::default()).unwrap();

    let mut other = sign_in_data("other-business-token");
    other.user.business_id = 2;
    let err = engine
        .adopt_session("http://127.0.0.1:9", other.clone(), None)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidState);
    assert!(err.message.contains("1 unsynced"), "{}", err.message);
    let device = engine.device().unwrap();
    let kept = CredentialStore::Os.get(&token_account(&device.id)).unwrap();
    assert_eq!(
        kept.unwrap().expose(),
        "test-token-0123456789",
        "the old session stays"
    );
    assert_eq!(engine.session().unwrap().user.business_id, 1);

    // The same business signs in again without trouble, and once the queue is empty another
    // business may take the till.
    engine
        .adopt_session("http://127.0.0.1:9", sign_in_data("again"), None)
        .unwrap();
    let id = engine.queue().unwrap()[0].id;
    engine
        .queue_discard(id, "moved to the other shop by hand")
        .unwrap();
    engine
        .adopt_session("http://127.0.0.1:9", other, None)
        .unwrap();
    assert_eq!(engine.session().unwrap().user.business_id, 2);
}
