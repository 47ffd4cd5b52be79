//! FUSE over io_uring (7.42): the per-entry header buffer ([`UringReqHeader`]), the
//! command block in the SQE ([`UringCmdReq`]) and the command opcodes ([`UringCmd`]).

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// Size of the in/out header area of [`UringReqHeader`] (`FUSE_URING_IN_OUT_HEADER_SZ`).
pub const URING_IN_OUT_HEADER_SZ: usize = 128;

/// Size of the per-opcode argument area of [`UringReqHeader`] (`FUSE_URING_OP_IN_OUT_SZ`).
pub const URING_OP_IN_OUT_SZ: usize = 128;

/// The `FUSE_IO_URING_CMD_INVALID` command number (0), never valid to send.
pub const URING_CMD_INVALID: u32 = 0;

/// Ring entry bookkeeping at the end of [`UringReqHeader`] (`fuse_uring_ent_in_out`).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct UringEntInOut {
    /// Flags (none defined in 7.45).
    pub flags: u64,
    /// Id to use in the COMMIT_AND_FETCH that answers this request.
    pub commit_id: u64,
    /// Bytes of payload in the payload buffer (request or reply).
    pub payload_sz: u32,
    /// Padding.
    pub padding: u32,
    /// Reserved.
    pub reserved: u64,
}

/// The header buffer of one ring entry (`fuse_uring_req_header`, 7.42).
///
/// `in_out` holds an [`InHeader`](crate::InHeader) on fetch and an
/// [`OutHeader`](crate::OutHeader) on commit; `op_in` holds the opcode's first
/// argument struct when it has one; variable data lives in the separate payload buffer.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct UringReqHeader {
    /// `fuse_in_header` / `fuse_out_header`, zero-padded.
    pub in_out: [u8; URING_IN_OUT_HEADER_SZ],
    /// Per-opcode argument, zero-padded.
    pub op_in: [u8; URING_OP_IN_OUT_SZ],
    /// Ring entry bookkeeping.
    pub ring_ent_in_out: UringEntInOut,
}

impl Default for UringReqHeader {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

/// Command block in the SQE's command area (`fuse_uring_cmd_req`, 7.42).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct UringCmdReq {
    /// Flags (none defined in 7.45).
    pub flags: u64,
    /// For COMMIT_AND_FETCH: `UringEntInOut::commit_id` of the request being answered.
    pub commit_id: u64,
    /// Queue index (one queue per possible CPU).
    pub qid: u16,
    /// Padding.
    pub padding: [u8; 6],
}

/// The `cmd_op` of a FUSE io_uring command SQE (`enum fuse_uring_cmd`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UringCmd {
    /// Register a header + payload buffer pair and fetch a request
    /// (`FUSE_IO_URING_CMD_REGISTER`).
    Register = 1,
    /// Commit a reply and fetch the next request (`FUSE_IO_URING_CMD_COMMIT_AND_FETCH`).
    CommitAndFetch = 2,
}

/// A raw io_uring command number that protocol 7.45 does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("unknown FUSE io_uring command {0}")]
pub struct UnknownUringCmd(pub u32);

impl UringCmd {
    /// The command's number (the SQE's `cmd_op`).
    pub const fn as_u32(self) -> u32 {
        self as u32
    }
}

impl TryFrom<u32> for UringCmd {
    type Error = UnknownUringCmd;

    fn try_from(raw: u32) -> Result<Self, Self::Error> {
        match raw {
            1 => Ok(UringCmd::Register),
            2 => Ok(UringCmd::CommitAndFetch),
            _ => Err(UnknownUringCmd(raw)),
        }
    }
}
