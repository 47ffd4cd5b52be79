//! Which transport the integration tests run over, and the proof that they really did.
//!
//! `FUSEKIT_TEST_TRANSPORT=dev|uring` (unset: `dev`) chooses the transport of every mount made
//! through [`TestMount`](crate::TestMount) and of the out-of-process daemons the tests start.
//! Over io_uring nothing falls back silently: the session is started with
//! [`Transport::Uring`] (which fails instead of falling back), the transport in use is
//! asserted, and when the mount ends its ring counters must show requests served over the
//! rings and no submit or commit errors. The fuse module parameter `enable_uring` is held at `Y`
//! while such a mount lives and restored afterwards ([`UringParam`]).

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use fusekit::{BackgroundSession, Transport, UringStats};

/// The environment variable that chooses the tests' transport: `dev` (or unset) or `uring`.
pub const TRANSPORT_ENV: &str = "FUSEKIT_TEST_TRANSPORT";

/// The fuse module parameter that lets the kernel offer FUSE over io_uring.
pub const ENABLE_URING: &str = "/sys/module/fuse/parameters/enable_uring";

/// The transport the integration tests run over, from [`TRANSPORT_ENV`]: [`Transport::Dev`]
/// unless it says `uring`. Any other value panics, so a typo cannot run the wrong pass.
pub fn test_transport() -> Transport {
    match std::env::var(TRANSPORT_ENV).as_deref() {
        Err(std::env::VarError::NotPresent) | Ok("") | Ok("dev") => Transport::Dev,
        Ok("uring") => Transport::Uring,
        Ok(other) => panic!("{TRANSPORT_ENV}={other:?}: expected `dev` or `uring`"),
        Err(e) => panic!("{TRANSPORT_ENV}: {e}"),
    }
}

/// Whether the tests run over io_uring ([`TRANSPORT_ENV`]`=uring`).
pub fn over_uring() -> bool {
    test_transport() == Transport::Uring
}

/// The test transport as the CLI and the example daemons spell it (`--transport dev|uring`).
pub fn transport_arg() -> &'static str {
    match test_transport() {
        Transport::Uring => "uring",
        _ => "dev",
    }
}

struct ParamState {
    holders: usize,
    previous: Option<String>,
}

fn param_state() -> &'static Mutex<ParamState> {
    static STATE: OnceLock<Mutex<ParamState>> = OnceLock::new();
    STATE.get_or_init(|| {
        Mutex::new(ParamState {
            holders: 0,
            previous: None,
        })
    })
}

/// Holds `enable_uring` at `Y` while alive. Process-wide and counted: the first holder saves
/// the previous value and sets `Y`, the last one restores it. The kernel reads the parameter
/// when it sends INIT and when a queue entry registers, so it must stay `Y` for the whole life
/// of a mount over io_uring.
pub struct UringParam {
    _private: (),
}

impl UringParam {
    /// Sets `enable_uring` to `Y` (or joins the holders). Panics when the kernel has no such
    /// parameter or it cannot be written: whoever asked for io_uring must not get less.
    pub fn hold(test: &str) -> UringParam {
        let mut st = param_state().lock().unwrap_or_else(|p| p.into_inner());
        if st.holders == 0 {
            let previous = read_param().unwrap_or_else(|why| {
                panic!("{test}: io_uring requested ({TRANSPORT_ENV}=uring) but {why}")
            });
            if previous != "Y" {
                std::fs::write(ENABLE_URING, "Y").unwrap_or_else(|e| {
                    panic!("{test}: io_uring requested but {ENABLE_URING} cannot be set: {e}")
                });
            }
            st.previous = Some(previous);
        }
        st.holders += 1;
        UringParam { _private: () }
    }
}

impl Drop for UringParam {
    fn drop(&mut self) {
        let mut st = param_state().lock().unwrap_or_else(|p| p.into_inner());
        st.holders -= 1;
        if st.holders == 0 {
            if let Some(previous) = st.previous.take() {
                if previous != "Y" {
                    let _ = std::fs::write(ENABLE_URING, previous);
                }
            }
        }
    }
}

/// The current value of `enable_uring` (`Y` or `N`), or why it cannot be read.
pub fn read_param() -> Result<String, String> {
    if !Path::new(ENABLE_URING).exists() {
        let release = rustix::system::uname()
            .release()
            .to_string_lossy()
            .into_owned();
        return Err(format!(
            "{ENABLE_URING} is missing (kernel {release}; FUSE over io_uring needs >= 6.14)"
        ));
    }
    std::fs::read_to_string(ENABLE_URING)
        .map(|s| s.trim().to_owned())
        .map_err(|e| format!("{ENABLE_URING} cannot be read: {e}"))
}

/// True when this kernel can do FUSE over io_uring (it has [`ENABLE_URING`]). Otherwise the
/// test is skipped with a printed reason — except under CI=true on a kernel >= 6.14, which
/// must have it, where it fails. Call after [`require_kernel`](crate::require_kernel).
pub fn require_uring(test: &str) -> bool {
    let Err(why) = read_param() else {
        return true;
    };
    let release = rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned();
    let mut numbers = release.split(|c: char| !c.is_ascii_digit());
    let mut next = || {
        numbers
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let version = (next(), next());
    assert!(
        !(std::env::var("CI").as_deref() == Ok("true") && version >= (6, 14)),
        "{test}: needs FUSE over io_uring but {why} (CI=true: this must not be skipped)"
    );
    eprintln!("SKIPPED {test}: {why}");
    false
}

/// A [`UringParam`] when the tests run over io_uring, nothing otherwise.
pub fn param_for_test_transport(test: &str) -> Option<UringParam> {
    over_uring().then(|| UringParam::hold(test))
}

/// Fails when the tests run over io_uring and `session` does not. For tests that start a
/// session by hand (with `.transport(test_transport())`); `what` names it in the message.
pub fn assert_on_test_transport(what: &str, session: &BackgroundSession) {
    if over_uring() {
        let in_use = session.transport_in_use();
        assert_eq!(
            in_use,
            Transport::Uring,
            "{TRANSPORT_ENV}=uring but {what} runs over {in_use}"
        );
    }
}

/// Whether a finished mount served over io_uring: `Ok(true)` when requests came over the
/// rings, `Ok(false)` when no request reached the filesystem at all (the test did no I/O
/// through it, e.g. its caller was refused by the VFS), and an error saying why otherwise: no
/// ring counters, submit or commit errors, or requests served but none over the rings. Only
/// INIT (not counted in `total_requests`), FORGET and INTERRUPT may come over /dev/fuse, and
/// FORGET and INTERRUPT only ever follow a request that came over a ring.
pub fn ring_verdict(total_requests: u64, stats: Option<UringStats>) -> Result<bool, String> {
    let stats = stats.ok_or("the session has no io_uring counters")?;
    if stats.submit_errors != 0 || stats.commit_errors != 0 {
        return Err(format!("io_uring submit/commit errors ({stats:?})"));
    }
    match (stats.requests, total_requests) {
        (0, 0) => Ok(false),
        (0, total) => Err(format!(
            "{total} requests served but no request travelled over io_uring ({stats:?})"
        )),
        _ => Ok(true),
    }
}

/// Fails unless [`ring_verdict`] accepts a finished mount; `what` names it in the message.
/// A mount that served no request at all passes with a printed note.
pub fn assert_served_over_ring(what: &str, total_requests: u64, stats: Option<UringStats>) {
    match ring_verdict(total_requests, stats) {
        Ok(true) => {}
        Ok(false) => eprintln!("note: {what} served no request (over io_uring: nothing to prove)"),
        Err(why) => panic!("{what}: {TRANSPORT_ENV}=uring, but {why}"),
    }
}
