//! The record as a caller may see it (CONTRACT §2 masking table).

use serde::Serialize;

use super::{ServiceError, Vault};
use crate::audit::AuditRecorded;
use crate::auth::{AccessGranted, FieldView, field_view};
use crate::clock::rfc3339;
use crate::model::{MaskedAddress, MaskedBankAccount};
use crate::store::StoredEmployee;

/// A record for a JSON response. Sensitive fields: absent (`None`) for roles that must not see
/// them, masked for hr and payroll; full values only ever come from reveal or export.
#[derive(Debug, Clone, Serialize)]
pub struct EmployeeView {
    pub id: String,
    pub employee_number: String,
    pub first_name: String,
    pub last_name: String,
    pub preferred_name: Option<String>,
    pub work_email: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub manager_id: Option<String>,
    pub location: Option<String>,
    pub hire_date: String,
    pub status: &'static str,
    pub termination_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_address: Option<Option<MaskedAddress>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_account: Option<Option<MaskedBankAccount>>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl Vault {
    /// Builds the masked view. Decrypts only what the mask needs (SSN and account last four,
    /// address city/state/country), and only after the audit entry is durable.
    pub(crate) fn view(
        &self,
        grant: &AccessGranted,
        recorded: &AuditRecorded,
        rec: &StoredEmployee,
    ) -> Result<EmployeeView, ServiceError> {
        let p = &rec.public;
        let mut v = EmployeeView {
            id: rec.id.to_string(),
            employee_number: p.employee_number.clone(),
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            preferred_name: p.preferred_name.clone(),
            work_email: p.work_email.clone(),
            department: p.department.clone(),
            job_title: p.job_title.clone(),
            manager_id: p.manager_id.map(|m| m.to_string()),
            location: p.location.clone(),
            hire_date: p.hire_date.to_string(),
            status: p.status.as_str(),
            termination_date: p.termination_date.map(|d| d.to_string()),
            ssn: None,
            date_of_birth: None,
            home_address: None,
            bank_account: None,
            version: rec.version,
            created_at: rfc3339(rec.created_at),
            updated_at: rfc3339(rec.updated_at),
        };
        if field_view(grant) == FieldView::Masked {
            let key = self.key_for_response(grant, recorded, rec)?;
            v.ssn = Some(Self::open_ssn(&key, rec)?.masked());
            v.date_of_birth = Some("****-**-**");
            v.home_address = Some(Self::open_address(&key, rec)?.map(|a| a.masked()));
            v.bank_account = Some(Self::open_bank(&key, rec)?.map(|b| b.masked()));
        }
        Ok(v)
    }
}
