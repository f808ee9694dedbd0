//! The audit log: one JSONL entry, and whole chains as `hrvault audit verify --file` reads them.

use std::io::Cursor;

use hrvault::audit::{
    EntryRef, GENESIS_HASH, Verdict, canonical_bytes, checkpoint_message, ocsf_event, verify_reader,
};

fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Target `audit_entry`: a parsed entry has canonical bytes that are sorted, compact JSON
/// without the hashes; it re-serializes and re-parses to an equal entry with the same hash.
pub fn audit_entry(data: &[u8]) {
    let Ok(e) = serde_json::from_slice::<EntryRef<'_>>(data) else {
        return;
    };
    let mut canon = Vec::new();
    canonical_bytes(&e, &mut canon);
    let value: serde_json::Value =
        serde_json::from_slice(&canon).expect("canonical bytes are JSON");
    let obj = value.as_object().expect("canonical bytes are an object");
    assert!(!obj.contains_key("hash") && !obj.contains_key("prev_hash"));
    // serde_json's Map is a BTreeMap here: re-serializing sorts keys and drops whitespace.
    let resorted = serde_json::to_vec(&value).expect("a Value serializes");
    assert!(
        resorted == canon,
        "canonical bytes are not sorted, compact JSON"
    );

    let mut scratch = Vec::new();
    let hash = e.computed_hash(&mut scratch);
    assert!(
        is_hash(&hash),
        "computed hash is not 64 lower-case hex digits"
    );
    assert_eq!(
        e.computed_hash(&mut scratch),
        hash,
        "hashing is deterministic"
    );

    let line = serde_json::to_vec(&e).expect("an entry serializes");
    assert!(
        !line.contains(&b'\n'),
        "a serialized entry spans several JSONL lines"
    );
    let back: EntryRef<'_> = serde_json::from_slice(&line).expect("a serialized entry parses");
    assert_eq!(back, e, "serialize/parse round trip changes the entry");
    assert_eq!(back.computed_hash(&mut scratch), hash);
    let owned = e.clone().into_owned();
    assert_eq!(owned, e);

    let event = ocsf_event(&e);
    assert_eq!(event["class_uid"], 6003);
    let _ = e.concerns(e.employee_id.as_deref().unwrap_or(""));
    let _ = checkpoint_message(e.seq, &e.hash, &e.ts);
}

/// Lines as the verifier splits them: on `\n`, blank ones included (they are damage), without
/// the empty piece after a final `\n`.
fn lines(data: &[u8]) -> u64 {
    let pieces = data.split(|&b| b == b'\n').count() as u64;
    pieces - u64::from(data.is_empty() || data.ends_with(b"\n"))
}

/// Target `audit_chain`: the verifier always returns a verdict; "intact" counts every line;
/// "broken" never blames a position past the input; stopping early (`upto`) agrees with the
/// full run on the verified prefix.
pub fn audit_chain(data: &[u8]) {
    let verdict = verify_reader(Cursor::new(data), None).expect("reading memory cannot fail");
    let n = lines(data);
    match &verdict {
        Verdict::Intact { entries, head } => {
            assert_eq!(*entries, n, "intact, but not every line was an entry");
            assert_eq!(head.seq, *entries);
            if n == 0 {
                assert_eq!(head.hash, GENESIS_HASH);
            } else {
                assert!(is_hash(&head.hash));
            }
        }
        Verdict::Broken {
            first_bad_seq,
            reason,
        } => {
            assert!(*first_bad_seq <= n, "first_bad_seq past the last line");
            assert!(!reason.is_empty());
        }
    }
    // Bounded runs: everything below the first bad entry is a verified prefix.
    let verified = match &verdict {
        Verdict::Intact { entries, .. } => *entries,
        Verdict::Broken { first_bad_seq, .. } => first_bad_seq.saturating_sub(1),
    };
    for upto in [0, 1, verified / 2, verified] {
        let bounded = verify_reader(Cursor::new(data), Some(upto)).expect("memory");
        if upto <= verified {
            match bounded {
                Verdict::Intact { entries, .. } => assert_eq!(entries, upto),
                Verdict::Broken { .. } => panic!("a verified prefix is broken when bounded"),
            }
        }
    }
}
