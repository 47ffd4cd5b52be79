//! Requests counted by opcode: the live per-session counters and their snapshot
//! ([`RequestCounts`]), so round trips can be accounted per operation (`fusekit bench`
//! reports requests per operation from them).

use std::sync::atomic::{AtomicU64, Ordering};

use fusekit_abi::Opcode;

/// Slots: opcodes 1..=63 each have one; slot 0 holds everything else (CUSE_INIT, opcodes the
/// protocol does not know, frames too short to carry an opcode).
const SLOTS: usize = 64;

/// Live counters, one per opcode.
#[derive(Debug)]
pub(crate) struct OpcodeCounters([AtomicU64; SLOTS]);

impl Default for OpcodeCounters {
    fn default() -> Self {
        OpcodeCounters(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

impl OpcodeCounters {
    /// Counts one request frame by the opcode in its header.
    pub(crate) fn count(&self, frame: &[u8]) {
        let opcode = frame
            .get(4..8)
            .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
        self.0[slot(opcode)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RequestCounts {
        RequestCounts(std::array::from_fn(|i| self.0[i].load(Ordering::Relaxed)))
    }
}

fn slot(opcode: u32) -> usize {
    match usize::try_from(opcode) {
        Ok(i) if i < SLOTS => i,
        _ => 0,
    }
}

/// Requests a session served, by opcode (INIT, answered before serving starts, is not
/// among them). Take two snapshots around an operation and [`since`](Self::since) says which
/// requests it cost.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestCounts([u64; SLOTS]);

impl Default for RequestCounts {
    fn default() -> Self {
        RequestCounts([0; SLOTS])
    }
}

impl std::fmt::Debug for RequestCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (op, n) in self.iter() {
            map.entry(&op.name(), &n);
        }
        if self.other() > 0 {
            map.entry(&"other", &self.other());
        }
        map.finish()
    }
}

impl RequestCounts {
    /// Requests with this opcode (0 for CUSE_INIT: see [`other`](Self::other)).
    pub fn get(&self, opcode: Opcode) -> u64 {
        match slot(u32::from(opcode)) {
            0 => 0,
            i => self.0[i],
        }
    }

    /// Requests with an opcode outside the protocol's numbered range (CUSE_INIT, unknown).
    pub fn other(&self) -> u64 {
        self.0[0]
    }

    /// All requests counted.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The opcodes with at least one request, in opcode order, with their counts.
    pub fn iter(&self) -> impl Iterator<Item = (Opcode, u64)> + '_ {
        self.0
            .iter()
            .enumerate()
            .skip(1)
            .filter(|&(_, &n)| n > 0)
            .filter_map(|(i, &n)| Some((Opcode::from_u32(i as u32)?, n)))
    }

    /// What was counted after `earlier` (a snapshot of the same session taken before).
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        RequestCounts(std::array::from_fn(|i| {
            self.0[i].saturating_sub(earlier.0[i])
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: u32) -> Vec<u8> {
        let mut f = vec![0u8; 40];
        f[4..8].copy_from_slice(&opcode.to_ne_bytes());
        f
    }

    #[test]
    fn counts_by_opcode_and_differences() {
        let c = OpcodeCounters::default();
        c.count(&frame(Opcode::Lookup as u32));
        let before = c.snapshot();
        c.count(&frame(Opcode::Lookup as u32));
        c.count(&frame(Opcode::Getattr as u32));
        c.count(&frame(Opcode::CuseInit as u32));
        c.count(&frame(9999));
        c.count(&[1, 2, 3]);
        let after = c.snapshot();
        assert_eq!(after.get(Opcode::Lookup), 2);
        assert_eq!(after.get(Opcode::CuseInit), 0);
        assert_eq!(after.other(), 3);
        assert_eq!(after.total(), 6);
        let d = after.since(&before);
        assert_eq!(
            d.iter().collect::<Vec<_>>(),
            vec![(Opcode::Lookup, 1), (Opcode::Getattr, 1)]
        );
        assert_eq!(d.total(), 5);
        assert_eq!(
            format!("{d:?}"),
            r#"{"LOOKUP": 1, "GETATTR": 1, "other": 3}"#
        );
    }
}
