//! Employee records: sealed fields, uniqueness indexes and the change log for delta sync.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Batch, Check, Loaded, Op, Store, StoreError, Tree, codec};
use crate::model::{BlindIndex, EmployeeId, PublicFields, RecordKeyRef, Sealed, WrappedRecordKey};

/// A live record as stored: public fields in clear, each sensitive field sealed on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEmployee {
    pub id: EmployeeId,
    pub public: PublicFields,
    /// Starts at 1, +1 on every update; the ETag.
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// A decoy created by security; never exported to payroll.
    pub honeytoken: bool,
    /// Where the wrapped record key is (its only copy lives in the key-slot file).
    pub record_key: RecordKeyRef,
    pub ssn: Sealed,
    /// Blind index of the SSN (kept to remove the index entry on change or delete).
    pub ssn_index: BlindIndex,
    pub date_of_birth: Sealed,
    pub home_address: Option<Sealed>,
    pub bank_account: Option<Sealed>,
}

impl StoredEmployee {
    /// The stored form (format byte + postcard): sealed fields stay sealed. For holding records
    /// outside the store before they are inserted (the import spool).
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Reverses `to_bytes`; bytes read back are untrusted, so this returns a typed error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, super::CodecError> {
        codec::decode(bytes)
    }
}

/// What remains of a crypto-shredded record: no key, no fields, only the fact and time of
/// deletion (payroll delta sync must learn about it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tombstone {
    pub id: EmployeeId,
    pub deleted_at: Timestamp,
    pub honeytoken: bool,
}

/// A row of the employees tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EmployeeEntry {
    /// A readable record.
    Live(Box<StoredEmployee>),
    /// A shredded one.
    Deleted(Tombstone),
}

impl EmployeeEntry {
    /// The live record, if not deleted.
    pub fn live(&self) -> Option<&StoredEmployee> {
        match self {
            EmployeeEntry::Live(e) => Some(e),
            EmployeeEntry::Deleted(_) => None,
        }
    }

    fn change_key(&self) -> Vec<u8> {
        match self {
            EmployeeEntry::Live(e) => change_key(e.updated_at, &e.id),
            EmployeeEntry::Deleted(t) => change_key(t.deleted_at, &t.id),
        }
    }
}

fn number_key(number: &str) -> Vec<u8> {
    number.to_ascii_lowercase().into_bytes()
}

fn change_key(at: Timestamp, id: &EmployeeId) -> Vec<u8> {
    let mut k = Vec::with_capacity(24);
    // Offset so that pre-1970 instants still sort correctly as unsigned big-endian.
    k.extend_from_slice(&(at.as_microsecond() as u64 ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

fn parse_change_key(k: &[u8]) -> Result<(Timestamp, EmployeeId), StoreError> {
    let bad = || StoreError::Codec(codec::CodecError::Malformed);
    let micros: [u8; 8] = k.get(..8).ok_or_else(bad)?.try_into().map_err(|_| bad())?;
    let micros = (u64::from_be_bytes(micros) ^ (1 << 63)) as i64;
    let ts = Timestamp::from_microsecond(micros).map_err(|_| bad())?;
    let id = EmployeeId::from_slice(k.get(8..).ok_or_else(bad)?).map_err(|_| bad())?;
    Ok((ts, id))
}

impl Store {
    /// The record or tombstone with this id.
    pub fn employee(&self, id: &EmployeeId) -> Result<Option<Loaded<EmployeeEntry>>, StoreError> {
        self.load(Tree::Employees, id.as_bytes())
    }

    /// Which record holds this SSN (via its blind index).
    pub fn employee_id_by_ssn(&self, index: &BlindIndex) -> Result<Option<EmployeeId>, StoreError> {
        self.id_at(Tree::SsnIndex, &index.0)
    }

    /// Which record holds this employee number (case-insensitive).
    pub fn employee_id_by_number(&self, number: &str) -> Result<Option<EmployeeId>, StoreError> {
        self.id_at(Tree::EmployeeNumbers, &number_key(number))
    }

    fn id_at(&self, tree: Tree, key: &[u8]) -> Result<Option<EmployeeId>, StoreError> {
        match self.backend.get(tree, key)? {
            None => Ok(None),
            Some(v) => Ok(Some(
                EmployeeId::from_slice(&v).map_err(|_| codec::CodecError::Malformed)?,
            )),
        }
    }

    /// Inserts a new record; `Conflict("employee_number" | "ssn")` if either is taken.
    pub fn insert_employee(&self, e: &StoredEmployee) -> Result<(), StoreError> {
        self.insert_employee_idempotent(e, None)
    }

    /// Inserts a new record and, atomically with it, reserves an idempotency key (replacing an
    /// expired reservation if given): `Conflict("idempotency")` if another request took the key.
    pub fn insert_employee_idempotent(
        &self,
        e: &StoredEmployee,
        idempotency: Option<(
            &super::StoredIdempotency,
            Option<&Loaded<super::StoredIdempotency>>,
        )>,
    ) -> Result<(), StoreError> {
        self.backend
            .apply(&Self::insert_employee_batch(e, idempotency))
    }

    /// The batch [`Store::insert_employee_idempotent`] applies, for a caller that commits it
    /// with its audit entry (`Store::apply_change` or a chain in the store).
    pub fn insert_employee_batch(
        e: &StoredEmployee,
        idempotency: Option<(
            &super::StoredIdempotency,
            Option<&Loaded<super::StoredIdempotency>>,
        )>,
    ) -> Batch {
        let id = e.id.as_bytes().to_vec();
        let mut batch = Batch {
            checks: vec![
                Check::Absent(Tree::Employees, id.clone(), "id"),
                Check::Absent(
                    Tree::EmployeeNumbers,
                    number_key(&e.public.employee_number),
                    "employee_number",
                ),
                Check::Absent(Tree::SsnIndex, e.ssn_index.0.to_vec(), "ssn"),
            ],
            ops: vec![
                Op::Put(
                    Tree::Employees,
                    id.clone(),
                    codec::encode(&EmployeeEntry::Live(Box::new(e.clone()))),
                ),
                Op::Put(
                    Tree::EmployeeNumbers,
                    number_key(&e.public.employee_number),
                    id.clone(),
                ),
                Op::Put(Tree::SsnIndex, e.ssn_index.0.to_vec(), id),
                Op::Put(Tree::Changes, change_key(e.updated_at, &e.id), vec![]),
            ],
        };
        if let Some((reservation, replacing)) = idempotency {
            reservation.reserve(replacing, &mut batch);
        }
        batch
    }

    /// Replaces `prev` with `next` if nobody changed it since it was read
    /// (`Conflict("version")` otherwise), moving the uniqueness indexes as needed.
    pub fn replace_employee(
        &self,
        prev: &Loaded<EmployeeEntry>,
        next: &StoredEmployee,
    ) -> Result<(), StoreError> {
        let old = prev.value.live().ok_or(StoreError::Conflict("version"))?;
        let id = next.id.as_bytes().to_vec();
        let mut b = Batch {
            checks: vec![Check::Equals(
                Tree::Employees,
                id.clone(),
                prev.raw.clone(),
                "version",
            )],
            ops: vec![
                Op::Delete(Tree::Changes, prev.value.change_key()),
                Op::Put(Tree::Changes, change_key(next.updated_at, &next.id), vec![]),
                Op::Put(
                    Tree::Employees,
                    id.clone(),
                    codec::encode(&EmployeeEntry::Live(Box::new(next.clone()))),
                ),
            ],
        };
        let (old_num, new_num) = (
            number_key(&old.public.employee_number),
            number_key(&next.public.employee_number),
        );
        if old_num != new_num {
            b.checks.push(Check::Absent(
                Tree::EmployeeNumbers,
                new_num.clone(),
                "employee_number",
            ));
            b.ops.push(Op::Delete(Tree::EmployeeNumbers, old_num));
            b.ops
                .push(Op::Put(Tree::EmployeeNumbers, new_num, id.clone()));
        }
        if old.ssn_index != next.ssn_index {
            b.checks.push(Check::Absent(
                Tree::SsnIndex,
                next.ssn_index.0.to_vec(),
                "ssn",
            ));
            b.ops
                .push(Op::Delete(Tree::SsnIndex, old.ssn_index.0.to_vec()));
            b.ops
                .push(Op::Put(Tree::SsnIndex, next.ssn_index.0.to_vec(), id));
        }
        self.backend.apply(&b)
    }

    /// Crypto-shreds a record: a tombstone replaces it, its index entries go (the SSN and
    /// employee number become reusable), and its key slot is marked for zeroing in the same
    /// batch. The caller makes that durable, then calls `complete_pending_shreds`, which
    /// overwrites the slot: only then is the record key gone for good.
    pub fn shred_employee(
        &self,
        prev: &Loaded<EmployeeEntry>,
        deleted_at: Timestamp,
    ) -> Result<Tombstone, StoreError> {
        let (batch, tomb) = Self::shred_employee_batch(prev, deleted_at)?;
        self.backend.apply(&batch)?;
        Ok(tomb)
    }

    /// The batch [`Store::shred_employee`] applies, and the tombstone it writes.
    pub fn shred_employee_batch(
        prev: &Loaded<EmployeeEntry>,
        deleted_at: Timestamp,
    ) -> Result<(Batch, Tombstone), StoreError> {
        let old = prev.value.live().ok_or(StoreError::Conflict("version"))?;
        let tomb = Tombstone {
            id: old.id,
            deleted_at,
            honeytoken: old.honeytoken,
        };
        let id = old.id.as_bytes().to_vec();
        let batch = Batch {
            checks: vec![Check::Equals(
                Tree::Employees,
                id.clone(),
                prev.raw.clone(),
                "version",
            )],
            ops: vec![
                Op::Put(
                    Tree::Employees,
                    id,
                    codec::encode(&EmployeeEntry::Deleted(tomb.clone())),
                ),
                Op::Delete(
                    Tree::EmployeeNumbers,
                    number_key(&old.public.employee_number),
                ),
                Op::Delete(Tree::SsnIndex, old.ssn_index.0.to_vec()),
                Op::Delete(Tree::Changes, prev.value.change_key()),
                Op::Put(Tree::Changes, change_key(deleted_at, &old.id), vec![]),
                Op::Put(
                    Tree::ShredPending,
                    old.record_key.slot.to_be_bytes().to_vec(),
                    vec![],
                ),
            ],
        };
        Ok((batch, tomb))
    }

    /// Stores a wrapped record key in a fresh slot (durable with the next `sync`).
    pub fn put_record_key(&self, sealed: &Sealed) -> Result<u64, StoreError> {
        self.slots
            .put(&sealed.0)
            .map_err(|e| StoreError::Engine(format!("key slots: {e}")))
    }

    /// Frees a slot whose record was never stored.
    pub fn release_record_key(&self, slot: u64) -> Result<(), StoreError> {
        self.slots
            .shred(slot)
            .map_err(|e| StoreError::Engine(format!("key slots: {e}")))
    }

    /// The wrapped key of a live record.
    pub fn record_key(&self, rec: &StoredEmployee) -> Result<WrappedRecordKey, StoreError> {
        let r = rec.record_key;
        match self
            .slots
            .get(r.slot)
            .map_err(|e| StoreError::Engine(format!("key slots: {e}")))?
        {
            Some(bytes) => Ok(WrappedRecordKey {
                master_version: r.master_version,
                key_version: r.key_version,
                sealed: Sealed(bytes),
            }),
            None => Err(StoreError::Codec(codec::CodecError::Malformed)),
        }
    }

    /// Zeroes every slot marked by a durable shred (after a delete or a rotation, and at start
    /// for any a crash interrupted), syncs the slot file, then drops the marks.
    pub fn complete_pending_shreds(&self) -> Result<usize, StoreError> {
        let pending: Vec<Vec<u8>> = self
            .backend
            .range(Tree::ShredPending, &[], None)
            .map(|r| r.map(|(k, _)| k))
            .collect::<Result<_, _>>()?;
        if pending.is_empty() {
            return Ok(0);
        }
        for k in &pending {
            let slot = k
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| codec::CodecError::Malformed)?;
            self.release_record_key(slot)?;
        }
        self.slots
            .sync()
            .map_err(|e| StoreError::Engine(format!("key slots: {e}")))?;
        let n = pending.len();
        self.backend.apply(&Batch {
            checks: vec![],
            ops: pending
                .into_iter()
                .map(|k| Op::Delete(Tree::ShredPending, k))
                .collect(),
        })?;
        Ok(n)
    }

    /// Records and tombstones in id order, strictly after `after`.
    pub fn employees_after(
        &self,
        after: Option<&EmployeeId>,
    ) -> impl Iterator<Item = Result<EmployeeEntry, StoreError>> + '_ {
        let start = match after {
            None => vec![],
            Some(id) => {
                let mut k = id.as_bytes().to_vec();
                k.push(0);
                k
            }
        };
        self.backend
            .range(Tree::Employees, &start, None)
            .map(|r| r.and_then(|(_, v)| Ok(codec::decode(&v)?)))
    }

    /// `(last change, id)` of every record changed at or after `since`, oldest first: the order of
    /// payroll export and delta sync.
    pub fn changes_since(
        &self,
        since: Option<Timestamp>,
    ) -> impl Iterator<Item = Result<(Timestamp, EmployeeId), StoreError>> + '_ {
        let start = since
            .map(|t| change_key(t, &EmployeeId::from_bytes([0; 16]))[..8].to_vec())
            .unwrap_or_default();
        self.backend
            .range(Tree::Changes, &start, None)
            .map(|r| r.and_then(|(k, _)| parse_change_key(&k)))
    }

    /// Key rotation: for every live record, `f` may return a re-wrapped key. In chunks, the new
    /// keys go to new slots, the slot file is synced (so no record can ever point at a slot that
    /// is not on disk), then each record is switched to its new slot (compare-and-set) with its
    /// old slot marked for shredding. Returns how many were re-wrapped; the caller syncs, then
    /// completes the shreds.
    pub fn rewrap_record_keys(
        &self,
        mut f: impl FnMut(&StoredEmployee, WrappedRecordKey) -> Option<WrappedRecordKey>,
    ) -> Result<usize, StoreError> {
        const CHUNK: usize = 1024;
        let ids: Vec<EmployeeId> = self
            .employees_after(None)
            .filter_map(|r| match r {
                Ok(EmployeeEntry::Live(e)) => Some(Ok(e.id)),
                Ok(EmployeeEntry::Deleted(_)) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()?;
        let mut changed = 0;
        for chunk in ids.chunks(CHUNK) {
            let mut staged = Vec::with_capacity(chunk.len());
            for id in chunk {
                let Some(prev) = self.employee(id)? else {
                    continue;
                };
                let Some(live) = prev.value.live() else {
                    continue;
                };
                let Some(new_key) = f(live, self.record_key(live)?) else {
                    continue;
                };
                let slot = self.put_record_key(&new_key.sealed)?;
                staged.push((prev, new_key, slot));
            }
            self.slots
                .sync()
                .map_err(|e| StoreError::Engine(format!("key slots: {e}")))?;
            for (prev, new_key, slot) in staged {
                let live = prev.value.live().expect("staged only live records");
                let mut next = live.clone();
                next.record_key = RecordKeyRef {
                    slot,
                    master_version: new_key.master_version,
                    key_version: new_key.key_version,
                };
                let id = next.id.as_bytes().to_vec();
                let applied = self.backend.apply(&Batch {
                    checks: vec![Check::Equals(
                        Tree::Employees,
                        id.clone(),
                        prev.raw.clone(),
                        "version",
                    )],
                    ops: vec![
                        Op::Put(
                            Tree::Employees,
                            id,
                            codec::encode(&EmployeeEntry::Live(Box::new(next))),
                        ),
                        Op::Put(
                            Tree::ShredPending,
                            live.record_key.slot.to_be_bytes().to_vec(),
                            vec![],
                        ),
                    ],
                });
                match applied {
                    Ok(()) => changed += 1,
                    Err(e) => {
                        // Nothing refers to the new slot: free it (a re-run finishes the record).
                        self.release_record_key(slot)?;
                        return Err(e);
                    }
                }
            }
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    use crate::store::testing::sample_employee as record;

    #[test]
    fn uniqueness_update_shred_and_reuse() {
        let (store, _dir) = temp_store();
        let a = record("E1", 1, "2026-01-01T00:00:00Z");
        store.insert_employee(&a).unwrap();
        assert!(matches!(
            store.insert_employee(&record("e1", 2, "2026-01-01T00:00:00Z")),
            Err(StoreError::Conflict("employee_number"))
        ));
        assert!(matches!(
            store.insert_employee(&record("E2", 1, "2026-01-01T00:00:00Z")),
            Err(StoreError::Conflict("ssn"))
        ));
        assert_eq!(
            store.employee_id_by_ssn(&BlindIndex([1; 32])).unwrap(),
            Some(a.id)
        );

        let loaded = store.employee(&a.id).unwrap().unwrap();
        let mut b = a.clone();
        b.version = 2;
        b.ssn_index = BlindIndex([7; 32]);
        b.updated_at = "2026-02-01T00:00:00Z".parse().unwrap();
        store.replace_employee(&loaded, &b).unwrap();
        // The stale read can no longer write.
        assert!(matches!(
            store.replace_employee(&loaded, &b),
            Err(StoreError::Conflict("version"))
        ));
        assert_eq!(
            store.employee_id_by_ssn(&BlindIndex([1; 32])).unwrap(),
            None
        );
        assert_eq!(
            store.employee_id_by_ssn(&BlindIndex([7; 32])).unwrap(),
            Some(a.id)
        );

        let loaded = store.employee(&a.id).unwrap().unwrap();
        store
            .shred_employee(&loaded, "2026-03-01T00:00:00Z".parse().unwrap())
            .unwrap();
        assert!(
            store
                .employee(&a.id)
                .unwrap()
                .unwrap()
                .value
                .live()
                .is_none()
        );
        // Number and SSN are free again.
        store
            .insert_employee(&record("E1", 7, "2026-03-02T00:00:00Z"))
            .unwrap();
        let changes: Vec<_> = store
            .changes_since(Some("2026-02-15T00:00:00Z".parse().unwrap()))
            .map(Result::unwrap)
            .collect();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].1, a.id, "the deletion is a change, oldest first");
    }

    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let a = record("E1", 1, "2026-01-01T00:00:00Z");
        {
            let store = Store::open_sled(&dir.path().join("db"), &dir.path().join("k")).unwrap();
            store.insert_employee(&a).unwrap();
            store.sync().unwrap();
        }
        let store = Store::open_sled(&dir.path().join("db"), &dir.path().join("k")).unwrap();
        assert_eq!(
            store.employee(&a.id).unwrap().unwrap().value,
            EmployeeEntry::Live(Box::new(a))
        );
    }

    #[test]
    fn a_shredded_key_is_zeroed_after_the_tombstone_even_across_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let open =
            || Store::open_sled(&dir.path().join("db"), &dir.path().join("keyslots.bin")).unwrap();
        let store = open();
        let sealed = Sealed(vec![0xAB; 60]);
        let mut a = record("E1", 1, "2026-01-01T00:00:00Z");
        a.record_key.slot = store.put_record_key(&sealed).unwrap();
        store.insert_employee(&a).unwrap();
        assert_eq!(store.record_key(&a).unwrap().sealed, sealed);
        let loaded = store.employee(&a.id).unwrap().unwrap();
        store
            .shred_employee(&loaded, "2026-02-01T00:00:00Z".parse().unwrap())
            .unwrap();
        assert!(
            store.record_key(&a).is_ok(),
            "the slot is zeroed only once the tombstone is durable"
        );
        store.sync().unwrap();
        // Crash before completing the shred: the reopened store finishes it.
        drop(store);
        let store = open();
        assert!(store.record_key(&a).is_err());
        let bytes = std::fs::read(dir.path().join("keyslots.bin")).unwrap();
        assert!(
            !bytes.windows(60).any(|w| w == [0xAB; 60]),
            "the wrapped key is gone from disk"
        );
        assert_eq!(
            store.complete_pending_shreds().unwrap(),
            0,
            "nothing left pending"
        );
    }
}
