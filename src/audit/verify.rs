//! Chain verification, usable on a live data dir, a stopped one, or an exported JSONL file.
//!
//! Checks, in order, for every line: it is a complete entry (nothing else rides along: unknown
//! fields are refused); its `seq` is the next one (a gap is a deleted entry, a step back a
//! reordering); its hash matches its own contents (an edit); its `prev_hash` is the previous
//! entry's hash (a broken link: one of the two was altered and re-hashed). The first failure is
//! reported with its sequence number.

use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde::Serialize;

use super::entry::EntryRef;
use super::segment::{Head, SegmentDir};

/// Outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Verdict {
    /// Every entry checked out.
    Intact {
        /// Number of entries.
        entries: u64,
        /// Last entry.
        head: HeadView,
    },
    /// The first damaged position.
    Broken {
        /// Sequence number of the first bad entry.
        first_bad_seq: u64,
        /// What is wrong.
        reason: String,
    },
}

/// `{"seq","hash"}` of the last entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HeadView {
    /// Last sequence number (0 if empty).
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

impl Verdict {
    /// Whether the chain is intact.
    pub fn is_intact(&self) -> bool {
        matches!(self, Verdict::Intact { .. })
    }
}

/// Incremental verifier: feed it lines in order.
pub struct ChainVerifier {
    head: Head,
    scratch: Vec<u8>,
    form: Vec<u8>,
    pending: Option<(u64, String)>,
}

enum Step {
    Ok,
    Bad(u64, String),
    /// Seq jumped ahead: decide between "missing" and "reordered" on the next line.
    Ahead {
        expected: u64,
        found: u64,
    },
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// Expects entry 1 after 64 zeros.
    pub fn new() -> Self {
        Self {
            head: Head::genesis(),
            scratch: Vec::with_capacity(1024),
            form: Vec::with_capacity(1024),
            pending: None,
        }
    }

    /// Continues a chain from a known head (e.g. a live log bounded by its committed head).
    pub fn from_head(head: Head) -> Self {
        Self {
            head,
            scratch: Vec::with_capacity(1024),
            form: Vec::with_capacity(1024),
            pending: None,
        }
    }

    fn step(&mut self, line: &[u8]) -> Step {
        let expected = self.head.seq + 1;
        let e = match serde_json::from_slice::<EntryRef<'_>>(line) {
            Ok(e) => e,
            Err(err) => return Step::Bad(expected, malformed(expected, &err)),
        };
        if e.seq > expected {
            return Step::Ahead {
                expected,
                found: e.seq,
            };
        }
        if e.seq < expected {
            // Name the position where the chain breaks, not the (already verified) seq claimed.
            return Step::Bad(
                expected,
                format!(
                    "entry {expected} expected, but entry {} appears again after entry {} (duplicated or reordered)",
                    e.seq, self.head.seq
                ),
            );
        }
        // Exactly the writer's bytes: a line that verifies must also be one every reader finds,
        // and nothing (spacing, key order, escapes) may differ from what was hashed and written.
        self.form.clear();
        serde_json::to_writer(&mut self.form, &e)
            .expect("serializing strings into a Vec cannot fail");
        if self.form != line {
            return Step::Bad(
                e.seq,
                format!(
                    "entry {} is not in the writer's exact form (key order, spacing or escaping was changed)",
                    e.seq
                ),
            );
        }
        if e.computed_hash(&mut self.scratch) != e.hash {
            return Step::Bad(
                e.seq,
                format!(
                    "entry {} was altered: its hash does not match its contents",
                    e.seq
                ),
            );
        }
        if e.prev_hash != self.head.hash {
            let reason = if e.seq == 1 {
                "entry 1 does not start the chain: prev_hash is not 64 zeros".to_owned()
            } else {
                format!(
                    "entry {} does not link to entry {}: prev_hash differs (one of them was altered and re-hashed)",
                    e.seq,
                    e.seq - 1
                )
            };
            return Step::Bad(e.seq, reason);
        }
        self.head = Head {
            seq: e.seq,
            hash: e.hash.into_owned(),
        };
        Step::Ok
    }

    /// Checks the next line; `Err` carries the first bad sequence number and the reason.
    pub fn push_line(&mut self, line: &[u8]) -> Result<(), (u64, String)> {
        if let Some((expected, _)) = self.pending.take() {
            // The previous line skipped ahead; this one tells us why.
            let seq = serde_json::from_slice::<EntryRef<'_>>(line)
                .map(|e| e.seq)
                .ok();
            let reason = if seq == Some(expected) {
                format!("entries out of order: entry {expected} appears after a later entry")
            } else {
                format!("entry {expected} is missing")
            };
            return Err((expected, reason));
        }
        match self.step(line) {
            Step::Ok => Ok(()),
            Step::Bad(seq, reason) => Err((seq, reason)),
            Step::Ahead { expected, found } => {
                self.pending = Some((expected, format!("found entry {found}")));
                Ok(())
            }
        }
    }

    /// Ends the input.
    pub fn finish(self) -> Verdict {
        if let Some((expected, _)) = self.pending {
            return Verdict::Broken {
                first_bad_seq: expected,
                reason: format!("entry {expected} is missing"),
            };
        }
        Verdict::Intact {
            entries: self.head.seq,
            head: HeadView {
                seq: self.head.seq,
                hash: self.head.hash,
            },
        }
    }

    /// The last verified entry.
    pub fn head(&self) -> &Head {
        &self.head
    }
}

/// Why a line is not an entry: an unknown key is named (nothing may ride along outside the
/// hash); anything else is malformed or truncated.
fn malformed(seq: u64, err: &serde_json::Error) -> String {
    let msg = err.to_string();
    match msg.strip_prefix("unknown field `") {
        Some(rest) => {
            let key: String = rest
                .split('`')
                .next()
                .unwrap_or("")
                .chars()
                .take(64)
                .collect();
            format!(
                "entry {seq} has an unknown field `{key}`: nothing may ride along outside the hash"
            )
        }
        None => format!("entry {seq} is malformed or truncated (not a complete audit entry)"),
    }
}

/// Verifies a JSONL stream (an export, or one segment). Stops after entry `upto` if given.
pub fn verify_reader(r: impl BufRead, upto: Option<u64>) -> io::Result<Verdict> {
    let mut v = ChainVerifier::new();
    if let Some(bad) = feed(&mut v, r, upto)? {
        return Ok(bad);
    }
    Ok(v.finish())
}

fn feed(
    v: &mut ChainVerifier,
    mut r: impl BufRead,
    upto: Option<u64>,
) -> io::Result<Option<Verdict>> {
    let mut line = Vec::with_capacity(1024);
    loop {
        if upto.is_some_and(|u| v.head.seq >= u && v.pending.is_none()) {
            return Ok(None);
        }
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        if body.is_empty() {
            continue;
        }
        if let Err((first_bad_seq, reason)) = v.push_line(body) {
            return Ok(Some(Verdict::Broken {
                first_bad_seq,
                reason,
            }));
        }
    }
}

/// Verifies every segment of `DATA_DIR/audit` in order (with the server stopped, or bounded by
/// `upto`, the committed head, while it runs).
pub fn verify_data_dir(audit_dir: &Path, upto: Option<u64>) -> io::Result<Verdict> {
    let segments = SegmentDir::new(audit_dir).list()?;
    let mut v = ChainVerifier::new();
    for (first_seq, path) in segments {
        if upto.is_some_and(|u| first_seq > u) {
            break;
        }
        if v.pending.is_none() && first_seq != v.head.seq + 1 {
            let expected = v.head.seq + 1;
            return Ok(Verdict::Broken {
                first_bad_seq: expected,
                reason: format!(
                    "segment {} starts at entry {first_seq}, expected {expected}",
                    path.display()
                ),
            });
        }
        if let Some(bad) = feed(
            &mut v,
            BufReader::with_capacity(1 << 20, std::fs::File::open(&path)?),
            upto,
        )? {
            return Ok(bad);
        }
    }
    Ok(v.finish())
}
