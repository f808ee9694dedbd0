//! Chain verification, usable on a live data dir, a stopped one, or an exported JSONL file.
//!
//! Checks, in order, for every line: it is a complete entry (nothing else rides along: unknown
//! fields are refused); its `seq` is the next one (a gap is a deleted entry, a step back a
//! reordering); its hash matches its own contents (an edit); its `prev_hash` is the previous
//! entry's hash (a broken link: one of the two was altered and re-hashed). The first failure is
//! reported with its sequence number. Splitting segments into lines and classifying blank,
//! CRLF and torn lines is `scan`'s job, shared with start-up recovery.

use std::io::{self, BufRead};
use std::path::Path;

use serde::Serialize;

use super::entry::EntryRef;
use super::scan::{Unterminated, feed};
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

/// What a line says about itself, whatever its neighbours: the expensive part of verification
/// (parse, re-serialise, hash), so it runs on every core; the chain rules are applied after, in
/// order, by `ChainVerifier::apply`.
pub(crate) enum LineCheck {
    /// An empty line: the writer never writes one.
    Blank,
    /// A line ending in `\r` (a CRLF line ending): never the writer's form.
    CarriageReturn,
    /// Not an entry at all; names an unknown key if that is why.
    NotAnEntry { unknown_key: Option<String> },
    /// A complete entry.
    Entry {
        seq: u64,
        prev_hash: String,
        hash: String,
        /// The line is exactly the writer's serialisation of the entry.
        form_ok: bool,
        /// `hash` matches the entry's own contents and `prev_hash`.
        hash_ok: bool,
    },
}

impl LineCheck {
    fn seq(&self) -> Option<u64> {
        match self {
            LineCheck::Entry { seq, .. } => Some(*seq),
            LineCheck::NotAnEntry { .. } | LineCheck::Blank | LineCheck::CarriageReturn => None,
        }
    }
}

/// Checks one line on its own.
pub(crate) fn check_line(line: &[u8], scratch: &mut Vec<u8>, form: &mut Vec<u8>) -> LineCheck {
    let e = match serde_json::from_slice::<EntryRef<'_>>(line) {
        Ok(e) => e,
        Err(err) => {
            let msg = err.to_string();
            let unknown_key = msg.strip_prefix("unknown field `").map(|rest| {
                rest.split('`')
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(64)
                    .collect()
            });
            return LineCheck::NotAnEntry { unknown_key };
        }
    };
    form.clear();
    serde_json::to_writer(&mut *form, &e).expect("serializing strings into a Vec cannot fail");
    let form_ok = form.as_slice() == line;
    let hash_ok = e.computed_hash(scratch) == e.hash;
    LineCheck::Entry {
        seq: e.seq,
        prev_hash: e.prev_hash.into_owned(),
        hash: e.hash.into_owned(),
        form_ok,
        hash_ok,
    }
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// Expects entry 1 after 64 zeros.
    pub fn new() -> Self {
        Self::from_head(Head::genesis())
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

    /// Applies the chain rules to the next line's own check, in the documented order: complete
    /// entry, sequence, writer form, own hash, link. `Err` carries the first bad sequence number
    /// (the position where the chain breaks) and the reason.
    pub(crate) fn apply(&mut self, c: LineCheck) -> Result<(), (u64, String)> {
        let expected = self.head.seq + 1;
        if self.pending.take().is_some() {
            // The previous line skipped ahead; this one tells us why.
            let reason = if c.seq() == Some(expected) {
                format!("entries out of order: entry {expected} appears after a later entry")
            } else {
                format!("entry {expected} is missing")
            };
            return Err((expected, reason));
        }
        let (seq, prev_hash, hash, form_ok, hash_ok) = match c {
            LineCheck::Blank => {
                return Err((
                    expected,
                    format!(
                        "a blank line where entry {expected} should be: the writer never writes one"
                    ),
                ));
            }
            LineCheck::CarriageReturn => {
                return Err((
                    expected,
                    format!(
                        "entry {expected} ends with a carriage return (CRLF line ending): not the writer's form"
                    ),
                ));
            }
            LineCheck::NotAnEntry {
                unknown_key: Some(key),
            } => {
                return Err((
                    expected,
                    format!(
                        "entry {expected} has an unknown field `{key}`: nothing may ride along outside the hash"
                    ),
                ));
            }
            LineCheck::NotAnEntry { unknown_key: None } => {
                return Err((
                    expected,
                    format!(
                        "entry {expected} is malformed or truncated (not a complete audit entry)"
                    ),
                ));
            }
            LineCheck::Entry {
                seq,
                prev_hash,
                hash,
                form_ok,
                hash_ok,
            } => (seq, prev_hash, hash, form_ok, hash_ok),
        };
        if seq > expected {
            self.pending = Some((expected, format!("found entry {seq}")));
            return Ok(());
        }
        if seq < expected {
            // Name the position where the chain breaks, not the (already verified) seq claimed.
            return Err((
                expected,
                format!(
                    "entry {expected} expected, but entry {seq} appears again after entry {} (duplicated or reordered)",
                    self.head.seq
                ),
            ));
        }
        // Exactly the writer's bytes: a line that verifies must also be one every reader finds,
        // and nothing (spacing, key order, escapes) may differ from what was hashed and written.
        if !form_ok {
            return Err((
                seq,
                format!(
                    "entry {seq} is not in the writer's exact form (key order, spacing or escaping was changed)"
                ),
            ));
        }
        if !hash_ok {
            return Err((
                seq,
                format!("entry {seq} was altered: its hash does not match its contents"),
            ));
        }
        if prev_hash != self.head.hash {
            let reason = if seq == 1 {
                "entry 1 does not start the chain: prev_hash is not 64 zeros".to_owned()
            } else {
                format!(
                    "entry {seq} does not link to entry {}: prev_hash differs (one of them was altered and re-hashed)",
                    seq - 1
                )
            };
            return Err((seq, reason));
        }
        self.head = Head { seq, hash };
        Ok(())
    }

    /// Checks the next line; `Err` carries the first bad sequence number and the reason.
    pub fn push_line(&mut self, line: &[u8]) -> Result<(), (u64, String)> {
        let c = check_line(line, &mut self.scratch, &mut self.form);
        self.apply(c)
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

    /// Whether the last line skipped ahead, so the next one decides the reason.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

/// Verifies a JSONL stream (an export, or one segment). Stops after entry `upto` if given.
pub fn verify_reader(r: impl BufRead, upto: Option<u64>) -> io::Result<Verdict> {
    let mut v = ChainVerifier::new();
    if let Some(bad) = feed(&mut v, r, upto, Unterminated::Check)?.broken {
        return Ok(bad);
    }
    Ok(v.finish())
}

/// Verifies every segment of `DATA_DIR/audit` in order (with the server stopped, or bounded by
/// `upto`, the committed head, while it runs).
pub fn verify_data_dir(audit_dir: &Path, upto: Option<u64>) -> io::Result<Verdict> {
    Ok(SegmentDir::new(audit_dir).scan(upto)?.verdict)
}

/// Verifies a shared chain (cluster mode) from entry 1 up to `head`, the committed head read
/// from the same database: every line up to it must be there, in order, and the last must be
/// `head` itself (same seq and hash), so a chain cut short or a head row that disagrees with the
/// lines is reported, not taken as intact.
pub fn verify_lines(lines: &dyn super::ChainLines, head: &Head) -> io::Result<Verdict> {
    const PAGE: usize = 1000;
    let mut v = ChainVerifier::new();
    let mut after = 0u64;
    while after < head.seq {
        let page = lines.lines(after, head.seq, PAGE, false)?;
        let Some(&(last, _)) = page.last() else {
            break;
        };
        for (_, line) in &page {
            if let Err((first_bad_seq, reason)) = v.push_line(line.as_bytes()) {
                return Ok(Verdict::Broken {
                    first_bad_seq,
                    reason,
                });
            }
        }
        after = last;
    }
    let reached = v.head().clone();
    if !v.is_pending() && reached.seq < head.seq {
        let missing = reached.seq + 1;
        return Ok(Verdict::Broken {
            first_bad_seq: missing,
            reason: format!("entry {missing} is missing"),
        });
    }
    let verdict = v.finish();
    if let Verdict::Intact { head: h, .. } = &verdict
        && (h.seq != head.seq || h.hash != head.hash)
    {
        return Ok(Verdict::Broken {
            first_bad_seq: head.seq,
            reason: format!(
                "the chain's head record names entry {} with a hash the lines do not end in",
                head.seq
            ),
        });
    }
    Ok(verdict)
}
