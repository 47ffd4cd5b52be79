//! Engine-neutral request and response types of the [`super::Store`] trait.

/// A lease id (etcd's i64; 0 means no lease).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeaseId(pub i64);

/// One key with its value and revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// Revision of the key's creation.
    pub create_revision: i64,
    /// Revision of the key's last modification.
    pub mod_revision: i64,
    /// Number of modifications since creation (1 after the first put).
    pub version: i64,
    /// The lease the key is attached to, if any.
    pub lease: Option<LeaseId>,
}

/// The answer to a range read.
#[derive(Debug, Clone, Default)]
pub struct RangeResult {
    pub kvs: Vec<KeyValue>,
    /// More keys exist in the range beyond the limit.
    pub more: bool,
    /// The store revision the read was served at.
    pub revision: i64,
}

/// How a compare relates the key's field to the given one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Equal,
    NotEqual,
    Less,
    Greater,
}

/// Which field of the key a compare looks at, and the value to compare with. A missing key has
/// version 0, mod_revision 0, and no value (a value compare on it fails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmpTarget {
    Version(i64),
    ModRevision(i64),
    Value(Vec<u8>),
}

/// One guard of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    pub key: Vec<u8>,
    pub op: CmpOp,
    pub target: CmpTarget,
}

impl Compare {
    /// The key does not exist.
    pub fn absent(key: impl Into<Vec<u8>>) -> Compare {
        Compare {
            key: key.into(),
            op: CmpOp::Equal,
            target: CmpTarget::Version(0),
        }
    }

    /// The key was last modified at `rev` (0: it does not exist).
    pub fn mod_revision(key: impl Into<Vec<u8>>, rev: i64) -> Compare {
        Compare {
            key: key.into(),
            op: CmpOp::Equal,
            target: CmpTarget::ModRevision(rev),
        }
    }

    /// The key holds exactly `value`.
    pub fn value(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Compare {
        Compare {
            key: key.into(),
            op: CmpOp::Equal,
            target: CmpTarget::Value(value.into()),
        }
    }
}

/// A write of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    },
    Delete {
        key: Vec<u8>,
    },
    /// Deletes every key in `[start, end)`.
    DeleteRange {
        start: Vec<u8>,
        end: Vec<u8>,
    },
}

/// A transaction: if every compare holds, `then`, else `otherwise`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Txn {
    pub compares: Vec<Compare>,
    pub then: Vec<TxnOp>,
    pub otherwise: Vec<TxnOp>,
}

/// The outcome of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnResult {
    /// The compares held and `then` ran.
    pub succeeded: bool,
    /// The store revision after the transaction.
    pub revision: i64,
}

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change seen by a watch (for a delete, `kv` holds the key and the deletion revision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub kv: KeyValue,
}

/// Events delivered together, with the store revision they bring the watcher to.
#[derive(Debug, Clone, Default)]
pub struct WatchBatch {
    pub revision: i64,
    pub events: Vec<Event>,
}

/// The first key after every key starting with `prefix` (the end of a prefix range); the empty
/// key (meaning "no end") when `prefix` is all 0xff or empty.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_increments_the_last_non_ff_byte() {
        assert_eq!(prefix_end(b"ab"), b"ac");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        // etcd reads range_end "\0" as "every key >= start".
        assert_eq!(prefix_end(b"\xff\xff"), b"\0");
        assert_eq!(prefix_end(b""), b"\0");
    }
}
