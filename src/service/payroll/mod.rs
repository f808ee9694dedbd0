//! `GET /v1/payroll/export`: NDJSON for payroll systems, streamed with bounded memory.
//!
//! Two passes over the change index (ordered by last change, then id: a stable order):
//! 1. **Plan**: which records go out (live, non-honeytoken; with `updated_since`, deletions too).
//!    The ids are written to a plan file, not kept in memory.
//! 2. **Audit**: one `employee.export` entry naming them — inline in `employee_ids` for up to
//!    `INLINE_IDS` records, otherwise a count plus the SHA-256 of the id list, kept by
//!    `super::id_lists` (served at `GET /v1/audit/id-lists/{sha256}`).
//! 3. **Stream**: only after the entry is durable, each record is decrypted and sent as one line,
//!    64 KiB at a time through a bounded channel, so a slow client slows the producer instead of
//!    growing memory.
//!
//! A record deleted since `updated_since` is a line `{"id","deleted":true,"deleted_at"}`; a
//! record that changes or disappears between the passes is sent as it is when streamed.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use jiff::Timestamp;
use tokio::sync::mpsc;
use zeroize::Zeroizing;

use super::access::{Export, Grant};
use super::id_lists::{INLINE_IDS, IdListWriter};
use super::records::plaintext::payroll_line;
use super::{Principal, RequestCtx, ServiceError, Vault};
use crate::audit::{Action, Outcome, Recorded};
use crate::clock::rfc3339;
use crate::model::EmployeeId;
use crate::store::EmployeeEntry;

mod line;

pub use line::{DeletedLine, PayrollFields, PayrollLine, PayrollRecord, write_payroll_line};

const CHUNK: usize = 64 * 1024;

/// A body chunk of the export, or the error that ends it.
pub type ExportChunk = Result<Bytes, std::io::Error>;

struct Plan {
    /// Every line to send (`<id>`, or `-<id>` for a deletion): read back while streaming.
    path: PathBuf,
    records: usize,
    deletions: usize,
    /// The ids of the records sent with their data, up to `INLINE_IDS`...
    inline: Vec<EmployeeId>,
    /// ...or, past that, the digest of the kept id list that holds them all.
    kept: Option<String>,
}

fn io_err(e: impl std::fmt::Display) -> ServiceError {
    tracing::error!(error = %e, "payroll export I/O failed");
    ServiceError::Internal
}

impl Vault {
    /// Pass 1: writes the plan (one id per line, `-` prefix for deletions) and hashes the ids.
    fn plan_export(&self, since: Option<Timestamp>) -> Result<Plan, ServiceError> {
        let mut ids = self.id_list_writer()?;
        let path = self
            .id_lists_dir()
            .join(format!("plan-{}.tmp", uuid::Uuid::new_v4()));
        let mut out = match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => BufWriter::new(f),
            Err(e) => {
                ids.discard();
                return Err(io_err(e));
            }
        };
        let mut plan = Plan {
            path,
            records: 0,
            deletions: 0,
            inline: Vec::new(),
            kept: None,
        };
        let filled = self.fill_plan(since, &mut plan, &mut out, &mut ids);
        let kept = match filled {
            Ok(()) if plan.records > INLINE_IDS => ids.keep().map(Some),
            Ok(()) => {
                ids.discard();
                Ok(None)
            }
            Err(e) => {
                ids.discard();
                Err(e)
            }
        };
        match kept {
            Ok(kept) => Ok(Plan { kept, ..plan }),
            Err(e) => {
                let _ = fs::remove_file(&plan.path);
                Err(e)
            }
        }
    }

    /// Writes the plan's lines and the id list.
    fn fill_plan(
        &self,
        since: Option<Timestamp>,
        plan: &mut Plan,
        out: &mut BufWriter<File>,
        ids: &mut IdListWriter,
    ) -> Result<(), ServiceError> {
        for change in self.inner.store.changes_since(since) {
            let (_, id) = change?;
            let Some(entry) = self.inner.store.employee(&id)? else {
                continue;
            };
            let line = match &entry.value {
                EmployeeEntry::Live(r) if !r.honeytoken => {
                    plan.records += 1;
                    if plan.inline.len() <= INLINE_IDS {
                        plan.inline.push(id);
                    }
                    ids.push(&id)?;
                    format!("{id}\n")
                }
                EmployeeEntry::Deleted(t) if !t.honeytoken && since.is_some() => {
                    plan.deletions += 1;
                    format!("-{id}\n")
                }
                _ => continue,
            };
            out.write_all(line.as_bytes()).map_err(io_err)?;
        }
        out.flush().map_err(io_err)?;
        out.get_ref().sync_all().map_err(io_err)
    }

    /// Pass 3: streams the planned lines into `tx`; removes the plan file unless it is the
    /// audited id list.
    fn stream_export(
        &self,
        grant: Grant<Export>,
        recorded: Recorded,
        plan_path: &Path,
        tx: &mpsc::Sender<ExportChunk>,
    ) -> Result<(), ServiceError> {
        let reader = BufReader::new(File::open(plan_path).map_err(io_err)?);
        let mut chunk = Zeroizing::new(Vec::with_capacity(CHUNK + 4096));
        for line in reader.lines() {
            let line = line.map_err(io_err)?;
            let (deleted, id) = match line.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, line.as_str()),
            };
            let id: EmployeeId = id.parse().map_err(|_| io_err("plan file damaged"))?;
            match self.inner.store.employee(&id)?.map(|l| l.value) {
                Some(EmployeeEntry::Live(rec)) if !deleted => {
                    payroll_line(self, &grant, &recorded, &rec, &mut chunk)?
                }
                Some(EmployeeEntry::Deleted(t)) => {
                    serde_json::to_writer(
                        &mut *chunk,
                        &DeletedLine {
                            id: t.id.to_string(),
                            deleted: true,
                            deleted_at: rfc3339(t.deleted_at),
                        },
                    )
                    .map_err(|_| ServiceError::Internal)?;
                    chunk.push(b'\n');
                }
                _ => continue,
            }
            if chunk.len() >= CHUNK {
                // The buffer itself goes out (no copy) and is wiped when hyper drops it.
                let full =
                    std::mem::replace(&mut chunk, Zeroizing::new(Vec::with_capacity(CHUNK + 4096)));
                if tx.blocking_send(Ok(Bytes::from_owner(full))).is_err() {
                    return Ok(()); // the client went away
                }
            }
        }
        if !chunk.is_empty() {
            let _ = tx.blocking_send(Ok(Bytes::from_owner(chunk)));
        }
        Ok(())
    }

    /// `GET /v1/payroll/export[?updated_since=RFC3339]`: plans, audits, then returns the stream.
    /// Refused (403) while the caller is restricted; never holds a honeytoken.
    pub async fn payroll_export(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        updated_since: Result<Option<String>, ServiceError>,
    ) -> Result<mpsc::Receiver<ExportChunk>, ServiceError> {
        let action = Action::EmployeeExport;
        let grant = self.authorize::<Export>(who, ctx, None, None).await?;
        let since = match updated_since?.as_deref() {
            None => None,
            Some(s) => match crate::clock::parse_instant(s) {
                Some(t) => Some(t),
                None => {
                    let err = ServiceError::invalid(
                        "updated_since",
                        "must be an RFC 3339 timestamp, e.g. 2026-01-15T09:00:00Z",
                    );
                    return Err(self.fail(who, ctx, action, None, err).await);
                }
            },
        };
        let v = self.clone();
        let plan = tokio::task::spawn_blocking(move || v.plan_export(since))
            .await
            .map_err(|_| ServiceError::Internal)??;
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        let scope = since.map_or("full export".to_owned(), |s| {
            format!("changes since {}", rfc3339(s))
        });
        let Plan {
            path,
            records,
            deletions,
            inline,
            kept,
        } = plan;
        if let Some(digest) = kept {
            e.reason = Some(format!(
                "payroll {scope}: {records} records, {deletions} deletions; ids in \
                 audit/id-lists/{digest}.ids (sha256 {digest})"
            ));
        } else {
            e.employee_ids = Some(inline);
            e.reason = Some(format!(
                "payroll {scope}: {records} records, {deletions} deletions"
            ));
        }
        let recorded = match self.record(e).await {
            Ok(r) => r,
            Err(err) => {
                let _ = fs::remove_file(&path);
                return Err(err);
            }
        };
        let (tx, rx) = mpsc::channel(4);
        let v = self.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = v.stream_export(grant, recorded, &path, &tx) {
                tracing::error!(error = %e, "payroll export stream failed part way");
                let _ = tx.blocking_send(Err(std::io::Error::other(
                    "export failed; see the server log",
                )));
            }
            let _ = fs::remove_file(&path);
        });
        Ok(rx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use secrecy::SecretString;
    use sha2::{Digest, Sha256};

    use super::INLINE_IDS;
    use crate::clock::SystemClock;
    use crate::config::Settings;
    use crate::crypto::{KdfParams, PasswordHasher};
    use crate::service::{InitOptions, NewUser, RequestCtx, Vault};

    /// An export or import past `INLINE_IDS` records keeps its id list as a file named by its
    /// SHA-256, which the audit entry names; the file holds exactly the ids sent with data.
    #[tokio::test(flavor = "multi_thread")]
    async fn large_id_lists_are_kept_by_digest() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("v");
        let hasher = Arc::new(PasswordHasher::danger_insecure_fast().unwrap());
        let pass = SecretString::from("test passphrase".to_owned());
        let opts = InitOptions {
            passphrase: SecretString::from("test passphrase".to_owned()),
            admin_password: Some(SecretString::from("admin-password".to_owned())),
            kdf: KdfParams::danger_insecure_fast().unwrap(),
            hasher: hasher.clone(),
        };
        Vault::init(&data, opts, Arc::new(SystemClock))
            .await
            .unwrap();
        let v = Vault::open(
            &data,
            &pass,
            Settings::default(),
            Arc::new(SystemClock),
            hasher,
        )
        .await
        .unwrap();

        let n = INLINE_IDS + 1;
        let mut csv =
            String::from("employee_number,first_name,last_name,hire_date,ssn,date_of_birth\n");
        for i in 0..n {
            csv.push_str(&format!(
                "E{i},A,B,2026-01-15,{:03}-{:02}-{:04},1990-04-01\n",
                100 + i / 9000,
                1 + (i / 100) % 90,
                1 + i % 9999
            ));
        }
        let report = v
            .import_csv(csv.as_bytes(), "big.csv", false)
            .await
            .unwrap();
        assert_eq!((report.imported, report.rejected.len()), (n, 0));

        let ctx = RequestCtx::default();
        let admin = v.principal_named("admin").unwrap();
        let svc = NewUser {
            username: Some("pay".into()),
            password: None,
            role: Some("payroll".into()),
            employee_id: None,
            kind: Some("service".into()),
        };
        v.create_user(&admin, &ctx, Ok(svc)).await.unwrap();
        let pay = v.principal_named("pay").unwrap();
        let mut rx = v.payroll_export(&pay, &ctx, Ok(None)).await.unwrap();
        let mut lines = 0;
        while let Some(chunk) = rx.recv().await {
            lines += chunk.unwrap().iter().filter(|&&b| b == b'\n').count();
        }
        assert_eq!(lines, n);

        let entries = v
            .inner
            .reader
            .read_range(0, v.inner.audit.head().seq, usize::MAX)
            .unwrap();
        for action in ["employee.import", "employee.export"] {
            let e = entries.iter().rev().find(|e| e.action == action).unwrap();
            assert!(e.employee_ids.is_none(), "{action}: too many ids to inline");
            let reason = e.reason.as_deref().unwrap();
            let digest = reason
                .rsplit("sha256 ")
                .next()
                .unwrap()
                .trim_end_matches(')');
            let list = std::fs::read(
                data.join("audit")
                    .join("id-lists")
                    .join(format!("{digest}.ids")),
            )
            .unwrap();
            assert_eq!(
                hex::encode(Sha256::digest(&list)),
                digest,
                "{action}: the file is the one audited"
            );
            assert_eq!(
                list.iter().filter(|&&b| b == b'\n').count(),
                n,
                "{action}: one id per record"
            );
            assert!(
                !list.starts_with(b"-"),
                "{action}: only records sent with data"
            );
        }
        let leftovers: Vec<_> = std::fs::read_dir(data.join("audit").join("id-lists"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "plan files are removed: {leftovers:?}"
        );
    }
}
