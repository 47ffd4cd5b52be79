//! Replies completed later, from threads that are not workers: the handler returns at once and
//! a pool answers afterwards. Also: a reply dropped unanswered becomes EIO for the caller.

mod common;

use std::ffi::OsStr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{require_kernel, with_deadline, TestMount};
use fusekit::abi::OpenOutFlags;
use fusekit::{
    Entry, Errno, FileAttr, FileType, Filesystem, Ino, MountOptions, ReplyAttr, ReplyData,
    ReplyEntry, ReplyOpen, Request, ROOT_ID,
};

/// Files `f0`..`f15` (content: their name, repeated) whose reads are answered by a pool of
/// threads after the handler returned; `drop` has reads whose reply is dropped unanswered.
struct Deferred {
    jobs: Mutex<mpsc::Sender<(ReplyData, Vec<u8>)>>,
}

fn content(ino: Ino) -> Vec<u8> {
    format!("file {ino};").repeat(100).into_bytes()
}

fn attr(ino: Ino) -> FileAttr {
    let (mode, nlink, size) = if ino == ROOT_ID {
        (FileType::Directory.mode_bits() | 0o755, 2, 0)
    } else {
        (
            FileType::RegularFile.mode_bits() | 0o644,
            1,
            content(ino).len() as u64,
        )
    };
    FileAttr {
        ino,
        size,
        mode,
        nlink,
        ..FileAttr::default()
    }
}

impl Filesystem for Deferred {
    fn lookup(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        let name = name.to_string_lossy();
        let ino = match name.as_ref() {
            "drop" => 100,
            n => match n.strip_prefix('f').and_then(|i| i.parse::<u64>().ok()) {
                Some(i) if i < 16 && parent == ROOT_ID => i + 2,
                _ => return reply.error(Errno::NOENT),
            },
        };
        reply.entry(&Entry::new(attr(ino), Duration::from_secs(60)))
    }

    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        reply.attr(&attr(ino), Duration::from_secs(60))
    }

    fn open(&self, _req: &Request<'_>, _ino: Ino, _flags: i32, reply: ReplyOpen) {
        reply.opened(0, OpenOutFlags::DIRECT_IO)
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
        if ino == 100 {
            drop(reply);
            return;
        }
        let data = content(ino);
        let start = (offset as usize).min(data.len());
        let end = (start + size as usize).min(data.len());
        self.jobs
            .lock()
            .unwrap()
            .send((reply, data[start..end].to_vec()))
            .unwrap();
    }
}

#[test]
fn replies_completed_later_from_other_threads() {
    if !require_kernel("replies_completed_later_from_other_threads") {
        return;
    }
    with_deadline(Duration::from_secs(120), || {
        let (tx, rx) = mpsc::channel::<(ReplyData, Vec<u8>)>();
        let rx = Arc::new(Mutex::new(rx));
        let pool: Vec<_> = (0..3)
            .map(|_| {
                let rx = Arc::clone(&rx);
                std::thread::spawn(move || loop {
                    let job = rx.lock().unwrap().recv();
                    let Ok((reply, data)) = job else { break };
                    std::thread::sleep(Duration::from_micros(300));
                    reply.data(&data);
                })
            })
            .collect();
        let mount = TestMount::new(
            Deferred {
                jobs: Mutex::new(tx),
            },
            &MountOptions::new(),
        );
        let root = mount.path().to_path_buf();
        let readers: Vec<_> = (0..8)
            .map(|t| {
                let root = root.clone();
                std::thread::spawn(move || {
                    for round in 0..25 {
                        let i = (t * 7 + round) % 16;
                        let got = std::fs::read(root.join(format!("f{i}"))).unwrap();
                        assert_eq!(got, content(i as u64 + 2), "f{i}");
                    }
                })
            })
            .collect();
        for r in readers {
            r.join().unwrap();
        }
        let err = std::fs::read(root.join("drop")).unwrap_err();
        assert_eq!(
            err.raw_os_error(),
            Some(libc::EIO),
            "dropped reply answers EIO"
        );
        let stats = mount.finish();
        assert_eq!(stats.dropped_replies, 1, "{stats:?}");
        assert_eq!(stats.reply_errors, 0, "{stats:?}");
        for t in pool {
            t.join().unwrap();
        }
    });
}
