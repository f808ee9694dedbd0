//! A JSON body is exactly one object: arrays (read positionally by serde), scalars, trailing
//! bytes and repeated keys (at any depth) are a 400 that names the problem and no value.

use serde_json::json;

use super::common::{self, create_employee, create_user, draft};
use super::world;

/// Every body-taking route of the contract that matters here, each fed every bad shape.
#[test]
fn arrays_trailing_bytes_and_duplicate_keys_are_400_everywhere() {
    let w = world();
    let c = w.c();
    let s = &w.staff;
    let victim = create_user(c, &s.admin.token, "strict-victim", "hr");
    let rec = create_employee(c, &s.hr.token, &draft());
    let id = rec["id"].as_str().unwrap();
    let ssn = "219-09-9999";
    let routes: Vec<(&str, String, Option<&str>, String)> = vec![
        (
            "POST",
            "/v1/auth/login".into(),
            None,
            json!({"username": "admin", "password": "x"}).to_string(),
        ),
        (
            "POST",
            "/v1/employees".into(),
            Some(&s.hr.token),
            draft().to_string(),
        ),
        (
            "PATCH",
            format!("/v1/users/{}", victim.id),
            Some(&s.admin.token),
            json!({"enabled": true}).to_string(),
        ),
        (
            "POST",
            format!("/v1/employees/{id}/reveal"),
            Some(&s.hr.token),
            json!({"fields": ["ssn"], "reason": "payroll correction PAY-1"}).to_string(),
        ),
        (
            "POST",
            "/v1/employees/lookup".into(),
            Some(&s.hr.token),
            json!({"ssn": ssn}).to_string(),
        ),
    ];
    for (method, path, token, good) in &routes {
        let first_key = good[1..].split('"').nth(1).unwrap().to_owned();
        let inner = &good[1..good.len() - 1];
        let bad = [
            ("an array", format!("[{good}]")),
            ("an array", format!("[{inner}]").replace(':', ",")),
            ("a string", format!("\"{ssn}\"")),
            ("null", "null".to_owned()),
            ("trailing", format!("{good}{{}}")),
            ("trailing", format!("{good} x")),
            ("twice", format!("{{{inner},\"{first_key}\":\"{ssn}\"}}")),
        ];
        for (what, body) in bad {
            let mut r = c.req(method, path);
            if let Some(t) = token {
                r = r.token(t);
            }
            let resp = r.raw("application/json", body.clone()).send();
            let p = resp.problem(400);
            let detail = p["detail"].as_str().unwrap();
            assert!(
                detail.contains(what)
                    || (what == "twice" && detail.contains("given twice"))
                    || (what == "trailing" && detail.contains("after the JSON object")),
                "{method} {path} with {body}: {detail}"
            );
            assert!(
                !resp.text().contains("219-09"),
                "echoed a value: {}",
                resp.text()
            );
        }
    }
    // The report of issue 10: `[true,"auditor"]` changed a role. Now it changes nothing.
    let r = c
        .patch(&format!("/v1/users/{}", victim.id))
        .token(&s.admin.token)
        .raw("application/json", r#"[true,"auditor"]"#)
        .send();
    assert!(r.problem(400)["detail"].as_str().unwrap().contains("array"));
    let users = c
        .get("/v1/users")
        .token(&s.admin.token)
        .send()
        .expect(200)
        .json();
    let now = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == victim.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(now["role"], "hr");
    // Nested duplicates too, and the message names where.
    let mut d = draft().to_string();
    d.insert_str(d.find("\"city\"").unwrap(), "\"city\":\"Elsewhere\",");
    let r = c
        .post("/v1/employees")
        .token(&s.hr.token)
        .raw("application/json", d)
        .send();
    assert_eq!(
        r.problem(400)["detail"],
        "key `city` is given twice in `home_address`"
    );
    // Whitespace around the object is fine.
    c.post("/v1/auth/login")
        .raw(
            "application/json",
            format!(
                " \r\n{}\r\n ",
                json!({"username": "admin", "password": common::ADMIN_PASSWORD})
            ),
        )
        .send()
        .expect(200);
}
