//! The sensitive fields other than the SSN. Each zeroizes on drop and has no `Debug`/`Clone`.
//! `Serialize`/`Deserialize` exist only to build the plaintext that `crypto` seals and the body
//! of a reveal; nothing else serializes them. (`ToSchema` only describes their shape.)

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::Ssn;

/// A birth date, `YYYY-MM-DD`, already checked to be a real date.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DateOfBirth {
    text: String,
}

impl DateOfBirth {
    /// Wraps an already validated date string (see `validate::parse_date`).
    pub(crate) fn from_valid(text: String) -> Self {
        Self { text }
    }

    /// Parses plaintext produced by `as_str` (after decryption).
    pub fn parse(text: &str) -> Option<Self> {
        super::parse_date(text).ok().map(|_| Self {
            text: text.to_owned(),
        })
    }

    /// `YYYY-MM-DD`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The date, for the age rule.
    pub fn date(&self) -> Option<jiff::civil::Date> {
        super::parse_date(&self.text).ok()
    }
}

/// A postal address.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HomeAddress {
    /// Street line.
    pub line1: String,
    /// Optional second line.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State or region.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: String,
}

/// The masked address hr and payroll see: city, state and country only.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct MaskedAddress {
    /// City.
    pub city: String,
    /// State or region.
    pub state: Option<String>,
    /// Country.
    pub country: String,
}

impl HomeAddress {
    /// City, state and country only.
    pub fn masked(&self) -> MaskedAddress {
        MaskedAddress {
            city: self.city.clone(),
            state: self.state.clone(),
            country: self.country.clone(),
        }
    }

    /// JSON plaintext for sealing.
    pub fn to_plaintext(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(serde_json::to_vec(self).expect("a struct of strings always serializes"))
    }

    /// Reads back `to_plaintext` output.
    pub fn from_plaintext(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// A U.S. bank account for direct deposit.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    /// ABA routing number, 9 digits with a valid checksum.
    pub routing_number: String,
    /// Account number, digits.
    pub account_number: String,
}

/// The masked account hr and payroll see.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
#[schema(examples(json!({"account_number": "****6789"})))]
pub struct MaskedBankAccount {
    /// `****` and the last four digits.
    pub account_number: String,
}

impl BankAccount {
    /// `{"account_number": "****6789"}`: the last four digits, or the last two of an account
    /// number of four digits or fewer, so a mask never shows a whole value.
    pub fn masked(&self) -> MaskedBankAccount {
        let n = self.account_number.len();
        let shown = if n <= 4 { 2 } else { 4 };
        let tail = self
            .account_number
            .get(n.saturating_sub(shown)..)
            .unwrap_or("");
        MaskedBankAccount {
            account_number: format!("****{tail}"),
        }
    }

    /// JSON plaintext for sealing.
    pub fn to_plaintext(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(serde_json::to_vec(self).expect("a struct of strings always serializes"))
    }

    /// Reads back `to_plaintext` output.
    pub fn from_plaintext(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// All sensitive values of one record, in clear: only `service` ever holds one.
pub struct SensitiveFields {
    /// Required.
    pub ssn: Ssn,
    /// Required.
    pub date_of_birth: DateOfBirth,
    /// Optional.
    pub home_address: Option<HomeAddress>,
    /// Optional.
    pub bank_account: Option<BankAccount>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(n: &str) -> BankAccount {
        BankAccount {
            routing_number: "011000015".into(),
            account_number: n.into(),
        }
    }

    #[test]
    fn a_mask_never_shows_a_whole_account_number() {
        assert_eq!(account("000123456789").masked().account_number, "****6789");
        assert_eq!(account("12345").masked().account_number, "****2345");
        assert_eq!(account("1234").masked().account_number, "****34");
        assert_eq!(account("12").masked().account_number, "****12");
    }
}
