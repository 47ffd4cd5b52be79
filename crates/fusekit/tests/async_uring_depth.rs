//! An async filesystem over io_uring gets ring entries for the requests it serves at once:
//! a request holds its entry until it is answered, so with the old fixed depth (8 per queue)
//! at most 8 x queues GETATTRs could wait in handlers together, whatever the async layer's
//! limit. The adapter declares its in-flight limit in INIT and the session sizes the queues
//! from it; an explicit `uring_queue_depth` still wins.

mod async_util;
mod uring_util;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use async_util::{Probe, Waiting};
use fusekit::asyncfs::{AsyncAdapter, AsyncConfig};
use fusekit::Transport;
use uring_util::{mount, require_uring, with_deadline};

/// More callers than two queues of the old default depth could hold (2 x 8).
const CALLERS: usize = 24;

fn adapter(config: AsyncConfig, getattr_wait: Duration) -> (AsyncAdapter<Waiting>, Arc<Probe>) {
    let probe = Arc::new(Probe::default());
    let fs = Waiting {
        probe: Arc::clone(&probe),
        getattr_wait,
    };
    (AsyncAdapter::new(fs, config).expect("adapter"), probe)
}

#[test]
fn async_requests_in_flight_are_not_capped_by_the_ring_depth() {
    let Some(_param) = require_uring("async_requests_in_flight_are_not_capped_by_the_ring_depth")
    else {
        return;
    };
    with_deadline(Duration::from_secs(60), || {
        let (fs, probe) = adapter(AsyncConfig::new(), Duration::from_millis(600));
        let m = mount(fs, |s| s.transport(Transport::Uring)).expect("mount over io_uring");
        assert_eq!(m.session().transport_in_use(), Transport::Uring);
        let ring = m.session().uring_stats().expect("uring stats");
        // The adapter's default limit (1024 in flight) asks for the most the session gives
        // by itself.
        assert_eq!(ring.queue_depth, 32, "{ring:?}");
        assert!(m.session().negotiated().requests_in_flight >= 1024);

        let root = m.path().to_path_buf();
        let start = Arc::new(Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|i| {
                let path = root.join(format!("f{i}"));
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    std::fs::metadata(&path).map(|_| ())
                })
            })
            .collect();
        for c in callers {
            c.join().unwrap().expect("stat");
        }
        let peak = probe.peak.load(Ordering::SeqCst);
        // Every GETATTR waits 600 ms in its handler: all of them were there at once.
        assert!(
            peak >= CALLERS,
            "only {peak} of {CALLERS} requests were in handlers at once"
        );
        drop(m);
    });
}

#[test]
fn a_small_limit_or_an_explicit_depth_sizes_the_ring() {
    let Some(_param) = require_uring("a_small_limit_or_an_explicit_depth_sizes_the_ring") else {
        return;
    };
    with_deadline(Duration::from_secs(60), || {
        // A limit of 4 in flight needs no more than the default 8 entries.
        let (fs, _) = adapter(AsyncConfig::new().max_in_flight(4), Duration::ZERO);
        let m = mount(fs, |s| s.transport(Transport::Uring)).expect("mount over io_uring");
        assert_eq!(m.session().negotiated().requests_in_flight, 4);
        assert_eq!(m.session().uring_stats().unwrap().queue_depth, 8);
        std::fs::metadata(m.path().join("f1")).expect("stat");
        drop(m);

        // The user's depth wins over the declared limit.
        let (fs, _) = adapter(AsyncConfig::new(), Duration::ZERO);
        let m = mount(fs, |s| s.transport(Transport::Uring).uring_queue_depth(3))
            .expect("mount over io_uring");
        assert_eq!(m.session().uring_stats().unwrap().queue_depth, 3);
        std::fs::metadata(m.path().join("f2")).expect("stat");
        drop(m);
    });
}
