//! The `fusekit` command as a user meets it: mistakes answered with a message naming the path
//! or flag at fault, signals unmounting cleanly, `check` and `unmount` end to end.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fusekit");
const NOBODY: u32 = 65534;

mod daemon_transport;

fn is_mounted(path: &Path) -> bool {
    fusekit_testkit::access::mountinfo_line(path).is_some()
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("fusekit-cli-")
        .tempdir()
        .unwrap()
}

/// Runs the CLI to completion with a deadline.
fn run(cmd: &mut Command) -> Output {
    // Another test thread forking while a copied binary is still open for writing makes exec
    // fail with ETXTBSY for a moment: retry.
    let mut tries = 0;
    let mut child = loop {
        match cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other.expect("spawn fusekit"),
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "fusekit {:?} did not finish within 60 s",
                cmd.get_args().collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A `fusekit mount` daemon in the background, serving over the test transport
/// (`--transport dev|uring`); killed and unmounted on drop.
struct Daemon {
    child: Option<Child>,
    mountpoint: PathBuf,
    _uring_param: Option<daemon_transport::UringParam>,
}

impl Daemon {
    fn start(mountpoint: &Path, extra: &[&str]) -> Daemon {
        let uring_param = daemon_transport::param_for_test_transport("fusekit mount");
        let child = Command::new(BIN)
            .args(["mount", "hello"])
            .arg(mountpoint)
            .args(extra)
            .args(daemon_transport::args())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let d = Daemon {
            child: Some(child),
            mountpoint: mountpoint.to_path_buf(),
            _uring_param: uring_param,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !is_mounted(mountpoint) {
            assert!(Instant::now() < deadline, "daemon did not mount");
            std::thread::sleep(Duration::from_millis(10));
        }
        d
    }

    /// Reads the file through the mount and proves the transport with the kernel's fdinfo of
    /// the daemon: over io_uring its rings completed requests, over /dev/fuse it has none.
    fn read_and_prove_transport(&self) {
        assert_eq!(
            std::fs::read_to_string(self.mountpoint.join("hello.txt")).unwrap(),
            "Hello from fusekit!\n"
        );
        daemon_transport::assert_served_over_test_transport(self.child.as_ref().unwrap().id());
    }

    /// Waits for the daemon to exit; its log must name the test transport as the one in use.
    fn wait(mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "daemon did not exit");
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let expected = daemon_transport::log_mark();
        assert!(
            err.contains(&expected),
            "daemon log lacks {expected}:\n{err}"
        );
        (status, err)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new(BIN)
                .arg("unmount")
                .arg(&self.mountpoint)
                .output();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn mount_errors_name_the_path_at_fault() {
    let dir = temp_dir();
    let missing = dir.path().join("missing");
    let out = run(Command::new(BIN).args(["mount", "hello"]).arg(&missing));
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains(&*missing.to_string_lossy()), "{e}");

    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let out = run(Command::new(BIN).args(["mount", "hello"]).arg(&file));
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains(&*file.to_string_lossy()) && e.contains("not a directory"),
        "{e}"
    );

    let out = run(Command::new(BIN)
        .args(["mount", "hello"])
        .arg(dir.path())
        .args(["-o", "max_read=lots"]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("max_read=lots"), "{}", stderr(&out));

    let out = run(Command::new(BIN)
        .args(["mount", "hello"])
        .arg(dir.path())
        .args(["--workers", "0"]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--workers"), "{}", stderr(&out));

    let out = run(Command::new(BIN).arg("unmount").arg(dir.path()));
    assert!(
        !out.status.success(),
        "unmounting a plain directory must fail"
    );
    assert!(
        stderr(&out).contains(&*dir.path().to_string_lossy()),
        "{}",
        stderr(&out)
    );
}

#[test]
fn already_mounted_is_refused_and_sigterm_unmounts() {
    if !fusekit_testkit::require_kernel("already_mounted_is_refused_and_sigterm_unmounts") {
        return;
    }
    let dir = temp_dir();
    let daemon = Daemon::start(dir.path(), &[]);
    daemon.read_and_prove_transport();
    let out = run(Command::new(BIN).args(["mount", "hello"]).arg(dir.path()));
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("already") && e.contains(&*dir.path().to_string_lossy()),
        "{e}"
    );
    let pid = daemon.child.as_ref().unwrap().id();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let (status, log) = daemon.wait();
    assert!(status.success(), "daemon exit {status:?}: {log}");
    assert!(!is_mounted(dir.path()), "SIGTERM left the mount");
}

#[test]
fn sigint_and_fusekit_unmount_stop_the_daemon() {
    if !fusekit_testkit::require_kernel("sigint_and_fusekit_unmount_stop_the_daemon") {
        return;
    }
    for how in ["sigint", "unmount"] {
        let dir = temp_dir();
        let daemon = Daemon::start(dir.path(), &["--workers", "3"]);
        daemon.read_and_prove_transport();
        if how == "sigint" {
            let pid = daemon.child.as_ref().unwrap().id();
            rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid as i32).unwrap(),
                rustix::process::Signal::INT,
            )
            .unwrap();
        } else {
            let out = run(Command::new(BIN).arg("unmount").arg(dir.path()));
            assert!(out.status.success(), "{}", stderr(&out));
        }
        let (status, log) = daemon.wait();
        assert!(status.success(), "{how}: daemon exit {status:?}: {log}");
        assert!(!log.contains("ERROR"), "{how}: {log}");
        assert!(!is_mounted(dir.path()), "{how} left the mount");
    }
}

#[test]
fn missing_dev_fuse_is_named() {
    if !fusekit_testkit::require_kernel("missing_dev_fuse_is_named") {
        return;
    }
    let dir = temp_dir();
    // A private mount namespace whose /dev is an empty tmpfs: no /dev/fuse there.
    let script = format!(
        "mount -t tmpfs none /dev && exec {BIN} mount hello {}",
        dir.path().display()
    );
    let out = run(Command::new("unshare").args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
    ]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("/dev/fuse"), "{}", stderr(&out));
}

/// As user nobody: strict mode names the missing privilege; a missing fusermount3 is named.
#[test]
fn unprivileged_mistakes_are_explained() {
    if !fusekit_testkit::require_kernel("unprivileged_mistakes_are_explained") {
        return;
    }
    let mode = std::fs::metadata("/dev/fuse").unwrap().permissions().mode();
    if mode & 0o666 != 0o666 {
        std::fs::set_permissions("/dev/fuse", std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    let base = temp_dir();
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = base.path().join("fusekit");
    std::fs::copy(BIN, &exe).unwrap();
    let mnt = base.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    rustix::fs::chown(
        &mnt,
        Some(rustix::fs::Uid::from_raw(NOBODY)),
        Some(rustix::fs::Gid::from_raw(NOBODY)),
    )
    .unwrap();

    let out = run(Command::new(&exe)
        .args(["mount", "hello"])
        .arg(&mnt)
        .args(["--method", "strict"])
        .uid(NOBODY)
        .gid(NOBODY));
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains("strict") && e.contains("CAP_SYS_ADMIN"), "{e}");

    let out = run(Command::new(&exe)
        .args(["mount", "hello"])
        .arg(&mnt)
        .env("PATH", "/nonexistent")
        .uid(NOBODY)
        .gid(NOBODY));
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains("fusermount3"), "{e}");

    // A mount point the user may not write to: fusermount3 refuses, and we say so.
    let root_owned = base.path().join("root-owned");
    std::fs::create_dir(&root_owned).unwrap();
    std::fs::set_permissions(&root_owned, std::fs::Permissions::from_mode(0o755)).unwrap();
    if Path::new("/usr/bin/fusermount3").exists() || Path::new("/bin/fusermount3").exists() {
        let out = run(Command::new(&exe)
            .args(["mount", "hello"])
            .arg(&root_owned)
            .uid(NOBODY)
            .gid(NOBODY));
        assert!(!out.status.success());
        let e = stderr(&out);
        assert!(e.contains(&*root_owned.to_string_lossy()), "{e}");
        assert!(!is_mounted(&root_owned));
    }
}

#[test]
fn check_runs_against_a_plain_directory_and_reports() {
    let dir = temp_dir();
    let out = run(Command::new(BIN).arg("check").arg(dir.path()).args([
        "--only",
        "open",
        "--no-progress",
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text.lines().last().unwrap_or_default();
    assert!(
        summary.contains(" passed, ") && summary.contains(" failed, "),
        "{text}"
    );
    let out = run(Command::new(BIN)
        .arg("check")
        .arg(dir.path())
        .args(["--only", "open", "--json"]));
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(
        json.trim_start().starts_with('{') || json.trim_start().starts_with('['),
        "{json}"
    );
    let out = run(Command::new(BIN)
        .arg("check")
        .arg(dir.path().join("missing")));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("missing"), "{}", stderr(&out));
    let out = run(Command::new(BIN)
        .arg("check")
        .arg(dir.path())
        .args(["--race-seconds", "-1"]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--race-seconds"), "{}", stderr(&out));
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "check left files behind"
    );
}

#[test]
fn bench_tiny_run_writes_table_json_and_chart() {
    let dir = temp_dir();
    let out_dir = temp_dir();
    let json = out_dir.path().join("r.json");
    let svg = out_dir.path().join("r.svg");
    let out = run(Command::new(BIN)
        .arg("bench")
        .arg(dir.path())
        .args([
            "--tiny",
            "--workload",
            "metadata",
            "--workload",
            "seq-write",
            "--json",
        ])
        .arg(&json)
        .arg("--plot")
        .arg(&svg));
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("metadata") && table.contains("files/s"),
        "{table}"
    );
    let json = std::fs::read_to_string(&json).unwrap();
    assert!(json.contains("\"metadata\""), "{json}");
    assert!(std::fs::read_to_string(&svg)
        .unwrap()
        .trim_start()
        .starts_with("<svg"));
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "bench left files behind"
    );
    let out = run(Command::new(BIN)
        .arg("bench")
        .arg(dir.path().join("missing")));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("missing"), "{}", stderr(&out));
}

#[test]
fn bench_round_trips_counts_requests_by_opcode_and_leaves_no_mount() {
    if !fusekit_testkit::require_kernel("bench_round_trips_counts_requests_by_opcode") {
        return;
    }
    let out_dir = temp_dir();
    let json = out_dir.path().join("rt.json");
    let out = run(Command::new(BIN)
        .args(["bench", "--round-trips", "--iterations", "3", "--json"])
        .arg(&json));
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("round trips: memfs") && table.contains("round trips: passthrough"),
        "{table}"
    );
    let reports: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let reports = reports.as_array().expect("a list of filesystems");
    assert_eq!(reports.len(), 2);
    for fs in reports {
        let name = fs["filesystem"].as_str().unwrap();
        let op = |wanted: &str| {
            fs["operations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["operation"] == wanted)
                .unwrap_or_else(|| panic!("{name}: no {wanted}"))["requests"]
                .clone()
        };
        let count = |v: &serde_json::Value, opcode: &str| v[opcode].as_f64().unwrap_or(0.0);
        // One CREATE and, after close, one RELEASE per created file: the release that
        // arrives after close() returned is counted with it.
        let create = op("create+write 4 KiB+close");
        assert_eq!(count(&create, "CREATE"), 1.0, "{name}: {create}");
        assert_eq!(count(&create, "RELEASE"), 1.0, "{name}: {create}");
        // A name never made costs exactly one LOOKUP (then the negative entry is cached).
        let missing = op("stat of a missing name");
        assert_eq!(count(&missing, "LOOKUP"), 1.0, "{name}: {missing}");
        let unlink = op("unlink");
        assert_eq!(count(&unlink, "UNLINK"), 1.0, "{name}: {unlink}");
        let mkdir = op("mkdir");
        assert_eq!(count(&mkdir, "MKDIR"), 1.0, "{name}: {mkdir}");
    }
    let left: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains("fusekit-round-trips."))
        .map(str::to_string)
        .collect();
    assert!(left.is_empty(), "mounts left behind: {left:?}");
}
