//! Requests really travel over io_uring: the hello example and a read/write filesystem served
//! with `Transport::Uring`; the ring counter counts them, and every operation except FORGET
//! ran on an io_uring queue thread (`fusekit-uring-N`), none on the /dev/fuse worker.

mod uring_util;

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use fusekit::Transport;
use fusekit_examples::hello::{Hello, CONTENT, NAME};
use uring_util::{fuse_mounts_under, mount, require_uring, with_deadline, MiniFs};

const URING_OPS: &[&str] = &[
    "lookup",
    "getattr",
    "setattr",
    "create",
    "open",
    "read",
    "write",
    "flush",
    "release",
    "rename",
    "unlink",
    "setxattr",
    "getxattr",
    "opendir",
    "readdir",
    "releasedir",
];

#[test]
fn hello_over_io_uring() {
    let Some(_param) = require_uring("hello_over_io_uring") else {
        return;
    };
    with_deadline(Duration::from_secs(60), || {
        let m = mount(Hello::new(0, 0), |s| s.transport(Transport::Uring))
            .expect("mount over io_uring");
        assert_eq!(m.session().transport_in_use(), Transport::Uring);
        let root = m.path().to_path_buf();
        let names: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(NAME)]);
        assert_eq!(std::fs::read(root.join(NAME)).unwrap(), CONTENT);
        assert_eq!(
            std::fs::metadata(root.join("missing"))
                .unwrap_err()
                .raw_os_error(),
            Some(libc::ENOENT)
        );
        let ring = m.session().uring_stats().expect("uring stats");
        let total = m.session().stats().requests;
        assert!(ring.requests >= 5, "ring served {ring:?}");
        assert!(ring.queues >= 1);
        assert_eq!(ring.submit_errors, 0);
        // Over /dev/fuse only INIT (not counted as served) and FORGETs may have arrived.
        assert!(total >= ring.requests);
        let stats = m.finish_with_handle();
        let end = stats.snapshot();
        assert_eq!(end.reply_errors, 0, "{end:?}");
        assert!(fuse_mounts_under(&root).is_empty());
    });
}

#[test]
fn read_write_filesystem_over_io_uring() {
    let Some(_param) = require_uring("read_write_filesystem_over_io_uring") else {
        return;
    };
    with_deadline(Duration::from_secs(60), || {
        let fs = MiniFs::new();
        let served = std::sync::Arc::clone(&fs.served);
        let m = mount(fs, |s| s.transport(Transport::Uring).uring_queue_depth(4))
            .expect("mount over io_uring");
        let root = m.path().to_path_buf();

        // CREATE + WRITE (page cache and large) + READ back.
        let path = root.join("a-file-with-a-long-name.txt");
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(b"hello ring").unwrap();
        let big: Vec<u8> = (0..(3 << 20)).map(|i| (i * 7 % 251) as u8).collect();
        f.write_all_at(&big, 4096).unwrap();
        f.sync_all().ok();
        drop(f);
        let mut back = Vec::new();
        std::fs::File::open(&path)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(&back[..10], b"hello ring");
        assert_eq!(&back[4096..], &big[..]);

        // Partial reads at odd offsets.
        let mut f = std::fs::File::open(&path).unwrap();
        f.seek(SeekFrom::Start(4096 + 1234)).unwrap();
        let mut buf = [0u8; 777];
        f.read_exact(&mut buf).unwrap();
        assert_eq!(&buf[..], &big[1234..1234 + 777]);
        drop(f);

        // Truncate (SETATTR), SETXATTR/GETXATTR, RENAME, LOOKUP of names, UNLINK.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(5)
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        let value = b"a value with \0 inside and some length to it";
        // SAFETY: valid C strings and buffer.
        let r = unsafe {
            libc::setxattr(
                c.as_ptr(),
                c"user.test".as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        assert_eq!(r, 0, "setxattr: {}", std::io::Error::last_os_error());
        let mut got = [0u8; 128];
        // SAFETY: valid C strings and buffer.
        let n = unsafe {
            libc::getxattr(
                c.as_ptr(),
                c"user.test".as_ptr(),
                got.as_mut_ptr().cast(),
                got.len(),
            )
        };
        assert_eq!(&got[..n as usize], value);
        let renamed = root.join("renamed-to-something-else");
        std::fs::rename(&path, &renamed).unwrap();
        assert!(!path.exists());
        assert_eq!(std::fs::read(&renamed).unwrap(), b"hello");
        for i in 0..50 {
            std::fs::write(root.join(format!("f{i:03}")), format!("content {i}")).unwrap();
        }
        let mut names: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 51);
        for i in 0..50 {
            assert_eq!(
                std::fs::read_to_string(root.join(format!("f{i:03}"))).unwrap(),
                format!("content {i}")
            );
        }
        std::fs::remove_file(&renamed).unwrap();
        assert!(!renamed.exists());

        let ring = m.session().uring_stats().unwrap();
        let total = m.session().stats().requests;
        let stats = m.finish_with_handle();
        assert!(ring.requests > 200, "{ring:?}");
        assert_eq!(ring.submit_errors, 0);
        assert_eq!(ring.commit_errors, 0);
        let end = stats.snapshot();
        assert_eq!(end.reply_errors, 0, "{end:?}");
        assert_eq!(end.decode_errors, 0, "{end:?}");
        let served = served.lock().unwrap().clone();
        let bad = served.not_on("fusekit-uring-", URING_OPS);
        assert!(bad.is_empty(), "served off the ring: {bad:?}");
        for op in [
            "lookup", "create", "write", "read", "setxattr", "rename", "setattr",
        ] {
            assert!(
                served.by_op.contains_key(op),
                "{op} never reached the filesystem"
            );
        }
        // Everything but FORGET came over the ring: dev requests = total - ring requests.
        let forgets = served.by_op.get("forget").map_or(0, Vec::len) as u64;
        assert!(
            total - ring.requests <= forgets,
            "total {total}, ring {}, forgets {forgets}",
            ring.requests
        );
        assert!(served.not_on("fusekit-worker-", &["forget"]).is_empty());
    });
}

#[test]
fn auto_uses_io_uring_when_offered() {
    let Some(_param) = require_uring("auto_uses_io_uring_when_offered") else {
        return;
    };
    with_deadline(Duration::from_secs(60), || {
        let m = mount(MiniFs::new(), |s| s.transport(Transport::Auto)).expect("mount");
        assert_eq!(m.session().transport_in_use(), Transport::Uring);
        assert!(m
            .session()
            .negotiated()
            .flags
            .contains(fusekit::abi::InitFlags::OVER_IO_URING));
        std::fs::write(m.path().join("a"), b"x").unwrap();
        let ring = m.session().uring_stats().unwrap();
        let cpus = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap();
        let last: usize = cpus
            .trim()
            .rsplit(['-', ','])
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            ring.queues,
            last + 1,
            "one queue per possible CPU ({cpus:?})"
        );
        assert!(ring.requests > 0);
        m.finish_with_handle();
    });
}
