//! Test-only driver: performs one mount scenario in its own process, so the tests can run
//! it as an unprivileged user (`setpriv --reuid=65534 ...`). Prints `key=value` lines for
//! the test to check, and exits non-zero on any unexpected outcome.
//!
//! Usage: `mount_cycle <auto|strict|dead> <mountpoint>`
//! - auto:         mount (fusermount3 when unprivileged), check mountinfo, unmount, check.
//! - strict:       strict mount must fail; prints the error message.
//! - dead:         mount, close the fd (connection dies), then `unmount(path)` must work.
//!
//! Nothing serves the mounts, so the mountpoint is never accessed while mounted.

use std::path::Path;
use std::process::ExitCode;

use fusekit_mount::{is_fuse_mounted, mount, unmount, MountError, MountMethod, MountOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: mount_cycle <auto|strict|dead> <mountpoint>");
        return ExitCode::from(2);
    }
    let mountpoint = Path::new(&args[2]);
    let result = match args[1].as_str() {
        "auto" => auto(mountpoint),
        "strict" => strict(mountpoint),
        "dead" => dead(mountpoint),
        other => Err(format!("unknown mode {other}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            println!("failure={message}");
            ExitCode::FAILURE
        }
    }
}

fn opts() -> MountOptions {
    MountOptions::new().fsname("fusekit-cycle").subtype("cycle")
}

fn auto(mountpoint: &Path) -> Result<(), String> {
    let m = mount(mountpoint, &opts()).map_err(|e| e.to_string())?;
    println!("method={:?}", m.method());
    println!("connection_id={:?}", m.connection_id());
    println!("mounted={}", is_fuse_mounted(mountpoint));
    let (fd, unmounter) = m.into_parts();
    unmounter.unmount().map_err(|e| e.to_string())?;
    unmounter
        .unmount()
        .map_err(|e| format!("second unmount: {e}"))?;
    drop(fd);
    println!("unmounted={}", !is_fuse_mounted(mountpoint));
    Ok(())
}

fn strict(mountpoint: &Path) -> Result<(), String> {
    match mount(mountpoint, &opts().method(MountMethod::Strict)) {
        Ok(m) => {
            drop(m);
            Err("strict mount succeeded without privilege".into())
        }
        Err(e @ MountError::StrictNeedsPrivilege { .. }) => {
            println!("error={e}");
            println!("mounted={}", is_fuse_mounted(mountpoint));
            Ok(())
        }
        Err(e) => Err(format!("wrong error: {e:?}")),
    }
}

fn dead(mountpoint: &Path) -> Result<(), String> {
    let m = mount(mountpoint, &opts()).map_err(|e| e.to_string())?;
    println!("method={:?}", m.method());
    let (fd, _unmounter) = m.into_parts();
    drop(fd);
    println!("mounted={}", is_fuse_mounted(mountpoint));
    unmount(mountpoint).map_err(|e| e.to_string())?;
    println!("unmounted={}", !is_fuse_mounted(mountpoint));
    Ok(())
}
