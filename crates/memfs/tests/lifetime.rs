//! Inode lifetime: open-unlink-close, tmpfile + link, hard links, memory returned at the last
//! release + forget (ARCHITECTURE rules 3 and 4).

mod common;
use common::*;
use fusekit_memfs::{Errno, SetAttr, ROOT_ID};

#[test]
fn io_after_unlink_and_memory_returned_at_last_release_and_forget() {
    let fs = fs();
    let base = fs.stats();
    let (a, fh) = create(&fs, ROOT_ID, "f");
    assert_eq!(
        fs.write(&root(), a.ino, fh, 0, &[5u8; 10_000], false),
        Ok(10_000)
    );
    fs.unlink(&root(), ROOT_ID, n("f")).unwrap();
    assert_eq!(fs.lookup(ROOT_ID, n("f")).err(), Some(Errno::NOENT));
    // write, read, fstat, ftruncate, fchmod after unlink all work.
    assert_eq!(fs.write(&root(), a.ino, fh, 10_000, b"tail", false), Ok(4));
    let data = read_all(&fs, a.ino, fh);
    assert_eq!(data.len(), 10_004);
    assert_eq!(&data[10_000..], b"tail");
    let st = fs.getattr(a.ino).unwrap();
    assert_eq!((st.nlink, st.size), (0, 10_004));
    let set = SetAttr {
        size: Some(5000),
        mode: Some(0o600),
        fh: Some(fh),
        ..SetAttr::default()
    };
    let st = fs.setattr(&root(), a.ino, &set).unwrap();
    assert_eq!((st.size, st.perm()), (5000, 0o600));
    assert!(fs.stats().bytes_used > 0);
    // Release alone is not enough: the kernel still holds a lookup reference.
    fs.release(a.ino, fh, None).unwrap();
    assert_eq!(fs.stats().inodes, base.inodes + 1);
    assert!(fs.getattr(a.ino).is_ok());
    fs.forget(a.ino, 1);
    assert_eq!(fs.stats(), base, "all memory and slots returned");
    assert_eq!(fs.getattr(a.ino).err(), Some(Errno::NOENT));
}

#[test]
fn forget_first_then_release() {
    let fs = fs();
    let base = fs.stats();
    let (a, fh) = create(&fs, ROOT_ID, "f");
    fs.write(&root(), a.ino, fh, 0, b"x", false).unwrap();
    fs.unlink(&root(), ROOT_ID, n("f")).unwrap();
    fs.forget(a.ino, 1);
    assert_eq!(read_all(&fs, a.ino, fh), b"x", "open handle keeps it alive");
    fs.release(a.ino, fh, None).unwrap();
    assert_eq!(fs.stats(), base);
}

#[test]
fn tmpfile_then_link_gives_it_a_name() {
    let fs = fs();
    let base = fs.stats();
    let (a, fh) = fs.tmpfile(&root(), ROOT_ID, 0o600, O_RDWR).unwrap();
    assert_eq!(a.nlink, 0);
    assert!(list(&fs, ROOT_ID).is_empty());
    fs.write(&root(), a.ino, fh, 0, b"hello", false).unwrap();
    let l = fs.link(&root(), a.ino, ROOT_ID, n("named")).unwrap();
    assert_eq!((l.ino, l.nlink), (a.ino, 1));
    let found = fs.lookup(ROOT_ID, n("named")).unwrap();
    assert_eq!(found.ino, a.ino);
    assert_eq!(read_all(&fs, a.ino, fh), b"hello");
    fs.release(a.ino, fh, None).unwrap();
    fs.forget(a.ino, 3);
    assert_eq!(fs.stats().inodes, base.inodes + 1, "still named");
    fs.unlink(&root(), ROOT_ID, n("named")).unwrap();
    assert_eq!(fs.stats(), base);
}

#[test]
fn tmpfile_excl_cannot_be_linked_and_unlinked_file_cannot_be_relinked() {
    let fs = fs();
    let (a, fh) = fs
        .tmpfile(&root(), ROOT_ID, 0o600, O_RDWR | O_EXCL)
        .unwrap();
    assert_eq!(
        fs.link(&root(), a.ino, ROOT_ID, n("x")).err(),
        Some(Errno::NOENT)
    );
    fs.release(a.ino, fh, None).unwrap();
    let (b, fh) = create(&fs, ROOT_ID, "b");
    fs.unlink(&root(), ROOT_ID, n("b")).unwrap();
    assert_eq!(
        fs.link(&root(), b.ino, ROOT_ID, n("b2")).err(),
        Some(Errno::NOENT)
    );
    fs.release(b.ino, fh, None).unwrap();
    fs.forget(b.ino, 1);
    // Freed tmpfile gone too.
    fs.forget(a.ino, 1);
    assert_eq!(fs.stats().inodes, 1);
}

#[test]
fn tmpfile_freed_without_link() {
    let fs = fs();
    let base = fs.stats();
    let (a, fh) = fs.tmpfile(&root(), ROOT_ID, 0o600, O_RDWR).unwrap();
    fs.write(&root(), a.ino, fh, 0, &[1u8; 9000], false)
        .unwrap();
    fs.release(a.ino, fh, None).unwrap();
    fs.forget(a.ino, 1);
    assert_eq!(fs.stats(), base);
}

#[test]
fn hard_links_share_one_inode_and_survive_unlink_while_open() {
    let fs = fs();
    let base = fs.stats();
    let (a, fh) = create(&fs, ROOT_ID, "a");
    let l = fs.link(&root(), a.ino, ROOT_ID, n("b")).unwrap();
    assert_eq!((l.ino, l.nlink), (a.ino, 2));
    fs.write(&root(), a.ino, fh, 0, b"shared", false).unwrap();
    let b = fs.lookup(ROOT_ID, n("b")).unwrap();
    assert_eq!((b.ino, b.size, b.nlink), (a.ino, 6, 2));
    fs.unlink(&root(), ROOT_ID, n("a")).unwrap();
    assert_eq!(fs.getattr(a.ino).unwrap().nlink, 1);
    fs.unlink(&root(), ROOT_ID, n("b")).unwrap();
    assert_eq!(fs.getattr(a.ino).unwrap().nlink, 0);
    assert_eq!(read_all(&fs, a.ino, fh), b"shared");
    fs.release(a.ino, fh, None).unwrap();
    fs.forget(a.ino, 3);
    assert_eq!(fs.stats(), base);
}

#[test]
fn directories_count_links_and_removed_dirs_are_freed() {
    let fs = fs();
    let base = fs.stats();
    let d = fs.mkdir(&root(), ROOT_ID, n("d"), 0o755).unwrap();
    assert_eq!(d.nlink, 2);
    assert_eq!(fs.getattr(ROOT_ID).unwrap().nlink, 3);
    let e = fs.mkdir(&root(), d.ino, n("e"), 0o755).unwrap();
    assert_eq!(fs.getattr(d.ino).unwrap().nlink, 3);
    assert_eq!(
        fs.rmdir(&root(), ROOT_ID, n("d")).err(),
        Some(Errno::NOTEMPTY)
    );
    fs.rmdir(&root(), d.ino, n("e")).unwrap();
    assert_eq!(fs.getattr(d.ino).unwrap().nlink, 2);
    assert_eq!(fs.getattr(e.ino).unwrap().nlink, 0);
    let fh = fs.opendir(&root(), d.ino, 0).unwrap();
    fs.rmdir(&root(), ROOT_ID, n("d")).unwrap();
    assert_eq!(fs.getattr(ROOT_ID).unwrap().nlink, 2);
    // A removed directory accepts no new entries and lists nothing.
    assert_eq!(
        fs.mknod(&root(), d.ino, n("x"), 0o100644, 0).err(),
        Some(Errno::NOENT)
    );
    let mut count = 0;
    fs.readdir(d.ino, fh, 0, |_| {
        count += 1;
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(count, 0);
    fs.releasedir(d.ino, fh).unwrap();
    fs.forget(d.ino, 1);
    fs.forget(e.ino, 1);
    assert_eq!(fs.stats(), base);
}

#[test]
fn rename_over_an_open_file_keeps_it_readable() {
    let fs = fs();
    let base = fs.stats();
    let (victim, vfh) = create(&fs, ROOT_ID, "victim");
    fs.write(&root(), victim.ino, vfh, 0, b"old", false)
        .unwrap();
    let (src, sfh) = create(&fs, ROOT_ID, "src");
    fs.write(&root(), src.ino, sfh, 0, b"new", false).unwrap();
    fs.rename(
        &root(),
        ROOT_ID,
        n("src"),
        ROOT_ID,
        n("victim"),
        Default::default(),
    )
    .unwrap();
    assert_eq!(fs.lookup(ROOT_ID, n("victim")).unwrap().ino, src.ino);
    assert_eq!(fs.getattr(victim.ino).unwrap().nlink, 0);
    assert_eq!(read_all(&fs, victim.ino, vfh), b"old");
    fs.release(victim.ino, vfh, None).unwrap();
    fs.forget(victim.ino, 1);
    fs.release(src.ino, sfh, None).unwrap();
    fs.forget(src.ino, 2);
    fs.unlink(&root(), ROOT_ID, n("victim")).unwrap();
    assert_eq!(fs.stats(), base);
}

#[test]
fn batch_forget_and_lookup_counts() {
    let fs = fs();
    let a = fs.mknod(&root(), ROOT_ID, n("a"), 0o100644, 0).unwrap();
    for _ in 0..4 {
        fs.lookup(ROOT_ID, n("a")).unwrap();
    }
    fs.unlink(&root(), ROOT_ID, n("a")).unwrap();
    fs.batch_forget(&[(a.ino, 3)]);
    assert!(fs.getattr(a.ino).is_ok(), "two references left");
    fs.batch_forget(&[(a.ino, 2)]);
    assert_eq!(fs.getattr(a.ino).err(), Some(Errno::NOENT));
}

#[test]
fn data_of_unnamed_closed_file_is_returned_before_forget() {
    let fs = fs();
    let base = fs.stats();
    let (a, fh) = create(&fs, ROOT_ID, "f");
    fs.write(&root(), a.ino, fh, 0, &[1u8; 3 * 4096], false)
        .unwrap();
    fs.unlink(&root(), ROOT_ID, n("f")).unwrap();
    assert_eq!(fs.stats().bytes_used, 3 * 4096, "open: data stays");
    fs.release(a.ino, fh, None).unwrap();
    let s = fs.stats();
    assert_eq!(
        s.bytes_used, base.bytes_used,
        "no name, no handle: data returned"
    );
    assert_eq!(s.inodes, base.inodes + 1, "the inode waits for forget");
    fs.forget(a.ino, 1);
    assert_eq!(fs.stats().inodes, base.inodes);
}

#[test]
fn connection_end_drops_kernel_references_and_frees_unlinked_files() {
    use fusekit_memfs::{Lock, LockType};
    let fs = fs();
    let base = fs.stats();
    let (kept, kept_fh) = create(&fs, ROOT_ID, "kept");
    fs.write(&root(), kept.ino, kept_fh, 0, b"stays", false)
        .unwrap();
    let (gone, gone_fh) = create(&fs, ROOT_ID, "gone");
    fs.write(&root(), gone.ino, gone_fh, 0, &[1u8; 4096], false)
        .unwrap();
    fs.unlink(&root(), ROOT_ID, n("gone")).unwrap();
    fs.setlk(
        kept.ino,
        1,
        &Lock {
            start: 0,
            end: 0,
            typ: LockType::Write.raw(),
            pid: 1,
        },
        false,
    )
    .unwrap();
    fs.connection_ended();
    let s = fs.stats();
    assert_eq!(s.open_handles, 0);
    assert_eq!(s.inodes, base.inodes + 1, "only the named file is left");
    assert_eq!(s.bytes_used, 4096, "its one page");
    assert!(fs.getattr(gone.ino).is_err());
    let probe = Lock {
        start: 0,
        end: 0,
        typ: LockType::Write.raw(),
        pid: 2,
    };
    assert_eq!(
        fs.getlk(kept.ino, 2, &probe, false).unwrap().typ,
        LockType::Unlock.raw()
    );
    // A new connection finds the named file by lookup.
    let a = fs.lookup(ROOT_ID, n("kept")).unwrap();
    let fh = fs.open(&root(), a.ino, O_RDONLY).unwrap();
    assert_eq!(read_all(&fs, a.ino, fh), b"stays");
}
