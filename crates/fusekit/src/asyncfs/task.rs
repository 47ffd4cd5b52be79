//! One request's life on the runtime: wait for room if it had none, run the handler's future
//! racing the request's INTERRUPT and its deadline, drop the future when either wins, then
//! answer — from whichever thread the future completed on.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use tokio::time::Sleep;

use super::admit::{Admission, Ticket};
use super::answer::Answer;
use crate::request::InterruptToken;

/// What stopped a future before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Interrupted,
    Expired,
}

/// Everything about a request the task needs besides its handler's future.
pub(crate) struct Job<R> {
    pub(crate) reply: R,
    pub(crate) token: InterruptToken,
    pub(crate) ticket: Ticket,
    pub(crate) op: &'static str,
    /// When the request was dispatched and when its deadline passes.
    pub(crate) deadline: Option<(Instant, Duration)>,
    pub(crate) deadline_errno: Errno,
    /// The first poll happens on the reading thread with a no-op waker: it registers
    /// nothing for the interrupt or the deadline (the runtime's first poll does).
    pub(crate) inline: bool,
    pub(crate) admission: Arc<Admission>,
}

/// Wakes the task when its request is interrupted. Registers with the session's interrupt
/// table only once the future has had to wait, and unregisters when dropped.
struct InterruptWatch {
    token: InterruptToken,
    registered: Option<Waker>,
}

impl InterruptWatch {
    fn poll_interrupted(&mut self, cx: &mut Context<'_>) -> bool {
        match &self.registered {
            Some(w) if w.will_wake(cx.waker()) => self.token.is_interrupted(),
            _ => {
                self.registered = Some(cx.waker().clone());
                self.token.watch(cx.waker())
            }
        }
    }
}

impl Drop for InterruptWatch {
    fn drop(&mut self) {
        if self.registered.is_some() {
            self.token.unwatch();
        }
    }
}

/// Polls `main` until it finishes, the request is interrupted, or the deadline passes.
/// `skip_first`: on the first poll only `main` is polled (see [`Job::inline`]).
async fn race<T>(
    mut main: Pin<&mut impl Future<Output = T>>,
    watch: &mut InterruptWatch,
    mut sleep: Pin<&mut Option<Sleep>>,
    mut skip_first: bool,
) -> Result<T, Stop> {
    poll_fn(|cx| {
        if let Poll::Ready(v) = main.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if std::mem::take(&mut skip_first) {
            return Poll::Pending;
        }
        if watch.poll_interrupted(cx) {
            return Poll::Ready(Err(Stop::Interrupted));
        }
        if let Some(sleep) = sleep.as_mut().as_pin_mut() {
            if sleep.poll(cx).is_ready() {
                return Poll::Ready(Err(Stop::Expired));
            }
        }
        Poll::Pending
    })
    .await
}

/// Runs one request to its answer. The handler's future is dropped before the permit is
/// given back, and both before the reply is sent: when the caller sees the answer, the
/// future is gone.
pub(crate) async fn run<R, H>(job: Job<R>, handler: H)
where
    R: Answer,
    H: Future<Output = Result<R::Value, Errno>>,
{
    let Job {
        reply,
        token,
        ticket,
        op,
        deadline,
        deadline_errno,
        inline,
        admission,
    } = job;
    let unique = token.unique();
    let outcome = {
        let mut watch = InterruptWatch {
            token,
            registered: None,
        };
        let mut sleep =
            pin!(deadline.map(|(at, limit)| tokio::time::sleep_until((at + limit).into())));
        let room = match ticket {
            Ticket::Now(permit) => Ok(permit),
            Ticket::Later(room) => {
                let acquire = pin!(room.acquire_owned());
                match race(acquire, &mut watch, sleep.as_mut(), false).await {
                    Ok(Ok(permit)) => {
                        admission.note_in_flight();
                        Ok(permit)
                    }
                    // Never closed; answer as a dropped reply would.
                    Ok(Err(_closed)) => return reply.fail(Errno::IO),
                    Err(stop) => Err(stop),
                }
            }
        };
        match room {
            Err(stop) => {
                drop(handler);
                Err(stop)
            }
            Ok(_permit) => {
                let handler = pin!(handler);
                race(handler, &mut watch, sleep.as_mut(), inline).await
            }
        }
    };
    match outcome {
        Ok(result) => reply.result(result),
        Err(Stop::Interrupted) => {
            admission
                .counters
                .interrupted
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                unique,
                opcode = op,
                "interrupted: future dropped, answering EINTR"
            );
            reply.fail(Errno::INTR)
        }
        Err(Stop::Expired) => {
            admission.counters.expired.fetch_add(1, Ordering::Relaxed);
            let waited = deadline.map(|(at, _)| at.elapsed()).unwrap_or_default();
            tracing::warn!(
                unique,
                opcode = op,
                waited_ms = waited.as_millis() as u64,
                errno = %deadline_errno,
                "async handler passed its deadline: future dropped"
            );
            reply.fail(deadline_errno)
        }
    }
}
