//! The audit log as an auditor sees it: the hash chain, the checkpoint, the filters.

use serde_json::{Value, json};

use super::common::*;
use super::{id_of, world};

/// The documented canonical form, re-implemented independently: JSON with object keys sorted by
/// code point, no whitespace, nulls kept, serde_json's (RFC 8785) string escaping.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let members: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", serde_json::to_string(k).unwrap(), canonical(&m[k])))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => serde_json::to_string(other).unwrap(),
    }
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex(&h.finalize())
}

/// Every entry has exactly the contract's fields; `seq` runs 1, 2, 3… without gaps; the first
/// `prev_hash` is 64 zeros, each next one is the previous `hash`, and every `hash` is the
/// lower-case hex SHA-256 of `prev_hash` and the entry's canonical bytes, recomputed here
/// independently. `/v1/audit/head` is a checkpoint whose Ed25519 signature over
/// `{"hash","seq","ts"}` verifies with the key it names, and `/v1/audit/verify` agrees.
#[test]
fn audit_chain_is_independently_verifiable() {
    let w = world();
    let c = w.c();
    let auditor = &w.staff.auditor.token;
    create_employee(c, &w.staff.hr.token, &draft());
    let entries = audit_entries(c, auditor, "", 0);
    assert!(entries.len() >= 5);
    let keys = [
        "action",
        "actor",
        "employee_id",
        "employee_ids",
        "fields",
        "hash",
        "outcome",
        "prev_hash",
        "reason",
        "request_id",
        "seq",
        "source_ip",
        "ts",
    ];
    let mut prev = "0".repeat(64);
    for (i, e) in entries.iter().enumerate() {
        // `client_request_id` is there only when the client sent a valid `x-request-id`.
        if let Some(c) = e.get("client_request_id") {
            assert!(c.is_string(), "{e}");
        }
        let mut got: Vec<&str> = e
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "client_request_id")
            .collect();
        got.sort_unstable();
        assert_eq!(got, keys, "{e}");
        let mut actor: Vec<&str> = e["actor"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        actor.sort_unstable();
        assert_eq!(actor, ["role", "user_id", "username"], "{e}");
        assert_eq!(e["seq"], json!(i + 1), "seq has no gaps");
        assert!(
            ["success", "denied", "error"].contains(&e["outcome"].as_str().unwrap()),
            "{e}"
        );
        assert!(
            e["ts"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok(),
            "{e}"
        );
        assert_eq!(
            e["prev_hash"],
            prev.as_str(),
            "entry {} links to the previous one",
            i + 1
        );
        let mut body = e.clone();
        body.as_object_mut().unwrap().remove("prev_hash");
        body.as_object_mut().unwrap().remove("hash");
        let want = sha256_hex(&[prev.as_bytes(), canonical(&body).as_bytes()]);
        assert_eq!(e["hash"], want.as_str(), "hash of entry {}", i + 1);
        prev = want;
    }

    let head = c
        .get("/v1/audit/head")
        .token(auditor)
        .send()
        .expect(200)
        .json();
    let seq = head["seq"].as_u64().unwrap();
    assert!(seq >= entries.len() as u64);
    let at = c
        .get(&format!("/v1/audit?after_seq={}&limit=1", seq - 1))
        .token(auditor)
        .send();
    assert_eq!(
        at.expect(200).json()["entries"][0]["hash"],
        head["hash"],
        "a real entry"
    );
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key: [u8; 32] = b64
        .decode(head["public_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let sig: [u8; 64] = b64
        .decode(head["signature"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let msg = canonical(&json!({"hash": head["hash"], "seq": seq, "ts": head["ts"]}));
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
    let sig = ed25519_dalek::Signature::from_bytes(&sig);
    key.verify_strict(msg.as_bytes(), &sig)
        .expect("the checkpoint signature verifies");
    let forged = canonical(&json!({"hash": head["hash"], "seq": seq + 1, "ts": head["ts"]}));
    assert!(key.verify_strict(forged.as_bytes(), &sig).is_err());

    let v = c
        .get("/v1/audit/verify")
        .token(auditor)
        .send()
        .expect(200)
        .json();
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["entries"].as_u64().unwrap() >= entries.len() as u64);
    assert_eq!(v["entries"], v["head"]["seq"]);
}

/// `GET /v1/audit` filters (AND-combined): `employee_id` (also matching `employee_ids`),
/// `actor` by username or by user id (same result), `action`, `since`/`until` (inclusive),
/// `after_seq` (exclusive); `limit` defaults to 100 and pages with `next_after_seq`; bad
/// parameters are refused.
#[test]
fn audit_query_filters() {
    let w = world();
    let c = w.c();
    let auditor = &w.staff.auditor.token;
    let p = create_user(c, &w.staff.admin.token, "api-audit-actor", "payroll");
    let id = id_of(&create_employee(c, &w.staff.hr.token, &draft()));
    for _ in 0..2 {
        c.get(&format!("/v1/employees/{id}"))
            .token(&p.token)
            .send()
            .expect(200);
    }
    reveal(c, &p.token, &id, &["ssn"]).expect(200);
    let listed = c.get("/v1/employees?limit=500").token(&p.token).send();
    assert!(listed.expect(200).text().contains(&id));

    let about = audit_entries(c, auditor, &format!("employee_id={id}"), 0);
    for e in &about {
        let in_ids = e["employee_ids"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == id.as_str()));
        assert!(e["employee_id"] == id.as_str() || in_ids, "{e}");
    }
    assert_eq!(about[0]["action"], "employee.create");
    // Other tests list records concurrently; this user's entries about the record are exact.
    let mine = format!("employee_id={id}&actor=api-audit-actor");
    let about = audit_entries(c, auditor, &mine, 0);
    let actions: Vec<&str> = about
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "employee.read",
            "employee.read",
            "employee.reveal",
            "employee.list"
        ]
    );

    let by_name = audit_entries(c, auditor, "actor=api-audit-actor", 0);
    let by_id = audit_entries(c, auditor, &format!("actor={}", p.id), 0);
    let seqs = |v: &[Value]| {
        v.iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(&by_name), seqs(&by_id));
    assert_eq!(
        by_name.len(),
        5,
        "login, 2 reads, reveal, list: {by_name:?}"
    );
    let reads = audit_entries(
        c,
        auditor,
        &format!("actor=api-audit-actor&action=employee.read&employee_id={id}"),
        0,
    );
    assert_eq!(reads.len(), 2);

    let after = audit_entries(c, auditor, &mine, about[0]["seq"].as_u64().unwrap());
    assert_eq!(seqs(&after), seqs(&about[1..]), "after_seq is exclusive");
    let (t1, t2) = (
        about[1]["ts"].as_str().unwrap(),
        about[2]["ts"].as_str().unwrap(),
    );
    let window = audit_entries(c, auditor, &format!("{mine}&since={t1}&until={t2}"), 0);
    assert_eq!(
        seqs(&window),
        seqs(&about[1..3]),
        "since and until are inclusive"
    );

    let one = c
        .get(&format!("/v1/audit?{mine}&limit=1"))
        .token(auditor)
        .send()
        .expect(200)
        .json();
    assert_eq!(one["entries"].as_array().unwrap().len(), 1);
    assert_eq!(one["next_after_seq"], about[0]["seq"]);

    // Default page size: 100.
    let many = create_user(c, &w.staff.admin.token, "api-audit-many", "hr");
    for _ in 0..101 {
        c.get("/v1/employees/7d3c2a59-0f59-4b8e-9a31-5c8f1f0c2b6e")
            .token(&many.token)
            .send()
            .problem(404);
    }
    let page = c
        .get("/v1/audit?actor=api-audit-many")
        .token(auditor)
        .send()
        .expect(200)
        .json();
    assert_eq!(
        page["entries"].as_array().unwrap().len(),
        100,
        "login + 101 reads, first 100"
    );
    let next = page["next_after_seq"].as_u64().expect("more to come");
    let rest = c
        .get(&format!("/v1/audit?actor=api-audit-many&after_seq={next}"))
        .token(auditor)
        .send()
        .expect(200)
        .json();
    assert_eq!(rest["entries"].as_array().unwrap().len(), 2);
    assert!(rest["next_after_seq"].is_null());

    for bad in [
        "limit=0",
        "limit=x",
        "after_seq=-1",
        "since=yesterday",
        "until=2026-13-01",
    ] {
        c.get(&format!("/v1/audit?{bad}"))
            .token(auditor)
            .send()
            .problem(422);
    }
    c.get("/v1/audit?colour=red")
        .token(auditor)
        .send()
        .problem(400);
}
