//! Employee records: create, read, list, update, crypto-shred, reveal, lookup.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::idempotency::{IdempotencyKey, Replay};
use super::{EmployeeView, Principal, RequestCtx, ServiceError, Vault, redact_numbers};
use crate::audit::{Action, Outcome};
use crate::auth::AccessGranted;
use crate::model::{
    BankAccount, EmployeeDraft, EmployeeId, EmployeeStatus, FieldError, FieldName, HomeAddress,
    NewEmployee, Patch, Ssn, ValidationErrors,
};
use crate::store::{EmployeeEntry, Loaded, StoreError, StoredEmployee};

/// `GET /v1/employees` parameters, as received.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1–500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only records of this department (exact match).
    pub department: Option<String>,
    /// Only records with this status.
    #[param(value_type = Option<EmployeeStatus>)]
    pub status: Option<String>,
}

/// One page of records.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListPage {
    pub employees: Vec<EmployeeView>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required)]
    pub next_cursor: Option<String>,
}

/// `POST /v1/employees/{id}/reveal` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"fields": ["ssn", "bank_account"], "reason": "payroll correction ticket"})))]
pub struct RevealRequest {
    /// Sensitive fields to reveal.
    #[schema(required, nullable = false, value_type = Option<Vec<FieldName>>, min_items = 1)]
    pub fields: Option<Vec<String>>,
    /// Why (10–1000 characters); kept in the audit log.
    #[schema(required, nullable = false, min_length = 10, max_length = 1000)]
    pub reason: Option<String>,
}

/// The plaintext body of a reveal, serialized straight into a zeroizing buffer: the fields asked
/// for, in full. Only `service` builds one (its fields are private).
#[derive(Serialize, ToSchema)]
#[schema(
    as = RevealedFields,
    description = "The fields asked for, in full; the others are left out."
)]
pub struct Revealed<'a> {
    /// `AAA-GG-SSSS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    ssn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = Date)]
    date_of_birth: Option<&'a str>,
    /// Null if the record has no address.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<HomeAddress>)]
    home_address: Option<Option<&'a HomeAddress>>,
    /// Null if the record has no bank account.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BankAccount>)]
    bank_account: Option<Option<&'a BankAccount>>,
}

/// `POST /v1/employees/lookup` body (holds an SSN: zeroized, no `Debug`).
#[derive(Deserialize, Zeroize, ZeroizeOnDrop, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "The SSN to look up.")]
pub struct LookupRequest {
    /// `AAA-GG-SSSS` or 9 digits.
    #[schema(required, nullable = false)]
    pub ssn: Option<String>,
}

const MIN_REASON: usize = 10;
const MAX_REASON: usize = 1000;

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
    pub(crate) fn load_live(
        &self,
        id: &EmployeeId,
    ) -> Result<Option<(Loaded<EmployeeEntry>, StoredEmployee)>, ServiceError> {
        Ok(self.inner.store.employee(id)?.and_then(|l| {
            let live = l.value.live().cloned();
            live.map(|e| (l, e))
        }))
    }

    /// Creates a record (or, with `honeytoken`, a decoy) and returns it as the caller may see it.
    /// With an idempotency key, a retry with the same body returns the record the first request
    /// created (no second record); the same key with another body is a 409.
    pub async fn create_employee(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        grant: &AccessGranted,
        draft: EmployeeDraft,
        honeytoken: bool,
        idempotency: Option<IdempotencyKey>,
    ) -> Result<EmployeeView, ServiceError> {
        let action = if honeytoken {
            Action::HoneytokenCreate
        } else {
            Action::EmployeeCreate
        };
        let expired = match &idempotency {
            None => None,
            Some(k) => match self.idempotent_replay(who, ctx, grant, action, k).await? {
                Replay::Done(view) => return Ok(*view),
                Replay::Fresh(expired) => expired,
            },
        };
        let new = match NewEmployee::parse(&draft) {
            Ok(n) => n,
            Err(errs) => {
                return Err(self
                    .fail(who, ctx, action, None, ServiceError::Invalid(errs))
                    .await);
            }
        };
        drop(draft);
        let store = &self.inner.store;
        if store
            .employee_id_by_number(&new.public.employee_number)?
            .is_some()
        {
            let err =
                ServiceError::conflict("employee_number", "employee_number is already in use");
            return Err(self.fail(who, ctx, action, None, err).await);
        }
        if store
            .employee_id_by_ssn(&self.inner.keys.index_key().ssn(&new.sensitive.ssn))?
            .is_some()
        {
            let err = ServiceError::conflict("ssn", "a record with this ssn already exists");
            return Err(self.fail(who, ctx, action, None, err).await);
        }
        let id = EmployeeId::random();
        let now = self.now();
        let (key, key_ref) = self.new_record_key(&id)?;
        let sealed = self.seal_record(
            id,
            &key,
            key_ref,
            new.public,
            &new.sensitive,
            (1, now, now, honeytoken),
        );
        drop(key);
        let rec = match sealed {
            Ok(r) => r,
            Err(e) => {
                let _ = self.inner.store.release_record_key(key_ref.slot);
                return Err(e);
            }
        };
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(id);
        // The key slot must be durable before the record that points at it can be.
        let recorded = match self.record_and_sync(e).await {
            Ok(r) => r,
            Err(err) => {
                let _ = self.inner.store.release_record_key(key_ref.slot);
                return Err(err);
            }
        };
        let reservation = idempotency
            .as_ref()
            .map(|k| k.reservation(who.user_id, id, now));
        let inserted = match &reservation {
            None => store.insert_employee(&rec),
            Some(r) => store.insert_employee_idempotent(&rec, Some((r, expired.as_ref()))),
        };
        if inserted.is_err() {
            let _ = self.inner.store.release_record_key(key_ref.slot);
        }
        match inserted {
            Ok(()) => {}
            Err(StoreError::Conflict("idempotency")) => {
                // A concurrent request with the same key won: this one created nothing.
                let _ = self
                    .write_failed(who, ctx, action, id, StoreError::Conflict("idempotency"))
                    .await;
                let key = idempotency.as_ref().expect("a reservation implies a key");
                return match self.idempotent_replay(who, ctx, grant, action, key).await? {
                    Replay::Done(view) => Ok(*view),
                    Replay::Fresh(_) => Err(ServiceError::Conflict {
                        field: None,
                        message: "the Idempotency-Key is in use; retry".into(),
                    }),
                };
            }
            Err(err) => return Err(self.write_failed(who, ctx, action, id, err).await),
        }
        self.durable().await?;
        self.view(grant, &recorded, &rec)
    }

    /// A write that was audited as successful did not apply (a concurrent request won a race,
    /// or the store failed): record a second entry with the same request id saying so.
    async fn write_failed(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        action: Action,
        id: EmployeeId,
        err: StoreError,
    ) -> ServiceError {
        let mapped = match err {
            StoreError::Conflict("employee_number") => {
                ServiceError::conflict("employee_number", "employee_number is already in use")
            }
            StoreError::Conflict("ssn") => {
                ServiceError::conflict("ssn", "a record with this ssn already exists")
            }
            StoreError::Conflict(_) => ServiceError::Conflict {
                field: None,
                message: "the record was changed concurrently; retry".into(),
            },
            other => ServiceError::from(other),
        };
        self.fail(who, ctx, action, Some(id), mapped).await
    }

    /// `GET /v1/employees/{id}`.
    pub async fn get_employee(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        grant: &AccessGranted,
        id: &str,
    ) -> Result<EmployeeView, ServiceError> {
        let Some((_, rec)) = self.find(id)? else {
            return Err(self
                .fail(
                    who,
                    ctx,
                    Action::EmployeeRead,
                    id.parse().ok(),
                    ServiceError::NotFound,
                )
                .await);
        };
        let mut e = self.entry(who, ctx, Action::EmployeeRead, Outcome::Success);
        e.employee_id = Some(rec.id);
        let recorded = self.record(e).await?;
        self.view(grant, &recorded, &rec)
    }

    fn find(
        &self,
        id: &str,
    ) -> Result<Option<(Loaded<EmployeeEntry>, StoredEmployee)>, ServiceError> {
        match id.parse::<EmployeeId>() {
            Ok(id) => self.load_live(&id),
            Err(_) => Ok(None),
        }
    }

    /// `GET /v1/employees`: id order, cursor-paged, filtered; sensitive fields masked.
    pub async fn list_employees(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        grant: &AccessGranted,
        q: ListQuery,
    ) -> Result<ListPage, ServiceError> {
        let limit = match q.limit.as_deref() {
            None => 50,
            Some(l) => match l.parse::<usize>() {
                Ok(0) | Err(_) => {
                    return Err(ServiceError::invalid(
                        "limit",
                        "must be an integer from 1 to 500",
                    ));
                }
                Ok(n) => n.min(500),
            },
        };
        let after = match q.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(
                B64URL
                    .decode(c)
                    .ok()
                    .and_then(|b| EmployeeId::from_slice(&b).ok())
                    .ok_or_else(|| {
                        ServiceError::BadRequest("cursor is not one this server issued".into())
                    })?,
            ),
        };
        let status = match q.status.as_deref() {
            None => None,
            Some(s) => Some(s.parse::<EmployeeStatus>().map_err(|()| {
                ServiceError::invalid(
                    "status",
                    "must be one of onboarding, active, on_leave, terminated",
                )
            })?),
        };
        let mut page = Vec::with_capacity(limit);
        let mut more = false;
        for entry in self.inner.store.employees_after(after.as_ref()) {
            let EmployeeEntry::Live(rec) = entry? else {
                continue;
            };
            if q.department
                .as_deref()
                .is_some_and(|d| rec.public.department.as_deref() != Some(d))
            {
                continue;
            }
            if status.is_some_and(|s| rec.public.status != s) {
                continue;
            }
            if page.len() == limit {
                more = true;
                break;
            }
            page.push(rec);
        }
        let mut e = self.entry(who, ctx, Action::EmployeeList, Outcome::Success);
        e.employee_ids = Some(page.iter().map(|r| r.id).collect());
        let recorded = self.record(e).await?;
        let next_cursor = if more {
            page.last().map(|r| B64URL.encode(r.id.as_bytes()))
        } else {
            None
        };
        let employees = page
            .iter()
            .map(|r| self.view(grant, &recorded, r))
            .collect::<Result<_, _>>()?;
        Ok(ListPage {
            employees,
            next_cursor,
        })
    }

    /// `PATCH /v1/employees/{id}`: the merged record is validated by the same rules as a create.
    pub async fn update_employee(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        grant: &AccessGranted,
        id: &str,
        if_match: Option<&str>,
        patch: crate::model::EmployeePatch,
    ) -> Result<EmployeeView, ServiceError> {
        let action = Action::EmployeeUpdate;
        let Some((loaded, rec)) = self.find(id)? else {
            return Err(self
                .fail(who, ctx, action, id.parse().ok(), ServiceError::NotFound)
                .await);
        };
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
        let touched: Vec<String> = patch
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
        if touched.is_empty() {
            // Nothing to change: no write, no new version; the read is audited as an update
            // with no fields.
            let mut e = self.entry(who, ctx, action, Outcome::Success);
            e.employee_id = Some(rec.id);
            e.fields = Some(vec![]);
            let recorded = self.record(e).await?;
            return self.view(grant, &recorded, &rec);
        }
        let (key, current) = self.open_for_update(grant, &rec)?;
        let mut draft = EmployeeDraft::from_parts(&rec.public, &current);
        draft.apply(patch);
        let new = match NewEmployee::parse(&draft) {
            Ok(n) => n,
            Err(errs) => {
                return Err(self
                    .fail(who, ctx, action, Some(rec.id), ServiceError::Invalid(errs))
                    .await);
            }
        };
        drop(draft);
        let store = &self.inner.store;
        if !new
            .public
            .employee_number
            .eq_ignore_ascii_case(&rec.public.employee_number)
            && store
                .employee_id_by_number(&new.public.employee_number)?
                .is_some()
        {
            return Err(self
                .fail(
                    who,
                    ctx,
                    action,
                    Some(rec.id),
                    ServiceError::conflict("employee_number", "employee_number is already in use"),
                )
                .await);
        }
        let index = self.inner.keys.index_key().ssn(&new.sensitive.ssn);
        if index != rec.ssn_index && store.employee_id_by_ssn(&index)?.is_some() {
            return Err(self
                .fail(
                    who,
                    ctx,
                    action,
                    Some(rec.id),
                    ServiceError::conflict("ssn", "a record with this ssn already exists"),
                )
                .await);
        }
        let next = self.seal_record(
            rec.id,
            &key,
            rec.record_key,
            new.public,
            &new.sensitive,
            (rec.version + 1, rec.created_at, self.now(), rec.honeytoken),
        )?;
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(rec.id);
        e.fields = Some(touched);
        let recorded = self.record(e).await?;
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
        self.view(grant, &recorded, &next)
    }

    /// `DELETE /v1/employees/{id}`: crypto-shred (record key destroyed, indexes freed).
    pub async fn delete_employee(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        _grant: &AccessGranted,
        id: &str,
    ) -> Result<(), ServiceError> {
        let action = Action::EmployeeDelete;
        let Some((loaded, rec)) = self.find(id)? else {
            return Err(self
                .fail(who, ctx, action, id.parse().ok(), ServiceError::NotFound)
                .await);
        };
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(rec.id);
        self.record(e).await?;
        if let Err(err) = self.inner.store.shred_employee(&loaded, self.now()) {
            return Err(self.write_failed(who, ctx, action, rec.id, err).await);
        }
        // The tombstone (with its shred mark) is durable before the key slot is overwritten, so
        // a crash can never leave a live record without its key.
        self.durable().await?;
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || store.complete_pending_shreds())
            .await
            .map_err(|_| ServiceError::Internal)??;
        Ok(())
    }

    /// `POST /v1/employees/{id}/reveal`: the requested fields in full, audited with the reason.
    pub async fn reveal(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        grant: &AccessGranted,
        id: &str,
        req: RevealRequest,
    ) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        let action = Action::EmployeeReveal;
        let employee = id.parse::<EmployeeId>().ok();
        let mut errors = Vec::new();
        let mut fields: Vec<FieldName> = Vec::new();
        match &req.fields {
            None => errors.push(FieldError {
                field: "fields".into(),
                message: "is required".into(),
            }),
            Some(list) if list.is_empty() => errors.push(FieldError {
                field: "fields".into(),
                message: "must name at least one field".into(),
            }),
            Some(list) => {
                for name in list {
                    match FieldName::parse(name) {
                        Some(f) if !fields.contains(&f) => fields.push(f),
                        Some(_) => {}
                        None => errors.push(FieldError {
                            field: "fields".into(),
                            message:
                                "may only contain ssn, date_of_birth, home_address, bank_account"
                                    .into(),
                        }),
                    }
                }
            }
        }
        let reason = req.reason.as_deref().map(str::trim).unwrap_or("");
        if reason.chars().count() < MIN_REASON {
            errors.push(FieldError {
                field: "reason".into(),
                message: format!("is required: at least {MIN_REASON} characters saying why"),
            });
        } else if reason.chars().count() > MAX_REASON || reason.chars().any(char::is_control) {
            errors.push(FieldError {
                field: "reason".into(),
                message: format!("must be at most {MAX_REASON} printable characters"),
            });
        }
        let names: Vec<String> = fields.iter().map(|f| f.as_str().to_owned()).collect();
        if !errors.is_empty() {
            return Err(self
                .fail(
                    who,
                    ctx,
                    action,
                    employee,
                    ServiceError::Invalid(ValidationErrors(errors)),
                )
                .await);
        }
        if let Some(why) = self.reveal_restriction(who) {
            return Err(self.deny(who, ctx, employee, Some(names), why).await);
        }
        let Some((_, rec)) = self.find(id)? else {
            return Err(self
                .fail(who, ctx, action, employee, ServiceError::NotFound)
                .await);
        };
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(rec.id);
        e.fields = Some(names);
        e.reason = Some(redact_numbers(reason));
        let recorded = self.record(e).await?;

        let key = self.key_for_response(grant, &recorded, &rec)?;
        let want = |f: FieldName| fields.contains(&f);
        let ssn = if want(FieldName::Ssn) {
            Some(Self::open_ssn(&key, &rec)?.formatted())
        } else {
            None
        };
        let dob = if want(FieldName::DateOfBirth) {
            Some(Self::open_dob(&key, &rec)?)
        } else {
            None
        };
        let address = if want(FieldName::HomeAddress) {
            Some(Self::open_address(&key, &rec)?)
        } else {
            None
        };
        let bank = if want(FieldName::BankAccount) {
            Some(Self::open_bank(&key, &rec)?)
        } else {
            None
        };
        let body = Revealed {
            ssn: ssn.as_deref().map(String::as_str),
            date_of_birth: dob.as_ref().map(|d| d.as_str()),
            home_address: address.as_ref().map(Option::as_ref),
            bank_account: bank.as_ref().map(Option::as_ref),
        };
        // Reserve enough that serialization never reallocates and strands plaintext copies.
        let mut out = Zeroizing::new(Vec::with_capacity(4096));
        serde_json::to_writer(&mut *out, &body).map_err(|_| ServiceError::Internal)?;
        Ok(out)
    }

    /// `POST /v1/employees/lookup`: finds a record by SSN through the blind index (no scan, no
    /// decryption until the match is audited).
    pub async fn lookup(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        grant: &AccessGranted,
        req: LookupRequest,
    ) -> Result<EmployeeView, ServiceError> {
        let action = Action::EmployeeLookup;
        let ssn = match req.ssn.as_deref().map(str::trim) {
            None | Some("") => {
                return Err(self
                    .fail(
                        who,
                        ctx,
                        action,
                        None,
                        ServiceError::invalid("ssn", "is required"),
                    )
                    .await);
            }
            Some(s) => match Ssn::parse(s) {
                Ok(s) => s,
                Err(m) => {
                    return Err(self
                        .fail(who, ctx, action, None, ServiceError::invalid("ssn", m))
                        .await);
                }
            },
        };
        let index = self.inner.keys.index_key().ssn(&ssn);
        drop(ssn);
        let found = match self.inner.store.employee_id_by_ssn(&index)? {
            Some(id) => self.load_live(&id)?,
            None => None,
        };
        let Some((_, rec)) = found else {
            return Err(self
                .fail(who, ctx, action, None, ServiceError::NotFound)
                .await);
        };
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(rec.id);
        let recorded = self.record(e).await?;
        self.view(grant, &recorded, &rec)
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
