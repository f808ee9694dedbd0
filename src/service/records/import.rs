//! `POST /v1/employees/import`: the CSV of `hrvault import`, uploaded by hr (the console's
//! **Import** page uses it too). The same importer as the command — same header, same rules,
//! one `employee.import` entry listing the created ids — audited as the caller.

use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::Action;
use crate::model::{FieldError, redact_numbers};
use crate::service::access::Import;
use crate::service::{ImportError, Principal, RequestCtx, ServiceError, Vault};

/// Largest CSV body accepted.
pub const IMPORT_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// The outcome of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// Rows stored.
    pub imported: usize,
    /// Rows refused, by line (header = line 1); valid rows were kept.
    pub rejected: Vec<RejectedRow>,
}

/// A refused row: where, which record, what is wrong (never a value).
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedRow {
    pub line: u64,
    #[schema(required)]
    pub employee_number: Option<String>,
    pub errors: Vec<FieldError>,
}

impl Vault {
    /// Imports the CSV `body` as `who` (role hr). Runs to its end once started.
    pub async fn import_employees(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        body: Result<Bytes, ServiceError>,
    ) -> Result<ImportResult, ServiceError> {
        let _grant = self.authorize::<Import>(who, ctx, None, None).await?;
        let body = body?;
        let (v, who, ctx) = (self.clone(), who.clone(), ctx.clone());
        self.detached(async move {
            let handle = tokio::runtime::Handle::current();
            let (actor, inner_ctx, inner) = (who.actor(), ctx.clone(), v.clone());
            // The importer does blocking store work row by row: keep it off the workers.
            let done = tokio::task::spawn_blocking(move || {
                handle.block_on(inner.import_rows(actor, &inner_ctx, &body[..], "upload", false))
            })
            .await
            .map_err(|_| ServiceError::Internal)?;
            let report = match done {
                Ok(r) => r,
                Err(ImportError::Service(e)) => return Err(e),
                Err(ImportError::Spool(e)) => {
                    tracing::error!(error = %e, "import spool failed");
                    return Err(ServiceError::Internal);
                }
                Err(file_level) => {
                    // A header or CSV problem: nothing was imported. The message names the
                    // column, with any long number in it masked (a pasted data row is not a
                    // header, and must not be echoed).
                    let msg = redact_numbers(&file_level.to_string());
                    let err = ServiceError::BadRequest(msg);
                    return Err(v.fail(&who, &ctx, Action::EmployeeImport, None, err).await);
                }
            };
            Ok(ImportResult {
                imported: report.imported,
                rejected: report
                    .rejected
                    .into_iter()
                    .map(|r| RejectedRow {
                        line: r.line,
                        employee_number: r.employee_number,
                        errors: r.errors,
                    })
                    .collect(),
            })
        })
        .await
    }
}
