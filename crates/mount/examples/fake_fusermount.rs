//! Test-only stand-in for fusermount3 (used by this crate's tests through
//! `MountOptions::fusermount`). It records which fds it inherited into
//! `<mountpoint>/fake-fusermount.out`, then fails on purpose without sending an fd.
//!
//! It opens no fd before looking: the list is read from /proc/self/fd, whose own
//! directory fd is filtered out by checking, after the listing is closed, which fds are
//! still open.

use std::io::Write;
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(mountpoint) = args.last().map(PathBuf::from) else {
        eprintln!("fake fusermount3: no arguments");
        std::process::exit(2);
    };
    let mut fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    let mut report = String::new();
    report.push_str(&format!(
        "commfd={}\n",
        std::env::var("_FUSE_COMMFD").unwrap_or_default()
    ));
    report.push_str(&format!("args={}\n", args[1..].join(" ")));
    for fd in fds {
        if let Ok(target) = std::fs::read_link(format!("/proc/self/fd/{fd}")) {
            report.push_str(&format!("fd {fd} {}\n", target.display()));
        }
    }
    let out = mountpoint.join("fake-fusermount.out");
    std::fs::write(&out, report).expect("write the report");
    let _ = writeln!(
        std::io::stderr(),
        "fake fusermount3: refusing to mount {} on purpose",
        mountpoint.display()
    );
    std::process::exit(3);
}
