//! `PATCH /v1/employees/{id}`: the merged record is validated by the same rules as a create.
//!
//! A patch that changes `hire_date` but not `date_of_birth` makes the age rule compare the new
//! date with the *stored* birth date: a guess tested against a sensitive value (sixteen such
//! probes used to find anyone's birth date). That is a `Compare` decision of its own — refused
//! while restricted — and its entry lists `date_of_birth` in `fields` with the reason
//! [`COMPARED_REASON`], which the monitor counts as a read of the record whatever the outcome.

use super::plaintext::{masked_view, merge_patch};
use super::{EmployeeView, Meta, RecordRef};
use crate::audit::{Action, Outcome};
use crate::model::{EmployeePatch, FieldName, Patch};
use crate::monitor::COMPARED_REASON;
use crate::service::access::{Compare, Update};
use crate::service::{Principal, RequestCtx, ServiceError, Vault};
use crate::store::StoreError;

/// `If-Match` against the current version: `"3"`, `W/"3"`, `3`, a list, or `*`.
fn if_match_ok(header: &str, version: u64) -> bool {
    header.split(',').map(str::trim).any(|tag| {
        tag == "*"
            || tag
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse::<u64>()
                .is_ok_and(|v| v == version)
    })
}

impl Vault {
    /// Applies a partial update (version-checked with `If-Match`). Runs to its end once started.
    pub async fn update_employee(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        id: RecordRef,
        if_match: Option<String>,
        patch: Result<EmployeePatch, ServiceError>,
    ) -> Result<EmployeeView, ServiceError> {
        let grant = self.authorize::<Update>(who, ctx, id.id(), None).await?;
        let patch = patch?;
        let (v, who, ctx) = (self.clone(), who.clone(), ctx.clone());
        self.detached(async move {
            v.update(&who, &ctx, grant, id, if_match.as_deref(), patch)
                .await
        })
        .await
    }

    async fn update(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        grant: crate::service::access::Grant<Update>,
        id: RecordRef,
        if_match: Option<&str>,
        patch: EmployeePatch,
    ) -> Result<EmployeeView, ServiceError> {
        let action = Action::EmployeeUpdate;
        // The record, and any unique value the patch would take, one writer at a time.
        let mut keys: Vec<Vec<u8>> =
            vec![id.id().map(|i| i.as_bytes().to_vec()).unwrap_or_default()];
        if let Patch::Value(n) = &patch.employee_number {
            keys.push(super::number_key(n));
        }
        if let Patch::Value(s) = &patch.ssn
            && let Ok(ssn) = crate::model::Ssn::parse(s.trim())
        {
            keys.push(self.inner.keys.index_key().ssn(&ssn).0.to_vec());
        }
        let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let _serial = self.inner.write_locks.lock(&keys).await;
        let Some((loaded, rec)) = self.find(id)? else {
            return Err(self
                .fail(who, ctx, action, id.id(), ServiceError::NotFound)
                .await);
        };
        let grant = self.bind(who, ctx, grant, &rec, action).await?;
        if if_match.is_some_and(|h| !if_match_ok(h, rec.version)) {
            return Err(self
                .fail(
                    who,
                    ctx,
                    action,
                    Some(rec.id),
                    ServiceError::PreconditionFailed,
                )
                .await);
        }
        let mut fields: Vec<String> = patch
            .touched_fields()
            .into_iter()
            .map(String::from)
            .collect();
        if matches!(patch.status, Patch::Null) {
            // `status` has a default on create, but clearing it on an update would silently
            // turn the person back into an onboarding hire.
            let err = ServiceError::invalid(
                "status",
                "may not be null; give one of onboarding, active, on_leave, terminated",
            );
            return Err(self.fail(who, ctx, action, Some(rec.id), err).await);
        }
        let compares = matches!(patch.hire_date, Patch::Value(_))
            && matches!(patch.date_of_birth, Patch::Absent);
        let compare = if compares {
            let dob = [FieldName::DateOfBirth];
            Some(
                self.authorize::<Compare>(who, ctx, Some(rec.id), Some(&dob))
                    .await?,
            )
        } else {
            None
        };
        if fields.is_empty() {
            // Nothing to change: no write, no new version; audited as an update of no fields.
            let mut e = self.entry(who, ctx, action, Outcome::Success);
            e.employee_id = Some(rec.id);
            e.fields = Some(vec![]);
            let recorded = self.record(e).await?;
            return masked_view(self, &grant, &recorded, &rec);
        }
        let merged = merge_patch(self, &grant, compare.as_ref(), &rec, patch)?;
        if compare.is_some() {
            fields.push(FieldName::DateOfBirth.as_str().to_owned());
        }
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(rec.id);
        e.fields = Some(fields);
        if compare.is_some() {
            e.reason = Some(COMPARED_REASON.to_owned());
        }
        if let Err(errs) = &merged.peek().result {
            // The merge failed validation: one `error` entry (still listing what it compared),
            // then the 422, and nothing changes.
            e.outcome = Outcome::Error;
            let errs = errs.clone();
            self.record(e).await?;
            return Err(ServiceError::Invalid(errs));
        }
        let new = merged.peek().result.as_ref().expect("checked just above");
        let store = &self.inner.store;
        if !new
            .public
            .employee_number
            .eq_ignore_ascii_case(&rec.public.employee_number)
            && store
                .employee_id_by_number(&new.public.employee_number)?
                .is_some()
        {
            let err =
                ServiceError::conflict("employee_number", "employee_number is already in use");
            return Err(self.fail(who, ctx, action, Some(rec.id), err).await);
        }
        let index = self.inner.keys.index_key().ssn(&new.sensitive.ssn);
        if index != rec.ssn_index && store.employee_id_by_ssn(&index)?.is_some() {
            let err = ServiceError::conflict("ssn", "a record with this ssn already exists");
            return Err(self.fail(who, ctx, action, Some(rec.id), err).await);
        }
        let recorded = self.record(e).await?;
        let merged = merged.release(&recorded)?;
        let new = merged.result.expect("checked above");
        let meta = Meta {
            version: rec.version + 1,
            created_at: rec.created_at,
            updated_at: self.now(),
            honeytoken: rec.honeytoken,
        };
        let next = self.seal_record(
            rec.id,
            &merged.key,
            rec.record_key,
            new.public,
            &new.sensitive,
            meta,
        )?;
        drop(merged.key);
        match store.replace_employee(&loaded, &next) {
            Ok(()) => {}
            Err(StoreError::Conflict("version")) if if_match.is_some() => {
                return Err(self
                    .fail(
                        who,
                        ctx,
                        action,
                        Some(rec.id),
                        ServiceError::PreconditionFailed,
                    )
                    .await);
            }
            Err(err) => return Err(self.write_failed(who, ctx, action, rec.id, err).await),
        }
        self.durable().await?;
        super::plaintext::masked_view_of_new(&grant, &recorded, &next, &new.sensitive)
    }
}

#[cfg(test)]
mod tests {
    use super::if_match_ok;

    #[test]
    fn if_match_forms() {
        assert!(if_match_ok("\"3\"", 3));
        assert!(if_match_ok("W/\"3\"", 3));
        assert!(if_match_ok("3", 3));
        assert!(if_match_ok("\"1\", \"3\"", 3));
        assert!(if_match_ok("*", 3));
        assert!(!if_match_ok("\"2\"", 3));
        assert!(!if_match_ok("garbage", 3));
    }
}
