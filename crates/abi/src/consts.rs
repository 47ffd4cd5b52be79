//! Protocol-wide constants: version numbers, the root node id, buffer minimums,
//! compatibility struct sizes for older peers, and the special bits of a request's
//! `unique`. Constants that belong to one message live beside its struct.

/// Major version of the protocol (`FUSE_KERNEL_VERSION`).
pub const KERNEL_VERSION: u32 = 7;

/// Minor version of the protocol this crate describes (`FUSE_KERNEL_MINOR_VERSION`).
pub const KERNEL_MINOR_VERSION: u32 = 45;

/// Node id of the filesystem root (`FUSE_ROOT_ID`).
pub const ROOT_ID: u64 = 1;

/// Smallest read buffer the kernel accepts on `/dev/fuse` (`FUSE_MIN_READ_BUFFER`).
pub const MIN_READ_BUFFER: usize = 8192;

/// Length of [`EntryOut`](crate::EntryOut) for peers older than 7.9 (`FUSE_COMPAT_ENTRY_OUT_SIZE`).
pub const COMPAT_ENTRY_OUT_SIZE: usize = 120;

/// Length of [`AttrOut`](crate::AttrOut) for peers older than 7.9 (`FUSE_COMPAT_ATTR_OUT_SIZE`).
pub const COMPAT_ATTR_OUT_SIZE: usize = 96;

/// Length of [`MknodIn`](crate::MknodIn) for peers older than 7.12 (`FUSE_COMPAT_MKNOD_IN_SIZE`).
pub const COMPAT_MKNOD_IN_SIZE: usize = 8;

/// Length of [`WriteIn`](crate::WriteIn) for peers older than 7.9 (`FUSE_COMPAT_WRITE_IN_SIZE`).
pub const COMPAT_WRITE_IN_SIZE: usize = 24;

/// Length of [`StatfsOut`](crate::StatfsOut) for peers older than 7.4 (`FUSE_COMPAT_STATFS_SIZE`).
pub const COMPAT_STATFS_SIZE: usize = 48;

/// Length of [`InitOut`](crate::InitOut) for peers older than 7.5 (`FUSE_COMPAT_INIT_OUT_SIZE`).
pub const COMPAT_INIT_OUT_SIZE: usize = 8;

/// Length of [`InitOut`](crate::InitOut) for peers older than 7.23 (`FUSE_COMPAT_22_INIT_OUT_SIZE`).
pub const COMPAT_22_INIT_OUT_SIZE: usize = 24;

/// Length of [`SetxattrIn`](crate::SetxattrIn) unless `FUSE_SETXATTR_EXT` was negotiated
/// (`FUSE_COMPAT_SETXATTR_IN_SIZE`, 7.33).
pub const COMPAT_SETXATTR_IN_SIZE: usize = 8;

/// Largest CUSE_INIT reply payload (device info strings) (`CUSE_INIT_INFO_MAX`).
pub const CUSE_INIT_INFO_MAX: usize = 4096;

/// Maximum of `in_iovs + out_iovs` in an unrestricted ioctl reply (`FUSE_IOCTL_MAX_IOV`).
pub const IOCTL_MAX_IOV: usize = 256;

/// Bit set on a request's `unique` when the kernel resends it after a
/// `FUSE_NOTIFY_RESEND` (`FUSE_UNIQUE_RESEND`, 7.40).
pub const UNIQUE_RESEND: u64 = 1 << 63;

/// Bit the kernel sets in the `unique` of an INTERRUPT request: ordinary requests have
/// even ids, an interrupt uses the interrupted request's id with this bit set.
///
/// Not part of the uapi header: it is `FUSE_INT_REQ_BIT` from the kernel's private
/// `fs/fuse/fuse_dev_i.h`, a stable fact of the protocol that servers rely on.
pub const INT_REQ_BIT: u64 = 1 << 0;

/// Value the kernel puts in [`InHeader`](crate::InHeader)`.uid`/`.gid` when
/// `FUSE_ALLOW_IDMAP` is on and the id cannot be mapped (`FUSE_INVALID_UIDGID`, 7.41).
pub const INVALID_UIDGID: u32 = u32::MAX;

/// Reserved opcode: `CUSE_INIT` byte-swapped, lets a peer detect wrong endianness
/// (`CUSE_INIT_BSWAP_RESERVED`). Never a valid [`Opcode`](crate::Opcode).
pub const CUSE_INIT_BSWAP_RESERVED: u32 = 1_048_576;

/// Reserved opcode: `FUSE_INIT` byte-swapped, lets a peer detect wrong endianness
/// (`FUSE_INIT_BSWAP_RESERVED`). Never a valid [`Opcode`](crate::Opcode).
pub const FUSE_INIT_BSWAP_RESERVED: u32 = 436_207_616;
