//! A test filesystem for the async adapter: files named `block` (ino 2) and `f0`..`f63`
//! (ino 10..). READs of `block` wait forever; GETATTRs of `fN` wait `getattr_wait` and are
//! never cached. Every handler future is counted while it is alive (started and not yet
//! dropped), with the peak, and a READ's future sets `read_dropped` when it is dropped.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fusekit::abi::OpenOutFlags;
use fusekit::asyncfs::{tokio, AsyncFilesystem, Opened, RequestContext};
use fusekit::{Entry, Errno, FileAttr, FileType, Ino, KernelConfig, OpenOptions, ROOT_ID};

pub const BLOCK: Ino = 2;
pub const FIRST_F: Ino = 10;
pub const FILES: u64 = 64;

#[derive(Default)]
pub struct Probe {
    pub alive: AtomicUsize,
    pub peak: AtomicUsize,
    pub reads_started: AtomicUsize,
    pub read_dropped: AtomicBool,
    /// Set by `init` after an await on the runtime's timer; read by `lookup`.
    pub inited: AtomicBool,
    pub destroyed: AtomicBool,
    /// Nodes forgotten (FORGET and BATCH_FORGET).
    pub forgets: AtomicUsize,
}

/// Counts one live future; uncounts it when dropped.
pub struct Alive(Arc<Probe>);

impl Alive {
    pub fn new(probe: &Arc<Probe>) -> Self {
        let now = probe.alive.fetch_add(1, Ordering::SeqCst) + 1;
        probe.peak.fetch_max(now, Ordering::SeqCst);
        Alive(Arc::clone(probe))
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Sets `read_dropped` when dropped.
struct DropFlag(Arc<Probe>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.read_dropped.store(true, Ordering::SeqCst);
    }
}

pub struct Waiting {
    pub probe: Arc<Probe>,
    pub getattr_wait: Duration,
}

fn attr(ino: Ino) -> FileAttr {
    let (mode, nlink) = if ino == ROOT_ID {
        (FileType::Directory.mode_bits() | 0o755, 2)
    } else {
        (FileType::RegularFile.mode_bits() | 0o644, 1)
    };
    FileAttr {
        ino,
        size: 4096,
        mode,
        nlink,
        ..FileAttr::default()
    }
}

impl AsyncFilesystem for Waiting {
    async fn init(&self, _ctx: &RequestContext, _config: &mut KernelConfig) -> Result<(), Errno> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.probe.inited.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn destroy(&self) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.probe.destroyed.store(true, Ordering::SeqCst);
    }

    fn forget(&self, _ino: Ino, _nlookup: u64) {
        self.probe.forgets.fetch_add(1, Ordering::SeqCst);
    }

    async fn lookup(
        &self,
        _ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
    ) -> Result<Entry, Errno> {
        let _alive = Alive::new(&self.probe);
        let name = name.to_str().ok_or(Errno::NOENT)?;
        let ino = match name {
            "block" => BLOCK,
            _ => match name.strip_prefix('f').and_then(|n| n.parse::<u64>().ok()) {
                Some(n) if n < FILES => FIRST_F + n,
                _ => return Err(Errno::NOENT),
            },
        };
        if parent != ROOT_ID {
            return Err(Errno::NOENT);
        }
        let mut entry = Entry::new(attr(ino), Duration::from_secs(60));
        entry.attr_ttl = Duration::ZERO;
        Ok(entry)
    }

    async fn getattr(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        _fh: Option<u64>,
    ) -> Result<(FileAttr, Duration), Errno> {
        let _alive = Alive::new(&self.probe);
        if ino >= FIRST_F {
            tokio::time::sleep(self.getattr_wait).await;
        }
        Ok((attr(ino), Duration::ZERO))
    }

    async fn open(&self, _ctx: &RequestContext, _ino: Ino, _flags: i32) -> Result<Opened, Errno> {
        let _alive = Alive::new(&self.probe);
        let options = OpenOptions {
            flags: OpenOutFlags::DIRECT_IO,
            backing_id: None,
        };
        Ok((0, options))
    }

    async fn read(
        &self,
        _ctx: &RequestContext,
        _ino: Ino,
        _fh: u64,
        _offset: u64,
        _size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
    ) -> Result<Vec<u8>, Errno> {
        let _alive = Alive::new(&self.probe);
        let _flag = DropFlag(Arc::clone(&self.probe));
        self.probe.reads_started.fetch_add(1, Ordering::SeqCst);
        std::future::pending::<()>().await;
        Ok(Vec::new())
    }
}
