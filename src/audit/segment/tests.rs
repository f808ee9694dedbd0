//! Unit tests of segment recovery: torn tails cut, damage refused and never cut.

use super::*;
use crate::audit::{Action, Actor, NewEntry, Outcome};

fn lines(n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev = GENESIS_HASH.to_owned();
    let mut scratch = Vec::new();
    for seq in 1..=n {
        let e = NewEntry::new(Actor::default(), Action::AuthLogin, Outcome::Success).seal(
            seq,
            "2026-01-01T00:00:00.000000Z",
            &prev,
            &mut scratch,
        );
        prev = e.hash.to_string();
        out.extend_from_slice(serde_json::to_string(&e).unwrap().as_bytes());
        out.push(b'\n');
    }
    out
}

fn dir_with(bytes: &[u8]) -> (tempfile::TempDir, SegmentDir) {
    let t = tempfile::tempdir().unwrap();
    let d = SegmentDir::new(t.path().join("audit"));
    d.create().unwrap();
    fs::write(d.segment_path(1), bytes).unwrap();
    (t, d)
}

#[test]
fn intact_log_recovers_its_head() {
    let (_t, d) = dir_with(&lines(5));
    let (head, report, _) = d.recover(false).unwrap();
    assert_eq!(head.seq, 5);
    assert_eq!(report, RecoveryReport::default());
}

#[test]
fn torn_last_line_is_cut_and_kept_aside() {
    let mut bytes = lines(5);
    let full = bytes.len();
    bytes.extend_from_slice(&lines(6)[full..full + 40]); // half of entry 6, no newline
    let (_t, d) = dir_with(&bytes);
    let (head, report, (_, path)) = d.recover(false).unwrap();
    assert_eq!(head.seq, 5);
    assert_eq!(report.truncated_bytes, 40);
    assert_eq!(fs::read(&path).unwrap().len(), full);
    assert_eq!(fs::read(report.quarantined.unwrap()).unwrap().len(), 40);
}

#[test]
fn zero_filled_tail_after_a_crash_is_cut() {
    let mut bytes = lines(3);
    bytes.extend_from_slice(&[0u8; 4096]); // a size update without its data: no newline
    let (_t, d) = dir_with(&bytes);
    let (head, report, _) = d.recover(false).unwrap();
    assert_eq!((head.seq, report.truncated_bytes), (3, 4096));
}

#[test]
fn a_complete_line_of_garbage_is_damage_not_a_torn_write() {
    // The writer ends every batch with a newline, so a terminated line is not torn.
    let mut bytes = lines(3);
    bytes.extend_from_slice(&[0u8; 4096]);
    bytes.push(b'\n');
    let (_t, d) = dir_with(&bytes);
    let err = d.recover(false).unwrap_err().to_string();
    assert!(err.contains("damaged at entry 4 in"), "{err}");
    let (head, report, _) = d.recover(true).unwrap();
    assert_eq!((head.seq, report), (3, RecoveryReport::default()));
    assert_eq!(
        fs::read(d.segment_path(1)).unwrap(),
        bytes,
        "nothing was cut"
    );
}

#[test]
fn blank_and_crlf_lines_are_damage_at_start_up() {
    let good = lines(4);
    let text = String::from_utf8(good).unwrap();
    let mut parts: Vec<&str> = text.split_inclusive('\n').collect();
    let blank = [parts[..2].concat(), "\n".into(), parts[2..].concat()].concat();
    let (_t, d) = dir_with(blank.as_bytes());
    let err = d.recover(false).unwrap_err().to_string();
    assert!(
        err.contains("damaged at entry 3") && err.contains("blank"),
        "{err}"
    );
    let crlf_last = parts.pop().unwrap().replace('\n', "\r\n");
    let crlf = [parts.concat(), crlf_last].concat();
    let (_t, d) = dir_with(crlf.as_bytes());
    let err = d.recover(false).unwrap_err().to_string();
    assert!(
        err.contains("damaged at entry 4") && err.contains("CRLF"),
        "{err}"
    );
}

#[test]
fn an_edited_entry_inside_the_log_refuses_start_and_is_never_cut() {
    let good = lines(6);
    let text = String::from_utf8(good.clone()).unwrap();
    let edited = text.replacen("auth.login", "auth.logout", 3); // entry 3 altered, 4-6 follow
    let (_t, d) = dir_with(edited.as_bytes());
    let err = d.recover(false).unwrap_err().to_string();
    assert!(
        err.contains("damaged at entry 1") || err.contains("damaged at entry"),
        "{err}"
    );
    assert_eq!(
        fs::read(d.segment_path(1)).unwrap(),
        edited.as_bytes(),
        "nothing was cut"
    );
    let (head, report, _) = d.recover(true).unwrap();
    assert_eq!(head.seq, 6, "the chain continues after the last entry");
    assert_eq!(report, RecoveryReport::default());
    assert_eq!(fs::read(d.segment_path(1)).unwrap(), edited.as_bytes());
}

#[test]
fn garbage_then_an_entry_is_not_a_torn_write() {
    let mut bytes = lines(3);
    bytes.extend_from_slice(b"\0\0\0garbage\n");
    bytes.extend_from_slice(&lines(5)[lines(4).len()..]); // a complete entry 5 after it
    let (_t, d) = dir_with(&bytes);
    assert!(d.recover(false).is_err());
}

#[test]
fn a_huge_last_entry_of_the_previous_segment_is_found() {
    let t = tempfile::tempdir().unwrap();
    let d = SegmentDir::new(t.path().join("audit"));
    d.create().unwrap();
    let mut scratch = Vec::new();
    let mut e = NewEntry::new(Actor::default(), Action::EmployeeImport, Outcome::Success);
    e.reason = Some("x".repeat(3 * 1024 * 1024));
    let sealed = e.seal(1, "2026-01-01T00:00:00.000000Z", GENESIS_HASH, &mut scratch);
    let mut line = serde_json::to_vec(&sealed).unwrap();
    line.push(b'\n');
    fs::write(d.segment_path(1), &line).unwrap();
    fs::write(d.segment_path(2), b"").unwrap();
    let (head, _, (first, _)) = d.recover(false).unwrap();
    assert_eq!((head.seq, first), (1, 2));
    assert_eq!(head.hash, sealed.hash);
}

#[test]
fn empty_log_is_genesis() {
    let (_t, d) = dir_with(b"");
    assert_eq!(d.recover(false).unwrap().0, Head::genesis());
}
