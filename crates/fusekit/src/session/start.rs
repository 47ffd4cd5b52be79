//! Starting a mounted session: choose the transport (and check before INIT that io_uring can
//! be had at all), answer INIT, raise the readahead window, then start the transport's threads,
//! falling back from io_uring to /dev/fuse when allowed. Every transport is registered here,
//! once: [`start_transport`] is the only place that names them.

use std::sync::Arc;
use std::thread::JoinHandle;

use fusekit_abi::InitFlags;
use fusekit_mount::Unmounter;

use super::background::{BackgroundSession, Counters, UringHandle};
use super::readahead::apply_readahead_window;
use super::{init, Session, SessionError, Transport};
use crate::conn::{Connection, Negotiated};
use crate::lowlevel::{Filesystem, DEFAULT_MAX_WRITE};
use crate::reply::Channel;
use crate::serve::Server;
use crate::transport::dev::{self, BusyPoll, DevCounters, DevFd};
use crate::transport::uring::{self, PayloadLimits, QueueSizing, RunningUring};
use crate::transport::{FrameHandler, TransportExit};

/// Bytes a read buffer needs beyond max_write: the header and the largest argument struct.
const BUFFER_HEADROOM: usize = 4096;

/// Unmounts (if this session mounted) and returns the error: a session that fails to start
/// leaves no mount behind.
fn fail<T>(unmounter: &Option<Unmounter>, e: SessionError) -> Result<T, SessionError> {
    if let Some(u) = unmounter {
        let _ = u.unmount();
    }
    Err(e)
}

/// The threads a started transport runs, and what the session keeps of it.
struct Started {
    threads: Vec<JoinHandle<TransportExit>>,
    transport: Transport,
    uring: Option<UringHandle>,
    /// /dev/fuse workers still to start (every transport keeps at least one: INIT, FORGET,
    /// INTERRUPT and notifications travel over /dev/fuse).
    dev_workers: usize,
}

pub(super) fn start<FS: Filesystem>(
    session: Session<FS>,
    inline_first: bool,
) -> Result<BackgroundSession, SessionError> {
    let Session {
        fs,
        master,
        conn,
        unmounter,
        mountpoint,
        workers,
        busy_poll,
        transport,
        uring: uring_opts,
    } = session;
    // Whether to ask for io_uring in INIT: only when a ring can be had at all, because once
    // INIT enables it, requests wait until every queue is registered.
    let mut fallback = None;
    let preflight = match transport {
        Transport::Dev => None,
        Transport::Auto | Transport::Uring => match uring::preflight(&uring_opts) {
            Ok(p) => Some(p),
            Err(reason) if transport == Transport::Uring => {
                return fail(&unmounter, SessionError::UringUnavailable(reason))
            }
            Err(reason) => {
                fallback = Some(reason);
                None
            }
        },
    };
    let init_flags = if preflight.is_some() {
        InitFlags::OVER_IO_URING
    } else {
        InitFlags::empty()
    };
    let master_chan = Arc::new(Channel::new(master.clone(), Arc::clone(&conn)));
    let mut buf = vec![0u8; DEFAULT_MAX_WRITE as usize + BUFFER_HEADROOM];
    let mut negotiated =
        match init::handshake(&*fs, &master, &master_chan, &conn, &mut buf, init_flags) {
            Ok(n) => n,
            Err(e) => return fail(&unmounter, e),
        };
    negotiated.readahead_window = apply_readahead_window(
        &negotiated,
        unmounter.as_ref().and_then(|u| u.connection_id()),
    );
    let buf_len = negotiated.max_write as usize + BUFFER_HEADROOM;

    let server = Arc::new(Server::new(Arc::clone(&fs), Arc::clone(&conn)));
    let started = match start_transport(
        &server,
        &master,
        &negotiated,
        transport,
        preflight,
        &uring_opts,
        workers,
    ) {
        Ok((started, reason)) => {
            if let Some(reason) = reason {
                fallback = Some(reason);
            }
            started
        }
        Err(e) => return fail(&unmounter, e),
    };
    if let Some(reason) = &fallback {
        // Not offered (module parameter off, old kernel) is the normal case of a default
        // mount: no noise. Offered but unusable is worth a warning.
        if uring::module_enabled() {
            tracing::warn!("{reason}; using /dev/fuse");
        } else {
            tracing::debug!("{reason}; using /dev/fuse");
        }
    }
    let Started {
        mut threads,
        transport: transport_in_use,
        uring: uring_stats,
        dev_workers,
    } = started;

    // Each worker's descriptor: the master for the first, clones for the others.
    let mut devs = Vec::with_capacity(dev_workers);
    for i in 0..dev_workers {
        if i == 0 {
            devs.push((master.clone(), master_chan.clone()));
            continue;
        }
        let dev = match master.clone_session() {
            Ok(d) => Arc::new(d),
            Err(e) => {
                // Old kernels (or a fake transport) cannot clone: share the master fd.
                tracing::debug!(error = %e, "FUSE_DEV_IOC_CLONE failed; workers share one fd");
                master.clone()
            }
        };
        let chan = server.reply_path(dev.clone());
        devs.push((dev, chan));
    }
    // Busy polling switches a descriptor's blocking mode, which belongs to the open file:
    // only when every worker has its own.
    let shared_fd = devs.iter().skip(1).any(|(d, _)| Arc::ptr_eq(d, &master));
    let busy_poll = (transport_in_use == Transport::Dev && !busy_poll.is_zero() && !shared_fd)
        .then(|| Arc::new(BusyPoll::new(busy_poll)));
    let dev_counters = Arc::new(DevCounters::default());
    let mut inline = None;
    for (i, (dev, chan)) in devs.into_iter().enumerate() {
        let job = DevWorker {
            server: Arc::clone(&server),
            conn: Arc::clone(&conn),
            dev,
            chan,
            buf_len,
            busy_poll: busy_poll.clone(),
            counters: Arc::clone(&dev_counters),
        };
        if i == 0 && inline_first {
            inline = Some(job);
            continue;
        }
        let handle = std::thread::Builder::new()
            .name(format!("fusekit-worker-{i}"))
            .spawn(move || job.run())
            .map_err(SessionError::Spawn);
        match handle {
            Ok(h) => threads.push(h),
            Err(e) => {
                // Queue threads already running stop once the unmount closes the connection.
                let r = fail(&unmounter, e);
                for t in threads {
                    let _ = t.join();
                }
                return r;
            }
        }
    }
    let background = BackgroundSession {
        threads,
        unmounter,
        mountpoint,
        counters: Counters {
            conn,
            dev: dev_counters,
            uring: uring_stats,
        },
        negotiated,
        transport: transport_in_use,
        destroy: Some(Box::new(move || fs.destroy())),
    };
    if let Some(job) = inline {
        job.run();
    }
    Ok(background)
}

/// Starts the transport INIT settled on. Returns what was started, and the reason io_uring was
/// not used when it fell back to /dev/fuse. The registration point of every transport.
fn start_transport<H: FrameHandler>(
    handler: &Arc<H>,
    master: &Arc<DevFd>,
    negotiated: &Negotiated,
    transport: Transport,
    preflight: Option<uring::Preflight>,
    uring_opts: &uring::UringOptions,
    workers: usize,
) -> Result<(Started, Option<String>), SessionError> {
    let dev_only = Started {
        threads: Vec::new(),
        transport: Transport::Dev,
        uring: None,
        dev_workers: workers,
    };
    let Some(pre) = preflight else {
        return Ok((dev_only, None));
    };
    let offered = negotiated.flags.contains(InitFlags::OVER_IO_URING);
    let started = if offered {
        let sizing = QueueSizing {
            payload: PayloadLimits {
                max_write: negotiated.max_write,
                max_pages: negotiated.max_pages,
            },
            requests_in_flight: negotiated.requests_in_flight,
        };
        uring::start(handler, master, sizing, pre, uring_opts)
    } else {
        Err(uring::not_offered_reason())
    };
    match started {
        Ok(RunningUring {
            threads,
            counters,
            queues,
            depth,
        }) => Ok((
            Started {
                threads,
                transport: Transport::Uring,
                uring: Some(UringHandle {
                    counters,
                    queues,
                    depth,
                }),
                // One /dev/fuse worker for FORGET, INTERRUPT and notifications.
                dev_workers: 1,
            },
            None,
        )),
        Err(reason) if transport == Transport::Uring => Err(SessionError::UringUnavailable(reason)),
        Err(reason) => {
            if offered {
                if let Err(e) = uring::disable_on_connection(master) {
                    return Err(SessionError::UringUnavailable(format!(
                        "{reason}; and io_uring could not be switched off for the connection: {e}"
                    )));
                }
            }
            Ok((dev_only, Some(reason)))
        }
    }
}

/// One /dev/fuse worker thread's job.
struct DevWorker<FS> {
    server: Arc<Server<FS>>,
    conn: Arc<Connection>,
    dev: Arc<DevFd>,
    chan: Arc<Channel>,
    buf_len: usize,
    busy_poll: Option<Arc<BusyPoll>>,
    counters: Arc<DevCounters>,
}

impl<FS: Filesystem> DevWorker<FS> {
    fn run(self) -> TransportExit {
        let mut buf = vec![0u8; self.buf_len];
        let exit = dev::run_worker(
            &*self.server,
            &self.dev,
            &self.chan,
            &mut buf,
            self.busy_poll.as_deref(),
            &self.counters,
        );
        // Wake handlers blocked waiting for interrupts: nothing will answer them now.
        self.conn.interrupts.close();
        exit
    }
}
