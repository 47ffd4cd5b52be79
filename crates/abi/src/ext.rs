//! Request extensions appended after a request's arguments (7.36 / 7.38): security
//! contexts and supplementary groups. `InHeader::total_extlen` gives their length in
//! 8-byte units; each starts with an [`ExtHeader`] (a [`SecctxHeader`] is the same
//! shape, told apart by `type <= MAX_NR_SECCTX`).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Largest `SecctxHeader::nr_secctx`; extension types 0..=31 are reserved for the
/// security-context header (`FUSE_MAX_NR_SECCTX`, 7.38).
pub const MAX_NR_SECCTX: u32 = 31;

/// Extension type of [`SuppGroups`] (`FUSE_EXT_GROUPS`, 7.38).
pub const EXT_GROUPS: u32 = 32;

/// A known extension type (`enum fuse_ext_type`, without the reserved 0..=31 range).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtType {
    /// Supplementary groups ([`SuppGroups`]).
    Groups = EXT_GROUPS,
}

/// A raw extension type that protocol 7.45 does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("unknown FUSE extension type {0}")]
pub struct UnknownExtType(pub u32);

impl ExtType {
    /// The type's number on the wire.
    pub const fn as_u32(self) -> u32 {
        self as u32
    }
}

impl TryFrom<u32> for ExtType {
    type Error = UnknownExtType;

    fn try_from(raw: u32) -> Result<Self, Self::Error> {
        match raw {
            EXT_GROUPS => Ok(ExtType::Groups),
            _ => Err(UnknownExtType(raw)),
        }
    }
}

/// Header of one request extension (`fuse_ext_header`, 7.38).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct ExtHeader {
    /// Total size of this extension, header included (a multiple of 8).
    pub size: u32,
    /// Extension type; see [`ExtType`].
    pub r#type: u32,
}

/// Header of the security-context extension (`fuse_secctx_header`, 7.36), followed by
/// `nr_secctx` entries of [`Secctx`] + NUL-terminated name + context bytes.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SecctxHeader {
    /// Total size of all contexts, this header included.
    pub size: u32,
    /// Number of contexts.
    pub nr_secctx: u32,
}

/// One security context (`fuse_secctx`, 7.36), followed by its name and label.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Secctx {
    /// Size of the context label.
    pub size: u32,
    /// Padding.
    pub padding: u32,
}

/// Supplementary-group extension body after its [`ExtHeader`] (`fuse_supp_groups`,
/// 7.38), followed by `nr_groups` group ids (`u32` each).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SuppGroups {
    /// Number of group ids that follow.
    pub nr_groups: u32,
}
