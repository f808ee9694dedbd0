//! U.S. social security numbers: parsed once, held zeroizing, shown only masked.

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A syntactically valid SSN (`AAA-GG-SSSS` or nine digits; area not 000, 666 or 900–999, group
/// not 00, serial not 0000). Holds the nine ASCII digits; zeroized on drop; no `Debug`.
#[derive(Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Ssn {
    digits: [u8; 9],
}

impl Ssn {
    /// Parses either accepted form. The error message never repeats the input.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let bytes = input.as_bytes();
        let mut digits = [0u8; 9];
        match bytes.len() {
            9 if bytes.iter().all(u8::is_ascii_digit) => digits.copy_from_slice(bytes),
            11 if bytes[3] == b'-' && bytes[6] == b'-' => {
                let parts = [&bytes[0..3], &bytes[4..6], &bytes[7..11]];
                if !parts.iter().all(|p| p.iter().all(u8::is_ascii_digit)) {
                    return Err("must be AAA-GG-SSSS or 9 digits");
                }
                digits[0..3].copy_from_slice(parts[0]);
                digits[3..5].copy_from_slice(parts[1]);
                digits[5..9].copy_from_slice(parts[2]);
            }
            _ => return Err("must be AAA-GG-SSSS or 9 digits"),
        }
        let ssn = Self { digits };
        let area = &ssn.digits[0..3];
        if area == b"000" || area == b"666" || area[0] == b'9' {
            return Err("area number may not be 000, 666 or 900-999");
        }
        if &ssn.digits[3..5] == b"00" {
            return Err("group number may not be 00");
        }
        if &ssn.digits[5..9] == b"0000" {
            return Err("serial number may not be 0000");
        }
        Ok(ssn)
    }

    /// The nine digits, the normalised form fed to the blind index.
    pub fn digits(&self) -> &[u8; 9] {
        &self.digits
    }

    /// `AAA-GG-SSSS`, for reveal and encryption.
    pub fn formatted(&self) -> Zeroizing<String> {
        let d = &self.digits;
        let mut s = Zeroizing::new(String::with_capacity(11));
        for (i, b) in d.iter().enumerate() {
            if i == 3 || i == 5 {
                s.push('-');
            }
            s.push(char::from(*b));
        }
        s
    }

    /// `***-**-6789`: what hr and payroll see on reads.
    pub fn masked(&self) -> String {
        let last4 = &self.digits[5..9];
        let mut s = String::from("***-**-");
        s.extend(last4.iter().map(|b| char::from(*b)));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_forms_and_normalises() {
        let a = Ssn::parse("123-45-6789").unwrap();
        let b = Ssn::parse("123456789").unwrap();
        assert!(a == b);
        assert_eq!(a.formatted().as_str(), "123-45-6789");
        assert_eq!(b.masked(), "***-**-6789");
    }

    #[test]
    fn rule_table() {
        let cases: &[(&str, bool)] = &[
            ("001-01-0001", true),
            ("665-99-9999", true),
            ("667-01-0001", true),
            ("899-01-0001", true),
            ("000-12-3456", false),
            ("666-12-3456", false),
            ("900-12-3456", false),
            ("999-12-3456", false),
            ("123-00-4567", false),
            ("123-45-0000", false),
            ("123-45-678", false),
            ("1234-5-6789", false),
            ("12345678", false),
            ("1234567890", false),
            ("123 45 6789", false),
            ("12a-45-6789", false),
            ("123-4a-6789", false),
            ("12345678a", false),
            ("", false),
            ("١٢٣-٤٥-٦٧٨٩", false),
        ];
        for (input, ok) in cases {
            assert_eq!(Ssn::parse(input).is_ok(), *ok, "{input}");
        }
    }

    #[test]
    fn errors_never_echo_the_input() {
        for input in [
            "000-12-3456",
            "666-12-3456",
            "123-00-4567",
            "123-45-0000",
            "12-3",
        ] {
            let msg = Ssn::parse(input).err().unwrap();
            assert!(!msg.contains(input));
            assert!(!msg.contains("3456") && !msg.contains("4567"));
        }
    }
}
