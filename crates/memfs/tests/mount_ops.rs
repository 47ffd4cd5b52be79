//! Data operations through a real mount: fallocate modes, SEEK_DATA/SEEK_HOLE,
//! copy_file_range (small and large: the kernel uses both COPY_FILE_RANGE opcodes), statx
//! birth time, and POSIX record locks and flock between processes, including a blocking
//! F_SETLKW that a signal ends with EINTR.

mod common;

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use common::mount::{assert_success, mount_memfs, python3, require_kernel, with_deadline};
use fusekit_memfs::Limits;
use rustix::fs::{FallocateFlags, FlockOperation, SeekFrom};
use rustix::io::Errno;

const LIMIT: Duration = Duration::from_secs(60);
const PAGE: u64 = 4096;

fn rw(p: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(p)
        .unwrap()
}

fn pread_all(f: &File, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = rustix::io::pread(f, &mut buf[done..], done as u64).unwrap();
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    buf
}

#[test]
fn fallocate_modes() {
    if !require_kernel("fallocate_modes") {
        return;
    }
    with_deadline(LIMIT, || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let f = rw(&mnt.path().join("f"));
        // Mode 0 extends the size and allocates.
        rustix::fs::fallocate(&f, FallocateFlags::empty(), 0, 4 * PAGE).unwrap();
        let st = rustix::fs::fstat(&f).unwrap();
        assert_eq!(st.st_size as u64, 4 * PAGE);
        assert!(
            st.st_blocks as u64 >= 4 * PAGE / 512,
            "blocks {}",
            st.st_blocks
        );
        // KEEP_SIZE allocates past EOF without changing the size.
        rustix::fs::fallocate(&f, FallocateFlags::KEEP_SIZE, 4 * PAGE, 4 * PAGE).unwrap();
        let st = rustix::fs::fstat(&f).unwrap();
        assert_eq!(st.st_size as u64, 4 * PAGE);
        assert!(st.st_blocks as u64 >= 8 * PAGE / 512);
        // Punch a hole in written data: zeros there, size kept, blocks freed.
        rustix::io::pwrite(&f, &vec![0xaa; 4 * PAGE as usize], 0).unwrap();
        rustix::fs::fallocate(
            &f,
            FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE,
            PAGE,
            2 * PAGE,
        )
        .unwrap();
        let data = pread_all(&f, 4 * PAGE as usize);
        assert!(data[..PAGE as usize].iter().all(|&b| b == 0xaa));
        assert!(data[PAGE as usize..3 * PAGE as usize]
            .iter()
            .all(|&b| b == 0));
        assert!(data[3 * PAGE as usize..].iter().all(|&b| b == 0xaa));
        let st = rustix::fs::fstat(&f).unwrap();
        assert_eq!(st.st_size as u64, 4 * PAGE);
        assert!(
            (st.st_blocks as u64) < 8 * PAGE / 512,
            "punched pages freed"
        );
        // ZERO_RANGE, unaligned, past EOF extends the size.
        rustix::fs::fallocate(&f, FallocateFlags::ZERO_RANGE, 10, 100).unwrap();
        let data = pread_all(&f, 200);
        assert!(data[..10].iter().all(|&b| b == 0xaa));
        assert!(data[10..110].iter().all(|&b| b == 0));
        assert!(data[110..].iter().all(|&b| b == 0xaa));
        rustix::fs::fallocate(&f, FallocateFlags::ZERO_RANGE, 4 * PAGE, 10).unwrap();
        assert_eq!(rustix::fs::fstat(&f).unwrap().st_size as u64, 4 * PAGE + 10);
        // COLLAPSE_RANGE is not supported: EOPNOTSUPP, file unchanged.
        assert_eq!(
            rustix::fs::fallocate(&f, FallocateFlags::COLLAPSE_RANGE, 0, PAGE),
            Err(Errno::OPNOTSUPP)
        );
        assert_eq!(rustix::fs::fstat(&f).unwrap().st_size as u64, 4 * PAGE + 10);
        // PUNCH_HOLE without KEEP_SIZE is refused.
        assert_eq!(
            rustix::fs::fallocate(&f, FallocateFlags::PUNCH_HOLE, 0, PAGE),
            Err(Errno::OPNOTSUPP)
        );
        drop(f);
        drop(mnt);
    });
}

#[test]
fn seek_data_and_hole() {
    if !require_kernel("seek_data_and_hole") {
        return;
    }
    with_deadline(LIMIT, || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let f = rw(&mnt.path().join("sparse"));
        // Data in pages 2 and 5 of an 8-page file.
        rustix::io::pwrite(&f, b"x", 2 * PAGE + 7).unwrap();
        rustix::io::pwrite(&f, b"y", 5 * PAGE).unwrap();
        f.set_len(8 * PAGE).unwrap();
        let seek = |w| rustix::fs::seek(&f, w);
        assert_eq!(seek(SeekFrom::Data(0)), Ok(2 * PAGE));
        assert_eq!(seek(SeekFrom::Hole(2 * PAGE)), Ok(3 * PAGE));
        assert_eq!(seek(SeekFrom::Data(3 * PAGE)), Ok(5 * PAGE));
        assert_eq!(seek(SeekFrom::Hole(5 * PAGE + 1)), Ok(6 * PAGE));
        assert_eq!(seek(SeekFrom::Data(6 * PAGE)), Err(Errno::NXIO));
        assert_eq!(seek(SeekFrom::Hole(7 * PAGE)), Ok(7 * PAGE));
        assert_eq!(seek(SeekFrom::Data(8 * PAGE)), Err(Errno::NXIO));
        assert_eq!(seek(SeekFrom::Hole(8 * PAGE)), Err(Errno::NXIO));
        drop(f);
        drop(mnt);
    });
}

fn copy_range(src: &File, off_in: u64, dst: &File, off_out: u64, len: usize) -> usize {
    let (mut i, mut o) = (off_in, off_out);
    let mut done = 0;
    while done < len {
        let n = rustix::fs::copy_file_range(src, Some(&mut i), dst, Some(&mut o), len - done)
            .expect("copy_file_range");
        if n == 0 {
            break;
        }
        done += n;
    }
    done
}

#[test]
fn copy_file_range_small_and_large() {
    if !require_kernel("copy_file_range_small_and_large") {
        return;
    }
    with_deadline(LIMIT, || {
        let (engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let src = rw(&mnt.path().join("src"));
        let dst = rw(&mnt.path().join("dst"));
        let data: Vec<u8> = (0..(48u32 << 20)).map(|i| (i % 251) as u8).collect();
        rustix::io::pwrite(&src, &data[..1 << 20], 0).unwrap();
        let mut off = 1 << 20;
        while off < data.len() {
            off += rustix::io::pwrite(&src, &data[off..], off as u64).unwrap();
        }
        // Small, at odd offsets.
        assert_eq!(copy_range(&src, 3, &dst, 10, 1000), 1000);
        assert_eq!(&pread_all(&dst, 1010)[10..], &data[3..1003]);
        // Large: 48 MiB in as few calls as the kernel allows (which of the two opcodes,
        // COPY_FILE_RANGE or COPY_FILE_RANGE_64, carries it is the kernel's choice; the
        // adapter answers both).
        let copied = copy_range(&src, 0, &dst, 0, data.len());
        assert_eq!(copied, data.len());
        assert!(pread_all(&dst, data.len()) == data, "large copy differs");
        assert_eq!(
            rustix::fs::fstat(&dst).unwrap().st_size as usize,
            data.len()
        );
        assert!(engine.stats().bytes_used >= 2 * data.len() as u64);
        drop((src, dst));
        drop(mnt);
    });
}

#[test]
fn statx_reports_birth_time() {
    if !require_kernel("statx_reports_birth_time") {
        return;
    }
    with_deadline(LIMIT, || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let p = mnt.path().join("f");
        fs::write(&p, b"x").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        fs::write(&p, b"later").unwrap();
        let sx = rustix::fs::statx(
            rustix::fs::CWD,
            &p,
            rustix::fs::AtFlags::empty(),
            rustix::fs::StatxFlags::BTIME | rustix::fs::StatxFlags::MTIME,
        )
        .unwrap();
        assert!(
            sx.stx_mask & rustix::fs::StatxFlags::BTIME.bits() != 0,
            "statx offers btime"
        );
        let btime = Duration::new(sx.stx_btime.tv_sec as u64, sx.stx_btime.tv_nsec);
        let mtime = Duration::new(sx.stx_mtime.tv_sec as u64, sx.stx_mtime.tv_nsec);
        assert!(
            btime > before,
            "btime {btime:?} before the test began {before:?}"
        );
        assert!(mtime > btime, "mtime {mtime:?} must follow btime {btime:?}");
        drop(mnt);
    });
}

/// F_SETLK/F_SETLKW on `fd` for `[start, start+len)` (`F_UNLCK`, `F_RDLCK`, `F_WRLCK`).
fn posix_lock(fd: impl AsFd, cmd: i32, typ: i32, start: i64, len: i64) -> Result<(), Errno> {
    // SAFETY: flock is plain old data; zeroed is a valid value before we fill it in.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = typ as i16;
    fl.l_whence = libc::SEEK_SET as i16;
    fl.l_start = start;
    fl.l_len = len;
    use std::os::fd::AsRawFd;
    // SAFETY: a valid open fd and a pointer to a live flock for the call's duration.
    let r = unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), cmd, &mut fl) };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap())
    }
}

const LOCK_CHILD: &str = r#"
import errno, fcntl, os, signal, sys, time
path, mode = sys.argv[1], sys.argv[2]
f = open(path, "r+b")
if mode == "try":
    try:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
        print("locked")
    except OSError as e:
        print("busy" if e.errno in (errno.EAGAIN, errno.EACCES) else "error %d" % e.errno)
    try:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 100)
        print("other-range-locked")
    except OSError as e:
        print("other-range-error %d" % e.errno)
elif mode == "wait-signal":
    class Alarm(Exception):
        pass
    def on_alarm(sig, frame):
        raise Alarm()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    t = time.monotonic()
    try:
        fcntl.lockf(f, fcntl.LOCK_EX, 10, 0)
        print("locked")
    except Alarm:
        print("interrupted after %.2f" % (time.monotonic() - t))
elif mode == "wait":
    print("waiting", flush=True)
    fcntl.lockf(f, fcntl.LOCK_EX, 10, 0)
    print("locked")
elif mode == "flock-try":
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        print("locked")
    except OSError as e:
        print("busy" if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK) else "error %d" % e.errno)
"#;

fn child(test: &str, path: &Path, mode: &str) -> Option<String> {
    let out = python3(test, LOCK_CHILD, &[path.as_os_str(), mode.as_ref()])?;
    assert_success(&format!("lock child {mode}"), &out);
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn posix_locks_between_processes_and_eintr() {
    let test = "posix_locks_between_processes_and_eintr";
    if !require_kernel(test) {
        return;
    }
    with_deadline(LIMIT, move || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let p = mnt.path().join("locked");
        let f = rw(&p);
        f.set_len(200).unwrap();
        posix_lock(&f, libc::F_SETLK, libc::F_WRLCK, 0, 10).unwrap();
        let Some(out) = child(test, &p, "try") else {
            return;
        };
        assert_eq!(out, "busy\nother-range-locked");
        // A blocked F_SETLKW ends with EINTR when the waiter gets a signal.
        let out = child(test, &p, "wait-signal").unwrap();
        assert!(out.starts_with("interrupted after"), "{out}");
        assert!(mnt.stats().interrupts > 0, "the kernel sent INTERRUPT");
        // The interrupted waiter left nothing behind: our lock is intact, and after unlocking a
        // waiter gets the lock.
        assert_eq!(child(test, &p, "try").unwrap(), "busy\nother-range-locked");
        let mut waiter = std::process::Command::new("python3")
            .arg("-c")
            .arg(LOCK_CHILD)
            .arg(&p)
            .arg("wait")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert!(waiter.try_wait().unwrap().is_none(), "waiter must block");
        let t = Instant::now();
        posix_lock(&f, libc::F_SETLK, libc::F_UNLCK, 0, 0).unwrap();
        let out = waiter.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "waiting\nlocked"
        );
        assert!(t.elapsed() < Duration::from_secs(5));
        // Closing any descriptor drops the process's POSIX locks.
        posix_lock(&f, libc::F_SETLK, libc::F_WRLCK, 0, 10).unwrap();
        drop(File::open(&p).unwrap());
        assert_eq!(
            child(test, &p, "try").unwrap(),
            "locked\nother-range-locked"
        );
        drop(f);
        drop(mnt);
    });
}

#[test]
fn flock_between_processes() {
    let test = "flock_between_processes";
    if !require_kernel(test) {
        return;
    }
    with_deadline(LIMIT, move || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let p = mnt.path().join("flocked");
        let f = rw(&p);
        rustix::fs::flock(&f, FlockOperation::NonBlockingLockExclusive).unwrap();
        let Some(out) = child(test, &p, "flock-try") else {
            return;
        };
        assert_eq!(out, "busy");
        // Another descriptor of this process is another open file description: it conflicts.
        let g = File::open(&p).unwrap();
        assert_eq!(
            rustix::fs::flock(&g, FlockOperation::NonBlockingLockShared),
            Err(Errno::WOULDBLOCK)
        );
        drop(g);
        drop(f);
        assert_eq!(child(test, &p, "flock-try").unwrap(), "locked");
        drop(mnt);
    });
}
