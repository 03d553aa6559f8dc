//! The catalogue: SQLite (rusqlite, bundled) holding the sessions, their connections and
//! the index of every block in the segment files. The schema is versioned with
//! `PRAGMA user_version` and migrated forward on open; a catalogue from a newer build is
//! refused rather than misread.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use streamscope_model::Proto;

use super::block::BlockRef;

/// Each step takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: sessions, their connections, and the block index.
    "CREATE TABLE sessions (
        id      INTEGER PRIMARY KEY,
        name    TEXT NOT NULL,
        started INTEGER NOT NULL,   -- µs since the epoch
        ended   INTEGER,            -- NULL while running, or after a crash
        origin  TEXT NOT NULL       -- 'live' or 'import'
    );
    CREATE TABLE conns (
        session  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        conn     INTEGER NOT NULL,
        proto    TEXT NOT NULL,
        url      TEXT NOT NULL,
        name     TEXT NOT NULL,
        settings TEXT,              -- the connection's options as JSON, secrets left out
        opened   INTEGER NOT NULL,
        PRIMARY KEY (session, conn)
    );
    CREATE TABLE blocks (
        session   INTEGER NOT NULL,
        conn      INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        count     INTEGER NOT NULL,
        offset    INTEGER NOT NULL,
        len       INTEGER NOT NULL,
        first_t   INTEGER NOT NULL,
        last_t    INTEGER NOT NULL,
        PRIMARY KEY (session, conn, first_seq)
    ) WITHOUT ROWID;",
];

/// The schema this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens (creating if need be) the catalogue at `path` and brings its schema up to date.
pub(crate) fn open(path: &Path) -> Result<Connection, String> {
    let db = Connection::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let fail = |e: rusqlite::Error| format!("{}: {e}", path.display());
    // WAL: readers (the session list) never wait for the writer; NORMAL: a commit is on
    // disk when the OS writes it, which survives the process being killed.
    db.pragma_update(None, "journal_mode", "WAL")
        .map_err(fail)?;
    db.pragma_update(None, "synchronous", "NORMAL")
        .map_err(fail)?;
    db.pragma_update(None, "foreign_keys", "ON").map_err(fail)?;
    db.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
    let version: i64 = db
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(fail)?;
    if version > SCHEMA_VERSION {
        return Err(format!(
            "{} was written by a newer Streamscope (schema {version}, this one reads up to \
             {SCHEMA_VERSION}): open it with that version, or choose another data directory",
            path.display()
        ));
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = db.unchecked_transaction().map_err(fail)?;
        tx.execute_batch(step).map_err(fail)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(db)
}

pub(crate) fn proto_str(p: Proto) -> &'static str {
    match p {
        Proto::Ws => "ws",
        Proto::Sse => "sse",
    }
}

pub(crate) fn proto_of(s: &str) -> Option<Proto> {
    match s {
        "ws" => Some(Proto::Ws),
        "sse" => Some(Proto::Sse),
        _ => None,
    }
}

/// A session as the library lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub id: i64,
    pub name: String,
    pub started: i64,
    pub ended: Option<i64>,
    pub origin: String,
}

/// A connection of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnRow {
    pub conn: u32,
    pub proto: Proto,
    pub url: String,
    pub name: String,
    pub settings: Option<String>,
    pub opened: i64,
}

pub(crate) fn insert_session(
    db: &Connection,
    name: &str,
    started: i64,
    origin: &str,
) -> rusqlite::Result<i64> {
    db.execute(
        "INSERT INTO sessions (name, started, origin) VALUES (?1, ?2, ?3)",
        params![name, started, origin],
    )?;
    Ok(db.last_insert_rowid())
}

pub(crate) fn sessions(db: &Connection) -> rusqlite::Result<Vec<SessionRow>> {
    let mut st = db.prepare("SELECT id, name, started, ended, origin FROM sessions ORDER BY id")?;
    let rows = st.query_map([], |r| {
        Ok(SessionRow {
            id: r.get(0)?,
            name: r.get(1)?,
            started: r.get(2)?,
            ended: r.get(3)?,
            origin: r.get(4)?,
        })
    })?;
    rows.collect()
}

pub(crate) fn session(db: &Connection, id: i64) -> rusqlite::Result<Option<SessionRow>> {
    db.query_row(
        "SELECT id, name, started, ended, origin FROM sessions WHERE id = ?1",
        [id],
        |r| {
            Ok(SessionRow {
                id: r.get(0)?,
                name: r.get(1)?,
                started: r.get(2)?,
                ended: r.get(3)?,
                origin: r.get(4)?,
            })
        },
    )
    .optional()
}

pub(crate) fn conns(db: &Connection, session: i64) -> rusqlite::Result<Vec<ConnRow>> {
    let mut st = db.prepare(
        "SELECT conn, proto, url, name, settings, opened FROM conns WHERE session = ?1 ORDER BY conn",
    )?;
    let rows = st.query_map([session], |r| {
        let proto: String = r.get(1)?;
        Ok(ConnRow {
            conn: r.get(0)?,
            proto: proto_of(&proto).unwrap_or(Proto::Ws),
            url: r.get(2)?,
            name: r.get(3)?,
            settings: r.get(4)?,
            opened: r.get(5)?,
        })
    })?;
    rows.collect()
}

pub(crate) fn blocks(db: &Connection, session: i64, conn: u32) -> rusqlite::Result<Vec<BlockRef>> {
    let mut st = db.prepare(
        "SELECT first_seq, count, offset, len, first_t, last_t FROM blocks
         WHERE session = ?1 AND conn = ?2 ORDER BY first_seq",
    )?;
    let rows = st.query_map(params![session, conn], |r| {
        Ok(BlockRef {
            first_seq: r.get::<_, i64>(0)? as u64,
            count: r.get(1)?,
            offset: r.get::<_, i64>(2)? as u64,
            len: r.get(3)?,
            first_t: r.get(4)?,
            last_t: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// Records, bytes on disk and the last record's time of each connection of a session.
pub(crate) fn totals(db: &Connection, session: i64) -> rusqlite::Result<(u64, u64, Option<i64>)> {
    db.query_row(
        "SELECT COALESCE(SUM(count), 0), COALESCE(SUM(len + 40), 0), MAX(last_t)
         FROM blocks WHERE session = ?1",
        [session],
        |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get(2)?,
            ))
        },
    )
}

pub(crate) fn conn_count(db: &Connection, session: i64) -> rusqlite::Result<u64> {
    db.query_row(
        "SELECT COUNT(*) FROM conns WHERE session = ?1",
        [session],
        |r| r.get::<_, i64>(0).map(|n| n as u64),
    )
}

pub(crate) fn insert_block(
    db: &Connection,
    session: i64,
    conn: u32,
    b: &BlockRef,
) -> rusqlite::Result<()> {
    db.execute(
        "INSERT OR REPLACE INTO blocks (session, conn, first_seq, count, offset, len, first_t, last_t)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            session,
            conn,
            b.first_seq as i64,
            b.count,
            b.offset as i64,
            b.len,
            b.first_t,
            b.last_t
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_catalogue_gets_the_current_schema_and_a_newer_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("sscope-catalog-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("catalog.sqlite");
        let _ = std::fs::remove_file(&path);
        let db = open(&path).expect("open");
        let v: i64 = db
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v, SCHEMA_VERSION);
        let id = insert_session(&db, "one", 5, "live").expect("insert");
        assert_eq!(
            session(&db, id).expect("query").map(|s| s.name),
            Some("one".into())
        );
        db.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("bump");
        drop(db);
        let refused = open(&path).expect_err("a newer schema");
        assert!(refused.contains("newer Streamscope"), "{refused}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
