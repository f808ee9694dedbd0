//! `POST /v1/oauth/token` as RFC 6749 and the common client libraries see it: HTTP Basic client
//! authentication (authlib's and requests-oauthlib's default) and form credentials; one method
//! at a time; `invalid_client` is a 401 with a Basic challenge however the client authenticated;
//! every answer `no-store`/`no-cache`; and the token works on the payroll export.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::world;

/// A response read off the socket by hand.
pub(super) struct Raw {
    pub(super) status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Sends `head` + `body` on a fresh connection exactly as written and reads one response.
pub(super) fn send(head: &str, body: &[u8]) -> Raw {
    let base = &world().server.base;
    let addr = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let head = head
        .replace("{host}", addr)
        .replace("{len}", &body.len().to_string());
    s.write_all(head.replace('\n', "\r\n").as_bytes()).unwrap();
    s.write_all(b"\r\n").unwrap();
    s.write_all(body).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    Raw {
        status,
        headers,
        body,
    }
}

/// What requests-oauthlib 2.0 (`OAuth2Session(client=BackendApplicationClient(client_id))
/// .fetch_token(url, client_id=..., client_secret=...)`) writes: `HTTPBasicAuth` with the raw
/// id and secret, `Accept: application/json`, the form with only `grant_type`.
fn requests_oauthlib(id: &str, secret: &str) -> Raw {
    let basic = B64.encode(format!("{id}:{secret}"));
    send(
        &format!(
            "POST /v1/oauth/token HTTP/1.1
Host: {{host}}
User-Agent: python-requests/2.32.3
Accept-Encoding: gzip, deflate
Accept: application/json
Connection: keep-alive
Content-Type: application/x-www-form-urlencoded;charset=UTF-8
Content-Length: {{len}}
Authorization: Basic {basic}
"
        ),
        b"grant_type=client_credentials",
    )
}

/// What authlib 1.x (`OAuth2Session(id, secret).fetch_token(url,
/// grant_type="client_credentials")`, `token_endpoint_auth_method="client_secret_basic"`)
/// writes: each part `quote()`d before base64.
fn authlib(id: &str, secret: &str) -> Raw {
    let quote = |s: &str| {
        s.replace('%', "%25")
            .replace('@', "%40")
            .replace(':', "%3A")
    };
    let basic = B64.encode(format!("{}:{}", quote(id), quote(secret)));
    send(
        &format!(
            "POST /v1/oauth/token HTTP/1.1
Host: {{host}}
User-Agent: Authlib/1.3.2 (+https://authlib.org/)
Accept-Encoding: gzip, deflate
Accept: application/json
Connection: keep-alive
Content-Type: application/x-www-form-urlencoded;charset=UTF-8
Authorization: Basic {basic}
Content-Length: {{len}}
"
        ),
        b"grant_type=client_credentials",
    )
}

/// The form variant (`client_secret_post`).
fn form_post(body: &str, extra_header: &str) -> Raw {
    send(
        &format!(
            "POST /v1/oauth/token HTTP/1.1
Host: {{host}}
Accept: application/json
Content-Type: application/x-www-form-urlencoded
Content-Length: {{len}}
{extra_header}"
        ),
        body.as_bytes(),
    )
}

fn assert_no_store(r: &Raw) {
    assert_eq!(
        r.header("cache-control"),
        Some("no-store"),
        "{:?}",
        r.headers
    );
    assert_eq!(r.header("pragma"), Some("no-cache"), "{:?}", r.headers);
}

fn assert_invalid_client(r: &Raw, what: &str) {
    assert_eq!(
        r.status,
        401,
        "{what}: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["error"], "invalid_client", "{what}");
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Basic realm="hrvault""#),
        "{what}"
    );
    assert_no_store(r);
}

fn service_account(name: &str) -> String {
    let w = world();
    let r = w
        .c()
        .post("/v1/users")
        .token(&w.staff.admin.token)
        .json(&json!({"username": name, "role": "payroll", "kind": "service"}))
        .send();
    r.expect(201).json()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn client_libraries_get_a_token_with_their_defaults_and_it_exports_payroll() {
    let w = world();
    let secret = service_account("payroll@svc-edge");
    for (lib, r) in [
        (
            "requests-oauthlib",
            requests_oauthlib("payroll@svc-edge", &secret),
        ),
        ("authlib", authlib("payroll@svc-edge", &secret)),
        (
            "form",
            form_post(
                &format!(
                    "grant_type=client_credentials&client_id=payroll%40svc-edge&client_secret={secret}"
                ),
                "",
            ),
        ),
    ] {
        assert_eq!(r.status, 200, "{lib}: {}", String::from_utf8_lossy(&r.body));
        assert_no_store(&r);
        let t = r.json();
        assert_eq!(t["token_type"], "Bearer", "{lib}");
        assert!(t["expires_in"].as_i64().unwrap() > 0);
        let export = w
            .c()
            .get("/v1/payroll/export")
            .token(t["access_token"].as_str().unwrap())
            .send();
        export.expect(200);
        assert!(
            export
                .header("content-type")
                .unwrap()
                .starts_with("application/x-ndjson"),
            "{lib}"
        );
    }
}

#[test]
fn bad_clients_are_401_invalid_client_with_a_basic_challenge_whichever_way() {
    let secret = service_account("svc-edge-bad");
    assert_invalid_client(
        &requests_oauthlib("svc-edge-bad", "wrong"),
        "basic, wrong secret",
    );
    assert_invalid_client(
        &authlib("svc-edge-nobody", &secret),
        "basic, unknown client",
    );
    assert_invalid_client(
        &form_post(
            "grant_type=client_credentials&client_id=svc-edge-bad&client_secret=wrong",
            "",
        ),
        "form, wrong secret",
    );
    assert_invalid_client(
        &form_post("grant_type=client_credentials", ""),
        "no client authentication",
    );
    assert_invalid_client(
        &form_post(
            "grant_type=client_credentials",
            "Authorization: Basic !!notbase64\n",
        ),
        "garbage Basic header",
    );
    assert_invalid_client(
        &form_post(
            "grant_type=client_credentials",
            "Authorization: Bearer abc\n",
        ),
        "another scheme",
    );
    // Both methods at once: invalid_request, 400.
    let basic = B64.encode(format!("svc-edge-bad:{secret}"));
    let r = form_post(
        &format!("grant_type=client_credentials&client_id=svc-edge-bad&client_secret={secret}"),
        &format!("Authorization: Basic {basic}\n"),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
    assert_no_store(&r);
    // Grant type problems: 400 with their own codes, no-store too.
    let r = form_post("grant_type=password&username=a&password=b", "");
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("unsupported_grant_type"))
    );
    assert_no_store(&r);
    let r = form_post("client_id=svc-edge-bad", "");
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_request"))
    );
    assert_no_store(&r);
    // The right secret by Basic still works after all that (4 failures < the limit of 10).
    assert_eq!(requests_oauthlib("svc-edge-bad", &secret).status, 200);
}

/// `GET /.well-known/jwks.json` (no auth): a login token verifies through it with jsonwebtoken's
/// own JWK support, as any third party would, and its header `kid` names the key.
#[test]
fn a_login_token_verifies_through_the_jwks() {
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
    let w = world();
    let r = w.c().get("/.well-known/jwks.json").send();
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("application/jwk-set+json"));
    let set: JwkSet = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(set.keys.len(), 1);
    let raw = r.json();
    let k = &raw["keys"][0];
    assert_eq!(
        (&k["kty"], &k["crv"], &k["alg"], &k["use"]),
        (
            &json!("OKP"),
            &json!("Ed25519"),
            &json!("EdDSA"),
            &json!("sig")
        )
    );
    let token = &w.staff.hr.token;
    let kid = decode_header(token)
        .unwrap()
        .kid
        .expect("a kid in the header");
    let jwk = set.find(&kid).expect("the token's kid is in the set");
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&["hrvault-api"]);
    v.set_issuer(&["hrvault"]);
    let data = decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v).unwrap();
    assert_eq!(data.claims["role"], "hr");
    assert_eq!(data.claims["sub"], w.staff.hr.id.as_str());
    // A tampered signature does not verify against this set.
    let mut forged = token.clone().into_bytes();
    let i = forged.len() - 10;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert!(decode::<Value>(&forged, &DecodingKey::from_jwk(jwk).unwrap(), &v).is_err());
}
