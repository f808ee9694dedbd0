//! The web console in a real browser (CONTRACT §5, docs/console.md): headless Chromium driven
//! over WebDriver against the real binary, finding everything by the labels, button texts and
//! link texts the spec gives, as a person would.

#![allow(clippy::unwrap_used, reason = "tests: a failed step must panic")]

mod common;

use common::*;

/// The harness itself, on a local page: labels, buttons, typing, scripts, axe.
#[test]
fn harness_finds_fields_by_label_and_runs_axe() {
    let Some(b) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("form.html");
    std::fs::write(
        &page,
        r#"<!doctype html><html lang="en"><head><title>t</title></head><body><main>
<h1>Form</h1>
<form id="f"><label for="u">User name</label><input id="u" name="u">
<label>Wrapped <input id="w" name="w" type="date"></label>
<label for="s">Kind</label><select id="s"><option value="a">Alpha</option><option value="b">Beta</option></select>
<button type="button" id="go">Go now</button></form>
<p><a href="https://example.invalid/">Elsewhere</a></p>
<img src="x.png">
</main></body></html>"#,
    )
    .unwrap();
    b.goto(&format!("file://{}", page.display()));
    b.fill("User name", "O'Brien \"x\"");
    assert_eq!(b.field("User name").prop("value"), "O'Brien \"x\"");
    b.fill("Wrapped", "2026-01-15");
    assert_eq!(b.field("Wrapped").prop("value"), "2026-01-15");
    b.choose("Kind", "Beta");
    assert_eq!(b.field("Kind").prop("value"), "b");
    assert_eq!(b.button("Go now").attr("id").as_deref(), Some("go"));
    assert!(
        b.link("Elsewhere")
            .prop("href")
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    b.wait_for_text("Form");
    let v = b.axe_violations();
    assert!(v.iter().any(|v| v.starts_with("image-alt")), "{v:?}");
    assert!(b.screenshot().starts_with(b"\x89PNG"));
}
