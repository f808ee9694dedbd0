//! Stored employee rows: bytes read back from sled (a damaged disk, another version's backup).

use hrvault::store::decode_employee_entry;

/// Target `stored_record`: `decode_employee_entry` returns a typed error or a value that
/// survives re-encoding (`[1] || postcard`, the store's own format) unchanged.
pub fn stored_record(data: &[u8]) {
    let Ok(entry) = decode_employee_entry(data) else {
        return;
    };
    let mut encoded = vec![1u8];
    encoded.extend(postcard::to_allocvec(&entry).expect("a decoded entry re-encodes"));
    let again = decode_employee_entry(&encoded).expect("a re-encoded entry decodes");
    assert_eq!(again, entry, "decode(encode(x)) != x");
    let mut twice = vec![1u8];
    twice.extend(postcard::to_allocvec(&again).expect("a decoded entry re-encodes"));
    assert_eq!(twice, encoded, "encoding is not a fixed point");
}
