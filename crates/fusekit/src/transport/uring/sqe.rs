//! Building the two FUSE io_uring commands as 128-byte SQEs (IORING_OP_URING_CMD with the
//! `fuse_uring_cmd_req` block in the command area).
//!
//! The `io-uring` crate's `UringCmd80` builder sets `addr` but cannot set `sqe->len`, and the
//! kernel's REGISTER insists on `len == 2` (the header/payload iovec pair): without it every
//! REGISTER fails with -EINVAL and the connection quietly falls back to /dev/fuse. So the built
//! entry is patched at the field's fixed offset in `struct io_uring_sqe`.

use std::os::fd::RawFd;

use fusekit_abi::{UringCmd, UringCmdReq};
use io_uring::{opcode, squeue::Entry128, types};
use zerocopy::IntoBytes;

/// Offset of `__u32 len` in `struct io_uring_sqe` (uapi, stable ABI).
const SQE_LEN_OFFSET: usize = 24;

/// Number of iovecs a REGISTER carries: the header buffer and the payload buffer.
pub(crate) const REGISTER_IOVECS: u32 = 2;

const _: () = assert!(core::mem::size_of::<Entry128>() == 128);

/// `struct iovec`, as REGISTER reads it from user memory.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Iovec {
    pub(crate) base: *mut u8,
    pub(crate) len: usize,
}

fn cmd_area(qid: u16, commit_id: u64) -> [u8; 80] {
    let req = UringCmdReq {
        flags: 0,
        commit_id,
        qid,
        padding: [0; 6],
    };
    let mut area = [0u8; 80];
    let bytes = req.as_bytes();
    area[..bytes.len()].copy_from_slice(bytes);
    area
}

/// REGISTER one entry of queue `qid`: `iovecs` points to `[header iovec, payload iovec]`,
/// which must stay valid (and unmoved) until the command completes.
pub(crate) fn register(fd: RawFd, qid: u16, iovecs: *const Iovec, user_data: u64) -> Entry128 {
    let mut sqe = opcode::UringCmd80::new(types::Fd(fd), UringCmd::Register.as_u32())
        .cmd(cmd_area(qid, 0))
        .addr(Some(iovecs as u64))
        .build()
        .user_data(user_data);
    set_len(&mut sqe, REGISTER_IOVECS);
    sqe
}

/// COMMIT_AND_FETCH: hand the reply in the entry's buffers back (answering `commit_id`) and
/// wait for the next request on the same entry.
pub(crate) fn commit_and_fetch(fd: RawFd, qid: u16, commit_id: u64, user_data: u64) -> Entry128 {
    opcode::UringCmd80::new(types::Fd(fd), UringCmd::CommitAndFetch.as_u32())
        .cmd(cmd_area(qid, commit_id))
        .build()
        .user_data(user_data)
}

fn set_len(sqe: &mut Entry128, len: u32) {
    // SAFETY: `Entry128` is `#[repr(C)]` and starts with the 64-byte `struct io_uring_sqe`
    // (size asserted above); `len` is the u32 at byte 24 of that struct. The pointer comes
    // from a unique reference and the write stays inside the object.
    unsafe {
        (sqe as *mut Entry128)
            .cast::<u8>()
            .add(SQE_LEN_OFFSET)
            .cast::<u32>()
            .write_unaligned(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(sqe: &Entry128) -> [u8; 128] {
        // SAFETY: Entry128 is 128 bytes of plain data (asserted above).
        unsafe { core::mem::transmute_copy(sqe) }
    }

    #[test]
    fn register_has_len_two_addr_and_cmd_block() {
        let sqe = register(7, 3, 0x1122_3344_5566_7788 as *const Iovec, 99);
        let b = bytes(&sqe);
        assert_eq!(
            b[0],
            io_uring::opcode::UringCmd80::CODE,
            "IORING_OP_URING_CMD"
        );
        assert_eq!(i32::from_ne_bytes(b[4..8].try_into().unwrap()), 7, "fd");
        assert_eq!(
            u32::from_ne_bytes(b[8..12].try_into().unwrap()),
            1,
            "cmd_op"
        );
        assert_eq!(
            u64::from_ne_bytes(b[16..24].try_into().unwrap()),
            0x1122_3344_5566_7788,
            "addr"
        );
        assert_eq!(u32::from_ne_bytes(b[24..28].try_into().unwrap()), 2, "len");
        assert_eq!(
            u64::from_ne_bytes(b[32..40].try_into().unwrap()),
            99,
            "user_data"
        );
        // fuse_uring_cmd_req at the command area (offset 48): flags, commit_id, qid.
        assert_eq!(u64::from_ne_bytes(b[48..56].try_into().unwrap()), 0);
        assert_eq!(u64::from_ne_bytes(b[56..64].try_into().unwrap()), 0);
        assert_eq!(u16::from_ne_bytes(b[64..66].try_into().unwrap()), 3, "qid");
    }

    #[test]
    fn commit_carries_commit_id_and_qid() {
        let sqe = commit_and_fetch(5, 1, 0xdead_beef, 4);
        let b = bytes(&sqe);
        assert_eq!(
            u32::from_ne_bytes(b[8..12].try_into().unwrap()),
            2,
            "cmd_op"
        );
        assert_eq!(u32::from_ne_bytes(b[24..28].try_into().unwrap()), 0, "len");
        assert_eq!(
            u64::from_ne_bytes(b[56..64].try_into().unwrap()),
            0xdead_beef
        );
        assert_eq!(u16::from_ne_bytes(b[64..66].try_into().unwrap()), 1, "qid");
    }
}
