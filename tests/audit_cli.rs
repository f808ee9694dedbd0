//! `hrvault audit verify` and `hrvault audit export` against real logs, and the audit-chain
//! document held to the code: its worked example is recomputed, its Python verifier is run.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod audit_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use audit_support::chain::{self, Verdict as SpecVerdict};
use audit_support::{Fixture, Server, TestVault, USER_PASSWORD, run, segment_lines};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hrvault::audit::{EntryRef, canonical_bytes};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn doc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/design/audit-chain.md")
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/audit")
        .join(name)
}

/// The fenced block after `<!-- marker -->` in the document, without its indentation.
fn doc_block(marker: &str) -> String {
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    let tag = format!("<!-- {marker} -->");
    let at = doc
        .find(&tag)
        .unwrap_or_else(|| panic!("{tag} not in the document"));
    let mut lines = doc[at + tag.len()..]
        .lines()
        .skip_while(|l| l.trim().is_empty());
    let fence = lines.next().unwrap();
    assert!(fence.trim_start().starts_with("```"), "{tag}: {fence}");
    let indent = fence.len() - fence.trim_start().len();
    lines
        .take_while(|l| l.trim() != "```")
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Activity with variety: creates, reads, lists, reveals with quotes and unicode, denials,
/// failed logins.
fn busy(f: &Fixture) {
    let a = f.create_employee(1, Some("cli-create-1"));
    f.create_employee(2, None);
    for (token, rid) in [(&f.hr, "cli-read-hr"), (&f.payroll, "cli-read-pay")] {
        let r = f
            .server
            .get(&format!("/v1/employees/{a}"), Some(token), Some(rid));
        assert_eq!(r.status, 200);
    }
    assert_eq!(f.server.get("/v1/employees", Some(&f.hr), None).status, 200);
    let r = f.server.post(
        &format!("/v1/employees/{a}/reveal"),
        Some(&f.hr),
        Some("cli-reveal"),
        &json!({"fields": ["ssn"], "reason": "Payroll \"März\" correction — ticket 4711 \\ 日本"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        f.server
            .get("/v1/audit", Some(&f.hr), Some("cli-denied"))
            .status,
        403
    );
    assert_eq!(
        f.server.login_resp("hr1", "wrong password", None).status,
        401
    );
    assert_eq!(
        f.server
            .get(
                "/v1/employees/00000000-0000-4000-8000-000000000000",
                Some(&f.hr),
                None
            )
            .status,
        404
    );
}

fn export(dir: &Path, format: &str, out: Option<&Path>) -> Vec<u8> {
    let mut args = vec![
        "audit",
        "export",
        "--data-dir",
        dir.to_str().unwrap(),
        "--format",
        format,
    ];
    if let Some(o) = out {
        args.extend(["--out", o.to_str().unwrap()]);
    }
    let o = run(&args);
    assert!(
        o.status.success(),
        "export: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Every file under `dir`: path → (length, SHA-256).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, String)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.insert(p, (bytes.len() as u64, hex::encode(Sha256::digest(&bytes))));
            }
        }
    }
    out
}

#[test]
fn jsonl_export_is_the_segment_bytes_and_verifies() {
    let mut f = Fixture::start();
    busy(&f);
    let api = f.entries();
    f.server.kill();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("export.jsonl");
    let stdout = export(f.vault.dir(), "jsonl", None);
    export(f.vault.dir(), "jsonl", Some(&out));
    let file = std::fs::read(&out).unwrap();
    let segments = segment_lines(&f.vault.audit_dir()).concat().into_bytes();
    assert_eq!(stdout, segments, "stdout export = segment bytes");
    assert_eq!(file, segments, "--out export = segment bytes");
    // The same entries, in the same order, as the API showed them.
    let exported: Vec<Value> = String::from_utf8(file.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(exported, api);

    let (code, out_text) = audit_support::verify_file(&out);
    assert_eq!(code, 0, "{out_text}");
    let last = api.last().unwrap();
    assert_eq!(
        out_text.trim(),
        format!(
            "ok: audit chain intact: {n} entries, head seq {n} hash {}",
            last["hash"].as_str().unwrap(),
            n = api.len()
        )
    );
    // The independent verifier recomputes every hash from the document alone.
    assert_eq!(
        chain::verify(std::str::from_utf8(&file).unwrap()),
        SpecVerdict::Intact {
            entries: api.len() as u64,
            head_seq: api.len() as u64,
            head_hash: last["hash"].as_str().unwrap().to_owned()
        }
    );

    // One flipped byte, in different parts of different entries: exit 1 naming that entry.
    let text = String::from_utf8(file).unwrap();
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    for (seq, key) in [
        (1, "\"ts\""),
        (4, "\"reason\""),
        (7, "\"hash\""),
        (9, "\"actor\""),
    ] {
        let line_start = starts[seq - 1];
        let at = line_start + text[line_start..].find(key).unwrap() + key.len() + 3;
        let mut bytes = text.clone().into_bytes();
        bytes[at] ^= 0x01;
        let flipped = t.path().join(format!("flipped-{seq}.jsonl"));
        std::fs::write(&flipped, &bytes).unwrap();
        let (code, out_text) = audit_support::verify_file(&flipped);
        assert_eq!(code, 1, "flip in entry {seq} {key}: {out_text}");
        assert!(
            out_text.contains(&format!("first bad entry seq {seq}:")),
            "flip in entry {seq} {key}: {out_text}"
        );
    }
}

#[test]
fn ocsf_export_maps_every_entry() {
    let mut f = Fixture::start();
    busy(&f);
    f.server.kill();
    let jsonl = String::from_utf8(export(f.vault.dir(), "jsonl", None)).unwrap();
    let ocsf = String::from_utf8(export(f.vault.dir(), "ocsf", None)).unwrap();
    let entries: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<Value> = ocsf
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), entries.len());
    let mut statuses = std::collections::HashSet::new();
    for (e, o) in entries.iter().zip(&events) {
        assert!(o.is_object());
        assert_eq!(o["class_uid"], 6003, "{o}");
        assert_eq!(o["category_uid"], 6);
        let activity = o["activity_id"].as_u64().unwrap();
        assert!([1, 2, 3, 4, 99].contains(&activity));
        assert_eq!(o["type_uid"], 600300 + activity);
        let ts: jiff::Timestamp = e["ts"].as_str().unwrap().parse().unwrap();
        assert_eq!(o["time"], ts.as_millisecond(), "time in ms");
        let success = e["outcome"] == "success";
        assert_eq!(o["status"], if success { "Success" } else { "Failure" });
        assert_eq!(o["status_id"], if success { 1 } else { 2 });
        assert_eq!(o["status_detail"], e["outcome"]);
        statuses.insert(e["outcome"].as_str().unwrap().to_owned());
        assert_eq!(o["actor"]["user"]["uid"], e["actor"]["user_id"]);
        assert_eq!(o["actor"]["user"]["name"], e["actor"]["username"]);
        assert_eq!(o["api"]["operation"], e["action"]);
        assert_eq!(o["api"]["request"]["uid"], e["request_id"]);
        let mut ids: Vec<Value> = e["employee_id"]
            .as_str()
            .map(|s| json!(s))
            .into_iter()
            .collect();
        ids.extend(e["employee_ids"].as_array().cloned().unwrap_or_default());
        let resources: Vec<Value> = o["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r["type"], "employee");
                r["uid"].clone()
            })
            .collect();
        assert_eq!(resources, ids);
        assert_eq!(o["src_endpoint"]["ip"], e["source_ip"]);
        assert_eq!(o["metadata"]["sequence"], e["seq"]);
        assert_eq!(o["metadata"]["uid"], e["hash"]);
        assert_eq!(o["unmapped"]["reason"], e["reason"]);
        assert_eq!(o["unmapped"]["fields"], e["fields"]);
        if e["action"] == "employee.reveal" {
            assert_eq!(o["activity_name"], "Read");
        }
        if e["action"] == "employee.create" {
            assert_eq!(o["activity_name"], "Create");
        }
    }
    assert_eq!(
        statuses.len(),
        3,
        "success, denied and error all exported: {statuses:?}"
    );
}

/// Offline commands only read: every file of the data dir is unchanged, byte for byte.
#[test]
fn verify_and_export_are_read_only() {
    let mut f = Fixture::start();
    busy(&f);
    f.server.kill();
    let before = snapshot(f.vault.dir());
    let t = tempfile::tempdir().unwrap();
    let dir = f.vault.dir().to_str().unwrap();
    let (code, out) = audit_support::verify_dir(f.vault.dir());
    assert_eq!(code, 0, "{out}");
    export(f.vault.dir(), "jsonl", Some(&t.path().join("a.jsonl")));
    export(f.vault.dir(), "ocsf", Some(&t.path().join("a.ocsf")));
    export(f.vault.dir(), "jsonl", None);
    let (code, out) = audit_support::verify_file(&t.path().join("a.jsonl"));
    assert_eq!(code, 0, "{out}");
    let o = run(&["audit", "verify", "--data-dir", dir]);
    assert!(o.status.success());
    assert_eq!(
        snapshot(f.vault.dir()),
        before,
        "an offline read changed the data dir"
    );
}

#[test]
fn usage_errors_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let empty = t.path().to_str().unwrap();
    let missing = t.path().join("nope");
    let missing = missing.to_str().unwrap();
    let g = golden("ok_single.jsonl");
    let g = g.to_str().unwrap();
    for args in [
        vec!["audit", "verify", "--data-dir", empty],
        vec!["audit", "verify", "--data-dir", missing],
        vec!["audit", "export", "--data-dir", empty],
        vec!["audit", "export", "--data-dir", missing, "--format", "ocsf"],
        vec!["audit", "verify", "--file", missing],
        vec!["audit", "verify"],
        vec!["audit", "verify", "--data-dir", empty, "--file", g],
        vec!["audit", "export", "--data-dir", empty, "--format", "csv"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {o:?}");
        assert!(o.stdout.is_empty() || !String::from_utf8_lossy(&o.stdout).starts_with("ok"));
    }
    let o = run(&["audit", "verify", "--data-dir", empty]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("does not hold a vault"),
        "{o:?}"
    );
    assert!(
        std::fs::read_dir(t.path()).unwrap().next().is_none(),
        "nothing created"
    );
}

/// A log in two segments verifies and exports as one; the server continues it; a missing
/// segment is reported at the first missing entry.
#[test]
fn segments_are_verified_and_served_as_one_log() {
    let vault = TestVault::init();
    let audit = vault.audit_dir();
    for p in audit_support::segments(&audit) {
        std::fs::remove_file(p).unwrap();
    }
    let many = std::fs::read_to_string(golden("ok_many.jsonl")).unwrap();
    let lines: Vec<&str> = many.split_inclusive('\n').collect();
    let first = audit.join(format!("{:020}.jsonl", 1));
    let second = audit.join(format!("{:020}.jsonl", 11));
    std::fs::write(&first, lines[..10].concat()).unwrap();
    std::fs::write(&second, lines[10..].concat()).unwrap();
    let (code, out) = audit_support::verify_dir(vault.dir());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("24 entries"), "{out}");
    assert_eq!(export(vault.dir(), "jsonl", None), many.as_bytes());

    let mut server = Server::start(vault.dir());
    let admin = server.login("admin", audit_support::ADMIN_PASSWORD);
    server.create_user(&admin, "aud1", "auditor");
    let auditor = server.login("aud1", USER_PASSWORD);
    let v = server.get("/v1/audit/verify", Some(&auditor), None).json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["entries"], 27);
    let page = server
        .get("/v1/audit?after_seq=9&limit=3", Some(&auditor), None)
        .json();
    let seqs: Vec<u64> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [10, 11, 12], "a page across the segment boundary");
    server.kill();
    assert_eq!(
        std::fs::read_to_string(&first).unwrap(),
        lines[..10].concat()
    );
    assert_eq!(audit_support::verify_dir(vault.dir()).0, 0);

    // Entry 11 gone with the start of the second segment.
    let rest = std::fs::read_to_string(&second).unwrap();
    std::fs::remove_file(&second).unwrap();
    std::fs::write(
        audit.join(format!("{:020}.jsonl", 12)),
        rest.split_once('\n').unwrap().1,
    )
    .unwrap();
    let (code, out) = audit_support::verify_dir(vault.dir());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("first bad entry seq 11:"), "{out}");
}

#[test]
fn an_overlapping_segment_is_reported_where_the_chain_breaks() {
    let vault = TestVault::init();
    let audit = vault.audit_dir();
    for p in audit_support::segments(&audit) {
        std::fs::remove_file(p).unwrap();
    }
    let many = std::fs::read_to_string(golden("ok_many.jsonl")).unwrap();
    let lines: Vec<&str> = many.split_inclusive('\n').collect();
    std::fs::write(audit.join(format!("{:020}.jsonl", 1)), lines[..10].concat()).unwrap();
    std::fs::write(audit.join(format!("{:020}.jsonl", 9)), lines[8..].concat()).unwrap();
    let (code, out) = audit_support::verify_dir(vault.dir());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("first bad entry seq 11:"), "{out}");
}

/// §5 of the document is real: hrvault's own code and the independent verifier both turn the
/// documented line into the documented canonical bytes and hash.
#[test]
fn the_worked_example_in_the_document_is_real() {
    let line = doc_block("example:line");
    let prev = doc_block("example:prev_hash");
    let canonical = doc_block("example:canonical");
    let hash = doc_block("example:hash");
    let e: EntryRef<'_> = serde_json::from_str(&line).unwrap();
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        line,
        "the line is in writer form"
    );
    let mut scratch = Vec::new();
    canonical_bytes(&e, &mut scratch);
    assert_eq!(std::str::from_utf8(&scratch).unwrap(), canonical);
    assert_eq!(canonical.len(), 391, "the document says 391 bytes");
    assert_eq!(e.prev_hash, prev);
    assert_eq!(e.hash, hash);
    assert_eq!(e.computed_hash(&mut scratch), hash);
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(chain::canonical(&v), canonical);
    assert_eq!(chain::link_hash(&prev, canonical.as_bytes()), hash);
    let mut input = prev.clone().into_bytes();
    input.extend_from_slice(canonical.as_bytes());
    assert_eq!(input.len(), 455);
    assert_eq!(hex::encode(Sha256::digest(&input)), hash);
    assert_eq!(
        chain::verify_from(5, &prev, &format!("{line}\n")),
        SpecVerdict::Intact {
            entries: 6,
            head_seq: 6,
            head_hash: hash.clone()
        }
    );

    // §8: the documented checkpoint verifies over the documented message.
    let cp: Value = serde_json::from_str(&doc_block("example:checkpoint")).unwrap();
    let msg = doc_block("example:checkpoint_message");
    assert_eq!(
        msg,
        chain::checkpoint_message(
            cp["seq"].as_u64().unwrap(),
            cp["hash"].as_str().unwrap(),
            cp["ts"].as_str().unwrap()
        )
    );
    let pk: [u8; 32] = B64
        .decode(cp["public_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let sig: [u8; 64] = B64
        .decode(cp["signature"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    assert!(hrvault::crypto::verify_signature(&pk, msg.as_bytes(), &sig));
}

fn python() -> Option<()> {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("python3 not found: the document's Python verifier is not exercised");
    }
    ok.then_some(())
}

fn run_python(script: &Path, args: &[&Path]) -> (i32, String) {
    let o = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// §10 of the document works: on every golden file it gives the documented verdict, on a real
/// export it agrees with hrvault, and it checks real checkpoints (and refuses forged ones).
#[test]
fn the_python_verifier_in_the_document_agrees() {
    if python().is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let script = t.path().join("verify.py");
    std::fs::write(&script, doc_block("verifier:python")).unwrap();

    for entry in std::fs::read_dir(golden("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let (code, out) = run_python(&script, &[&path]);
        if name.starts_with("ok_") {
            assert_eq!(code, 0, "{name}: {out}");
        } else {
            let n = name
                .trim_end_matches(".jsonl")
                .rsplit_once("_seq")
                .unwrap()
                .1;
            assert_eq!(code, 1, "{name}: {out}");
            assert!(
                out.contains(&format!("first bad entry seq {n}:")),
                "{name}: {out}"
            );
        }
    }

    let mut f = Fixture::start();
    busy(&f);
    let head = f.server.get("/v1/audit/head", Some(&f.auditor), None).body;
    f.server.kill();
    let export_path = t.path().join("export.jsonl");
    export(f.vault.dir(), "jsonl", Some(&export_path));
    let head_path = t.path().join("head.json");
    std::fs::write(&head_path, &head).unwrap();
    let (code, out) = run_python(&script, &[&export_path]);
    assert_eq!(code, 0, "{out}");
    let (_, hrvault_out) = audit_support::verify_file(&export_path);
    let tail = |s: &str| s.split("head seq").nth(1).unwrap().trim().to_owned();
    assert_eq!(tail(&out), tail(&hrvault_out), "same head as hrvault");

    let has_crypto = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_crypto {
        eprintln!("python cryptography missing: checkpoint checks skipped");
        return;
    }
    let (code, out) = run_python(&script, &[&export_path, &head_path]);
    assert_eq!(code, 0, "live checkpoint: {out}");
    // The document's checkpoint has a valid signature but belongs to another log: its entry 9
    // is not ok_many's entry 9.
    let doc_cp = t.path().join("doc-head.json");
    std::fs::write(&doc_cp, doc_block("example:checkpoint")).unwrap();
    let (code, out) = run_python(&script, &[&golden("ok_many.jsonl"), &doc_cp]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("first bad entry seq 9: differs from the signed checkpoint"),
        "{out}"
    );
    // A forged checkpoint (seq changed) is refused.
    let mut forged: Value = serde_json::from_str(&head).unwrap();
    forged["seq"] = json!(forged["seq"].as_u64().unwrap() - 1);
    let forged_path = t.path().join("forged.json");
    std::fs::write(&forged_path, forged.to_string()).unwrap();
    let (code, out) = run_python(&script, &[&export_path, &forged_path]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("InvalidSignature"), "{out}");
    // An export cut before the checkpoint fails against it.
    let text = std::fs::read_to_string(&export_path).unwrap();
    let cut: String = text.split_inclusive('\n').take(5).collect();
    let cut_path = t.path().join("cut.jsonl");
    std::fs::write(&cut_path, cut).unwrap();
    let (code, out) = run_python(&script, &[&cut_path, &head_path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ends before the signed checkpoint"), "{out}");
}

/// The checkpoint key is the vault's: the same after a restart and after `keys rotate`.
#[test]
fn the_checkpoint_key_survives_restart_and_rotation() {
    let mut f = Fixture::start();
    let key = |s: &Server, token: &str| -> Value {
        s.get("/v1/audit/head", Some(token), None).json()["public_key"].clone()
    };
    let pinned = key(&f.server, &f.auditor);
    f.server.kill();
    let o = run(&[
        "keys",
        "rotate",
        "--data-dir",
        f.vault.dir().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    f.server = Server::start(f.vault.dir());
    let auditor = f.server.login("aud1", USER_PASSWORD);
    assert_eq!(key(&f.server, &auditor), pinned);
    let entries = f.server.all_entries(&auditor);
    assert!(entries.iter().any(|e| e["action"] == "keys.rotate"));
}

/// Every test the document cites exists, so the document cannot silently point at nothing.
#[test]
fn every_test_the_document_cites_exists() {
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    let mut sources = String::new();
    for file in [
        "tests/audit_golden.rs",
        "tests/audit_cli.rs",
        "tests/audit_api.rs",
        "tests/audit_crash.rs",
        "tests/audit_agreement.rs",
        "tests/audit_ocsf.rs",
        "src/audit/segment.rs",
        "src/audit/segment/tests.rs",
    ] {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        sources.push_str(&std::fs::read_to_string(p).unwrap());
    }
    let mut cited = 0;
    for quoted in doc.split('`').skip(1).step_by(2) {
        let is_test_name = quoted.matches('_').count() >= 3
            && quoted
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if is_test_name && !quoted.starts_with("fail_") && !quoted.starts_with("ok_") {
            assert!(
                sources.contains(&format!("fn {quoted}(")),
                "the document cites `{quoted}`, which is not a test"
            );
            cited += 1;
        }
    }
    assert!(cited >= 12, "only {cited} tests cited");
}
