//! Property tests of the request decoder: arbitrary bytes never panic it; bytes behind a valid
//! header only ever fail with an argument error (EINVAL); and generated well-formed requests
//! of several opcodes decode back to exactly the fields they were built from.

use std::os::unix::ffi::OsStrExt;

use fusekit::op::{decode, DecodeContext, DecodeError, Op};
use fusekit::Errno;
use fusekit_abi::{self as abi, Opcode};
use proptest::prelude::*;
use zerocopy::IntoBytes;

const HEADER_LEN: usize = core::mem::size_of::<abi::InHeader>();

fn contexts() -> impl Strategy<Value = DecodeContext> {
    (
        prop_oneof![Just(45u32), Just(12u32), 0u32..60],
        any::<bool>(),
    )
        .prop_map(|(minor, setxattr_ext)| DecodeContext {
            minor,
            setxattr_ext,
        })
}

/// A request with a consistent header around `args` and an extension area of `ext` bytes.
fn request(opcode: u32, unique: u64, nodeid: u64, args: &[u8], ext: &[u8]) -> Vec<u8> {
    let header = abi::InHeader {
        len: (HEADER_LEN + args.len() + ext.len()) as u32,
        opcode,
        unique,
        nodeid,
        uid: 0,
        gid: 0,
        pid: 1,
        total_extlen: (ext.len() / 8) as u16,
        padding: 0,
    };
    [header.as_bytes(), args, ext].concat()
}

/// A non-empty name without NUL bytes (at most 255 bytes, like a kernel name).
fn name() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, 1..=255)
}

fn data(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..=max)
}

fn ext_area() -> impl Strategy<Value = Vec<u8>> {
    (0usize..4).prop_flat_map(|units| proptest::collection::vec(any::<u8>(), units * 8))
}

proptest! {
    /// (a) Any byte string at all: decode returns, and an `Ok` is self-consistent.
    #[test]
    fn arbitrary_bytes_never_panic(
        buf in proptest::collection::vec(any::<u8>(), 0..600),
        ctx in contexts(),
    ) {
        if let Ok(d) = decode(&buf, &ctx) {
            prop_assert_eq!(d.header.len as usize, buf.len());
            prop_assert_eq!(d.ext.len(), d.header.total_extlen as usize * 8);
        }
    }

    /// (b) A valid header (len = buffer length, known-range opcode) over arbitrary arguments:
    /// decode returns, never blames the header, and answers EINVAL when it fails.
    #[test]
    fn arbitrary_arguments_behind_a_valid_header_never_panic(
        opcode in prop_oneof![0u32..60, Just(4096u32)],
        unique in any::<u64>(),
        nodeid in any::<u64>(),
        body in proptest::collection::vec(any::<u8>(), 0..400),
        extlen in prop_oneof![4 => 0u16..4, 1 => any::<u16>()],
        ctx in contexts(),
    ) {
        let mut buf = request(opcode, unique, nodeid, &body, &[]);
        buf[36..38].copy_from_slice(&extlen.to_ne_bytes());
        match decode(&buf, &ctx) {
            Ok(d) => {
                prop_assert_eq!(d.header.unique, unique);
                prop_assert_eq!(d.header.nodeid, nodeid);
                prop_assert_eq!(d.ext, &buf[buf.len() - extlen as usize * 8..]);
                if Opcode::from_u32(opcode).is_none() {
                    let unknown = matches!(d.op, Op::Unknown { opcode: o } if o == opcode);
                    prop_assert!(unknown, "unknown opcode {} decoded as {:?}", opcode, d.op);
                }
            }
            Err(e) => {
                prop_assert!(
                    !matches!(e, DecodeError::ShortHeader { .. } | DecodeError::LengthMismatch { .. }),
                    "valid header blamed: {:?}", e
                );
                prop_assert_eq!(e.errno(), Errno::INVAL);
                if extlen as usize * 8 > body.len() {
                    let bad_ext = matches!(e, DecodeError::BadExtension { .. });
                    prop_assert!(bad_ext, "oversized extension area reported as {:?}", e);
                }
            }
        }
    }

    /// (c) LOOKUP / UNLINK / RMDIR / REMOVEXATTR: the name comes back without its NUL.
    #[test]
    fn name_requests_round_trip(
        opcode in prop_oneof![
            Just(Opcode::Lookup), Just(Opcode::Unlink), Just(Opcode::Rmdir), Just(Opcode::Removexattr)
        ],
        unique in any::<u64>(),
        n in name(),
        ext in ext_area(),
    ) {
        let args = [&n[..], b"\0"].concat();
        let buf = request(opcode.as_u32(), unique, 1, &args, &ext);
        let d = decode(&buf, &DecodeContext::default()).expect("well-formed");
        prop_assert_eq!(d.ext, &ext[..]);
        let got = match d.op {
            Op::Lookup { name } | Op::Unlink { name } | Op::Rmdir { name } | Op::Removexattr { name } => name,
            other => return Err(TestCaseError::fail(format!("wrong variant {other:?}"))),
        };
        prop_assert_eq!(got.as_bytes(), &n[..]);
    }

    /// (c) MKDIR / MKNOD / CREATE: fixed struct then name.
    #[test]
    fn create_like_requests_round_trip(
        mode in any::<u32>(), umask in any::<u32>(), rdev in any::<u32>(), flags in any::<u32>(),
        n in name(),
        ext in ext_area(),
    ) {
        let tail = [&n[..], b"\0"].concat();
        let ctx = DecodeContext::default();

        let mkdir = abi::MkdirIn { mode, umask };
        let buf = request(Opcode::Mkdir.as_u32(), 2, 1, &[mkdir.as_bytes(), &tail].concat(), &ext);
        match decode(&buf, &ctx).expect("MKDIR").op {
            Op::Mkdir { arg, name } => {
                prop_assert_eq!(arg, mkdir);
                prop_assert_eq!(name.as_bytes(), &n[..]);
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }

        let mknod = abi::MknodIn { mode, rdev, umask, padding: 0 };
        let buf = request(Opcode::Mknod.as_u32(), 3, 1, &[mknod.as_bytes(), &tail].concat(), &ext);
        match decode(&buf, &ctx).expect("MKNOD").op {
            Op::Mknod { arg, name } => {
                prop_assert_eq!(arg, mknod);
                prop_assert_eq!(name.as_bytes(), &n[..]);
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }

        let create = abi::CreateIn { flags, mode, umask, open_flags: rdev };
        let buf = request(Opcode::Create.as_u32(), 4, 1, &[create.as_bytes(), &tail].concat(), &ext);
        let d = decode(&buf, &ctx).expect("CREATE");
        prop_assert_eq!(d.ext, &ext[..]);
        match d.op {
            Op::Create { arg, name } => {
                prop_assert_eq!(arg, create);
                prop_assert_eq!(name.as_bytes(), &n[..]);
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }

    /// (c) RENAME2 / SYMLINK / LINK: two names, or a struct and a name.
    #[test]
    fn two_name_requests_round_trip(
        newdir in any::<u64>(), flags in any::<u32>(), a in name(), b in name(),
    ) {
        let names = [&a[..], b"\0", &b[..], b"\0"].concat();
        let ctx = DecodeContext::default();

        let rename = abi::Rename2In { newdir, flags, padding: 0 };
        let buf = request(Opcode::Rename2.as_u32(), 5, 1, &[rename.as_bytes(), &names].concat(), &[]);
        match decode(&buf, &ctx).expect("RENAME2").op {
            Op::Rename { newdir: d, flags: f, name, newname } => {
                prop_assert_eq!((d, f), (newdir, flags));
                prop_assert_eq!(name.as_bytes(), &a[..]);
                prop_assert_eq!(newname.as_bytes(), &b[..]);
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }

        let buf = request(Opcode::Symlink.as_u32(), 6, 1, &names, &[]);
        match decode(&buf, &ctx).expect("SYMLINK").op {
            Op::Symlink { name, target } => {
                prop_assert_eq!(name.as_bytes(), &a[..]);
                prop_assert_eq!(target.as_bytes(), &b[..]);
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }

        let link = abi::LinkIn { oldnodeid: newdir };
        let buf = request(Opcode::Link.as_u32(), 7, 1, &[link.as_bytes(), &a, b"\0"].concat(), &[]);
        match decode(&buf, &ctx).expect("LINK").op {
            Op::Link { arg, newname } => {
                prop_assert_eq!(arg, link);
                prop_assert_eq!(newname.as_bytes(), &a[..]);
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }

    /// (c) WRITE: the data slice is exactly the bytes sent, at the current and the 7.8 layout.
    #[test]
    fn write_round_trips(
        fh in any::<u64>(), offset in any::<u64>(), write_flags in any::<u32>(),
        lock_owner in any::<u64>(), flags in any::<u32>(),
        payload in data(2048),
        old in any::<bool>(),
    ) {
        let arg = abi::WriteIn {
            fh, offset, size: payload.len() as u32, write_flags, lock_owner, flags, padding: 0,
        };
        let (sent, expect, ctx) = if old {
            let expect = abi::WriteIn { lock_owner: 0, flags: 0, ..arg };
            (&arg.as_bytes()[..abi::COMPAT_WRITE_IN_SIZE], expect, DecodeContext { minor: 8, setxattr_ext: false })
        } else {
            (arg.as_bytes(), arg, DecodeContext::default())
        };
        let buf = request(Opcode::Write.as_u32(), 8, 2, &[sent, &payload].concat(), &[]);
        match decode(&buf, &ctx).expect("WRITE").op {
            Op::Write { arg: got, data } => {
                prop_assert_eq!(got, expect);
                prop_assert_eq!(data, &payload[..]);
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }

    /// (c) READ / READDIR / READDIRPLUS: the fixed struct comes back unchanged.
    #[test]
    fn read_like_requests_round_trip(
        fh in any::<u64>(), offset in any::<u64>(), size in any::<u32>(),
        read_flags in any::<u32>(), lock_owner in any::<u64>(), flags in any::<u32>(),
    ) {
        let arg = abi::ReadIn { fh, offset, size, read_flags, lock_owner, flags, padding: 0 };
        for opcode in [Opcode::Read, Opcode::Readdir, Opcode::Readdirplus] {
            let buf = request(opcode.as_u32(), 9, 2, arg.as_bytes(), &[]);
            let got = match decode(&buf, &DecodeContext::default()).expect("READ").op {
                Op::Read { arg } | Op::Readdir { arg } | Op::Readdirplus { arg } => arg,
                other => return Err(TestCaseError::fail(format!("{other:?}"))),
            };
            prop_assert_eq!(got, arg);
        }
    }

    /// (c) SETXATTR with and without FUSE_SETXATTR_EXT: name and value (which may hold NULs).
    #[test]
    fn setxattr_round_trips(
        flags in any::<u32>(), setxattr_flags in any::<u32>(),
        n in name(), value in data(512), ext_layout in any::<bool>(),
    ) {
        let arg = abi::SetxattrIn { size: value.len() as u32, flags, setxattr_flags, padding: 0 };
        let (sent, expect) = if ext_layout {
            (arg.as_bytes(), arg)
        } else {
            (&arg.as_bytes()[..abi::COMPAT_SETXATTR_IN_SIZE], abi::SetxattrIn { setxattr_flags: 0, ..arg })
        };
        let ctx = DecodeContext { minor: 45, setxattr_ext: ext_layout };
        let args = [sent, &n, b"\0", &value].concat();
        let buf = request(Opcode::Setxattr.as_u32(), 10, 2, &args, &[]);
        match decode(&buf, &ctx).expect("SETXATTR").op {
            Op::Setxattr { arg: got, name, value: v } => {
                prop_assert_eq!(got, expect);
                prop_assert_eq!(name.as_bytes(), &n[..]);
                prop_assert_eq!(v, &value[..]);
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }

    /// (c) BATCH_FORGET: every record, in order.
    #[test]
    fn batch_forget_round_trips(records in proptest::collection::vec((any::<u64>(), any::<u64>()), 0..100)) {
        let head = abi::BatchForgetIn { count: records.len() as u32, dummy: 0 };
        let mut args = head.as_bytes().to_vec();
        for &(nodeid, nlookup) in &records {
            args.extend_from_slice(abi::ForgetOne { nodeid, nlookup }.as_bytes());
        }
        let buf = request(Opcode::BatchForget.as_u32(), 11, 0, &args, &[]);
        match decode(&buf, &DecodeContext::default()).expect("BATCH_FORGET").op {
            Op::BatchForget { forgets } => {
                prop_assert_eq!(forgets.len(), records.len());
                let got: Vec<(u64, u64)> = forgets.iter().map(|f| (f.nodeid, f.nlookup)).collect();
                prop_assert_eq!(got, records);
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }
}
