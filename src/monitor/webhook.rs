//! Webhook signatures: `X-Hrvault-Signature: sha256=<hex HMAC-SHA256(secret, body)>`, so a
//! receiver can check that an alert came from this vault and was not altered on the way.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The value of the `X-Hrvault-Signature` header for `body`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_test_case_2() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
