//! HR flags: created by hr or security, listed and cleared by security. A termination flag cuts
//! the person's vault accounts off before the response; pip, disciplinary and layoff flags
//! restrict reveals while `monitor.restrict_flagged` is on.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Principal, RequestCtx, ServiceError, Vault};
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::clock::rfc3339;
use crate::model::{EmployeeId, FieldError, FlagId, FlagKind, ValidationErrors, parse_date};
use crate::monitor::FlagView as RuleFlag;
use crate::store::{DisabledReason, StoredFlag};

/// `POST /v1/hr-flags` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"employee_id": "6f1c2b9e-8a43-4d0b-9a53-0f5d1c2e7a10", "kind": "pip", "effective_date": "2026-03-01"})))]
pub struct NewFlag {
    #[schema(required, nullable = false, format = "uuid")]
    pub employee_id: Option<String>,
    #[schema(required, nullable = false, value_type = Option<FlagKind>)]
    pub kind: Option<String>,
    /// Active from this date (a future date schedules it).
    #[schema(required, nullable = false, format = Date)]
    pub effective_date: Option<String>,
    /// At most 1000 characters.
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// A flag as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagView {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub employee_id: String,
    #[schema(value_type = FlagKind)]
    pub kind: &'static str,
    #[schema(format = Date)]
    pub effective_date: String,
    /// Not cleared and `effective_date` reached.
    pub active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(required)]
    pub note: Option<String>,
    #[schema(required, format = DateTime)]
    pub cleared_at: Option<String>,
}

const MAX_NOTE: usize = 1000;

impl Vault {
    /// Today in the monitor's time zone (flags are dated, not timed).
    fn today(&self) -> Date {
        self.now()
            .to_zoned_datetime(self.inner.settings.monitor.timezone.clone())
            .date()
    }

    fn flag_view(&self, f: &StoredFlag) -> FlagView {
        FlagView {
            id: f.id.to_string(),
            employee_id: f.employee_id.to_string(),
            kind: f.kind.as_str(),
            effective_date: f.effective_date.to_string(),
            active: f.cleared_at.is_none() && f.effective_date <= self.today(),
            created_at: rfc3339(f.created_at),
            note: f.note.clone(),
            cleared_at: f.cleared_at.map(rfc3339),
        }
    }

    /// Every flag as stored now (reloaded if any node changed one since this node last looked).
    pub(crate) fn current_flags(&self) -> std::sync::Arc<Vec<crate::store::StoredFlag>> {
        self.inner
            .flags
            .get(&self.inner.store, crate::store::Store::flags)
    }

    /// Flags in force now on `employee`.
    pub(crate) fn active_flags(&self, employee: &EmployeeId) -> Vec<FlagKind> {
        let (now, tz) = (self.now(), self.inner.settings.monitor.timezone.clone());
        self.current_flags()
            .iter()
            .filter(|f| f.employee_id == *employee)
            .filter(|f| {
                RuleFlag {
                    kind: f.kind,
                    effective_date: f.effective_date,
                    created_at: f.created_at,
                    cleared_at: f.cleared_at,
                }
                .active_at(now, &tz)
            })
            .map(|f| f.kind)
            .collect()
    }

    /// `POST /v1/hr-flags`.
    pub async fn create_flag(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        req: Result<NewFlag, ServiceError>,
    ) -> Result<FlagView, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::CreateFlag>(who, ctx, None, None)
            .await?;
        let req = req?;
        let action = Action::HrFlagCreate;
        let mut errs = Vec::new();
        let kind = match req.kind.as_deref() {
            None => {
                errs.push(FieldError {
                    field: "kind".into(),
                    message: "is required".into(),
                });
                None
            }
            Some(k) => FlagKind::parse(k).or_else(|| {
                errs.push(FieldError {
                    field: "kind".into(),
                    message: "must be one of pip, disciplinary, layoff, resignation, termination"
                        .into(),
                });
                None
            }),
        };
        let effective_date = match req.effective_date.as_deref() {
            None => {
                errs.push(FieldError {
                    field: "effective_date".into(),
                    message: "is required".into(),
                });
                None
            }
            Some(d) => parse_date(d)
                .map_err(|m| {
                    errs.push(FieldError {
                        field: "effective_date".into(),
                        message: m.into(),
                    })
                })
                .ok(),
        };
        let note = req
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NOTE || n.chars().any(char::is_control))
        {
            errs.push(FieldError {
                field: "note".into(),
                message: format!("must be at most {MAX_NOTE} printable characters"),
            });
        }
        if req.employee_id.is_none() {
            errs.push(FieldError {
                field: "employee_id".into(),
                message: "is required".into(),
            });
        }
        if !errs.is_empty() {
            return Err(self
                .fail(
                    who,
                    ctx,
                    action,
                    None,
                    ServiceError::Invalid(ValidationErrors(errs)),
                )
                .await);
        }
        let Some(employee) = req
            .employee_id
            .as_deref()
            .and_then(|e| e.parse::<EmployeeId>().ok())
            .filter(|e| matches!(self.load_live(e), Ok(Some(_))))
        else {
            return Err(self
                .fail(who, ctx, action, None, ServiceError::NotFound)
                .await);
        };
        let _grant = self
            .bind_subject(
                who,
                ctx,
                _grant,
                Some(employee),
                None,
                "nobody may flag their own employee record",
            )
            .await?;
        let (kind, effective_date) = (kind.expect("validated"), effective_date.expect("validated"));
        let flag = StoredFlag {
            id: FlagId::random(),
            employee_id: employee,
            kind,
            effective_date,
            note,
            created_at: self.now(),
            created_by: Some(who.user_id),
            cleared_at: None,
            cleared_by: None,
        };
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(employee);
        e.reason = Some(format!(
            "{} flag {} effective {}",
            kind.as_str(),
            flag.id,
            effective_date
        ));
        self.record(e).await?;
        self.inner.store.insert_flag(&flag)?;
        if kind == FlagKind::Termination && effective_date <= self.today() {
            self.enforce_termination(&flag, Some(who), ctx).await?;
        }
        self.durable().await?;
        Ok(self.flag_view(&flag))
    }

    /// Disables every enabled user linked to the flagged employee and kills their tokens, each
    /// change audited (`user.update`) before it is applied.
    async fn enforce_termination(
        &self,
        flag: &StoredFlag,
        who: Option<&Principal>,
        ctx: &RequestCtx,
    ) -> Result<usize, ServiceError> {
        let linked: Vec<_> = self
            .inner
            .store
            .users()
            .filter_map(Result::ok)
            .filter(|u| u.employee_id == Some(flag.employee_id) && u.enabled)
            .collect();
        let mut disabled = 0;
        for user in linked {
            let Some(loaded) = self.inner.store.user(&user.id)? else {
                continue;
            };
            let mut next = loaded.value.clone();
            next.enabled = false;
            next.disabled_reason = Some(DisabledReason::Termination);
            next.token_generation = next.token_generation.wrapping_add(1);
            next.updated_at = self.now();
            let mut e = match who {
                Some(p) => self.entry(p, ctx, Action::UserUpdate, Outcome::Success),
                None => NewEntry::new(Actor::default(), Action::UserUpdate, Outcome::Success),
            };
            e.employee_id = Some(flag.employee_id);
            e.reason = Some(format!(
                "user {} ({}) disabled: termination flag {} effective {}",
                user.id, user.username, flag.id, flag.effective_date
            ));
            self.record(e).await?;
            self.inner.store.replace_user(&loaded, &next)?;
            disabled += 1;
        }
        Ok(disabled)
    }

    /// Enforces termination flags whose effective date has arrived (run periodically and at
    /// start). Re-enabling a terminated user therefore needs the flag cleared first.
    pub async fn enforce_due_terminations(&self) -> Result<usize, ServiceError> {
        let today = self.today();
        let due: Vec<StoredFlag> = self
            .current_flags()
            .iter()
            .filter(|f| {
                f.kind == FlagKind::Termination
                    && f.cleared_at.is_none()
                    && f.effective_date <= today
            })
            .cloned()
            .collect();
        let mut n = 0;
        for f in &due {
            n += self
                .enforce_termination(f, None, &RequestCtx::default())
                .await?;
        }
        if n > 0 {
            self.durable().await?;
        }
        Ok(n)
    }

    /// `GET /v1/hr-flags`: every flag, newest first (cleared ones stay, inactive).
    pub async fn list_flags(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
    ) -> Result<Vec<FlagView>, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ReadFlags>(who, ctx, None, None)
            .await?;
        let mut flags = self.current_flags().as_ref().clone();
        flags.sort_by_key(|f| std::cmp::Reverse(f.created_at));
        Ok(flags.iter().map(|f| self.flag_view(f)).collect())
    }

    /// `DELETE /v1/hr-flags/{id}`: clears the flag (kept in history).
    pub async fn clear_flag(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        id: &str,
    ) -> Result<(), ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ClearFlag>(who, ctx, None, None)
            .await?;
        let action = Action::HrFlagDelete;
        let loaded = match id.parse::<FlagId>() {
            Ok(id) => self.inner.store.flag(&id)?,
            Err(_) => None,
        };
        let Some(loaded) = loaded else {
            return Err(self
                .fail(who, ctx, action, None, ServiceError::NotFound)
                .await);
        };
        let flag = &loaded.value;
        let _grant = self
            .bind_subject(
                who,
                ctx,
                _grant,
                Some(flag.employee_id),
                None,
                "nobody may clear a flag on their own employee record",
            )
            .await?;
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(flag.employee_id);
        e.reason = Some(format!("{} flag {} cleared", flag.kind.as_str(), flag.id));
        self.record(e).await?;
        if flag.cleared_at.is_none() {
            let mut next = flag.clone();
            next.cleared_at = Some(self.now());
            next.cleared_by = Some(who.user_id);
            self.inner.store.replace_flag(&loaded, &next)?;
        }
        self.durable().await
    }
}
