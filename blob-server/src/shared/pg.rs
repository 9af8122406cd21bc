//! The record store of several instances: PostgreSQL, the one authority
//! on what exists. Every decision that two instances could race on (a
//! claim, a deletion, an upload's next offset, an upload becoming a blob,
//! a sweep) is one conditional statement, so the row lock decides and the
//! loser sees zero rows; every time is the database's clock (`NOW_S`), so
//! instances with skewed clocks agree on what has expired.
//!
//! A row's life: `UPLOADING` → `LIVE` → `TOMBSTONE`, or `UPLOADING` →
//! `TOMBSTONE`. A tombstone keeps the slot taken and the object names
//! until its objects are erased (`purged`) and then for longer than the
//! longest expiry (`removed_at` + `tombstone_for`), so a late retry of
//! anything finds a tombstone, never a chance to bring a blob back.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{NoTls, Row};

use crate::engine::NewBlob;
use crate::ids::{Digest32, FileName, Slot};
use crate::moderation::{Counter, Counters, Removal, Report, ReportState, Usage};
use crate::record::{BlobRecord, UploadRecord};
use crate::store::StoreError;

/// Most parts (PATCHes that brought bytes) one upload may have: each is
/// an object and a row, and the join reads them one by one.
pub const MAX_PARTS: i64 = 4096;

/// Seconds one instance may hold an upload for joining its parts before
/// another may try (a join that crashed).
const JOIN_LEASE: i64 = 600;

/// Row states.
const UPLOADING: i16 = 0;
const LIVE: i16 = 1;
const TOMBSTONE: i16 = 2;

/// "Now" in Unix seconds, by the database's clock.
const NOW_S: &str = "floor(extract(epoch from now()))::bigint";

/// The schema, one entry per version; applied in order, each once, under
/// an advisory lock so instances starting together do not race.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE veil_records (
        slot bytea PRIMARY KEY,
        state smallint NOT NULL,
        object bytea NOT NULL,
        size bigint NOT NULL,
        received bigint NOT NULL DEFAULT 0,
        expires_at bigint NOT NULL,
        expires_in bigint NOT NULL,
        max_downloads integer NOT NULL,
        downloads integer NOT NULL DEFAULT 0,
        delete_hash bytea NOT NULL,
        proof_hash bytea,
        removed_at bigint,
        purged boolean NOT NULL DEFAULT false,
        purge_tried_at bigint,
        joiner bytea,
        joining_until bigint
    );
    CREATE INDEX veil_records_due ON veil_records (state, expires_at);
    CREATE INDEX veil_records_unpurged ON veil_records (removed_at) WHERE state = 2 AND NOT purged;
    CREATE INDEX veil_records_object ON veil_records (object);
    CREATE TABLE veil_parts (
        slot bytea NOT NULL,
        start bigint NOT NULL,
        object bytea NOT NULL,
        PRIMARY KEY (slot, start)
    );
    CREATE INDEX veil_parts_object ON veil_parts (object);
    CREATE INDEX veil_records_purged ON veil_records (removed_at) WHERE state = 2 AND purged;
    CREATE TABLE veil_store (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        id text NOT NULL,
        claimed_at bigint NOT NULL,
        written boolean NOT NULL DEFAULT false
    );
    CREATE TABLE veil_jobs (name text PRIMARY KEY, last_run bigint NOT NULL);",
    // 2: moderation (reports, the removal list) and the public counters.
    "CREATE TABLE veil_reports (id bytea PRIMARY KEY, slot bytea NOT NULL, body text NOT NULL);
    CREATE INDEX veil_reports_slot ON veil_reports (slot);
    CREATE TABLE veil_removed (slot bytea PRIMARY KEY, body text NOT NULL);
    CREATE TABLE veil_counters (name text PRIMARY KEY, value bigint NOT NULL);
    CREATE TABLE veil_secrets (name text PRIMARY KEY, value bytea NOT NULL);",
];

/// A statement's parameters.
type Params<'a> = &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)];

/// An arbitrary constant naming Veil's migration lock.
const MIGRATION_LOCK: i64 = 0x7665_696c_0001;

/// What a claim found.
pub enum Claimed {
    /// Counted (or unlimited): the record as claimed, and whether this
    /// claim was the last one (the row is now a tombstone).
    Granted(BlobRecord, bool),
    /// Unknown, expired, used up, deleted, or taken by a concurrent claim.
    Gone,
}

/// What recording an upload's new offset found.
pub enum Recorded {
    /// Recorded, with the part that holds the new bytes.
    Done,
    /// Another request moved the offset first, or is joining the upload.
    Moved,
    /// The upload has [`MAX_PARTS`] parts already.
    TooManyParts,
    /// The upload is gone (terminated, expired, finished).
    Gone,
}

/// A removed row whose objects are to be erased.
pub struct Removed {
    /// Its slot.
    pub slot: Slot,
    /// The blob's object (perhaps never written, for an upload).
    pub object: FileName,
}

/// The pool and the statements.
pub struct Records {
    pool: Pool,
    /// Seconds a tombstone is kept after removal.
    tombstone_for: i64,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A database error: what means "try again" is "unavailable" (503): no
/// connection, a broken one, and the SQLSTATE classes of transient
/// trouble (08 connection, 40 serialization/deadlock, 53 resources, 57
/// operator intervention such as a shutdown or a cancelled or timed-out
/// statement, 58 system, 25006 read-only after a failover, 55P03 lock not
/// available). Anything else is a statement the server got wrong: loud.
fn db(e: tokio_postgres::Error) -> StoreError {
    let transient = e.code().is_none_or(|c| {
        let c = c.code();
        ["08", "40", "53", "57", "58"]
            .iter()
            .any(|p| c.starts_with(p))
            || c == "25006"
            || c == "55P03"
    });
    if transient {
        unavailable(e)
    } else {
        StoreError::Records(e.to_string())
    }
}

/// Longest a record call may take before it is "unavailable" (a hung or
/// stopped server answers nothing; TCP alone would wait for minutes).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs a record call with [`CALL_TIMEOUT`].
pub async fn timed<T>(
    call: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the database did not answer in time".into(),
            ))
        })
}

/// A column, or "corrupt" (never a panic) if its type is not the expected one.
fn col<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    name: &str,
) -> Result<T, StoreError> {
    row.try_get(name).map_err(|_| StoreError::Corrupt)
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn u32_of(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn i32_of(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn digest(b: &[u8]) -> Result<Digest32, StoreError> {
    Ok(Digest32(b.try_into().map_err(|_| StoreError::Corrupt)?))
}

fn file_name(b: &[u8]) -> Result<FileName, StoreError> {
    Ok(FileName(b.try_into().map_err(|_| StoreError::Corrupt)?))
}

const COLUMNS: &str = "object, size, received, expires_at, expires_in, max_downloads, downloads, delete_hash, proof_hash";

fn proof_of(row: &Row) -> Result<Option<Digest32>, StoreError> {
    col::<Option<&[u8]>>(row, "proof_hash")?
        .map(digest)
        .transpose()
}

fn blob_of(row: &Row) -> Result<BlobRecord, StoreError> {
    Ok(BlobRecord {
        size: u64_of(col(row, "size")?),
        expires_at: u64_of(col(row, "expires_at")?),
        max_downloads: u32_of(col(row, "max_downloads")?),
        downloads: u32_of(col(row, "downloads")?),
        delete_hash: digest(col(row, "delete_hash")?)?,
        proof_hash: proof_of(row)?,
        file: file_name(col(row, "object")?)?,
    })
}

fn upload_of(row: &Row) -> Result<UploadRecord, StoreError> {
    Ok(UploadRecord {
        length: u64_of(col(row, "size")?),
        offset: u64_of(col(row, "received")?),
        upload_expires_at: u64_of(col(row, "expires_at")?),
        expires_in: u64_of(col(row, "expires_in")?),
        max_downloads: u32_of(col(row, "max_downloads")?),
        delete_hash: digest(col(row, "delete_hash")?)?,
        proof_hash: proof_of(row)?,
        file: file_name(col(row, "object")?)?,
    })
}

/// The first column of a row.
fn first<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row) -> Result<T, StoreError> {
    row.try_get(0).map_err(|_| StoreError::Corrupt)
}

impl Records {
    /// Connects, then applies any migrations not yet applied.
    pub async fn connect(url: &str, tombstone_for: u64) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Records(e.to_string()))?;
        // Server side: no statement (a claim waiting on a row lock, say)
        // runs past the client's patience. Client side: dead peers are
        // noticed by keepalives, connections give up after 5 s.
        config
            .options("-c statement_timeout=8000 -c lock_timeout=8000")
            .connect_timeout(Duration::from_secs(5))
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .tcp_user_timeout(Duration::from_secs(10));
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let timeout = Some(Duration::from_secs(5));
        let pool = Pool::builder(manager)
            .max_size(32)
            .wait_timeout(timeout)
            .create_timeout(timeout)
            .recycle_timeout(timeout)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Records(e.to_string()))?;
        let records = Self {
            pool,
            tombstone_for: i64_of(tombstone_for),
        };
        records.migrate().await?;
        Ok(records)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(unavailable)
    }

    async fn opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, StoreError> {
        self.client()
            .await?
            .query_opt(sql, params)
            .await
            .map_err(db)
    }

    async fn one(&self, sql: &str, params: Params<'_>) -> Result<Row, StoreError> {
        self.client()
            .await?
            .query_one(sql, params)
            .await
            .map_err(db)
    }

    async fn all(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, StoreError> {
        self.client().await?.query(sql, params).await.map_err(db)
    }

    async fn exec(&self, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
        self.client().await?.execute(sql, params).await.map_err(db)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(db)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS veil_schema (version integer NOT NULL)")
            .await
            .map_err(db)?;
        let applied: i64 = first(
            &tx.query_one("SELECT count(*) FROM veil_schema", &[])
                .await
                .map_err(db)?,
        )?;
        let applied = usize::try_from(applied).unwrap_or(usize::MAX);
        if applied > MIGRATIONS.len() {
            return Err(StoreError::Records(format!(
                "the database has schema version {applied}, newer than this blob-server knows ({}); upgrade blob-server",
                MIGRATIONS.len()
            )));
        }
        for (n, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            tx.batch_execute(sql).await.map_err(db)?;
            let version = i32::try_from(n + 1).unwrap_or(i32::MAX);
            tx.execute("INSERT INTO veil_schema VALUES ($1)", &[&version])
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    /// Records a complete blob of `size` bytes whose object `object` is
    /// durable. `None` if the slot is taken (by a tombstone, say): the
    /// caller erases the object.
    pub async fn insert_blob(
        &self,
        slot: &Slot,
        new: &NewBlob,
        size: u64,
        object: FileName,
    ) -> Result<Option<u64>, StoreError> {
        let sql = format!(
            "INSERT INTO veil_records (slot, state, object, size, expires_at, expires_in, max_downloads, delete_hash, proof_hash)
             VALUES ($1, {LIVE}, $2, $3, {NOW_S} + $4, $4, $5, $6, $7)
             ON CONFLICT (slot) DO NOTHING RETURNING expires_at"
        );
        let row = self
            .opt(
                &sql,
                &[
                    &&slot.0[..],
                    &&object.0[..],
                    &i64_of(size),
                    &i64_of(new.expires_in),
                    &i32_of(new.max_downloads),
                    &&new.delete_hash.0[..],
                    &new.proof_hash.as_ref().map(|p| &p.0[..]),
                ],
            )
            .await?;
        row.map(|r| first(&r).map(u64_of)).transpose()
    }

    /// The deployment's store id, and whether this instance must write it
    /// to the object store: `candidate` becomes the id when none exists
    /// (or a previous claimant never confirmed writing it within a
    /// minute); only that instance writes the marker.
    pub async fn claim_store_id(&self, candidate: &str) -> Result<(String, bool), StoreError> {
        let sql = format!(
            "INSERT INTO veil_store (id, claimed_at) VALUES ($1, {NOW_S})
             ON CONFLICT (one) DO UPDATE SET id = $1, claimed_at = {NOW_S}
             WHERE NOT veil_store.written AND veil_store.claimed_at < {NOW_S} - 60
             RETURNING id"
        );
        if self.opt(&sql, &[&candidate]).await?.is_some() {
            return Ok((candidate.to_owned(), true));
        }
        let row = self.one("SELECT id FROM veil_store", &[]).await?;
        Ok((first(&row)?, false))
    }

    /// Records that the marker `id` is in the object store.
    pub async fn store_id_written(&self, id: &str) -> Result<(), StoreError> {
        self.exec("UPDATE veil_store SET written = true WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }

    /// The deployment's store id, if one is recorded.
    pub async fn store_id(&self) -> Result<Option<String>, StoreError> {
        self.opt("SELECT id FROM veil_store", &[])
            .await?
            .map(|r| first(&r))
            .transpose()
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.one("SELECT 1", &[]).await.map(|_| ())
    }

    /// Seconds since a live blob was stored (by the database's clock).
    pub async fn age(&self, slot: &Slot) -> Result<Option<u64>, StoreError> {
        let sql = format!(
            "SELECT {NOW_S} - (expires_at - expires_in) FROM veil_records WHERE slot = $1 AND state = {LIVE}"
        );
        let row = self.opt(&sql, &[&&slot.0[..]]).await?;
        row.map(|r| first(&r).map(u64_of)).transpose()
    }

    /// A live, unexpired, not used-up blob.
    pub async fn live(&self, slot: &Slot) -> Result<Option<BlobRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM veil_records WHERE slot = $1 AND state = {LIVE}
             AND expires_at > {NOW_S} AND (max_downloads = 0 OR downloads < max_downloads)
             AND NOT EXISTS (SELECT 1 FROM veil_removed WHERE slot = $1)"
        );
        let row = self.opt(&sql, &[&&slot.0[..]]).await?;
        row.as_ref().map(blob_of).transpose()
    }

    /// Counts one download in one statement: only a live, unexpired blob
    /// with downloads left; the last permitted one turns the row into a
    /// tombstone in the same statement. `proof` is the stored proof hash
    /// the caller already checked the client's proof against (in constant
    /// time): the statement only confirms the row is the one checked.
    pub async fn claim(&self, slot: &Slot, proof: Option<Digest32>) -> Result<Claimed, StoreError> {
        let sql = format!(
            "UPDATE veil_records SET
                downloads = downloads + 1,
                state = CASE WHEN downloads + 1 >= max_downloads THEN {TOMBSTONE} ELSE {LIVE} END,
                removed_at = CASE WHEN downloads + 1 >= max_downloads THEN {NOW_S} END
             WHERE slot = $1 AND state = {LIVE} AND expires_at > {NOW_S}
               AND max_downloads > 0 AND downloads < max_downloads
               AND proof_hash IS NOT DISTINCT FROM $2
               AND NOT EXISTS (SELECT 1 FROM veil_removed WHERE slot = $1)
             RETURNING {COLUMNS}, state"
        );
        let row = self
            .opt(&sql, &[&&slot.0[..], &proof.as_ref().map(|p| &p.0[..])])
            .await?;
        let Some(row) = row else {
            return Ok(Claimed::Gone);
        };
        let last = col::<i16>(&row, "state")? == TOMBSTONE;
        Ok(Claimed::Granted(blob_of(&row)?, last))
    }

    /// Turns a live blob into a tombstone: if its deletion token hash is
    /// `delete_hash` (the caller compared it in constant time already), or
    /// unconditionally for `None` (its object is missing).
    pub async fn remove_blob(
        &self,
        slot: &Slot,
        delete_hash: Option<Digest32>,
    ) -> Result<Option<Removed>, StoreError> {
        self.remove(slot, LIVE, delete_hash).await
    }

    /// Turns an unfinished upload into a tombstone (with its token hash, or
    /// unconditionally for `None`).
    pub async fn remove_upload(
        &self,
        slot: &Slot,
        delete_hash: Option<Digest32>,
    ) -> Result<Option<Removed>, StoreError> {
        self.remove(slot, UPLOADING, delete_hash).await
    }

    async fn remove(
        &self,
        slot: &Slot,
        state: i16,
        delete_hash: Option<Digest32>,
    ) -> Result<Option<Removed>, StoreError> {
        let sql = format!(
            "UPDATE veil_records SET state = {TOMBSTONE}, removed_at = {NOW_S}
             WHERE slot = $1 AND state = $2 AND ($3::bytea IS NULL OR delete_hash = $3)
             RETURNING object"
        );
        let row = self
            .opt(
                &sql,
                &[
                    &&slot.0[..],
                    &state,
                    &delete_hash.as_ref().map(|d| &d.0[..]),
                ],
            )
            .await?;
        row.map(|r| {
            Ok(Removed {
                slot: *slot,
                object: file_name(first(&r)?)?,
            })
        })
        .transpose()
    }

    /// The deletion token hash of an unexpired live blob or unfinished
    /// upload, for the caller to compare in constant time.
    pub async fn delete_hash(
        &self,
        slot: &Slot,
        upload: bool,
    ) -> Result<Option<Digest32>, StoreError> {
        let state = if upload { UPLOADING } else { LIVE };
        let sql = format!(
            "SELECT delete_hash FROM veil_records WHERE slot = $1 AND state = $2 AND expires_at > {NOW_S}"
        );
        let row = self.opt(&sql, &[&&slot.0[..], &state]).await?;
        row.map(|r| digest(first(&r)?)).transpose()
    }

    // ---- uploads ----

    /// Registers an upload; its expiry is `upload_expiry` from the
    /// database's now. Returns the record as stored.
    pub async fn insert_upload(
        &self,
        slot: &Slot,
        rec: &UploadRecord,
        upload_expiry: u64,
    ) -> Result<UploadRecord, StoreError> {
        let sql = format!(
            "INSERT INTO veil_records (slot, state, object, size, expires_at, expires_in, max_downloads, delete_hash, proof_hash)
             VALUES ($1, {UPLOADING}, $2, $3, {NOW_S} + $4, $5, $6, $7, $8)
             RETURNING {COLUMNS}"
        );
        let row = self
            .one(
                &sql,
                &[
                    &&slot.0[..],
                    &&rec.file.0[..],
                    &i64_of(rec.length),
                    &i64_of(upload_expiry),
                    &i64_of(rec.expires_in),
                    &i32_of(rec.max_downloads),
                    &&rec.delete_hash.0[..],
                    &rec.proof_hash.as_ref().map(|p| &p.0[..]),
                ],
            )
            .await?;
        upload_of(&row)
    }

    /// An unfinished, unexpired upload.
    pub async fn upload(&self, slot: &Slot) -> Result<Option<UploadRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM veil_records WHERE slot = $1 AND state = {UPLOADING} AND expires_at > {NOW_S}"
        );
        let row = self.opt(&sql, &[&&slot.0[..]]).await?;
        row.as_ref().map(upload_of).transpose()
    }

    /// Moves an upload's offset from `from` to `to`, naming `part` as the
    /// object holding bytes `from..to`, in one transaction.
    pub async fn record_part(
        &self,
        slot: &Slot,
        from: u64,
        to: u64,
        part: FileName,
    ) -> Result<Recorded, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let sql = format!(
            "UPDATE veil_records SET received = $3
             WHERE slot = $1 AND state = {UPLOADING} AND received = $2 AND expires_at > {NOW_S}
               AND (joining_until IS NULL OR joining_until < {NOW_S})
               AND (SELECT count(*) FROM veil_parts WHERE slot = $1) < {MAX_PARTS}"
        );
        let n = tx
            .execute(&sql, &[&&slot.0[..], &i64_of(from), &i64_of(to)])
            .await
            .map_err(db)?;
        if n == 0 {
            let sql = format!(
                "SELECT 1 FROM veil_records WHERE slot = $1 AND state = {UPLOADING} AND expires_at > {NOW_S}"
            );
            let still = tx.query_opt(&sql, &[&&slot.0[..]]).await.map_err(db)?;
            let parts: i64 = first(
                &tx.query_one(
                    "SELECT count(*) FROM veil_parts WHERE slot = $1",
                    &[&&slot.0[..]],
                )
                .await
                .map_err(db)?,
            )?;
            return Ok(match still {
                None => Recorded::Gone,
                Some(_) if parts >= MAX_PARTS => Recorded::TooManyParts,
                Some(_) => Recorded::Moved,
            });
        }
        tx.execute(
            "INSERT INTO veil_parts (slot, start, object) VALUES ($1, $2, $3)",
            &[&&slot.0[..], &i64_of(from), &&part.0[..]],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Recorded::Done)
    }

    /// Takes the upload for joining (its offset still `from`, no other
    /// join under way): from now until the lease ends or is released, no
    /// PATCH can record a part and no other instance can join. `false`:
    /// the upload moved on, is gone, or another join holds it.
    pub async fn lease_join(
        &self,
        slot: &Slot,
        from: u64,
        joiner: &FileName,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE veil_records SET joiner = $3, joining_until = {NOW_S} + {JOIN_LEASE}
             WHERE slot = $1 AND state = {UPLOADING} AND received = $2 AND expires_at > {NOW_S}
               AND (joining_until IS NULL OR joining_until < {NOW_S})"
        );
        let n = self
            .exec(&sql, &[&&slot.0[..], &i64_of(from), &&joiner.0[..]])
            .await?;
        Ok(n == 1)
    }

    /// Gives a join's lease back (the join failed).
    pub async fn release_join(&self, slot: &Slot, joiner: &FileName) -> Result<(), StoreError> {
        self.exec(
            "UPDATE veil_records SET joiner = NULL, joining_until = NULL WHERE slot = $1 AND joiner = $2",
            &[&&slot.0[..], &&joiner.0[..]],
        )
        .await?;
        Ok(())
    }

    /// The parts of an upload, in order: (first byte, object).
    pub async fn parts(&self, slot: &Slot) -> Result<Vec<(u64, FileName)>, StoreError> {
        let rows = self
            .all(
                "SELECT start, object FROM veil_parts WHERE slot = $1 ORDER BY start",
                &[&&slot.0[..]],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let start: i64 = first(r)?;
                let object: &[u8] = r.try_get(1).map_err(|_| StoreError::Corrupt)?;
                Ok((u64_of(start), file_name(object)?))
            })
            .collect()
    }

    /// Turns an unexpired upload whose recorded offset is still `from`
    /// into a live blob of `length` bytes in `object`, expiring
    /// `expires_in` from the database's now: one statement, so the last
    /// bytes are recorded exactly when the blob becomes visible (an upload
    /// never reports complete without being a blob). `None`: it was
    /// removed, expired or moved on meanwhile.
    pub async fn finish_upload(
        &self,
        slot: &Slot,
        from: u64,
        length: u64,
        object: FileName,
        joiner: &FileName,
    ) -> Result<Option<u64>, StoreError> {
        let sql = format!(
            "UPDATE veil_records SET state = {LIVE}, received = $3, object = $4, expires_at = {NOW_S} + expires_in,
                joiner = NULL, joining_until = NULL
             WHERE slot = $1 AND state = {UPLOADING} AND received = $2 AND size = $3 AND expires_at > {NOW_S}
               AND joiner = $5 AND NOT EXISTS (SELECT 1 FROM veil_removed WHERE slot = $1)
             RETURNING expires_at"
        );
        let row = self
            .opt(
                &sql,
                &[
                    &&slot.0[..],
                    &i64_of(from),
                    &i64_of(length),
                    &&object.0[..],
                    &&joiner.0[..],
                ],
            )
            .await?;
        row.map(|r| first(&r).map(u64_of)).transpose()
    }

    /// Forgets the parts of an upload once their objects are erased.
    pub async fn drop_parts(&self, slot: &Slot) -> Result<(), StoreError> {
        self.exec("DELETE FROM veil_parts WHERE slot = $1", &[&&slot.0[..]])
            .await?;
        Ok(())
    }

    /// Marks a tombstone's objects erased, and forgets what it no longer
    /// needs: the token and proof hashes and the size (a purged tombstone
    /// keeps only its slot, object name and removal time).
    pub async fn purged(&self, slot: &Slot) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        tx.execute("DELETE FROM veil_parts WHERE slot = $1", &[&&slot.0[..]])
            .await
            .map_err(db)?;
        let sql = format!(
            "UPDATE veil_records SET purged = true, delete_hash = ''::bytea, proof_hash = NULL, size = 0
             WHERE slot = $1 AND state = {TOMBSTONE}"
        );
        tx.execute(&sql, &[&&slot.0[..]]).await.map_err(db)?;
        tx.commit().await.map_err(db)
    }

    /// Turns expired blobs and uploads into tombstones (at most `limit`;
    /// rows another instance is sweeping are skipped), returns them.
    pub async fn expire(&self, limit: i64) -> Result<Vec<Removed>, StoreError> {
        // Expired blobs (not abandoned uploads) are counted in the same
        // statement.
        let sql = format!(
            "WITH due AS (SELECT slot, state FROM veil_records
                          WHERE state IN ({UPLOADING}, {LIVE}) AND expires_at <= {NOW_S}
                          LIMIT $1 FOR UPDATE SKIP LOCKED),
             gone AS (UPDATE veil_records r SET state = {TOMBSTONE}, removed_at = {NOW_S}
                      FROM due WHERE r.slot = due.slot
                      RETURNING r.slot, r.object, due.state AS was),
             counted AS (INSERT INTO veil_counters (name, value)
                         SELECT '{expired}', count(*) FROM gone WHERE was = {LIVE}
                         HAVING count(*) > 0
                         ON CONFLICT (name) DO UPDATE SET value = veil_counters.value + excluded.value)
             SELECT slot, object FROM gone",
            expired = Counter::Expired.name()
        );
        self.removed_rows(&sql, &[&limit]).await
    }

    /// Tombstones removed more than `grace` seconds ago whose objects are
    /// not erased yet (the remover crashed, or is still serving the last
    /// download past the grace), oldest first.
    /// Each is taken by one instance and not offered again for `grace`
    /// seconds, so a purge that keeps failing does not block the others.
    pub async fn unpurged(&self, grace: u64, limit: i64) -> Result<Vec<Removed>, StoreError> {
        let sql = format!(
            "UPDATE veil_records SET purge_tried_at = {NOW_S}
             WHERE slot IN (SELECT slot FROM veil_records
                            WHERE state = {TOMBSTONE} AND NOT purged AND removed_at <= {NOW_S} - $1
                              AND coalesce(purge_tried_at, 0) <= {NOW_S} - $1
                            ORDER BY removed_at LIMIT $2 FOR UPDATE SKIP LOCKED)
             RETURNING slot, object"
        );
        self.removed_rows(&sql, &[&i64_of(grace), &limit]).await
    }

    async fn removed_rows(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Vec<Removed>, StoreError> {
        let rows = self.all(sql, params).await?;
        rows.iter()
            .map(|r| {
                let slot: &[u8] = first(r)?;
                let object: &[u8] = r.try_get(1).map_err(|_| StoreError::Corrupt)?;
                Ok(Removed {
                    slot: Slot(slot.try_into().map_err(|_| StoreError::Corrupt)?),
                    object: file_name(object)?,
                })
            })
            .collect()
    }

    /// Deletes tombstones whose objects are erased and whose time is up.
    pub async fn forget_tombstones(&self) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM veil_records WHERE slot IN (SELECT slot FROM veil_records
                WHERE state = {TOMBSTONE} AND purged AND removed_at <= {NOW_S} - $1 LIMIT 1000)"
        );
        self.exec(&sql, &[&self.tombstone_for]).await
    }

    /// Which of `objects` an unpurged row or a part names.
    pub async fn known_objects(
        &self,
        objects: &[FileName],
    ) -> Result<std::collections::HashSet<FileName>, StoreError> {
        let names: Vec<&[u8]> = objects.iter().map(|o| &o.0[..]).collect();
        let rows = self
            .all(
                "SELECT object FROM veil_records WHERE object = ANY($1) AND NOT purged
                 UNION SELECT object FROM veil_parts WHERE object = ANY($1)",
                &[&names],
            )
            .await?;
        rows.iter().map(|r| file_name(first(r)?)).collect()
    }

    /// Whether this instance should run job `name` now: at most once per
    /// `every` seconds across all instances (the first to ask wins).
    pub async fn take_job(&self, name: &str, every: u64) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO veil_jobs (name, last_run) VALUES ($1, {NOW_S})
             ON CONFLICT (name) DO UPDATE SET last_run = {NOW_S}
             WHERE veil_jobs.last_run <= {NOW_S} - $2
             RETURNING last_run"
        );
        let row = self.opt(&sql, &[&name, &i64_of(every)]).await?;
        Ok(row.is_some())
    }

    // ---- moderation and counters (crate::moderation) ----

    /// Adds `n` to a counter.
    pub async fn bump(&self, c: Counter, n: u64) -> Result<(), StoreError> {
        if n == 0 {
            return Ok(());
        }
        self.exec(
            "INSERT INTO veil_counters (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = veil_counters.value + $2",
            &[&c.name(), &i64_of(n)],
        )
        .await?;
        Ok(())
    }

    /// Sets a counter.
    pub async fn set_counter(&self, c: Counter, v: u64) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO veil_counters (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = $2",
            &[&c.name(), &i64_of(v)],
        )
        .await?;
        Ok(())
    }

    /// Every counter; [`Counter::Since`] is written on the first call (by
    /// the database's clock).
    pub async fn counters(&self) -> Result<Counters, StoreError> {
        let sql = format!(
            "INSERT INTO veil_counters (name, value) VALUES ($1, {NOW_S} - {NOW_S} % 86400)
             ON CONFLICT (name) DO NOTHING"
        );
        self.exec(&sql, &[&Counter::Since.name()]).await?;
        let rows = self
            .all("SELECT name, value FROM veil_counters", &[])
            .await?;
        let mut out = Counters::default();
        for c in Counter::ALL {
            out.0.insert(c.name(), 0);
        }
        for r in &rows {
            let name: &str = first(r)?;
            let value: i64 = col(r, "value")?;
            if let Some(c) = Counter::ALL.iter().find(|c| c.name() == name) {
                out.0.insert(c.name(), u64_of(value));
            }
        }
        Ok(out)
    }

    /// Live blobs, their bytes, and unfinished uploads' lengths.
    pub async fn usage(&self) -> Result<Usage, StoreError> {
        let sql = format!(
            "SELECT count(*) FILTER (WHERE state = {LIVE}),
                    coalesce(sum(size) FILTER (WHERE state = {LIVE}), 0)::bigint AS bytes,
                    coalesce(sum(size) FILTER (WHERE state = {UPLOADING}), 0)::bigint AS reserved
             FROM veil_records WHERE state IN ({LIVE}, {UPLOADING}) AND expires_at > {NOW_S}
               AND (state = {UPLOADING} OR max_downloads = 0 OR downloads < max_downloads)"
        );
        let row = self.one(&sql, &[]).await?;
        Ok(Usage {
            blobs: u64_of(first(&row)?),
            bytes: u64_of(col(&row, "bytes")?),
            reserved: u64_of(col(&row, "reserved")?),
        })
    }

    /// Stores a report and counts it, in one transaction.
    pub async fn add_report(&self, id: &[u8; 16], r: &Report) -> Result<(), StoreError> {
        let slot = r.slot().ok_or(StoreError::Corrupt)?;
        let body = String::from_utf8(r.encode()).map_err(|_| StoreError::Corrupt)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        tx.execute(
            "INSERT INTO veil_reports (id, slot, body) VALUES ($1, $2, $3)",
            &[&&id[..], &&slot.0[..], &body],
        )
        .await
        .map_err(db)?;
        tx.execute(
            "INSERT INTO veil_counters (name, value) VALUES ($1, 1)
             ON CONFLICT (name) DO UPDATE SET value = veil_counters.value + 1",
            &[&Counter::ReportsReceived.name()],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    /// How many reports name `slot`.
    pub async fn reports_on(&self, slot: &Slot) -> Result<u64, StoreError> {
        let row = self
            .one(
                "SELECT count(*) FROM veil_reports WHERE slot = $1",
                &[&&slot.0[..]],
            )
            .await?;
        Ok(u64_of(first(&row)?))
    }

    /// Every report, in id order.
    pub async fn reports(&self) -> Result<Vec<Report>, StoreError> {
        let rows = self
            .all("SELECT body FROM veil_reports ORDER BY id", &[])
            .await?;
        rows.iter()
            .map(|r| Report::decode(first::<&str>(r)?.as_bytes()).ok_or(StoreError::Corrupt))
            .collect()
    }

    /// Decides open reports in one transaction: `id`'s alone (a dismissal),
    /// or every open one on `slot` (a removal). Returns how many changed
    /// and whether `id` exists.
    pub async fn decide(
        &self,
        which: Either<'_>,
        state: ReportState,
        reason: &str,
        today: u64,
    ) -> Result<(u64, bool), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let rows = match which {
            Either::Report(id) => tx
                .query(
                    "SELECT id, body FROM veil_reports WHERE id = $1 FOR UPDATE",
                    &[&&id[..]],
                )
                .await
                .map_err(db)?,
            Either::Slot(slot) => tx
                .query(
                    "SELECT id, body FROM veil_reports WHERE slot = $1 FOR UPDATE",
                    &[&&slot.0[..]],
                )
                .await
                .map_err(db)?,
        };
        let exists = !rows.is_empty();
        let mut changed = 0;
        for row in &rows {
            let id: &[u8] = first(row)?;
            let body: &str = col(row, "body")?;
            let mut r = Report::decode(body.as_bytes()).ok_or(StoreError::Corrupt)?;
            if r.state != ReportState::Open {
                continue;
            }
            r.state = state;
            r.decision = Some(reason.to_owned());
            r.decided = Some(today);
            let body = String::from_utf8(r.encode()).map_err(|_| StoreError::Corrupt)?;
            tx.execute(
                "UPDATE veil_reports SET body = $2 WHERE id = $1",
                &[&id, &body],
            )
            .await
            .map_err(db)?;
            changed += 1;
        }
        let counter = match state {
            ReportState::Dismissed => Counter::ReportsDismissed,
            _ => Counter::ReportsActioned,
        };
        if changed > 0 {
            tx.execute(
                "INSERT INTO veil_counters (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = veil_counters.value + $2",
                &[&counter.name(), &i64_of(changed)],
            )
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok((changed, exists))
    }

    /// Puts `slot` on the removal list.
    pub async fn add_removal(&self, slot: &Slot, r: &Removal) -> Result<(), StoreError> {
        let body = String::from_utf8(r.encode()).map_err(|_| StoreError::Corrupt)?;
        self.exec(
            "INSERT INTO veil_removed (slot, body) VALUES ($1, $2)
             ON CONFLICT (slot) DO UPDATE SET body = $2",
            &[&&slot.0[..], &body],
        )
        .await?;
        Ok(())
    }

    /// Takes `slot` off the removal list.
    pub async fn drop_removal(&self, slot: &Slot) -> Result<(), StoreError> {
        self.exec("DELETE FROM veil_removed WHERE slot = $1", &[&&slot.0[..]])
            .await?;
        Ok(())
    }

    /// The removal-list entry of `slot`.
    pub async fn removal(&self, slot: &Slot) -> Result<Option<Removal>, StoreError> {
        let row = self
            .opt(
                "SELECT body FROM veil_removed WHERE slot = $1",
                &[&&slot.0[..]],
            )
            .await?;
        row.map(|r| Removal::decode(first::<&str>(&r)?.as_bytes()).ok_or(StoreError::Corrupt))
            .transpose()
    }

    /// The whole removal list.
    pub async fn removals(&self) -> Result<Vec<Removal>, StoreError> {
        let rows = self.all("SELECT body FROM veil_removed", &[]).await?;
        rows.iter()
            .map(|r| Removal::decode(first::<&str>(r)?.as_bytes()).ok_or(StoreError::Corrupt))
            .collect()
    }

    /// The key every instance signs upload challenges with: the first
    /// instance's candidate, kept.
    pub async fn work_key(&self, candidate: &[u8; 32]) -> Result<[u8; 32], StoreError> {
        self.exec(
            "INSERT INTO veil_secrets (name, value) VALUES ('work', $1) ON CONFLICT (name) DO NOTHING",
            &[&&candidate[..]],
        )
        .await?;
        let row = self
            .one("SELECT value FROM veil_secrets WHERE name = 'work'", &[])
            .await?;
        let v: &[u8] = first(&row)?;
        v.try_into().map_err(|_| StoreError::Corrupt)
    }

    /// Turns a live blob or an unfinished upload into a tombstone, for the operator.
    /// One statement: an upload finishing meanwhile is caught either way.
    pub async fn remove_any(&self, slot: &Slot) -> Result<Option<Removed>, StoreError> {
        let sql = format!(
            "UPDATE veil_records SET state = {TOMBSTONE}, removed_at = {NOW_S}
             WHERE slot = $1 AND state IN ({LIVE}, {UPLOADING})
             RETURNING object"
        );
        let row = self.opt(&sql, &[&&slot.0[..]]).await?;
        row.map(|r| {
            Ok(Removed {
                slot: *slot,
                object: file_name(first(&r)?)?,
            })
        })
        .transpose()
    }
}

/// Which reports [`Records::decide`] decides.
pub enum Either<'a> {
    /// One report, by id.
    Report(&'a [u8; 16]),
    /// Every open report on a blob.
    Slot(&'a Slot),
}
