//! Access tokens (`Authorization: Bearer`), verified against one fixed key.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hrvault::auth::{AUDIENCE, ISSUER, TokenService};
use hrvault::clock::{Clock, SystemClock};
use hrvault::crypto::SigningKey;

use crate::samples;

fn service() -> &'static TokenService {
    static SVC: OnceLock<TokenService> = OnceLock::new();
    SVC.get_or_init(|| TokenService::new(samples::token_key().public_key(), 900))
}

/// Target `token_verify`: no input but the one token genuinely signed by the fixed key
/// (`samples::genuine_token`) is ever accepted.
pub fn token_verify(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let now = SystemClock.now();
    let result = service().verify(token, now);
    if token == samples::genuine_token() {
        let claims = result.expect("the genuine token verifies");
        assert_eq!(claims.sub, samples::TOKEN_SUB);
    } else {
        assert!(
            result.is_err(),
            "a token that was never signed was accepted"
        );
    }
}

/// Target `token_claims`: `<header JSON> 0x00 <claims JSON>` (or only the claims, under the
/// genuine header), signed with the fixed key, so that mutations reach claim validation. A
/// token is accepted only with `alg` EdDSA, our `iss` and `aud`, a `sub`, an integer `exp` in
/// the future and no `nbf` in the future.
pub fn token_claims(data: &[u8]) {
    let (header, claims) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (samples::TOKEN_HEADER.as_bytes(), data),
    };
    let key: &SigningKey = samples::token_key();
    let input = format!("{}.{}", B64URL.encode(header), B64URL.encode(claims));
    let token = format!("{input}.{}", B64URL.encode(key.sign(input.as_bytes())));
    let now = SystemClock.now();
    let Ok(accepted) = service().verify(&token, now) else {
        return;
    };
    let header: serde_json::Value = serde_json::from_slice(header).expect("accepted: header JSON");
    assert_eq!(
        header["alg"], "EdDSA",
        "accepted a token whose alg is not EdDSA"
    );
    let claims: serde_json::Value = serde_json::from_slice(claims).expect("accepted: claims JSON");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], AUDIENCE);
    assert!(claims["sub"].is_string());
    let exp = claims["exp"]
        .as_i64()
        .expect("accepted a token without an integer exp");
    assert!(exp > now.as_second(), "accepted an expired token");
    assert_eq!(accepted.exp, exp);
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf
            .as_i64()
            .expect("accepted a token with a non-integer nbf");
        assert!(nbf <= now.as_second(), "accepted a token before its nbf");
    }
}
