//! The sparse page store of a regular file: fixed [`PAGE_SIZE`] pages in an ordered map keyed
//! by page index. Holes cost nothing and read as zeros.
//!
//! Invariant: every byte of an allocated page that lies at or beyond the file size is zero, so
//! growing a file (truncate up, write past EOF) never exposes stale data. The store does not
//! know the file size; callers pass it where needed and keep the invariant by zeroing tails
//! on shrink ([`Pages::truncate`]). Accounting of allocated pages goes through
//! [`Usage`]; the caller uncharges [`Pages::bytes`] when it drops a whole store.

use std::collections::BTreeMap;

use rustix::io::Errno;

use crate::limits::Usage;
use crate::types::PAGE_SIZE;

const PAGE: usize = PAGE_SIZE as usize;

type Page = Box<[u8; PAGE]>;

fn zero_page() -> Page {
    // calloc-backed allocation, no 4 KiB stack temporary.
    match vec![0u8; PAGE].into_boxed_slice().try_into() {
        Ok(p) => p,
        Err(_) => unreachable!("vec has PAGE bytes"),
    }
}

/// Sparse file contents. The map is boxed and created on first allocation, so an empty file
/// costs one pointer.
#[derive(Debug, Default)]
#[allow(clippy::box_collection)] // the box is the point: 8 bytes instead of 24 per empty file
pub(crate) struct Pages {
    map: Option<Box<BTreeMap<u64, Page>>>,
}

static EMPTY: BTreeMap<u64, Page> = BTreeMap::new();

impl Pages {
    fn map(&self) -> &BTreeMap<u64, Page> {
        self.map.as_deref().unwrap_or(&EMPTY)
    }

    fn map_mut(&mut self) -> &mut BTreeMap<u64, Page> {
        self.map.get_or_insert_with(Default::default)
    }

    /// Number of allocated pages.
    pub(crate) fn page_count(&self) -> u64 {
        self.map().len() as u64
    }

    /// Bytes charged for this store.
    pub(crate) fn bytes(&self) -> u64 {
        self.page_count() * PAGE_SIZE
    }

    /// Appends `len` bytes starting at `off` to `out`; holes read as zeros. The caller clamps
    /// the range to the file size.
    pub(crate) fn read(&self, off: u64, len: usize, out: &mut Vec<u8>) {
        let start_len = out.len();
        out.resize(start_len + len, 0);
        let buf = &mut out[start_len..];
        if len == 0 {
            return;
        }
        let end = off + len as u64;
        let first = off / PAGE_SIZE;
        let last = (end - 1) / PAGE_SIZE;
        for (&idx, page) in self.map().range(first..=last) {
            let page_start = idx * PAGE_SIZE;
            let from = off.max(page_start);
            let to = end.min(page_start + PAGE_SIZE);
            let src = &page[(from - page_start) as usize..(to - page_start) as usize];
            buf[(from - off) as usize..(to - off) as usize].copy_from_slice(src);
        }
    }

    /// Writes `data` at `off`, allocating pages as needed. Stops at the first page that cannot
    /// be charged: returns the number of bytes written, or `ENOSPC` if that is zero.
    pub(crate) fn write(&mut self, off: u64, data: &[u8], usage: &Usage) -> Result<usize, Errno> {
        let mut done = 0usize;
        while done < data.len() {
            let pos = off + done as u64;
            let idx = pos / PAGE_SIZE;
            let in_page = (pos % PAGE_SIZE) as usize;
            let n = (PAGE - in_page).min(data.len() - done);
            let page = match self.map_mut().entry(idx) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    if let Err(err) = usage.charge_bytes(PAGE_SIZE) {
                        return if done == 0 { Err(err) } else { Ok(done) };
                    }
                    e.insert(zero_page())
                }
            };
            page[in_page..in_page + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(done)
    }

    /// Makes sure every page overlapping `[off, off + len)` is allocated (fallocate mode 0):
    /// all or nothing, `ENOSPC` leaves the store as it was.
    pub(crate) fn allocate(&mut self, off: u64, len: u64, usage: &Usage) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        let first = off / PAGE_SIZE;
        let last = (off + len - 1) / PAGE_SIZE;
        let present = self.map().range(first..=last).count() as u64;
        let missing = (last - first + 1) - present;
        usage.charge_bytes(missing.saturating_mul(PAGE_SIZE))?;
        let map = self.map_mut();
        for idx in first..=last {
            map.entry(idx).or_insert_with(zero_page);
        }
        Ok(())
    }

    /// Zeroes `[off, off + len)`: whole pages inside the range are freed (they become holes),
    /// partial pages at the edges are zeroed in place. Used by punch-hole and zero-range.
    pub(crate) fn zero(&mut self, off: u64, len: u64, usage: &Usage) {
        if len == 0 {
            return;
        }
        let end = off.saturating_add(len);
        let first = off / PAGE_SIZE;
        let last = (end - 1) / PAGE_SIZE;
        let Some(map) = self.map.as_deref_mut() else {
            return;
        };
        let mut freed = Vec::new();
        for (&idx, page) in map.range_mut(first..=last) {
            let page_start = idx * PAGE_SIZE;
            let from = off.max(page_start);
            let to = end.min(page_start + PAGE_SIZE);
            if from == page_start && to == page_start + PAGE_SIZE {
                freed.push(idx);
            } else {
                page[(from - page_start) as usize..(to - page_start) as usize].fill(0);
            }
        }
        for idx in &freed {
            map.remove(idx);
        }
        usage.uncharge_bytes(freed.len() as u64 * PAGE_SIZE);
    }

    /// Shrinks or grows the logical size from `old_size` to `new_size`: on shrink, pages
    /// wholly past the new end are freed (including preallocated ones past the old end) and
    /// the tail of the boundary page is zeroed.
    pub(crate) fn truncate(&mut self, new_size: u64, usage: &Usage) {
        let keep = new_size.div_ceil(PAGE_SIZE);
        let Some(map) = self.map.as_deref_mut() else {
            return;
        };
        let tail = map.split_off(&keep);
        usage.uncharge_bytes(tail.len() as u64 * PAGE_SIZE);
        drop(tail);
        let in_page = (new_size % PAGE_SIZE) as usize;
        if in_page != 0 {
            if let Some(page) = map.get_mut(&(new_size / PAGE_SIZE)) {
                page[in_page..].fill(0);
            }
        }
    }

    /// Frees everything; returns the number of bytes to uncharge.
    pub(crate) fn clear(&mut self) -> u64 {
        let bytes = self.bytes();
        self.map = None;
        bytes
    }

    /// `SEEK_DATA`: the first offset `>= off` inside an allocated page, below `size`.
    pub(crate) fn seek_data(&self, off: u64, size: u64) -> Option<u64> {
        if off >= size {
            return None;
        }
        let (&idx, _) = self.map().range(off / PAGE_SIZE..).next()?;
        let pos = off.max(idx * PAGE_SIZE);
        (pos < size).then_some(pos)
    }

    /// `SEEK_HOLE`: the first offset `>= off` not inside an allocated page, or `size` (the
    /// implicit hole at end of file). `None` when `off >= size`.
    pub(crate) fn seek_hole(&self, off: u64, size: u64) -> Option<u64> {
        if off >= size {
            return None;
        }
        let mut expect = off / PAGE_SIZE;
        for (&idx, _) in self.map().range(expect..) {
            if idx != expect {
                break;
            }
            expect += 1;
        }
        Some(off.max(expect.saturating_mul(PAGE_SIZE)).min(size))
    }

    /// Whether the page holding `off` is allocated (data) or not (hole).
    pub(crate) fn is_data(&self, off: u64) -> bool {
        self.map().contains_key(&(off / PAGE_SIZE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;

    fn usage(pages: u64) -> Usage {
        Usage::new(Limits {
            max_bytes: Some(pages * PAGE_SIZE),
            max_inodes: None,
        })
    }

    fn read(p: &Pages, off: u64, len: usize) -> Vec<u8> {
        let mut v = Vec::new();
        p.read(off, len, &mut v);
        v
    }

    #[test]
    fn holes_read_as_zero_and_cost_nothing() {
        let u = usage(10);
        let mut p = Pages::default();
        p.write(3 * PAGE_SIZE + 10, b"abc", &u).unwrap();
        assert_eq!(p.page_count(), 1);
        assert_eq!(u.bytes(), PAGE_SIZE);
        let v = read(&p, 3 * PAGE_SIZE + 8, 7);
        assert_eq!(v, b"\0\0abc\0\0");
        assert!(read(&p, 0, 100).iter().all(|&b| b == 0));
    }

    #[test]
    fn write_across_pages_and_short_write_on_enospc() {
        let u = usage(2);
        let mut p = Pages::default();
        let data = vec![7u8; 3 * PAGE];
        assert_eq!(p.write(100, &data, &u), Ok(2 * PAGE - 100));
        assert_eq!(p.write(5 * PAGE_SIZE, b"x", &u), Err(Errno::NOSPC));
    }

    #[test]
    fn truncate_zeroes_tail_and_frees_pages() {
        let u = usage(10);
        let mut p = Pages::default();
        p.write(0, &[1u8; 3 * PAGE], &u).unwrap();
        p.truncate(PAGE_SIZE + 5, &u);
        assert_eq!(p.page_count(), 2);
        assert_eq!(u.bytes(), 2 * PAGE_SIZE);
        assert_eq!(read(&p, PAGE_SIZE, 8), [1, 1, 1, 1, 1, 0, 0, 0]);
        p.truncate(0, &u);
        assert_eq!(p.page_count(), 0);
        assert_eq!(u.bytes(), 0);
    }

    #[test]
    fn zero_frees_whole_pages_only() {
        let u = usage(10);
        let mut p = Pages::default();
        p.write(0, &[1u8; 3 * PAGE], &u).unwrap();
        p.zero(10, 2 * PAGE_SIZE, &u);
        assert_eq!(p.page_count(), 2);
        let v = read(&p, 0, 3 * PAGE);
        assert!(v[..10].iter().all(|&b| b == 1));
        assert!(v[10..2 * PAGE + 10].iter().all(|&b| b == 0));
        assert!(v[2 * PAGE + 10..].iter().all(|&b| b == 1));
    }

    #[test]
    fn allocate_is_all_or_nothing() {
        let u = usage(3);
        let mut p = Pages::default();
        p.write(0, b"a", &u).unwrap();
        assert_eq!(p.allocate(0, 4 * PAGE_SIZE, &u), Err(Errno::NOSPC));
        assert_eq!(p.page_count(), 1);
        p.allocate(0, 3 * PAGE_SIZE, &u).unwrap();
        assert_eq!(p.page_count(), 3);
        assert_eq!(read(&p, 0, 2), b"a\0");
    }

    #[test]
    fn seek_data_and_hole() {
        let u = usage(10);
        let mut p = Pages::default();
        p.write(2 * PAGE_SIZE, &[1u8; 2 * PAGE], &u).unwrap();
        let size = 6 * PAGE_SIZE;
        assert_eq!(p.seek_data(0, size), Some(2 * PAGE_SIZE));
        assert_eq!(
            p.seek_data(2 * PAGE_SIZE + 7, size),
            Some(2 * PAGE_SIZE + 7)
        );
        assert_eq!(p.seek_data(4 * PAGE_SIZE, size), None);
        assert_eq!(p.seek_hole(0, size), Some(0));
        assert_eq!(p.seek_hole(2 * PAGE_SIZE + 1, size), Some(4 * PAGE_SIZE));
        assert_eq!(p.seek_hole(size, size), None);
        // The implicit hole at EOF.
        assert_eq!(
            p.seek_hole(2 * PAGE_SIZE, 3 * PAGE_SIZE),
            Some(3 * PAGE_SIZE)
        );
        assert!(p.is_data(2 * PAGE_SIZE) && !p.is_data(0));
    }
}
