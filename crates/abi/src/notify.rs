//! Notifications the server writes to the kernel unasked (`OutHeader::unique == 0`,
//! `OutHeader::error` = the [`NotifyCode`]), their payload structs, and the RETRIEVE
//! round trip (`NotifyRetrieveOut` out, `NotifyRetrieveIn` back as `FUSE_NOTIFY_REPLY`).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A notification code (`enum fuse_notify_code`), sent in `OutHeader::error`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotifyCode {
    /// Wake up pollers of a kernel poll handle; payload [`NotifyPollWakeupOut`].
    Poll = 1,
    /// Invalidate an inode's attributes and a data range; payload [`NotifyInvalInodeOut`].
    InvalInode = 2,
    /// Invalidate a directory entry; payload [`NotifyInvalEntryOut`] + name + NUL.
    InvalEntry = 3,
    /// Push data into the page cache; payload [`NotifyStoreOut`] + `size` bytes.
    Store = 4,
    /// Ask the kernel for cached data; payload [`NotifyRetrieveOut`]. The kernel answers
    /// with a `FUSE_NOTIFY_REPLY` request carrying [`NotifyRetrieveIn`] + data.
    Retrieve = 5,
    /// An entry was deleted; payload [`NotifyDeleteOut`] + name + NUL.
    Delete = 6,
    /// Ask the kernel to resend all pending requests; no payload (7.40).
    Resend = 7,
    /// Bump the connection epoch, invalidating older dentries; no payload (7.44).
    IncEpoch = 8,
    /// Drop unused inodes from the kernel's caches; payload [`NotifyPruneOut`] +
    /// `count` node ids as `u64` (7.45).
    Prune = 9,
}

/// A raw notification code that protocol 7.45 does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("unknown FUSE notify code {0}")]
pub struct UnknownNotifyCode(pub u32);

impl NotifyCode {
    /// Every notification code of protocol 7.45, in numeric order.
    pub const ALL: [NotifyCode; 9] = [
        NotifyCode::Poll,
        NotifyCode::InvalInode,
        NotifyCode::InvalEntry,
        NotifyCode::Store,
        NotifyCode::Retrieve,
        NotifyCode::Delete,
        NotifyCode::Resend,
        NotifyCode::IncEpoch,
        NotifyCode::Prune,
    ];

    /// The code's number on the wire.
    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// The value to put in `OutHeader::error` (the code as an `i32`).
    pub const fn as_error(self) -> i32 {
        self as i32
    }

    /// The code for a raw number, or `None` if protocol 7.45 has no such code.
    pub const fn from_u32(raw: u32) -> Option<NotifyCode> {
        Some(match raw {
            1 => NotifyCode::Poll,
            2 => NotifyCode::InvalInode,
            3 => NotifyCode::InvalEntry,
            4 => NotifyCode::Store,
            5 => NotifyCode::Retrieve,
            6 => NotifyCode::Delete,
            7 => NotifyCode::Resend,
            8 => NotifyCode::IncEpoch,
            9 => NotifyCode::Prune,
            _ => return None,
        })
    }
}

impl TryFrom<u32> for NotifyCode {
    type Error = UnknownNotifyCode;

    fn try_from(raw: u32) -> Result<Self, Self::Error> {
        NotifyCode::from_u32(raw).ok_or(UnknownNotifyCode(raw))
    }
}

impl From<NotifyCode> for u32 {
    fn from(code: NotifyCode) -> u32 {
        code.as_u32()
    }
}

/// Payload of `FUSE_NOTIFY_POLL` (`fuse_notify_poll_wakeup_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct NotifyPollWakeupOut {
    /// Kernel poll handle from `PollIn::kh`.
    pub kh: u64,
}

/// Payload of `FUSE_NOTIFY_INVAL_INODE` (`fuse_notify_inval_inode_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct NotifyInvalInodeOut {
    /// Node id.
    pub ino: u64,
    /// Start of the data range to invalidate; negative: attributes only.
    pub off: i64,
    /// Length of the range; 0 or less: to the end of the file.
    pub len: i64,
}

/// Payload of `FUSE_NOTIFY_INVAL_ENTRY` (`fuse_notify_inval_entry_out`), followed by the
/// name and a NUL. `flags` (7.38) was padding before.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct NotifyInvalEntryOut {
    /// Parent directory node id.
    pub parent: u64,
    /// Length of the name (without the NUL).
    pub namelen: u32,
    /// [`NotifyInvalEntryFlags`](crate::NotifyInvalEntryFlags) (7.38).
    pub flags: u32,
}

/// Payload of `FUSE_NOTIFY_DELETE` (`fuse_notify_delete_out`), followed by the name and a
/// NUL.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct NotifyDeleteOut {
    /// Parent directory node id.
    pub parent: u64,
    /// Node id of the deleted entry.
    pub child: u64,
    /// Length of the name (without the NUL).
    pub namelen: u32,
    /// Padding.
    pub padding: u32,
}

/// Payload of `FUSE_NOTIFY_STORE` (`fuse_notify_store_out`), followed by `size` bytes.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct NotifyStoreOut {
    /// Node id.
    pub nodeid: u64,
    /// File offset of the data.
    pub offset: u64,
    /// Number of data bytes that follow.
    pub size: u32,
    /// Padding.
    pub padding: u32,
}

/// Payload of `FUSE_NOTIFY_RETRIEVE` (`fuse_notify_retrieve_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct NotifyRetrieveOut {
    /// Id the kernel will echo as the `unique` of its `FUSE_NOTIFY_REPLY`.
    pub notify_unique: u64,
    /// Node id.
    pub nodeid: u64,
    /// File offset to retrieve from.
    pub offset: u64,
    /// Number of bytes wanted.
    pub size: u32,
    /// Padding.
    pub padding: u32,
}

/// Argument of the `FUSE_NOTIFY_REPLY` request that answers a retrieve
/// (`fuse_notify_retrieve_in`; same size as [`WriteIn`](crate::WriteIn)), followed by
/// `size` bytes of data.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct NotifyRetrieveIn {
    /// Unused.
    pub dummy1: u64,
    /// File offset of the data.
    pub offset: u64,
    /// Number of data bytes that follow.
    pub size: u32,
    /// Unused.
    pub dummy2: u32,
    /// Unused.
    pub dummy3: u64,
    /// Unused.
    pub dummy4: u64,
}

/// Payload of `FUSE_NOTIFY_PRUNE` (`fuse_notify_prune_out`, 7.45), followed by `count`
/// node ids (`u64` each); the total length must match exactly.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct NotifyPruneOut {
    /// Number of node ids that follow.
    pub count: u32,
    /// Padding.
    pub padding: u32,
    /// Reserved.
    pub spare: u64,
}
