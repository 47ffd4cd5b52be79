//! One soak writer: a thread of "host h" that owns the files and subdirectories it makes (named
//! `h<h>w<w>.<n>`) inside the shared directories `d0`..`d3`, changes them through its own
//! mount and, now and then, through another host's mount (appends, renames, unlinks, reads),
//! and keeps a model of their names and bytes, checked on every read.
//!
//! Visibility rule: what this writer changed through host X is seen at once by X (read your
//! writes), and by another host within [`VISIBILITY_BOUND`] (the watch's lag plus, at worst,
//! the kernel's 1 s name and attribute cache). So an operation through host H must succeed
//! (and a read must match the model) at once when every change of the last bound was made
//! through H; otherwise it is retried until the bound, and the wait is counted.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fusekit_soak::rng::Rng;

/// The longest a change may take to show through another host.
pub const VISIBILITY_BOUND: Duration = Duration::from_secs(5);
/// The shared directories every writer works in.
pub const SHARED: [&str; 4] = ["d0", "d1", "d2", "d3"];
/// Most files one writer keeps at once.
const MAX_FILES: usize = 12;
/// Most subdirectories one writer keeps at once.
const MAX_DIRS: usize = 3;
/// Largest file a writer lets grow (bytes).
const MAX_SIZE: usize = 48 * 1024;

/// What a writer did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub ops: u64,
    /// Operations that failed at first through a host still catching up with this writer's
    /// change through another, and succeeded when retried; the longest such wait.
    pub waited: u64,
    pub max_wait: Duration,
    /// The operation that waited longest, and the error it first got.
    pub max_wait_op: String,
    /// The first disagreement or unexpected error, which ended the writer.
    pub failure: Option<String>,
    /// Final model: file path -> bytes.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Final model: subdirectories this writer made.
    pub dirs: BTreeSet<String>,
}

/// A writer's state.
pub struct Writer {
    id: String,
    home: usize,
    mounts: Vec<PathBuf>,
    rng: Rng,
    next: u64,
    files: BTreeMap<String, Vec<u8>>,
    dirs: BTreeSet<String>,
    /// When this writer last changed something through each host.
    changed: Vec<Option<Instant>>,
    /// The last operations (for failure messages).
    history: Vec<String>,
    out: Outcome,
}

type Step = Result<(), String>;

impl Writer {
    pub fn new(host: usize, index: usize, mounts: Vec<PathBuf>, seed: u64) -> Writer {
        let n = mounts.len();
        Writer {
            id: format!("h{host}w{index}"),
            home: host,
            mounts,
            rng: Rng::new(seed, (host * 100 + index) as u64),
            next: 0,
            files: BTreeMap::new(),
            dirs: BTreeSet::new(),
            changed: vec![None; n],
            history: Vec::new(),
            out: Outcome::default(),
        }
    }

    /// Works until `deadline`, or the first failure.
    pub fn run(mut self, deadline: Instant) -> Outcome {
        while Instant::now() < deadline {
            if let Err(e) = self.step() {
                let last = self.history.join("; ");
                self.out.failure = Some(format!("{}: {e}; last operations: {last}", self.id));
                break;
            }
            self.out.ops += 1;
        }
        self.out.files = self.files;
        self.out.dirs = self.dirs;
        self.out
    }

    fn note(&mut self, what: String) {
        if self.history.len() == 24 {
            self.history.remove(0);
        }
        self.history.push(what);
    }

    /// The host for this operation: its own, or 1 in `foreign_pct` another.
    fn pick_host(&mut self, foreign_pct: u64) -> usize {
        let n = self.mounts.len();
        if n > 1 && self.rng.chance(foreign_pct) {
            (self.home + 1 + self.rng.index(n - 1)) % n
        } else {
            self.home
        }
    }

    /// Whether an operation through `host` may see a lagging view (see the module docs).
    fn may_lag(&self, host: usize) -> bool {
        self.changed
            .iter()
            .enumerate()
            .any(|(h, t)| h != host && t.is_some_and(|t| t.elapsed() < VISIBILITY_BOUND))
    }

    /// Runs `op` through `host`; retried (for up to the bound) only while the view may lag.
    fn through<T>(
        &mut self,
        host: usize,
        mut op: impl FnMut(&PathBuf) -> Result<T, String>,
    ) -> Result<T, String> {
        let root = self.mounts[host].clone();
        let lag = self.may_lag(host);
        let start = Instant::now();
        let mut first_error = None;
        loop {
            match op(&root) {
                Ok(v) => {
                    if let Some(e) = first_error {
                        self.out.waited += 1;
                        if start.elapsed() > self.out.max_wait {
                            self.out.max_wait = start.elapsed();
                            let what = self.history.last().cloned().unwrap_or_default();
                            self.out.max_wait_op = format!("{what} (first {e})");
                        }
                    }
                    return Ok(v);
                }
                Err(e) if lag && start.elapsed() < VISIBILITY_BOUND => {
                    first_error.get_or_insert(e);
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => {
                    let waited = if lag {
                        " (after waiting the bound)"
                    } else {
                        ""
                    };
                    return Err(format!("through host {host}{waited}: {e}"));
                }
            }
        }
    }

    fn changed_through(&mut self, host: usize) {
        self.changed[host] = Some(Instant::now());
    }

    fn step(&mut self) -> Step {
        let roll = self.rng.below(100);
        let full = self.files.len() >= MAX_FILES;
        match roll {
            _ if self.files.is_empty() => self.create(),
            0..=14 if !full => self.create(),
            0..=14 => self.unlink(),
            15..=29 => self.write(),
            30..=41 => self.append(),
            42..=46 => self.truncate(),
            47..=58 => self.rename(),
            59..=66 => self.unlink(),
            67..=72 => self.mkdir_or_rmdir(),
            _ => self.read(),
        }
    }

    /// A directory to put a file in: a shared one or one of this writer's.
    fn some_dir(&mut self) -> String {
        let dirs: Vec<String> = self.dirs.iter().cloned().collect();
        if !dirs.is_empty() && self.rng.chance(30) {
            dirs[self.rng.index(dirs.len())].clone()
        } else {
            SHARED[self.rng.index(SHARED.len())].to_owned()
        }
    }

    fn some_file(&mut self) -> String {
        let n = self.rng.index(self.files.len());
        self.files.keys().nth(n).expect("non-empty").clone()
    }

    fn fresh_name(&mut self, dir: &str) -> String {
        self.next += 1;
        format!("{dir}/{}.{}", self.id, self.next)
    }

    fn create(&mut self) -> Step {
        let dir = self.some_dir();
        let path = self.fresh_name(&dir);
        let len = self.rng.index(16 * 1024);
        let data = self.rng.bytes(len);
        let host = self.pick_host(10);
        self.note(format!("create {path} ({len} B) via {host}"));
        self.through(host, |root| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(root.join(&path))
                .map_err(|e| format!("create {path}: {e}"))?;
            f.write_all(&data).map_err(|e| format!("write {path}: {e}"))
        })?;
        self.changed_through(host);
        self.files.insert(path, data);
        Ok(())
    }

    fn write(&mut self) -> Step {
        let path = self.some_file();
        let size = self.files[&path].len();
        let offset = self.rng.index(size + 1);
        let len = 1 + self
            .rng
            .index(8 * 1024)
            .min(MAX_SIZE.saturating_sub(offset));
        let data = self.rng.bytes(len);
        let host = self.pick_host(5);
        self.note(format!("pwrite {path} {len} B at {offset} via {host}"));
        self.through(host, |root| {
            let f = OpenOptions::new()
                .write(true)
                .open(root.join(&path))
                .map_err(|e| format!("open {path}: {e}"))?;
            f.write_all_at(&data, offset as u64)
                .map_err(|e| format!("pwrite {path}: {e}"))
        })?;
        self.changed_through(host);
        let model = self.files.get_mut(&path).expect("modelled");
        if model.len() < offset + len {
            model.resize(offset + len, 0);
        }
        model[offset..offset + len].copy_from_slice(&data);
        Ok(())
    }

    fn append(&mut self) -> Step {
        let path = self.some_file();
        if self.files[&path].len() >= MAX_SIZE {
            return self.truncate();
        }
        let len = 1 + self.rng.index(4 * 1024);
        let data = self.rng.bytes(len);
        let host = self.pick_host(30);
        self.note(format!("append {path} {len} B via {host}"));
        self.through(host, |root| {
            let mut f = OpenOptions::new()
                .append(true)
                .open(root.join(&path))
                .map_err(|e| format!("open {path} O_APPEND: {e}"))?;
            f.write_all(&data)
                .map_err(|e| format!("append {path}: {e}"))
        })?;
        self.changed_through(host);
        self.files
            .get_mut(&path)
            .expect("modelled")
            .extend_from_slice(&data);
        Ok(())
    }

    fn truncate(&mut self) -> Step {
        let path = self.some_file();
        let size = self.files[&path].len();
        let to = self.rng.index(size + 4096).min(MAX_SIZE);
        let host = self.pick_host(10);
        self.note(format!("truncate {path} to {to} via {host}"));
        self.through(host, |root| {
            let f = OpenOptions::new()
                .write(true)
                .open(root.join(&path))
                .map_err(|e| format!("open {path}: {e}"))?;
            f.set_len(to as u64)
                .map_err(|e| format!("ftruncate {path}: {e}"))
        })?;
        self.changed_through(host);
        self.files.get_mut(&path).expect("modelled").resize(to, 0);
        Ok(())
    }

    fn rename(&mut self) -> Step {
        let from = self.some_file();
        let dir = self.some_dir();
        // Now and then over another file of this writer (the target's inode goes).
        let to = if self.files.len() > 1 && self.rng.chance(20) {
            let t = self.some_file();
            if t == from {
                self.fresh_name(&dir)
            } else {
                t
            }
        } else {
            self.fresh_name(&dir)
        };
        let host = self.pick_host(30);
        self.note(format!("rename {from} -> {to} via {host}"));
        self.through(host, |root| {
            std::fs::rename(root.join(&from), root.join(&to))
                .map_err(|e| format!("rename {from} -> {to}: {e}"))
        })?;
        self.changed_through(host);
        let data = self.files.remove(&from).expect("modelled");
        self.files.insert(to, data);
        Ok(())
    }

    fn unlink(&mut self) -> Step {
        let path = self.some_file();
        let host = self.pick_host(30);
        self.note(format!("unlink {path} via {host}"));
        self.through(host, |root| {
            std::fs::remove_file(root.join(&path)).map_err(|e| format!("unlink {path}: {e}"))
        })?;
        self.changed_through(host);
        self.files.remove(&path);
        Ok(())
    }

    fn mkdir_or_rmdir(&mut self) -> Step {
        let empty: Vec<String> = self
            .dirs
            .iter()
            .filter(|d| !self.files.keys().any(|f| f.starts_with(&format!("{d}/"))))
            .cloned()
            .collect();
        let host = self.pick_host(20);
        if self.dirs.len() < MAX_DIRS && (empty.is_empty() || self.rng.chance(50)) {
            let parent = SHARED[self.rng.index(SHARED.len())];
            self.next += 1;
            let dir = format!("{parent}/{}.s{}", self.id, self.next);
            self.note(format!("mkdir {dir} via {host}"));
            self.through(host, |root| {
                std::fs::create_dir(root.join(&dir)).map_err(|e| format!("mkdir {dir}: {e}"))
            })?;
            self.changed_through(host);
            self.dirs.insert(dir);
        } else if !empty.is_empty() {
            let dir = empty[self.rng.index(empty.len())].clone();
            self.note(format!("rmdir {dir} via {host}"));
            self.through(host, |root| {
                std::fs::remove_dir(root.join(&dir)).map_err(|e| format!("rmdir {dir}: {e}"))
            })?;
            self.changed_through(host);
            self.dirs.remove(&dir);
        }
        Ok(())
    }

    /// Reads a whole file through some host (a fresh open: close-to-open) and compares it
    /// with the model.
    fn read(&mut self) -> Step {
        let path = self.some_file();
        let want = self.files[&path].clone();
        let host = self.pick_host(50);
        self.note(format!("read {path} via {host}"));
        self.through(host, |root| {
            let mut got = Vec::new();
            File::open(root.join(&path))
                .and_then(|mut f| f.read_to_end(&mut got))
                .map_err(|e| match e.kind() {
                    ErrorKind::NotFound => format!("read {path}: not found"),
                    _ => format!("read {path}: {e}"),
                })?;
            compare(&path, &want, &got)
        })
    }
}

/// `Ok` when `got` equals `want`, else where they differ first.
pub fn compare(path: &str, want: &[u8], got: &[u8]) -> Result<(), String> {
    if want == got {
        return Ok(());
    }
    let at = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    Err(format!(
        "{path}: read {} bytes, expected {}; first difference at offset {at}",
        got.len(),
        want.len()
    ))
}
