//! EdDSA-signed JWT access tokens.
//!
//! Signing uses ed25519-dalek directly so the private key stays in a zeroizing type
//! (jsonwebtoken's `EncodingKey` would keep it in a plain `Vec`). Verification uses jsonwebtoken
//! with the algorithm pinned to EdDSA, `exp` required, and `iss`/`aud`/`sub` checked; `exp` and
//! `nbf` are then checked here against the vault's injected clock (no leeway), never against the
//! wall clock jsonwebtoken would read — so expiry is exactly as testable as every other rule.
//!
//! Signature verification costs ~38 µs, the largest CPU item of a request, so verified tokens are
//! cached by the SHA-256 of the whole token string: a tampered token hashes elsewhere and is
//! verified from scratch. The cache never replaces the per-request user, role, generation and
//! revocation checks done by the service.
//!
//! The public key is published as an RFC 7517 JWK Set (`GET /.well-known/jwks.json`); every token
//! names it in its header `kid`, the key's RFC 7638 JWK thumbprint (base64url SHA-256 of
//! `{"crv":"Ed25519","kty":"OKP","x":…}`), so anyone can verify a token with a standard library.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parking_lot::RwLock;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::SigningKey;
use crate::model::{Role, UserId};

/// `iss` of every token.
pub const ISSUER: &str = "hrvault";
/// `aud` of every token.
pub const AUDIENCE: &str = "hrvault-api";

const CACHE_MAX: usize = 65_536;

/// Token claims. `tgen` is the user's token generation at issue time (see `StoredUser`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub role: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    /// Not before (never issued by hrvault; checked if present, and then an integer: `null`
    /// or a string is refused like a string `exp`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_integer"
    )]
    pub nbf: Option<i64>,
    pub tgen: u32,
}

/// An optional claim that, when present, must be an integer (not `null`).
fn present_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    i64::deserialize(d).map(Some)
}

impl Claims {
    /// The subject as a user id.
    pub fn user_id(&self) -> Result<UserId, TokenError> {
        self.sub.parse().map_err(|_| TokenError::Invalid)
    }

    /// The token id as 16 bytes (the revocation key).
    pub fn jti_bytes(&self) -> Result<[u8; 16], TokenError> {
        uuid::Uuid::try_parse(&self.jti)
            .map(|u| *u.as_bytes())
            .map_err(|_| TokenError::Invalid)
    }
}

/// Why a token was refused (all map to 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Bad signature, algorithm, audience, issuer, shape or claims.
    #[error("invalid token")]
    Invalid,
    /// Past `exp`.
    #[error("expired token")]
    Expired,
}

/// Issues and verifies tokens.
pub struct TokenService {
    /// The public key, base64url (the JWK's `x`).
    x: String,
    /// Its RFC 7638 thumbprint.
    kid: String,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: i64,
    cache: RwLock<HashMap<[u8; 32], Arc<Claims>>>,
}

impl TokenService {
    /// Tokens signed by `key`, valid for `ttl_secs`.
    pub fn new(public_key: [u8; 32], ttl_secs: u64) -> Self {
        let x = B64URL.encode(public_key);
        let decoding =
            DecodingKey::from_ed_components(&x).expect("a base64url 32-byte key always decodes");
        let kid = jwk_thumbprint(&x);
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 0;
        // Checked in `verify` against the injected clock instead; `exp` stays required below.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Self {
            x,
            kid,
            decoding,
            validation,
            ttl_secs: ttl_secs as i64,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The `kid` in every token's header: the key's RFC 7638 thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The RFC 7517 JWK Set of the verification key.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: [Jwk {
                kty: "OKP",
                crv: "Ed25519",
                x: self.x.clone(),
                kid: self.kid.clone(),
                alg: "EdDSA",
                r#use: "sig",
            }],
        }
    }

    /// Token lifetime in seconds.
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// A signed token for this user, and its claims.
    pub fn issue(
        &self,
        key: &SigningKey,
        user: UserId,
        role: Role,
        tgen: u32,
        now: Timestamp,
    ) -> (SecretString, Claims) {
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.to_string(),
            role: role.as_str().into(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now.as_second(),
            exp: now.as_second() + self.ttl_secs,
            nbf: None,
            tgen,
        };
        let header = B64URL.encode(format!(
            r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#,
            self.kid
        ));
        let payload = B64URL.encode(serde_json::to_vec(&claims).expect("claims are plain data"));
        let signing_input = format!("{header}.{payload}");
        let sig = B64URL.encode(key.sign(signing_input.as_bytes()));
        (SecretString::from(format!("{signing_input}.{sig}")), claims)
    }

    /// Verifies signature, algorithm, issuer, audience, and `exp`/`nbf` against `now` (the
    /// vault's clock, not the wall clock).
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<Arc<Claims>, TokenError> {
        if token.len() > 4096 {
            return Err(TokenError::Invalid);
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(c) = self.cache.read().get(&digest).cloned() {
            return if c.exp > now.as_second() {
                Ok(c)
            } else {
                Err(TokenError::Expired)
            };
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        let claims = Arc::new(data.claims);
        if claims.exp <= now.as_second() {
            return Err(TokenError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now.as_second()) {
            return Err(TokenError::Invalid);
        }
        let mut cache = self.cache.write();
        if cache.len() >= CACHE_MAX {
            let now_s = now.as_second();
            cache.retain(|_, c| c.exp > now_s);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(digest, claims.clone());
        Ok(claims)
    }
}

/// `{"keys":[…]}` (RFC 7517 §5).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(examples(json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "alg": "EdDSA", "use": "sig"}]})))]
pub struct Jwks {
    /// The one signing key.
    pub keys: [Jwk; 1],
}

/// An Ed25519 public key as a JWK (RFC 8037 §2).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Jwk {
    /// `OKP`.
    pub kty: &'static str,
    /// `Ed25519`.
    pub crv: &'static str,
    /// The 32-byte public key, base64url without padding.
    pub x: String,
    /// RFC 7638 thumbprint; equals the `kid` in every token's header.
    pub kid: String,
    /// `EdDSA`.
    pub alg: &'static str,
    /// `sig`.
    #[serde(rename = "use")]
    #[schema(rename = "use")]
    pub r#use: &'static str,
}

/// RFC 7638: base64url(SHA-256 of the required members in lexicographic order, no whitespace).
fn jwk_thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    B64URL.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    /// Expiry and not-before follow the injected clock only: a token whose `exp` is long past on
    /// the wall clock verifies at an injected time before it, and one refused at `exp` exactly.
    #[test]
    fn exp_and_nbf_follow_the_injected_clock_not_the_wall_clock() {
        let key = SigningKey::generate().unwrap();
        let svc = TokenService::new(key.public_key(), 900);
        let then: Timestamp = "2001-01-01T00:00:00Z".parse().unwrap();
        let at = |secs: i64| Timestamp::from_second(then.as_second() + secs).unwrap();
        let (tok, _) = svc.issue(&key, UserId::random(), Role::Hr, 0, then);
        assert!(
            svc.verify(tok.expose_secret(), at(899)).is_ok(),
            "wall clock ignored"
        );
        assert_eq!(
            svc.verify(tok.expose_secret(), at(900)),
            Err(TokenError::Expired)
        );
        // nbf in the injected future: refused; at it: accepted.
        let (_, mut claims) = svc.issue(&key, UserId::random(), Role::Hr, 0, then);
        claims.nbf = Some(then.as_second() + 10);
        let header = B64URL.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
        let input = format!(
            "{header}.{}",
            B64URL.encode(serde_json::to_vec(&claims).unwrap())
        );
        let t = format!("{input}.{}", B64URL.encode(key.sign(input.as_bytes())));
        assert_eq!(svc.verify(&t, at(9)), Err(TokenError::Invalid));
        assert!(svc.verify(&t, at(10)).is_ok());
        // exp is still required.
        let mut body = serde_json::to_value(&claims).unwrap();
        body.as_object_mut().unwrap().remove("exp");
        let input = format!("{header}.{}", B64URL.encode(body.to_string()));
        let t = format!("{input}.{}", B64URL.encode(key.sign(input.as_bytes())));
        assert!(svc.verify(&t, at(0)).is_err());
    }

    /// RFC 8037 Appendix A.3: the thumbprint of its Ed25519 example key.
    #[test]
    fn thumbprint_matches_rfc_8037() {
        assert_eq!(
            jwk_thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    /// A token verifies through the published JWK with the library's own JWK support, and its
    /// header names the key.
    #[test]
    fn tokens_verify_through_the_jwks() {
        let key = SigningKey::generate().unwrap();
        let svc = TokenService::new(key.public_key(), 900);
        let (tok, claims) = svc.issue(&key, UserId::random(), Role::Hr, 0, now());
        let jwks: jsonwebtoken::jwk::JwkSet =
            serde_json::from_value(serde_json::to_value(svc.jwks()).unwrap()).unwrap();
        let header = jsonwebtoken::decode_header(tok.expose_secret()).unwrap();
        assert_eq!(header.kid.as_deref(), Some(svc.kid()));
        let jwk = jwks.find(svc.kid()).unwrap();
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&[AUDIENCE]);
        let got = jsonwebtoken::decode::<Claims>(
            tok.expose_secret(),
            &DecodingKey::from_jwk(jwk).unwrap(),
            &v,
        )
        .unwrap();
        assert_eq!(got.claims, claims);
    }

    fn now() -> Timestamp {
        crate::clock::Clock::now(&crate::clock::SystemClock)
    }

    fn forge(header: &str, claims: &serde_json::Value, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            B64URL.encode(header),
            B64URL.encode(claims.to_string()),
            B64URL.encode(sig)
        )
    }

    #[test]
    fn issue_then_verify_and_cache() {
        let key = SigningKey::generate().unwrap();
        let svc = TokenService::new(key.public_key(), 900);
        let (tok, claims) = svc.issue(&key, UserId::random(), Role::Hr, 3, now());
        let got = svc.verify(tok.expose_secret(), now()).unwrap();
        assert_eq!(*got, claims);
        assert_eq!(
            *svc.verify(tok.expose_secret(), now()).unwrap(),
            claims,
            "cached path"
        );
        assert_eq!(got.exp - got.iat, 900);
    }

    #[test]
    fn forged_tokens_are_refused() {
        let key = SigningKey::generate().unwrap();
        let svc = TokenService::new(key.public_key(), 900);
        let (tok, claims) = svc.issue(&key, UserId::random(), Role::Hr, 0, now());
        let tok = tok.expose_secret().to_owned();
        let mut body = serde_json::to_value(&claims).unwrap();

        // alg none
        assert!(
            svc.verify(&forge(r#"{"alg":"none","typ":"JWT"}"#, &body, b""), now())
                .is_err()
        );
        // HS256 keyed with the public key (algorithm confusion)
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&key.public_key()),
        )
        .unwrap();
        assert!(svc.verify(&hs, now()).is_err());
        // tampered claims with the original signature
        body["role"] = "admin".into();
        let sig = B64URL.decode(tok.rsplit('.').next().unwrap()).unwrap();
        assert!(
            svc.verify(&forge(r#"{"alg":"EdDSA","typ":"JWT"}"#, &body, &sig), now())
                .is_err()
        );
        // another vault's key
        let other = SigningKey::generate().unwrap();
        let (foreign, _) = TokenService::new(other.public_key(), 900).issue(
            &other,
            UserId::random(),
            Role::Hr,
            0,
            now(),
        );
        assert!(svc.verify(foreign.expose_secret(), now()).is_err());
        // garbage
        for t in ["", "a.b", "a.b.c", "...."] {
            assert!(svc.verify(t, now()).is_err());
        }
    }

    #[test]
    fn expiry_is_exact_and_string_exp_is_rejected() {
        let key = SigningKey::generate().unwrap();
        let svc = TokenService::new(key.public_key(), 900);
        let past = now()
            .checked_sub(jiff::SignedDuration::from_secs(901))
            .unwrap();
        let (tok, _) = svc.issue(&key, UserId::random(), Role::Hr, 0, past);
        assert_eq!(
            svc.verify(tok.expose_secret(), now()),
            Err(TokenError::Expired)
        );
        // exp as a string (CVE-2026-25537) never validates.
        let (_, claims) = svc.issue(&key, UserId::random(), Role::Hr, 0, now());
        let mut body = serde_json::to_value(&claims).unwrap();
        body["exp"] = serde_json::Value::String(claims.exp.to_string());
        let header = B64URL.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
        let input = format!("{header}.{}", B64URL.encode(body.to_string()));
        let t = format!("{input}.{}", B64URL.encode(key.sign(input.as_bytes())));
        assert!(svc.verify(&t, now()).is_err());
        // A cached token expires too.
        let (tok, _) = svc.issue(&key, UserId::random(), Role::Hr, 0, now());
        svc.verify(tok.expose_secret(), now()).unwrap();
        let later = now()
            .checked_add(jiff::SignedDuration::from_secs(901))
            .unwrap();
        assert_eq!(
            svc.verify(tok.expose_secret(), later),
            Err(TokenError::Expired)
        );
    }
}
