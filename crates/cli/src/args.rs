//! Command-line syntax (clap). Everything a user can type is declared here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// fusekit: userspace filesystems you can trust, and the tools to prove it.
///
/// Also a mount helper: `mount -t fuse.fusekit SOURCE MOUNTPOINT -o OPTIONS` (fstab type
/// `fuse.fusekit`; SOURCE is memfs, hello or passthrough:/DIR) runs
/// `fusekit SOURCE MOUNTPOINT -o OPTIONS`, which returns once the mount is ready and serves
/// it in the background (-f or -o foreground: in the foreground).
#[derive(Debug, Parser)]
#[command(name = "fusekit", version, about)]
pub struct Cli {
    /// More log output (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Where logs go: `syslog` (via /dev/log) or a file to append to (default: stderr).
    #[arg(long, global = true, value_name = "syslog|FILE")]
    pub log: Option<String>,
    /// Print `fusekit: ready` on stdout once the mount serves requests (used to run the
    /// server in the background).
    #[arg(long, global = true, hide = true)]
    pub notify_ready: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mount a filesystem and serve it in the foreground until it is unmounted
    /// (Ctrl-C or SIGTERM unmounts).
    Mount(MountArgs),
    /// Unmount a FUSE filesystem (also a dead one whose daemon crashed).
    Unmount(UnmountArgs),
    /// Check the consistency of a filesystem's stored state (not its mount): `fsck etcd`.
    Fsck(FsckArgs),
    /// Judge any mounted directory (fusekit, libfuse, go-fuse, ext4, tmpfs...) with the
    /// conformance and race suite; exit status 1 when a case fails.
    Check(CheckArgs),
    /// Measure any directory with the benchmark workloads (metadata, stat latency, readdir,
    /// sequential and random I/O; see bench/compare.sh for the side-by-side comparison), or,
    /// with --round-trips, count the FUSE requests everyday operations cost on memfs and
    /// passthrough.
    Bench(BenchArgs),
}

/// The default cache lifetime (`--timeout`) of the mounted filesystems, in seconds.
pub const DEFAULT_CACHE_TIMEOUT: f64 = 1.0;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The directory to measure (workloads create and remove their own files in it).
    #[arg(required_unless_present_any = ["list", "round_trips"])]
    pub dir: Option<PathBuf>,
    /// Instead of measuring DIR: count the FUSE requests everyday operations cost, by
    /// opcode, on memfs and passthrough mounted in this process for the purpose (as
    /// `fusekit mount` serves them), and print them as a table (--json: as JSON).
    #[arg(long, conflicts_with_all = ["dir", "workloads", "plot", "list"])]
    pub round_trips: bool,
    /// The transport of the --round-trips mounts.
    #[arg(long, value_enum, default_value_t, requires = "round_trips")]
    pub transport: TransportArg,
    /// How many times --round-trips does each operation (the counts are means).
    #[arg(long, value_name = "N", default_value_t = 20, requires = "round_trips",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub iterations: u32,
    /// Run only this workload (repeatable; default: all; see --list).
    #[arg(long = "workload", value_name = "NAME")]
    pub workloads: Vec<String>,
    /// Threads for the multi-threaded workloads (default: CPUs, at least 2).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(usize))]
    pub threads: Option<usize>,
    /// Seconds per timed measurement.
    #[arg(long, value_name = "S", default_value_t = 3.0)]
    pub seconds: f64,
    /// Size of the sequential read/write file in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    pub seq_mib: u64,
    /// Size of the random-read file in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub randread_mib: u64,
    /// Seconds one workload may take (setup and cleanup included) before it is stopped with
    /// an error and the run goes on.
    #[arg(long, value_name = "S", default_value_t = 300.0)]
    pub workload_limit: f64,
    /// Tiny sizes and durations (a smoke run).
    #[arg(long)]
    pub tiny: bool,
    /// Write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write an SVG chart to FILE.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// List the workloads and exit.
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The directory to judge (the suite works in a fresh subdirectory and removes it).
    #[arg(required_unless_present = "list")]
    pub dir: Option<PathBuf>,
    /// Run only cases whose name or family matches (substring or glob; repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub only: Vec<String>,
    /// Leave out cases whose name or family matches (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub skip: Vec<String>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Seed for the race cases and generated data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How long each race case runs.
    #[arg(
        long,
        value_name = "S",
        default_value_t = 2.0,
        allow_negative_numbers = true
    )]
    pub race_seconds: f64,
    /// The same directory as DIR seen through another mount (NFS, CephFS, a second FUSE
    /// daemon over one store...): runs the `peer` coherence cases between DIR and DIR2.
    #[arg(long, value_name = "DIR2")]
    pub peer: Option<PathBuf>,
    /// How long a peer case waits for a change made through DIR to show through DIR2.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub peer_wait: f64,
    /// List the cases and exit.
    #[arg(long)]
    pub list: bool,
    /// No per-case progress lines on stderr.
    #[arg(long = "no-progress")]
    pub quiet_progress: bool,
}

#[derive(Debug, Subcommand)]
pub enum FsKind {
    /// memfs: an in-memory filesystem with tmpfs semantics (the reference filesystem).
    Memfs {
        /// Where to mount it.
        mountpoint: PathBuf,
        /// Most bytes of file data, symlinks and xattrs (suffixes k, M, G, T; default: half
        /// of RAM, like tmpfs). Running out is ENOSPC.
        #[arg(long, value_name = "BYTES", value_parser = parse_size)]
        size_limit: Option<u64>,
        /// Most inodes (files, directories, links...). Running out is ENOSPC.
        #[arg(long, value_name = "N")]
        max_inodes: Option<u64>,
        /// Let the kernel batch buffered writes (writeback cache).
        #[arg(long)]
        writeback_cache: bool,
        /// Cache lifetime: how long the kernel may cache names and attributes, in seconds
        /// (0 = ask every time). Not a request timeout: see --request-timeout.
        #[arg(long, value_name = "S", default_value_t = DEFAULT_CACHE_TIMEOUT)]
        timeout: f64,
        #[command(flatten)]
        request_timeout: RequestTimeout,
        #[command(flatten)]
        common: CommonMount,
    },
    /// passthrough: mirrors the directory SRC at the mount point, with kernel passthrough for
    /// file I/O when the kernel allows it (root).
    Passthrough {
        /// The directory to mirror.
        source: PathBuf,
        /// Where to mount it.
        mountpoint: PathBuf,
        /// Never use kernel passthrough: every read and write goes through the daemon.
        #[arg(long)]
        no_kernel_passthrough: bool,
        /// Let the kernel batch buffered writes (turns kernel passthrough off: the kernel
        /// refuses both together).
        #[arg(long)]
        writeback_cache: bool,
        /// Cache lifetime: how long the kernel may cache names and attributes, in seconds
        /// (0 = ask every time; changes made directly in SRC show through after at most this
        /// long). Not a request timeout: see --request-timeout.
        #[arg(long, value_name = "S", default_value_t = DEFAULT_CACHE_TIMEOUT)]
        timeout: f64,
        #[command(flatten)]
        request_timeout: RequestTimeout,
        #[command(flatten)]
        common: CommonMount,
    },
    /// etcd: a filesystem whose whole state lives in an etcd cluster (etcd v3 API) under a key
    /// prefix; every acknowledged change is committed by a quorum of the cluster.
    Etcd {
        /// The cluster's client endpoints, comma-separated: host:port or http://host:port
        /// (any reachable member serves).
        endpoints: String,
        /// Where to mount it.
        mountpoint: PathBuf,
        /// The tree's name: its keys live under NAME/ (several trees share a cluster).
        #[arg(long, value_name = "NAME", default_value = "etcdfs")]
        prefix: String,
        /// Bound of every etcd call, in seconds: an unreachable or quorum-less cluster fails
        /// the file operation with EIO after this long instead of hanging it.
        #[arg(long = "store-timeout", value_name = "S", default_value_t = 5.0)]
        store_timeout: f64,
        /// Cache lifetime: how long the kernel may cache names and attributes, in seconds.
        #[arg(long, value_name = "S", default_value_t = DEFAULT_CACHE_TIMEOUT)]
        timeout: f64,
        /// Lifetime of this daemon's session lease, in whole seconds: if the daemon dies (or
        /// is cut off that long), its locks and open records go after this long.
        #[arg(long = "session-ttl", value_name = "S", default_value_t = 10)]
        session_ttl: i64,
        #[command(flatten)]
        request_timeout: RequestTimeout,
        #[command(flatten)]
        common: CommonMount,
    },
    /// hello: a read-only filesystem with one file (the smallest example).
    Hello {
        /// Where to mount it.
        mountpoint: PathBuf,
        #[command(flatten)]
        common: CommonMount,
    },
}

#[derive(Debug, Args)]
pub struct FsckArgs {
    #[command(subcommand)]
    pub store: FsckStore,
}

/// Which stored filesystem to check.
#[derive(Debug, Subcommand)]
pub enum FsckStore {
    /// An etcdfs tree: every entry names a live inode, link counts match the entries, no chunk
    /// or xattr without its inode, no cycle, no orphan whose session ended. Reads the whole
    /// prefix at one revision; changes nothing. Exit 0 when clean, 1 when not.
    Etcd {
        /// The cluster's client endpoints, comma-separated: host:port or http://host:port.
        endpoints: String,
        /// The tree's name (as given to `fusekit mount etcd --prefix`).
        #[arg(long, value_name = "NAME", default_value = "etcdfs")]
        prefix: String,
        /// Bound of every etcd call, in seconds.
        #[arg(long = "store-timeout", value_name = "S", default_value_t = 5.0)]
        store_timeout: f64,
    },
}

#[derive(Debug, Args)]
pub struct MountArgs {
    #[command(subcommand)]
    pub fs: FsKind,
}

/// How to mount.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum MountMethodArg {
    /// mount(2) when privileged, fusermount3 otherwise.
    #[default]
    Auto,
    /// mount(2) only; fail with the reason instead of falling back.
    Strict,
    /// Always through fusermount3.
    Fusermount,
}

/// Request transport.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum TransportArg {
    /// io_uring when the kernel offers it at mount time (enable_uring=Y), else /dev/fuse.
    #[default]
    Auto,
    /// /dev/fuse only.
    Dev,
    /// io_uring only.
    Uring,
}

impl From<TransportArg> for fusekit::Transport {
    fn from(t: TransportArg) -> Self {
        match t {
            TransportArg::Auto => fusekit::Transport::Auto,
            TransportArg::Dev => fusekit::Transport::Dev,
            TransportArg::Uring => fusekit::Transport::Uring,
        }
    }
}

#[derive(Debug, Args)]
pub struct CommonMount {
    /// Mount options, comma-separated: allow_other, default_permissions, ro, fsname=NAME,
    /// subtype=NAME, max_read=N, auto_unmount (or any other option the kernel accepts).
    #[arg(short = 'o', value_name = "OPTIONS")]
    pub options: Vec<String>,
    /// How to mount.
    #[arg(long, value_enum, default_value_t)]
    pub method: MountMethodArg,
    /// How requests travel. auto: io_uring when the kernel offers it at mount time (the fuse
    /// module parameter /sys/module/fuse/parameters/enable_uring is Y, Linux 6.14+; read
    /// once, at mount: changing it later does not change a running mount), else /dev/fuse.
    /// dev: /dev/fuse only. uring: io_uring only (fails when the kernel does not offer it).
    /// The "mounted" line says which one is in use.
    #[arg(long, value_enum, default_value_t)]
    pub transport: TransportArg,
    /// Entries per io_uring queue (one queue per CPU).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub queue_depth: Option<u16>,
    /// Worker threads serving /dev/fuse (default: one per CPU, 2..16).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Microseconds a /dev/fuse worker keeps asking for the next request before it sleeps
    /// (one worker at a time; 0 = never, the default). Faster single-threaded round trips
    /// where waking a sleeping thread is slow (virtual machines), at the cost of CPU time and
    /// of throughput when callers already keep every CPU busy. Not used over io_uring.
    #[arg(long = "busy-poll", value_name = "MICROS", value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub busy_poll_us: Option<u32>,
}

/// The kernel's request timeout (FUSE_REQUEST_TIMEOUT), for the filesystems that offer it.
#[derive(Debug, Args)]
pub struct RequestTimeout {
    /// Request timeout: when a request stays unanswered this many whole seconds, the kernel
    /// aborts the connection (the waiting call fails with ECONNABORTED, later ones with
    /// ENOTCONN) instead of letting callers hang. 0 = never (default); at most 65535. Linux
    /// 6.14+; the kernel checks every 15 s, so a stuck call may wait up to 15 s longer (with
    /// 1: 15-30 s). Not the cache --timeout.
    #[arg(
        long = "request-timeout",
        value_name = "SECONDS",
        default_value_t = 0,
        value_parser = parse_request_timeout
    )]
    pub seconds: u16,
}

impl RequestTimeout {
    /// The timeout to ask for, or `None` for none.
    pub fn duration(&self) -> Option<std::time::Duration> {
        (self.seconds > 0).then(|| std::time::Duration::from_secs(self.seconds.into()))
    }
}

#[derive(Debug, Args)]
pub struct UnmountArgs {
    /// The mount point.
    pub mountpoint: PathBuf,
    /// Detach it even when busy (open files, working directories): it disappears from the
    /// tree now and the filesystem lives on until its last user lets go. Without it a busy
    /// mount is refused and left as it is.
    #[arg(long)]
    pub lazy: bool,
    /// Abort the FUSE connection first, then detach: every request in progress fails with
    /// ENOTCONN, so callers stuck on a hung filesystem return, and the daemon stops.
    #[arg(long, conflicts_with = "lazy")]
    pub abort: bool,
}

/// Parses a byte count with an optional binary suffix: 4096, 64k, 512M, 2G, 1T.
pub fn parse_size(text: &str) -> Result<u64, String> {
    const FORMS: &str = "a whole number of bytes, optionally followed by k, M, G or T \
                         (powers of 1024), e.g. 1048576, 64k, 512M, 2G";
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_lowercase() {
                'k' => 10,
                'm' => 20,
                'g' => 30,
                't' => 40,
                _ => u32::MAX,
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = match digits.parse() {
        Ok(n) if digits.bytes().all(|b| b.is_ascii_digit()) && shift != u32::MAX => n,
        _ => return Err(format!("{text:?} is not a size: give {FORMS}")),
    };
    n.checked_shl(shift)
        .filter(|v| v >> shift == n)
        .ok_or_else(|| format!("{text:?} is too large (at most 16 EiB - 1)"))
}

/// Parses `--request-timeout`: whole seconds, 0 (none) up to 65535 (the protocol's u16 field).
pub fn parse_request_timeout(text: &str) -> Result<u16, String> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{text:?}: not a whole number of seconds (0 = no timeout, 1 to 65535)"
        ));
    }
    t.parse::<u16>().map_err(|_| {
        format!(
            "{text:?}: out of range (0 = no timeout, at most 65535 seconds: \
             the protocol's field is 16 bits)"
        )
    })
}
