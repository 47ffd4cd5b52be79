//! Mounting fusekit like any other filesystem, with the real mount(8) and umount(8) of
//! util-linux: `mount -t fuse.fusekit` (mount.fuse3 runs `fusekit SOURCE MNT -o OPTS`), an
//! fstab line (`mount -T FSTAB MNT`), `mount -t fusekit` (the `mount.fusekit` helper), and
//! `-o foreground`. Each mount returns when ready with the server in the background, which
//! logs to the file named by `-o log=` and exits when umount(8) unmounts.
//!
//! Nothing is installed globally: everything runs in a private mount namespace where a temp
//! directory holding a `fusekit` symlink to the test-built binary is bound over
//! /usr/local/sbin (mount(8) drops PATH, and mount.fuse3's shell then searches its default
//! PATH, which starts there), and links to /usr/sbin's programs plus `mount.fusekit` are
//! bound over /usr/sbin (where mount(8) looks for helpers; /sbin links to it on Debian 12).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fusekit");

const SCRIPT: &str = r#"
set -eu
T="$1"; BIN="$2"
mkdir -p "$T/bin" "$T/sbin" "$T/orig" "$T/src" "$T/m1" "$T/m2" "$T/m3" "$T/m4"
ln -s "$BIN" "$T/bin/fusekit"
# The real /usr/sbin stays reachable under $T/orig once $T/sbin covers it.
mount --bind /usr/sbin "$T/orig"
for f in "$T"/orig/*; do ln -s "$f" "$T/sbin/"; done
ln -s "$BIN" "$T/sbin/mount.fusekit"
mount --bind "$T/bin" /usr/local/sbin
mount --bind "$T/sbin" /usr/sbin
echo "from the source" > "$T/src/a"

# Waits until LOG says the server unmounted (its exit), at most 20 s.
served_to_the_end() {
  for _ in $(seq 200); do
    grep -q "unmounted" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no 'unmounted' in $1:"; cat "$1" || true; return 1
}

echo "== mount -t fuse.fusekit"
mount -t fuse.fusekit memfs "$T/m1" -o size=1M,log="$T/log1"
grep -q " $T/m1 fuse" /proc/self/mounts
echo "written through the mount" > "$T/m1/f"
cat "$T/m1/f"
umount "$T/m1"
served_to_the_end "$T/log1"
! grep -q " $T/m1 " /proc/self/mounts

echo "== fstab line"
echo "passthrough:$T/src $T/m2 fuse.fusekit defaults,noauto,nofail,log=$T/log2 0 0" > "$T/fstab"
mount -T "$T/fstab" "$T/m2"
cat "$T/m2/a"
umount "$T/m2"
served_to_the_end "$T/log2"

echo "== mount -t fusekit (mount.fusekit)"
mount -t fusekit hello "$T/m3" -o log="$T/log3"
cat "$T/m3/hello.txt"
umount "$T/m3"
served_to_the_end "$T/log3"

echo "== -o foreground"
mount -t fuse.fusekit memfs "$T/m4" -o foreground,log="$T/log4" 2>"$T/fg.err" &
FG=$!
for _ in $(seq 200); do grep -q " $T/m4 fuse" /proc/self/mounts && break; sleep 0.1; done
grep -q " $T/m4 fuse" /proc/self/mounts
kill -0 "$FG"  # mount(8) still runs: the server is in the foreground
umount "$T/m4"
wait "$FG"
echo "foreground exited 0"

echo "== a bad source is refused by mount(8)"
if mount -t fuse.fusekit nfs "$T/m1" 2>"$T/bad.err"; then echo "accepted"; exit 1; fi
grep -q '"nfs" is neither a subcommand' "$T/bad.err"
echo "ALL DONE"
"#;

/// Kills (by pid) every process whose command line mentions `marker`, a unique temp path.
fn kill_leftovers(marker: &str) -> Vec<u32> {
    let mut killed = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return killed;
    };
    let me = std::process::id();
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                killed.push(pid.as_raw_nonzero().get() as u32);
            }
        }
    }
    killed
}

#[test]
fn mount_and_umount_through_util_linux() {
    if !fusekit_testkit::require_kernel("mount_and_umount_through_util_linux") {
        return;
    }
    if !Path::new("/sbin/mount.fuse3").exists() && !Path::new("/usr/sbin/mount.fuse3").exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "mount.fuse3 missing (CI=true)"
        );
        eprintln!("skipped: needs mount.fuse3 (the fuse3 package)");
        return;
    }
    let dir = fusekit_testkit::temp_dir("mount-helper");
    let t = dir.path().to_str().unwrap().to_string();
    let mut child = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            SCRIPT,
            "sh",
        ])
        .arg(&t)
        .arg(BIN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let finished = loop {
        if child.try_wait().unwrap().is_some() {
            break true;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    // Servers still alive hold the private namespace (and its mounts): end them by pid.
    let leftovers = kill_leftovers(&t);
    let text = format!(
        "{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(finished, "the script did not finish within 120 s:\n{text}");
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ALL DONE"), "{text}");
    assert!(text.contains("written through the mount"), "{text}");
    assert!(text.contains("from the source"), "{text}");
    assert!(text.contains("Hello from fusekit!"), "{text}");
    assert!(
        leftovers.is_empty(),
        "servers left running: {leftovers:?}\n{text}"
    );
    for log in ["log1", "log2", "log3"] {
        let l = std::fs::read_to_string(dir.path().join(log)).unwrap();
        assert!(
            l.contains("mounted on") && l.contains("unmounted"),
            "{log}: {l}"
        );
    }
}
