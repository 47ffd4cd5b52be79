//! Size, alignment and field offsets of every wire struct, checked against numbers
//! worked out by hand from the kernel's `include/uapi/linux/fuse.h` at protocol 7.45
//! (u64 = 8, u32 = 4, u16 = 2, natural C alignment, x86_64/aarch64 rules).
//!
//! Each table lists every field. The macro also checks that the listed fields' sizes
//! add up to the struct size, so a field missing from a table (or implicit padding in
//! a struct) fails the test.

use core::mem::{align_of, offset_of, size_of};
use fusekit_abi::*;

/// Size of the field a projection closure points at.
fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

macro_rules! layout {
    ($ty:ty, size $size:expr, align $align:expr, { $($field:ident : $off:expr),+ $(,)? }) => {{
        assert_eq!(size_of::<$ty>(), $size, "size_of::<{}>()", stringify!($ty));
        assert_eq!(align_of::<$ty>(), $align, "align_of::<{}>()", stringify!($ty));
        let mut covered = 0usize;
        $(
            assert_eq!(
                offset_of!($ty, $field),
                $off,
                "offset of {}::{}",
                stringify!($ty),
                stringify!($field)
            );
            covered += field_size(|s: &$ty| &s.$field);
        )+
        assert_eq!(covered, $size, "fields of {} do not cover the struct", stringify!($ty));
    }};
}

#[test]
fn headers() {
    layout!(InHeader, size 40, align 8, {
        len: 0, opcode: 4, unique: 8, nodeid: 16, uid: 24, gid: 28, pid: 32,
        total_extlen: 36, padding: 38,
    });
    layout!(OutHeader, size 16, align 8, { len: 0, error: 4, unique: 8 });
    layout!(InterruptIn, size 8, align 8, { unique: 0 });
}

#[test]
fn init() {
    layout!(InitIn, size 64, align 4, {
        major: 0, minor: 4, max_readahead: 8, flags: 12, flags2: 16, unused: 20,
    });
    layout!(InitOut, size 64, align 4, {
        major: 0, minor: 4, max_readahead: 8, flags: 12, max_background: 16,
        congestion_threshold: 18, max_write: 20, time_gran: 24, max_pages: 28,
        map_alignment: 30, flags2: 32, max_stack_depth: 36, request_timeout: 40, unused: 42,
    });
    layout!(CuseInitIn, size 16, align 4, { major: 0, minor: 4, unused: 8, flags: 12 });
    layout!(CuseInitOut, size 72, align 4, {
        major: 0, minor: 4, unused: 8, flags: 12, max_read: 16, max_write: 20,
        dev_major: 24, dev_minor: 28, spare: 32,
    });
}

#[test]
fn attributes() {
    layout!(Attr, size 88, align 8, {
        ino: 0, size: 8, blocks: 16, atime: 24, mtime: 32, ctime: 40, atimensec: 48,
        mtimensec: 52, ctimensec: 56, mode: 60, nlink: 64, uid: 68, gid: 72, rdev: 76,
        blksize: 80, flags: 84,
    });
    layout!(GetattrIn, size 16, align 8, { getattr_flags: 0, dummy: 4, fh: 8 });
    layout!(AttrOut, size 104, align 8, {
        attr_valid: 0, attr_valid_nsec: 8, dummy: 12, attr: 16,
    });
    layout!(SetattrIn, size 88, align 8, {
        valid: 0, padding: 4, fh: 8, size: 16, lock_owner: 24, atime: 32, mtime: 40,
        ctime: 48, atimensec: 56, mtimensec: 60, ctimensec: 64, mode: 68, unused4: 72,
        uid: 76, gid: 80, unused5: 84,
    });
    layout!(Kstatfs, size 80, align 8, {
        blocks: 0, bfree: 8, bavail: 16, files: 24, ffree: 32, bsize: 40, namelen: 44,
        frsize: 48, padding: 52, spare: 56,
    });
    layout!(StatfsOut, size 80, align 8, { st: 0 });
}

#[test]
fn entries() {
    layout!(EntryOut, size 128, align 8, {
        nodeid: 0, generation: 8, entry_valid: 16, attr_valid: 24, entry_valid_nsec: 32,
        attr_valid_nsec: 36, attr: 40,
    });
    layout!(ForgetIn, size 8, align 8, { nlookup: 0 });
    layout!(ForgetOne, size 16, align 8, { nodeid: 0, nlookup: 8 });
    layout!(BatchForgetIn, size 8, align 4, { count: 0, dummy: 4 });
    layout!(MknodIn, size 16, align 4, { mode: 0, rdev: 4, umask: 8, padding: 12 });
    layout!(MkdirIn, size 8, align 4, { mode: 0, umask: 4 });
    layout!(RenameIn, size 8, align 8, { newdir: 0 });
    layout!(Rename2In, size 16, align 8, { newdir: 0, flags: 8, padding: 12 });
    layout!(LinkIn, size 8, align 8, { oldnodeid: 0 });
}

#[test]
fn open_files() {
    layout!(OpenIn, size 8, align 4, { flags: 0, open_flags: 4 });
    layout!(CreateIn, size 16, align 4, { flags: 0, mode: 4, umask: 8, open_flags: 12 });
    layout!(OpenOut, size 16, align 8, { fh: 0, open_flags: 8, backing_id: 12 });
    layout!(ReleaseIn, size 24, align 8, {
        fh: 0, flags: 8, release_flags: 12, lock_owner: 16,
    });
    layout!(FlushIn, size 24, align 8, { fh: 0, unused: 8, padding: 12, lock_owner: 16 });
    layout!(FsyncIn, size 16, align 8, { fh: 0, fsync_flags: 8, padding: 12 });
    layout!(AccessIn, size 8, align 4, { mask: 0, padding: 4 });
    layout!(SyncfsIn, size 8, align 8, { padding: 0 });
}

#[test]
fn data_path() {
    layout!(ReadIn, size 40, align 8, {
        fh: 0, offset: 8, size: 16, read_flags: 20, lock_owner: 24, flags: 32, padding: 36,
    });
    layout!(WriteIn, size 40, align 8, {
        fh: 0, offset: 8, size: 16, write_flags: 20, lock_owner: 24, flags: 32, padding: 36,
    });
    layout!(WriteOut, size 8, align 4, { size: 0, padding: 4 });
    layout!(FallocateIn, size 32, align 8, {
        fh: 0, offset: 8, length: 16, mode: 24, padding: 28,
    });
    layout!(LseekIn, size 24, align 8, { fh: 0, offset: 8, whence: 16, padding: 20 });
    layout!(LseekOut, size 8, align 8, { offset: 0 });
    layout!(CopyFileRangeIn, size 56, align 8, {
        fh_in: 0, off_in: 8, nodeid_out: 16, fh_out: 24, off_out: 32, len: 40, flags: 48,
    });
    layout!(CopyFileRangeOut, size 8, align 8, { bytes_copied: 0 });
    layout!(BmapIn, size 16, align 8, { block: 0, blocksize: 8, padding: 12 });
    layout!(BmapOut, size 8, align 8, { block: 0 });
}

#[test]
fn directories() {
    layout!(Dirent, size 24, align 8, { ino: 0, off: 8, namelen: 16, r#type: 20 });
    layout!(Direntplus, size 152, align 8, { entry_out: 0, dirent: 128 });
}

#[test]
fn xattrs_locks_poll_ioctl() {
    layout!(SetxattrIn, size 16, align 4, {
        size: 0, flags: 4, setxattr_flags: 8, padding: 12,
    });
    layout!(GetxattrIn, size 8, align 4, { size: 0, padding: 4 });
    layout!(GetxattrOut, size 8, align 4, { size: 0, padding: 4 });
    layout!(FileLock, size 24, align 8, { start: 0, end: 8, r#type: 16, pid: 20 });
    layout!(LkIn, size 48, align 8, { fh: 0, owner: 8, lk: 16, lk_flags: 40, padding: 44 });
    layout!(LkOut, size 24, align 8, { lk: 0 });
    layout!(PollIn, size 24, align 8, { fh: 0, kh: 8, flags: 16, events: 20 });
    layout!(PollOut, size 8, align 4, { revents: 0, padding: 4 });
    layout!(IoctlIn, size 32, align 8, {
        fh: 0, flags: 8, cmd: 12, arg: 16, in_size: 24, out_size: 28,
    });
    layout!(IoctlIovec, size 16, align 8, { base: 0, len: 8 });
    layout!(IoctlOut, size 16, align 4, { result: 0, flags: 4, in_iovs: 8, out_iovs: 12 });
}

#[test]
fn notifications() {
    layout!(NotifyPollWakeupOut, size 8, align 8, { kh: 0 });
    layout!(NotifyInvalInodeOut, size 24, align 8, { ino: 0, off: 8, len: 16 });
    layout!(NotifyInvalEntryOut, size 16, align 8, { parent: 0, namelen: 8, flags: 12 });
    layout!(NotifyDeleteOut, size 24, align 8, {
        parent: 0, child: 8, namelen: 16, padding: 20,
    });
    layout!(NotifyStoreOut, size 24, align 8, { nodeid: 0, offset: 8, size: 16, padding: 20 });
    layout!(NotifyRetrieveOut, size 32, align 8, {
        notify_unique: 0, nodeid: 8, offset: 16, size: 24, padding: 28,
    });
    layout!(NotifyRetrieveIn, size 40, align 8, {
        dummy1: 0, offset: 8, size: 16, dummy2: 20, dummy3: 24, dummy4: 32,
    });
    layout!(NotifyPruneOut, size 16, align 8, { count: 0, padding: 4, spare: 8 });
}

#[test]
fn statx() {
    layout!(SxTime, size 16, align 8, { tv_sec: 0, tv_nsec: 8, __reserved: 12 });
    layout!(Statx, size 256, align 8, {
        mask: 0, blksize: 4, attributes: 8, nlink: 16, uid: 20, gid: 24, mode: 28,
        __spare0: 30, ino: 32, size: 40, blocks: 48, attributes_mask: 56, atime: 64,
        btime: 80, ctime: 96, mtime: 112, rdev_major: 128, rdev_minor: 132, dev_major: 136,
        dev_minor: 140, __spare2: 144,
    });
    layout!(StatxIn, size 24, align 8, {
        getattr_flags: 0, reserved: 4, fh: 8, sx_flags: 16, sx_mask: 20,
    });
    layout!(StatxOut, size 288, align 8, {
        attr_valid: 0, attr_valid_nsec: 8, flags: 12, spare: 16, stat: 32,
    });
}

#[test]
fn extensions() {
    layout!(ExtHeader, size 8, align 4, { size: 0, r#type: 4 });
    layout!(SecctxHeader, size 8, align 4, { size: 0, nr_secctx: 4 });
    layout!(Secctx, size 8, align 4, { size: 0, padding: 4 });
    layout!(SuppGroups, size 4, align 4, { nr_groups: 0 });
}

#[test]
fn dax_and_backing() {
    layout!(SetupmappingIn, size 40, align 8, {
        fh: 0, foffset: 8, len: 16, flags: 24, moffset: 32,
    });
    layout!(RemovemappingIn, size 4, align 4, { count: 0 });
    layout!(RemovemappingOne, size 16, align 8, { moffset: 0, len: 8 });
    layout!(BackingMap, size 16, align 8, { fd: 0, flags: 4, padding: 8 });
}

#[test]
fn io_uring() {
    layout!(UringEntInOut, size 32, align 8, {
        flags: 0, commit_id: 8, payload_sz: 16, padding: 20, reserved: 24,
    });
    layout!(UringReqHeader, size 288, align 8, { in_out: 0, op_in: 128, ring_ent_in_out: 256 });
    layout!(UringCmdReq, size 24, align 8, { flags: 0, commit_id: 8, qid: 16, padding: 18 });
    assert_eq!(URING_IN_OUT_HEADER_SZ, 128);
    assert_eq!(URING_OP_IN_OUT_SZ, 128);
    // The in/out area must hold either header, the op area the largest first argument
    // the kernel puts there.
    assert!(size_of::<InHeader>() <= URING_IN_OUT_HEADER_SZ);
    assert!(size_of::<OutHeader>() <= URING_IN_OUT_HEADER_SZ);
    assert!(size_of::<SetattrIn>() <= URING_OP_IN_OUT_SZ);
}

#[test]
fn constants() {
    assert_eq!(KERNEL_VERSION, 7);
    assert_eq!(KERNEL_MINOR_VERSION, 45);
    assert_eq!(ROOT_ID, 1);
    assert_eq!(MIN_READ_BUFFER, 8192);
    assert_eq!(COMPAT_ENTRY_OUT_SIZE, 120);
    assert_eq!(COMPAT_ATTR_OUT_SIZE, 96);
    assert_eq!(COMPAT_MKNOD_IN_SIZE, 8);
    assert_eq!(COMPAT_WRITE_IN_SIZE, 24);
    assert_eq!(COMPAT_STATFS_SIZE, 48);
    assert_eq!(COMPAT_INIT_OUT_SIZE, 8);
    assert_eq!(COMPAT_22_INIT_OUT_SIZE, 24);
    assert_eq!(COMPAT_SETXATTR_IN_SIZE, 8);
    assert_eq!(CUSE_INIT_INFO_MAX, 4096);
    assert_eq!(IOCTL_MAX_IOV, 256);
    assert_eq!(UNIQUE_RESEND, 0x8000_0000_0000_0000);
    assert_eq!(INT_REQ_BIT, 1);
    assert_eq!(INVALID_UIDGID, 0xffff_ffff);
    assert_eq!(MAX_NR_SECCTX, 31);
    assert_eq!(EXT_GROUPS, 32);
    assert_eq!(ExtType::try_from(32), Ok(ExtType::Groups));
    assert_eq!(ExtType::try_from(31), Err(UnknownExtType(31)));
    // The compat sizes are prefixes of the current structs.
    assert!(COMPAT_ENTRY_OUT_SIZE < size_of::<EntryOut>());
    assert!(COMPAT_ATTR_OUT_SIZE < size_of::<AttrOut>());
    assert!(COMPAT_WRITE_IN_SIZE < size_of::<WriteIn>());
    assert!(COMPAT_22_INIT_OUT_SIZE < size_of::<InitOut>());
    assert!(COMPAT_SETXATTR_IN_SIZE < size_of::<SetxattrIn>());
    // The byte-swapped INIT opcodes.
    assert_eq!(FUSE_INIT_BSWAP_RESERVED, 26u32.swap_bytes());
    assert_eq!(CUSE_INIT_BSWAP_RESERVED, 4096 << 8);
}

#[test]
fn dirent_record_sizes() {
    assert_eq!(NAME_OFFSET, 24);
    assert_eq!(NAME_OFFSET_DIRENTPLUS, 152);
    assert_eq!(rec_align(0), 0);
    assert_eq!(rec_align(1), 8);
    assert_eq!(rec_align(8), 8);
    assert_eq!(rec_align(9), 16);
    // 24 + 1 = 25 → 32; 24 + 8 = 32 → 32; 24 + 9 = 33 → 40.
    assert_eq!(dirent_size(1), 32);
    assert_eq!(dirent_size(8), 32);
    assert_eq!(dirent_size(9), 40);
    assert_eq!(dirent_size(255), 280);
    // 152 + 1 = 153 → 160; 152 + 8 = 160 → 160; 152 + 255 = 407 → 408.
    assert_eq!(direntplus_size(1), 160);
    assert_eq!(direntplus_size(8), 160);
    assert_eq!(direntplus_size(255), 408);
    for n in 0..300 {
        assert_eq!(dirent_size(n) % 8, 0);
        assert!(dirent_size(n) >= 24 + n && dirent_size(n) < 24 + n + 8);
    }
}

#[test]
fn structs_round_trip_through_bytes() {
    use zerocopy::{FromBytes, IntoBytes};
    let h = InHeader {
        len: 56,
        opcode: Opcode::Lookup.as_u32(),
        unique: 0x0102_0304_0506_0708,
        nodeid: ROOT_ID,
        uid: 1000,
        gid: 100,
        pid: 4242,
        total_extlen: 2,
        padding: 0,
    };
    let bytes = h.as_bytes();
    assert_eq!(bytes.len(), 40);
    assert_eq!(&bytes[0..4], &56u32.to_ne_bytes());
    assert_eq!(&bytes[8..16], &0x0102_0304_0506_0708u64.to_ne_bytes());
    assert_eq!(&bytes[36..38], &2u16.to_ne_bytes());
    let back = InHeader::read_from_bytes(bytes).expect("40 bytes");
    assert_eq!(back, h);

    let zero = UringReqHeader::default();
    assert!(zero.as_bytes().iter().all(|&b| b == 0));
}
