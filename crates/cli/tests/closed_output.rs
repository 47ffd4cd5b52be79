//! No `fusekit` command panics when its reader goes away (`fusekit check --list | head`): a
//! closed stdout or stderr ends that output quietly and the command keeps its exit status.
//! The daemon too: `fusekit mount` whose stderr is a closed pipe still serves and unmounts.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fusekit");

mod daemon_transport;

/// The write end of a pipe whose read end is already closed: every write fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    drop(read);
    Stdio::from(write)
}

/// Runs `args` with stdout (and, if `stderr_too`, stderr) on a closed pipe; 60 s deadline.
fn run_closed(args: &[&str], stderr_too: bool) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdin(Stdio::null()).stdout(closed_pipe());
    if stderr_too {
        cmd.stderr(closed_pipe());
    } else {
        cmd.stderr(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fusekit {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn assert_no_panic(args: &[&str], out: &Output, expect_success: bool) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
    assert!(
        out.status.code().is_some(),
        "{args:?} killed: {:?}",
        out.status
    );
    if expect_success {
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
    }
}

#[test]
fn listing_and_help_into_a_closed_pipe_exit_quietly() {
    for args in [
        &["check", "--list"][..],
        &["bench", "--list"],
        &["--help"],
        &["mount", "--help"],
        &["--version"],
    ] {
        let out = run_closed(args, false);
        assert_no_panic(args, &out, true);
        assert!(out.stderr.is_empty(), "{args:?}: {:?}", out.stderr);
        let out = run_closed(args, true);
        assert_no_panic(args, &out, true);
    }
}

#[test]
fn check_and_bench_results_into_a_closed_pipe_keep_their_status() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let args = ["check", d, "--only", "open"];
    let out = run_closed(&args, false);
    assert_no_panic(&args, &out, false);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{:?}", out.status);
    let args = ["check", d, "--only", "open", "--json"];
    assert_no_panic(&args, &run_closed(&args, true), false);
    let args = ["bench", d, "--tiny", "--workload", "metadata"];
    assert_no_panic(&args, &run_closed(&args, true), true);
    // Errors too: the message has nowhere to go, the status still says failure.
    let args = ["check", "/nonexistent/fusekit-closed-output"];
    let out = run_closed(&args, true);
    assert_no_panic(&args, &out, false);
    assert_eq!(out.status.code(), Some(1));
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn a_daemon_with_closed_output_serves_and_unmounts() {
    if !fusekit_testkit::require_kernel("a_daemon_with_closed_output_serves_and_unmounts") {
        return;
    }
    let _uring = daemon_transport::param_for_test_transport("closed_output");
    let dir = fusekit_testkit::temp_dir("closed-output");
    let mnt = dir.path();
    let mut child = Command::new(BIN)
        .args(["-v", "mount", "hello"])
        .arg(mnt)
        .args(daemon_transport::args())
        .stdin(Stdio::null())
        .stdout(closed_pipe())
        .stderr(closed_pipe())
        .spawn()
        .unwrap();
    let mounted = |p: &Path| fusekit_testkit::access::mountinfo_line(p).is_some();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !mounted(mnt) && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let read = std::fs::read_to_string(mnt.join("hello.txt"));
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = Command::new(BIN)
                .args(["unmount", "--abort"])
                .arg(mnt)
                .output();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(read.unwrap(), "Hello from fusekit!\n");
    let status = status.expect("the daemon did not exit within 20 s of SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(!mounted(mnt), "SIGTERM left the mount");
}
