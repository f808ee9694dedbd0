//! Stored value encoding: one format-version byte, then postcard.
//!
//! Stored bytes are untrusted on read (a damaged disk, a restored backup of another version), so
//! decoding returns a typed error and never panics; `fuzz/fuzz_targets/stored_record.rs` checks it.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Format version written in front of every value.
pub(crate) const FORMAT_V1: u8 = 1;

/// Stored bytes that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Empty value.
    #[error("stored value is empty")]
    Empty,
    /// A format version this build does not know.
    #[error("stored value has unknown format version {0}")]
    UnknownVersion(u8),
    /// The body does not decode as the expected type.
    #[error("stored value is malformed")]
    Malformed,
}

/// `[FORMAT_V1] || postcard(value)`.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![FORMAT_V1];
    postcard::to_io(value, &mut out).expect("writing postcard to a Vec cannot fail for plain data");
    out
}

/// Reverses `encode`.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    match bytes.split_first() {
        None => Err(CodecError::Empty),
        Some((&FORMAT_V1, body)) => postcard::from_bytes(body).map_err(|_| CodecError::Malformed),
        Some((&v, _)) => Err(CodecError::UnknownVersion(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use jiff::civil::Date;

    #[test]
    fn round_trip_with_time_types_and_version_byte() {
        let v: (Timestamp, Date, Option<String>) = (
            "2026-01-15T09:00:00.123456Z".parse().unwrap(),
            Date::constant(1990, 4, 1),
            None,
        );
        let bytes = encode(&v);
        assert_eq!(bytes[0], FORMAT_V1);
        assert_eq!(
            decode::<(Timestamp, Date, Option<String>)>(&bytes).unwrap(),
            v
        );
    }

    #[test]
    fn bad_bytes_are_typed_errors() {
        assert_eq!(decode::<u32>(&[]), Err(CodecError::Empty));
        assert_eq!(decode::<u32>(&[9, 1]), Err(CodecError::UnknownVersion(9)));
        assert_eq!(decode::<String>(&[1, 200]), Err(CodecError::Malformed));
    }
}
