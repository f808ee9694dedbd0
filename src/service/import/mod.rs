//! Bulk onboarding from an HRIS CSV export (`hrvault import`).
//!
//! The header names record fields (nested ones dotted: `home_address.city`); an empty cell is
//! absent. Every row goes through the same validation as `POST /v1/employees`; rejected rows are
//! reported by line number (header = line 1) and employee number, never by value. Accepted rows
//! are listed in one `employee.import` audit entry, appended before any of them is stored.
//!
//! Memory: sealed records wait for that entry in an unnamed spool file in the data dir, or in the
//! node's private temp dir for a vault in a PostgreSQL store (sealed
//! fields stay sealed there; the kernel removes the file however the process ends), so only ids,
//! key slots and the in-file uniqueness sets stay in memory: about 150 bytes a row instead of
//! the whole record.

mod csv;
mod spool;

use std::collections::HashSet;
use std::io::Read;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub use self::csv::{CsvDrafts, CsvRow};
use self::spool::Spool;
use super::{RequestCtx, ServiceError, Vault};
use crate::audit::{Action, Actor, Outcome};
use crate::model::{BlindIndex, EmployeeId, FieldError, NewEmployee};

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line in the file (header = 1).
    pub line: u64,
    /// The row's employee number, if it had one.
    pub employee_number: Option<String>,
    /// What is wrong, field by field (names and rules, no values).
    pub errors: Vec<FieldError>,
}

impl RowError {
    /// The errors on one line: `field: message; field: message`.
    pub fn message(&self) -> String {
        self.errors
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn one(field: &str, message: &str) -> Vec<FieldError> {
    vec![FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }]
}

/// Outcome of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Rows stored.
    pub imported: usize,
    /// Rows refused.
    pub rejected: Vec<RowError>,
    /// Ids of the stored records.
    pub ids: Vec<EmployeeId>,
}

/// A file-level problem (unreadable CSV, unknown column).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The header names something that is not a record field.
    #[error("unknown column `{0}` in the CSV header")]
    UnknownColumn(String),
    /// The same column twice.
    #[error("column `{0}` appears twice in the CSV header")]
    DuplicateColumn(String),
    /// Not CSV.
    #[error("cannot read the CSV file: {0}")]
    Csv(String),
    /// The temporary file holding sealed rows until they are audited failed.
    #[error("cannot use the import spool file (in the data dir, or the node's temp dir): {0}")]
    Spool(String),
    /// The vault refused.
    #[error("{0}")]
    Service(#[from] ServiceError),
}

impl Vault {
    /// Imports every valid row as the operator (`hrvault import`); see the module docs.
    pub async fn import_csv(
        &self,
        input: impl Read,
        source: &str,
        progress: bool,
    ) -> Result<ImportReport, ImportError> {
        self.import_rows(
            Actor::default(),
            &RequestCtx::default(),
            input,
            source,
            progress,
        )
        .await
    }

    /// Imports every valid row, audited as `actor` (the operator, or an hr user through
    /// `POST /v1/employees/import`).
    pub(crate) async fn import_rows(
        &self,
        actor: Actor,
        ctx: &RequestCtx,
        input: impl Read,
        source: &str,
        progress: bool,
    ) -> Result<ImportReport, ImportError> {
        let rows = CsvDrafts::new(input)?;
        let bar = if progress {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        bar.set_draw_target(if progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} rows {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );

        let mut report = ImportReport::default();
        let mut spool = Spool::new(self.local_dir())?;
        let mut numbers = HashSet::new();
        let mut ssns: HashSet<BlindIndex> = HashSet::new();
        let store = &self.inner.store;
        let now = self.now();
        for row in rows {
            bar.inc(1);
            let line = row.line;
            let draft = match row.draft {
                Ok(d) => d,
                Err(message) => {
                    report.rejected.push(RowError {
                        line,
                        employee_number: None,
                        errors: one("row", &message),
                    });
                    continue;
                }
            };
            let number = draft
                .employee_number
                .clone()
                .filter(|n| crate::model::validate_employee_number(n.trim()).is_ok());
            let reject = |errors: Vec<FieldError>| RowError {
                line,
                employee_number: number.clone(),
                errors,
            };
            let new = match NewEmployee::parse(&draft) {
                Ok(n) => n,
                Err(errs) => {
                    report.rejected.push(reject(errs.0));
                    continue;
                }
            };
            let key_num = new.public.employee_number.to_ascii_lowercase();
            let index = self.inner.keys.index_key().ssn(&new.sensitive.ssn);
            if numbers.contains(&key_num)
                || store
                    .employee_id_by_number(&new.public.employee_number)
                    .map_err(ServiceError::from)?
                    .is_some()
            {
                report
                    .rejected
                    .push(reject(one("employee_number", "is already in use")));
                continue;
            }
            if ssns.contains(&index)
                || store
                    .employee_id_by_ssn(&index)
                    .map_err(ServiceError::from)?
                    .is_some()
            {
                report
                    .rejected
                    .push(reject(one("ssn", "a record with this ssn already exists")));
                continue;
            }
            let id = EmployeeId::random();
            let (key, key_ref) = super::records::new_record_key(self, &id)?;
            let rec = match self.seal_record(
                id,
                &key,
                key_ref,
                new.public,
                &new.sensitive,
                super::records::Meta {
                    version: 1,
                    created_at: now,
                    updated_at: now,
                    honeytoken: false,
                },
            ) {
                Ok(r) => r,
                Err(e) => {
                    let _ = store.release_record_key(key_ref.slot);
                    return Err(e.into());
                }
            };
            numbers.insert(key_num);
            ssns.insert(index);
            let pushed = spool.push(line, &rec);
            drop(rec);
            if let Err(err) = pushed {
                let _ = store.release_record_key(key_ref.slot);
                for slot in &spool.slots {
                    let _ = store.release_record_key(*slot);
                }
                return Err(err);
            }
        }
        bar.finish_and_clear();
        drop(numbers);
        drop(ssns);

        let accepted = spool.count;
        let total = accepted + report.rejected.len();
        let outcome = if accepted == 0 && total > 0 {
            Outcome::Error
        } else {
            Outcome::Success
        };
        let ids = std::mem::take(&mut spool.ids);
        let mut e = ctx.entry(actor.clone(), Action::EmployeeImport, outcome);
        let summary = format!(
            "import of {}: {} of {total} rows accepted, {} rejected",
            crate::model::redact_numbers(source),
            accepted,
            report.rejected.len()
        );
        if ids.len() > super::id_lists::INLINE_IDS {
            let digest = self.keep_id_list(&ids)?;
            e.reason = Some(format!(
                "{summary}; ids in audit/id-lists/{digest}.ids (sha256 {digest})"
            ));
        } else {
            e.employee_ids = Some(ids.clone());
            e.reason = Some(summary);
        }
        // Audited, and every new key slot durable, before any record points at one.
        let release_all = |slots: &[u64]| {
            for slot in slots {
                let _ = store.release_record_key(*slot);
            }
        };
        if let Err(err) = self.record_and_sync(e).await {
            release_all(&spool.slots);
            return Err(err.into());
        }
        let slots = std::mem::take(&mut spool.slots);
        let mut failed = Vec::new();
        let mut read_back = 0usize;
        let mut spool_error = None;
        match spool.drain() {
            Err(err) => spool_error = Some(err),
            Ok(reader) => {
                for item in reader {
                    let (line, rec) = match item {
                        Ok(r) => r,
                        Err(err) => {
                            spool_error = Some(err);
                            break;
                        }
                    };
                    read_back += 1;
                    match store.insert_employee(&rec) {
                        Ok(()) => {
                            report.imported += 1;
                            report.ids.push(rec.id);
                        }
                        Err(err) => {
                            tracing::error!(error = %err, employee_id = %rec.id, "import insert failed");
                            let _ = store.release_record_key(rec.record_key.slot);
                            failed.push(rec.id);
                            report.rejected.push(RowError {
                                line,
                                employee_number: Some(rec.public.employee_number.clone()),
                                errors: one("row", "could not be stored"),
                            });
                        }
                    }
                }
            }
        }
        if spool_error.is_some() {
            // Records never read back were never stored.
            release_all(&slots[read_back..]);
            failed.extend_from_slice(&ids[read_back..]);
        }
        if !failed.is_empty() {
            // The first entry listed these as imported: say that they were not.
            let mut e = ctx.entry(actor, Action::EmployeeImport, Outcome::Error);
            e.reason = Some(format!(
                "{} accepted rows could not be stored",
                failed.len()
            ));
            e.employee_ids = Some(failed);
            self.record(e).await?;
        }
        self.durable().await?;
        if let Some(err) = spool_error {
            return Err(err);
        }
        report.rejected.sort_by_key(|r| r.line);
        Ok(report)
    }
}
