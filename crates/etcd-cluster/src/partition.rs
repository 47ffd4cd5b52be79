//! A partition between one client and the cluster: a TCP relay per member on a loopback port
//! of its own. The client under test is given the relays' endpoints
//! ([`Partition::endpoints_arg`]); [`Partition::cut`] stops every byte in both directions
//! (connections stay open, as when a network drops packets: the client notices only by its
//! own timeouts), and new connections wait; [`Partition::heal`] lets everything through
//! again. Other clients, given the members' own endpoints, are not affected. Dropping the
//! partition closes the relays and their connections.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// How often a stopped relay looks whether it may go on.
const POLL: Duration = Duration::from_millis(5);

#[derive(Debug, Default)]
struct Switch {
    cut: AtomicBool,
    closed: AtomicBool,
}

impl Switch {
    /// Waits while the partition is cut; false once the relay is closing.
    fn pass(&self) -> bool {
        while self.cut.load(Ordering::SeqCst) {
            if self.closed.load(Ordering::SeqCst) {
                return false;
            }
            thread::sleep(POLL);
        }
        !self.closed.load(Ordering::SeqCst)
    }
}

/// Relays in front of a cluster's members, with a switch.
#[derive(Debug)]
pub struct Partition {
    switch: Arc<Switch>,
    endpoints: Vec<String>,
}

impl Partition {
    /// One relay for each of `members` (`host:port` or `http://host:port`).
    pub fn new(members: &[String]) -> io::Result<Partition> {
        let switch = Arc::new(Switch::default());
        let mut endpoints = Vec::new();
        for member in members {
            let upstream = member.trim_start_matches("http://").to_string();
            let listener = TcpListener::bind(("127.0.0.1", 0))?;
            listener.set_nonblocking(true)?;
            endpoints.push(format!("http://{}", listener.local_addr()?));
            let switch = Arc::clone(&switch);
            thread::Builder::new()
                .name("partition-accept".into())
                .spawn(move || accept(&listener, &upstream, &switch))?;
        }
        Ok(Partition { switch, endpoints })
    }

    /// The relays' endpoints, comma-separated, for the client under test.
    pub fn endpoints_arg(&self) -> String {
        self.endpoints.join(",")
    }

    /// Stops all traffic through the relays.
    pub fn cut(&self) {
        self.switch.cut.store(true, Ordering::SeqCst);
    }

    /// Lets traffic through again.
    pub fn heal(&self) {
        self.switch.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.switch.closed.store(true, Ordering::SeqCst);
    }
}

fn accept(listener: &TcpListener, upstream: &str, switch: &Arc<Switch>) {
    while !switch.closed.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let (upstream, switch) = (upstream.to_string(), Arc::clone(switch));
                let _ = thread::Builder::new()
                    .name("partition-conn".into())
                    .spawn(move || relay(client, &upstream, &switch));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(POLL),
            Err(_) => thread::sleep(POLL),
        }
    }
}

/// One connection: waits for the switch, connects upstream, copies both ways.
fn relay(client: TcpStream, upstream: &str, switch: &Arc<Switch>) {
    if !switch.pass() {
        return;
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let back = Arc::clone(switch);
    let _ = thread::Builder::new()
        .name("partition-back".into())
        .spawn(move || copy(server2, client2, &back));
    copy(client, server, switch);
}

/// Copies `from` to `to` while the switch lets it; shuts both down at the end.
fn copy(mut from: TcpStream, mut to: TcpStream, switch: &Switch) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if !switch.pass() {
            break;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // Bytes read just before a cut are held until it heals.
                if !switch.pass() || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
