//! Helpers for the tests that mount through the kernel: the shared ones from
//! `fusekit-testkit` (root gate, deadlines, mount guard, leak probes), plus a tmpfs guard, a
//! passthrough mount helper and an out-of-process daemon mount. Every mount runs over the test
//! transport (`FUSEKIT_TEST_TRANSPORT`, see `fusekit_testkit::transport`), the daemon's too.

#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use fusekit::MountOptions;
pub use fusekit_testkit::{
    fuse_mounts_under, open_fds, require_kernel, temp_dir, with_deadline, TestMount,
};
use fusekit_testkit::{over_uring, ring_activity, transport_arg, UringParam};

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
///
/// The daemon serves over the test transport (`--transport dev|uring`); [`finish`](Self::finish)
/// proves it: the daemon must report that transport, and over io_uring the kernel's fdinfo of
/// its rings and the daemon's own ring counters must show requests served there.
pub struct DaemonMount {
    child: Option<std::process::Child>,
    _uring_param: Option<UringParam>,
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
        let uring_param = over_uring().then(|| UringParam::hold("passthrough daemon"));
        let child = std::process::Command::new(&example)
            .arg(src)
            .arg(dir.path())
            .args(args)
            .args(["--transport", transport_arg()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the passthrough example");
        let mount = DaemonMount {
            child: Some(child),
            _uring_param: uring_param,
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

    /// Proves the daemon served over the test transport, unmounts (by closing the daemon's
    /// stdin) and returns the daemon's final stderr (it ends with the filesystem's counters).
    /// Over io_uring: the daemon's rings show completions in the kernel's fdinfo while still
    /// mounted, and its own ring counters show requests served there without errors.
    pub fn finish(mut self) -> String {
        let pid = self.child.as_ref().expect("daemon").id();
        let rings = ring_activity(pid).expect("read the daemon's fdinfo");
        if over_uring() {
            assert!(
                rings.rings > 0 && rings.completions > 0,
                "FUSEKIT_TEST_TRANSPORT=uring but the daemon's rings completed nothing: {rings:?}"
            );
        } else {
            assert_eq!(rings.rings, 0, "a /dev/fuse daemon holds io_uring rings");
        }
        let log = self.stop().expect("daemon stopped");
        let expected = format!("transport {}", fusekit_testkit::test_transport());
        assert!(
            log.contains(&format!("; {expected};")),
            "the daemon does not report {expected}:\n{log}"
        );
        if over_uring() {
            let line = log
                .lines()
                .rfind(|l| l.starts_with("UringStats"))
                .unwrap_or_else(|| panic!("no ring counters from the daemon:\n{log}"));
            let requests = stat_field(line, "requests").expect("requests");
            let errors = stat_field(line, "submit_errors").expect("submit_errors")
                + stat_field(line, "commit_errors").expect("commit_errors");
            println!("daemon: {line} (fdinfo: {rings:?})");
            assert!(requests > 0 && errors == 0, "daemon's rings: {line}");
        }
        log
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

/// The value of `name: N` in a `PassthroughStats { ... }` (or `UringStats`) debug line.
pub fn stat_field(stats_line: &str, name: &str) -> Option<u64> {
    let at = stats_line.rfind(&format!("{name}: "))? + name.len() + 2;
    stats_line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}
