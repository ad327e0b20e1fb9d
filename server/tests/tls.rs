//! HTTPS without a proxy: the server with a certificate it generated (the fingerprint it prints
//! is the one a client sees, `tls-fingerprint` prints it again, a restart keeps it), with a
//! certificate given as PEM files, and the default transport per address (plain on loopback,
//! HTTPS beyond it unless a TLS-terminating proxy is declared).

mod common;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Backend, TestServer};
use pos_server::tls::{self, Transport};
use pos_server::Settings;
use rustls::pki_types::pem::PemObject;

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

/// A client that accepts any certificate and keeps the one it saw, to compare fingerprints.
fn inspecting_client() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .tls_info(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Status of `GET url` and the fingerprint of the certificate the server presented.
async fn health(url: &str) -> (u16, String) {
    let response = inspecting_client()
        .get(format!("{url}/api/v1/sync/health"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let certificate = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("a TLS answer carries the server's certificate")
        .to_vec();
    (response.status().as_u16(), tls::fingerprint(&certificate))
}

/// Serves `settings` in-process on `listener` until the sender is dropped.
fn serve(
    settings: Settings,
    listener: tokio::net::TcpListener,
) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        pos_server::launch(settings, listener, async {
            let _ = stopped.await;
        })
        .await
        .expect("the server runs");
    });
    stop
}

/// `pos-server serve` on a free loopback port with HTTPS forced; returns the process, the
/// address and the fingerprint it printed.
fn start_process(database_url: &str, data_dir: &Path) -> (Child, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pos-server"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--tls",
            "https",
            "--data-dir",
        ])
        .arg(data_dir)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start pos-server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = lines.by_ref().find_map(|line| {
        let line = line.expect("read the server's output");
        line.strip_prefix("serving https on ").map(str::to_string)
    });
    let Some(started) = started else {
        let _ = child.kill();
        panic!("pos-server stopped without printing its certificate's fingerprint");
    };
    // Keep reading, so the server never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let (address, fingerprint) = started
        .split_once("; certificate SHA-256 fingerprint ")
        .unwrap_or_else(|| panic!("unexpected start line: {started}"));
    (child, address.to_string(), fingerprint.to_string())
}

fn print_fingerprint(database_url: &str, data_dir: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_pos-server"))
        .args(["tls-fingerprint", "--data-dir"])
        .arg(data_dir)
        .env("DATABASE_URL", database_url)
        .output()
        .expect("run pos-server tls-fingerprint");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

async fn a_generated_certificate_is_served_with_the_fingerprint_printed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let data_dir = tempfile::tempdir().unwrap();
    let (mut child, address, printed) = start_process(&server.database_url, data_dir.path());
    let url = format!("https://{address}");
    let (status, seen) = health(&url).await;
    assert_eq!(status, 200);
    assert_eq!(
        seen, printed,
        "the client sees the certificate whose fingerprint was printed"
    );
    assert_eq!(
        printed.len(),
        32 * 3 - 1,
        "SHA-256 as colon-separated pairs: {printed}"
    );

    // The API answers over it: an owner signs in.
    let response = inspecting_client()
        .post(format!("{url}/api/v1/sign-in"))
        .json(&serde_json::json!({"email": "owner@demo.test", "password": common::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Plain http to the same port gets no answer.
    assert!(reqwest::get(format!("http://{address}/api/v1/sync/health"))
        .await
        .is_err());

    // The owner can print it again, and the key is readable by its owner only.
    assert_eq!(
        print_fingerprint(&server.database_url, data_dir.path()),
        printed
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = data_dir.path().join(tls::GENERATED_KEY_FILE);
        let mode = std::fs::metadata(key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // A restart presents the same certificate.
    let (mut child, address, again) = start_process(&server.database_url, data_dir.path());
    assert_eq!(again, printed);
    assert_eq!(health(&format!("https://{address}")).await.1, printed);
    child.kill().unwrap();
    child.wait().unwrap();
}

async fn a_given_certificate_is_served(backend: Backend) {
    let server = TestServer::start(backend).await;
    let folder = tempfile::tempdir().unwrap();
    let key_pair = rcgen::KeyPair::generate().unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["pos.shop.test".to_string()])
        .unwrap()
        .self_signed(&key_pair)
        .unwrap();
    let cert_file = folder.path().join("shop.crt");
    let key_file = folder.path().join("shop.key");
    std::fs::write(&cert_file, certificate.pem()).unwrap();
    std::fs::write(&key_file, key_pair.serialize_pem()).unwrap();

    let mut settings = Settings::new(server.database_url.clone());
    settings.tls_cert = Some(cert_file);
    settings.tls_key = Some(key_file);
    settings.data_dir = folder.path().join("unused");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let _stop = serve(settings, listener);

    // Given a certificate, the server speaks HTTPS even on loopback, and presents that one.
    let (status, seen) = health(&format!("https://{address}")).await;
    assert_eq!(status, 200);
    assert_eq!(seen, tls::fingerprint(certificate.der()));
    assert!(
        !folder.path().join("unused").exists(),
        "nothing generated when a certificate is given"
    );
}

async fn beyond_loopback_the_server_speaks_https_unless_behind_a_proxy(backend: Backend) {
    let server = TestServer::start(backend).await;
    let lan = lan_address();
    let data_dir = tempfile::tempdir().unwrap();

    let mut settings = Settings::new(server.database_url.clone());
    settings.data_dir = data_dir.path().to_path_buf();
    assert_eq!(settings.transport, Transport::Auto, "the default");
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(lan, 0))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    let _https = serve(settings, listener);
    let (status, seen) = health(&format!("https://{address}")).await;
    assert_eq!(status, 200);
    let generated = std::fs::read(data_dir.path().join(tls::GENERATED_CERT_FILE)).unwrap();
    let generated = rustls::pki_types::CertificateDer::from_pem_slice(&generated).unwrap();
    assert_eq!(seen, tls::fingerprint(&generated));
    assert!(reqwest::get(format!("http://{address}/api/v1/sync/health"))
        .await
        .is_err());

    // Declared behind a TLS-terminating proxy, it speaks plain http there.
    let mut settings = Settings::new(server.database_url.clone());
    settings.transport = Transport::BehindProxy;
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(lan, 0))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    let _plain = serve(settings, listener);
    let response = reqwest::get(format!("http://{address}/api/v1/sync/health"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // On loopback the default stays plain http (the demo and the tests).
    let response = reqwest::get(server.url("/api/v1/sync/health"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

on_both_databases!(
    a_generated_certificate_is_served_with_the_fingerprint_printed,
    a_given_certificate_is_served,
    beyond_loopback_the_server_speaks_https_unless_behind_a_proxy,
);
