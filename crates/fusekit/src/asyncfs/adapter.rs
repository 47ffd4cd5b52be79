//! [`AsyncAdapter`]: owns the async filesystem, its runtime and its in-flight limit, and turns
//! one dispatched request into one task — polled once on the reading thread, then left to
//! the runtime if it has to wait.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use rustix::io::Errno;

use super::admit::{Admission, AsyncStatsHandle, Ticket};
use super::answer::Answer;
use super::config::{AsyncConfig, AsyncError, Runtime};
use super::context::RequestContext;
use super::filesystem::AsyncFilesystem;
use super::task::{run, Job};
use crate::request::Request;

/// Serves an [`AsyncFilesystem`] as a [`Filesystem`](crate::Filesystem): mount it with
/// [`Session::mount`](crate::Session::mount) like any other. See the module docs.
pub struct AsyncAdapter<F: AsyncFilesystem> {
    fs: Arc<F>,
    admission: Arc<Admission>,
    deadline: Option<Duration>,
    deadline_errno: Errno,
    poll_inline: bool,
    // Last: the runtime shuts down after everything else is gone.
    runtime: Runtime,
}

impl<F: AsyncFilesystem> std::fmt::Debug for AsyncAdapter<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncAdapter")
            .field("admission", &self.admission)
            .field("deadline", &self.deadline)
            .field("poll_inline", &self.poll_inline)
            .finish_non_exhaustive()
    }
}

impl<F: AsyncFilesystem> AsyncAdapter<F> {
    /// Wraps `fs`, building the runtime if `config` asks for one.
    pub fn new(fs: F, config: AsyncConfig) -> Result<Self, AsyncError> {
        config.validate()?;
        let runtime = Runtime::new(&config.runtime)?;
        Ok(AsyncAdapter {
            fs: Arc::new(fs),
            admission: Arc::new(Admission::new(config.max_in_flight, config.waiting_workers)),
            deadline: config.deadline,
            deadline_errno: config.deadline_errno,
            poll_inline: config.poll_inline,
            runtime,
        })
    }

    /// The filesystem.
    pub fn filesystem(&self) -> &Arc<F> {
        &self.fs
    }

    /// The runtime the futures run on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        self.runtime.handle()
    }

    /// The limit on requests in flight ([`AsyncConfig::max_in_flight`]), as INIT declares it
    /// to the session.
    pub(crate) fn max_in_flight(&self) -> u32 {
        u32::try_from(self.admission.limit()).unwrap_or(u32::MAX)
    }

    /// A handle to the adapter's counters, readable while the session runs.
    pub fn stats(&self) -> AsyncStatsHandle {
        AsyncStatsHandle(Arc::clone(&self.admission))
    }

    /// Starts one request: admits it (maybe waiting for room), polls it once here if
    /// configured, and hands it to the runtime if it is not finished.
    pub(crate) fn spawn<R, H>(
        &self,
        req: &Request<'_>,
        op: &'static str,
        reply: R,
        handler: impl FnOnce(Arc<F>, RequestContext) -> H,
    ) where
        R: Answer,
        H: Future<Output = Result<R::Value, Errno>> + Send + 'static,
    {
        let ctx = RequestContext::new(req);
        let token = ctx.interrupt_token().clone();
        let ticket = self.admission.admit();
        let counters = &self.admission.counters;
        counters.started.fetch_add(1, Ordering::Relaxed);
        let inline = self.poll_inline && matches!(ticket, Ticket::Now(_));
        let job = Job {
            reply,
            token,
            ticket,
            op,
            deadline: self.deadline.map(|limit| (Instant::now(), limit)),
            deadline_errno: self.deadline_errno,
            inline,
            admission: Arc::clone(&self.admission),
        };
        let task = run(job, handler(Arc::clone(&self.fs), ctx));
        let handle = self.runtime.handle();
        if !inline {
            handle.spawn(task);
            return;
        }
        let _runtime = handle.enter();
        let mut task = Box::pin(task);
        // A no-op waker: if the task waits, the runtime polls it again right after the
        // spawn below, which registers the real waker wherever the future waits.
        if task
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_ready()
        {
            counters.finished_inline.fetch_add(1, Ordering::Relaxed);
            return;
        }
        handle.spawn(task);
    }

    /// Runs `fut` to completion on the runtime, blocking this thread (init, destroy). On a
    /// thread that is itself inside a runtime (a session started from async code), a helper
    /// thread blocks instead, since blocking a runtime thread on another future panics.
    pub(crate) fn block_on<T: Send>(&self, fut: impl Future<Output = T> + Send) -> T {
        let handle = self.runtime.handle();
        if tokio::runtime::Handle::try_current().is_err() {
            return handle.block_on(fut);
        }
        std::thread::scope(|s| {
            s.spawn(|| handle.block_on(fut))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Runs `f` with the runtime's context entered (for the synchronous FORGET and
    /// NOTIFY_REPLY methods, so they may `tokio::spawn`).
    pub(crate) fn entered<T>(&self, f: impl FnOnce(&F) -> T) -> T {
        let _runtime = self.runtime.handle().enter();
        f(&self.fs)
    }
}
