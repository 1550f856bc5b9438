//! Change notices from PostgreSQL (`LISTEN`/`NOTIFY`), so that a cache can tell it is current
//! without a round trip to the database per request.
//!
//! A transaction that changes what a cache was read from notifies the topic's channel
//! ([`Topic::channel`]); PostgreSQL delivers the notice to every listening replica when, and only
//! when, the transaction commits. Each replica keeps one listening connection and a generation
//! per topic that every notice moves on; a cache keeps the [`Stamp`] it was read under (taken
//! *before* the read) and is current while the stamp is unchanged. This process's own commits
//! move the generation at once ([`Changes::bump`]), before the writer answers, so a caller that
//! has just written reads its own write from this replica; another replica follows when the
//! notice arrives (a round trip on the network, not a poll).
//!
//! Where notices cannot be relied upon the stamp is not a generation: on SQLite (no
//! `LISTEN`), before the listening connection is up, after it was lost, and when nothing at all
//! — not even this replica's own heartbeat notice, sent every [`HEARTBEAT`] — was heard for
//! [`SILENT_AFTER`] (a connection that hangs without failing). Then [`Changes::stamp`] answers
//! `None` and the caller reads the committed state from the database, as without this module.
//! Every reconnection moves every generation on, so nothing stamped before a gap — when notices
//! may have been missed — is ever current again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::Db;

/// What a cache can be stamped with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// An event committed (and with it every row the writer commits alongside: cases,
    /// disclosures, drafts).
    Events,
}

impl Topic {
    const ALL: [Topic; 1] = [Topic::Events];

    /// The PostgreSQL channel a transaction notifies.
    pub const fn channel(self) -> &'static str {
        match self {
            Topic::Events => "sanxiang_events",
        }
    }

    const fn index(self) -> usize {
        match self {
            Topic::Events => 0,
        }
    }
}

/// The channel each replica notifies every [`HEARTBEAT`] to learn that its listening connection
/// still delivers.
const HEARTBEAT_CHANNEL: &str = "sanxiang_heartbeat";
/// How often a replica notifies [`HEARTBEAT_CHANNEL`].
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// After this long without any notice the listening connection is not trusted.
pub const SILENT_AFTER: Duration = Duration::from_secs(3);
/// The wait before connecting again after a failure.
const RETRY: Duration = Duration::from_secs(1);

/// A cache's stamp: the generation of its topic when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(u64);

impl Stamp {
    /// How many times the topic has moved on in this process (for diagnostics and tests).
    pub fn generation(self) -> u64 {
        self.0
    }
}

/// The change notices of one replica. Cheap to clone; the listening task ends when the last
/// clone is dropped.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    listening: AtomicBool,
    generations: [AtomicU64; Topic::ALL.len()],
    started: Instant,
    /// When anything was last heard, in nanoseconds since `started`.
    heard: AtomicU64,
    /// Dropped with the last [`Changes`]: the listening and heartbeat tasks end.
    alive: tokio::sync::watch::Sender<()>,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            listening: AtomicBool::new(false),
            generations: std::array::from_fn(|_| AtomicU64::new(0)),
            started: Instant::now(),
            heard: AtomicU64::new(0),
            alive: tokio::sync::watch::Sender::new(()),
        }
    }
}

impl Inner {
    fn since_start(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn heard_now(&self) {
        self.heard.store(self.since_start(), Ordering::Release);
    }

    fn bump(&self, topic: Topic) {
        self.generations[topic.index()].fetch_add(1, Ordering::AcqRel);
    }

    fn bump_all(&self) {
        for g in &self.generations {
            g.fetch_add(1, Ordering::AcqRel);
        }
    }
}

impl Changes {
    /// Notices that are never relied upon ([`Self::stamp`] is always `None`): SQLite, and tests.
    pub fn none() -> Self {
        Self::default()
    }

    /// The notices of `db`: on PostgreSQL a task keeps a listening connection of its own (the
    /// pool's options) and a heartbeat; elsewhere [`Self::none`]. Must be called within a Tokio
    /// runtime.
    pub fn of(db: &Db) -> Self {
        let changes = Self::default();
        if db.get_database_backend() == DatabaseBackend::Postgres {
            let weak = Arc::downgrade(&changes.inner);
            let alive = changes.inner.alive.subscribe();
            tokio::spawn(until_dropped(alive.clone(), listen(db.clone(), weak)));
            tokio::spawn(until_dropped(alive, heartbeat(db.clone())));
        }
        changes
    }

    /// The stamp of `topic` now, if notices are relied upon now; `None` means the caller must
    /// read the committed state from the database. Take it before reading what is cached.
    pub fn stamp(&self, topic: Topic) -> Option<Stamp> {
        let inner = &*self.inner;
        if !inner.listening.load(Ordering::Acquire) {
            return None;
        }
        let heard = inner.heard.load(Ordering::Acquire);
        let silent = inner.since_start().saturating_sub(heard);
        if silent > u64::try_from(SILENT_AFTER.as_nanos()).unwrap_or(u64::MAX) {
            return None;
        }
        // Read after the liveness check: a reconnection between the two moved it on.
        let stamp = Stamp(inner.generations[topic.index()].load(Ordering::Acquire));
        inner.listening.load(Ordering::Acquire).then_some(stamp)
    }

    /// Moves `topic` on for a change this process has just committed.
    pub fn bump(&self, topic: Topic) {
        self.inner.bump(topic);
    }

    /// Whether the listening connection is up and has been heard recently.
    pub fn live(&self) -> bool {
        self.stamp(Topic::Events).is_some()
    }
}

/// Runs `task` until the [`Changes`] whose `alive` it watches is dropped.
async fn until_dropped(mut alive: tokio::sync::watch::Receiver<()>, task: impl Future<Output = ()>) {
    tokio::select! {
        () = task => {}
        _ = alive.changed() => {}
    }
}

/// Keeps one listening connection open, moving generations on as notices arrive; ends when the
/// [`Changes`] is dropped.
async fn listen(db: Db, weak: std::sync::Weak<Inner>) {
    use sea_orm::sqlx::postgres::{PgListener, PgPoolOptions};
    let options = db.get_postgres_connection_pool().connect_options();
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let connected = async {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .min_connections(0)
                .connect_with(options.as_ref().clone())
                .await?;
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.eager_reconnect(false);
            let mut channels: Vec<&str> = Topic::ALL.iter().map(|t| t.channel()).collect();
            channels.push(HEARTBEAT_CHANNEL);
            listener.listen_all(channels).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        }
        .await;
        let mut listener = match connected {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "change notices: cannot listen; caches read the database each time");
                drop(inner);
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        // Notices may have been missed while not listening: nothing stamped before is current.
        inner.bump_all();
        inner.heard_now();
        inner.listening.store(true, Ordering::Release);
        drop(inner);
        tracing::debug!("change notices: listening");
        loop {
            let received = listener.try_recv().await;
            let Some(inner) = weak.upgrade() else { return };
            match received {
                Ok(Some(notice)) => {
                    inner.heard_now();
                    if let Some(topic) = Topic::ALL.iter().find(|t| t.channel() == notice.channel()) {
                        inner.bump(*topic);
                    }
                }
                Ok(None) | Err(_) => {
                    inner.listening.store(false, Ordering::Release);
                    inner.bump_all();
                    if let Err(e) = received {
                        tracing::warn!(error = %e, "change notices: the listening connection failed");
                    } else {
                        tracing::warn!("change notices: the listening connection was lost");
                    }
                    break;
                }
            }
        }
    }
}

/// Notifies [`HEARTBEAT_CHANNEL`] every [`HEARTBEAT`] through the pool, so that the listening
/// connection hears something even when nothing changes.
async fn heartbeat(db: Db) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = db.execute_unprepared(&format!("NOTIFY {HEARTBEAT_CHANNEL}")).await {
            tracing::debug!(error = %e, "change notices: the heartbeat was not sent");
        }
    }
}
