//! Ioctls on the `/dev/fuse` device itself (magic 229): clone a session fd, register and
//! drop passthrough backing files, and ask for synchronous INIT.
//!
//! The request numbers are computed with the kernel's `_IOC` encoding for the target
//! architecture (the generic one, or the 3-bit-direction one of powerpc, mips and sparc).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Argument of [`DEV_IOC_BACKING_OPEN`] (`fuse_backing_map`, 7.40): a file to use as a
/// passthrough backing file. The ioctl returns the backing id (> 0).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct BackingMap {
    /// File descriptor of the backing file.
    pub fd: i32,
    /// Flags; must be 0 in 7.45.
    pub flags: u32,
    /// Padding.
    pub padding: u64,
}

/// Ioctl type ("magic") of the FUSE device (`FUSE_DEV_IOC_MAGIC`).
pub const DEV_IOC_MAGIC: u32 = 229;

#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
    target_arch = "sparc",
    target_arch = "sparc64"
))]
mod enc {
    pub const SIZEBITS: u32 = 13;
    pub const NONE: u32 = 1;
    pub const READ: u32 = 2;
    pub const WRITE: u32 = 4;
}

#[cfg(not(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
    target_arch = "sparc",
    target_arch = "sparc64"
)))]
mod enc {
    pub const SIZEBITS: u32 = 14;
    pub const NONE: u32 = 0;
    pub const READ: u32 = 2;
    pub const WRITE: u32 = 1;
}

/// The kernel's `_IOC(dir, type, nr, size)`: nr in bits 0..8, type in 8..16, size from
/// bit 16, direction above the size field.
const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << (16 + enc::SIZEBITS)) | ((size as u32) << 16) | (DEV_IOC_MAGIC << 8) | nr
}

/// Clone a session onto a freshly opened `/dev/fuse` fd (`FUSE_DEV_IOC_CLONE`,
/// `_IOR(229, 0, uint32_t)`); the argument points to the `u32` fd of the session.
pub const DEV_IOC_CLONE: u32 = ioc(enc::READ, 0, core::mem::size_of::<u32>());

/// Register a backing file (`FUSE_DEV_IOC_BACKING_OPEN`,
/// `_IOW(229, 1, struct fuse_backing_map)`, 7.40); argument: [`BackingMap`].
pub const DEV_IOC_BACKING_OPEN: u32 = ioc(enc::WRITE, 1, core::mem::size_of::<BackingMap>());

/// Drop a backing file id (`FUSE_DEV_IOC_BACKING_CLOSE`, `_IOW(229, 2, uint32_t)`, 7.40);
/// the argument points to the `u32` id.
pub const DEV_IOC_BACKING_CLOSE: u32 = ioc(enc::WRITE, 2, core::mem::size_of::<u32>());

/// Ask for synchronous INIT during mount (`FUSE_DEV_IOC_SYNC_INIT`, `_IO(229, 3)`; Linux
/// 6.18, no argument). Must be issued before the fd is used for a mount; older kernels
/// answer ENOTTY.
pub const DEV_IOC_SYNC_INIT: u32 = ioc(enc::NONE, 3, 0);
