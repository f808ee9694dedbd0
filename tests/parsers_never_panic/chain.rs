//! Valid audit chains with one tampering: a flipped byte, a line removed, swapped, duplicated or cut.

use super::*;

#[derive(Debug, Clone)]
enum Tamper {
    /// XOR one byte of a line body (never its newline) with a non-zero mask.
    Flip {
        line: usize,
        at: usize,
        mask: u8,
    },
    Remove(usize),
    Swap(usize, usize),
    Duplicate(usize),
    Truncate(usize),
}

/// What the verifier must say about a tampered chain.
enum Expect {
    /// Checked where the tampering was made.
    Checked,
    /// Broken, with `first_bad_seq` in this range.
    Broken(u64, u64),
    /// Intact with this many entries.
    Intact(u64),
}

fn reasons() -> impl Strategy<Value = Vec<Option<String>>> {
    let reason = prop::option::of(prop_oneof![
        "[ -~]{0,30}",
        prop::collection::vec(any::<char>(), 0..20).prop_map(String::from_iter),
    ]);
    prop::collection::vec(reason, 1..7)
}

fn tamper() -> impl Strategy<Value = Tamper> {
    let ix = any::<prop::sample::Index>;
    prop_oneof![
        4 => (ix(), ix(), 1u8..=255).prop_map(|(l, a, m)| Tamper::Flip {
            line: l.index(usize::MAX),
            at: a.index(usize::MAX),
            mask: m
        }),
        1 => ix().prop_map(|i| Tamper::Remove(i.index(usize::MAX))),
        1 => (ix(), ix()).prop_map(|(i, j)| Tamper::Swap(i.index(usize::MAX), j.index(usize::MAX))),
        1 => ix().prop_map(|i| Tamper::Duplicate(i.index(usize::MAX))),
        1 => ix().prop_map(|i| Tamper::Truncate(i.index(usize::MAX))),
    ]
}

fn verify(lines: &[String]) -> Verdict {
    verify_reader(lines.concat().as_bytes(), None).expect("memory")
}

fn broken_at(v: &Verdict) -> Option<u64> {
    match v {
        Verdict::Broken { first_bad_seq, .. } => Some(*first_bad_seq),
        Verdict::Intact { .. } => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// A valid chain with one tampering: the verifier never panics, never reports intact
    /// unless the entries are unchanged, and blames the tampered position or an earlier one.
    #[test]
    fn tampered_chains_are_caught(reasons in reasons(), t in tamper()) {
        let mut lines = samples::chain(&reasons);
        let n = lines.len();
        let original = verify(&lines);
        prop_assert!(original.is_intact());
        let (data, expect) = match t {
            Tamper::Flip { line, at, mask } => {
                let line = line % n;
                let mut bytes = lines[line].clone().into_bytes();
                let at = at % (bytes.len() - 1);
                bytes[at] ^= mask;
                let mut data = lines[..line].concat().into_bytes();
                data.extend(bytes);
                data.extend(lines[line + 1..].concat().into_bytes());
                let v = verify_reader(&data[..], None).expect("memory");
                match &v {
                    // A flip that keeps the meaning (e.g. `\u001f` -> `\u001F`).
                    Verdict::Intact { .. } => prop_assert_eq!(&v, &original),
                    Verdict::Broken { first_bad_seq, .. } => {
                        prop_assert!(*first_bad_seq <= line as u64 + 1, "{:?}", v)
                    }
                }
                (data, Expect::Checked)
            }
            Tamper::Remove(i) => {
                let i = i % n;
                lines.remove(i);
                let expect = if i + 1 < n {
                    Expect::Broken(i as u64 + 1, i as u64 + 1)
                } else {
                    Expect::Intact(n as u64 - 1)
                };
                (lines.concat().into_bytes(), expect)
            }
            Tamper::Swap(i, j) => {
                let (i, j) = (i % n, j % n);
                lines.swap(i, j);
                let first = i.min(j) as u64 + 1;
                let expect = if i == j {
                    Expect::Intact(n as u64)
                } else {
                    Expect::Broken(first, first)
                };
                (lines.concat().into_bytes(), expect)
            }
            Tamper::Duplicate(i) => {
                let i = i % n;
                lines.insert(i + 1, lines[i].clone());
                // The copy (position i + 2) repeats seq i + 1; either number is a fair answer.
                (lines.concat().into_bytes(), Expect::Broken(i as u64 + 1, i as u64 + 2))
            }
            Tamper::Truncate(at) => {
                let data = lines.concat().into_bytes();
                let at = at % (data.len() + 1);
                let cut = &data[..at];
                let complete = cut.iter().filter(|&&b| b == b'\n').count();
                let tail = cut.len() - cut.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                // A tail that is a whole line minus its newline is still a whole entry.
                let partial = tail != 0 && tail + 1 != lines[complete].len();
                let expect = if partial {
                    Expect::Broken(complete as u64 + 1, complete as u64 + 1)
                } else {
                    Expect::Intact(complete as u64 + u64::from(tail != 0))
                };
                (cut.to_vec(), expect)
            }
        };
        oracles::audit_chain(&data);
        let v = verify_reader(&data[..], None).expect("memory");
        match expect {
            Expect::Checked => {}
            Expect::Broken(lo, hi) => {
                let at = broken_at(&v);
                prop_assert!(at.is_some_and(|f| (lo..=hi).contains(&f)), "{:?}", v);
            }
            // A shorter chain (tail removed or cut at a line end) is only visible against a
            // signed head checkpoint.
            Expect::Intact(n) => {
                let intact = matches!(v, Verdict::Intact { entries, .. } if entries == n);
                prop_assert!(intact, "{:?}", v);
            }
        }
    }
}
