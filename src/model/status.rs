//! Employment status of a record.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `onboarding | active | on_leave | terminated` (CONTRACT §2 Employees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Employment status.")]
#[serde(rename_all = "snake_case")]
pub enum EmployeeStatus {
    /// Hired, not yet started.
    Onboarding,
    /// Working.
    Active,
    /// On leave.
    OnLeave,
    /// Left the company.
    Terminated,
}

impl EmployeeStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EmployeeStatus::Onboarding => "onboarding",
            EmployeeStatus::Active => "active",
            EmployeeStatus::OnLeave => "on_leave",
            EmployeeStatus::Terminated => "terminated",
        }
    }
}

impl FromStr for EmployeeStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "onboarding" => Ok(Self::Onboarding),
            "active" => Ok(Self::Active),
            "on_leave" => Ok(Self::OnLeave),
            "terminated" => Ok(Self::Terminated),
            _ => Err(()),
        }
    }
}
