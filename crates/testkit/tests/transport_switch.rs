//! The test-transport switch bites. Under `FUSEKIT_TEST_TRANSPORT=uring` a mount that did I/O
//! passes and the kernel's fdinfo shows completions on its rings; a mount that ends up on
//! /dev/fuse fails its test; a mount that served no request at all passes with a note (the
//! verdict on served-but-not-over-the-ring counters is unit-tested in `transport.rs`: no
//! working session produces them). Under `dev` the mount holds no ring at all. Each case runs
//! in a child copy of this test binary (the `child_*` tests, which do nothing unless started
//! that way) so that the child's failure can be observed.

use std::process::Command;
use std::time::Duration;

use fusekit::{FileAttr, FileType, Filesystem, Ino, MountOptions, ReplyAttr, Request, Transport};
use fusekit_testkit::{
    require_kernel, require_uring, ring_activity, try_mount, with_deadline, TestMount, UringParam,
    TRANSPORT_ENV,
};

const CHILD: &str = "FUSEKIT_TESTKIT_CHILD";

fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs the `child_*` test `name` in a copy of this binary with the test transport `transport`;
/// returns whether it passed and its output.
fn run_child(name: &str, transport: &str) -> (bool, String) {
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            name,
        ])
        .env(TRANSPORT_ENV, transport)
        .env(CHILD, "1")
        .output()
        .expect("run the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("running 1 test"),
        "{name} did not run in the child:\n{text}"
    );
    (out.status.success(), text)
}

/// A filesystem of one empty directory: enough for a GETATTR to travel.
struct EmptyDir;

impl Filesystem for EmptyDir {
    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        let attr = FileAttr {
            ino,
            mode: FileType::Directory.mode_bits() | 0o755,
            nlink: 2,
            ..FileAttr::default()
        };
        reply.attr(&attr, Duration::ZERO);
    }
}

fn empty_mount() -> TestMount {
    TestMount::new(EmptyDir, &MountOptions::new())
}

fn parent(test: &str, child: &'static str, transport: &'static str) -> Option<(bool, String)> {
    if !require_kernel(test) || !require_uring(test) {
        return None;
    }
    // Held here too, so the children (which may run at the same time) all find `Y` and
    // none restores `N` under another's mount.
    let _param = UringParam::hold(test);
    Some(with_deadline(Duration::from_secs(60), move || {
        run_child(child, transport)
    }))
}

#[test]
fn uring_mount_with_io_passes_and_fdinfo_shows_ring_completions() {
    let test = "uring_mount_with_io_passes_and_fdinfo_shows_ring_completions";
    if let Some((ok, text)) = parent(test, "child_stats_the_root", "uring") {
        assert!(ok, "the mount over io_uring failed:\n{text}");
        assert!(text.contains("transport io_uring"), "{text}");
    }
}

#[test]
fn dev_mount_holds_no_ring() {
    let test = "dev_mount_holds_no_ring";
    if let Some((ok, text)) = parent(test, "child_stats_the_root", "dev") {
        assert!(ok, "the mount over /dev/fuse failed:\n{text}");
        assert!(text.contains("transport /dev/fuse"), "{text}");
    }
}

#[test]
fn uring_mount_that_lands_on_dev_fuse_fails() {
    let test = "uring_mount_that_lands_on_dev_fuse_fails";
    if let Some((ok, text)) = parent(test, "child_forces_dev_fuse", "uring") {
        assert!(!ok, "a mount on /dev/fuse passed under uring:\n{text}");
        assert!(
            text.contains("FUSEKIT_TEST_TRANSPORT=uring but the mount on")
                && text.contains("runs over /dev/fuse"),
            "{text}"
        );
    }
}

#[test]
fn uring_mount_that_served_nothing_passes_with_a_note() {
    let test = "uring_mount_that_served_nothing_passes_with_a_note";
    if let Some((ok, text)) = parent(test, "child_does_nothing", "uring") {
        assert!(ok, "an idle mount over io_uring failed:\n{text}");
        assert!(text.contains("served no request"), "{text}");
    }
}

#[test]
#[ignore = "runs only as a child of the tests above"]
fn child_stats_the_root() {
    if !is_child() {
        return;
    }
    let mnt = empty_mount();
    let in_use = mnt.session().transport_in_use();
    println!("transport {in_use}");
    assert!(std::fs::metadata(mnt.path()).unwrap().is_dir());
    let rings = ring_activity(std::process::id()).expect("fdinfo");
    println!("{rings:?}");
    if in_use == Transport::Uring {
        assert!(rings.rings >= 1 && rings.completions > 0, "{rings:?}");
    } else {
        assert_eq!(rings.rings, 0, "{rings:?}");
    }
    mnt.finish();
}

#[test]
#[ignore = "runs only as a child of the tests above"]
fn child_forces_dev_fuse() {
    if !is_child() {
        return;
    }
    let mnt = try_mount(EmptyDir, &MountOptions::new(), |s| {
        s.transport(Transport::Dev)
    });
    drop(mnt);
}

#[test]
#[ignore = "runs only as a child of the tests above"]
fn child_does_nothing() {
    if !is_child() {
        return;
    }
    empty_mount().finish();
}
