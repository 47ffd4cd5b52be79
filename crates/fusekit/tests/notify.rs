//! Notifications sent from threads that are not workers, checked through the kernel's caches:
//! inval_inode (fresh data after a change), inval_entry and delete (a cached name disappears),
//! store (data served from the page cache without READ), retrieve (the kernel sends cached data
//! back), poll wake-up, inc_epoch and prune.

mod common;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{require_kernel, with_deadline, TestMount};
use fusekit::abi::OpenOutFlags;
use fusekit::{
    Entry, Errno, FileAttr, FileType, Filesystem, Ino, KernelConfig, MountOptions, Notifier,
    PollHandle, ReplyAttr, ReplyData, ReplyEntry, ReplyOpen, ReplyPoll, Request, ROOT_ID,
};

const LONG: Duration = Duration::from_secs(3600);

/// (cookie, inode, offset, data) of one NOTIFY_REPLY.
type Retrieved = (u64, Ino, u64, Vec<u8>);

#[derive(Default)]
struct State {
    /// name → (ino, content)
    files: Mutex<HashMap<String, (Ino, Vec<u8>)>>,
    reads: AtomicUsize,
    lookups: AtomicUsize,
    forgets: AtomicUsize,
    retrieved: Mutex<Vec<Retrieved>>,
    poll_handle: Mutex<Option<PollHandle>>,
    poll_ready: AtomicU32,
    notifier: Mutex<Option<Notifier>>,
}

struct Cached(Arc<State>);

impl Cached {
    fn attr(&self, ino: Ino) -> Option<FileAttr> {
        if ino == ROOT_ID {
            return Some(FileAttr {
                ino,
                mode: FileType::Directory.mode_bits() | 0o755,
                nlink: 2,
                ..FileAttr::default()
            });
        }
        let files = self.0.files.lock().unwrap();
        let (_, data) = files.values().find(|(i, _)| *i == ino)?;
        Some(FileAttr {
            ino,
            size: data.len() as u64,
            mode: FileType::RegularFile.mode_bits() | 0o644,
            nlink: 1,
            ..FileAttr::default()
        })
    }
}

impl Filesystem for Cached {
    fn init(&self, _req: &Request<'_>, config: &mut KernelConfig) -> Result<(), Errno> {
        // Only explicit invalidations may drop cached data.
        config.disable(fusekit::abi::InitFlags::AUTO_INVAL_DATA);
        *self.0.notifier.lock().unwrap() = Some(config.notifier());
        Ok(())
    }

    fn lookup(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        self.0.lookups.fetch_add(1, Ordering::SeqCst);
        let ino = self
            .0
            .files
            .lock()
            .unwrap()
            .get(&*name.to_string_lossy())
            .map(|f| f.0);
        match ino.filter(|_| parent == ROOT_ID).and_then(|i| self.attr(i)) {
            Some(attr) => reply.entry(&Entry::new(attr, LONG)),
            None => reply.error(Errno::NOENT),
        }
    }

    fn forget(&self, _req: &Request<'_>, _ino: Ino, _nlookup: u64) {
        self.0.forgets.fetch_add(1, Ordering::SeqCst);
    }

    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        match self.attr(ino) {
            Some(a) => reply.attr(&a, LONG),
            None => reply.error(Errno::NOENT),
        }
    }

    fn open(&self, _req: &Request<'_>, _ino: Ino, _flags: i32, reply: ReplyOpen) {
        reply.opened(0, OpenOutFlags::KEEP_CACHE)
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
        self.0.reads.fetch_add(1, Ordering::SeqCst);
        let files = self.0.files.lock().unwrap();
        let Some((_, data)) = files.values().find(|(i, _)| *i == ino) else {
            return reply.error(Errno::NOENT);
        };
        let start = (offset as usize).min(data.len());
        let end = (start + size as usize).min(data.len());
        reply.data(&data[start..end])
    }

    fn poll(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        _fh: u64,
        handle: Option<PollHandle>,
        _events: u32,
        _flags: u32,
        reply: ReplyPoll,
    ) {
        if let Some(h) = handle {
            *self.0.poll_handle.lock().unwrap() = Some(h);
        }
        reply.revents(self.0.poll_ready.load(Ordering::SeqCst))
    }

    fn retrieve_reply(&self, _req: &Request<'_>, cookie: u64, ino: Ino, offset: u64, data: &[u8]) {
        self.0
            .retrieved
            .lock()
            .unwrap()
            .push((cookie, ino, offset, data.to_vec()));
    }
}

fn setup() -> (TestMount, Arc<State>, Notifier) {
    let state = Arc::new(State::default());
    state
        .files
        .lock()
        .unwrap()
        .insert("a".into(), (10, b"version one".to_vec()));
    state
        .files
        .lock()
        .unwrap()
        .insert("b".into(), (11, b"bbbb".to_vec()));
    let mount = TestMount::new(Cached(Arc::clone(&state)), &MountOptions::new());
    let notifier = state
        .notifier
        .lock()
        .unwrap()
        .clone()
        .expect("init stored a notifier");
    (mount, state, notifier)
}

/// Runs `f` on a fresh thread (notifications come from non-worker threads).
fn from_other_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().unwrap()
}

#[test]
fn inval_inode_drops_cached_data_and_attributes() {
    if !require_kernel("inval_inode_drops_cached_data_and_attributes") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let (mount, state, notifier) = setup();
        let a = mount.path().join("a");
        assert_eq!(std::fs::read(&a).unwrap(), b"version one");
        let reads = state.reads.load(Ordering::SeqCst);
        assert_eq!(std::fs::read(&a).unwrap(), b"version one");
        assert_eq!(
            state.reads.load(Ordering::SeqCst),
            reads,
            "second read came from the cache"
        );
        state.files.lock().unwrap().get_mut("a").unwrap().1 = b"version two, longer".to_vec();
        assert_eq!(
            std::fs::read(&a).unwrap(),
            b"version one",
            "cache still holds the old data"
        );
        let n = notifier.clone();
        from_other_thread(move || n.inval_inode(10, 0, 0)).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"version two, longer");
        assert_eq!(
            from_other_thread(move || notifier.inval_inode(999_999, 0, 0)),
            Err(Errno::NOENT),
            "an inode the kernel does not know"
        );
        mount.finish();
    });
}

#[test]
fn inval_entry_and_delete_drop_cached_names() {
    if !require_kernel("inval_entry_and_delete_drop_cached_names") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let (mount, state, notifier) = setup();
        let a = mount.path().join("a");
        let b = mount.path().join("b");
        std::fs::metadata(&a).unwrap();
        std::fs::metadata(&b).unwrap();
        state.files.lock().unwrap().clear();
        assert!(std::fs::metadata(&a).is_ok(), "name still cached");
        let n = notifier.clone();
        from_other_thread(move || n.inval_entry(ROOT_ID, OsStr::new("a"))).unwrap();
        assert_eq!(
            std::fs::metadata(&a).unwrap_err().raw_os_error(),
            Some(libc::ENOENT)
        );
        assert!(std::fs::metadata(&b).is_ok(), "b still cached");
        from_other_thread(move || notifier.delete(ROOT_ID, 11, OsStr::new("b"))).unwrap();
        assert_eq!(
            std::fs::metadata(&b).unwrap_err().raw_os_error(),
            Some(libc::ENOENT)
        );
        mount.finish();
    });
}

#[test]
fn store_fills_the_page_cache_and_retrieve_reads_it_back() {
    if !require_kernel("store_fills_the_page_cache_and_retrieve_reads_it_back") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let (mount, state, notifier) = setup();
        let a = mount.path().join("a");
        let file = std::fs::File::open(&a).unwrap(); // keeps the inode (and its cache) alive
        let pushed = b"PUSHED BY STORE".to_vec();
        state.files.lock().unwrap().get_mut("a").unwrap().1 = pushed.clone();
        let n = notifier.clone();
        let data = pushed.clone();
        from_other_thread(move || n.store(10, 0, &data)).unwrap();
        let reads_before = state.reads.load(Ordering::SeqCst);
        let got = std::fs::read(&a).unwrap();
        assert_eq!(got, pushed);
        assert_eq!(
            state.reads.load(Ordering::SeqCst),
            reads_before,
            "served without a READ"
        );
        let cookie = from_other_thread(move || notifier.retrieve(10, 0, 4096)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(r) = state
                .retrieved
                .lock()
                .unwrap()
                .iter()
                .find(|r| r.0 == cookie)
            {
                assert_eq!((r.1, r.2), (10, 0));
                assert_eq!(r.3, pushed, "retrieved the stored data");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no NOTIFY_REPLY for the retrieve"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(file);
        mount.finish();
    });
}

#[test]
fn poll_wakeup_wakes_a_poller() {
    if !require_kernel("poll_wakeup_wakes_a_poller") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let (mount, state, _notifier) = setup();
        let file = std::fs::File::open(mount.path().join("a")).unwrap();
        let state2 = Arc::clone(&state);
        let waker = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(10);
            let handle = loop {
                if let Some(h) = state2.poll_handle.lock().unwrap().clone() {
                    break h;
                }
                assert!(Instant::now() < deadline, "POLL never asked for a wake-up");
                std::thread::sleep(Duration::from_millis(5));
            };
            std::thread::sleep(Duration::from_millis(50));
            state2
                .poll_ready
                .store(libc::POLLIN as u32, Ordering::SeqCst);
            handle.wake().unwrap();
        });
        let fd = file.as_fd();
        let mut fds = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        let timeout = rustix::event::Timespec {
            tv_sec: 20,
            tv_nsec: 0,
        };
        let n = rustix::event::poll(&mut fds, Some(&timeout)).unwrap();
        assert_eq!(n, 1, "poll returned without readiness");
        assert!(fds[0].revents().contains(rustix::event::PollFlags::IN));
        waker.join().unwrap();
        drop(file);
        mount.finish();
    });
}

#[test]
fn inc_epoch_revalidates_and_prune_forgets() {
    if !require_kernel("inc_epoch_revalidates_and_prune_forgets") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let (mount, state, notifier) = setup();
        let a = mount.path().join("a");
        std::fs::metadata(&a).unwrap();
        let lookups = state.lookups.load(Ordering::SeqCst);
        std::fs::metadata(&a).unwrap();
        assert_eq!(state.lookups.load(Ordering::SeqCst), lookups, "cached name");
        let n = notifier.clone();
        from_other_thread(move || n.inc_epoch()).unwrap();
        std::fs::metadata(&a).unwrap();
        assert!(
            state.lookups.load(Ordering::SeqCst) > lookups,
            "a new epoch makes cached names stale"
        );
        let forgets = state.forgets.load(Ordering::SeqCst);
        from_other_thread(move || notifier.prune(&[10])).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while state.forgets.load(Ordering::SeqCst) == forgets {
            assert!(
                Instant::now() < deadline,
                "prune of an unused inode sent no FORGET"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        mount.finish();
    });
}
