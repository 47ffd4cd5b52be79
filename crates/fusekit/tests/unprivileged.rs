//! Mounting without privilege, through fusermount3, as user `nobody` (uid 65534).
//!
//! The test process (root) copies its own executable to a world-readable temp dir and re-runs
//! it as uid/gid 65534 with `FUSEKIT_UNPRIV_ROLE` set; the role functions below then run as
//! the unprivileged user and report through their exit status:
//! - `cycles`: 4 threads × 100 cycles of mount (fusermount3), use, unmount, while a fifth
//!   mount of the same process keeps a file open the whole time (so every fusermount3 child is
//!   spawned while another fusekit mount has open files). Descriptors and mountinfo must be
//!   identical before and after.
//! - `strict`: a strict mount must fail with a message naming the cause.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::time::Duration;

use common::{open_fds, require_kernel, with_deadline, TestMount};
use fusekit::mount::MountMethod;
use fusekit::{MountOptions, Session};
use fusekit_examples::hello::{Hello, CONTENT, NAME};

const NOBODY: u32 = 65534;
const ROLE: &str = "FUSEKIT_UNPRIV_ROLE";

fn fusermount_available(test: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("fusermount3").exists()))
        .unwrap_or(false);
    if found {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{test}: fusermount3 is missing (install the fuse3 package; CI=true: must not skip)"
        );
    }
    eprintln!("SKIPPED {test}: fusermount3 not installed (apt-get install fuse3)");
    false
}

/// Unprivileged FUSE needs /dev/fuse to be world read-write, its mode on every mainstream
/// distribution (udev). Some containers create it 0600; as root, restore the usual mode.
fn ensure_dev_fuse_world_rw() {
    let mode = std::fs::metadata("/dev/fuse").unwrap().permissions().mode();
    if mode & 0o666 != 0o666 {
        eprintln!(
            "note: /dev/fuse has mode {:o}; setting the standard 0666 for unprivileged mounts",
            mode & 0o7777
        );
        std::fs::set_permissions("/dev/fuse", std::fs::Permissions::from_mode(0o666)).unwrap();
    }
}

/// Runs this test binary's `role_entry` as uid/gid 65534 with `role`; returns its output.
fn run_as_nobody(role: &str, cycles: u32) -> std::process::Output {
    ensure_dev_fuse_world_rw();
    let dir = common::temp_dir("unpriv");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("test-exe");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    rustix::fs::chown(
        &work,
        Some(rustix::fs::Uid::from_raw(NOBODY)),
        Some(rustix::fs::Gid::from_raw(NOBODY)),
    )
    .unwrap();
    // A thread forking elsewhere in this process may briefly hold the copy's write
    // descriptor, making exec fail with ETXTBSY: retry for a moment.
    let mut tries = 0;
    loop {
        let result = std::process::Command::new(&exe)
            .args(["--exact", "role_entry", "--nocapture", "--test-threads=1"])
            .env(ROLE, role)
            .env("FUSEKIT_UNPRIV_CYCLES", cycles.to_string())
            .env("TMPDIR", &work)
            .env_remove("CI")
            .uid(NOBODY)
            .gid(NOBODY)
            .output();
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other.expect("run test binary as nobody"),
        }
    }
}

fn assert_child_ok(role: &str, out: &std::process::Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("role done"),
        "role {role} failed as nobody: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
}

#[test]
fn fusermount_cycles_as_unprivileged_user() {
    let test = "fusermount_cycles_as_unprivileged_user";
    if !require_kernel(test) || !fusermount_available(test) {
        return;
    }
    with_deadline(Duration::from_secs(400), || {
        let out = run_as_nobody("cycles", 100);
        assert_child_ok("cycles", &out);
    });
}

#[test]
fn strict_mount_without_privilege_names_the_cause() {
    let test = "strict_mount_without_privilege_names_the_cause";
    if !require_kernel(test) {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let out = run_as_nobody("strict", 0);
        assert_child_ok("strict", &out);
    });
}

/// Entry point of the unprivileged child; a no-op in a normal test run (no role set).
#[test]
fn role_entry() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    assert_ne!(
        rustix::process::geteuid().as_raw(),
        0,
        "role must run unprivileged"
    );
    match role.as_str() {
        "cycles" => role_cycles(
            std::env::var("FUSEKIT_UNPRIV_CYCLES")
                .unwrap()
                .parse()
                .unwrap(),
        ),
        "strict" => role_strict(),
        other => panic!("unknown role {other}"),
    }
    println!("role done");
}

fn role_cycles(cycles: u32) {
    let fds_before = open_fds();
    let mountinfo_before = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    {
        // A long-lived mount with a file held open while the other threads spawn fusermount3.
        let keeper = TestMount::with_workers(
            Hello::new(NOBODY, NOBODY),
            &MountOptions::new().fsname("keeper"),
            Some(2),
        );
        let held = std::fs::File::open(keeper.path().join(NAME)).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    for cycle in 0..cycles {
                        let options = MountOptions::new().fsname(format!("u-{t}-{cycle}"));
                        let mount =
                            TestMount::with_workers(Hello::new(NOBODY, NOBODY), &options, Some(2));
                        assert_eq!(
                            mount.session().unmounter().map(|u| u.method()),
                            Some(fusekit::mount::MountedBy::Fusermount)
                        );
                        let data = std::fs::read(mount.path().join(NAME))
                            .unwrap_or_else(|e| panic!("thread {t} cycle {cycle}: {e}"));
                        assert_eq!(data, CONTENT);
                        mount.finish();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("cycle thread panicked");
        }
        drop(held);
        keeper.finish();
    }
    assert_eq!(open_fds(), fds_before, "descriptors leaked");
    let mountinfo_after = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert_eq!(mountinfo_after, mountinfo_before, "mount table changed");
}

fn role_strict() {
    let dir = common::temp_dir("strict");
    let options = MountOptions::new().method(MountMethod::Strict);
    let err = Session::mount(Hello::new(NOBODY, NOBODY), dir.path(), &options)
        .expect_err("strict mount must fail without privilege");
    let message = err.to_string();
    println!("strict mount refused: {message}");
    assert!(
        message.contains("strict"),
        "message does not say strict: {message}"
    );
    assert!(
        message.contains("CAP_SYS_ADMIN"),
        "message does not name the missing privilege: {message}"
    );
    assert!(
        message.contains(&*dir.path().to_string_lossy()),
        "message does not name the mount point: {message}"
    );
}
