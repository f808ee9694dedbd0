//! TLS material, loaded once at start-up: the server's certificate and key (and, for mutual TLS,
//! the CAs whose client certificates it accepts) for `serve`, and the roots the alert webhook's
//! client trusts. rustls with the `ring` provider only (no OpenSSL); TLS 1.2 and 1.3.
//!
//! It exists so that every file is read and checked before the vault starts serving: a
//! certificate, key or CA that does not load is an error naming the file (exit 2 in the CLI).
//! It must never put the contents of a key file into an error or a log line (a PEM parser's
//! complaint can quote the line it choked on, so errors here are described, never echoed), and it
//! imports nothing else of the crate.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// TLS material that did not load; the message names the file and never quotes its contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(pub String);

/// The protocol versions hrvault speaks: TLS 1.3 and 1.2, nothing older.
static VERSIONS: [&rustls::SupportedProtocolVersion; 2] =
    [&rustls::version::TLS13, &rustls::version::TLS12];

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Describes a PEM error without quoting the file (it may be a private key).
fn describe(e: &pem::Error) -> String {
    match e {
        pem::Error::Io(io) => io.to_string(),
        pem::Error::NoItemsFound => "no PEM section of the expected kind".to_owned(),
        _ => "malformed PEM".to_owned(),
    }
}

/// Every certificate in a PEM file (at least one).
fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |why: String| {
        TlsError(format!(
            "cannot load the {what} from {}: {why}",
            path.display()
        ))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(describe(&e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(describe(&e)))?;
    if certs.is_empty() {
        return Err(fail("no CERTIFICATE in it".to_owned()));
    }
    Ok(certs)
}

/// A root store of every certificate in `path`.
fn roots_from(path: &Path, what: &str) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path, what)? {
        roots.add(cert).map_err(|e| {
            TlsError(format!(
                "cannot load the {what} from {}: not a usable CA certificate ({e})",
                path.display()
            ))
        })?;
    }
    Ok(roots)
}

/// The server side of `serve --tls-cert/--tls-key` (or `[tls]`): the certificate chain (leaf
/// first), its private key, and optionally the CAs every client certificate must chain to.
pub fn server_config(
    cert_file: &Path,
    key_file: &Path,
    client_ca_file: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = certificates(cert_file, "TLS certificate")?;
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        TlsError(format!(
            "cannot load the TLS private key from {}: {}",
            key_file.display(),
            describe(&e)
        ))
    })?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&VERSIONS)
        .map_err(|e| TlsError(format!("TLS set-up failed: {e}")))?;
    let builder = match client_ca_file {
        Some(ca) => {
            let roots = roots_from(ca, "client CA certificates")?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| {
                    TlsError(format!(
                        "cannot use the client CA certificates in {}: {e}",
                        ca.display()
                    ))
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        TlsError(format!(
            "the TLS private key in {} does not fit the certificate in {} ({e})",
            key_file.display(),
            cert_file.display()
        ))
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The client side of the alert webhook: Mozilla's roots (compiled in, so it works on hosts
/// without a CA bundle) plus every CA certificate in `extra_ca_file`.
pub fn client_config(extra_ca_file: Option<&Path>) -> Result<ClientConfig, TlsError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca_file {
        roots
            .roots
            .extend(roots_from(path, "webhook CA certificates")?.roots);
    }
    verifying_client(roots)
}

/// The client side of a PostgreSQL store's connections: the server's certificate and host name
/// are verified against the CA certificates in `ca_file` only (libpq's `PGSSLROOTCERT`), or,
/// without one, Mozilla's roots (managed databases with public certificates).
pub fn store_client_config(ca_file: Option<&Path>) -> Result<ClientConfig, TlsError> {
    let roots = match ca_file {
        Some(path) => roots_from(path, "PostgreSQL CA certificates (PGSSLROOTCERT)")?,
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    verifying_client(roots)
}

fn verifying_client(roots: RootCertStore) -> Result<ClientConfig, TlsError> {
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| TlsError(format!("TLS set-up failed: {e}")))?;
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&VERSIONS)
        .map_err(|e| TlsError(format!("TLS set-up failed: {e}")))?
        .with_webpki_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_never_quote_it() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let secretish =
            "-----BEGIN PRIVATE KEY-----\nTOPSECRETBYTES!!\n-----END PRIVATE KEY-----\n";
        std::fs::write(&key, secretish).unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "not a certificate\n").unwrap();
        let err = server_config(&cert, &key, None).unwrap_err().0;
        assert!(err.contains("cert.pem"), "{err}");
        let missing = dir.path().join("missing.pem");
        let err = server_config(&missing, &key, None).unwrap_err().0;
        assert!(err.contains("missing.pem"), "{err}");
        let err = client_config(Some(&key)).unwrap_err().0;
        assert!(
            err.contains("key.pem") && !err.contains("TOPSECRET"),
            "{err}"
        );
    }

    #[test]
    fn the_system_roots_load() {
        client_config(None).unwrap();
    }
}
