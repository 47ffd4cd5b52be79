//! Micro-benchmark of the serve path without a kernel: decode + release fence + dispatch +
//! reply encoding, per request, for a filesystem that answers at once. Requests go through
//! `fusekit::fuzzing::Harness` (the same code every transport calls), replies into its
//! in-memory sink. A benchmark, not a test: it prints nanoseconds per request per opcode.
//!
//! ```sh
//! cargo run --release -p fusekit --features fuzzing --example serve_bench -- [ROUNDS]
//! ```

use std::ffi::OsStr;
use std::hint::black_box;
use std::time::{Duration, Instant};

use fusekit::abi;
use fusekit::fuzzing::Harness;
use fusekit::op::DecodeContext;
use fusekit::{
    Entry, FileAttr, Filesystem, Ino, ReplyAttr, ReplyData, ReplyEntry, ReplyWrite, Request,
};
use zerocopy::IntoBytes;

/// Answers every request at once with fixed values.
struct Null;

const TTL: Duration = Duration::from_secs(1);

fn attr(ino: u64) -> FileAttr {
    FileAttr {
        ino,
        size: 4096,
        mode: 0o100644,
        nlink: 1,
        ..FileAttr::default()
    }
}

impl Filesystem for Null {
    fn lookup(&self, _req: &Request<'_>, _parent: Ino, _name: &OsStr, reply: ReplyEntry) {
        reply.entry(&Entry::new(attr(2), TTL));
    }
    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        reply.attr(&attr(ino), TTL);
    }
    #[allow(clippy::too_many_arguments)]
    fn read(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        _fh: u64,
        _offset: u64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        static ZEROS: [u8; 4096] = [0; 4096];
        reply.data(&ZEROS[..(size as usize).min(4096)]);
    }
    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        _fh: u64,
        _offset: u64,
        data: &[u8],
        _write_flags: abi::WriteFlags,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        reply.written(data.len() as u32);
    }
}

fn request(opcode: abi::Opcode, nodeid: u64, args: &[&[u8]]) -> Vec<u8> {
    let len = core::mem::size_of::<abi::InHeader>() + args.iter().map(|a| a.len()).sum::<usize>();
    let header = abi::InHeader {
        len: len as u32,
        opcode: opcode as u32,
        unique: 2,
        nodeid,
        uid: 0,
        gid: 0,
        pid: 1,
        ..Default::default()
    };
    let mut buf = header.as_bytes().to_vec();
    for a in args {
        buf.extend_from_slice(a);
    }
    buf
}

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(500_000);
    let harness = Harness::new(DecodeContext::default());
    let getattr = abi::GetattrIn::default();
    let read = abi::ReadIn {
        size: 4096,
        ..Default::default()
    };
    let write = abi::WriteIn {
        size: 4096,
        ..Default::default()
    };
    let data = [7u8; 4096];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("lookup", request(abi::Opcode::Lookup, 1, &[b"name\0"])),
        (
            "getattr",
            request(abi::Opcode::Getattr, 2, &[getattr.as_bytes()]),
        ),
        ("read4k", request(abi::Opcode::Read, 2, &[read.as_bytes()])),
        (
            "write4k",
            request(abi::Opcode::Write, 2, &[write.as_bytes(), &data]),
        ),
        // Truncated GETATTR: decode fails, the error reply is sent.
        (
            "malformed",
            request(abi::Opcode::Getattr, 2, &[&getattr.as_bytes()[..4]]),
        ),
    ];
    let mut total = Duration::ZERO;
    for (name, bytes) in &cases {
        // Warm up, and check the request is answered once.
        let replies = harness.serve(&Null, bytes);
        assert_eq!(replies.len(), 1, "{name}: expected one reply");
        let start = Instant::now();
        for _ in 0..rounds {
            black_box(harness.serve(&Null, black_box(bytes)));
        }
        let took = start.elapsed();
        total += took;
        println!(
            "{name:<10} {:>7.1} ns/request",
            took.as_nanos() as f64 / f64::from(rounds)
        );
    }
    println!(
        "{:<10} {:>7.1} ns/request",
        "all",
        total.as_nanos() as f64 / (f64::from(rounds) * cases.len() as f64)
    );
}
