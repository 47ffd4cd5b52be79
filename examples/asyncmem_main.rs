//! Runs the async in-memory filesystem:
//! `cargo run -p fusekit-examples --features async --example asyncmem -- MOUNTPOINT [LATENCY_MS]`.
//! It says where it is mounted; Ctrl-C, SIGTERM, `fusekit unmount MOUNTPOINT` or `umount`
//! unmount it and it exits 0.

use std::time::Duration;

use fusekit::asyncfs::{AsyncAdapter, AsyncConfig};
use fusekit::{MountOptions, Session};
use fusekit_examples::asyncmem::AsyncMem;
use rustix::process::{getgid, getuid};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let mountpoint = args
        .next()
        .ok_or("usage: asyncmem MOUNTPOINT [LATENCY_MS]")?;
    let latency_ms: u64 = match args.next() {
        Some(ms) => ms.to_str().ok_or("LATENCY_MS: not UTF-8")?.parse()?,
        None => 0,
    };
    let fs = AsyncMem::new(
        getuid().as_raw(),
        getgid().as_raw(),
        Duration::from_millis(latency_ms),
    );
    let config = AsyncConfig::new().deadline(Duration::from_secs(30));
    let options = MountOptions::default()
        .fsname("asyncmem")
        .subtype("asyncmem");
    let session = Session::mount(AsyncAdapter::new(fs, config)?, &mountpoint, &options)?;
    let hint = format!("try: ls -la {}", mountpoint.to_string_lossy());
    fusekit_examples::foreground::serve(session, "asyncmem", &hint)
}
