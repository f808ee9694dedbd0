//! Alerts: listing, triage and the per-user risk score.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Principal, RequestCtx, ServiceError, Vault};
use crate::audit::{Action, Outcome};
use crate::clock::rfc3339;
use crate::model::{AlertId, AlertStatus, Rule, Severity, UserId};
use crate::monitor::{RiskInput, risk_score};
use crate::store::{StoreError, StoredAlert};

/// An alert as `GET /v1/alerts` shows it (also the webhook body).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(value_type = Rule)]
    pub rule: &'static str,
    #[schema(value_type = Severity)]
    pub severity: &'static str,
    #[schema(required, format = "uuid")]
    pub user_id: Option<String>,
    #[schema(required)]
    pub username: Option<String>,
    /// The employee the rule concerns (the flagged person, the decoy), else null.
    #[schema(required, format = "uuid")]
    pub employee_id: Option<String>,
    pub summary: String,
    /// `seq` of the audit entries behind the alert, ascending: the first 1000 only.
    pub evidence_seqs: Vec<u64>,
    /// How many audit entries the alert has gathered in all; more than
    /// `evidence_seqs.len()` once the list is full.
    pub evidence_total: u64,
    #[schema(value_type = AlertStatus)]
    pub status: &'static str,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(required)]
    pub note: Option<String>,
}

impl AlertView {
    pub(crate) fn of(a: &StoredAlert) -> Self {
        Self {
            id: a.id.to_string(),
            rule: a.rule.as_str(),
            severity: a.severity.as_str(),
            user_id: a.user_id.map(|u| u.to_string()),
            username: a.username.clone(),
            employee_id: a.employee_id.map(|e| e.to_string()),
            summary: a.summary.clone(),
            evidence_seqs: a.evidence_seqs.clone(),
            evidence_total: a.evidence_total,
            status: a.status.as_str(),
            created_at: rfc3339(a.created_at),
            updated_at: rfc3339(a.updated_at),
            note: a.note.clone(),
        }
    }
}

/// `GET /v1/alerts` filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertFilter {
    #[param(value_type = Option<AlertStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<Severity>)]
    pub severity: Option<String>,
    #[param(value_type = Option<Rule>)]
    pub rule: Option<String>,
}

/// `PATCH /v1/alerts/{id}` body: a status, a note, or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"status": "acknowledged", "note": "talked to the user's manager"})))]
pub struct AlertPatch {
    #[schema(nullable = false, value_type = Option<AlertStatus>)]
    pub status: Option<String>,
    /// At most 2000 printable characters.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// One row of `GET /v1/risk`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiskRow {
    #[schema(format = "uuid")]
    pub user_id: String,
    #[schema(required)]
    pub username: Option<String>,
    pub score: f64,
    pub open_alerts: usize,
}

const MAX_NOTE: usize = 2000;

impl Vault {
    /// `GET /v1/alerts`, newest first.
    pub async fn list_alerts(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        f: AlertFilter,
    ) -> Result<Vec<AlertView>, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ReadAlerts>(who, ctx, None, None)
            .await?;
        let status = f
            .status
            .as_deref()
            .map(|s| {
                AlertStatus::parse(s).ok_or_else(|| {
                    ServiceError::invalid("status", "must be one of open, acknowledged, resolved")
                })
            })
            .transpose()?;
        let severity = f
            .severity
            .as_deref()
            .map(|s| {
                Severity::parse(s).ok_or_else(|| {
                    ServiceError::invalid("severity", "must be one of low, medium, high, critical")
                })
            })
            .transpose()?;
        let rule = f
            .rule
            .as_deref()
            .map(|s| {
                Rule::parse(s).ok_or_else(|| ServiceError::invalid("rule", "is not a rule name"))
            })
            .transpose()?;
        let mut alerts: Vec<StoredAlert> = self
            .inner
            .store
            .alerts()?
            .into_iter()
            .filter(|a| {
                status.is_none_or(|s| a.status == s)
                    && severity.is_none_or(|s| a.severity == s)
                    && rule.is_none_or(|r| a.rule == r)
            })
            .collect();
        alerts.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(alerts.iter().map(AlertView::of).collect())
    }

    /// `PATCH /v1/alerts/{id}`: triage, audited (`alert.update`).
    pub async fn update_alert(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        id: &str,
        patch: Result<AlertPatch, ServiceError>,
    ) -> Result<AlertView, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::TriageAlerts>(who, ctx, None, None)
            .await?;
        let patch = patch?;
        let action = Action::AlertUpdate;
        let status = match patch.status.as_deref() {
            None => None,
            Some(s) => match AlertStatus::parse(s) {
                Some(s) => Some(s),
                None => {
                    return Err(self
                        .fail(
                            who,
                            ctx,
                            action,
                            None,
                            ServiceError::invalid(
                                "status",
                                "must be one of open, acknowledged, resolved",
                            ),
                        )
                        .await);
                }
            },
        };
        let note = patch.note.as_deref().map(str::trim).map(str::to_owned);
        if note.as_ref().is_some_and(|n| {
            n.chars().count() > MAX_NOTE || n.chars().any(|c| c.is_control() && c != '\n')
        }) {
            return Err(self
                .fail(
                    who,
                    ctx,
                    action,
                    None,
                    ServiceError::invalid("note", "must be at most 2000 printable characters"),
                )
                .await);
        }
        if status.is_none() && note.is_none() {
            return Err(self
                .fail(
                    who,
                    ctx,
                    action,
                    None,
                    ServiceError::invalid("status", "give a status, a note, or both"),
                )
                .await);
        }
        let subject = match id.parse::<AlertId>() {
            Ok(id) => self.inner.store.alert(&id)?.map(|l| l.value.user_id),
            Err(_) => None,
        };
        let _grant = self
            .bind_subject(
                who,
                ctx,
                _grant,
                None,
                subject.flatten(),
                "alerts about you cannot be triaged by you",
            )
            .await?;
        for _attempt in 0..3 {
            let loaded = match id.parse::<AlertId>() {
                Ok(id) => self.inner.store.alert(&id)?,
                Err(_) => None,
            };
            let Some(loaded) = loaded else {
                return Err(self
                    .fail(who, ctx, action, None, ServiceError::NotFound)
                    .await);
            };
            let mut next = loaded.value.clone();
            if let Some(s) = status {
                next.status = s;
            }
            if let Some(n) = &note {
                next.note = Some(n.clone()).filter(|n| !n.is_empty());
            }
            next.updated_at = self.now();
            let mut e = self.entry(who, ctx, action, Outcome::Success);
            e.employee_id = loaded.value.employee_id;
            e.reason = Some(format!(
                "alert {} ({}) status {} -> {}",
                next.id,
                next.rule.as_str(),
                loaded.value.status.as_str(),
                next.status.as_str()
            ));
            self.record(e).await?;
            match self.inner.store.replace_alert(&loaded, &next) {
                Ok(()) => {
                    self.durable().await?;
                    return Ok(AlertView::of(&next));
                }
                // The monitor added evidence meanwhile: read again and re-apply the triage.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(self
            .fail(
                who,
                ctx,
                action,
                None,
                ServiceError::Conflict {
                    field: None,
                    message: "the alert keeps changing; retry".into(),
                },
            )
            .await)
    }

    /// `GET /v1/risk`: every user with any alert, highest score first.
    pub async fn risk(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
    ) -> Result<Vec<RiskRow>, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ReadRisk>(who, ctx, None, None)
            .await?;
        let now = self.now();
        let mut by_user: BTreeMap<UserId, (Option<String>, Vec<RiskInput>, usize)> =
            BTreeMap::new();
        for a in self.inner.store.alerts()? {
            let Some(user) = a.user_id else { continue };
            let row = by_user
                .entry(user)
                .or_insert_with(|| (a.username.clone(), Vec::new(), 0));
            let factor = match a.status {
                AlertStatus::Open => 1.0,
                AlertStatus::Acknowledged => 0.5,
                AlertStatus::Resolved => 0.0,
            };
            row.1.push(RiskInput {
                severity: a.severity,
                status_factor: factor,
                created_at: a.created_at,
            });
            if a.status == AlertStatus::Open {
                row.2 += 1;
            }
        }
        let mut rows: Vec<RiskRow> = by_user
            .into_iter()
            .map(|(user, (username, inputs, open))| RiskRow {
                user_id: user.to_string(),
                username,
                score: risk_score(&inputs, now),
                open_alerts: open,
            })
            .collect();
        rows.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.user_id.cmp(&b.user_id)));
        Ok(rows)
    }
}
