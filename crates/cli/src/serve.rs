//! Serving a mounted filesystem in the foreground: SIGINT/SIGTERM unmount it cleanly (a second
//! signal aborts the connection), and the process exits when the kernel closes the session.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use fusekit::{Filesystem, MountOptions, Session};

use crate::args::CommonMount;
use std::sync::atomic::{AtomicBool, Ordering};

/// Print [`crate::daemon::READY`] on stdout once serving (`--notify-ready`).
pub static NOTIFY_READY: AtomicBool = AtomicBool::new(false);
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Mounts `fs` on `mountpoint` and serves it until it is unmounted. `own_mount`, when given,
/// learns the new mount's device before the first request is served (passthrough refuses
/// lookups that reach it).
pub fn serve<FS: Filesystem>(
    fs: FS,
    mountpoint: &Path,
    options: &MountOptions,
    common: &CommonMount,
    own_mount: Option<fusekit_passthrough::OwnMount>,
) -> anyhow::Result<ExitCode> {
    // Register before mounting so a signal during start-up is not lost.
    let mut signals = Signals::new([SIGINT, SIGTERM]).context("cannot install signal handlers")?;
    let mut session = Session::mount(fs, mountpoint, options).map_err(|e| {
        // Most mount errors already name the mount point; say it once.
        let shown = mountpoint.display().to_string();
        if e.to_string().contains(&shown) {
            anyhow::Error::new(e)
        } else {
            anyhow::Error::new(e).context(format!("cannot mount on {shown}"))
        }
    })?;
    if let (Some(own), Some(path)) = (&own_mount, session.mountpoint()) {
        let dev = own
            .set_from_mountpoint(path)
            .context("cannot find the new mount's device")?;
        tracing::debug!(dev, "lookups reaching this mount itself will be refused");
    }
    if let Some(n) = common.workers {
        session = session.workers(n.into());
    }
    if let Some(us) = common.busy_poll_us {
        session = session.busy_poll(std::time::Duration::from_micros(us.into()));
    }
    session = session.transport(common.transport.into());
    if let Some(n) = common.queue_depth {
        session = session.uring_queue_depth(n.into());
    }
    let background = session.spawn().map_err(|e| {
        let text = e.to_string();
        match uring_hint(&text) {
            Some(hint) => anyhow::anyhow!("the session failed to start: {text}. {hint}"),
            None => anyhow::Error::new(e).context("the session failed to start"),
        }
    })?;
    let shown = background
        .mountpoint()
        .unwrap_or(mountpoint)
        .display()
        .to_string();
    let transport = background.transport_in_use();
    let stop = if NOTIFY_READY.load(Ordering::Relaxed) {
        format!("`fusekit unmount {shown}` or `umount {shown}`")
    } else {
        format!("Ctrl-C or `fusekit unmount {shown}`")
    };
    tracing::info!(
        mountpoint = %shown,
        transport = %transport,
        "mounted on {shown}, serving over {transport}; stop with {stop}"
    );
    if NOTIFY_READY.load(Ordering::Relaxed) {
        crate::out::println(crate::daemon::READY)?;
    }
    let unmounter = background.unmounter();
    let signal_handle = signals.handle();
    let watcher = std::thread::Builder::new()
        .name("fusekit-signals".into())
        .spawn(move || {
            let mut seen = 0;
            for signal in signals.forever() {
                seen += 1;
                let Some(u) = &unmounter else { break };
                if seen == 1 {
                    tracing::info!(
                        signal,
                        "unmounting (files still open keep it busy; signal again to abort)"
                    );
                    if let Err(e) = u.unmount() {
                        tracing::error!(error = %e, "unmount failed");
                    }
                } else {
                    tracing::warn!(signal, "aborting the connection");
                    if let Err(e) = u.abort() {
                        tracing::error!(error = %e, "abort failed");
                    }
                }
            }
        })
        .context("cannot start the signal thread")?;
    let result = background.join();
    signal_handle.close();
    let _ = watcher.join();
    result.context("the session ended with an error")?;
    tracing::info!("unmounted");
    Ok(ExitCode::SUCCESS)
}

/// How to get FUSE over io_uring, when `message` says the kernel did not offer it.
fn uring_hint(message: &str) -> Option<&'static str> {
    if message.contains("enable_uring=N") {
        Some(
            "To enable it, as root: `echo Y > /sys/module/fuse/parameters/enable_uring` \
             (Linux 6.14 or later; lasts until reboot, or set fuse.enable_uring=1 on the \
             kernel command line), then mount again; or use --transport auto or dev",
        )
    } else if message.contains("needs Linux 6.14") {
        Some("FUSE over io_uring needs Linux 6.14 or later: use --transport auto or dev")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::uring_hint;

    #[test]
    fn a_refused_uring_mount_says_how_to_enable_it() {
        let refused = "io_uring transport not offered by the kernel (fuse module parameter \
                       enable_uring=N)";
        let hint = uring_hint(refused).unwrap();
        assert!(
            hint.contains("echo Y > /sys/module/fuse/parameters/enable_uring")
                && hint.contains("as root")
                && hint.contains("6.14"),
            "{hint}"
        );
        assert!(uring_hint("needs Linux 6.14 or later").is_some());
        assert_eq!(uring_hint("cannot mount on /x: not a directory"), None);
    }
}
