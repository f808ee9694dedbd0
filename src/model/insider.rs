//! Vocabulary of the insider-threat monitor: HR flag kinds, rules and severities.

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        // The OpenAPI names are the wire names (`as_str`); a test holds them equal.
        #[schema(rename_all = "snake_case")]
        pub enum $name { $( #[doc = $wire] $variant ),+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
            /// Parses a wire name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

named_enum!(
    /// Alert severity.
    Severity { Low => "low", Medium => "medium", High => "high", Critical => "critical" }
);

named_enum!(
    /// The detection rules.
    Rule {
        HrFlaggedAccess => "hr_flagged_access",
        LayoffWatchlistAccess => "layoff_watchlist_access",
        TerminatedUserAccess => "terminated_user_access",
        HoneytokenAccess => "honeytoken_access",
        ExcessiveAccess => "excessive_access",
        DeniedProbing => "denied_probing",
        OffHoursAccess => "off_hours_access",
        BulkReveal => "bulk_reveal",
        LookupProbing => "lookup_probing",
    }
);

named_enum!(
    /// HR flag kinds.
    FlagKind { Pip => "pip", Disciplinary => "disciplinary", Layoff => "layoff", Resignation => "resignation", Termination => "termination" }
);

impl Rule {
    /// The contract's severity of each rule.
    pub fn severity(self) -> Severity {
        match self {
            Rule::HrFlaggedAccess | Rule::TerminatedUserAccess | Rule::ExcessiveAccess => {
                Severity::High
            }
            Rule::LayoffWatchlistAccess
            | Rule::DeniedProbing
            | Rule::BulkReveal
            | Rule::LookupProbing => Severity::Medium,
            Rule::HoneytokenAccess => Severity::Critical,
            Rule::OffHoursAccess => Severity::Low,
        }
    }

    /// Rules that ignore monitoring groups.
    pub fn always_fires(self) -> bool {
        matches!(self, Rule::HoneytokenAccess | Rule::TerminatedUserAccess)
    }
}

named_enum!(
    /// Triage state of an alert.
    AlertStatus { Open => "open", Acknowledged => "acknowledged", Resolved => "resolved" }
);
