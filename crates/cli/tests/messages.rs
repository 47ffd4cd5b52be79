//! Error messages a new user meets: each part said once, and a way forward where there is
//! one (a size's accepted forms, how to enable io_uring, what to do about /dev/fuse).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fusekit");

/// Runs the CLI with a 60 s deadline, stdin closed.
fn run(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// The failing command's one-line message.
fn failure(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(!out.status.success(), "{cmd:?} succeeded");
    let e = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!e.contains("panicked"), "{e}");
    e
}

fn once(text: &str, part: &Path) {
    let part = part.to_string_lossy();
    assert_eq!(
        text.matches(&*part).count(),
        1,
        "{part} not said once: {text}"
    );
}

fn is_mounted(path: &Path) -> bool {
    fusekit_testkit::access::mountinfo_line(path).is_some()
}

#[test]
fn paths_are_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let e = failure(Command::new(BIN).arg("unmount").arg(dir.path()));
    once(&e, dir.path());
    assert!(e.contains("no FUSE filesystem is mounted there"), "{e}");

    let missing = dir.path().join("missing");
    let e = failure(Command::new(BIN).arg("check").arg(&missing));
    once(&e, &missing);

    let e = failure(Command::new(BIN).arg("bench").arg(&missing));
    once(&e, &missing);

    let e = failure(
        Command::new(BIN)
            .args(["mount", "passthrough"])
            .arg(&missing)
            .arg(dir.path()),
    );
    once(&e, &missing);
    assert!(!e.contains("cannot mirror"), "{e}");
}

#[test]
fn a_bad_size_shows_the_accepted_forms() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["abc", "12x", "1.5G"] {
        let e = failure(
            Command::new(BIN)
                .args(["mount", "memfs"])
                .arg(dir.path())
                .args(["--size-limit", bad]),
        );
        assert!(
            e.contains(&format!("\"{bad}\" is not a size"))
                && e.contains("k, M, G or T")
                && e.contains("512M"),
            "{e}"
        );
        assert!(
            !e.contains("suffix 'c'") && !e.contains("unknown size suffix"),
            "{e}"
        );
    }
}

#[test]
fn bench_output_paths_are_checked_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--plot", "--json"] {
        let bad = dir.path().join("no/such/dir/out");
        let started = Instant::now();
        // Default sizes and durations: a real run would take minutes.
        let e = failure(
            Command::new(BIN)
                .arg("bench")
                .arg(dir.path())
                .arg(flag)
                .arg(&bad),
        );
        assert!(started.elapsed() < Duration::from_secs(10), "ran first");
        assert!(e.contains(flag) && e.contains("does not exist"), "{e}");
        once(&e, &bad);
        let e = failure(
            Command::new(BIN)
                .arg("bench")
                .arg(dir.path())
                .arg(flag)
                .arg(dir.path()),
        );
        assert!(e.contains("is a directory"), "{e}");
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

/// Only meaningful while the fuse module parameter enable_uring is N (it is never changed
/// here: other tests depend on it).
#[test]
fn a_refused_uring_mount_says_how_to_enable_it() {
    if !fusekit_testkit::require_kernel("a_refused_uring_mount_says_how_to_enable_it") {
        return;
    }
    let param = std::fs::read_to_string("/sys/module/fuse/parameters/enable_uring");
    if !matches!(param.as_deref().map(str::trim), Ok("N")) {
        eprintln!("skipped: enable_uring is not N ({param:?}), the refusal cannot be seen");
        return;
    }
    let dir = fusekit_testkit::temp_dir("uring-hint");
    let e = failure(
        Command::new(BIN)
            .args(["mount", "hello"])
            .arg(dir.path())
            .args(["--transport", "uring"]),
    );
    if !is_mounted(dir.path()) {
        assert!(
            e.contains("echo Y > /sys/module/fuse/parameters/enable_uring")
                && e.contains("as root")
                && e.contains("6.14"),
            "{e}"
        );
    } else {
        let _ = Command::new(BIN)
            .args(["unmount", "--abort"])
            .arg(dir.path())
            .output();
        panic!("a refused mount was left behind: {e}");
    }
}

/// An unprivileged mount with /dev/fuse at 0600: in a private mount namespace whose
/// /dev/fuse is a 0600 node (the real one is not touched), as user nobody.
#[test]
fn a_closed_dev_fuse_says_what_to_do() {
    if !fusekit_testkit::require_kernel("a_closed_dev_fuse_says_what_to_do") {
        return;
    }
    if !Path::new("/usr/bin/fusermount3").exists() && !Path::new("/bin/fusermount3").exists() {
        eprintln!("skipped: needs fusermount3 (the fuse3 package)");
        return;
    }
    let base = fusekit_testkit::temp_dir("devfuse-0600");
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mnt = base.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    rustix::fs::chown(
        &mnt,
        Some(rustix::fs::Uid::from_raw(65534)),
        Some(rustix::fs::Gid::from_raw(65534)),
    )
    .unwrap();
    let exe = base.path().join("fusekit");
    std::fs::copy(BIN, &exe).unwrap();
    let node = base.path().join("fuse");
    let script = format!(
        "mknod {node} c 10 229 && chmod 0600 {node} && mount --bind {node} /dev/fuse && \
         exec setpriv --reuid=65534 --regid=65534 --clear-groups {exe} mount hello {mnt}",
        node = node.display(),
        exe = exe.display(),
        mnt = mnt.display()
    );
    // Another test thread forking while the copy was open for writing makes exec fail with
    // ETXTBSY for a moment: retry.
    let mut tries = 0;
    let e = loop {
        let e = failure(Command::new("unshare").args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ]));
        if !e.contains("Text file busy") || tries == 50 {
            break e;
        }
        tries += 1;
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        e.contains("/dev/fuse is mode 0600") && e.contains("chmod 0666 /dev/fuse"),
        "{e}"
    );
    assert!(!is_mounted(&mnt));
}

#[test]
fn the_transport_is_documented_and_announced() {
    let out = run(Command::new(BIN).args(["mount", "hello", "--help"]));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("enable_uring") && help.contains("at mount time"),
        "{help}"
    );
    if !fusekit_testkit::require_kernel("the_transport_is_documented_and_announced") {
        return;
    }
    let dir = fusekit_testkit::temp_dir("transport-line");
    let mut child = Command::new(BIN)
        .args(["mount", "hello"])
        .arg(dir.path())
        .args(["--transport", "dev"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !is_mounted(dir.path()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = Command::new(BIN).arg("unmount").arg(dir.path()).output();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = Command::new(BIN)
                .args(["unmount", "--abort"])
                .arg(dir.path())
                .output();
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let line = log
        .lines()
        .find(|l| l.contains("mounted on"))
        .unwrap_or_else(|| panic!("no mounted line: {log}"));
    assert!(line.contains("serving over /dev/fuse"), "{line}");
    assert!(!is_mounted(dir.path()));
}
