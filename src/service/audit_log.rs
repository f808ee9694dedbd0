//! Reading, verifying and checkpointing the audit log (auditor and security).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;

use super::{Principal, RequestCtx, ServiceError, Vault};
use jiff::Timestamp;

use crate::audit::{
    AuditQuery, AuditReader, QueryPage, Verdict, checkpoint_message, verify_data_dir, verify_lines,
};
use crate::clock::rfc3339;

/// `GET /v1/audit/verify` body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum VerifyReport {
    /// `{"ok":true,"entries":N,"head":{"seq","hash"}}`.
    Intact {
        /// `true`.
        ok: bool,
        entries: u64,
        head: crate::audit::HeadView,
    },
    /// `{"ok":false,"first_bad_seq":K,"reason"}`.
    Broken {
        /// `false`.
        ok: bool,
        first_bad_seq: u64,
        reason: String,
    },
}

/// `GET /v1/audit/head`: a signed checkpoint an auditor can keep outside the vault.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditCheckpoint {
    pub seq: u64,
    /// Hex SHA-256 of entry `seq` (lower case).
    pub hash: String,
    #[schema(format = DateTime)]
    pub ts: String,
    /// base64 Ed25519 signature over `checkpoint_message(seq, hash, ts)`.
    pub signature: String,
    /// base64 of the raw 32-byte Ed25519 public key.
    pub public_key: String,
}

impl Vault {
    /// `GET /v1/audit`: a page of entries up to the committed head. Reading the log is not itself
    /// audited (it would move the head on every look); denials are.
    pub async fn query_audit(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        q: Result<AuditQuery, ServiceError>,
    ) -> Result<QueryPage, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ReadAudit>(who, ctx, None, None)
            .await?;
        let q = q?;
        let reader = self.inner.reader.clone();
        let head = self.committed_head()?.seq;
        tokio::task::spawn_blocking(move || reader.query(&q, head))
            .await
            .map_err(|_| ServiceError::Internal)?
            .map_err(|e| {
                tracing::error!(error = %e, "audit read failed");
                ServiceError::Internal
            })
    }

    /// `GET /v1/audit/verify`: the whole chain up to the committed head.
    pub async fn verify_audit(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
    ) -> Result<VerifyReport, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ReadAudit>(who, ctx, None, None)
            .await?;
        let verify: Box<dyn FnOnce() -> std::io::Result<Verdict> + Send> =
            match (self.data_dir(), self.shared_chain()) {
                (Some(dir), _) => {
                    let dir = dir.join("audit");
                    let head = self.inner.audit.head().seq;
                    Box::new(move || verify_data_dir(&dir, Some(head)))
                }
                // Every node's entries, up to the chain's committed head (read inside, so the
                // lines read can never be behind the head they are checked against).
                (None, Some(chain)) => {
                    let chain = chain.clone();
                    Box::new(move || {
                        let head = chain.head().map_err(std::io::Error::other)?;
                        verify_lines(&chain, &head)
                    })
                }
                (None, None) => return Err(ServiceError::Internal),
            };
        let verdict = tokio::task::spawn_blocking(verify)
            .await
            .map_err(|_| ServiceError::Internal)?
            .map_err(|e| {
                tracing::error!(error = %e, "audit verify could not read the log");
                ServiceError::Internal
            })?;
        let report = match verdict {
            Verdict::Intact { entries, head } => VerifyReport::Intact {
                ok: true,
                entries,
                head,
            },
            Verdict::Broken {
                first_bad_seq,
                reason,
            } => VerifyReport::Broken {
                ok: false,
                first_bad_seq,
                reason,
            },
        };
        *self.inner.last_verify.lock() = Some((rfc3339(self.now()), report.clone()));
        Ok(report)
    }

    /// The last whole-chain verification run on this node (`verify_audit`), with when it ran;
    /// `None` before the first. The console's chain status shows it without re-reading the log.
    pub async fn last_audit_verification(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
    ) -> Result<Option<(String, VerifyReport)>, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ReadAudit>(who, ctx, None, None)
            .await?;
        Ok(self.inner.last_verify.lock().clone())
    }

    /// `GET /v1/audit/head`.
    pub async fn audit_checkpoint(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
    ) -> Result<AuditCheckpoint, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ReadAudit>(who, ctx, None, None)
            .await?;
        // The whole chain's head: in cluster mode other nodes may have appended since this
        // node's last entry.
        let head = self.committed_head()?;
        let ts = rfc3339(self.now());
        let key = self.inner.keys.checkpoint_key();
        let signature = key.sign(&checkpoint_message(head.seq, &head.hash, &ts));
        Ok(AuditCheckpoint {
            seq: head.seq,
            hash: head.hash,
            ts,
            signature: B64.encode(signature),
            public_key: B64.encode(key.public_key()),
        })
    }
}

/// Hours the console's chart covers: the last 7 days, the current hour included.
pub const CHART_HOURS: usize = 168;

/// Entries one count may read at most (a first count over a huge week stays bounded; the hours
/// it could not reach are then marked `partial`).
const HOURS_BUDGET: u64 = 2_000_000;

/// Audited requests per hour over the last 7 days, by outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHours {
    /// The start of the oldest hour.
    pub start: Timestamp,
    /// [`CHART_HOURS`] hours, oldest first: `[success, denied, error]`.
    pub counts: Vec<[u64; 3]>,
    /// The count stopped at its budget: the oldest hours may be undercounted.
    pub partial: bool,
}

/// What has been counted so far: every committed entry up to `upto`, by hour (seconds since the
/// epoch / 3600).
#[derive(Debug, Default)]
pub(crate) struct HourCache {
    upto: u64,
    hours: BTreeMap<i64, [u64; 3]>,
    partial: bool,
}

/// The hour (since the epoch) of an entry's `ts`.
fn hour_of(ts: &str) -> Option<i64> {
    ts.parse::<Timestamp>()
        .ok()
        .map(|t| t.as_second().div_euclid(3600))
}

/// The column of an outcome in a count.
fn outcome_index(outcome: &str) -> Option<usize> {
    match outcome {
        "success" => Some(0),
        "denied" => Some(1),
        "error" => Some(2),
        _ => None,
    }
}

/// Counts one entry.
pub(crate) fn tally(hours: &mut BTreeMap<i64, [u64; 3]>, ts: &str, outcome: &str) {
    if let (Some(h), Some(i)) = (hour_of(ts), outcome_index(outcome)) {
        hours.entry(h).or_default()[i] += 1;
    }
}

/// The chart's window ending with the hour of `now`.
pub(crate) fn window(hours: &BTreeMap<i64, [u64; 3]>, now: Timestamp, partial: bool) -> AuditHours {
    let last = now.as_second().div_euclid(3600);
    let first = last - (CHART_HOURS as i64 - 1);
    let counts = (first..=last)
        .map(|h| hours.get(&h).copied().unwrap_or_default())
        .collect();
    AuditHours {
        start: Timestamp::from_second(first * 3600).unwrap_or(Timestamp::UNIX_EPOCH),
        counts,
        partial,
    }
}

impl HourCache {
    /// Brings the count up to `head` (forward from what was counted, or, the first time,
    /// backwards from the head until an entry older than `cutoff_hour`), then forgets hours
    /// before `cutoff_hour`.
    fn update(&mut self, reader: &AuditReader, head: u64, cutoff_hour: i64) -> std::io::Result<()> {
        let mut read = 0u64;
        if self.upto == 0 || self.upto > head {
            self.hours.clear();
            self.partial = false;
            let hours = &mut self.hours;
            let mut hit_budget = false;
            reader.scan_rev(0, head, |e| {
                if hour_of(&e.ts).is_some_and(|h| h < cutoff_hour) {
                    return false;
                }
                tally(hours, &e.ts, &e.outcome);
                read += 1;
                if read >= HOURS_BUDGET {
                    hit_budget = true;
                    return false;
                }
                true
            })?;
            self.partial = hit_budget;
        } else if self.upto < head {
            let hours = &mut self.hours;
            let mut last = self.upto;
            reader.scan(self.upto, head, |e| {
                tally(hours, &e.ts, &e.outcome);
                last = e.seq;
                read += 1;
                read < HOURS_BUDGET
            })?;
            if last < head {
                // Too far behind: count afresh next time from the head backwards.
                self.upto = 0;
                self.partial = true;
                return Ok(());
            }
        }
        self.upto = head;
        self.hours = self.hours.split_off(&cutoff_hour);
        Ok(())
    }
}

impl Vault {
    /// Audited requests per hour over the last 7 days by outcome (the console's chart). Counted
    /// once and then only the entries added since (reading the log is not audited).
    pub async fn audit_hours(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
    ) -> Result<AuditHours, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ReadAudit>(who, ctx, None, None)
            .await?;
        let now = self.now();
        let head = self.committed_head()?.seq;
        {
            // Nothing new since the last count (reading the log appends nothing): no disk, no
            // blocking thread.
            let cache = self.inner.audit_hours.lock();
            if cache.upto == head && head > 0 {
                return Ok(window(&cache.hours, now, cache.partial));
            }
        }
        let v = self.clone();
        tokio::task::spawn_blocking(move || {
            let cutoff_hour = now.as_second().div_euclid(3600) - (CHART_HOURS as i64 - 1);
            let mut cache = v.inner.audit_hours.lock();
            cache.update(&v.inner.reader, head, cutoff_hour)?;
            Ok::<_, std::io::Error>(window(&cache.hours, now, cache.partial))
        })
        .await
        .map_err(|_| ServiceError::Internal)?
        .map_err(|e| {
            tracing::error!(error = %e, "audit read failed");
            ServiceError::Internal
        })
    }
}

#[cfg(test)]
mod hour_tests {
    use super::*;

    #[test]
    fn entries_fall_into_their_hour_and_outcome() {
        let mut hours = BTreeMap::new();
        tally(&mut hours, "2026-12-02T04:00:00.000000Z", "success");
        tally(&mut hours, "2026-12-02T04:59:59.999999Z", "success");
        tally(&mut hours, "2026-12-02T04:30:00.000000Z", "denied");
        tally(&mut hours, "2026-12-02T03:59:59.000000Z", "error");
        tally(&mut hours, "2026-11-20T00:00:00.000000Z", "success");
        tally(&mut hours, "not a time", "success");
        tally(&mut hours, "2026-12-02T04:10:00.000000Z", "weird");
        let now: Timestamp = "2026-12-02T04:15:00Z".parse().expect("time");
        let w = window(&hours, now, false);
        assert_eq!(w.counts.len(), CHART_HOURS);
        assert_eq!(w.counts[CHART_HOURS - 1], [2, 1, 0], "the current hour");
        assert_eq!(w.counts[CHART_HOURS - 2], [0, 0, 1], "the hour before");
        assert_eq!(
            w.counts.iter().map(|c| c.iter().sum::<u64>()).sum::<u64>(),
            4,
            "12 days ago is outside the window"
        );
        assert_eq!(
            w.start,
            "2026-11-25T05:00:00Z".parse::<Timestamp>().expect("time")
        );
    }
}
