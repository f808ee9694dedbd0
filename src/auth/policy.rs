//! Who may do what (CONTRACT §2 Roles and the route table), and how each role sees sensitive
//! fields on reads.
//!
//! `AccessGranted` can only be minted by `authorize`; the service requires one before it touches
//! a record, so a forgotten policy check does not compile.

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

/// Proof that the policy allowed `permission` to `role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessGranted {
    role: Role,
    permission: Permission,
}

impl AccessGranted {
    /// The role that was granted.
    pub fn role(&self) -> Role {
        self.role
    }

    /// What was granted.
    pub fn permission(&self) -> Permission {
        self.permission
    }
}

/// The policy refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("role {role} may not {}", permission.describe())]
pub struct Denied {
    /// Who asked.
    pub role: Role,
    /// For what.
    pub permission: Permission,
}

/// Checks `role` against the route table.
pub fn authorize(role: Role, permission: Permission) -> Result<AccessGranted, Denied> {
    if permission.roles().contains(&role) {
        Ok(AccessGranted { role, permission })
    } else {
        Err(Denied { role, permission })
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
pub fn field_view(grant: &AccessGranted) -> FieldView {
    match grant.role {
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
            assert!(authorize(Role::Admin, p).is_err(), "{p:?}");
            assert!(authorize(Role::Auditor, p).is_err(), "{p:?}");
        }
    }

    #[test]
    fn route_table() {
        use Permission::*;
        let allowed = |r: Role, p: Permission| authorize(r, p).is_ok();
        assert!(allowed(Role::Hr, EmployeeCreate) && !allowed(Role::Payroll, EmployeeCreate));
        assert!(allowed(Role::Security, EmployeeRead) && !allowed(Role::Security, EmployeeReveal));
        assert!(allowed(Role::Payroll, PayrollExport) && !allowed(Role::Hr, PayrollExport));
        assert!(
            allowed(Role::Auditor, AuditRead)
                && allowed(Role::Security, AuditRead)
                && !allowed(Role::Hr, AuditRead)
        );
        assert!(allowed(Role::Hr, HrFlagCreate) && !allowed(Role::Hr, HrFlagRead));
        assert_eq!(
            field_view(&authorize(Role::Security, EmployeeRead).unwrap()),
            FieldView::Absent
        );
        assert_eq!(
            field_view(&authorize(Role::Payroll, EmployeeRead).unwrap()),
            FieldView::Masked
        );
    }
}
