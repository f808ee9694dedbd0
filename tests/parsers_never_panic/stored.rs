//! Stored employee rows, intact and damaged.

use super::*;
use hrvault::model::{EmployeeId, EmployeeStatus, PublicFields};
use hrvault::store::decode_employee_entry;

fn public() -> impl Strategy<Value = PublicFields> {
    let text = || prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter);
    let opt = move || prop::option::of(text());
    (
        (text(), text(), text(), opt(), opt(), opt()),
        (opt(), prop::option::of(any::<[u8; 16]>()), opt()),
        (
            -9999i16..=9999,
            1i8..=12,
            1i8..=28,
            0usize..4,
            any::<bool>(),
        ),
    )
        .prop_map(|(a, b, (y, m, d, status, terminated))| {
            let date = jiff::civil::Date::new(y, m, d).expect("day <= 28 always exists");
            let statuses = [
                EmployeeStatus::Onboarding,
                EmployeeStatus::Active,
                EmployeeStatus::OnLeave,
                EmployeeStatus::Terminated,
            ];
            PublicFields {
                employee_number: a.0,
                first_name: a.1,
                last_name: a.2,
                preferred_name: a.3,
                work_email: a.4,
                department: a.5,
                job_title: b.0,
                manager_id: b.1.map(EmployeeId::from_bytes),
                location: b.2,
                hire_date: date,
                status: statuses[status],
                termination_date: terminated.then_some(date),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Stored rows decode to what was stored; damaged ones (a flipped byte, a cut, extra
    /// bytes) are a typed error or still a consistent value, never a panic.
    #[test]
    fn damaged_rows(
        p in public(),
        honey in any::<bool>(),
        flip in any::<(prop::sample::Index, u8)>(),
        cut in any::<prop::sample::Index>(),
        extra in prop::collection::vec(any::<u8>(), 1..8),
    ) {
        let bytes = samples::stored_live(p.clone(), honey);
        let entry = decode_employee_entry(&bytes).expect("a stored row decodes");
        prop_assert_eq!(entry.live().map(|e| &e.public), Some(&p));
        oracles::stored_record(&bytes);
        let mut flipped = bytes.clone();
        let i = flip.0.index(flipped.len());
        flipped[i] ^= flip.1 | 1;
        oracles::stored_record(&flipped);
        oracles::stored_record(&bytes[..cut.index(bytes.len())]);
        let mut longer = bytes.clone();
        longer.extend(extra);
        oracles::stored_record(&longer);
    }
}
