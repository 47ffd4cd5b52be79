//! Race cases on names (see `race_data.rs` for races on file contents): several threads hammer one directory or file for `--race-seconds`, with
//! choices drawn from the seeded RNG, and every observation is checked against what any
//! serial order of the same calls could produce (no hidden files, no lost or duplicated
//! names, exact link counts, exact data, no garbage bytes, exactly one O_EXCL winner).

use std::collections::BTreeSet;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Instant;

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use crate::ctx::{list_fd, Ctx};
use crate::report::Outcome;
use crate::util::*;

cases! { "race";
    race_release_vs_unlink [] "closing files while their names are unlinked leaves no hidden files and an empty, removable dir";
    race_rename_vs_open [] "opens racing renames see the file's data or ENOENT, never anything else";
    race_excl_create_one_winner [] "concurrent O_CREAT|O_EXCL of one name: exactly one winner, the rest EEXIST";
    race_readdir_vs_unlink [] "listings during unlinks show every survivor once and no unknown names";
    race_link_unlink_nlink_exact [] "concurrent link/unlink on one inode leaves nlink exactly 1 + remaining links";
    race_exchange_vs_stat [] "lookups racing RENAME_EXCHANGE always find one of the two inodes";
    race_create_unlink_same_name [] "after create/unlink races on one name, stat and readdir agree";
}

/// Shared state of one race: a deadline, a stop flag and the first failure seen.
pub(crate) struct Race {
    deadline: Instant,
    stop: AtomicBool,
    failure: Mutex<Option<Outcome>>,
    ops: AtomicU64,
}

impl Race {
    pub(crate) fn new(c: &Ctx) -> Race {
        Race {
            deadline: Instant::now() + c.race,
            stop: AtomicBool::new(false),
            failure: Mutex::new(None),
            ops: AtomicU64::new(0),
        }
    }

    pub(crate) fn running(&self) -> bool {
        self.ops.fetch_add(1, Ordering::Relaxed);
        !self.stop.load(Ordering::Relaxed) && Instant::now() < self.deadline
    }

    pub(crate) fn fail(&self, o: Outcome) {
        let mut f = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            *f = Some(o);
        }
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Records `r` if it is a failure; returns whether to go on.
    pub(crate) fn ok(&self, r: R<()>) -> bool {
        match r {
            Ok(()) => true,
            Err(o) => {
                self.fail(o);
                false
            }
        }
    }

    pub(crate) fn result(self) -> R<()> {
        match self.failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(o) => Err(o),
            None => Ok(()),
        }
    }
}

fn dir(c: &Ctx) -> R<OwnedFd> {
    c.mkdir("d", 0o755)?;
    c.open("d", OFlags::RDONLY | OFlags::DIRECTORY)
}

fn create(d: BorrowedFd<'_>, name: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(d, name, flags | OFlags::CLOEXEC, Mode::from_raw_mode(0o644))
}

fn race_release_vs_unlink(c: &Ctx) -> R<()> {
    let d = dir(c)?;
    let names: Vec<String> = (0..8).map(|i| format!("r{i}")).collect();
    let state = Race::new(c);
    let race = &state;
    let mut seeds = c.rng();
    std::thread::scope(|s| {
        for _ in 0..2 {
            let mut rng = Rng::new(seeds.next_u64());
            let (race, d, names) = (race, d.as_fd(), &names);
            s.spawn(move || {
                while race.running() {
                    let n = &names[rng.below(8) as usize];
                    let r =
                        create(d, n, OFlags::CREATE | OFlags::RDWR).must(&format!("create {n}"));
                    let fd = match r {
                        Ok(fd) => fd,
                        Err(o) => return race.fail(o),
                    };
                    let _ = rustix::io::pwrite(&fd, b"payload", rng.below(4096));
                    drop(fd);
                }
            });
        }
        let mut rng = Rng::new(seeds.next_u64());
        let (race, d, names) = (race, d.as_fd(), &names);
        s.spawn(move || {
            while race.running() {
                let n = &names[rng.below(8) as usize];
                match rustix::fs::unlinkat(d, n.as_str(), AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(e) => {
                        return race.fail(fail(
                            "success or ENOENT",
                            errno_name(e),
                            format!("unlink {n}"),
                        ))
                    }
                }
            }
        });
    });
    state.result()?;
    let left = list_fd(d.as_fd())?;
    let unknown: Vec<&String> = left.iter().filter(|n| !names.contains(n)).collect();
    check_eq(
        "entries other than the test's names (hidden files?)",
        Vec::<&String>::new(),
        unknown,
    )?;
    for n in &left {
        c.unlink(&format!("d/{n}"))?;
    }
    check_eq(
        "entries after unlinking every name",
        Vec::<String>::new(),
        list_fd(d.as_fd())?,
    )?;
    rustix::fs::unlinkat(c.d(), "d", AtFlags::REMOVEDIR).must("rmdir d")
}

fn race_rename_vs_open(c: &Ctx) -> R<()> {
    let d = dir(c)?;
    let magic = c.rng().bytes(4096);
    c.create("d/a", &magic)?;
    let state = Race::new(c);
    let race = &state;
    let mut seeds = c.rng();
    std::thread::scope(|s| {
        let (race, dd) = (race, d.as_fd());
        s.spawn(move || {
            while race.running() {
                for (x, y) in [("a", "b"), ("b", "a")] {
                    let r = rustix::fs::renameat(dd, x, dd, y).must(&format!("rename {x} {y}"));
                    if !race.ok(r) {
                        return;
                    }
                }
            }
        });
        for _ in 0..2 {
            let mut rng = Rng::new(seeds.next_u64());
            let (race, dd, magic) = (race, d.as_fd(), &magic);
            s.spawn(move || {
                while race.running() {
                    let n = if rng.below(2) == 0 { "a" } else { "b" };
                    match create(dd, n, OFlags::RDONLY) {
                        Ok(fd) => {
                            let r = read_all(&fd).must(&format!("read {n}"));
                            let r = r.and_then(|data| {
                                check(
                                    &format!("content of {n}"),
                                    data == *magic,
                                    "the file's data",
                                    format!("{} other bytes", data.len()),
                                )
                            });
                            if !race.ok(r) {
                                return;
                            }
                        }
                        Err(Errno::NOENT) => {}
                        Err(e) => {
                            return race.fail(fail(
                                "success or ENOENT",
                                errno_name(e),
                                format!("open {n}"),
                            ))
                        }
                    }
                }
            });
        }
    });
    state.result()?;
    check_eq("entries", 1, list_fd(d.as_fd())?.len())
}

fn race_excl_create_one_winner(c: &Ctx) -> R<()> {
    let d = dir(c)?;
    let state = Race::new(c);
    let race = &state;
    let threads = 4;
    let mut round = 0u64;
    while race.running() || round < 20 {
        round += 1;
        let name = format!("x{}", round % 7);
        let barrier = Barrier::new(threads);
        let results: Vec<rustix::io::Result<OwnedFd>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads)
                .map(|_| {
                    let (b, n, dd) = (&barrier, &name, d.as_fd());
                    s.spawn(move || {
                        b.wait();
                        create(dd, n, OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY)
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or(Err(Errno::IO)))
                .collect()
        });
        let winners = results.iter().filter(|r| r.is_ok()).count();
        let others: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .filter(|e| **e != Errno::EXIST)
            .map(|e| errno_name(*e))
            .collect();
        check_eq(&format!("winners in round {round}"), 1, winners)?;
        check_eq(
            &format!("errors other than EEXIST in round {round}"),
            Vec::<String>::new(),
            others,
        )?;
        rustix::fs::unlinkat(&d, name.as_str(), AtFlags::empty())
            .must(&format!("unlink {name}"))?;
    }
    Ok(())
}

fn race_readdir_vs_unlink(c: &Ctx) -> R<()> {
    let d = dir(c)?;
    let survivors: BTreeSet<String> = (0..100).map(|i| format!("s-{i:03}")).collect();
    let victims: Vec<String> = (0..200).map(|i| format!("v-{i:03}")).collect();
    for n in survivors.iter().chain(&victims) {
        create(d.as_fd(), n, OFlags::CREATE | OFlags::WRONLY).must(&format!("create {n}"))?;
    }
    let state = Race::new(c);
    let race = &state;
    let mut rng = c.rng();
    std::thread::scope(|s| {
        let (race, dd, victims) = (race, d.as_fd(), &victims);
        s.spawn(move || {
            while race.running() {
                let n = &victims[rng.below(200) as usize];
                let r = if rng.below(3) == 0 {
                    create(dd, n, OFlags::CREATE | OFlags::WRONLY).map(drop)
                } else {
                    rustix::fs::unlinkat(dd, n.as_str(), AtFlags::empty())
                };
                match r {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(e) => {
                        return race.fail(fail(
                            "success or ENOENT",
                            errno_name(e),
                            format!("churn {n}"),
                        ))
                    }
                }
            }
        });
        let mut rounds = 0;
        while race.running() || rounds < 3 {
            rounds += 1;
            let fd = match create(d.as_fd(), ".", OFlags::RDONLY | OFlags::DIRECTORY).must("open d")
            {
                Ok(fd) => fd,
                Err(o) => return race.fail(o),
            };
            let mut dir = match rustix::fs::Dir::new(fd).must("opendir") {
                Ok(x) => x,
                Err(o) => return race.fail(o),
            };
            let mut seen = BTreeSet::new();
            let mut dups = Vec::new();
            while let Some(e) = dir.read() {
                match e {
                    Ok(e) => {
                        let n = e.file_name().to_string_lossy().into_owned();
                        // Victims are also re-created by the churn thread: a new file under
                        // an old name may be listed twice (POSIX leaves it unspecified). A
                        // survivor listed twice is a real duplicate.
                        if !seen.insert(n.clone()) && survivors.contains(&n) {
                            dups.push(n);
                        }
                    }
                    Err(e) => return race.fail(fail("success", errno_name(e), "readdir")),
                }
            }
            let missing: Vec<&String> = survivors.iter().filter(|n| !seen.contains(*n)).collect();
            let unknown: Vec<&String> = seen
                .iter()
                .filter(|n| {
                    *n != "." && *n != ".." && !survivors.contains(*n) && !victims.contains(n)
                })
                .collect();
            if !missing.is_empty() || !dups.is_empty() || !unknown.is_empty() {
                return race.fail(fail(
                    "every survivor exactly once, no unknown names",
                    format!("missing {missing:?}, duplicated {dups:?}, unknown {unknown:?}"),
                    format!("listing round {rounds}"),
                ));
            }
        }
        race.stop.store(true, Ordering::Relaxed);
    });
    state.result()
}

fn race_link_unlink_nlink_exact(c: &Ctx) -> R<()> {
    let d = dir(c)?;
    let f = create(d.as_fd(), "f", OFlags::CREATE | OFlags::RDWR).must("create f")?;
    let state = Race::new(c);
    let race = &state;
    let threads = 3u64;
    let max = 1 + threads * 4 + (1..=threads).sum::<u64>();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (race, dd) = (race, d.as_fd());
            s.spawn(move || {
                let link = |n: &str| {
                    rustix::fs::linkat(dd, "f", dd, n, AtFlags::empty())
                        .must(&format!("link f {n}"))
                };
                let unlink = |n: &str| {
                    rustix::fs::unlinkat(dd, n, AtFlags::empty()).must(&format!("unlink {n}"))
                };
                while race.running() {
                    for k in 0..4 {
                        if !race.ok(link(&format!("t{t}-{k}"))) {
                            return;
                        }
                    }
                    for k in 0..4 {
                        if !race.ok(unlink(&format!("t{t}-{k}"))) {
                            return;
                        }
                    }
                }
                for k in 0..=t {
                    race.ok(link(&format!("t{t}-keep-{k}")));
                }
            });
        }
        let (race, f) = (race, &f);
        s.spawn(move || {
            while race.running() {
                let r = fst(f).must("fstat f").and_then(|st| {
                    check(
                        "nlink during the race",
                        (1..=max).contains(&st.nlink),
                        format!("1..={max}"),
                        st.nlink,
                    )
                });
                if !race.ok(r) {
                    return;
                }
            }
        });
    });
    state.result()?;
    let want = 1 + (1..=threads).sum::<u64>();
    check_eq("nlink after the race", want, fst(&f).must("fstat f")?.nlink)?;
    check_eq(
        "names after the race",
        want as usize,
        list_fd(d.as_fd())?.len(),
    )
}

fn race_exchange_vs_stat(c: &Ctx) -> R<()> {
    let d = dir(c)?;
    c.create("d/a", b"A")?;
    c.create("d/b", b"B")?;
    let (ia, ib) = (c.stat("d/a")?.ino, c.stat("d/b")?.ino);
    match rustix::fs::renameat_with(&d, "a", &d, "b", RenameFlags::EXCHANGE) {
        Err(e @ (Errno::INVAL | Errno::OPNOTSUPP | Errno::NOSYS)) => {
            return Err(skip(format!("RENAME_EXCHANGE answered {}", errno_name(e))))
        }
        r => r.must("RENAME_EXCHANGE a b")?,
    }
    let state = Race::new(c);
    let race = &state;
    let mut seeds = c.rng();
    std::thread::scope(|s| {
        let (race, dd) = (race, d.as_fd());
        s.spawn(move || {
            while race.running() {
                let r = rustix::fs::renameat_with(dd, "a", dd, "b", RenameFlags::EXCHANGE)
                    .must("RENAME_EXCHANGE a b");
                if !race.ok(r) {
                    return;
                }
            }
        });
        for _ in 0..2 {
            let mut rng = Rng::new(seeds.next_u64());
            let (race, dd) = (race, d.as_fd());
            s.spawn(move || {
                while race.running() {
                    let n = if rng.below(2) == 0 { "a" } else { "b" };
                    let r = rustix::fs::statat(dd, n, AtFlags::empty())
                        .map(St::from)
                        .must(&format!("stat {n} during exchange"));
                    let r = r.and_then(|st| {
                        check(
                            &format!("inode of {n}"),
                            st.ino == ia || st.ino == ib,
                            format!("{ia} or {ib}"),
                            st.ino,
                        )
                    });
                    if !race.ok(r) {
                        return;
                    }
                }
            });
        }
    });
    state.result()?;
    let mut inos = vec![c.stat("d/a")?.ino, c.stat("d/b")?.ino];
    inos.sort();
    let mut want = vec![ia, ib];
    want.sort();
    check_eq("inodes after the race", want, inos)
}

fn race_create_unlink_same_name(c: &Ctx) -> R<()> {
    let d = dir(c)?;
    let state = Race::new(c);
    let race = &state;
    std::thread::scope(|s| {
        for creator in [true, false] {
            let (race, dd) = (race, d.as_fd());
            s.spawn(move || {
                while race.running() {
                    let r = if creator {
                        create(dd, "x", OFlags::CREATE | OFlags::WRONLY).map(drop)
                    } else {
                        rustix::fs::unlinkat(dd, "x", AtFlags::empty())
                    };
                    match r {
                        Ok(()) | Err(Errno::NOENT) => {}
                        Err(e) => {
                            return race.fail(fail(
                                "success or ENOENT",
                                errno_name(e),
                                if creator { "create x" } else { "unlink x" },
                            ))
                        }
                    }
                }
            });
        }
    });
    state.result()?;
    let listed = list_fd(d.as_fd())?;
    let exists = match c.try_lstat("d/x") {
        Ok(_) => true,
        Err(Errno::NOENT) => false,
        Err(e) => return Err(fail("success or ENOENT", errno_name(e), "stat d/x")),
    };
    let want: Vec<String> = if exists { vec!["x".into()] } else { vec![] };
    check_eq(
        &format!("listing when stat says exists={exists}"),
        want,
        listed,
    )?;
    if exists {
        c.unlink("d/x")?;
    }
    check_eq(
        "listing after cleanup",
        Vec::<String>::new(),
        list_fd(d.as_fd())?,
    )
}
