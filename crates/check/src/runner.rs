//! Running the selected cases: validates the judged directory, makes the run's work directory
//! (`DIR/.fusekit-check-<pid>-<seed>-<n>`) and one fresh subdirectory per case, runs each case
//! on a worker thread with a deadline (a hang is a FAIL "timed out" and the suite goes on,
//! leaving that thread behind), and removes everything it created, even after failures.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::cases::Case;
use crate::ctx::Ctx;
use crate::env::Env;
use crate::report::{CaseResult, Outcome, Report};
use crate::util::{errno_name, fail, skip};
use crate::{CheckError, CheckOptions};

/// Deadline for an ordinary case.
pub const CASE_DEADLINE: Duration = Duration::from_secs(20);
/// Deadline for removing a case directory or the work directory.
const CLEANUP_DEADLINE: Duration = Duration::from_secs(20);

static RUNS: AtomicU64 = AtomicU64::new(0);

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

fn validate(dir: &Path) -> Result<PathBuf, CheckError> {
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CheckError::Missing(dir.to_path_buf()))
        }
        Err(source) => {
            return Err(CheckError::Io {
                what: format!("stat {}", dir.display()),
                source,
            })
        }
    };
    if !meta.is_dir() {
        return Err(CheckError::NotADirectory(dir.to_path_buf()));
    }
    std::fs::canonicalize(dir).map_err(|source| CheckError::Io {
        what: format!("resolve {}", dir.display()),
        source,
    })
}

/// Removes `name` under `parent` recursively, restoring write/search permission on
/// directories first so read-only leftovers of a case can go too.
pub fn remove_tree(parent: impl AsFd, name: &str) -> rustix::io::Result<()> {
    let parent = parent.as_fd();
    match rustix::fs::unlinkat(parent, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        Err(Errno::ISDIR) | Err(Errno::PERM) => {}
        Err(e) => return Err(e),
    }
    let st = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return rustix::fs::unlinkat(parent, name, AtFlags::empty());
    }
    let _ = rustix::fs::chmodat(parent, name, Mode::from_raw_mode(0o700), AtFlags::empty());
    let fd = rustix::fs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut dir = rustix::fs::Dir::read_from(&fd)?;
    let mut names = Vec::new();
    while let Some(e) = dir.read() {
        let n = e?.file_name().to_string_lossy().into_owned();
        if n != "." && n != ".." {
            names.push(n);
        }
    }
    for n in names {
        remove_tree(&fd, &n)?;
    }
    rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR)
}

/// Removes the work directory when dropped (also on panic), with a deadline.
struct WorkDir {
    parent: PathBuf,
    name: String,
    notes: Vec<String>,
}

impl WorkDir {
    fn cleanup(&mut self) {
        let (parent, name) = (self.parent.clone(), self.name.clone());
        let r = with_deadline("cleanup", CLEANUP_DEADLINE, move || {
            let p = rustix::fs::open(&parent, OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
            remove_tree(&p, &name)
        });
        let path = self.parent.join(&self.name);
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.notes.push(format!(
                "could not remove {}: {}",
                path.display(),
                errno_name(e)
            )),
            Err(a) => self
                .notes
                .push(format!("removing {} did not finish: {a:?}", path.display())),
        }
        self.name.clear();
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.name.is_empty() {
            self.cleanup();
        }
    }
}

/// Runs the selected cases against `opts.dir`.
pub fn run(opts: &CheckOptions, cases: Vec<&'static Case>) -> Result<Report, CheckError> {
    let started = Instant::now();
    let dir = validate(&opts.dir)?;
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let name = format!(".fusekit-check-{}-{}-{}", std::process::id(), opts.seed, n);
    let work_path = dir.join(&name);
    if let Err(e) = rustix::fs::mkdir(&work_path, Mode::from_raw_mode(0o755)) {
        return Err(match e {
            Errno::ROFS | Errno::ACCESS | Errno::PERM => CheckError::NotWritable {
                dir: dir.clone(),
                errno: errno_name(e),
            },
            e => CheckError::Io {
                what: format!("mkdir {}", work_path.display()),
                source: std::io::Error::from_raw_os_error(e.raw_os_error()),
            },
        });
    }
    let mut work = WorkDir {
        parent: dir.clone(),
        name,
        notes: Vec::new(),
    };
    let perm = Mode::from_raw_mode(0o755);
    let _ = rustix::fs::chmod(&work_path, perm);
    let probe = work_path.join(".probe");
    let _ = rustix::fs::mkdir(&probe, perm);
    let env = Arc::new(Env::probe(&dir, &probe));
    let _ = remove_tree(
        rustix::fs::open(
            &work_path,
            OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| CheckError::Io {
            what: format!("open {}", work_path.display()),
            source: std::io::Error::from_raw_os_error(e.raw_os_error()),
        })?,
        ".probe",
    );
    let workfd = rustix::fs::open(
        &work_path,
        OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| CheckError::Io {
        what: format!("open {}", work_path.display()),
        source: std::io::Error::from_raw_os_error(e.raw_os_error()),
    })?;
    let total = cases.len();
    let mut results = Vec::with_capacity(total);
    for (i, case) in cases.into_iter().enumerate() {
        let t0 = Instant::now();
        let outcome = run_one(case, opts, &env, &workfd, &work_path, &mut work.notes);
        let r = CaseResult {
            name: case.name.to_string(),
            family: case.family.to_string(),
            outcome,
            duration: t0.elapsed(),
        };
        if opts.progress {
            eprintln!("[{}/{}] {} {}", i + 1, total, r.name, r.outcome.word());
        }
        results.push(r);
    }
    drop(workfd);
    work.cleanup();
    Ok(Report {
        dir,
        fs_type: env.fs_type.clone(),
        mount_options: env.mount_opts.clone(),
        seed: opts.seed,
        cases: results,
        notes: std::mem::take(&mut work.notes),
        elapsed: started.elapsed(),
    })
}

fn run_one(
    case: &'static Case,
    opts: &CheckOptions,
    env: &Arc<Env>,
    workfd: &rustix::fd::OwnedFd,
    work_path: &Path,
    notes: &mut Vec<String>,
) -> Outcome {
    if let Err(reason) = env.check_needs(case.needs) {
        return skip(reason);
    }
    let made = rustix::fs::mkdirat(workfd, case.name, Mode::from_raw_mode(0o755))
        .and_then(|()| {
            rustix::fs::chmodat(
                workfd,
                case.name,
                Mode::from_raw_mode(0o755),
                AtFlags::empty(),
            )
        })
        .and_then(|()| {
            rustix::fs::openat(
                workfd,
                case.name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
        });
    let dirfd = match made {
        Ok(fd) => fd,
        Err(e) => {
            return fail(
                "success",
                errno_name(e),
                format!("creating the case directory {}", case.name),
            )
        }
    };
    let race = Duration::from_secs_f64(opts.race_seconds.clamp(0.0, 3600.0));
    let deadline = if case.family == "race" {
        CASE_DEADLINE + race * 2
    } else {
        CASE_DEADLINE
    };
    let ctx = Ctx {
        dir: dirfd,
        path: work_path.join(case.name),
        name: case.name,
        seed: opts.seed,
        race,
        env: env.clone(),
    };
    let run = case.run;
    let outcome = match with_deadline(case.name, deadline, move || run(&ctx)) {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(o)) => o,
        Err(Abort::TimedOut) => {
            notes.push(format!(
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
    let wfd = match workfd.try_clone() {
        Ok(fd) => fd,
        Err(_) => return outcome,
    };
    match with_deadline("cleanup", CLEANUP_DEADLINE, move || remove_tree(&wfd, name)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => notes.push(format!(
            "could not remove case dir {name}: {}",
            errno_name(e)
        )),
        Err(a) => notes.push(format!("removing case dir {name} did not finish: {a:?}")),
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
}
