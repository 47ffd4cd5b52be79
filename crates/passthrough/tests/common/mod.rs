//! Helpers shared by the tests that mount through the kernel (copied from fusekit's tests,
//! plus a tmpfs guard and a passthrough mount helper): the root + /dev/fuse gate
//! (skip with a reason locally, fail loudly on CI), deadlines that turn a hang into a failure
//! (aborting the test's connections so stuck threads return), and a mount guard that always
//! unmounts and removes its directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use fusekit::mount::Unmounter;
use fusekit::{BackgroundSession, Filesystem, MountOptions, Session, StatsSnapshot};

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
pub struct TestMount {
    session: Option<BackgroundSession>,
    unmounter: Option<Unmounter>,
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl TestMount {
    pub fn new<FS: Filesystem>(fs: FS, options: &MountOptions) -> Self {
        Self::with_workers(fs, options, None)
    }

    pub fn with_workers<FS: Filesystem>(
        fs: FS,
        options: &MountOptions,
        workers: Option<usize>,
    ) -> Self {
        let dir = temp_dir("mnt");
        let path = dir.path().to_path_buf();
        let mut session = Session::mount(fs, &path, options).expect("mount");
        if let Some(n) = workers {
            session = session.workers(n);
        }
        let session = session.spawn().expect("session start");
        let unmounter = session.unmounter();
        if let Some(u) = &unmounter {
            live_unmounters().lock().unwrap().push(u.clone());
        }
        TestMount {
            session: Some(session),
            unmounter,
            dir,
            path,
        }
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

/// A tmpfs mounted on a fresh temp dir; unmounted (lazily, so it cannot hang) on drop.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount() -> Tmpfs {
        let dir = temp_dir("src");
        rustix::mount::mount(
            "fusekit-passthrough-test",
            dir.path(),
            "tmpfs",
            rustix::mount::MountFlags::empty(),
            c"mode=0755",
        )
        .expect("mount tmpfs");
        Tmpfs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(self.dir.path(), rustix::mount::UnmountFlags::DETACH);
    }
}

/// Mount options the CLI uses for passthrough (default_permissions on), plus allow_other so
/// that other users (the suite's `nobody` cases, the ownership test) can use the mount.
pub fn passthrough_mount_options() -> MountOptions {
    MountOptions::new()
        .default_permissions(true)
        .allow_other(true)
        .subtype("passthrough")
        .fsname("passthrough-test")
}

/// Mounts a passthrough of `src` with `opts`; returns the mount and a counters handle.
pub fn mount_passthrough(
    src: &Path,
    opts: fusekit_passthrough::PassthroughOptions,
) -> (TestMount, fusekit_passthrough::StatsHandle) {
    let fs = fusekit_passthrough::Passthrough::new(src, opts).expect("passthrough");
    let stats = fs.stats_handle();
    (TestMount::new(fs, &passthrough_mount_options()), stats)
}

/// A passthrough served by a separate process (the crate's `passthrough` example, which
/// `cargo test` builds), as the CLI runs it. Tests that fork and mmap heavily (the check
/// suite) use it: a daemon living in the forking, mmapping test process can stall on that
/// process's own memory-map lock. Dropping it closes the daemon's stdin, which unmounts.
pub struct DaemonMount {
    child: Option<std::process::Child>,
    dir: tempfile::TempDir,
}

impl DaemonMount {
    pub fn start(src: &Path, args: &[&str]) -> DaemonMount {
        let exe = std::env::current_exe().expect("test binary path");
        let example = exe
            .parent()
            .and_then(Path::parent)
            .expect("target dir")
            .join("examples/passthrough");
        assert!(example.exists(), "{} not built", example.display());
        let dir = temp_dir("dmnt");
        let child = std::process::Command::new(&example)
            .arg(src)
            .arg(dir.path())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the passthrough example");
        let mount = DaemonMount {
            child: Some(child),
            dir,
        };
        let start = std::time::Instant::now();
        while fuse_mounts_under(mount.path()).is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "daemon did not mount"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        mount
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Unmounts (by closing the daemon's stdin) and returns the daemon's final stderr
    /// (it ends with the filesystem's counters).
    pub fn finish(mut self) -> String {
        self.stop().expect("daemon stopped")
    }

    fn stop(&mut self) -> Option<String> {
        let mut child = self.child.take()?;
        drop(child.stdin.take());
        let start = std::time::Instant::now();
        loop {
            if child.try_wait().expect("wait daemon").is_some() {
                break;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                let _ =
                    rustix::mount::unmount(self.dir.path(), rustix::mount::UnmountFlags::DETACH);
                let _ = child.wait();
                panic!("daemon did not exit within 20 s of unmount (killed)");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        Some(err)
    }
}

impl Drop for DaemonMount {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = rustix::mount::unmount(self.dir.path(), rustix::mount::UnmountFlags::DETACH);
            let _ = child.wait();
        }
    }
}

/// The value of `name: N` in a `PassthroughStats { ... }` debug line.
pub fn stat_field(stats_line: &str, name: &str) -> Option<u64> {
    let at = stats_line.rfind(&format!("{name}: "))? + name.len() + 2;
    stats_line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}
