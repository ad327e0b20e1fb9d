//! HTTPS without a proxy: which transport the server speaks on an address, the certificate it
//! presents (PEM files given by the operator, or one made on first start and kept in the data
//! folder) and that certificate's SHA-256 fingerprint, which tills pin at their first sign-in.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::Settings;

/// File names of the generated certificate and its key inside the data folder.
pub const GENERATED_CERT_FILE: &str = "pos-server-cert.pem";
pub const GENERATED_KEY_FILE: &str = "pos-server-key.pem";

/// How the server speaks to its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Transport {
    /// Plain HTTP on a loopback address (the demo, tests, a proxy on the same machine), HTTPS
    /// on any other address, and HTTPS everywhere when a certificate is given.
    #[default]
    Auto,
    /// HTTPS on every address.
    Https,
    /// Plain HTTP on every address: a TLS-terminating proxy in front speaks HTTPS to clients.
    BehindProxy,
}

/// The certificate chain and key the server presents, with the leaf's fingerprint.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// SHA-256 of the leaf certificate (DER), as `openssl x509 -fingerprint -sha256` prints it.
    pub fingerprint: String,
    /// Where it was read from, for the log.
    pub source: PathBuf,
}

/// Whether a server listening on `address` speaks HTTPS.
pub fn uses_tls(settings: &Settings, address: SocketAddr) -> bool {
    match settings.transport {
        Transport::Https => true,
        Transport::BehindProxy => false,
        Transport::Auto => settings.tls_cert.is_some() || !address.ip().is_loopback(),
    }
}

/// SHA-256 of a DER certificate as upper-case hex pairs joined by colons.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The certificate the settings name, or else the one in the data folder, made there first
/// when it is missing.
pub fn load_or_create_identity(settings: &Settings) -> anyhow::Result<Identity> {
    match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => read_identity(cert, key),
        (Some(_), None) => bail!("POS_TLS_KEY: a certificate was given without its private key"),
        (None, Some(_)) => bail!("POS_TLS_CERT: a private key was given without its certificate"),
        (None, None) => {
            let cert = settings.data_dir.join(GENERATED_CERT_FILE);
            let key = settings.data_dir.join(GENERATED_KEY_FILE);
            if !cert.exists() || !key.exists() {
                generate(&settings.data_dir, &cert, &key)?;
            }
            read_identity(&cert, &key)
        }
    }
}

fn read_identity(cert: &Path, key: &Path) -> anyhow::Result<Identity> {
    let chain = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("POS_TLS_CERT: cannot read {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("POS_TLS_CERT: {} is not PEM", cert.display()))?;
    let Some(leaf) = chain.first() else {
        bail!("POS_TLS_CERT: {} holds no certificate", cert.display());
    };
    let fingerprint = fingerprint(leaf);
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("POS_TLS_KEY: no private key read from {}", key.display()))?;
    Ok(Identity {
        chain,
        key,
        fingerprint,
        source: cert.to_path_buf(),
    })
}

/// A self-signed certificate for a back-room server. Its dates and names are rcgen's defaults
/// plus the loopback names: tills pin the certificate itself rather than check either, so it
/// never has to be renewed.
fn generate(data_dir: &Path, cert: &Path, key: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "pos-server");
    let key_pair = rcgen::KeyPair::generate()?;
    let certificate = params.self_signed(&key_pair)?;
    write_private(key, &key_pair.serialize_pem())?;
    std::fs::write(cert, certificate.pem())
        .with_context(|| format!("cannot write {}", cert.display()))?;
    tracing::info!(certificate = %cert.display(), "generated a self-signed certificate");
    Ok(())
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// The rustls configuration of the server (ring provider, HTTP/2 and HTTP/1.1).
pub fn server_config(identity: Identity) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .context("the certificate and the private key do not belong together")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
