//! Typed identifiers: an `EmployeeId` cannot be passed where a `UserId` is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An identifier string that is not a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct IdParseError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// The 16 raw bytes, used as a sortable store key.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// Rebuilds an id from its 16 raw bytes.
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }

            /// Parses 16 raw bytes read back from the store.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, IdParseError> {
                Uuid::from_slice(bytes).map(Self).map_err(|_| IdParseError)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            /// Accepts only the hyphenated 36-character form.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                if s.len() != 36 {
                    return Err(IdParseError);
                }
                Uuid::try_parse(s).map(Self).map_err(|_| IdParseError)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    };
}

uuid_id!(
    /// Identifies an employee record (server-assigned).
    EmployeeId
);
uuid_id!(
    /// Identifies a vault user (human or service account).
    UserId
);
uuid_id!(
    /// Identifies an HR flag.
    FlagId
);
uuid_id!(
    /// Identifies an insider-threat alert.
    AlertId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_forms() {
        let id = EmployeeId::random();
        assert_eq!(id.to_string().parse::<EmployeeId>().unwrap(), id);
        assert_eq!(EmployeeId::from_slice(id.as_bytes()).unwrap(), id);
        let simple = id.to_string().replace('-', "");
        assert!(simple.parse::<EmployeeId>().is_err());
        assert!("not-a-uuid".parse::<EmployeeId>().is_err());
        assert!("".parse::<UserId>().is_err());
    }
}
