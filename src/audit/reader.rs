//! Reading the log: filtered pages for `GET /v1/audit`, bounded by the committed head so that a
//! batch being written is never shown before it is durable.

use std::fs::File;
use std::io::{self, BufRead, BufReader};

use super::entry::{AuditEntry, EntryRef};
use super::segment::SegmentDir;

/// Filters of `GET /v1/audit` (all optional; combined with AND).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Username (case-insensitive) or user id.
    pub actor: Option<String>,
    /// The entry's record, or one of its records.
    pub employee_id: Option<String>,
    /// Exact action name.
    pub action: Option<String>,
    /// `ts >= since` (RFC 3339, same fixed format as entries).
    pub since: Option<String>,
    /// `ts <= until`.
    pub until: Option<String>,
    /// Only entries with `seq > after_seq`.
    pub after_seq: u64,
    /// Page size.
    pub limit: usize,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct QueryPage {
    /// Matching entries, ascending.
    pub entries: Vec<AuditEntry>,
    /// Pass as `after_seq` for the next page; `None` when the head was reached.
    pub next_after_seq: Option<u64>,
}

/// Entries scanned per request at most, so one query cannot pin a core on a huge log; the page
/// then ends early with a `next_after_seq` to continue from.
const SCAN_BUDGET: u64 = 250_000;

/// Reads segment files.
#[derive(Debug, Clone)]
pub struct AuditReader {
    dir: SegmentDir,
}

/// Reads the `seq` of a line written by the writer (`{"seq":N,...`) without a full parse.
fn quick_seq(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"{\"seq\":")?;
    let end = rest.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

impl AuditQuery {
    fn matches(&self, e: &EntryRef<'_>) -> bool {
        if let Some(a) = &self.action
            && e.action != a.as_str()
        {
            return false;
        }
        if let Some(id) = &self.employee_id
            && !e.concerns(id)
        {
            return false;
        }
        if let Some(actor) = &self.actor {
            let by_name = e
                .actor
                .username
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(actor));
            if !by_name && e.actor.user_id.as_deref() != Some(actor.as_str()) {
                return false;
            }
        }
        if self.since.as_deref().is_some_and(|s| e.ts.as_ref() < s) {
            return false;
        }
        if self.until.as_deref().is_some_and(|u| e.ts.as_ref() > u) {
            return false;
        }
        true
    }
}

impl AuditReader {
    /// Reads `DATA_DIR/audit`.
    pub fn new(dir: SegmentDir) -> Self {
        Self { dir }
    }

    /// Visits entries with `after < seq <= upto` in order until `f` returns false.
    pub fn scan(
        &self,
        after: u64,
        upto: u64,
        mut f: impl FnMut(EntryRef<'_>) -> bool,
    ) -> io::Result<()> {
        if after >= upto {
            return Ok(());
        }
        let segments = self.dir.list()?;
        let start = segments
            .iter()
            .rposition(|(first, _)| *first <= after + 1)
            .unwrap_or(0);
        let mut line = Vec::with_capacity(1024);
        for (_, path) in &segments[start..] {
            let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
            loop {
                line.clear();
                if r.read_until(b'\n', &mut line)? == 0 || line.last() != Some(&b'\n') {
                    break;
                }
                let Some(seq) = quick_seq(&line) else {
                    continue;
                };
                if seq <= after {
                    continue;
                }
                if seq > upto {
                    return Ok(());
                }
                let Ok(e) = serde_json::from_slice::<EntryRef<'_>>(&line[..line.len() - 1]) else {
                    continue;
                };
                if !f(e) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// One page of `GET /v1/audit`, among entries up to `head_seq` (the committed head).
    pub fn query(&self, q: &AuditQuery, head_seq: u64) -> io::Result<QueryPage> {
        let mut entries = Vec::new();
        let mut last_seen = q.after_seq;
        let mut scanned = 0u64;
        let mut full = false;
        self.scan(q.after_seq, head_seq, |e| {
            scanned += 1;
            last_seen = e.seq;
            if q.matches(&e) {
                entries.push(e.into_owned());
                if entries.len() >= q.limit {
                    full = true;
                    return false;
                }
            }
            scanned < SCAN_BUDGET
        })?;
        let next_after_seq = if last_seen < head_seq && (full || scanned >= SCAN_BUDGET) {
            Some(last_seen)
        } else {
            None
        };
        Ok(QueryPage {
            entries,
            next_after_seq,
        })
    }

    /// Every entry with `seq` in `after+1..=upto`, owned (for the monitor's catch-up).
    pub fn read_range(&self, after: u64, upto: u64, max: usize) -> io::Result<Vec<AuditEntry>> {
        let mut out = Vec::new();
        self.scan(after, upto, |e| {
            out.push(e.into_owned());
            out.len() < max
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_seq_reads_only_the_writer_prefix() {
        assert_eq!(quick_seq(br#"{"seq":42,"ts":"x"}"#), Some(42));
        assert_eq!(quick_seq(br#"{"ts":"x","seq":42}"#), None);
        assert_eq!(quick_seq(b""), None);
    }
}
