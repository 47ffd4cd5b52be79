//! Renaming a directory while files under it are open and being written, through the
//! path-level API: every write must reach the file it was written to (the filesystem does I/O
//! by path in hide mode, so a stale or half-renamed path would send it elsewhere or fail),
//! and afterwards the files are found under the directory's final name only.

mod common;
#[path = "path_mapfs.rs"]
mod mapfs;

use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{require_kernel, with_deadline, TestMount};
use fusekit::path::{PathAdapter, PathConfig, UnlinkMode};
use fusekit::MountOptions;
use mapfs::MapFs;

const FILES: usize = 3;
const RENAMES: usize = 100;
const CHUNK: usize = 64;

fn rename_while_writing(mode: UnlinkMode, io_by_path: bool) {
    let fs = MapFs::new(io_by_path, Duration::from_micros(200));
    let inner = Arc::clone(&fs.inner);
    let config = PathConfig::new(mode).io_paths(io_by_path);
    let mount = TestMount::new(PathAdapter::new(fs, config), &MountOptions::default());
    let root = mount.path().to_path_buf();
    std::fs::create_dir_all(root.join("d0/sub")).expect("mkdir");

    let files: Vec<std::fs::File> = (0..FILES)
        .map(|i| {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(root.join(format!("d0/sub/f{i}")))
                .expect("create")
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = files
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let stop = Arc::clone(&stop);
            let count = Arc::clone(&count);
            std::thread::spawn(move || {
                let mut chunks = 0usize;
                while !stop.load(Ordering::SeqCst) || chunks < 20 {
                    let byte = b'a' + i as u8;
                    let buf = [byte; CHUNK];
                    f.write_all_at(&buf, (chunks * CHUNK) as u64)
                        .expect("write while the directory is renamed");
                    chunks += 1;
                    count.fetch_add(1, Ordering::SeqCst);
                }
                f.sync_all().ok();
                (i, chunks)
            })
        })
        .collect();

    while count.load(Ordering::SeqCst) < FILES * 5 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let before = count.load(Ordering::SeqCst);
    let mut current = root.join("d0");
    for n in 1..=RENAMES {
        let next = root.join(format!("d{n}"));
        std::fs::rename(&current, &next).expect("rename directory");
        current = next;
        std::thread::sleep(Duration::from_micros(500));
    }
    let during = count.load(Ordering::SeqCst) - before;
    stop.store(true, Ordering::SeqCst);
    let written: Vec<(usize, usize)> = writers
        .into_iter()
        .map(|w| w.join().expect("writer"))
        .collect();
    assert!(
        inner.wait_closed(Duration::from_secs(20)),
        "releases did not arrive"
    );

    let final_name = format!("/d{RENAMES}/sub");
    for (i, chunks) in written {
        let data = inner
            .contents(&format!("{final_name}/f{i}"))
            .unwrap_or_else(|| panic!("f{i} is not under {final_name}"));
        let byte = b'a' + i as u8;
        assert_eq!(data.len(), chunks * CHUNK, "f{i}: size");
        assert!(
            data.iter().all(|&b| b == byte),
            "f{i} holds bytes written to another file"
        );
        // Through the mount too, by the new path.
        let seen = std::fs::read(current.join(format!("sub/f{i}"))).expect("read by new path");
        assert_eq!(seen, data, "f{i} through the mount");
    }
    assert!(
        !root.join("d0").exists(),
        "the old directory name still resolves"
    );
    let violations = inner.violations.lock().unwrap().clone();
    drop(mount);
    eprintln!("{mode:?}: {during} writes while the directory was renamed {RENAMES} times");
    assert!(
        during >= RENAMES,
        "only {during} writes overlapped the renames: the race was not exercised"
    );
    assert!(violations.is_empty(), "violations: {violations:?}");
}

#[test]
fn path_rename_dir_while_writing_hide_by_path() {
    if !require_kernel("path_rename_dir_while_writing_hide_by_path") {
        return;
    }
    with_deadline(Duration::from_secs(120), || {
        rename_while_writing(UnlinkMode::Hide, true)
    });
}

#[test]
fn path_rename_dir_while_writing_handle_based() {
    if !require_kernel("path_rename_dir_while_writing_handle_based") {
        return;
    }
    with_deadline(Duration::from_secs(120), || {
        rename_while_writing(UnlinkMode::HandleBased, false)
    });
}

/// Hide mode: a directory whose only entry is an unlinked, still-open file can be removed
/// (its hidden file moves to the root); the open file keeps working by path and disappears
/// at its last close.
#[test]
fn path_rmdir_with_open_unlinked_file_hide() {
    if !require_kernel("path_rmdir_with_open_unlinked_file_hide") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let fs = MapFs::new(true, Duration::ZERO);
        let inner = Arc::clone(&fs.inner);
        let config = PathConfig::new(UnlinkMode::Hide);
        let mount = TestMount::new(PathAdapter::new(fs, config), &MountOptions::default());
        let dir = mount.path().join("d");
        std::fs::create_dir(&dir).expect("mkdir");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(dir.join("f"))
            .expect("create");
        f.write_all_at(b"before", 0).expect("write");
        std::fs::remove_file(dir.join("f")).expect("unlink open file");
        assert_eq!(inner.hidden_left().len(), 1, "the open file was hidden");
        std::fs::remove_dir(&dir).expect("rmdir with only a hidden file inside");
        assert!(!dir.exists());
        f.write_all_at(b"+after", 6).expect("write after rmdir");
        let mut buf = [0u8; 12];
        f.read_exact_at(&mut buf, 0).expect("read after rmdir");
        assert_eq!(&buf, b"before+after");
        let listed: Vec<_> = std::fs::read_dir(mount.path())
            .expect("readdir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(listed.is_empty(), "root lists {listed:?}");

        // The same for a directory renamed over one whose only entry is hidden.
        let (src, dst) = (mount.path().join("src"), mount.path().join("dst"));
        std::fs::create_dir(&src).expect("mkdir src");
        std::fs::create_dir(&dst).expect("mkdir dst");
        let g = std::fs::File::create(dst.join("g")).expect("create g");
        std::fs::remove_file(dst.join("g")).expect("unlink open g");
        std::fs::rename(&src, &dst).expect("rename over a dir holding only a hidden file");
        assert!(!src.exists() && dst.is_dir());
        g.write_all_at(b"g", 0).expect("write g after the rename");
        drop(g);
        drop(f);
        assert!(
            inner.wait_closed(Duration::from_secs(20)),
            "release did not arrive"
        );
        let left = inner.hidden_left();
        let violations = inner.violations.lock().unwrap().clone();
        drop(mount);
        assert!(left.is_empty(), "hidden files left: {left:?}");
        assert!(violations.is_empty(), "violations: {violations:?}");
    });
}
