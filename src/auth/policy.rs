//! Who may do what (CONTRACT §2 Roles and the route table), and how each role sees sensitive
//! fields on reads: the tables only. Decisions — these tables plus the record-level rules — are
//! made in one place, `service::access`, which mints the proofs the record wing requires.

use crate::model::Role;

/// An operation guarded by the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    EmployeeCreate,
    EmployeeRead,
    EmployeeList,
    EmployeeUpdate,
    EmployeeDelete,
    EmployeeReveal,
    EmployeeLookup,
    PayrollExport,
    UsersManage,
    KeysManage,
    AuditRead,
    HrFlagCreate,
    HrFlagRead,
    HrFlagDelete,
    AlertsRead,
    AlertsUpdate,
    RiskRead,
    HoneytokenCreate,
}

impl Permission {
    /// The roles holding this permission.
    pub fn roles(self) -> &'static [Role] {
        use Permission::*;
        use Role::*;
        match self {
            EmployeeCreate | EmployeeUpdate | EmployeeDelete => &[Hr],
            EmployeeRead | EmployeeList => &[Hr, Payroll, Security],
            EmployeeReveal | EmployeeLookup => &[Hr, Payroll],
            PayrollExport => &[Payroll],
            UsersManage | KeysManage => &[Admin],
            AuditRead => &[Auditor, Security],
            HrFlagCreate => &[Hr, Security],
            HrFlagRead | HrFlagDelete | AlertsRead | AlertsUpdate | RiskRead | HoneytokenCreate => {
                &[Security]
            }
        }
    }

    /// A short human name for denial messages and audit reasons.
    pub fn describe(self) -> &'static str {
        use Permission::*;
        match self {
            EmployeeCreate => "employee.create",
            EmployeeRead => "employee.read",
            EmployeeList => "employee.list",
            EmployeeUpdate => "employee.update",
            EmployeeDelete => "employee.delete",
            EmployeeReveal => "employee.reveal",
            EmployeeLookup => "employee.lookup",
            PayrollExport => "employee.export",
            UsersManage => "users",
            KeysManage => "keys",
            AuditRead => "audit.read",
            HrFlagCreate => "hr_flag.create",
            HrFlagRead => "hr_flag.read",
            HrFlagDelete => "hr_flag.delete",
            AlertsRead => "alert.read",
            AlertsUpdate => "alert.update",
            RiskRead => "risk.read",
            HoneytokenCreate => "honeytoken.create",
        }
    }
}

/// How a role sees the sensitive fields on reads (full values only via reveal or export).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldView {
    /// `***-**-6789` and friends.
    Masked,
    /// Left out of the JSON entirely.
    Absent,
}

/// The masking table of CONTRACT §2.
pub fn field_view(role: Role) -> FieldView {
    match role {
        Role::Hr | Role::Payroll => FieldView::Masked,
        Role::Security | Role::Admin | Role::Auditor => FieldView::Absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_and_auditor_never_touch_employee_data() {
        use Permission::*;
        for p in [
            EmployeeCreate,
            EmployeeRead,
            EmployeeList,
            EmployeeUpdate,
            EmployeeDelete,
            EmployeeReveal,
            EmployeeLookup,
            PayrollExport,
        ] {
            assert!(!p.roles().contains(&Role::Admin), "{p:?}");
            assert!(!p.roles().contains(&Role::Auditor), "{p:?}");
        }
    }

    #[test]
    fn route_table() {
        use Permission::*;
        let allowed = |r: Role, p: Permission| p.roles().contains(&r);
        assert!(allowed(Role::Hr, EmployeeCreate) && !allowed(Role::Payroll, EmployeeCreate));
        assert!(allowed(Role::Security, EmployeeRead) && !allowed(Role::Security, EmployeeReveal));
        assert!(allowed(Role::Payroll, PayrollExport) && !allowed(Role::Hr, PayrollExport));
        assert!(
            allowed(Role::Auditor, AuditRead)
                && allowed(Role::Security, AuditRead)
                && !allowed(Role::Hr, AuditRead)
        );
        assert!(allowed(Role::Hr, HrFlagCreate) && !allowed(Role::Hr, HrFlagRead));
        assert_eq!(field_view(Role::Security), FieldView::Absent);
        assert_eq!(field_view(Role::Payroll), FieldView::Masked);
    }
}
