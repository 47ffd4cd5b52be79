//! One ring entry: the header buffer and payload buffer registered with the kernel, the
//! per-entry request buffer the request is reassembled into, and the [`FrameSink`] that writes
//! a reply back into the registered buffers.
//!
//! Who may touch the buffers (the ownership argument behind the `unsafe` here):
//! - From REGISTER/COMMIT_AND_FETCH submission until its completion, the kernel owns the
//!   header and payload buffers; no thread touches them.
//! - When the completion arrives (res 0), the entry belongs to userspace. The owner thread
//!   reads the header/payload and reassembles the request into the request buffer (only the
//!   owner ever touches that one), sets the state to AWAITING_REPLY and serves it.
//! - Exactly one reply follows (reply handles are one-shot; the state's compare-and-swap
//!   refuses a second). The replying thread — owner or not — writes the out header and payload
//!   into the registered buffers, then pushes the entry to the queue's handoff (a mutex:
//!   release/acquire with the owner). The owner does not look at those buffers between
//!   reassembly and the commit, so the write cannot race.
//! - The owner submits COMMIT_AND_FETCH: ownership returns to the kernel.

use std::io::IoSlice;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use fusekit_abi::{self as abi, UringReqHeader};
use rustix::io::Errno;
use zerocopy::{FromBytes, IntoBytes};

use super::counters::UringCounters;
use super::handoff::{Handoff, Pushed};
use super::sqe::Iovec;
use crate::transport::FrameSink;

const IN_HEADER: usize = core::mem::size_of::<abi::InHeader>();
const HEADER_BUF: usize = core::mem::size_of::<UringReqHeader>();
const OUT_HEADER: usize = core::mem::size_of::<abi::OutHeader>();
/// Offset of `ring_ent_in_out.payload_sz` in the header buffer.
const PAYLOAD_SZ_OFFSET: usize = abi::URING_IN_OUT_HEADER_SZ + abi::URING_OP_IN_OUT_SZ + 16;

const _: () = assert!(HEADER_BUF == 288);

/// The entry is with the kernel, or its request has not been handed out yet.
const IDLE: u8 = 0;
/// A request is being served; one reply may be written.
const AWAITING_REPLY: u8 = 1;
/// The reply is written; the entry waits for the owner to commit it.
const REPLIED: u8 = 2;

/// A zeroed heap buffer addressed only through its raw pointer (the kernel writes it too).
#[derive(Debug)]
struct RawBuf {
    ptr: NonNull<u8>,
    len: usize,
}

impl RawBuf {
    fn new(len: usize) -> Self {
        let boxed: Box<[u8]> = vec![0u8; len].into_boxed_slice();
        let ptr = NonNull::new(Box::into_raw(boxed).cast::<u8>()).unwrap_or(NonNull::dangling());
        RawBuf { ptr, len }
    }

    fn iovec(&self) -> Iovec {
        Iovec {
            base: self.ptr.as_ptr(),
            len: self.len,
        }
    }
}

impl Drop for RawBuf {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` came from `Box::into_raw` of a `Box<[u8]>` of exactly `len`
        // bytes in `new`, and are freed only here.
        drop(unsafe {
            Box::from_raw(core::ptr::slice_from_raw_parts_mut(
                self.ptr.as_ptr(),
                self.len,
            ))
        });
    }
}

/// What the owner learned from a completed fetch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fetched {
    /// The id COMMIT_AND_FETCH must quote (the request's unique).
    pub(crate) commit_id: u64,
    /// Bytes of the reassembled request.
    pub(crate) len: usize,
    /// The entry's layout did not add up (the request buffer then holds what fit; decoding
    /// it fails and is answered with an error like any malformed request).
    pub(crate) malformed: bool,
}

/// One registered ring entry of a queue.
#[derive(Debug)]
pub(crate) struct RingEntry {
    index: u16,
    header: RawBuf,
    payload: RawBuf,
    request: RawBuf,
    iovecs: Box<[Iovec; 2]>,
    state: AtomicU8,
    handoff: Arc<Handoff>,
    counters: Arc<UringCounters>,
}

// SAFETY: the raw buffers are accessed under the ownership protocol in the module docs: the
// kernel, the owner thread and one replying thread take turns, each handover ordered by an
// io_uring syscall, the state atomic or the handoff mutex.
unsafe impl Send for RingEntry {}
// SAFETY: as above; shared references only reach the buffers through `fetch` (owner only,
// between completion and serving) and `send` (once per request, guarded by `state`).
unsafe impl Sync for RingEntry {}

impl RingEntry {
    pub(crate) fn new(
        index: u16,
        payload_size: usize,
        handoff: Arc<Handoff>,
        counters: Arc<UringCounters>,
    ) -> Self {
        let header = RawBuf::new(HEADER_BUF);
        let payload = RawBuf::new(payload_size);
        let request = RawBuf::new(IN_HEADER + abi::URING_OP_IN_OUT_SZ + payload_size);
        let iovecs = Box::new([header.iovec(), payload.iovec()]);
        RingEntry {
            index,
            header,
            payload,
            request,
            iovecs,
            state: AtomicU8::new(IDLE),
            handoff,
            counters,
        }
    }

    /// The `[header, payload]` iovec pair REGISTER points to (lives as long as the entry).
    pub(crate) fn iovecs(&self) -> *const Iovec {
        self.iovecs.as_ptr()
    }

    /// Reassembles the request the kernel just delivered into the request buffer:
    /// in header (from `in_out`), first argument (from `op_in`; its size is what `len` leaves
    /// after the header and the payload), then the payload.
    ///
    /// # Safety
    /// Owner thread only, after this entry's command completed with res 0 and before it is
    /// served or committed; no slice from an earlier [`request`](Self::request) may be alive.
    pub(crate) unsafe fn fetch(&self) -> Fetched {
        // SAFETY: the kernel finished writing the header buffer (completion observed) and no
        // one else touches it until the reply (caller's contract).
        let header_bytes =
            unsafe { core::slice::from_raw_parts(self.header.ptr.as_ptr(), HEADER_BUF) };
        // A copy (288 bytes): the buffer is not aligned for the struct's u64 fields.
        let Ok(hdr) = UringReqHeader::read_from_bytes(header_bytes) else {
            // Unreachable: the buffer has exactly the struct's size.
            return Fetched {
                commit_id: 0,
                len: 0,
                malformed: true,
            };
        };
        let commit_id = hdr.ring_ent_in_out.commit_id;
        let payload_sz = hdr.ring_ent_in_out.payload_sz as usize;
        let (in_header, _) = abi::InHeader::read_from_prefix(&hdr.in_out[..])
            .unwrap_or_else(|_| (abi::InHeader::default(), &[]));
        let total = in_header.len as usize;
        let first = total
            .checked_sub(IN_HEADER + payload_sz)
            .filter(|&f| f <= abi::URING_OP_IN_OUT_SZ && payload_sz <= self.payload.len);
        // SAFETY: only the owner writes the request buffer, and no slice of it is alive
        // (caller's contract). The payload buffer is ours until the commit.
        let (req, payload) = unsafe {
            (
                core::slice::from_raw_parts_mut(self.request.ptr.as_ptr(), self.request.len),
                core::slice::from_raw_parts(self.payload.ptr.as_ptr(), self.payload.len),
            )
        };
        req[..IN_HEADER].copy_from_slice(&hdr.in_out[..IN_HEADER]);
        let (len, malformed) = match first {
            Some(first) => {
                req[IN_HEADER..IN_HEADER + first].copy_from_slice(&hdr.op_in[..first]);
                req[IN_HEADER + first..total].copy_from_slice(&payload[..payload_sz]);
                (total, false)
            }
            None => {
                tracing::warn!(
                    unique = in_header.unique,
                    opcode = in_header.opcode,
                    len = total,
                    payload_sz,
                    "io_uring request does not add up; answering it as malformed"
                );
                (IN_HEADER, true)
            }
        };
        self.state.store(AWAITING_REPLY, Ordering::Release);
        Fetched {
            commit_id,
            len,
            malformed,
        }
    }

    /// The reassembled request of the last [`fetch`](Self::fetch).
    ///
    /// # Safety
    /// Owner thread only, until the next `fetch`.
    pub(crate) unsafe fn request(&self, len: usize) -> &[u8] {
        // SAFETY: written by `fetch` on this thread; not written again until the next fetch.
        unsafe { core::slice::from_raw_parts(self.request.ptr.as_ptr(), len.min(self.request.len)) }
    }

    /// Owner: the entry goes back to the kernel.
    pub(crate) fn mark_committed(&self) {
        self.state.store(IDLE, Ordering::Release);
    }

    fn write_reply(&self, header: &abi::OutHeader, payload: &[IoSlice<'_>]) -> Result<(), Errno> {
        let total: usize = payload.iter().map(|s| s.len()).sum();
        let (error, copy, result) = if total > self.payload.len {
            // The kernel would fail such a reply with EIO too; the caller must not hang.
            (-Errno::IO.raw_os_error(), false, Err(Errno::INVAL))
        } else {
            (header.error, true, Ok(()))
        };
        let out = abi::OutHeader {
            len: if copy { header.len } else { OUT_HEADER as u32 },
            error,
            unique: header.unique,
        };
        // SAFETY: `send` won the AWAITING_REPLY → REPLIED transition, so this thread is the
        // only one touching the registered buffers until it hands the entry to the owner.
        unsafe {
            let h = self.header.ptr.as_ptr();
            core::ptr::copy_nonoverlapping(out.as_bytes().as_ptr(), h, OUT_HEADER);
            let mut at = self.payload.ptr.as_ptr();
            let mut size = 0usize;
            if copy {
                for slice in payload {
                    core::ptr::copy_nonoverlapping(slice.as_ptr(), at, slice.len());
                    at = at.add(slice.len());
                }
                size = total;
            }
            h.add(PAYLOAD_SZ_OFFSET)
                .cast::<u32>()
                .write_unaligned(size as u32);
        }
        result
    }
}

impl FrameSink for RingEntry {
    fn send(&self, header: &abi::OutHeader, payload: &[IoSlice<'_>]) -> Result<(), Errno> {
        if self
            .state
            .compare_exchange(AWAITING_REPLY, REPLIED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            tracing::error!(
                unique = header.unique,
                "second reply for one io_uring entry refused"
            );
            return Err(Errno::INVAL);
        }
        let written = self.write_reply(header, payload);
        // Counted before the hand-off: once pushed, the owner may commit and the caller see
        // its answer before this thread runs again.
        let foreign = !self.handoff.is_owner_thread();
        if foreign {
            UringCounters::bump(&self.counters.foreign_replies);
        }
        match self.handoff.push(self.index) {
            Ok(Pushed::ForeignWoke) => UringCounters::bump(&self.counters.wakeups),
            Ok(Pushed::Local | Pushed::Foreign) => {}
            Err(e) => {
                if foreign {
                    // Not handed over after all (the queue ended).
                    self.counters
                        .foreign_replies
                        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                }
                return Err(e);
            }
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(payload: usize) -> (RingEntry, Arc<Handoff>) {
        let h = Arc::new(Handoff::new(1).unwrap());
        h.claim_for_current_thread();
        (
            RingEntry::new(0, payload, Arc::clone(&h), Arc::default()),
            h,
        )
    }

    /// Fills the registered buffers as the kernel does for a request.
    fn kernel_delivers(e: &RingEntry, opcode: u32, first: &[u8], payload: &[u8]) {
        let mut hdr = UringReqHeader::default();
        let ih = abi::InHeader {
            len: (IN_HEADER + first.len() + payload.len()) as u32,
            opcode,
            unique: 42,
            nodeid: 1,
            ..Default::default()
        };
        hdr.in_out[..IN_HEADER].copy_from_slice(ih.as_bytes());
        hdr.op_in[..first.len()].copy_from_slice(first);
        hdr.ring_ent_in_out.commit_id = 42;
        hdr.ring_ent_in_out.payload_sz = payload.len() as u32;
        // SAFETY: test owns the entry; nothing else touches the buffers.
        unsafe {
            core::ptr::copy_nonoverlapping(
                hdr.as_bytes().as_ptr(),
                e.header.ptr.as_ptr(),
                HEADER_BUF,
            );
            core::ptr::copy_nonoverlapping(payload.as_ptr(), e.payload.ptr.as_ptr(), payload.len());
        }
    }

    #[test]
    fn reassembles_header_first_arg_and_payload() {
        let (e, _h) = entry(8192);
        kernel_delivers(&e, abi::Opcode::Write as u32, &[7u8; 40], b"data!");
        // SAFETY: single-threaded test, owner thread.
        let f = unsafe { e.fetch() };
        assert!(!f.malformed);
        assert_eq!(f.commit_id, 42);
        assert_eq!(f.len, IN_HEADER + 40 + 5);
        // SAFETY: as above.
        let req = unsafe { e.request(f.len) };
        assert_eq!(&req[IN_HEADER..IN_HEADER + 40], &[7u8; 40]);
        assert_eq!(&req[IN_HEADER + 40..], b"data!");
        let (ih, _) = abi::InHeader::read_from_prefix(req).unwrap();
        assert_eq!(ih.unique, 42);
    }

    #[test]
    fn empty_first_argument_puts_everything_in_the_payload() {
        let (e, _h) = entry(8192);
        kernel_delivers(&e, abi::Opcode::Lookup as u32, &[], b"name\0");
        // SAFETY: single-threaded test, owner thread.
        let f = unsafe { e.fetch() };
        // SAFETY: as above.
        let req = unsafe { e.request(f.len) };
        assert_eq!(&req[IN_HEADER..], b"name\0");
    }

    #[test]
    fn inconsistent_lengths_are_malformed_not_a_panic() {
        let (e, _h) = entry(8192);
        kernel_delivers(&e, abi::Opcode::Write as u32, &[0u8; 40], b"x");
        // Claim a payload bigger than the header's len allows.
        // SAFETY: test owns the entry.
        unsafe {
            e.header
                .ptr
                .as_ptr()
                .add(PAYLOAD_SZ_OFFSET)
                .cast::<u32>()
                .write_unaligned(4000);
        }
        // SAFETY: single-threaded test, owner thread.
        let f = unsafe { e.fetch() };
        assert!(f.malformed);
        assert_eq!(f.len, IN_HEADER);
    }

    #[test]
    fn reply_lands_in_the_registered_buffers_once() {
        let (e, h) = entry(8192);
        kernel_delivers(&e, abi::Opcode::Getattr as u32, &[0u8; 16], b"");
        // SAFETY: single-threaded test, owner thread.
        let _ = unsafe { e.fetch() };
        let out = abi::OutHeader {
            len: 16 + 6,
            error: 0,
            unique: 42,
        };
        e.send(&out, &[IoSlice::new(b"abc"), IoSlice::new(b"def")])
            .unwrap();
        assert_eq!(e.send(&out, &[]), Err(Errno::INVAL), "second reply refused");
        // SAFETY: test owns the entry.
        let (hdr, payload) = unsafe {
            (
                core::slice::from_raw_parts(e.header.ptr.as_ptr(), HEADER_BUF),
                core::slice::from_raw_parts(e.payload.ptr.as_ptr(), 6),
            )
        };
        let hdr = UringReqHeader::read_from_bytes(hdr).unwrap();
        assert_eq!(&hdr.in_out[..OUT_HEADER], out.as_bytes());
        assert_eq!(hdr.ring_ent_in_out.payload_sz, 6);
        assert_eq!(payload, b"abcdef");
        let mut ready = Vec::new();
        h.drain_into(&mut ready);
        assert_eq!(ready, vec![0]);
    }

    #[test]
    fn oversized_reply_commits_eio() {
        let (e, _h) = entry(16);
        kernel_delivers(&e, abi::Opcode::Read as u32, &[0u8; 40], b"");
        // SAFETY: single-threaded test, owner thread.
        let _ = unsafe { e.fetch() };
        let big = [0u8; 32];
        let out = abi::OutHeader {
            len: 48,
            error: 0,
            unique: 42,
        };
        assert_eq!(e.send(&out, &[IoSlice::new(&big)]), Err(Errno::INVAL));
        // SAFETY: test owns the entry.
        let hdr = unsafe { core::slice::from_raw_parts(e.header.ptr.as_ptr(), HEADER_BUF) };
        let hdr = UringReqHeader::read_from_bytes(hdr).unwrap();
        let (oh, _) = abi::OutHeader::read_from_prefix(&hdr.in_out[..]).unwrap();
        assert_eq!(oh.error, -Errno::IO.raw_os_error());
        assert_eq!(hdr.ring_ent_in_out.payload_sz, 0);
    }
}
