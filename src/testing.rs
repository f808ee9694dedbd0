//! The guarded functions of the record wing under public names, so that tests outside the
//! crate (doctests, which are compiled as another crate) can show what the compiler refuses.
//! Each function here is the record wing's own, with its exact signature; none adds a power
//! the crate's public API does not already give (every argument is a proof only the crate
//! mints).
//!
//! A read grant cannot reveal:
//!
//! ```compile_fail,E0308
//! use hrvault::audit::Recorded;
//! use hrvault::model::FieldName;
//! use hrvault::service::Vault;
//! use hrvault::service::access::{Grant, Read};
//! use hrvault::store::StoredEmployee;
//! fn attempt(v: &Vault, g: &Grant<Read>, r: &Recorded, rec: &StoredEmployee) {
//!     let _ = hrvault::testing::reveal_body(v, g, r, rec, &[FieldName::Ssn]);
//! }
//! ```
//!
//! while the same call with a reveal grant compiles:
//!
//! ```no_run
//! use hrvault::audit::Recorded;
//! use hrvault::model::FieldName;
//! use hrvault::service::Vault;
//! use hrvault::service::access::{Grant, Reveal};
//! use hrvault::store::StoredEmployee;
//! fn attempt(v: &Vault, g: &Grant<Reveal>, r: &Recorded, rec: &StoredEmployee) {
//!     let _ = hrvault::testing::reveal_body(v, g, r, rec, &[FieldName::Ssn]);
//! }
//! ```
//!
//! A read grant cannot delete (crypto-shred) either:
//!
//! ```compile_fail,E0308
//! use hrvault::service::Vault;
//! use hrvault::service::access::{Grant, Read};
//! use hrvault::store::{EmployeeEntry, Loaded};
//! fn attempt(v: &Vault, g: &Grant<Read>, l: &Loaded<EmployeeEntry>) {
//!     let _ = hrvault::testing::shred_change(v, g, l);
//! }
//! ```
//!
//! ```no_run
//! use hrvault::service::Vault;
//! use hrvault::service::access::{Delete, Grant};
//! use hrvault::store::{EmployeeEntry, Loaded};
//! fn attempt(v: &Vault, g: &Grant<Delete>, l: &Loaded<EmployeeEntry>) {
//!     let _ = hrvault::testing::shred_change(v, g, l);
//! }
//! ```
//!
//! Nor export, nor can any grant be copied to serve twice:
//!
//! ```compile_fail,E0308
//! use hrvault::audit::Recorded;
//! use hrvault::service::Vault;
//! use hrvault::service::access::{Grant, Reveal};
//! use hrvault::store::StoredEmployee;
//! fn attempt(v: &Vault, g: &Grant<Reveal>, r: &Recorded, rec: &StoredEmployee) {
//!     let mut out = zeroize::Zeroizing::new(Vec::new());
//!     let _ = hrvault::testing::payroll_line(v, g, r, rec, &mut out);
//! }
//! ```
//!
//! ```compile_fail,E0599
//! use hrvault::service::access::{Grant, Read};
//! fn attempt(g: &Grant<Read>) -> Grant<Read> {
//!     g.clone()
//! }
//! ```
//!
//! The door to plaintext cannot be reached without a `Recorded`, and only the audit writer
//! mints one (its fields are private, and it has no public constructor):
//!
//! ```compile_fail,E0061
//! use hrvault::service::Vault;
//! use hrvault::service::access::{Grant, Read};
//! use hrvault::store::StoredEmployee;
//! fn attempt(v: &Vault, g: &Grant<Read>, rec: &StoredEmployee) {
//!     let _ = hrvault::testing::masked_view(v, g, rec);
//! }
//! ```
//!
//! ```compile_fail,E0451
//! let _ = hrvault::audit::Recorded { seq: 1, action: hrvault::audit::Action::EmployeeRead,
//!     employee: None, employees: None };
//! ```
//!
//! ```compile_fail,E0451
//! use hrvault::service::access::{Grant, Reveal};
//! let _: Grant<Reveal> = Grant { user: hrvault::model::UserId::random(),
//!     role: hrvault::model::Role::Hr, record: None, _permission: std::marker::PhantomData };
//! ```
//!
//! That a `Recorded` about one record does not open another is checked at run time by the
//! door itself (`records::plaintext` unit tests).

pub mod pg;

use zeroize::Zeroizing;

use crate::audit::Recorded;
use crate::model::FieldName;
use crate::service::access::{Delete, Export, Grant, Opens, Reveal};
use crate::service::records::{EmployeeView, delete, plaintext};
use crate::service::{ServiceError, Vault};
use crate::store::{EmployeeEntry, Loaded, StoreError, StoredEmployee};

/// `records::plaintext::masked_view`.
pub fn masked_view<P: Opens>(
    v: &Vault,
    grant: &Grant<P>,
    recorded: &Recorded,
    rec: &StoredEmployee,
) -> Result<EmployeeView, ServiceError> {
    plaintext::masked_view(v, grant, recorded, rec)
}

/// `records::plaintext::reveal_body`.
pub fn reveal_body(
    v: &Vault,
    grant: &Grant<Reveal>,
    recorded: &Recorded,
    rec: &StoredEmployee,
    fields: &[FieldName],
) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
    plaintext::reveal_body(v, grant, recorded, rec, fields)
}

/// `records::plaintext::payroll_line`.
pub fn payroll_line(
    v: &Vault,
    grant: &Grant<Export>,
    recorded: &Recorded,
    rec: &StoredEmployee,
    out: &mut Zeroizing<Vec<u8>>,
) -> Result<(), ServiceError> {
    plaintext::payroll_line(v, grant, recorded, rec, out)
}

/// `records::delete::shred_change`.
pub fn shred_change(
    v: &Vault,
    grant: &Grant<Delete>,
    loaded: &Loaded<EmployeeEntry>,
) -> Result<crate::store::Batch, StoreError> {
    delete::shred_change(v, grant, loaded)
}
