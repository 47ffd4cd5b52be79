//! The `reply` target: every kind of reply built from fuzzed field values through the public
//! typed handles (made against an in-memory sink by `fusekit::fuzzing::Harness`), then read
//! back as the kernel reads it. Checks: exactly one message per answered (or dropped) handle;
//! `out_header.len` is the message length; `unique` echoes the request; `error` is 0 or a
//! negative errno and error replies carry nothing; each payload has the size the protocol
//! minor dictates and decodes back to the fields given; directory listings are 8-byte aligned
//! records inside the buffer, never larger than the size the kernel asked for, holding exactly
//! the entries `add` accepted, and `add` refuses an entry only when it would not fit.

use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use fusekit::abi::{self, Opcode, OpenOutFlags};
use fusekit::fuzzing::Harness;
use fusekit::op::DecodeContext;
use fusekit::{Entry, Errno, FileAttr, Lock, OpenOptions, Statfs, Timestamp};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use zerocopy::{FromBytes, IntoBytes};

use crate::wire::{parse_dirents, parse_reply};

/// Seconds and nanoseconds of a TTL (nanoseconds reduced below one second).
#[derive(Arbitrary, Debug, Clone, Copy)]
struct Ttl(u64, u32);

impl Ttl {
    fn duration(self) -> Duration {
        Duration::new(self.0, self.1 % 1_000_000_000)
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct AttrSpec {
    ino: u64,
    size: u64,
    blocks: u64,
    times: [(i64, u32); 3],
    mode: u32,
    nlink: u32,
    uid: u32,
    gid: u32,
    rdev: u32,
    blksize: u32,
    flags: u32,
}

impl AttrSpec {
    fn attr(&self) -> FileAttr {
        let t = |(secs, nsecs): (i64, u32)| Timestamp { secs, nsecs };
        FileAttr {
            ino: self.ino,
            size: self.size,
            blocks: self.blocks,
            atime: t(self.times[0]),
            mtime: t(self.times[1]),
            ctime: t(self.times[2]),
            mode: self.mode,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: self.rdev,
            blksize: self.blksize,
            flags: self.flags,
        }
    }

    /// `fuse_attr` as the protocol defines it for these fields.
    fn expected(&self) -> abi::Attr {
        abi::Attr {
            ino: self.ino,
            size: self.size,
            blocks: self.blocks,
            atime: self.times[0].0 as u64,
            mtime: self.times[1].0 as u64,
            ctime: self.times[2].0 as u64,
            atimensec: self.times[0].1,
            mtimensec: self.times[1].1,
            ctimensec: self.times[2].1,
            mode: self.mode,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: self.rdev,
            blksize: self.blksize,
            flags: self.flags,
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct EntrySpec {
    ino: u64,
    generation: u64,
    attr: AttrSpec,
    entry_ttl: Ttl,
    attr_ttl: Ttl,
}

impl EntrySpec {
    fn entry(&self) -> Entry {
        Entry {
            ino: self.ino,
            generation: self.generation,
            attr: self.attr.attr(),
            entry_ttl: self.entry_ttl.duration(),
            attr_ttl: self.attr_ttl.duration(),
        }
    }

    fn expected(&self) -> abi::EntryOut {
        let (e, a) = (self.entry_ttl.duration(), self.attr_ttl.duration());
        abi::EntryOut {
            nodeid: self.ino,
            generation: self.generation,
            entry_valid: e.as_secs(),
            attr_valid: a.as_secs(),
            entry_valid_nsec: e.subsec_nanos(),
            attr_valid_nsec: a.subsec_nanos(),
            attr: self.attr.expected(),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct OpenSpec {
    fh: u64,
    flags: u32,
    backing_id: Option<i32>,
}

impl OpenSpec {
    fn options(&self) -> OpenOptions {
        OpenOptions {
            flags: OpenOutFlags::from_bits_retain(self.flags),
            backing_id: self.backing_id,
        }
    }

    fn expected(&self) -> abi::OpenOut {
        let mut flags = self.flags;
        if self.backing_id.is_some() {
            flags |= OpenOutFlags::PASSTHROUGH.bits();
        }
        abi::OpenOut {
            fh: self.fh,
            open_flags: flags,
            backing_id: self.backing_id.unwrap_or(0),
        }
    }
}

/// One answer to give.
#[derive(Arbitrary, Debug)]
enum Answer {
    /// `error(errno)` on the reply type picked by `kind`.
    Error {
        kind: u8,
        errno: u16,
    },
    /// The reply type picked by `kind`, dropped unanswered (must answer EIO).
    Drop {
        kind: u8,
    },
    Empty,
    Entry(EntrySpec),
    Attr(AttrSpec, Ttl),
    Data(Vec<u8>),
    DataVectored(Vec<Vec<u8>>),
    Open(OpenSpec),
    Written(u32),
    Statfs([u64; 5], [u32; 3]),
    Create(EntrySpec, OpenSpec),
    Lock(u64, u64, i32, u32),
    Bmap(u64),
    XattrSize(u32),
    XattrData(Vec<u8>),
    Lseek(u64),
    Poll(u32),
    Ioctl(i32, Vec<u8>),
    Statx(Vec<u8>, Ttl),
    Copied {
        count: u64,
        wide: bool,
    },
    Dir {
        size: u16,
        entries: Vec<(u64, u64, u32, Vec<u8>)>,
    },
    DirPlus {
        size: u16,
        entries: Vec<(EntrySpec, u64, Vec<u8>)>,
    },
}

/// A fuzz case: the negotiated minor, the request id, and the answer.
#[derive(Arbitrary, Debug)]
struct Case {
    minor: u8,
    unique: u64,
    answer: Answer,
}

/// Runs one fuzz input.
pub fn run(data: &[u8]) {
    let Ok(case) = Case::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    check_case(&case);
}

/// The number of reply types [`answer_error`] and [`drop_kind`] pick from.
const KINDS: u8 = 18;

/// Answers the reply type number `kind` with `errno`.
fn answer_error(h: &Harness, unique: u64, kind: u8, errno: Errno) {
    let op = |o: Opcode| o as u32;
    match kind % KINDS {
        0 => h.reply_empty(unique, op(Opcode::Unlink)).error(errno),
        1 => h.reply_entry(unique, op(Opcode::Lookup)).error(errno),
        2 => h.reply_attr(unique, op(Opcode::Getattr)).error(errno),
        3 => h.reply_data(unique, op(Opcode::Read)).error(errno),
        4 => h.reply_open(unique, op(Opcode::Open)).error(errno),
        5 => h.reply_write(unique, op(Opcode::Write)).error(errno),
        6 => h.reply_statfs(unique, op(Opcode::Statfs)).error(errno),
        7 => h.reply_create(unique, op(Opcode::Create)).error(errno),
        8 => h.reply_lock(unique, op(Opcode::Getlk)).error(errno),
        9 => h.reply_bmap(unique, op(Opcode::Bmap)).error(errno),
        10 => h.reply_xattr(unique, op(Opcode::Getxattr)).error(errno),
        11 => h.reply_lseek(unique, op(Opcode::Lseek)).error(errno),
        12 => h.reply_poll(unique, op(Opcode::Poll)).error(errno),
        13 => h.reply_ioctl(unique, op(Opcode::Ioctl)).error(errno),
        14 => h.reply_statx(unique, op(Opcode::Statx)).error(errno),
        15 => h.reply_copy(unique, op(Opcode::CopyFileRange)).error(errno),
        16 => h.reply_directory(unique, 4096).error(errno),
        _ => h.reply_directory_plus(unique, 4096).error(errno),
    }
}

/// Creates the reply type number `kind` and drops it unanswered.
fn drop_kind(h: &Harness, unique: u64, kind: u8) {
    let op = |o: Opcode| o as u32;
    match kind % KINDS {
        0 => drop(h.reply_empty(unique, op(Opcode::Unlink))),
        1 => drop(h.reply_entry(unique, op(Opcode::Lookup))),
        2 => drop(h.reply_attr(unique, op(Opcode::Getattr))),
        3 => drop(h.reply_data(unique, op(Opcode::Read))),
        4 => drop(h.reply_open(unique, op(Opcode::Open))),
        5 => drop(h.reply_write(unique, op(Opcode::Write))),
        6 => drop(h.reply_statfs(unique, op(Opcode::Statfs))),
        7 => drop(h.reply_create(unique, op(Opcode::Create))),
        8 => drop(h.reply_lock(unique, op(Opcode::Getlk))),
        9 => drop(h.reply_bmap(unique, op(Opcode::Bmap))),
        10 => drop(h.reply_xattr(unique, op(Opcode::Getxattr))),
        11 => drop(h.reply_lseek(unique, op(Opcode::Lseek))),
        12 => drop(h.reply_poll(unique, op(Opcode::Poll))),
        13 => drop(h.reply_ioctl(unique, op(Opcode::Ioctl))),
        14 => drop(h.reply_statx(unique, op(Opcode::Statx))),
        15 => drop(h.reply_copy(unique, op(Opcode::CopyFileRange))),
        16 => drop(h.reply_directory(unique, 4096)),
        _ => drop(h.reply_directory_plus(unique, 4096)),
    }
}

fn check_case(case: &Case) {
    let minor = u32::from(case.minor) % (abi::KERNEL_MINOR_VERSION + 1);
    let h = Harness::new(DecodeContext {
        minor,
        setxattr_ext: false,
    });
    let unique = case.unique;
    // The payload the answer must produce; `None` when checked in place (listings).
    let expected: Option<Vec<u8>> = match &case.answer {
        Answer::Error { kind, errno } => {
            let errno = Errno::from_raw_os_error(1 + i32::from(*errno) % 4095);
            answer_error(&h, unique, *kind, errno);
            let msg = single(&h, unique);
            assert_eq!(
                parse_reply(&msg).error,
                -errno.raw_os_error(),
                "errno not sent negated"
            );
            return;
        }
        Answer::Drop { kind } => {
            drop_kind(&h, unique, *kind);
            let msg = single(&h, unique);
            assert_eq!(
                parse_reply(&msg).error,
                -Errno::IO.raw_os_error(),
                "drop must answer EIO"
            );
            assert_eq!(h.stats().dropped_replies, 1);
            return;
        }
        Answer::Empty => {
            h.reply_empty(unique, Opcode::Fsync as u32).ok();
            Some(Vec::new())
        }
        Answer::Entry(e) => {
            h.reply_entry(unique, Opcode::Lookup as u32)
                .entry(&e.entry());
            let len = if minor < 9 {
                abi::COMPAT_ENTRY_OUT_SIZE
            } else {
                size_of::<abi::EntryOut>()
            };
            Some(e.expected().as_bytes()[..len].to_vec())
        }
        Answer::Attr(a, ttl) => {
            h.reply_attr(unique, Opcode::Getattr as u32)
                .attr(&a.attr(), ttl.duration());
            let d = ttl.duration();
            let out = abi::AttrOut {
                attr_valid: d.as_secs(),
                attr_valid_nsec: d.subsec_nanos(),
                dummy: 0,
                attr: a.expected(),
            };
            let len = if minor < 9 {
                abi::COMPAT_ATTR_OUT_SIZE
            } else {
                size_of::<abi::AttrOut>()
            };
            Some(out.as_bytes()[..len].to_vec())
        }
        Answer::Data(data) => {
            h.reply_data(unique, Opcode::Read as u32).data(data);
            Some(data.clone())
        }
        Answer::DataVectored(parts) => {
            let slices: Vec<_> = parts.iter().map(|p| std::io::IoSlice::new(p)).collect();
            h.reply_data(unique, Opcode::Read as u32)
                .data_vectored(&slices);
            Some(parts.concat())
        }
        Answer::Open(o) => {
            h.reply_open(unique, Opcode::Open as u32)
                .opened_with(o.fh, o.options());
            Some(o.expected().as_bytes().to_vec())
        }
        Answer::Written(n) => {
            h.reply_write(unique, Opcode::Write as u32).written(*n);
            Some(
                abi::WriteOut {
                    size: *n,
                    padding: 0,
                }
                .as_bytes()
                .to_vec(),
            )
        }
        Answer::Statfs(big, small) => {
            let st = Statfs {
                blocks: big[0],
                bfree: big[1],
                bavail: big[2],
                files: big[3],
                ffree: big[4],
                bsize: small[0],
                namelen: small[1],
                frsize: small[2],
            };
            h.reply_statfs(unique, Opcode::Statfs as u32).statfs(&st);
            let out = abi::Kstatfs {
                blocks: big[0],
                bfree: big[1],
                bavail: big[2],
                files: big[3],
                ffree: big[4],
                bsize: small[0],
                namelen: small[1],
                frsize: small[2],
                padding: 0,
                spare: [0; 6],
            };
            let len = if minor < 4 {
                abi::COMPAT_STATFS_SIZE
            } else {
                size_of::<abi::StatfsOut>()
            };
            Some(out.as_bytes()[..len].to_vec())
        }
        Answer::Create(e, o) => {
            h.reply_create(unique, Opcode::Create as u32).created_with(
                &e.entry(),
                o.fh,
                o.options(),
            );
            Some([e.expected().as_bytes(), o.expected().as_bytes()].concat())
        }
        Answer::Lock(start, end, typ, pid) => {
            let lock = Lock {
                start: *start,
                end: *end,
                typ: *typ,
                pid: *pid,
            };
            h.reply_lock(unique, Opcode::Getlk as u32).locked(&lock);
            let lk = abi::FileLock {
                start: *start,
                end: *end,
                r#type: *typ as u32,
                pid: *pid,
            };
            Some(lk.as_bytes().to_vec())
        }
        Answer::Bmap(block) => {
            h.reply_bmap(unique, Opcode::Bmap as u32).bmap(*block);
            Some(block.to_ne_bytes().to_vec())
        }
        Answer::XattrSize(size) => {
            h.reply_xattr(unique, Opcode::Getxattr as u32).size(*size);
            Some(
                abi::GetxattrOut {
                    size: *size,
                    padding: 0,
                }
                .as_bytes()
                .to_vec(),
            )
        }
        Answer::XattrData(data) => {
            h.reply_xattr(unique, Opcode::Listxattr as u32).data(data);
            Some(data.clone())
        }
        Answer::Lseek(offset) => {
            h.reply_lseek(unique, Opcode::Lseek as u32).offset(*offset);
            Some(offset.to_ne_bytes().to_vec())
        }
        Answer::Poll(revents) => {
            h.reply_poll(unique, Opcode::Poll as u32).revents(*revents);
            Some(
                abi::PollOut {
                    revents: *revents,
                    padding: 0,
                }
                .as_bytes()
                .to_vec(),
            )
        }
        Answer::Ioctl(result, data) => {
            h.reply_ioctl(unique, Opcode::Ioctl as u32)
                .ioctl(*result, data);
            let out = abi::IoctlOut {
                result: *result,
                flags: 0,
                in_iovs: 0,
                out_iovs: 0,
            };
            Some([out.as_bytes(), data].concat())
        }
        Answer::Statx(raw, ttl) => {
            let mut bytes = raw.clone();
            bytes.resize(size_of::<abi::Statx>(), 0);
            let stat = abi::Statx::read_from_bytes(&bytes).expect("sized to Statx");
            h.reply_statx(unique, Opcode::Statx as u32)
                .statx(&stat, ttl.duration());
            let d = ttl.duration();
            let out = abi::StatxOut {
                attr_valid: d.as_secs(),
                attr_valid_nsec: d.subsec_nanos(),
                flags: 0,
                spare: [0; 2],
                stat,
            };
            Some(out.as_bytes().to_vec())
        }
        Answer::Copied { count, wide } => {
            let opcode = if *wide {
                Opcode::CopyFileRange64
            } else {
                Opcode::CopyFileRange
            };
            h.reply_copy(unique, opcode as u32).copied(*count);
            Some(if *wide {
                count.to_ne_bytes().to_vec()
            } else {
                let size = u32::try_from(*count).unwrap_or(u32::MAX);
                abi::WriteOut { size, padding: 0 }.as_bytes().to_vec()
            })
        }
        Answer::Dir { size, entries } => {
            check_dir(&h, unique, usize::from(*size), entries);
            None
        }
        Answer::DirPlus { size, entries } => {
            check_dir_plus(&h, unique, usize::from(*size), entries);
            None
        }
    };
    if let Some(expected) = expected {
        let msg = single(&h, unique);
        let reply = parse_reply(&msg);
        assert_eq!(reply.error, 0);
        assert_eq!(
            reply.payload,
            &expected[..],
            "payload differs from the fields given"
        );
    }
}

/// The one message the harness captured; checks it echoes `unique`.
fn single(h: &Harness, unique: u64) -> Vec<u8> {
    let mut replies = h.take_replies();
    assert_eq!(replies.len(), 1, "one answer must send exactly one message");
    let msg = replies.pop().expect("one reply");
    assert_eq!(
        parse_reply(&msg).unique,
        unique,
        "reply does not echo the request's unique"
    );
    msg
}

fn check_dir(h: &Harness, unique: u64, size: usize, entries: &[(u64, u64, u32, Vec<u8>)]) {
    let mut reply = h.reply_directory(unique, size);
    let mut used = 0;
    let mut accepted = Vec::new();
    for (ino, off, typ, name) in entries {
        let need = abi::dirent_size(name.len());
        let full = reply.add(*ino, *off, *typ, OsStr::from_bytes(name));
        assert_eq!(
            full,
            used + need > size,
            "add() disagrees with the space left"
        );
        if full {
            break;
        }
        used += need;
        accepted.push((ino, off, typ, name));
    }
    reply.ok();
    let msg = single(h, unique);
    let payload = parse_reply(&msg).payload;
    assert_eq!(payload.len(), used);
    let records = parse_dirents(payload, false, size);
    assert_eq!(
        records.len(),
        accepted.len(),
        "records differ from accepted entries"
    );
    for (r, (ino, off, typ, name)) in records.iter().zip(accepted) {
        assert_eq!(
            (r.dirent.ino, r.dirent.off, r.dirent.r#type),
            (*ino, *off, *typ)
        );
        assert_eq!(r.name, &name[..]);
    }
}

fn check_dir_plus(h: &Harness, unique: u64, size: usize, entries: &[(EntrySpec, u64, Vec<u8>)]) {
    let mut reply = h.reply_directory_plus(unique, size);
    let mut used = 0;
    let mut accepted = Vec::new();
    for (spec, off, name) in entries {
        let need = abi::direntplus_size(name.len());
        let full = reply.add(&spec.entry(), *off, OsStr::from_bytes(name));
        assert_eq!(
            full,
            used + need > size,
            "add() disagrees with the space left"
        );
        if full {
            break;
        }
        used += need;
        accepted.push((spec, off, name));
    }
    reply.ok();
    let msg = single(h, unique);
    let payload = parse_reply(&msg).payload;
    assert_eq!(payload.len(), used);
    let records = parse_dirents(payload, true, size);
    assert_eq!(
        records.len(),
        accepted.len(),
        "records differ from accepted entries"
    );
    for (r, (spec, off, name)) in records.iter().zip(accepted) {
        assert_eq!(r.entry, Some(spec.expected()), "entry_out differs");
        let typ = spec.attr.mode >> 12 & 0o17;
        assert_eq!(
            (r.dirent.ino, r.dirent.off, r.dirent.r#type),
            (spec.attr.ino, *off, typ)
        );
        assert_eq!(r.name, &name[..]);
    }
}
