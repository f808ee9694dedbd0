//! Usernames: what people type at login and what appears in audit entries.

/// 1–64 characters of `[A-Za-z0-9._@-]`, starting with a letter or digit. Unique
/// case-insensitively (the store lower-cases its index key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses a username; the message never repeats the input.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
        let starts_ok = s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if (1..=64).contains(&s.len()) && ok_chars && starts_ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(
                "must be 1-64 characters of letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
            )
        }
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the audit log records instead of a login name that is not a valid username.
    pub const INVALID: &'static str = "invalid username";

    /// The form recorded for a failed login: the attempted name if it is a well-formed
    /// username, otherwise [`Username::INVALID`] (people do type passwords into the username
    /// box, and anything can arrive there: only a syntactically valid username is ever stored).
    /// A name that is also a valid SSN (`123-45-6789`, `123456789`) is recorded as invalid too:
    /// the audit log must never hold one, whichever box it was typed into.
    pub fn for_audit(attempted: &str) -> String {
        match Self::parse(attempted) {
            Ok(_) if super::Ssn::parse(attempted).is_ok() => Self::INVALID.to_owned(),
            Ok(u) => u.0,
            Err(_) => Self::INVALID.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        for ok in ["admin", "hr.onboarding", "payroll-svc", "a@b.c", "A1"] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".hidden", "with space", "tab\t", &"x".repeat(65), "ünï"] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Username::for_audit("p@ss word!"), "invalid username");
        assert_eq!(Username::for_audit("123-45-6789"), "invalid username");
        assert_eq!(Username::for_audit("123456789"), "invalid username");
        assert_eq!(Username::for_audit("hr.onboarding"), "hr.onboarding");
    }
}
