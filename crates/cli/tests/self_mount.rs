//! A passthrough mount must never wait on itself: a mount point inside its own source is
//! refused up front, and when the source reaches the mount later (a bind mount of the mount
//! placed inside the source), a lookup of it answers EDEADLK at once instead of deadlocking
//! every worker. `fusekit unmount` succeeds only when the mount is really gone: a busy mount
//! is refused (exit 1, mount left as it was), `--abort` unsticks it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fusekit");

mod daemon_transport;

fn is_mounted(path: &Path) -> bool {
    fusekit_testkit::access::mountinfo_line(path).is_some()
}

/// Runs `cmd` to completion, or gives up after `limit` and hands back the stuck child (the
/// caller's clean-up aborts the connection, which lets it finish).
fn run_within(cmd: &mut Command, limit: Duration) -> Result<Output, Child> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return Ok(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(child)
}

/// Runs a command that must finish within 30 s.
fn output(cmd: &mut Command) -> Output {
    match run_within(cmd, Duration::from_secs(30)) {
        Ok(out) => out,
        Err(mut child) => {
            let _ = child.kill();
            panic!("{cmd:?} did not finish within 30 s")
        }
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A `fusekit mount passthrough` daemon plus the bind mounts a test adds; on drop (also on a
/// panic) the binds are detached, the connection aborted and the mount removed, the daemon
/// and any stuck probe reaped.
struct Daemon {
    child: Option<Child>,
    mnt: PathBuf,
    binds: Vec<PathBuf>,
    probes: Vec<Child>,
    _uring_param: Option<daemon_transport::UringParam>,
}

impl Daemon {
    fn start(src: &Path, mnt: &Path) -> Daemon {
        let uring_param = daemon_transport::param_for_test_transport("self_mount");
        let child = Command::new(BIN)
            .args(["mount", "passthrough"])
            .arg(src)
            .arg(mnt)
            .args(["--workers", "2", "--timeout", "0"])
            .args(daemon_transport::args())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let d = Daemon {
            child: Some(child),
            mnt: mnt.to_path_buf(),
            binds: Vec::new(),
            probes: Vec::new(),
            _uring_param: uring_param,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !is_mounted(mnt) {
            assert!(Instant::now() < deadline, "daemon did not mount");
            std::thread::sleep(Duration::from_millis(10));
        }
        d
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "daemon did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        for b in self.binds.drain(..).rev() {
            let _ = rustix::mount::unmount(&b, rustix::mount::UnmountFlags::DETACH);
        }
        if let Some(mut c) = self.child.take() {
            let _ = Command::new(BIN)
                .args(["unmount", "--abort"])
                .arg(&self.mnt)
                .output();
            let _ = c.kill();
            let _ = c.wait();
        }
        for mut p in self.probes.drain(..) {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

#[test]
fn a_mount_point_inside_its_source_is_refused() {
    let dir = fusekit_testkit::temp_dir("self-mount");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let out = output(
        Command::new(BIN)
            .args(["mount", "passthrough"])
            .arg(dir.path())
            .arg(&mnt),
    );
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("inside the source") && e.contains(&*mnt.to_string_lossy()),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "one line, no backtrace: {e}");
    assert!(!is_mounted(&mnt));
}

#[test]
fn a_bind_mount_of_the_mount_inside_its_source_answers_edeadlk() {
    if !fusekit_testkit::require_kernel("a_bind_mount_of_the_mount_inside_its_source") {
        return;
    }
    let src = fusekit_testkit::temp_dir("self-mount-src");
    let mnt_dir = fusekit_testkit::temp_dir("self-mount-mnt");
    let mnt = mnt_dir.path().to_path_buf();
    std::fs::write(src.path().join("f"), b"data\n").unwrap();
    let sub = src.path().join("sub");
    std::fs::create_dir(&sub).unwrap();

    let mut daemon = Daemon::start(src.path(), &mnt);
    // The source now reaches the mount: SRC/sub shows the mount itself.
    rustix::mount::mount_bind(&mnt, &sub).expect("bind mount");
    daemon.binds.push(sub.clone());

    // What deadlocked before: `ls -la` of the looping directory, twice as many times as there
    // are workers. Each must finish promptly with EDEADLK for the looping name.
    for round in 0..4 {
        let out = match run_within(
            Command::new("ls").arg("-la").arg(mnt.join("sub")),
            Duration::from_secs(10),
        ) {
            Ok(out) => out,
            Err(child) => {
                daemon.probes.push(child);
                panic!("round {round}: ls hung on the self-mount");
            }
        };
        assert!(!out.status.success(), "round {round}: ls succeeded");
        let e = stderr(&out);
        assert!(
            e.contains("Resource deadlock avoided"),
            "round {round}: {e}"
        );
    }
    // The rest of the mount works; the looping entry is still listed by name.
    assert_eq!(std::fs::read(mnt.join("f")).unwrap(), b"data\n");
    let names: Vec<String> = std::fs::read_dir(&mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"sub".to_string()), "{names:?}");
    let out = output(Command::new("ls").arg("-la").arg(&mnt));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(" f\n"),
        "{out:?}"
    );

    // Busy: a directory open in the mount keeps `fusekit unmount` from claiming success.
    let _ = rustix::mount::unmount(&sub, rustix::mount::UnmountFlags::DETACH);
    daemon.binds.clear();
    let held = std::fs::File::open(&mnt).unwrap();
    let out = output(Command::new(BIN).arg("unmount").arg(&mnt));
    assert!(!out.status.success(), "busy unmount reported success");
    let e = stderr(&out);
    assert!(e.contains("busy") && e.contains("--lazy"), "{e}");
    assert_eq!(
        e.matches(&*mnt.to_string_lossy()).count(),
        1,
        "the path once: {e}"
    );
    assert!(is_mounted(&mnt), "a refused unmount must leave the mount");
    drop(held);
    let out = output(Command::new(BIN).arg("unmount").arg(&mnt));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(daemon.wait().success());
    assert!(!is_mounted(&mnt));
}

#[test]
fn unmount_abort_unsticks_a_busy_mount() {
    if !fusekit_testkit::require_kernel("unmount_abort_unsticks_a_busy_mount") {
        return;
    }
    let src = fusekit_testkit::temp_dir("self-mount-src");
    let mnt_dir = fusekit_testkit::temp_dir("self-mount-mnt");
    let mnt = mnt_dir.path().to_path_buf();
    let mut daemon = Daemon::start(src.path(), &mnt);
    let held = std::fs::File::open(&mnt).unwrap();
    let out = output(Command::new(BIN).args(["unmount", "--abort"]).arg(&mnt));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!is_mounted(&mnt));
    drop(held);
    // The aborted daemon stops (its exit status reports the abort).
    daemon.wait();
}
