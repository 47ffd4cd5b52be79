//! Failures that must happen before anything is mounted, each with a message naming the
//! path, option or cause. None of these mounts anything, so they run without root too.

mod common;

use std::path::Path;

use common::TestDir;
use fusekit_mount::{mount, MountError, MountMethod, MountOptions};

#[test]
fn missing_mountpoint_is_named() {
    let dir = TestDir::new();
    let missing = dir.path().join("nope");
    let err = mount(&missing, &MountOptions::new()).unwrap_err();
    assert!(
        matches!(err, MountError::MountpointMissing(ref p) if *p == missing),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "cannot mount on {}: no such file or directory",
            missing.display()
        )
    );
    let deeper = dir.path().join("nope/deeper");
    let err = mount(&deeper, &MountOptions::new()).unwrap_err();
    assert!(
        matches!(err, MountError::MountpointMissing(ref p) if *p == deeper),
        "{err:?}"
    );
}

#[test]
fn file_as_mountpoint_is_not_a_directory() {
    let dir = TestDir::new();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = mount(&file, &MountOptions::new()).unwrap_err();
    assert!(
        matches!(err, MountError::NotADirectory(ref p) if *p == file),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("cannot mount on {}: not a directory", file.display())
    );
    // Through a symlink, the error names the resolved file.
    std::os::unix::fs::symlink(&file, dir.path().join("link")).unwrap();
    let err = mount(&dir.path().join("link"), &MountOptions::new()).unwrap_err();
    assert!(
        matches!(err, MountError::NotADirectory(ref p) if *p == file),
        "{err:?}"
    );
}

#[test]
fn bad_options_are_refused_before_touching_the_mountpoint() {
    let missing = Path::new("/nonexistent/fusekit/mnt");
    let err = mount(missing, &MountOptions::new().extra("a,b")).unwrap_err();
    assert!(matches!(err, MountError::InvalidOption { .. }), "{err:?}");
    assert!(err.to_string().contains("\"a,b\""), "{err}");
    let err = mount(missing, &MountOptions::new().extra("rootmode=100000")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid mount option \"rootmode=100000\": fusekit sets this option itself"
    );
}

#[test]
fn strict_mode_cannot_auto_unmount() {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("SKIPPED strict_mode_cannot_auto_unmount: no /dev/fuse");
        return;
    }
    let dir = TestDir::new();
    let mnt = dir.subdir("mnt");
    let opts = MountOptions::new()
        .method(MountMethod::Strict)
        .auto_unmount(true);
    let err = mount(&mnt, &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid mount option \"auto_unmount\": only fusermount3 provides it, and strict \
         mode forbids fusermount3"
    );
}

#[test]
fn a_missing_fusermount3_is_named() {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("SKIPPED a_missing_fusermount3_is_named: no /dev/fuse");
        return;
    }
    let dir = TestDir::new();
    let mnt = dir.subdir("mnt");
    let program = dir.path().join("no-such-fusermount3");
    let opts = MountOptions::new()
        .method(MountMethod::Fusermount)
        .fusermount(&program);
    let err = mount(&mnt, &opts).unwrap_err();
    assert!(matches!(err, MountError::FusermountMissing { path: Some(ref p) } if *p == program));
    assert_eq!(
        err.to_string(),
        format!("fusermount3 not found at {}", program.display())
    );
}
