//! The follower: the task that loads the mirror, applies the watch stream to it, confirms it
//! (see the module above), and starts over from the last revision it has when the watch breaks
//! (a member died, the daemon was cut off), or from a fresh load when that revision has been
//! compacted away. It runs until its [`Follower`] handle is dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{CacheEvent, MetaCache, Mirror};
use crate::store::{Store, StoreError, WatchStream};

/// Keys per page of the initial load.
const LOAD_PAGE: usize = 5000;
/// Pause before watching again after the watch broke.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// The running follower; dropping it stops the task (the cache then soon stops serving).
#[derive(Debug)]
pub struct Follower {
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Follower {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Follower {
    /// Starts following `cache`'s range of `store` (on the current tokio runtime).
    pub fn start<S: Store>(store: S, cache: Arc<MetaCache>) -> Follower {
        let (tx, rx) = mpsc::channel(4);
        let period = cache.options.validity / 4;
        let confirmer = tokio::spawn(confirm(store.clone(), Arc::clone(&cache), period, tx));
        let follower = tokio::spawn(follow(store, cache, rx));
        Follower {
            tasks: [follower, confirmer],
        }
    }
}

/// The range of the mirror.
fn bounds(cache: &MetaCache) -> (Vec<u8>, Vec<u8>) {
    let m = cache.mirror();
    (m.start().to_vec(), m.end().to_vec())
}

/// Every `period`: the store's current revision, read linearizably, with the moment the read
/// started. Failed reads send nothing (the mirror's confirmation then runs out).
async fn confirm<S: Store>(
    store: S,
    cache: Arc<MetaCache>,
    period: Duration,
    tx: mpsc::Sender<(Instant, i64)>,
) {
    let (start, end) = bounds(&cache);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let asked = Instant::now();
        match store.range_keys(&start, &end, 1, 0).await {
            Ok(r) => {
                if tx.send((asked, r.revision)).await.is_err() {
                    return;
                }
            }
            Err(e) => tracing::debug!(error = %e, "etcdfs cache: confirming read failed"),
        }
    }
}

/// Loads the mirror from scratch: every key of the range at one revision.
async fn load<S: Store>(store: &S, start: &[u8], end: &[u8]) -> Result<Mirror, StoreError> {
    let first = store.range(start, end, LOAD_PAGE, 0).await?;
    let revision = first.revision;
    let mut mirror = Mirror::new(start.to_vec(), end.to_vec(), revision);
    let mut page = first;
    loop {
        let next_start = page.kvs.last().map(|kv| {
            let mut k = kv.key.clone();
            k.push(0);
            k
        });
        let more = page.more;
        for kv in page.kvs {
            mirror.load(kv);
        }
        match next_start {
            Some(from) if more => page = store.range(&from, end, LOAD_PAGE, revision).await?,
            _ => return Ok(mirror),
        }
    }
}

/// The follower's loop: (re)load when needed, watch, apply, confirm.
async fn follow<S: Store>(
    store: S,
    cache: Arc<MetaCache>,
    mut confirmations: mpsc::Receiver<(Instant, i64)>,
) {
    let (start, end) = bounds(&cache);
    let mut loaded = false;
    loop {
        if !loaded {
            match load(&store, &start, &end).await {
                Ok(mirror) => {
                    tracing::debug!(keys = mirror.len(), "etcdfs cache loaded");
                    let first = cache.mirror().watermark() == 0;
                    *cache.mirror_mut() = mirror;
                    loaded = true;
                    if !first {
                        cache.tell(CacheEvent::Reloaded);
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "etcdfs cache: load failed");
                    tokio::time::sleep(RETRY_PAUSE).await;
                    continue;
                }
            }
        }
        let from = cache.mirror().watermark() + 1;
        let watch = match store.watch(&start, &end, from).await {
            Ok(w) => w,
            Err(e) => {
                tracing::debug!(error = %e, "etcdfs cache: watch failed");
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
        };
        match run_watch(watch, &cache, &mut confirmations).await {
            Err(StoreError::Compacted(at)) => {
                tracing::info!(compacted = at, "etcdfs cache: history compacted; reloading");
                cache.unconfirm();
                loaded = false;
            }
            Err(e) => {
                tracing::info!(error = %e, "etcdfs cache: watch broke; watching again");
                cache.unconfirm();
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            Ok(()) => {
                // The watch ended (the store closed it) or the confirmer is gone.
                cache.unconfirm();
                if confirmations.is_closed() {
                    return;
                }
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

/// Applies one watch until it breaks. A confirmation `(asked, revision)` asks the watch for
/// its progress; once the watch reports `revision` or later, the mirror is confirmed as of
/// `asked`.
async fn run_watch<W: WatchStream>(
    mut watch: W,
    cache: &MetaCache,
    confirmations: &mut mpsc::Receiver<(Instant, i64)>,
) -> Result<(), StoreError> {
    let mut pending: Option<(Instant, i64)> = None;
    loop {
        tokio::select! {
            batch = watch.next() => {
                let Some(batch) = batch? else { return Ok(()) };
                let (watermark, changes) = {
                    let mut mirror = cache.mirror_mut();
                    let changes = mirror.apply_events(batch.events);
                    mirror.advance(batch.revision);
                    (mirror.watermark(), changes)
                };
                if !changes.is_empty() {
                    cache.tell(CacheEvent::Changed(changes));
                }
                if let Some((asked, revision)) = pending {
                    if watermark >= revision {
                        cache.confirm(asked);
                        pending = None;
                    }
                }
            }
            confirmation = confirmations.recv() => {
                let Some((asked, revision)) = confirmation else { return Ok(()) };
                if cache.mirror().watermark() >= revision {
                    cache.confirm(asked);
                } else {
                    pending = Some((asked, revision));
                    watch.request_progress().await?;
                }
            }
        }
    }
}
