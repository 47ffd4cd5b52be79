//! Mounts a passthrough of SRC on MNT until Enter is pressed or stdin is closed, for trying it out
//! and benchmarking by hand. The `fusekit` CLI (`fusekit mount passthrough`) is the real
//! front end.
//!
//! ```text
//! cargo run --release -p fusekit-passthrough --example passthrough -- SRC MNT \
//!     [--no-kernel-passthrough] [--writeback-cache] [--timeout SECS] [--workers N]
//!     [--transport auto|dev|uring]
//! ```
//!
//! It reports on stderr the transport it serves over once mounted (`transport io_uring`), and
//! at exit the filesystem's counters and, over io_uring, the rings' counters (`UringStats`):
//! the tests that run it as their daemon read both.

use std::path::PathBuf;
use std::time::Duration;

use fusekit::{MountOptions, Session, Transport};
use fusekit_passthrough::{Passthrough, PassthroughOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut paths = Vec::new();
    let mut opts = PassthroughOptions::default();
    let mut workers = None;
    let mut transport = Transport::Auto;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-kernel-passthrough" => opts = opts.kernel_passthrough(false),
            "--writeback-cache" => opts = opts.writeback_cache(true),
            "--timeout" => {
                let secs: f64 = args.next().ok_or("--timeout needs seconds")?.parse()?;
                opts = opts.timeout(Duration::from_secs_f64(secs));
            }
            "--workers" => workers = Some(args.next().ok_or("--workers needs N")?.parse()?),
            "--transport" => {
                transport = match args.next().as_deref() {
                    Some("auto") => Transport::Auto,
                    Some("dev") => Transport::Dev,
                    Some("uring") => Transport::Uring,
                    _ => return Err("--transport needs auto, dev or uring".into()),
                }
            }
            _ => paths.push(PathBuf::from(a)),
        }
    }
    let [src, mnt] = <[PathBuf; 2]>::try_from(paths).map_err(|_| {
        "usage: passthrough SRC MNT [--no-kernel-passthrough] [--writeback-cache] \
             [--timeout SECS] [--workers N] [--transport auto|dev|uring]"
    })?;
    let fs = Passthrough::new(&src, opts)?;
    let stats = fs.stats_handle();
    let mount = MountOptions::new()
        .default_permissions(true)
        .allow_other(rustix::process::geteuid().is_root())
        .fsname(src.display().to_string())
        .subtype("passthrough");
    let mut session = Session::mount(fs, &mnt, &mount)?.transport(transport);
    if let Some(n) = workers {
        session = session.workers(n);
    }
    let session = session.spawn()?;
    eprintln!(
        "{} mounted on {}; transport {}; negotiated {:?}",
        src.display(),
        mnt.display(),
        session.transport_in_use(),
        session.negotiated()
    );
    let unmounter = session.unmounter();
    let session_stats = session.stats_handle();
    eprintln!("press Enter (or close stdin) to unmount");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    if let Some(u) = unmounter {
        u.unmount()?;
    }
    session.join()?;
    if let Some(rings) = session_stats.uring() {
        eprintln!("{rings:?}");
    }
    eprintln!("{:?}", stats.snapshot());
    Ok(())
}
