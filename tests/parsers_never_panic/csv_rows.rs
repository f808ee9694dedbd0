//! CSV imports with odd quoting, ragged rows and every line ending; correctly quoted round trips.

use super::*;

const COLUMNS: [&str; 22] = hrvault::model::EmployeeDraft::COLUMNS;

fn cell(d: &EmployeeDraft, column: &str) -> Option<String> {
    let a = d.home_address.as_ref();
    let b = d.bank_account.as_ref();
    let v = match column {
        "employee_number" => &d.employee_number,
        "first_name" => &d.first_name,
        "last_name" => &d.last_name,
        "preferred_name" => &d.preferred_name,
        "work_email" => &d.work_email,
        "department" => &d.department,
        "job_title" => &d.job_title,
        "manager_id" => &d.manager_id,
        "location" => &d.location,
        "hire_date" => &d.hire_date,
        "status" => &d.status,
        "termination_date" => &d.termination_date,
        "ssn" => &d.ssn,
        "date_of_birth" => &d.date_of_birth,
        "home_address.line1" => return a.and_then(|a| a.line1.clone()),
        "home_address.line2" => return a.and_then(|a| a.line2.clone()),
        "home_address.city" => return a.and_then(|a| a.city.clone()),
        "home_address.state" => return a.and_then(|a| a.state.clone()),
        "home_address.postal_code" => return a.and_then(|a| a.postal_code.clone()),
        "home_address.country" => return a.and_then(|a| a.country.clone()),
        "bank_account.routing_number" => return b.and_then(|b| b.routing_number.clone()),
        _ => return b.and_then(|b| b.account_number.clone()),
    };
    v.clone()
}

fn header() -> impl Strategy<Value = Vec<&'static str>> {
    prop::sample::subsequence(&COLUMNS[..], 1..=22).prop_shuffle()
}

fn odd_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => near_string(),
        1 => prop::sample::select(&[
            "\"", "\"\"", "a\"b", "\"q, c\"", "\"x\ny\"", "x\ny", "\r", " \"lead", "\"open",
            "\"a\"b\"", "\u{feff}", ",", "\"\"\"", "\"\r\n\"",
        ][..])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// Hand-joined rows: stray quotes, embedded newlines, ragged rows, any line ending.
    #[test]
    fn odd_quoting(
        head in header(),
        bom in any::<bool>(),
        rows in prop::collection::vec(prop::collection::vec(odd_cell(), 0..24), 0..5),
        eol in prop::sample::select(&["\n", "\r\n", "\r"][..]),
    ) {
        let mut text = String::from(if bom { "\u{feff}" } else { "" });
        text.push_str(&head.join(","));
        for row in &rows {
            text.push_str(eol);
            text.push_str(&row.join(","));
        }
        oracles::csv_import(text.as_bytes());
    }

    /// Correctly quoted files: every row is read, each cell lands in its field, a blank
    /// cell is absent.
    #[test]
    fn quoted_rows_round_trip(
        head in header(),
        cells in prop::collection::vec(prop::collection::vec(near_string(), 22), 1..4),
    ) {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&head).expect("write header");
        for row in &cells {
            w.write_record(&row[..head.len()]).expect("write row");
        }
        let data = w.into_inner().expect("flush");
        oracles::csv_import(&data);
        let rows: Vec<_> = hrvault::service::CsvDrafts::new(&data[..]).expect("header ok").collect();
        prop_assert_eq!(rows.len(), cells.len());
        for (row, want) in rows.iter().zip(&cells) {
            let Ok(draft) = &row.draft else {
                return Err(TestCaseError::fail(format!("row at line {} refused", row.line)));
            };
            for (col, value) in head.iter().zip(want) {
                let expected = (!value.trim().is_empty()).then(|| value.clone());
                prop_assert_eq!(cell(draft, col), expected, "column {}", col);
            }
        }
    }
}
