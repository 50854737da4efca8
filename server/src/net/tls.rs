//! HTTPS: the rustls server configuration, from PEM files or a self-signed certificate made
//! at start (rcgen, for `localhost`, `127.0.0.1` and `::1`).
//!
//! ALPN offers `h2` then `http/1.1`, as browsers expect. The certificate's SHA-256 fingerprint
//! (of its DER) is what a client that cannot check a chain pins; `--cert-out` writes the PEM
//! so a client can trust it as its only root instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use thiserror::Error;
use tokio_rustls::TlsAcceptor;

/// The names the self-signed certificate is valid for.
pub const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Why TLS could not be set up.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read the certificate chain from {path}: {source}")]
    Cert { path: PathBuf, source: rustls::pki_types::pem::Error },
    #[error("{0} holds no certificate")]
    NoCert(PathBuf),
    #[error("cannot read the private key from {path}: {source}")]
    Key { path: PathBuf, source: rustls::pki_types::pem::Error },
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A ready TLS setup.
#[derive(Clone)]
pub struct Tls {
    pub acceptor: TlsAcceptor,
    /// The leaf certificate, PEM.
    pub cert_pem: String,
    /// SHA-256 of the leaf certificate's DER, lowercase hex without separators.
    pub fingerprint: String,
    /// Whether the certificate was made at start.
    pub self_signed: bool,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("fingerprint", &self.fingerprint)
            .field("self_signed", &self.self_signed)
            .finish()
    }
}

impl Tls {
    /// From `cert` and `key` PEM files, or a fresh self-signed certificate when both are `None`.
    pub fn new(files: Option<(&Path, &Path)>) -> Result<Tls, TlsError> {
        let (chain, key, cert_pem, self_signed) = match files {
            Some((cert, key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|source| TlsError::Cert { path: cert.to_owned(), source })?;
                if chain.is_empty() {
                    return Err(TlsError::NoCert(cert.to_owned()));
                }
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|source| TlsError::Key { path: key.to_owned(), source })?;
                let pem = std::fs::read_to_string(cert).map_err(|e| TlsError::Cert {
                    path: cert.to_owned(),
                    source: rustls::pki_types::pem::Error::Io(e),
                })?;
                (chain, key, pem, false)
            }
            None => {
                let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|s| s.to_string()).collect();
                let made = rcgen::generate_simple_self_signed(names)?;
                let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
                (vec![made.cert.der().clone()], key, made.cert.pem(), true)
            }
        };
        let fingerprint = hex(ring::digest::digest(&ring::digest::SHA256, &chain[0]).as_ref());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls { acceptor: TlsAcceptor::from(Arc::new(config)), cert_pem, fingerprint, self_signed })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_round_trips_through_its_pem() {
        let tls = Tls::new(None).expect("self-signed");
        assert!(tls.self_signed);
        assert_eq!(tls.fingerprint.len(), 64);
        let back = CertificateDer::from_pem_slice(tls.cert_pem.as_bytes()).expect("our PEM parses");
        assert_eq!(hex(ring::digest::digest(&ring::digest::SHA256, &back).as_ref()), tls.fingerprint);
    }

    #[test]
    fn missing_files_are_named_in_the_error() {
        let e = Tls::new(Some((Path::new("/nonexistent/c.pem"), Path::new("/nonexistent/k.pem"))))
            .expect_err("no such file");
        assert!(e.to_string().contains("/nonexistent/c.pem"), "{e}");
    }
}
