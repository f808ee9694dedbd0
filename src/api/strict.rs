//! The shape check every JSON request body passes before it is deserialised (CONTRACT §2: a
//! body is exactly one JSON object; an array, a scalar, trailing bytes or a key given twice is a
//! 400).
//!
//! Why a separate pass: serde's derived structs accept a JSON array and read it positionally
//! (`[true,"auditor"]` is a valid `UserPatch`), and whether serde_json notices a repeated key
//! depends on the type being built. This pass walks the body once with serde_json's own parser,
//! keeps no value at all (keys are reduced to SHA-256 digests for the duplicate check, scalars
//! are dropped as they are read) and answers only "well-formed object" or which part is wrong.
//! Its messages never quote a value, and quote a key only when it looks like a field name.
//!
//! Untrusted input: fuzzed (`fuzz/fuzz_targets/json_body.rs`).

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use sha2::{Digest, Sha256};

/// Why a body is not one well-formed JSON object. `Display` is the problem's `detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyShapeError {
    /// Not JSON at all, or cut short.
    Malformed { line: usize, column: usize },
    /// Valid JSON, but an array, a string, a number, a boolean or null.
    NotAnObject(&'static str),
    /// Something other than whitespace after the object.
    TrailingBytes,
    /// A key appears twice in one object; `at` is the path of that object (`""` for the body
    /// itself), `key` the key when it is shaped like a field name.
    DuplicateKey { at: String, key: Option<String> },
    /// Nested deeper than serde_json allows.
    TooDeep,
}

impl fmt::Display for BodyShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyShapeError::Malformed { line, column } => {
                write!(f, "malformed JSON at line {line} column {column}")
            }
            BodyShapeError::NotAnObject(kind) => {
                write!(f, "the body must be one JSON object, not {kind}")
            }
            BodyShapeError::TrailingBytes => {
                f.write_str("unexpected bytes after the JSON object (send exactly one object)")
            }
            BodyShapeError::DuplicateKey { at, key } => {
                match key {
                    Some(k) => write!(f, "key `{k}` is given twice")?,
                    None => f.write_str("a key is given twice")?,
                }
                if !at.is_empty() {
                    write!(f, " in `{at}`")?;
                }
                Ok(())
            }
            BodyShapeError::TooDeep => f.write_str("the JSON body is nested too deeply"),
        }
    }
}

/// Checks that `body` is exactly one JSON object (surrounding whitespace allowed) in which no
/// object, at any depth, repeats a key.
pub fn check_json_body(body: &[u8]) -> Result<(), BodyShapeError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut found: Option<BodyShapeError> = None;
    let top = Top { found: &mut found };
    let result = (&mut de).deserialize_any(top);
    if let Some(e) = found {
        return Err(e);
    }
    if let Err(e) = result {
        return Err(from_serde(&e));
    }
    de.end().map_err(|_| BodyShapeError::TrailingBytes)
}

fn from_serde(e: &serde_json::Error) -> BodyShapeError {
    if e.to_string().starts_with("recursion limit exceeded") {
        return BodyShapeError::TooDeep;
    }
    BodyShapeError::Malformed {
        line: e.line(),
        column: e.column(),
    }
}

/// The body itself: must be a map.
struct Top<'a> {
    found: &'a mut Option<BodyShapeError>,
}

impl Top<'_> {
    fn not_object<E: de::Error>(self, kind: &'static str) -> Result<(), E> {
        *self.found = Some(BodyShapeError::NotAnObject(kind));
        Err(E::custom("not an object"))
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let mut path = Vec::new();
        check_map(map, &mut path, self.found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_object("an array")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_object("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_object("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_object("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_object("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_object("a string")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_object("null")
    }
}

/// Reads one object, checking its keys and recursing into its values.
fn check_map<'de, A: MapAccess<'de>>(
    mut map: A,
    path: &mut Vec<String>,
    found: &mut Option<BodyShapeError>,
) -> Result<(), A::Error> {
    let mut seen: HashSet<[u8; 32]> = HashSet::new();
    while let Some(key) = map.next_key_seed(KeySeed)? {
        if !seen.insert(key.digest) {
            *found = Some(BodyShapeError::DuplicateKey {
                at: path.join("."),
                key: key.name,
            });
            return Err(de::Error::custom("duplicate key"));
        }
        path.push(key.name.unwrap_or_else(|| "?".to_owned()));
        map.next_value_seed(Nested {
            path: &mut *path,
            found: &mut *found,
        })?;
        path.pop();
    }
    Ok(())
}

/// A key, reduced to its digest (and its text when it looks like a field name).
struct Key {
    digest: [u8; 32],
    name: Option<String>,
}

/// Keys that may be quoted back in an error: what a field name looks like.
fn printable_name(k: &str) -> Option<String> {
    let ok = (1..=64).contains(&k.len())
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !k.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| k.to_owned())
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, k: &str) -> Result<Key, E> {
        Ok(Key {
            digest: Sha256::digest(k.as_bytes()).into(),
            name: printable_name(k),
        })
    }
}

/// Any value inside the body: objects are checked, arrays walked, scalars dropped.
struct Nested<'a> {
    path: &'a mut Vec<String>,
    found: &'a mut Option<BodyShapeError>,
}

impl<'de> DeserializeSeed<'de> for Nested<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Nested<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        check_map(map, self.path, self.found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            self.path.push(i.to_string());
            let more = seq.next_element_seed(Nested {
                path: &mut *self.path,
                found: &mut *self.found,
            })?;
            self.path.pop();
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(b: &str) -> BodyShapeError {
        check_json_body(b.as_bytes()).unwrap_err()
    }

    #[test]
    fn objects_pass_and_everything_else_is_named() {
        for ok in [
            r#"{}"#,
            r#" {"a":1,"b":[1,{"a":2}],"c":{"a":null}} "#,
            "{\"a\":1}\r\n",
            r#"{"fields":["ssn","ssn"]}"#,
        ] {
            assert_eq!(check_json_body(ok.as_bytes()), Ok(()), "{ok}");
        }
        assert_eq!(
            err("[true,\"auditor\"]"),
            BodyShapeError::NotAnObject("an array")
        );
        assert_eq!(
            err("\"123-45-6789\""),
            BodyShapeError::NotAnObject("a string")
        );
        assert_eq!(err("12"), BodyShapeError::NotAnObject("a number"));
        assert_eq!(err("null"), BodyShapeError::NotAnObject("null"));
        assert_eq!(err("{} {}"), BodyShapeError::TrailingBytes);
        assert_eq!(err("{}x"), BodyShapeError::TrailingBytes);
        assert!(matches!(err("{\"a\":"), BodyShapeError::Malformed { .. }));
        assert!(matches!(err(""), BodyShapeError::Malformed { .. }));
        assert_eq!(
            err(&format!("{{\"a\":{}", "[".repeat(200))),
            BodyShapeError::TooDeep
        );
    }

    #[test]
    fn duplicate_keys_at_any_depth_without_echoing_values() {
        assert_eq!(
            err(r#"{"role":"hr","role":"admin"}"#),
            BodyShapeError::DuplicateKey {
                at: String::new(),
                key: Some("role".into())
            }
        );
        let e = err(r#"{"home_address":{"city":"a","city":"b"}}"#);
        assert_eq!(e.to_string(), "key `city` is given twice in `home_address`");
        let e = err(r#"{"x":[{"a":1},{"a":1,"\u0061":2}]}"#);
        assert_eq!(e.to_string(), "key `a` is given twice in `x.1`");
        // A key that does not look like a field name is never quoted.
        let e = err(r#"{"123-45-6789":1,"123-45-6789":2}"#);
        assert_eq!(e.to_string(), "a key is given twice");
        assert!(
            !err(r#"{"ssn":"123-45-6789","ssn":"123-45-6789"}"#)
                .to_string()
                .contains("123")
        );
    }
}
