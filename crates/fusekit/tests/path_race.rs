//! Release vs unlink / rename-over of open files through the path-level API, in the spirit of
//! libfuse's release/unlink race test and its issue 746 (hidden files left behind when release
//! gets no path). A `MapFs` whose release and rename sleep to widen the windows; many rounds
//! of open-write-close racing unlink or rename-over of the same name; then: no hidden file
//! may remain in the backing map (checked before unmount, whose clean-up would hide a leak),
//! no release may see a path that does not exist, and hide mode must really have hidden
//! files (so the test exercised the case it is about).

mod common;
#[path = "path_mapfs.rs"]
mod mapfs;

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{require_kernel, with_deadline, TestMount};
use fusekit::path::{PathAdapter, PathConfig, UnlinkMode, HIDDEN_PREFIX};
use fusekit::MountOptions;
use mapfs::MapFs;

const ROUNDS: usize = 300;

fn race(mode: UnlinkMode, io_paths: bool) {
    // I/O by path needs paths for I/O; otherwise the filesystem goes by handle.
    let fs = MapFs::new(io_paths, Duration::from_micros(300));
    let inner = Arc::clone(&fs.inner);
    let config = PathConfig::new(mode).io_paths(io_paths);
    let mount = TestMount::new(PathAdapter::new(fs, config), &MountOptions::default());
    let root = mount.path().to_path_buf();

    for round in 0..ROUNDS {
        let name = root.join(format!("f{}", round % 4));
        let other = root.join(format!("g{round}"));
        let barrier = Arc::new(Barrier::new(2));
        let (b1, n1) = (Arc::clone(&barrier), name.clone());
        let writer = std::thread::spawn(move || {
            b1.wait();
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&n1)
                .expect("open");
            f.write_all(b"payload").expect("write");
            if round % 3 == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
            f.write_all(b"more").expect("write after a possible unlink");
            let meta = f.metadata().expect("fstat");
            assert!(meta.len() >= 11, "fstat size after writes: {}", meta.len());
        });
        let remover = {
            let name = name.clone();
            std::thread::spawn(move || {
                if round % 2 == 1 {
                    std::fs::write(&other, b"replacement").expect("write other");
                }
                barrier.wait();
                if round % 2 == 0 {
                    match std::fs::remove_file(&name) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => panic!("unlink {name:?}: {e}"),
                    }
                } else {
                    std::fs::rename(&other, &name).expect("rename over");
                }
            })
        };
        writer.join().expect("writer");
        remover.join().expect("remover");
    }

    assert!(
        inner.wait_closed(Duration::from_secs(20)),
        "releases did not arrive"
    );
    let listed: Vec<String> = std::fs::read_dir(&root)
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        listed.iter().all(|n| !n.starts_with(HIDDEN_PREFIX)),
        "readdir shows hidden files: {listed:?}"
    );
    let left = inner.hidden_left();
    let violations = inner.violations.lock().unwrap().clone();
    let hides = inner.hides.load(Ordering::SeqCst);
    let pathless = inner.pathless_releases.load(Ordering::SeqCst);
    eprintln!(
        "{mode:?} io_paths={io_paths}: {hides} files hidden, {pathless} releases without a path"
    );
    drop(mount);
    assert!(left.is_empty(), "hidden files left behind: {left:?}");
    assert!(violations.is_empty(), "violations: {violations:?}");
    match mode {
        UnlinkMode::Hide => assert!(hides > 0, "no file was ever hidden: the race never ran"),
        UnlinkMode::HandleBased => assert_eq!(hides, 0, "handle-based mode hid a file"),
    }
    if !io_paths {
        assert!(pathless > 0, "releases were given paths with io_paths off");
    }
}

#[test]
fn path_race_hide_with_paths() {
    if !require_kernel("path_race_hide_with_paths") {
        return;
    }
    with_deadline(Duration::from_secs(120), || race(UnlinkMode::Hide, true));
}

#[test]
fn path_race_hide_without_paths() {
    if !require_kernel("path_race_hide_without_paths") {
        return;
    }
    with_deadline(Duration::from_secs(120), || race(UnlinkMode::Hide, false));
}

#[test]
fn path_race_handle_based() {
    if !require_kernel("path_race_handle_based") {
        return;
    }
    with_deadline(Duration::from_secs(120), || {
        race(UnlinkMode::HandleBased, false)
    });
}
