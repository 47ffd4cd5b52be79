//! Running the selected cases: each case gets a fresh subdirectory of the work directory and
//! runs on a worker thread with a deadline. A hang is a FAIL "timed out" and the suite goes on
//! (the stuck thread is left behind and noted); after several time-outs in a row the rest is
//! skipped as "filesystem looks hung" instead of waiting on each. Case directories are removed
//! after each case, the work directory at the end.

use std::os::fd::OwnedFd;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::cases::Case;
use crate::ctx::Ctx;
use crate::env::Env;
use crate::peer::{PeerLink, PeerWait};
use crate::progress::Progress;
use crate::report::{CaseResult, Outcome, Report};
use crate::util::{errno_name, fail, skip, R};
use crate::workdir::{remove_tree, WorkDir};
use crate::{CheckError, CheckOptions};

/// Time bounds of a run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deadline of an ordinary case (race cases get twice the race time on top).
    pub case: Duration,
    /// Deadline of setup (validate, work dir, probes) and of each cleanup.
    pub setup: Duration,
    /// Consecutive time-outs after which the remaining cases are skipped.
    pub max_timeouts_in_a_row: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            case: Duration::from_secs(20),
            setup: Duration::from_secs(20),
            max_timeouts_in_a_row: 3,
        }
    }
}

/// How a deadline-bounded call ended, when it did not return normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abort {
    /// Still running when the deadline passed (the thread is left behind).
    TimedOut,
    /// The call panicked with this message.
    Panicked(String),
}

/// Runs `f` on its own thread and waits at most `limit` for it.
pub fn with_deadline<T: Send + 'static>(
    label: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Abort> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("check:{label}"))
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        return Err(Abort::Panicked(format!(
            "could not start a worker thread: {e}"
        )));
    }
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(p)) => Err(Abort::Panicked(panic_message(p.as_ref()))),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Abort::TimedOut),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(Abort::Panicked("worker thread vanished".into()))
        }
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

/// Runs `cases` against `opts.dir` within `limits`.
pub fn run(
    opts: &CheckOptions,
    cases: Vec<&'static Case>,
    limits: Limits,
) -> Result<Report, CheckError> {
    let started = Instant::now();
    let bound = peer_bound(opts);
    let peer = opts.peer.as_deref().map(|p| (p, bound));
    let mut work = WorkDir::create(&opts.dir, opts.seed, limits.setup, peer)?;
    let env = Arc::new(work.env.clone());
    let total = cases.len();
    let mut results = Vec::with_capacity(total);
    let mut timeouts_in_a_row = 0;
    let progress = Progress::new(opts.progress);
    for (i, case) in cases.into_iter().enumerate() {
        progress.start(i, total, case.name);
        let t0 = Instant::now();
        let link = PeerLink {
            root: work.peer.clone(),
            bound,
            waits: Arc::new(Mutex::new(Vec::new())),
        };
        let outcome = if timeouts_in_a_row >= limits.max_timeouts_in_a_row {
            skip(format!(
                "not run: {timeouts_in_a_row} cases in a row timed out, the filesystem looks hung"
            ))
        } else {
            run_one(case, opts, &env, &mut work, limits, link.clone())
        };
        let peer_waits: Vec<PeerWait> = link.waits.lock().map(|w| w.clone()).unwrap_or_default();
        let timed_out =
            matches!(&outcome, Outcome::Fail { observed, .. } if observed == "timed out");
        timeouts_in_a_row = if timed_out { timeouts_in_a_row + 1 } else { 0 };
        let r = CaseResult {
            name: case.name.to_string(),
            family: case.family.to_string(),
            outcome,
            duration: t0.elapsed(),
            peer_waits,
        };
        tracing::debug!(case = %r.name, outcome = r.outcome.word(), ms = r.duration.as_millis() as u64, "case finished");
        progress.finish(i, total, &r.name, r.outcome.word());
        results.push(r);
    }
    progress.done();
    work.cleanup();
    Ok(Report {
        dir: work.dir.clone(),
        fs_type: env.fs_type.clone(),
        mount_options: env.mount_opts.clone(),
        seed: opts.seed,
        peer: opts.peer.clone(),
        cases: results,
        notes: std::mem::take(&mut work.notes),
        elapsed: started.elapsed(),
    })
}

/// `--peer-wait` as a duration (clamped to 0..=3600 s).
fn peer_bound(opts: &CheckOptions) -> Duration {
    let secs = if opts.peer_wait.is_finite() {
        opts.peer_wait
    } else {
        5.0
    };
    Duration::from_secs_f64(secs.clamp(0.0, 3600.0))
}

/// Makes the case's fresh directory and returns an fd of it.
fn case_dir(workfd: &OwnedFd, name: &str) -> rustix::io::Result<OwnedFd> {
    let perm = Mode::from_raw_mode(0o755);
    rustix::fs::mkdirat(workfd, name, perm)?;
    rustix::fs::chmodat(workfd, name, perm, AtFlags::empty())?;
    rustix::fs::openat(
        workfd,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn run_one(
    case: &'static Case,
    opts: &CheckOptions,
    env: &Arc<Env>,
    work: &mut WorkDir,
    limits: Limits,
    peer_link: PeerLink,
) -> Outcome {
    if let Err(reason) = env.check_needs(case.needs) {
        return skip(reason);
    }
    let workfd = match work.fd.try_clone() {
        Ok(fd) => fd,
        Err(e) => return fail("success", e, "dup of the work directory fd"),
    };
    let race = Duration::from_secs_f64(opts.race_seconds.clamp(0.0, 3600.0));
    let deadline = match case.family {
        "race" => limits.case + race * 2,
        // A peer case may wait out the visibility bound a few times before it fails.
        "peer" => limits.case + peer_link.bound * 4,
        _ => limits.case,
    };
    let (path, seed, env, run) = (work.path.join(case.name), opts.seed, env.clone(), case.run);
    let body = move || -> R<()> {
        let dir = case_dir(&workfd, case.name).map_err(|e| {
            fail(
                "success",
                errno_name(e),
                format!("creating the case directory {}", case.name),
            )
        })?;
        let ctx = Ctx {
            dir,
            path,
            name: case.name,
            seed,
            race,
            env,
            peer_link,
        };
        run(&ctx)
    };
    let outcome = match with_deadline(case.name, deadline, body) {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(o)) => o,
        Err(Abort::TimedOut) => {
            tracing::warn!(
                case = case.name,
                "case timed out; its thread is left behind"
            );
            work.notes.push(format!(
                "{} timed out; its worker thread may stay blocked in the kernel",
                case.name
            ));
            return fail(
                format!("completes within {}s", deadline.as_secs()),
                "timed out",
                "the case did not finish; the suite went on without it",
            );
        }
        Err(Abort::Panicked(msg)) => fail("no panic", "panic", msg),
    };
    let name = case.name;
    let Ok(wfd) = work.fd.try_clone() else {
        return outcome;
    };
    match with_deadline("cleanup", limits.setup, move || remove_tree(&wfd, name)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => work.notes.push(format!(
            "could not remove case dir {name}: {}",
            errno_name(e)
        )),
        Err(a) => work
            .notes
            .push(format!("removing case dir {name} did not finish: {a:?}")),
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_reports_timeout_value_and_panic() {
        assert_eq!(with_deadline("t", Duration::from_secs(5), || 7), Ok(7));
        let slow = with_deadline("t", Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_millis(500))
        });
        assert_eq!(slow, Err(Abort::TimedOut));
        let p = with_deadline("t", Duration::from_secs(5), || -> () { panic!("boom") });
        assert_eq!(p, Err(Abort::Panicked("boom".into())));
    }

    fn hangs(_: &Ctx) -> R<()> {
        std::thread::sleep(Duration::from_secs(3));
        Ok(())
    }

    fn creates(c: &Ctx) -> R<()> {
        c.create("f", b"x")?;
        crate::util::check_bytes("content", b"x", &c.read("f")?)
    }

    fn panics(_: &Ctx) -> R<()> {
        panic!("case bug")
    }

    static HANG: Case = Case {
        name: "hangs",
        family: "test",
        desc: "sleeps",
        needs: &[],
        run: hangs,
    };
    static HANG2: Case = Case {
        name: "hangs_2",
        family: "test",
        desc: "sleeps",
        needs: &[],
        run: hangs,
    };
    static HANG3: Case = Case {
        name: "hangs_3",
        family: "test",
        desc: "sleeps",
        needs: &[],
        run: hangs,
    };
    static OK: Case = Case {
        name: "creates",
        family: "test",
        desc: "creates",
        needs: &[],
        run: creates,
    };
    static PANIC: Case = Case {
        name: "panics",
        family: "test",
        desc: "panics",
        needs: &[],
        run: panics,
    };

    #[test]
    fn a_hanging_case_fails_as_timed_out_and_the_suite_goes_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        let opts = CheckOptions::new(dir.path());
        let limits = Limits {
            case: Duration::from_millis(300),
            setup: Duration::from_secs(10),
            max_timeouts_in_a_row: 2,
        };
        let cases = vec![&HANG, &OK, &PANIC, &HANG2, &HANG3, &OK];
        let r = run(&opts, cases, limits).expect("run");
        let words: Vec<&str> = r.cases.iter().map(|c| c.outcome.word()).collect();
        assert_eq!(words, ["FAIL", "ok", "FAIL", "FAIL", "FAIL", "skip"]);
        assert!(
            matches!(&r.cases[0].outcome, Outcome::Fail { observed, .. } if observed == "timed out")
        );
        assert!(
            matches!(&r.cases[2].outcome, Outcome::Fail { observed, detail, .. } if observed == "panic" && detail == "case bug")
        );
        assert!(
            matches!(&r.cases[5].outcome, Outcome::Skip { reason } if reason.contains("looks hung"))
        );
        assert!(
            r.notes.iter().any(|n| n.contains("hangs timed out")),
            "{:?}",
            r.notes
        );
        assert!(r.cases[0].duration < Duration::from_secs(2));
        std::thread::sleep(Duration::from_secs(3));
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("read_dir").collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
