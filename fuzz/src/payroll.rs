//! Oracles for the OAuth token form and the payroll export line.

use base64::Engine as _;
use hrvault::auth::parse_token_request;
use hrvault::model::{EmployeeDraft, EmployeeId, NewEmployee};
use hrvault::service::{PayrollFields, PayrollRecord, write_payroll_line};
use secrecy::ExposeSecret;

/// `POST /v1/oauth/token` requests: `<Authorization header> 0x00 <body>`, or a body alone.
/// Never a panic; an accepted request has both credentials, and re-encoding them (as a form,
/// and as HTTP Basic with each part form-urlencoded) parses back to the same values.
pub fn token_form(data: &[u8]) {
    let (header, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (Some(&data[..i]), &data[i + 1..]),
        None => (None, data),
    };
    let Ok(c) = parse_token_request(body, header) else {
        return;
    };
    assert!(!c.client_id.is_empty() && !c.client_secret.expose_secret().is_empty());
    let again = serde_urlencoded::to_string([
        ("grant_type", "client_credentials"),
        ("client_id", c.client_id.as_str()),
        ("client_secret", c.client_secret.expose_secret()),
    ])
    .expect("strings encode");
    let Ok(back) = parse_token_request(again.as_bytes(), None) else {
        panic!("a re-encoded request does not parse");
    };
    assert!(
        back.client_id == c.client_id
            && back.client_secret.expose_secret() == c.client_secret.expose_secret(),
        "round trip changed the credentials"
    );
    let enc = |s: &str| {
        serde_urlencoded::to_string([("", s)])
            .expect("strings encode")
            .split_off(1)
    };
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            enc(&c.client_id),
            enc(c.client_secret.expose_secret())
        ))
    );
    let Ok(back) = parse_token_request(b"grant_type=client_credentials", Some(basic.as_bytes()))
    else {
        panic!("the same credentials sent by HTTP Basic do not parse");
    };
    assert!(
        back.client_id == c.client_id
            && back.client_secret.expose_secret() == c.client_secret.expose_secret(),
        "the Basic round trip changed the credentials"
    );
}

/// Export serializer round trip: any record that validates is written as one line that a
/// consumer reads back with exactly the values that went in (and never a birth date).
pub fn export_line(data: &[u8]) {
    let Ok(draft) = serde_json::from_slice::<EmployeeDraft>(data) else {
        return;
    };
    let Ok(new) = NewEmployee::parse(&draft) else {
        return;
    };
    let at = "2026-01-15T09:00:00.123456Z"
        .parse()
        .expect("a valid instant");
    let id = EmployeeId::random();
    let mut line = Vec::new();
    write_payroll_line(
        &PayrollFields {
            id,
            public: &new.public,
            ssn: &new.sensitive.ssn,
            home_address: new.sensitive.home_address.as_ref(),
            bank_account: new.sensitive.bank_account.as_ref(),
            version: 3,
            created_at: at,
            updated_at: at,
        },
        &mut line,
    );
    assert_eq!(line.last(), Some(&b'\n'), "one line, newline-terminated");
    assert_eq!(
        line.iter().filter(|&&b| b == b'\n').count(),
        1,
        "exactly one line"
    );
    // No `expect`: a serde error can quote the line, which holds an SSN.
    let Ok(r) = serde_json::from_slice::<PayrollRecord>(&line) else {
        panic!("a consumer cannot read a line it is sent");
    };
    let p = &new.public;
    assert!(
        r.id == id.to_string() && r.version == 3,
        "id or version changed"
    );
    assert!(
        r.employee_number == p.employee_number
            && r.first_name == p.first_name
            && r.last_name == p.last_name,
        "names changed"
    );
    assert!(
        r.preferred_name == p.preferred_name
            && r.work_email == p.work_email
            && r.department == p.department,
        "optional text changed"
    );
    assert!(
        r.job_title == p.job_title && r.location == p.location,
        "optional text changed"
    );
    assert!(
        r.manager_id == p.manager_id.map(|m| m.to_string()),
        "manager changed"
    );
    assert!(
        r.hire_date == p.hire_date.to_string() && r.status == p.status.as_str(),
        "dates or status changed"
    );
    assert!(
        r.termination_date == p.termination_date.map(|d| d.to_string()),
        "termination date changed"
    );
    assert!(r.ssn == *new.sensitive.ssn.formatted(), "ssn changed");
    assert!(
        r.home_address.as_ref() == new.sensitive.home_address.as_ref(),
        "address changed"
    );
    assert!(
        r.bank_account.as_ref() == new.sensitive.bank_account.as_ref(),
        "bank account changed"
    );
    assert!(
        r.created_at == "2026-01-15T09:00:00.123456Z" && r.updated_at == r.created_at,
        "timestamps changed"
    );
    let text = std::str::from_utf8(&line).expect("JSON is UTF-8");
    assert!(
        !text.contains("date_of_birth"),
        "payroll never gets birth dates"
    );
}
