//! The till's trust in its server, with a real till engine and a real server:
//! - at the first sign-in to a server with its own certificate the till shows the certificate's
//!   fingerprint (the one the server prints) and signs in only once it is confirmed; it is then
//!   pinned;
//! - another server with another certificate at the same address is refused, for sync and for
//!   sign-in, with a clear error; a cashier cannot accept it, an owner confirming the new
//!   fingerprint can, and the till works again;
//! - plain http to an address beyond loopback is refused unless an owner allowed it, and that
//!   allowance is remembered for the address.

use std::net::{IpAddr, SocketAddr};

use pos_e2e::fleet::{test_timings, use_file_credentials};
use pos_e2e::harness::{server_settings, Backend, Database, PASSWORD};
use pos_engine::sync::trust::TrustConfirmation;
use pos_engine::{Engine, EngineConfig, ErrorCode};
use pos_server::tls::Transport;

const CASHIER: &str = "cashier@demo.test";
const OWNER: &str = "owner@demo.test";

/// A server on `addr` (0 for any port) with `transport`, keeping a generated certificate in
/// `data_dir`; runs until the sender is dropped. Returns the address it listens on.
async fn serve(
    database_url: &str,
    addr: SocketAddr,
    transport: Transport,
    data_dir: &std::path::Path,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let mut attempts = 0;
    let listener = loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => break listener,
            // The previous server on this address may still be letting go of it.
            Err(e) if attempts < 100 => {
                attempts += 1;
                tracing::info!("{addr} not free yet: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot bind {addr}: {e}"),
        }
    };
    let bound = listener.local_addr().unwrap();
    let mut settings = server_settings(database_url);
    settings.transport = transport;
    settings.data_dir = data_dir.to_path_buf();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        pos_server::launch(settings, listener, async {
            let _ = stopped.await;
        })
        .await
        .expect("the server runs");
    });
    (bound, stop)
}

/// The fingerprint the server prints for the certificate in `data_dir`.
fn printed_fingerprint(database_url: &str, data_dir: &std::path::Path) -> String {
    let mut settings = server_settings(database_url);
    settings.data_dir = data_dir.to_path_buf();
    pos_server::tls::load_or_create_identity(&settings)
        .unwrap()
        .fingerprint
}

fn open_till(folder: &tempfile::TempDir) -> Engine {
    use_file_credentials();
    Engine::open(EngineConfig {
        data_dir: folder.path().to_path_buf(),
        server_url: None,
        timings: test_timings(),
    })
    .unwrap()
}

fn confirming(fingerprint: &str) -> TrustConfirmation {
    TrustConfirmation {
        certificate_sha256: Some(fingerprint.to_string()),
        allow_plain_http: false,
    }
}

async fn the_till_pins_the_certificate_and_only_an_owner_replaces_it(backend: Backend) {
    let db = Database::create(backend).await;
    let first_dir = tempfile::tempdir().unwrap();
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let (addr, stop_first) = serve(&db.url, loopback, Transport::Https, first_dir.path()).await;
    let first = printed_fingerprint(&db.url, first_dir.path());
    let url = format!("https://{addr}");
    let folder = tempfile::tempdir().unwrap();
    let till = open_till(&folder);

    // First sign-in: the till shows the certificate's fingerprint and does not sign in.
    let err = till.login(&url, CASHIER, PASSWORD, None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ServerCertificateUnknown, "{err}");
    let seen = err.certificate.clone().expect("the certificate seen");
    assert_eq!(
        seen.presented_sha256, first,
        "the fingerprint the server printed"
    );
    assert_eq!(seen.pinned_sha256, None);
    assert!(err.message.contains(&first), "{err}");
    assert!(till.session().is_none());

    // Confirmed (typed in lower case, with spaces), the sign-in goes through and pins it.
    let typed = first.replace(':', " ").to_lowercase();
    till.login_confirming(&url, CASHIER, PASSWORD, None, &confirming(&typed))
        .await
        .expect("sign-in confirming the fingerprint");
    till.sync_now().await.expect("sync with the pinned server");
    till.login(&url, CASHIER, PASSWORD, None)
        .await
        .expect("later sign-ins need no confirmation");

    // Another server with another certificate at the same address.
    drop(stop_first);
    let second_dir = tempfile::tempdir().unwrap();
    let (_, _stop_second) = serve(&db.url, addr, Transport::Https, second_dir.path()).await;
    let second = printed_fingerprint(&db.url, second_dir.path());
    assert_ne!(first, second);
    let err = till.sync_now().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ServerCertificateChanged, "{err}");
    let seen = err.certificate.clone().expect("the certificate seen");
    assert_eq!(seen.presented_sha256, second);
    assert_eq!(seen.pinned_sha256.as_deref(), Some(first.as_str()));
    assert!(err.message.contains("owner"), "{err}");
    let err = till.login(&url, CASHIER, PASSWORD, None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ServerCertificateChanged, "{err}");

    // A cashier confirming the new fingerprint is refused, and the pin stays.
    let err = till
        .login_confirming(&url, CASHIER, PASSWORD, None, &confirming(&second))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ServerCertificateChanged, "{err}");
    assert!(err.message.contains("only an owner"), "{err}");
    let err = till.sync_now().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ServerCertificateChanged, "{err}");

    // An owner confirming it replaces the pin; the till syncs again.
    till.login_confirming(&url, OWNER, PASSWORD, None, &confirming(&second))
        .await
        .expect("an owner accepts the new certificate");
    till.sync_now()
        .await
        .expect("sync with the new certificate");
    till.login(&url, CASHIER, PASSWORD, None)
        .await
        .expect("the cashier signs in again without confirming");
}

/// An address of this machine that is not loopback (the one the default route leaves from);
/// `POS_TEST_LAN_ADDRESS` names one where there is no default route.
fn lan_address() -> IpAddr {
    if let Ok(text) = std::env::var("POS_TEST_LAN_ADDRESS") {
        return text.parse().expect("POS_TEST_LAN_ADDRESS is an IP address");
    }
    // Connecting a UDP socket sends nothing; it only picks the outgoing interface.
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    socket
        .connect("192.0.2.1:9")
        .or_else(|_| socket.connect("8.8.8.8:53"))
        .expect("a route off this machine (or set POS_TEST_LAN_ADDRESS)");
    let ip = socket.local_addr().unwrap().ip();
    assert!(
        !ip.is_loopback() && !ip.is_unspecified(),
        "no LAN address: {ip}"
    );
    ip
}

async fn plain_http_beyond_loopback_needs_an_owner(backend: Backend) {
    let db = Database::create(backend).await;
    let data_dir = tempfile::tempdir().unwrap();
    let lan = SocketAddr::new(lan_address(), 0);
    let (addr, _stop) = serve(&db.url, lan, Transport::BehindProxy, data_dir.path()).await;
    let url = format!("http://{addr}");
    let folder = tempfile::tempdir().unwrap();
    let till = open_till(&folder);

    let err = till.login(&url, CASHIER, PASSWORD, None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::PlainHttpRefused, "{err}");
    assert!(till.session().is_none());

    let allow = TrustConfirmation {
        certificate_sha256: None,
        allow_plain_http: true,
    };
    let err = till
        .login_confirming(&url, CASHIER, PASSWORD, None, &allow)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::PlainHttpRefused, "{err}");
    assert!(err.message.contains("only an owner"), "{err}");
    assert!(till.session().is_none());

    till.login_confirming(&url, OWNER, PASSWORD, None, &allow)
        .await
        .expect("an owner allows plain http to this server");
    // Remembered for the address: the cashier signs in and syncs without asking.
    till.login(&url, CASHIER, PASSWORD, None)
        .await
        .expect("the cashier signs in over the allowed plain http");
    till.sync_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_till_pins_the_certificate_and_only_an_owner_replaces_it_on_sqlite() {
    the_till_pins_the_certificate_and_only_an_owner_replaces_it(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_till_pins_the_certificate_and_only_an_owner_replaces_it_on_postgres() {
    the_till_pins_the_certificate_and_only_an_owner_replaces_it(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_beyond_loopback_needs_an_owner_on_sqlite() {
    plain_http_beyond_loopback_needs_an_owner(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_beyond_loopback_needs_an_owner_on_postgres() {
    plain_http_beyond_loopback_needs_an_owner(Backend::Postgres).await
}
