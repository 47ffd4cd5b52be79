//! Free loopback ports: bound all at once on 127.0.0.1:0 (so they are distinct), then released
//! for etcd to take. Another process may grab one in between; the cluster then fails to become
//! healthy and [`crate::Cluster::start`] retries with fresh ports.

use std::io;
use std::net::TcpListener;

/// `n` distinct free ports on 127.0.0.1.
pub(crate) fn free_ports(n: usize) -> io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind(("127.0.0.1", 0)))
        .collect::<io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}
