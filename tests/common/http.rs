//! A plain-HTTP client (ureq) for which every status is a response, not an error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::text;

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The `x-request-id` the request was sent with.
    pub request_id: String,
}

impl Resp {
    /// The body as text.
    pub fn text(&self) -> String {
        text(&self.body)
    }

    /// The body as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text()))
    }

    /// A header value (first one), case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header (e.g. each `set-cookie`), case-insensitive name.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Asserts the status, showing the body if it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// Asserts an RFC 9457 problem body with this status and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problem content type; body: {}",
            self.text()
        );
        let v = self.json();
        for k in ["type", "title", "detail"] {
            assert!(v[k].is_string(), "problem member {k} missing: {v}");
        }
        assert_eq!(v["status"], json!(status), "problem status member: {v}");
        v
    }

    /// The `field`s of a 422's `errors`.
    #[track_caller]
    pub fn error_fields(&self) -> Vec<String> {
        let v = self.problem(422);
        v["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("422 without errors[]: {v}"))
            .iter()
            .map(|e| e["field"].as_str().expect("errors[].field").to_owned())
            .collect()
    }
}

/// A plain-HTTP client for which non-2xx statuses are responses, not errors.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
}

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(0);

impl Client {
    /// A client for `base` (`http://host:port`); it follows redirects.
    pub fn new(base: &str) -> Self {
        Self::with_redirects(base, 10)
    }

    /// A client for `base` that returns a redirect as the response (to check `Location`).
    pub fn no_redirects(base: &str) -> Self {
        Self::with_redirects(base, 0)
    }

    fn with_redirects(base: &str, max_redirects: u32) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(max_redirects)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
            base: base.to_owned(),
        }
    }

    /// A request; every request gets a unique `x-request-id` so tests can find its audit entry.
    pub fn req(&self, method: &str, path: &str) -> Req<'_> {
        let n = REQUEST_SEQ.fetch_add(1, Ordering::SeqCst);
        Req {
            client: self,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
            request_id: format!("t{}-{n}", std::process::id()),
        }
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.req("GET", path)
    }

    pub fn post(&self, path: &str) -> Req<'_> {
        self.req("POST", path)
    }

    pub fn patch(&self, path: &str) -> Req<'_> {
        self.req("PATCH", path)
    }

    pub fn delete(&self, path: &str) -> Req<'_> {
        self.req("DELETE", path)
    }

    /// `POST /v1/auth/login`; returns the access token (panics unless 200).
    #[track_caller]
    pub fn login(&self, username: &str, password: &str) -> String {
        let r = self.login_raw(username, password);
        r.expect(200);
        let v = r.json();
        assert_eq!(v["token_type"], "Bearer");
        v["access_token"].as_str().expect("access_token").to_owned()
    }

    /// `POST /v1/auth/login`, any outcome.
    pub fn login_raw(&self, username: &str, password: &str) -> Resp {
        self.post("/v1/auth/login")
            .json(&json!({"username": username, "password": password}))
            .send()
    }
}

/// A request being built.
pub struct Req<'a> {
    client: &'a Client,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    request_id: String,
}

impl Req<'_> {
    /// `Authorization: Bearer TOKEN`.
    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Any header (replaces the generated `x-request-id` if that is the name).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if name.eq_ignore_ascii_case("x-request-id") {
            value.clone_into(&mut self.request_id);
        } else {
            self.headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// A JSON body.
    pub fn json(self, v: &Value) -> Self {
        self.raw("application/json", serde_json::to_vec(v).unwrap())
    }

    /// A body with a content type.
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.headers
            .push(("content-type".into(), content_type.to_owned()));
        self.body = Some(body.into());
        self
    }

    /// Sends it and reads the whole response.
    #[track_caller]
    pub fn send(self) -> Resp {
        self.try_send().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends it and reads the whole response; a transport failure (refused, reset, a server
    /// that died mid-request) is an `Err` naming the request instead of a panic.
    pub fn try_send(self) -> Result<Resp, String> {
        let url = format!("{}{}", self.client.base, self.path);
        let mut b = ureq::http::Request::builder()
            .method(self.method.as_str())
            .uri(&url);
        if !self.request_id.is_empty() {
            b = b.header("x-request-id", &self.request_id);
        }
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        let result = match self.body {
            Some(body) => self.client.agent.run(b.body(body).unwrap()),
            None => self.client.agent.run(b.body(()).unwrap()),
        };
        let mut resp =
            result.map_err(|e| format!("{} {} failed at the transport: {e}", self.method, url))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| format!("reading the body of {} {url}: {e}", self.method))?;
        Ok(Resp {
            status,
            headers,
            body,
            request_id: self.request_id,
        })
    }
}
