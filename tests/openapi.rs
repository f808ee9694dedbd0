//! `GET /openapi.json`: a valid OpenAPI 3.1 document that lists exactly the contract's routes,
//! and a router that serves each of them the way the document says.
//!
//! Validity is checked against the official OpenAPI 3.1 JSON Schema (vendored under
//! `tests/data/openapi/`, see its README) with a JSON Schema 2020-12 validator; every component
//! schema is checked against the 2020-12 meta-schema, and every `$ref` must resolve. Drift is
//! checked from both sides: the document's (method, path) set must equal the contract's, each
//! documented operation must be routed (never the fallback's "no such route"), and every status
//! and content type the server actually answers with must be documented for that operation, with
//! JSON bodies valid against the documented schema.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use common::*;
use serde_json::{Value, json};

/// Every route the server offers, as (method, path template): each route of CONTRACT.md (§2 and
/// its Health line) plus three it leaves to us and docs/api.md documents (client-secret rotation
/// and revocation for service accounts, and the id lists of large exports and imports).
const CONTRACT_ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/logout"),
    ("POST", "/v1/oauth/token"),
    ("GET", "/v1/users"),
    ("POST", "/v1/users"),
    ("PATCH", "/v1/users/{id}"),
    ("DELETE", "/v1/users/{id}"),
    ("POST", "/v1/users/{id}/client-secret"),
    ("DELETE", "/v1/users/{id}/client-secret"),
    ("GET", "/v1/employees"),
    ("POST", "/v1/employees"),
    ("GET", "/v1/employees/{id}"),
    ("PATCH", "/v1/employees/{id}"),
    ("DELETE", "/v1/employees/{id}"),
    ("POST", "/v1/employees/{id}/reveal"),
    ("POST", "/v1/employees/lookup"),
    ("POST", "/v1/employees/import"),
    ("GET", "/v1/payroll/export"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/audit/verify"),
    ("GET", "/v1/audit/head"),
    ("GET", "/v1/audit/id-lists/{sha256}"),
    ("POST", "/v1/hr-flags"),
    ("GET", "/v1/hr-flags"),
    ("DELETE", "/v1/hr-flags/{id}"),
    ("GET", "/v1/alerts"),
    ("PATCH", "/v1/alerts/{id}"),
    ("GET", "/v1/risk"),
    ("POST", "/v1/honeytokens"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/.well-known/jwks.json"),
];

/// The routes that take no token.
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/.well-known/jwks.json"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/oauth/token"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One server for every test in this file.
fn world() -> &'static Shared {
    static W: OnceLock<Shared> = OnceLock::new();
    W.get_or_init(|| Shared::start("oa", None))
}

/// The document as served (fetched once, without a token).
fn doc() -> &'static Value {
    static D: OnceLock<Value> = OnceLock::new();
    D.get_or_init(|| {
        let r = world().c().get("/openapi.json").send();
        r.expect(200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        r.json()
    })
}

/// Every (METHOD, path) the document lists.
fn documented() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc()["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn operation(method: &str, path: &str) -> &'static Value {
    let op = &doc()["paths"][path][method.to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not documented");
    op
}

/// Follows a local `$ref` (`#/a/b`), or returns `v` itself.
fn resolve(v: &'static Value) -> &'static Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let target = doc()
                .pointer(r.strip_prefix('#').expect("a local $ref"))
                .unwrap_or_else(|| panic!("$ref {r} does not resolve"));
            resolve(target)
        }
        None => v,
    }
}

/// Every `$ref` in `v`, with where it was found.
fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref"
                    && let Some(r) = x.as_str()
                {
                    out.push((at.to_owned(), r.to_owned()));
                }
                refs(x, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                refs(x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A JSON Schema validating against the document's schema `schema`, with the document's
/// components in reach of its `$ref`s.
fn validator_for(schema: &Value) -> jsonschema::Validator {
    let mut root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": doc()["components"].clone(),
    });
    for (k, v) in schema.as_object().expect("a schema object") {
        root[k] = v.clone();
    }
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("schema {schema}: {e}"))
}

#[test]
fn document_is_a_valid_openapi_3_1_document() {
    let d = doc();
    assert_eq!(d["openapi"], "3.1.0");
    assert_eq!(d["info"]["title"], "hrvault");
    assert_eq!(d["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        d["info"]["description"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );

    // The official schema of OpenAPI 3.1 documents (structure; schema objects are checked next).
    let oas: Value =
        serde_json::from_str(include_str!("data/openapi/oas-3.1-schema.json")).unwrap();
    let v = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&oas)
        .unwrap();
    let errors: Vec<String> = v
        .iter_errors(d)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not a valid OpenAPI 3.1 document:\n{}",
        errors.join("\n")
    );

    // Each schema is a valid JSON Schema 2020-12 (the dialect OpenAPI 3.1 builds on).
    for (name, schema) in d["components"]["schemas"].as_object().unwrap() {
        if let Err(e) = jsonschema::meta::validate(schema) {
            panic!("schema {name} is not valid JSON Schema 2020-12: {e}");
        }
    }

    // Every $ref resolves inside the document.
    let mut found = Vec::new();
    refs(d, "#", &mut found);
    assert!(found.len() > 50, "suspiciously few $refs: {}", found.len());
    for (at, r) in &found {
        let target = r
            .strip_prefix('#')
            .and_then(|p| d.pointer(p))
            .unwrap_or_else(|| panic!("$ref {r} at {at} does not resolve"));
        assert!(target.is_object(), "$ref {r} at {at} is not an object");
    }

    // The security scheme operations name, and the error schema.
    let scheme = &d["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
    let problem = &d["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail"] {
        assert!(
            problem["required"]
                .as_array()
                .unwrap()
                .contains(&json!(field)),
            "Problem requires {field}"
        );
    }
    assert!(problem["properties"]["errors"].is_object());
}

#[test]
fn document_lists_exactly_the_contract_routes() {
    let want: BTreeSet<(String, String)> = CONTRACT_ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        want.len(),
        CONTRACT_ROUTES.len(),
        "duplicate in CONTRACT_ROUTES"
    );
    let have = documented();
    let missing: Vec<_> = want.difference(&have).collect();
    let extra: Vec<_> = have.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "document and contract differ: missing {missing:?}, not in the contract {extra:?}"
    );
}

#[test]
fn every_operation_is_complete_and_consistent() {
    let d = doc();
    let tags: BTreeSet<&str> = d["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = BTreeSet::new();
    for (method, path) in documented() {
        let op = operation(&method, &path);
        let what = format!("{method} {path}");

        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: operationId"));
        assert!(
            ids.insert(id.to_owned()),
            "{what}: operationId {id} is not unique"
        );
        assert!(op["summary"].as_str().is_some(), "{what}: summary");
        for t in op["tags"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: tags"))
        {
            assert!(
                tags.contains(t.as_str().unwrap()),
                "{what}: undeclared tag {t}"
            );
        }

        // Path parameters: exactly the template's, all required.
        let template: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let in_path: BTreeSet<String> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{what}: path parameters are required");
                p["name"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(in_path, template, "{what}: path parameters");

        // A token is required exactly where the contract says so.
        let public = PUBLIC.contains(&(method.as_str(), path.as_str()));
        if public {
            assert!(op.get("security").is_none(), "{what} is public");
        } else {
            assert_eq!(
                op["security"],
                json!([{"bearerAuth": []}]),
                "{what}: security"
            );
            let r = resolve(&op["responses"]["401"]);
            assert!(
                r["content"]["application/problem+json"].is_object(),
                "{what}: documents its 401 problem"
            );
        }

        // Every response has a description; every 2xx but 204 has a body.
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{what}: no 2xx"
        );
        for (status, r) in responses {
            let r = resolve(r);
            assert!(
                r["description"].as_str().is_some(),
                "{what} {status}: description"
            );
            if status.starts_with('2') && status != "204" {
                assert!(r["content"].is_object(), "{what} {status}: body");
            }
            if status.starts_with('4') || status.starts_with('5') {
                let types: Vec<&String> = r["content"].as_object().unwrap().keys().collect();
                // RFC 6749 errors on the token endpoint, and the health check's own body.
                let oauth = path == "/v1/oauth/token" && ["400", "401", "429"].contains(&&**status);
                let health = path == "/healthz";
                let expect = if oauth || health {
                    "application/json"
                } else {
                    "application/problem+json"
                };
                assert_eq!(types, [expect], "{what} {status}: error content type");
            }
        }
    }
}

#[test]
fn special_media_types_are_documented() {
    let body_types = |method: &str, path: &str, status: &str| -> Vec<String> {
        let r = resolve(&operation(method, path)["responses"][status]);
        r["content"].as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(
        body_types("GET", "/v1/payroll/export", "200"),
        ["application/x-ndjson"]
    );
    assert_eq!(
        body_types("GET", "/metrics", "200"),
        [
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            "text/plain; version=0.0.4; charset=utf-8"
        ]
    );
    assert_eq!(
        body_types("GET", "/v1/audit/id-lists/{sha256}", "200"),
        ["text/plain; charset=utf-8"]
    );
    assert_eq!(
        body_types("GET", "/openapi.json", "200"),
        ["application/json"]
    );
    let token = &operation("POST", "/v1/oauth/token")["requestBody"]["content"];
    assert_eq!(
        token.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["application/x-www-form-urlencoded"],
        "the token endpoint takes a form"
    );
    let form = resolve(&token["application/x-www-form-urlencoded"]["schema"]);
    for field in ["grant_type", "client_id", "client_secret"] {
        assert!(form["properties"][field].is_object(), "form field {field}");
    }
    // Each NDJSON line is a record or a deletion.
    let line = resolve(
        &operation("GET", "/v1/payroll/export")["responses"]["200"]["content"]["application/x-ndjson"]
            ["schema"],
    );
    assert_eq!(line["oneOf"].as_array().map(Vec::len), Some(2));
}

/// Checks a real response against the operation's documentation: its status is documented, its
/// content type is one documented for that status, and a JSON body is valid against the schema.
#[track_caller]
fn check_documented(method: &str, path: &str, r: &Resp) {
    let what = format!("{method} {path} -> {}", r.status);
    assert!(
        !(r.status == 404 && r.text().contains("no such route")),
        "{method} {path} is documented but not routed"
    );
    let documented = &operation(method, path)["responses"][r.status.to_string()];
    assert!(
        !documented.is_null(),
        "{what} is not documented; body: {}",
        r.text()
    );
    let documented = resolve(documented);
    let Some(content) = documented["content"].as_object() else {
        assert!(r.body.is_empty(), "{what}: a body where none is documented");
        return;
    };
    let ct = r
        .header("content-type")
        .unwrap_or_else(|| panic!("{what}: no content type"));
    let media = content
        .get(ct)
        .unwrap_or_else(|| panic!("{what}: content type {ct} is not documented ({content:?})"));
    let schema = &media["schema"];
    let bodies: Vec<Value> = if ct == "application/x-ndjson" {
        r.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    } else if ct.starts_with("application/json") || ct.ends_with("+json") {
        vec![r.json()]
    } else {
        Vec::new()
    };
    if bodies.is_empty() {
        return;
    }
    let v = validator_for(schema);
    for body in &bodies {
        let errors: Vec<String> = v
            .iter_errors(body)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: body does not match its schema:\n{}\n{body}",
            errors.join("\n")
        );
    }
}

/// A concrete path for a template.
fn concrete(path: &str) -> String {
    path.replace("{id}", "00000000-0000-4000-8000-000000000000")
        .replace("{sha256}", &"0".repeat(64))
}

#[test]
fn every_documented_operation_is_routed_as_documented() {
    let c = world().c();
    // The check below can tell the fallback apart.
    let r = c.get("/v1/no-such-route").send();
    assert_eq!(r.problem(404)["detail"], "no such route");

    for (method, path) in documented() {
        let req = c.req(&method, &concrete(&path));
        let r = match (method.as_str(), path.as_str()) {
            ("POST", "/v1/auth/login") => req.json(&json!({})).send(),
            ("POST", "/v1/oauth/token") => req
                .raw(
                    "application/x-www-form-urlencoded",
                    "grant_type=client_credentials",
                )
                .send(),
            (_, p) if p.starts_with("/v1/") && ["POST", "PATCH"].contains(&method.as_str()) => {
                req.json(&json!({})).send()
            }
            _ => req.send(),
        };
        // Without a token every protected route is a 401; public ones answer for themselves.
        if !PUBLIC.contains(&(method.as_str(), path.as_str())) {
            r.problem(401);
        }
        check_documented(&method, &path, &r);
    }
}

#[test]
fn real_answers_match_their_documentation() {
    let w = world();
    let c = w.c();
    let s = &w.staff;
    let mut seen = 0;
    let mut call = |method: &str, path: &str, role: &str, body: Option<Value>| -> Resp {
        let mut req = c.req(method, &concrete(path)).token(&s.of(role).token);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = req.send();
        check_documented(method, path, &r);
        seen += 1;
        r
    };

    let mut d = draft();
    d["home_address"] = json!({"line1": "1 Main St", "city": "Springfield", "country": "US"});
    let created = call("POST", "/v1/employees", "hr", Some(d))
        .expect(201)
        .json();
    let id = created["id"].as_str().unwrap().to_owned();
    let one = format!("/v1/employees/{id}");

    call("GET", "/v1/users", "admin", None).expect(200);
    call("GET", "/v1/employees", "hr", None).expect(200);
    call("GET", "/v1/employees", "security", None).expect(200);
    let read = c.get(&one).token(&s.payroll.token).send();
    check_documented("GET", "/v1/employees/{id}", read.expect(200));
    let reveal = c
        .post(&format!("{one}/reveal"))
        .token(&s.hr.token)
        .json(&json!({"fields": ["ssn", "home_address", "bank_account"], "reason": "checking the openapi document"}))
        .send();
    check_documented("POST", "/v1/employees/{id}/reveal", reveal.expect(200));
    call("GET", "/v1/payroll/export", "payroll", None).expect(200);
    call("GET", "/v1/audit", "auditor", None).expect(200);
    call("GET", "/v1/audit/verify", "auditor", None).expect(200);
    call("GET", "/v1/audit/head", "auditor", None).expect(200);
    call("GET", "/v1/audit/id-lists/{sha256}", "auditor", None).problem(404);
    call("GET", "/v1/hr-flags", "security", None).expect(200);
    call("GET", "/v1/alerts", "security", None).expect(200);
    call("GET", "/v1/risk", "security", None).expect(200);
    call("GET", "/v1/employees", "auditor", None).problem(403);
    call("POST", "/v1/employees", "hr", Some(json!({"ssn": 1}))).problem(400);
    call("POST", "/v1/employees", "hr", Some(json!({}))).problem(422);
    call("PATCH", "/v1/employees/{id}", "hr", Some(json!({}))).problem(404);
    for (method, path) in [
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
    ] {
        let r = c.req(method, path).send();
        check_documented(method, path, r.expect(200));
    }
    let bad = c
        .post("/v1/oauth/token")
        .raw(
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&client_id=nobody&client_secret=wrong",
        )
        .send();
    check_documented("POST", "/v1/oauth/token", bad.expect(401));
    assert_eq!(bad.json()["error"], "invalid_client");
    assert_eq!(seen, 16, "every call above was checked");
}
