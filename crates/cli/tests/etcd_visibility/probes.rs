//! One kind of change, measured: the change is made through mount A, the clock starts when its
//! syscall returns, and mount B is polled (every 100 µs) until it shows the change. Before each
//! change B has looked at the object, so its kernel holds the name and attributes (and, for
//! data, the pages) for the cache lifetime (1 s): only an invalidation makes B see the change
//! sooner.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long B may take before a sample counts as never seen.
pub const GIVE_UP: Duration = Duration::from_secs(5);
/// Bytes of the data probe's file.
const DATA_LEN: usize = 4096;

/// Polls `seen` until true; the time since `t0`, or an error after [`GIVE_UP`].
fn until(t0: Instant, what: &str, mut seen: impl FnMut() -> bool) -> Result<Duration, String> {
    loop {
        if seen() {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > GIVE_UP {
            return Err(format!("B did not show {what} within {GIVE_UP:?}"));
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

fn exists(p: &Path) -> bool {
    match std::fs::symlink_metadata(p) {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::NotFound => false,
        Err(e) => panic!("stat {}: {e}", p.display()),
    }
}

/// Waits (untimed) until B shows `p`, which primes B's cache of its name and attributes.
fn prime(p: &Path) -> Result<(), String> {
    until(Instant::now(), &format!("{} (setup)", p.display()), || {
        exists(p)
    })
    .map(|_| ())
}

/// A new file (open O_CREAT|O_EXCL on A), seen by stat on B.
pub fn create(a: &Path, b: &Path, i: usize) -> Result<Duration, String> {
    let name = format!("c{i}");
    if exists(&b.join(&name)) {
        return Err(format!("{name} exists on B before it was made"));
    }
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(a.join(&name))
        .map_err(|e| format!("create {name} on A: {e}"))?;
    let t0 = Instant::now();
    let r = until(t0, &name, || exists(&b.join(&name)));
    drop(f);
    r
}

/// A new file, seen in B's listing of its directory (a fresh opendir per poll).
pub fn create_listed(a: &Path, b: &Path, i: usize) -> Result<Duration, String> {
    let name = format!("l{i}");
    let listed = || {
        std::fs::read_dir(b)
            .expect("list on B")
            .any(|e| e.expect("entry").file_name() == name.as_str())
    };
    if listed() {
        return Err(format!("{name} listed on B before it was made"));
    }
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(a.join(&name))
        .map_err(|e| format!("create {name} on A: {e}"))?;
    let t0 = Instant::now();
    let r = until(t0, &format!("{name} in the listing"), listed);
    drop(f);
    r
}

/// An unlink on A of a file B has looked up, until stat on B says ENOENT.
pub fn unlink(a: &Path, b: &Path, i: usize) -> Result<Duration, String> {
    let name = format!("u{i}");
    File::create(a.join(&name)).map_err(|e| format!("create {name}: {e}"))?;
    prime(&b.join(&name))?;
    std::fs::remove_file(a.join(&name)).map_err(|e| format!("unlink {name} on A: {e}"))?;
    let t0 = Instant::now();
    until(t0, &format!("{name} gone"), || !exists(&b.join(&name)))
}

/// A rename on A of a file B has looked up, until B finds the new name and not the old.
pub fn rename(a: &Path, b: &Path, i: usize) -> Result<Duration, String> {
    let (old, new) = (format!("r{i}"), format!("r{i}.new"));
    File::create(a.join(&old)).map_err(|e| format!("create {old}: {e}"))?;
    prime(&b.join(&old))?;
    if exists(&b.join(&new)) {
        return Err(format!("{new} exists on B before the rename"));
    }
    std::fs::rename(a.join(&old), a.join(&new)).map_err(|e| format!("rename on A: {e}"))?;
    let t0 = Instant::now();
    until(t0, &format!("{old} -> {new}"), || {
        !exists(&b.join(&old)) && exists(&b.join(&new))
    })
}

/// A rename on A over a name B has looked up, until B's lookup of that name finds the
/// renamed inode (and the source name is gone).
pub fn rename_over(a: &Path, b: &Path, i: usize) -> Result<Duration, String> {
    use std::os::unix::fs::MetadataExt;
    let (src, dst) = (format!("s{i}"), format!("t{i}"));
    File::create(a.join(&dst)).map_err(|e| format!("create {dst}: {e}"))?;
    File::create(a.join(&src)).map_err(|e| format!("create {src}: {e}"))?;
    let ino = std::fs::metadata(a.join(&src))
        .map_err(|e| format!("stat {src} on A: {e}"))?
        .ino();
    prime(&b.join(&dst))?;
    prime(&b.join(&src))?;
    std::fs::rename(a.join(&src), a.join(&dst)).map_err(|e| format!("rename on A: {e}"))?;
    let t0 = Instant::now();
    until(t0, &format!("{dst} as inode {ino}"), || {
        !exists(&b.join(&src))
            && std::fs::symlink_metadata(b.join(&dst)).is_ok_and(|m| m.ino() == ino)
    })
}

/// The data probe's state: the file, held open on B (its pages stay in B's page cache).
pub struct Data {
    on_b: File,
    /// How long each sample's last (successful, uncached) pread on B took.
    pub last_reads: std::cell::RefCell<Vec<Duration>>,
}

fn data_bytes(i: usize) -> Vec<u8> {
    let mut v = vec![(i % 251) as u8; DATA_LEN];
    v[..8].copy_from_slice(&(i as u64).to_le_bytes());
    v
}

impl Data {
    /// Creates the file on A with sample 0's bytes and opens it on B (once B sees them).
    pub fn new(a: &Path, b: &Path) -> Result<Data, String> {
        std::fs::write(a.join("data"), data_bytes(0)).map_err(|e| format!("write data: {e}"))?;
        prime(&b.join("data"))?;
        let on_b = File::open(b.join("data")).map_err(|e| format!("open data on B: {e}"))?;
        let d = Data {
            on_b,
            last_reads: Default::default(),
        };
        until(Instant::now(), "data (setup)", || d.shows(0))?;
        Ok(d)
    }

    fn shows(&self, i: usize) -> bool {
        let mut buf = vec![0; DATA_LEN];
        match self.on_b.read_at(&mut buf, 0) {
            Ok(n) => n == DATA_LEN && buf == data_bytes(i),
            Err(e) => panic!("pread data on B: {e}"),
        }
    }

    /// Sample `i` (from 1): open, pwrite the whole file, close on A; until a pread of B's
    /// still-open descriptor returns the new bytes.
    pub fn sample(&self, a: &Path, i: usize) -> Result<Duration, String> {
        let f = OpenOptions::new()
            .write(true)
            .open(a.join("data"))
            .map_err(|e| format!("open data on A: {e}"))?;
        f.write_all_at(&data_bytes(i), 0)
            .map_err(|e| format!("pwrite data on A: {e}"))?;
        drop(f);
        let t0 = Instant::now();
        let mut last = Duration::ZERO;
        let r = until(t0, &format!("data of sample {i}"), || {
            let t = Instant::now();
            let seen = self.shows(i);
            last = t.elapsed();
            seen
        });
        self.last_reads.borrow_mut().push(last);
        r
    }
}

/// chmod on A, until stat on B shows the mode. `i` from 1; the file `mode` exists.
pub fn chmod(a: &Path, b: &Path, i: usize) -> Result<Duration, String> {
    let mode = if i % 2 == 0 { 0o640 } else { 0o600 };
    std::fs::set_permissions(a.join("mode"), std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod on A: {e}"))?;
    let t0 = Instant::now();
    until(t0, &format!("mode {mode:o}"), || {
        std::fs::metadata(b.join("mode"))
            .expect("stat mode on B")
            .permissions()
            .mode()
            & 0o777
            == mode
    })
}

/// truncate on A to a new size, until stat on B shows it. `i` from 1; the file `size` exists.
pub fn truncate(a: &Path, b: &Path, i: usize) -> Result<Duration, String> {
    let size = (i as u64 % 1000) * 7 + 1;
    let f = OpenOptions::new()
        .write(true)
        .open(a.join("size"))
        .map_err(|e| format!("open size on A: {e}"))?;
    f.set_len(size).map_err(|e| format!("truncate on A: {e}"))?;
    let t0 = Instant::now();
    let r = until(t0, &format!("size {size}"), || {
        std::fs::metadata(b.join("size"))
            .expect("stat size on B")
            .len()
            == size
    });
    drop(f);
    r
}
