//! `import --csv`.

use std::path::Path;

use super::serve::open_offline;
use super::{CliError, EXIT_CHECK_FAILED, PassphraseArgs, passphrase};
use crate::service::Location;

/// `hrvault import (--data-dir DIR | --store URL) --csv FILE`.
pub(super) async fn import(
    location: &Location,
    csv: &Path,
    pass: &PassphraseArgs,
) -> Result<(), CliError> {
    super::must_be_vault_at(location)?;
    let file = std::fs::File::open(csv)
        .map_err(|e| CliError::usage(format!("error: cannot open {}: {e}", csv.display())))?;
    let passphrase = passphrase(pass)?;
    let vault = open_offline(location, &passphrase).await?;
    let name = csv
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let report = vault
        .import_csv(file, &name, true)
        .await
        .map_err(|e| CliError::usage(format!("error: {e}")))?;
    for r in &report.rejected {
        eprintln!(
            "line {} (employee_number {}): {}",
            r.line,
            r.employee_number.as_deref().unwrap_or("-"),
            r.message()
        );
    }
    println!(
        "imported {} of {} rows; {} rejected",
        report.imported,
        report.imported + report.rejected.len(),
        report.rejected.len()
    );
    if report.rejected.is_empty() {
        Ok(())
    } else {
        Err(CliError {
            message: format!("{} row(s) rejected", report.rejected.len()),
            code: EXIT_CHECK_FAILED,
        })
    }
}
