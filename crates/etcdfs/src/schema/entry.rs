//! A directory entry's value: the child's inode number and file type (for readdir's d_type
//! without reading the inode).

use super::{varint, FileType};

/// What a name in a directory points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub ino: u64,
    pub kind: FileType,
}

impl Entry {
    /// `varint ino`, then one byte of file type.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6);
        varint::put(&mut out, self.ino);
        out.push(self.kind.to_byte());
        out
    }

    /// Parses [`Entry::encode`]'s output.
    pub fn decode(mut input: &[u8]) -> Option<Entry> {
        let ino = varint::get(&mut input)?;
        match input {
            [b] => Some(Entry {
                ino,
                kind: FileType::from_byte(*b)?,
            }),
            _ => None,
        }
    }
}
