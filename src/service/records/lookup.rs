//! `POST /v1/employees/lookup`: find a record by SSN through the keyed blind index (no scan, no
//! decryption until the match is audited).
//!
//! A lookup tests a guess against a full value, so besides the restriction it is limited per
//! user (`auth.lookups_per_minute`, default 30): the last four digits every list shows would
//! otherwise turn into a full SSN in under a minute. Past the limit the answer is 429 and one
//! `employee.lookup` `denied` entry a minute says how many were refused; misses are counted by the
//! monitor (`lookup_probing`).
//!
//! The count is the store's (`Store::reserve_limit`, keyed by a digest of the user id under the
//! vault's limiter key), so the limit holds across every node sharing the store; the `denied`
//! entries are written per node (each node writes its own first one of a minute, with the count it
//! refused).

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Deserialize;
use utoipa::ToSchema;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::EmployeeView;
use super::plaintext::masked_view;
use crate::audit::{Action, Outcome};
use crate::crypto::LimiterKey;
use crate::model::{Ssn, UserId};
use crate::monitor::LOOKUP_MISS_REASON;
use crate::service::access::Lookup;
use crate::service::{Principal, RequestCtx, ServiceError, Vault};
use crate::store::{LIMIT_WINDOW_SECS, LimitCounter, Reserved, Store, StoreError};

/// `POST /v1/employees/lookup` body (holds an SSN: zeroized, no `Debug`).
#[derive(Deserialize, Zeroize, ZeroizeOnDrop, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "The SSN to look up.")]
pub struct LookupRequest {
    /// `AAA-GG-SSSS` or 9 digits.
    #[schema(required, nullable = false)]
    pub ssn: Option<String>,
}

/// What this node reports of one user's current (shared) minute.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// The start of the shared window (seconds since the epoch).
    started: i64,
    /// Refusals not yet written to the log.
    unrecorded: u32,
    /// Whether this minute's refusal entry was written.
    recorded: bool,
}

/// What the quota says about one more lookup.
enum Verdict {
    Go,
    /// Refused; `Some(n)` when this refusal must be audited, with the count it reports.
    Refused {
        retry_after: u64,
        audit: Option<u32>,
    },
}

/// Per-user lookup windows: the count in the store, this node's audit reporting here. Bounded by
/// the number of vault users (ids, not raw input).
pub(crate) struct LookupQuota {
    key: LimiterKey,
    store: Store,
    windows: parking_lot::Mutex<HashMap<UserId, Window>>,
}

impl LookupQuota {
    pub(crate) fn new(key: LimiterKey, store: Store) -> Self {
        Self {
            key,
            store,
            windows: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    fn check(&self, user: UserId, limit: u32, now: Timestamp) -> Result<Verdict, StoreError> {
        let now = now.as_second();
        let digest = self.key.digest(user.as_bytes());
        let (started, full) =
            match self
                .store
                .reserve_limit(LimitCounter::Lookup, &digest, now, limit)?
            {
                // Lookups are never given back: every one counts.
                Reserved::Granted(t) => (t.window_start(), false),
                Reserved::Full { window_start } => (window_start, true),
            };
        let mut all = self.windows.lock();
        let w = all.entry(user).or_insert(Window {
            started,
            unrecorded: 0,
            recorded: false,
        });
        if w.started != started {
            // A new minute: carry over what the last one refused without an entry.
            *w = Window {
                started,
                recorded: false,
                ..*w
            };
        }
        if !full {
            return Ok(Verdict::Go);
        }
        w.unrecorded += 1;
        let retry_after = (started + LIMIT_WINDOW_SECS - now).clamp(1, 60) as u64;
        if w.recorded {
            return Ok(Verdict::Refused {
                retry_after,
                audit: None,
            });
        }
        w.recorded = true;
        let n = std::mem::take(&mut w.unrecorded);
        Ok(Verdict::Refused {
            retry_after,
            audit: Some(n),
        })
    }
}

impl Vault {
    /// The record with this SSN, masked, or 404.
    pub async fn lookup(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        req: Result<LookupRequest, ServiceError>,
    ) -> Result<EmployeeView, ServiceError> {
        let action = Action::EmployeeLookup;
        let grant = self.authorize::<Lookup>(who, ctx, None, None).await?;
        let req = req?;
        let limit = self.inner.settings.auth.lookups_per_minute;
        let verdict = match self.inner.lookups.check(who.user_id, limit, self.now()) {
            Ok(v) => v,
            // Lost the compare-and-set race every time: a pile-up far past the limit.
            Err(StoreError::Conflict("limit")) => return Err(ServiceError::RateLimited(1)),
            Err(e) => return Err(e.into()),
        };
        if let Verdict::Refused { retry_after, audit } = verdict {
            if let Some(refused) = audit {
                let mut e = self.entry(who, ctx, action, Outcome::Denied);
                e.reason = Some(format!(
                    "lookup limit of {limit} a minute reached; {refused} lookups refused since \
                     the last such entry"
                ));
                self.record(e).await?;
            }
            return Err(ServiceError::RateLimited(retry_after));
        }
        let ssn = match req.ssn.as_deref().map(str::trim) {
            None | Some("") => {
                let err = ServiceError::invalid("ssn", "is required");
                return Err(self.fail(who, ctx, action, None, err).await);
            }
            Some(s) => match Ssn::parse(s) {
                Ok(s) => s,
                Err(m) => {
                    let err = ServiceError::invalid("ssn", m);
                    return Err(self.fail(who, ctx, action, None, err).await);
                }
            },
        };
        drop(req);
        let index = self.inner.keys.index_key().ssn(&ssn);
        drop(ssn);
        let found = match self.inner.store.employee_id_by_ssn(&index)? {
            Some(id) => self.load_live(&id)?,
            None => None,
        };
        let Some((_, rec)) = found else {
            let mut e = self.entry(who, ctx, action, Outcome::Error);
            e.reason = Some(LOOKUP_MISS_REASON.to_owned());
            self.record(e).await?;
            return Err(ServiceError::NotFound);
        };
        let grant = self.bind(who, ctx, grant, &rec, action).await?;
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(rec.id);
        let recorded = self.record(e).await?;
        masked_view(self, &grant, &recorded, &rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("in range")
    }

    impl LookupQuota {
        fn at(&self, user: UserId, limit: u32, now: Timestamp) -> Verdict {
            self.check(user, limit, now).expect("store")
        }
    }

    fn quota(store: &Store) -> LookupQuota {
        LookupQuota::new(LimiterKey::from_bytes([7; 32]), store.clone())
    }

    #[test]
    fn the_limit_holds_and_refusals_are_audited_once_a_minute() {
        let (store, _dir) = crate::store::testing::temp_store();
        let q = quota(&store);
        let u = UserId::random();
        for _ in 0..3 {
            assert!(matches!(q.at(u, 3, at(0)), Verdict::Go));
        }
        assert!(matches!(
            q.at(u, 3, at(1)),
            Verdict::Refused { audit: Some(1), .. }
        ));
        for _ in 0..5 {
            assert!(matches!(
                q.at(u, 3, at(2)),
                Verdict::Refused { audit: None, .. }
            ));
        }
        // A new minute: lookups go again; the next refusal reports the five unrecorded ones.
        assert!(matches!(q.at(u, 3, at(61)), Verdict::Go));
        for _ in 0..2 {
            q.at(u, 3, at(61));
        }
        match q.at(u, 3, at(62)) {
            Verdict::Refused { audit, .. } => assert_eq!(audit, Some(6)),
            Verdict::Go => panic!("over the limit"),
        }
        // Another user has a window of their own.
        assert!(matches!(q.at(UserId::random(), 3, at(62)), Verdict::Go));
    }

    #[test]
    fn the_limit_holds_across_nodes_sharing_a_store() {
        let (store, _dir) = crate::store::testing::temp_store();
        let (a, b) = (quota(&store), quota(&store));
        let u = UserId::random();
        assert!(matches!(a.at(u, 3, at(0)), Verdict::Go));
        assert!(matches!(b.at(u, 3, at(1)), Verdict::Go));
        assert!(matches!(a.at(u, 3, at(2)), Verdict::Go));
        match b.at(u, 3, at(10)) {
            Verdict::Refused { retry_after, audit } => {
                assert_eq!(retry_after, 50, "from the shared window's first lookup");
                assert_eq!(audit, Some(1), "b's first refusal of the minute is audited");
            }
            Verdict::Go => panic!("4th lookup in the minute across two nodes"),
        }
        assert!(
            matches!(a.at(u, 3, at(11)), Verdict::Refused { audit: Some(1), .. }),
            "a audits its own first refusal (per node)"
        );
        assert!(matches!(b.at(u, 3, at(60)), Verdict::Go), "a new minute");
    }
}
