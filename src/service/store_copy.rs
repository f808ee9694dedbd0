//! `hrvault store copy --from-data-dir DIR --to URL`: moves a vault from sled to PostgreSQL.
//!
//! Bytes are copied unchanged, so no passphrase is needed and nothing is re-encrypted: every
//! tree's key/value pairs, the key slots under their own numbers (records name their slot), the
//! id lists of large exports (`audit/id-lists/<sha256>.ids` → `Meta` `id-list/<sha256>`), the
//! whole audit chain line for line (head row = the last entry, so `audit verify` prints the same
//! head on both), and last of all the key file (`vault.keys` → `Meta` `vault.keys`).
//!
//! Refused with nothing written: DIR not a vault, DIR in use (its `vault.lock` is taken for the
//! whole copy, so a running server blocks it), DIR's chain does not verify, or the target holds
//! anything at all. The copy goes in batches of `BATCH` rows, one transaction each; because the
//! key file is written last, a copy cut short is never an openable vault, but re-running it needs
//! an empty target again (drop and re-create the database, or `DROP TABLE hrvault_kv,
//! hrvault_keyslots, hrvault_audit, hrvault_chain_head, hrvault_schema`).

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use super::lifecycle::{KEY_FILE_META, VaultError, data_dir_layout, lock_file, store_named};
use crate::audit::{Head, SegmentDir, Verdict};
use crate::clock::SystemClock;
use crate::store::{
    Backend, FileSlots, KeySlots, PgBackend, SledBackend, Tree, describe_store_url,
};

/// Rows per INSERT (and per transaction).
const BATCH: usize = 1000;

/// What the copy is doing, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyStage {
    /// Checking the source's audit chain.
    Verifying,
    /// Key/value rows of the trees.
    Rows,
    /// Wrapped record keys.
    KeySlots,
    /// Audit entries.
    Audit,
}

/// Progress: `done` of `total` items in `stage`.
#[derive(Debug, Clone, Copy)]
pub struct CopyProgress {
    /// Which part.
    pub stage: CopyStage,
    /// Items done.
    pub done: u64,
    /// Items in this part.
    pub total: u64,
}

/// What was copied.
#[derive(Debug, Clone)]
pub struct CopyReport {
    /// Key/value rows (id lists included, the key file not).
    pub rows: u64,
    /// Key slots holding a key.
    pub key_slots: u64,
    /// Id lists.
    pub id_lists: u64,
    /// Audit entries.
    pub entries: u64,
    /// The chain's head (same on both sides).
    pub head: Head,
}

fn store_err(e: impl std::fmt::Display) -> VaultError {
    VaultError::Store(e.to_string())
}

fn io(e: impl std::fmt::Display) -> VaultError {
    VaultError::Io(e.to_string())
}

/// Copies the vault in `dir` into the empty PostgreSQL store at `url` (blocking: run it off the
/// async workers). `progress` is called as the copy goes.
pub fn copy_data_dir_to_store(
    dir: &Path,
    url: &str,
    progress: &mut dyn FnMut(CopyProgress),
) -> Result<CopyReport, VaultError> {
    let layout = data_dir_layout(dir);
    let shown = dir.display().to_string();
    let name = describe_store_url(url);
    let key_file = match fs::read(&layout.keys) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VaultError::NotAVault(shown));
        }
        Err(e) => return Err(io(e)),
    };
    // Held until the copy is done: no server may change the vault under it.
    let _lock = lock_file(&layout.lock, dir)?;

    // Verify first: a chain that does not verify is not copied.
    progress(CopyProgress {
        stage: CopyStage::Verifying,
        done: 0,
        total: 1,
    });
    let segments = SegmentDir::new(&layout.audit);
    let scan = segments
        .scan(None)
        .map_err(|e| VaultError::Audit(e.to_string()))?;
    let head = match scan.verdict {
        Verdict::Intact { head, .. } => Head {
            seq: head.seq,
            hash: head.hash,
        },
        Verdict::Broken {
            first_bad_seq,
            reason,
        } => {
            return Err(VaultError::Audit(format!(
                "the audit chain in {shown} does not verify (first bad entry seq {first_bad_seq}: \
                 {reason}); refusing to copy it"
            )));
        }
    };

    // The source, read only: no `complete_pending_shreds` (pending shreds travel as rows and are
    // finished by the first node that opens the store).
    let source = SledBackend::open(&layout.db).map_err(store_err)?;
    let slots = FileSlots::open(&layout.slots).map_err(io)?;

    let target = PgBackend::connect(url, 4).map_err(|e| store_named(&name, e))?;
    let contents = target.contents().map_err(store_err)?;
    if contents.key_file {
        return Err(VaultError::AlreadyExists(name));
    }
    if !contents.is_empty() {
        return Err(VaultError::NotEmpty(format!(
            "{name} ({} key/value rows, {} key slots, {} audit entries)",
            contents.kv_rows, contents.key_slots, contents.chain_entries
        )));
    }
    let mut report = CopyReport {
        rows: 0,
        key_slots: 0,
        id_lists: 0,
        entries: 0,
        head: head.clone(),
    };

    // 1. Every tree's rows, unchanged.
    let total_rows: u64 = Tree::ALL
        .iter()
        .map(|t| source.range(*t, &[], None).count() as u64)
        .sum();
    let mut batch = Vec::with_capacity(BATCH);
    for tree in Tree::ALL {
        for kv in source.range(tree, &[], None) {
            let (k, v) = kv.map_err(store_err)?;
            if tree == Tree::Meta && k == KEY_FILE_META.as_bytes() {
                continue; // written last, below
            }
            batch.push((k, v));
            if batch.len() == BATCH {
                target.bulk_load(tree, &batch).map_err(store_err)?;
                report.rows += batch.len() as u64;
                batch.clear();
                progress(CopyProgress {
                    stage: CopyStage::Rows,
                    done: report.rows,
                    total: total_rows,
                });
            }
        }
        target.bulk_load(tree, &batch).map_err(store_err)?;
        report.rows += batch.len() as u64;
        batch.clear();
    }
    progress(CopyProgress {
        stage: CopyStage::Rows,
        done: report.rows,
        total: total_rows,
    });

    // 2. Id lists of large exports and imports: files beside the segments → Meta values.
    if let Ok(entries) = fs::read_dir(layout.audit.join("id-lists")) {
        let mut lists = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io)?;
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            let Some(digest) = file_name.strip_suffix(".ids") else {
                continue; // `.tmp`: never named by an entry
            };
            let bytes = fs::read(entry.path()).map_err(io)?;
            lists.push((format!("id-list/{digest}").into_bytes(), bytes));
        }
        for chunk in lists.chunks(64) {
            target.bulk_load(Tree::Meta, chunk).map_err(store_err)?;
        }
        report.id_lists = lists.len() as u64;
        report.rows += lists.len() as u64;
    }

    // 3. Key slots, under their own numbers.
    let slot_count = slots.slot_count();
    let mut keys = Vec::with_capacity(BATCH);
    for slot in 0..slot_count {
        if let Some(wrapped) = slots.get(slot).map_err(io)? {
            keys.push((slot, wrapped));
        }
        if keys.len() == BATCH {
            target
                .key_slots()
                .put_at(&keys, slot_count)
                .map_err(store_err)?;
            report.key_slots += keys.len() as u64;
            keys.clear();
            progress(CopyProgress {
                stage: CopyStage::KeySlots,
                done: slot + 1,
                total: slot_count,
            });
        }
    }
    target
        .key_slots()
        .put_at(&keys, slot_count)
        .map_err(store_err)?;
    report.key_slots += keys.len() as u64;
    progress(CopyProgress {
        stage: CopyStage::KeySlots,
        done: slot_count,
        total: slot_count,
    });

    // 4. The audit chain, line for line, up to the verified head; the head row with the last.
    let chain = target.chain(Arc::new(SystemClock));
    let mut lines: Vec<(u64, String)> = Vec::with_capacity(BATCH);
    let mut last_ts = String::new();
    let mut line = Vec::with_capacity(1024);
    'segments: for (_, path) in segments.list().map_err(io)? {
        let mut r = BufReader::with_capacity(1 << 20, File::open(&path).map_err(io)?);
        loop {
            if report.entries == head.seq {
                break 'segments;
            }
            line.clear();
            let n = r.read_until(b'\n', &mut line).map_err(io)?;
            if n == 0 || line.last() != Some(&b'\n') {
                break; // a torn tail: never acknowledged, not part of the verified chain
            }
            line.pop();
            let text = String::from_utf8(std::mem::take(&mut line))
                .map_err(|_| VaultError::Audit("an audit line is not UTF-8".into()))?;
            let entry: LineHead = serde_json::from_str(&text)
                .map_err(|e| VaultError::Audit(format!("an audit line does not parse: {e}")))?;
            report.entries += 1;
            if entry.seq != report.entries {
                return Err(VaultError::Audit(format!(
                    "audit entry {} found where {} was expected",
                    entry.seq, report.entries
                )));
            }
            last_ts = entry.ts;
            lines.push((entry.seq, text));
            if lines.len() == BATCH {
                chain.load_lines(&lines, None).map_err(store_err)?;
                lines.clear();
                progress(CopyProgress {
                    stage: CopyStage::Audit,
                    done: report.entries,
                    total: head.seq,
                });
            }
        }
    }
    if report.entries != head.seq {
        return Err(VaultError::Audit(format!(
            "read {} audit entries, but the chain's head is entry {}",
            report.entries, head.seq
        )));
    }
    chain
        .load_lines(&lines, Some((&head, &last_ts)))
        .map_err(store_err)?;
    let committed = chain.head().map_err(store_err)?;
    if committed != head {
        return Err(VaultError::Audit(format!(
            "the copied chain's head is entry {} {}, not {} {}",
            committed.seq, committed.hash, head.seq, head.hash
        )));
    }
    progress(CopyProgress {
        stage: CopyStage::Audit,
        done: report.entries,
        total: head.seq,
    });

    // 5. The key file last: until it is there the store is not an openable vault.
    let mut b = crate::store::Batch::default();
    b.checks.push(crate::store::Check::Absent(
        Tree::Meta,
        KEY_FILE_META.as_bytes().to_vec(),
        "meta",
    ));
    b.ops.push(crate::store::Op::Put(
        Tree::Meta,
        KEY_FILE_META.as_bytes().to_vec(),
        key_file,
    ));
    target.apply(&b).map_err(|e| match e {
        crate::store::StoreError::Conflict(_) => VaultError::AlreadyExists(name.clone()),
        e => store_err(e),
    })?;
    Ok(report)
}

/// The fields of an audit line the copy needs.
#[derive(serde::Deserialize)]
struct LineHead {
    seq: u64,
    ts: String,
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::config::Settings;
    use crate::crypto::PasswordHasher;
    use crate::service::testing_support::{draft, user, vault_with};
    use crate::service::{RecordRef, RequestCtx, RevealRequest, Vault};

    async fn reveal_ssn(v: &Vault, who: &crate::service::Principal, id: &str) -> String {
        let body = v
            .reveal(
                who,
                &RequestCtx::default(),
                RecordRef::parse(id),
                Ok(RevealRequest {
                    fields: Some(vec!["ssn".into()]),
                    reason: Some("payroll correction ticket".into()),
                }),
            )
            .await
            .expect("reveal");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        v["ssn"].as_str().expect("ssn").to_owned()
    }

    /// Records (one shredded), an id list and the chain copied; on the store every record
    /// reveals with the same passphrase, the shredded one stays gone, a new record takes a
    /// fresh slot, the id list is served, and the heads agree.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_copied_vault_opens_on_the_store_with_everything() {
        let Some(pg) = crate::testing::pg::require("store_copy_service") else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("v");
        let (v, clock) = vault_with(&dir, "").await;
        let hr = user(&v, "hr", "hr", None).await;
        let ctx = RequestCtx::default();
        let mut kept = Vec::new();
        for (i, ssn) in ["123-45-6781", "123-45-6782", "123-45-6783"]
            .iter()
            .enumerate()
        {
            let r = v
                .create_employee(&hr, &ctx, Ok(draft(&format!("E-{i}"), ssn)), Ok(None))
                .await
                .expect("create");
            kept.push((r.id.to_string(), (*ssn).to_owned()));
        }
        let (gone, _) = kept.remove(1);
        v.delete_employee(&hr, &ctx, RecordRef::parse(&gone))
            .await
            .expect("delete");
        // An id list as a large export keeps it (content-addressed file beside the segments).
        let ids_dir = dir.join("audit").join("id-lists");
        fs::create_dir_all(&ids_dir).expect("mkdir");
        let list = format!("{}\n", kept[0].0);
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(list.as_bytes()));
        fs::write(ids_dir.join(format!("{digest}.ids")), &list).expect("id list");
        fs::write(ids_dir.join("half-written.tmp"), "x").expect("tmp");

        // In use: refused, nothing written.
        let url = pg.create_database("copied").expect("database");
        let busy = copy_data_dir_to_store(&dir, &url, &mut |_| {});
        assert!(matches!(busy, Err(VaultError::Locked(_))), "{busy:?}");
        drop(v);

        let (d, u) = (dir.clone(), url.clone());
        let report = tokio::task::spawn_blocking(move || {
            copy_data_dir_to_store(&d, &u, &mut |_| {}).expect("copy")
        })
        .await
        .expect("join");
        assert_eq!(report.id_lists, 1);
        assert!(report.key_slots >= 2, "{report:?}");
        // Again: the target is not empty any more.
        let (d, u) = (dir.clone(), url.clone());
        let again =
            tokio::task::spawn_blocking(move || copy_data_dir_to_store(&d, &u, &mut |_| {}))
                .await
                .expect("join");
        assert!(
            matches!(again, Err(VaultError::AlreadyExists(_))),
            "{again:?}"
        );

        let hasher = std::sync::Arc::new(PasswordHasher::danger_insecure_fast().expect("hasher"));
        let s = Vault::open_store(
            &url,
            &SecretString::from("test passphrase".to_owned()),
            Settings::default(),
            std::sync::Arc::new(clock.clone()),
            hasher,
        )
        .await
        .expect("open the copy");
        let chain = s.shared_chain().expect("a store").clone();
        let hr = s.principal_named("hr").expect("hr copied");
        for (id, ssn) in &kept {
            assert_eq!(&reveal_ssn(&s, &hr, id).await, ssn);
        }
        assert!(
            s.get_employee(&hr, &ctx, RecordRef::parse(&gone))
                .await
                .is_err(),
            "the shredded record stays gone"
        );
        let fresh = s
            .create_employee(&hr, &ctx, Ok(draft("E-new", "123-45-6789")), Ok(None))
            .await
            .expect("create on the store");
        assert_eq!(
            reveal_ssn(&s, &hr, &fresh.id.to_string()).await,
            "123-45-6789"
        );
        for (id, ssn) in &kept {
            assert_eq!(&reveal_ssn(&s, &hr, id).await, ssn, "not overwritten");
        }
        assert_eq!(
            s.inner
                .store
                .meta(&format!("id-list/{digest}"))
                .expect("meta")
                .as_deref(),
            Some(list.as_bytes())
        );
        let head = chain.head().expect("head");
        assert!(head.seq > report.head.seq, "the store's chain went on");
        let verdict = crate::audit::verify_lines(&chain, &head).expect("verify");
        assert!(verdict.is_intact(), "{verdict:?}");
    }
}

#[cfg(test)]
mod perf {
    use super::*;

    /// `cargo test --release --lib store_copy_perf -- --ignored --nocapture`: 100k rows + slots.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "timing only"]
    async fn store_copy_perf() {
        let Some(pg) = crate::testing::pg::require("store_copy_perf") else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("v");
        let (v, _) = crate::service::testing_support::vault_with(&dir, "").await;
        drop(v);
        let layout = data_dir_layout(&dir);
        {
            let b = SledBackend::open(&layout.db).expect("sled");
            let slots = FileSlots::open(&layout.slots).expect("slots");
            for chunk in 0..100u32 {
                let mut batch = crate::store::Batch::default();
                for i in 0..1000u32 {
                    let k = (chunk * 1000 + i).to_be_bytes().to_vec();
                    batch
                        .ops
                        .push(crate::store::Op::Put(Tree::Changes, k, vec![7u8; 900]));
                    slots.put(&[9u8; 60]).expect("slot");
                }
                b.apply(&batch).expect("apply");
            }
            b.sync().expect("sync");
            slots.sync().expect("sync");
        }
        let url = pg.create_database("perf").expect("db");
        let t = std::time::Instant::now();
        let r = tokio::task::spawn_blocking(move || {
            copy_data_dir_to_store(&dir, &url, &mut |_| {}).expect("copy")
        })
        .await
        .expect("join");
        eprintln!(
            "copied {} rows, {} slots in {:?}",
            r.rows,
            r.key_slots,
            t.elapsed()
        );
    }
}
