//! Every route of the router with what it may yield of employee data and who may call it:
//! the table the route test (`tests/route_table.rs`) checks against the router itself (every
//! route listed, none missing) and against the running server (each route that yields or tests
//! a sensitive value refuses the roles without its permission, and the restricted, with an
//! audited `access.denied`). A new route that is not in this table fails that test.

/// What a route can give a caller of employee data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Yields {
    /// No employee data.
    Nothing,
    /// Records with sensitive fields masked (or absent).
    Masked,
    /// A full sensitive value, or a test of a guess against one: refused while restricted.
    FullOrGuess,
}

/// One route: method, OpenAPI path, what it yields, and the roles the policy lets in (empty:
/// no token needed, or any role).
#[derive(Debug, Clone, Copy)]
pub struct RouteRule {
    pub method: &'static str,
    pub path: &'static str,
    pub yields: Yields,
    pub roles: &'static [&'static str],
}

const fn r(
    method: &'static str,
    path: &'static str,
    yields: Yields,
    roles: &'static [&'static str],
) -> RouteRule {
    RouteRule {
        method,
        path,
        yields,
        roles,
    }
}

use Yields::{FullOrGuess, Masked, Nothing};

const HR: &[&str] = &["hr"];
const READERS: &[&str] = &["hr", "payroll", "security"];
const REVEALERS: &[&str] = &["hr", "payroll"];
const AUDIT: &[&str] = &["auditor", "security"];
const ADMIN: &[&str] = &["admin"];
const SECURITY: &[&str] = &["security"];
const ANY: &[&str] = &[];

/// The table.
pub const ROUTES: &[RouteRule] = &[
    r("get", "/healthz", Nothing, ANY),
    r("get", "/metrics", Nothing, ANY),
    r("get", "/openapi.json", Nothing, ANY),
    r("post", "/v1/auth/login", Nothing, ANY),
    r("post", "/v1/auth/logout", Nothing, ANY),
    r("post", "/v1/oauth/token", Nothing, ANY),
    r("get", "/.well-known/jwks.json", Nothing, ANY),
    r("post", "/v1/employees", Masked, HR),
    r("get", "/v1/employees", Masked, READERS),
    r("get", "/v1/employees/{id}", Masked, READERS),
    r("patch", "/v1/employees/{id}", Masked, HR),
    r("delete", "/v1/employees/{id}", Nothing, HR),
    r("post", "/v1/employees/{id}/reveal", FullOrGuess, REVEALERS),
    r("post", "/v1/employees/lookup", FullOrGuess, REVEALERS),
    r("post", "/v1/employees/import", Masked, HR),
    r("get", "/v1/payroll/export", FullOrGuess, &["payroll"]),
    r("post", "/v1/honeytokens", Masked, SECURITY),
    r("get", "/v1/audit", Nothing, AUDIT),
    r("get", "/v1/audit/verify", Nothing, AUDIT),
    r("get", "/v1/audit/head", Nothing, AUDIT),
    r("get", "/v1/audit/id-lists/{sha256}", Nothing, AUDIT),
    r("post", "/v1/users", Nothing, ADMIN),
    r("get", "/v1/users", Nothing, ADMIN),
    r("patch", "/v1/users/{id}", Nothing, ADMIN),
    r("delete", "/v1/users/{id}", Nothing, ADMIN),
    r("post", "/v1/users/{id}/client-secret", Nothing, ADMIN),
    r("delete", "/v1/users/{id}/client-secret", Nothing, ADMIN),
    r("post", "/v1/hr-flags", Nothing, &["hr", "security"]),
    r("get", "/v1/hr-flags", Nothing, SECURITY),
    r("delete", "/v1/hr-flags/{id}", Nothing, SECURITY),
    r("get", "/v1/alerts", Nothing, SECURITY),
    r("patch", "/v1/alerts/{id}", Nothing, SECURITY),
    r("get", "/v1/risk", Nothing, SECURITY),
];
