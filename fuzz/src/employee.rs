//! Employee input: JSON create bodies, PATCH bodies, CSV import rows and the scalar parsers
//! (SSN, dates, usernames, ids) they are built from.

use std::io::Cursor;

use hrvault::audit::Action;
use hrvault::model::{
    AddressDraft, BankDraft, DateOfBirth, EmployeeDraft, EmployeeId, EmployeePatch, EmployeeStatus,
    FieldName, NewEmployee, Patch, Role, Ssn, Username, parse_date, validate_employee_number,
};
use hrvault::service::CsvDrafts;

/// Field names a validation error may point at.
const ERROR_FIELDS: [&str; 22] = hrvault::model::EmployeeDraft::COLUMNS;

/// Target `employee_json`: a `POST /v1/employees` body.
pub fn employee_json(data: &[u8]) {
    if let Ok(draft) = serde_json::from_slice::<EmployeeDraft>(data) {
        check_draft(&draft);
    }
}

/// Validates a draft and checks the invariants of `NewEmployee::parse`:
/// deterministic; errors name known fields; a valid record, turned back into a draft with
/// `EmployeeDraft::from_parts` (what PATCH does), validates again to exactly the same record.
pub fn check_draft(draft: &EmployeeDraft) -> Option<NewEmployee> {
    match NewEmployee::parse(draft) {
        Err(errors) => {
            assert!(!errors.0.is_empty(), "an Err must name at least one field");
            for e in &errors.0 {
                assert!(
                    ERROR_FIELDS.contains(&e.field.as_str()),
                    "unknown error field {:?}",
                    e.field
                );
            }
            let again = NewEmployee::parse(draft).err();
            assert_eq!(again.as_ref(), Some(&errors), "validation is deterministic");
            None
        }
        Ok(new) => {
            let redraft = EmployeeDraft::from_parts(&new.public, &new.sensitive);
            let again = match NewEmployee::parse(&redraft) {
                Ok(again) => again,
                Err(e) => panic!(
                    "a valid record no longer validates after from_parts: {:?}",
                    e.0.iter().map(|f| &f.field).collect::<Vec<_>>()
                ),
            };
            assert_eq!(
                again.public, new.public,
                "public fields change on re-validation"
            );
            let (a, b) = (&again.sensitive, &new.sensitive);
            assert!(a.ssn == b.ssn, "ssn changes on re-validation");
            assert!(
                a.date_of_birth.as_str() == b.date_of_birth.as_str(),
                "dob changes"
            );
            assert!(a.home_address == b.home_address, "home_address changes");
            assert!(a.bank_account == b.bank_account, "bank_account changes");
            assert!(
                b.date_of_birth.date().is_some(),
                "a stored date_of_birth must parse back"
            );
            Some(new)
        }
    }
}

type Slot = Option<Vec<Option<String>>>;

fn text(v: &Option<String>) -> Slot {
    v.as_ref().map(|s| vec![Some(s.clone())])
}

fn address(a: &AddressDraft) -> Vec<Option<String>> {
    vec![
        a.line1.clone(),
        a.line2.clone(),
        a.city.clone(),
        a.state.clone(),
        a.postal_code.clone(),
        a.country.clone(),
    ]
}

fn bank(b: &BankDraft) -> Vec<Option<String>> {
    vec![b.routing_number.clone(), b.account_number.clone()]
}

/// A draft as 16 comparable slots (drafts have no `PartialEq` or `Debug`, by design).
fn draft_slots(d: &EmployeeDraft) -> [Slot; 16] {
    [
        text(&d.employee_number),
        text(&d.first_name),
        text(&d.last_name),
        text(&d.preferred_name),
        text(&d.work_email),
        text(&d.department),
        text(&d.job_title),
        text(&d.manager_id),
        text(&d.location),
        text(&d.hire_date),
        text(&d.status),
        text(&d.termination_date),
        text(&d.ssn),
        text(&d.date_of_birth),
        d.home_address.as_ref().map(address),
        d.bank_account.as_ref().map(bank),
    ]
}

/// `None` = absent (keep), `Some(slot)` = the slot after applying.
fn change<T>(p: &Patch<T>, f: impl Fn(&T) -> Vec<Option<String>>) -> Option<Slot> {
    match p {
        Patch::Absent => None,
        Patch::Null => Some(None),
        Patch::Value(v) => Some(Some(f(v))),
    }
}

fn patch_slots(p: &EmployeePatch) -> [Option<Slot>; 16] {
    let t = |s: &String| vec![Some(s.clone())];
    [
        change(&p.employee_number, t),
        change(&p.first_name, t),
        change(&p.last_name, t),
        change(&p.preferred_name, t),
        change(&p.work_email, t),
        change(&p.department, t),
        change(&p.job_title, t),
        change(&p.manager_id, t),
        change(&p.location, t),
        change(&p.hire_date, t),
        change(&p.status, t),
        change(&p.termination_date, t),
        change(&p.ssn, t),
        change(&p.date_of_birth, t),
        change(&p.home_address, address),
        change(&p.bank_account, bank),
    ]
}

/// Target `employee_patch`: `<draft JSON> 0xFF <patch JSON>` (0xFF never occurs in JSON text);
/// without the separator the whole input is the patch, applied to an empty draft.
pub fn employee_patch(data: &[u8]) {
    let (draft, patch) = match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"{}"[..], data),
    };
    let Ok(mut draft) = serde_json::from_slice::<EmployeeDraft>(draft) else {
        return;
    };
    let Ok(p) = serde_json::from_slice::<EmployeePatch>(patch) else {
        return;
    };
    let expected = patch_slots(&p);
    let touched = p.touched_fields();
    let before = draft_slots(&draft);
    draft.apply(p);
    let after = draft_slots(&draft);
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let want = expected[i].as_ref().unwrap_or(b);
        assert!(a == want, "apply() got field #{i} wrong");
    }
    let names: Vec<&str> = ERROR_FIELDS[..14]
        .iter()
        .copied()
        .chain(["home_address", "bank_account"])
        .zip(&expected)
        .filter(|(_, e)| e.is_some())
        .map(|(n, _)| n)
        .collect();
    assert_eq!(touched, names, "touched_fields() disagrees with the patch");
    check_draft(&draft);
}

/// Target `csv_import`: an HRIS CSV file as `hrvault import` reads it.
pub fn csv_import(data: &[u8]) {
    let Ok(rows) = CsvDrafts::new(Cursor::new(data)) else {
        return;
    };
    let mut last_line = 0;
    for (n, row) in rows.enumerate() {
        assert!(
            n <= data.len(),
            "CsvDrafts yields more rows than bytes: it does not advance"
        );
        assert!(row.line >= 1, "line numbers start at 1 (header)");
        assert!(row.line >= last_line, "line numbers go backwards");
        last_line = row.line;
        // Not asserted (open bug, see the ignored test `csv_line_numbers_follow_the_file`):
        // a data row's line is >= 2. csv's positions lag behind with CRLF, CR and blank lines.
        if let Ok(draft) = row.draft {
            check_draft(&draft);
        }
    }
}

/// Target `scalars`: the small parsers, each with its round trip.
pub fn scalars(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for s in [s, s.trim()] {
        scalar(s);
    }
}

fn scalar(s: &str) {
    if let Ok(ssn) = Ssn::parse(s) {
        let formatted = ssn.formatted();
        assert!(ssn.digits().iter().all(u8::is_ascii_digit));
        assert_eq!(formatted.len(), 11);
        let digits: String = ssn.digits().iter().map(|&b| char::from(b)).collect();
        assert!(
            s == formatted.as_str() || s == digits,
            "Ssn accepts another layout"
        );
        assert!(Ssn::parse(&formatted).is_ok_and(|again| again == ssn));
        assert!(Ssn::parse(&digits).is_ok_and(|again| again == ssn));
        assert_eq!(ssn.masked(), format!("***-**-{}", &digits[5..]));
    }
    match parse_date(s) {
        Ok(d) => {
            assert_eq!(
                d.to_string(),
                s,
                "parse_date accepts a non-canonical layout"
            );
            assert!(DateOfBirth::parse(s).is_some_and(|dob| dob.date() == Some(d)));
        }
        Err(_) => assert!(DateOfBirth::parse(s).is_none()),
    }
    match Username::parse(s) {
        Ok(u) => {
            assert_eq!(u.as_str(), s);
            let recorded = Username::for_audit(s);
            // A valid username is recorded as typed, unless it is also an SSN.
            if Ssn::parse(s).is_ok() {
                assert_eq!(
                    recorded,
                    Username::INVALID,
                    "an SSN-shaped name is recorded"
                );
            } else {
                assert_eq!(recorded, s);
            }
        }
        Err(_) => assert_eq!(Username::for_audit(s), Username::INVALID),
    }
    if validate_employee_number(s).is_ok() {
        assert!(!s.is_empty() && s.len() <= 32);
    }
    if let Ok(id) = s.parse::<EmployeeId>() {
        assert!(id.to_string().eq_ignore_ascii_case(s));
        assert_eq!(EmployeeId::from_slice(id.as_bytes()), Ok(id));
    }
    if let Ok(r) = s.parse::<Role>() {
        assert_eq!(r.as_str(), s);
    }
    if let Ok(st) = s.parse::<EmployeeStatus>() {
        assert_eq!(st.as_str(), s);
    }
    if let Some(f) = FieldName::parse(s) {
        assert_eq!(f.as_str(), s);
    }
    if let Some(a) = Action::parse(s) {
        assert_eq!(a.as_str(), s);
    }
}
