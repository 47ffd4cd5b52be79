//! Mounting and unmounting through the setuid helper fusermount3.
//!
//! Mount protocol (libfuse's): we create a socketpair, run `fusermount3 -o OPTS -- MNT`
//! with `_FUSE_COMMFD=<child's end>`, and fusermount3 mounts, then sends the /dev/fuse fd
//! back over the socket with SCM_RIGHTS. The child inherits exactly that one fd: all our
//! fds are O_CLOEXEC, and only the child's end has FD_CLOEXEC cleared, inside the child,
//! between fork and exec. With `auto_unmount`, fusermount3 stays alive holding the socket
//! and unmounts when our end closes; a reaper thread waits for it so no zombie remains.

use std::ffi::OsStr;
use std::io::{IoSliceMut, Read};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};

use rustix::io::Errno;
use rustix::net::{
    recvmsg, socketpair, AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags,
    ReturnFlags, SocketFlags, SocketType,
};

use crate::error::MountError;
use crate::fd::{above_stdio, clear_cloexec, cloexec_all_above_stdio};
use crate::options::MountOptions;

/// The helper's name, looked up in `PATH`.
pub(crate) const PROGRAM: &str = "fusermount3";

/// The environment variable that tells fusermount3 which fd is its socket.
const COMMFD_ENV: &str = "_FUSE_COMMFD";

/// A successful fusermount3 mount.
#[derive(Debug)]
pub(crate) struct Mounted {
    /// The /dev/fuse fd received from fusermount3.
    pub(crate) fd: OwnedFd,
    /// With auto_unmount: our end of the socket; closing it makes fusermount3 unmount.
    pub(crate) auto_unmount_socket: Option<OwnedFd>,
}

/// Finds the program: `explicit` if given (it must exist), else `fusermount3` in `PATH`.
pub(crate) fn find(explicit: Option<&Path>) -> Result<PathBuf, MountError> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(MountError::FusermountMissing {
                path: Some(path.to_path_buf()),
            })
        };
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(PROGRAM))
        .find(|candidate| is_executable(candidate))
        .ok_or(MountError::FusermountMissing { path: None })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs `program -o OPTS -- target` and receives the /dev/fuse fd.
pub(crate) fn mount(
    program: &Path,
    target: &Path,
    opts: &MountOptions,
) -> Result<Mounted, MountError> {
    let options = opts.fusermount_options();
    let (ours, theirs) = socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| MountError::io("creating the socketpair for fusermount3", e))?;
    let lift = |fd| {
        above_stdio(fd).map_err(|e| MountError::io("moving the fusermount3 socket above stdio", e))
    };
    let (ours, theirs) = (lift(ours)?, lift(theirs)?);
    let raw = theirs.as_raw_fd();

    let mut command = Command::new(program);
    command
        .arg("-o")
        .arg(&options)
        .arg("--")
        .arg(target)
        .env(COMMFD_ENV, raw.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: the hook runs in the forked child before exec, where only async-signal-safe
    // work is allowed: two system calls (close_range, fcntl), no allocation, no locks.
    // `raw` is open in the child because the parent keeps `theirs` open until spawn returns.
    unsafe {
        command.pre_exec(move || {
            cloexec_all_above_stdio();
            clear_cloexec(raw)
        });
    }
    tracing::debug!(program = %program.display(), %options, target = %target.display(), "spawning fusermount3");
    let mut child = command.spawn().map_err(|e| spawn_error(program, e))?;
    // Our copy of the child's end must go, or we would never see EOF if it dies.
    drop(theirs);
    let stderr = child.stderr.take();

    let received = match receive_fd(&ours) {
        Ok(fd) => fd,
        Err(e) => {
            // The socket broke: make sure the child cannot linger, then reap it.
            let _ = child.kill();
            let _ = finish(child, stderr);
            return Err(MountError::io(
                format!(
                    "receiving the /dev/fuse fd from fusermount3 for {}",
                    target.display()
                ),
                e,
            ));
        }
    };
    let Some(fd) = received else {
        let (status, message) = finish(child, stderr)
            .map_err(|e| MountError::io(format!("waiting for {}", program.display()), e))?;
        return Err(MountError::FusermountFailed {
            action: "mount",
            mountpoint: target.to_path_buf(),
            status,
            stderr: message,
        });
    };
    let fd = above_stdio(fd);

    if opts.auto_unmount {
        // fusermount3 stays alive until our end of the socket closes.
        reap_in_background(child, stderr, target);
    } else {
        match finish(child, stderr) {
            Ok((status, _)) if status.success() => {}
            Ok((status, message)) => {
                tracing::warn!(%status, stderr = %message.trim(), target = %target.display(),
                    "fusermount3 sent the fd but exited with failure; keeping the mount");
            }
            Err(e) => tracing::warn!(error = %e, "cannot wait for fusermount3"),
        }
    }
    match fd {
        Ok(fd) => Ok(Mounted {
            fd,
            auto_unmount_socket: opts.auto_unmount.then_some(ours),
        }),
        Err(e) => {
            // We cannot hold the fd safely (fd table full?): undo the mount, not leave
            // it behind dead.
            let _ = unmount(program, target, true);
            Err(MountError::io("moving the /dev/fuse fd above stdio", e))
        }
    }
}

/// Runs `program -u -z -- target` (lazy unmount).
pub(crate) fn unmount(program: &Path, target: &Path, lazy: bool) -> Result<(), MountError> {
    tracing::debug!(program = %program.display(), target = %target.display(), lazy, "fusermount3 -u");
    let flags: &[&OsStr] = if lazy {
        &[OsStr::new("-u"), OsStr::new("-z"), OsStr::new("--")]
    } else {
        &[OsStr::new("-u"), OsStr::new("--")]
    };
    let output = Command::new(program)
        .args(flags)
        .arg(target)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| spawn_error(program, e))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        Ok(())
    } else if !lazy && stderr.contains("busy") {
        Err(MountError::Busy(target.to_path_buf()))
    } else {
        Err(MountError::FusermountFailed {
            action: "unmount",
            mountpoint: target.to_path_buf(),
            status: output.status,
            stderr: stderr.into_owned(),
        })
    }
}

fn spawn_error(program: &Path, e: std::io::Error) -> MountError {
    match e.kind() {
        std::io::ErrorKind::NotFound => MountError::FusermountMissing {
            path: Some(program.to_path_buf()),
        },
        std::io::ErrorKind::PermissionDenied => MountError::PermissionDenied {
            action: "executing",
            path: program.to_path_buf(),
            source: e,
        },
        _ => MountError::io(format!("running {}", program.display()), e),
    }
}

/// Receives one fd over `socket`. `Ok(None)`: the peer closed (or sent no fd).
fn receive_fd(socket: &OwnedFd) -> std::io::Result<Option<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    loop {
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let mut iov = [IoSliceMut::new(&mut byte)];
        let msg = match recvmsg(socket, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC) {
            Ok(msg) => msg,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        if msg.flags.contains(ReturnFlags::CTRUNC) {
            tracing::warn!(
                "fusermount3 sent more control data than expected; extra fds were dropped"
            );
        }
        let mut received = None;
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = message {
                // Keep the first; any others are closed as they drop.
                for fd in fds {
                    received.get_or_insert(fd);
                }
            }
        }
        return Ok(received);
    }
}

/// Reads the child's stderr to its end, then waits for it.
fn finish(mut child: Child, stderr: Option<ChildStderr>) -> std::io::Result<(ExitStatus, String)> {
    let mut bytes = Vec::new();
    if let Some(mut stderr) = stderr {
        // A read error only loses the message; the status still matters.
        let _ = stderr.read_to_end(&mut bytes);
    }
    let status = loop {
        match child.wait() {
            Ok(status) => break status,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Waits for a long-lived (auto_unmount) fusermount3 on a small thread, logging what it
/// writes, so that it never becomes a zombie.
fn reap_in_background(child: Child, stderr: Option<ChildStderr>, target: &Path) {
    let target = target.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("fusermount3-reaper".into())
        .spawn(move || match finish(child, stderr) {
            Ok((status, message)) => {
                tracing::debug!(%status, stderr = %message.trim(), target = %target.display(),
                    "auto_unmount fusermount3 exited");
            }
            Err(e) => tracing::warn!(error = %e, "cannot wait for the auto_unmount fusermount3"),
        });
    if let Err(e) = spawned {
        // No thread: the child will be reaped by nobody until we exit. Say so.
        tracing::warn!(error = %e, "cannot start the fusermount3 reaper thread; it will remain a zombie after it exits");
    }
}
