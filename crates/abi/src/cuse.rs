//! The CUSE (character device in userspace) handshake: `CUSE_INIT` request and reply.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Argument of `CUSE_INIT` (`cuse_init_in`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct CuseInitIn {
    /// Kernel's major protocol version.
    pub major: u32,
    /// Kernel's minor protocol version.
    pub minor: u32,
    /// Unused.
    pub unused: u32,
    /// [`CuseInitFlags`](crate::CuseInitFlags).
    pub flags: u32,
}

/// Reply to `CUSE_INIT` (`cuse_init_out`), followed by up to
/// [`CUSE_INIT_INFO_MAX`](crate::CUSE_INIT_INFO_MAX) bytes of device info strings.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct CuseInitOut {
    /// Server's major protocol version.
    pub major: u32,
    /// Server's minor protocol version.
    pub minor: u32,
    /// Unused.
    pub unused: u32,
    /// [`CuseInitFlags`](crate::CuseInitFlags).
    pub flags: u32,
    /// Maximum read size.
    pub max_read: u32,
    /// Maximum write size.
    pub max_write: u32,
    /// Character device major number.
    pub dev_major: u32,
    /// Character device minor number.
    pub dev_minor: u32,
    /// Reserved.
    pub spare: [u32; 10],
}
