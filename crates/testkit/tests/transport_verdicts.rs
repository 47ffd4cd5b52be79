//! The pure parts of the transport switch and the ring proof: the environment's default, the
//! verdict on a finished mount's counters, and the fdinfo parser.

use fusekit::{Transport, UringStats};
use fusekit_testkit::ring_proof::{cq_tail, ring_activity, RingActivity};
use fusekit_testkit::transport::ring_verdict;
use fusekit_testkit::{test_transport, transport_arg, TRANSPORT_ENV};

fn rings(requests: u64, submit_errors: u64, commit_errors: u64) -> Option<UringStats> {
    let mut s = UringStats::default();
    s.requests = requests;
    s.submit_errors = submit_errors;
    s.commit_errors = commit_errors;
    Some(s)
}

#[test]
fn ring_verdicts() {
    assert_eq!(ring_verdict(10, rings(8, 0, 0)), Ok(true));
    assert_eq!(ring_verdict(0, rings(0, 0, 0)), Ok(false));
    let none_over_ring = ring_verdict(3, rings(0, 0, 0)).unwrap_err();
    assert!(none_over_ring.contains("no request travelled over io_uring"));
    assert!(ring_verdict(5, None)
        .unwrap_err()
        .contains("no io_uring counters"));
    assert!(ring_verdict(5, rings(5, 1, 0))
        .unwrap_err()
        .contains("errors"));
    assert!(ring_verdict(5, rings(5, 0, 2))
        .unwrap_err()
        .contains("errors"));
}

#[test]
fn unset_transport_means_dev_fuse() {
    // The variable is process-wide, so this only checks what the environment already says
    // (the transport_switch tests run children with it set).
    match std::env::var(TRANSPORT_ENV).as_deref() {
        Err(_) | Ok("") | Ok("dev") => {
            assert_eq!(test_transport(), Transport::Dev);
            assert_eq!(transport_arg(), "dev");
        }
        Ok(_) => {
            assert_eq!(test_transport(), Transport::Uring);
            assert_eq!(transport_arg(), "uring");
        }
    }
}

#[test]
fn cq_tail_is_read_from_fdinfo_text() {
    let info = "pos:\t0\nflags:\t02\nSqMask:\t0x7\nSqHead:\t5\nSqTail:\t5\n\
                CachedSqHead:\t5\nCqMask:\t0xf\nCqHead:\t3\nCqTail:\t4\nCachedCqTail:\t4\n";
    assert_eq!(cq_tail(info), Some(4));
    assert_eq!(cq_tail("SqTail:\t5\n"), None);
}

#[test]
fn a_process_without_rings_has_none() {
    let me = ring_activity(std::process::id()).expect("read own fds");
    assert_eq!(me, RingActivity::default());
}
