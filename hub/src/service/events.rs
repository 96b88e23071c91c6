//! An organisation's event stream: catch-up from the store, then live events from the hub's in-process
//! feed. A commit of this hub is sent from memory when it follows on what the stream has covered; a hole
//! before a commit (events another replica committed in between), a lag (the stream fell more than the
//! feed's capacity behind) and the idle poll read the store instead. Either way events go out in cursor
//! order, without gaps or repeats, and a subscriber resumes with its last cursor. Every edge (gRPC today)
//! only converts what comes out of [`Hub::subscribe_events`].

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::{Caller, Hub, HubResult};
use crate::domain::event::Event;

/// Events fetched per read; a slow subscriber never holds more than this in memory.
const EVENT_BATCH: u32 = 256;

/// How often an idle stream reads the store for events committed elsewhere (another replica, or
/// another process on the same database), which the in-process feed never carries.
const EVENT_POLL: Duration = Duration::from_secs(2);

/// Events queued for a subscriber before its stream applies back-pressure.
const QUEUE: usize = 64;

/// What a subscriber receives: events in cursor order, or the error that ended the stream.
pub type Subscription = mpsc::Receiver<HubResult<Event>>;

impl Hub {
    /// Subscribes the caller's organisation to its events after `after`. The stream ends when the hub
    /// closes (clients resume from their last cursor), when the receiver is dropped, or after an error,
    /// which is its last item.
    pub fn subscribe_events(&self, caller: &Caller, after: u64) -> HubResult<Subscription> {
        let audience = caller.org()?.id.clone();
        let (tx, rx) = mpsc::channel(QUEUE);
        let hub = self.clone();
        let caller = caller.clone();
        tokio::spawn(async move {
            let mut closing = hub.closing();
            if *closing.borrow_and_update() {
                return;
            }
            // Subscribe to the feed first: what committed up to `head` is in the store for the
            // catch-up, everything later arrives on the feed.
            let (mut feed, head) = hub.event_feed();
            let mut at = Position { cursor: after, covered: after };
            if !at.catch_up(&hub, &caller, &tx, head).await {
                return;
            }
            loop {
                tokio::select! {
                    _ = closing.changed() => return,
                    () = tx.closed() => return,
                    got = feed.recv() => {
                        let ok = match got {
                            Ok(c) if c.last <= at.covered => true,
                            Ok(c) if c.first <= at.covered + 1 => {
                                let mut ok = true;
                                for e in c.events.iter().filter(|e| e.audience == audience) {
                                    if !at.send(&tx, e).await {
                                        ok = false;
                                        break;
                                    }
                                }
                                at.covered = at.covered.max(c.last);
                                ok
                            }
                            // A hole before this commit: it and everything below it has committed.
                            Ok(c) => at.catch_up(&hub, &caller, &tx, c.last).await,
                            Err(RecvError::Lagged(_)) => {
                                let head = hub.event_head();
                                at.catch_up(&hub, &caller, &tx, head).await
                            }
                            Err(RecvError::Closed) => false,
                        };
                        if !ok {
                            return;
                        }
                    }
                    () = tokio::time::sleep(EVENT_POLL) => {
                        if !at.catch_up(&hub, &caller, &tx, 0).await {
                            return;
                        }
                    }
                }
            }
        });
        Ok(rx)
    }
}

/// One subscriber's position. Events go out in cursor order, each once: `cursor` is the last one
/// sent, and nothing at or below it is sent again. `covered` is a cursor of the global stream up to
/// which every event of this audience has been sent (`covered >= cursor`).
struct Position {
    cursor: u64,
    covered: u64,
}

type Outbox = mpsc::Sender<HubResult<Event>>;

impl Position {
    /// Reads the store after `cursor` until it is drained and sends what it finds; afterwards every
    /// event that had committed when the read began has been sent, so `covered` may rise to any
    /// cursor known to have committed by then (`committed`). Returns false when the stream is over.
    async fn catch_up(&mut self, hub: &Hub, caller: &Caller, out: &Outbox, committed: u64) -> bool {
        loop {
            let batch = match hub.events_after(caller, self.cursor, EVENT_BATCH).await {
                Ok(b) => b,
                Err(e) => {
                    let _ = out.send(Err(e)).await;
                    return false;
                }
            };
            let full = batch.len() == EVENT_BATCH as usize;
            for e in &batch {
                if !self.send(out, e).await {
                    return false;
                }
            }
            if !full {
                self.covered = self.covered.max(committed).max(self.cursor);
                return true;
            }
        }
    }

    /// Sends one event unless it went out already.
    async fn send(&mut self, out: &Outbox, e: &Event) -> bool {
        if e.cursor <= self.cursor {
            return true;
        }
        self.cursor = e.cursor;
        out.send(Ok(e.clone())).await.is_ok()
    }
}
