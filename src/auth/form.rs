//! The client-credentials token request (RFC 6749 §4.4): an
//! `application/x-www-form-urlencoded` body, parsed strictly, and the client's authentication,
//! by HTTP Basic (RFC 6749 §2.3.1, which servers MUST support) or by `client_id` and
//! `client_secret` in the form — exactly one of the two. Untrusted input: fuzzed
//! (`fuzz/fuzz_targets/token_form.rs`, which drives the header and the body).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::SecretString;
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A well-formed client-credentials request. No `Debug`: it holds the secret.
pub struct ClientCredentials {
    /// The service account's username.
    pub client_id: String,
    /// Its secret, checked against the stored argon2id hash.
    pub client_secret: SecretString,
    /// How the client authenticated.
    pub method: ClientAuthMethod,
}

/// RFC 7591 names of the two client authentication methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// Why a token request is refused before any credential is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRequestError {
    /// 400 `invalid_request`: not a form, or a parameter repeated.
    Malformed,
    /// 400 `invalid_request`: no `grant_type`.
    MissingGrantType,
    /// 400 `unsupported_grant_type`: a grant type other than `client_credentials`.
    UnsupportedGrantType,
    /// 400 `invalid_request`: HTTP Basic and form credentials at once (RFC 6749 §2.3: a client
    /// MUST NOT use more than one method).
    TwoAuthMethods,
    /// 401 `invalid_client`: no client authentication, or an empty `client_id`/`client_secret`.
    MissingCredentials,
    /// 401 `invalid_client`: an `Authorization` header that is not a well-formed Basic
    /// credential (another scheme, bad base64, no `:`, bad percent-encoding, not UTF-8).
    BadAuthorization,
}

impl TokenRequestError {
    /// The RFC 6749 §5.2 `error` code.
    pub fn code(self) -> &'static str {
        match self {
            TokenRequestError::UnsupportedGrantType => "unsupported_grant_type",
            TokenRequestError::MissingCredentials | TokenRequestError::BadAuthorization => {
                "invalid_client"
            }
            _ => "invalid_request",
        }
    }

    /// Whether the answer is 401 `invalid_client` (else 400).
    pub fn is_client_error(self) -> bool {
        self.code() == "invalid_client"
    }

    /// The `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            TokenRequestError::Malformed => {
                "the body must be a form with grant_type (and client_id and client_secret unless sent by HTTP Basic), each once"
            }
            TokenRequestError::MissingGrantType => "grant_type is required",
            TokenRequestError::UnsupportedGrantType => "only client_credentials is supported",
            TokenRequestError::TwoAuthMethods => {
                "authenticate the client once: by HTTP Basic or by client_id and client_secret in the form, not both"
            }
            TokenRequestError::MissingCredentials => {
                "client authentication is required (HTTP Basic, or client_id and client_secret in the form)"
            }
            TokenRequestError::BadAuthorization => {
                "the Authorization header is not a valid HTTP Basic client credential"
            }
        }
    }
}

/// Unknown parameters are ignored (RFC 6749 §3.2); a known one given twice is refused (serde's
/// duplicate-field error).
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    #[allow(
        dead_code,
        reason = "accepted and ignored: a service account's scope is its role"
    )]
    scope: Option<String>,
}

/// Parses a token request: the body, and the raw `Authorization` header if one was sent.
pub fn parse_token_request(
    body: &[u8],
    authorization: Option<&[u8]>,
) -> Result<ClientCredentials, TokenRequestError> {
    let form: TokenForm =
        serde_urlencoded::from_bytes(body).map_err(|_| TokenRequestError::Malformed)?;
    match form.grant_type.as_deref() {
        None => return Err(TokenRequestError::MissingGrantType),
        Some("client_credentials") => {}
        Some(_) => return Err(TokenRequestError::UnsupportedGrantType),
    }
    let (client_id, secret, method) = match authorization {
        Some(header) => {
            if form.client_id.is_some() || form.client_secret.is_some() {
                return Err(TokenRequestError::TwoAuthMethods);
            }
            let (id, secret) = parse_basic(header)?;
            (id, secret, ClientAuthMethod::ClientSecretBasic)
        }
        None => match (form.client_id.as_deref(), form.client_secret.as_deref()) {
            (Some(id), Some(s)) => (
                id.to_owned(),
                Zeroizing::new(s.to_owned()),
                ClientAuthMethod::ClientSecretPost,
            ),
            _ => return Err(TokenRequestError::MissingCredentials),
        },
    };
    if client_id.is_empty() || secret.is_empty() {
        return Err(TokenRequestError::MissingCredentials);
    }
    Ok(ClientCredentials {
        client_id,
        client_secret: SecretString::from(secret.as_str().to_owned()),
        method,
    })
}

/// `Basic base64(urlencode(client_id) ":" urlencode(client_secret))` (RFC 6749 §2.3.1, RFC 7617).
/// The scheme is case-insensitive; the decoded parts are form-urldecoded, which leaves a client
/// that skipped the encoding (as requests' `HTTPBasicAuth` does) unchanged unless its values
/// hold `%` or `+`.
pub fn parse_basic(header: &[u8]) -> Result<(String, Zeroizing<String>), TokenRequestError> {
    let bad = TokenRequestError::BadAuthorization;
    let text = std::str::from_utf8(header).map_err(|_| bad)?.trim();
    let (scheme, b64) = text.split_once(' ').ok_or(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad);
    }
    let b64 = b64.trim();
    if b64.len() > 4096 {
        return Err(bad);
    }
    let decoded = Zeroizing::new(B64.decode(b64).map_err(|_| bad)?);
    let colon = decoded.iter().position(|&b| b == b':').ok_or(bad)?;
    let id = form_urldecode(&decoded[..colon]).ok_or(bad)?;
    let secret = form_urldecode(&decoded[colon + 1..]).ok_or(bad)?;
    Ok((id.as_str().to_owned(), secret))
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte; the
/// result must be UTF-8. `None` for a bad escape.
fn form_urldecode(raw: &[u8]) -> Option<Zeroizing<String>> {
    let mut out = Zeroizing::new(Vec::with_capacity(raw.len()));
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    let s = std::str::from_utf8(&out).ok()?;
    Some(Zeroizing::new(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn parse(body: &[u8]) -> Result<ClientCredentials, TokenRequestError> {
        parse_token_request(body, None)
    }

    #[test]
    fn the_rfc_6749_cases() {
        let ok = parse(b"grant_type=client_credentials&client_id=svc&client_secret=a%2Bb")
            .ok()
            .unwrap();
        assert_eq!(
            (ok.client_id.as_str(), ok.client_secret.expose_secret()),
            ("svc", "a+b")
        );
        assert_eq!(ok.method, ClientAuthMethod::ClientSecretPost);
        let err = |b: &[u8]| parse(b).err().unwrap();
        assert_eq!(
            err(b"client_id=svc&client_secret=x"),
            TokenRequestError::MissingGrantType
        );
        assert_eq!(
            err(b"grant_type=password&client_id=svc&client_secret=x").code(),
            "unsupported_grant_type"
        );
        assert_eq!(
            err(b"grant_type=client_credentials&client_id=svc"),
            TokenRequestError::MissingCredentials
        );
        assert_eq!(
            err(b"grant_type=client_credentials&client_id=&client_secret=x").code(),
            "invalid_client"
        );
        assert_eq!(
            err(b"grant_type=client_credentials&grant_type=client_credentials&client_id=a&client_secret=b"),
            TokenRequestError::Malformed
        );
        assert_eq!(
            err(b"%zz"),
            TokenRequestError::MissingGrantType,
            "an undecodable key is just unknown"
        );
        let extra = parse(b"grant_type=client_credentials&client_id=a&client_secret=b&audience=x");
        assert!(
            extra.is_ok(),
            "unknown parameters are ignored (RFC 6749 §3.2)"
        );
    }

    #[test]
    fn http_basic_as_the_libraries_send_it() {
        // authlib: quote() each part; requests' HTTPBasicAuth: raw. Both decode the same here.
        let body = b"grant_type=client_credentials";
        for header in [
            format!("Basic {}", B64.encode("payroll-svc:Zk3_q-s3cr3t")),
            format!("basic {}", B64.encode("payroll%2Dsvc:Zk3_q-s3cr3t")),
        ] {
            let c = parse_token_request(body, Some(header.as_bytes()))
                .ok()
                .unwrap();
            assert_eq!(c.client_id, "payroll-svc");
            assert_eq!(c.client_secret.expose_secret(), "Zk3_q-s3cr3t");
            assert_eq!(c.method, ClientAuthMethod::ClientSecretBasic);
        }
        let h = format!("Basic {}", B64.encode("a%40b:x%3Ay+z"));
        let c = parse_token_request(body, Some(h.as_bytes())).ok().unwrap();
        assert_eq!(
            (c.client_id.as_str(), c.client_secret.expose_secret()),
            ("a@b", "x:y z")
        );

        let err = |h: &str, b: &[u8]| parse_token_request(b, Some(h.as_bytes())).err().unwrap();
        let good = format!("Basic {}", B64.encode("svc:s"));
        assert_eq!(
            err(
                &good,
                b"grant_type=client_credentials&client_id=svc&client_secret=s"
            ),
            TokenRequestError::TwoAuthMethods
        );
        assert_eq!(
            err(&good, b"grant_type=client_credentials&client_id=svc").code(),
            "invalid_request"
        );
        for bad in [
            "Bearer abc".to_owned(),
            "Basic !!!".to_owned(),
            format!("Basic {}", B64.encode("no-colon")),
            format!("Basic {}", B64.encode("svc:%zz")),
            format!("Basic {}", B64.encode([0xff, b':', b'x'])),
            "Basic".to_owned(),
        ] {
            assert_eq!(
                err(&bad, body),
                TokenRequestError::BadAuthorization,
                "{bad}"
            );
        }
        assert_eq!(
            err(&format!("Basic {}", B64.encode(":s")), body),
            TokenRequestError::MissingCredentials
        );
    }
}
