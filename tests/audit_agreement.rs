//! Start-up and `hrvault audit verify --data-dir` give the same verdict on the same audit files
//! (CONTRACT §4 "Audit files", docs/design/audit-chain.md §7), against the real binary.
//!
//! One vault's log is split into two segments by hand (the writer rolls over only past 32 MiB);
//! each case damages a copy of it in one way and asks both: a torn last line of the last segment
//! is the only thing start-up repairs and verify accepts; CRLF, a blank line, or any damage in
//! an earlier segment makes verify exit 1 and start-up exit 2, both naming the same entry.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{
    ADMIN_PASSWORD, PASSPHRASE, ServeOpts, Server, Stop, VaultDir, WAIT, hrvault, run, run_within,
    text,
};

/// Entries in the first of the two segments.
const FIRST_SEGMENT_ENTRIES: usize = 4;

fn segment_name(first_seq: usize) -> String {
    format!("{first_seq:020}.jsonl")
}

/// A vault with at least 8 entries, stopped, its log split into segments 1 and 5.
fn split_vault() -> (VaultDir, Vec<String>) {
    let vault = VaultDir::init();
    {
        let server = Server::start(&vault, None);
        let c = server.client();
        for _ in 0..6 {
            c.login("admin", ADMIN_PASSWORD);
        }
        assert_eq!(c.login_raw("admin", "not-the-password").status, 401);
        server.stop(Stop::Graceful);
    }
    let audit = vault.data.join("audit");
    let text = fs::read_to_string(audit.join(segment_name(1))).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines.len() >= 8, "{} entries", lines.len());
    let (a, b) = lines.split_at(FIRST_SEGMENT_ENTRIES);
    fs::write(audit.join(segment_name(1)), joined(a)).unwrap();
    fs::write(
        audit.join(segment_name(FIRST_SEGMENT_ENTRIES + 1)),
        joined(b),
    )
    .unwrap();
    (vault, lines)
}

fn joined(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the vault's data dir with one segment rewritten by `damage`.
fn damaged_copy(
    vault: &VaultDir,
    case: &str,
    segment_first_seq: usize,
    damage: impl FnOnce(&[u8]) -> Vec<u8>,
) -> (PathBuf, PathBuf) {
    let data = vault.root.path().join(format!("case-{case}"));
    copy_dir(&vault.data, &data);
    let seg = data.join("audit").join(segment_name(segment_first_seq));
    let bytes = fs::read(&seg).unwrap();
    fs::write(&seg, damage(&bytes)).unwrap();
    (data, seg)
}

/// `audit verify --data-dir`: (exit code, stdout).
fn verify(data: &Path) -> (i32, String) {
    let mut c = hrvault();
    c.args(["audit", "verify", "--data-dir"]).arg(data);
    let out = run(c);
    (out.status.code().unwrap_or(-1), text(&out.stdout))
}

/// `serve` that must refuse to start: (exit code, stderr). A server that starts instead fails
/// the test after `WAIT` (it never exits on its own).
fn serve_refused(data: &Path) -> (i32, String) {
    let mut c = hrvault();
    c.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("HRVAULT_PASSPHRASE", PASSPHRASE);
    let out = run_within(c, WAIT);
    (out.status.code().unwrap_or(-1), text(&out.stderr))
}

/// Both refuse, naming entry `seq` (and start-up the damaged segment).
fn assert_both_refuse(data: &Path, seg: &Path, seq: usize) {
    let before = common::tree_digest(&data.join("audit"));
    let (code, out) = verify(data);
    assert_eq!(code, 1, "verify: {out}");
    assert!(
        out.contains(&format!("first bad entry seq {seq}:")),
        "{out}"
    );
    let (code, err) = serve_refused(data);
    assert_eq!(code, 2, "start-up: {err}");
    let name = seg.file_name().unwrap().to_str().unwrap();
    assert!(
        err.contains(&format!("damaged at entry {seq} in")) && err.contains(name),
        "start-up must name entry {seq} and {name}: {err}"
    );
    assert!(err.contains("--danger-accept-damaged-audit-log"), "{err}");
    assert_eq!(
        before,
        common::tree_digest(&data.join("audit")),
        "a refused start changes no audit file"
    );
}

fn add_blank_line_after(bytes: &[u8], line_no: usize) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut out = String::new();
    for (i, l) in text.split_inclusive('\n').enumerate() {
        out.push_str(l);
        if i + 1 == line_no {
            out.push('\n');
        }
    }
    out.into_bytes()
}

#[test]
fn start_up_and_verify_agree_on_every_kind_of_damage() {
    let (vault, lines) = split_vault();
    let n = lines.len();
    let last_seg = FIRST_SEGMENT_ENTRIES + 1;

    // Intact, across two segments: both accept.
    let (code, out) = verify(&vault.data);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("{n} entries")), "{out}");

    // CRLF on one line of the last segment: the line of entry 6.
    let (data, seg) = damaged_copy(&vault, "crlf-line", last_seg, |b| {
        let t = String::from_utf8(b.to_vec()).unwrap();
        let mut parts: Vec<String> = t.split_inclusive('\n').map(str::to_owned).collect();
        parts[1] = parts[1].replace('\n', "\r\n");
        parts.concat().into_bytes()
    });
    assert_both_refuse(&data, &seg, last_seg + 1);

    // A whole segment converted to CRLF (an editor or a Windows copy): its first entry.
    let (data, seg) = damaged_copy(&vault, "crlf-all", last_seg, |b| {
        String::from_utf8(b.to_vec())
            .unwrap()
            .replace('\n', "\r\n")
            .into_bytes()
    });
    assert_both_refuse(&data, &seg, last_seg);

    // CRLF on the very last line of the log: complete, so not a torn write.
    let (data, seg) = damaged_copy(&vault, "crlf-last", last_seg, |b| {
        let mut v = b[..b.len() - 1].to_vec();
        v.extend_from_slice(b"\r\n");
        v
    });
    assert_both_refuse(&data, &seg, n);

    // A blank line inside the last segment, and one at its very end.
    let (data, seg) = damaged_copy(&vault, "blank-mid", last_seg, |b| {
        add_blank_line_after(b, 2)
    });
    assert_both_refuse(&data, &seg, last_seg + 2);
    let (data, seg) = damaged_copy(&vault, "blank-end", last_seg, |b| {
        let mut v = b.to_vec();
        v.push(b'\n');
        v
    });
    assert_both_refuse(&data, &seg, n + 1);

    // Damage in the earlier segment: an edited entry, a blank line, a lost final newline.
    let (data, seg) = damaged_copy(&vault, "earlier-edit", 1, |b| {
        String::from_utf8(b.to_vec())
            .unwrap()
            .replacen("\"seq\":2,", "\"seq\":2, ", 1)
            .into_bytes()
    });
    assert_both_refuse(&data, &seg, 2);
    let (data, seg) = damaged_copy(&vault, "earlier-blank", 1, |b| add_blank_line_after(b, 1));
    assert_both_refuse(&data, &seg, 2);
    let (data, seg) = damaged_copy(&vault, "earlier-unterminated", 1, |b| {
        b[..b.len() - 1].to_vec()
    });
    assert_both_refuse(&data, &seg, FIRST_SEGMENT_ENTRIES);
    let (data, seg) = damaged_copy(&vault, "earlier-crlf", 1, |b| {
        String::from_utf8(b.to_vec())
            .unwrap()
            .replace('\n', "\r\n")
            .into_bytes()
    });
    assert_both_refuse(&data, &seg, 1);
}

/// The one repair: a torn (unterminated) last line of the last segment. Verify accepts it and
/// says start-up will cut it; start-up cuts it, keeps it aside and serves; verify still agrees.
#[test]
fn a_torn_last_line_is_accepted_by_both_and_cut_only_by_start_up() {
    let (vault, lines) = split_vault();
    let n = lines.len();
    let torn = &lines[n - 1].as_bytes()[..lines[n - 1].len() / 2];
    let (data, seg) = damaged_copy(&vault, "torn", FIRST_SEGMENT_ENTRIES + 1, |b| {
        [b, torn].concat()
    });
    let (code, out) = verify(&data);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("{n} entries")) && out.contains("torn write"),
        "{out}"
    );
    let damaged = fs::read(&seg).unwrap();
    let (code2, out2) = verify(&data);
    assert_eq!((code2, &out2), (code, &out), "verify is repeatable");
    assert_eq!(fs::read(&seg).unwrap(), damaged, "verify cuts nothing");

    let server = Server::start_with(&data, vault.root.path(), ServeOpts::default());
    server.client().login("admin", ADMIN_PASSWORD);
    server.stop(Stop::Graceful);
    let kept: Vec<_> = fs::read_dir(data.join("audit"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("torn-"))
        .collect();
    assert_eq!(
        kept,
        vec![format!("torn-{:020}-{}.bin", n + 1, torn.len())],
        "the cut bytes are kept aside, named after the next entry"
    );
    let (code, out) = verify(&data);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("{} entries", n + 1)), "{out}");
    assert!(!out.contains("torn write"), "{out}");
}
