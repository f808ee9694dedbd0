//! `GET /openapi.json`: the OpenAPI 3.1 description of every route.
//!
//! Nothing here lists routes by hand. Each handler carries its own `#[utoipa::path]`, and each
//! feature router registers handlers with `utoipa_axum::routes!`, which adds the route to the axum
//! router and the operation to the document in the same call: a route cannot be served without
//! being documented, at the path and method it is served under. This module adds what no handler
//! owns: `info`, the `bearerAuth` scheme, the problem+json schema and the shared error responses.

use axum::Extension;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};

use super::error::Problem;
use crate::model::FieldError;

/// The security scheme every authenticated operation names (`security(("bearerAuth" = []))`).
pub(super) const BEARER: &str = "bearerAuth";

/// The fixed part of the document; `api::routes` adds every path.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hrvault",
        version = env!("CARGO_PKG_VERSION"),
        description = "Encrypted vault for HR employee records, with a hash-chained audit log and an \
insider-threat monitor.\n\n\
Authenticate with `POST /v1/auth/login` (people) or `POST /v1/oauth/token` (service accounts, \
client credentials) and send the token as `Authorization: Bearer <token>`. Every error is an RFC \
9457 `application/problem+json` body (`Problem`), except on the OAuth token endpoint, which \
answers RFC 6749 errors. Every response carries `x-request-id` (a client's own, if it is a short \
token of safe characters), `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`. A \
known path called with a method it does not serve answers 405 (problem+json, with `Allow`).",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    components(
        schemas(Problem<'static>, FieldError),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PreconditionFailed,
            PayloadTooLarge,
            Invalid,
            TooManyRequests,
            Internal,
            Unavailable
        )
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-in for people and service accounts."),
        (name = "users", description = "Vault users (role `admin`)."),
        (name = "employees", description = "Employee records; sensitive fields masked by role."),
        (name = "payroll", description = "Bulk export for payroll integrations (role `payroll`)."),
        (name = "audit", description = "The hash-chained audit log (roles `auditor`, `security`)."),
        (name = "monitor", description = "HR flags, alerts, risk and honeytokens."),
        (name = "operations", description = "Health, metrics and this document (no auth).")
    )
)]
pub(super) struct ApiDoc;

/// Adds the `bearerAuth` scheme: the JWT from login or the token endpoint.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from `POST /v1/auth/login` or `POST /v1/oauth/token` \
                         (EdDSA-signed JWT, 900 s by default).",
                    ))
                    .build(),
            ),
        );
    }
}

// The shared error responses. Each is a problem+json body; the doc comment is the description.

/// Malformed JSON, a wrong type, an unknown field or query parameter.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub(super) struct BadRequest(#[allow(dead_code)] Problem<'static>);

/// No, bad, expired or revoked token; disabled user.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"hrvault\"`"))
)]
pub(super) struct Unauthorized(#[allow(dead_code)] Problem<'static>);

/// Authenticated, but the role may not do this (audited as `access.denied`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub(super) struct Forbidden(#[allow(dead_code)] Problem<'static>);

/// Unknown id (also for a crypto-shredded record).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub(super) struct NotFound(#[allow(dead_code)] Problem<'static>);

/// A duplicate (`errors[].field` names it), an `Idempotency-Key` reused with another body, or a
/// change that conflicts with the current state.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub(super) struct Conflict(#[allow(dead_code)] Problem<'static>);

/// `If-Match` names a stale version.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub(super) struct PreconditionFailed(#[allow(dead_code)] Problem<'static>);

/// The body is over the limit (64 KiB).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub(super) struct PayloadTooLarge(#[allow(dead_code)] Problem<'static>);

/// Well-formed but invalid: `errors[]` names each rejected field.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub(super) struct Invalid(#[allow(dead_code)] Problem<'static>);

/// Too many failed attempts for this username; retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed."))
)]
pub(super) struct TooManyRequests(#[allow(dead_code)] Problem<'static>);

/// An unexpected failure; details are in the server log only.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub(super) struct Internal(#[allow(dead_code)] Problem<'static>);

/// The audit log cannot be written, or the request took over 30 s: fail closed, no data.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub(super) struct Unavailable(#[allow(dead_code)] Problem<'static>);

/// One line of the payroll export (documentation only: the service writes each variant itself).
#[derive(ToSchema)]
#[schema(
    description = "One line of the NDJSON payroll export: a record, or (delta exports \
only) a deletion."
)]
#[serde(untagged)]
#[allow(dead_code, reason = "describes the NDJSON lines; never built")]
pub(super) enum PayrollExportLine {
    Record(Box<crate::service::PayrollLine<'static>>),
    Deleted(crate::service::DeletedLine),
}

/// The serialized document, shared by every request.
#[derive(Clone)]
pub(super) struct Document(Bytes);

impl Document {
    pub(super) fn new(doc: &utoipa::openapi::OpenApi) -> Self {
        // Serializing plain data cannot fail; an empty body would fail the tests loudly.
        Self(Bytes::from(doc.to_json().unwrap_or_default()))
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    responses(
        (status = 200, description = "The OpenAPI 3.1 description of every route.",
         body = Object, content_type = "application/json")
    )
)]
pub(super) async fn openapi_json(Extension(doc): Extension<Document>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        doc.0,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use crate::model::{
        AlertStatus, EmployeeStatus, FieldName, FlagKind, Role, Rule, Severity, UserKind,
    };

    /// The `enum` values of a schema.
    fn listed<T: PartialSchema>() -> Vec<String> {
        let v = serde_json::to_value(T::schema()).unwrap();
        v["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("not an enum schema: {v}"))
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    }

    fn wire<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<String> {
        all.iter().map(|v| name(*v).to_owned()).collect()
    }

    /// The API writes these enums with `as_str`, not serde: the document must list exactly those
    /// names, in the same order.
    #[test]
    fn enum_schemas_list_the_wire_names() {
        assert_eq!(listed::<Rule>(), wire(Rule::ALL, Rule::as_str));
        assert_eq!(listed::<Severity>(), wire(Severity::ALL, Severity::as_str));
        assert_eq!(listed::<FlagKind>(), wire(FlagKind::ALL, FlagKind::as_str));
        assert_eq!(
            listed::<AlertStatus>(),
            wire(AlertStatus::ALL, AlertStatus::as_str)
        );
        assert_eq!(listed::<Role>(), wire(&Role::ALL, Role::as_str));
        assert_eq!(
            listed::<FieldName>(),
            wire(&FieldName::ALL, FieldName::as_str)
        );
        let statuses = [
            EmployeeStatus::Onboarding,
            EmployeeStatus::Active,
            EmployeeStatus::OnLeave,
            EmployeeStatus::Terminated,
        ];
        assert_eq!(
            listed::<EmployeeStatus>(),
            wire(&statuses, EmployeeStatus::as_str)
        );
        let kinds = [UserKind::Human, UserKind::Service];
        assert_eq!(listed::<UserKind>(), wire(&kinds, UserKind::as_str));
    }

    /// `api::openapi()` holds every operation and the `bearerAuth` scheme.
    #[test]
    fn document_is_built_from_the_routes() {
        let doc = super::super::openapi();
        let operations: usize = doc
            .paths
            .paths
            .values()
            .map(|item| {
                serde_json::to_value(item)
                    .unwrap()
                    .as_object()
                    .unwrap()
                    .len()
            })
            .sum();
        assert_eq!(operations, super::super::route_table::ROUTES.len());
        assert_eq!(
            operations, 33,
            "the contract's routes, JWKS and import included"
        );
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        assert!(json["components"]["securitySchemes"][super::BEARER].is_object());
    }
}
