//! The CSV parser of `hrvault import`: rows of an HRIS export into drafts, with file line numbers.
//!
//! Untrusted input: it never panics, and a malformed row is an error for that row only
//! (`fuzz/fuzz_targets/csv_import.rs`).

use std::collections::{HashSet, VecDeque};
use std::io::Read;
use std::sync::Arc;

use parking_lot::Mutex;

use super::ImportError;
use crate::model::EmployeeDraft;

/// One data row of the CSV: its line (header = 1) and either a draft or why the row is not
/// well-formed CSV.
pub struct CsvRow {
    /// Line number where the row starts.
    pub line: u64,
    /// The row as a draft (validation comes later).
    pub draft: Result<EmployeeDraft, String>,
}

/// Reads CSV rows into drafts, lazily: the untrusted-input parser of `hrvault import` (fuzzed).
pub struct CsvDrafts<R: Read> {
    reader: csv::Reader<LineCounting<R>>,
    lines: Arc<Mutex<LineStarts>>,
    header: Vec<String>,
    record: csv::StringRecord,
    done: bool,
}

/// Byte offsets where lines start, as the input is read (LF, CRLF and bare CR all end a line):
/// the `csv` crate's own line counter lags with CRLF, bare CR and blank lines, its byte offsets
/// do not, so a record's file line is computed from its offset here.
#[derive(Default)]
struct LineStarts {
    /// Offsets just after each line break (CRLF counts once, at its CR).
    starts: VecDeque<u64>,
    /// Offsets of every CR and LF byte.
    breaks: VecDeque<u64>,
    passed: u64,
    offset: u64,
    after_cr: bool,
}

impl LineStarts {
    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' || b == b'\r' {
                self.breaks.push_back(self.offset);
                if !(b == b'\n' && self.after_cr) {
                    self.starts.push_back(self.offset + 1);
                }
            }
            self.after_cr = b == b'\r';
            self.offset += 1;
        }
    }

    /// The 1-based line of the record the csv crate reports at byte `at`: it may report the
    /// position of a preceding line break (the LF of a CRLF, a skipped blank line), so the
    /// record's first real byte is found first. Queries come in increasing order.
    fn line_of(&mut self, mut at: u64) -> u64 {
        while self.breaks.front().is_some_and(|&b| b < at) {
            self.breaks.pop_front();
        }
        while self.breaks.front() == Some(&at) {
            self.breaks.pop_front();
            at += 1;
        }
        while self.starts.front().is_some_and(|&s| s <= at) {
            self.starts.pop_front();
            self.passed += 1;
        }
        1 + self.passed
    }
}

struct LineCounting<R> {
    inner: R,
    lines: Arc<Mutex<LineStarts>>,
}

impl<R: Read> Read for LineCounting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.lines.lock().scan(&buf[..n]);
        Ok(n)
    }
}

impl<R: Read> CsvDrafts<R> {
    /// Reads and checks the header: every column must be a record field, at most once.
    pub fn new(input: R) -> Result<Self, ImportError> {
        let lines = Arc::new(Mutex::new(LineStarts::default()));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(LineCounting {
                inner: input,
                lines: lines.clone(),
            });
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| ImportError::Csv(e.to_string()))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        let mut seen_cols = HashSet::new();
        for h in &header {
            if !EmployeeDraft::COLUMNS.contains(&h.as_str()) {
                return Err(ImportError::UnknownColumn(h.chars().take(64).collect()));
            }
            if !seen_cols.insert(h.clone()) {
                return Err(ImportError::DuplicateColumn(h.clone()));
            }
        }
        Ok(Self {
            reader,
            lines,
            header,
            record: csv::StringRecord::new(),
            done: false,
        })
    }
}

impl<R: Read> Iterator for CsvDrafts<R> {
    type Item = CsvRow;

    fn next(&mut self) -> Option<CsvRow> {
        if self.done {
            return None;
        }
        let line = self.reader.position().line();
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => {
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    // The input itself failed: nothing more can be read.
                    self.done = true;
                }
                let line = e
                    .position()
                    .map_or(line, |p| self.lines.lock().line_of(p.byte()));
                Some(CsvRow {
                    line,
                    draft: Err("not a well-formed CSV row".into()),
                })
            }
            Ok(true) => {
                let line = self
                    .record
                    .position()
                    .map_or(line, |p| self.lines.lock().line_of(p.byte()));
                let mut draft = EmployeeDraft::default();
                for (col, value) in self.header.iter().zip(self.record.iter()) {
                    if !value.trim().is_empty() {
                        draft.set_column(col, value.to_owned());
                    }
                }
                Some(CsvRow {
                    line,
                    draft: Ok(draft),
                })
            }
        }
    }
}
