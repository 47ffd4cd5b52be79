//! One queue's owner thread: it creates the ring, REGISTERs the queue's entries, and then is
//! the only thread that ever submits to or waits on that ring. A completion with res 0 means
//! "an entry holds a request": the owner reassembles it and hands it to the serve loop
//! (`FrameHandler::handle`); the reply (from any thread) lands in the handoff and the owner turns it into a
//! COMMIT_AND_FETCH. A POLL_ADD on the handoff's eventfd wakes the owner for foreign replies
//! (a poll, not a read, so the kernel never writes to memory the thread might free).
//!
//! The thread ends when the connection is gone (entries complete with -ENOTCONN /
//! -ECONNABORTED) and the kernel holds none of its entries any more, or when told to stop
//! during start-up. Buffers are only freed once the kernel cannot write them: after every
//! command completed, or never (leaked, with an error logged) on an abnormal exit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use rustix::fd::{AsFd, AsRawFd};
use rustix::io::Errno;

use super::counters::UringCounters;
use super::entry::RingEntry;
use super::flags::RingFlags;
use super::handoff::Handoff;
use super::sqe;
use crate::transport::dev::DevFd;
use crate::transport::{FrameHandler, TransportExit};

/// user_data of the eventfd poll (entries use their index).
const WAKE_TAG: u64 = u64::MAX;

type Ring = IoUring<squeue::Entry128, cqueue::Entry>;

/// Everything one queue thread needs.
pub(crate) struct QueueSpec {
    pub(crate) qid: u16,
    pub(crate) depth: usize,
    pub(crate) payload_size: usize,
    pub(crate) flags: RingFlags,
    pub(crate) pin: bool,
    pub(crate) dev: Arc<DevFd>,
    pub(crate) counters: Arc<UringCounters>,
    pub(crate) handoff: Arc<Handoff>,
    pub(crate) stop: Arc<AtomicBool>,
}

/// Why a queue could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartFailure {
    /// io_uring_setup failed.
    Ring(Errno),
    /// A REGISTER command failed.
    Register(Errno),
}

/// Creates a ring with the given flags (SQE128, as FUSE commands need).
pub(crate) fn build_ring(entries: u32, flags: RingFlags) -> std::io::Result<Ring> {
    let mut b = IoUring::<squeue::Entry128, cqueue::Entry>::builder();
    if flags.intersects(RingFlags::SINGLE_ISSUER | RingFlags::DEFER_TASKRUN) {
        b.setup_single_issuer();
    }
    if flags.contains(RingFlags::DEFER_TASKRUN) {
        b.setup_defer_taskrun();
    }
    if flags.contains(RingFlags::COOP_TASKRUN) {
        b.setup_coop_taskrun();
    }
    b.build(entries)
}

fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_io_error(e).unwrap_or(Errno::IO)
}

/// What the kernel holds of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// REGISTER in flight.
    Register,
    /// COMMIT_AND_FETCH in flight.
    Commit,
    /// With userspace (being served, or waiting to be committed).
    User,
    /// The kernel refused it; it is out of service.
    Dead,
}

struct Owner<H: FrameHandler> {
    handler: Arc<H>,
    spec: QueueSpec,
    ring: Ring,
    entries: Vec<Arc<RingEntry>>,
    /// Each entry's reply path (the entry as the sink), made once.
    paths: Vec<H::ReplyPath>,
    held: Vec<Held>,
    commit_ids: Vec<u64>,
    in_kernel: usize,
    conn_gone: bool,
    fd: i32,
}

/// Runs queue `spec.qid` on the calling thread until the connection goes away. Reports the
/// outcome of the registration on `started` first.
pub(crate) fn run_queue<H: FrameHandler>(
    handler: Arc<H>,
    spec: QueueSpec,
    started: Sender<(u16, Result<(), StartFailure>)>,
) -> TransportExit {
    let qid = spec.qid;
    if spec.pin {
        pin_to_cpu(qid as usize);
    }
    spec.handoff.claim_for_current_thread();
    let sq = (spec.depth + 2).next_power_of_two() as u32;
    let ring = match build_ring(sq, spec.flags) {
        Ok(r) => r,
        Err(e) => {
            let _ = started.send((qid, Err(StartFailure::Ring(errno_of(&e)))));
            return TransportExit::DeviceError(errno_of(&e));
        }
    };
    let entries: Vec<Arc<RingEntry>> = (0..spec.depth)
        .map(|i| {
            Arc::new(RingEntry::new(
                i as u16,
                spec.payload_size,
                Arc::clone(&spec.handoff),
                Arc::clone(&spec.counters),
            ))
        })
        .collect();
    let paths = entries
        .iter()
        .map(|e| handler.reply_path(e.clone()))
        .collect();
    let fd = spec.dev.as_fd().as_raw_fd();
    let mut owner = Owner {
        handler,
        held: vec![Held::User; spec.depth],
        commit_ids: vec![0; spec.depth],
        spec,
        ring,
        entries,
        paths,
        in_kernel: 0,
        conn_gone: false,
        fd,
    };
    if let Err(e) = owner.register_all() {
        let _ = started.send((qid, Err(e)));
        // This queue has a refused entry, so the ring never becomes ready: the kernel queues
        // no request on the registered ones, and closing the ring cancels them.
        owner.in_kernel = 0;
        return owner.finish(TransportExit::DeviceError(match e {
            StartFailure::Ring(e) | StartFailure::Register(e) => e,
        }));
    }
    let _ = started.send((qid, Ok(())));
    drop(started);
    let exit = owner.serve();
    owner.finish(exit)
}

fn pin_to_cpu(cpu: usize) {
    if cpu >= rustix::thread::CpuSet::MAX_CPU {
        tracing::debug!(
            cpu,
            "CPU number beyond the affinity mask; queue thread not pinned"
        );
        return;
    }
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    if let Err(e) = rustix::thread::sched_setaffinity(None, &set) {
        // An offline (but possible) CPU: its queue still works, just without affinity.
        tracing::debug!(cpu, error = %e, "could not pin io_uring queue thread");
    }
}

impl<H: FrameHandler> Owner<H> {
    fn push(&mut self, sqe: &squeue::Entry128) -> Result<(), Errno> {
        // SAFETY: every SQE we push points only at memory that outlives its command: entry
        // iovecs/buffers (kept until the kernel holds no command, see `finish`), nothing else.
        if unsafe { self.ring.submission().push(sqe) }.is_ok() {
            return Ok(());
        }
        // Full (cannot happen with sq >= depth + 2, but stay correct): flush and retry.
        self.ring.submit().map_err(|e| errno_of(&e))?;
        // SAFETY: as above.
        unsafe { self.ring.submission().push(sqe) }.map_err(|_| Errno::BUSY)
    }

    fn arm_wake(&mut self) -> Result<(), Errno> {
        let efd = self.spec.handoff.eventfd().as_raw_fd();
        let poll = opcode::PollAdd::new(types::Fd(efd), libc_pollin())
            .build()
            .user_data(WAKE_TAG);
        self.push(&poll.into())
    }

    fn register(&mut self, i: usize) -> Result<(), Errno> {
        let sqe = sqe::register(self.fd, self.spec.qid, self.entries[i].iovecs(), i as u64);
        self.push(&sqe)?;
        self.held[i] = Held::Register;
        self.in_kernel += 1;
        Ok(())
    }

    /// REGISTERs every entry and arms the wake-up; fails if the kernel refuses any.
    fn register_all(&mut self) -> Result<(), StartFailure> {
        for i in 0..self.entries.len() {
            self.register(i).map_err(StartFailure::Register)?;
        }
        self.arm_wake().map_err(StartFailure::Register)?;
        self.submit(0).map_err(StartFailure::Register)?;
        // Errors of an inline-issued command are posted before submit returns; a zero-timeout
        // wait also runs any deferred completion work.
        let ts = types::Timespec::new();
        let args = types::SubmitArgs::new().timespec(&ts);
        match self.ring.submitter().submit_with_args(1, &args) {
            Ok(_) => {}
            Err(e) if matches!(errno_of(&e), Errno::TIME | Errno::INTR) => {}
            Err(e) => return Err(StartFailure::Register(errno_of(&e))),
        }
        let mut failure = None;
        let cqes: Vec<(u64, i32)> = self
            .ring
            .completion()
            .map(|c| (c.user_data(), c.result()))
            .collect();
        for (ud, res) in cqes {
            if ud == WAKE_TAG {
                self.woken(res);
                continue;
            }
            let i = ud as usize;
            self.in_kernel -= 1;
            if res < 0 {
                self.held[i] = Held::Dead;
                failure.get_or_insert(Errno::from_raw_os_error(-res));
            } else {
                // A request arrived already (the ring became ready at once): serve it later
                // in the loop, as if it completed there.
                self.held[i] = Held::User;
                self.request(i);
            }
        }
        match failure {
            Some(e) => Err(StartFailure::Register(e)),
            None => Ok(()),
        }
    }

    fn submit(&mut self, want: usize) -> Result<(), Errno> {
        match self.ring.submit_and_wait(want) {
            Ok(_) => Ok(()),
            Err(e) => match errno_of(&e) {
                // EINTR: reap and come back. EBUSY: the completion queue is full; reaping
                // makes room and the submissions stay queued.
                Errno::INTR | Errno::BUSY => Ok(()),
                e => {
                    UringCounters::bump(&self.spec.counters.submit_errors);
                    Err(e)
                }
            },
        }
    }

    fn woken(&mut self, res: i32) {
        if res < 0 && res != -Errno::CANCELED.raw_os_error() {
            tracing::debug!(res, "io_uring wake-up poll failed; re-arming");
        }
        self.spec.handoff.woken();
    }

    /// Commits every entry whose reply is written.
    fn commit_ready(&mut self, scratch: &mut Vec<u16>) -> Result<(), Errno> {
        self.spec.handoff.drain_into(scratch);
        for idx in scratch.drain(..) {
            let i = idx as usize;
            if self.held[i] != Held::User {
                tracing::error!(entry = i, held = ?self.held[i], "commit of an entry userspace does not hold; ignored");
                continue;
            }
            let sqe = sqe::commit_and_fetch(self.fd, self.spec.qid, self.commit_ids[i], i as u64);
            self.entries[i].mark_committed();
            self.push(&sqe)?;
            self.held[i] = Held::Commit;
            self.in_kernel += 1;
            UringCounters::bump(&self.spec.counters.commits);
        }
        Ok(())
    }

    /// Serves the request entry `i` just received.
    fn request(&mut self, i: usize) {
        let entry = &self.entries[i];
        // SAFETY: owner thread; entry i's command completed with res 0 and it is not being
        // served or committed; no slice of its request buffer is alive.
        let fetched = unsafe { entry.fetch() };
        if fetched.malformed {
            tracing::debug!(
                entry = i,
                "serving a malformed io_uring request (answered with an error)"
            );
        }
        self.commit_ids[i] = fetched.commit_id;
        UringCounters::bump(&self.spec.counters.requests);
        // SAFETY: owner thread, right after `fetch`; the slice dies before the next fetch.
        let bytes = unsafe { entry.request(fetched.len) };
        self.handler.handle(bytes, &self.paths[i]);
    }

    fn failed(&mut self, i: usize, res: i32, was: Held) {
        let errno = Errno::from_raw_os_error(-res);
        match errno {
            Errno::NOTCONN | Errno::CONNABORTED | Errno::NODEV | Errno::CANCELED => {
                self.conn_gone = true;
                self.held[i] = Held::Dead;
            }
            _ if was == Held::Commit && !self.conn_gone => {
                // The kernel refused the commit (e.g. ENOENT: request not found) and dropped
                // our command; the entry is registered again so the queue keeps its depth.
                UringCounters::bump(&self.spec.counters.commit_errors);
                tracing::warn!(entry = i, error = %errno, "COMMIT_AND_FETCH failed; registering the entry again");
                match self.register(i) {
                    Ok(()) => UringCounters::bump(&self.spec.counters.reregistered),
                    Err(_) => self.held[i] = Held::Dead,
                }
            }
            _ => {
                UringCounters::bump(&self.spec.counters.commit_errors);
                tracing::error!(entry = i, error = %errno, ?was, "io_uring entry refused by the kernel; out of service");
                self.held[i] = Held::Dead;
            }
        }
    }

    fn serve(&mut self) -> TransportExit {
        let mut scratch = Vec::with_capacity(self.entries.len());
        let mut cqes: Vec<(u64, i32)> = Vec::with_capacity(self.entries.len() + 2);
        loop {
            if let Err(e) = self.commit_ready(&mut scratch) {
                tracing::error!(error = %e, "queueing a commit failed");
                return TransportExit::DeviceError(e);
            }
            if self.spec.stop.load(Ordering::Acquire) {
                // Start-up was abandoned: the ring never became ready, so the kernel queues no
                // request on our entries; closing the ring cancels them.
                self.in_kernel = 0;
                return TransportExit::Unmounted;
            }
            if self.in_kernel == 0 {
                if self.conn_gone {
                    return TransportExit::Unmounted;
                }
                if self.held.iter().all(|h| *h == Held::Dead) {
                    tracing::error!(
                        qid = self.spec.qid,
                        "every entry of an io_uring queue failed"
                    );
                    return TransportExit::DeviceError(Errno::IO);
                }
            }
            if let Err(e) = self.submit(1) {
                tracing::error!(qid = self.spec.qid, error = %e, "io_uring_enter failed; queue stops");
                return TransportExit::DeviceError(e);
            }
            cqes.extend(self.ring.completion().map(|c| (c.user_data(), c.result())));
            for (ud, res) in cqes.drain(..) {
                if ud == WAKE_TAG {
                    self.woken(res);
                    if let Err(e) = self.arm_wake() {
                        return TransportExit::DeviceError(e);
                    }
                    continue;
                }
                let i = ud as usize;
                let was = self.held[i];
                self.in_kernel -= 1;
                if res == 0 {
                    self.held[i] = Held::User;
                    self.request(i);
                } else {
                    self.failed(i, res, was);
                }
            }
        }
    }

    /// Ends the queue: refuses further replies, drops the ring, and frees the buffers only if
    /// the kernel can no longer write them.
    fn finish(self, exit: TransportExit) -> TransportExit {
        let leftover = self.spec.handoff.close();
        if !leftover.is_empty() {
            tracing::debug!(
                count = leftover.len(),
                "replies left uncommitted at queue end"
            );
        }
        let Owner {
            ring,
            entries,
            paths,
            in_kernel,
            ..
        } = self;
        drop(ring);
        drop(paths);
        if in_kernel > 0 {
            tracing::error!(
                in_kernel,
                "io_uring queue ended with commands in the kernel; keeping their buffers"
            );
            std::mem::forget(entries);
        }
        exit
    }
}

/// POLLIN for IORING_OP_POLL_ADD.
fn libc_pollin() -> u32 {
    rustix::event::PollFlags::IN.bits() as u32
}
