//! `POST /v1/employees/{id}/reveal`: chosen fields in full, audited with the reason.

use serde::Deserialize;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::RecordRef;
use super::plaintext::reveal_body;
use crate::audit::{Action, Outcome};
use crate::model::{FieldError, FieldName, Reason, ValidationErrors};
use crate::service::access::Reveal;
use crate::service::{Principal, RequestCtx, ServiceError, Vault};

/// `POST /v1/employees/{id}/reveal` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"fields": ["ssn", "bank_account"], "reason": "payroll correction ticket"})))]
pub struct RevealRequest {
    /// Sensitive fields to reveal.
    #[schema(required, nullable = false, value_type = Option<Vec<FieldName>>, min_items = 1)]
    pub fields: Option<Vec<String>>,
    /// Why (10–1000 characters); kept in the audit log (any text with more than six digits
    /// has every digit replaced by `#` there).
    #[schema(required, nullable = false, min_length = 10, max_length = 1000)]
    pub reason: Option<String>,
}

/// A parsed reveal request: distinct field names and a reason.
struct RevealSpec {
    fields: Vec<FieldName>,
    reason: Reason,
}

/// The field names a request asks for (the ones that parse), for the entry of a refusal.
fn asked_fields(req: &RevealRequest) -> Vec<FieldName> {
    let mut out = Vec::new();
    for f in req
        .fields
        .iter()
        .flatten()
        .filter_map(|n| FieldName::parse(n))
    {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

impl RevealSpec {
    fn parse(req: &RevealRequest) -> Result<Self, ValidationErrors> {
        let mut errors = Vec::new();
        let err = |m: &str| FieldError {
            field: "fields".into(),
            message: m.into(),
        };
        match &req.fields {
            None => errors.push(err("is required")),
            Some(list) if list.is_empty() => errors.push(err("must name at least one field")),
            Some(list) if list.iter().any(|n| FieldName::parse(n).is_none()) => errors.push(err(
                "may only contain ssn, date_of_birth, home_address, bank_account",
            )),
            Some(_) => {}
        }
        let reason = Reason::parse(req.reason.as_deref().unwrap_or(""));
        if let Err(m) = &reason {
            errors.push(FieldError {
                field: "reason".into(),
                message: m.clone(),
            });
        }
        match reason {
            Ok(reason) if errors.is_empty() => Ok(Self {
                fields: asked_fields(req),
                reason,
            }),
            _ => Err(ValidationErrors(errors)),
        }
    }
}

impl Vault {
    /// The requested fields in full, serialized into a zeroizing buffer. Refused (403) for a
    /// restricted user before anything else is looked at, so the refusal tells nothing about
    /// the record; the message does not say why.
    pub async fn reveal(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        id: RecordRef,
        req: Result<RevealRequest, ServiceError>,
    ) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        let action = Action::EmployeeReveal;
        let asked = req.as_ref().map(asked_fields).unwrap_or_default();
        let grant = self
            .authorize::<Reveal>(who, ctx, id.id(), Some(&asked))
            .await?;
        let spec = match RevealSpec::parse(&req?) {
            Ok(s) => s,
            Err(errs) => {
                return Err(self
                    .fail(who, ctx, action, id.id(), ServiceError::Invalid(errs))
                    .await);
            }
        };
        let Some((_, rec)) = self.find(id)? else {
            return Err(self
                .fail(who, ctx, action, id.id(), ServiceError::NotFound)
                .await);
        };
        let grant = self.bind(who, ctx, grant, &rec, action).await?;
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(rec.id);
        e.fields = Some(spec.fields.iter().map(|f| f.as_str().to_owned()).collect());
        e.reason = Some(spec.reason.for_audit());
        let recorded = self.record(e).await?;
        reveal_body(self, &grant, &recorded, &rec, &spec.fields)
    }
}
