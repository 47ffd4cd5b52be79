//! Runs the hello filesystem: `cargo run -p fusekit-examples --example hello -- MOUNTPOINT`.
//! It says where it is mounted; Ctrl-C, SIGTERM, `fusekit unmount MOUNTPOINT` or `umount`
//! unmount it and it exits 0.

use fusekit::{MountOptions, Session};
use fusekit_examples::hello::Hello;
use rustix::process::{getgid, getuid};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hello: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mountpoint = std::env::args_os()
        .nth(1)
        .ok_or("usage: hello MOUNTPOINT (an existing empty directory)")?;
    let fs = Hello::new(getuid().as_raw(), getgid().as_raw());
    let options = MountOptions::default()
        .fsname("hello")
        .subtype("hello")
        .read_only(true);
    let session = Session::mount(fs, &mountpoint, &options)?;
    let hint = format!("try: cat {}/hello.txt", mountpoint.to_string_lossy());
    fusekit_examples::foreground::serve(session, "hello", &hint)
}
