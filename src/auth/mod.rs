//! Authentication and authorisation primitives: access tokens, the role policy, and the limiter
//! for password guessing. No storage and no audit here: `service` re-checks every token's user
//! in the store and records every decision.

mod form;
mod limiter;
mod policy;
mod token;

pub use form::{
    ClientAuthMethod, ClientCredentials, TokenRequestError, parse_basic, parse_token_request,
};
pub use limiter::{
    EndedWindow, HashSlots, LimitKind, LoginLimiter, MAX_TRACKED, PER_ADDRESS_PER_MINUTE,
    RateLimited, Refusal, Reservation, WINDOW_SECS,
};
pub use policy::{FieldView, Permission, field_view};
pub use token::{AUDIENCE, Claims, ISSUER, Jwk, Jwks, TokenError, TokenService};
