//! Every route of the router goes through the policy decision point: the route table
//! (`hrvault::api::route_table::ROUTES`) lists exactly the router's routes, and on the running
//! server every route with a role rule refuses the other roles with an audited `access.denied`,
//! and every route that yields a full value or tests a guess refuses a restricted user of an
//! allowed role the same way.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use std::collections::BTreeSet;

use common::*;
use hrvault::api::route_table::{ROUTES, RouteRule, Yields};
use serde_json::{Value, json};

#[test]
fn the_table_lists_exactly_the_routers_routes() {
    let doc = serde_json::to_value(hrvault::api::openapi()).unwrap();
    let mut routed = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                routed.insert((method.to_owned(), path.clone()));
            }
        }
    }
    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(listed.len(), ROUTES.len(), "a route is listed twice");
    let unlisted: Vec<_> = routed.difference(&listed).collect();
    let gone: Vec<_> = listed.difference(&routed).collect();
    assert!(
        unlisted.is_empty(),
        "routes missing from the table: {unlisted:?}"
    );
    assert!(gone.is_empty(), "table rows with no route: {gone:?}");
}

/// A request to `rule` as `token`, with a body that would be valid for an allowed caller.
fn call(w: &Shared, rule: &RouteRule, token: &str, record: &str, rid: &str) -> Resp {
    let path = rule
        .path
        .replace("{id}", record)
        .replace("{sha256}", &"0".repeat(64));
    let body = match (rule.method, rule.path) {
        ("post", "/v1/employees" | "/v1/honeytokens") => draft(),
        ("patch", "/v1/employees/{id}") => json!({"job_title": "Route table"}),
        ("post", "/v1/employees/{id}/reveal") => {
            json!({"fields": ["ssn"], "reason": "checking the route table"})
        }
        ("post", "/v1/employees/lookup") => json!({"ssn": unique_ssn()}),
        ("post", "/v1/hr-flags") => {
            json!({"employee_id": record, "kind": "pip", "effective_date": "2026-01-01"})
        }
        ("patch", "/v1/alerts/{id}") => json!({"status": "acknowledged"}),
        ("patch", "/v1/users/{id}") => json!({"enabled": true}),
        ("post", "/v1/users") => json!({"username": "x-route", "password": "long-enough-1",
                                        "role": "hr"}),
        _ => Value::Null,
    };
    let mut req = w
        .c()
        .req(&rule.method.to_ascii_uppercase(), &path)
        .token(token)
        .header("x-request-id", rid);
    if !body.is_null() {
        req = req.json(&body);
    }
    req.send()
}

fn denied_entry(w: &Shared, rid: &str) -> Option<Value> {
    audit_entries(w.c(), &w.staff.auditor.token, "action=access.denied", 0)
        .into_iter()
        .find(|e| e["client_request_id"] == rid)
}

#[test]
fn every_guarded_route_refuses_other_roles_and_the_restricted_with_an_audited_denial() {
    let w = Shared::start("routes", None);
    let record = create_employee(w.c(), &w.staff.hr.token, &draft());
    let record = record["id"].as_str().unwrap();
    let restricted: Vec<(&str, User)> = ["hr", "payroll"]
        .into_iter()
        .map(|role| {
            let (me, user) = linked_person(&w, role, &format!("restricted-{role}"));
            flag(&w, &w.staff.security.token, &me, "pip").expect(201);
            (role, user)
        })
        .collect();
    let mut checked = 0;
    for (n, rule) in ROUTES.iter().enumerate() {
        if rule.roles.is_empty() {
            continue;
        }
        for role in ROLES.iter().filter(|r| !rule.roles.contains(r)) {
            let rid = format!("route-{n}-{role}");
            let r = call(&w, rule, &w.staff.of(role).token, record, &rid);
            assert_eq!(
                r.status,
                403,
                "{} {} as {role}: {}",
                rule.method,
                rule.path,
                r.text()
            );
            assert!(
                denied_entry(&w, &rid).is_some(),
                "{} {} as {role}: the refusal is audited",
                rule.method,
                rule.path
            );
            checked += 1;
        }
        if rule.yields == Yields::FullOrGuess {
            for (role, user) in restricted.iter().filter(|(r, _)| rule.roles.contains(r)) {
                let rid = format!("route-{n}-restricted-{role}");
                let r = call(&w, rule, &user.token, record, &rid);
                assert_eq!(
                    r.status, 403,
                    "{} {} restricted {role}",
                    rule.method, rule.path
                );
                let e = denied_entry(&w, &rid).expect("audited");
                assert_eq!(
                    e["reason"], "not permitted for this account; contact your security team",
                    "{} {}",
                    rule.method, rule.path
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "{checked} refusals checked");
}
