//! `init` and `serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::{CliError, PassphraseArgs, passphrase};
use crate::api::ServeOptions;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Settings, TlsSettings};
use crate::crypto::{KdfParams, PasswordHasher};
use crate::service::{InitOptions, Location, Vault};

pub(super) fn hasher() -> Result<Arc<PasswordHasher>, CliError> {
    PasswordHasher::owasp()
        .map(Arc::new)
        .map_err(|e| CliError::usage(format!("error: {e}")))
}

pub(super) fn clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// Unseals the vault at `location` for an offline operator command (default settings).
pub(super) async fn open_offline(
    location: &crate::service::Location,
    passphrase: &SecretString,
) -> Result<Vault, CliError> {
    Ok(Vault::open_at(
        location,
        passphrase,
        Settings::default(),
        clock(),
        hasher()?,
    )
    .await?)
}

/// `hrvault init (--data-dir DIR | --store URL)`.
pub(super) async fn init(location: &Location, pass: &PassphraseArgs) -> Result<(), CliError> {
    let passphrase = passphrase(pass)?;
    let admin_password = std::env::var("HRVAULT_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(SecretString::from);
    let kdf = KdfParams::recommended().map_err(|e| CliError::usage(format!("error: {e}")))?;
    let outcome = Vault::init_at(
        location,
        InitOptions {
            passphrase,
            admin_password,
            kdf,
            hasher: hasher()?,
        },
        clock(),
    )
    .await?;
    // `Location`'s Display names a store as `database D on host:port`, never its URL.
    eprintln!("created a new vault in {location}");
    if let Some(pw) = outcome.generated_admin_password {
        eprintln!("the first admin's password was generated; it is shown once, store it now:");
        println!("role=admin username=admin password={}", pw.expose_secret());
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

/// Binds, announces and serves until a signal.
pub(super) async fn run_server(
    vault: Vault,
    listen: SocketAddr,
    opts: ServeOptions,
) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::usage(format!("error: cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::usage(format!("error: {e}")))?;
    crate::service::spawn_background_tasks(&vault);
    let scheme = if opts.is_tls() { "https" } else { "http" };
    tracing::info!(%addr, scheme, "hrvault listening");
    eprintln!("hrvault listening on {scheme}://{addr}");
    let node = vault.clone();
    let served = crate::api::serve_with(vault, listener, opts, shutdown_signal()).await;
    // In cluster mode, hand the monitor, webhook and housekeeping to another node now rather
    // than after their leases expire.
    node.step_down();
    served.map_err(|e| CliError::usage(format!("error: server failed: {e}")))
}

/// Plain HTTP is for loopback only (CONTRACT §1) unless the operator says otherwise.
fn refuse_plain_http(listen: SocketAddr, allowed: bool) -> Result<(), CliError> {
    if listen.ip().is_loopback() || allowed {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "error: refusing to serve plain HTTP on {listen}, a non-loopback address: configure TLS \
         (--tls-cert FILE --tls-key FILE, or [tls] in the config), or pass --allow-plain-http \
         if a TLS-terminating proxy in front of it is all that can reach it"
    )))
}

/// `hrvault serve` options other than the data dir and the passphrase.
#[derive(Debug)]
pub(super) struct ServeArgs {
    pub(super) listen: SocketAddr,
    pub(super) config: Option<PathBuf>,
    /// `--tls-cert` and `--tls-key` (clap requires both or neither).
    pub(super) tls: Option<(PathBuf, PathBuf)>,
    pub(super) allow_plain_http: bool,
    pub(super) danger_free_disk_cap_file: Option<PathBuf>,
    pub(super) danger_accept_damaged_audit_log: bool,
}

/// `hrvault serve (--data-dir DIR | --store URL) [--listen ADDR] [--config FILE] [--tls-cert FILE --tls-key
/// FILE] [--allow-plain-http]`. Everything that can be checked without the passphrase (config,
/// certificates, the plain-HTTP rule) is checked before unsealing.
///
/// The two data-dir seams make no sense on a store and are refused with it (exit 2): the
/// free-disk cap guards a data dir's file system (a store has no `SpaceGuard`), and a store's
/// chain is never "recovered" at start-up, so there is no damage to accept.
pub(super) async fn serve(
    location: &Location,
    args: ServeArgs,
    pass: &PassphraseArgs,
) -> Result<(), CliError> {
    if let Location::Store(_) = location {
        if args.danger_free_disk_cap_file.is_some() {
            return Err(CliError::usage(
                "error: --danger-free-disk-cap-file applies to a data dir only; a store has no free-disk watermark",
            ));
        }
        if args.danger_accept_damaged_audit_log {
            return Err(CliError::usage(
                "error: --danger-accept-damaged-audit-log applies to a data dir only; run `hrvault audit verify --store URL` to check a store's chain",
            ));
        }
    }
    let mut settings = match &args.config {
        Some(path) => Settings::load(path).map_err(|e| CliError::usage(format!("error: {e}")))?,
        None => Settings::default(),
    };
    settings.danger_accept_damaged_audit_log = args.danger_accept_damaged_audit_log;
    settings.danger_free_disk_cap_file = args.danger_free_disk_cap_file;
    if let Some((cert_file, key_file)) = args.tls {
        // The command line overrides the config's certificate and key; a client CA from the
        // config still applies.
        let client_ca_file = settings.tls.take().and_then(|t| t.client_ca_file);
        settings.tls = Some(TlsSettings {
            cert_file,
            key_file,
            client_ca_file,
        });
    }
    let mut opts = ServeOptions::new(&settings.server);
    match &settings.tls {
        Some(t) => {
            let config =
                crate::tls::server_config(&t.cert_file, &t.key_file, t.client_ca_file.as_deref())
                    .map_err(|e| CliError::usage(format!("error: {e}")))?;
            opts = opts.with_tls(config);
        }
        None => refuse_plain_http(args.listen, args.allow_plain_http)?,
    }
    if let Some(ca) = &settings.monitor.alert_webhook_ca_file {
        crate::tls::client_config(Some(ca)).map_err(|e| CliError::usage(format!("error: {e}")))?;
    }
    super::must_be_vault_at(location)?;
    let passphrase = passphrase(pass)?;
    let vault = Vault::open_at(location, &passphrase, settings, clock(), hasher()?).await?;
    drop(passphrase);
    run_server(vault, args.listen, opts).await
}
