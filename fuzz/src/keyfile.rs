//! The key file (`vault.keys`): read from disk before anything else, so it is untrusted input.

use hrvault::crypto::KeyFile;
use secrecy::SecretString;

/// Target `key_file`: `KeyFile::from_bytes` and, when the KDF parameters are cheap enough to run
/// per input (the seed's `danger_insecure_fast` ones), `unseal` with the seed's passphrase, so
/// that mutated sealed keys and service keys reach the AEAD and base64 paths.
pub fn key_file(data: &[u8]) {
    let Ok(file) = KeyFile::from_bytes(data) else {
        return;
    };
    let bytes = file.to_bytes();
    let again = KeyFile::from_bytes(&bytes).expect("to_bytes output parses");
    assert_eq!(
        again.to_bytes(),
        bytes,
        "to_bytes/from_bytes is not a fixed point"
    );
    let k = &file.kdf;
    if k.m_cost_kib <= 256 && k.t_cost <= 1 && k.p_cost <= 1 {
        let _ = file.unseal(&SecretString::from(crate::samples::KEY_FILE_PASSPHRASE));
    }
}
