//! The seed bugs of open-unlink-close through a real mount: I/O after unlink, O_TMPFILE +
//! linkat, Python's tempfile module, rename over an open file, hard link + unlink while open.

mod common;

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use common::mount::{assert_success, mount_memfs, python3, require_kernel, with_deadline};
use fusekit_memfs::Limits;
use rustix::fs::{AtFlags, Mode, OFlags, CWD};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn io_after_unlink_keeps_working() {
    if !require_kernel("io_after_unlink_keeps_working") {
        return;
    }
    with_deadline(LIMIT, || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let p = mnt.path().join("f");
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&p)
            .unwrap();
        f.write_all(b"hello ").unwrap();
        fs::remove_file(&p).unwrap();
        assert!(!p.exists());
        f.write_all(b"world").unwrap();
        let mut back = String::new();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.read_to_string(&mut back).unwrap();
        assert_eq!(back, "hello world");
        let st = rustix::fs::fstat(&f).unwrap();
        assert_eq!(st.st_nlink, 0, "fstat after unlink");
        assert_eq!(st.st_size, 11);
        f.set_len(5).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 5);
        f.set_permissions(fs::Permissions::from_mode(0o600))
            .unwrap();
        assert_eq!(f.metadata().unwrap().mode() & 0o7777, 0o600);
        // mmap of the unlinked file sees the data, and a store through it reaches read().
        // SAFETY: a fresh shared mapping of 5 bytes of an open file, unmapped below; no Rust
        // reference outlives it.
        unsafe {
            let ptr = rustix::mm::mmap(
                std::ptr::null_mut(),
                5,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::SHARED,
                &f,
                0,
            )
            .unwrap();
            let bytes = std::slice::from_raw_parts_mut(ptr.cast::<u8>(), 5);
            assert_eq!(bytes, b"hello");
            bytes[0] = b'J';
            rustix::mm::msync(ptr, 5, rustix::mm::MsyncFlags::SYNC).unwrap();
            rustix::mm::munmap(ptr, 5).unwrap();
        }
        let mut buf = [0u8; 5];
        rustix::io::pread(&f, &mut buf, 0).unwrap();
        assert_eq!(&buf, b"Jello");
        drop(f);
        assert_eq!(fs::read_dir(mnt.path()).unwrap().count(), 0);
        drop(mnt);
    });
}

#[test]
fn o_tmpfile_then_linkat_through_proc() {
    if !require_kernel("o_tmpfile_then_linkat_through_proc") {
        return;
    }
    with_deadline(LIMIT, || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let dir = rustix::fs::open(
            mnt.path(),
            OFlags::DIRECTORY | OFlags::RDONLY,
            Mode::empty(),
        )
        .unwrap();
        let fd = rustix::fs::openat(
            &dir,
            ".",
            OFlags::TMPFILE | OFlags::RDWR,
            Mode::from_raw_mode(0o640),
        )
        .expect("O_TMPFILE");
        rustix::io::write(&fd, b"anonymous").unwrap();
        assert_eq!(rustix::fs::fstat(&fd).unwrap().st_nlink, 0);
        assert_eq!(fs::read_dir(mnt.path()).unwrap().count(), 0, "invisible");
        let proc = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
        rustix::fs::linkat(CWD, proc.as_str(), &dir, "named", AtFlags::SYMLINK_FOLLOW)
            .expect("linkat via /proc/self/fd");
        assert_eq!(fs::read(mnt.path().join("named")).unwrap(), b"anonymous");
        assert_eq!(rustix::fs::fstat(&fd).unwrap().st_nlink, 1);
        let meta = fs::metadata(mnt.path().join("named")).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o640);
        drop((fd, dir));
        drop(mnt);
    });
}

#[test]
fn python_tempfile_module_works() {
    if !require_kernel("python_tempfile_module_works") {
        return;
    }
    with_deadline(LIMIT, || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let script = r#"
import os, sys, tempfile
d = sys.argv[1]
with tempfile.TemporaryFile(dir=d) as f:
    f.write(b"x" * 10000); f.seek(0)
    assert f.read() == b"x" * 10000
    assert os.listdir(d) == [], os.listdir(d)
fd, path = tempfile.mkstemp(dir=d, suffix=".tmp")
os.write(fd, b"mkstemp"); os.close(fd)
assert open(path, "rb").read() == b"mkstemp"
assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)
os.unlink(path)
with tempfile.NamedTemporaryFile(dir=d) as f:
    f.write(b"named"); f.flush()
    assert open(f.name, "rb").read() == b"named"
with tempfile.NamedTemporaryFile(dir=d, delete=False) as f:
    f.write(b"kept")
assert open(f.name, "rb").read() == b"kept"
os.unlink(f.name)
with tempfile.TemporaryDirectory(dir=d) as t:
    open(os.path.join(t, "a"), "w").write("a")
assert os.listdir(d) == [], os.listdir(d)
print("ok")
"#;
        let Some(out) = python3(
            "python_tempfile_module_works",
            script,
            &[mnt.path().as_os_str()],
        ) else {
            return;
        };
        assert_success("python tempfile script", &out);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
        drop(mnt);
    });
}

#[test]
fn rename_over_an_open_file() {
    if !require_kernel("rename_over_an_open_file") {
        return;
    }
    with_deadline(LIMIT, || {
        let (engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let a = mnt.path().join("a");
        let b = mnt.path().join("b");
        fs::write(&a, b"old").unwrap();
        fs::write(&b, b"new").unwrap();
        let mut old = OpenOptions::new().read(true).write(true).open(&a).unwrap();
        fs::rename(&b, &a).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"new");
        assert!(!b.exists());
        let mut s = String::new();
        old.read_to_string(&mut s).unwrap();
        assert_eq!(
            s, "old",
            "the replaced file stays readable through its descriptor"
        );
        old.write_all(b"-more").unwrap();
        assert_eq!(old.metadata().unwrap().nlink(), 0);
        assert_eq!(fs::read(&a).unwrap(), b"new", "the new file is untouched");
        let inodes = engine.stats().inodes;
        drop(old);
        // RELEASE is sent asynchronously after close: wait for every handle to be released.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while engine.stats().open_handles > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "handles never released: {:?}",
                engine.stats()
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // Root, "a", and possibly the replaced inode until the kernel forgets it.
        assert!(inodes <= 3, "inodes {inodes}");
        drop(mnt);
    });
}

#[test]
fn hard_link_then_unlink_while_open() {
    if !require_kernel("hard_link_then_unlink_while_open") {
        return;
    }
    with_deadline(LIMIT, || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let a = mnt.path().join("a");
        let l = mnt.path().join("l");
        fs::write(&a, b"data").unwrap();
        let mut f = OpenOptions::new().read(true).append(true).open(&a).unwrap();
        fs::hard_link(&a, &l).unwrap();
        assert_eq!(f.metadata().unwrap().nlink(), 2);
        fs::remove_file(&a).unwrap();
        assert_eq!(f.metadata().unwrap().nlink(), 1);
        f.write_all(b"+").unwrap();
        assert_eq!(fs::read(&l).unwrap(), b"data+");
        fs::remove_file(&l).unwrap();
        assert_eq!(f.metadata().unwrap().nlink(), 0);
        f.write_all(b"!").unwrap();
        let mut all = [0u8; 6];
        rustix::io::pread(&f, &mut all, 0).unwrap();
        assert_eq!(&all, b"data+!");
        drop(f);
        assert_eq!(fs::read_dir(mnt.path()).unwrap().count(), 0);
        drop(mnt);
    });
}
