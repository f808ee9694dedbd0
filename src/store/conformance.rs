//! What `Backend` means, checked on every engine: the sled and PostgreSQL tests both call
//! [`check`], so the two cannot drift apart.

use std::sync::Arc;

use super::{Backend, Batch, Check, KeySlots, Op, StoreError, Tree};

fn put(t: Tree, k: &[u8], v: &[u8]) -> Op {
    Op::Put(t, k.to_vec(), v.to_vec())
}

/// Runs every check against `b`, which must be empty.
pub(crate) fn check(b: Arc<dyn Backend>) {
    batches_are_atomic_and_checks_are_compare_and_set(&*b);
    ranges_are_byte_ordered_bounded_and_span_pages(&*b);
    racing_absent_checks_let_exactly_one_writer_in(b);
}

fn batches_are_atomic_and_checks_are_compare_and_set(b: &dyn Backend) {
    b.apply(&Batch {
        checks: vec![Check::Absent(Tree::Users, b"a".to_vec(), "a")],
        ops: vec![put(Tree::Users, b"a", b"1")],
    })
    .unwrap();
    // A failing check aborts every write of the batch, in every tree.
    let err = b
        .apply(&Batch {
            checks: vec![
                Check::Absent(Tree::Usernames, b"x".to_vec(), "x"),
                Check::Absent(Tree::Users, b"a".to_vec(), "dup"),
            ],
            ops: vec![
                put(Tree::Users, b"b", b"2"),
                put(Tree::Usernames, b"x", b"1"),
            ],
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("dup")), "{err:?}");
    assert_eq!(b.get(Tree::Users, b"b").unwrap(), None);
    assert_eq!(b.get(Tree::Usernames, b"x").unwrap(), None);
    // Equals: only the exact previous bytes allow the write.
    let cas = |expected: &[u8], new: &[u8]| Batch {
        checks: vec![Check::Equals(
            Tree::Users,
            b"a".to_vec(),
            expected.to_vec(),
            "version",
        )],
        ops: vec![put(Tree::Users, b"a", new)],
    };
    assert!(matches!(
        b.apply(&cas(b"0", b"2")),
        Err(StoreError::Conflict("version"))
    ));
    b.apply(&cas(b"1", b"2")).unwrap();
    b.sync().unwrap();
    assert_eq!(
        b.get(Tree::Users, b"a").unwrap().as_deref(),
        Some(&b"2"[..])
    );
    // Trees are separate key spaces; a delete removes only its own key.
    b.apply(&Batch {
        checks: vec![],
        ops: vec![put(Tree::Alerts, b"a", b"other tree")],
    })
    .unwrap();
    b.apply(&Batch {
        checks: vec![],
        ops: vec![
            Op::Delete(Tree::Alerts, b"a".to_vec()),
            Op::Delete(Tree::Alerts, b"zz".to_vec()),
        ],
    })
    .unwrap();
    assert_eq!(b.get(Tree::Alerts, b"a").unwrap(), None);
    let all: Vec<_> = b
        .range(Tree::Users, b"", None)
        .map(Result::unwrap)
        .collect();
    assert_eq!(all, vec![(b"a".to_vec(), b"2".to_vec())]);
}

fn ranges_are_byte_ordered_bounded_and_span_pages(b: &dyn Backend) {
    // More keys than one page of any engine, inserted out of order, with bytes above 0x7f (a
    // signed comparison would sort them first).
    let keys: Vec<Vec<u8>> = (0u32..1300)
        .map(|i| {
            // 7 is coprime with 1300: a permutation of 0..1300.
            let j = (i * 7) % 1300;
            let mut k = vec![if j % 2 == 0 { 0x01 } else { 0xf0 }];
            k.extend_from_slice(&j.to_be_bytes());
            k
        })
        .collect();
    for chunk in keys.chunks(100) {
        b.apply(&Batch {
            checks: vec![],
            ops: chunk.iter().map(|k| put(Tree::Changes, k, b"")).collect(),
        })
        .unwrap();
    }
    let mut sorted = keys.clone();
    sorted.sort();
    let got: Vec<Vec<u8>> = b
        .range(Tree::Changes, b"", None)
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(got.len(), sorted.len());
    assert!(got == sorted, "a full scan is in byte order");
    let (lo, hi) = (sorted[100].clone(), sorted[1200].clone());
    let got: Vec<Vec<u8>> = b
        .range(Tree::Changes, &lo, Some(&hi))
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(
        got,
        sorted[100..1200].to_vec(),
        "start inclusive, end exclusive"
    );
}

fn racing_absent_checks_let_exactly_one_writer_in(b: Arc<dyn Backend>) {
    for round in 0u8..20 {
        let key = vec![b'r', round];
        let threads: Vec<_> = (0u8..4)
            .map(|w| {
                let (b, key) = (b.clone(), key.clone());
                std::thread::spawn(move || {
                    b.apply(&Batch {
                        checks: vec![Check::Absent(Tree::Usernames, key.clone(), "username")],
                        ops: vec![put(Tree::Usernames, &key, &[w])],
                    })
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Ok(()) | Err(StoreError::Conflict("username"))))
        );
    }
}

/// What `KeySlots` means on every engine: a put is readable, a shred destroys, slots are
/// distinct, an unknown slot is free.
pub(crate) fn check_slots(slots: &dyn KeySlots) {
    let a = slots.put(&[7u8; 60]).unwrap();
    let b = slots.put(&[9u8; 60]).unwrap();
    assert_ne!(a, b);
    assert_eq!(slots.get(a).unwrap(), Some(vec![7u8; 60]));
    slots.shred(a).unwrap();
    slots.sync().unwrap();
    assert_eq!(slots.get(a).unwrap(), None);
    assert_eq!(slots.get(b).unwrap(), Some(vec![9u8; 60]));
    assert_eq!(slots.get(1 << 40).unwrap(), None, "never used is free");
    slots.shred(1 << 40).unwrap();
}
