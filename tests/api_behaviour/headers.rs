//! Headers (`Cache-Control`, `x-request-id`) and one audit entry per request.

use serde_json::json;

use super::common::*;
use super::{id_of, world};

/// Every response that carries employee data has `Cache-Control: no-store`; `x-request-id` is
/// echoed when it is a safe short token and replaced by a generated id otherwise.
#[test]
fn no_store_and_request_ids() {
    let w = world();
    let c = w.c();
    let hr = &w.staff.hr.token;
    let body = draft();
    let created = c.post("/v1/employees").token(hr).json(&body).send();
    let id = id_of(&created.expect(201).json());
    let responses = [
        created,
        c.get(&format!("/v1/employees/{id}")).token(hr).send(),
        c.get("/v1/employees").token(hr).send(),
        c.patch(&format!("/v1/employees/{id}"))
            .token(hr)
            .json(&json!({"location": "Paris"}))
            .send(),
        reveal(c, hr, &id, &["ssn"]),
        c.post("/v1/employees/lookup")
            .token(hr)
            .json(&json!({"ssn": body["ssn"]}))
            .send(),
        c.get("/v1/employees/not-an-id").token(hr).send(),
    ];
    for r in &responses {
        assert_eq!(r.header("cache-control"), Some("no-store"), "{}", r.text());
        assert_eq!(r.header("x-request-id"), Some(r.request_id.as_str()));
    }
    let r = c
        .get("/healthz")
        .header("x-request-id", "abc.DEF_123:x-y")
        .send();
    assert_eq!(r.header("x-request-id"), Some("abc.DEF_123:x-y"));
    for bad in ["has space", "quote\"", &"x".repeat(65)] {
        let r = c.get("/healthz").header("x-request-id", bad).send();
        let got = r.header("x-request-id").expect("an id is always returned");
        assert_ne!(got, bad);
        assert_eq!(got.len(), 36, "a generated UUID: {got}");
    }
    let r = c.get("/healthz").header("x-request-id", "").send();
    assert!(r.header("x-request-id").is_some_and(|h| !h.is_empty()));
}

/// Each request that touches employee data or users, and each login, appends exactly one audit
/// entry (action, outcome, actor, request id), readable when its response has arrived.
#[test]
fn each_request_appends_one_entry_before_its_response() {
    let w = world();
    let c = w.c();
    let s = &w.staff;
    let hr = &s.hr.token;
    let body = draft();
    let created = c.post("/v1/employees").token(hr).json(&body).send();
    let id = id_of(&created.json());
    let mut bad = draft();
    bad["ssn"] = json!("666-00-0000");
    let checks: Vec<(Resp, &str, &str, &str)> = vec![
        (created, "employee.create", "success", "hr-api"),
        (
            c.get(&format!("/v1/employees/{id}")).token(hr).send(),
            "employee.read",
            "success",
            "hr-api",
        ),
        (
            c.get("/v1/employees?limit=3")
                .token(&s.payroll.token)
                .send(),
            "employee.list",
            "success",
            "payroll-api",
        ),
        (
            c.patch(&format!("/v1/employees/{id}"))
                .token(hr)
                .json(&json!({"location": "Oslo"}))
                .send(),
            "employee.update",
            "success",
            "hr-api",
        ),
        (
            reveal(c, &s.payroll.token, &id, &["ssn"]),
            "employee.reveal",
            "success",
            "payroll-api",
        ),
        (
            c.post("/v1/employees/lookup")
                .token(hr)
                .json(&json!({"ssn": body["ssn"]}))
                .send(),
            "employee.lookup",
            "success",
            "hr-api",
        ),
        (
            c.post("/v1/employees").token(hr).json(&bad).send(),
            "employee.create",
            "error",
            "hr-api",
        ),
        (
            c.get(&format!("/v1/employees/{id}"))
                .token(&s.auditor.token)
                .send(),
            "access.denied",
            "denied",
            "auditor-api",
        ),
        (
            c.login_raw(&s.security.username, &s.security.password),
            "auth.login",
            "success",
            "security-api",
        ),
        (
            c.login_raw(&s.security.username, "not-the-password"),
            "auth.login_failed",
            "denied",
            "security-api",
        ),
        (
            c.post("/v1/users")
                .token(&s.admin.token)
                .json(
                    &json!({"username": "api-audited", "password": "long-enough-1", "role": "hr"}),
                )
                .send(),
            "user.create",
            "success",
            "admin",
        ),
        (
            c.delete(&format!("/v1/employees/{id}")).token(hr).send(),
            "employee.delete",
            "success",
            "hr-api",
        ),
    ];
    for (r, action, outcome, actor) in checks {
        let mine = audit_entries(c, &s.auditor.token, "", 0)
            .into_iter()
            .filter(|e| e["client_request_id"] == r.request_id.as_str())
            .collect::<Vec<_>>();
        assert_eq!(
            mine.len(),
            1,
            "{action}: one entry per request, got {mine:?}"
        );
        let e = &mine[0];
        assert_eq!(
            (e["action"].as_str(), e["outcome"].as_str()),
            (Some(action), Some(outcome)),
            "{e}"
        );
        assert_eq!(e["actor"]["username"], actor, "{e}");
        if action == "employee.list" {
            let listed: Vec<String> = r.json()["employees"]
                .as_array()
                .unwrap()
                .iter()
                .map(id_of)
                .collect();
            let logged: Vec<String> = e["employee_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            assert_eq!(listed, logged, "employee_ids lists the page");
        } else if action.starts_with("employee.") && outcome == "success" {
            assert_eq!(e["employee_id"], id.as_str(), "{e}");
        }
        for s in [body["ssn"].as_str().unwrap(), "666-00-0000"] {
            assert!(!e.to_string().contains(s));
        }
    }
}
