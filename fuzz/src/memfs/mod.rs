//! The `memfs` target: a sequence of operations (from `arbitrary`) encoded as real FUSE
//! requests and served to `MemFsAdapter` through the session's decode + dispatch path, with
//! replies captured in memory. Checks: nothing panics (a handler panic is fatal under
//! libFuzzer's panic hook, and shows here as a dropped reply); every request that expects a
//! reply gets exactly one, echoing its `unique` and well framed, and no other gets any; reply
//! payloads respect the size the request asked for; and after the connection ends the engine's
//! own state is consistent (see [`walk`]).
//!
//! Blocking lock requests (SETLKW) are interrupted before they are sent, so a wait ends at
//! once with EINTR instead of parking a thread for the rest of the run.

mod ops;
mod walk;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use fusekit::abi::{self, Opcode};
use fusekit::fuzzing::Harness;
use fusekit::op::DecodeContext;
use fusekit_memfs::{AdapterOptions, Limits, MemFs, MemFsAdapter};

pub use ops::{Encoded, FsOp, Name, Offset, Pick, Seen, Step};

use crate::wire::{
    expects_reply, parse_dirents, parse_reply, read_at, Reply, RequestBuilder, IN_HEADER,
};

/// Longest sequence run from one input (longer inputs are cut).
pub const MAX_STEPS: usize = 64;

/// How long replies completed on other threads (lock waits) may take.
const LATE_REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one fuzz input.
pub fn run(data: &[u8]) {
    let Ok(steps) = Vec::<Step>::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    check_sequence(&steps[..steps.len().min(MAX_STEPS)]);
}

/// Replies per request: whether one is expected, and how many came.
#[derive(Debug, Default)]
struct Tally {
    requests: HashMap<u64, (bool, u32)>,
}

impl Tally {
    fn sent(&mut self, unique: u64, expects: bool) {
        let old = self.requests.insert(unique, (expects, 0));
        assert!(old.is_none(), "unique {unique} reused");
    }

    fn received(&mut self, unique: u64) {
        let entry = self
            .requests
            .get_mut(&unique)
            .unwrap_or_else(|| panic!("reply for unique {unique}, which was never sent"));
        entry.1 += 1;
    }

    fn missing(&self) -> usize {
        self.requests
            .values()
            .filter(|(expects, n)| *expects && *n == 0)
            .count()
    }

    fn check(&self) {
        for (unique, (expects, n)) in &self.requests {
            assert_eq!(
                *n,
                u32::from(*expects),
                "request {unique} got {n} replies (expects one: {expects})"
            );
        }
    }
}

/// Runs `steps` against a fresh memfs and checks everything listed in the module docs.
pub fn check_sequence(steps: &[Step]) {
    let limits = Limits {
        max_bytes: Some(1 << 20),
        max_inodes: Some(64),
    };
    let fs = Arc::new(MemFs::new(limits, (0, 0), 0o1777));
    let adapter = MemFsAdapter::new(Arc::clone(&fs), AdapterOptions::default());
    let h = Harness::new(DecodeContext::default());
    let mut seen = Seen {
        nodes: vec![fusekit::ROOT_ID],
        fhs: Vec::new(),
    };
    let mut tally = Tally::default();
    let mut next_unique = 0;
    let mut unique = || {
        next_unique += 1;
        next_unique
    };
    for step in steps {
        let id = unique();
        let enc = step.encode(id, &seen);
        if enc.blocking {
            let intr = RequestBuilder::new(Opcode::Interrupt as u32, unique(), 0, 0, 0)
                .arg(&abi::InterruptIn { unique: id })
                .finish();
            for msg in h.serve(&adapter, &intr) {
                tally.received(parse_reply(&msg).unique);
            }
        }
        tally.sent(
            id,
            enc.bytes.len() >= IN_HEADER && expects_reply(enc.opcode),
        );
        for msg in h.serve(&adapter, &enc.bytes) {
            let reply = parse_reply(&msg);
            tally.received(reply.unique);
            if reply.unique == id && !enc.raw && reply.error == 0 {
                learn(&enc, &reply, &mut seen);
            }
        }
    }
    let missing = tally.missing();
    if missing > 0 {
        for msg in h.wait_replies(missing, LATE_REPLY_TIMEOUT) {
            tally.received(parse_reply(&msg).unique);
        }
    }
    tally.check();
    assert_eq!(
        h.stats().dropped_replies,
        0,
        "a reply was dropped unanswered (handler panic?)"
    );

    // The kernel's last word: every lookup reference and handle it held dies with it.
    let destroy = RequestBuilder::new(Opcode::Destroy as u32, unique(), 0, 0, 0).finish();
    let replies = h.serve(&adapter, &destroy);
    assert_eq!(replies.len(), 1, "DESTROY must be answered once");
    assert_eq!(parse_reply(&replies[0]).error, 0);
    walk::check_engine(&fs);
}

/// Records node ids and handles a successful reply hands out, and checks reply sizes.
fn learn(enc: &Encoded, reply: &Reply<'_>, seen: &mut Seen) {
    let p = reply.payload;
    let entry_len = size_of::<abi::EntryOut>();
    let Ok(op) = Opcode::try_from(enc.opcode) else {
        return;
    };
    if let Some(max) = enc.max_reply {
        assert!(
            p.len() <= max,
            "{op:?} reply of {} bytes exceeds the {max} asked for",
            p.len()
        );
    }
    match op {
        Opcode::Lookup | Opcode::Mknod | Opcode::Mkdir | Opcode::Symlink | Opcode::Link => {
            assert_eq!(p.len(), entry_len, "{op:?} entry reply size");
            add(&mut seen.nodes, read_at(p, 0));
        }
        Opcode::Create | Opcode::Tmpfile => {
            assert_eq!(
                p.len(),
                entry_len + size_of::<abi::OpenOut>(),
                "{op:?} reply size"
            );
            add(&mut seen.nodes, read_at(p, 0));
            add(&mut seen.fhs, read_at(p, entry_len));
        }
        Opcode::Open | Opcode::Opendir => {
            assert_eq!(p.len(), size_of::<abi::OpenOut>(), "{op:?} reply size");
            add(&mut seen.fhs, read_at(p, 0));
        }
        Opcode::Write => {
            let asked: u32 = read_at(&enc.bytes, IN_HEADER + 16);
            let written: u32 = read_at(p, 0);
            assert!(written <= asked, "wrote {written} of {asked} bytes");
        }
        Opcode::Readdir => {
            parse_dirents(p, false, enc.max_reply.unwrap_or(usize::MAX));
        }
        Opcode::Readdirplus => {
            for r in parse_dirents(p, true, enc.max_reply.unwrap_or(usize::MAX)) {
                let e = r.entry.expect("direntplus entry");
                add(&mut seen.nodes, e.nodeid);
            }
        }
        _ => {}
    }
}

/// Remembers a new non-zero id, keeping the list short.
fn add(list: &mut Vec<u64>, id: u64) {
    if id != 0 && !list.contains(&id) && list.len() < 64 {
        list.push(id);
    }
}
