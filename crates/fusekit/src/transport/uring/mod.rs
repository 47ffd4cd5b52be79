//! FUSE over io_uring: one queue per possible CPU, each owned by one thread that creates its
//! ring, REGISTERs its entries after the INIT reply, and from then on serves requests with
//! COMMIT_AND_FETCH. INIT, FORGET, INTERRUPT and notifications stay on /dev/fuse (the session
//! keeps one /dev/fuse worker for them).
//!
//! Shape:
//! - `flags`: the public knobs ([`RingFlags`], queue depth bounds).
//! - `counters`: what the queues count ([`UringStats`]).
//! - `cpus`: how many queues (highest possible CPU + 1, from sysfs).
//! - `sqe`: the REGISTER / COMMIT_AND_FETCH SQEs (with the `len == 2` patch REGISTER needs).
//! - `entry`: an entry's registered buffers, the reassembly of a request into one contiguous
//!   frame (so the serve loop decodes it exactly like a /dev/fuse read), and the entry's
//!   `FrameSink`. Its module docs carry the buffer-ownership argument.
//! - `handoff`: replies from any thread reach the owner (mutex list + eventfd wake-up).
//! - `helper`: the short-lived thread that creates the session starter's rings (a ring's
//!   teardown signals the threads that used it; its docs say how that broke requests).
//! - `queue`: the owner thread's loop.
//!
//! Request layout. The kernel puts the `fuse_in_header` in `in_out`, the opcode's first
//! argument in `op_in` (only when that argument is non-empty: LOOKUP's is empty, its name is in
//! the payload) and every further argument, extension headers included, in the payload
//! (`payload_sz` bytes). The header's `len` counts all of them, so the first argument's size is
//! `len - sizeof(fuse_in_header) - payload_sz`: no per-opcode table is needed.
//!
//! Threads. A ring is created, submitted to and waited on only by its owner (rule 6 of
//! ARCHITECTURE.md). A reply finished on another thread writes the entry's buffers (the entry
//! belongs to userspace until committed, and exactly one reply is accepted per request), then
//! hands the entry index to the owner and writes the queue's eventfd, which the owner polls in
//! its own ring. No other thread ever calls io_uring_enter on it, so SINGLE_ISSUER and
//! DEFER_TASKRUN are safe to use and EEXIST cannot occur.
//!
//! Blocking. A queue thread runs handlers inline, so a handler that blocks stalls the
//! requests of that CPU's queue (other CPUs' queues go on). A filesystem with slow operations
//! should keep the reply handle and answer from its own threads: the entry stays with
//! userspace, the queue thread serves its other entries (queue depth > 1), and the reply is
//! handed over as described above. A handler must never wait for another request to arrive on
//! the same queue.
//!
//! Ring flags, measured on the project machine (2 CPUs, Linux 6.18, release build of
//! `examples/uring_bench.rs`: a filesystem that does no work, queue depth 8, one queue thread
//! per CPU pinned to it; median of 3 rounds of 2 s per case; the machine was shared, load
//! average 13-20, so differences under ~15% are noise). Operations per second:
//!
//! | transport / ring flags          | create x1 | create x2 | 4K O_DIRECT read x1 | x2      |
//! |---------------------------------|-----------|-----------|---------------------|---------|
//! | /dev/fuse (4 workers)           | 64 733    | 53 805    | 239 350             | 220 824 |
//! | io_uring, no flags              | 75 091    | 67 607    | 291 891             | 306 850 |
//! | io_uring, COOP_TASKRUN          | 77 999    | 67 305    | 293 298             | 335 456 |
//! | io_uring, SINGLE_ISSUER         | 77 890    | 68 306    | 286 647             | 331 327 |
//! | io_uring, SINGLE_ISSUER+DEFER   | 79 526    | 69 646    | 315 020             | 328 692 |
//!
//! A second run (load ~20) ordered them the same way for creates (SINGLE_ISSUER+DEFER_TASKRUN
//! 72 053/s vs 46 133/s over /dev/fuse single-threaded) with more scatter on reads; unpinned
//! queue threads were slower for creates (44 893/s). A third run (load 11-17): /dev/fuse
//! 43 745 / 62 306 creates/s and 256 362 / 158 718 IOPS; SINGLE_ISSUER+DEFER_TASKRUN 81 462 /
//! 73 310 creates/s and 317 434 / 329 607 IOPS, the best of all flag sets in three of the four
//! cases (COOP_TASKRUN alone collapsed to 31 569 creates/s in that run). SINGLE_ISSUER|DEFER_TASKRUN is never
//! worse than the others here, and it costs nothing: the owner-thread rule already holds.
//! So the default ([`RingFlags::default_flags`]) is SINGLE_ISSUER | DEFER_TASKRUN, with queue
//! threads pinned to their CPU.

mod counters;
mod cpus;
mod entry;
mod flags;
mod handoff;
mod helper;
mod queue;
mod sqe;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use rustix::fd::{AsFd, AsRawFd};
use rustix::io::Errno;

pub(crate) use counters::UringCounters;
pub use counters::UringStats;
use flags::auto_queue_depth;
pub use flags::{RingFlags, MAX_QUEUE_DEPTH};

use crate::transport::dev::DevFd;
use crate::transport::{FrameHandler, TransportExit};
use handoff::Handoff;
use queue::{QueueSpec, StartFailure};

/// The module parameter that gates FUSE over io_uring.
pub(crate) const ENABLE_URING_PARAM: &str = "/sys/module/fuse/parameters/enable_uring";

/// Smallest payload buffer the kernel accepts (`FUSE_MIN_READ_BUFFER`).
const MIN_PAYLOAD: usize = 8192;

/// How long start-up waits for the queue threads to register.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The io_uring settings of a session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UringOptions {
    /// Entries per queue; `None`: [`auto_queue_depth`] of what INIT settled.
    pub(crate) depth: Option<usize>,
    pub(crate) flags: RingFlags,
    pub(crate) pin: bool,
    /// Tests only: register payload buffers this much smaller than the kernel requires, so
    /// that REGISTER fails for real (-EINVAL) and the fallback paths run.
    #[cfg(test)]
    pub(crate) payload_shortfall: usize,
}

impl Default for UringOptions {
    fn default() -> Self {
        UringOptions {
            depth: None,
            flags: RingFlags::default_flags(),
            pin: true,
            #[cfg(test)]
            payload_shortfall: 0,
        }
    }
}

/// What can be checked before INIT: queues can be counted and a ring can be created.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Preflight {
    queues: usize,
}

/// Checks that this process can use FUSE over io_uring at all (before asking the kernel for
/// it in INIT: once INIT says yes, requests wait for the rings).
pub(crate) fn preflight(opts: &UringOptions) -> Result<Preflight, String> {
    // The kernel offers io_uring only with the module parameter on: say so without a round
    // trip (and without answering INIT first when the transport is required).
    if !module_enabled() {
        return Err(not_offered_reason());
    }
    let queues = cpus::possible_cpus()
        .map_err(|e| format!("io_uring transport unusable: cannot count possible CPUs: {e}"))?;
    if queues > usize::from(u16::MAX) {
        return Err(format!(
            "io_uring transport unusable: {queues} possible CPUs"
        ));
    }
    // On a helper thread: see `helper` (the caller must not be linked to this ring).
    let flags = opts.flags;
    helper::on_helper_thread("ring-check", || queue::build_ring(4, flags).map(drop))
        .and_then(|built| built)
        .map_err(|e| {
            format!("io_uring transport unusable: cannot create an io_uring (flags {flags:?}): {e}")
        })?;
    Ok(Preflight { queues })
}

/// Whether the fuse module parameter `enable_uring` is on (the kernel then offers io_uring).
pub(crate) fn module_enabled() -> bool {
    std::fs::read_to_string(ENABLE_URING_PARAM).is_ok_and(|v| matches!(v.trim(), "Y" | "y" | "1"))
}

/// Why INIT did not offer FUSE_OVER_IO_URING, in words.
pub(crate) fn not_offered_reason() -> String {
    match std::fs::read_to_string(ENABLE_URING_PARAM) {
        Ok(v) if matches!(v.trim(), "N" | "n" | "0") => {
            "io_uring transport not offered by the kernel (fuse module parameter enable_uring=N)"
                .to_string()
        }
        Ok(v) => format!(
            "io_uring transport not offered by the kernel although enable_uring={}",
            v.trim()
        ),
        Err(_) => format!(
            "io_uring transport not offered: this kernel has no FUSE over io_uring ({ENABLE_URING_PARAM} is missing; needs Linux 6.14 or later)"
        ),
    }
}

/// The running queues of a session.
#[derive(Debug)]
pub(crate) struct RunningUring {
    pub(crate) threads: Vec<JoinHandle<TransportExit>>,
    pub(crate) counters: Arc<UringCounters>,
    pub(crate) queues: usize,
    pub(crate) depth: usize,
}

/// The largest request payload INIT allowed: what each entry's payload buffer must hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PayloadLimits {
    /// Negotiated max_write.
    pub(crate) max_write: u32,
    /// Negotiated max_pages.
    pub(crate) max_pages: u16,
}

/// What INIT settled that sizes the queues.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueSizing {
    /// The payload buffers of each entry.
    pub(crate) payload: PayloadLimits,
    /// Requests the filesystem said it serves at once (0: it did not say); sizes the depth
    /// when the user did not choose one.
    pub(crate) requests_in_flight: u32,
}

/// Starts one owner thread per queue and waits until each has registered its entries; every
/// request then goes to `handler`. Call only after the INIT reply (with FUSE_OVER_IO_URING)
/// was written on `dev`.
pub(crate) fn start<H: FrameHandler>(
    handler: &Arc<H>,
    dev: &Arc<DevFd>,
    sizing: QueueSizing,
    pre: Preflight,
    opts: &UringOptions,
) -> Result<RunningUring, String> {
    let limits = sizing.payload;
    let payload_size = MIN_PAYLOAD
        .max(limits.max_write as usize)
        .max(usize::from(limits.max_pages) * 4096);
    #[cfg(test)]
    let payload_size = payload_size - opts.payload_shortfall;
    let depth = opts
        .depth
        .unwrap_or_else(|| auto_queue_depth(sizing.requests_in_flight, pre.queues))
        .clamp(1, MAX_QUEUE_DEPTH);
    let counters = Arc::new(UringCounters::default());
    let (tx, rx) = mpsc::channel();
    let mut threads = Vec::with_capacity(pre.queues);
    let mut controls = Vec::with_capacity(pre.queues);
    let mut failure = None;
    for qid in 0..pre.queues {
        let handoff = match Handoff::new(depth) {
            Ok(h) => Arc::new(h),
            Err(e) => {
                failure = Some(format!("io_uring queue {qid}: eventfd failed: {e}"));
                break;
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let spec = QueueSpec {
            qid: qid as u16,
            depth,
            payload_size,
            flags: opts.flags,
            pin: opts.pin,
            dev: Arc::clone(dev),
            counters: Arc::clone(&counters),
            handoff: Arc::clone(&handoff),
            stop: Arc::clone(&stop),
        };
        let handler = Arc::clone(handler);
        let tx = tx.clone();
        match std::thread::Builder::new()
            .name(format!("fusekit-uring-{qid}"))
            .spawn(move || queue::run_queue(handler, spec, tx))
        {
            Ok(h) => {
                threads.push(h);
                controls.push((handoff, stop));
            }
            Err(e) => {
                failure = Some(format!(
                    "io_uring queue {qid}: cannot start its thread: {e}"
                ));
                break;
            }
        }
    }
    drop(tx);
    let mut ready = 0;
    while failure.is_none() && ready < threads.len() {
        match rx.recv_timeout(START_TIMEOUT) {
            Ok((_, Ok(()))) => ready += 1,
            Ok((qid, Err(StartFailure::Ring(e)))) => {
                failure = Some(format!("io_uring queue {qid}: cannot create its ring: {e}"))
            }
            Ok((qid, Err(StartFailure::Register(e)))) => {
                failure = Some(format!(
                    "io_uring queue {qid}: the kernel refused FUSE_IO_URING_CMD_REGISTER: {e}"
                ))
            }
            Err(_) => failure = Some("io_uring queues did not register in time".to_string()),
        }
    }
    if let Some(reason) = failure {
        for (handoff, stop) in &controls {
            stop.store(true, Ordering::Release);
            handoff.wake();
        }
        for t in threads {
            let _ = t.join();
        }
        return Err(reason);
    }
    Ok(RunningUring {
        threads,
        counters,
        queues: pre.queues,
        depth,
    })
}

/// Turns FUSE over io_uring off for this connection after INIT enabled it, so that requests
/// flow over /dev/fuse instead of waiting for rings that will never be ready: the kernel does
/// that when a REGISTER fails, so one is sent with an out-of-range queue id (from a helper
/// thread, see `helper`).
pub(crate) fn disable_on_connection(dev: &DevFd) -> Result<(), Errno> {
    helper::on_helper_thread("ring-off", || send_refused_register(dev))
        .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::AGAIN))?
}

/// The REGISTER of [`disable_on_connection`], on the calling thread.
fn send_refused_register(dev: &DevFd) -> Result<(), Errno> {
    let mut ring = queue::build_ring(2, RingFlags::empty())
        .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
    let sqe = sqe::register(dev.as_fd().as_raw_fd(), u16::MAX, core::ptr::null(), 0);
    // SAFETY: the SQE points at no memory (the kernel rejects the queue id before reading the
    // iovec address).
    unsafe { ring.submission().push(&sqe) }.map_err(|_| Errno::BUSY)?;
    ring.submit_and_wait(1)
        .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
    let res = ring.completion().next().map(|c| c.result());
    match res {
        Some(res) if res < 0 => Ok(()),
        _ => Err(Errno::INVAL),
    }
}
