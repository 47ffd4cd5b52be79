//! Mounting helpers for the tests that go through the kernel: the shared ones from
//! `fusekit-testkit` (root gate, deadlines, mount guard, leak probes), plus [`mount_memfs`],
//! which serves a fresh memfs the way the CLI does, and small process helpers.

#![allow(unused_imports)]

use std::sync::Arc;

use fusekit::MountOptions;
pub use fusekit_testkit::{
    fuse_mounts_under, open_fds, require_kernel, temp_dir, with_deadline, TestMount,
};

/// A fresh memfs (root directory 0o755 owned by root, as `fusekit mount memfs` run by root)
/// mounted with `default_permissions` and `allow_other`, so other users' checks run.
pub fn mount_memfs(limits: fusekit_memfs::Limits) -> (Arc<fusekit_memfs::MemFs>, TestMount) {
    let engine = Arc::new(fusekit_memfs::MemFs::new(limits, (0, 0), 0o755));
    let adapter = fusekit_memfs::MemFsAdapter::new(
        Arc::clone(&engine),
        fusekit_memfs::AdapterOptions::default(),
    );
    let options = MountOptions::new()
        .default_permissions(true)
        .allow_other(true);
    (engine, TestMount::new(adapter, &options))
}

/// Runs `python3 -c script args…`; `None` (with a printed reason) when python3 is not
/// installed, so the caller skips. A python3 that exists but fails is the caller's failure.
pub fn python3(
    test: &str,
    script: &str,
    args: &[&std::ffi::OsStr],
) -> Option<std::process::Output> {
    match std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
    {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIPPED {test}: python3 is not installed");
            None
        }
        Err(e) => panic!("{test}: cannot run python3: {e}"),
    }
}

/// Whether `out` succeeded; panics with its stdout/stderr otherwise.
pub fn assert_success(what: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
