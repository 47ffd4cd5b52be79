//! How an [`AsyncAdapter`](super::AsyncAdapter) runs: on which tokio runtime, how many
//! requests may be in flight, how long one may take, whether the first poll happens on the
//! worker that read the request.

use std::time::Duration;

use rustix::io::Errno;

/// The default [`AsyncConfig::max_in_flight`].
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

/// Errors of [`AsyncAdapter::new`](super::AsyncAdapter::new).
#[derive(Debug, thiserror::Error)]
pub enum AsyncError {
    /// Building the tokio runtime failed.
    #[error("building the tokio runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A setting is out of range.
    #[error("invalid async configuration: {0}")]
    Invalid(&'static str),
}

/// Which runtime the handlers' futures run on.
#[derive(Debug, Clone)]
pub(crate) enum RuntimeChoice {
    /// A runtime the user owns. It must have the time driver enabled when a deadline is set.
    Handle(tokio::runtime::Handle),
    /// A multi-thread runtime fusekit builds and owns, with this many worker threads
    /// (`None`: tokio's default, one per CPU).
    Build { worker_threads: Option<usize> },
}

/// Settings of an [`AsyncAdapter`](super::AsyncAdapter). Start from [`AsyncConfig::new`].
#[derive(Debug, Clone)]
pub struct AsyncConfig {
    pub(crate) runtime: RuntimeChoice,
    pub(crate) max_in_flight: usize,
    pub(crate) waiting_workers: usize,
    pub(crate) deadline: Option<Duration>,
    pub(crate) deadline_errno: Errno,
    pub(crate) poll_inline: bool,
}

impl Default for AsyncConfig {
    fn default() -> Self {
        AsyncConfig::new()
    }
}

impl AsyncConfig {
    /// fusekit builds a multi-thread runtime (one thread per CPU); at most
    /// [`DEFAULT_MAX_IN_FLIGHT`] requests in flight; one worker fewer than
    /// [`default_workers`](crate::default_workers) may wait for room; no deadline; first poll
    /// inline.
    pub fn new() -> Self {
        AsyncConfig {
            runtime: RuntimeChoice::Build {
                worker_threads: None,
            },
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            waiting_workers: crate::default_workers().saturating_sub(1),
            deadline: None,
            deadline_errno: Errno::IO,
            poll_inline: true,
        }
    }

    /// Runs the futures on a runtime the caller owns (it must outlive the session, and have
    /// the time driver enabled if a [`deadline`](Self::deadline) is set).
    pub fn handle(mut self, handle: tokio::runtime::Handle) -> Self {
        self.runtime = RuntimeChoice::Handle(handle);
        self
    }

    /// Builds a multi-thread runtime with `n` worker threads (at least 1), owned by the
    /// adapter and shut down when it is dropped.
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.runtime = RuntimeChoice::Build {
            worker_threads: Some(n.max(1)),
        };
        self
    }

    /// At most `n` handler futures exist at once (at least 1). A request that finds the
    /// limit reached waits for room: on the /dev/fuse or io_uring thread that read it (at
    /// most [`waiting_workers`](Self::waiting_workers) of them at a time), or else as a task
    /// on the runtime that holds only the request's arguments. See the module docs.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    /// How many request-reading threads may block at once waiting for room under
    /// [`max_in_flight`](Self::max_in_flight). Keep it below the session's worker count so
    /// at least one /dev/fuse worker keeps reading: INTERRUPT, FORGET and the requests that
    /// would let a waiting handler finish (an unlock, say) travel on the same queue. 0 never
    /// blocks a worker.
    pub fn waiting_workers(mut self, n: usize) -> Self {
        self.waiting_workers = n;
        self
    }

    /// Drops a request's future after `limit` (counted from dispatch, waiting for room
    /// included) and answers [`deadline_errno`](Self::deadline_errno), logging one warning.
    pub fn deadline(mut self, limit: Duration) -> Self {
        self.deadline = Some(limit);
        self
    }

    /// The error answered when a deadline passes (default EIO).
    pub fn deadline_errno(mut self, errno: Errno) -> Self {
        self.deadline_errno = errno;
        self
    }

    /// Whether the worker that read a request polls its future once before handing it to
    /// the runtime (default true). A handler that answers without waiting (a cache hit) then
    /// replies from that worker with no thread hand-off; one that waits is moved to the
    /// runtime at its first `.await` that is not ready. The first poll runs on the worker, so
    /// a handler must not block or compute for long before its first `.await` (that is true
    /// of any async code). False spawns every request on the runtime untouched.
    pub fn poll_inline(mut self, inline: bool) -> Self {
        self.poll_inline = inline;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), AsyncError> {
        if self.max_in_flight == 0 {
            return Err(AsyncError::Invalid("max_in_flight must be at least 1"));
        }
        if self.max_in_flight > tokio::sync::Semaphore::MAX_PERMITS {
            return Err(AsyncError::Invalid("max_in_flight is too large"));
        }
        Ok(())
    }
}

/// The runtime an adapter runs on: borrowed through a handle, or built and owned.
#[derive(Debug)]
pub(crate) struct Runtime {
    handle: tokio::runtime::Handle,
    owned: Option<tokio::runtime::Runtime>,
}

impl Runtime {
    pub(crate) fn new(choice: &RuntimeChoice) -> Result<Self, AsyncError> {
        match choice {
            RuntimeChoice::Handle(handle) => Ok(Runtime {
                handle: handle.clone(),
                owned: None,
            }),
            RuntimeChoice::Build { worker_threads } => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.enable_time().thread_name("fusekit-async");
                if let Some(n) = worker_threads {
                    builder.worker_threads(*n);
                }
                let rt = builder.build().map_err(AsyncError::Runtime)?;
                Ok(Runtime {
                    handle: rt.handle().clone(),
                    owned: Some(rt),
                })
            }
        }
    }

    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // The last reference may go away on any thread, including one inside another
        // runtime, where a blocking shutdown would panic: futures still queued are dropped
        // (their replies answer EIO), threads wind down on their own.
        if let Some(rt) = self.owned.take() {
            rt.shutdown_background();
        }
    }
}
