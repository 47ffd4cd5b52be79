//! Helpers for the tests that mount through the kernel: the shared ones from
//! `fusekit-testkit` (root gate, deadlines, mount guard, leak probes), plus a tmpfs guard, a
//! passthrough mount helper and an out-of-process daemon mount.

#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use fusekit::MountOptions;
pub use fusekit_testkit::{
    fuse_mounts_under, open_fds, require_kernel, temp_dir, with_deadline, TestMount,
};

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
