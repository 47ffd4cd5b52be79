//! Runs the hello filesystem: `cargo run -p fusekit-examples --example hello -- MOUNTPOINT`.
//! Unmount with `fusekit unmount MOUNTPOINT` (or `umount`).

use fusekit::{MountOptions, Session};
use fusekit_examples::hello::Hello;
use rustix::process::{getgid, getuid};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mountpoint = std::env::args_os()
        .nth(1)
        .ok_or("usage: hello MOUNTPOINT")?;
    let fs = Hello::new(getuid().as_raw(), getgid().as_raw());
    let options = MountOptions::default()
        .fsname("hello")
        .subtype("hello")
        .read_only(true);
    Session::mount(fs, &mountpoint, &options)?.run()?;
    Ok(())
}
