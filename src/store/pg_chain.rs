//! The audit chain in PostgreSQL (cluster mode): every node's writer appends to one chain.
//!
//! A batch is one transaction that first locks the single `hrvault_chain_head` row (`FOR
//! UPDATE`): that lock is the cluster's one order. Inside it the batch is sealed onto the head
//! as it is *now* (other nodes may have moved it since this node's last batch), stamped with
//! timestamps that never go backwards along the chain, inserted as the same JSON lines a segment
//! file holds, and the head row is updated; the entries are durable when `COMMIT` returns. Group
//! commit is unchanged: one transaction carries everything pending on this node.
//!
//! The store depends on `audit` here only for the entry type and the sink trait; `audit` knows
//! nothing of PostgreSQL.

use crate::audit::{ChainLines, ChainSink, CommitError, Committed, Head, NewEntry, Pending};
use crate::clock::{SharedClock, rfc3339};

use super::pg_backend::{Client, check_then_write, engine, lock_checked_keys, unreachable};
use super::{Batch, StoreError};

/// The chain in `hrvault_audit`.
#[derive(Clone)]
pub struct PgChain {
    client: Client,
    clock: SharedClock,
}

impl PgChain {
    pub(super) fn new(client: Client, clock: SharedClock) -> Self {
        Self { client, clock }
    }

    /// The chain's committed head (every node's entries).
    pub fn head(&self) -> Result<Head, StoreError> {
        let pool = self.client.pool.clone();
        self.client.block(async move {
            let c = pool.get().await.map_err(unreachable)?;
            let r = c
                .query_one("SELECT seq, hash FROM hrvault_chain_head WHERE id = 1", &[])
                .await
                .map_err(engine)?;
            Ok(Head {
                seq: r.get::<_, i64>(0) as u64,
                hash: r.get(1),
            })
        })
    }

    /// Appends already sealed lines unchanged (`store copy`), in one transaction: `lines` must
    /// continue the chain in order (each `(seq, line)` exactly a segment file's line without its
    /// newline). With `head` (the last entry's seq, hash and timestamp) the head row is set to
    /// it in the same transaction.
    pub fn load_lines(
        &self,
        lines: &[(u64, String)],
        head: Option<(&Head, &str)>,
    ) -> Result<(), StoreError> {
        let pool = self.client.pool.clone();
        let mut seqs = Vec::with_capacity(lines.len());
        let mut texts = Vec::with_capacity(lines.len());
        for (seq, line) in lines {
            seqs.push(i64::try_from(*seq).map_err(engine)?);
            texts.push(line.clone());
        }
        let head = head.map(|(h, ts)| (h.seq as i64, h.hash.clone(), ts.to_owned()));
        self.client.block(async move {
            let mut c = pool.get().await.map_err(unreachable)?;
            let tx = c.transaction().await.map_err(engine)?;
            if !seqs.is_empty() {
                tx.execute(
                    "INSERT INTO hrvault_audit (seq, line) SELECT * FROM unnest($1::bigint[], $2::text[])",
                    &[&seqs, &texts],
                )
                .await
                .map_err(engine)?;
            }
            if let Some((seq, hash, ts)) = head {
                tx.execute(
                    "UPDATE hrvault_chain_head SET seq = $1, hash = $2, ts = $3 WHERE id = 1",
                    &[&seq, &hash, &ts],
                )
                .await
                .map_err(engine)?;
            }
            tx.commit().await.map_err(engine)
        })
    }

    /// Appends `entries` in one transaction, each with the store change it records: a change
    /// whose check fails is refused with its entry (neither committed, no seq taken); the rest
    /// commit together, in order, onto the locked head.
    fn append(&self, entries: Vec<(NewEntry, Option<Batch>)>) -> Result<Committed, StoreError> {
        let pool = self.client.pool.clone();
        let clock = self.clock.clone();
        self.client.block(async move {
            let mut c = pool.get().await.map_err(unreachable)?;
            let tx = c.transaction().await.map_err(engine)?;
            let r = tx
                .query_one(
                    "SELECT seq, hash, ts FROM hrvault_chain_head WHERE id = 1 FOR UPDATE",
                    &[],
                )
                .await
                .map_err(engine)?;
            let mut head = Head {
                seq: r.get::<_, i64>(0) as u64,
                hash: r.get(1),
            };
            let mut last_ts: String = r.get(2);
            let changes: Vec<Batch> = entries.iter().filter_map(|(_, b)| b.clone()).collect();
            lock_checked_keys(&tx, &changes).await?;
            drop(changes);
            let mut refused = Vec::new();
            let mut seqs = Vec::with_capacity(entries.len());
            let mut lines = Vec::with_capacity(entries.len());
            let mut scratch = Vec::with_capacity(1024);
            for (i, (e, change)) in entries.iter().enumerate() {
                if let Some(batch) = change {
                    match check_then_write(&tx, batch).await {
                        Ok(()) => {}
                        // Nothing of it was written: checks run before any write.
                        Err(StoreError::Conflict(label)) => {
                            refused.push((i, label));
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
                // Fixed-width RFC 3339: string order is time order. Never before the previous
                // entry, whichever node's clock is behind.
                let now = rfc3339(clock.now());
                if now > last_ts {
                    last_ts = now;
                }
                let sealed = e.seal(head.seq + 1, &last_ts, &head.hash, &mut scratch);
                let line = serde_json::to_string(&sealed).map_err(engine)?;
                head = Head {
                    seq: sealed.seq,
                    hash: sealed.hash.into_owned(),
                };
                seqs.push(head.seq as i64);
                lines.push(line);
            }
            if !lines.is_empty() {
                tx.execute(
                    "INSERT INTO hrvault_audit (seq, line) SELECT * FROM unnest($1::bigint[], $2::text[])",
                    &[&seqs, &lines],
                )
                .await
                .map_err(engine)?;
                tx.execute(
                    "UPDATE hrvault_chain_head SET seq = $1, hash = $2, ts = $3 WHERE id = 1",
                    &[&(head.seq as i64), &head.hash, &last_ts],
                )
                .await
                .map_err(engine)?;
            }
            tx.commit().await.map_err(engine)?;
            Ok(Committed { head, refused })
        })
    }
}

impl ChainSink for PgChain {
    fn commit(
        &mut self,
        entries: &[Pending<'_>],
        _head: &Head,
        _now: &mut dyn FnMut() -> String,
    ) -> Result<Committed, CommitError> {
        let mut owned = Vec::with_capacity(entries.len());
        for p in entries {
            let change = match p.change {
                None => None,
                Some(c) => match c.get::<Batch>() {
                    Some(b) => Some(b.clone()),
                    None => {
                        tracing::error!(
                            "a change of an unknown kind was sent to the chain; batch rejected"
                        );
                        return Err(CommitError::Rejected);
                    }
                },
            };
            owned.push((p.entry.clone(), change));
        }
        self.append(owned).map_err(|e| {
            // A failed transaction was rolled back (or never committed): nothing of the batch
            // is in the chain, and the next batch may succeed once the database is back. A
            // COMMIT whose answer was lost is the one ambiguous case; its entries would be in
            // the chain with their waiters told 503, which never claims a change that did not
            // happen.
            tracing::error!(error = %e, "audit append to PostgreSQL failed; batch rejected");
            CommitError::Rejected
        })
    }

    fn after_commit(&mut self, _next_seq: u64) -> std::io::Result<()> {
        Ok(())
    }
}

impl ChainLines for PgChain {
    fn lines(
        &self,
        after: u64,
        upto: u64,
        limit: usize,
        descending: bool,
    ) -> std::io::Result<Vec<(u64, String)>> {
        let pool = self.client.pool.clone();
        let (after, upto, limit) = (
            i64::try_from(after).unwrap_or(i64::MAX),
            i64::try_from(upto).unwrap_or(i64::MAX),
            limit as i64,
        );
        let sql = if descending {
            "SELECT seq, line FROM hrvault_audit WHERE seq > $1 AND seq <= $2 ORDER BY seq DESC LIMIT $3"
        } else {
            "SELECT seq, line FROM hrvault_audit WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3"
        };
        self.client
            .block(async move {
                let c = pool.get().await.map_err(unreachable)?;
                let rows = c
                    .query(sql, &[&after, &upto, &limit])
                    .await
                    .map_err(engine)?;
                Ok(rows
                    .into_iter()
                    .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, String>(1)))
                    .collect())
            })
            .map_err(|e: StoreError| std::io::Error::other(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::audit::{Action, Actor, AuditLog, ChainVerifier, Outcome, Verdict};
    use crate::clock::SystemClock;
    use crate::store::PgBackend;

    #[test]
    fn writers_on_two_nodes_make_one_gap_free_chain_that_verifies() {
        let Some(pg) = crate::testing::pg::require("writers_on_two_nodes_make_one_chain") else {
            return;
        };
        let url = pg.create_database("chain").unwrap();
        let clock: SharedClock = Arc::new(SystemClock);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // Two nodes: two backends (pools) on one database, each with its own writer thread.
        let nodes: Vec<(PgBackend, AuditLog)> = (0..2)
            .map(|_| {
                let b = PgBackend::connect(&url, 4).unwrap();
                let chain = b.chain(clock.clone());
                let head = chain.head().unwrap();
                let log = AuditLog::start_chain(
                    Box::new(chain),
                    head,
                    clock.clone(),
                    Box::new(|| Ok(())),
                )
                .unwrap();
                (b, log)
            })
            .collect();
        let per_node = 300u64;
        let seqs: Vec<u64> = rt.block_on(async {
            let mut tasks = Vec::new();
            for (n, (_, log)) in nodes.iter().enumerate() {
                for i in 0..per_node {
                    let log = log.clone();
                    tasks.push(tokio::spawn(async move {
                        let mut e =
                            NewEntry::new(Actor::default(), Action::AuthLogin, Outcome::Success);
                        e.reason = Some(format!("node {n} entry {i}"));
                        log.append(e).await.unwrap().seq()
                    }));
                }
            }
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        });
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len() as u64,
            2 * per_node,
            "every acknowledged seq is distinct"
        );
        assert_eq!(sorted, (1..=2 * per_node).collect::<Vec<_>>(), "no gap");
        let chain = nodes[0].0.chain(clock.clone());
        let head = chain.head().unwrap();
        let mut v = ChainVerifier::new();
        for (_, line) in chain.lines(0, head.seq, 10_000, false).unwrap() {
            v.push_line(line.as_bytes()).unwrap();
        }
        // The reader other code uses sees the same chain, both ways, in pages.
        let reader = crate::audit::AuditReader::over(Arc::new(chain.clone()));
        let mut forward = Vec::new();
        reader
            .scan(0, head.seq, |e| {
                forward.push(e.seq);
                true
            })
            .unwrap();
        let mut backward = Vec::new();
        reader
            .scan_rev(0, head.seq, |e| {
                backward.push(e.seq);
                true
            })
            .unwrap();
        backward.reverse();
        assert_eq!(forward, (1..=head.seq).collect::<Vec<_>>());
        assert_eq!(backward, forward);
        let mut tail = crate::audit::Tail::over(Arc::new(chain.clone()), 250);
        let mut followed = 0;
        while tail.read(head.seq, 64, |_| followed += 1).unwrap() > 0 {}
        assert_eq!(followed, head.seq - 250);
        match v.finish() {
            Verdict::Intact { entries, head } => {
                assert_eq!(entries, 2 * per_node);
                assert_eq!(head.seq, chain.head().unwrap().seq);
            }
            other => panic!("chain broken: {other:?}"),
        }
    }
}
