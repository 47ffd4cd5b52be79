//! Serving a mounted filesystem in the foreground the way a user expects: say where it is
//! mounted and how to stop it, unmount cleanly on Ctrl-C (SIGINT) or SIGTERM, and return
//! once it is unmounted, whoever unmounted it (`fusekit unmount`, `umount`). A killed
//! process would leave a dead mount (ENOTCONN) behind; this is the pattern to copy.

use std::io::Write;

use fusekit::{Filesystem, Session};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Serves `session` until its filesystem is unmounted; SIGINT or SIGTERM unmounts it.
/// `name` and `hint` go into the "mounted" line (e.g. `hello`, `try: cat MNT/hello.txt`).
pub fn serve<FS: Filesystem>(
    session: Session<FS>,
    name: &str,
    hint: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    // Register first: a signal arriving while the session starts is not lost.
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let mountpoint = session.mountpoint().map(|p| p.display().to_string());
    let background = session.spawn()?;
    let unmounter = background.unmounter();
    let shown = mountpoint.unwrap_or_else(|| "(a given /dev/fuse fd)".into());
    say(&format!(
        "{name}: mounted on {shown}; {hint}\n{name}: stop with Ctrl-C, `kill {pid}` or \
         `fusekit unmount {shown}` (or umount)",
        pid = std::process::id()
    ));
    let handle = signals.handle();
    let watcher = std::thread::spawn(move || {
        if let (Some(_signal), Some(u)) = (signals.forever().next(), unmounter) {
            // Lazy: the mount leaves the tree now; files still open keep it alive until
            // closed, then the session ends and `join` returns.
            if let Err(e) = u.unmount() {
                say(&format!("unmount failed: {e}"));
            }
        }
    });
    let result = background.join();
    handle.close();
    let _ = watcher.join();
    result?;
    say(&format!("{name}: unmounted"));
    Ok(())
}

/// One line on stdout; a closed stdout is not worth a panic (it would leave a dead mount).
fn say(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}
