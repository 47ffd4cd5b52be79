//! Coherence between two mounts of one shared store (`--peer DIR2`), part one: what a change
//! made through A (DIR) looks like through B (DIR2) — close-to-open data and attributes,
//! create/unlink/rename visibility, and size and mtime propagation to B's descriptors. Every
//! wait on B is bounded by `--peer-wait` and recorded with its latency.

use rustix::fs::{Mode, OFlags};

use crate::ctx::Ctx;
use crate::peer::describe_content;
use crate::util::*;

cases! { "peer";
    peer_close_to_open_data ["peer"] "data written and closed on A is read by a fresh open on B, also after A rewrites it";
    peer_close_to_open_attrs ["peer"] "size, mode and mtime set on A before close are what B's stat shows";
    peer_create_visible ["peer"] "a file created on A is found by lookup and listed in readdir on B";
    peer_unlink_visible ["peer"] "after A unlinks a file B has seen, B's lookup answers ENOENT";
    peer_rename_visible ["peer"] "after A renames a file B has seen, the old name is gone and the new one present on B";
    peer_rename_over_existing_visible ["peer"] "after A renames over a name B has read, B sees the new file's data under it and the old name gone";
    peer_size_seen_by_open_fd ["peer"] "truncate and extend on A show in fstat of B's already open descriptor once B reopens";
    peer_mtime_moves_forward ["peer"] "a write on A moves the mtime B sees forward";
}

fn peer_close_to_open_data(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    let first = c.rng().bytes(64 * 1024);
    c.create("f", &first)?;
    b.wait_content(
        "data written and closed on A read by open on B",
        "f",
        &first,
    )?;
    let mut second = first.clone();
    for (i, x) in second.iter_mut().enumerate().step_by(512) {
        *x = x.wrapping_add(1 + (i % 7) as u8);
    }
    let fd = c.open("f", OFlags::WRONLY)?;
    pwrite_all(&fd, &second, 0).must("rewrite f on A")?;
    drop(fd);
    b.wait_content(
        "data rewritten and closed on A read by open on B",
        "f",
        &second,
    )
}

fn peer_close_to_open_attrs(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    let mtime = Ts {
        sec: 1_500_000_000,
        nsec: 123_456_789,
    };
    let fd = c.open("f", OFlags::CREATE | OFlags::WRONLY)?;
    write_all(&fd, &[7u8; 1000]).must("write f on A")?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o640)).must("fchmod f on A")?;
    rustix::fs::futimens(&fd, &stamps((mtime.sec, OMIT), (mtime.sec, mtime.nsec)))
        .must("futimens f on A")?;
    drop(fd);
    let want = format!("size 1000, mode 0640, mtime {mtime}");
    b.wait(&format!("{want} on B after close on A"), || {
        let fd = b
            .try_open("f", OFlags::RDONLY)
            .map_err(|e| format!("open f answered {}", errno_name(e)))?;
        let st = fst(&fd).map_err(|e| format!("fstat answered {}", errno_name(e)))?;
        let seen = format!(
            "size {}, mode {:04o}, mtime {}",
            st.size,
            st.perm(),
            st.mtime
        );
        if seen == want {
            Ok(())
        } else {
            Err(seen)
        }
    })
}

fn peer_create_visible(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    c.create("new", b"x")?;
    b.wait_present("a file created on A found by lookup on B", "new")?;
    b.wait("a file created on A listed by readdir on B", || {
        let fd = b
            .try_open(".", OFlags::RDONLY | OFlags::DIRECTORY)
            .map_err(|e| format!("open . answered {}", errno_name(e)))?;
        let names = crate::ctx::list_fd(std::os::fd::AsFd::as_fd(&fd))
            .map_err(|o| format!("readdir: {o:?}"))?;
        if names == ["new"] {
            Ok(())
        } else {
            Err(format!("listing {names:?}"))
        }
    })
}

fn peer_unlink_visible(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    c.create("f", b"x")?;
    b.wait_present("f created on A found on B", "f")?;
    c.unlink("f")?;
    b.wait_gone("ENOENT on B after unlink on A", "f")
}

fn peer_rename_visible(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    c.create("old", b"renamed")?;
    b.wait_content("old created on A read on B", "old", b"renamed")?;
    c.rename("old", "new")?;
    b.wait_gone("old name ENOENT on B after rename on A", "old")?;
    b.wait_content(
        "new name on B holds the data after rename on A",
        "new",
        b"renamed",
    )
}

fn peer_rename_over_existing_visible(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    c.create("src", b"new data")?;
    c.create("dst", b"old data, longer")?;
    b.wait_content("dst created on A read on B", "dst", b"old data, longer")?;
    b.wait_present("src created on A found on B", "src")?;
    c.rename("src", "dst")?;
    b.wait_gone("src ENOENT on B after rename over dst on A", "src")?;
    b.wait_content(
        "dst on B holds src's data after rename over it on A",
        "dst",
        b"new data",
    )
}

/// Waits until reopening `f` on B makes both the already open `old` and the new descriptor
/// report `size`.
fn wait_size(b: &crate::peer::Peer, old: &std::os::fd::OwnedFd, size: i64, what: &str) -> R<()> {
    b.wait(what, || {
        let fresh = b
            .try_open("f", OFlags::RDONLY)
            .map_err(|e| format!("reopen f answered {}", errno_name(e)))?;
        let a = fst(old).map_err(|e| format!("fstat of the open fd: {}", errno_name(e)))?;
        let n = fst(&fresh).map_err(|e| format!("fstat of the reopened fd: {}", errno_name(e)))?;
        if a.size == size && n.size == size {
            Ok(())
        } else {
            Err(format!(
                "size {} on the open fd, {} on the reopened one",
                a.size, n.size
            ))
        }
    })
}

fn peer_size_seen_by_open_fd(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    let data = c.rng().bytes(10_000);
    c.create("f", &data)?;
    b.wait_content("f created on A read on B", "f", &data)?;
    let old = b.try_open("f", OFlags::RDONLY).must("open f on B")?;
    let fd = c.open("f", OFlags::WRONLY)?;
    rustix::fs::ftruncate(&fd, 100).must("truncate f to 100 on A")?;
    drop(fd);
    wait_size(&b, &old, 100, "size 100 on B after truncate on A")?;
    let got = pread_upto(&old, 200, 0).must("read B's open fd after truncate")?;
    if got != data[..100] {
        return Err(fail(
            "the first 100 bytes",
            describe_content(&data[..100], &got),
            "read B's open fd after truncate on A",
        ));
    }
    let fd = c.open("f", OFlags::WRONLY)?;
    rustix::fs::ftruncate(&fd, 20_000).must("extend f to 20000 on A")?;
    drop(fd);
    wait_size(&b, &old, 20_000, "size 20000 on B after extend on A")?;
    let tail = pread_upto(&old, 100, 19_900).must("read the extended tail on B")?;
    check_bytes("extended tail read on B", &[0u8; 100], &tail)
}

fn peer_mtime_moves_forward(c: &Ctx) -> R<()> {
    let b = c.peer()?;
    c.create("f", b"first")?;
    let before = b.wait_present("f created on A found on B", "f")?.mtime;
    c.tick();
    let fd = c.open("f", OFlags::WRONLY | OFlags::APPEND)?;
    write_all(&fd, b" and more").must("append on A")?;
    drop(fd);
    b.wait(
        &format!("mtime after {before} on B after a write on A"),
        || {
            let fd = b
                .try_open("f", OFlags::RDONLY)
                .map_err(|e| format!("open f answered {}", errno_name(e)))?;
            let st = fst(&fd).map_err(|e| format!("fstat answered {}", errno_name(e)))?;
            if st.mtime > before && st.size == 14 {
                Ok(())
            } else {
                Err(format!("mtime {}, size {}", st.mtime, st.size))
            }
        },
    )
}
