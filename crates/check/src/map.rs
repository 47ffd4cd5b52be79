//! A safe owner for one shared or private file mapping, for the mmap cases: the mapping is
//! exposed only as a byte slice of its own length and unmapped on drop.

use std::os::fd::AsFd;

use rustix::mm::{MapFlags, ProtFlags};

/// One `mmap` of a file range.
#[derive(Debug)]
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; access goes through &self/&mut self.
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` at offset 0, read-write, shared or private.
    pub fn new<Fd: AsFd>(fd: Fd, len: usize, shared: bool) -> rustix::io::Result<Mapping> {
        Self::with_prot(fd, len, shared, ProtFlags::READ | ProtFlags::WRITE)
    }

    /// Maps with explicit protection.
    pub fn with_prot<Fd: AsFd>(
        fd: Fd,
        len: usize,
        shared: bool,
        prot: ProtFlags,
    ) -> rustix::io::Result<Mapping> {
        let flags = if shared {
            MapFlags::SHARED
        } else {
            MapFlags::PRIVATE
        };
        // SAFETY: a fresh mapping at a kernel-chosen address; it aliases no Rust object.
        let ptr = unsafe { rustix::mm::mmap(std::ptr::null_mut(), len, prot, flags, fd, 0)? };
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }

    /// The mapped bytes. Other mappings or write(2) may change them concurrently: callers read
    /// them as plain bytes, which is what every case checks.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: ptr..ptr+len is mapped readable for the lifetime of self.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The mapped bytes, writable (needs PROT_WRITE).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self gives exclusive access from Rust's side.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// `msync(MS_SYNC)` over the whole mapping.
    pub fn sync(&self) -> rustix::io::Result<()> {
        // SAFETY: the range is exactly this live mapping.
        unsafe { rustix::mm::msync(self.ptr.cast(), self.len, rustix::mm::MsyncFlags::SYNC) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the range this value owns; no slice outlives self.
        let _ = unsafe { rustix::mm::munmap(self.ptr.cast(), self.len) };
    }
}
