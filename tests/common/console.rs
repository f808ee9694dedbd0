//! A signed-in console user over plain HTTP, as a browser without script: a cookie jar, no
//! redirect followed (each 303 is checked), each form's hidden `csrf` taken from its page.

use std::time::Duration;

use super::User;

/// A response, read whole.
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Page {
    /// The page's (first) form's CSRF token.
    #[track_caller]
    pub fn csrf(&self) -> String {
        self.hidden("csrf")
    }

    /// The `seq` of every link to an audit entry, in page order.
    pub fn entry_links(&self) -> Vec<u64> {
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(i) = rest.find("href=\"/ui/audit/") {
            rest = &rest[i + "href=\"/ui/audit/".len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() && rest[digits.len()..].starts_with('"') {
                out.push(digits.parse().unwrap());
            }
        }
        out
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// The value of the hidden input `name` (the form's `csrf`, an edit's `version`).
    #[track_caller]
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no hidden {name} in: {}", self.body))
            + marker.len();
        let len = self.body[at..].find('"').unwrap();
        self.body[at..at + len].to_owned()
    }
}

/// A cookie-keeping client that follows no redirect.
pub struct ConsoleClient {
    agent: ureq::Agent,
    base: String,
    pub cookies: Vec<(String, String)>,
}

impl ConsoleClient {
    pub fn new(base: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
            base: base.to_owned(),
            cookies: Vec::new(),
        }
    }

    pub fn send(&mut self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Page {
        let mut b = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            b = b.header("cookie", jar.join("; "));
        }
        let result = match body {
            Some((kind, bytes)) => self
                .agent
                .run(b.header("content-type", kind).body(bytes).unwrap()),
            None => self.agent.run(b.body(()).unwrap()),
        };
        let mut resp = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let pair = v.split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                self.cookies.retain(|(n, _)| n != name);
                if !v.contains("Max-Age=0") {
                    self.cookies.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_string()
            .unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None)
    }

    pub fn post(&mut self, path: &str, pairs: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(pairs).unwrap().into_bytes();
        self.send(
            "POST",
            path,
            Some(("application/x-www-form-urlencoded", body)),
        )
    }

    /// Signs in through the sign-in form; panics unless the console accepts.
    pub fn signed_in(base: &str, user: &User) -> Self {
        let mut b = Self::new(base);
        let login = b.get("/ui/login");
        login.expect(200);
        assert!(b.cookies.iter().any(|(n, _)| n == "hrvault_login"));
        let csrf = login.hidden("csrf");
        let r = b.post(
            "/ui/login",
            &[
                ("username", &user.username),
                ("password", &user.password),
                ("csrf", &csrf),
            ],
        );
        r.expect(303);
        assert!(
            b.cookies.iter().any(|(n, _)| n == "hrvault_session"),
            "no session cookie after sign-in"
        );
        b
    }

    /// GETs `page` (200) and returns its form's csrf token.
    #[track_caller]
    pub fn csrf_of(&mut self, page: &str) -> String {
        let p = self.get(page);
        p.expect(200);
        p.hidden("csrf")
    }
}

impl ConsoleClient {
    /// POST with the CSRF token of the page at `from`.
    pub fn submit(&mut self, from: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.get(from).csrf();
        let mut all = form.to_vec();
        all.push(("csrf", csrf.as_str()));
        self.post(path, &all)
    }
}

/// The text between `start` and the next `end`.
pub fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(s[i..j].to_owned())
}
