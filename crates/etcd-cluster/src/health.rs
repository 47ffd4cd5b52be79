//! etcd's `/health` endpoint over plain HTTP/1.0 on a std TcpStream, with a deadline per probe.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// True when the member at `port` answers `/health` with `"health":"true"` within `timeout`.
pub(crate) fn healthy(port: u16, timeout: Duration) -> bool {
    probe(port, timeout).is_some_and(|body| body.contains("\"health\":\"true\""))
}

fn probe(port: u16, timeout: Duration) -> Option<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    s.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}
