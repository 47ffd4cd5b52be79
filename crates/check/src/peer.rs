//! The second mount of `--peer DIR2`: proving once per run that DIR2 shows DIR's files (a
//! probe file written through DIR must appear, with its content, under the same relative path
//! of DIR2 within the visibility bound), giving each peer case its own directory as seen
//! through DIR2, and the bounded polling with which every peer case waits for visibility. Each
//! wait is recorded (what, how long, whether it was seen) so the report can show it.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::fs::{AtFlags, Mode, OFlags};
use serde::Serialize;

use crate::util::{errno_name, fail, read_all, skip, write_all, St, R};

/// Name of the probe file written in the work directory through DIR.
const PROBE: &str = ".peer-probe";

/// One bounded wait of a peer case for something to become visible through DIR2.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeerWait {
    /// What was waited for, e.g. "data written on A readable on B".
    pub what: String,
    /// How long the wait took (up to the bound when it was never seen).
    pub waited_ms: f64,
    /// True when it was seen within the bound.
    pub seen: bool,
}

/// What the run knows about DIR2: nothing (no `--peer`), the work directory as seen through
/// it, or why DIR2 does not show DIR's files.
#[derive(Debug, Clone)]
pub enum PeerRoot {
    /// No `--peer` was given.
    None,
    /// The run's work directory, reached through DIR2.
    Shown(PathBuf),
    /// DIR2 did not show the probe file; the sentence says what was seen.
    Blind(String),
}

/// A case's handle on the peer: the root, the bound, and where waits are recorded.
#[derive(Debug, Clone)]
pub struct PeerLink {
    /// DIR2's view of the work directory (or why there is none).
    pub root: PeerRoot,
    /// How long one wait may take (`--peer-wait`).
    pub bound: Duration,
    /// Waits recorded by the case, read by the runner afterwards.
    pub waits: Arc<Mutex<Vec<PeerWait>>>,
}

/// The case directory as seen through DIR2 ("B"; the case's own `Ctx` is "A").
#[derive(Debug)]
pub struct Peer {
    /// The case directory opened through DIR2.
    pub dir: OwnedFd,
    link: PeerLink,
}

impl PeerLink {
    /// Opens the case directory `case` through DIR2, waiting for it to appear.
    pub fn open(&self, case: &str) -> R<Peer> {
        let root = match &self.root {
            PeerRoot::None => return Err(skip("needs --peer DIR2")),
            PeerRoot::Blind(why) => {
                return Err(fail(
                    "DIR2 shows DIR's files",
                    "DIR2 does not show DIR's files",
                    why,
                ))
            }
            PeerRoot::Shown(root) => root.clone(),
        };
        let path = root.join(case);
        let dir = self.wait("the case directory made on A present on B", || {
            rustix::fs::open(
                &path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| format!("open {} answered {}", path.display(), errno_name(e)))
        })?;
        Ok(Peer {
            dir,
            link: self.clone(),
        })
    }

    /// Polls `probe` until it answers `Ok` or the bound passes; records the wait either way.
    /// A probe answers `Err(what it saw)`; the last one is the failure's observation.
    pub fn wait<T>(&self, what: &str, mut probe: impl FnMut() -> Result<T, String>) -> R<T> {
        let t0 = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let seen = probe();
            let waited = t0.elapsed();
            if seen.is_ok() || waited >= self.bound {
                self.record(what, waited, seen.is_ok());
                return seen.map_err(|last| {
                    fail(
                        what,
                        last,
                        format!(
                            "on DIR2 after waiting {:.1} s (--peer-wait)",
                            waited.as_secs_f64()
                        ),
                    )
                });
            }
            std::thread::sleep(pause.min(self.bound.saturating_sub(waited)));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    fn record(&self, what: &str, waited: Duration, seen: bool) {
        let w = PeerWait {
            what: what.to_string(),
            waited_ms: (waited.as_secs_f64() * 1e6).round() / 1000.0,
            seen,
        };
        self.waits.lock().unwrap_or_else(|p| p.into_inner()).push(w);
    }
}

impl Peer {
    /// Polls `probe` until it answers `Ok` or `--peer-wait` passes, recording the wait.
    pub fn wait<T>(&self, what: &str, probe: impl FnMut() -> Result<T, String>) -> R<T> {
        self.link.wait(what, probe)
    }

    /// `openat` on B without judging.
    pub fn try_open(&self, name: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        rustix::fs::openat(&self.dir, name, flags | OFlags::CLOEXEC, Mode::empty())
    }

    /// `lstat` on B without judging.
    pub fn try_stat(&self, name: &str) -> rustix::io::Result<St> {
        rustix::fs::statat(&self.dir, name, AtFlags::SYMLINK_NOFOLLOW).map(St::from)
    }

    /// Waits until `name` opened anew on B reads exactly `want`.
    pub fn wait_content(&self, what: &str, name: &str, want: &[u8]) -> R<()> {
        self.wait(what, || {
            let fd = self
                .try_open(name, OFlags::RDONLY)
                .map_err(|e| format!("open {name} answered {}", errno_name(e)))?;
            let got = read_all(&fd).map_err(|e| format!("read {name}: {}", errno_name(e)))?;
            if got == want {
                Ok(())
            } else {
                Err(describe_content(want, &got))
            }
        })
    }

    /// Waits until `name` is found by lookup on B; returns its stat.
    pub fn wait_present(&self, what: &str, name: &str) -> R<St> {
        self.wait(what, || {
            self.try_stat(name)
                .map_err(|e| format!("lstat {name} answered {}", errno_name(e)))
        })
    }

    /// Waits until lookup of `name` on B answers ENOENT.
    pub fn wait_gone(&self, what: &str, name: &str) -> R<()> {
        self.wait(what, || match self.try_stat(name) {
            Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(format!("lstat {name} answered {}", errno_name(e))),
            Ok(st) => Err(format!("{name} still exists on B (size {})", st.size)),
        })
    }
}

/// "N bytes, differing from byte K" (or the lengths) for a content mismatch.
pub fn describe_content(want: &[u8], got: &[u8]) -> String {
    match want.iter().zip(got).position(|(a, b)| a != b) {
        Some(i) => format!("{} bytes, the first difference at byte {i}", got.len()),
        None => format!("{} bytes where {} were written", got.len(), want.len()),
    }
}

/// Proves that DIR2 shows DIR's work directory `name` (its probe file and content) within
/// `bound`; any other answer is the reason DIR2 is blind.
pub fn verify(work: BorrowedFd<'_>, peer_dir: &Path, name: &str, bound: Duration) -> PeerRoot {
    let token = format!("fusekit-check peer probe {} {name}", std::process::id());
    let made = rustix::fs::openat(
        work,
        PROBE,
        OFlags::CREATE | OFlags::WRONLY | OFlags::TRUNC | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .and_then(|fd| write_all(&fd, token.as_bytes()));
    if let Err(e) = made {
        return PeerRoot::Blind(format!(
            "could not write the probe file in DIR: {}",
            errno_name(e)
        ));
    }
    let root = peer_dir.join(name);
    let probe = root.join(PROBE);
    let t0 = Instant::now();
    let last = loop {
        let seen = std::fs::read(&probe);
        match &seen {
            Ok(b) if b == token.as_bytes() => break None,
            _ if t0.elapsed() >= bound => break Some(seen),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let _ = rustix::fs::unlinkat(work, PROBE, AtFlags::empty());
    match last {
        None => PeerRoot::Shown(root),
        Some(seen) => {
            let observed = match seen {
                Ok(b) => describe_content(token.as_bytes(), &b),
                Err(e) => e.to_string(),
            };
            PeerRoot::Blind(format!(
                "DIR2 does not show DIR's files: {} written through DIR was not readable as {} \
                 within {:.1} s ({observed})",
                PROBE,
                probe.display(),
                bound.as_secs_f64()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn link(root: PeerRoot, bound_ms: u64) -> PeerLink {
        PeerLink {
            root,
            bound: Duration::from_millis(bound_ms),
            waits: Arc::new(Mutex::new(Vec::new())),
        }
    }

    #[test]
    fn a_wait_that_is_never_satisfied_fails_with_the_last_observation_after_the_bound() {
        let l = link(PeerRoot::None, 120);
        let mut polls = 0;
        let t0 = Instant::now();
        let r: R<()> = l.wait("x on B", || {
            polls += 1;
            Err(format!("seen {polls}"))
        });
        assert!(t0.elapsed() >= Duration::from_millis(120));
        assert!(polls >= 3, "polled {polls} times");
        assert_eq!(
            r,
            Err(fail(
                "x on B",
                format!("seen {polls}"),
                "on DIR2 after waiting 0.1 s (--peer-wait)"
            ))
        );
        let w = l.waits.lock().expect("waits")[0].clone();
        assert!(!w.seen && w.waited_ms >= 120.0, "{w:?}");
    }

    #[test]
    fn a_wait_records_how_long_it_took_to_be_seen() {
        let l = link(PeerRoot::None, 5000);
        let t0 = Instant::now();
        let got = l.wait("later", || {
            if t0.elapsed() >= Duration::from_millis(30) {
                Ok(7)
            } else {
                Err("not yet".to_string())
            }
        });
        assert_eq!(got, Ok(7));
        let w = l.waits.lock().expect("waits")[0].clone();
        assert!(
            w.seen && w.waited_ms >= 30.0 && w.waited_ms < 1000.0,
            "{w:?}"
        );
    }

    #[test]
    fn open_skips_without_a_peer_and_fails_with_a_blind_one() {
        let none = link(PeerRoot::None, 10).open("c").map(drop);
        assert_eq!(none, Err(skip("needs --peer DIR2")));
        let blind = link(PeerRoot::Blind("why".into()), 10).open("c").map(drop);
        assert_eq!(
            blind,
            Err(fail(
                "DIR2 shows DIR's files",
                "DIR2 does not show DIR's files",
                "why"
            ))
        );
    }

    fn open_dir(p: &Path) -> OwnedFd {
        rustix::fs::open(p, OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).expect("open")
    }

    #[test]
    fn verify_sees_the_same_directory_and_not_an_unrelated_one() {
        let a = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(a.path().join("w")).expect("mkdir");
        let work = open_dir(&a.path().join("w"));
        let bound = Duration::from_millis(200);
        match verify(work.as_fd(), a.path(), "w", bound) {
            PeerRoot::Shown(root) => assert_eq!(root, a.path().join("w")),
            other => panic!("expected Shown, got {other:?}"),
        }
        let unrelated = tempfile::tempdir().expect("temp dir");
        match verify(work.as_fd(), unrelated.path(), "w", bound) {
            PeerRoot::Blind(why) => {
                assert!(why.starts_with("DIR2 does not show DIR's files"), "{why}");
                assert!(why.contains("No such file"), "{why}");
            }
            other => panic!("expected Blind, got {other:?}"),
        }
        let left: Vec<_> = std::fs::read_dir(a.path().join("w")).expect("ls").collect();
        assert!(left.is_empty(), "the probe file stayed: {left:?}");
    }

    #[test]
    fn content_differences_are_described() {
        assert_eq!(
            describe_content(b"abc", b"abd"),
            "3 bytes, the first difference at byte 2"
        );
        assert_eq!(
            describe_content(b"abc", b"ab"),
            "2 bytes where 3 were written"
        );
    }
}
