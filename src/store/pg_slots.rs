//! Wrapped record keys on PostgreSQL (cluster mode): the `KeySlots` of a store, one row of
//! `hrvault_keyslots` per slot, so deleting the row crypto-shreds the record.

use super::StoreError;
use super::pg_backend::{Client, engine, unreachable};

/// Wrapped record keys in `hrvault_keyslots`. Every put and shred commits at once, so `sync`
/// has nothing to do. A shred is a `DELETE`: the row's old version stays in the table file as a
/// dead tuple until vacuum, and in WAL and backups (SECURITY.md); [`PgSlots::vacuum`] shortens
/// the first.
pub struct PgSlots {
    client: Client,
}

impl PgSlots {
    pub(super) fn new(client: Client) -> Self {
        Self { client }
    }
}

impl PgSlots {
    /// `VACUUM` of the slot table, so deleted keys' dead tuples are reclaimed now rather than
    /// when autovacuum gets round to it.
    pub fn vacuum(&self) -> Result<(), StoreError> {
        let pool = self.client.pool.clone();
        self.client.block(async move {
            let c = pool.get().await.map_err(unreachable)?;
            c.batch_execute("VACUUM hrvault_keyslots")
                .await
                .map_err(engine)
        })
    }
}

impl PgSlots {
    /// Stores wrapped keys under the given slot numbers (`store copy`: records name their slot
    /// numbers, so they must not change), in one transaction, and moves the slot sequence past
    /// `next_free` so a later `put` never hands out a copied (or a shredded) number.
    pub fn put_at(&self, slots: &[(u64, Vec<u8>)], next_free: u64) -> Result<(), StoreError> {
        let pool = self.client.pool.clone();
        let mut numbers = Vec::with_capacity(slots.len());
        let mut wrapped = Vec::with_capacity(slots.len());
        for (n, w) in slots {
            numbers.push(i64::try_from(*n).map_err(engine)?);
            wrapped.push(w.clone());
        }
        let next = i64::try_from(next_free.max(1)).map_err(engine)?;
        self.client.block(async move {
            let mut c = pool.get().await.map_err(unreachable)?;
            let tx = c.transaction().await.map_err(engine)?;
            if !numbers.is_empty() {
                tx.execute(
                    "INSERT INTO hrvault_keyslots (slot, wrapped) \
                     SELECT * FROM unnest($1::bigint[], $2::bytea[])",
                    &[&numbers, &wrapped],
                )
                .await
                .map_err(engine)?;
            }
            tx.execute(
                "SELECT setval(pg_get_serial_sequence('hrvault_keyslots', 'slot'), \
                        GREATEST($1, (SELECT COALESCE(max(slot), 0) + 1 FROM hrvault_keyslots)), \
                        false)",
                &[&next],
            )
            .await
            .map_err(engine)?;
            tx.commit().await.map_err(engine)
        })
    }
}

fn io_err(e: StoreError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl super::KeySlots for PgSlots {
    fn put(&self, sealed: &[u8]) -> std::io::Result<u64> {
        let pool = self.client.pool.clone();
        let sealed = sealed.to_vec();
        self.client
            .block(async move {
                let c = pool.get().await.map_err(unreachable)?;
                let row = c
                    .query_one(
                        "INSERT INTO hrvault_keyslots (wrapped) VALUES ($1) RETURNING slot",
                        &[&sealed],
                    )
                    .await
                    .map_err(engine)?;
                Ok(row.get::<_, i64>(0) as u64)
            })
            .map_err(io_err)
    }

    fn get(&self, slot: u64) -> std::io::Result<Option<Vec<u8>>> {
        let pool = self.client.pool.clone();
        let Ok(slot) = i64::try_from(slot) else {
            return Ok(None);
        };
        self.client
            .block(async move {
                let c = pool.get().await.map_err(unreachable)?;
                let row = c
                    .query_opt(
                        "SELECT wrapped FROM hrvault_keyslots WHERE slot = $1",
                        &[&slot],
                    )
                    .await
                    .map_err(engine)?;
                Ok(row.map(|r| r.get::<_, Vec<u8>>(0)))
            })
            .map_err(io_err)
    }

    fn shred(&self, slot: u64) -> std::io::Result<()> {
        let pool = self.client.pool.clone();
        let Ok(slot) = i64::try_from(slot) else {
            return Ok(());
        };
        self.client
            .block(async move {
                let c = pool.get().await.map_err(unreachable)?;
                c.execute("DELETE FROM hrvault_keyslots WHERE slot = $1", &[&slot])
                    .await
                    .map_err(engine)?;
                Ok(())
            })
            .map_err(io_err)
    }

    fn sync(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn reclaim(&self) -> std::io::Result<()> {
        self.vacuum().map_err(io_err)
    }
}
