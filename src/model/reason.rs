//! Free text that a person types and the audit log keeps forever: a reveal's reason.
//!
//! The log must never hold an SSN or an account number, and people paste them ("fix SSN
//! 123-45-6789"). A rule that looks for digit *runs* is bypassed by any separator it does not
//! know (fullwidth digits, letters or zero-width characters between digits), so the rule here
//! counts every numeric character of any script in the whole text: more than
//! [`MAX_KEPT_DIGITS`] of them and every one becomes `#`. What it guarantees: at most six
//! numeric characters of a reason reach the log, so no SSN (nine) and no account number longer
//! than six digits can. What it does not: numbers spelled out in words are not detected; treat a
//! reason as free text that an auditor reads.

/// Numeric characters a text may keep (a ticket number, a date's year).
pub const MAX_KEPT_DIGITS: usize = 6;

/// A reveal reason: 10–1000 printable characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// Fewest characters a reason must have.
    pub const MIN: usize = 10;
    /// Most characters a reason may have.
    pub const MAX: usize = 1000;

    /// Parses a reason; the message names the rule broken, never the text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let n = t.chars().count();
        if n < Self::MIN {
            return Err(format!(
                "is required: at least {} characters saying why",
                Self::MIN
            ));
        }
        if n > Self::MAX || t.chars().any(char::is_control) {
            return Err(format!(
                "must be at most {} printable characters",
                Self::MAX
            ));
        }
        Ok(Self(t.to_owned()))
    }

    /// The text as the audit log keeps it.
    pub fn for_audit(&self) -> String {
        redact_numbers(&self.0)
    }
}

/// Replaces every numeric character with `#` when `text` holds more than
/// [`MAX_KEPT_DIGITS`] of them in all; drops invisible format characters either way.
pub fn redact_numbers(text: &str) -> String {
    let visible = text.chars().filter(|c| !is_invisible(*c));
    if text.chars().filter(|c| c.is_numeric()).count() <= MAX_KEPT_DIGITS {
        return visible.collect();
    }
    visible
        .map(|c| if c.is_numeric() { '#' } else { c })
        .collect()
}

/// Zero-width and other format characters that render as nothing.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn long_numbers_never_survive_whatever_separates_them() {
        let cases = [
            ("fix SSN 123-45-6789 now", "fix SSN ###-##-#### now"),
            ("acct 1234 5678 closed", "acct #### #### closed"),
            ("fullwidth １２３４５６７８９", "fullwidth #########"),
            ("1x2x3x4x5x6x7x8x9", "#x#x#x#x#x#x#x#x#"),
            ("1\u{200B}2\u{200B}3\u{200B}4567", "#######"),
            ("٣٤٥٦٧٨٩ arabic-indic", "####### arabic-indic"),
            ("ticket 123456 (six digits)", "ticket 123456 (six digits)"),
            ("PAY-77 on 2026", "PAY-77 on 2026"),
            ("no digits at all", "no digits at all"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_numbers(input), want, "{input}");
        }
    }

    #[test]
    fn reasons_are_bounded_and_printable() {
        assert!(Reason::parse("too short").is_err());
        assert!(Reason::parse("    short     ").is_err());
        assert!(Reason::parse("ten chars!").is_ok());
        assert!(Reason::parse("has a\nnewline in it").is_err());
        assert!(Reason::parse(&"x".repeat(1001)).is_err());
    }

    proptest! {
        /// Whatever the text, at most six numeric characters reach the log.
        #[test]
        fn at_most_six_digits_survive(s in "\\PC{0,60}") {
            let out = redact_numbers(&s);
            prop_assert!(out.chars().filter(|c| c.is_numeric()).count() <= MAX_KEPT_DIGITS);
        }
    }
}
