//! Steady-state request handling allocates nothing: with a fake kernel on a SOCK_SEQPACKET
//! socketpair (one read = one request, like /dev/fuse), 30,000 small requests (LOOKUP,
//! GETATTR, READ) are served by a session without a single heap allocation in the process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use fusekit::abi::{self, Opcode};
use fusekit::{
    Entry, Errno, FileAttr, FileType, Filesystem, Ino, ReplyAttr, ReplyData, ReplyEntry, Request,
    Session,
};
use zerocopy::{FromBytes, IntoBytes};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

static DATA: [u8; 4096] = [0x5a; 4096];

struct Static;

fn attr(ino: Ino) -> FileAttr {
    FileAttr {
        ino,
        size: DATA.len() as u64,
        mode: FileType::RegularFile.mode_bits() | 0o644,
        nlink: 1,
        ..FileAttr::default()
    }
}

impl Filesystem for Static {
    fn lookup(&self, _req: &Request<'_>, _parent: Ino, name: &OsStr, reply: ReplyEntry) {
        if name == "file" {
            reply.entry(&Entry::new(attr(2), Duration::from_secs(1)))
        } else {
            reply.error(Errno::NOENT)
        }
    }
    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        reply.attr(&attr(ino), Duration::from_secs(1))
    }
    fn read(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        _fh: u64,
        offset: u64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let start = (offset as usize).min(DATA.len());
        let end = (start + size as usize).min(DATA.len());
        reply.data(&DATA[start..end])
    }
}

fn header(opcode: Opcode, unique: u64, nodeid: u64, body: usize) -> abi::InHeader {
    abi::InHeader {
        len: (core::mem::size_of::<abi::InHeader>() + body) as u32,
        opcode: opcode as u32,
        unique,
        nodeid,
        ..Default::default()
    }
}

/// Writes one request (on the stack) and reads its reply; returns the reply's error field.
fn roundtrip(sock: &OwnedFd, req: &[u8], reply: &mut [u8]) -> (i32, usize) {
    rustix::io::write(sock, req).expect("write request");
    let n = loop {
        match rustix::io::read(sock, &mut *reply) {
            // A signal meant for another thread of the harness may interrupt the wait.
            Err(rustix::io::Errno::INTR) => continue,
            other => break other.expect("read reply (timed out?)"),
        }
    };
    let (out, _) = abi::OutHeader::read_from_prefix(&reply[..n]).unwrap();
    assert_eq!(out.len as usize, n);
    (out.error, n)
}

#[test]
fn small_requests_allocate_nothing() {
    let (ours, theirs) = rustix::net::socketpair(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::SEQPACKET,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    rustix::net::sockopt::set_socket_timeout(
        &ours,
        rustix::net::sockopt::Timeout::Recv,
        Some(Duration::from_secs(10)),
    )
    .unwrap();

    let init = abi::InitIn {
        major: 7,
        minor: 45,
        max_readahead: 1 << 20,
        flags: (abi::InitFlags::INIT_EXT | abi::InitFlags::ASYNC_READ)
            .split()
            .0,
        ..Default::default()
    };
    let mut msg = header(Opcode::Init, 1, 0, core::mem::size_of::<abi::InitIn>())
        .as_bytes()
        .to_vec();
    msg.extend_from_slice(init.as_bytes());
    rustix::io::write(&ours, &msg).unwrap();
    let session = Session::from_fd(Static, theirs)
        .workers(1)
        .spawn()
        .expect("INIT");
    let mut reply = vec![0u8; 1 << 16];
    let n = loop {
        match rustix::io::read(&ours, &mut reply) {
            Err(rustix::io::Errno::INTR) => continue,
            other => break other.unwrap(),
        }
    };
    let (out, _) = abi::OutHeader::read_from_prefix(&reply[..n]).unwrap();
    assert_eq!(out.error, 0, "INIT answered");

    // Requests built once, outside the counted window.
    let mut lookup = header(Opcode::Lookup, 0, 1, 5).as_bytes().to_vec();
    lookup.extend_from_slice(b"file\0");
    let mut getattr = header(Opcode::Getattr, 0, 2, 16).as_bytes().to_vec();
    getattr.extend_from_slice(abi::GetattrIn::default().as_bytes());
    let mut read = header(Opcode::Read, 0, 2, 40).as_bytes().to_vec();
    read.extend_from_slice(
        abi::ReadIn {
            size: 4096,
            ..Default::default()
        }
        .as_bytes(),
    );
    let mut unique = 10u64;
    let mut run = |count: usize, reply: &mut [u8]| {
        for i in 0..count {
            let req = match i % 3 {
                0 => &mut lookup,
                1 => &mut getattr,
                _ => &mut read,
            };
            unique += 2;
            req[8..16].copy_from_slice(&unique.to_ne_bytes());
            let (error, n) = roundtrip(&ours, req, reply);
            assert_eq!(error, 0);
            assert!(n > 16);
        }
    };
    run(3000, &mut reply); // warm-up: thread-locals, lazily sized tables
    COUNTING.store(true, Ordering::SeqCst);
    run(30_000, &mut reply);
    COUNTING.store(false, Ordering::SeqCst);
    let allocations = ALLOCATIONS.load(Ordering::SeqCst);

    drop(ours); // the fake kernel hangs up: the session ends
    session.join().expect("session ends cleanly");
    assert_eq!(
        allocations, 0,
        "heap allocations while serving 30,000 small requests"
    );
}
