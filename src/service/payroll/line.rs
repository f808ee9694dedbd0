//! The NDJSON line format of `GET /v1/payroll/export`: what a consumer receives, and reads back.
//!
//! `write_payroll_line` and `PayrollRecord` are each other's inverse
//! (`fuzz/fuzz_targets/export_line.rs` checks the round trip).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::clock::rfc3339;
use crate::model::{BankAccount, EmployeeId, EmployeeStatus, HomeAddress, PublicFields, Ssn};

/// One record as payroll receives it: every field but `date_of_birth`, in full. (Public only so
/// that the OpenAPI document can name it; only this module builds one.)
#[derive(Serialize, ToSchema)]
#[schema(
    as = PayrollRecord,
    description = "A record with everything pay needs, in full: every field but `date_of_birth`."
)]
pub struct PayrollLine<'a> {
    #[schema(format = "uuid")]
    id: String,
    #[schema(value_type = String)]
    employee_number: &'a str,
    #[schema(value_type = String)]
    first_name: &'a str,
    #[schema(value_type = String)]
    last_name: &'a str,
    #[schema(required, value_type = Option<String>)]
    preferred_name: &'a Option<String>,
    #[schema(required, value_type = Option<String>, format = Email)]
    work_email: &'a Option<String>,
    #[schema(required, value_type = Option<String>)]
    department: &'a Option<String>,
    #[schema(required, value_type = Option<String>)]
    job_title: &'a Option<String>,
    #[schema(required, format = "uuid")]
    manager_id: Option<String>,
    #[schema(required, value_type = Option<String>)]
    location: &'a Option<String>,
    #[schema(format = Date)]
    hire_date: String,
    /// `terminated` records keep coming (as updates) so payroll can close them.
    #[schema(value_type = EmployeeStatus)]
    status: &'static str,
    #[schema(required, format = Date)]
    termination_date: Option<String>,
    /// In full, `AAA-GG-SSSS`.
    #[schema(value_type = String)]
    ssn: &'a str,
    #[schema(required, value_type = Option<HomeAddress>)]
    home_address: Option<&'a HomeAddress>,
    #[schema(required, value_type = Option<BankAccount>)]
    bank_account: Option<&'a BankAccount>,
    version: u64,
    #[schema(format = DateTime)]
    created_at: String,
    /// The export is ordered by this, then by `id`.
    #[schema(format = DateTime)]
    updated_at: String,
}

/// What one payroll line is made of (plaintext: only the service ever holds one).
pub struct PayrollFields<'a> {
    pub id: EmployeeId,
    pub public: &'a PublicFields,
    pub ssn: &'a Ssn,
    pub home_address: Option<&'a HomeAddress>,
    pub bank_account: Option<&'a BankAccount>,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Appends one NDJSON line (with its newline) to `out`: the export's serializer.
pub fn write_payroll_line(f: &PayrollFields<'_>, out: &mut Vec<u8>) {
    let p = f.public;
    let ssn = f.ssn.formatted();
    let line = PayrollLine {
        id: f.id.to_string(),
        employee_number: &p.employee_number,
        first_name: &p.first_name,
        last_name: &p.last_name,
        preferred_name: &p.preferred_name,
        work_email: &p.work_email,
        department: &p.department,
        job_title: &p.job_title,
        manager_id: p.manager_id.map(|m| m.to_string()),
        location: &p.location,
        hire_date: p.hire_date.to_string(),
        status: p.status.as_str(),
        termination_date: p.termination_date.map(|d| d.to_string()),
        ssn: &ssn,
        home_address: f.home_address,
        bank_account: f.bank_account,
        version: f.version,
        created_at: rfc3339(f.created_at),
        updated_at: rfc3339(f.updated_at),
    };
    serde_json::to_writer(&mut *out, &line)
        .expect("a line of strings and numbers always serializes");
    out.push(b'\n');
}

/// One export line as a payroll consumer reads it back (tests, fuzzing, client code). Holds
/// plaintext: zeroized on drop, no `Debug`.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct PayrollRecord {
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
    pub status: String,
    pub termination_date: Option<String>,
    pub ssn: String,
    pub home_address: Option<HomeAddress>,
    pub bank_account: Option<BankAccount>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// A record deleted (crypto-shredded) since `updated_since`: only in delta exports.
#[derive(Serialize, ToSchema)]
#[schema(as = PayrollDeletion)]
pub struct DeletedLine {
    #[schema(format = "uuid")]
    pub(super) id: String,
    /// Always `true`.
    pub(super) deleted: bool,
    #[schema(format = DateTime)]
    pub(super) deleted_at: String,
}
