//! The operator's offline key and account commands: `keys rotate`, `users recover`.

use super::serve::open_offline;
use super::{CliError, PassphraseArgs, passphrase};
use crate::service::Location;

/// `hrvault keys rotate (--data-dir DIR | --store URL)`.
pub(super) async fn rotate(location: &Location, pass: &PassphraseArgs) -> Result<(), CliError> {
    super::must_be_vault_at(location)?;
    let passphrase = passphrase(pass)?;
    let vault = open_offline(location, &passphrase).await?;
    let report = vault
        .rotate_master_key(&passphrase)
        .await
        .map_err(|e| CliError::usage(format!("error: key rotation failed: {e}")))?;
    println!(
        "master key rotated to version {}; {} record keys re-wrapped; field ciphertexts untouched",
        report.version, report.rewrapped
    );
    Ok(())
}

/// `hrvault users recover (--data-dir DIR | --store URL) [--username NAME]`.
pub(super) async fn recover(
    location: &Location,
    username: &str,
    pass: &PassphraseArgs,
) -> Result<(), CliError> {
    use secrecy::{ExposeSecret, SecretString};
    super::must_be_vault_at(location)?;
    let passphrase = passphrase(pass)?;
    let password = std::env::var("HRVAULT_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(SecretString::from);
    let vault = open_offline(location, &passphrase).await?;
    drop(passphrase);
    let done = vault
        .recover_admin(username, password)
        .await
        .map_err(|e| CliError::usage(format!("error: recovery failed: {e}")))?;
    eprintln!(
        "{} admin {username} ({}): enabled, old tokens revoked, unlinked from any employee; \
         audited as user.recover",
        if done.created {
            "re-created"
        } else {
            "recovered"
        },
        done.user_id
    );
    if let Some(pw) = done.generated_password {
        eprintln!("the new password was generated; it is shown once, store it now:");
        println!(
            "role=admin username={username} password={}",
            pw.expose_secret()
        );
    }
    Ok(())
}
