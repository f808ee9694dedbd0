//! Authentication and authorisation primitives: access tokens, the role policy, and the limiter
//! for password guessing. No storage and no audit here: `service` re-checks every token's user
//! in the store and records every decision.

mod form;
mod limiter;
mod policy;
mod token;

pub use form::{ClientCredentials, TokenRequestError, parse_client_credentials};
pub use limiter::{FailureLimiter, HashSlots, RateLimited};
pub use policy::{FieldView, Permission, field_view};
pub use token::{AUDIENCE, Claims, ISSUER, TokenError, TokenService};
