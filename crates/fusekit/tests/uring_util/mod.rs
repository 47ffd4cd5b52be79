//! Helpers for the io_uring integration tests: the kernel gate, the refcounted
//! `enable_uring` guard, a mount guard that takes a configured `Session`, and `MiniFs`, a small
//! flat read/write filesystem that records which thread served each operation.

#![allow(dead_code, unused_imports)]

pub use fusekit_testkit::{require_kernel, with_deadline, TestMount};

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use fusekit::abi::{OpenOutFlags, WriteFlags};
use fusekit::mount::Unmounter;
use fusekit::{
    BackgroundSession, Entry, Errno, FileAttr, FileType, Filesystem, Ino, MountOptions, ReplyAttr,
    ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyWrite,
    ReplyXattr, Request, Session, SetAttr, Timestamp, ROOT_ID,
};

pub const PARAM: &str = "/sys/module/fuse/parameters/enable_uring";

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Kernel version (major, minor) from uname.
pub fn kernel_version() -> (u32, u32) {
    let uname = rustix::system::uname();
    let release = uname.release().to_string_lossy().into_owned();
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let minor = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (major, minor)
}

/// Whether the fuse module has the enable_uring parameter; skips (or fails on CI with a
/// kernel >= 6.14, where it must exist) otherwise.
pub fn require_uring_param(test: &str) -> bool {
    if Path::new(PARAM).exists() {
        return true;
    }
    let v = kernel_version();
    assert!(
        !(ci() && v >= (6, 14)),
        "{test}: {PARAM} is missing on kernel {}.{} (>= 6.14, CI=true)",
        v.0,
        v.1
    );
    eprintln!(
        "SKIPPED {test}: {PARAM} is missing (kernel {}.{}: no FUSE over io_uring)",
        v.0, v.1
    );
    false
}

struct ParamState {
    users: usize,
    previous: Option<String>,
}

fn param_state() -> &'static Mutex<ParamState> {
    static STATE: OnceLock<Mutex<ParamState>> = OnceLock::new();
    STATE.get_or_init(|| {
        Mutex::new(ParamState {
            users: 0,
            previous: None,
        })
    })
}

/// Holds `enable_uring` at a value while alive; process-wide and refcounted, so parallel
/// tests in one binary share it and the first value is restored when the last one drops.
/// All holders in one binary must want the same value.
pub struct UringParam {
    _private: (),
}

impl UringParam {
    pub fn set(value: &str) -> UringParam {
        let mut st = param_state().lock().unwrap_or_else(|p| p.into_inner());
        if st.users == 0 {
            let previous = std::fs::read_to_string(PARAM).expect("read enable_uring");
            std::fs::write(PARAM, value).expect("write enable_uring");
            st.previous = Some(previous.trim().to_string());
        }
        let now = std::fs::read_to_string(PARAM).unwrap_or_default();
        assert_eq!(
            now.trim(),
            value,
            "enable_uring is shared: every holder must want {value}"
        );
        st.users += 1;
        UringParam { _private: () }
    }
}

impl Drop for UringParam {
    fn drop(&mut self) {
        let mut st = param_state().lock().unwrap_or_else(|p| p.into_inner());
        st.users -= 1;
        if st.users == 0 {
            if let Some(prev) = st.previous.take() {
                let _ = std::fs::write(PARAM, prev);
            }
        }
    }
}

/// Root, /dev/fuse and the parameter, with the parameter set to Y for the guard's life.
pub fn require_uring(test: &str) -> Option<UringParam> {
    if !require_kernel(test) || !require_uring_param(test) {
        return None;
    }
    Some(UringParam::set("Y"))
}

/// The io_uring tests' mount guard is the shared one.
pub type Mounted = TestMount;

/// Mounts `fs` (fsname "uring-test", subtype "uringtest") and lets `configure` set the session
/// up before it starts.
pub fn mount<FS: Filesystem>(
    fs: FS,
    configure: impl FnOnce(Session<FS>) -> Session<FS>,
) -> Result<Mounted, fusekit::SessionError> {
    let options = MountOptions::new()
        .fsname("uring-test")
        .subtype("uringtest");
    fusekit_testkit::try_mount(fs, &options, configure)
}

/// FUSE mounts under `prefix` in /proc/self/mountinfo.
pub fn fuse_mounts_under(prefix: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    info.lines()
        .filter(|l| l.contains(" - fuse"))
        .filter(|l| {
            l.split(' ')
                .nth(4)
                .is_some_and(|mp| mp.starts_with(&*prefix.to_string_lossy()))
        })
        .map(str::to_owned)
        .collect()
}

/// Open descriptors of this process.
pub fn open_fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("fd dir").count()
}

// ---------------------------------------------------------------------------------------------

const TTL: Duration = Duration::from_secs(0);

#[derive(Debug, Clone, Default)]
struct Node {
    name: OsString,
    data: Vec<u8>,
    mode: u32,
    xattrs: BTreeMap<OsString, Vec<u8>>,
}

/// Where an operation was served: the thread-name prefix tells the transport.
#[derive(Debug, Default, Clone)]
pub struct Served {
    /// Operation name → thread names that served it.
    pub by_op: HashMap<&'static str, Vec<String>>,
}

impl Served {
    /// Operations served by a thread whose name does not start with `prefix`.
    pub fn not_on(&self, prefix: &str, ops: &[&str]) -> Vec<(String, String)> {
        let mut bad = Vec::new();
        for op in ops {
            for t in self.by_op.get(op).into_iter().flatten() {
                if !t.starts_with(prefix) {
                    bad.push((op.to_string(), t.clone()));
                }
            }
        }
        bad
    }
}

/// A flat filesystem: regular files directly under the root, with data and xattrs.
#[derive(Debug, Default)]
pub struct MiniFs {
    nodes: Mutex<BTreeMap<Ino, Node>>,
    next: Mutex<Ino>,
    pub served: Arc<Mutex<Served>>,
    /// When set, GETATTR replies are sent from this pool instead of the serving thread.
    pub foreign: Option<Replier>,
}

impl MiniFs {
    pub fn new() -> Self {
        MiniFs {
            next: Mutex::new(ROOT_ID + 1),
            ..Default::default()
        }
    }

    fn note(&self, op: &'static str) {
        let name = std::thread::current().name().unwrap_or("?").to_string();
        self.served
            .lock()
            .unwrap()
            .by_op
            .entry(op)
            .or_default()
            .push(name);
    }

    fn attr(&self, ino: Ino, node: Option<&Node>) -> FileAttr {
        let now = Timestamp::new(1_700_000_000, 0);
        let (mode, size, nlink) = match node {
            None => (FileType::Directory.mode_bits() | 0o755, 0, 2),
            Some(n) => (n.mode, n.data.len() as u64, 1),
        };
        FileAttr {
            ino,
            size,
            blocks: size.div_ceil(512),
            atime: now,
            mtime: now,
            ctime: now,
            mode,
            nlink,
            ..FileAttr::default()
        }
    }

    fn find(&self, name: &OsStr) -> Option<(Ino, Node)> {
        let nodes = self.nodes.lock().unwrap();
        nodes
            .iter()
            .find(|(_, n)| n.name == name)
            .map(|(i, n)| (*i, n.clone()))
    }
}

impl Filesystem for MiniFs {
    fn lookup(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        self.note("lookup");
        if parent != ROOT_ID {
            return reply.error(Errno::NOENT);
        }
        match self.find(name) {
            Some((ino, n)) => reply.entry(&Entry::new(self.attr(ino, Some(&n)), TTL)),
            None => reply.error(Errno::NOENT),
        }
    }

    fn forget(&self, _req: &Request<'_>, _ino: Ino, _nlookup: u64) {
        self.note("forget");
    }

    fn batch_forget(&self, _req: &Request<'_>, _nodes: &[fusekit::abi::ForgetOne]) {
        self.note("forget");
    }

    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        self.note("getattr");
        let attr = if ino == ROOT_ID {
            Some(self.attr(ino, None))
        } else {
            self.nodes
                .lock()
                .unwrap()
                .get(&ino)
                .map(|n| self.attr(ino, Some(n)))
        };
        let answer = move || match attr {
            Some(a) => reply.attr(&a, TTL),
            None => reply.error(Errno::NOENT),
        };
        match &self.foreign {
            Some(pool) => pool.send(Box::new(answer)).expect("foreign pool alive"),
            None => answer(),
        }
    }

    fn setattr(&self, _req: &Request<'_>, ino: Ino, attr: &SetAttr, reply: ReplyAttr) {
        self.note("setattr");
        let mut nodes = self.nodes.lock().unwrap();
        let Some(n) = nodes.get_mut(&ino) else {
            return reply.error(Errno::NOENT);
        };
        if let Some(size) = attr.size {
            n.data.resize(size as usize, 0);
        }
        if let Some(mode) = attr.mode {
            n.mode = (n.mode & !0o7777) | (mode & 0o7777);
        }
        let a = self.attr(ino, Some(n));
        reply.attr(&a, TTL)
    }

    fn unlink(&self, _req: &Request<'_>, _parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        self.note("unlink");
        let mut nodes = self.nodes.lock().unwrap();
        let before = nodes.len();
        nodes.retain(|_, n| n.name != name);
        if nodes.len() == before {
            reply.error(Errno::NOENT)
        } else {
            reply.ok()
        }
    }

    fn rename(
        &self,
        _req: &Request<'_>,
        _parent: Ino,
        name: &OsStr,
        _newparent: Ino,
        newname: &OsStr,
        _flags: u32,
        reply: ReplyEmpty,
    ) {
        self.note("rename");
        let mut nodes = self.nodes.lock().unwrap();
        nodes.retain(|_, n| n.name != newname);
        match nodes.values_mut().find(|n| n.name == name) {
            Some(n) => {
                n.name = newname.to_owned();
                reply.ok()
            }
            None => reply.error(Errno::NOENT),
        }
    }

    fn open(&self, _req: &Request<'_>, _ino: Ino, _flags: i32, reply: ReplyOpen) {
        self.note("open");
        reply.opened(0, OpenOutFlags::empty())
    }

    fn read(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        _fh: u64,
        offset: u64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        self.note("read");
        let nodes = self.nodes.lock().unwrap();
        let Some(n) = nodes.get(&ino) else {
            return reply.error(Errno::NOENT);
        };
        let start = (offset as usize).min(n.data.len());
        let end = start.saturating_add(size as usize).min(n.data.len());
        reply.data(&n.data[start..end])
    }

    fn write(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        _fh: u64,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        self.note("write");
        let mut nodes = self.nodes.lock().unwrap();
        let Some(n) = nodes.get_mut(&ino) else {
            return reply.error(Errno::NOENT);
        };
        let end = offset as usize + data.len();
        if n.data.len() < end {
            n.data.resize(end, 0);
        }
        n.data[offset as usize..end].copy_from_slice(data);
        reply.written(data.len() as u32)
    }

    fn flush(&self, _req: &Request<'_>, _ino: Ino, _fh: u64, _lock_owner: u64, reply: ReplyEmpty) {
        self.note("flush");
        reply.ok()
    }

    fn release(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        _fh: u64,
        _flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        _flock_release: bool,
        reply: ReplyEmpty,
    ) {
        self.note("release");
        reply.ok()
    }

    fn opendir(&self, _req: &Request<'_>, _ino: Ino, _flags: i32, reply: ReplyOpen) {
        self.note("opendir");
        reply.opened(0, OpenOutFlags::empty())
    }

    fn readdir(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        _fh: u64,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        self.note("readdir");
        if ino != ROOT_ID {
            return reply.error(Errno::NOTDIR);
        }
        let nodes = self.nodes.lock().unwrap();
        let dir = FileType::Directory.dirent_type();
        let file = FileType::RegularFile.dirent_type();
        let mut all: Vec<(Ino, u32, OsString)> =
            vec![(ROOT_ID, dir, ".".into()), (ROOT_ID, dir, "..".into())];
        all.extend(nodes.iter().map(|(i, n)| (*i, file, n.name.clone())));
        for (i, (ino, typ, name)) in all.iter().enumerate().skip(offset as usize) {
            if reply.add(*ino, i as u64 + 1, *typ, name) {
                break;
            }
        }
        reply.ok()
    }

    fn releasedir(&self, _req: &Request<'_>, _ino: Ino, _fh: u64, _flags: i32, reply: ReplyEmpty) {
        self.note("releasedir");
        reply.ok()
    }

    fn setxattr(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        name: &OsStr,
        value: &[u8],
        _flags: i32,
        reply: ReplyEmpty,
    ) {
        self.note("setxattr");
        let mut nodes = self.nodes.lock().unwrap();
        match nodes.get_mut(&ino) {
            Some(n) => {
                n.xattrs.insert(name.to_owned(), value.to_vec());
                reply.ok()
            }
            None => reply.error(Errno::NOENT),
        }
    }

    fn getxattr(&self, _req: &Request<'_>, ino: Ino, name: &OsStr, size: u32, reply: ReplyXattr) {
        self.note("getxattr");
        let nodes = self.nodes.lock().unwrap();
        let Some(v) = nodes.get(&ino).and_then(|n| n.xattrs.get(name)) else {
            return reply.error(Errno::NODATA);
        };
        if size == 0 {
            reply.size(v.len() as u32)
        } else if (size as usize) < v.len() {
            reply.error(Errno::RANGE)
        } else {
            reply.data(v)
        }
    }

    fn create(
        &self,
        _req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        self.note("create");
        if parent != ROOT_ID {
            return reply.error(Errno::NOENT);
        }
        if let Some((ino, n)) = self.find(name) {
            return reply.created(
                &Entry::new(self.attr(ino, Some(&n)), TTL),
                0,
                OpenOutFlags::empty(),
            );
        }
        let ino = {
            let mut next = self.next.lock().unwrap();
            *next += 1;
            *next
        };
        let node = Node {
            name: name.to_owned(),
            data: Vec::new(),
            mode: FileType::RegularFile.mode_bits() | (mode & 0o7777),
            xattrs: BTreeMap::new(),
        };
        let attr = self.attr(ino, Some(&node));
        self.nodes.lock().unwrap().insert(ino, node);
        reply.created(&Entry::new(attr, TTL), 0, OpenOutFlags::empty())
    }
}

/// Sends reply closures to a pool of threads.
pub type Replier = mpsc::SyncSender<Box<dyn FnOnce() + Send>>;

/// A pool of `n` threads running reply closures; returns the sender and the join handles
/// (they end when the sender is dropped).
pub fn reply_pool(n: usize) -> (Replier, Vec<std::thread::JoinHandle<()>>) {
    let (tx, rx) = mpsc::sync_channel::<Box<dyn FnOnce() + Send>>(1024);
    let rx = Arc::new(Mutex::new(rx));
    let handles = (0..n)
        .map(|i| {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("foreign-replier-{i}"))
                .spawn(move || loop {
                    let job = rx.lock().unwrap().recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })
                .expect("spawn replier")
        })
        .collect();
    (tx, handles)
}
