//! # fusekit-abi — the Linux FUSE kernel wire format, protocol 7.45
//!
//! This crate is a plain Rust transcription of the kernel's uapi header
//! `include/uapi/linux/fuse.h` at protocol version 7.45 (Linux 6.18; libfuse's
//! `include/fuse_kernel.h` mirrors it). It owns exactly three things:
//!
//! * `#[repr(C)]` structs with the kernel's field names and layout, each deriving
//!   [`zerocopy`]'s `FromBytes`, `IntoBytes`, `Immutable` and `KnownLayout`, so callers
//!   can read them from and write them to byte buffers without `unsafe`;
//! * the opcode and notification-code enums ([`Opcode`], [`NotifyCode`]) and every flag
//!   group as a [`bitflags`] type ([`InitFlags`], [`SetattrValid`], [`OpenOutFlags`], …);
//! * constants: protocol version, compat sizes, record alignment, device ioctl numbers.
//!
//! It does no I/O, never allocates and holds no policy: deciding what to negotiate or
//! how to validate a request belongs to the `fusekit` crate.
//!
//! ## Naming
//!
//! A kernel struct `fuse_foo_bar` is `FooBar` here (`fuse_in_header` → [`InHeader`],
//! `cuse_init_out` → [`CuseInitOut`]). Field names are the kernel's, except that a C
//! field called `type` is spelled `r#type`. Flag constants keep the kernel's name minus
//! its group prefix (`FUSE_WRITE_LOCKOWNER` → [`WriteFlags::LOCKOWNER`]). Padding and
//! reserved fields are explicit, so every struct is free of implicit padding.
//!
//! Flexible array members (`fuse_dirent.name[]`, `fuse_supp_groups.groups[]`) are left
//! out; the documentation of each such struct says what follows it on the wire.
//!
//! ## Protocol versions
//!
//! Struct docs name the minor version that introduced a struct or field when it is
//! newer than 7.31. Older peers send shorter structs for a few messages; the
//! `COMPAT_*_SIZE` constants give those lengths.
//!
//! ## Example
//!
//! ```
//! use fusekit_abi::{InHeader, InitFlags, Opcode};
//! use zerocopy::{FromBytes, IntoBytes};
//!
//! let header = InHeader { len: 40, opcode: 26, unique: 2, ..Default::default() };
//! let wire = header.as_bytes();
//! let (parsed, _rest) = InHeader::read_from_prefix(wire).unwrap();
//! assert_eq!(Opcode::try_from(parsed.opcode), Ok(Opcode::Init));
//!
//! let (flags, flags2) = (InitFlags::INIT_EXT | InitFlags::PASSTHROUGH).split();
//! assert_eq!((flags, flags2), (1 << 30, 1 << 5));
//! ```
#![no_std]
#![deny(missing_docs)]

mod attr;
mod consts;
mod cuse;
mod dax;
mod dir;
mod entry;
mod ext;
mod file;
mod flags;
mod header;
mod init;
mod io;
pub mod ioctl;
mod ioctl_op;
mod lock;
mod notify;
mod opcode;
mod poll;
mod statx;
mod uring;
mod xattr;

pub use attr::{Attr, AttrOut, GetattrIn, Kstatfs, SetattrIn, StatfsOut};
pub use consts::*;
pub use cuse::{CuseInitIn, CuseInitOut};
pub use dax::{RemovemappingIn, RemovemappingOne, SetupmappingIn};
pub use dir::{dirent_size, direntplus_size, rec_align, Dirent, Direntplus};
pub use dir::{NAME_OFFSET, NAME_OFFSET_DIRENTPLUS};
pub use entry::{
    BatchForgetIn, EntryOut, ForgetIn, ForgetOne, LinkIn, MkdirIn, MknodIn, Rename2In, RenameIn,
};
pub use ext::{ExtHeader, ExtType, Secctx, SecctxHeader, SuppGroups, UnknownExtType};
pub use ext::{EXT_GROUPS, MAX_NR_SECCTX};
pub use file::{AccessIn, CreateIn, FlushIn, FsyncIn, OpenIn, OpenOut, ReleaseIn, SyncfsIn};
pub use flags::*;
pub use header::{InHeader, InterruptIn, OutHeader};
pub use init::{InitIn, InitOut};
pub use io::{
    BmapIn, BmapOut, CopyFileRangeIn, CopyFileRangeOut, FallocateIn, LseekIn, LseekOut, ReadIn,
    WriteIn, WriteOut,
};
pub use ioctl::{
    BackingMap, DEV_IOC_BACKING_CLOSE, DEV_IOC_BACKING_OPEN, DEV_IOC_CLONE, DEV_IOC_MAGIC,
    DEV_IOC_SYNC_INIT,
};
pub use ioctl_op::{IoctlIn, IoctlIovec, IoctlOut};
pub use lock::{FileLock, LkIn, LkOut};
pub use notify::{
    NotifyCode, NotifyDeleteOut, NotifyInvalEntryOut, NotifyInvalInodeOut, NotifyPollWakeupOut,
    NotifyPruneOut, NotifyRetrieveIn, NotifyRetrieveOut, NotifyStoreOut, UnknownNotifyCode,
};
pub use opcode::{Opcode, UnknownOpcode};
pub use poll::{PollIn, PollOut};
pub use statx::{Statx, StatxIn, StatxOut, SxTime};
pub use uring::{
    UnknownUringCmd, UringCmd, UringCmdReq, UringEntInOut, UringReqHeader, URING_CMD_INVALID,
    URING_IN_OUT_HEADER_SZ, URING_OP_IN_OUT_SZ,
};
pub use xattr::{GetxattrIn, GetxattrOut, SetxattrIn};
