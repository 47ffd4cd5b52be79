//! fusekit-check: a conformance and race suite that judges any mounted directory — a fusekit
//! mount, a libfuse or go-fuse filesystem, ext4, tmpfs — as an ordinary program would, and
//! explains every failure (expected vs observed errno or value).
//!
//! Expectations are Linux/tmpfs semantics. Each case runs in its own fresh subdirectory of the
//! judged directory, on a worker thread with a deadline; everything the suite creates is
//! removed at the end. Cases that need a feature the filesystem lacks (xattrs, O_TMPFILE,
//! root, …) are skipped with the reason the probe saw; a skip never counts as a pass.
//!
//! # Families
//!
//! | family | what it judges |
//! |---|---|
//! | `open` | O_CREAT/O_EXCL/O_TRUNC/O_APPEND/O_NOFOLLOW/O_DIRECTORY/O_NOATIME and their errnos, permission checks as another user |
//! | `truncate` | truncate/ftruncate sizes, zero fill, offsets, sparseness |
//! | `attr` | chmod/chown/utimensat (UTIME_NOW/OMIT), ctime, setuid/setgid clearing |
//! | `link`, `dir` | link/unlink, mkdir/rmdir: link counts, errnos, parent times, sticky dirs |
//! | `rename` | rename and renameat2 (NOREPLACE, EXCHANGE, WHITEOUT), loops, `..`, open fds |
//! | `unlinked` | open-unlink-close: I/O, fstat nlink 0, no hidden files |
//! | `tmpfile` | O_TMPFILE and linkat via /proc/self/fd |
//! | `readdir` | exact listings, d_type/d_ino, telldir/seekdir, churn |
//! | `mmap`, `sparse` | mapping coherence; offsets beyond 4 GiB |
//! | `lock` | POSIX locks across processes, OFD locks, flock |
//! | `xattr`, `fallocate`, `copy`, `statx`, `symlink`, `node`, `times` | the rest of what programs rely on |
//! | `race` | seeded, time-bounded races (release vs unlink, O_EXCL winners, …) |
//! | `peer` | coherence between two mounts of one shared store (`--peer DIR2`): close-to-open data and attributes, create/unlink/rename visibility, unlink or rename-over while open on the other side, POSIX/OFD/flock exclusion and blocked waiters, O_APPEND from both sides, size and mtime propagation |
//!
//! The `peer` family runs only when [`CheckOptions::peer`] names the same directory seen
//! through another mount ("B"; `dir` is "A"); otherwise each case skips with "needs --peer".
//! The run first proves that a file written through A appears through B within
//! [`CheckOptions::peer_wait`]; if it never does, every peer case fails with "DIR2 does not
//! show DIR's files". Each case polls B for what it waits for, bounded by `peer_wait`, and the
//! report lists every wait with its latency ([`CaseResult::peer_waits`]).
//!
//! A case lists the feature tags it needs (`root`, `other_user`, `xattr`, `tmpfile`, `atime`,
//! `fallocate`, `punch_hole`, `mmap`, `sparse_4g`, `peer`); each is probed once per run and a missing
//! one skips the case with the probe's answer as the reason.
//!
//! ```no_run
//! let opts = fusekit_check::CheckOptions::new("/mnt/myfs");
//! let report = fusekit_check::run(&opts).expect("usable directory");
//! print!("{}", report.render_table());
//! assert!(report.success());
//! ```

#![forbid(clippy::todo, clippy::unimplemented)]
#![warn(missing_docs)]

use std::path::PathBuf;

use serde::Serialize;

mod cases;
mod child;
mod creds;
mod ctx;
mod env;
mod filter;
mod map;
mod peer;
mod progress;
mod report;
mod rng;
mod runner;
mod stat;
mod util;
mod workdir;

pub use peer::PeerWait;
pub use report::{CaseResult, Outcome, Report};

/// What to judge and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The directory to judge (must exist and be writable).
    pub dir: PathBuf,
    /// Run only cases matched by one of these patterns (empty = all). A pattern matches a
    /// case when it is a substring of its name, equals its family, or glob-matches (`*`, `?`)
    /// the whole name or family.
    pub only: Vec<String>,
    /// Leave out cases matched by one of these patterns.
    pub skip: Vec<String>,
    /// Seed for race cases and generated data: the same seed gives the same run.
    pub seed: u64,
    /// How long each race case runs, in seconds.
    pub race_seconds: f64,
    /// Progress on stderr: one line per finished case, or, when stderr is a terminal, one
    /// status line rewritten in place and cleared at the end.
    pub progress: bool,
    /// The same directory as `dir` seen through another mount (`--peer DIR2`); the `peer`
    /// family runs only when it is given.
    pub peer: Option<PathBuf>,
    /// How long a peer case waits for a change made through `dir` to show through `peer`
    /// (polling), in seconds.
    pub peer_wait: f64,
}

impl CheckOptions {
    /// Defaults for `dir`: all cases, seed 1, 2 s per race case, no progress lines, no peer,
    /// 5 s peer visibility bound.
    pub fn new(dir: impl Into<PathBuf>) -> CheckOptions {
        CheckOptions {
            dir: dir.into(),
            only: Vec::new(),
            skip: Vec::new(),
            seed: 1,
            race_seconds: 2.0,
            progress: false,
            peer: None,
            peer_wait: 5.0,
        }
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The directory does not exist.
    #[error("{0}: no such directory")]
    Missing(PathBuf),
    /// The path exists but is not a directory.
    #[error("{0}: not a directory")]
    NotADirectory(PathBuf),
    /// The suite could not create its work directory inside `dir`.
    #[error("{dir}: not writable (creating the work directory answered {errno}); fusekit check needs a writable directory")]
    NotWritable {
        /// The judged directory.
        dir: PathBuf,
        /// The errno name, e.g. `EROFS`.
        errno: String,
    },
    /// The directory did not answer in time (a hung mount); nothing was run.
    #[error("{dir}: no answer within {secs} s while setting up (is the filesystem hung?)")]
    Unresponsive {
        /// The judged directory.
        dir: PathBuf,
        /// The deadline that passed.
        secs: u64,
    },
    /// `--peer` names no usable second view of the directory.
    #[error("--peer {peer}: {reason}")]
    BadPeer {
        /// The peer directory given.
        peer: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The patterns selected no case.
    #[error("no case matches --only {only:?} / --skip {skip:?}; see the case list")]
    NoCasesSelected {
        /// The `only` patterns.
        only: Vec<String>,
        /// The `skip` patterns.
        skip: Vec<String>,
    },
    /// Another I/O error while setting up.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Description of one case, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseInfo {
    /// Case name, e.g. `open_excl_existing_eexist`.
    pub name: String,
    /// Family, e.g. `open`.
    pub family: String,
    /// What it checks, in one sentence.
    pub description: String,
    /// Feature tags it needs (`root`, `xattr`, `tmpfile`, `atime`, …); missing ones skip it.
    pub needs: Vec<String>,
}

/// Every case in suite order.
pub fn list_cases() -> Vec<CaseInfo> {
    cases::all()
        .iter()
        .map(|c| CaseInfo {
            name: c.name.to_string(),
            family: c.family.to_string(),
            description: c.desc.to_string(),
            needs: c.needs.iter().map(|s| s.to_string()).collect(),
        })
        .collect()
}

/// Runs the selected cases against `opts.dir` and reports every outcome.
pub fn run(opts: &CheckOptions) -> Result<Report, CheckError> {
    let selected: Vec<&'static cases::Case> = cases::all()
        .iter()
        .filter(|c| filter::selected(&opts.only, &opts.skip, c.name, c.family))
        .copied()
        .collect();
    if selected.is_empty() {
        return Err(CheckError::NoCasesSelected {
            only: opts.only.clone(),
            skip: opts.skip.clone(),
        });
    }
    runner::run(opts, selected, runner::Limits::default())
}
