//! Group commit for the store's single writer: write use cases that queue for the writer while one
//! is running join its transaction, each in a savepoint of its own, and share one `COMMIT` (one WAL
//! append and `fsync`). A member is answered only after the shared commit, so an acknowledged write
//! is as durable as before; a member that fails rolls back to its savepoint and the others go on.
//!
//! Both backends have one writer at a time (SQLite by its single write connection, PostgreSQL by an
//! advisory lock that serialises the writers of every replica), so a group is that writer's
//! transaction, held for several use cases in a row instead of one.
//!
//! The first member of a group runs without a savepoint (it is alone in the transaction, so its
//! failure rolls the whole transaction back), and a member that finds nobody queued behind it commits
//! at once: a lone writer runs exactly the statements it ran without group commit.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{Database, Executor, Pool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::StoreError;
use super::health::HealthCell;

/// Most members in one group: bounds how long the first member waits for the shared commit.
const MAX_MEMBERS: usize = 32;

/// Opens the writer's transaction on a pooled connection (and takes whatever lock makes it the only
/// writer).
pub(super) type Start<DB> = fn(Pool<DB>) -> Opening<DB>;

/// The writer's transaction being opened.
pub(super) type Opening<DB> = Pin<Box<dyn Future<Output = Result<Transaction<'static, DB>, sqlx::Error>> + Send>>;

/// The writer's group-commit state, shared by the store's clones.
pub(super) struct GroupCommit<DB: Database> {
    pool: Pool<DB>,
    start: Start<DB>,
    group: Arc<Mutex<Group<DB>>>,
    /// Writers waiting for the group lock: a member commits at once when there are none.
    queued: Arc<AtomicUsize>,
    health: HealthCell,
    map_err: fn(sqlx::Error) -> StoreError,
}

impl<DB: Database> Clone for GroupCommit<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            start: self.start,
            group: self.group.clone(),
            queued: self.queued.clone(),
            health: self.health.clone(),
            map_err: self.map_err,
        }
    }
}

struct Group<DB: Database> {
    /// The open transaction while a group runs.
    open: Option<Transaction<'static, DB>>,
    /// Members done with their work, waiting for the shared commit's outcome.
    waiting: Vec<oneshot::Sender<Result<(), StoreError>>>,
}

/// One write use case's place in a group: the writer's connection, held until it commits or drops. A
/// member that joined a running group works inside the savepoint `group_member` (one member at a time,
/// so one name).
pub(super) struct Member<DB: Database>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    guard: Option<OwnedMutexGuard<Group<DB>>>,
    joined: bool,
    writer: GroupCommit<DB>,
}

/// Counts a writer as queued until it holds the group lock, or gives up waiting because its call was
/// cancelled: then members that left the group open for it would wait for nobody, so their group is
/// finished on its behalf.
struct Queued<DB: Database>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    writer: GroupCommit<DB>,
    acquired: bool,
}

/// Runs one statement without arguments on the group's connection.
async fn run<DB: Database>(conn: &mut DB::Connection, sql: &'static str) -> Result<(), sqlx::Error>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    conn.execute(sql).await.map(drop)
}

impl<DB: Database> Drop for Queued<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    fn drop(&mut self) {
        self.writer.queued.fetch_sub(1, Ordering::SeqCst);
        if self.acquired {
            return;
        }
        let writer = self.writer.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let guard = writer.group.clone().lock_owned().await;
                if guard.open.is_some() && writer.queued.load(Ordering::SeqCst) == 0 {
                    let _ = writer.hand_on(guard, false).await;
                }
            });
        }
    }
}

impl<DB: Database> GroupCommit<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Group commit over the writer `pool`, whose transactions `start` opens; commit outcomes go to
    /// `health`.
    pub(super) fn new(
        pool: Pool<DB>,
        start: Start<DB>,
        health: HealthCell,
        map_err: fn(sqlx::Error) -> StoreError,
    ) -> Self {
        Self {
            pool,
            start,
            group: Arc::new(Mutex::new(Group { open: None, waiting: Vec::new() })),
            queued: Arc::new(AtomicUsize::new(0)),
            health,
            map_err,
        }
    }

    /// Joins the running group (in a savepoint) or starts one with `start`, which takes the write lock
    /// up front, so a read-then-write never fails half-way.
    pub(super) async fn begin(&self) -> Result<Member<DB>, StoreError> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut queued = Queued { writer: self.clone(), acquired: false };
        let mut guard = self.group.clone().lock_owned().await;
        queued.acquired = true;
        drop(queued);
        if guard.open.is_some() {
            // Built before the savepoint: if this call is cancelled meanwhile, the member's drop undoes
            // it (or, without a savepoint to roll back to, ends the group unacknowledged).
            let mut member = Member { guard: Some(guard), joined: true, writer: self.clone() };
            if let Err(e) = run::<DB>(&mut member, "SAVEPOINT group_member").await {
                let e = (self.map_err)(e);
                let guard = member.guard.take().expect("held until now");
                let _ = self.end_group(guard, Err(e.clone())).await;
                return Err(e);
            }
            return Ok(member);
        }
        let tx = (self.start)(self.pool.clone()).await.map_err(self.map_err);
        if tx.is_err() {
            // Only failures: a begin succeeds even on a full disk, the commit tells.
            self.health.record(&tx);
        }
        guard.open = Some(tx?);
        Ok(Member { guard: Some(guard), joined: false, writer: self.clone() })
    }
    /// Ends the group with `outcome` (committing it when that is `Ok`) and tells every waiting member.
    async fn end_group(
        &self,
        mut guard: OwnedMutexGuard<Group<DB>>,
        outcome: Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let tx = guard.open.take();
        let waiting = std::mem::take(&mut guard.waiting);
        let outcome = match (outcome, tx) {
            (Ok(()), Some(tx)) => {
                let committed = tx.commit().await.map_err(self.map_err);
                self.health.record(&committed);
                committed
            }
            // Dropping the transaction rolls it back.
            (outcome, _) => outcome,
        };
        drop(guard);
        for member in waiting {
            let _ = member.send(outcome.clone());
        }
        outcome
    }

    /// After a member finished (committed its part or rolled it back): lets the next queued writer
    /// join, or commits the group when nobody is queued or it is full.
    async fn hand_on(&self, mut guard: OwnedMutexGuard<Group<DB>>, wait: bool) -> Result<(), StoreError> {
        let full = guard.waiting.len() + 1 >= MAX_MEMBERS;
        if self.queued.load(Ordering::SeqCst) > 0 && !full {
            if !wait {
                return Ok(());
            }
            let (tell, told) = oneshot::channel();
            guard.waiting.push(tell);
            drop(guard);
            // A lost sender means the group's transaction was dropped: nothing of it committed.
            return told.await.unwrap_or(Err(StoreError::Other("the group commit was abandoned".into())));
        }
        if guard.waiting.is_empty() && !wait {
            // A lone member rolled back: nothing to commit.
            guard.open = None;
            return Ok(());
        }
        // The shared commit runs on a task of its own, so a caller whose call is cancelled meanwhile cannot
        // cut it off for the members waiting on it.
        let writer = self.clone();
        tokio::spawn(async move { writer.end_group(guard, Ok(())).await })
            .await
            .unwrap_or_else(|_| Err(StoreError::Other("the group commit did not finish".into())))
    }
}

impl<DB: Database> Member<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    fn group(&mut self) -> &mut Group<DB> {
        self.guard.as_mut().expect("a member holds the group until it commits or drops")
    }

    /// Keeps this member's writes and returns once the group's commit holds them.
    pub(super) async fn commit(mut self) -> Result<(), StoreError> {
        let guard = self.guard.take().expect("a member holds the group until it commits or drops");
        let writer = self.writer.clone();
        if self.joined {
            let mut guard = guard;
            let released = match guard.open.as_mut() {
                Some(tx) => run::<DB>(tx, "RELEASE group_member").await,
                None => Ok(()),
            };
            if let Err(e) = released {
                return writer.end_group(guard, Err((writer.map_err)(e))).await;
            }
            return writer.hand_on(guard, true).await;
        }
        writer.hand_on(guard, true).await
    }
}

/// Undoes this member's writes when it is dropped without a commit: a joined member rolls back to its
/// savepoint and the group goes on; a first member rolls back the transaction, holding nobody else's work.
impl<DB: Database> Drop for Member<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else { return };
        let writer = self.writer.clone();
        if !self.joined {
            guard.open = None;
            // Nobody waits on a first member's transaction: drop it (rolled back) and let the next begin.
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to undo it on (the process is shutting down): the whole group rolls back, and its
            // waiting members learn that nothing of it committed.
            guard.open = None;
            guard.waiting.clear();
            return;
        };
        runtime.spawn(async move {
            let undone = match guard.open.as_mut() {
                Some(tx) => match run::<DB>(tx, "ROLLBACK TO group_member").await {
                    Ok(()) => run::<DB>(tx, "RELEASE group_member").await,
                    Err(e) => Err(e),
                },
                None => Ok(()),
            };
            match undone {
                Ok(()) => {
                    let _ = writer.hand_on(guard, false).await;
                }
                Err(e) => {
                    let _ = writer.end_group(guard, Err((writer.map_err)(e))).await;
                }
            }
        });
    }
}

impl<DB: Database> Deref for Member<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        self.guard.as_ref().and_then(|g| g.open.as_deref()).expect("a member's group has an open transaction")
    }
}

impl<DB: Database> DerefMut for Member<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    fn deref_mut(&mut self) -> &mut DB::Connection {
        self.group().open.as_deref_mut().expect("a member's group has an open transaction")
    }
}

/// A transaction's connection: a read snapshot, or a place in the writer's group commit.
pub(super) enum Conn<DB: Database>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    Read(Transaction<'static, DB>),
    Write(Member<DB>),
}

impl<DB: Database> Conn<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Ends a read snapshot, or returns once the group's commit holds this member's writes (the group
    /// records the commit's outcome in the store's health).
    pub(super) async fn commit(self, map_err: fn(sqlx::Error) -> StoreError) -> Result<(), StoreError> {
        match self {
            Conn::Read(tx) => tx.commit().await.map_err(map_err),
            Conn::Write(member) => member.commit().await,
        }
    }
}

impl<DB: Database> Deref for Conn<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match self {
            Conn::Read(tx) => tx,
            Conn::Write(member) => member,
        }
    }
}

impl<DB: Database> DerefMut for Conn<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Conn::Read(tx) => tx,
            Conn::Write(member) => member,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    use sqlx::{Sqlite, SqlitePool};

    use super::*;

    fn map_err(e: sqlx::Error) -> StoreError {
        StoreError::Other(e.to_string())
    }

    async fn pools(dir: &std::path::Path) -> (SqlitePool, SqlitePool) {
        let opts = SqliteConnectOptions::new()
            .filename(dir.join("group.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(opts.clone()).await.expect("writer");
        sqlx::query("CREATE TABLE t (n INTEGER PRIMARY KEY)").execute(&writer).await.expect("table");
        let reader =
            SqlitePoolOptions::new().max_connections(1).connect_with(opts.read_only(true)).await.expect("reader");
        (writer, reader)
    }

    fn group(writer: SqlitePool) -> GroupCommit<Sqlite> {
        GroupCommit::new(
            writer,
            |pool| Box::pin(async move { pool.begin_with("BEGIN IMMEDIATE").await }),
            HealthCell::new(),
            map_err,
        )
    }

    async fn insert(member: &mut Member<Sqlite>, n: i64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO t (n) VALUES ($1)").bind(n).execute(&mut **member).await.map(|_| ())
    }

    async fn stored(reader: &SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT n FROM t ORDER BY n").fetch_all(reader).await.expect("read")
    }

    async fn until_queued(group: &GroupCommit<Sqlite>, n: usize) {
        for _ in 0..500 {
            if group.queued.load(Ordering::SeqCst) == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("{n} writers never queued");
    }

    /// Three writers queue behind each other: the first is answered only after the last one's commit,
    /// the one in between fails and leaves nothing, and the other two share one commit.
    #[tokio::test]
    async fn queued_writers_share_one_commit_and_a_failing_one_fails_alone() {
        let dir = tempfile::tempdir().expect("dir");
        let (writer, reader) = pools(dir.path()).await;
        let group = group(writer);

        let mut first = group.begin().await.expect("first begins");
        assert!(!first.joined, "the first member needs no savepoint");
        insert(&mut first, 1).await.expect("insert 1");
        let (joined, has_joined) = oneshot::channel();
        let (go, fail_now) = oneshot::channel::<()>();
        let failing = tokio::spawn({
            let group = group.clone();
            async move {
                let mut member = group.begin().await.expect("second begins");
                assert!(member.joined, "the second joins the running group");
                joined.send(()).expect("told");
                fail_now.await.expect("go");
                insert(&mut member, 2).await.expect("insert 2");
                // A duplicate key: the use case fails and drops its transaction.
                assert!(insert(&mut member, 1).await.is_err());
            }
        });
        until_queued(&group, 1).await;
        let first_done = tokio::spawn(first.commit());
        has_joined.await.expect("the second writer holds the group");
        let (inserted, has_inserted) = oneshot::channel();
        let (commit, commit_now) = oneshot::channel::<()>();
        let last = tokio::spawn({
            let group = group.clone();
            async move {
                let mut member = group.begin().await.expect("third begins");
                assert!(member.joined, "the group is still open for the next writer");
                insert(&mut member, 3).await.expect("insert 3");
                inserted.send(()).expect("told");
                commit_now.await.expect("commit");
                member.commit().await
            }
        });
        until_queued(&group, 1).await;
        go.send(()).expect("go");
        failing.await.expect("the failing writer ran");
        has_inserted.await.expect("the third writer holds the group");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!first_done.is_finished(), "a member is answered only after the group commits");
        assert!(stored(&reader).await.is_empty(), "nothing is visible before the shared commit");
        commit.send(()).expect("commit");
        last.await.expect("joined").expect("the last member commits the group");
        first_done.await.expect("joined").expect("the first member's writes are committed");
        assert_eq!(stored(&reader).await, [1, 3], "the failed member's row is rolled back, the others kept");

        // A lone writer commits at once.
        let mut alone = group.begin().await.expect("a new group");
        assert!(!alone.joined);
        insert(&mut alone, 4).await.expect("insert 4");
        alone.commit().await.expect("commits alone");
        assert_eq!(stored(&reader).await, [1, 3, 4]);
    }

    /// A writer that gives up waiting for its turn (its call was cancelled) does not leave the members
    /// that kept the group open for it waiting forever: their group is committed on its behalf.
    #[tokio::test]
    async fn a_queued_writer_that_gives_up_does_not_strand_the_group() {
        let dir = tempfile::tempdir().expect("dir");
        let (writer, reader) = pools(dir.path()).await;
        let group = group(writer);

        let mut first = group.begin().await.expect("first begins");
        insert(&mut first, 1).await.expect("insert 1");
        // A writer queued for the lock, as `begin` counts one, that will never take its turn.
        group.queued.fetch_add(1, Ordering::SeqCst);
        let gives_up = Queued { writer: group.clone(), acquired: false };
        let first_done = tokio::spawn(first.commit());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!first_done.is_finished(), "the first member waits for the queued writer");
        drop(gives_up);
        let answered = tokio::time::timeout(Duration::from_secs(5), first_done).await;
        answered.expect("answered once the queued writer gave up").expect("joined").expect("committed");
        assert_eq!(stored(&reader).await, [1]);
    }

    /// A commit that fails fails every member of the group: none of them is acknowledged.
    #[tokio::test]
    async fn a_failed_group_commit_fails_every_member() {
        let dir = tempfile::tempdir().expect("dir");
        let (writer, reader) = pools(dir.path()).await;
        sqlx::query("CREATE TABLE child (n INTEGER REFERENCES t(n) DEFERRABLE INITIALLY DEFERRED)")
            .execute(&writer)
            .await
            .expect("table");
        sqlx::query("PRAGMA foreign_keys = ON").execute(&writer).await.expect("pragma");
        let group = group(writer);

        let mut first = group.begin().await.expect("first begins");
        insert(&mut first, 1).await.expect("insert 1");
        let queued = tokio::spawn({
            let group = group.clone();
            async move { group.begin().await.expect("second begins") }
        });
        until_queued(&group, 1).await;
        let first_done = tokio::spawn(first.commit());
        let mut second = queued.await.expect("second joined");
        // A deferred foreign key that no row satisfies: the shared COMMIT fails.
        sqlx::query("INSERT INTO child (n) VALUES (99)").execute(&mut *second).await.expect("deferred");
        assert!(second.commit().await.is_err(), "the member whose commit failed learns it");
        assert!(first_done.await.expect("joined").is_err(), "and so does the member that waited for it");
        assert!(stored(&reader).await.is_empty(), "nothing of the group is stored");
    }
}
