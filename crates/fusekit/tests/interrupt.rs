//! INTERRUPT: a handler that blocks until its request is interrupted. The caller is (1) a thread
//! hit by a caught signal — its read fails with EINTR — and (2) a process killed with SIGKILL —
//! it dies once the handler gives up. In both cases the handler observes the interrupt.

mod blocking_fs;
mod common;

use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use blocking_fs::{Blocking, Counters};
use common::{require_kernel, with_deadline, TestMount};
use fusekit::MountOptions;

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

extern "C" fn ignore_signal(_: libc::c_int) {}

#[test]
fn signal_interrupts_blocked_read_with_eintr() {
    if !require_kernel("signal_interrupts_blocked_read_with_eintr") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        // SAFETY: installs a handler that does nothing, without SA_RESTART, so a blocked
        // read(2) returns EINTR instead of restarting. Test process only.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = ignore_signal as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
                0
            );
        }
        let counters = Arc::new(Counters::default());
        let mount = TestMount::new(Blocking(Arc::clone(&counters)), &MountOptions::new());
        let path = mount.path().join("block");
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let file = std::fs::File::open(path).unwrap();
            // SAFETY: pthread_self has no preconditions.
            tid_tx
                .send(unsafe { libc::pthread_self() } as usize)
                .unwrap();
            let mut buf = [0u8; 64];
            rustix::io::read(&file, &mut buf)
        });
        let tid = tid_rx.recv().unwrap() as libc::pthread_t;
        wait_for("the READ to reach the handler", || {
            counters.reads_started.load(Ordering::SeqCst) == 1
        });
        // SAFETY: `tid` is a live thread of this process (it is blocked in read).
        assert_eq!(unsafe { libc::pthread_kill(tid, libc::SIGUSR1) }, 0);
        let result = reader.join().unwrap();
        assert_eq!(
            result,
            Err(rustix::io::Errno::INTR),
            "the caller sees EINTR"
        );
        assert_eq!(
            counters.interrupted.load(Ordering::SeqCst),
            1,
            "the handler observed the interrupt"
        );
        let stats = mount.finish();
        assert!(stats.interrupts >= 1, "{stats:?}");
    });
}

#[test]
fn sigkill_of_caller_interrupts_handler() {
    if !require_kernel("sigkill_of_caller_interrupts_handler") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let counters = Arc::new(Counters::default());
        let mount = TestMount::new(Blocking(Arc::clone(&counters)), &MountOptions::new());
        let mut child = std::process::Command::new("cat")
            .arg(mount.path().join("block"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn cat");
        wait_for("cat's READ to reach the handler", || {
            counters.reads_started.load(Ordering::SeqCst) == 1
        });
        child.kill().expect("SIGKILL cat");
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
        assert_eq!(
            counters.interrupted.load(Ordering::SeqCst),
            1,
            "the handler observed the interrupt"
        );
        mount.finish();
    });
}
