//! Unit tests of the reveal page's parsing and masking (kept out of the module's source so
//! no SSN-shaped value sits in non-test code).
use super::*;

#[test]
fn each_revealed_value_carries_its_mask_and_the_page_has_no_timed_redirect() {
    let shown: Shown = serde_json::from_str(
        r#"{"ssn":"123-45-6789","date_of_birth":"1990-04-01",
            "home_address":{"line1":"1 Main St","line2":null,"city":"Springfield","state":"IL","postal_code":"62701","country":"US"},
            "bank_account":null}"#,
    )
    .unwrap();
    let (head, content) = shown_parts("abc", 60, &shown);
    assert_eq!(head.into_string(), "", "no timed refresh (WCAG 2.2.1)");
    let html = content.into_string();
    assert!(html.contains(r#"data-reveal-seconds="60""#));
    assert!(html.contains(r#"<p data-countdown role="status">"#));
    for (mask, value) in [
        ("***-**-6789", "123-45-6789"),
        ("****-**-**", "1990-04-01"),
        (
            "Springfield, IL, US",
            "1 Main St, Springfield, IL, 62701, US",
        ),
    ] {
        let span = format!(r#"<span class="secret" data-secret data-mask="{mask}">{value}</span>"#);
        assert!(html.contains(&span), "{span} in {html}");
    }
    assert!(
        html.contains("None on file"),
        "a record without a bank account says so"
    );
    let asked_ssn_only: Shown = serde_json::from_str(r#"{"ssn":"123-45-6789"}"#).unwrap();
    let html = shown_parts("abc", 5, &asked_ssn_only).1.into_string();
    assert!(!html.contains("Bank account") && !html.contains("Routing number"));
}
