//! Id lists too long for an audit entry (exports and imports of more than `INLINE_IDS` records).
//!
//! The entry carries the list's SHA-256 instead, so the list is still covered by the hash chain;
//! the list itself is kept durably as `audit/id-lists/<sha256>.ids` (one id per line) and served
//! at `GET /v1/audit/id-lists/{sha256}`, checked against its name before it is returned.
//!
//! In a PostgreSQL store (cluster mode) a kept list is the `Meta` value `id-list/<sha256>`
//! instead, committed before the entry that names it, so every node serves it; it is still
//! written through a local temporary file (memory stays bounded while it is built).

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::{Principal, RequestCtx, ServiceError, Vault};
use crate::model::EmployeeId;

/// Audit entries name at most this many records inline; longer lists are kept by digest.
pub const INLINE_IDS: usize = 10_000;

fn io_err(e: impl std::fmt::Display) -> ServiceError {
    tracing::error!(error = %e, "id list I/O failed");
    ServiceError::Internal
}

/// An id list being written, one id at a time (memory stays bounded), and hashed as it goes.
pub(crate) struct IdListWriter {
    tmp: PathBuf,
    out: BufWriter<File>,
    digest: Sha256,
    /// Kept in this store (cluster mode) instead of renamed beside the segments.
    store: Option<crate::store::Store>,
}

/// The `Meta` key of a kept list in a store.
fn meta_key(digest: &str) -> String {
    format!("id-list/{digest}")
}

/// A digest as the entries write it: 64 lower-case hex digits.
fn is_digest(digest: &str) -> bool {
    digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl IdListWriter {
    /// Appends one id.
    pub(crate) fn push(&mut self, id: &EmployeeId) -> Result<(), ServiceError> {
        let line = format!("{id}\n");
        self.digest.update(line.as_bytes());
        self.out.write_all(line.as_bytes()).map_err(io_err)
    }

    /// Makes the list durable under its digest; returns the digest (lower-case hex).
    pub(crate) fn keep(self) -> Result<String, ServiceError> {
        let digest = hex::encode(self.digest.finalize());
        let file = self.out.into_inner().map_err(|e| io_err(e.error()))?;
        if let Some(store) = self.store {
            drop(file);
            let bytes = fs::read(&self.tmp);
            let _ = fs::remove_file(&self.tmp);
            let bytes = bytes.map_err(io_err)?;
            // Content-addressed: a list already kept under this digest is this list.
            return match store.replace_meta(&meta_key(&digest), None, &bytes) {
                Ok(()) | Err(crate::store::StoreError::Conflict(_)) => Ok(digest),
                Err(e) => Err(e.into()),
            };
        }
        file.sync_all().map_err(io_err)?;
        let kept = self.tmp.with_file_name(format!("{digest}.ids"));
        fs::rename(&self.tmp, &kept).map_err(io_err)?;
        let dir = kept
            .parent()
            .ok_or_else(|| io_err("id list has no directory"))?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(io_err)?;
        Ok(digest)
    }

    /// Drops the list (it fitted in the entry after all).
    pub(crate) fn discard(self) {
        drop(self.out);
        let _ = fs::remove_file(&self.tmp);
    }
}

impl Vault {
    /// Where kept lists live (payroll's export plans are written beside them, so a kept list
    /// is a rename away); in cluster mode the node's private temporary directory, where lists
    /// are only built (they are kept in the store).
    pub(crate) fn id_lists_dir(&self) -> PathBuf {
        match self.data_dir() {
            Some(dir) => dir.join("audit").join("id-lists"),
            None => self.local_dir().to_path_buf(),
        }
    }

    /// A kept list's bytes, as stored (not yet checked against its digest); `NotFound` if absent.
    fn kept_bytes(&self, digest: &str) -> Result<Vec<u8>, ServiceError> {
        if self.data_dir().is_none() {
            return self
                .inner
                .store
                .meta(&meta_key(digest))?
                .ok_or(ServiceError::NotFound);
        }
        fs::read(self.id_lists_dir().join(format!("{digest}.ids")))
            .map_err(|_| ServiceError::NotFound)
    }

    /// A new, empty id list in a temporary file of the id-lists directory.
    pub(crate) fn id_list_writer(&self) -> Result<IdListWriter, ServiceError> {
        let dir = self.id_lists_dir();
        fs::create_dir_all(&dir).map_err(io_err)?;
        let tmp = dir.join(format!("list-{}.tmp", uuid::Uuid::new_v4()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err)?;
        Ok(IdListWriter {
            tmp,
            out: BufWriter::new(file),
            digest: Sha256::new(),
            store: self.data_dir().is_none().then(|| self.inner.store.clone()),
        })
    }

    /// Durably keeps `ids` as a list; returns its digest, for the audit entry to carry.
    pub(crate) fn keep_id_list(&self, ids: &[EmployeeId]) -> Result<String, ServiceError> {
        let mut list = self.id_list_writer()?;
        for id in ids {
            if let Err(e) = list.push(id) {
                list.discard();
                return Err(e);
            }
        }
        list.keep()
    }

    /// The ids of a kept list, checked against its digest: for the monitor, which must count
    /// every record of a large export as read (CONTRACT §2: "however large the export").
    pub(crate) fn kept_ids(&self, digest: &str) -> Result<Vec<EmployeeId>, ServiceError> {
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ServiceError::NotFound);
        }
        let bytes = self.kept_bytes(digest)?;
        if hex::encode(Sha256::digest(&bytes)) != digest {
            tracing::error!(%digest, "a kept id list does not match its digest");
            return Err(ServiceError::Internal);
        }
        Ok(bytes
            .split(|&b| b == b'\n')
            .filter_map(|l| std::str::from_utf8(l).ok()?.parse().ok())
            .collect())
    }

    /// A kept id list (`GET /v1/audit/id-lists/{sha256}`), checked against its digest first.
    pub async fn id_list(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        digest: &str,
    ) -> Result<Vec<u8>, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ReadAudit>(who, ctx, None, None)
            .await?;
        if !is_digest(digest) {
            return Err(ServiceError::NotFound);
        }
        let v = self.clone();
        let d = digest.to_owned();
        let bytes = tokio::task::spawn_blocking(move || v.kept_bytes(&d))
            .await
            .map_err(|_| ServiceError::Internal)??;
        if hex::encode(Sha256::digest(&bytes)) != digest {
            tracing::error!(%digest, "a kept id list does not match its digest");
            return Err(ServiceError::Internal);
        }
        Ok(bytes)
    }
}
