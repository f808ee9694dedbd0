//! `keys rotate`.

use std::path::Path;

use super::serve::{clock, hasher};
use super::{CliError, PassphraseArgs, passphrase};
use crate::config::Settings;
use crate::service::Vault;

/// `hrvault keys rotate --data-dir DIR`.
pub(super) async fn rotate(dir: &Path, pass: &PassphraseArgs) -> Result<(), CliError> {
    super::must_be_vault(dir)?;
    let passphrase = passphrase(pass)?;
    let vault = Vault::open(dir, &passphrase, Settings::default(), clock(), hasher()?).await?;
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
