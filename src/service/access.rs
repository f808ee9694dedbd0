//! The policy decision point: the one place that decides whether a caller may do an operation,
//! and on which record (DESIGN §8).
//!
//! Every rule that can keep a person from a sensitive value lives here, so a new route cannot
//! forget one: the role table (`auth::Permission::roles`), the restriction of flagged users
//! (CONTRACT §2 "Restriction"), the self-record rules ("Records and the people behind them") and
//! what a honeytoken hides (payroll never sees one in bulk).
//!
//! A decision is a [`Grant<P>`]: `P` is a marker per permission, sealed so that only this module
//! names new ones; a grant is neither `Clone` nor `Copy`, carries the user it was minted for and,
//! once [bound](Vault::bind) to a record, that record's id. The record wing
//! (`records::plaintext`) takes a `Grant` of the exact permission it serves, so a read grant
//! cannot reveal, delete or export — the compiler refuses it (see the doctests of
//! `crate::testing`). Every refusal is audited as `access.denied` before the 403.
//!
//! Must never: decide anything from a value the caller chose without re-checking the store, or
//! say in a refusal *why* a restricted person is restricted (the message must not reveal that a
//! flag exists).

use std::marker::PhantomData;

use super::{Principal, RequestCtx, ServiceError, Vault};
use crate::audit::{Action, Outcome};
use crate::auth::Permission as Table;
use crate::model::{EmployeeId, FieldName, FlagKind, Role, UserId};
use crate::store::StoredEmployee;

/// What a restricted person is told (CONTRACT §2: the refusal must not say a flag exists).
pub(crate) const RESTRICTED: &str = "not permitted for this account; contact your security team";

mod sealed {
    pub trait Sealed {}
}

/// A permission marker. Sealed: only this module defines them.
pub trait Permission: sealed::Sealed {
    /// The row of the role table.
    const TABLE: Table;
    /// Whether a flagged user is refused it while `monitor.restrict_flagged` is on: every
    /// permission that yields a full sensitive value or tests a guess against one.
    const RESTRICTED: bool = false;
    /// Whether the caller may not exercise it on the record linked to their own vault user.
    const NOT_ON_SELF: bool = false;
}

/// Permissions whose grant may open a record's sealed fields (masked or in full).
pub trait Opens: Permission {}

macro_rules! permissions {
    ($( $(#[$doc:meta])* $name:ident => $table:ident $(, $flag:ident)* ; )+) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub enum $name {}
            impl sealed::Sealed for $name {}
            impl Permission for $name {
                const TABLE: Table = Table::$table;
                $( const $flag: bool = true; )*
            }
        )+
    };
}

permissions! {
    /// `POST /v1/employees`.
    Create => EmployeeCreate;
    /// `GET /v1/employees/{id}`: masked fields.
    Read => EmployeeRead;
    /// `GET /v1/employees`: masked fields, page by page.
    List => EmployeeList;
    /// `PATCH /v1/employees/{id}`.
    Update => EmployeeUpdate, NOT_ON_SELF;
    /// A PATCH whose validation compares a supplied value with a stored sensitive value it does
    /// not replace (a new `hire_date` against the stored `date_of_birth`): a guess tested.
    Compare => EmployeeUpdate, RESTRICTED;
    /// `DELETE /v1/employees/{id}` (crypto-shred).
    Delete => EmployeeDelete, NOT_ON_SELF;
    /// `POST /v1/employees/{id}/reveal`: full values.
    Reveal => EmployeeReveal, RESTRICTED;
    /// `POST /v1/employees/lookup`: tests an SSN guess.
    Lookup => EmployeeLookup, RESTRICTED;
    /// `GET /v1/payroll/export`: full values in bulk.
    Export => PayrollExport, RESTRICTED;
    /// `POST /v1/employees/import` and `hrvault import`.
    Import => EmployeeCreate;
    /// `POST /v1/honeytokens`.
    PlantHoneytoken => HoneytokenCreate;
    /// `/v1/users`.
    ManageUsers => UsersManage;
    /// `hrvault keys rotate`.
    ManageKeys => KeysManage;
    /// `/v1/audit`.
    ReadAudit => AuditRead;
    /// `POST /v1/hr-flags`.
    CreateFlag => HrFlagCreate;
    /// `GET /v1/hr-flags`.
    ReadFlags => HrFlagRead;
    /// `DELETE /v1/hr-flags/{id}`.
    ClearFlag => HrFlagDelete;
    /// `GET /v1/alerts`.
    ReadAlerts => AlertsRead;
    /// `PATCH /v1/alerts/{id}`.
    TriageAlerts => AlertsUpdate;
    /// `GET /v1/risk`.
    ReadRisk => RiskRead;
}

impl Opens for Read {}
impl Opens for List {}
impl Opens for Update {}
impl Opens for Compare {}
impl Opens for Reveal {}
impl Opens for Lookup {}
impl Opens for Export {}
impl Opens for Create {}
impl Opens for Import {}
impl Opens for PlantHoneytoken {}

/// Proof that the policy allowed `P` to this user (and, once bound, on this record). Minted only
/// here; not `Clone`, not `Copy`.
#[derive(Debug)]
pub struct Grant<P: Permission> {
    user: UserId,
    role: Role,
    record: Option<EmployeeId>,
    _permission: PhantomData<fn() -> P>,
}

impl<P: Permission> Grant<P> {
    /// The role the grant was decided for.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The user it was minted for.
    pub fn user(&self) -> UserId {
        self.user
    }

    /// The record it is bound to, if any.
    pub fn record(&self) -> Option<EmployeeId> {
        self.record
    }
}

/// Why the policy refused, before it is audited.
enum Refusal {
    /// 403, with the message the caller sees.
    Forbidden(String),
    /// 409 (a state rule, audited as the operation's `error`).
    Conflict(&'static str, &'static str),
}

impl Vault {
    /// Decides `P` for `who` at route level: the role table, then the restriction. `about` and
    /// `fields` only go into the `access.denied` entry of a refusal. The restriction is checked
    /// before any record is looked up, so a restricted person cannot tell which ids exist.
    pub(crate) async fn authorize<P: Permission>(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        about: Option<EmployeeId>,
        fields: Option<&[FieldName]>,
    ) -> Result<Grant<P>, ServiceError> {
        match self.decide::<P>(who) {
            Ok(()) => Ok(Grant {
                user: who.user_id,
                role: who.role,
                record: None,
                _permission: PhantomData,
            }),
            Err(why) => Err(self.refuse(who, ctx, about, fields, why, None).await),
        }
    }

    /// Binds a route-level grant to the record it will act on, applying the record rules: nobody
    /// updates or deletes the record linked to their own vault user (403), and a record some
    /// vault user is linked to cannot be deleted (409) until that user is deleted or unlinked.
    pub(crate) async fn bind<P: Permission>(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        grant: Grant<P>,
        rec: &StoredEmployee,
        action: Action,
    ) -> Result<Grant<P>, ServiceError> {
        debug_assert_eq!(grant.user, who.user_id, "a grant is used by its own user");
        let refusal = if P::NOT_ON_SELF && who.employee_id == Some(rec.id) {
            Some(Refusal::Forbidden(
                "you may not change or delete the employee record linked to your own account"
                    .to_owned(),
            ))
        } else if P::TABLE == Table::EmployeeDelete && self.is_linked(&rec.id)? {
            Some(Refusal::Conflict(
                "employee_id",
                "a vault user is linked to this record: delete or unlink that user first",
            ))
        } else {
            None
        };
        match refusal {
            None => Ok(Grant {
                record: Some(rec.id),
                ..grant
            }),
            Some(why) => Err(self
                .refuse(who, ctx, Some(rec.id), None, why, Some(action))
                .await),
        }
    }

    /// Binds a grant to the person an operation concerns, refusing (403) when that is the
    /// caller: nobody flags or clears a flag on their own linked employee, and nobody triages
    /// an alert about themselves.
    pub(crate) async fn bind_subject<P: Permission>(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        grant: Grant<P>,
        employee: Option<EmployeeId>,
        user: Option<UserId>,
        why: &'static str,
    ) -> Result<Grant<P>, ServiceError> {
        let own_employee = employee.is_some() && employee == who.employee_id;
        let own_user = user == Some(who.user_id);
        if own_employee || own_user {
            let refusal = Refusal::Forbidden(why.to_owned());
            return Err(self.refuse(who, ctx, employee, None, refusal, None).await);
        }
        Ok(Grant {
            record: employee.or(grant.record),
            ..grant
        })
    }

    /// Whether a payroll-facing bulk view (a list page, an export) shows `rec`: a honeytoken is
    /// never in payroll's bulk views, so a list cannot be diffed against an export to find the
    /// decoys; everyone else sees it like any other record.
    pub(crate) fn shows_in_bulk<P: Opens>(grant: &Grant<P>, rec: &StoredEmployee) -> bool {
        !(rec.honeytoken && grant.role == Role::Payroll)
    }

    /// The pure decision of the role table and the restriction.
    fn decide<P: Permission>(&self, who: &Principal) -> Result<(), Refusal> {
        if !P::TABLE.roles().contains(&who.role) {
            return Err(Refusal::Forbidden(format!(
                "role {} may not {}",
                who.role,
                P::TABLE.describe()
            )));
        }
        if P::RESTRICTED && self.is_restricted(who) {
            return Err(Refusal::Forbidden(RESTRICTED.to_owned()));
        }
        Ok(())
    }

    /// Whether `who` is under restriction now: restriction on, and an active pip, disciplinary
    /// or layoff flag on their linked employee (whatever their monitoring group).
    pub(crate) fn is_restricted(&self, who: &Principal) -> bool {
        if !self.inner.settings.monitor.restrict_flagged {
            return false;
        }
        let Some(employee) = who.employee_id else {
            return false;
        };
        self.active_flags(&employee)
            .iter()
            .any(|k| matches!(k, FlagKind::Pip | FlagKind::Disciplinary | FlagKind::Layoff))
    }

    fn is_linked(&self, employee: &EmployeeId) -> Result<bool, ServiceError> {
        for u in self.inner.store.users() {
            if u?.employee_id.as_ref() == Some(employee) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Audits a refusal and turns it into the caller's error (503 if even that fails).
    async fn refuse(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        about: Option<EmployeeId>,
        fields: Option<&[FieldName]>,
        why: Refusal,
        action: Option<Action>,
    ) -> ServiceError {
        let (mut e, err) = match why {
            Refusal::Forbidden(msg) => {
                let mut e = self.entry(who, ctx, Action::AccessDenied, Outcome::Denied);
                e.reason = Some(msg.clone());
                (e, ServiceError::Forbidden(msg))
            }
            Refusal::Conflict(field, msg) => {
                let action = action.expect("a state refusal names its operation");
                let mut e = self.entry(who, ctx, action, Outcome::Error);
                e.reason = Some(msg.to_owned());
                (e, ServiceError::conflict(field, msg))
            }
        };
        e.employee_id = about;
        e.fields = fields.map(|f| f.iter().map(|f| f.as_str().to_owned()).collect());
        match self.record(e).await {
            Ok(_) => err,
            Err(unavailable) => unavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricted_permissions_are_exactly_the_plaintext_paths() {
        // Reveal, lookup, export and a comparing PATCH yield or test a full value; nothing else.
        const { assert!(<Reveal as Permission>::RESTRICTED) };
        const { assert!(<Lookup as Permission>::RESTRICTED) };
        const { assert!(<Export as Permission>::RESTRICTED) };
        const { assert!(<Compare as Permission>::RESTRICTED) };
        const { assert!(!<Read as Permission>::RESTRICTED) };
        const { assert!(!<List as Permission>::RESTRICTED) };
        const { assert!(<Update as Permission>::NOT_ON_SELF) };
        const { assert!(<Delete as Permission>::NOT_ON_SELF) };
    }

    #[test]
    fn the_restriction_message_does_not_say_why() {
        assert!(!RESTRICTED.contains("flag"));
        assert!(!RESTRICTED.contains("restrict"));
    }
}
