//! One table per rule of CONTRACT §2 Employees.

use super::*;

fn valid() -> EmployeeDraft {
    serde_json::from_value(serde_json::json!({
        "employee_number": "E10001",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "work_email": "ada@example.com",
        "hire_date": "2026-01-15",
        "ssn": "123-45-6789",
        "date_of_birth": "1990-04-01",
        "home_address": {"line1": "1 Main St", "city": "Springfield", "state": "IL",
                         "postal_code": "62701", "country": "US"},
        "bank_account": {"routing_number": "011000015", "account_number": "000123456789"}
    }))
    .unwrap()
}

fn fields_of(d: &EmployeeDraft) -> Vec<String> {
    match NewEmployee::parse(d) {
        Ok(_) => vec![],
        Err(e) => e.0.into_iter().map(|f| f.field).collect(),
    }
}

fn check(mutate: impl Fn(&mut EmployeeDraft, &str), cases: &[(&str, bool)], field: &str) {
    for (value, ok) in cases {
        let mut d = valid();
        mutate(&mut d, value);
        let bad = fields_of(&d);
        assert_eq!(bad.is_empty(), *ok, "{field} = {value:?}: {bad:?}");
        if !ok {
            assert_eq!(bad, vec![field.to_owned()], "{field} = {value:?}");
        }
    }
}

#[test]
fn the_reference_record_is_valid() {
    let e = NewEmployee::parse(&valid()).unwrap();
    assert_eq!(e.public.status, EmployeeStatus::Onboarding);
    assert_eq!(e.sensitive.ssn.formatted().as_str(), "123-45-6789");
}

#[test]
fn required_fields() {
    for field in [
        "employee_number",
        "first_name",
        "last_name",
        "hire_date",
        "ssn",
        "date_of_birth",
    ] {
        let mut v = serde_json::to_value(serde_json::json!({
            "employee_number": "E1", "first_name": "A", "last_name": "B",
            "hire_date": "2026-01-15", "ssn": "123-45-6789", "date_of_birth": "1990-04-01"
        }))
        .unwrap();
        v.as_object_mut().unwrap().remove(field);
        let d: EmployeeDraft = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(fields_of(&d), vec![field.to_owned()], "missing {field}");
        v.as_object_mut()
            .unwrap()
            .insert(field.into(), serde_json::Value::Null);
        let d: EmployeeDraft = serde_json::from_value(v).unwrap();
        assert_eq!(fields_of(&d), vec![field.to_owned()], "null {field}");
    }
}

#[test]
fn ssn_rules() {
    check(
        |d, v| d.ssn = Some(v.into()),
        &[
            ("123-45-6789", true),
            ("123456789", true),
            ("000-45-6789", false),
            ("666-45-6789", false),
            ("900-45-6789", false),
            ("123-00-6789", false),
            ("123-45-0000", false),
            ("123-456-789", false),
            ("abc-de-fghi", false),
        ],
        "ssn",
    );
}

#[test]
fn date_of_birth_rules() {
    // hire_date is 2026-01-15.
    check(
        |d, v| d.date_of_birth = Some(v.into()),
        &[
            ("1990-04-01", true),
            ("2012-01-15", true),  // exactly 14 on the hire date
            ("2012-01-16", false), // one day short of 14
            ("1906-01-15", true),  // exactly 120
            ("1905-01-14", false), // 121
            ("1990-02-30", false), // not a real date
            ("1990-13-01", false),
            ("1990-4-1", false),
            ("01/04/1990", false),
            ("2030-01-01", false), // born after hire
        ],
        "date_of_birth",
    );
}

#[test]
fn leap_day_birthdays_are_real_dates() {
    let mut d = valid();
    d.date_of_birth = Some("2000-02-29".into());
    assert!(fields_of(&d).is_empty());
    d.date_of_birth = Some("2001-02-29".into());
    assert_eq!(fields_of(&d), vec!["date_of_birth"]);
}

#[test]
fn email_rules() {
    check(
        |d, v| d.work_email = Some(v.into()),
        &[
            ("ada@example.com", true),
            ("a.b+tag@sub.example.co.uk", true),
            ("ada", false),
            ("ada@", false),
            ("@example.com", false),
            ("ada@example", false),
            ("ada@@example.com", false),
            ("ada lovelace@example.com", false),
            ("ada@-example.com", false),
        ],
        "work_email",
    );
}

#[test]
fn employee_number_rules() {
    check(
        |d, v| d.employee_number = Some(v.into()),
        &[
            ("E10001", true),
            ("a-1", true),
            ("12345678901234567890123456789012", true),
            ("123456789012345678901234567890123", false),
            ("E 1", false),
            ("E_1", false),
            ("É1", false),
        ],
        "employee_number",
    );
}

#[test]
fn routing_number_rules() {
    check(
        |d, v| d.bank_account.as_mut().unwrap().routing_number = Some(v.into()),
        &[
            ("011000015", true),
            ("021000021", true),
            ("111000025", true),
            ("011000016", false), // checksum
            ("01100001", false),
            ("0110000150", false),
            ("01100001a", false),
        ],
        "bank_account.routing_number",
    );
}

#[test]
fn account_number_rules() {
    check(
        |d, v| d.bank_account.as_mut().unwrap().account_number = Some(v.into()),
        &[
            ("1234", true),
            ("12345678901234567", true),
            ("123", false),
            ("12345678901234567a", false),
        ],
        "bank_account.account_number",
    );
}

#[test]
fn address_needs_line1_city_country() {
    for field in ["line1", "city", "country"] {
        let mut d = valid();
        let a = d.home_address.as_mut().unwrap();
        match field {
            "line1" => a.line1 = None,
            "city" => a.city = None,
            _ => a.country = None,
        }
        assert_eq!(fields_of(&d), vec![format!("home_address.{field}")]);
    }
}

#[test]
fn status_and_termination_date() {
    check(
        |d, v| d.status = Some(v.into()),
        &[
            ("active", true),
            ("on_leave", true),
            ("terminated", true),
            ("fired", false),
            ("Active", false),
        ],
        "status",
    );
    check(
        |d, v| d.termination_date = Some(v.into()),
        &[
            ("2026-06-30", true),
            ("2026-01-15", true),
            ("2025-12-31", false),
            ("2026-06-31", false),
        ],
        "termination_date",
    );
}

#[test]
fn text_fields_are_bounded_and_printable() {
    check(
        |d, v| d.first_name = Some(v.into()),
        &[
            ("Ada", true),
            ("  Ada  ", true),
            ("", false),
            ("   ", false),
            ("A\u{0}", false),
        ],
        "first_name",
    );
    let mut d = valid();
    d.last_name = Some("x".repeat(201));
    assert_eq!(fields_of(&d), vec!["last_name"]);
}

#[test]
fn unknown_fields_and_wrong_types_are_serde_errors() {
    assert!(serde_json::from_str::<EmployeeDraft>(r#"{"favourite_colour":"red"}"#).is_err());
    assert!(serde_json::from_str::<EmployeeDraft>(r#"{"ssn":123456789}"#).is_err());
    assert!(
        serde_json::from_str::<EmployeeDraft>(r#"{"home_address":{"planet":"Mars"}}"#).is_err()
    );
}

#[test]
fn all_errors_are_reported_and_none_echoes_a_value() {
    let d: EmployeeDraft = serde_json::from_str(
        r#"{"employee_number":"bad number!","first_name":"A","last_name":"B","hire_date":"2026-01-15",
            "ssn":"666-12-3456","date_of_birth":"2030-01-01","work_email":"nope",
            "bank_account":{"routing_number":"011000016","account_number":"99"}}"#,
    )
    .unwrap();
    let errs = NewEmployee::parse(&d).err().unwrap();
    let fields: Vec<_> = errs.0.iter().map(|f| f.field.as_str()).collect();
    for f in [
        "employee_number",
        "ssn",
        "date_of_birth",
        "work_email",
        "bank_account.routing_number",
        "bank_account.account_number",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    let all = serde_json::to_string(&errs.0).unwrap();
    for secret in [
        "666-12-3456",
        "666-12",
        "3456",
        "011000016",
        "2030-01-01",
        "bad number!",
    ] {
        assert!(!all.contains(secret), "{secret} echoed in {all}");
    }
}

#[test]
fn patch_null_clears_optional_and_required_stays_required() {
    let current = NewEmployee::parse(&valid()).unwrap();
    let mut d = EmployeeDraft::from_parts(&current.public, &current.sensitive);
    let patch: crate::model::EmployeePatch =
        serde_json::from_str(r#"{"work_email":null,"first_name":"Augusta","home_address":null}"#)
            .unwrap();
    assert_eq!(
        patch.touched_fields(),
        vec!["first_name", "work_email", "home_address"]
    );
    d.apply(patch);
    let e = NewEmployee::parse(&d).unwrap();
    assert_eq!(e.public.first_name, "Augusta");
    assert_eq!(e.public.work_email, None);
    assert!(e.sensitive.home_address.is_none());
    assert!(e.sensitive.bank_account.is_some());

    let mut d = EmployeeDraft::from_parts(&current.public, &current.sensitive);
    d.apply(serde_json::from_str(r#"{"ssn":null}"#).unwrap());
    assert_eq!(fields_of(&d), vec!["ssn"]);
}
