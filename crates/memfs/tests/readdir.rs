//! Directory listings: dots first, stable cookies under concurrent change, buffer-full
//! handling, readdirplus lookup references.

mod common;
use std::collections::HashSet;
use std::ops::ControlFlow;

use common::*;
use fusekit_memfs::*;

#[test]
fn dots_first_then_entries_in_insertion_order() {
    let fs = fs();
    let d = fs.mkdir(&root(), ROOT_ID, n("d"), 0o755).unwrap();
    for name in ["c", "a", "b"] {
        fs.mknod(&root(), d.ino, n(name), 0o100644, 0).unwrap();
    }
    let fh = fs.opendir(&root(), d.ino, 0).unwrap();
    let mut got = Vec::new();
    fs.readdir(d.ino, fh, 0, |e| {
        got.push((e.name.to_string_lossy().into_owned(), e.ino, e.kind));
        ControlFlow::Continue(())
    })
    .unwrap();
    let names: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(names, [".", "..", "c", "a", "b"]);
    assert_eq!((got[0].1, got[1].1), (d.ino, ROOT_ID));
    assert_eq!(
        fs.opendir(&root(), fs.lookup(d.ino, n("a")).unwrap().ino, 0)
            .err(),
        Some(Errno::NOTDIR)
    );
}

#[test]
fn resumed_listing_has_no_duplicates_or_skips_under_change() {
    let fs = fs();
    let d = fs.mkdir(&root(), ROOT_ID, n("d"), 0o755).unwrap();
    for i in 0..500 {
        fs.mknod(&root(), d.ino, n(&format!("f{i}")), 0o100644, 0)
            .unwrap();
    }
    let fh = fs.opendir(&root(), d.ino, 0).unwrap();
    let mut seen = Vec::new();
    let mut off = 0;
    let mut round = 0;
    loop {
        let mut batch = 0;
        let mut last = off;
        fs.readdir(d.ino, fh, off, |e| {
            if batch == 13 {
                return ControlFlow::Break(());
            }
            batch += 1;
            last = e.offset;
            seen.push(e.name.to_string_lossy().into_owned());
            ControlFlow::Continue(())
        })
        .unwrap();
        if batch == 0 {
            break;
        }
        off = last;
        round += 1;
        if round > 30 {
            continue;
        }
        // Churn: remove some entries (seen and unseen ones with odd numbers), add new ones.
        let victim = format!("f{}", (round * 37) % 500);
        if victim.trim_start_matches('f').parse::<u32>().unwrap() % 2 == 1 {
            let _ = fs.unlink(&root(), d.ino, n(&victim));
        }
        fs.mknod(&root(), d.ino, n(&format!("new{round}")), 0o100644, 0)
            .unwrap();
        fs.rename(
            &root(),
            d.ino,
            n(&format!("new{round}")),
            d.ino,
            n(&format!("ren{round}")),
            RenameFlags(0),
        )
        .unwrap();
    }
    let mut uniq = HashSet::new();
    for s in &seen {
        assert!(uniq.insert(s.clone()), "duplicate {s}");
    }
    // Every even-numbered original survived the whole listing and must be there.
    for i in (0..500).step_by(2) {
        assert!(uniq.contains(&format!("f{i}")), "skipped survivor f{i}");
    }
    assert!(uniq.contains(".") && uniq.contains(".."));
}

#[test]
fn readdirplus_takes_lookup_refs_only_for_consumed_entries() {
    let fs = fs();
    let d = fs.mkdir(&root(), ROOT_ID, n("d"), 0o755).unwrap();
    let mut inos = Vec::new();
    for i in 0..5 {
        let a = fs
            .mknod(&root(), d.ino, n(&format!("f{i}")), 0o100644, 0)
            .unwrap();
        fs.forget(a.ino, 1);
        inos.push(a.ino);
    }
    let fh = fs.opendir(&root(), d.ino, 0).unwrap();
    let mut count = 0;
    let mut dots = 0;
    let mut last = 0;
    fs.readdirplus(d.ino, fh, 0, |e, attr| {
        match attr {
            None => dots += 1,
            Some(a) => {
                assert_eq!(a.ino, e.ino);
                if count == 3 {
                    return ControlFlow::Break(());
                }
                count += 1;
            }
        }
        last = e.offset;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!((dots, count), (2, 3));
    // Unlink everything: the three listed inodes stay (kernel refs), two are freed.
    for i in 0..5 {
        fs.unlink(&root(), d.ino, n(&format!("f{i}"))).unwrap();
    }
    let alive: Vec<bool> = inos.iter().map(|&i| fs.getattr(i).is_ok()).collect();
    assert_eq!(alive, [true, true, true, false, false]);
    for &i in &inos[..3] {
        fs.forget(i, 1);
    }
    assert_eq!(fs.stats().inodes, 2);
    // Resuming after the last consumed offset lists nothing more (all removed).
    let mut more = 0;
    fs.readdirplus(d.ino, fh, last, |_, _| {
        more += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(more, 0);
    fs.releasedir(d.ino, fh).unwrap();
}
