//! `fusekit bench --round-trips`: the FUSE requests everyday operations cost, by opcode, on
//! memfs and passthrough as `fusekit mount` serves them. Both are mounted in this process on
//! temporary directories, so the counts come straight from each session's statistics; the
//! operations themselves are `fusekit_bench`'s. Every mount is undone on the way out, on
//! error and on SIGINT/SIGTERM too.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use fusekit::mount::Unmounter;
use fusekit::{BackgroundSession, Filesystem, MountOptions, Session, Transport};
use fusekit_bench::{measure_round_trips, RequestTally, RoundTripOptions, RoundTrips};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::args::{BenchArgs, DEFAULT_CACHE_TIMEOUT};
use crate::mount_cmd::{memfs, passthrough_options};
use crate::out;

/// The mount being measured, for the signal thread to undo.
type Current = Arc<Mutex<Option<Unmounter>>>;

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let transport: Transport = args.transport.into();
    let ttl = Duration::from_secs_f64(DEFAULT_CACHE_TIMEOUT);
    let work = tempfile::Builder::new()
        .prefix("fusekit-round-trips.")
        .tempdir()
        .context("cannot make a temporary directory for the mounts")?;
    let current: Current = Arc::new(Mutex::new(None));
    undo_on_signal(Arc::clone(&current), work.path().to_path_buf())?;

    let run = Run {
        work: work.path(),
        transport,
        ttl,
        iterations: args.iterations,
        current: &current,
    };
    let memfs = memfs(
        fusekit_memfs::Limits::tmpfs_default(),
        fusekit_memfs::AdapterOptions {
            ttl,
            writeback_cache: false,
            request_timeout: None,
        },
    );
    let source = work.path().join("passthrough-source");
    std::fs::create_dir(&source).with_context(|| format!("cannot create {}", source.display()))?;
    let passthrough =
        fusekit_passthrough::Passthrough::new(&source, passthrough_options(false, false, ttl))?;
    let reports = [
        run.measure("memfs", memfs)?,
        run.measure("passthrough", passthrough)?,
    ];

    for r in &reports {
        out::print(&r.render_table())?;
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&reports).expect("round trips serialize");
        std::fs::write(path, text).with_context(|| format!("--json {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What every filesystem of one `--round-trips` run is measured with.
#[derive(Clone, Copy)]
struct Run<'a> {
    work: &'a Path,
    transport: Transport,
    ttl: Duration,
    iterations: u32,
    current: &'a Current,
}

impl Run<'_> {
    /// Mounts `fs` under the work directory, counts the operations, unmounts.
    fn measure<FS: Filesystem>(&self, name: &str, fs: FS) -> anyhow::Result<RoundTrips> {
        let Run {
            work,
            transport,
            ttl,
            iterations,
            current,
        } = *self;
        let mountpoint = work.join(format!("{name}-mnt"));
        std::fs::create_dir(&mountpoint)
            .with_context(|| format!("cannot create {}", mountpoint.display()))?;
        let options = MountOptions::new()
            .fsname(name)
            .subtype(name)
            .default_permissions(true);
        let session = Session::mount(fs, &mountpoint, &options)
            .with_context(|| format!("cannot mount {name} on {}", mountpoint.display()))?
            .transport(transport)
            .spawn()
            .with_context(|| format!("{name}: the session failed to start"))?;
        let mounted = Mounted::new(session, current);
        let in_use = mounted.session().transport_in_use();
        let dir = mountpoint.join("work");
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let stats = mounted.session().stats_handle();
        let mut counts = || -> RequestTally {
            let by_opcode = stats.snapshot().by_opcode;
            let mut tally: RequestTally = by_opcode
                .iter()
                .map(|(op, n)| (op.name().to_string(), n))
                .collect();
            if by_opcode.other() > 0 {
                tally.insert("other".to_string(), by_opcode.other());
            }
            tally
        };
        let options = RoundTripOptions {
            iterations,
            ..RoundTripOptions::default()
        };
        let operations = measure_round_trips(&dir, &options, &mut counts)
            .with_context(|| format!("{name}: round trips"))?;
        mounted.finish()?;
        Ok(RoundTrips {
            filesystem: format!("{name} ({in_use})"),
            settings: format!(
                "as `fusekit mount {name}` serves it: default_permissions, --timeout {}",
                ttl.as_secs_f64()
            ),
            operations,
        })
    }
}

/// A mounted session that is unmounted when dropped (an error on the way) or finished.
struct Mounted<'a> {
    session: Option<BackgroundSession>,
    current: &'a Current,
}

impl<'a> Mounted<'a> {
    fn new(session: BackgroundSession, current: &'a Current) -> Self {
        *current.lock().unwrap_or_else(|p| p.into_inner()) = session.unmounter();
        Mounted {
            session: Some(session),
            current,
        }
    }

    fn session(&self) -> &BackgroundSession {
        self.session.as_ref().expect("mounted until finished")
    }

    /// Unmounts and waits for the session to end.
    fn finish(mut self) -> anyhow::Result<()> {
        let session = self.session.take().expect("finished once");
        let shown = session
            .mountpoint()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
        session
            .unmount_and_join()
            .with_context(|| format!("cannot unmount {shown}"))
    }
}

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
            if let Err(e) = session.unmount_and_join() {
                tracing::warn!(error = %e, "cannot unmount after a failed measurement");
            }
        }
    }
}

/// SIGINT or SIGTERM while measuring: detach the current mount, remove the temporary
/// directories (`exit` runs no destructors) and exit 130.
fn undo_on_signal(current: Current, work: PathBuf) -> anyhow::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM]).context("cannot install signal handlers")?;
    std::thread::Builder::new()
        .name("round-trips-signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                if let Some(u) = current.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    // Lazy: the measuring thread may be inside the mount right now.
                    let _ = u.unmount();
                }
                let _ = std::fs::remove_dir_all(&work);
                std::process::exit(130);
            }
        })
        .context("cannot start the signal thread")?;
    Ok(())
}
