//! Extended-attribute messages: SETXATTR, GETXATTR and LISTXATTR arguments and the
//! size-probe reply.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Argument of `FUSE_SETXATTR` (`fuse_setxattr_in`), followed by the NUL-terminated
/// name and `size` value bytes. Without `FUSE_SETXATTR_EXT` (7.33) the kernel sends only
/// the first [`COMPAT_SETXATTR_IN_SIZE`](crate::COMPAT_SETXATTR_IN_SIZE) bytes.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SetxattrIn {
    /// Length of the value.
    pub size: u32,
    /// `setxattr(2)` flags (`XATTR_CREATE`, `XATTR_REPLACE`).
    pub flags: u32,
    /// [`SetxattrFlags`](crate::SetxattrFlags) (7.33).
    pub setxattr_flags: u32,
    /// Padding.
    pub padding: u32,
}

/// Argument of `FUSE_GETXATTR` (followed by the name) and `FUSE_LISTXATTR`
/// (`fuse_getxattr_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct GetxattrIn {
    /// Buffer size; 0 asks for the needed size only.
    pub size: u32,
    /// Padding.
    pub padding: u32,
}

/// Reply to GETXATTR / LISTXATTR when `GetxattrIn::size` was 0 (`fuse_getxattr_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct GetxattrOut {
    /// Size of the value or name list.
    pub size: u32,
    /// Padding.
    pub padding: u32,
}
