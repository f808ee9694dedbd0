//! TLS for tests: a throw-away CA (rcgen) that issues a server certificate for `127.0.0.1` and
//! `localhost` and a client certificate, and a small blocking rustls client and server that
//! verify against it for real.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A PEM certificate and its private key.
#[derive(Debug, Clone)]
pub struct Pem {
    pub cert: String,
    pub key: String,
}

/// A test CA with one server and one client certificate, written as PEM files into a directory.
#[derive(Debug, Clone)]
pub struct TestPki {
    pub ca_pem: String,
    pub server: Pem,
    pub client: Pem,
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TestPki {
    /// A new CA named `name` and its certificates; files go to `dir` (`NAME-ca.pem`, ...).
    pub fn new(dir: &Path, name: &str) -> Self {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, format!("hrvault test CA {name}"));
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

        let mut server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        server
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().unwrap();
        let server_cert = server.signed_by(&server_key, &ca).unwrap();

        let mut client = CertificateParams::new(vec!["payroll-integration".to_owned()]).unwrap();
        client
            .distinguished_name
            .push(DnType::CommonName, "payroll-integration");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().unwrap();
        let client_cert = client.signed_by(&client_key, &ca).unwrap();

        let pki = Self {
            ca_pem: ca.pem(),
            server: Pem {
                cert: server_cert.pem(),
                key: server_key.serialize_pem(),
            },
            client: Pem {
                cert: client_cert.pem(),
                key: client_key.serialize_pem(),
            },
            ca_file: dir.join(format!("{name}-ca.pem")),
            cert_file: dir.join(format!("{name}-cert.pem")),
            key_file: dir.join(format!("{name}-key.pem")),
        };
        std::fs::write(&pki.ca_file, &pki.ca_pem).unwrap();
        std::fs::write(&pki.cert_file, &pki.server.cert).unwrap();
        std::fs::write(&pki.key_file, &pki.server.key).unwrap();
        pki
    }

    /// `--tls-cert FILE --tls-key FILE` for this PKI's server certificate.
    pub fn serve_args(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.cert_file.display().to_string(),
            "--tls-key".into(),
            self.key_file.display().to_string(),
        ]
    }

    /// A rustls server configuration for a test receiver (the webhook's).
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let chain = certs(&self.server.cert);
        let key = PrivateKeyDer::from_pem_slice(self.server.key.as_bytes()).unwrap();
        Arc::new(
            rustls::ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap(),
        )
    }
}

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// A response read by `https_request`.
#[derive(Debug, Clone)]
pub struct TlsResp {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

/// One request over a fresh TLS connection to `addr` (`127.0.0.1:PORT`), verifying the server
/// against `ca_pem` (and presenting `client`, if given), with an optional JSON body. `Err` for
/// any TLS or I/O failure, or a connection that ends without a response.
pub fn https_request(
    addr: &str,
    method: &str,
    path: &str,
    ca_pem: &str,
    client: Option<&Pem>,
    json: Option<&str>,
) -> Result<TlsResp, String> {
    let headers: &[(&str, &str)] = if json.is_some() {
        &[("content-type", "application/json")]
    } else {
        &[]
    };
    https_request_with(
        addr,
        method,
        path,
        ca_pem,
        client,
        headers,
        json.unwrap_or("").as_bytes(),
    )
}

/// `https_request` with any headers (e.g. `cookie`, `content-type`) and body.
pub fn https_request_with(
    addr: &str,
    method: &str,
    path: &str,
    ca_pem: &str,
    client: Option<&Pem>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<TlsResp, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in certs(ca_pem) {
        roots.add(c).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some(p) => builder
            .with_client_auth_cert(
                certs(&p.cert),
                PrivateKeyDer::from_pem_slice(p.key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).to_owned();
    let name = ServerName::try_from(host.clone()).unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    tls.write_all(&bytes).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    tls.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no response ({} bytes)", raw.len()))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {head}"))?;
    Ok(TlsResp {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    })
}
