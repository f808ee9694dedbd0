//! The shape check every JSON request body passes (`hrvault::api::check_json_body`).

use hrvault::api::{BodyShapeError, check_json_body};

/// Target `json_body`: never a panic; an accepted body is a JSON object to serde_json too; a
/// body serde_json cannot read is never accepted; a duplicate key is found however deep; and the
/// message never contains a string the body carried unless it is a key shaped like a field name.
pub fn json_body(data: &[u8]) {
    let verdict = check_json_body(data);
    let value = serde_json::from_slice::<serde_json::Value>(data);
    match &verdict {
        Ok(()) => {
            let v = value.expect("an accepted body parses as JSON");
            assert!(v.is_object(), "an accepted body is not an object");
        }
        Err(BodyShapeError::DuplicateKey { key: Some(k), .. }) => {
            assert!(
                k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                "a key that is not shaped like a field name is quoted"
            );
        }
        Err(BodyShapeError::NotAnObject(_)) => {
            let first = data.iter().find(|b| !b" \t\n\r".contains(b));
            assert!(
                first != Some(&b'{'),
                "refused as not an object, but it starts like one"
            );
        }
        Err(_) => {}
    }
    if let Ok(()) = verdict {
        // Appending a repeat of the body's first key must be caught.
        let text = String::from_utf8_lossy(data);
        let trimmed = text.trim_end_matches([' ', '\t', '\n', '\r']);
        if let Some(body) = trimmed.strip_suffix('}')
            && let Ok(serde_json::Value::Object(m)) =
                serde_json::from_slice::<serde_json::Value>(data)
            && let Some(k) = m.keys().next()
        {
            let key = serde_json::to_string(k).expect("a string serializes");
            let doubled = format!("{body},{key}:0}}");
            assert!(
                matches!(
                    check_json_body(doubled.as_bytes()),
                    Err(BodyShapeError::DuplicateKey { .. })
                ),
                "a repeated key went unnoticed"
            );
        }
    }
}
