//! Coherence between two mounts (`--peer DIR2`), part two: descriptors open on one side while
//! the other side changes the name — B keeps reading and writing a file A unlinked or renamed
//! another file over (NFS answers ESTALE here unless it silly-renames) — and O_APPEND writers
//! on both sides whose records must all land whole.

use std::collections::BTreeSet;
use std::os::fd::OwnedFd;

use rustix::fs::OFlags;

use crate::ctx::Ctx;
use crate::peer::{describe_content, Peer};
use crate::util::*;

cases! { "peer";
    peer_unlink_while_open_elsewhere ["peer"] "B's open descriptor keeps reading and writing a file A unlinked, until close; nothing is left behind";
    peer_rename_over_while_open_elsewhere ["peer"] "B's open descriptor keeps the old file's data after A renames another file over its name";
    peer_append_both_sides ["peer"] "O_APPEND writers on A and B at once: every record lands whole, none overwritten";
}

/// B's descriptor still reads `data`, takes a write past it and reads that back.
fn still_usable(fd: &OwnedFd, data: &[u8], after: &str) -> R<()> {
    let got = read_all(fd).must(&format!("read B's open fd after {after}"))?;
    if got != data {
        return Err(fail(
            "the data written before",
            describe_content(data, &got),
            format!("read B's open fd after {after}"),
        ));
    }
    pwrite_all(fd, b"tail", data.len() as u64).must(&format!("write B's open fd after {after}"))?;
    let back = pread_upto(fd, 4, data.len() as u64).must("read back B's write")?;
    check_bytes(&format!("B's write after {after}"), b"tail", &back)?;
    check_eq(
        &format!("fstat size of B's fd after {after}"),
        data.len() as i64 + 4,
        fst(fd).must("fstat B's fd")?.size,
    )
}

fn open_on_b(b: &Peer, data: &[u8]) -> R<OwnedFd> {
    b.wait_content("f created on A read on B", "f", data)?;
    b.try_open("f", OFlags::RDWR).must("open f on B")
}

fn peer_unlink_while_open_elsewhere(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    let data = c.rng().bytes(12_000);
    c.create("f", &data)?;
    let fd = open_on_b(&b, &data)?;
    c.unlink("f")?;
    b.wait_gone("ENOENT on B after unlink on A", "f")?;
    still_usable(&fd, &data, "unlink on A")?;
    drop(fd);
    b.wait(
        "B's directory empty after B closed the unlinked file",
        || {
            let dir = b
                .try_open(".", OFlags::RDONLY | OFlags::DIRECTORY)
                .map_err(|e| format!("open . answered {}", errno_name(e)))?;
            match crate::ctx::list_fd(std::os::fd::AsFd::as_fd(&dir)) {
                Ok(names) if names.is_empty() => Ok(()),
                Ok(names) => Err(format!("listing {names:?}")),
                Err(o) => Err(format!("readdir: {o:?}")),
            }
        },
    )?;
    check_eq(
        "entries on A after B closed the unlinked file",
        Vec::<String>::new(),
        c.list(".")?,
    )
}

fn peer_rename_over_while_open_elsewhere(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    let data = c.rng().bytes(12_000);
    c.create("f", &data)?;
    c.create("g", b"the replacement")?;
    let fd = open_on_b(&b, &data)?;
    c.rename("g", "f")?;
    b.wait_content(
        "f opened anew on B holds the replacement after rename over it on A",
        "f",
        b"the replacement",
    )?;
    still_usable(&fd, &data, "rename over its name on A")?;
    drop(fd);
    c.read("f")
        .and_then(|got| check_bytes("f on A after B closed", b"the replacement", &got))
}

/// Records per writer and the record size: small enough to run fast, many enough to race.
const RECORDS: usize = 200;
const RECORD: usize = 64;

/// Record `seq` of writer `who`: "<who> <seq>" padded with `who` to RECORD bytes, newline last.
fn record(who: u8, seq: usize) -> Vec<u8> {
    let mut r = format!("{} {seq:06} ", who as char).into_bytes();
    r.resize(RECORD - 1, who);
    r.push(b'\n');
    r
}

fn append_all(fd: OwnedFd, who: u8) -> R<()> {
    for seq in 0..RECORDS {
        let rec = record(who, seq);
        let n = rustix::io::write(&fd, &rec).must(&format!("O_APPEND write of record {seq}"))?;
        check_eq("bytes of one O_APPEND write", RECORD, n)?;
    }
    Ok(())
}

fn peer_append_both_sides(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    c.create("log", b"")?;
    b.wait_present("log created on A found on B", "log")?;
    let on_a = c.open("log", OFlags::WRONLY | OFlags::APPEND)?;
    let on_b = b
        .try_open("log", OFlags::WRONLY | OFlags::APPEND)
        .must("open log O_APPEND on B")?;
    let (ra, rb) = std::thread::scope(|s| {
        let ta = s.spawn(|| append_all(on_a, b'A'));
        let tb = s.spawn(|| append_all(on_b, b'B'));
        (ta.join(), tb.join())
    });
    for r in [ra, rb] {
        r.map_err(|_| fail("no panic", "panic", "an append thread"))??;
    }
    let total = (2 * RECORDS * RECORD) as i64;
    b.wait(
        &format!("size {total} on B after both sides appended"),
        || {
            let fd = b
                .try_open("log", OFlags::RDONLY)
                .map_err(|e| format!("open log answered {}", errno_name(e)))?;
            let size = fst(&fd).map_err(|e| errno_name(e).to_string())?.size;
            if size == total {
                Ok(())
            } else {
                Err(format!("size {size}"))
            }
        },
    )?;
    let got = c.read("log")?;
    check_records(&got)
}

/// Every record whole and each (writer, seq) present exactly once, each writer's in order.
fn check_records(got: &[u8]) -> R<()> {
    let want = 2 * RECORDS * RECORD;
    check_eq("size of log read on A", want, got.len())?;
    let mut seen = BTreeSet::new();
    let mut next = [0usize; 2];
    for (i, chunk) in got.chunks(RECORD).enumerate() {
        let who = chunk[0];
        let seq = std::str::from_utf8(&chunk[2..8])
            .ok()
            .and_then(|s| s.parse::<usize>().ok());
        let whole =
            matches!(who, b'A' | b'B') && seq.is_some_and(|q| chunk == record(who, q).as_slice());
        let Some(seq) = seq.filter(|_| whole) else {
            return Err(fail(
                "a whole record",
                format!("{:?}", String::from_utf8_lossy(chunk)),
                format!("record {i} (offset {}) of log", i * RECORD),
            ));
        };
        let w = usize::from(who == b'B');
        check_eq(
            &format!("order of writer {}'s records", who as char),
            next[w],
            seq,
        )?;
        next[w] += 1;
        seen.insert((who, seq));
    }
    check_eq("distinct records", 2 * RECORDS, seen.len())
}
