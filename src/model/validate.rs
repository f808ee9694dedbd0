//! The field rules of CONTRACT §2 Employees, turning an `EmployeeDraft` into a `NewEmployee`.
//!
//! Every rule reports the field it concerns and a message that never repeats the rejected value
//! (a mistyped SSN is still an SSN).

use jiff::civil::Date;
use serde::Serialize;

use super::{
    AddressDraft, BankAccount, BankDraft, DateOfBirth, EmployeeDraft, EmployeeId, EmployeeStatus,
    HomeAddress, SensitiveFields, Ssn,
};

/// One rejected field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Dotted path of the field (`ssn`, `home_address.city`).
    pub field: String,
    /// What is wrong, without the value.
    pub message: String,
}

/// Every rejected field of one input.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{} invalid field(s)", .0.len())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// A single-field error.
    pub fn one(field: &str, message: &str) -> Self {
        Self(vec![FieldError {
            field: field.to_owned(),
            message: message.to_owned(),
        }])
    }

    fn push(&mut self, field: &str, message: &str) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.to_owned(),
        });
    }
}

/// The non-sensitive part of a record: stored in clear, safe to log by id only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublicFields {
    pub employee_number: String,
    pub first_name: String,
    pub last_name: String,
    pub preferred_name: Option<String>,
    pub work_email: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub manager_id: Option<EmployeeId>,
    pub location: Option<String>,
    pub hire_date: Date,
    pub status: EmployeeStatus,
    pub termination_date: Option<Date>,
}

/// A fully validated record, ready to be sealed.
pub struct NewEmployee {
    /// Stored in clear.
    pub public: PublicFields,
    /// Sealed field by field.
    pub sensitive: SensitiveFields,
}

const MAX_TEXT: usize = 200;

/// Parses `YYYY-MM-DD` strictly (no other layouts) into a real calendar date.
pub fn parse_date(s: &str) -> Result<Date, &'static str> {
    const MSG: &str = "must be a real date, YYYY-MM-DD";
    let b = s.as_bytes();
    let digits_at = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits_at(0..4) {
        return Err(MSG);
    }
    if !digits_at(5..7) || !digits_at(8..10) {
        return Err(MSG);
    }
    let num = |r: std::ops::Range<usize>| -> i16 {
        b[r].iter()
            .fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0'))
    };
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    let (m, d) = (
        i8::try_from(m).map_err(|_| MSG)?,
        i8::try_from(d).map_err(|_| MSG)?,
    );
    Date::new(y, m, d).map_err(|_| MSG)
}

/// `employee_number`: 1–32 of `[A-Za-z0-9-]`.
pub fn validate_employee_number(s: &str) -> Result<(), &'static str> {
    let ok =
        (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err("must be 1-32 characters of A-Z, a-z, 0-9 and '-'")
    }
}

/// Whole years from `born` to `on`.
fn age_on(born: Date, on: Date) -> i32 {
    let mut age = i32::from(on.year()) - i32::from(born.year());
    if (on.month(), on.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    age
}

fn aba_checksum_ok(d: &[u8]) -> bool {
    let n: Vec<u32> = d.iter().map(|b| u32::from(b - b'0')).collect();
    let sum = 3 * (n[0] + n[3] + n[6]) + 7 * (n[1] + n[4] + n[7]) + (n[2] + n[5] + n[8]);
    sum.is_multiple_of(10)
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = (1..=64).contains(&local.len())
        && local
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"@()<>[]\\,;:\"".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = s.len() <= 254
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    local_ok && domain_ok
}

/// Checks a free-text value: trimmed, non-empty, bounded, no control characters.
fn text(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<&String>,
    required: bool,
) -> Option<String> {
    let trimmed = value.map(|v| v.trim()).filter(|v| !v.is_empty());
    match trimmed {
        None if required => {
            errors.push(field, "is required");
            None
        }
        None => None,
        Some(v) if v.chars().count() > MAX_TEXT => {
            errors.push(field, "is too long (at most 200 characters)");
            None
        }
        Some(v) if v.chars().any(char::is_control) => {
            errors.push(field, "must not contain control characters");
            None
        }
        Some(v) => Some(v.to_owned()),
    }
}

fn date_field(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<&String>,
    required: bool,
) -> Option<Date> {
    match value.map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => {
            if required {
                errors.push(field, "is required");
            }
            None
        }
        Some(v) => parse_date(v).map_err(|m| errors.push(field, m)).ok(),
    }
}

fn address(errors: &mut ValidationErrors, a: &AddressDraft) -> Option<HomeAddress> {
    let line1 = text(errors, "home_address.line1", a.line1.as_ref(), true);
    let line2 = text(errors, "home_address.line2", a.line2.as_ref(), false);
    let city = text(errors, "home_address.city", a.city.as_ref(), true);
    let state = text(errors, "home_address.state", a.state.as_ref(), false);
    let postal_code = text(
        errors,
        "home_address.postal_code",
        a.postal_code.as_ref(),
        false,
    );
    let country = text(errors, "home_address.country", a.country.as_ref(), true);
    Some(HomeAddress {
        line1: line1?,
        line2,
        city: city?,
        state,
        postal_code,
        country: country?,
    })
}

fn bank(errors: &mut ValidationErrors, b: &BankDraft) -> Option<BankAccount> {
    let routing = match b.routing_number.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push("bank_account.routing_number", "is required");
            None
        }
        Some(r) if r.len() != 9 || !r.bytes().all(|c| c.is_ascii_digit()) => {
            errors.push("bank_account.routing_number", "must be 9 digits");
            None
        }
        Some(r) if !aba_checksum_ok(r.as_bytes()) => {
            errors.push("bank_account.routing_number", "fails the ABA checksum");
            None
        }
        Some(r) => Some(r.to_owned()),
    };
    let account = match b.account_number.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push("bank_account.account_number", "is required");
            None
        }
        Some(a) if !(4..=17).contains(&a.len()) || !a.bytes().all(|c| c.is_ascii_digit()) => {
            errors.push("bank_account.account_number", "must be 4-17 digits");
            None
        }
        Some(a) => Some(a.to_owned()),
    };
    Some(BankAccount {
        routing_number: routing?,
        account_number: account?,
    })
}

impl NewEmployee {
    /// Applies every field rule; collects all errors rather than stopping at the first.
    pub fn parse(d: &EmployeeDraft) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::default();

        let employee_number = match d.employee_number.as_deref().map(str::trim) {
            None | Some("") => {
                e.push("employee_number", "is required");
                None
            }
            Some(n) => validate_employee_number(n)
                .map_err(|m| e.push("employee_number", m))
                .ok()
                .map(|()| n.to_owned()),
        };
        let first_name = text(&mut e, "first_name", d.first_name.as_ref(), true);
        let last_name = text(&mut e, "last_name", d.last_name.as_ref(), true);
        let preferred_name = text(&mut e, "preferred_name", d.preferred_name.as_ref(), false);
        let department = text(&mut e, "department", d.department.as_ref(), false);
        let job_title = text(&mut e, "job_title", d.job_title.as_ref(), false);
        let location = text(&mut e, "location", d.location.as_ref(), false);
        let work_email = match d
            .work_email
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(m) if valid_email(m) => Some(m.to_owned()),
            Some(_) => {
                e.push("work_email", "must be an email address");
                None
            }
        };
        let manager_id = match d
            .manager_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(m) => m
                .parse::<EmployeeId>()
                .map_err(|_| e.push("manager_id", "must be an employee id (UUID)"))
                .ok(),
        };
        let hire_date = date_field(&mut e, "hire_date", d.hire_date.as_ref(), true);
        let termination_date = date_field(
            &mut e,
            "termination_date",
            d.termination_date.as_ref(),
            false,
        );
        if let (Some(h), Some(t)) = (hire_date, termination_date)
            && t < h
        {
            e.push("termination_date", "must not be before hire_date");
        }
        let status = match d.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Some(EmployeeStatus::Onboarding),
            Some(s) => s
                .parse()
                .map_err(|()| {
                    e.push(
                        "status",
                        "must be one of onboarding, active, on_leave, terminated",
                    )
                })
                .ok(),
        };
        let ssn = match d.ssn.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => {
                e.push("ssn", "is required");
                None
            }
            Some(s) => Ssn::parse(s).map_err(|m| e.push("ssn", m)).ok(),
        };
        let dob_date = date_field(&mut e, "date_of_birth", d.date_of_birth.as_ref(), true);
        if let (Some(born), Some(hired)) = (dob_date, hire_date) {
            let age = age_on(born, hired);
            if !(14..=120).contains(&age) {
                e.push(
                    "date_of_birth",
                    "age at hire_date must be between 14 and 120",
                );
            }
        }
        let home_address = d.home_address.as_ref().and_then(|a| address(&mut e, a));
        let bank_account = d.bank_account.as_ref().and_then(|b| bank(&mut e, b));

        if !e.0.is_empty() {
            return Err(e);
        }
        let missing = "every required field was checked above";
        Ok(NewEmployee {
            public: PublicFields {
                employee_number: employee_number.expect(missing),
                first_name: first_name.expect(missing),
                last_name: last_name.expect(missing),
                preferred_name,
                work_email,
                department,
                job_title,
                manager_id,
                location,
                hire_date: hire_date.expect(missing),
                status: status.expect(missing),
                termination_date,
            },
            sensitive: SensitiveFields {
                ssn: ssn.expect(missing),
                date_of_birth: DateOfBirth::from_valid(dob_date.expect(missing).to_string()),
                home_address,
                bank_account,
            },
        })
    }
}

#[cfg(test)]
mod tests;
