//! `--request-timeout SECONDS` on `fusekit mount memfs|passthrough`: bad values are refused
//! with a message naming the flag, 0 and 65535 are accepted, --help tells it apart from the
//! cache `--timeout`, and a mount given the flag negotiates FUSE_REQUEST_TIMEOUT with the
//! kernel (seen in the INIT debug line) while one without it does not.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod daemon_transport;

fn is_mounted(path: &Path) -> bool {
    fusekit_testkit::access::mountinfo_line(path).is_some()
}

const BIN: &str = env!("CARGO_BIN_EXE_fusekit");

/// Runs the CLI to completion, failing the test after 60 s.
fn run(cmd: &mut Command) -> Output {
    let mut tries = 0;
    let mut child = loop {
        match cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
            // Another test thread forking while a binary is open for writing: retry.
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other.expect("spawn fusekit"),
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fusekit {:?} did not finish within 60 s", cmd.get_args());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `fusekit mount KIND [SRC] MNT ARGS...` with a mount point that does not exist.
fn mount_missing_dir(kind: &str, args: &[&str]) -> Output {
    let missing = "/nonexistent/fusekit-request-timeout-test";
    let mut cmd = Command::new(BIN);
    cmd.args(["mount", kind]);
    if kind == "passthrough" {
        cmd.arg("/");
    }
    run(cmd.arg(missing).args(args))
}

#[test]
fn bad_values_are_refused_naming_the_flag() {
    for kind in ["memfs", "passthrough"] {
        for value in ["abc", "1.5", "-1", "65536", "100000000000", "", " ", "1e3"] {
            let out = mount_missing_dir(kind, &[&format!("--request-timeout={value}")]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{kind} {value:?}: {err}");
            assert!(
                err.contains("--request-timeout"),
                "{kind} {value:?}: the message names the flag: {err}"
            );
        }
        let out = mount_missing_dir(kind, &["--request-timeout=65536"]);
        assert!(stderr(&out).contains("out of range"), "{}", stderr(&out));
        let out = mount_missing_dir(kind, &["--request-timeout=1.5"]);
        assert!(
            stderr(&out).contains("not a whole number of seconds"),
            "{}",
            stderr(&out)
        );
        let out = mount_missing_dir(kind, &["--request-timeout"]);
        assert_eq!(out.status.code(), Some(2), "a value is required");
        assert!(
            stderr(&out).contains("--request-timeout"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn zero_and_the_protocol_maximum_are_accepted() {
    for kind in ["memfs", "passthrough"] {
        for value in ["0", "1", "65535"] {
            let out = mount_missing_dir(kind, &["--request-timeout", value]);
            let err = stderr(&out);
            // Parsing passed: the failure is about the missing mount point, not the flag.
            assert_eq!(out.status.code(), Some(1), "{kind} {value}: {err}");
            assert!(
                err.contains("/nonexistent/fusekit-request-timeout-test")
                    && !err.contains("--request-timeout"),
                "{kind} {value}: {err}"
            );
        }
    }
}

#[test]
fn help_tells_the_request_timeout_from_the_cache_timeout() {
    for kind in ["memfs", "passthrough"] {
        let out = run(Command::new(BIN).args(["mount", kind, "--help"]));
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(help.contains("--request-timeout <SECONDS>"), "{help}");
        assert!(help.contains("--timeout <S>"), "{help}");
        assert!(help.contains("Cache lifetime"), "{help}");
        assert!(help.contains("Not a request timeout"), "{help}");
        assert!(help.contains("Not the cache --timeout"), "{help}");
    }
}

/// A `fusekit -v mount` daemon over the test transport, logging to a file; unmounted and
/// reaped on drop.
struct Daemon {
    child: Child,
    mountpoint: std::path::PathBuf,
    log: tempfile::NamedTempFile,
    _uring_param: Option<daemon_transport::UringParam>,
}

impl Daemon {
    fn start(kind: &str, mountpoint: &Path, extra: &[&str]) -> Daemon {
        let log = tempfile::NamedTempFile::new().unwrap();
        let uring_param = daemon_transport::param_for_test_transport("fusekit -v mount");
        let mut cmd = Command::new(BIN);
        cmd.args(["-v", "mount", kind]);
        if kind == "passthrough" {
            cmd.arg(mountpoint.parent().unwrap().join("src"));
        }
        let child = cmd
            .arg(mountpoint)
            .args(extra)
            .args(daemon_transport::args())
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut daemon = Daemon {
            child,
            mountpoint: mountpoint.to_path_buf(),
            log,
            _uring_param: uring_param,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !is_mounted(mountpoint) {
            if let Some(status) = daemon.child.try_wait().unwrap() {
                panic!("fusekit exited with {status}: {}", daemon.log_text());
            }
            assert!(Instant::now() < deadline, "not mounted within 20 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        daemon
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap()
    }

    /// Unmounts with `fusekit unmount`, waits for the daemon, returns its log.
    fn stop(mut self) -> String {
        let out = run(Command::new(BIN).arg("unmount").arg(&self.mountpoint));
        assert!(out.status.success(), "{}", stderr(&out));
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "daemon still running 20 s after unmount"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let log = self.log_text();
        let mark = daemon_transport::log_mark();
        assert!(log.contains(&mark), "the daemon log lacks {mark}: {log}");
        log
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if is_mounted(&self.mountpoint) {
            let _ = Command::new(BIN)
                .arg("unmount")
                .arg(&self.mountpoint)
                .output();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The flags in the daemon's "INIT negotiated" debug line.
fn negotiated_flags(log: &str) -> &str {
    log.lines()
        .find(|l| l.contains("INIT negotiated"))
        .unwrap_or_else(|| panic!("no INIT debug line in: {log}"))
}

#[test]
fn the_flag_reaches_the_kernel() {
    if !fusekit_testkit::require_kernel("the_flag_reaches_the_kernel") {
        return;
    }
    let top = tempfile::Builder::new()
        .prefix("fusekit-rto-")
        .tempdir()
        .unwrap();
    std::fs::create_dir(top.path().join("src")).unwrap();
    let mnt = top.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    for kind in ["memfs", "passthrough"] {
        let daemon = Daemon::start(kind, &mnt, &["--request-timeout", "600"]);
        std::fs::read_dir(&mnt).unwrap().for_each(drop);
        daemon_transport::assert_served_over_test_transport(daemon.child.id());
        let log = daemon.stop();
        assert!(
            negotiated_flags(&log).contains("REQUEST_TIMEOUT"),
            "{kind} with --request-timeout 600: {log}"
        );

        let daemon = Daemon::start(kind, &mnt, &["--request-timeout", "0"]);
        let log = daemon.stop();
        assert!(
            !negotiated_flags(&log).contains("REQUEST_TIMEOUT"),
            "{kind} with --request-timeout 0: {log}"
        );
    }
}
