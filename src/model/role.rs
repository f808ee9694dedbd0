//! Roles of the contract and the kinds of vault users.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a user may do; see CONTRACT §2 Roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "`admin` (users, keys), `hr` (onboarding), `payroll` (pay data, export), \
`auditor` (audit log), `security` (alerts, flags, honeytokens)."
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Users and keys; no employee data.
    Admin,
    /// Onboarding: create, update, read employees.
    Hr,
    /// Reads what pay needs; bulk export.
    Payroll,
    /// The audit log only.
    Auditor,
    /// Alerts, HR flags, monitor, honeytokens.
    Security,
}

impl Role {
    /// Every role, in contract order.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Hr,
        Role::Payroll,
        Role::Auditor,
        Role::Security,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Hr => "hr",
            Role::Payroll => "payroll",
            Role::Auditor => "auditor",
            Role::Security => "security",
        }
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person who logs in with a password, or an integration that uses client credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserKind {
    /// Logs in with username + password.
    Human,
    /// Uses `POST /v1/oauth/token` with a generated client secret.
    Service,
}

impl UserKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Human => "human",
            UserKind::Service => "service",
        }
    }
}

impl FromStr for UserKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "human" => Ok(UserKind::Human),
            "service" => Ok(UserKind::Service),
            _ => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_exactly_their_wire_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("Admin".parse::<Role>().is_err());
        assert!("root".parse::<Role>().is_err());
    }
}
