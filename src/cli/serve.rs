//! `init` and `serve`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::{CliError, PassphraseArgs, passphrase};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::crypto::{KdfParams, PasswordHasher};
use crate::service::{InitOptions, Vault};

pub(super) fn hasher() -> Result<Arc<PasswordHasher>, CliError> {
    PasswordHasher::owasp()
        .map(Arc::new)
        .map_err(|e| CliError::usage(format!("error: {e}")))
}

pub(super) fn clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// `hrvault init --data-dir DIR`.
pub(super) async fn init(dir: &Path, pass: &PassphraseArgs) -> Result<(), CliError> {
    let passphrase = passphrase(pass)?;
    let admin_password = std::env::var("HRVAULT_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(SecretString::from);
    let kdf = KdfParams::recommended().map_err(|e| CliError::usage(format!("error: {e}")))?;
    let outcome = Vault::init(
        dir,
        InitOptions {
            passphrase,
            admin_password,
            kdf,
            hasher: hasher()?,
        },
        clock(),
    )
    .await?;
    eprintln!("created a new vault in {}", dir.display());
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
pub(super) async fn run_server(vault: Vault, listen: SocketAddr) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::usage(format!("error: cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::usage(format!("error: {e}")))?;
    crate::service::spawn_background_tasks(&vault);
    tracing::info!(%addr, "hrvault listening");
    eprintln!("hrvault listening on http://{addr}");
    crate::api::serve(vault, listener, shutdown_signal())
        .await
        .map_err(|e| CliError::usage(format!("error: server failed: {e}")))
}

/// `hrvault serve --data-dir DIR [--listen ADDR] [--config FILE]`.
pub(super) async fn serve(
    dir: &Path,
    listen: SocketAddr,
    config: Option<&Path>,
    accept_damaged_audit: bool,
    pass: &PassphraseArgs,
) -> Result<(), CliError> {
    let mut settings = match config {
        Some(path) => Settings::load(path).map_err(|e| CliError::usage(format!("error: {e}")))?,
        None => Settings::default(),
    };
    settings.danger_accept_damaged_audit_log = accept_damaged_audit;
    super::must_be_vault(dir)?;
    let passphrase = passphrase(pass)?;
    let vault = Vault::open(dir, &passphrase, settings, clock(), hasher()?).await?;
    drop(passphrase);
    run_server(vault, listen).await
}
