//! A cursor over a request's argument bytes: fixed structs (copied, so alignment never
//! matters), NUL-terminated names and trailing data, each failing with a `DecodeError`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use zerocopy::FromBytes;

use super::DecodeError;

pub(crate) struct ArgReader<'a> {
    rest: &'a [u8],
    opcode: &'static str,
}

impl<'a> ArgReader<'a> {
    pub(crate) fn new(bytes: &'a [u8], opcode: &'static str) -> Self {
        ArgReader {
            rest: bytes,
            opcode,
        }
    }

    /// Reads a fixed-size struct by value.
    pub(crate) fn fixed<T: FromBytes>(&mut self, what: &'static str) -> Result<T, DecodeError> {
        match T::read_from_prefix(self.rest) {
            Ok((value, rest)) => {
                self.rest = rest;
                Ok(value)
            }
            Err(_) => Err(self.truncated(what)),
        }
    }

    /// Reads only the first `len` bytes of a struct (a shorter, older layout negotiated for this
    /// connection); the remaining fields are zero.
    pub(crate) fn fixed_partial<T: FromBytes + zerocopy::IntoBytes + Default>(
        &mut self,
        len: usize,
        what: &'static str,
    ) -> Result<T, DecodeError> {
        let len = len.min(core::mem::size_of::<T>());
        let head = self.bytes(len, what)?;
        let mut value = T::default();
        value.as_mut_bytes()[..len].copy_from_slice(head);
        Ok(value)
    }

    /// Reads a NUL-terminated, non-empty name (without the NUL).
    pub(crate) fn name(&mut self, what: &'static str) -> Result<&'a OsStr, DecodeError> {
        let name = self.cstr(what)?;
        if name.is_empty() {
            return Err(DecodeError::BadName {
                opcode: self.opcode,
                what,
            });
        }
        Ok(name)
    }

    /// Reads a NUL-terminated string that may be empty.
    pub(crate) fn cstr(&mut self, what: &'static str) -> Result<&'a OsStr, DecodeError> {
        let Some(nul) = self.rest.iter().position(|&b| b == 0) else {
            return Err(DecodeError::BadName {
                opcode: self.opcode,
                what,
            });
        };
        let (name, rest) = self.rest.split_at(nul);
        self.rest = &rest[1..];
        Ok(OsStr::from_bytes(name))
    }

    /// Takes exactly `len` bytes.
    pub(crate) fn bytes(
        &mut self,
        len: usize,
        what: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < len {
            return Err(self.truncated(what));
        }
        let (head, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(head)
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    fn truncated(&self, what: &'static str) -> DecodeError {
        DecodeError::Truncated {
            opcode: self.opcode,
            what,
        }
    }
}
