//! Employee records: sealed fields, uniqueness indexes and the change log for delta sync.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Batch, Check, Loaded, Op, Store, StoreError, Tree, codec};
use crate::model::{BlindIndex, EmployeeId, PublicFields, Sealed, WrappedRecordKey};

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
    pub record_key: WrappedRecordKey,
    pub ssn: Sealed,
    /// Blind index of the SSN (kept to remove the index entry on change or delete).
    pub ssn_index: BlindIndex,
    pub date_of_birth: Sealed,
    pub home_address: Option<Sealed>,
    pub bank_account: Option<Sealed>,
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
        self.backend.apply(&batch)
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

    /// Crypto-shreds a record: its wrapped key and sealed fields are replaced by a tombstone and
    /// its index entries removed (the SSN and employee number become reusable).
    pub fn shred_employee(
        &self,
        prev: &Loaded<EmployeeEntry>,
        deleted_at: Timestamp,
    ) -> Result<Tombstone, StoreError> {
        let old = prev.value.live().ok_or(StoreError::Conflict("version"))?;
        let tomb = Tombstone {
            id: old.id,
            deleted_at,
            honeytoken: old.honeytoken,
        };
        let id = old.id.as_bytes().to_vec();
        self.backend.apply(&Batch {
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
            ],
        })?;
        Ok(tomb)
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

    /// Re-encodes every live record through `f` (key rotation); each write is compare-and-set.
    pub fn rewrite_employees(
        &self,
        mut f: impl FnMut(&StoredEmployee) -> Option<StoredEmployee>,
    ) -> Result<usize, StoreError> {
        let mut changed = 0;
        let ids: Vec<EmployeeId> = self
            .employees_after(None)
            .filter_map(|r| match r {
                Ok(EmployeeEntry::Live(e)) => Some(Ok(e.id)),
                Ok(EmployeeEntry::Deleted(_)) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()?;
        for id in ids {
            let Some(prev) = self.employee(&id)? else {
                continue;
            };
            let Some(live) = prev.value.live() else {
                continue;
            };
            if let Some(next) = f(live) {
                let id = next.id.as_bytes().to_vec();
                self.backend.apply(&Batch {
                    checks: vec![Check::Equals(
                        Tree::Employees,
                        id.clone(),
                        prev.raw.clone(),
                        "version",
                    )],
                    ops: vec![Op::Put(
                        Tree::Employees,
                        id,
                        codec::encode(&EmployeeEntry::Live(Box::new(next))),
                    )],
                })?;
                changed += 1;
            }
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EmployeeStatus;
    use crate::store::testing::temp_store;

    fn record(number: &str, ssn_idx: u8, at: &str) -> StoredEmployee {
        StoredEmployee {
            id: EmployeeId::random(),
            public: PublicFields {
                employee_number: number.into(),
                first_name: "A".into(),
                last_name: "B".into(),
                preferred_name: None,
                work_email: None,
                department: Some("R&D".into()),
                job_title: None,
                manager_id: None,
                location: None,
                hire_date: jiff::civil::date(2026, 1, 15),
                status: EmployeeStatus::Active,
                termination_date: None,
            },
            version: 1,
            created_at: at.parse().unwrap(),
            updated_at: at.parse().unwrap(),
            honeytoken: false,
            record_key: WrappedRecordKey {
                master_version: 1,
                key_version: 1,
                sealed: Sealed(vec![1; 60]),
            },
            ssn: Sealed(vec![2; 40]),
            ssn_index: BlindIndex([ssn_idx; 32]),
            date_of_birth: Sealed(vec![3; 38]),
            home_address: None,
            bank_account: None,
        }
    }

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
            let (store, _) = Store::open_sled(dir.path()).unwrap();
            store.insert_employee(&a).unwrap();
            store.sync().unwrap();
        }
        let (store, _) = Store::open_sled(dir.path()).unwrap();
        assert_eq!(
            store.employee(&a.id).unwrap().unwrap().value,
            EmployeeEntry::Live(Box::new(a))
        );
    }
}
