//! The vault's central promise, end to end against the real binary: sensitive values never
//! reach the disk, the logs or an error message in clear, and they survive a restart (and a
//! crash) intact.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use common::*;
use serde_json::{Value, json};

/// A record whose every sensitive value is distinctive enough to be searched for in raw bytes.
struct Distinct {
    ssn: &'static str,
    ssn_digits: &'static str,
    dob: &'static str,
    line1: &'static str,
    line2: &'static str,
    city: &'static str,
    postal: &'static str,
    account: &'static str,
    routing: String,
}

impl Distinct {
    fn body(&self, number: &str, ssn_as_sent: &str) -> Value {
        json!({
            "employee_number": number,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "work_email": "ada@example.com",
            "department": "R&D",
            "hire_date": "2026-01-15",
            "ssn": ssn_as_sent,
            "date_of_birth": self.dob,
            "home_address": {"line1": self.line1, "line2": self.line2, "city": self.city,
                             "state": "IL", "postal_code": self.postal, "country": "US"},
            "bank_account": {"routing_number": self.routing, "account_number": self.account}
        })
    }

    fn secrets(&self) -> Vec<String> {
        [
            self.ssn,
            self.ssn_digits,
            self.dob,
            self.line1,
            self.line2,
            self.city,
            self.postal,
            self.account,
            &self.routing,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }
}

/// Scans every file under `root` (raw bytes) for every encoding of every secret; returns the
/// hits as `path: secret (encoding)`.
fn scan(root: &std::path::Path, secrets: &[String]) -> Vec<String> {
    scan_files(files_under(root), secrets)
}

/// `scan` of everything a vault keeps at rest: its directory and, on a PostgreSQL store, a dump
/// of its database and the cluster's own files (`store_files`).
fn scan_vault(vault: &VaultDir, secrets: &[String]) -> Vec<String> {
    let mut files = files_under(vault.root.path());
    files.extend(store_files(&vault.data, vault.root.path()));
    scan_files(files, secrets)
}

fn scan_files(files: Vec<std::path::PathBuf>, secrets: &[String]) -> Vec<String> {
    assert!(
        files.len() >= 5,
        "expected a populated vault, found {files:?}"
    );
    // One pass per file for every encoding of every secret (a PostgreSQL cluster's files are
    // tens of MiB).
    let patterns: Vec<(String, String, Vec<u8>)> = secrets
        .iter()
        .flat_map(|s| {
            encodings(s)
                .into_iter()
                .map(move |(enc, n)| (s.clone(), enc, n))
        })
        .filter(|(_, _, n)| !n.is_empty())
        .collect();
    let finder = aho_corasick::AhoCorasick::new(patterns.iter().map(|(_, _, n)| n))
        .expect("the secrets' patterns");
    let mut hits = Vec::new();
    for f in files {
        let bytes = match std::fs::read(&f) {
            Ok(b) => b,
            // A running PostgreSQL removes temporary and recycled files as it goes.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{}: {e}", f.display()),
        };
        let mut found = std::collections::BTreeSet::new();
        for m in finder.find_overlapping_iter(&bytes) {
            found.insert(m.pattern().as_usize());
        }
        for i in found {
            let (s, enc, _) = &patterns[i];
            hits.push(format!("{}: {s} ({enc})", f.display()));
        }
    }
    hits
}

/// No plaintext at rest, in logs or in errors; survives a restart and a crash.
///
/// hr creates records with distinctive SSNs (both forms), birth dates, street lines, account and
/// routing numbers; the API is exercised (reveal, lookup, PATCH, list, 409/422/400 errors, an SSN
/// typed into a URL and into a reveal reason). After a graceful stop every byte under the data
/// dir and everything the server printed is searched for every value (raw, hex and base64):
/// none may be found. After a restart the values reveal intact, the PATCHed address is the
/// current one, and the audit chain verifies; a write acknowledged just before a SIGKILL is there
/// after the next start.
#[test]
fn no_plaintext_at_rest_in_logs_or_errors_and_survives_restart() {
    let vault = VaultDir::init();
    let server = Server::start(&vault, None);
    let c = server.client().clone();
    let staff = Staff::create(&c, "core");
    let hr = &staff.hr.token;
    let payroll = &staff.payroll.token;

    let a = Distinct {
        ssn: "537-21-4968",
        ssn_digits: "537214968",
        dob: "1961-07-23",
        line1: "742 Quuxwhistle Lane",
        line2: "Apt Xyzzy-77",
        city: "Frobozzville",
        postal: "QZ-80417",
        account: "90817263544",
        routing: aba("31417259"),
    };
    let b = Distinct {
        ssn: "418-55-2937",
        ssn_digits: "418552937",
        dob: "1958-11-02",
        line1: "19 Glimmerquartz Row",
        line2: "Suite Plover-3",
        city: "Snarkhaven",
        postal: "QZ-31876",
        account: "55501239876543",
        routing: aba("07400016"),
    };
    let patched_line1 = "1313 Zorbleflax Court";
    let patched_city = "Wombleton";
    let rejected_ssn = "666-83-1597";
    let new_account = "77120458830019";

    // Create: A with the dashed SSN, B with the 9-digit form, and an ordinary third record.
    let rec_a = create_employee(&c, hr, &a.body("E-CORE-A", a.ssn));
    let rec_b = create_employee(&c, hr, &b.body("E-CORE-B", b.ssn_digits));
    create_employee(&c, hr, &draft());
    let (id_a, id_b) = (
        rec_a["id"].as_str().unwrap().to_owned(),
        rec_b["id"].as_str().unwrap().to_owned(),
    );
    assert_eq!(rec_a["ssn"], "***-**-4968", "201 body is masked for hr");
    assert_eq!(rec_b["ssn"], "***-**-2937");

    // Reveal (hr and payroll) returns the values in full, SSN always dashed.
    let all = ["ssn", "date_of_birth", "home_address", "bank_account"];
    let r = reveal(&c, hr, &id_a, &all);
    let v = r.expect(200).json();
    assert_eq!(v["ssn"], a.ssn);
    assert_eq!(v["date_of_birth"], a.dob);
    assert_eq!(v["home_address"]["line1"], a.line1);
    assert_eq!(v["bank_account"]["account_number"], a.account);
    assert_eq!(v["bank_account"]["routing_number"], a.routing.as_str());
    let v = reveal(&c, payroll, &id_b, &["ssn"]).expect(200).json();
    assert_eq!(v["ssn"], b.ssn, "the 9-digit form is stored normalised");

    // A reveal reason that quotes the SSN: recorded, but not with the number in it.
    let r = c
        .post(&format!("/v1/employees/{id_a}/reveal"))
        .token(hr)
        .json(&json!({"fields": ["ssn"], "reason": format!("verify {} against W-4 form", a.ssn)}))
        .send();
    r.expect(200);
    let reason_rid = r.request_id.clone();

    // Lookup by both forms finds the record.
    for form in [a.ssn, a.ssn_digits] {
        let r = c
            .post("/v1/employees/lookup")
            .token(payroll)
            .json(&json!({"ssn": form}))
            .send();
        assert_eq!(r.expect(200).json()["id"], id_a.as_str());
    }

    // PATCH the address to another distinctive value.
    let r = c
        .patch(&format!("/v1/employees/{id_a}"))
        .token(hr)
        .json(&json!({"home_address": {
            "line1": patched_line1, "city": patched_city,
            "state": "OR", "postal_code": "QZ-55120", "country": "US"
        }}))
        .send();
    let v = r.expect(200).json();
    assert_eq!(v["version"], 2);
    assert_eq!(
        v["home_address"],
        json!({"city": patched_city, "state": "OR", "country": "US"})
    );

    // List: masked.
    let list = c
        .get("/v1/employees?limit=500")
        .token(hr)
        .send()
        .expect(200)
        .json();
    let listed = list["employees"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(!String::from_utf8_lossy(&serde_json::to_vec(&list).unwrap()).contains(a.ssn));

    // Errors never echo the value: 422 invalid SSN, 400 SSN as a number, 409 duplicate, an SSN
    // typed into the id of a URL and into a query string.
    let mut bad = draft();
    bad["ssn"] = json!(rejected_ssn);
    let r = c.post("/v1/employees").token(hr).json(&bad).send();
    assert!(r.error_fields().contains(&"ssn".to_owned()));
    let mut as_number = draft();
    as_number["ssn"] = json!(537_214_968u64);
    let r = c.post("/v1/employees").token(hr).json(&as_number).send();
    r.problem(400);
    let r409 = c
        .post("/v1/employees")
        .token(hr)
        .json(&a.body("E-CORE-DUP", a.ssn_digits))
        .send();
    r409.problem(409);
    c.get(&format!("/v1/employees/{}", a.ssn))
        .token(hr)
        .send()
        .problem(404);
    c.get(&format!("/v1/employees?ssn={}", a.ssn))
        .token(hr)
        .send()
        .problem(400);
    for (what, resp) in [("422", &r), ("409", &r409)] {
        for s in [a.ssn, a.ssn_digits, rejected_ssn, "666831597"] {
            assert!(
                !resp.text().contains(s),
                "{what} body echoes {s}: {}",
                resp.text()
            );
        }
    }

    // The reveal's audit entry keeps the reason's words but not the number.
    let entries = audit_entries(&c, &staff.auditor.token, "action=employee.reveal", 0);
    let e = entries
        .iter()
        .find(|e| e["client_request_id"] == reason_rid.as_str())
        .expect("the reveal is audited");
    let reason = e["reason"].as_str().unwrap();
    assert!(reason.contains("against W-# form"), "{reason}");
    assert!(!reason.chars().any(|c| c.is_numeric()), "{reason}");
    assert_eq!(e["fields"], json!(["ssn"]));

    // Stop, then search every byte the vault and the server produced.
    let status = server.stop(Stop::Graceful).expect("server was running");
    assert!(status.success(), "graceful stop exits 0, got {status:?}");
    let mut secrets = a.secrets();
    secrets.extend(b.secrets());
    secrets.extend([patched_line1, patched_city, rejected_ssn, "666831597"].map(String::from));
    let hits = scan_vault(&vault, &secrets);
    assert!(hits.is_empty(), "plaintext found:\n{}", hits.join("\n"));

    // Restart: everything reveals intact; the PATCHed address is the current one.
    let server = Server::start(&vault, None);
    let c = server.client().clone();
    let hr = c.login(&staff.hr.username, &staff.hr.password);
    let v = reveal(&c, &hr, &id_a, &all).expect(200).json();
    assert_eq!(v["ssn"], a.ssn);
    assert_eq!(v["date_of_birth"], a.dob);
    assert_eq!(v["home_address"]["line1"], patched_line1);
    assert_eq!(v["home_address"]["city"], patched_city);
    assert_eq!(
        v["bank_account"],
        json!({"routing_number": a.routing, "account_number": a.account})
    );
    let v = reveal(&c, &hr, &id_b, &all).expect(200).json();
    assert_eq!(v["ssn"], b.ssn);
    assert_eq!(v["home_address"]["line1"], b.line1);
    assert_eq!(v["home_address"]["line2"], b.line2);
    let auditor = c.login(&staff.auditor.username, &staff.auditor.password);
    let verify = c
        .get("/v1/audit/verify")
        .token(&auditor)
        .send()
        .expect(200)
        .json();
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(verify["entries"], verify["head"]["seq"]);

    // An acknowledged write survives a crash (SIGKILL right after the 200).
    let r = c
        .patch(&format!("/v1/employees/{id_b}"))
        .token(&hr)
        .json(
            &json!({"bank_account": {"routing_number": b.routing, "account_number": new_account}}),
        )
        .send();
    r.expect(200);
    server.stop(Stop::Crash);
    let server = Server::start(&vault, None);
    let c = server.client().clone();
    let hr = c.login(&staff.hr.username, &staff.hr.password);
    let v = reveal(&c, &hr, &id_b, &["bank_account"]).expect(200).json();
    assert_eq!(v["bank_account"]["account_number"], new_account);
    server.stop(Stop::Graceful);

    // Still nothing in clear, including the value written just before the crash; the chain
    // verifies offline.
    secrets.push(new_account.to_owned());
    let hits = scan_vault(&vault, &secrets);
    assert!(hits.is_empty(), "plaintext found:\n{}", hits.join("\n"));
    let out = run(vault.command(&["audit", "verify"]));
    assert!(
        out.status.success(),
        "audit verify: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The scanner itself can fail: a value stored raw, as hex, or inside base64 at any alignment is
/// found (so an empty result above means something).
#[test]
fn the_scanner_finds_encoded_values() {
    use base64::Engine as _;
    let secret = "537-21-4968";
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![
        format!("{{\"ssn\":\"{secret}\"}}").into_bytes(),
        format!("x{}y", hex(secret.as_bytes())).into_bytes(),
    ];
    for prefix in ["", "a", "ab", "abc"] {
        let blob = base64::engine::general_purpose::STANDARD.encode(format!("{prefix}{secret}!"));
        files.push(blob.into_bytes());
    }
    for (i, bytes) in files.iter().enumerate() {
        let sub = dir.path().join(format!("d{i}"));
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("f"), bytes).unwrap();
    }
    for i in 0..5 {
        std::fs::write(dir.path().join(format!("clean{i}")), b"nothing to see").unwrap();
    }
    let hits = scan(dir.path(), &[secret.to_owned()]);
    for i in 0..files.len() {
        let name = format!("d{i}/f");
        assert!(
            hits.iter().any(|h| h.contains(&name)),
            "missed {name}: {hits:?}"
        );
    }
    assert!(!hits.iter().any(|h| h.contains("clean")), "{hits:?}");
}
