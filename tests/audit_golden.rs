//! Golden audit logs: `tests/data/audit/ok_*.jsonl` must verify, `fail_*_seqN.jsonl` must fail
//! naming entry N — through the CLI (`hrvault audit verify --file`), through the library
//! (`verify_reader`), and through the independent spec verifier (`audit_support::chain`).
//!
//! The files come from a deterministic generator (`regenerate_golden_files`, ignored: run it with
//! `cargo test --test audit_golden -- --ignored regenerate`) that seals entries with the
//! documented algorithm, not with hrvault's code; `golden_files_match_their_generator` keeps the
//! files and the generator in step, and `ok_files_are_in_writer_form` checks that hrvault's own
//! canonical form and hash agree byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod audit_support;

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use audit_support::chain::{self, GENESIS, Verdict as SpecVerdict};
use hrvault::audit::{ChainVerifier, EntryRef, Head, Verdict, canonical_bytes, verify_reader};
use serde_json::{Value, json};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/audit")
}

/// `Some(N)` for `fail_*_seqN.jsonl`, `None` for `ok_*`.
fn expected_seq(name: &str) -> Option<u64> {
    if name.starts_with("ok_") {
        return None;
    }
    let stem = name.strip_suffix(".jsonl").unwrap();
    let n = stem.rsplit_once("_seq").expect("fail_*_seqN.jsonl").1;
    Some(n.parse().expect("seq number in the name"))
}

fn golden_files() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| (p.file_name().unwrap().to_str().unwrap().to_owned(), p))
        .collect();
    out.sort();
    assert!(out.len() >= 10, "golden files missing: {out:?}");
    out
}

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

const ADMIN: &str = "0b6b5a59-3f39-4d4e-9c57-2f9d1f3c0a01";
const HR: &str = "1c7c6b6a-4a4a-4e5f-8d68-3a0e2a4d1b02";
const PAY: &str = "2d8d7c7b-5b5b-4f60-9e79-4b1f3b5e2c03";
const SEC: &str = "3e9e8d8c-6c6c-4071-8f8a-5c204c6f3d04";
const E1: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const E2: &str = "a2a2a2a2-0000-4000-8000-000000000002";
const E3: &str = "a3a3a3a3-0000-4000-8000-000000000003";

fn actor(id: Option<&str>, name: Option<&str>, role: Option<&str>) -> Value {
    json!({"user_id": id, "username": name, "role": role})
}

/// Entry `seq` (unsealed): every field of the contract, defaults null.
fn entry(seq: u64, who: Value, action: &str, outcome: &str, extra: Value) -> Value {
    let micros = seq * 1_234_567 + 89;
    let ts = format!(
        "2026-01-15T09:{:02}:{:02}.{:06}Z",
        micros / 60_000_000,
        (micros / 1_000_000) % 60,
        micros % 1_000_000
    );
    let mut e = json!({
        "seq": seq, "ts": ts, "actor": who, "action": action,
        "employee_id": null, "employee_ids": null, "fields": null, "reason": null,
        "outcome": outcome, "source_ip": "127.0.0.1",
        "request_id": format!("req-{seq:04}"),
        "prev_hash": "", "hash": ""
    });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

/// A varied log: every action, nulls everywhere they may be, empty lists, escapes, unicode.
fn many() -> Vec<Value> {
    let admin = || actor(Some(ADMIN), Some("admin"), Some("admin"));
    let hr = || actor(Some(HR), Some("hr1"), Some("hr"));
    let pay = || actor(Some(PAY), Some("pay1"), Some("payroll"));
    let sec = || actor(Some(SEC), Some("sec1"), Some("security"));
    let anon = || actor(None, None, None);
    let specs: Vec<(Value, &str, &str, Value)> = vec![
        (
            anon(),
            "user.create",
            "success",
            json!({"reason": format!("vault initialised; first admin user {ADMIN}"), "source_ip": null, "request_id": null}),
        ),
        (admin(), "auth.login", "success", json!({})),
        (
            actor(None, Some("mallory"), None),
            "auth.login_failed",
            "denied",
            json!({"reason": "unknown user"}),
        ),
        (
            admin(),
            "user.create",
            "success",
            json!({"reason": format!("created user {HR} (hr1, role hr)")}),
        ),
        (
            hr(),
            "employee.create",
            "success",
            json!({"employee_id": E1}),
        ),
        (
            pay(),
            "employee.read",
            "success",
            json!({"employee_id": E1, "source_ip": "::1"}),
        ),
        (
            hr(),
            "employee.list",
            "success",
            json!({"employee_ids": [E1, E2]}),
        ),
        (
            hr(),
            "employee.list",
            "success",
            json!({"employee_ids": []}),
        ),
        (
            hr(),
            "employee.reveal",
            "success",
            json!({"employee_id": E1, "fields": ["ssn", "bank_account"],
            "reason": "payroll \"March\" correction \\ C:\\tmp\ttab\nnewline \u{1} ctl \u{8}\u{c}\r \u{7f} del </script> / slash"}),
        ),
        (
            pay(),
            "access.denied",
            "denied",
            json!({"reason": "role payroll may not employee.create"}),
        ),
        (
            hr(),
            "employee.update",
            "success",
            json!({"employee_id": E2, "fields": ["work_email", "home_address"]}),
        ),
        (
            hr(),
            "employee.delete",
            "success",
            json!({"employee_id": E3}),
        ),
        (pay(), "employee.lookup", "error", json!({"reason": null})),
        (
            pay(),
            "employee.export",
            "success",
            json!({"employee_ids": [E1, E2, E3]}),
        ),
        (
            admin(),
            "employee.import",
            "success",
            json!({"employee_ids": [E2, E3], "reason": "imported 2 of 3 rows", "source_ip": null}),
        ),
        (
            hr(),
            "hr_flag.create",
            "success",
            json!({"employee_id": E2,
            "reason": "Überprüfung — 日本語 🎉 line\u{2028}separator, émigré"}),
        ),
        (
            sec(),
            "hr_flag.delete",
            "success",
            json!({"employee_id": E2}),
        ),
        (
            sec(),
            "alert.update",
            "success",
            json!({"reason": "acknowledged: false positive"}),
        ),
        (
            anon(),
            "keys.rotate",
            "success",
            json!({"reason": "master key v2; 3 record keys re-wrapped", "source_ip": null, "request_id": null}),
        ),
        (
            sec(),
            "honeytoken.create",
            "success",
            json!({"employee_id": E3}),
        ),
        (
            actor(Some(HR), Some("hr1"), Some("hr")),
            "auth.token_rejected",
            "denied",
            json!({"reason": "token revoked"}),
        ),
        (
            hr(),
            "auth.logout",
            "success",
            json!({"request_id": "client-chosen.id:42_x"}),
        ),
        (
            admin(),
            "user.update",
            "success",
            json!({"reason": format!("user {PAY}: enabled=false")}),
        ),
        (
            admin(),
            "user.delete",
            "success",
            json!({"reason": format!("deleted user {PAY}")}),
        ),
    ];
    seal_all(
        specs
            .into_iter()
            .zip(1u64..)
            .map(|((who, action, outcome, extra), seq)| entry(seq, who, action, outcome, extra))
            .collect(),
        GENESIS,
    )
}

/// A revision-2 log: entries with and without `client_request_id` (the server's UUID in
/// `request_id`), and both kinds of coalesced `auth.rate_limited` entry.
fn rev2() -> Vec<Value> {
    let admin = || actor(Some(ADMIN), Some("admin"), Some("admin"));
    let specs: Vec<(Value, &str, &str, Value)> = vec![
        (
            admin(),
            "auth.login",
            "success",
            json!({"request_id": "0b6c5f3e-8f2a-4c39-9d7e-3f1a2b4c5d6e"}),
        ),
        (
            admin(),
            "auth.login",
            "success",
            json!({"request_id": "5d2e8a41-77c1-4f0e-a3b9-0c6d1e2f3a4b",
                   "client_request_id": "ticket-4711"}),
        ),
        (
            actor(None, Some("invalid username"), None),
            "auth.rate_limited",
            "denied",
            json!({"request_id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
                   "client_request_id": "client.chosen:42",
                   "reason": "too many failed attempts from this address: refused 1 attempt; further refusals in this minute are counted and recorded in one entry when the minute ends"}),
        ),
        (
            actor(None, None, None),
            "auth.rate_limited",
            "denied",
            json!({"request_id": null,
                   "reason": "too many failed attempts from this address: refused 499 more attempts in the minute from 2026-01-15T09:00:02Z (first refusal: entry 3)"}),
        ),
        (
            actor(None, None, None),
            "user.recover",
            "success",
            json!({"request_id": null,
                   "reason": "break-glass recovery of admin 3f0c9a4e-2b1d-4c8e-9a7f-6e5d4c3b2a19 (admin) by the operator: was role admin, disabled; now an enabled admin with a new password, old tokens revoked, unlinked"}),
        ),
    ];
    seal_all(
        specs
            .into_iter()
            .zip(1u64..)
            .map(|((who, action, outcome, extra), seq)| entry(seq, who, action, outcome, extra))
            .collect(),
        GENESIS,
    )
}

/// Seals a list of entries into a chain starting after `genesis`.
fn seal_all(mut entries: Vec<Value>, genesis: &str) -> Vec<Value> {
    let mut prev = genesis.to_owned();
    for e in &mut entries {
        chain::seal(e, &prev);
        prev = e["hash"].as_str().unwrap().to_owned();
    }
    entries
}

fn lines_of(entries: &[Value]) -> Vec<String> {
    entries.iter().map(chain::line_form).collect()
}

fn text(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Every golden file: name → contents.
fn generate() -> BTreeMap<&'static str, String> {
    let many = many();
    let base: Vec<Value> = many[..10].to_vec();
    let base_lines = lines_of(&base);
    let mut files = BTreeMap::new();
    files.insert("ok_empty.jsonl", String::new());
    let mut single = many[1].clone();
    single["seq"] = json!(1);
    files.insert(
        "ok_single.jsonl",
        text(&lines_of(&seal_all(vec![single], GENESIS))),
    );
    files.insert("ok_many.jsonl", text(&lines_of(&many)));
    files.insert("ok_base.jsonl", text(&base_lines));
    let rev2 = rev2();
    files.insert("ok_rev2.jsonl", text(&lines_of(&rev2)));
    // `client_request_id` is a string when present, never null: a null one is refused.
    let mut l = rev2[..3].to_vec();
    l[1]["client_request_id"] = Value::Null;
    let prev = l[0]["hash"].as_str().unwrap().to_owned();
    chain::seal(&mut l[1], &prev);
    let prev = l[1]["hash"].as_str().unwrap().to_owned();
    chain::seal(&mut l[2], &prev);
    files.insert(
        "fail_null_client_request_id_seq2.jsonl",
        text(&lines_of(&l)),
    );

    // An edited field, hash left alone: entry 3's denial turned into a success.
    let mut l = base.clone();
    l[2]["outcome"] = json!("success");
    files.insert("fail_edited_seq3.jsonl", text(&lines_of(&l)));

    // A deleted entry.
    let mut l = base_lines.clone();
    l.remove(3);
    files.insert("fail_deleted_seq4.jsonl", text(&l));

    // Two entries swapped.
    let mut l = base_lines.clone();
    l.swap(4, 5);
    files.insert("fail_swapped_seq5.jsonl", text(&l));

    // Entry 5 edited and re-hashed (self-consistent): the break shows at entry 6's link.
    let mut l = base.clone();
    l[4]["employee_id"] = json!(E3);
    let prev = l[3]["hash"].as_str().unwrap().to_owned();
    chain::seal(&mut l[4], &prev);
    files.insert("fail_relinked_seq6.jsonl", text(&lines_of(&l)));

    // Entry 6 re-pointed at entry 4 and re-hashed: also a broken link at 6.
    let mut l = base.clone();
    let prev = l[3]["hash"].as_str().unwrap().to_owned();
    chain::seal(&mut l[5], &prev);
    files.insert("fail_relinked_prev_seq6.jsonl", text(&lines_of(&l)));

    // A torn last line (no newline).
    let mut t = text(&base_lines[..6]);
    t.push_str(&base_lines[6][..base_lines[6].len() / 2]);
    files.insert("fail_truncated_seq7.jsonl", t);

    // An unknown field riding along outside the hash (the hash is still the original one).
    let mut l = base_lines.clone();
    l[1] = l[1].replacen(
        ",\"prev_hash\":",
        ",\"note\":\"rides along unhashed\",\"prev_hash\":",
        1,
    );
    files.insert("fail_extra_field_seq2.jsonl", text(&l));

    // A self-consistent chain that does not start at 64 zeros.
    let l = seal_all(base.clone(), &"1".repeat(64));
    files.insert("fail_genesis_seq1.jsonl", text(&lines_of(&l)));

    // A hash in upper case (the spec says lower case; it is compared as text).
    let mut l = base_lines.clone();
    let h = base[1]["hash"].as_str().unwrap();
    l[1] = l[1].replace(h, &h.to_uppercase());
    files.insert("fail_hash_uppercase_seq2.jsonl", text(&l));

    // A line that is not JSON at all.
    let mut l = base_lines.clone();
    l[2] = "this is not an audit entry".to_owned();
    files.insert("fail_not_json_seq3.jsonl", text(&l));

    // Entry 4 written twice: entries 1-4 are proven, position 5 is where it breaks.
    let mut l = base_lines.clone();
    l.insert(4, base_lines[3].clone());
    files.insert("fail_duplicated_seq5.jsonl", text(&l));

    // Entry 4 with the same values but keys sorted (as a naive re-serialisation would write it).
    let mut l = base_lines.clone();
    l[3] = serde_json::to_string(&serde_json::from_str::<Value>(&l[3]).unwrap()).unwrap();
    assert!(l[3].starts_with("{\"action\""), "BTreeMap order: {}", l[3]);
    files.insert("fail_noncanonical_seq4.jsonl", text(&l));
    files
}

#[test]
#[ignore = "writes tests/data/audit; run on purpose after changing the generator"]
fn regenerate_golden_files() {
    let dir = golden_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (name, contents) in generate() {
        std::fs::write(dir.join(name), contents).unwrap();
    }
}

#[test]
fn golden_files_match_their_generator() {
    let generated = generate();
    let on_disk = golden_files();
    let names: Vec<&str> = on_disk.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        generated.keys().copied().collect::<Vec<_>>(),
        "run the ignored regenerate_golden_files test"
    );
    for (name, path) in &on_disk {
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            generated[name.as_str()],
            "{name} differs from its generator"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------------------------

fn check_cli(name: &str, path: &Path) {
    let (code, stdout) = audit_support::verify_file(path);
    match expected_seq(name) {
        None => {
            assert_eq!(code, 0, "{name}: {stdout}");
            assert!(
                stdout.starts_with("ok: audit chain intact"),
                "{name}: {stdout}"
            );
        }
        Some(n) => {
            assert_eq!(code, 1, "{name}: {stdout}");
            assert!(
                stdout.contains(&format!("first bad entry seq {n}:")),
                "{name} must name seq {n}: {stdout}"
            );
        }
    }
}

fn check_library(name: &str, path: &Path) {
    let verdict = verify_reader(BufReader::new(std::fs::File::open(path).unwrap()), None).unwrap();
    match (expected_seq(name), verdict) {
        (None, Verdict::Intact { entries, head }) => {
            let spec = chain::verify(&std::fs::read_to_string(path).unwrap());
            assert_eq!(
                spec,
                SpecVerdict::Intact {
                    entries,
                    head_seq: head.seq,
                    head_hash: head.hash
                },
                "{name}"
            );
        }
        (
            Some(n),
            Verdict::Broken {
                first_bad_seq,
                reason,
            },
        ) => {
            assert_eq!(first_bad_seq, n, "{name}: {reason}");
            assert!(
                reason.contains(&format!("entry {n}")),
                "{name}: the reason names the entry: {reason}"
            );
        }
        (want, got) => panic!("{name}: expected {want:?}, got {got:?}"),
    }
}

#[test]
fn golden_verdicts_through_the_cli() {
    for (name, path) in golden_files() {
        check_cli(&name, &path);
    }
}

#[test]
fn golden_verdicts_through_the_library() {
    for (name, path) in golden_files() {
        check_library(&name, &path);
    }
}

#[test]
fn the_spec_verifier_gives_every_documented_verdict() {
    for (name, path) in golden_files() {
        let verdict = chain::verify(&std::fs::read_to_string(&path).unwrap());
        match (expected_seq(&name), &verdict) {
            (None, SpecVerdict::Intact { .. }) => {}
            (Some(n), SpecVerdict::Broken { seq, .. }) if *seq == n => {}
            _ => panic!("{name}: {verdict:?}"),
        }
    }
}

/// The ok files are byte for byte what hrvault's writer emits, and hrvault's canonical bytes and
/// hash are exactly the documented ones (computed here without hrvault's code).
#[test]
fn ok_files_are_in_writer_form_and_hash_as_documented() {
    let mut checked = 0;
    let mut scratch = Vec::new();
    for (name, path) in golden_files()
        .into_iter()
        .filter(|(n, _)| n.starts_with("ok_"))
    {
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let e: EntryRef<'_> = serde_json::from_str(line).unwrap();
            assert_eq!(
                serde_json::to_string(&e).unwrap(),
                line,
                "{name}: writer form"
            );
            canonical_bytes(&e, &mut scratch);
            let ours = chain::canonical(&serde_json::from_str(line).unwrap());
            assert_eq!(std::str::from_utf8(&scratch).unwrap(), ours, "{name}");
            assert_eq!(
                e.computed_hash(&mut scratch),
                chain::link_hash(&e.prev_hash, ours.as_bytes())
            );
            assert_eq!(e.computed_hash(&mut scratch), e.hash);
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} entries checked");
}

/// Every action of the product appears in ok_many or ok_rev2 (a new action gets a golden entry;
/// ok_many stays as it was so that logs written before revision 2 are still covered).
#[test]
fn ok_many_covers_every_action() {
    let text = std::fs::read_to_string(golden_dir().join("ok_many.jsonl")).unwrap()
        + &std::fs::read_to_string(golden_dir().join("ok_rev2.jsonl")).unwrap();
    for a in hrvault::audit::Action::ALL {
        assert!(
            text.contains(&format!("\"action\":\"{}\"", a.as_str())),
            "ok_many.jsonl lacks {}",
            a.as_str()
        );
    }
}

/// Flipping bit 0 of any byte of a valid log is detected, and the verdict names the entry whose
/// line was touched. Each flip in
/// line k is checked on lines k..k+2, continuing from the verified head k-1 (what a full run
/// would see up to the first failure, at a fraction of the cost).
#[test]
fn every_single_byte_flip_is_detected_at_its_entry() {
    let original = std::fs::read_to_string(golden_dir().join("ok_many.jsonl")).unwrap();
    let lines: Vec<&str> = original.split_inclusive('\n').collect();
    let hash_of = |k: usize| -> String {
        if k == 0 {
            return GENESIS.to_owned();
        }
        let v: Value = serde_json::from_str(lines[k - 1]).unwrap();
        v["hash"].as_str().unwrap().to_owned()
    };
    let mut flips = 0;
    for (idx, line) in lines.iter().enumerate() {
        let seq = idx as u64 + 1;
        let head_hash = hash_of(idx);
        let window: String = lines[idx..(idx + 3).min(lines.len())].concat();
        let seq_digits = "{\"seq\":".len()..("{\"seq\":".len() + seq.to_string().len());
        for i in 0..line.len() {
            let mut bytes = window.clone().into_bytes();
            bytes[i] ^= 0x01;
            flips += 1;
            let mut v = ChainVerifier::from_head(Head {
                seq: seq - 1,
                hash: head_hash.clone(),
            });
            let mut bad = None;
            for l in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                if let Err((n, _)) = v.push_line(l) {
                    bad = Some(n);
                    break;
                }
            }
            let bad = bad.or(match v.finish() {
                Verdict::Broken { first_bad_seq, .. } => Some(first_bad_seq),
                Verdict::Intact { .. } => None,
            });
            let Some(bad) = bad else {
                panic!("flip at byte {i} of entry {seq} went unnoticed");
            };
            if !seq_digits.contains(&i) {
                assert_eq!(bad, seq, "flip at byte {i} of entry {seq}");
            }
            if let Ok(text) = std::str::from_utf8(&bytes) {
                match chain::verify_from(seq - 1, &head_hash, text) {
                    SpecVerdict::Broken { seq: n, .. } => {
                        assert_eq!(n, seq, "spec verifier, flip at byte {i} of entry {seq}")
                    }
                    SpecVerdict::Intact { .. } => panic!("spec verifier missed byte {i} of {seq}"),
                }
            }
        }
    }
    assert_eq!(flips, original.len());
}

/// What the chain alone cannot see: an attacker who rewrites every entry from k on (renumbered,
/// re-linked, re-hashed) or cuts the tail leaves a self-consistent chain. A signed checkpoint
/// held outside the vault catches both: its (seq, hash) is no longer in the log.
#[test]
fn a_rewritten_or_cut_tail_is_caught_only_by_a_checkpoint() {
    let many = many();
    let checkpoint = (
        many[15]["seq"].as_u64().unwrap(),
        many[15]["hash"].as_str().unwrap().to_owned(),
    );
    let holds = |text: &str| {
        text.lines().any(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["seq"].as_u64() == Some(checkpoint.0) && v["hash"].as_str() == Some(&checkpoint.1)
        })
    };
    // Entry 10 (a denial) deleted, everything after renumbered and re-sealed.
    let mut rewritten: Vec<Value> = many.clone();
    rewritten.remove(9);
    for (i, e) in rewritten.iter_mut().enumerate() {
        e["seq"] = json!(i as u64 + 1);
    }
    let rewritten = text(&lines_of(&seal_all(rewritten, GENESIS)));
    // The last 9 entries cut.
    let cut = text(&lines_of(&many[..15]));
    for tampered in [rewritten, cut] {
        let v = verify_reader(tampered.as_bytes(), None).unwrap();
        assert!(v.is_intact(), "the chain alone cannot tell: {v:?}");
        assert!(!holds(&tampered), "but the checkpoint is gone");
    }
    assert!(holds(&text(&lines_of(&many))));
}

/// A reason should say what is wrong, so an auditor knows where to look.
#[test]
fn the_reason_for_an_unknown_key_names_it() {
    let path = golden_dir().join("fail_extra_field_seq2.jsonl");
    let verdict = verify_reader(BufReader::new(std::fs::File::open(path).unwrap()), None).unwrap();
    let Verdict::Broken { reason, .. } = verdict else {
        panic!("{verdict:?}")
    };
    assert!(reason.contains("note"), "{reason}");
    assert!(!reason.contains("truncated"), "{reason}");
}
