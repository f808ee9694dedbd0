//! Bulk onboarding from an HRIS CSV export (`hrvault import`).
//!
//! The header names record fields (nested ones dotted: `home_address.city`); an empty cell is
//! absent. Every row goes through the same validation as `POST /v1/employees`; rejected rows are
//! reported by line number (header = line 1) and employee number, never by value. Accepted rows
//! are listed in one `employee.import` audit entry, appended before any of them is stored.
//!
//! Memory: sealed records wait for that entry in an unnamed spool file in the data dir (sealed
//! fields stay sealed there; the kernel removes the file however the process ends), so only ids,
//! key slots and the in-file uniqueness sets stay in memory: about 150 bytes a row instead of
//! the whole record.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{ServiceError, Vault};
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::model::{AddressDraft, BankDraft, BlindIndex, EmployeeDraft, EmployeeId, NewEmployee};
use crate::store::StoredEmployee;

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line in the file (header = 1).
    pub line: u64,
    /// The row's employee number, if it had one.
    pub employee_number: Option<String>,
    /// What is wrong (field names and rules, no values).
    pub message: String,
}

/// Outcome of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Rows stored.
    pub imported: usize,
    /// Rows refused.
    pub rejected: Vec<RowError>,
    /// Ids of the stored records.
    pub ids: Vec<EmployeeId>,
}

/// A file-level problem (unreadable CSV, unknown column).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The header names something that is not a record field.
    #[error("unknown column `{0}` in the CSV header")]
    UnknownColumn(String),
    /// The same column twice.
    #[error("column `{0}` appears twice in the CSV header")]
    DuplicateColumn(String),
    /// Not CSV.
    #[error("cannot read the CSV file: {0}")]
    Csv(String),
    /// The temporary file holding sealed rows until they are audited failed.
    #[error("cannot use the import spool file in the data dir: {0}")]
    Spool(String),
    /// The vault refused.
    #[error("{0}")]
    Service(#[from] ServiceError),
}

const COLUMNS: [&str; 22] = [
    "employee_number",
    "first_name",
    "last_name",
    "preferred_name",
    "work_email",
    "department",
    "job_title",
    "manager_id",
    "location",
    "hire_date",
    "status",
    "termination_date",
    "ssn",
    "date_of_birth",
    "home_address.line1",
    "home_address.line2",
    "home_address.city",
    "home_address.state",
    "home_address.postal_code",
    "home_address.country",
    "bank_account.routing_number",
    "bank_account.account_number",
];

fn set(d: &mut EmployeeDraft, column: &str, value: String) {
    match column {
        "employee_number" => d.employee_number = Some(value),
        "first_name" => d.first_name = Some(value),
        "last_name" => d.last_name = Some(value),
        "preferred_name" => d.preferred_name = Some(value),
        "work_email" => d.work_email = Some(value),
        "department" => d.department = Some(value),
        "job_title" => d.job_title = Some(value),
        "manager_id" => d.manager_id = Some(value),
        "location" => d.location = Some(value),
        "hire_date" => d.hire_date = Some(value),
        "status" => d.status = Some(value),
        "termination_date" => d.termination_date = Some(value),
        "ssn" => d.ssn = Some(value),
        "date_of_birth" => d.date_of_birth = Some(value),
        c if c.starts_with("home_address.") => {
            let a = d.home_address.get_or_insert_with(AddressDraft::default);
            match c {
                "home_address.line1" => a.line1 = Some(value),
                "home_address.line2" => a.line2 = Some(value),
                "home_address.city" => a.city = Some(value),
                "home_address.state" => a.state = Some(value),
                "home_address.postal_code" => a.postal_code = Some(value),
                _ => a.country = Some(value),
            }
        }
        c => {
            let b = d.bank_account.get_or_insert_with(BankDraft::default);
            if c == "bank_account.routing_number" {
                b.routing_number = Some(value);
            } else {
                b.account_number = Some(value);
            }
        }
    }
}

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
            if !COLUMNS.contains(&h.as_str()) {
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
                        set(&mut draft, col, value.to_owned());
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

/// Sealed records waiting for the import's audit entry, in an unnamed temporary file.
///
/// Frame: line (u64 LE), length (u32 LE), `StoredEmployee::to_bytes`.
struct Spool {
    out: BufWriter<File>,
    /// Key slot of every spooled record, in order: released if the import is abandoned.
    slots: Vec<u64>,
    /// Id of every spooled record, in order: the audit entry lists them.
    ids: Vec<EmployeeId>,
    /// Records written (kept apart from `ids` and `slots`, which the caller takes).
    count: usize,
}

fn spool_err(e: impl std::fmt::Display) -> ImportError {
    ImportError::Spool(e.to_string())
}

impl Spool {
    fn new(dir: &Path) -> Result<Self, ImportError> {
        Ok(Spool {
            out: BufWriter::new(tempfile::tempfile_in(dir).map_err(spool_err)?),
            slots: Vec::new(),
            ids: Vec::new(),
            count: 0,
        })
    }

    fn push(&mut self, line: u64, rec: &StoredEmployee) -> Result<(), ImportError> {
        let bytes = rec.to_bytes();
        let len = u32::try_from(bytes.len()).map_err(|_| spool_err("record too large"))?;
        self.out.write_all(&line.to_le_bytes()).map_err(spool_err)?;
        self.out.write_all(&len.to_le_bytes()).map_err(spool_err)?;
        self.out.write_all(&bytes).map_err(spool_err)?;
        self.slots.push(rec.record_key.slot);
        self.ids.push(rec.id);
        self.count += 1;
        Ok(())
    }

    /// Reads the records back in the order they were pushed.
    fn drain(self) -> Result<SpoolReader, ImportError> {
        let mut file = self
            .out
            .into_inner()
            .map_err(|e| spool_err(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(spool_err)?;
        Ok(SpoolReader {
            input: BufReader::new(file),
            left: self.count,
        })
    }
}

struct SpoolReader {
    input: BufReader<File>,
    left: usize,
}

impl Iterator for SpoolReader {
    type Item = Result<(u64, StoredEmployee), ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut head = [0u8; 12];
        let read = (|| {
            self.input.read_exact(&mut head).map_err(spool_err)?;
            let line = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
            let len = u32::from_le_bytes(head[8..].try_into().unwrap_or_default()) as usize;
            let mut body = vec![0u8; len];
            self.input.read_exact(&mut body).map_err(spool_err)?;
            let rec = StoredEmployee::from_bytes(&body).map_err(spool_err)?;
            Ok((line, rec))
        })();
        if read.is_err() {
            self.left = 0;
        }
        Some(read)
    }
}

impl Vault {
    /// Imports every valid row; see the module docs.
    pub async fn import_csv(
        &self,
        input: impl Read,
        source: &str,
        progress: bool,
    ) -> Result<ImportReport, ImportError> {
        let rows = CsvDrafts::new(input)?;
        let bar = if progress {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        bar.set_draw_target(if progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} rows {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );

        let mut report = ImportReport::default();
        let mut spool = Spool::new(&self.inner.data_dir)?;
        let mut numbers = HashSet::new();
        let mut ssns: HashSet<BlindIndex> = HashSet::new();
        let store = &self.inner.store;
        let now = self.now();
        for row in rows {
            bar.inc(1);
            let line = row.line;
            let draft = match row.draft {
                Ok(d) => d,
                Err(message) => {
                    report.rejected.push(RowError {
                        line,
                        employee_number: None,
                        message,
                    });
                    continue;
                }
            };
            let number = draft
                .employee_number
                .clone()
                .filter(|n| crate::model::validate_employee_number(n.trim()).is_ok());
            let reject = |message: String| RowError {
                line,
                employee_number: number.clone(),
                message,
            };
            let new = match NewEmployee::parse(&draft) {
                Ok(n) => n,
                Err(errs) => {
                    let msg = errs
                        .0
                        .iter()
                        .map(|f| format!("{}: {}", f.field, f.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    report.rejected.push(reject(msg));
                    continue;
                }
            };
            let key_num = new.public.employee_number.to_ascii_lowercase();
            let index = self.inner.keys.index_key().ssn(&new.sensitive.ssn);
            if numbers.contains(&key_num)
                || store
                    .employee_id_by_number(&new.public.employee_number)
                    .map_err(ServiceError::from)?
                    .is_some()
            {
                report
                    .rejected
                    .push(reject("employee_number: is already in use".into()));
                continue;
            }
            if ssns.contains(&index)
                || store
                    .employee_id_by_ssn(&index)
                    .map_err(ServiceError::from)?
                    .is_some()
            {
                report
                    .rejected
                    .push(reject("ssn: a record with this ssn already exists".into()));
                continue;
            }
            let id = EmployeeId::random();
            let (key, key_ref) = self.new_record_key(&id)?;
            let rec = match self.seal_record(
                id,
                &key,
                key_ref,
                new.public,
                &new.sensitive,
                (1, now, now, false),
            ) {
                Ok(r) => r,
                Err(e) => {
                    let _ = store.release_record_key(key_ref.slot);
                    return Err(e.into());
                }
            };
            numbers.insert(key_num);
            ssns.insert(index);
            let pushed = spool.push(line, &rec);
            drop(rec);
            if let Err(err) = pushed {
                let _ = store.release_record_key(key_ref.slot);
                for slot in &spool.slots {
                    let _ = store.release_record_key(*slot);
                }
                return Err(err);
            }
        }
        bar.finish_and_clear();
        drop(numbers);
        drop(ssns);

        let accepted = spool.count;
        let total = accepted + report.rejected.len();
        let outcome = if accepted == 0 && total > 0 {
            Outcome::Error
        } else {
            Outcome::Success
        };
        let ids = std::mem::take(&mut spool.ids);
        let mut e = NewEntry::new(Actor::default(), Action::EmployeeImport, outcome);
        let summary = format!(
            "import of {}: {} of {total} rows accepted, {} rejected",
            crate::service::redact_numbers(source),
            accepted,
            report.rejected.len()
        );
        if ids.len() > super::INLINE_IDS {
            let digest = self.keep_id_list(&ids)?;
            e.reason = Some(format!(
                "{summary}; ids in audit/id-lists/{digest}.ids (sha256 {digest})"
            ));
        } else {
            e.employee_ids = Some(ids.clone());
            e.reason = Some(summary);
        }
        // Audited, and every new key slot durable, before any record points at one.
        let release_all = |slots: &[u64]| {
            for slot in slots {
                let _ = store.release_record_key(*slot);
            }
        };
        if let Err(err) = self.record_and_sync(e).await {
            release_all(&spool.slots);
            return Err(err.into());
        }
        let slots = std::mem::take(&mut spool.slots);
        let mut failed = Vec::new();
        let mut read_back = 0usize;
        let mut spool_error = None;
        match spool.drain() {
            Err(err) => spool_error = Some(err),
            Ok(reader) => {
                for item in reader {
                    let (line, rec) = match item {
                        Ok(r) => r,
                        Err(err) => {
                            spool_error = Some(err);
                            break;
                        }
                    };
                    read_back += 1;
                    match store.insert_employee(&rec) {
                        Ok(()) => {
                            report.imported += 1;
                            report.ids.push(rec.id);
                        }
                        Err(err) => {
                            tracing::error!(error = %err, employee_id = %rec.id, "import insert failed");
                            let _ = store.release_record_key(rec.record_key.slot);
                            failed.push(rec.id);
                            report.rejected.push(RowError {
                                line,
                                employee_number: Some(rec.public.employee_number.clone()),
                                message: "could not be stored".into(),
                            });
                        }
                    }
                }
            }
        }
        if spool_error.is_some() {
            // Records never read back were never stored.
            release_all(&slots[read_back..]);
            failed.extend_from_slice(&ids[read_back..]);
        }
        if !failed.is_empty() {
            // The first entry listed these as imported: say that they were not.
            let mut e = NewEntry::new(Actor::default(), Action::EmployeeImport, Outcome::Error);
            e.reason = Some(format!(
                "{} accepted rows could not be stored",
                failed.len()
            ));
            e.employee_ids = Some(failed);
            self.record(e).await?;
        }
        self.durable().await?;
        if let Some(err) = spool_error {
            return Err(err);
        }
        report.rejected.sort_by_key(|r| r.line);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::sample_employee;

    #[test]
    fn spool_gives_back_every_record_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path()).unwrap();
        let recs: Vec<_> = (0..100u8)
            .map(|i| sample_employee(&format!("E{i}"), i, "2026-01-01T00:00:00Z"))
            .collect();
        for (i, r) in recs.iter().enumerate() {
            spool.push(i as u64 + 2, r).unwrap();
        }
        assert_eq!(spool.ids, recs.iter().map(|r| r.id).collect::<Vec<_>>());
        // The caller takes the ids for the audit entry before reading the records back.
        drop(std::mem::take(&mut spool.ids));
        let back: Vec<_> = spool.drain().unwrap().map(Result::unwrap).collect();
        assert_eq!(back.len(), recs.len());
        for (i, (line, rec)) in back.into_iter().enumerate() {
            assert_eq!((line, &rec), (i as u64 + 2, &recs[i]));
        }
        // The spool is unnamed: nothing is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_damaged_spool_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path()).unwrap();
        spool
            .push(2, &sample_employee("E1", 1, "2026-01-01T00:00:00Z"))
            .unwrap();
        // Claim a second record that was never written.
        spool.count += 1;
        let mut reader = spool.drain().unwrap();
        assert!(reader.next().unwrap().is_ok());
        assert!(matches!(reader.next(), Some(Err(ImportError::Spool(_)))));
        assert!(reader.next().is_none());
    }
}
