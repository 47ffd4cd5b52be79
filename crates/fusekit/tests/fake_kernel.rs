//! A session served over a fake /dev/fuse: one end of a SOCK_SEQPACKET socketpair, which keeps
//! message boundaries exactly like the device (one read = one request, one writev = one reply).
//! The test plays the kernel: it answers-checks INIT, then feeds garbage interleaved with good
//! requests and checks that every request expecting a reply gets exactly one, with the right
//! unique and errno; that FORGET/INTERRUPT get none; that a panicking handler costs one EIO and
//! nothing else; that the session keeps serving; and that closing the socket ends it, with
//! `Filesystem::destroy` called exactly once. Every blocking step has a deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use fusekit::{
    BackgroundSession, Entry, Errno, FileAttr, Filesystem, Ino, ReplyAttr, ReplyEntry, Request,
    Session, SessionError, StatsSnapshot, ROOT_ID,
};
use fusekit_abi::{self as abi, InitFlags, Opcode};
use rustix::net::sockopt::Timeout;
use rustix::net::{AddressFamily, SocketFlags, SocketType};
use zerocopy::{FromBytes, IntoBytes};

const FILE_INO: Ino = 2;
const TTL: Duration = Duration::from_secs(1);
/// Longest any single step may take before the test fails instead of hanging.
const STEP: Duration = Duration::from_secs(5);
const HEADER_LEN: usize = core::mem::size_of::<abi::InHeader>();
const OUT_HEADER_LEN: usize = core::mem::size_of::<abi::OutHeader>();

/// What the filesystem saw, shared with the test.
#[derive(Debug, Default)]
struct Probe {
    destroyed: AtomicUsize,
    forgets: Mutex<Vec<(u64, u64)>>,
}

/// A root directory holding one file, `hello`; looking up `boom` panics.
struct TestFs(Arc<Probe>);

fn dir_attr() -> FileAttr {
    FileAttr {
        ino: ROOT_ID,
        mode: 0o040755,
        nlink: 2,
        ..FileAttr::default()
    }
}

fn file_attr() -> FileAttr {
    FileAttr {
        ino: FILE_INO,
        size: 5,
        blocks: 1,
        mode: 0o100644,
        nlink: 1,
        uid: 1000,
        gid: 1000,
        ..FileAttr::default()
    }
}

impl Filesystem for TestFs {
    fn destroy(&self) {
        self.0.destroyed.fetch_add(1, Ordering::SeqCst);
    }

    fn lookup(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        match (parent, name.as_bytes()) {
            (ROOT_ID, b"hello") => reply.entry(&Entry::new(file_attr(), TTL)),
            (ROOT_ID, b"boom") => panic!("test filesystem: lookup of `boom` panics on purpose"),
            _ => reply.error(Errno::NOENT),
        }
    }

    fn forget(&self, _req: &Request<'_>, ino: Ino, nlookup: u64) {
        self.0.forgets.lock().unwrap().push((ino, nlookup));
    }

    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        match ino {
            ROOT_ID => reply.attr(&dir_attr(), TTL),
            FILE_INO => reply.attr(&file_attr(), TTL),
            _ => reply.error(Errno::NOENT),
        }
    }
}

/// Runs `f` on its own thread and fails the test if it takes longer than `limit`.
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not finish within {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

/// One reply as the kernel would read it.
#[derive(Debug)]
struct Reply {
    header: abi::OutHeader,
    payload: Vec<u8>,
}

impl Reply {
    fn errno(&self) -> Option<Errno> {
        (self.header.error != 0).then(|| Errno::from_raw_os_error(-self.header.error))
    }
}

/// The kernel's end of the socketpair.
struct FakeKernel {
    fd: OwnedFd,
}

impl FakeKernel {
    /// A socketpair: the kernel's end, and the end the session serves.
    fn pair() -> (FakeKernel, OwnedFd) {
        let (ours, theirs) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .expect("socketpair");
        (FakeKernel { fd: ours }, theirs)
    }

    fn send(&self, bytes: &[u8]) {
        let n = rustix::io::write(&self.fd, bytes).expect("write to the session");
        assert_eq!(n, bytes.len(), "a request is written whole");
    }

    /// The next reply, or `None` when nothing arrives within `limit`.
    fn recv_within(&self, limit: Duration) -> Option<Reply> {
        rustix::net::sockopt::set_socket_timeout(&self.fd, Timeout::Recv, Some(limit))
            .expect("SO_RCVTIMEO");
        let mut buf = vec![0u8; 64 * 1024];
        let n = match rustix::io::read(&self.fd, &mut buf) {
            Ok(n) => n,
            Err(Errno::AGAIN) => return None,
            Err(e) => panic!("reading a reply failed: {e}"),
        };
        assert!(n >= OUT_HEADER_LEN, "reply of {n} bytes has no header");
        let (header, _) = abi::OutHeader::read_from_prefix(&buf[..n]).expect("out header");
        assert_eq!(
            header.len as usize, n,
            "reply header len matches the bytes written"
        );
        Some(Reply {
            header,
            payload: buf[OUT_HEADER_LEN..n].to_vec(),
        })
    }

    fn recv(&self) -> Reply {
        self.recv_within(STEP)
            .unwrap_or_else(|| panic!("no reply within {STEP:?}"))
    }
}

fn request(opcode: u32, unique: u64, nodeid: u64, args: &[u8]) -> Vec<u8> {
    let header = abi::InHeader {
        len: (HEADER_LEN + args.len()) as u32,
        opcode,
        unique,
        nodeid,
        uid: 1000,
        gid: 1000,
        pid: 77,
        total_extlen: 0,
        padding: 0,
    };
    [header.as_bytes(), args].concat()
}

fn init_request(unique: u64) -> Vec<u8> {
    let offered = InitFlags::ASYNC_READ
        | InitFlags::BIG_WRITES
        | InitFlags::MAX_PAGES
        | InitFlags::SETXATTR_EXT
        | InitFlags::INIT_EXT
        | InitFlags::HAS_RESEND;
    let (flags, flags2) = offered.split();
    let arg = abi::InitIn {
        major: 7,
        minor: 45,
        max_readahead: 128 * 1024,
        flags,
        flags2,
        unused: [0; 11],
    };
    request(Opcode::Init.as_u32(), unique, 0, arg.as_bytes())
}

fn check_init_reply(reply: &Reply, unique: u64) {
    assert_eq!(reply.header.unique, unique, "INIT reply unique");
    assert_eq!(reply.errno(), None, "INIT accepted");
    let (out, _) = abi::InitOut::read_from_prefix(&reply.payload).expect("full init_out");
    assert_eq!(reply.payload.len(), core::mem::size_of::<abi::InitOut>());
    assert_eq!((out.major, out.minor), (7, 45));
    let flags = InitFlags::from_halves(out.flags, out.flags2);
    assert!(
        flags.contains(InitFlags::INIT_EXT),
        "INIT_EXT echoed: {flags:?}"
    );
    assert!(flags.contains(InitFlags::SETXATTR_EXT), "{flags:?}");
    assert!(
        !flags.contains(InitFlags::POSIX_LOCKS),
        "never granted what was not offered"
    );
    assert!(out.max_write >= 4096);
}

/// A running session and the kernel's end of its socket. Fields drop in order: if the test
/// fails half-way, the socket closes first, so the session's workers see EOF and the
/// session's own drop (which joins them) cannot hang.
struct Harness {
    kernel: FakeKernel,
    session: BackgroundSession,
}

impl Harness {
    /// Sends INIT, starts the session (spawn blocks until INIT is answered), checks the reply.
    fn start(probe: &Arc<Probe>) -> Harness {
        let (kernel, theirs) = FakeKernel::pair();
        kernel.send(&init_request(1));
        let session = spawn(probe, theirs);
        assert_eq!(session.negotiated().minor, 45);
        check_init_reply(&kernel.recv(), 1);
        Harness { kernel, session }
    }

    /// Closes the kernel's end and waits (bounded) for the session to end.
    fn finish(self) -> Result<(), SessionError> {
        let Harness { kernel, session } = self;
        drop(kernel);
        within(STEP, "join after the socket closed", move || session.join())
    }
}

/// Starts a two-worker session on `fd` (bounded: spawn waits for INIT).
fn spawn(probe: &Arc<Probe>, fd: OwnedFd) -> BackgroundSession {
    let fs = TestFs(Arc::clone(probe));
    within(STEP, "spawn (INIT handshake)", move || {
        Session::from_fd(fs, fd).workers(2).spawn()
    })
    .expect("session starts")
}

/// Polls the session's counters until `done` holds or the step deadline passes.
fn wait_stats(session: &BackgroundSession, done: impl Fn(&StatsSnapshot) -> bool) -> StatsSnapshot {
    let deadline = Instant::now() + STEP;
    loop {
        let s = session.stats();
        if done(&s) || Instant::now() >= deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What the kernel expects back for one message.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// An entry reply for this node.
    Entry(Ino),
    /// An attr reply for this node with this mode.
    Attr(Ino, u32),
    /// An error reply.
    Error(Errno),
    /// No reply at all.
    Nothing,
}

struct Step {
    what: &'static str,
    bytes: Vec<u8>,
    unique: u64,
    expect: Expect,
    /// The decoder must refuse this message (counted in `decode_errors`).
    malformed: bool,
}

fn check_reply(step: &Step, reply: &Reply) {
    let what = step.what;
    match step.expect {
        Expect::Error(errno) => {
            assert_eq!(reply.errno(), Some(errno), "{what}: errno");
            assert!(
                reply.payload.is_empty(),
                "{what}: an error reply has no payload"
            );
        }
        Expect::Entry(ino) => {
            assert_eq!(reply.errno(), None, "{what}");
            assert_eq!(
                reply.payload.len(),
                core::mem::size_of::<abi::EntryOut>(),
                "{what}"
            );
            let out = abi::EntryOut::read_from_bytes(&reply.payload).expect("entry_out");
            assert_eq!(out.nodeid, ino, "{what}");
            assert_eq!(out.attr.ino, ino, "{what}");
            assert_eq!(out.attr.size, file_attr().size, "{what}");
            assert_eq!((out.entry_valid, out.attr_valid), (1, 1), "{what}");
        }
        Expect::Attr(ino, mode) => {
            assert_eq!(reply.errno(), None, "{what}");
            assert_eq!(
                reply.payload.len(),
                core::mem::size_of::<abi::AttrOut>(),
                "{what}"
            );
            let out = abi::AttrOut::read_from_bytes(&reply.payload).expect("attr_out");
            assert_eq!((out.attr.ino, out.attr.mode), (ino, mode), "{what}");
        }
        Expect::Nothing => panic!("{what}: got a reply to a message that must get none: {reply:?}"),
    }
}

/// Plays `steps` one by one: each step expecting a reply is answered before the next is
/// sent. Every reply must belong to the step just sent; replies to no-reply messages would
/// surface as a unique that does not match.
fn play(kernel: &FakeKernel, steps: &[Step]) {
    let by_unique: BTreeMap<u64, &Step> = steps
        .iter()
        .filter(|s| s.unique != 0)
        .map(|s| (s.unique, s))
        .collect();
    assert_eq!(
        by_unique.len(),
        steps.iter().filter(|s| s.unique != 0).count(),
        "uniques are distinct"
    );
    for step in steps {
        kernel.send(&step.bytes);
        if matches!(step.expect, Expect::Nothing) {
            continue;
        }
        let reply = kernel.recv();
        match by_unique.get(&reply.header.unique) {
            Some(owner) if owner.unique == step.unique => check_reply(step, &reply),
            Some(owner) => panic!(
                "while waiting for `{}`, got a reply for `{}`: {reply:?}",
                step.what, owner.what
            ),
            None => panic!(
                "reply with unknown unique while waiting for `{}`: {reply:?}",
                step.what
            ),
        }
    }
}

fn lookup(unique: u64, name: &[u8]) -> Vec<u8> {
    request(
        Opcode::Lookup.as_u32(),
        unique,
        ROOT_ID,
        &[name, b"\0"].concat(),
    )
}

fn getattr(unique: u64, ino: Ino) -> Vec<u8> {
    request(
        Opcode::Getattr.as_u32(),
        unique,
        ino,
        abi::GetattrIn::default().as_bytes(),
    )
}

fn with_len(mut bytes: Vec<u8>, len: u32) -> Vec<u8> {
    bytes[..4].copy_from_slice(&len.to_ne_bytes());
    bytes
}

fn steps() -> Vec<Step> {
    let step = |what, bytes, unique, expect, malformed| Step {
        what,
        bytes,
        unique,
        expect,
        malformed,
    };
    let mkdir_in = abi::MkdirIn {
        mode: 0o755,
        umask: 0o022,
    };
    let write_in = abi::WriteIn {
        size: 100,
        ..Default::default()
    };
    let read_in = abi::ReadIn::default();
    let huge_forget = abi::BatchForgetIn {
        count: u32::MAX,
        dummy: 0,
    };
    let good_forget = [
        abi::BatchForgetIn { count: 2, dummy: 0 }.as_bytes(),
        abi::ForgetOne {
            nodeid: 10,
            nlookup: 3,
        }
        .as_bytes(),
        abi::ForgetOne {
            nodeid: 11,
            nlookup: 4,
        }
        .as_bytes(),
    ]
    .concat();
    let mut ext_too_big = lookup(112, b"hello");
    ext_too_big[36..38].copy_from_slice(&100u16.to_ne_bytes());
    let lookup_len = lookup(0, b"hello").len() as u32;
    use Expect::*;
    use Opcode as O;
    vec![
        step(
            "good LOOKUP",
            lookup(100, b"hello"),
            100,
            Entry(FILE_INO),
            false,
        ),
        step("10 garbage bytes", vec![0xA5; 10], 0, Nothing, true),
        step(
            "39-byte header stub",
            lookup(0, b"hello")[..39].to_vec(),
            0,
            Nothing,
            true,
        ),
        step(
            "len too large",
            with_len(lookup(103, b"hello"), lookup_len + 8),
            103,
            Error(Errno::IO),
            true,
        ),
        step(
            "len too small",
            with_len(lookup(104, b"hello"), lookup_len - 2),
            104,
            Error(Errno::IO),
            true,
        ),
        step(
            "MKDIR with truncated mkdir_in",
            request(O::Mkdir.as_u32(), 105, ROOT_ID, &mkdir_in.as_bytes()[..4]),
            105,
            Error(Errno::INVAL),
            true,
        ),
        step(
            "READ with truncated read_in",
            request(O::Read.as_u32(), 106, FILE_INO, &read_in.as_bytes()[..20]),
            106,
            Error(Errno::INVAL),
            true,
        ),
        step(
            "LOOKUP name without NUL",
            request(O::Lookup.as_u32(), 107, ROOT_ID, b"hello"),
            107,
            Error(Errno::INVAL),
            true,
        ),
        step(
            "unknown opcode 9999",
            request(9999, 108, ROOT_ID, b"whatever"),
            108,
            Error(Errno::NOSYS),
            false,
        ),
        step(
            "unused opcode 7",
            request(7, 109, ROOT_ID, &[]),
            109,
            Error(Errno::NOSYS),
            false,
        ),
        step(
            "unused opcode 19",
            request(19, 110, ROOT_ID, &[]),
            110,
            Error(Errno::NOSYS),
            false,
        ),
        step(
            "WRITE size beyond data",
            request(
                O::Write.as_u32(),
                111,
                FILE_INO,
                &[write_in.as_bytes(), b"short"].concat(),
            ),
            111,
            Error(Errno::INVAL),
            true,
        ),
        step(
            "LOOKUP with oversized extension area",
            ext_too_big,
            112,
            Error(Errno::INVAL),
            true,
        ),
        step(
            "BATCH_FORGET with huge count",
            request(O::BatchForget.as_u32(), 113, 0, huge_forget.as_bytes()),
            113,
            Nothing,
            true,
        ),
        step(
            "truncated FORGET",
            request(O::Forget.as_u32(), 114, FILE_INO, &[1, 0, 0, 0]),
            114,
            Nothing,
            true,
        ),
        step(
            "LOOKUP that panics",
            lookup(115, b"boom"),
            115,
            Error(Errno::IO),
            false,
        ),
        step(
            "good GETATTR after the panic",
            getattr(116, ROOT_ID),
            116,
            Attr(ROOT_ID, 0o040755),
            false,
        ),
        step(
            "good FORGET",
            request(
                O::Forget.as_u32(),
                117,
                FILE_INO,
                abi::ForgetIn { nlookup: 1 }.as_bytes(),
            ),
            117,
            Nothing,
            false,
        ),
        step(
            "good INTERRUPT",
            request(
                O::Interrupt.as_u32(),
                118 | abi::INT_REQ_BIT,
                0,
                abi::InterruptIn { unique: 116 }.as_bytes(),
            ),
            118 | abi::INT_REQ_BIT,
            Nothing,
            false,
        ),
        step(
            "good BATCH_FORGET",
            request(O::BatchForget.as_u32(), 120, 0, &good_forget),
            120,
            Nothing,
            false,
        ),
        step(
            "second INIT",
            init_request(121),
            121,
            Error(Errno::IO),
            false,
        ),
        step(
            "LOOKUP of a missing name",
            lookup(122, b"nope"),
            122,
            Error(Errno::NOENT),
            false,
        ),
        step(
            "GETATTR of the file",
            getattr(123, FILE_INO),
            123,
            Attr(FILE_INO, 0o100644),
            false,
        ),
        step(
            "final LOOKUP",
            lookup(124, b"hello"),
            124,
            Entry(FILE_INO),
            false,
        ),
    ]
}

#[test]
fn garbage_interleaved_with_good_requests_is_answered_and_survived() {
    let probe = Arc::new(Probe::default());
    let h = Harness::start(&probe);
    let steps = steps();
    play(&h.kernel, &steps);

    let malformed = steps.iter().filter(|s| s.malformed).count() as u64;
    let replies = 1 + steps
        .iter()
        .filter(|s| !matches!(s.expect, Expect::Nothing))
        .count() as u64;
    let expected = |s: &StatsSnapshot| {
        s.requests == steps.len() as u64
            && s.decode_errors == malformed
            && s.dropped_replies == 1
            && s.interrupts == 1
            && s.replies == replies
    };
    let stats = wait_stats(&h.session, expected);
    assert!(
        expected(&stats),
        "counters: {stats:?} (malformed {malformed}, replies {replies})"
    );
    assert_eq!(
        (stats.reply_errors, stats.replies_forgotten),
        (0, 0),
        "{stats:?}"
    );

    // Nothing else may arrive: no reply to FORGET, BATCH_FORGET, INTERRUPT or header-less junk.
    if let Some(extra) = h.kernel.recv_within(Duration::from_millis(300)) {
        panic!("unexpected extra reply: {extra:?}");
    }
    assert_eq!(h.session.stats(), stats, "counters settled");
    // Still serving after all of that.
    play(
        &h.kernel,
        &[Step {
            what: "LOOKUP after the drain",
            bytes: lookup(200, b"hello"),
            unique: 200,
            expect: Expect::Entry(FILE_INO),
            malformed: false,
        }],
    );
    assert_eq!(
        probe.destroyed.load(Ordering::SeqCst),
        0,
        "no destroy while serving"
    );

    h.finish()
        .expect("session ends cleanly when the device closes");
    assert_eq!(
        probe.destroyed.load(Ordering::SeqCst),
        1,
        "destroy runs once at the end"
    );
    let forgets: BTreeSet<(u64, u64)> = probe.forgets.lock().unwrap().iter().copied().collect();
    assert_eq!(
        forgets,
        BTreeSet::from([(FILE_INO, 1), (10, 3), (11, 4)]),
        "only well-formed forgets reach the filesystem"
    );
}

#[test]
fn requests_before_init_are_refused_and_destroy_runs_once() {
    let probe = Arc::new(Probe::default());
    let (kernel, theirs) = FakeKernel::pair();
    // A real kernel never does this; a fake one gets errors and INIT still works after.
    kernel.send(&lookup(2, b"hello"));
    kernel.send(&request(Opcode::Mkdir.as_u32(), 3, ROOT_ID, &[0; 4]));
    kernel.send(&init_request(4));
    let h = Harness {
        session: spawn(&probe, theirs),
        kernel,
    };
    let kernel = &h.kernel;
    let early = kernel.recv();
    assert_eq!((early.header.unique, early.errno()), (2, Some(Errno::IO)));
    let malformed = kernel.recv();
    assert_eq!(
        (malformed.header.unique, malformed.errno()),
        (3, Some(Errno::INVAL))
    );
    check_init_reply(&kernel.recv(), 4);

    // DESTROY: answered, destroy runs now, and not again when the session ends.
    kernel.send(&request(Opcode::Destroy.as_u32(), 5, 0, &[]));
    let reply = kernel.recv();
    assert_eq!((reply.header.unique, reply.errno()), (5, None));
    assert!(reply.payload.is_empty());
    assert_eq!(probe.destroyed.load(Ordering::SeqCst), 1);
    h.finish().expect("clean end");
    assert_eq!(
        probe.destroyed.load(Ordering::SeqCst),
        1,
        "destroy ran exactly once"
    );
}

/// A transport that reaches end-of-file before INIT must make `spawn` fail, not spin (a real
/// /dev/fuse answers ENODEV instead; fake and socket-based transports report EOF).
#[test]
fn closing_before_init_fails_spawn() {
    let probe = Arc::new(Probe::default());
    let (kernel, theirs) = FakeKernel::pair();
    drop(kernel);
    let fs = TestFs(Arc::clone(&probe));
    let result = within(STEP, "spawn on a closed transport", move || {
        Session::from_fd(fs, theirs).workers(2).spawn().map(|_| ())
    });
    assert!(result.is_err(), "{result:?}");
}
