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

    /// The form recorded for a failed login: the attempted name if it is a well-formed
    /// username, otherwise a placeholder (people do type passwords into the username box).
    pub fn for_audit(attempted: &str) -> String {
        match Self::parse(attempted) {
            Ok(u) => u.0,
            Err(_) => "<malformed username>".to_owned(),
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
        assert_eq!(Username::for_audit("p@ss word!"), "<malformed username>");
    }
}
