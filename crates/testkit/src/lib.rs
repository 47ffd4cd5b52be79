//! fusekit-testkit: helpers for tests that mount through the kernel, shared by every crate of
//! the workspace — the root + /dev/fuse gate (skip with a reason locally, fail loudly when
//! CI=true), deadlines that turn a hang into a failure (aborting the test binary's connections
//! so stuck threads return), a mount guard that always unmounts and removes its directory, and
//! probes for leaked descriptors and mounts. [`transport`] chooses the transport every test
//! mount runs over (`FUSEKIT_TEST_TRANSPORT=dev|uring`) and proves io_uring was really used;
//! [`ring_proof`] does the same for daemons in other processes. [`access`] probes who may enter
//! a mount and with which options the kernel holds it.

pub mod access;
pub mod ring_proof;
pub mod transport;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use fusekit::mount::Unmounter;
use fusekit::{BackgroundSession, Filesystem, MountOptions, Session, StatsSnapshot, Transport};

pub use ring_proof::{ring_activity, RingActivity};
pub use transport::{
    over_uring, require_uring, test_transport, transport_arg, UringParam, TRANSPORT_ENV,
};

/// True when this test can mount: root and /dev/fuse. Without them the test is skipped with a
/// printed reason, except under CI=true where it fails.
pub fn require_kernel(test: &str) -> bool {
    let root = rustix::process::geteuid().is_root();
    let dev = Path::new("/dev/fuse").exists();
    if root && dev {
        return true;
    }
    let why = match (root, dev) {
        (false, _) => "not running as root",
        (true, false) => "/dev/fuse is missing",
        _ => unreachable!(),
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{test}: needs to mount FUSE filesystems but {why} (CI=true: this must not be skipped)"
        );
    }
    eprintln!("SKIPPED {test}: {why}; this test mounts through the kernel");
    false
}

fn live_unmounters() -> &'static Mutex<Vec<Unmounter>> {
    static LIVE: OnceLock<Mutex<Vec<Unmounter>>> = OnceLock::new();
    LIVE.get_or_init(|| Mutex::new(Vec::new()))
}

/// Runs `f` with a time limit. On timeout every connection this test binary mounted is
/// aborted (so threads stuck on the mount return) and the test fails.
pub fn with_deadline<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let value = f();
        let _ = tx.send(());
        value
    });
    match rx.recv_timeout(limit) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(RecvTimeoutError::Timeout) => {
            for u in live_unmounters().lock().unwrap().iter() {
                let _ = u.abort();
                let _ = u.unmount();
            }
            panic!("test exceeded its deadline of {limit:?} (connections aborted)");
        }
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("fusekit-{tag}-"))
        .tempdir()
        .expect("create temp dir")
}

/// A filesystem mounted on a temp dir and served in the background. Dropping it unmounts,
/// waits for the workers (aborting the connection if they do not stop in time) and removes
/// the directory.
///
/// Unless a test pins its transport ([`with_transport`](Self::with_transport),
/// [`try_mount_pinned`]), the mount runs over [`test_transport`]; over io_uring it must end up
/// on the rings (checked at start) and must have served requests there (checked when it is
/// finished or dropped): a fall back to /dev/fuse fails the test.
pub struct TestMount {
    session: Option<BackgroundSession>,
    unmounter: Option<Unmounter>,
    /// Set when the mount runs over io_uring because the environment asked for it: the ring
    /// counters are checked at the end.
    prove_ring: bool,
    // Dropped after the session ended (field order): the kernel reads the parameter when a
    // ring entry registers, so it stays `Y` until then.
    _uring_param: Option<UringParam>,
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl TestMount {
    /// Mounts `fs` over the test transport with the default number of workers.
    pub fn new<FS: Filesystem>(fs: FS, options: &MountOptions) -> Self {
        Self::with_workers(fs, options, None)
    }

    /// Mounts `fs` over the test transport with `workers` /dev/fuse workers (over io_uring
    /// one of them serves FORGET and INTERRUPT).
    pub fn with_workers<FS: Filesystem>(
        fs: FS,
        options: &MountOptions,
        workers: Option<usize>,
    ) -> Self {
        try_mount(fs, options, |s| match workers {
            Some(n) => s.workers(n),
            None => s,
        })
        .expect("mount and start the session")
    }

    /// Mounts `fs` over `transport`, whatever [`test_transport`] says: for tests of /dev/fuse-only
    /// features or of the transport choice itself (say which in a comment at the call).
    pub fn with_transport<FS: Filesystem>(
        fs: FS,
        options: &MountOptions,
        workers: Option<usize>,
        transport: Transport,
    ) -> Self {
        try_mount_pinned(fs, options, transport, |s| match workers {
            Some(n) => s.workers(n),
            None => s,
        })
        .expect("mount and start the session")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn session(&self) -> &BackgroundSession {
        self.session.as_ref().expect("session")
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.session().stats()
    }

    /// Unmounts, waits for the workers, and returns the final counters.
    pub fn finish(mut self) -> StatsSnapshot {
        self.shutdown()
            .expect("session ended with an error")
            .snapshot()
    }

    /// Unmounts, waits for the workers, and returns a handle to read counters later.
    pub fn finish_with_handle(mut self) -> fusekit::StatsHandle {
        self.shutdown().expect("session ended with an error")
    }

    fn shutdown(&mut self) -> Option<fusekit::StatsHandle> {
        let session = self.session.take()?;
        session.unmount().expect("unmount");
        let stats = session.stats_handle();
        let (tx, rx) = mpsc::channel();
        let joiner = std::thread::spawn(move || {
            let r = session.join();
            let _ = tx.send(());
            r
        });
        if rx.recv_timeout(Duration::from_secs(20)).is_err() {
            if let Some(u) = &self.unmounter {
                let _ = u.abort();
            }
            let _ = rx.recv_timeout(Duration::from_secs(10));
            panic!("workers did not stop within 20 s of unmount (connection aborted)");
        }
        joiner
            .join()
            .expect("join thread")
            .expect("session ended with an error");
        if let Some(u) = &self.unmounter {
            live_unmounters()
                .lock()
                .unwrap()
                .retain(|x| x.mountpoint() != u.mountpoint());
        }
        if self.prove_ring {
            transport::assert_served_over_ring(
                &format!("the mount on {}", self.path.display()),
                stats.snapshot().requests,
                stats.uring(),
            );
        }
        let _ = &self.dir;
        Some(stats)
    }
}

impl Drop for TestMount {
    fn drop(&mut self) {
        if self.session.is_none() {
            return;
        }
        if std::thread::panicking() {
            // Best effort: never hang or double-panic while unwinding.
            if let Some(u) = &self.unmounter {
                let _ = u.unmount();
                let _ = u.abort();
            }
            if let Some(session) = self.session.take() {
                let (tx, rx) = mpsc::channel();
                std::thread::spawn(move || {
                    let _ = session.join();
                    let _ = tx.send(());
                });
                let _ = rx.recv_timeout(Duration::from_secs(10));
            }
            return;
        }
        self.shutdown();
    }
}

/// Mounts `fs` on a fresh temp dir over [`test_transport`], lets `configure` adjust the
/// session, and starts it. A failure to mount or start is returned, so tests can check it.
/// Over io_uring the started session must be on the rings (it panics otherwise, unmounting):
/// `configure` must not choose another transport — pinned tests use [`try_mount_pinned`].
pub fn try_mount<FS: Filesystem>(
    fs: FS,
    options: &MountOptions,
    configure: impl FnOnce(Session<FS>) -> Session<FS>,
) -> Result<TestMount, fusekit::SessionError> {
    let transport = test_transport();
    let mut mount = start(fs, options, transport, configure)?;
    if transport == Transport::Uring {
        let what = format!("the mount on {}", mount.path.display());
        transport::assert_on_test_transport(&what, mount.session());
        mount.prove_ring = true;
    }
    Ok(mount)
}

/// Like [`try_mount`], but over `transport` whatever [`test_transport`] says (`configure` may
/// still change it): for tests of /dev/fuse-only features or of the transport choice itself.
/// `enable_uring` is held at `Y` while the mount lives when `transport` is io_uring.
pub fn try_mount_pinned<FS: Filesystem>(
    fs: FS,
    options: &MountOptions,
    transport: Transport,
    configure: impl FnOnce(Session<FS>) -> Session<FS>,
) -> Result<TestMount, fusekit::SessionError> {
    start(fs, options, transport, configure)
}

fn start<FS: Filesystem>(
    fs: FS,
    options: &MountOptions,
    transport: Transport,
    configure: impl FnOnce(Session<FS>) -> Session<FS>,
) -> Result<TestMount, fusekit::SessionError> {
    let uring_param = (transport == Transport::Uring).then(|| UringParam::hold("TestMount"));
    let dir = temp_dir("mnt");
    let path = dir.path().to_path_buf();
    let session = Session::mount(fs, &path, options)?.transport(transport);
    let session = configure(session).spawn()?;
    let unmounter = session.unmounter();
    if let Some(u) = &unmounter {
        live_unmounters().lock().unwrap().push(u.clone());
    }
    Ok(TestMount {
        session: Some(session),
        unmounter,
        prove_ring: false,
        _uring_param: uring_param,
        dir,
        path,
    })
}

/// Open file descriptors of this process.
pub fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let target = std::fs::read_link(e.path()).ok()?;
            Some(format!(
                "{} -> {}",
                e.file_name().to_string_lossy(),
                target.display()
            ))
        })
        .collect();
    fds.sort();
    fds
}

/// FUSE mounts currently in /proc/self/mountinfo whose mount point is under `prefix`.
pub fn fuse_mounts_under(prefix: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    info.lines()
        .filter(|l| l.contains(" - fuse"))
        .filter(|l| {
            l.split(' ')
                .nth(4)
                .is_some_and(|mp| mp.starts_with(&*prefix.to_string_lossy()))
        })
        .map(str::to_owned)
        .collect()
}

/// Counts ERROR and WARN events from fusekit, for tests that assert "no error log line".
#[derive(Clone, Default)]
pub struct LogCounter {
    pub errors: Arc<AtomicUsize>,
    pub warnings: Arc<AtomicUsize>,
    pub messages: Arc<Mutex<Vec<String>>>,
}

impl LogCounter {
    /// Installs the counter as this test binary's global subscriber (once).
    pub fn install() -> LogCounter {
        static COUNTER: OnceLock<LogCounter> = OnceLock::new();
        COUNTER
            .get_or_init(|| {
                use tracing_subscriber::layer::SubscriberExt;
                let counter = LogCounter::default();
                let subscriber = tracing_subscriber::registry().with(counter.clone());
                tracing::subscriber::set_global_default(subscriber).expect("install subscriber");
                counter
            })
            .clone()
    }

    pub fn errors(&self) -> usize {
        self.errors.load(Ordering::Relaxed)
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LogCounter {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let level = *event.metadata().level();
        if level > tracing::Level::WARN {
            return;
        }
        if level == tracing::Level::ERROR {
            self.errors.fetch_add(1, Ordering::Relaxed);
        } else {
            self.warnings.fetch_add(1, Ordering::Relaxed);
        }
        let mut text = format!("{level} {}", event.metadata().target());
        struct Visit<'a>(&'a mut String);
        impl tracing::field::Visit for Visit<'_> {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={:?}", field.name(), value));
            }
        }
        event.record(&mut Visit(&mut text));
        self.messages.lock().unwrap().push(text);
    }
}
