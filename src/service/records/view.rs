//! The record as a caller may see it (CONTRACT §2 masking table). Built only by `plaintext`.

use serde::Serialize;
use utoipa::ToSchema;

use crate::model::{EmployeeStatus, MaskedAddress, MaskedBankAccount};

/// A record for a JSON response. Sensitive fields: absent (`None`) for roles that must not see
/// them, masked for hr and payroll; full values only ever come from reveal or export.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(
    description = "An employee record as the caller may see it: the four sensitive fields \
are masked for `hr` and `payroll` and left out for `security`; full values only come from \
reveal (or, for payroll, the export)."
)]
#[schema(examples(json!({
    "id": "6f1c2b9e-8a43-4d0b-9a53-0f5d1c2e7a10", "employee_number": "E10001",
    "first_name": "Ada", "last_name": "Lovelace", "preferred_name": null,
    "work_email": "ada@example.com", "department": "R&D", "job_title": "Engineer",
    "manager_id": null, "location": "London", "hire_date": "2026-01-15",
    "status": "onboarding", "termination_date": null, "ssn": "***-**-6789",
    "date_of_birth": "****-**-**",
    "home_address": {"city": "Springfield", "state": "IL", "country": "US"},
    "bank_account": {"account_number": "****6789"}, "version": 1,
    "created_at": "2026-01-10T09:00:00Z", "updated_at": "2026-01-10T09:00:00Z"
})))]
pub struct EmployeeView {
    #[schema(format = "uuid")]
    pub id: String,
    pub employee_number: String,
    pub first_name: String,
    pub last_name: String,
    #[schema(required)]
    pub preferred_name: Option<String>,
    #[schema(required, format = Email)]
    pub work_email: Option<String>,
    #[schema(required)]
    pub department: Option<String>,
    #[schema(required)]
    pub job_title: Option<String>,
    #[schema(required, format = "uuid")]
    pub manager_id: Option<String>,
    #[schema(required)]
    pub location: Option<String>,
    #[schema(format = Date)]
    pub hire_date: String,
    #[schema(value_type = EmployeeStatus)]
    pub status: &'static str,
    #[schema(required, format = Date)]
    pub termination_date: Option<String>,
    /// Masked: `***-**-` and the last four digits. Absent for `security`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples("***-**-6789"))]
    pub ssn: Option<String>,
    /// Always `****-**-**`. Absent for `security`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, nullable = false, examples("****-**-**"))]
    pub date_of_birth: Option<&'static str>,
    /// City, state and country only; null if the record has no address. Absent for `security`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<MaskedAddress>)]
    pub home_address: Option<Option<MaskedAddress>>,
    /// The account's last four digits; null if the record has none. Absent for `security`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<MaskedBankAccount>)]
    pub bank_account: Option<Option<MaskedBankAccount>>,
    /// Starts at 1, +1 on every update; also the `ETag`.
    pub version: u64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}
