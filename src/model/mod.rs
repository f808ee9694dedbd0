//! Pure domain types, parsed at the edge.
//!
//! Everything here is plain data and pure functions: no I/O, no clock, no crypto. Untrusted input
//! (JSON bodies, CSV rows) is parsed into these types once; the service layer only ever accepts
//! parsed values, so a rule checked here holds everywhere after.
//!
//! Sensitive plaintext (`Ssn`, `DateOfBirth`, `HomeAddress`, `BankAccount`) lives in types that
//! zeroize on drop and have no `Debug`, `Display` or `Serialize`: they cannot end up in a log line
//! by accident.

mod draft;
mod ids;
mod insider;
mod reason;
mod role;
mod sealed;
mod sensitive;
mod ssn;
mod status;
mod username;
mod validate;

pub use draft::{AddressDraft, BankDraft, EmployeeDraft, EmployeePatch, Patch};
pub use ids::{AlertId, EmployeeId, FlagId, IdParseError, UserId};
pub use insider::{AlertStatus, FlagKind, Rule, Severity};
pub use reason::{MAX_KEPT_DIGITS, Reason, redact_numbers};
pub use role::{Role, UserKind};
pub use sealed::{BlindIndex, FieldName, RecordKeyRef, Sealed, WrappedRecordKey};
pub use sensitive::{
    BankAccount, DateOfBirth, HomeAddress, MaskedAddress, MaskedBankAccount, SensitiveFields,
};
pub use ssn::Ssn;
pub use status::EmployeeStatus;
pub use username::Username;
pub use validate::{
    FieldError, NewEmployee, PublicFields, ValidationErrors, parse_date, validate_employee_number,
};
