//! Opcode and notify-code numbers checked against a table typed in from the kernel
//! header (`enum fuse_opcode`, `enum fuse_notify_code`, protocol 7.45), InitFlags bit
//! positions and half-splitting, and the device ioctl numbers recomputed from the
//! kernel's `_IOC` formula.

use fusekit_abi::*;

/// `enum fuse_opcode` of protocol 7.45, as in the header.
const HEADER_OPCODES: &[(u32, Opcode)] = &[
    (1, Opcode::Lookup),
    (2, Opcode::Forget),
    (3, Opcode::Getattr),
    (4, Opcode::Setattr),
    (5, Opcode::Readlink),
    (6, Opcode::Symlink),
    (8, Opcode::Mknod),
    (9, Opcode::Mkdir),
    (10, Opcode::Unlink),
    (11, Opcode::Rmdir),
    (12, Opcode::Rename),
    (13, Opcode::Link),
    (14, Opcode::Open),
    (15, Opcode::Read),
    (16, Opcode::Write),
    (17, Opcode::Statfs),
    (18, Opcode::Release),
    (20, Opcode::Fsync),
    (21, Opcode::Setxattr),
    (22, Opcode::Getxattr),
    (23, Opcode::Listxattr),
    (24, Opcode::Removexattr),
    (25, Opcode::Flush),
    (26, Opcode::Init),
    (27, Opcode::Opendir),
    (28, Opcode::Readdir),
    (29, Opcode::Releasedir),
    (30, Opcode::Fsyncdir),
    (31, Opcode::Getlk),
    (32, Opcode::Setlk),
    (33, Opcode::Setlkw),
    (34, Opcode::Access),
    (35, Opcode::Create),
    (36, Opcode::Interrupt),
    (37, Opcode::Bmap),
    (38, Opcode::Destroy),
    (39, Opcode::Ioctl),
    (40, Opcode::Poll),
    (41, Opcode::NotifyReply),
    (42, Opcode::BatchForget),
    (43, Opcode::Fallocate),
    (44, Opcode::Readdirplus),
    (45, Opcode::Rename2),
    (46, Opcode::Lseek),
    (47, Opcode::CopyFileRange),
    (48, Opcode::Setupmapping),
    (49, Opcode::Removemapping),
    (50, Opcode::Syncfs),
    (51, Opcode::Tmpfile),
    (52, Opcode::Statx),
    (53, Opcode::CopyFileRange64),
    (4096, Opcode::CuseInit),
];

fn header_opcode(n: u32) -> Option<Opcode> {
    HEADER_OPCODES
        .iter()
        .find(|(k, _)| *k == n)
        .map(|(_, op)| *op)
}

#[test]
fn opcode_numbers_match_the_header() {
    for n in (0..=100).chain([
        4095,
        4096,
        4097,
        CUSE_INIT_BSWAP_RESERVED,
        FUSE_INIT_BSWAP_RESERVED,
        u32::MAX,
    ]) {
        match header_opcode(n) {
            Some(op) => {
                assert_eq!(Opcode::try_from(n), Ok(op), "opcode {n}");
                assert_eq!(op.as_u32(), n);
                assert_eq!(u32::from(op), n);
                assert_eq!(op as u32, n);
            }
            None => assert_eq!(Opcode::try_from(n), Err(UnknownOpcode(n)), "opcode {n}"),
        }
    }
}

#[test]
fn opcode_all_is_complete_and_sorted() {
    assert_eq!(Opcode::ALL.len(), HEADER_OPCODES.len());
    for (op, (n, want)) in Opcode::ALL.iter().zip(HEADER_OPCODES) {
        assert_eq!(op, want);
        assert_eq!(op.as_u32(), *n);
    }
}

#[test]
fn opcode_names_and_replies_follow_the_header() {
    for &(_, op) in HEADER_OPCODES {
        // The kernel's enum name without `FUSE_`/`CUSE_`, upper case with underscores.
        let want = format!("{op:?}")
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let sep = (i > 0 && (c.is_ascii_uppercase() || c.is_ascii_digit())).then_some('_');
                sep.into_iter()
                    .chain(std::iter::once(c.to_ascii_uppercase()))
            })
            .collect::<std::string::String>()
            .replace("_6_4", "_64")
            .replace("_2", "2");
        assert_eq!(op.name(), want, "{op:?}");
        let silent = matches!(
            op,
            Opcode::Forget | Opcode::BatchForget | Opcode::Interrupt | Opcode::NotifyReply
        );
        assert_eq!(op.expects_reply(), !silent, "{op:?}");
        assert_eq!(Opcode::expects_reply_to(op.as_u32()), !silent, "{op:?}");
    }
    // Unknown opcodes are answered (ENOSYS), so they expect a reply.
    assert!(Opcode::expects_reply_to(7));
    assert!(Opcode::expects_reply_to(u32::MAX));
}

#[test]
fn unknown_opcode_displays_its_number() {
    use std::string::ToString;
    assert_eq!(UnknownOpcode(7).to_string(), "unknown FUSE opcode 7");
    assert_eq!(
        UnknownNotifyCode(0).to_string(),
        "unknown FUSE notify code 0"
    );
}

#[test]
fn notify_codes_match_the_header() {
    let header = [
        (1, NotifyCode::Poll),
        (2, NotifyCode::InvalInode),
        (3, NotifyCode::InvalEntry),
        (4, NotifyCode::Store),
        (5, NotifyCode::Retrieve),
        (6, NotifyCode::Delete),
        (7, NotifyCode::Resend),
        (8, NotifyCode::IncEpoch),
        (9, NotifyCode::Prune),
    ];
    for n in 0..=64u32 {
        match header.iter().find(|(k, _)| *k == n) {
            Some((_, code)) => {
                assert_eq!(NotifyCode::try_from(n), Ok(*code));
                assert_eq!(code.as_u32(), n);
                assert_eq!(code.as_error(), n as i32);
            }
            None => assert_eq!(NotifyCode::try_from(n), Err(UnknownNotifyCode(n))),
        }
    }
    assert_eq!(NotifyCode::ALL.len(), header.len());
}

#[test]
fn uring_commands() {
    assert_eq!(UringCmd::try_from(1), Ok(UringCmd::Register));
    assert_eq!(UringCmd::try_from(2), Ok(UringCmd::CommitAndFetch));
    assert_eq!(
        UringCmd::try_from(URING_CMD_INVALID),
        Err(UnknownUringCmd(0))
    );
    assert_eq!(UringCmd::try_from(3), Err(UnknownUringCmd(3)));
    assert_eq!(UringCmd::CommitAndFetch.as_u32(), 2);
}

#[test]
fn init_flag_bit_positions() {
    let bits: &[(InitFlags, u32)] = &[
        (InitFlags::ASYNC_READ, 0),
        (InitFlags::POSIX_LOCKS, 1),
        (InitFlags::FILE_OPS, 2),
        (InitFlags::ATOMIC_O_TRUNC, 3),
        (InitFlags::EXPORT_SUPPORT, 4),
        (InitFlags::BIG_WRITES, 5),
        (InitFlags::DONT_MASK, 6),
        (InitFlags::SPLICE_WRITE, 7),
        (InitFlags::SPLICE_MOVE, 8),
        (InitFlags::SPLICE_READ, 9),
        (InitFlags::FLOCK_LOCKS, 10),
        (InitFlags::HAS_IOCTL_DIR, 11),
        (InitFlags::AUTO_INVAL_DATA, 12),
        (InitFlags::DO_READDIRPLUS, 13),
        (InitFlags::READDIRPLUS_AUTO, 14),
        (InitFlags::ASYNC_DIO, 15),
        (InitFlags::WRITEBACK_CACHE, 16),
        (InitFlags::NO_OPEN_SUPPORT, 17),
        (InitFlags::PARALLEL_DIROPS, 18),
        (InitFlags::HANDLE_KILLPRIV, 19),
        (InitFlags::POSIX_ACL, 20),
        (InitFlags::ABORT_ERROR, 21),
        (InitFlags::MAX_PAGES, 22),
        (InitFlags::CACHE_SYMLINKS, 23),
        (InitFlags::NO_OPENDIR_SUPPORT, 24),
        (InitFlags::EXPLICIT_INVAL_DATA, 25),
        (InitFlags::MAP_ALIGNMENT, 26),
        (InitFlags::SUBMOUNTS, 27),
        (InitFlags::HANDLE_KILLPRIV_V2, 28),
        (InitFlags::SETXATTR_EXT, 29),
        (InitFlags::INIT_EXT, 30),
        (InitFlags::INIT_RESERVED, 31),
        (InitFlags::SECURITY_CTX, 32),
        (InitFlags::HAS_INODE_DAX, 33),
        (InitFlags::CREATE_SUPP_GROUP, 34),
        (InitFlags::HAS_EXPIRE_ONLY, 35),
        (InitFlags::DIRECT_IO_ALLOW_MMAP, 36),
        (InitFlags::PASSTHROUGH, 37),
        (InitFlags::NO_EXPORT_SUPPORT, 38),
        (InitFlags::HAS_RESEND, 39),
        (InitFlags::ALLOW_IDMAP, 40),
        (InitFlags::OVER_IO_URING, 41),
        (InitFlags::REQUEST_TIMEOUT, 42),
    ];
    for (flag, bit) in bits {
        assert_eq!(flag.bits(), 1u64 << bit, "{flag:?}");
    }
    assert_eq!(InitFlags::DIRECT_IO_RELAX, InitFlags::DIRECT_IO_ALLOW_MMAP);
    // Every named bit is in the table above: 43 consecutive bits.
    assert_eq!(InitFlags::all().bits(), (1u64 << 43) - 1);
}

#[test]
fn init_flags_split_and_join() {
    let f = InitFlags::ASYNC_READ
        | InitFlags::INIT_EXT
        | InitFlags::PASSTHROUGH
        | InitFlags::OVER_IO_URING;
    let (lo, hi) = f.split();
    assert_eq!(lo, 1 | (1 << 30));
    assert_eq!(hi, (1 << 5) | (1 << 9));
    assert_eq!(InitFlags::from_halves(lo, hi), f);

    // Unknown bits survive both ways.
    for (lo, hi) in [
        (0, 0),
        (u32::MAX, u32::MAX),
        (0xdead_beef, 0x8000_0001),
        (1, 1 << 31),
    ] {
        let joined = InitFlags::from_halves(lo, hi);
        assert_eq!(joined.bits(), (u64::from(hi) << 32) | u64::from(lo));
        assert_eq!(joined.split(), (lo, hi));
    }
    assert_eq!(InitFlags::all().split(), (u32::MAX, (1 << 11) - 1));
}

#[test]
fn small_flag_groups() {
    assert_eq!(SetattrValid::all().bits(), (1 << 12) - 1);
    assert_eq!(SetattrValid::KILL_SUIDGID.bits(), 1 << 11);
    assert_eq!(OpenOutFlags::all().bits(), 0xff);
    assert_eq!(OpenOutFlags::PASSTHROUGH.bits(), 1 << 7);
    assert_eq!(OpenOutFlags::PARALLEL_DIRECT_WRITES.bits(), 1 << 6);
    assert_eq!(OpenInFlags::KILL_SUIDGID.bits(), 1);
    assert_eq!(ReleaseFlags::all().bits(), 0b11);
    assert_eq!(GetattrFlags::FH.bits(), 1);
    assert_eq!(LkFlags::FLOCK.bits(), 1);
    assert_eq!(WriteFlags::all().bits(), 0b111);
    assert_eq!(WriteFlags::KILL_PRIV, WriteFlags::KILL_SUIDGID);
    assert_eq!(ReadFlags::LOCKOWNER.bits(), 1 << 1);
    assert_eq!(IoctlFlags::all().bits(), 0b11_1111);
    assert_eq!(IoctlFlags::_32BIT.bits(), 1 << 3);
    assert_eq!(PollFlags::SCHEDULE_NOTIFY.bits(), 1);
    assert_eq!(FsyncFlags::FDATASYNC.bits(), 1);
    assert_eq!(AttrFlags::all().bits(), 0b11);
    assert_eq!(SetxattrFlags::ACL_KILL_SGID.bits(), 1);
    assert_eq!(NotifyInvalEntryFlags::EXPIRE_ONLY.bits(), 1);
    assert_eq!(CuseInitFlags::UNRESTRICTED_IOCTL.bits(), 1);
    assert_eq!(SetupmappingFlags::all().bits(), 0b11);
}

/// The kernel's generic `_IOC` encoding (x86, arm, aarch64, riscv, s390, loongarch):
/// nr in bits 0..8, type 8..16, size 16..30, direction 30..32 (write = 1, read = 2).
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64",
    target_arch = "s390x",
    target_arch = "loongarch64"
))]
#[test]
fn device_ioctl_numbers() {
    const IOC_NONE: u32 = 0;
    const IOC_WRITE: u32 = 1;
    const IOC_READ: u32 = 2;
    fn ioc(dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
        (dir << 30) | ((size as u32) << 16) | (ty << 8) | nr
    }
    let u32_size = core::mem::size_of::<u32>();
    assert_eq!(DEV_IOC_MAGIC, 229);
    assert_eq!(DEV_IOC_CLONE, ioc(IOC_READ, 229, 0, u32_size));
    assert_eq!(DEV_IOC_BACKING_OPEN, ioc(IOC_WRITE, 229, 1, 16));
    assert_eq!(DEV_IOC_BACKING_CLOSE, ioc(IOC_WRITE, 229, 2, u32_size));
    assert_eq!(DEV_IOC_SYNC_INIT, ioc(IOC_NONE, 229, 3, 0));
    // The values measured on Linux 6.18/x86_64 (see shared/KERNEL-NOTES.md).
    assert_eq!(DEV_IOC_CLONE, 0x8004_E500);
    assert_eq!(DEV_IOC_BACKING_OPEN, 0x4010_E501);
    assert_eq!(DEV_IOC_BACKING_CLOSE, 0x4004_E502);
    assert_eq!(DEV_IOC_SYNC_INIT, 0x0000_E503);
    assert_eq!(ioctl::DEV_IOC_CLONE, DEV_IOC_CLONE);
}
