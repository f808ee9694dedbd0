//! Sessions and users: logout, account changes, the login limit, service accounts.

use serde_json::{Value, json};

use super::common::*;
use super::{id_of, world};

/// Logout answers 204 and the same token is refused at once (and audited as `auth.logout`);
/// other tokens of the same user keep working.
#[test]
fn logout_revokes_the_token_at_once() {
    let w = world();
    let c = w.c();
    let u = create_user(c, &w.staff.admin.token, "api-logout", "payroll");
    let other = c.login(&u.username, &u.password);
    c.get("/v1/employees?limit=1")
        .token(&u.token)
        .send()
        .expect(200);
    let r = c.post("/v1/auth/logout").token(&u.token).send();
    r.expect(204);
    c.get("/v1/employees?limit=1")
        .token(&u.token)
        .send()
        .problem(401);
    c.post("/v1/auth/logout")
        .token(&u.token)
        .send()
        .problem(401);
    c.get("/v1/employees?limit=1")
        .token(&other)
        .send()
        .expect(200);
    let e = audit_entries(
        c,
        &w.staff.auditor.token,
        "action=auth.logout&actor=api-logout",
        0,
    );
    assert!(
        e.iter()
            .any(|e| e["client_request_id"] == r.request_id.as_str()),
        "{e:?}"
    );
}

/// Disabling a user, changing their role or deleting them invalidates their existing tokens
/// immediately (401, audited as `auth.token_rejected`); a disabled or deleted user cannot log in;
/// re-enabling allows a new login but does not revive old tokens; after a role change a new
/// login carries the new role's rights.
#[test]
fn account_changes_kill_tokens_at_once() {
    let w = world();
    let c = w.c();
    let admin = &w.staff.admin.token;
    let probe = "/v1/employees?limit=1";

    let u = create_user(c, admin, "api-disable", "payroll");
    c.get(probe).token(&u.token).send().expect(200);
    let r = c
        .patch(&format!("/v1/users/{}", u.id))
        .token(admin)
        .json(&json!({"enabled": false}))
        .send();
    assert_eq!(r.expect(200).json()["enabled"], false);
    c.get(probe).token(&u.token).send().problem(401);
    c.login_raw(&u.username, &u.password).problem(401);
    c.patch(&format!("/v1/users/{}", u.id))
        .token(admin)
        .json(&json!({"enabled": true}))
        .send()
        .expect(200);
    c.get(probe).token(&u.token).send().problem(401);
    let fresh = c.login(&u.username, &u.password);
    c.get(probe).token(&fresh).send().expect(200);
    let rejected = audit_entries(
        c,
        &w.staff.auditor.token,
        "action=auth.token_rejected&actor=api-disable",
        0,
    );
    assert!(!rejected.is_empty(), "the refused token is audited");

    let v = create_user(c, admin, "api-role", "payroll");
    c.post("/v1/employees")
        .token(&v.token)
        .json(&draft())
        .send()
        .problem(403);
    let r = c
        .patch(&format!("/v1/users/{}", v.id))
        .token(admin)
        .json(&json!({"role": "hr"}))
        .send();
    assert_eq!(r.expect(200).json()["role"], "hr");
    c.get(probe).token(&v.token).send().problem(401);
    let as_hr = c.login(&v.username, &v.password);
    c.post("/v1/employees")
        .token(&as_hr)
        .json(&draft())
        .send()
        .expect(201);

    let d = create_user(c, admin, "api-delete", "security");
    c.get(probe).token(&d.token).send().expect(200);
    c.delete(&format!("/v1/users/{}", d.id))
        .token(admin)
        .send()
        .expect(204);
    c.get(probe).token(&d.token).send().problem(401);
    c.login_raw(&d.username, &d.password).problem(401);
}

/// Login failures are limited per username: 10 wrong passwords get 401 each (a success in between
/// is not counted), the 11th attempt is a 429 with `Retry-After` (even with the right password),
/// while other usernames are unaffected.
#[test]
fn login_rate_limit_per_username() {
    let w = world();
    let c = w.c();
    let victim = create_user(c, &w.staff.admin.token, "api-limited", "hr");
    let bystander = create_user(c, &w.staff.admin.token, "api-bystander", "hr");
    for i in 0..10 {
        let r = c.login_raw(&victim.username, &format!("wrong-password-{i}"));
        assert_eq!(r.status, 401, "failure {} is still a 401", i + 1);
        if i == 4 {
            c.login(&victim.username, &victim.password);
        }
    }
    for password in ["wrong-password-x", victim.password.as_str()] {
        let r = c.login_raw(&victim.username, password);
        r.problem(429);
        let after: u64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=60).contains(&after), "Retry-After {after}");
    }
    c.login_raw(&bystander.username, "wrong-password")
        .problem(401);
    c.login(&bystander.username, &bystander.password);
    c.login_raw("api-nobody", "wrong-password").problem(401);
    let failed = audit_entries(
        c,
        &w.staff.auditor.token,
        "action=auth.login_failed&actor=api-limited",
        0,
    );
    assert_eq!(failed.len(), 10, "every failed check is audited");
    // Refusals are coalesced (CONTRACT §4): the first of the minute has its own entry, the
    // second is counted and written when the minute ends.
    let limited = audit_entries(
        c,
        &w.staff.auditor.token,
        "action=auth.rate_limited&actor=api-limited",
        0,
    );
    assert_eq!(limited.len(), 1, "{limited:?}");
}

/// Wrong credentials look the same whether the user exists, the password is wrong or the account
/// is disabled: same status, same body bytes; missing fields are a 422.
#[test]
fn login_failures_are_indistinguishable() {
    let w = world();
    let c = w.c();
    let u = create_user(c, &w.staff.admin.token, "api-same", "auditor");
    let disabled = create_user(c, &w.staff.admin.token, "api-same-disabled", "auditor");
    c.patch(&format!("/v1/users/{}", disabled.id))
        .token(&w.staff.admin.token)
        .json(&json!({"enabled": false}))
        .send()
        .expect(200);
    let unknown = c.login_raw("api-no-such-user", "whatever-password");
    let wrong = c.login_raw(&u.username, "whatever-password");
    let off = c.login_raw(&disabled.username, &disabled.password);
    unknown.problem(401);
    for r in [&wrong, &off] {
        assert_eq!(r.status, unknown.status);
        assert_eq!(
            r.body,
            unknown.body,
            "bodies differ: {} vs {}",
            r.text(),
            unknown.text()
        );
        assert_eq!(r.header("content-type"), unknown.header("content-type"));
    }
    let r = c
        .post("/v1/auth/login")
        .json(&json!({"username": "admin"}))
        .send();
    assert_eq!(r.error_fields(), ["password"]);
}

/// `GET /v1/users` never shows a password, hash or secret. A service account (`kind: "service"`)
/// takes no password, gets a generated `client_secret` exactly once in the 201, which is never
/// listed; it authenticates with client credentials (RFC 6749 errors otherwise) and not with the
/// password login.
#[test]
fn users_never_show_secrets_and_service_accounts_use_client_credentials() {
    let w = world();
    let c = w.c();
    let admin = &w.staff.admin.token;
    let r = c
        .post("/v1/users")
        .token(admin)
        .json(&json!({"username": "api-svc", "role": "payroll", "kind": "service"}))
        .send();
    let v = r.expect(201).json();
    assert_eq!(
        (
            v["kind"].as_str(),
            v["role"].as_str(),
            v["enabled"].as_bool()
        ),
        (Some("service"), Some("payroll"), Some(true))
    );
    let secret = v["client_secret"]
        .as_str()
        .expect("client_secret once")
        .to_owned();
    assert!(secret.len() >= 20, "a strong secret");
    c.post("/v1/users")
        .token(admin)
        .json(
            &json!({"username": "api-svc2", "role": "payroll", "kind": "service",
                       "password": "chosen-password"}),
        )
        .send()
        .problem(422);

    let listing = c.get("/v1/users").token(admin).send();
    let text = listing.expect(200).text();
    for needle in [
        "password",
        "credential",
        "$argon2",
        "client_secret",
        secret.as_str(),
        ADMIN_PASSWORD,
        &w.staff.hr.password,
    ] {
        assert!(!text.contains(needle), "GET /v1/users shows {needle}");
    }
    let svc = listing.json()["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "api-svc")
        .cloned()
        .unwrap();
    assert_eq!(svc["kind"], "service");

    let form = |id: &str, s: &str| {
        format!("grant_type=client_credentials&client_id={id}&client_secret={s}")
    };
    let ok = c
        .post("/v1/oauth/token")
        .raw(
            "application/x-www-form-urlencoded",
            form("api-svc", &secret),
        )
        .send();
    let t = ok.expect(200).json();
    assert_eq!(t["token_type"], "Bearer");
    let token = t["access_token"].as_str().unwrap();
    c.get("/v1/employees?limit=1")
        .token(token)
        .send()
        .expect(200);
    for (body, status, error) in [
        (form("api-svc", "wrong-secret"), 401, "invalid_client"),
        (form("api-no-such-svc", &secret), 401, "invalid_client"),
        (
            form(&w.staff.hr.username, &w.staff.hr.password),
            401,
            "invalid_client",
        ),
        (
            "grant_type=password&username=a&password=b".to_owned(),
            400,
            "unsupported_grant_type",
        ),
        ("client_id=api-svc".to_owned(), 400, "invalid_request"),
    ] {
        let r = c
            .post("/v1/oauth/token")
            .raw("application/x-www-form-urlencoded", body.clone())
            .send();
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.json()["error"], error, "{body}");
    }
    c.login_raw("api-svc", &secret).problem(401);
}

/// User administration: a taken username is a 409; an unknown role, a short password, a bad
/// username or an `employee_id` that is no live record a 422 naming the field; a created user is
/// shown with exactly the contract fields.
#[test]
fn user_validation() {
    let w = world();
    let c = w.c();
    let admin = &w.staff.admin.token;
    let mk = |body: Value| c.post("/v1/users").token(admin).json(&body).send();
    let r = mk(json!({"username": w.staff.hr.username, "password": "long-enough-1", "role": "hr"}));
    assert_eq!(r.problem(409)["errors"][0]["field"], "username");
    assert_eq!(
        mk(json!({"username": "api-u1", "password": "long-enough-1", "role": "root"}))
            .error_fields(),
        ["role"]
    );
    assert_eq!(
        mk(json!({"username": "api-u2", "password": "short", "role": "hr"})).error_fields(),
        ["password"]
    );
    assert_eq!(
        mk(json!({"username": " bad name", "password": "long-enough-1", "role": "hr"}))
            .error_fields(),
        ["username"]
    );
    let r = c
        .patch(&format!("/v1/users/{}", w.staff.payroll.id))
        .token(admin)
        .json(&json!({"role": "root"}))
        .send();
    assert_eq!(r.error_fields(), ["role"]);
    // The created user as the contract shows it; `employee_id` links to a live record only.
    let record = id_of(&create_employee(c, &w.staff.hr.token, &draft()));
    let r = mk(
        json!({"username": "api-linked", "password": "long-enough-1", "role": "hr",
                      "employee_id": record, "kind": "human"}),
    );
    let v = r.expect(201).json();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["employee_id", "enabled", "id", "kind", "role", "username"]
    );
    assert_eq!(v["employee_id"], record.as_str());
    assert_eq!(
        (v["kind"].as_str(), v["enabled"].as_bool()),
        (Some("human"), Some(true))
    );
    for bad in ["7d3c2a59-0f59-4b8e-9a31-5c8f1f0c2b6e", "not-a-uuid"] {
        let r = mk(
            json!({"username": "api-unlinked", "password": "long-enough-1", "role": "hr",
                          "employee_id": bad}),
        );
        assert_eq!(r.error_fields(), ["employee_id"], "{bad}");
    }
}

/// Access tokens are EdDSA JWTs carrying `iss`, `aud`, `sub` (the user id), `role`, a unique
/// `jti`, `iat` and `exp`, with the default lifetime of 900 s that `expires_in` announces.
#[test]
fn tokens_carry_the_contract_claims() {
    use base64::Engine as _;
    let w = world();
    let c = w.c();
    let u = &w.staff.payroll;
    let mut jtis = Vec::new();
    for _ in 0..2 {
        let r = c.login_raw(&u.username, &u.password);
        let grant = r.expect(200).json();
        assert_eq!(grant["token_type"], "Bearer");
        assert_eq!(grant["expires_in"], 900);
        let token = grant["access_token"].as_str().unwrap();
        let part = |i: usize| -> Value {
            let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token.split('.').nth(i).unwrap())
                .unwrap();
            serde_json::from_slice(&b).unwrap()
        };
        assert_eq!(part(0)["alg"], "EdDSA");
        let claims = part(1);
        for k in ["iss", "aud", "sub", "role", "jti", "iat", "exp"] {
            assert!(!claims[k].is_null(), "claim {k} missing: {claims}");
        }
        assert_eq!(claims["sub"], u.id.as_str());
        assert_eq!(claims["role"], "payroll");
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert_eq!(exp - iat, 900);
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    assert_ne!(jtis[0], jtis[1], "every token has its own jti");
}

/// Failed client-credentials attempts count against the same per-username limit as passwords:
/// 10 wrong secrets are 401 `invalid_client`, then 429 with `Retry-After` even for the right one.
#[test]
fn client_credentials_are_rate_limited_too() {
    let w = world();
    let c = w.c();
    let r = c
        .post("/v1/users")
        .token(&w.staff.admin.token)
        .json(&json!({"username": "api-svc-limit", "role": "payroll", "kind": "service"}))
        .send();
    let secret = r.expect(201).json()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let form = |s: &str| {
        format!("grant_type=client_credentials&client_id=api-svc-limit&client_secret={s}")
    };
    let post = |s: &str| {
        c.post("/v1/oauth/token")
            .raw("application/x-www-form-urlencoded", form(s))
            .send()
    };
    for i in 0..10 {
        let r = post(&format!("wrong-secret-{i}"));
        assert_eq!(r.status, 401, "attempt {}: {}", i + 1, r.text());
        assert_eq!(r.json()["error"], "invalid_client");
    }
    let r = post(&secret);
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").is_some());
}
