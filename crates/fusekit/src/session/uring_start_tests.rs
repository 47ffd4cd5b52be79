//! Start-up failure paths against the real kernel (root, /dev/fuse and the `enable_uring`
//! parameter needed; skipped otherwise, failing under CI=true): REGISTER is made to fail for
//! real by registering payload buffers smaller than the kernel's minimum. `Transport::Uring`
//! must then fail naming REGISTER and leave no mount; `Transport::Auto` must switch the
//! connection back to /dev/fuse and serve.

use std::path::Path;
use std::sync::Mutex;

use fusekit_mount::MountOptions;

use super::{Session, SessionError, Transport};
use crate::lowlevel::Filesystem;
use crate::transport::uring::ENABLE_URING_PARAM;

/// Answers GETATTR of the root only.
struct Empty;
impl Filesystem for Empty {
    fn getattr(
        &self,
        _req: &crate::Request<'_>,
        ino: crate::Ino,
        _fh: Option<u64>,
        reply: crate::ReplyAttr,
    ) {
        let attr = crate::FileAttr {
            ino,
            mode: crate::FileType::Directory.mode_bits() | 0o755,
            nlink: 2,
            ..Default::default()
        };
        reply.attr(&attr, std::time::Duration::ZERO)
    }
}

/// Holds enable_uring=Y for the duration, restoring the old value (one test at a time).
struct ParamY {
    previous: String,
    _lock: std::sync::MutexGuard<'static, ()>,
}

fn param_y(test: &str) -> Option<ParamY> {
    static LOCK: Mutex<()> = Mutex::new(());
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let root = rustix::process::geteuid().is_root();
    let ready = root && Path::new("/dev/fuse").exists() && Path::new(ENABLE_URING_PARAM).exists();
    if !ready {
        assert!(
            !(ci && root && Path::new("/dev/fuse").exists() && kernel_at_least(6, 14)),
            "{test}: {ENABLE_URING_PARAM} missing on a kernel >= 6.14 (CI=true)"
        );
        assert!(!ci || root, "{test}: needs root (CI=true)");
        eprintln!("SKIPPED {test}: needs root, /dev/fuse and {ENABLE_URING_PARAM}");
        return None;
    }
    let lock = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let previous = std::fs::read_to_string(ENABLE_URING_PARAM).unwrap();
    std::fs::write(ENABLE_URING_PARAM, "Y").unwrap();
    Some(ParamY {
        previous: previous.trim().to_string(),
        _lock: lock,
    })
}

impl Drop for ParamY {
    fn drop(&mut self) {
        let _ = std::fs::write(ENABLE_URING_PARAM, &self.previous);
    }
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let uname = rustix::system::uname();
    let release = uname.release().to_string_lossy().into_owned();
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let v: (u32, u32) = (
        it.next().and_then(|s| s.parse().ok()).unwrap_or(0),
        it.next().and_then(|s| s.parse().ok()).unwrap_or(0),
    );
    v >= (major, minor)
}

fn mounted_at(dir: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.to_string_lossy();
    info.lines().any(|l| l.split(' ').nth(4) == Some(&*dir))
}

fn session(dir: &Path, transport: Transport) -> Session<Empty> {
    let mut s = Session::mount(Empty, dir, &MountOptions::new().fsname("uring-unit"))
        .expect("mount")
        .transport(transport);
    s.uring_options_mut().payload_shortfall = 4096;
    s
}

#[test]
fn refused_register_fails_strict_and_falls_back_in_auto() {
    let Some(_param) = param_y("refused_register_fails_strict_and_falls_back_in_auto") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();

    let err = session(dir.path(), Transport::Uring)
        .spawn()
        .expect_err("REGISTER with short buffers must fail");
    assert!(matches!(err, SessionError::UringUnavailable(_)), "{err:?}");
    assert!(err.to_string().contains("REGISTER"), "{err}");
    assert!(!mounted_at(dir.path()), "failed start leaves no mount");

    let bg = session(dir.path(), Transport::Auto)
        .spawn()
        .expect("Auto falls back");
    assert_eq!(bg.transport_in_use(), Transport::Dev);
    // Requests flow over /dev/fuse although INIT enabled io_uring.
    let meta = std::fs::metadata(dir.path()).expect("stat over /dev/fuse");
    assert!(meta.is_dir());
    assert!(bg.stats().requests >= 1);
    bg.unmount_and_join().expect("clean end");
    assert!(!mounted_at(dir.path()));
}
