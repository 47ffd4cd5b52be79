//! `result(Ok(v))` sends exactly the bytes the success method sends for `v`, and
//! `result(Err(e))` exactly those of `error(e)`, for every reply type: each answer is captured
//! by the in-memory harness (`crate::fuzzing`) as the kernel would read it.

use std::ffi::OsStr;
use std::io::IoSlice;
use std::time::Duration;

use fusekit_abi::{self as abi, Opcode, OpenOutFlags};
use rustix::io::Errno;

use crate::attr::{Entry, FileAttr, Lock, Statfs, Timestamp};
use crate::fuzzing::Harness;
use crate::op::DecodeContext;
use crate::reply::{OpenOptions, Xattr};

const UNIQUE: u64 = 77;
const OUT_HEADER: usize = core::mem::size_of::<abi::OutHeader>();

/// The one message `answer` sends on a fresh connection negotiated at `minor`.
fn sent(minor: u32, answer: impl FnOnce(&Harness)) -> Vec<u8> {
    let h = Harness::new(DecodeContext {
        minor,
        ..DecodeContext::default()
    });
    answer(&h);
    let mut replies = h.take_replies();
    assert_eq!(replies.len(), 1, "one answer, one message");
    replies.pop().expect("one message")
}

/// Asserts that `direct` and `via_result` send the same bytes at `minor`, and that the
/// message is a success carrying `payload` bytes.
fn same_success(
    what: &str,
    minor: u32,
    payload: usize,
    direct: impl FnOnce(&Harness),
    via_result: impl FnOnce(&Harness),
) {
    let want = sent(minor, direct);
    let got = sent(minor, via_result);
    assert_eq!(got, want, "{what}: result(Ok) at minor {minor}");
    assert_eq!(want.len(), OUT_HEADER + payload, "{what}: payload size");
    assert_eq!(&want[4..8], &0i32.to_ne_bytes(), "{what}: success");
}

/// Asserts that `via_result` (given `Err(NOENT)`) sends what `error(NOENT)` sends: a bare
/// header with error -ENOENT.
fn same_error(what: &str, direct: impl FnOnce(&Harness), via_result: impl FnOnce(&Harness)) {
    let minor = abi::KERNEL_MINOR_VERSION;
    let want = sent(minor, direct);
    let got = sent(minor, via_result);
    assert_eq!(got, want, "{what}: result(Err)");
    assert_eq!(want.len(), OUT_HEADER, "{what}: an error carries nothing");
    assert_eq!(
        &want[4..8],
        &(-Errno::NOENT.raw_os_error()).to_ne_bytes(),
        "{what}: -ENOENT"
    );
}

fn attr() -> FileAttr {
    let t = Timestamp::new(1_700_000_000, 123);
    FileAttr {
        ino: 42,
        size: 4097,
        blocks: 16,
        atime: t,
        mtime: t,
        ctime: t,
        mode: 0o100640,
        nlink: 3,
        uid: 1000,
        gid: 100,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

fn entry() -> Entry {
    Entry {
        generation: 9,
        ..Entry::new(attr(), Duration::new(5, 500))
    }
}

const TTL: Duration = Duration::new(3, 250_000_000);
const NOENT: Errno = Errno::NOENT;

#[test]
fn entry_result_is_entry_or_error() {
    let op = Opcode::Lookup as u32;
    // Minor 8 sends the short compat struct: `result` must follow the same rule.
    for (minor, size) in [
        (45, core::mem::size_of::<abi::EntryOut>()),
        (8, abi::COMPAT_ENTRY_OUT_SIZE),
    ] {
        same_success(
            "entry",
            minor,
            size,
            |h| h.reply_entry(UNIQUE, op).entry(&entry()),
            |h| h.reply_entry(UNIQUE, op).result(Ok(entry())),
        );
    }
    same_error(
        "entry",
        |h| h.reply_entry(UNIQUE, op).error(NOENT),
        |h| h.reply_entry(UNIQUE, op).result(Err(NOENT)),
    );
}

#[test]
fn attr_result_is_attr_or_error() {
    let op = Opcode::Getattr as u32;
    for (minor, size) in [
        (45, core::mem::size_of::<abi::AttrOut>()),
        (8, abi::COMPAT_ATTR_OUT_SIZE),
    ] {
        same_success(
            "attr",
            minor,
            size,
            |h| h.reply_attr(UNIQUE, op).attr(&attr(), TTL),
            |h| h.reply_attr(UNIQUE, op).result(Ok(attr()), TTL),
        );
    }
    same_error(
        "attr",
        |h| h.reply_attr(UNIQUE, op).error(NOENT),
        |h| h.reply_attr(UNIQUE, op).result(Err(NOENT), TTL),
    );
}

#[test]
fn data_result_is_data_or_error() {
    let op = Opcode::Read as u32;
    let bytes = b"some file content".to_vec();
    same_success(
        "data (Vec)",
        45,
        bytes.len(),
        |h| h.reply_data(UNIQUE, op).data(&bytes),
        |h| h.reply_data(UNIQUE, op).result(Ok(bytes.clone())),
    );
    same_success(
        "data (slice)",
        45,
        bytes.len(),
        |h| {
            let halves = [IoSlice::new(&bytes[..4]), IoSlice::new(&bytes[4..])];
            h.reply_data(UNIQUE, op).data_vectored(&halves)
        },
        |h| h.reply_data(UNIQUE, op).result(Ok(&bytes[..])),
    );
    same_error(
        "data",
        |h| h.reply_data(UNIQUE, op).error(NOENT),
        |h| h.reply_data(UNIQUE, op).result(Err::<Vec<u8>, _>(NOENT)),
    );
}

#[test]
fn open_results_are_opened_or_error() {
    let op = Opcode::Open as u32;
    let size = core::mem::size_of::<abi::OpenOut>();
    let flags = OpenOutFlags::KEEP_CACHE | OpenOutFlags::DIRECT_IO;
    same_success(
        "opened",
        45,
        size,
        |h| h.reply_open(UNIQUE, op).opened(11, flags),
        |h| h.reply_open(UNIQUE, op).result(Ok(11), flags),
    );
    let options = OpenOptions {
        flags,
        backing_id: Some(3),
    };
    same_success(
        "opened_with",
        45,
        size,
        |h| h.reply_open(UNIQUE, op).opened_with(11, options),
        |h| h.reply_open(UNIQUE, op).result_with(Ok((11, options))),
    );
    same_error(
        "opened",
        |h| h.reply_open(UNIQUE, op).error(NOENT),
        |h| h.reply_open(UNIQUE, op).result(Err(NOENT), flags),
    );
    same_error(
        "opened_with",
        |h| h.reply_open(UNIQUE, op).error(NOENT),
        |h| h.reply_open(UNIQUE, op).result_with(Err(NOENT)),
    );
}

#[test]
fn write_result_is_written_or_error() {
    let op = Opcode::Write as u32;
    same_success(
        "written",
        45,
        core::mem::size_of::<abi::WriteOut>(),
        |h| h.reply_write(UNIQUE, op).written(4096),
        |h| h.reply_write(UNIQUE, op).result(Ok(4096)),
    );
    same_error(
        "written",
        |h| h.reply_write(UNIQUE, op).error(NOENT),
        |h| h.reply_write(UNIQUE, op).result(Err(NOENT)),
    );
}

#[test]
fn statfs_result_is_statfs_or_error() {
    let op = Opcode::Statfs as u32;
    let st = Statfs {
        blocks: 100,
        bfree: 50,
        bavail: 40,
        files: 10,
        ffree: 5,
        bsize: 4096,
        namelen: 255,
        frsize: 4096,
    };
    for (minor, size) in [
        (45, core::mem::size_of::<abi::StatfsOut>()),
        (3, abi::COMPAT_STATFS_SIZE),
    ] {
        same_success(
            "statfs",
            minor,
            size,
            |h| h.reply_statfs(UNIQUE, op).statfs(&st),
            |h| h.reply_statfs(UNIQUE, op).result(Ok(st)),
        );
    }
    same_error(
        "statfs",
        |h| h.reply_statfs(UNIQUE, op).error(NOENT),
        |h| h.reply_statfs(UNIQUE, op).result(Err(NOENT)),
    );
}

#[test]
fn create_results_are_created_or_error() {
    let op = Opcode::Create as u32;
    let size = core::mem::size_of::<abi::EntryOut>() + core::mem::size_of::<abi::OpenOut>();
    let flags = OpenOutFlags::KEEP_CACHE;
    same_success(
        "created",
        45,
        size,
        |h| h.reply_create(UNIQUE, op).created(&entry(), 12, flags),
        |h| h.reply_create(UNIQUE, op).result(Ok((entry(), 12)), flags),
    );
    let options = OpenOptions {
        flags,
        backing_id: Some(4),
    };
    same_success(
        "created_with",
        45,
        size,
        |h| {
            h.reply_create(UNIQUE, op)
                .created_with(&entry(), 12, options)
        },
        |h| {
            h.reply_create(UNIQUE, op)
                .result_with(Ok((entry(), 12, options)))
        },
    );
    same_error(
        "created",
        |h| h.reply_create(UNIQUE, op).error(NOENT),
        |h| h.reply_create(UNIQUE, op).result(Err(NOENT), flags),
    );
    same_error(
        "created_with",
        |h| h.reply_create(UNIQUE, op).error(NOENT),
        |h| h.reply_create(UNIQUE, op).result_with(Err(NOENT)),
    );
}

#[test]
fn lock_result_is_locked_or_error() {
    let op = Opcode::Getlk as u32;
    let lock = Lock {
        start: 10,
        end: u64::MAX,
        typ: 1,
        pid: 321,
    };
    same_success(
        "locked",
        45,
        core::mem::size_of::<abi::LkOut>(),
        |h| h.reply_lock(UNIQUE, op).locked(&lock),
        |h| h.reply_lock(UNIQUE, op).result(Ok(lock)),
    );
    same_error(
        "locked",
        |h| h.reply_lock(UNIQUE, op).error(NOENT),
        |h| h.reply_lock(UNIQUE, op).result(Err(NOENT)),
    );
}

#[test]
fn u64_results_are_their_success_or_error() {
    let bmap = Opcode::Bmap as u32;
    same_success(
        "bmap",
        45,
        core::mem::size_of::<abi::BmapOut>(),
        |h| h.reply_bmap(UNIQUE, bmap).bmap(987),
        |h| h.reply_bmap(UNIQUE, bmap).result(Ok(987)),
    );
    same_error(
        "bmap",
        |h| h.reply_bmap(UNIQUE, bmap).error(NOENT),
        |h| h.reply_bmap(UNIQUE, bmap).result(Err(NOENT)),
    );
    let lseek = Opcode::Lseek as u32;
    same_success(
        "lseek",
        45,
        core::mem::size_of::<abi::LseekOut>(),
        |h| h.reply_lseek(UNIQUE, lseek).offset(1 << 40),
        |h| h.reply_lseek(UNIQUE, lseek).result(Ok(1 << 40)),
    );
    same_error(
        "lseek",
        |h| h.reply_lseek(UNIQUE, lseek).error(NOENT),
        |h| h.reply_lseek(UNIQUE, lseek).result(Err(NOENT)),
    );
    // The copy reply's format follows the opcode; `result` must too.
    for (op, size) in [
        (
            Opcode::CopyFileRange as u32,
            core::mem::size_of::<abi::WriteOut>(),
        ),
        (
            Opcode::CopyFileRange64 as u32,
            core::mem::size_of::<abi::CopyFileRangeOut>(),
        ),
    ] {
        same_success(
            "copied",
            45,
            size,
            |h| h.reply_copy(UNIQUE, op).copied(5 << 32),
            |h| h.reply_copy(UNIQUE, op).result(Ok(5 << 32)),
        );
        same_error(
            "copied",
            |h| h.reply_copy(UNIQUE, op).error(NOENT),
            |h| h.reply_copy(UNIQUE, op).result(Err(NOENT)),
        );
    }
}

#[test]
fn xattr_result_is_size_or_data_or_error() {
    let op = Opcode::Getxattr as u32;
    same_success(
        "xattr size",
        45,
        core::mem::size_of::<abi::GetxattrOut>(),
        |h| h.reply_xattr(UNIQUE, op).size(17),
        |h| h.reply_xattr(UNIQUE, op).result(Ok(Xattr::Size(17))),
    );
    same_success(
        "xattr data",
        45,
        5,
        |h| h.reply_xattr(UNIQUE, op).data(b"value"),
        |h| {
            h.reply_xattr(UNIQUE, op)
                .result(Ok(Xattr::Data(b"value".to_vec())))
        },
    );
    same_error(
        "xattr",
        |h| h.reply_xattr(UNIQUE, op).error(NOENT),
        |h| h.reply_xattr(UNIQUE, op).result(Err(NOENT)),
    );
}

#[test]
fn xattr_fit_follows_the_kernel_rules() {
    assert_eq!(Xattr::fit(b"abc".to_vec(), 0), Ok(Xattr::Size(3)));
    assert_eq!(Xattr::fit(b"abc".to_vec(), 2), Err(Errno::RANGE));
    assert_eq!(
        Xattr::fit(b"abc".to_vec(), 3),
        Ok(Xattr::Data(b"abc".to_vec()))
    );
    assert_eq!(Xattr::fit(Vec::new(), 0), Ok(Xattr::Size(0)));
    assert_eq!(Xattr::fit(Vec::new(), 8), Ok(Xattr::Data(Vec::new())));
}

#[test]
fn poll_ioctl_statx_results_are_their_success_or_error() {
    let poll = Opcode::Poll as u32;
    same_success(
        "revents",
        45,
        core::mem::size_of::<abi::PollOut>(),
        |h| h.reply_poll(UNIQUE, poll).revents(0x41),
        |h| h.reply_poll(UNIQUE, poll).result(Ok(0x41)),
    );
    same_error(
        "revents",
        |h| h.reply_poll(UNIQUE, poll).error(NOENT),
        |h| h.reply_poll(UNIQUE, poll).result(Err(NOENT)),
    );

    let ioctl = Opcode::Ioctl as u32;
    same_success(
        "ioctl",
        45,
        core::mem::size_of::<abi::IoctlOut>() + 3,
        |h| h.reply_ioctl(UNIQUE, ioctl).ioctl(-7, b"out"),
        |h| {
            h.reply_ioctl(UNIQUE, ioctl)
                .result(Ok((-7, b"out".to_vec())))
        },
    );
    same_error(
        "ioctl",
        |h| h.reply_ioctl(UNIQUE, ioctl).error(NOENT),
        |h| {
            h.reply_ioctl(UNIQUE, ioctl)
                .result(Err::<(i32, &[u8]), _>(NOENT))
        },
    );

    let statx = Opcode::Statx as u32;
    let sx = abi::Statx {
        mask: 0xfff,
        ino: 42,
        size: 4097,
        mode: 0o100640,
        ..Default::default()
    };
    same_success(
        "statx",
        45,
        core::mem::size_of::<abi::StatxOut>(),
        |h| h.reply_statx(UNIQUE, statx).statx(&sx, TTL),
        |h| h.reply_statx(UNIQUE, statx).result(Ok(sx), TTL),
    );
    same_error(
        "statx",
        |h| h.reply_statx(UNIQUE, statx).error(NOENT),
        |h| h.reply_statx(UNIQUE, statx).result(Err(NOENT), TTL),
    );
}

#[test]
fn empty_result_is_ok_or_error() {
    let op = Opcode::Unlink as u32;
    same_success(
        "empty",
        45,
        0,
        |h| h.reply_empty(UNIQUE, op).ok(),
        |h| h.reply_empty(UNIQUE, op).result(Ok(())),
    );
    same_error(
        "empty",
        |h| h.reply_empty(UNIQUE, op).error(NOENT),
        |h| h.reply_empty(UNIQUE, op).result(Err(NOENT)),
    );
}

#[test]
fn directory_results_send_the_entries_or_the_error() {
    let name = OsStr::new("file.txt");
    let listing = abi::dirent_size(name.len());
    same_success(
        "readdir",
        45,
        listing,
        |h| {
            let mut r = h.reply_directory(UNIQUE, 4096);
            assert!(!r.add(42, 3, 8, name));
            r.ok()
        },
        |h| {
            let mut r = h.reply_directory(UNIQUE, 4096);
            assert!(!r.add(42, 3, 8, name));
            r.result(Ok(()))
        },
    );
    same_error(
        "readdir",
        |h| h.reply_directory(UNIQUE, 4096).error(NOENT),
        |h| {
            let mut r = h.reply_directory(UNIQUE, 4096);
            assert!(!r.add(42, 3, 8, name));
            r.result(Err(NOENT))
        },
    );

    let plus = abi::direntplus_size(name.len());
    same_success(
        "readdirplus",
        45,
        plus,
        |h| {
            let mut r = h.reply_directory_plus(UNIQUE, 4096);
            assert!(!r.add(&entry(), 3, name));
            r.ok()
        },
        |h| {
            let mut r = h.reply_directory_plus(UNIQUE, 4096);
            assert!(!r.add(&entry(), 3, name));
            r.result(Ok(()))
        },
    );
    same_error(
        "readdirplus",
        |h| h.reply_directory_plus(UNIQUE, 4096).error(NOENT),
        |h| {
            let mut r = h.reply_directory_plus(UNIQUE, 4096);
            assert!(!r.add(&entry(), 3, name));
            r.result(Err(NOENT))
        },
    );
}
