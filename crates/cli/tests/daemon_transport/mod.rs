//! The test transport for the `fusekit mount` daemons these tests start
//! (`FUSEKIT_TEST_TRANSPORT=dev|uring`, unset = dev): the `--transport` arguments, the
//! `enable_uring` guard, and the proof that a daemon served over that transport — the kernel's
//! fdinfo of its io_uring descriptors (completions while mounted) and the transport its log
//! names. The switch and the fdinfo reader are fusekit-testkit's, included by path: this
//! crate's tests have no dev-dependency on it.

#![allow(dead_code, unused_imports)]

#[path = "../../../testkit/src/ring_proof.rs"]
mod ring_proof;
#[path = "../../../testkit/src/transport.rs"]
mod transport;

pub use transport::{over_uring, param_for_test_transport, test_transport, UringParam};

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
/// a dead mount: ENOTCONN. Over io_uring the first request may instead fail ECONNABORTED: the
/// dead daemon's FUSE ring commands keep the connection up until io_uring cancels them, which
/// happens asynchronously after the process is reaped, and a request queued meanwhile is
/// ended with ECONNABORTED by that teardown. A second request must get ENOTCONN on both.
pub fn assert_dead_mount(probe: &std::path::Path, what: &str) {
    let errno = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|_| ())
            .unwrap_err()
            .raw_os_error()
            .unwrap()
    };
    let enotconn = rustix::io::Errno::NOTCONN.raw_os_error();
    let first = errno(probe);
    let raced_ring_teardown =
        over_uring() && first == rustix::io::Errno::CONNABORTED.raw_os_error();
    if !raced_ring_teardown {
        assert_eq!(first, enotconn, "{what}: the dead mount answers ENOTCONN");
    }
    assert_eq!(
        errno(probe),
        enotconn,
        "{what}: the dead mount answers ENOTCONN (again)"
    );
}
