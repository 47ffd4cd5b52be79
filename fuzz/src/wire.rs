//! FUSE wire helpers shared by the targets: building request messages laid out as the kernel
//! writes them, and reading reply messages the way the kernel reads them — with the framing
//! rules every reply must obey checked on the way (violations panic, which is a fuzz finding).

use fusekit::abi;
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// Size of `fuse_in_header`.
pub const IN_HEADER: usize = core::mem::size_of::<abi::InHeader>();
/// Size of `fuse_out_header`.
pub const OUT_HEADER: usize = core::mem::size_of::<abi::OutHeader>();

/// Opcodes the kernel sends without waiting for a reply.
pub fn expects_reply(opcode: u32) -> bool {
    ![
        abi::Opcode::Forget as u32,
        abi::Opcode::BatchForget as u32,
        abi::Opcode::Interrupt as u32,
        abi::Opcode::NotifyReply as u32,
    ]
    .contains(&opcode)
}

/// Builds one request message: header, then arguments in order; `finish` sets `len`.
#[derive(Debug)]
pub struct RequestBuilder {
    buf: Vec<u8>,
}

impl RequestBuilder {
    /// A request with this header (uid/gid are the caller's).
    pub fn new(opcode: u32, unique: u64, nodeid: u64, uid: u32, gid: u32) -> Self {
        let header = abi::InHeader {
            len: 0,
            opcode,
            unique,
            nodeid,
            uid,
            gid,
            pid: 4242,
            total_extlen: 0,
            padding: 0,
        };
        RequestBuilder {
            buf: header.as_bytes().to_vec(),
        }
    }

    /// Appends a fixed argument struct.
    pub fn arg<T: IntoBytes + Immutable>(mut self, value: &T) -> Self {
        self.buf.extend_from_slice(value.as_bytes());
        self
    }

    /// Appends a name and its terminating NUL.
    pub fn name(mut self, name: &[u8]) -> Self {
        self.buf.extend_from_slice(name);
        self.buf.push(0);
        self
    }

    /// Appends raw bytes (write data, xattr values).
    pub fn bytes(mut self, bytes: &[u8]) -> Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// The finished message, with `len` set to its length.
    pub fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// One reply message, split as the kernel splits it.
#[derive(Debug, Clone, Copy)]
pub struct Reply<'a> {
    /// The request this answers.
    pub unique: u64,
    /// 0, or a negative errno.
    pub error: i32,
    /// Everything after the out header.
    pub payload: &'a [u8],
}

/// Parses one reply message and checks its framing: `len` equals the message length, `error`
/// is 0 or a negative errno (-4095..=-1), and an error reply carries no payload.
pub fn parse_reply(msg: &[u8]) -> Reply<'_> {
    let (header, payload) =
        abi::OutHeader::read_from_prefix(msg).expect("reply shorter than fuse_out_header");
    assert_eq!(
        header.len as usize,
        msg.len(),
        "out_header.len disagrees with the bytes written"
    );
    assert!(
        header.error == 0 || (-4095..=-1).contains(&header.error),
        "reply error {} is neither 0 nor a negative errno",
        header.error
    );
    if header.error != 0 {
        assert!(payload.is_empty(), "error reply carries a payload");
    }
    Reply {
        unique: header.unique,
        error: header.error,
        payload,
    }
}

/// Reads a `T` at `offset` of `bytes` (copied: no alignment needed).
pub fn read_at<T: FromBytes>(bytes: &[u8], offset: usize) -> T {
    T::read_from_prefix(&bytes[offset..])
        .expect("payload too short for its struct")
        .0
}

/// One record of a READDIR / READDIRPLUS payload.
#[derive(Debug, Clone)]
pub struct DirRecord<'a> {
    /// The entry (READDIRPLUS only).
    pub entry: Option<abi::EntryOut>,
    /// The dirent.
    pub dirent: abi::Dirent,
    /// The name bytes (`namelen` of them).
    pub name: &'a [u8],
}

/// Walks a directory payload as the kernel's `fuse_parse_dirfile` does and checks the packing:
/// each record starts 8-byte aligned, lies within the payload, its padding is zero, and the
/// payload does not exceed the `max` bytes the kernel asked for.
pub fn parse_dirents(payload: &[u8], plus: bool, max: usize) -> Vec<DirRecord<'_>> {
    assert!(
        payload.len() <= max,
        "directory reply of {} bytes exceeds the {max} bytes asked for",
        payload.len()
    );
    let head = if plus {
        abi::NAME_OFFSET_DIRENTPLUS
    } else {
        abi::NAME_OFFSET
    };
    let mut records = Vec::new();
    let mut at = 0;
    while at < payload.len() {
        assert_eq!(at % 8, 0, "dirent record not 8-byte aligned");
        assert!(
            at + head <= payload.len(),
            "dirent header runs past the payload"
        );
        let (entry, dirent) = if plus {
            let p: abi::Direntplus = read_at(payload, at);
            (Some(p.entry_out), p.dirent)
        } else {
            (None, read_at::<abi::Dirent>(payload, at))
        };
        let namelen = dirent.namelen as usize;
        let size = abi::rec_align(head + namelen);
        assert!(
            at + size <= payload.len(),
            "dirent record runs past the payload"
        );
        let name = &payload[at + head..at + head + namelen];
        assert!(
            payload[at + head + namelen..at + size]
                .iter()
                .all(|&b| b == 0),
            "dirent padding is not zero"
        );
        records.push(DirRecord {
            entry,
            dirent,
            name,
        });
        at += size;
    }
    records
}
