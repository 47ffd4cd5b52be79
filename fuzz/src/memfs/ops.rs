//! The operations the `memfs` target performs, as `arbitrary` produces them, and their encoding
//! into real FUSE request bytes. Node ids and file handles are picked from those the filesystem
//! handed out earlier in the sequence (with a few bogus ones mixed in), so sequences build on
//! each other the way a kernel's do.

use arbitrary::Arbitrary;
use fusekit::abi::{self, Opcode};

use crate::wire::RequestBuilder;

/// An index into the node ids (or file handles) seen so far; values from 0xF8 up are bogus ids.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Pick(u8);

const BOGUS: [u64; 8] = [0, 2, 3, 1000, 1 << 32, 1 << 63, u64::MAX - 1, u64::MAX];

impl Pick {
    fn from(self, seen: &[u64]) -> u64 {
        match self.0 {
            i @ 0xF8.. => BOGUS[usize::from(i - 0xF8)],
            _ if seen.is_empty() => 0,
            i => seen[usize::from(i) % seen.len()],
        }
    }
}

/// A name: usually one of a few, so operations meet each other's names.
#[derive(Arbitrary, Debug, Clone)]
pub enum Name {
    Common(u8),
    Raw(Vec<u8>),
}

const NAMES: [&[u8]; 8] = [b"a", b"b", b"c", b"d", b".", b"..", b"lost+found", b"e"];
const XATTR_NAMES: [&[u8]; 8] = [
    b"user.a",
    b"user.b",
    b"trusted.t",
    b"security.s",
    b"system.posix_acl_access",
    b"user.",
    b"other.x",
    b"user.c",
];

impl Name {
    fn bytes(&self, table: &[&[u8]; 8]) -> Vec<u8> {
        match self {
            Name::Common(i) if *i == 0xFF => vec![b'n'; 255],
            Name::Common(i) if *i == 0xFE => vec![b'n'; 256],
            Name::Common(i) => table[usize::from(*i) % table.len()].to_vec(),
            Name::Raw(raw) => raw.clone(),
        }
    }
}

/// A file offset or length: small, page-sized, or anything.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Offset {
    Small(u16),
    Pages(u8),
    Any(u64),
}

impl Offset {
    fn get(self) -> u64 {
        match self {
            Offset::Small(n) => u64::from(n),
            Offset::Pages(n) => u64::from(n) * 4096,
            Offset::Any(n) => n,
        }
    }
}

/// One operation. Fields mirror the request's arguments, narrowed where a full-width random
/// value would almost always be rejected the same way.
#[derive(Arbitrary, Debug, Clone)]
pub enum FsOp {
    Lookup {
        dir: Pick,
        name: Name,
    },
    Forget {
        node: Pick,
        n: u8,
    },
    BatchForget {
        items: Vec<(Pick, u8)>,
    },
    Getattr {
        node: Pick,
        fh: Option<Pick>,
    },
    Setattr {
        node: Pick,
        valid: u16,
        mode: u16,
        owner: (u8, u8),
        size: Offset,
        times: [(u64, u32); 3],
        fh: Pick,
    },
    Readlink {
        node: Pick,
    },
    Symlink {
        dir: Pick,
        name: Name,
        target: Name,
    },
    Mknod {
        dir: Pick,
        name: Name,
        kind: u8,
        perm: u16,
        rdev: u32,
        umask: u16,
    },
    Mkdir {
        dir: Pick,
        name: Name,
        perm: u16,
        umask: u16,
    },
    Unlink {
        dir: Pick,
        name: Name,
    },
    Rmdir {
        dir: Pick,
        name: Name,
    },
    Rename {
        dir: Pick,
        name: Name,
        newdir: Pick,
        newname: Name,
        flags: u8,
        v2: bool,
    },
    Link {
        node: Pick,
        newdir: Pick,
        newname: Name,
    },
    Open {
        node: Pick,
        flags: u8,
        dir: bool,
    },
    Read {
        node: Pick,
        fh: Pick,
        offset: Offset,
        size: u16,
    },
    Write {
        node: Pick,
        fh: Pick,
        offset: Offset,
        data: Vec<u8>,
        flags: u8,
    },
    Statfs,
    Release {
        node: Pick,
        fh: Pick,
        flags: u8,
        owner: u8,
        dir: bool,
    },
    Fsync {
        node: Pick,
        fh: Pick,
        datasync: bool,
        dir: bool,
    },
    Setxattr {
        node: Pick,
        name: Name,
        value: Vec<u8>,
        flags: u8,
    },
    Getxattr {
        node: Pick,
        name: Name,
        size: u16,
    },
    Listxattr {
        node: Pick,
        size: u16,
    },
    Removexattr {
        node: Pick,
        name: Name,
    },
    Flush {
        node: Pick,
        fh: Pick,
        owner: u8,
    },
    Readdir {
        node: Pick,
        fh: Pick,
        offset: u8,
        size: u16,
        plus: bool,
    },
    Lock {
        kind: u8,
        node: Pick,
        fh: Pick,
        owner: u8,
        start: Offset,
        end: Offset,
        typ: u8,
        flock: bool,
    },
    Access {
        node: Pick,
        mask: u8,
    },
    Create {
        dir: Pick,
        name: Name,
        perm: u16,
        umask: u16,
        flags: u8,
    },
    Interrupt {
        back: u8,
    },
    Bmap {
        node: Pick,
        block: u64,
    },
    Ioctl {
        node: Pick,
        fh: Pick,
        cmd: u32,
        data: Vec<u8>,
    },
    Poll {
        node: Pick,
        fh: Pick,
        events: u32,
        flags: u8,
    },
    Fallocate {
        node: Pick,
        fh: Pick,
        offset: Offset,
        length: Offset,
        mode: u8,
    },
    Lseek {
        node: Pick,
        fh: Pick,
        offset: Offset,
        whence: u8,
    },
    CopyFileRange {
        node: Pick,
        fh: Pick,
        off: Offset,
        node_out: Pick,
        fh_out: Pick,
        off_out: Offset,
        len: Offset,
        wide: bool,
    },
    Syncfs,
    Tmpfile {
        dir: Pick,
        perm: u16,
        umask: u16,
        flags: u8,
    },
    Statx {
        node: Pick,
        fh: Option<Pick>,
    },
    /// Arbitrary request bytes (header `unique` replaced; `len` fixed when asked).
    Raw {
        bytes: Vec<u8>,
        fix_len: bool,
    },
}

/// One step: who asks (root or one of two users) and what.
#[derive(Arbitrary, Debug, Clone)]
pub struct Step {
    pub who: u8,
    pub op: FsOp,
}

/// What the encoder needs to know about the sequence so far.
#[derive(Debug, Default)]
pub struct Seen {
    /// Node ids handed out (the root first).
    pub nodes: Vec<u64>,
    /// File handles handed out.
    pub fhs: Vec<u64>,
}

/// An encoded request plus what the checker must know about it.
#[derive(Debug)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub opcode: u32,
    /// Size limit the reply payload must respect (READ, READDIR, xattr queries), if any.
    pub max_reply: Option<usize>,
    /// The kernel would wait for a blocking lock: interrupt it first so it ends at once.
    pub blocking: bool,
    /// Built from raw bytes: its reply teaches nothing about the sequence.
    pub raw: bool,
}

const O_FLAGS: [u32; 6] = [0o1000, 0o2000, 0o200, 0o100, 0o200000, 0o1000000];

/// Open flags from a byte: the access mode plus a few flags that change behaviour.
fn open_flags(b: u8) -> u32 {
    let mut flags = u32::from(b & 3);
    for (i, f) in O_FLAGS.iter().enumerate() {
        if b & (4 << i) != 0 {
            flags |= f;
        }
    }
    flags
}

const KINDS: [u32; 8] = [
    0o100000, 0o020000, 0o060000, 0o010000, 0o140000, 0o040000, 0, 0o120000,
];

fn users(who: u8) -> (u32, u32) {
    match who % 3 {
        0 => (0, 0),
        1 => (1000, 1000),
        _ => (1001, 1001),
    }
}

impl Step {
    /// Encodes this step as request `unique`.
    pub fn encode(&self, unique: u64, seen: &Seen) -> Encoded {
        let (uid, gid) = users(self.who);
        let node = |p: &Pick| p.from(&seen.nodes);
        let fh = |p: &Pick| p.from(&seen.fhs);
        let req =
            |op: Opcode, nodeid: u64| RequestBuilder::new(op as u32, unique, nodeid, uid, gid);
        let mut max_reply = None;
        let mut blocking = false;
        let (opcode, bytes) = match &self.op {
            FsOp::Lookup { dir, name } => (
                Opcode::Lookup,
                req(Opcode::Lookup, node(dir)).name(&name.bytes(&NAMES)),
            ),
            FsOp::Forget { node: n, n: count } => (
                Opcode::Forget,
                req(Opcode::Forget, node(n)).arg(&abi::ForgetIn {
                    nlookup: u64::from(*count),
                }),
            ),
            FsOp::BatchForget { items } => {
                let mut b = req(Opcode::BatchForget, 0).arg(&abi::BatchForgetIn {
                    count: items.len() as u32,
                    dummy: 0,
                });
                for (n, count) in items {
                    b = b.arg(&abi::ForgetOne {
                        nodeid: node(n),
                        nlookup: u64::from(*count),
                    });
                }
                (Opcode::BatchForget, b)
            }
            FsOp::Getattr { node: n, fh: f } => {
                let arg = abi::GetattrIn {
                    getattr_flags: u32::from(f.is_some()),
                    dummy: 0,
                    fh: f.as_ref().map_or(0, fh),
                };
                (Opcode::Getattr, req(Opcode::Getattr, node(n)).arg(&arg))
            }
            FsOp::Setattr {
                node: n,
                valid,
                mode,
                owner,
                size,
                times,
                fh: f,
            } => {
                let arg = abi::SetattrIn {
                    valid: u32::from(*valid) & 0xFFF,
                    fh: fh(f),
                    size: size.get(),
                    lock_owner: 7,
                    atime: times[0].0,
                    mtime: times[1].0,
                    ctime: times[2].0,
                    atimensec: times[0].1,
                    mtimensec: times[1].1,
                    ctimensec: times[2].1,
                    mode: u32::from(*mode),
                    uid: users(owner.0).0,
                    gid: users(owner.1).1,
                    ..Default::default()
                };
                (Opcode::Setattr, req(Opcode::Setattr, node(n)).arg(&arg))
            }
            FsOp::Readlink { node: n } => (Opcode::Readlink, req(Opcode::Readlink, node(n))),
            FsOp::Symlink { dir, name, target } => (
                Opcode::Symlink,
                req(Opcode::Symlink, node(dir))
                    .name(&name.bytes(&NAMES))
                    .name(&target.bytes(&NAMES)),
            ),
            FsOp::Mknod {
                dir,
                name,
                kind,
                perm,
                rdev,
                umask,
            } => {
                let arg = abi::MknodIn {
                    mode: KINDS[usize::from(*kind) % KINDS.len()] | (u32::from(*perm) & 0o7777),
                    rdev: *rdev,
                    umask: u32::from(*umask) & 0o777,
                    padding: 0,
                };
                (
                    Opcode::Mknod,
                    req(Opcode::Mknod, node(dir))
                        .arg(&arg)
                        .name(&name.bytes(&NAMES)),
                )
            }
            FsOp::Mkdir {
                dir,
                name,
                perm,
                umask,
            } => {
                let arg = abi::MkdirIn {
                    mode: u32::from(*perm) & 0o7777,
                    umask: u32::from(*umask) & 0o777,
                };
                (
                    Opcode::Mkdir,
                    req(Opcode::Mkdir, node(dir))
                        .arg(&arg)
                        .name(&name.bytes(&NAMES)),
                )
            }
            FsOp::Unlink { dir, name } => (
                Opcode::Unlink,
                req(Opcode::Unlink, node(dir)).name(&name.bytes(&NAMES)),
            ),
            FsOp::Rmdir { dir, name } => (
                Opcode::Rmdir,
                req(Opcode::Rmdir, node(dir)).name(&name.bytes(&NAMES)),
            ),
            FsOp::Rename {
                dir,
                name,
                newdir,
                newname,
                flags,
                v2,
            } => {
                let b = if *v2 {
                    // RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT, or an unknown bit.
                    let flags = u32::from(*flags & 0x0F);
                    req(Opcode::Rename2, node(dir)).arg(&abi::Rename2In {
                        newdir: node(newdir),
                        flags,
                        padding: 0,
                    })
                } else {
                    req(Opcode::Rename, node(dir)).arg(&abi::RenameIn {
                        newdir: node(newdir),
                    })
                };
                let op = if *v2 { Opcode::Rename2 } else { Opcode::Rename };
                (op, b.name(&name.bytes(&NAMES)).name(&newname.bytes(&NAMES)))
            }
            FsOp::Link {
                node: n,
                newdir,
                newname,
            } => (
                Opcode::Link,
                req(Opcode::Link, node(newdir))
                    .arg(&abi::LinkIn { oldnodeid: node(n) })
                    .name(&newname.bytes(&NAMES)),
            ),
            FsOp::Open {
                node: n,
                flags,
                dir,
            } => {
                let op = if *dir { Opcode::Opendir } else { Opcode::Open };
                (
                    op,
                    req(op, node(n)).arg(&abi::OpenIn {
                        flags: open_flags(*flags),
                        open_flags: 0,
                    }),
                )
            }
            FsOp::Read {
                node: n,
                fh: f,
                offset,
                size,
            } => {
                max_reply = Some(usize::from(*size));
                let arg = abi::ReadIn {
                    fh: fh(f),
                    offset: offset.get(),
                    size: u32::from(*size),
                    ..Default::default()
                };
                (Opcode::Read, req(Opcode::Read, node(n)).arg(&arg))
            }
            FsOp::Write {
                node: n,
                fh: f,
                offset,
                data,
                flags,
            } => {
                let arg = abi::WriteIn {
                    fh: fh(f),
                    offset: offset.get(),
                    size: data.len() as u32,
                    write_flags: u32::from(*flags & 7),
                    lock_owner: 7,
                    ..Default::default()
                };
                (
                    Opcode::Write,
                    req(Opcode::Write, node(n)).arg(&arg).bytes(data),
                )
            }
            FsOp::Statfs => (Opcode::Statfs, req(Opcode::Statfs, 1)),
            FsOp::Release {
                node: n,
                fh: f,
                flags,
                owner,
                dir,
            } => {
                let op = if *dir {
                    Opcode::Releasedir
                } else {
                    Opcode::Release
                };
                let arg = abi::ReleaseIn {
                    fh: fh(f),
                    flags: 0,
                    release_flags: u32::from(*flags & 3),
                    lock_owner: u64::from(*owner),
                };
                (op, req(op, node(n)).arg(&arg))
            }
            FsOp::Fsync {
                node: n,
                fh: f,
                datasync,
                dir,
            } => {
                let op = if *dir {
                    Opcode::Fsyncdir
                } else {
                    Opcode::Fsync
                };
                (
                    op,
                    req(op, node(n)).arg(&abi::FsyncIn {
                        fh: fh(f),
                        fsync_flags: u32::from(*datasync),
                        padding: 0,
                    }),
                )
            }
            FsOp::Setxattr {
                node: n,
                name,
                value,
                flags,
            } => {
                let arg = abi::SetxattrIn {
                    size: value.len() as u32,
                    flags: u32::from(*flags & 3),
                    ..Default::default()
                };
                // Without FUSE_SETXATTR_EXT the kernel sends the 8-byte form.
                let short = &arg.as_bytes_prefix(abi::COMPAT_SETXATTR_IN_SIZE);
                (
                    Opcode::Setxattr,
                    req(Opcode::Setxattr, node(n))
                        .bytes(short)
                        .name(&name.bytes(&XATTR_NAMES))
                        .bytes(value),
                )
            }
            FsOp::Getxattr {
                node: n,
                name,
                size,
            } => {
                max_reply = Some(if *size == 0 { 8 } else { usize::from(*size) });
                let arg = abi::GetxattrIn {
                    size: u32::from(*size),
                    padding: 0,
                };
                (
                    Opcode::Getxattr,
                    req(Opcode::Getxattr, node(n))
                        .arg(&arg)
                        .name(&name.bytes(&XATTR_NAMES)),
                )
            }
            FsOp::Listxattr { node: n, size } => {
                max_reply = Some(if *size == 0 { 8 } else { usize::from(*size) });
                (
                    Opcode::Listxattr,
                    req(Opcode::Listxattr, node(n)).arg(&abi::GetxattrIn {
                        size: u32::from(*size),
                        padding: 0,
                    }),
                )
            }
            FsOp::Removexattr { node: n, name } => (
                Opcode::Removexattr,
                req(Opcode::Removexattr, node(n)).name(&name.bytes(&XATTR_NAMES)),
            ),
            FsOp::Flush {
                node: n,
                fh: f,
                owner,
            } => {
                let arg = abi::FlushIn {
                    fh: fh(f),
                    lock_owner: u64::from(*owner),
                    ..Default::default()
                };
                (Opcode::Flush, req(Opcode::Flush, node(n)).arg(&arg))
            }
            FsOp::Readdir {
                node: n,
                fh: f,
                offset,
                size,
                plus,
            } => {
                max_reply = Some(usize::from(*size));
                let op = if *plus {
                    Opcode::Readdirplus
                } else {
                    Opcode::Readdir
                };
                let arg = abi::ReadIn {
                    fh: fh(f),
                    offset: u64::from(*offset),
                    size: u32::from(*size),
                    ..Default::default()
                };
                (op, req(op, node(n)).arg(&arg))
            }
            FsOp::Lock {
                kind,
                node: n,
                fh: f,
                owner,
                start,
                end,
                typ,
                flock,
            } => {
                let op = [Opcode::Getlk, Opcode::Setlk, Opcode::Setlkw][usize::from(*kind % 3)];
                blocking = op == Opcode::Setlkw;
                let arg = abi::LkIn {
                    fh: fh(f),
                    owner: u64::from(*owner % 4),
                    lk: abi::FileLock {
                        start: start.get(),
                        end: end.get(),
                        r#type: u32::from(*typ % 4),
                        pid: u32::from(*owner),
                    },
                    lk_flags: u32::from(*flock),
                    padding: 0,
                };
                (op, req(op, node(n)).arg(&arg))
            }
            FsOp::Access { node: n, mask } => (
                Opcode::Access,
                req(Opcode::Access, node(n)).arg(&abi::AccessIn {
                    mask: u32::from(*mask & 0xF),
                    padding: 0,
                }),
            ),
            FsOp::Create {
                dir,
                name,
                perm,
                umask,
                flags,
            } => {
                let arg = abi::CreateIn {
                    flags: open_flags(*flags) | 0o100,
                    mode: 0o100000 | (u32::from(*perm) & 0o7777),
                    umask: u32::from(*umask) & 0o777,
                    open_flags: 0,
                };
                (
                    Opcode::Create,
                    req(Opcode::Create, node(dir))
                        .arg(&arg)
                        .name(&name.bytes(&NAMES)),
                )
            }
            FsOp::Interrupt { back } => {
                let target = unique.saturating_sub(u64::from(*back));
                (
                    Opcode::Interrupt,
                    req(Opcode::Interrupt, 0).arg(&abi::InterruptIn { unique: target }),
                )
            }
            FsOp::Bmap { node: n, block } => (
                Opcode::Bmap,
                req(Opcode::Bmap, node(n)).arg(&abi::BmapIn {
                    block: *block,
                    blocksize: 4096,
                    padding: 0,
                }),
            ),
            FsOp::Ioctl {
                node: n,
                fh: f,
                cmd,
                data,
            } => {
                let arg = abi::IoctlIn {
                    fh: fh(f),
                    flags: 0,
                    cmd: *cmd,
                    arg: 0,
                    in_size: data.len() as u32,
                    out_size: 64,
                };
                (
                    Opcode::Ioctl,
                    req(Opcode::Ioctl, node(n)).arg(&arg).bytes(data),
                )
            }
            FsOp::Poll {
                node: n,
                fh: f,
                events,
                flags,
            } => {
                let arg = abi::PollIn {
                    fh: fh(f),
                    kh: 9,
                    flags: u32::from(*flags & 1),
                    events: *events,
                };
                (Opcode::Poll, req(Opcode::Poll, node(n)).arg(&arg))
            }
            FsOp::Fallocate {
                node: n,
                fh: f,
                offset,
                length,
                mode,
            } => {
                // FALLOC_FL_KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE, and unsupported bits.
                let arg = abi::FallocateIn {
                    fh: fh(f),
                    offset: offset.get(),
                    length: length.get(),
                    mode: u32::from(*mode & 0x1F),
                    padding: 0,
                };
                (Opcode::Fallocate, req(Opcode::Fallocate, node(n)).arg(&arg))
            }
            FsOp::Lseek {
                node: n,
                fh: f,
                offset,
                whence,
            } => {
                let arg = abi::LseekIn {
                    fh: fh(f),
                    offset: offset.get(),
                    whence: u32::from(*whence % 5),
                    padding: 0,
                };
                (Opcode::Lseek, req(Opcode::Lseek, node(n)).arg(&arg))
            }
            FsOp::CopyFileRange {
                node: n,
                fh: f,
                off,
                node_out,
                fh_out,
                off_out,
                len,
                wide,
            } => {
                let op = if *wide {
                    Opcode::CopyFileRange64
                } else {
                    Opcode::CopyFileRange
                };
                let arg = abi::CopyFileRangeIn {
                    fh_in: fh(f),
                    off_in: off.get(),
                    nodeid_out: node(node_out),
                    fh_out: fh(fh_out),
                    off_out: off_out.get(),
                    len: len.get(),
                    flags: 0,
                };
                (op, req(op, node(n)).arg(&arg))
            }
            FsOp::Syncfs => (
                Opcode::Syncfs,
                req(Opcode::Syncfs, 1).arg(&abi::SyncfsIn { padding: 0 }),
            ),
            FsOp::Tmpfile {
                dir,
                perm,
                umask,
                flags,
            } => {
                let arg = abi::CreateIn {
                    flags: open_flags(*flags) | 0o20200000,
                    mode: 0o100000 | (u32::from(*perm) & 0o7777),
                    umask: u32::from(*umask) & 0o777,
                    open_flags: 0,
                };
                // The kernel appends a placeholder name.
                (
                    Opcode::Tmpfile,
                    req(Opcode::Tmpfile, node(dir)).arg(&arg).name(b"tmpfile"),
                )
            }
            FsOp::Statx { node: n, fh: f } => {
                let arg = abi::StatxIn {
                    getattr_flags: u32::from(f.is_some()),
                    reserved: 0,
                    fh: f.as_ref().map_or(0, fh),
                    sx_flags: 0,
                    sx_mask: 0x7FF,
                };
                (Opcode::Statx, req(Opcode::Statx, node(n)).arg(&arg))
            }
            FsOp::Raw { bytes, fix_len } => {
                let mut bytes = bytes.clone();
                if bytes.len() >= 16 {
                    bytes[8..16].copy_from_slice(&unique.to_ne_bytes());
                }
                if *fix_len && bytes.len() >= 4 {
                    let len = bytes.len() as u32;
                    bytes[..4].copy_from_slice(&len.to_ne_bytes());
                }
                let opcode = if bytes.len() >= 8 {
                    u32::from_ne_bytes(bytes[4..8].try_into().expect("4 bytes"))
                } else {
                    0
                };
                // A raw SETLKW could wait forever: interrupt it first like the typed one.
                let blocking = opcode == Opcode::Setlkw as u32;
                return Encoded {
                    bytes,
                    opcode,
                    max_reply: None,
                    blocking,
                    raw: true,
                };
            }
        };
        Encoded {
            bytes: bytes.finish(),
            opcode: opcode as u32,
            max_reply,
            blocking,
            raw: false,
        }
    }
}

/// The first `len` bytes of a struct (a shorter, older layout).
trait BytesPrefix {
    fn as_bytes_prefix(&self, len: usize) -> Vec<u8>;
}

impl<T: zerocopy::IntoBytes + zerocopy::Immutable> BytesPrefix for T {
    fn as_bytes_prefix(&self, len: usize) -> Vec<u8> {
        self.as_bytes()[..len].to_vec()
    }
}
