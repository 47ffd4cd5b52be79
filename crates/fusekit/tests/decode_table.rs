//! Table tests of the request decoder (`fusekit::op::decode`): one well-formed request per
//! opcode of protocol 7.45 (plus the older layouts the decoder still accepts), checked field by
//! field; every truncation of each, with the header's `len` adjusted and not; names without
//! their NUL; sizes and counts that contradict the request length; extension areas; unknown
//! opcodes; and the SETXATTR layout with and without FUSE_SETXATTR_EXT.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use fusekit::op::{decode, DecodeContext, DecodeError, Decoded, Op};
use fusekit::Errno;
use fusekit_abi::{self as abi, Opcode};
use zerocopy::{FromBytes, Immutable, IntoBytes};

const HEADER_LEN: usize = core::mem::size_of::<abi::InHeader>();

/// The context of a fully negotiated 7.45 connection with FUSE_SETXATTR_EXT.
const MODERN: DecodeContext = DecodeContext {
    minor: 45,
    setxattr_ext: true,
};

fn ctx(minor: u32, setxattr_ext: bool) -> DecodeContext {
    DecodeContext {
        minor,
        setxattr_ext,
    }
}

/// A request with a correct header: `len` covers header, arguments and extension area.
fn request(opcode: u32, unique: u64, args: &[u8], ext: &[u8]) -> Vec<u8> {
    assert_eq!(ext.len() % 8, 0, "extension areas are 8-byte units");
    let header = abi::InHeader {
        len: (HEADER_LEN + args.len() + ext.len()) as u32,
        opcode,
        unique,
        nodeid: 0x1234_5678,
        uid: 1000,
        gid: 100,
        pid: 4242,
        total_extlen: (ext.len() / 8) as u16,
        padding: 0,
    };
    let mut buf = header.as_bytes().to_vec();
    buf.extend_from_slice(args);
    buf.extend_from_slice(ext);
    buf
}

fn set_len(buf: &mut [u8], len: usize) {
    buf[..4].copy_from_slice(&(len as u32).to_ne_bytes());
}

/// A struct whose every byte is non-zero (and differs from its neighbours), so a field that
/// was dropped, shifted or zero-filled shows up in a byte comparison.
fn patterned<T: FromBytes + IntoBytes>(seed: u8) -> T {
    let mut value = T::new_zeroed();
    for (i, b) in value.as_mut_bytes().iter_mut().enumerate() {
        *b = seed.wrapping_add((i as u8).wrapping_mul(13)) | 1;
    }
    value
}

fn bytes_of<T: IntoBytes + Immutable>(value: &T) -> Vec<u8> {
    value.as_bytes().to_vec()
}

/// What a decoded operation carries, flattened so that cases compare uniformly.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    variant: &'static str,
    /// The fixed argument struct's bytes (full current layout).
    arg: Option<Vec<u8>>,
    /// Names in wire order, without NULs.
    names: Vec<Vec<u8>>,
    /// Borrowed data (write data, xattr value, ioctl input, forget records ...).
    data: Option<Vec<u8>>,
    /// Opcode carried by `DaxMapping` / `Unknown`.
    code: Option<u32>,
}

impl Shape {
    fn new(variant: &'static str) -> Self {
        Shape {
            variant,
            arg: None,
            names: Vec::new(),
            data: None,
            code: None,
        }
    }
    fn arg<T: IntoBytes + Immutable>(mut self, value: &T) -> Self {
        self.arg = Some(bytes_of(value));
        self
    }
    fn name(mut self, name: &[u8]) -> Self {
        self.names.push(name.to_vec());
        self
    }
    fn data(mut self, data: &[u8]) -> Self {
        self.data = Some(data.to_vec());
        self
    }
    fn code(mut self, code: u32) -> Self {
        self.code = Some(code);
        self
    }
}

fn shape_of(op: &Op<'_>) -> Shape {
    let n = |s: &OsStr| {
        assert!(!s.as_bytes().contains(&0), "a decoded name contains NUL");
        s.as_bytes().to_vec()
    };
    match op {
        Op::Lookup { name } => Shape::new("Lookup").name(&n(name)),
        Op::Forget { arg } => Shape::new("Forget").arg(arg),
        Op::BatchForget { forgets } => {
            let records: Vec<u8> = forgets.iter().flat_map(|f| bytes_of(&f)).collect();
            assert_eq!(records.len(), forgets.len() * 16);
            assert_eq!(forgets.is_empty(), records.is_empty());
            Shape::new("BatchForget").data(&records)
        }
        Op::Getattr { arg } => Shape::new("Getattr").arg(arg),
        Op::Setattr { arg } => Shape::new("Setattr").arg(arg),
        Op::Readlink => Shape::new("Readlink"),
        Op::Symlink { name, target } => Shape::new("Symlink").name(&n(name)).name(&n(target)),
        Op::Mknod { arg, name } => Shape::new("Mknod").arg(arg).name(&n(name)),
        Op::Mkdir { arg, name } => Shape::new("Mkdir").arg(arg).name(&n(name)),
        Op::Unlink { name } => Shape::new("Unlink").name(&n(name)),
        Op::Rmdir { name } => Shape::new("Rmdir").name(&n(name)),
        Op::Rename {
            newdir,
            flags,
            name,
            newname,
        } => Shape::new("Rename")
            .arg(&abi::Rename2In {
                newdir: *newdir,
                flags: *flags,
                padding: 0,
            })
            .name(&n(name))
            .name(&n(newname)),
        Op::Link { arg, newname } => Shape::new("Link").arg(arg).name(&n(newname)),
        Op::Open { arg } => Shape::new("Open").arg(arg),
        Op::Read { arg } => Shape::new("Read").arg(arg),
        Op::Write { arg, data } => {
            assert_eq!(
                data.len(),
                arg.size as usize,
                "WRITE data is exactly `size` bytes"
            );
            Shape::new("Write").arg(arg).data(data)
        }
        Op::Statfs => Shape::new("Statfs"),
        Op::Release { arg } => Shape::new("Release").arg(arg),
        Op::Fsync { arg } => Shape::new("Fsync").arg(arg),
        Op::Setxattr { arg, name, value } => {
            assert_eq!(
                value.len(),
                arg.size as usize,
                "xattr value is exactly `size` bytes"
            );
            Shape::new("Setxattr").arg(arg).name(&n(name)).data(value)
        }
        Op::Getxattr { arg, name } => Shape::new("Getxattr").arg(arg).name(&n(name)),
        Op::Listxattr { arg } => Shape::new("Listxattr").arg(arg),
        Op::Removexattr { name } => Shape::new("Removexattr").name(&n(name)),
        Op::Flush { arg } => Shape::new("Flush").arg(arg),
        Op::Init { arg } => Shape::new("Init").arg(arg),
        Op::Opendir { arg } => Shape::new("Opendir").arg(arg),
        Op::Readdir { arg } => Shape::new("Readdir").arg(arg),
        Op::Releasedir { arg } => Shape::new("Releasedir").arg(arg),
        Op::Fsyncdir { arg } => Shape::new("Fsyncdir").arg(arg),
        Op::Getlk { arg } => Shape::new("Getlk").arg(arg),
        Op::Setlk { arg } => Shape::new("Setlk").arg(arg),
        Op::Setlkw { arg } => Shape::new("Setlkw").arg(arg),
        Op::Access { arg } => Shape::new("Access").arg(arg),
        Op::Create { arg, name } => Shape::new("Create").arg(arg).name(&n(name)),
        Op::Interrupt { arg } => Shape::new("Interrupt").arg(arg),
        Op::Bmap { arg } => Shape::new("Bmap").arg(arg),
        Op::Destroy => Shape::new("Destroy"),
        Op::Ioctl { arg, data } => {
            assert_eq!(data.len(), arg.in_size as usize);
            Shape::new("Ioctl").arg(arg).data(data)
        }
        Op::Poll { arg } => Shape::new("Poll").arg(arg),
        Op::NotifyReply { arg, data } => {
            assert_eq!(data.len(), arg.size as usize);
            Shape::new("NotifyReply").arg(arg).data(data)
        }
        Op::Fallocate { arg } => Shape::new("Fallocate").arg(arg),
        Op::Readdirplus { arg } => Shape::new("Readdirplus").arg(arg),
        Op::Lseek { arg } => Shape::new("Lseek").arg(arg),
        Op::CopyFileRange { arg } => Shape::new("CopyFileRange").arg(arg),
        Op::CopyFileRange64 { arg } => Shape::new("CopyFileRange64").arg(arg),
        Op::Syncfs { arg } => Shape::new("Syncfs").arg(arg),
        Op::Tmpfile { arg } => Shape::new("Tmpfile").arg(arg),
        Op::Statx { arg } => Shape::new("Statx").arg(arg),
        Op::DaxMapping { opcode } => Shape::new("DaxMapping").code(opcode.as_u32()),
        Op::CuseInit => Shape::new("CuseInit"),
        Op::Unknown { opcode } => Shape::new("Unknown").code(*opcode),
        other => panic!("variant not covered by this test: {other:?}"),
    }
}

/// How a cut inside the arguments must be treated.
#[derive(Debug, Clone, Copy)]
enum Floor {
    /// Any cut is an error.
    Strict,
    /// Older kernels sent a shorter struct: a cut at `min` bytes or more decodes, with the
    /// missing tail zero.
    Compat(usize),
}

/// One well-formed request and what it must decode to.
struct Case {
    label: String,
    opcode: u32,
    ctx: DecodeContext,
    /// The fixed argument struct as sent (possibly an older, shorter layout).
    fixed: Vec<u8>,
    /// Names as sent, each followed by a NUL on the wire.
    names: Vec<Vec<u8>>,
    /// Bytes whose length a field of `fixed` gives.
    data: Vec<u8>,
    /// Trailing bytes the decoder ignores (TMPFILE's placeholder name, DAX/CUSE arguments).
    ignored: Vec<u8>,
    floor: Floor,
    expect: Shape,
}

impl Case {
    fn new(label: &str, opcode: Opcode, expect: Shape) -> Self {
        Case {
            label: label.to_string(),
            opcode: opcode.as_u32(),
            ctx: MODERN,
            fixed: Vec::new(),
            names: Vec::new(),
            data: Vec::new(),
            ignored: Vec::new(),
            floor: Floor::Strict,
            expect,
        }
    }
    /// Sends `value` as the fixed struct and expects it back unchanged.
    fn fixed<T: IntoBytes + Immutable>(mut self, value: &T) -> Self {
        self.fixed = bytes_of(value);
        self.expect.arg = Some(self.fixed.clone());
        self
    }
    fn names(mut self, names: &[&[u8]]) -> Self {
        self.names = names.iter().map(|n| n.to_vec()).collect();
        self.expect.names = self.names.clone();
        self
    }
    fn data(mut self, data: &[u8]) -> Self {
        self.data = data.to_vec();
        self.expect.data = Some(self.data.clone());
        self
    }
    fn args(&self) -> Vec<u8> {
        let mut args = self.fixed.clone();
        for name in &self.names {
            args.extend_from_slice(name);
            args.push(0);
        }
        args.extend_from_slice(&self.data);
        args.extend_from_slice(&self.ignored);
        args
    }
    fn names_len(&self) -> usize {
        self.names.iter().map(|n| n.len() + 1).sum()
    }
}

fn with_size<T: FromBytes + IntoBytes>(seed: u8, offset: usize, size: u32) -> T {
    let mut value: T = patterned(seed);
    value.as_mut_bytes()[offset..offset + 4].copy_from_slice(&size.to_ne_bytes());
    value
}

fn cases() -> Vec<Case> {
    use Opcode as O;
    let data = b"some \0 bytes\xff of data";
    let mut out = vec![
        Case::new("LOOKUP", O::Lookup, Shape::new("Lookup")).names(&[b"hello.txt"]),
        Case::new("FORGET", O::Forget, Shape::new("Forget")).fixed(&patterned::<abi::ForgetIn>(1)),
        Case::new("GETATTR", O::Getattr, Shape::new("Getattr"))
            .fixed(&patterned::<abi::GetattrIn>(2)),
        Case::new("SETATTR", O::Setattr, Shape::new("Setattr"))
            .fixed(&patterned::<abi::SetattrIn>(3)),
        Case::new("READLINK", O::Readlink, Shape::new("Readlink")),
        Case::new("SYMLINK", O::Symlink, Shape::new("Symlink"))
            .names(&[b"link", b"../some/target"]),
        Case::new("MKNOD", O::Mknod, Shape::new("Mknod"))
            .fixed(&patterned::<abi::MknodIn>(4))
            .names(&[b"fifo"]),
        Case::new("MKDIR", O::Mkdir, Shape::new("Mkdir"))
            .fixed(&patterned::<abi::MkdirIn>(5))
            .names(&[b"dir"]),
        Case::new("UNLINK", O::Unlink, Shape::new("Unlink")).names(&[b"gone"]),
        Case::new("RMDIR", O::Rmdir, Shape::new("Rmdir")).names(&[b"gone-dir"]),
        Case::new("LINK", O::Link, Shape::new("Link"))
            .fixed(&patterned::<abi::LinkIn>(6))
            .names(&[b"hardlink"]),
        Case::new("OPEN", O::Open, Shape::new("Open")).fixed(&patterned::<abi::OpenIn>(7)),
        Case::new("READ", O::Read, Shape::new("Read")).fixed(&patterned::<abi::ReadIn>(8)),
        Case::new("WRITE", O::Write, Shape::new("Write"))
            .fixed(&with_size::<abi::WriteIn>(9, 16, data.len() as u32))
            .data(data),
        Case::new("STATFS", O::Statfs, Shape::new("Statfs")),
        Case::new("FSYNC", O::Fsync, Shape::new("Fsync")).fixed(&patterned::<abi::FsyncIn>(11)),
        Case::new("SETXATTR", O::Setxattr, Shape::new("Setxattr"))
            .fixed(&with_size::<abi::SetxattrIn>(12, 0, 7))
            .names(&[b"user.key"])
            .data(b"v\0al\xffue"),
        Case::new("GETXATTR", O::Getxattr, Shape::new("Getxattr"))
            .fixed(&patterned::<abi::GetxattrIn>(13))
            .names(&[b"user.key"]),
        Case::new("LISTXATTR", O::Listxattr, Shape::new("Listxattr"))
            .fixed(&patterned::<abi::GetxattrIn>(14)),
        Case::new("REMOVEXATTR", O::Removexattr, Shape::new("Removexattr")).names(&[b"user.key"]),
        Case::new("FLUSH", O::Flush, Shape::new("Flush")).fixed(&patterned::<abi::FlushIn>(15)),
        Case::new("OPENDIR", O::Opendir, Shape::new("Opendir"))
            .fixed(&patterned::<abi::OpenIn>(16)),
        Case::new("READDIR", O::Readdir, Shape::new("Readdir"))
            .fixed(&patterned::<abi::ReadIn>(17)),
        Case::new("FSYNCDIR", O::Fsyncdir, Shape::new("Fsyncdir"))
            .fixed(&patterned::<abi::FsyncIn>(18)),
        Case::new("GETLK", O::Getlk, Shape::new("Getlk")).fixed(&patterned::<abi::LkIn>(19)),
        Case::new("SETLK", O::Setlk, Shape::new("Setlk")).fixed(&patterned::<abi::LkIn>(20)),
        Case::new("SETLKW", O::Setlkw, Shape::new("Setlkw")).fixed(&patterned::<abi::LkIn>(21)),
        Case::new("ACCESS", O::Access, Shape::new("Access")).fixed(&patterned::<abi::AccessIn>(22)),
        Case::new("CREATE", O::Create, Shape::new("Create"))
            .fixed(&patterned::<abi::CreateIn>(23))
            .names(&[b"new-file"]),
        Case::new("INTERRUPT", O::Interrupt, Shape::new("Interrupt"))
            .fixed(&patterned::<abi::InterruptIn>(24)),
        Case::new("BMAP", O::Bmap, Shape::new("Bmap")).fixed(&patterned::<abi::BmapIn>(25)),
        Case::new("DESTROY", O::Destroy, Shape::new("Destroy")),
        Case::new("IOCTL", O::Ioctl, Shape::new("Ioctl"))
            .fixed(&with_size::<abi::IoctlIn>(26, 24, 5))
            .data(b"\0\x01\x02\x03\x04"),
        Case::new("NOTIFY_REPLY", O::NotifyReply, Shape::new("NotifyReply"))
            .fixed(&with_size::<abi::NotifyRetrieveIn>(
                27,
                16,
                data.len() as u32,
            ))
            .data(data),
        Case::new("FALLOCATE", O::Fallocate, Shape::new("Fallocate"))
            .fixed(&patterned::<abi::FallocateIn>(28)),
        Case::new("READDIRPLUS", O::Readdirplus, Shape::new("Readdirplus"))
            .fixed(&patterned::<abi::ReadIn>(29)),
        Case::new("LSEEK", O::Lseek, Shape::new("Lseek")).fixed(&patterned::<abi::LseekIn>(30)),
        Case::new(
            "COPY_FILE_RANGE",
            O::CopyFileRange,
            Shape::new("CopyFileRange"),
        )
        .fixed(&patterned::<abi::CopyFileRangeIn>(31)),
        Case::new(
            "COPY_FILE_RANGE_64",
            O::CopyFileRange64,
            Shape::new("CopyFileRange64"),
        )
        .fixed(&patterned::<abi::CopyFileRangeIn>(32)),
        Case::new("SYNCFS", O::Syncfs, Shape::new("Syncfs")).fixed(&patterned::<abi::SyncfsIn>(33)),
        Case::new("STATX", O::Statx, Shape::new("Statx")).fixed(&patterned::<abi::StatxIn>(34)),
    ];

    // Structs whose older, shorter layouts are still accepted at any minor.
    for (label, opcode, variant, min, fixed) in [
        (
            "RELEASE",
            O::Release,
            "Release",
            16,
            bytes_of(&patterned::<abi::ReleaseIn>(40)),
        ),
        (
            "RELEASEDIR",
            O::Releasedir,
            "Releasedir",
            16,
            bytes_of(&patterned::<abi::ReleaseIn>(41)),
        ),
        (
            "INIT",
            O::Init,
            "Init",
            16,
            bytes_of(&patterned::<abi::InitIn>(42)),
        ),
        (
            "POLL",
            O::Poll,
            "Poll",
            16,
            bytes_of(&patterned::<abi::PollIn>(43)),
        ),
    ] {
        let mut case = Case::new(label, opcode, Shape::new(variant));
        case.expect.arg = Some(fixed.clone());
        case.fixed = fixed;
        // At 7.45 only INIT may still arrive in its old 16-byte form (kernels before 7.36);
        // the older shapes of GETATTR (7.8), RELEASE (7.7) and POLL (7.20) are refused.
        case.floor = if label == "INIT" {
            Floor::Compat(min)
        } else {
            Floor::Strict
        };
        out.push(case);
    }

    // RENAME has no flags; the decoder reports flags 0 and the same newdir.
    let rename = patterned::<abi::RenameIn>(50);
    let mut case = Case::new(
        "RENAME",
        O::Rename,
        Shape::new("Rename").arg(&abi::Rename2In {
            newdir: rename.newdir,
            flags: 0,
            padding: 0,
        }),
    );
    case.fixed = bytes_of(&rename);
    case.names = vec![b"old".to_vec(), b"new-name".to_vec()];
    case.expect.names = case.names.clone();
    out.push(case);

    let rename2 = abi::Rename2In {
        padding: 0,
        ..patterned(51)
    };
    out.push(
        Case::new("RENAME2", O::Rename2, Shape::new("Rename"))
            .fixed(&rename2)
            .names(&[b"old", b"new-name"]),
    );

    // BATCH_FORGET: count records follow the fixed part.
    let records: Vec<u8> = (0..3u8)
        .flat_map(|i| bytes_of(&patterned::<abi::ForgetOne>(60 + i)))
        .collect();
    let mut case = Case::new("BATCH_FORGET", O::BatchForget, Shape::new("BatchForget"));
    case.fixed = bytes_of(&with_size::<abi::BatchForgetIn>(63, 0, 3));
    case.data = records.clone();
    case.expect.data = Some(records);
    out.push(case);

    // TMPFILE: the kernel appends a placeholder name that carries no meaning.
    let mut case = Case::new("TMPFILE", O::Tmpfile, Shape::new("Tmpfile"))
        .fixed(&patterned::<abi::CreateIn>(70));
    case.ignored = b"placeholder\0".to_vec();
    out.push(case);

    // Opcodes the session answers ENOSYS: arguments are not interpreted.
    for (label, opcode, variant, ignored) in [
        (
            "SETUPMAPPING",
            O::Setupmapping,
            "DaxMapping",
            bytes_of(&patterned::<abi::SetupmappingIn>(80)),
        ),
        (
            "REMOVEMAPPING",
            O::Removemapping,
            "DaxMapping",
            [
                bytes_of(&abi::RemovemappingIn { count: 1 }),
                bytes_of(&patterned::<abi::RemovemappingOne>(81)),
            ]
            .concat(),
        ),
        (
            "CUSE_INIT",
            O::CuseInit,
            "CuseInit",
            bytes_of(&patterned::<abi::CuseInitIn>(82)),
        ),
    ] {
        let mut expect = Shape::new(variant);
        if variant == "DaxMapping" {
            expect = expect.code(opcode.as_u32());
        }
        let mut case = Case::new(label, opcode, expect);
        case.ignored = ignored;
        out.push(case);
    }

    out.extend(compat_cases());
    out
}

/// Layouts of connections that negotiated an older minor, and SETXATTR without the extension.
fn compat_cases() -> Vec<Case> {
    use Opcode as O;
    let data = b"old-kernel data";
    let zero_tail = |full: Vec<u8>, sent: usize| {
        let mut full = full;
        full[sent..].fill(0);
        full
    };
    let mut out = Vec::new();

    let write: abi::WriteIn = with_size(90, 16, data.len() as u32);
    let mut case = Case::new("WRITE (7.8)", O::Write, Shape::new("Write")).data(data);
    case.ctx = ctx(8, false);
    case.fixed = bytes_of(&write)[..abi::COMPAT_WRITE_IN_SIZE].to_vec();
    case.expect.arg = Some(zero_tail(bytes_of(&write), abi::COMPAT_WRITE_IN_SIZE));
    out.push(case);

    for (label, opcode, variant) in [
        ("READ (7.8)", O::Read, "Read"),
        ("READDIR (7.8)", O::Readdir, "Readdir"),
        ("READDIRPLUS (7.8)", O::Readdirplus, "Readdirplus"),
    ] {
        let read: abi::ReadIn = patterned(91);
        let mut case = Case::new(label, opcode, Shape::new(variant));
        case.ctx = ctx(8, false);
        case.fixed = bytes_of(&read)[..24].to_vec();
        case.expect.arg = Some(zero_tail(bytes_of(&read), 24));
        out.push(case);
    }

    let mknod: abi::MknodIn = patterned(92);
    let mut case = Case::new("MKNOD (7.11)", O::Mknod, Shape::new("Mknod")).names(&[b"dev"]);
    case.ctx = ctx(11, false);
    case.fixed = bytes_of(&mknod)[..abi::COMPAT_MKNOD_IN_SIZE].to_vec();
    case.expect.arg = Some(zero_tail(bytes_of(&mknod), abi::COMPAT_MKNOD_IN_SIZE));
    out.push(case);

    let create: abi::CreateIn = patterned(93);
    let mut case = Case::new("CREATE (7.11)", O::Create, Shape::new("Create")).names(&[b"f"]);
    case.ctx = ctx(11, false);
    case.fixed = bytes_of(&create)[..8].to_vec();
    case.expect.arg = Some(zero_tail(bytes_of(&create), 8));
    out.push(case);

    let setxattr: abi::SetxattrIn = with_size(94, 0, 3);
    let mut case = Case::new(
        "SETXATTR (no SETXATTR_EXT)",
        O::Setxattr,
        Shape::new("Setxattr"),
    )
    .names(&[b"trusted.x"])
    .data(b"abc");
    case.ctx = ctx(45, false);
    case.fixed = bytes_of(&setxattr)[..abi::COMPAT_SETXATTR_IN_SIZE].to_vec();
    case.expect.arg = Some(zero_tail(bytes_of(&setxattr), abi::COMPAT_SETXATTR_IN_SIZE));
    out.push(case);
    out
}

fn decode_ok<'a>(label: &str, buf: &'a [u8], ctx: &DecodeContext) -> Decoded<'a> {
    match decode(buf, ctx) {
        Ok(d) => d,
        Err(e) => panic!("{label}: expected a decoded request, got {e:?}"),
    }
}

#[test]
fn table_covers_every_opcode() {
    let covered: BTreeSet<u32> = cases().iter().map(|c| c.opcode).collect();
    for opcode in Opcode::ALL {
        assert!(
            covered.contains(&opcode.as_u32()),
            "no table case for {opcode:?}"
        );
    }
}

#[test]
fn well_formed_requests_decode_to_their_fields() {
    for (i, case) in cases().iter().enumerate() {
        let unique = 0x1000 + i as u64;
        let buf = request(case.opcode, unique, &case.args(), &[]);
        let d = decode_ok(&case.label, &buf, &case.ctx);
        assert_eq!(
            d.header.as_bytes(),
            &buf[..HEADER_LEN],
            "{}: header",
            case.label
        );
        assert_eq!(d.header.unique, unique);
        assert!(
            d.ext.is_empty(),
            "{}: no extension area was sent",
            case.label
        );
        assert_eq!(shape_of(&d.op), case.expect, "{}", case.label);
    }
}

/// The error class a cut `m` bytes into the arguments must produce, or `None` when the cut
/// request must still decode.
fn expected_cut_error(case: &Case, m: usize) -> Option<fn(&DecodeError) -> bool> {
    let fixed = case.fixed.len();
    let names = fixed + case.names_len();
    let data = names + case.data.len();
    if m < fixed {
        match case.floor {
            Floor::Compat(min) if m == min => None,
            _ => Some(|e| matches!(e, DecodeError::Truncated { .. })),
        }
    } else if m < names {
        Some(|e| matches!(e, DecodeError::BadName { .. }))
    } else if m < data {
        Some(|e| matches!(e, DecodeError::Inconsistent { .. }))
    } else {
        None
    }
}

#[test]
fn every_truncation_with_len_adjusted_fails_in_its_argument() {
    for case in cases() {
        let full = request(case.opcode, 7, &case.args(), &[]);
        for cut in HEADER_LEN..full.len() {
            let mut buf = full[..cut].to_vec();
            set_len(&mut buf, cut);
            let m = cut - HEADER_LEN;
            let result = decode(&buf, &case.ctx);
            match (expected_cut_error(&case, m), result) {
                (Some(is_expected), Err(e)) => {
                    assert!(
                        is_expected(&e),
                        "{}: cut at {m}: wrong error {e:?}",
                        case.label
                    );
                    assert_eq!(e.errno(), Errno::INVAL, "{}: cut at {m}", case.label);
                }
                (Some(_), Ok(d)) => panic!(
                    "{}: cut at {m} of {} argument bytes decoded: {:?}",
                    case.label,
                    full.len() - HEADER_LEN,
                    d.op
                ),
                (None, Err(e)) => panic!("{}: cut at {m} must decode, got {e:?}", case.label),
                (None, Ok(d)) => {
                    // A compat cut: what was sent is kept, the missing tail reads as zero.
                    let mut expect = case.expect.clone();
                    if let (Some(arg), true) = (expect.arg.as_mut(), m < case.fixed.len()) {
                        arg[m..].fill(0);
                    }
                    assert_eq!(shape_of(&d.op), expect, "{}: cut at {m}", case.label);
                }
            }
        }
    }
}

#[test]
fn every_truncation_with_len_unchanged_is_a_length_mismatch() {
    for case in cases() {
        let full = request(case.opcode, 7, &case.args(), &[]);
        for cut in 0..full.len() {
            let err = decode(&full[..cut], &case.ctx).expect_err(&case.label);
            if cut < HEADER_LEN {
                assert_eq!(err, DecodeError::ShortHeader { got: cut }, "{}", case.label);
            } else {
                assert_eq!(
                    err,
                    DecodeError::LengthMismatch {
                        claimed: full.len() as u32,
                        got: cut
                    },
                    "{}",
                    case.label
                );
            }
            assert_eq!(
                err.errno(),
                Errno::IO,
                "{}: header problems are EIO",
                case.label
            );
        }
        // A buffer longer than the header says is just as wrong.
        let mut long = full.clone();
        long.extend_from_slice(&[0; 8]);
        assert!(matches!(
            decode(&long, &case.ctx),
            Err(DecodeError::LengthMismatch { .. })
        ));
    }
}

#[test]
fn names_without_nul_are_bad_names() {
    for case in cases().into_iter().filter(|c| !c.names.is_empty()) {
        // Every name and every byte after them without a NUL: no name can end.
        let mut args = case.fixed.clone();
        for name in &case.names {
            args.extend_from_slice(name);
        }
        args.extend(case.data.iter().map(|&b| if b == 0 { 1 } else { b }));
        let buf = request(case.opcode, 9, &args, &[]);
        let err = decode(&buf, &case.ctx).expect_err(&case.label);
        assert!(
            matches!(err, DecodeError::BadName { .. }),
            "{}: {err:?}",
            case.label
        );
        assert_eq!(err.errno(), Errno::INVAL);

        // An empty name is malformed too, in each position.
        for empty in 0..case.names.len() {
            let mut args = case.fixed.clone();
            for (i, name) in case.names.iter().enumerate() {
                if i != empty {
                    args.extend_from_slice(name);
                }
                args.push(0);
            }
            args.extend_from_slice(&case.data);
            args.extend_from_slice(&case.ignored);
            let buf = request(case.opcode, 9, &args, &[]);
            let err = decode(&buf, &case.ctx).expect_err(&case.label);
            assert!(
                matches!(err, DecodeError::BadName { .. }),
                "{}: empty name #{empty}: {err:?}",
                case.label
            );
        }
    }
}

#[test]
fn write_size_larger_than_data_is_inconsistent() {
    let data = b"0123456789";
    for size in [data.len() as u32 + 1, 4096, u32::MAX] {
        let arg = abi::WriteIn {
            size,
            ..patterned(1)
        };
        let buf = request(
            Opcode::Write.as_u32(),
            3,
            &[arg.as_bytes(), data].concat(),
            &[],
        );
        let err = decode(&buf, &MODERN).expect_err("oversized WRITE");
        assert!(matches!(err, DecodeError::Inconsistent { .. }), "{err:?}");
        assert_eq!(err.errno(), Errno::INVAL);
    }
    // A size below the data sent yields exactly `size` bytes, never more.
    let arg = abi::WriteIn {
        size: 4,
        ..patterned(1)
    };
    let buf = request(
        Opcode::Write.as_u32(),
        3,
        &[arg.as_bytes(), data].concat(),
        &[],
    );
    match decode_ok("short WRITE", &buf, &MODERN).op {
        Op::Write { data: got, .. } => assert_eq!(got, &data[..4]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sized_payloads_larger_than_sent_are_inconsistent() {
    let ioctl = abi::IoctlIn {
        in_size: 9,
        ..patterned(2)
    };
    let retrieve = abi::NotifyRetrieveIn {
        size: 9,
        ..patterned(3)
    };
    let setxattr = abi::SetxattrIn {
        size: 9,
        ..patterned(4)
    };
    for (opcode, args) in [
        (Opcode::Ioctl, [ioctl.as_bytes(), b"12345678"].concat()),
        (
            Opcode::NotifyReply,
            [retrieve.as_bytes(), b"12345678"].concat(),
        ),
        (
            Opcode::Setxattr,
            [setxattr.as_bytes(), b"user.a\x0012345678"].concat(),
        ),
    ] {
        let buf = request(opcode.as_u32(), 4, &args, &[]);
        let err = decode(&buf, &MODERN).expect_err("oversized payload");
        assert!(
            matches!(err, DecodeError::Inconsistent { .. }),
            "{opcode:?}: {err:?}"
        );
    }
}

#[test]
fn batch_forget_count_must_match_the_records_sent() {
    let records: Vec<u8> = (0..2u8)
        .flat_map(|i| bytes_of(&patterned::<abi::ForgetOne>(i)))
        .collect();
    for count in [3, 1 << 20, u32::MAX] {
        let arg = abi::BatchForgetIn { count, dummy: 0 };
        let buf = request(
            Opcode::BatchForget.as_u32(),
            5,
            &[arg.as_bytes(), &records].concat(),
            &[],
        );
        let err = decode(&buf, &MODERN).expect_err("huge count");
        assert!(
            matches!(err, DecodeError::Inconsistent { .. }),
            "{count}: {err:?}"
        );
        assert_eq!(err.errno(), Errno::INVAL);
    }
    // A count below the records sent yields exactly `count` records.
    let arg = abi::BatchForgetIn { count: 1, dummy: 0 };
    let buf = request(
        Opcode::BatchForget.as_u32(),
        5,
        &[arg.as_bytes(), &records].concat(),
        &[],
    );
    match decode_ok("BATCH_FORGET 1", &buf, &MODERN).op {
        Op::BatchForget { forgets } => {
            let got: Vec<_> = forgets.iter().collect();
            assert_eq!(got, vec![patterned::<abi::ForgetOne>(0)]);
        }
        other => panic!("{other:?}"),
    }
    // count 0 is an empty list.
    let arg = abi::BatchForgetIn { count: 0, dummy: 0 };
    let buf = request(Opcode::BatchForget.as_u32(), 5, arg.as_bytes(), &[]);
    match decode_ok("BATCH_FORGET 0", &buf, &MODERN).op {
        Op::BatchForget { forgets } => {
            assert!(forgets.is_empty() && forgets.iter().next().is_none())
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn extension_area_larger_than_the_body_is_bad_extension() {
    for (opcode, args) in [
        (Opcode::Lookup, b"a\0".to_vec()),
        (Opcode::Statfs, Vec::new()),
        (
            Opcode::Create,
            [bytes_of(&patterned::<abi::CreateIn>(1)), b"f\0".to_vec()].concat(),
        ),
    ] {
        for extlen in [args.len() / 8 + 1, 1000, u16::MAX as usize] {
            let mut buf = request(opcode.as_u32(), 6, &args, &[]);
            buf[36..38].copy_from_slice(&(extlen as u16).to_ne_bytes());
            let err = decode(&buf, &MODERN).expect_err("oversized extension area");
            assert_eq!(
                err,
                DecodeError::BadExtension {
                    ext: extlen * 8,
                    len: buf.len()
                },
                "{opcode:?}"
            );
            assert_eq!(err.errno(), Errno::INVAL);
        }
    }
}

#[test]
fn extension_area_is_split_off_the_arguments() {
    let ext: Vec<u8> = (1..=24).collect();
    let buf = request(Opcode::Lookup.as_u32(), 8, b"name\0", &ext);
    let d = decode_ok("LOOKUP+ext", &buf, &MODERN);
    assert_eq!(d.ext, &ext[..]);
    assert_eq!(shape_of(&d.op), Shape::new("Lookup").name(b"name"));

    let create = patterned::<abi::CreateIn>(5);
    let args = [create.as_bytes(), b"file\0"].concat();
    let buf = request(Opcode::Create.as_u32(), 8, &args, &ext[..16]);
    let d = decode_ok("CREATE+ext", &buf, &MODERN);
    assert_eq!(d.ext, &ext[..16]);
    assert_eq!(
        shape_of(&d.op),
        Shape::new("Create").arg(&create).name(b"file")
    );

    // An extension area that fits but leaves the arguments short is an argument error.
    let buf = request(Opcode::Lookup.as_u32(), 8, b"", &ext[..8]);
    let err = decode(&buf, &MODERN).expect_err("ext eats the name");
    assert!(matches!(err, DecodeError::BadName { .. }), "{err:?}");
}

#[test]
fn unknown_opcodes_decode_as_unknown() {
    for opcode in [0, 7, 19, 54, 55, 4095, 4097, 9999, u32::MAX] {
        for args in [&b""[..], b"anything\0at all"] {
            let buf = request(opcode, 10, args, &[]);
            let d = decode_ok("unknown", &buf, &MODERN);
            assert_eq!(shape_of(&d.op), Shape::new("Unknown").code(opcode));
        }
    }
}

#[test]
fn setxattr_layout_follows_the_negotiated_extension() {
    let value = b"\x00\x01value";
    let full = abi::SetxattrIn {
        size: value.len() as u32,
        flags: 2,
        setxattr_flags: 1,
        padding: 0,
    };
    let name = b"user.acl\0";

    // With SETXATTR_EXT: the 16-byte struct, setxattr_flags included.
    let args = [full.as_bytes(), name, value].concat();
    let buf = request(Opcode::Setxattr.as_u32(), 11, &args, &[]);
    match decode_ok("SETXATTR ext", &buf, &ctx(45, true)).op {
        Op::Setxattr {
            arg,
            name,
            value: v,
        } => {
            assert_eq!(arg, full);
            assert_eq!(name.as_bytes(), b"user.acl");
            assert_eq!(v, value);
        }
        other => panic!("{other:?}"),
    }

    // Without it: the 8-byte struct; setxattr_flags reads as 0.
    let args = [&full.as_bytes()[..8], name, value].concat();
    let buf = request(Opcode::Setxattr.as_u32(), 12, &args, &[]);
    match decode_ok("SETXATTR compat", &buf, &ctx(45, false)).op {
        Op::Setxattr {
            arg,
            name,
            value: v,
        } => {
            assert_eq!(
                arg,
                abi::SetxattrIn {
                    setxattr_flags: 0,
                    ..full
                }
            );
            assert_eq!(name.as_bytes(), b"user.acl");
            assert_eq!(v, value);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn old_layouts_are_rejected_on_a_current_connection() {
    // A 24-byte READ is a pre-7.9 layout: on a 7.45 connection it is truncated.
    let read = bytes_of(&patterned::<abi::ReadIn>(1));
    let buf = request(Opcode::Read.as_u32(), 13, &read[..24], &[]);
    assert!(matches!(
        decode(&buf, &MODERN),
        Err(DecodeError::Truncated { .. })
    ));
    // An 8-byte MKNOD followed by a short name cannot fill the 16-byte struct.
    let mknod = bytes_of(&patterned::<abi::MknodIn>(2));
    let buf = request(
        Opcode::Mknod.as_u32(),
        14,
        &[&mknod[..8], b"x\0"].concat(),
        &[],
    );
    assert!(matches!(
        decode(&buf, &MODERN),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn errno_mapping_separates_header_and_argument_problems() {
    let header = [
        DecodeError::ShortHeader { got: 3 },
        DecodeError::LengthMismatch { claimed: 1, got: 2 },
    ];
    let args = [
        DecodeError::BadExtension { ext: 8, len: 40 },
        DecodeError::Truncated {
            opcode: "X",
            what: "y",
        },
        DecodeError::BadName {
            opcode: "X",
            what: "y",
        },
        DecodeError::Inconsistent {
            opcode: "X",
            what: "y",
        },
    ];
    for e in header {
        assert_eq!(e.errno(), Errno::IO, "{e}");
    }
    for e in args {
        assert_eq!(e.errno(), Errno::INVAL, "{e}");
    }
}

#[test]
fn opcode_names_are_the_kernels() {
    assert_eq!(fusekit::op::opcode_name(Opcode::Lookup), "LOOKUP");
    assert_eq!(
        fusekit::op::opcode_name(Opcode::CopyFileRange64),
        "COPY_FILE_RANGE_64"
    );
    let names: BTreeSet<&str> = Opcode::ALL
        .iter()
        .map(|&o| fusekit::op::opcode_name(o))
        .collect();
    assert_eq!(names.len(), Opcode::ALL.len(), "opcode names are distinct");
}
