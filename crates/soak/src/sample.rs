//! Reading a daemon's resource use from /proc: resident memory (VmRSS), thread count and the
//! number of open descriptors.

use std::path::PathBuf;

use anyhow::{bail, Context};

/// One reading of /proc/PID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub rss_kib: u64,
    pub threads: u64,
    pub fds: u64,
}

/// Reads VmRSS, Threads and the fd count of process `pid`.
pub fn read(pid: u32) -> anyhow::Result<Usage> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let status = std::fs::read_to_string(dir.join("status"))
        .with_context(|| format!("daemon {pid}: cannot read /proc/{pid}/status (did it exit?)"))?;
    let (rss_kib, threads) = parse_status(&status)
        .with_context(|| format!("daemon {pid}: unexpected /proc/{pid}/status"))?;
    let fds = std::fs::read_dir(dir.join("fd"))
        .with_context(|| format!("daemon {pid}: cannot list /proc/{pid}/fd"))?
        .count() as u64;
    Ok(Usage {
        rss_kib,
        threads,
        fds,
    })
}

/// The VmRSS (KiB) and Threads lines of a /proc/PID/status text.
pub fn parse_status(status: &str) -> anyhow::Result<(u64, u64)> {
    let field = |name: &str| -> anyhow::Result<u64> {
        let Some(line) = status.lines().find(|l| l.starts_with(name)) else {
            bail!("no {name} line (a zombie has none)")
        };
        let value = line[name.len()..].split_whitespace().next().unwrap_or("");
        value
            .parse()
            .with_context(|| format!("{name} {value:?} is not a number"))
    };
    Ok((field("VmRSS:")?, field("Threads:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_parse_and_missing_ones_are_named() {
        let s = "Name:\tfusekit\nVmRSS:\t   12345 kB\nThreads:\t7\n";
        assert_eq!(parse_status(s).unwrap(), (12345, 7));
        let e = parse_status("Name:\tx\nThreads:\t1\n").unwrap_err();
        assert!(e.to_string().contains("VmRSS"), "{e}");
    }

    #[test]
    fn reads_this_process() {
        let u = read(std::process::id()).unwrap();
        assert!(u.rss_kib > 0 && u.threads >= 1 && u.fds >= 1, "{u:?}");
    }
}
