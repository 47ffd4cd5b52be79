//! LEB128 varints: compact, and prefix-free, so `<tag><varint ino>` key prefixes never overlap
//! between two inode numbers.

/// Appends `v` as an unsigned LEB128 varint.
pub fn put(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads a varint from the front of `input`, advancing it; `None` if truncated or too long.
pub fn get(input: &mut &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for (i, &byte) in input.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if i == 9 && bits > 1 {
            return None;
        }
        v |= bits << (7 * i);
        if byte & 0x80 == 0 {
            *input = &input[i + 1..];
            return Some(v);
        }
    }
    None
}

/// Zigzag-maps a signed value onto an unsigned one (small magnitudes stay small).
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_edges() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut buf = Vec::new();
            put(&mut buf, v);
            let mut s = buf.as_slice();
            assert_eq!(get(&mut s), Some(v));
            assert!(s.is_empty());
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn truncated_is_none() {
        let mut s: &[u8] = &[0x80, 0x80];
        assert_eq!(get(&mut s), None);
    }

    #[test]
    fn prefix_free() {
        // No encoding is a proper prefix of another.
        let enc = |v| {
            let mut b = Vec::new();
            put(&mut b, v);
            b
        };
        for a in [1u64, 127, 128, 16384] {
            for b in [1u64, 127, 128, 16384, 2_000_000] {
                if a != b {
                    assert!(!enc(b).starts_with(&enc(a)), "{a} prefix of {b}");
                }
            }
        }
    }
}
