//! readdir: exact listings, '.' and '..', d_type and d_ino agreeing with stat, long and many
//! names, telldir/seekdir/rewinddir, and listing consistency while other names churn.

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{AtFlags, Dir, FileType, OFlags};

use crate::ctx::Ctx;
use crate::util::*;

cases! { "readdir";
    readdir_lists_exact_set [] "readdir lists exactly the created names, each once";
    readdir_dot_and_dotdot [] "readdir includes '.' and '..' with the right inode numbers";
    readdir_empty_dir_only_dots [] "an empty directory lists only '.' and '..'";
    readdir_dtype_matches_stat [] "d_type is DT_UNKNOWN or matches the type stat reports";
    readdir_ino_matches_stat [] "d_ino equals st_ino for every entry";
    readdir_large_dir_no_dups [] "a 2000-entry directory lists every name exactly once";
    readdir_long_names_intact [] "255-byte names come back intact";
    readdir_after_unlink_not_listed [] "an unlinked name is no longer listed";
    readdir_rewind_sees_new_entry [] "rewinddir after a create lists the new name";
    telldir_seekdir_resumes [] "seekdir to a telldir cookie resumes the listing at the same entry";
    seekdir_zero_restarts [] "seekdir(0) restarts the listing from the beginning";
    readdir_concurrent_churn_keeps_survivors [] "while other names are created and removed, untouched names are listed exactly once";
    readdir_after_rename_shows_new_name [] "after rename the listing shows the new name and not the old one";
    readdir_renaming_each_entry_ends [] "a listing that renames each file it is given (1000 files, same directory) ends, with fewer than 2 entries per file";
}

/// Files in [`readdir_renaming_each_entry_ends`].
const RENAMED_FILES: usize = 1000;

fn readdir_renaming_each_entry_ends(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    for i in 0..RENAMED_FILES {
        c.create(&format!("d/f{i}"), b"")?;
    }
    let dfd = c.open("d", OFlags::RDONLY | OFlags::DIRECTORY)?;
    let mut dir = Dir::read_from(&dfd).must("opendir d")?;
    // ext4 and btrfs list each file once (1002 entries with the dots), tmpfs about as many;
    // a listing that keeps handing out the renamed names never ends: stop it at 4 per file.
    let limit = 4 * RENAMED_FILES;
    let mut seen = 0;
    while let Some(e) = dir.read() {
        let e = e.must("readdir d")?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "." || name == ".." {
            continue;
        }
        seen += 1;
        if seen >= limit {
            break;
        }
        let renamed = format!("r{name}");
        rustix::fs::renameat(&dfd, name.as_str(), &dfd, renamed.as_str())
            .must(&format!("rename d/{name} to d/{renamed}"))?;
    }
    check(
        "entries listed while renaming each one",
        seen < 2 * RENAMED_FILES,
        format!("fewer than {} (the listing ends)", 2 * RENAMED_FILES),
        if seen >= limit {
            format!("{seen} and still going")
        } else {
            seen.to_string()
        },
    )
}

fn entries(c: &Ctx, name: &str) -> R<Vec<(String, u64, FileType)>> {
    let fd = c.open(name, OFlags::RDONLY | OFlags::DIRECTORY)?;
    let mut dir = Dir::new(fd).must("opendir")?;
    let mut out = Vec::new();
    while let Some(e) = dir.read() {
        let e = e.must("readdir")?;
        out.push((
            e.file_name().to_string_lossy().into_owned(),
            e.ino(),
            e.file_type(),
        ));
    }
    Ok(out)
}

fn names_of(v: &[(String, u64, FileType)]) -> Vec<String> {
    let mut n: Vec<String> = v.iter().map(|e| e.0.clone()).collect();
    n.sort();
    n
}

fn readdir_lists_exact_set(c: &Ctx) -> R<()> {
    let mut want = Vec::new();
    for i in 0..20 {
        let n = format!("entry-{i:02}");
        c.create(&n, b"")?;
        want.push(n);
    }
    c.mkdir("zdir", 0o755)?;
    c.symlink("x", "zlink")?;
    want.extend(["zdir".to_string(), "zlink".to_string()]);
    want.extend([".".to_string(), "..".to_string()]);
    want.sort();
    check_eq("listing", want, names_of(&entries(c, ".")?))
}

fn readdir_dot_and_dotdot(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    let e = entries(c, "d")?;
    let find = |n: &str| e.iter().find(|x| x.0 == n).map(|x| x.1);
    let dot = find(".").ok_or_else(|| fail("'.' listed", "missing", "readdir d"))?;
    let dotdot = find("..").ok_or_else(|| fail("'..' listed", "missing", "readdir d"))?;
    check_eq("d_ino of '.'", c.stat("d")?.ino, dot)?;
    check_eq("d_ino of '..'", c.stat(".")?.ino, dotdot)
}

fn readdir_empty_dir_only_dots(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    check_eq(
        "listing",
        vec![".".to_string(), "..".to_string()],
        names_of(&entries(c, "d")?),
    )
}

fn readdir_dtype_matches_stat(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.mkdir("d", 0o755)?;
    c.symlink("f", "l")?;
    rustix::fs::mkfifoat(c.d(), "p", rustix::fs::Mode::from_raw_mode(0o644)).must("mkfifo p")?;
    for (name, _, t) in entries(c, ".")? {
        if name == "." || name == ".." || t == FileType::Unknown {
            continue;
        }
        let st = c.lstat(&name)?;
        check_eq(
            &format!("d_type of {name}"),
            FileType::from_raw_mode(st.mode),
            t,
        )?;
    }
    Ok(())
}

fn readdir_ino_matches_stat(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.mkdir("d", 0o755)?;
    c.symlink("f", "l")?;
    for (name, ino, _) in entries(c, ".")? {
        if name == ".." {
            continue;
        }
        check_eq(&format!("d_ino of {name}"), c.lstat(&name)?.ino, ino)?;
    }
    Ok(())
}

fn readdir_large_dir_no_dups(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    let dfd = c.open("d", OFlags::RDONLY | OFlags::DIRECTORY)?;
    for i in 0..2000 {
        let n = format!("file-with-a-longish-name-{i:05}");
        rustix::fs::openat(
            &dfd,
            n.as_str(),
            OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
            rustix::fs::Mode::from_raw_mode(0o644),
        )
        .must(&format!("create {n}"))?;
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (n, _, _) in entries(c, "d")? {
        *seen.entry(n).or_default() += 1;
    }
    let dups: Vec<&String> = seen
        .iter()
        .filter(|(_, k)| **k > 1)
        .map(|(n, _)| n)
        .collect();
    check_eq("names listed more than once", Vec::<&String>::new(), dups)?;
    check_eq("distinct names (incl. . and ..)", 2002, seen.len())
}

fn readdir_long_names_intact(c: &Ctx) -> R<()> {
    let max = rustix::fs::fstatfs(c.d()).must("fstatfs")?.f_namelen;
    if max < 255 {
        return Err(skip(format!("filesystem names are limited to {max} bytes")));
    }
    let a = format!("{}a", "x".repeat(254));
    let b = format!("{}b", "y".repeat(254));
    c.create(&a, b"")?;
    c.create(&b, b"")?;
    check_eq("listing", vec![a, b], c.list(".")?)
}

fn readdir_after_unlink_not_listed(c: &Ctx) -> R<()> {
    for n in ["a", "b", "c"] {
        c.create(n, b"")?;
    }
    c.unlink("b")?;
    check_eq(
        "listing",
        vec!["a".to_string(), "c".to_string()],
        c.list(".")?,
    )
}

fn readdir_rewind_sees_new_entry(c: &Ctx) -> R<()> {
    c.create("a", b"")?;
    let fd = c.open(".", OFlags::RDONLY | OFlags::DIRECTORY)?;
    let mut dir = Dir::new(fd).must("opendir")?;
    let mut first = Vec::new();
    while let Some(e) = dir.read() {
        first.push(
            e.must("readdir")?
                .file_name()
                .to_string_lossy()
                .into_owned(),
        );
    }
    c.create("b", b"")?;
    dir.rewind();
    let mut second = Vec::new();
    while let Some(e) = dir.read() {
        second.push(
            e.must("readdir after rewind")?
                .file_name()
                .to_string_lossy()
                .into_owned(),
        );
    }
    check(
        "first listing lacks b",
        !first.contains(&"b".to_string()),
        "no b",
        format!("{first:?}"),
    )?;
    check(
        "listing after rewinddir",
        second.contains(&"b".to_string()),
        "contains b",
        format!("{second:?}"),
    )
}

fn telldir_seekdir_resumes(c: &Ctx) -> R<()> {
    for i in 0..50 {
        c.create(&format!("n{i:02}"), b"")?;
    }
    let fd = c.open(".", OFlags::RDONLY | OFlags::DIRECTORY)?;
    let mut dir = Dir::new(fd).must("opendir")?;
    let mut all = Vec::new();
    let mut cookies = Vec::new();
    while let Some(e) = dir.read() {
        let e = e.must("readdir")?;
        all.push(e.file_name().to_string_lossy().into_owned());
        cookies.push(e.offset());
    }
    let mid = all.len() / 2;
    dir.seek(cookies[mid - 1]).must("seekdir to a cookie")?;
    let mut rest = Vec::new();
    while let Some(e) = dir.read() {
        rest.push(
            e.must("readdir after seekdir")?
                .file_name()
                .to_string_lossy()
                .into_owned(),
        );
    }
    check_eq("entries after seekdir", all[mid..].to_vec(), rest)
}

fn seekdir_zero_restarts(c: &Ctx) -> R<()> {
    for n in ["a", "b", "c"] {
        c.create(n, b"")?;
    }
    let fd = c.open(".", OFlags::RDONLY | OFlags::DIRECTORY)?;
    let mut dir = Dir::new(fd).must("opendir")?;
    let mut first = Vec::new();
    while let Some(e) = dir.read() {
        first.push(
            e.must("readdir")?
                .file_name()
                .to_string_lossy()
                .into_owned(),
        );
    }
    dir.seek(0).must("seekdir 0")?;
    let mut again = Vec::new();
    while let Some(e) = dir.read() {
        again.push(
            e.must("readdir")?
                .file_name()
                .to_string_lossy()
                .into_owned(),
        );
    }
    check_eq("listing after seekdir(0)", first, again)
}

fn readdir_concurrent_churn_keeps_survivors(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    let dfd = c.open("d", OFlags::RDONLY | OFlags::DIRECTORY)?;
    let survivors: Vec<String> = (0..300).map(|i| format!("keep-{i:03}")).collect();
    for n in &survivors {
        c.create(&format!("d/{n}"), b"")?;
    }
    let stop = AtomicBool::new(false);
    let deadline = std::time::Instant::now() + c.race.min(std::time::Duration::from_secs(1));
    let mut rng = c.rng();
    std::thread::scope(|s| -> R<()> {
        let churn = s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let n = format!("churn-{}", rng.below(64));
                let _ = rustix::fs::openat(
                    dfd.as_fd(),
                    n.as_str(),
                    OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
                    rustix::fs::Mode::from_raw_mode(0o644),
                );
                let n = format!("churn-{}", rng.below(64));
                let _ = rustix::fs::unlinkat(dfd.as_fd(), n.as_str(), AtFlags::empty());
            }
        });
        let mut result = Ok(());
        let mut rounds = 0;
        while std::time::Instant::now() < deadline || rounds < 3 {
            rounds += 1;
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for (n, _, _) in entries(c, "d")? {
                *counts.entry(n).or_default() += 1;
            }
            let missing: Vec<&String> = survivors
                .iter()
                .filter(|n| !counts.contains_key(*n))
                .collect();
            // A churned name that is removed and created again during the listing is a new
            // file and may legitimately be listed twice (POSIX leaves it unspecified); a
            // survivor never may.
            let dups: Vec<&String> = counts
                .iter()
                .filter(|(n, k)| **k > 1 && survivors.contains(*n))
                .map(|(n, _)| n)
                .collect();
            if !missing.is_empty() || !dups.is_empty() {
                result = Err(fail(
                    "every survivor exactly once",
                    format!("missing {missing:?}, duplicated {dups:?}"),
                    format!("listing round {rounds}"),
                ));
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        let _ = churn.join();
        result
    })
}

fn readdir_after_rename_shows_new_name(c: &Ctx) -> R<()> {
    c.create("old", b"")?;
    c.create("other", b"")?;
    c.rename("old", "new")?;
    check_eq(
        "listing",
        vec!["new".to_string(), "other".to_string()],
        c.list(".")?,
    )
}
