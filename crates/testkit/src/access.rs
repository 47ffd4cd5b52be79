//! Who may enter a mount, and with which options the kernel holds it: the probes of the
//! safe-defaults tests.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// uid and gid of `nobody`.
pub const NOBODY: u32 = 65534;

/// The `/proc/self/mountinfo` line of the mount at `path`, if it is mounted.
pub fn mountinfo_line(path: &Path) -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    let p = path.to_string_lossy();
    info.lines()
        .find(|l| l.split(' ').nth(4) == Some(&*p))
        .map(str::to_owned)
}

/// The super block options (`default_permissions`, `allow_other`, ...) of the mount at `path`.
pub fn super_options(path: &Path) -> Vec<String> {
    let line = mountinfo_line(path).expect("the mount is in mountinfo");
    let (_, tail) = line.split_once(" - ").expect("mountinfo separator");
    let opts = tail.split(' ').nth(2).expect("super options field");
    opts.split(',').map(str::to_owned).collect()
}

/// Whether `nobody` may list `dir` (runs `ls` as uid/gid 65534; a hang of 20 s panics).
pub fn nobody_can_list(dir: &Path) -> bool {
    let mut child = Command::new("ls")
        .arg(dir)
        .uid(NOBODY)
        .gid(NOBODY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ls as nobody");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait for ls") {
            return status.success();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ls as nobody hung on {}", dir.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
