//! `POST /v1/employees/import`: the CSV importer over HTTP, audited as the caller.

use serde_json::json;

use super::world;
use crate::common::*;

#[test]
fn an_uploaded_csv_imports_valid_rows_and_reports_bad_ones_by_line() {
    let w = world();
    let c = w.c();
    let (good1, good2) = (unique_number(), unique_number());
    let csv = format!(
        "employee_number,first_name,last_name,hire_date,ssn,date_of_birth,bank_account.routing_number,bank_account.account_number\n\
         {good1},Ada,Lovelace,2026-01-15,{},1990-04-01,011000015,000123\n\
         BAD-ONE,Bob,Jones,2026-01-15,666-12-3456,1990-04-01,,\n\
         {good2},Cy,Young,2026-01-15,{},1990-04-01,123456789,000456\n",
        unique_ssn(),
        unique_ssn()
    );
    let r = c
        .post("/v1/employees/import")
        .token(&w.staff.hr.token)
        .header("x-request-id", "csv-upload-1")
        .raw("text/csv", csv.clone())
        .send();
    let v = r.expect(200).json();
    assert_eq!(v["imported"], 1, "{v}");
    let rejected = v["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{v}");
    assert_eq!(rejected[0]["line"], 3);
    assert_eq!(rejected[0]["employee_number"], "BAD-ONE");
    assert_eq!(rejected[0]["errors"][0]["field"], "ssn");
    assert_eq!(rejected[1]["line"], 4);
    assert_eq!(
        rejected[1]["errors"][0]["field"],
        "bank_account.routing_number"
    );
    assert!(!r.text().contains("666-12-3456"), "no value echoed");

    let e = audit_entries(c, &w.staff.auditor.token, "action=employee.import", 0)
        .into_iter()
        .find(|e| e["client_request_id"] == "csv-upload-1")
        .expect("audited");
    assert_eq!(e["actor"]["username"], w.staff.hr.username);
    let ids = e["employee_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 1);
    c.get(&format!("/v1/employees/{}", ids[0].as_str().unwrap()))
        .token(&w.staff.hr.token)
        .send()
        .expect(200);

    // Only hr; a header naming no field is 400 with nothing imported; not CSV is 415.
    c.post("/v1/employees/import")
        .token(&w.staff.payroll.token)
        .raw("text/csv", csv)
        .send()
        .problem(403);
    let r = c
        .post("/v1/employees/import")
        .token(&w.staff.hr.token)
        .raw("text/csv", "employee_number,123-45-6789\nE1,x\n")
        .send();
    let p = r.problem(400);
    assert!(!r.text().contains("123-45-6789"), "{p}");
    c.post("/v1/employees/import")
        .token(&w.staff.hr.token)
        .json(&json!({"rows": []}))
        .send()
        .problem(415);
}
