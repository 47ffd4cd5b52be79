//! How an async handler's `Result` becomes a reply: one [`Answer`] impl per reply type, each
//! mapping the handler's success value onto the reply's success method.

use std::time::Duration;

use fusekit_abi as abi;
use rustix::io::Errno;

use crate::attr::{Entry, FileAttr, Lock, Statfs};
use crate::reply::*;

/// A reply handle that an async task completes with its handler's result.
pub(crate) trait Answer: Send + 'static {
    /// What the handler returns on success.
    type Value: Send + 'static;

    /// Answers with the handler's success value.
    fn answer(self, value: Self::Value);

    /// Answers with an error.
    fn fail(self, errno: Errno);

    /// Answers with the handler's result.
    fn result(self, result: Result<Self::Value, Errno>)
    where
        Self: Sized,
    {
        match result {
            Ok(v) => self.answer(v),
            Err(e) => self.fail(e),
        }
    }
}

macro_rules! answer {
    ($reply:ty, $value:ty, |$r:ident, $v:ident| $body:expr) => {
        impl Answer for $reply {
            type Value = $value;
            fn answer(self, $v: $value) {
                let $r = self;
                $body
            }
            fn fail(self, errno: Errno) {
                self.error(errno)
            }
        }
    };
}

answer!(ReplyEmpty, (), |r, _v| r.ok());
answer!(ReplyEntry, Entry, |r, v| r.entry(&v));
answer!(ReplyAttr, (FileAttr, Duration), |r, v| r.attr(&v.0, v.1));
answer!(ReplyData, Vec<u8>, |r, v| r.data(&v));
answer!(ReplyOpen, (u64, OpenOptions), |r, v| r
    .opened_with(v.0, v.1));
answer!(ReplyWrite, u32, |r, v| r.written(v));
answer!(ReplyStatfs, Statfs, |r, v| r.statfs(&v));
answer!(ReplyCreate, (Entry, u64, OpenOptions), |r, v| r
    .created_with(&v.0, v.1, v.2));
answer!(ReplyLock, Lock, |r, v| r.locked(&v));
answer!(ReplyBmap, u64, |r, v| r.bmap(v));
answer!(ReplyLseek, u64, |r, v| r.offset(v));
answer!(ReplyPoll, u32, |r, v| r.revents(v));
answer!(ReplyIoctl, (i32, Vec<u8>), |r, v| r.ioctl(v.0, &v.1));
answer!(ReplyStatx, (abi::Statx, Duration), |r, v| r
    .statx(&v.0, v.1));
answer!(ReplyCopy, u64, |r, v| r.copied(v));

/// GETXATTR / LISTXATTR: the handler returns the whole value (or name list); the size
/// protocol is applied here — `size == 0` asks for the length, a value longer than `size`
/// is ERANGE.
#[derive(Debug)]
pub(crate) struct XattrAnswer {
    pub(crate) reply: ReplyXattr,
    pub(crate) size: u32,
}

impl Answer for XattrAnswer {
    type Value = Vec<u8>;

    fn answer(self, value: Vec<u8>) {
        let Ok(len) = u32::try_from(value.len()) else {
            return self.reply.error(Errno::TOOBIG);
        };
        if self.size == 0 {
            self.reply.size(len)
        } else if len > self.size {
            self.reply.error(Errno::RANGE)
        } else {
            self.reply.data(&value)
        }
    }

    fn fail(self, errno: Errno) {
        self.reply.error(errno)
    }
}
