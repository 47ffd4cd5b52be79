//! Request extensions (7.38+): records appended after the arguments, each a `fuse_ext_header`
//! {size, type} followed by its payload, sizes in multiples of 8.

use fusekit_abi as abi;
use zerocopy::FromBytes;

const EXT_GROUPS: u32 = abi::EXT_GROUPS;

/// Finds the first supplementary group in a FUSE_EXT_GROUPS record.
pub(crate) fn supplementary_group(mut ext: &[u8]) -> Option<u32> {
    while let Ok((header, _)) = abi::ExtHeader::read_from_prefix(ext) {
        let size = header.size as usize;
        if size < core::mem::size_of::<abi::ExtHeader>() || size > ext.len() {
            return None;
        }
        let body = &ext[core::mem::size_of::<abi::ExtHeader>()..size];
        if header.r#type == EXT_GROUPS {
            let (groups, rest) = abi::SuppGroups::read_from_prefix(body).ok()?;
            if groups.nr_groups == 0 {
                return None;
            }
            let (gid, _) = u32::read_from_prefix(rest).ok()?;
            return Some(gid);
        }
        ext = &ext[size..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_group_after_other_records_and_rejects_garbage() {
        let mut ext = Vec::new();
        // An unrelated record of 16 bytes.
        ext.extend_from_slice(&16u32.to_ne_bytes());
        ext.extend_from_slice(&1u32.to_ne_bytes());
        ext.extend_from_slice(&[0; 8]);
        // The groups record: header, nr_groups=1, gid 1234, pad to 8.
        ext.extend_from_slice(&16u32.to_ne_bytes());
        ext.extend_from_slice(&EXT_GROUPS.to_ne_bytes());
        ext.extend_from_slice(&1u32.to_ne_bytes());
        ext.extend_from_slice(&1234u32.to_ne_bytes());
        assert_eq!(supplementary_group(&ext), Some(1234));
        assert_eq!(supplementary_group(&ext[..20]), None);
        assert_eq!(supplementary_group(&[0xff; 24]), None);
        assert_eq!(supplementary_group(&[]), None);
    }
}
