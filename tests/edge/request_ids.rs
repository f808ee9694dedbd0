//! Request ids (CONTRACT §4): the audit entry's `request_id` is always the server's own, unique
//! per request; a client's `x-request-id` is kept only if it is 1–64 of `[A-Za-z0-9._:-]`, in
//! `client_request_id`; login names that are not usernames are never stored.

use super::common::{ADMIN_PASSWORD, audit_entries, audit_head_seq, stored_audit_bytes};
use super::world;

#[test]
fn a_client_cannot_choose_or_reuse_the_audit_request_id() {
    let w = world();
    let c = w.c();
    let s = &w.staff;
    let before = audit_head_seq(c, &s.auditor.token);
    let long = "x".repeat(65);
    let sent = [
        "same-id",
        "same-id",
        "bad id with spaces",
        long.as_str(),
        "123-45-6789",
    ];
    let mut echoed = Vec::new();
    for id in sent {
        let r = c
            .post("/v1/auth/login")
            .header("x-request-id", id)
            .json(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send();
        r.expect(200);
        echoed.push((
            r.header("x-request-id").unwrap().to_owned(),
            r.header("x-server-request-id").unwrap().to_owned(),
        ));
    }
    // Other tests may sign in as admin meanwhile: keep the entries of these requests, found by
    // the server ids the responses carried.
    let entries: Vec<_> =
        audit_entries(c, &s.auditor.token, "action=auth.login&actor=admin", before)
            .into_iter()
            .filter(|e| {
                echoed
                    .iter()
                    .any(|(_, srv)| e["request_id"] == srv.as_str())
            })
            .collect();
    assert_eq!(entries.len(), sent.len(), "{entries:?}");
    let server_ids: std::collections::HashSet<&str> = entries
        .iter()
        .map(|e| e["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        server_ids.len(),
        sent.len(),
        "request_id is unique per request"
    );
    for ((e, sent), (echo, server)) in entries.iter().zip(sent).zip(&echoed) {
        assert_eq!(e["request_id"].as_str(), Some(server.as_str()), "{e}");
        assert_eq!(server.len(), 36, "a UUID: {server}");
        if sent.len() <= 64 && !sent.contains(' ') {
            assert_eq!(e["client_request_id"], sent, "{e}");
            assert_eq!(echo, sent);
        } else {
            assert!(e.get("client_request_id").is_none(), "{e}");
            assert_eq!(echo, server, "an invalid id is replaced by the server's");
        }
    }
    // The raw segment never holds the refused ids.
    let raw = String::from_utf8_lossy(&stored_audit_bytes(&w.root.join("data"))).into_owned();
    assert!(!raw.contains("bad id with spaces"));
    assert!(!raw.contains(&long));
}

/// What is stored about strangers (CONTRACT §4): a login name that is not a valid username, or
/// looks like an SSN, is recorded as `invalid username`, never verbatim.
#[test]
fn strangers_login_names_are_not_stored_verbatim() {
    let w = world();
    let c = w.c();
    let before = audit_head_seq(c, &w.staff.auditor.token);
    let names = [
        "correct horse battery staple",
        "Pa$$w0rd!",
        "219-09-9999",
        "219099999",
        "<script>",
    ];
    let ids: Vec<String> = names
        .iter()
        .map(|n| {
            let r = c.login_raw(n, "x");
            assert_eq!(r.status, 401, "{n}");
            r.request_id
        })
        .collect();
    let entries: Vec<_> = audit_entries(
        c,
        &w.staff.auditor.token,
        "action=auth.login_failed",
        before,
    )
    .into_iter()
    .filter(|e| ids.iter().any(|id| e["client_request_id"] == id.as_str()))
    .collect();
    assert_eq!(entries.len(), names.len(), "{entries:?}");
    for e in &entries {
        assert_eq!(e["actor"]["username"], "invalid username", "{e}");
        assert_eq!(e["reason"], "invalid username", "{e}");
    }
    let raw = String::from_utf8_lossy(&stored_audit_bytes(&w.root.join("data"))).into_owned();
    for n in names {
        assert!(!raw.contains(n), "{n} was stored");
    }
}
