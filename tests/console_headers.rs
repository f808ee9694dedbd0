//! The web console over plain HTTP, no browser (CONTRACT §5, docs/console.md "Headers" and
//! "Sessions and CSRF"): the exact security headers on every page, the session cookie's flags
//! over HTTP and over TLS, CSRF refusals that change nothing, the `/` redirect, pages that load
//! nothing from another origin and carry no inline code, and the assets' content types.

#![allow(clippy::unwrap_used, reason = "tests: a failed step must panic")]

mod common;

use std::sync::OnceLock;

use common::*;
use serde_json::{Value, json};

/// The console's Content-Security-Policy, exactly (CONTRACT §5).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn w() -> &'static Shared {
    static W: OnceLock<Shared> = OnceLock::new();
    W.get_or_init(|| Shared::start("hdr", None))
}

/// A client that shows redirects instead of following them.
fn raw() -> Client {
    Client::no_redirects(&w().server.base)
}

/// One `Set-Cookie` header, parsed.
#[derive(Debug, Clone)]
struct SetCookie {
    name: String,
    value: String,
    /// Attribute names in lower case, with their values (`""` for flags).
    attrs: Vec<(String, String)>,
    line: String,
}

impl SetCookie {
    fn parse(line: &str) -> Self {
        let mut parts = line.split(';').map(str::trim);
        let (name, value) = parts.next().unwrap().split_once('=').unwrap();
        let attrs = parts
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), v.trim().to_owned()),
                None => (p.to_ascii_lowercase(), String::new()),
            })
            .collect();
        Self {
            name: name.to_owned(),
            value: value.to_owned(),
            attrs,
            line: line.to_owned(),
        }
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }
}

/// The cookie whose name ends with `suffix` among `set-cookie` lines.
fn cookie_named<'a>(lines: impl IntoIterator<Item = &'a str>, suffix: &str) -> Option<SetCookie> {
    lines
        .into_iter()
        .map(SetCookie::parse)
        .find(|c| c.name.ends_with(suffix))
}

/// Every start tag `<NAME ...>` of `html`, as written.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = lower[at..].find(&open) {
        let start = at + i;
        let after = lower.as_bytes().get(start + open.len()).copied();
        let end = lower[start..]
            .find('>')
            .map_or(html.len(), |j| start + j + 1);
        if matches!(after, Some(b' ' | b'>' | b'/' | b'\n' | b'\t' | b'\r')) {
            out.push(&html[start..end]);
        }
        at = end.max(start + 1);
    }
    out
}

/// The value of attribute `name` in a start tag (quoted with " or ', or bare).
fn attr_of(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = lower[at..].find(name) {
        let start = at + i;
        at = start + name.len();
        let before = lower.as_bytes()[start - 1];
        if !before.is_ascii_whitespace() {
            continue;
        }
        let rest = tag[at..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let v = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
            _ => rest
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or(""),
        };
        return Some(v.replace("&amp;", "&"));
    }
    None
}

/// The page's hidden `csrf` field.
fn csrf_of(html: &str) -> String {
    tags(html, "input")
        .into_iter()
        .find(|t| attr_of(t, "name").as_deref() == Some("csrf"))
        .and_then(|t| attr_of(t, "value"))
        .unwrap_or_else(|| panic!("no hidden csrf field in:\n{html}"))
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

const FORM: &str = "application/x-www-form-urlencoded";

/// A signed-in console session over plain HTTP.
struct Ui {
    c: Client,
    /// `hrvault_session=VALUE`, for the `cookie` header.
    cookie: String,
    /// The session cookie as set at sign-in.
    set: SetCookie,
}

impl Ui {
    /// Signs in through the form, as a browser would: the sign-in page's pre-session cookie and
    /// CSRF token, then the credentials.
    fn sign_in(user: &User) -> Self {
        let c = raw();
        let page = c.get("/ui/login").send();
        page.expect(200);
        let pre = cookie_named(page.header_all("set-cookie"), "hrvault_login")
            .unwrap_or_else(|| panic!("no hrvault_login cookie: {:?}", page.headers));
        let r = c
            .post("/ui/login")
            .header("cookie", &format!("{}={}", pre.name, pre.value))
            .raw(
                FORM,
                form(&[
                    ("username", &user.username),
                    ("password", &user.password),
                    ("csrf", &csrf_of(&page.text())),
                ]),
            )
            .send();
        assert_eq!(r.status, 303, "sign-in: {}", r.text());
        let set = cookie_named(r.header_all("set-cookie"), "hrvault_session")
            .unwrap_or_else(|| panic!("sign-in set no session cookie: {:?}", r.headers));
        Self {
            c,
            cookie: format!("{}={}", set.name, set.value),
            set,
        }
    }

    fn get(&self, path: &str) -> Resp {
        self.c.get(path).header("cookie", &self.cookie).send()
    }

    fn post(&self, path: &str, body: &str) -> Resp {
        self.c
            .post(path)
            .header("cookie", &self.cookie)
            .raw(FORM, body.to_owned())
            .send()
    }
}

/// A record created through the API by hr.
fn employee() -> Value {
    create_employee(w().c(), &w().staff.hr.token, &draft())
}

/// Every employee number the API lists (all pages).
fn employee_numbers() -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = w()
            .c()
            .get(&format!("/v1/employees?limit=500{cursor}"))
            .token(&w().staff.hr.token)
            .send();
        let v = r.expect(200).json();
        for e in v["employees"].as_array().unwrap() {
            out.push(e["employee_number"].as_str().unwrap().to_owned());
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return out,
        }
    }
}

/// The new-hire form's fields for a valid record (names = the CSV columns).
fn new_hire_fields(number: &str) -> Vec<(&'static str, String)> {
    vec![
        ("employee_number", number.to_owned()),
        ("first_name", "Katherine".into()),
        ("last_name", "Johnson".into()),
        ("preferred_name", String::new()),
        ("work_email", "kj@example.com".into()),
        ("department", "R&D".into()),
        ("job_title", "Mathematician".into()),
        ("location", "Hampton".into()),
        ("hire_date", "2026-01-15".into()),
        ("status", "onboarding".into()),
        ("ssn", unique_ssn()),
        ("date_of_birth", "1990-08-26".into()),
        ("home_address.line1", "2 Langley Rd".into()),
        ("home_address.line2", String::new()),
        ("home_address.city", "Hampton".into()),
        ("home_address.state", "VA".into()),
        ("home_address.postal_code", "23666".into()),
        ("home_address.country", "US".into()),
        ("bank_account.routing_number", aba("01100001")),
        ("bank_account.account_number", "000987654321".into()),
    ]
}

fn encode(fields: &[(&str, String)], csrf: Option<&str>) -> String {
    let mut pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if let Some(t) = csrf {
        pairs.push(("csrf", t));
    }
    form(&pairs)
}

/// Every page of the console, as (who, path): `None` = signed out.
fn pages() -> Vec<(Option<&'static str>, String)> {
    let rec = employee();
    let id = rec["id"].as_str().unwrap();
    let seq = audit_head_seq(w().c(), &w().staff.auditor.token);
    vec![
        (None, "/ui/login".into()),
        (Some("hr"), "/ui/employees".into()),
        (
            Some("hr"),
            "/ui/employees?q=Grace&department=R%26D&status=onboarding".into(),
        ),
        (Some("hr"), "/ui/employees/new".into()),
        (Some("hr"), format!("/ui/employees/{id}")),
        (Some("hr"), format!("/ui/employees/{id}/edit")),
        (Some("hr"), format!("/ui/employees/{id}/delete")),
        (Some("hr"), "/ui/import".into()),
        (Some("security"), "/ui/employees".into()),
        (Some("security"), format!("/ui/employees/{id}")),
        (Some("auditor"), "/ui/audit".into()),
        (Some("auditor"), format!("/ui/audit/{seq}")),
        (Some("security"), "/ui/alerts".into()),
        (Some("security"), "/ui/flags".into()),
        (Some("admin"), "/ui/users".into()),
        // A page the role may not use: 403, with the same headers.
        (Some("hr"), "/ui/users".into()),
        (Some("admin"), "/ui/employees".into()),
    ]
}

/// Signs in each role once.
fn sessions() -> Vec<(&'static str, Ui)> {
    ["hr", "auditor", "security", "admin"]
        .into_iter()
        .map(|r| (r, Ui::sign_in(w().staff.of(r))))
        .collect()
}

fn fetch(sessions: &[(&'static str, Ui)], who: Option<&str>, path: &str) -> Resp {
    match who {
        None => raw().get(path).send(),
        Some(role) => sessions
            .iter()
            .find(|(r, _)| *r == role)
            .unwrap()
            .1
            .get(path),
    }
}

/// What is wrong with a response's security headers.
fn header_problems(r: &Resp) -> Vec<String> {
    let mut out = Vec::new();
    for (name, want) in [
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
    ] {
        if r.header(name) != Some(want) {
            out.push(format!("{name} is {:?}, want {want:?}", r.header(name)));
        }
    }
    out
}

#[track_caller]
fn assert_security_headers(what: &str, r: &Resp) {
    let p = header_problems(r);
    assert!(p.is_empty(), "{what}: {}", p.join("; "));
}

/// Every page: the exact CSP, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`,
/// `nosniff`, HTML, and `Cache-Control: no-store` (docs/console.md: every console response;
/// CONTRACT §5: at least every page with employee data) — 403 pages included.
#[test]
fn every_page_carries_the_security_headers() {
    let s = sessions();
    // Every page is checked before failing, so one run names every page that is wrong.
    let mut problems = Vec::new();
    for (who, path) in pages() {
        let r = fetch(&s, who, &path);
        let what = format!("{} GET {path} ({})", who.unwrap_or("signed out"), r.status);
        let forbidden = matches!(
            (who, path.as_str()),
            (Some("hr"), "/ui/users") | (Some("admin"), "/ui/employees")
        );
        let want = if forbidden { 403 } else { 200 };
        if r.status != want {
            problems.push(format!("{what}: status, want {want}"));
        }
        problems.extend(
            header_problems(&r)
                .into_iter()
                .map(|p| format!("{what}: {p}")),
        );
        let ct = r.header("content-type").unwrap_or("");
        if !ct.starts_with("text/html") {
            problems.push(format!("{what}: content type {ct:?}"));
        }
        let cache = r.header("cache-control").unwrap_or("");
        if !cache.split(',').any(|d| d.trim() == "no-store") {
            problems.push(format!("{what}: Cache-Control {cache:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The reveal result (a POST with the full values) is `no-store` with the same headers, and
/// the values are on it.
#[test]
fn the_reveal_result_is_not_stored() {
    let hr = Ui::sign_in(&w().staff.hr);
    let rec = employee();
    let id = rec["id"].as_str().unwrap();
    let page = hr.get(&format!("/ui/employees/{id}"));
    page.expect(200);
    let full = reveal(w().c(), &w().staff.hr.token, id, &["ssn"])
        .expect(200)
        .json()["ssn"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = hr.post(
        &format!("/ui/employees/{id}/reveal"),
        &form(&[
            ("fields", "ssn"),
            ("reason", "benefits enrolment check BEN-4411"),
            ("csrf", &csrf_of(&page.text())),
        ]),
    );
    assert_eq!(r.status, 200, "reveal: {}", r.text());
    assert!(r.text().contains(&full), "the revealed SSN is on the page");
    assert_security_headers("reveal result", &r);
    assert!(
        r.header("cache-control")
            .is_some_and(|c| c.split(',').any(|d| d.trim() == "no-store")),
        "reveal result Cache-Control: {:?}",
        r.header("cache-control")
    );
}

/// `GET /` → 303 to `/ui/`; `/ui/` signed out → the sign-in page.
#[test]
fn root_redirects_to_the_console_and_the_console_to_sign_in() {
    let r = raw().get("/").send();
    assert_eq!(r.status, 303, "GET /: {}", r.text());
    assert_eq!(r.header("location"), Some("/ui/"));
    let r = raw().get("/ui/").send();
    assert!(
        (300..400).contains(&r.status),
        "GET /ui/ signed out: {}",
        r.status
    );
    assert!(
        r.header("location")
            .is_some_and(|l| l.starts_with("/ui/login")),
        "GET /ui/ signed out goes to {:?}",
        r.header("location")
    );
    // Signed in, `/ui/` sends each role to its first link.
    for (role, first) in [
        ("hr", "/ui/employees"),
        ("auditor", "/ui/audit"),
        ("security", "/ui/employees"),
        ("admin", "/ui/users"),
    ] {
        let r = Ui::sign_in(w().staff.of(role)).get("/ui/");
        assert!(
            (300..400).contains(&r.status),
            "{role} GET /ui/: {}",
            r.status
        );
        assert_eq!(r.header("location"), Some(first), "{role} GET /ui/");
    }
}

/// The session cookie over plain HTTP: `hrvault_session`, HttpOnly, SameSite=Strict, Path=/,
/// no Domain, and not Secure (a Secure cookie would never come back over http); the sign-in
/// form's pre-session cookie is HttpOnly and SameSite=Strict too.
#[test]
fn session_cookie_flags_over_plain_http() {
    let page = raw().get("/ui/login").send();
    let pre = cookie_named(page.header_all("set-cookie"), "hrvault_login")
        .unwrap_or_else(|| panic!("no pre-session cookie: {:?}", page.headers));
    assert_eq!(pre.name, "hrvault_login", "{}", pre.line);
    assert!(pre.has("httponly"), "{}", pre.line);
    assert_eq!(pre.attr("samesite"), Some("Strict"), "{}", pre.line);

    let ui = Ui::sign_in(&w().staff.hr);
    let c = &ui.set;
    assert_eq!(c.name, "hrvault_session", "{}", c.line);
    assert!(
        c.value.len() >= 32,
        "a session secret of 256 bits: {}",
        c.line
    );
    assert!(c.has("httponly"), "{}", c.line);
    assert_eq!(c.attr("samesite"), Some("Strict"), "{}", c.line);
    assert_eq!(c.attr("path"), Some("/"), "{}", c.line);
    assert!(!c.has("secure"), "no Secure over plain http: {}", c.line);
    assert!(!c.has("domain"), "a host-only cookie: {}", c.line);
    assert_eq!(ui.get("/ui/employees").status, 200);
}

/// Over TLS: `__Host-hrvault_session` with Secure, Path=/ and no Domain, and the session works.
#[test]
fn session_cookie_over_tls_is_host_prefixed_and_secure() {
    let vault = VaultDir::init();
    let pki = TestPki::new(vault.root.path(), "ui");
    let args = pki.serve_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_with(
        &vault.data,
        vault.root.path(),
        ServeOpts {
            args: &args,
            ..ServeOpts::default()
        },
    );
    let https = |method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]| {
        https_request_with(&server.addr, method, path, &pki.ca_pem, None, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path} over TLS: {e}"))
    };
    let set_cookies = |head: &str| -> Vec<SetCookie> {
        head.lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("set-cookie")
                    .then(|| SetCookie::parse(v.trim()))
            })
            .collect()
    };
    let page = https("GET", "/ui/login", &[], b"");
    assert_eq!(page.status, 200, "{}", page.head);
    let pre = set_cookies(&page.head)
        .into_iter()
        .find(|c| c.name.ends_with("hrvault_login"))
        .unwrap_or_else(|| panic!("no pre-session cookie: {}", page.head));
    assert!(
        pre.has("secure"),
        "pre-session cookie under TLS: {}",
        pre.line
    );
    let body = form(&[
        ("username", "admin"),
        ("password", ADMIN_PASSWORD),
        ("csrf", &csrf_of(&text(&page.body))),
    ]);
    let pre_cookie = format!("{}={}", pre.name, pre.value);
    let r = https(
        "POST",
        "/ui/login",
        &[("cookie", &pre_cookie), ("content-type", FORM)],
        body.as_bytes(),
    );
    assert_eq!(r.status, 303, "sign-in over TLS: {}", r.head);
    let c = set_cookies(&r.head)
        .into_iter()
        .find(|c| c.name.ends_with("hrvault_session"))
        .unwrap_or_else(|| panic!("no session cookie: {}", r.head));
    assert_eq!(c.name, "__Host-hrvault_session", "{}", c.line);
    assert!(c.has("secure"), "{}", c.line);
    assert!(c.has("httponly"), "{}", c.line);
    assert_eq!(c.attr("samesite"), Some("Strict"), "{}", c.line);
    assert_eq!(c.attr("path"), Some("/"), "{}", c.line);
    assert!(!c.has("domain"), "{}", c.line);
    let session = format!("{}={}", c.name, c.value);
    let location = |r: &TlsResp| {
        r.head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("location")
                    .then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    // `/ui/` sends a signed-in admin to Users, anyone else to the sign-in page.
    let home = https("GET", "/ui/", &[("cookie", &session)], b"");
    assert_eq!(
        location(&home),
        "/ui/users",
        "the __Host- session works: {}",
        home.head
    );
    // The plain name is not a session under TLS.
    let plain = format!("hrvault_session={}", c.value);
    let r = https("GET", "/ui/", &[("cookie", &plain)], b"");
    assert!(
        location(&r).starts_with("/ui/login"),
        "hrvault_session without __Host- under TLS: {}",
        r.head
    );
}

/// A POST without the CSRF token, or with a wrong one, is 403 and creates nothing; the same
/// form with the token creates the record (so the refusal was the token's). Sign-in and
/// sign-out need their tokens too.
#[test]
fn a_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let hr = Ui::sign_in(&w().staff.hr);
    let number = unique_number();
    let fields = new_hire_fields(&number);
    let r = hr.post("/ui/employees/new", &encode(&fields, None));
    assert_eq!(r.status, 403, "new hire without csrf: {}", r.text());
    assert_security_headers("403 for a missing csrf", &r);
    let r = hr.post(
        "/ui/employees/new",
        &encode(&fields, Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
    );
    assert_eq!(r.status, 403, "new hire with a wrong csrf: {}", r.text());
    // A token of another session is wrong too.
    let other = Ui::sign_in(&w().staff.hr);
    let other_csrf = csrf_of(&other.get("/ui/employees/new").text());
    let r = hr.post("/ui/employees/new", &encode(&fields, Some(&other_csrf)));
    assert_eq!(
        r.status,
        403,
        "new hire with another session's csrf: {}",
        r.text()
    );
    assert!(
        !employee_numbers().contains(&number),
        "a refused POST created {number}"
    );

    let csrf = csrf_of(&hr.get("/ui/employees/new").text());
    let r = hr.post("/ui/employees/new", &encode(&fields, Some(&csrf)));
    assert_eq!(r.status, 303, "new hire with the csrf token: {}", r.text());
    assert!(
        r.header("location")
            .is_some_and(|l| l.starts_with("/ui/employees/")),
        "{:?}",
        r.header("location")
    );
    assert!(employee_numbers().contains(&number));

    // Sign-out without the token does not end the session.
    let r = hr.post("/ui/logout", "");
    assert_eq!(r.status, 403, "sign-out without csrf: {}", r.text());
    assert_eq!(hr.get("/ui/employees").status, 200, "the session survived");

    // Sign-in without the token (a forged cross-site sign-in) is refused, and sets no session.
    let page = raw().get("/ui/login").send();
    let pre = cookie_named(page.header_all("set-cookie"), "hrvault_login").unwrap();
    let r = raw()
        .post("/ui/login")
        .header("cookie", &format!("{}={}", pre.name, pre.value))
        .raw(
            FORM,
            form(&[("username", "admin"), ("password", ADMIN_PASSWORD)]),
        )
        .send();
    assert_eq!(r.status, 403, "sign-in without csrf: {}", r.text());
    assert!(cookie_named(r.header_all("set-cookie"), "hrvault_session").is_none());
    // ... and so is one whose token is not bound to this browser's pre-session cookie.
    let r = raw()
        .post("/ui/login")
        .raw(
            FORM,
            form(&[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("csrf", &csrf_of(&page.text())),
            ]),
        )
        .send();
    assert_eq!(
        r.status,
        403,
        "sign-in without the pre-session cookie: {}",
        r.text()
    );
}

/// Is `url` (a `src`/`href`/`action` value) on the page's own origin?
fn same_origin(url: &str, base: &str) -> bool {
    let u = url.trim();
    if u.starts_with("//") {
        return false;
    }
    let lower = u.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return u.starts_with(&format!("{base}/")) || u == base;
    }
    // No other scheme (javascript:, data: for anything but images, ...).
    !lower
        .split(['/', '?', '#'])
        .next()
        .is_some_and(|first| first.contains(':'))
}

/// Every `src`, `href` and `action` on every page is on the console's own origin; no inline
/// script, inline style or event-handler attribute (the CSP would block them: the page would be
/// broken in a browser); `img` `data:` URLs are the only exception the CSP allows.
#[test]
fn pages_load_nothing_from_elsewhere_and_carry_no_inline_code() {
    let s = sessions();
    let base = &w().server.base;
    let mut assets = Vec::new();
    for (who, path) in pages() {
        let r = fetch(&s, who, &path);
        let html = r.text();
        let what = format!("{} {path}", who.unwrap_or("signed out"));
        for tag in [
            "a", "link", "script", "img", "form", "iframe", "source", "use", "image",
        ] {
            for t in tags(&html, tag) {
                for a in [
                    "src",
                    "href",
                    "action",
                    "xlink:href",
                    "srcset",
                    "formaction",
                ] {
                    let Some(v) = attr_of(t, a) else { continue };
                    let ok = same_origin(&v, base)
                        || (tag == "img" && a == "src" && v.starts_with("data:image/"));
                    assert!(ok, "{what}: {a}={v:?} in {t}");
                    if matches!(tag, "link" | "script" | "img") && v.starts_with('/') {
                        assets.push((who, v));
                    }
                }
            }
        }
        for t in tags(&html, "script") {
            assert!(attr_of(t, "src").is_some(), "{what}: inline script {t}");
        }
        assert!(tags(&html, "style").is_empty(), "{what}: a <style> element");
        for el in ["iframe", "object", "embed"] {
            assert!(tags(&html, el).is_empty(), "{what}: {:?}", tags(&html, el));
        }
        // Any start tag with style= or on*= attributes.
        let mut at = 0;
        while let Some(i) = html[at..].find('<') {
            let start = at + i;
            let end = html[start..]
                .find('>')
                .map_or(html.len(), |j| start + j + 1);
            let t = &html[start..end];
            at = end.max(start + 1);
            if t.starts_with("<!") || t.starts_with("</") {
                continue;
            }
            assert!(attr_of(t, "style").is_none(), "{what}: inline style in {t}");
            for word in t.split(|c: char| c.is_whitespace()) {
                let name = word.split('=').next().unwrap_or("").to_ascii_lowercase();
                assert!(
                    !(name.starts_with("on") && name.len() > 2 && word.contains('=')),
                    "{what}: event handler attribute in {t}"
                );
            }
        }
    }
    assets.sort();
    assets.dedup();
    assert!(
        assets.iter().any(|(_, a)| a.starts_with("/ui/assets/")),
        "the pages use the console's assets: {assets:?}"
    );
    // Each one loads for whoever's page referred to it.
    for (who, a) in assets {
        let r = fetch(&s, who, &a);
        assert_eq!(r.status, 200, "{} loads {a}", who.unwrap_or("signed out"));
    }
}

/// The assets: CSS as `text/css`, the script as JavaScript, the chart as SVG, with `nosniff`.
#[test]
fn assets_are_served_with_their_content_types() {
    for (path, types) in [
        ("/ui/assets/console.css", &["text/css"][..]),
        (
            "/ui/assets/console.js",
            &["text/javascript", "application/javascript"][..],
        ),
    ] {
        let r = raw().get(path).send();
        assert_eq!(r.status, 200, "{path}");
        let ct = r.header("content-type").unwrap_or("");
        assert!(
            types.iter().any(|t| ct.starts_with(t)),
            "{path}: content type {ct:?}"
        );
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert!(!r.body.is_empty(), "{path} is empty");
    }
    let auditor = Ui::sign_in(&w().staff.auditor);
    let r = auditor.get("/ui/audit/chart.svg");
    assert_eq!(r.status, 200, "chart: {}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("image/svg+xml")),
        "chart content type {:?}",
        r.header("content-type")
    );
    assert!(r.text().contains("<svg"), "the chart is an SVG");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    // The chart is an audit page: not for hr.
    let hr = Ui::sign_in(&w().staff.hr);
    assert_eq!(hr.get("/ui/audit/chart.svg").status, 403);
}

/// Sign-in attempts are limited as for the API: past the limit the page says "Too many
/// attempts; try again in N seconds" (429), even for the right password.
#[test]
fn sign_in_attempts_are_limited() {
    let u = create_user(w().c(), &w().staff.admin.token, "hr-limited-ui", "hr");
    let attempt = |password: &str| {
        let c = raw();
        let page = c.get("/ui/login").send();
        let pre = cookie_named(page.header_all("set-cookie"), "hrvault_login").unwrap();
        c.post("/ui/login")
            .header("cookie", &format!("{}={}", pre.name, pre.value))
            .raw(
                FORM,
                form(&[
                    ("username", &u.username),
                    ("password", password),
                    ("csrf", &csrf_of(&page.text())),
                ]),
            )
            .send()
    };
    for i in 0..10 {
        let r = attempt("wrong-password-000");
        assert_eq!(r.status, 401, "attempt {i}: {}", r.text());
        assert!(r.text().contains("Invalid username or password"));
    }
    let r = attempt("wrong-password-000");
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(
        r.text().contains("Too many attempts; try again in "),
        "{}",
        r.text()
    );
    let r = attempt(&u.password);
    assert_eq!(
        r.status,
        429,
        "the right password past the limit: {}",
        r.text()
    );
    assert!(cookie_named(r.header_all("set-cookie"), "hrvault_session").is_none());
}

/// What revokes a token ends a console session at its next request: disabling the user, and
/// changing their role.
#[test]
fn disable_and_role_change_end_console_sessions() {
    let c = w().c();
    let admin = &w().staff.admin.token;
    for (name, change) in [
        ("hr-disabled-ui", json!({"enabled": false})),
        ("hr-rerolled-ui", json!({"role": "payroll"})),
    ] {
        let u = create_user(c, admin, name, "hr");
        let ui = Ui::sign_in(&u);
        assert_eq!(ui.get("/ui/employees").status, 200, "{name} signed in");
        c.patch(&format!("/v1/users/{}", u.id))
            .token(admin)
            .json(&change)
            .send()
            .expect(200);
        let r = ui.get("/ui/employees");
        assert!(
            (300..400).contains(&r.status)
                && r.header("location")
                    .is_some_and(|l| l.starts_with("/ui/login")),
            "{name} after {change}: {} {:?}",
            r.status,
            r.header("location")
        );
        let rejected = audit_entries(
            c,
            &w().staff.auditor.token,
            &format!("action=auth.token_rejected&actor={name}"),
            0,
        );
        assert!(!rejected.is_empty(), "{name}: the ended session is audited");
    }
}
