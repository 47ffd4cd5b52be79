//! The kernel's own account of a process's io_uring activity, for daemons that run in another
//! process: every io_uring descriptor's `/proc/PID/fdinfo` entry shows the ring's completion
//! tail (`CqTail`). A FUSE ring entry completes only when the kernel hands it a request (or at
//! unmount, with -ENOTCONN), so completions counted while the filesystem is still mounted are
//! requests that travelled over the ring.

use std::path::Path;

/// The io_uring instances of one process and the completions they have posted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingActivity {
    /// io_uring descriptors the process holds.
    pub rings: usize,
    /// Sum of their completion-queue tails (completions posted so far; wraps at 2^32 per ring).
    pub completions: u64,
}

/// Reads the io_uring descriptors of process `pid` from /proc (root may read any process).
pub fn ring_activity(pid: u32) -> std::io::Result<RingActivity> {
    let proc = Path::new("/proc").join(pid.to_string());
    let mut activity = RingActivity::default();
    for entry in std::fs::read_dir(proc.join("fd"))? {
        let entry = entry?;
        // A descriptor closed between listing and reading is simply not counted.
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if target.as_os_str() != "anon_inode:[io_uring]" {
            continue;
        }
        // The kernel prints a ring's state only when it gets the ring's lock at once (it
        // tries, to avoid a lock-order deadlock): a ring busy at that moment shows only the
        // generic lines. Read again for up to 2 s.
        let path = proc.join("fdinfo").join(entry.file_name());
        let mut tail = None;
        let mut last = String::new();
        for _ in 0..200 {
            let Ok(info) = std::fs::read_to_string(&path) else {
                break;
            };
            tail = cq_tail(&info);
            if tail.is_some() {
                break;
            }
            last = info;
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        if !path.exists() {
            // Closed meanwhile: not counted.
            continue;
        }
        activity.rings += 1;
        activity.completions += tail.ok_or_else(|| {
            std::io::Error::other(format!("no CqTail in io_uring fdinfo for 2 s:\n{last}"))
        })?;
    }
    Ok(activity)
}

/// The `CqTail:` value of an io_uring fdinfo text.
pub fn cq_tail(info: &str) -> Option<u64> {
    info.lines()
        .find_map(|l| l.strip_prefix("CqTail:"))
        .and_then(|v| v.trim().parse().ok())
}
