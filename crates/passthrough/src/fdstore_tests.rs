//! Unit tests of the descriptor budget without a kernel: the request handlers called
//! directly with a tiny budget, so that nearly every access reopens from a file handle. They
//! prove that many inodes fit, that every answer still concerns the right file, that a
//! deleted file's handle answers ESTALE, that open-but-unlinked and O_TMPFILE inodes survive
//! eviction, and that the daemon still never follows a symlink after a reopen.

use std::ffi::OsStr;
use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use fusekit::{FileType, Ino, ROOT_ID};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::fdstore::{budget_for, FdStore, MIN_BUDGET};
use crate::stats::Counters;
use crate::{Passthrough, PassthroughOptions, PassthroughStats};

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// A passthrough with the smallest budget, or `None` (test skipped) when the temp dir's
/// filesystem or the privileges give no usable file handles.
fn tiny_budget(dir: &std::path::Path) -> Option<Passthrough> {
    let pt = Passthrough::new(dir, PassthroughOptions::new().inode_fd_budget(1)).unwrap();
    fs::write(dir.join(".probe"), b"").unwrap();
    let e = pt.do_lookup(ROOT_ID, os(".probe")).unwrap();
    let cached = pt.stats().cached_fds;
    pt.inodes.forget(e.ino, 1);
    fs::remove_file(dir.join(".probe")).unwrap();
    if cached == 0 {
        println!("skipped: no usable file handles here (not root, or no support)");
        return None;
    }
    Some(pt)
}

fn within_budget(s: &PassthroughStats) {
    assert_eq!(s.fd_budget, MIN_BUDGET as u64);
    assert!(
        s.pinned_fds + s.cached_fds <= s.fd_budget,
        "over budget: {s:?}"
    );
}

#[test]
fn budget_rule() {
    assert_eq!(budget_for(20_000), 20_000 - 4096);
    assert_eq!(budget_for(1024), 768);
    assert_eq!(budget_for(400), 272);
    assert_eq!(budget_for(100), MIN_BUDGET);
    assert_eq!(budget_for(0), MIN_BUDGET);
    assert!(budget_for(u64::MAX) > 1_000_000);
}

#[test]
fn a_thousand_inodes_fit_the_smallest_budget() {
    let src = tempfile::tempdir().unwrap();
    let Some(pt) = tiny_budget(src.path()) else {
        return;
    };
    fs::create_dir(src.path().join("d")).unwrap();
    for i in 0..1000 {
        fs::write(src.path().join(format!("d/f{i}")), vec![b'x'; i]).unwrap();
    }
    let d = pt.do_lookup(ROOT_ID, os("d")).unwrap().ino;
    let mut inos: Vec<Ino> = Vec::new();
    for i in 0..1000 {
        let e = pt.do_lookup(d, os(&format!("f{i}"))).unwrap();
        assert_eq!(e.attr.size, i as u64);
        inos.push(e.ino);
    }
    let s = pt.stats();
    within_budget(&s);
    assert_eq!(s.inodes, 1002, "{s:?}");
    assert!(s.fd_evictions > 900, "{s:?}");
    // Every node still answers for its own file, through a reopened descriptor.
    for (i, &ino) in inos.iter().enumerate() {
        assert_eq!(pt.do_getattr(ino).unwrap().size, i as u64);
    }
    // Renames and unlinks relative to an evicted directory.
    for i in 0..100 {
        pt.do_rename(d, os(&format!("f{i}")), d, os(&format!("g{i}")), 0)
            .unwrap();
    }
    for i in 100..200 {
        pt.do_unlink(d, os(&format!("f{i}")), false).unwrap();
    }
    assert_eq!(fs::read_dir(src.path().join("d")).unwrap().count(), 900);
    assert_eq!(fs::metadata(src.path().join("d/g42")).unwrap().len(), 42);
    // Looking a renamed file up again finds the node it already has.
    assert_eq!(pt.do_lookup(d, os("g42")).unwrap().ino, inos[42]);
    let s = pt.stats();
    within_budget(&s);
    assert!(s.fd_reopens > 1000, "{s:?}");
    assert_eq!(s.stale_handles, 0, "{s:?}");
    // Forgetting everything closes everything but the root.
    for ino in inos {
        pt.inodes.forget(ino, u64::MAX);
    }
    pt.inodes.forget(d, u64::MAX);
    let s = pt.stats();
    assert_eq!((s.inodes, s.cached_fds, s.pinned_fds), (1, 0, 1), "{s:?}");
}

#[test]
fn a_deleted_files_node_goes_stale_even_when_its_inode_number_is_reused() {
    let src = tempfile::tempdir().unwrap();
    let Some(pt) = tiny_budget(src.path()) else {
        return;
    };
    let dir = src.path();
    fs::write(dir.join("old"), b"old contents").unwrap();
    let old = pt.do_lookup(ROOT_ID, os("old")).unwrap();
    let old_ino = fs::metadata(dir.join("old")).unwrap().ino();
    fs::remove_file(dir.join("old")).unwrap();
    // Push the old node's descriptor out of the cache: that frees the source inode.
    for i in 0..2 * MIN_BUDGET {
        fs::write(dir.join(format!("churn{i}")), b"").unwrap();
        pt.do_lookup(ROOT_ID, os(&format!("churn{i}"))).unwrap();
    }
    // New files, in case one gets the old inode number (rarely at once on a big ext4;
    // `tests/stale_handles.rs` forces the reuse on a tiny one).
    let mut reused = None;
    for i in 0..200 {
        let name = format!("new{i}");
        fs::write(dir.join(&name), b"new").unwrap();
        if fs::metadata(dir.join(&name)).unwrap().ino() == old_ino {
            reused = Some(name);
            break;
        }
    }
    println!("inode number reused: {}", reused.is_some());
    // The old node answers ESTALE: never the attributes of the new file.
    assert_eq!(pt.do_getattr(old.ino).map(|a| a.size), Err(Errno::STALE));
    assert_eq!(pt.do_readlink(old.ino).map(drop), Err(Errno::STALE));
    assert!(pt.stats().stale_handles >= 1);
    if let Some(name) = reused {
        // The new file under its own name: a new node, not the stale one.
        let new = pt.do_lookup(ROOT_ID, os(&name)).unwrap();
        assert_ne!(new.ino, old.ino);
        assert_eq!(new.attr.size, 3);
        assert_eq!(pt.do_getattr(new.ino).unwrap().size, 3);
        assert_eq!(pt.do_getattr(old.ino).map(drop), Err(Errno::STALE));
        // Forgetting the stale node leaves the new one alone.
        pt.inodes.forget(old.ino, 1);
        assert_eq!(pt.do_lookup(ROOT_ID, os(&name)).unwrap().ino, new.ino);
    }
}

#[test]
fn reopened_symlinks_and_directories_are_still_never_followed() {
    let outer = tempfile::tempdir().unwrap();
    let src = outer.path().join("src");
    let outside = outer.path().join("outside");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("target"), b"precious").unwrap();
    std::os::unix::fs::symlink(&outside, src.join("to-dir")).unwrap();
    let Some(pt) = tiny_budget(&src) else {
        return;
    };
    let link = pt.do_lookup(ROOT_ID, os("to-dir")).unwrap();
    let sub = pt.do_lookup(ROOT_ID, os("sub")).unwrap();
    for i in 0..2 * MIN_BUDGET {
        fs::write(src.join(format!("c{i}")), b"").unwrap();
        pt.do_lookup(ROOT_ID, os(&format!("c{i}"))).unwrap();
    }
    let before = pt.stats().fd_reopens;
    assert_eq!(link.attr.kind(), Some(FileType::Symlink));
    assert_eq!(
        pt.do_readlink(link.ino).unwrap(),
        outside.as_os_str().as_encoded_bytes()
    );
    assert_eq!(
        pt.do_mkdir(None, link.ino, os("x"), 0o755).map(drop),
        Err(Errno::NOTDIR)
    );
    assert_eq!(
        pt.do_unlink(link.ino, os("target"), false),
        Err(Errno::NOTDIR)
    );
    assert_eq!(pt.do_lookup(sub.ino, os("..")).map(|e| e.ino), Ok(ROOT_ID));
    pt.do_mkdir(None, sub.ino, os("made"), 0o755).unwrap();
    assert!(src.join("sub/made").is_dir());
    assert!(pt.stats().fd_reopens > before);
    assert_eq!(fs::read(outside.join("target")).unwrap(), b"precious");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
}

#[test]
fn pinned_descriptors_beyond_the_budget_fail_with_emfile() {
    let dir = tempfile::tempdir().unwrap();
    let counters = Arc::new(Counters::default());
    let store = FdStore::new(0, Arc::clone(&counters));
    let open = |i: usize| {
        let name = dir.path().join(format!("p{i}"));
        fs::write(&name, b"").unwrap();
        let fd = rustix::fs::open(&name, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).unwrap();
        let st = crate::sys::stat_fd(fd.as_fd()).unwrap();
        (fd, (st.st_dev, st.st_ino))
    };
    let mut slots = Vec::new();
    for i in 0..MIN_BUDGET {
        let (fd, key) = open(i);
        slots.push(store.slot(fd, key, Err(Errno::OPNOTSUPP), false).unwrap());
    }
    let (fd, key) = open(MIN_BUDGET);
    assert_eq!(
        store.slot(fd, key, Err(Errno::OPNOTSUPP), false).map(drop),
        Err(Errno::MFILE)
    );
    // One goes: room for one more.
    slots.pop();
    let (fd, key) = open(MIN_BUDGET + 1);
    slots.push(store.slot(fd, key, Err(Errno::OPNOTSUPP), false).unwrap());
    assert_eq!(
        counters
            .pinned_fds
            .load(std::sync::atomic::Ordering::Relaxed),
        MIN_BUDGET as u64
    );
    for s in &slots {
        assert!(s.is_open() && s.handle().is_none());
        s.fd().unwrap();
    }
}

#[test]
fn open_unlinked_and_tmpfile_inodes_survive_eviction() {
    let src = tempfile::tempdir().unwrap();
    let Some(pt) = tiny_budget(src.path()) else {
        return;
    };
    let dir = src.path();
    // Unlinked (behind the mount) but still open: an open descriptor keeps the file alive,
    // so its handle still opens.
    fs::write(dir.join("gone"), b"still here").unwrap();
    let gone = pt.do_lookup(ROOT_ID, os("gone")).unwrap();
    let open = fs::File::open(dir.join("gone")).unwrap();
    fs::remove_file(dir.join("gone")).unwrap();
    // An unnamed O_TMPFILE file, open.
    let rdwr = OFlags::RDWR.bits() as i32;
    let (tmp, _inode, tmp_fd) = pt.create_tmpfile(None, ROOT_ID, 0o600, rdwr).unwrap();
    rustix::io::write(&tmp_fd, b"tmp").unwrap();
    let evictions = pt.stats().fd_evictions;
    for i in 0..2 * MIN_BUDGET {
        fs::write(dir.join(format!("c{i}")), b"").unwrap();
        pt.do_lookup(ROOT_ID, os(&format!("c{i}"))).unwrap();
    }
    assert!(pt.stats().fd_evictions >= evictions + MIN_BUDGET as u64);
    let reopens = pt.stats().fd_reopens;
    let attr = pt.do_getattr(gone.ino).unwrap();
    assert_eq!((attr.size, attr.nlink), (10, 0));
    assert_eq!(pt.do_getattr(tmp.ino).unwrap().nlink, 0);
    let linked = pt.do_link(tmp.ino, ROOT_ID, os("named")).unwrap();
    assert_eq!((linked.ino, linked.attr.nlink), (tmp.ino, 1));
    assert_eq!(fs::read(dir.join("named")).unwrap(), b"tmp");
    assert!(pt.stats().fd_reopens >= reopens + 2);
    drop(open);
}

#[test]
fn files_unlinked_through_the_mount_live_until_forgotten() {
    let src = tempfile::tempdir().unwrap();
    let Some(pt) = tiny_budget(src.path()) else {
        return;
    };
    let dir = src.path();
    fs::write(dir.join("unlinked"), b"1234").unwrap();
    fs::write(dir.join("replaced"), b"123").unwrap();
    fs::write(dir.join("other"), b"12").unwrap();
    let unlinked = pt.do_lookup(ROOT_ID, os("unlinked")).unwrap();
    let replaced = pt.do_lookup(ROOT_ID, os("replaced")).unwrap();
    pt.do_unlink(ROOT_ID, os("unlinked"), false).unwrap();
    pt.do_rename(ROOT_ID, os("other"), ROOT_ID, os("replaced"), 0)
        .unwrap();
    for i in 0..2 * MIN_BUDGET {
        fs::write(dir.join(format!("c{i}")), b"").unwrap();
        pt.do_lookup(ROOT_ID, os(&format!("c{i}"))).unwrap();
    }
    let s = pt.stats();
    within_budget(&s);
    assert_eq!(s.pinned_fds, 3, "root and the two orphans: {s:?}");
    // What the kernel may still ask about them (the writeback cache flushes times).
    let times = fusekit::SetAttr {
        mtime: Some(fusekit::TimeOrNow::Now),
        ..Default::default()
    };
    for (node, size) in [(unlinked.ino, 4), (replaced.ino, 3)] {
        let attr = pt.do_getattr(node).unwrap();
        assert_eq!((attr.size, attr.nlink), (size, 0));
        pt.do_setattr(node, &times).unwrap();
    }
    assert_eq!(pt.stats().stale_handles, 0);
    // Forgotten: closed.
    pt.inodes.forget(unlinked.ino, 1);
    pt.inodes.forget(replaced.ino, 1);
    assert_eq!(pt.stats().pinned_fds, 1);
}
