//! The runnable examples behave as people expect when they copy them: they say where they
//! are mounted and how to stop, SIGINT or SIGTERM unmounts them (no dead ENOTCONN mount is
//! left) and they exit 0; a wrong command line prints the usage.
//! `cargo test` builds the examples next to this test (target/<profile>/examples/).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

/// target/<profile>/examples/NAME, from this test's own path (target/<profile>/deps/...).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn is_mounted(path: &Path) -> bool {
    fusekit_testkit::access::mountinfo_line(path).is_some()
}

/// A running example; on drop (also on a panic) unmounted lazily and killed.
struct Running {
    child: Child,
    mnt: PathBuf,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(name: &str, args: &[&Path], mnt: &Path) -> Running {
        let mut child = Command::new(example(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Running {
            child,
            mnt: mnt.to_path_buf(),
            lines,
        }
    }

    /// The next stdout line within 20 s.
    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .expect("no output line within 20 s")
    }

    /// Sends `signal`; the exit status within 20 s.
    fn signal_and_wait(&mut self, signal: Signal) -> std::process::ExitStatus {
        kill_process(Pid::from_raw(self.child.id() as i32).unwrap(), signal).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "no exit within 20 s of {signal:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = fusekit::mount::unmount(&self.mnt);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn hello_says_where_and_unmounts_on_sigint_and_sigterm() {
    if !fusekit_testkit::require_kernel("hello_says_where_and_unmounts_on_signals") {
        return;
    }
    for signal in [Signal::INT, Signal::TERM] {
        let dir = fusekit_testkit::temp_dir("example-hello");
        let mnt = dir.path();
        let mut run = Running::start("hello", &[mnt], mnt);
        let first = run.line();
        assert!(
            first.contains("mounted on") && first.contains(&*mnt.to_string_lossy()),
            "{first}"
        );
        let second = run.line();
        assert!(
            second.contains("Ctrl-C") && second.contains("fusekit unmount"),
            "{second}"
        );
        assert_eq!(
            std::fs::read_to_string(mnt.join("hello.txt")).unwrap(),
            "Hello from fusekit!\n"
        );
        let status = run.signal_and_wait(signal);
        assert!(status.success(), "{signal:?}: {status:?}");
        assert!(!is_mounted(mnt), "{signal:?} left the mount");
        assert!(run.line().contains("unmounted"));
    }
}

#[test]
fn pathfs_mirrors_a_directory_and_unmounts_on_sigterm() {
    if !fusekit_testkit::require_kernel("pathfs_mirrors_a_directory_and_unmounts_on_sigterm") {
        return;
    }
    let src = fusekit_testkit::temp_dir("example-pathfs-src");
    std::fs::write(src.path().join("a"), b"from the source\n").unwrap();
    let dir = fusekit_testkit::temp_dir("example-pathfs-mnt");
    let mnt = dir.path();
    let mut run = Running::start("pathfs", &[src.path(), mnt], mnt);
    assert!(run.line().contains("mounted on"));
    assert_eq!(std::fs::read(mnt.join("a")).unwrap(), b"from the source\n");
    std::fs::write(mnt.join("b"), b"through the mount\n").unwrap();
    assert_eq!(
        std::fs::read(src.path().join("b")).unwrap(),
        b"through the mount\n"
    );
    let status = run.signal_and_wait(Signal::TERM);
    assert!(status.success(), "{status:?}");
    assert!(!is_mounted(mnt));
}

#[test]
fn a_wrong_command_line_prints_the_usage() {
    for (name, args) in [("hello", &[][..]), ("pathfs", &["/only-one"][..])] {
        let out = Command::new(example(name)).args(args).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!("{name}: usage: {name} ")),
            "{name}: {err}"
        );
    }
}
