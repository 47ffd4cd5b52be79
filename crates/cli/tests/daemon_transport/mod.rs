//! The test transport for the `fusekit mount` daemons these tests start
//! (`FUSEKIT_TEST_TRANSPORT=dev|uring`, unset = dev): the `--transport` arguments, the
//! `enable_uring` guard, and the proof that a daemon served over that transport — the kernel's
//! fdinfo of its io_uring descriptors (completions while mounted) and the transport its log
//! names. The switch and the fdinfo reader are fusekit-testkit's.

#![allow(dead_code, unused_imports)]

use fusekit_testkit::{ring_proof, transport};

pub use fusekit_testkit::transport::{
    over_uring, param_for_test_transport, test_transport, UringParam,
};

/// `--transport dev|uring` for `fusekit mount`.
pub fn args() -> [&'static str; 2] {
    ["--transport", transport::transport_arg()]
}

/// What the daemon's "mounted" log line says about the transport (`transport=io_uring`).
pub fn log_mark() -> String {
    format!("transport={}", test_transport())
}

/// Fails unless daemon `pid`, after serving some I/O, shows the test transport in the
/// kernel's fdinfo: over io_uring its rings posted completions (requests arrived there), over
/// /dev/fuse it holds no ring at all. Call while it is still mounted.
pub fn assert_served_over_test_transport(pid: u32) {
    assert_served_over(pid, over_uring());
}

/// Like [`assert_served_over_test_transport`], for a daemon told to use io_uring (`uring`) or
/// /dev/fuse.
pub fn assert_served_over(pid: u32, uring: bool) {
    let rings = ring_proof::ring_activity(pid).expect("read the daemon's fdinfo");
    if uring {
        assert!(
            rings.rings > 0 && rings.completions > 0,
            "FUSEKIT_TEST_TRANSPORT=uring but the daemon's rings completed nothing: {rings:?}"
        );
    } else {
        assert_eq!(rings.rings, 0, "a /dev/fuse daemon holds io_uring rings");
    }
}

/// Fails unless the mount whose daemon was just killed refuses `probe` (a path inside it) as
/// a dead mount: ENOTCONN. Over io_uring the first requests may instead fail ECONNABORTED or
/// ECANCELED: the dead daemon's FUSE ring commands keep the connection up until io_uring
/// cancels them, which happens asynchronously after the process is reaped, and requests
/// queued meanwhile are ended by that teardown (measured: 1 or 2 such requests, then
/// ENOTCONN). Those are retried for up to 2 s; any other answer fails.
pub fn assert_dead_mount(probe: &std::path::Path, what: &str) {
    use rustix::io::Errno;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut raced = Vec::new();
    loop {
        let errno = match std::fs::metadata(probe) {
            Ok(_) => panic!("{what}: the dead mount answered a stat"),
            Err(e) => Errno::from_io_error(&e).expect("an OS error"),
        };
        if errno == Errno::NOTCONN {
            if !raced.is_empty() {
                println!(
                    "{what}: before ENOTCONN, requests racing the ring teardown got {raced:?}"
                );
            }
            return;
        }
        let racing = over_uring() && matches!(errno, Errno::CONNABORTED | Errno::CANCELED);
        assert!(
            racing && std::time::Instant::now() < deadline,
            "{what}: the dead mount answers {errno:?}, not ENOTCONN (after {raced:?})"
        );
        raced.push(errno);
    }
}
