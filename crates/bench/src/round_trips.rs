//! Round trips: how many FUSE requests, by opcode, one everyday operation costs on a
//! filesystem (create+write+close, stat, unlink, rename, a listing...). The operations are
//! ordinary *at() syscalls on a directory; the counts come from whoever serves the mount,
//! through a caller-given function (the fusekit CLI reads its own session's statistics), so
//! this module, like the rest of the crate, knows nothing of fusekit.
//!
//! Requests that arrive after the syscalls return (RELEASE after close, FORGET after the last
//! reference) belong to the operation: each one is followed until the counts settle.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{
    chmodat, mkdirat, openat, readlinkat, renameat, statat, symlinkat, unlinkat, AtFlags, Dir,
    Mode, OFlags,
};
use serde::{Deserialize, Serialize};

use crate::fsio::{create, open_dir, write_all};

/// Requests counted so far by whoever serves the mount, by opcode name (`LOOKUP`, ...).
pub type RequestTally = BTreeMap<String, u64>;

/// One operation's cost: requests per operation by opcode (a mean over the iterations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationCost {
    /// What was done, e.g. `create+write 4 KiB+close`.
    pub operation: String,
    /// How many times it was done.
    pub iterations: u32,
    /// Requests per operation by opcode name.
    pub requests: BTreeMap<String, f64>,
}

impl OperationCost {
    /// All requests per operation.
    pub fn total(&self) -> f64 {
        self.requests.values().sum()
    }
}

/// The round trips of one filesystem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundTrips {
    /// The filesystem and how it was served, e.g. `memfs (/dev/fuse)`.
    pub filesystem: String,
    /// Mount options and settings that change the counts (cache timeouts, permissions).
    pub settings: String,
    pub operations: Vec<OperationCost>,
}

impl RoundTrips {
    /// A plain-text table: one line per operation with its total and the opcodes.
    pub fn render_table(&self) -> String {
        let mut out = format!("round trips: {} ({})\n", self.filesystem, self.settings);
        let width = self
            .operations
            .iter()
            .map(|o| o.operation.chars().count())
            .max()
            .unwrap_or(0);
        for op in &self.operations {
            out.push_str(&format!(
                "  {:<width$}  {:>5}  {}\n",
                op.operation,
                format_count(op.total()),
                breakdown(op)
            ));
        }
        out
    }
}

/// `LOOKUP 1, CREATE 1, ...` in the order the kernel sends them for a create.
pub fn breakdown(op: &OperationCost) -> String {
    let mut items: Vec<(&String, &f64)> = op.requests.iter().filter(|(_, &n)| n > 0.0).collect();
    items.sort_by_key(|(name, _)| opcode_rank(name));
    items
        .iter()
        .map(|(name, n)| format!("{name} {}", format_count(**n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A count per operation: whole numbers as such, fractions with two decimals.
pub fn format_count(n: f64) -> String {
    if (n - n.round()).abs() < 0.005 {
        format!("{}", n.round() as i64)
    } else {
        format!("{n:.2}")
    }
}

/// Rough order of a request within an operation (lookups first, releases and forgets last).
fn opcode_rank(name: &str) -> (u8, String) {
    let rank = match name {
        "LOOKUP" => 0,
        "GETATTR" | "STATX" => 1,
        "CREATE" | "MKNOD" | "MKDIR" | "SYMLINK" | "LINK" | "OPEN" | "OPENDIR" => 2,
        "FLUSH" => 5,
        "RELEASE" | "RELEASEDIR" => 6,
        "FORGET" | "BATCH_FORGET" => 7,
        _ => 3,
    };
    (rank, name.to_string())
}

/// What to measure: `iterations` of each operation (at least 1).
#[derive(Debug, Clone)]
pub struct RoundTripOptions {
    pub iterations: u32,
    /// How long the counts must stay unchanged to call an operation finished.
    pub settle: Duration,
    /// The longest wait for that.
    pub settle_limit: Duration,
}

impl Default for RoundTripOptions {
    fn default() -> Self {
        RoundTripOptions {
            iterations: 20,
            settle: Duration::from_millis(30),
            settle_limit: Duration::from_secs(2),
        }
    }
}

/// One measured operation: `setup` prepares iteration `i` (not counted), `run` is counted.
struct Operation {
    name: &'static str,
    setup: fn(&OwnedFd, u32) -> io::Result<()>,
    run: fn(&OwnedFd, u32) -> io::Result<()>,
}

const BLOCK: usize = 4096;
const LISTING: u32 = 100;

fn file(i: u32) -> String {
    format!("f{i}")
}

fn nothing(_: &OwnedFd, _: u32) -> io::Result<()> {
    Ok(())
}

fn create_write_close(dir: &OwnedFd, i: u32) -> io::Result<()> {
    let fd = create(dir, &file(i))?;
    write_all(&fd, &[7u8; BLOCK])
}

fn stat(dir: &OwnedFd, i: u32) -> io::Result<()> {
    statat(dir, file(i), AtFlags::empty())?;
    Ok(())
}

fn unlink(dir: &OwnedFd, i: u32) -> io::Result<()> {
    unlinkat(dir, file(i), AtFlags::empty())?;
    Ok(())
}

fn create_stat(dir: &OwnedFd, i: u32) -> io::Result<()> {
    create_write_close(dir, i)?;
    stat(dir, i)
}

fn whole_cycle(dir: &OwnedFd, i: u32) -> io::Result<()> {
    create_write_close(dir, i)?;
    stat(dir, i)?;
    unlink(dir, i)
}

fn open_read_close(dir: &OwnedFd, i: u32) -> io::Result<()> {
    let fd = openat(
        dir,
        file(i),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut buf = [0u8; BLOCK];
    rustix::io::read(&fd, &mut buf)?;
    Ok(())
}

fn missing(dir: &OwnedFd, i: u32) -> io::Result<()> {
    match statat(dir, format!("missing{i}"), AtFlags::empty()) {
        Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
        Ok(_) => Err(io::Error::other("a name that was never made exists")),
    }
}

fn mkdir(dir: &OwnedFd, i: u32) -> io::Result<()> {
    mkdirat(dir, format!("d{i}"), Mode::from_raw_mode(0o755))?;
    Ok(())
}

fn rmdir(dir: &OwnedFd, i: u32) -> io::Result<()> {
    unlinkat(dir, format!("d{i}"), AtFlags::REMOVEDIR)?;
    Ok(())
}

fn rename(dir: &OwnedFd, i: u32) -> io::Result<()> {
    renameat(dir, file(i), dir, format!("r{i}"))?;
    Ok(())
}

fn chmod(dir: &OwnedFd, i: u32) -> io::Result<()> {
    chmodat(dir, file(i), Mode::from_raw_mode(0o600), AtFlags::empty())?;
    Ok(())
}

fn symlink(dir: &OwnedFd, i: u32) -> io::Result<()> {
    symlinkat(file(i), dir, format!("l{i}"))?;
    Ok(())
}

fn readlink(dir: &OwnedFd, i: u32) -> io::Result<()> {
    readlinkat(dir, format!("l{i}"), Vec::new())?;
    Ok(())
}

fn make_listing(dir: &OwnedFd, i: u32) -> io::Result<()> {
    let sub = format!("list{i}");
    mkdirat(dir, &sub, Mode::from_raw_mode(0o755))?;
    let sub = openat(dir, &sub, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())?;
    for n in 0..LISTING {
        create(&sub, &file(n))?;
    }
    Ok(())
}

fn list(dir: &OwnedFd, i: u32) -> io::Result<()> {
    let fd = openat(
        dir,
        format!("list{i}"),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut seen = 0;
    // `Dir::new` reads this descriptor (`read_from` would open the directory a second time).
    for entry in Dir::new(fd)? {
        entry?;
        seen += 1;
    }
    if seen != LISTING + 2 {
        return Err(io::Error::other(format!(
            "listed {seen} entries, expected {}",
            LISTING + 2
        )));
    }
    Ok(())
}

fn operations() -> Vec<Operation> {
    vec![
        Operation {
            name: "create+write 4 KiB+close",
            setup: nothing,
            run: create_write_close,
        },
        Operation {
            name: "stat (just written)",
            setup: create_write_close,
            run: stat,
        },
        Operation {
            name: "stat (again)",
            setup: create_stat,
            run: stat,
        },
        Operation {
            name: "stat of a missing name",
            setup: nothing,
            run: missing,
        },
        Operation {
            name: "open+read 4 KiB+close",
            setup: create_write_close,
            run: open_read_close,
        },
        Operation {
            name: "unlink",
            setup: create_write_close,
            run: unlink,
        },
        Operation {
            name: "create+write+close+stat+unlink",
            setup: nothing,
            run: whole_cycle,
        },
        Operation {
            name: "rename",
            setup: create_write_close,
            run: rename,
        },
        Operation {
            name: "chmod",
            setup: create_write_close,
            run: chmod,
        },
        Operation {
            name: "mkdir",
            setup: nothing,
            run: mkdir,
        },
        Operation {
            name: "rmdir",
            setup: mkdir,
            run: rmdir,
        },
        Operation {
            name: "symlink",
            setup: create_write_close,
            run: symlink,
        },
        Operation {
            name: "readlink",
            setup: |d, i| create_write_close(d, i).and_then(|_| symlink(d, i)),
            run: readlink,
        },
        Operation {
            name: "list 100 entries",
            setup: make_listing,
            run: list,
        },
    ]
}

/// Measures every operation in a fresh directory `work` (created here, left for the caller to
/// remove) on a mount whose requests `counts` reports.
pub fn measure(
    work: &Path,
    options: &RoundTripOptions,
    counts: &mut dyn FnMut() -> RequestTally,
) -> io::Result<Vec<OperationCost>> {
    let iterations = options.iterations.max(1);
    let mut costs = Vec::new();
    for (n, op) in operations().into_iter().enumerate() {
        let sub = work.join(format!("op{n}"));
        std::fs::create_dir(&sub)?;
        let dir = open_dir(&sub)?;
        let mut spent = RequestTally::new();
        for i in 0..iterations {
            (op.setup)(&dir, i)
                .map_err(|e| io::Error::other(format!("{}: setup: {e}", op.name)))?;
            let before = settle(options, counts);
            (op.run)(&dir, i).map_err(|e| io::Error::other(format!("{}: {e}", op.name)))?;
            let after = settle(options, counts);
            for (name, n) in &after {
                let d = n.saturating_sub(before.get(name).copied().unwrap_or(0));
                if d > 0 {
                    *spent.entry(name.clone()).or_default() += d;
                }
            }
        }
        costs.push(OperationCost {
            operation: op.name.to_string(),
            iterations,
            requests: spent
                .into_iter()
                .map(|(name, n)| (name, n as f64 / f64::from(iterations)))
                .collect(),
        });
    }
    Ok(costs)
}

/// The counts once they stopped changing for `settle` (or at `settle_limit`).
fn settle(options: &RoundTripOptions, counts: &mut dyn FnMut() -> RequestTally) -> RequestTally {
    let deadline = Instant::now() + options.settle_limit;
    let mut last = counts();
    let mut since = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(5));
        let now = counts();
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= options.settle || Instant::now() >= deadline {
            return last;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_formatted_whole_or_with_two_decimals() {
        assert_eq!(format_count(3.0), "3");
        assert_eq!(format_count(0.5), "0.50");
        assert_eq!(format_count(10.999), "11");
    }

    #[test]
    fn the_breakdown_lists_lookups_first_and_forgets_last() {
        let op = OperationCost {
            operation: "x".into(),
            iterations: 2,
            requests: [
                ("FORGET", 1.0),
                ("CREATE", 1.0),
                ("LOOKUP", 1.0),
                ("WRITE", 0.5),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        };
        assert_eq!(breakdown(&op), "LOOKUP 1, CREATE 1, WRITE 0.50, FORGET 1");
        assert_eq!(op.total(), 3.5);
    }

    /// On a directory nobody counts, every operation runs and costs nothing.
    #[test]
    fn every_operation_runs_on_a_plain_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let options = RoundTripOptions {
            iterations: 2,
            settle: Duration::from_millis(1),
            settle_limit: Duration::from_millis(10),
        };
        let costs = measure(tmp.path(), &options, &mut RequestTally::new).unwrap();
        assert_eq!(costs.len(), operations().len());
        assert!(costs.iter().all(|c| c.total() == 0.0 && c.iterations == 2));
    }
}
