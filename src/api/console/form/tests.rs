//! Unit tests of the new-hire and edit forms (synthetic values only).
use super::*;
use crate::model::{FieldError, ValidationErrors};

fn form(pairs: &[(&str, &str)]) -> FormFields {
    let body = serde_urlencoded::to_string(pairs).unwrap();
    FormFields::parse(bytes::Bytes::from(body)).unwrap()
}

const FULL: [(&str, &str); 15] = [
    ("employee_number", "E1"),
    ("first_name", "Ada"),
    ("last_name", "Lovelace"),
    ("preferred_name", ""),
    ("work_email", " ada@example.com "),
    ("hire_date", "2026-01-15"),
    ("status", "active"),
    ("ssn", "123-45-6789"),
    ("date_of_birth", "1990-04-01"),
    ("home_address.line1", "1 Main St"),
    ("home_address.city", "Springfield"),
    ("home_address.country", "US"),
    ("bank_account.routing_number", "011000015"),
    ("bank_account.account_number", "000123456789"),
    ("csrf", "token"),
];

#[test]
fn a_new_hire_form_maps_like_a_csv_row_and_empty_is_absent() {
    let d = draft_of(&form(&FULL));
    assert_eq!(d.employee_number.as_deref(), Some("E1"));
    assert_eq!(d.preferred_name, None, "an empty input is absent");
    assert_eq!(d.work_email.as_deref(), Some("ada@example.com"));
    assert_eq!(d.status.as_deref(), Some("active"));
    assert_eq!(d.ssn.as_deref(), Some("123-45-6789"));
    let a = d.home_address.as_ref().unwrap();
    assert_eq!(a.line1.as_deref(), Some("1 Main St"));
    assert_eq!(a.line2, None);
    let b = d.bank_account.as_ref().unwrap();
    assert_eq!(b.routing_number.as_deref(), Some("011000015"));
    let none = draft_of(&form(&[("home_address.line1", " "), ("csrf", "x")]));
    assert!(none.home_address.is_none() && none.bank_account.is_none());
    // Every input of the form is a draft column, so nothing typed is dropped.
    for f in all_fields() {
        assert!(EmployeeDraft::COLUMNS.contains(&f.name), "{}", f.name);
    }
}

#[test]
fn a_refused_form_never_sends_back_a_sensitive_value() {
    let f = form(&FULL);
    let kept = Kept::from_form(&f);
    let errs = ServiceError::Invalid(ValidationErrors(vec![FieldError {
        field: "ssn".into(),
        message: "area number may not be 000, 666 or 900-999".into(),
    }]));
    let problems = place_on_form(&errs).unwrap();
    let html = fields(Mode::NewAgain, &kept, &problems, &entered_sensitive(&f)).into_string();
    for secret in [
        "123-45-6789",
        "1990-04-01",
        "1 Main St",
        "Springfield",
        "011000015",
        "000123456789",
    ] {
        assert!(!html.contains(secret), "{secret} sent back");
    }
    assert!(
        html.contains("value=\"Ada\""),
        "non-sensitive values are kept"
    );
    assert!(html.contains(HINT_AGAIN));
}

#[test]
fn a_message_sits_beside_its_input_and_is_referenced_by_it() {
    let errs = ServiceError::Invalid(ValidationErrors(vec![
        FieldError {
            field: "home_address.postal_code".into(),
            message: "is too long (at most 200 characters)".into(),
        },
        FieldError {
            field: "bank_account.routing_number".into(),
            message: "fails the ABA checksum".into(),
        },
        FieldError {
            field: "nonsense".into(),
            message: "is odd".into(),
        },
    ]));
    let p = place_on_form(&errs).unwrap();
    assert_eq!(p.other, vec!["nonsense: is odd".to_owned()]);
    let html = fields(Mode::NewAgain, &Kept::new_hire(), &p, &[]).into_string();
    let input = |name: &str| {
        let at = html.find(&format!("name=\"{name}\"")).unwrap();
        let start = html[..at].rfind('<').unwrap();
        let end = at + html[at..].find('>').unwrap();
        html[start..=end].to_owned()
    };
    let routing = input("bank_account.routing_number");
    assert!(routing.contains("aria-invalid=\"true\""), "{routing}");
    assert!(
        routing.contains("f-bank_account-routing_number-error"),
        "{routing}"
    );
    assert!(html.contains(
        "<p class=\"field-error\" id=\"f-bank_account-routing_number-error\">Routing number fails the ABA checksum</p>"
    ));
    assert!(html.contains("Postal code is too long"));
    assert!(!input("first_name").contains("aria-invalid"));
    let summary = summary("Not saved", &p).into_string();
    assert!(summary.contains("role=\"alert\""));
    assert!(summary.contains("href=\"#f-home_address-postal_code\""));

    let dup = ServiceError::conflict("employee_number", "employee_number is already in use");
    let p = place_on_form(&dup).unwrap();
    assert_eq!(p.beside[0].1, "Employee number is already in use");
    assert!(place_on_form(&ServiceError::NotFound).is_none());
}

#[test]
fn an_edit_sends_only_what_changed() {
    let current = Kept(
        [
            ("employee_number", "E1"),
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("preferred_name", "Countess"),
            ("hire_date", "2026-01-15"),
            ("status", "active"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect(),
    );
    let f = form(&[
        ("employee_number", "E1"),
        ("first_name", "Augusta"),
        ("last_name", "Lovelace"),
        ("preferred_name", ""),
        ("job_title", "Analyst"),
        ("hire_date", "2026-01-15"),
        ("status", "active"),
        ("ssn", ""),
        ("bank_account.routing_number", "011000015"),
        ("bank_account.account_number", "1234"),
    ]);
    let p = patch_of(&f, &current);
    assert_eq!(
        p.touched_fields(),
        vec!["first_name", "preferred_name", "job_title", "bank_account"]
    );
    assert!(matches!(&p.first_name, Patch::Value(v) if v == "Augusta"));
    assert!(matches!(p.preferred_name, Patch::Null), "emptied clears it");
    assert!(
        matches!(p.hire_date, Patch::Absent),
        "unchanged: no comparison with the stored birth date"
    );
    assert!(
        matches!(p.ssn, Patch::Absent),
        "empty keeps the stored value"
    );
    assert!(
        matches!(&p.bank_account, Patch::Value(b) if b.account_number.as_deref() == Some("1234"))
    );
    assert!(
        patch_of(
            &form(&[
                ("employee_number", "E1"),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
                ("preferred_name", "Countess"),
                ("hire_date", "2026-01-15"),
                ("status", "active")
            ]),
            &current
        )
        .touched_fields()
        .is_empty()
    );
}
