//! Busy polling on /dev/fuse (`Session::busy_poll`): requests that follow each other closely
//! are picked up by a polling worker without sleeping, and an idle session stops polling and
//! burns no CPU. Pinned to /dev/fuse: io_uring does not poll this way.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{require_kernel, try_mount_pinned, with_deadline};
use fusekit::{MountOptions, Transport};
use fusekit_examples::hello::{Hello, CONTENT, NAME};

/// CPU time (user + system) this process has used.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_micros(ticks * 1_000_000 / hz)
}

/// Opens, reads and closes the file `n` times: at least OPEN and RELEASE reach the daemon
/// each round (the data may come from the page cache).
fn read_rounds(path: &std::path::Path, n: usize) {
    let mut buf = Vec::new();
    for _ in 0..n {
        buf.clear();
        std::fs::File::open(path)
            .unwrap()
            .read_to_end(&mut buf)
            .unwrap();
        assert_eq!(buf, CONTENT);
    }
}

fn mount(budget: Duration) -> common::TestMount {
    let options = MountOptions::new().fsname("busy-poll-test").read_only(true);
    try_mount_pinned(Hello::new(0, 0), &options, Transport::Dev, |s| {
        s.workers(2).busy_poll(budget)
    })
    .expect("mount")
}

/// One test, not two: the idle check reads the whole process's CPU time, which a second
/// test running alongside would inflate.
#[test]
fn requests_are_picked_up_while_polling_idle_costs_nothing_and_zero_turns_it_off() {
    if !require_kernel(
        "requests_are_picked_up_while_polling_idle_costs_nothing_and_zero_turns_it_off",
    ) {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let mnt = mount(Duration::from_millis(2));
        let file = mnt.path().join(NAME);
        read_rounds(&file, 2000);
        let stats = mnt.stats();
        assert!(
            stats.polled_requests > 1000,
            "only {} of {} requests were picked up while polling",
            stats.polled_requests,
            stats.requests
        );
        // Idle: after the budget the worker sleeps in a blocking read.
        std::thread::sleep(Duration::from_millis(50));
        let (cpu0, t0) = (cpu_time(), Instant::now());
        std::thread::sleep(Duration::from_millis(500));
        let (cpu, wall) = (cpu_time() - cpu0, t0.elapsed());
        assert!(
            cpu < wall / 10,
            "an idle session used {cpu:?} of CPU in {wall:?}: still polling"
        );
        // And it still serves after sleeping.
        read_rounds(&file, 10);
        let stats = mnt.finish();
        assert_eq!(stats.reply_errors, 0);

        let mnt = mount(Duration::ZERO);
        read_rounds(&mnt.path().join(NAME), 200);
        let stats = mnt.finish();
        assert_eq!(stats.polled_requests, 0);
        assert!(stats.requests >= 400, "{stats:?}");
    });
}
