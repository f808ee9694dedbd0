//! The client-credentials token request (RFC 6749 §4.4): an
//! `application/x-www-form-urlencoded` body, parsed strictly. Untrusted input: fuzzed
//! (`fuzz/fuzz_targets/token_form.rs`).

use secrecy::SecretString;
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A well-formed client-credentials request. No `Debug`: it holds the secret.
pub struct ClientCredentials {
    /// The service account's username.
    pub client_id: String,
    /// Its secret, checked against the stored argon2id hash.
    pub client_secret: SecretString,
}

/// Why a token request is refused before any credential is checked (all 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRequestError {
    /// Not a form, or a parameter repeated.
    Malformed,
    /// No `grant_type`.
    MissingGrantType,
    /// A grant type other than `client_credentials`.
    UnsupportedGrantType,
    /// `client_id` or `client_secret` missing or empty.
    MissingCredentials,
}

impl TokenRequestError {
    /// The RFC 6749 §5.2 `error` code.
    pub fn code(self) -> &'static str {
        match self {
            TokenRequestError::UnsupportedGrantType => "unsupported_grant_type",
            _ => "invalid_request",
        }
    }

    /// The `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            TokenRequestError::Malformed => {
                "the body must be a form with grant_type, client_id and client_secret, each once"
            }
            TokenRequestError::MissingGrantType => "grant_type is required",
            TokenRequestError::UnsupportedGrantType => "only client_credentials is supported",
            TokenRequestError::MissingCredentials => "client_id and client_secret are required",
        }
    }
}

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

/// Parses a token request body.
pub fn parse_client_credentials(body: &[u8]) -> Result<ClientCredentials, TokenRequestError> {
    let form: TokenForm =
        serde_urlencoded::from_bytes(body).map_err(|_| TokenRequestError::Malformed)?;
    match form.grant_type.as_deref() {
        None => return Err(TokenRequestError::MissingGrantType),
        Some("client_credentials") => {}
        Some(_) => return Err(TokenRequestError::UnsupportedGrantType),
    }
    match (form.client_id.as_deref(), form.client_secret.as_deref()) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Ok(ClientCredentials {
            client_id: id.to_owned(),
            client_secret: SecretString::from(secret.to_owned()),
        }),
        _ => Err(TokenRequestError::MissingCredentials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn the_rfc_6749_cases() {
        let ok = parse_client_credentials(
            b"grant_type=client_credentials&client_id=svc&client_secret=a%2Bb",
        )
        .ok()
        .unwrap();
        assert_eq!(
            (ok.client_id.as_str(), ok.client_secret.expose_secret()),
            ("svc", "a+b")
        );
        let err = |b: &[u8]| parse_client_credentials(b).err().unwrap();
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
            err(b"grant_type=client_credentials&client_id=&client_secret=x"),
            TokenRequestError::MissingCredentials
        );
        assert_eq!(err(b"grant_type=client_credentials&grant_type=client_credentials&client_id=a&client_secret=b"), TokenRequestError::Malformed);
        assert_eq!(
            err(b"%zz"),
            TokenRequestError::MissingGrantType,
            "an undecodable key is just unknown"
        );
    }
}
