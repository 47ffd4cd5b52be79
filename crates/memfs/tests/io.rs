//! File I/O: read/write, holes, append, EFBIG, ENOSPC, fallocate modes, SEEK_DATA/HOLE,
//! copy_file_range, access modes, atime/mtime.

mod common;
use common::*;
use fusekit_memfs::*;

#[test]
fn sparse_write_read_and_blocks() {
    let fs = fs();
    let (a, fh) = create(&fs, ROOT_ID, "f");
    fs.write(&root(), a.ino, fh, 1 << 30, b"end", false)
        .unwrap();
    let st = fs.getattr(a.ino).unwrap();
    assert_eq!((st.size, st.blocks), ((1 << 30) + 3, 8));
    let mut out = Vec::new();
    fs.read(a.ino, fh, (1 << 30) - 2, 100, &mut out).unwrap();
    assert_eq!(out, b"\0\0end");
    out.clear();
    fs.read(a.ino, fh, 5 << 30, 10, &mut out).unwrap();
    assert!(out.is_empty(), "read past EOF is empty");
    assert_eq!(fs.stats().bytes_used, PAGE_SIZE);
}

#[test]
fn append_handles_write_at_eof() {
    let fs = fs();
    let (a, fh) = create(&fs, ROOT_ID, "f");
    fs.write(&root(), a.ino, fh, 0, b"hello", false).unwrap();
    let afh = fs.open(&root(), a.ino, O_WRONLY | O_APPEND).unwrap();
    fs.write(&root(), a.ino, afh, 0, b" world", false).unwrap();
    assert_eq!(read_all(&fs, a.ino, fh), b"hello world");
    // Access modes are enforced per handle.
    let mut out = Vec::new();
    assert_eq!(fs.read(a.ino, afh, 0, 10, &mut out), Err(Errno::BADF));
    let rfh = fs.open(&root(), a.ino, O_RDONLY).unwrap();
    assert_eq!(
        fs.write(&root(), a.ino, rfh, 0, b"x", false),
        Err(Errno::BADF)
    );
    assert_eq!(fs.read(a.ino + 1, rfh, 0, 1, &mut out), Err(Errno::BADF));
    for h in [fh, afh, rfh] {
        fs.release(a.ino, h, None).unwrap();
    }
    assert_eq!(fs.release(a.ino, fh, None), Err(Errno::BADF));
}

#[test]
fn efbig_at_max_file_size() {
    let fs = fs();
    let (a, fh) = create(&fs, ROOT_ID, "f");
    assert_eq!(
        fs.write(&root(), a.ino, fh, MAX_FILE_SIZE, b"x", false),
        Err(Errno::FBIG)
    );
    assert_eq!(
        fs.write(&root(), a.ino, fh, MAX_FILE_SIZE - 2, b"xyz", false),
        Ok(2)
    );
    assert_eq!(fs.getattr(a.ino).unwrap().size, MAX_FILE_SIZE);
    assert_eq!(
        fs.fallocate(a.ino, fh, MAX_FILE_SIZE, 1, 0),
        Err(Errno::FBIG)
    );
}

#[test]
fn enospc_short_write_and_space_returned() {
    let fs = MemFs::new(
        Limits {
            max_bytes: Some(3 * PAGE_SIZE),
            max_inodes: None,
        },
        (0, 0),
        0o755,
    );
    let (a, fh) = create(&fs, ROOT_ID, "f");
    let big = vec![1u8; 5 * PAGE_SIZE as usize];
    assert_eq!(
        fs.write(&root(), a.ino, fh, 0, &big, false),
        Ok(3 * PAGE_SIZE as u32)
    );
    assert_eq!(
        fs.write(&root(), a.ino, fh, 3 * PAGE_SIZE, b"x", false),
        Err(Errno::NOSPC)
    );
    assert_eq!(fs.getattr(a.ino).unwrap().size, 3 * PAGE_SIZE);
    assert_eq!(fs.statfs().bfree, 0);
    assert_eq!(
        fs.fallocate(a.ino, fh, 0, 4 * PAGE_SIZE, 0),
        Err(Errno::NOSPC)
    );
    fs.fallocate(
        a.ino,
        fh,
        PAGE_SIZE,
        PAGE_SIZE,
        FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
    )
    .unwrap();
    assert_eq!(fs.statfs().bfree, 1);
    assert_eq!(
        fs.write(&root(), a.ino, fh, 3 * PAGE_SIZE, b"x", false),
        Ok(1)
    );
    // xattrs are charged too.
    assert_eq!(
        fs.setxattr(&root(), a.ino, n("user.big"), &[0u8; 100], 0),
        Err(Errno::NOSPC)
    );
}

#[test]
fn fallocate_modes() {
    let fs = fs();
    let (a, fh) = create(&fs, ROOT_ID, "f");
    fs.fallocate(a.ino, fh, 0, 10_000, 0).unwrap();
    let st = fs.getattr(a.ino).unwrap();
    assert_eq!((st.size, st.blocks), (10_000, 24));
    fs.fallocate(a.ino, fh, 20_000, 100, FALLOC_FL_KEEP_SIZE)
        .unwrap();
    let st = fs.getattr(a.ino).unwrap();
    assert_eq!(
        (st.size, st.blocks),
        (10_000, 32),
        "KEEP_SIZE allocates past EOF"
    );
    fs.write(&root(), a.ino, fh, 0, &[9u8; 10_000], false)
        .unwrap();
    fs.fallocate(
        a.ino,
        fh,
        100,
        8192,
        FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
    )
    .unwrap();
    let data = read_all(&fs, a.ino, fh);
    assert!(data[..100].iter().all(|&b| b == 9));
    assert!(data[100..8292].iter().all(|&b| b == 0));
    assert!(data[8292..].iter().all(|&b| b == 9));
    assert_eq!(
        fs.getattr(a.ino).unwrap().blocks,
        24,
        "one whole page freed"
    );
    fs.fallocate(a.ino, fh, 9000, 3000, FALLOC_FL_ZERO_RANGE)
        .unwrap();
    let data = read_all(&fs, a.ino, fh);
    assert_eq!(data.len(), 12_000);
    assert!(data[9000..].iter().all(|&b| b == 0));
    fs.fallocate(
        a.ino,
        fh,
        0,
        50_000,
        FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
    )
    .unwrap();
    assert_eq!(fs.getattr(a.ino).unwrap().size, 12_000);
    assert_eq!(
        fs.fallocate(a.ino, fh, 0, 1, FALLOC_FL_PUNCH_HOLE),
        Err(Errno::OPNOTSUPP)
    );
    assert_eq!(
        fs.fallocate(a.ino, fh, 0, 1, 0x08),
        Err(Errno::OPNOTSUPP),
        "COLLAPSE_RANGE"
    );
    assert_eq!(fs.fallocate(a.ino, fh, 0, 0, 0), Err(Errno::INVAL));
}

#[test]
fn seek_data_and_hole() {
    let fs = fs();
    let (a, fh) = create(&fs, ROOT_ID, "f");
    fs.write(&root(), a.ino, fh, 3 * PAGE_SIZE, b"data", false)
        .unwrap();
    fs.setattr(
        &root(),
        a.ino,
        &SetAttr {
            size: Some(10 * PAGE_SIZE),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(fs.lseek(a.ino, fh, 0, SEEK_DATA), Ok(3 * PAGE_SIZE));
    assert_eq!(fs.lseek(a.ino, fh, 0, SEEK_HOLE), Ok(0));
    assert_eq!(
        fs.lseek(a.ino, fh, 3 * PAGE_SIZE, SEEK_HOLE),
        Ok(4 * PAGE_SIZE)
    );
    assert_eq!(
        fs.lseek(a.ino, fh, 4 * PAGE_SIZE, SEEK_DATA),
        Err(Errno::NXIO)
    );
    assert_eq!(
        fs.lseek(a.ino, fh, 10 * PAGE_SIZE, SEEK_HOLE),
        Err(Errno::NXIO)
    );
    assert_eq!(fs.lseek(a.ino, fh, 0, 0), Err(Errno::INVAL));
}

#[test]
fn copy_file_range_keeps_holes_and_checks_args() {
    let fs = fs();
    let (a, afh) = create(&fs, ROOT_ID, "a");
    let (b, bfh) = create(&fs, ROOT_ID, "b");
    fs.write(&root(), a.ino, afh, 0, b"head", false).unwrap();
    fs.write(&root(), a.ino, afh, 5 * PAGE_SIZE, b"tail", false)
        .unwrap();
    fs.write(
        &root(),
        b.ino,
        bfh,
        0,
        &vec![7u8; 8 * PAGE_SIZE as usize],
        false,
    )
    .unwrap();
    let size = fs.getattr(a.ino).unwrap().size;
    let n = fs
        .copy_file_range(&root(), (a.ino, afh, 0), (b.ino, bfh, 10), 1 << 40, 0)
        .unwrap();
    assert_eq!(n, size, "short at source EOF");
    let data = read_all(&fs, b.ino, bfh);
    let src = read_all(&fs, a.ino, afh);
    assert_eq!(&data[10..10 + size as usize], &src[..]);
    assert!(data[..10].iter().all(|&x| x == 7));
    assert!(data[10 + size as usize..].iter().all(|&x| x == 7));
    assert!(
        fs.getattr(b.ino).unwrap().blocks < 8 * 8,
        "holes copied as holes"
    );
    assert_eq!(
        fs.copy_file_range(&root(), (a.ino, afh, size), (b.ino, bfh, 0), 10, 0),
        Ok(0)
    );
    assert_eq!(
        fs.copy_file_range(&root(), (a.ino, afh, 0), (a.ino, afh, 2), 10, 0),
        Err(Errno::INVAL)
    );
    assert_eq!(
        fs.copy_file_range(&root(), (a.ino, afh, 0), (a.ino, afh, size), 10, 0),
        Ok(10)
    );
    assert_eq!(
        fs.copy_file_range(&root(), (a.ino, afh, 0), (b.ino, bfh, 0), 10, 1),
        Err(Errno::INVAL)
    );
    let ro = fs.open(&root(), b.ino, O_RDONLY).unwrap();
    assert_eq!(
        fs.copy_file_range(&root(), (a.ino, afh, 0), (b.ino, ro, 0), 10, 0),
        Err(Errno::BADF)
    );
}

#[test]
fn timestamps_on_io() {
    let fs = fs();
    let (a, fh) = create(&fs, ROOT_ID, "f");
    let (_, born) = fs.getattr_with_btime(a.ino).unwrap();
    assert_eq!(born, a.ctime, "birth time is the creation time");
    std::thread::sleep(std::time::Duration::from_millis(2));
    fs.write(&root(), a.ino, fh, 0, b"x", false).unwrap();
    let (w, btime) = fs.getattr_with_btime(a.ino).unwrap();
    assert!(w.mtime > a.mtime && w.ctime == w.mtime && w.atime == a.atime);
    assert_eq!(btime, born, "a write leaves the birth time alone");
    // relatime: the first read after a write updates atime, the second does not.
    let mut out = Vec::new();
    fs.read(a.ino, fh, 0, 1, &mut out).unwrap();
    let r1 = fs.getattr(a.ino).unwrap();
    assert!(r1.atime > w.mtime);
    std::thread::sleep(std::time::Duration::from_millis(2));
    fs.read(a.ino, fh, 0, 1, &mut out).unwrap();
    assert_eq!(fs.getattr(a.ino).unwrap().atime, r1.atime);
    assert_eq!(fs.fsync(a.ino, fh, false), Ok(()));
    assert_eq!(fs.flush(a.ino, fh, Some(1)), Ok(()));
}
