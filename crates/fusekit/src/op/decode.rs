//! The decoder: bytes from the kernel → [`Decoded`]. Table-like on purpose: one arm per opcode,
//! each reading its arguments in the order the kernel writes them.

use fusekit_abi as abi;
use zerocopy::FromBytes;

use super::reader::ArgReader;
use super::{DecodeError, Decoded, ForgetList, Op};

/// What the decoder must know about the connection: layouts that depend on negotiation.
#[derive(Debug, Clone, Copy)]
pub struct DecodeContext {
    /// Negotiated minor protocol version (before INIT: the library's own).
    pub minor: u32,
    /// FUSE_SETXATTR_EXT was negotiated: `fuse_setxattr_in` carries `setxattr_flags`.
    pub setxattr_ext: bool,
}

impl Default for DecodeContext {
    fn default() -> Self {
        DecodeContext {
            minor: abi::KERNEL_MINOR_VERSION,
            setxattr_ext: false,
        }
    }
}

const HEADER_LEN: usize = core::mem::size_of::<abi::InHeader>();

/// `fuse_init_in` as kernels before 7.36 send it: major, minor, max_readahead, flags.
const INIT_IN_SIZE_BEFORE_7_36: usize = 16;

/// Decodes one request. `buf` must hold exactly the bytes one read returned.
pub fn decode<'a>(buf: &'a [u8], ctx: &DecodeContext) -> Result<Decoded<'a>, DecodeError> {
    let Ok((header, _)) = abi::InHeader::read_from_prefix(buf) else {
        return Err(DecodeError::ShortHeader { got: buf.len() });
    };
    if header.len as usize != buf.len() {
        return Err(DecodeError::LengthMismatch {
            claimed: header.len,
            got: buf.len(),
        });
    }
    let ext_len = header.total_extlen as usize * 8;
    let body_len = buf.len() - HEADER_LEN;
    if ext_len > body_len {
        return Err(DecodeError::BadExtension {
            ext: ext_len,
            len: buf.len(),
        });
    }
    let (args, ext) = buf[HEADER_LEN..].split_at(body_len - ext_len);
    let op = decode_op(header.opcode, args, ctx)?;
    Ok(Decoded { header, op, ext })
}

fn decode_op<'a>(opcode: u32, args: &'a [u8], ctx: &DecodeContext) -> Result<Op<'a>, DecodeError> {
    use abi::Opcode as O;
    let Ok(code) = abi::Opcode::try_from(opcode) else {
        return Ok(Op::Unknown { opcode });
    };
    let mut r = ArgReader::new(args, opcode_name(code));
    let op = match code {
        O::Lookup => Op::Lookup {
            name: r.name("name")?,
        },
        O::Forget => Op::Forget {
            arg: r.fixed("forget_in")?,
        },
        O::BatchForget => {
            let arg: abi::BatchForgetIn = r.fixed("batch_forget_in")?;
            let need = (arg.count as usize)
                .checked_mul(core::mem::size_of::<abi::ForgetOne>())
                .ok_or(DecodeError::Inconsistent {
                    opcode: "BATCH_FORGET",
                    what: "count overflows",
                })?;
            let bytes = r
                .bytes(need, "forget entries")
                .map_err(|_| DecodeError::Inconsistent {
                    opcode: "BATCH_FORGET",
                    what: "count exceeds the entries sent",
                })?;
            Op::BatchForget {
                forgets: ForgetList { bytes },
            }
        }
        O::Getattr => Op::Getattr {
            // Before 7.9 GETATTR carried no argument.
            arg: if ctx.minor < 9 {
                r.fixed_partial(0, "getattr_in")?
            } else {
                r.fixed("getattr_in")?
            },
        },
        O::Setattr => Op::Setattr {
            arg: r.fixed("setattr_in")?,
        },
        O::Readlink => Op::Readlink,
        O::Symlink => {
            let name = r.name("name")?;
            let target = r.name("target")?;
            Op::Symlink { name, target }
        }
        O::Mknod => {
            let arg = if ctx.minor < 12 {
                r.fixed_partial(abi::COMPAT_MKNOD_IN_SIZE, "mknod_in")?
            } else {
                r.fixed("mknod_in")?
            };
            Op::Mknod {
                arg,
                name: r.name("name")?,
            }
        }
        O::Mkdir => Op::Mkdir {
            arg: r.fixed("mkdir_in")?,
            name: r.name("name")?,
        },
        O::Unlink => Op::Unlink {
            name: r.name("name")?,
        },
        O::Rmdir => Op::Rmdir {
            name: r.name("name")?,
        },
        O::Rename => {
            let arg: abi::RenameIn = r.fixed("rename_in")?;
            Op::Rename {
                newdir: arg.newdir,
                flags: 0,
                name: r.name("oldname")?,
                newname: r.name("newname")?,
            }
        }
        O::Rename2 => {
            let arg: abi::Rename2In = r.fixed("rename2_in")?;
            Op::Rename {
                newdir: arg.newdir,
                flags: arg.flags,
                name: r.name("oldname")?,
                newname: r.name("newname")?,
            }
        }
        O::Link => Op::Link {
            arg: r.fixed("link_in")?,
            newname: r.name("newname")?,
        },
        O::Open => Op::Open {
            arg: r.fixed("open_in")?,
        },
        O::Read => Op::Read {
            arg: read_in(&mut r, ctx)?,
        },
        O::Write => {
            let arg: abi::WriteIn = if ctx.minor < 9 {
                r.fixed_partial(abi::COMPAT_WRITE_IN_SIZE, "write_in")?
            } else {
                r.fixed("write_in")?
            };
            let data = r.bytes(arg.size as usize, "write data").map_err(|_| {
                DecodeError::Inconsistent {
                    opcode: "WRITE",
                    what: "size exceeds the data sent",
                }
            })?;
            Op::Write { arg, data }
        }
        O::Statfs => Op::Statfs,
        O::Release => Op::Release {
            arg: release_in(&mut r, ctx)?,
        },
        O::Fsync => Op::Fsync {
            arg: r.fixed("fsync_in")?,
        },
        O::Setxattr => {
            let arg: abi::SetxattrIn = if ctx.setxattr_ext {
                r.fixed("setxattr_in")?
            } else {
                r.fixed_partial(abi::COMPAT_SETXATTR_IN_SIZE, "setxattr_in")?
            };
            let name = r.name("name")?;
            let value =
                r.bytes(arg.size as usize, "value")
                    .map_err(|_| DecodeError::Inconsistent {
                        opcode: "SETXATTR",
                        what: "size exceeds the value sent",
                    })?;
            Op::Setxattr { arg, name, value }
        }
        O::Getxattr => Op::Getxattr {
            arg: r.fixed("getxattr_in")?,
            name: r.name("name")?,
        },
        O::Listxattr => Op::Listxattr {
            arg: r.fixed("getxattr_in")?,
        },
        O::Removexattr => Op::Removexattr {
            name: r.name("name")?,
        },
        O::Flush => Op::Flush {
            arg: r.fixed("flush_in")?,
        },
        O::Init => Op::Init {
            // Kernels before 7.36 send the 16-byte form; nothing in between exists.
            arg: if args.len() == INIT_IN_SIZE_BEFORE_7_36 {
                r.fixed_partial(INIT_IN_SIZE_BEFORE_7_36, "init_in")?
            } else {
                r.fixed("init_in")?
            },
        },
        O::Opendir => Op::Opendir {
            arg: r.fixed("open_in")?,
        },
        O::Readdir => Op::Readdir {
            arg: read_in(&mut r, ctx)?,
        },
        O::Releasedir => Op::Releasedir {
            arg: release_in(&mut r, ctx)?,
        },
        O::Fsyncdir => Op::Fsyncdir {
            arg: r.fixed("fsync_in")?,
        },
        O::Getlk => Op::Getlk {
            arg: r.fixed("lk_in")?,
        },
        O::Setlk => Op::Setlk {
            arg: r.fixed("lk_in")?,
        },
        O::Setlkw => Op::Setlkw {
            arg: r.fixed("lk_in")?,
        },
        O::Access => Op::Access {
            arg: r.fixed("access_in")?,
        },
        O::Create => {
            let arg = if ctx.minor < 12 {
                r.fixed_partial(8, "create_in")?
            } else {
                r.fixed("create_in")?
            };
            Op::Create {
                arg,
                name: r.name("name")?,
            }
        }
        O::Interrupt => Op::Interrupt {
            arg: r.fixed("interrupt_in")?,
        },
        O::Bmap => Op::Bmap {
            arg: r.fixed("bmap_in")?,
        },
        O::Destroy => Op::Destroy,
        O::Ioctl => {
            let arg: abi::IoctlIn = r.fixed("ioctl_in")?;
            let data = r.bytes(arg.in_size as usize, "ioctl data").map_err(|_| {
                DecodeError::Inconsistent {
                    opcode: "IOCTL",
                    what: "in_size exceeds the data sent",
                }
            })?;
            Op::Ioctl { arg, data }
        }
        O::Poll => Op::Poll {
            // The `events` field arrived in 7.21.
            arg: if ctx.minor < 21 {
                r.fixed_partial(16, "poll_in")?
            } else {
                r.fixed("poll_in")?
            },
        },
        O::NotifyReply => {
            let arg: abi::NotifyRetrieveIn = r.fixed("notify_retrieve_in")?;
            let data = r.bytes(arg.size as usize, "retrieved data").map_err(|_| {
                DecodeError::Inconsistent {
                    opcode: "NOTIFY_REPLY",
                    what: "size exceeds the data sent",
                }
            })?;
            Op::NotifyReply { arg, data }
        }
        O::Fallocate => Op::Fallocate {
            arg: r.fixed("fallocate_in")?,
        },
        O::Readdirplus => Op::Readdirplus {
            arg: read_in(&mut r, ctx)?,
        },
        O::Lseek => Op::Lseek {
            arg: r.fixed("lseek_in")?,
        },
        O::CopyFileRange => Op::CopyFileRange {
            arg: r.fixed("copy_file_range_in")?,
        },
        O::CopyFileRange64 => Op::CopyFileRange64 {
            arg: r.fixed("copy_file_range_in")?,
        },
        O::Syncfs => Op::Syncfs {
            arg: r.fixed("syncfs_in")?,
        },
        O::Tmpfile => {
            let arg = r.fixed("create_in")?;
            // The kernel appends a placeholder name; it carries no meaning.
            let _ = r.rest();
            Op::Tmpfile { arg }
        }
        O::Statx => Op::Statx {
            arg: r.fixed("statx_in")?,
        },
        O::Setupmapping | O::Removemapping => Op::DaxMapping { opcode: code },
        O::CuseInit => Op::CuseInit,
    };
    Ok(op)
}

fn release_in(r: &mut ArgReader<'_>, ctx: &DecodeContext) -> Result<abi::ReleaseIn, DecodeError> {
    // lock_owner arrived in 7.8.
    if ctx.minor < 8 {
        r.fixed_partial(16, "release_in")
    } else {
        r.fixed("release_in")
    }
}

fn read_in(r: &mut ArgReader<'_>, ctx: &DecodeContext) -> Result<abi::ReadIn, DecodeError> {
    if ctx.minor < 9 {
        r.fixed_partial(24, "read_in")
    } else {
        r.fixed("read_in")
    }
}

/// The kernel's name for an opcode, for logs and errors (the same as [`abi::Opcode::name`]).
pub fn opcode_name(code: abi::Opcode) -> &'static str {
    code.name()
}
