//! Error shapes and status codes: 413, 400, 422 per field rule, 409, 404.

use serde_json::{Value, json};

use super::common::*;
use super::{id_of, world};

/// A body over 64 KiB is refused with a problem+json 413, on an authenticated route and on login;
/// a body of exactly 64 KiB is read (and then judged on its content).
#[test]
fn body_over_64_kib_is_413() {
    let w = world();
    let c = w.c();
    let hr = &w.staff.hr.token;
    let padded = |len: usize| {
        let head = r#"{"first_name":""#;
        let tail = r#""}"#;
        format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
    };
    let over = padded(64 * 1024 + 1);
    let at = padded(64 * 1024);
    let r = c
        .post("/v1/employees")
        .token(hr)
        .raw("application/json", over.clone())
        .send();
    r.problem(413);
    let r = c
        .post("/v1/auth/login")
        .raw("application/json", over)
        .send();
    r.problem(413);
    let r = c
        .post("/v1/employees")
        .token(hr)
        .raw("application/json", at)
        .send();
    assert!(
        r.status == 422 || r.status == 400,
        "64 KiB exactly is read: {}",
        r.status
    );
}

/// Malformed JSON, unknown fields (top level and nested, on create, PATCH, reveal, lookup, login
/// and user creation) and wrong JSON types are 400 problem+json bodies that name the problem
/// without echoing the value (an SSN sent as a number is still an SSN).
#[test]
fn malformed_unknown_and_mistyped_bodies_are_400() {
    let w = world();
    let c = w.c();
    let hr = &w.staff.hr.token;
    let rec = create_employee(c, hr, &draft());
    let id = id_of(&rec);
    let with = |k: &str, v: Value| {
        let mut d = draft();
        d[k] = v;
        d
    };
    let mut nested = draft();
    nested["home_address"]["favourite_colour"] = json!("blue");
    let cases: Vec<(&str, String, Option<Value>)> = vec![
        ("POST", "/v1/employees".into(), None), // malformed, below
        (
            "POST",
            "/v1/employees".into(),
            Some(with("favourite_colour", json!("blue"))),
        ),
        ("POST", "/v1/employees".into(), Some(nested)),
        (
            "POST",
            "/v1/employees".into(),
            Some(with("ssn", json!(287_659_876u64))),
        ),
        (
            "POST",
            "/v1/employees".into(),
            Some(with("hire_date", json!(20_260_115))),
        ),
        (
            "POST",
            "/v1/employees".into(),
            Some(with("home_address", json!("1 Main St"))),
        ),
        (
            "POST",
            "/v1/employees".into(),
            Some(with("employee_number", json!(["E1"]))),
        ),
        ("POST", "/v1/employees".into(), Some(json!([1, 2, 3]))),
        (
            "PATCH",
            format!("/v1/employees/{id}"),
            Some(json!({"salary": 1})),
        ),
        (
            "PATCH",
            format!("/v1/employees/{id}"),
            Some(json!({"ssn": 287_659_876u64})),
        ),
        (
            "POST",
            format!("/v1/employees/{id}/reveal"),
            Some(json!({"fields": "ssn", "reason": "a valid reason here"})),
        ),
        (
            "POST",
            "/v1/employees/lookup".into(),
            Some(json!({"ssn": 287_659_876u64})),
        ),
        (
            "POST",
            "/v1/employees/lookup".into(),
            Some(json!({"ssn": "287-65-9876", "x": 1})),
        ),
    ];
    for (i, (method, path, body)) in cases.into_iter().enumerate() {
        let r = c.req(method, &path).token(hr);
        let r = match body {
            Some(b) => r.json(&b),
            None => r.raw("application/json", r#"{"employee_number": "E1", "#),
        };
        let r = r.send();
        let v = r.problem(400);
        let detail = v["detail"].as_str().unwrap();
        for digits in ["287659876", "287-65-9876", "20260115"] {
            assert!(
                !r.text().contains(digits),
                "case {i}: echoes {digits}: {}",
                r.text()
            );
        }
        if i == 1 || i == 2 {
            assert!(
                detail.contains("favourite_colour"),
                "case {i}: names the field: {detail}"
            );
        }
    }
    let r = c
        .post("/v1/auth/login")
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD, "otp": "1"}))
        .send();
    r.problem(400);
    let r = c
        .post("/v1/users")
        .token(&w.staff.admin.token)
        .json(
            &json!({"username": "x1", "password": "long-enough-1", "role": "hr", "is_admin": true}),
        )
        .send();
    r.problem(400);
    // A 400 did not create anything.
    let list = c
        .get("/v1/employees?limit=500")
        .token(hr)
        .send()
        .expect(200)
        .json();
    assert!(!list.to_string().contains("favourite_colour"));
}

/// A change to `draft()`: set the dotted path to the value, or remove it (`None`).
type Edit = (&'static str, Option<Value>);

/// A fresh `draft()` with `edits` applied.
fn edited(edits: &[Edit]) -> Value {
    let mut d = draft();
    for (path, value) in edits {
        let (parent, key) = match path.rsplit_once('.') {
            Some((p, k)) => (&mut d[p], k),
            None => (&mut d, *path),
        };
        match value {
            Some(v) => parent[key] = v.clone(),
            None => {
                parent.as_object_mut().unwrap().remove(key);
            }
        }
    }
    d
}

/// One contract field rule each is a 422 problem whose `errors[].field` names exactly the broken
/// field, whose text never repeats a rejected SSN; the boundaries of the rules are accepted.
#[test]
fn field_rules_are_422_naming_the_field() {
    let w = world();
    let c = w.c();
    let hr = &w.staff.hr.token;
    let good_routing = aba("02600959");
    let last = good_routing.as_bytes()[8] - b'0';
    let bad_routing = format!("{}{}", &good_routing[..8], (last + 1) % 10);
    assert_eq!(
        draft()["hire_date"],
        "2026-01-15",
        "the ages below are relative to it"
    );
    let invalid: Vec<(&str, Edit)> = vec![
        ("ssn", ("ssn", Some(json!("666-12-3456")))),
        ("ssn", ("ssn", Some(json!("000-12-3456")))),
        ("ssn", ("ssn", Some(json!("912-12-3456")))),
        ("ssn", ("ssn", Some(json!("123-00-4567")))),
        ("ssn", ("ssn", Some(json!("123-45-0000")))),
        ("ssn", ("ssn", Some(json!("12345678")))),
        ("ssn", ("ssn", Some(json!("123-456-789")))),
        (
            "date_of_birth",
            ("date_of_birth", Some(json!("2012-01-16"))),
        ), // 13 at hire
        (
            "date_of_birth",
            ("date_of_birth", Some(json!("1905-01-14"))),
        ), // 121 at hire
        (
            "date_of_birth",
            ("date_of_birth", Some(json!("1990-02-30"))),
        ),
        (
            "date_of_birth",
            ("date_of_birth", Some(json!("01/04/1990"))),
        ),
        (
            "bank_account.routing_number",
            ("bank_account.routing_number", Some(json!(bad_routing))),
        ),
        (
            "bank_account.routing_number",
            ("bank_account.routing_number", Some(json!("12345678"))),
        ),
        ("work_email", ("work_email", Some(json!("not-an-email")))),
        ("work_email", ("work_email", Some(json!("a@b")))),
        ("employee_number", ("employee_number", Some(json!("E 1")))),
        ("employee_number", ("employee_number", Some(json!("E_1")))),
        (
            "employee_number",
            ("employee_number", Some(json!("E".repeat(33)))),
        ),
        ("employee_number", ("employee_number", Some(json!("")))),
        ("employee_number", ("employee_number", None)),
        ("first_name", ("first_name", None)),
        ("last_name", ("last_name", None)),
        ("hire_date", ("hire_date", None)),
        ("ssn", ("ssn", None)),
        ("date_of_birth", ("date_of_birth", None)),
    ];
    let rejected_ssns = [
        "666-12-3456",
        "000-12-3456",
        "912-12-3456",
        "123-00-4567",
        "123-45-0000",
    ];
    for (field, edit) in &invalid {
        let d = edited(std::slice::from_ref(edit));
        let r = c.post("/v1/employees").token(hr).json(&d).send();
        assert_eq!(r.status, 422, "{field} in {d}: {}", r.text());
        assert_eq!(r.error_fields(), vec![(*field).to_owned()], "{d}");
        for s in rejected_ssns {
            assert!(!r.text().contains(s), "422 echoes {s}");
        }
    }
    // Several broken fields at once: every one is reported, not just the first.
    let d = edited(&[
        invalid[0].1.clone(),
        invalid[13].1.clone(),
        ("first_name", None),
    ]);
    let r = c.post("/v1/employees").token(hr).json(&d).send();
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, ["first_name", "ssn", "work_email"]);

    // The edges of the rules are valid.
    let long_number = format!("E-{}", unique_number()).repeat(4)[..32].to_owned();
    let valid: Vec<(&str, Vec<Edit>)> = vec![
        (
            "age 14 on the hire date",
            vec![("date_of_birth", Some(json!("2012-01-15")))],
        ),
        (
            "age 120 on the hire date",
            vec![("date_of_birth", Some(json!("1906-01-15")))],
        ),
        (
            "employee_number of 32",
            vec![("employee_number", Some(json!(long_number)))],
        ),
        (
            "routing with checksum",
            vec![("bank_account.routing_number", Some(json!(good_routing)))],
        ),
        (
            "no address or bank",
            vec![("home_address", None), ("bank_account", None)],
        ),
    ];
    for (what, edits) in valid {
        let d = edited(&edits);
        let r = c.post("/v1/employees").token(hr).json(&d).send();
        assert_eq!(r.status, 201, "{what}: {}", r.text());
    }
}

/// A second record with the same SSN (in either form) or employee number is a 409 naming the
/// field, on create and on PATCH; the conflicting write changes nothing.
#[test]
fn duplicates_are_409() {
    let w = world();
    let c = w.c();
    let hr = &w.staff.hr.token;
    let first = draft();
    create_employee(c, hr, &first);
    let ssn = first["ssn"].as_str().unwrap();
    let digits = ssn.replace('-', "");
    for (field, value) in [
        ("ssn", json!(ssn)),
        ("ssn", json!(digits)),
        ("employee_number", first["employee_number"].clone()),
    ] {
        let mut d = draft();
        d[field] = value;
        let r = c.post("/v1/employees").token(hr).json(&d).send();
        let v = r.problem(409);
        assert_eq!(v["errors"][0]["field"], field, "{v}");
        assert!(
            !r.text().contains(ssn) && !r.text().contains(&digits),
            "409 echoes the SSN"
        );
    }
    let other = create_employee(c, hr, &draft());
    let oid = id_of(&other);
    for (field, value) in [
        ("ssn", json!(digits)),
        ("employee_number", first["employee_number"].clone()),
    ] {
        let r = c
            .patch(&format!("/v1/employees/{oid}"))
            .token(hr)
            .json(&json!({ field: value }))
            .send();
        let v = r.problem(409);
        assert_eq!(v["errors"][0]["field"], field, "{v}");
    }
    let now = c
        .get(&format!("/v1/employees/{oid}"))
        .token(hr)
        .send()
        .expect(200)
        .json();
    assert_eq!(now["version"], 1, "a refused PATCH changes nothing");
    assert_eq!(now["employee_number"], other["employee_number"]);
}

/// Unknown ids and ids that are not ids are 404 problem+json on every record route; unknown
/// routes are 404 too.
#[test]
fn unknown_and_malformed_ids_are_404() {
    let w = world();
    let c = w.c();
    let hr = &w.staff.hr.token;
    for id in [
        "7d3c2a59-0f59-4b8e-9a31-5c8f1f0c2b6e",
        "not-a-uuid",
        "1",
        "7d3c2a590f594b8e9a315c8f1f0c2b6e",
    ] {
        c.get(&format!("/v1/employees/{id}"))
            .token(hr)
            .send()
            .problem(404);
        c.patch(&format!("/v1/employees/{id}"))
            .token(hr)
            .json(&json!({"job_title": "x"}))
            .send()
            .problem(404);
        c.delete(&format!("/v1/employees/{id}"))
            .token(hr)
            .send()
            .problem(404);
        reveal(c, hr, id, &["ssn"]).problem(404);
    }
    c.get("/v1/no-such-route").token(hr).send().problem(404);
    c.patch("/v1/users/7d3c2a59-0f59-4b8e-9a31-5c8f1f0c2b6e")
        .token(&w.staff.admin.token)
        .json(&json!({"enabled": false}))
        .send()
        .problem(404);
    c.delete("/v1/users/not-a-uuid")
        .token(&w.staff.admin.token)
        .send()
        .problem(404);
}
