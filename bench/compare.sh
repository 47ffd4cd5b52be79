#!/usr/bin/env bash
# bench/compare.sh — measure fusekit and peer FUSE frameworks against native tmpfs, in one run,
# on this machine, and write bench/results/RESULTS.md and bench/results/chart.svg.
#
# Run as root from anywhere:  sudo bench/compare.sh
# Sizes and limits (environment):
#   BENCH_SEQ_MIB=1024        sequential file size (MiB)
#   BENCH_RANDREAD_MIB=256    random-read file size (MiB)
#   BENCH_SECONDS=3           seconds per timed cell
#   BENCH_THREADS=$(nproc)    N of the multi-threaded cells (at least 2)
#   BENCH_WORKLOAD_LIMIT=300  seconds one workload may take (setup and cleanup included) before
#                             it is stopped with an error and the run goes on
#   BENCH_TIMEOUT=3600        seconds one benchmark invocation may take before it is killed (a
#                             backstop for a hung filesystem; its results are then lost)
#   BENCH_ONLY=id,id          run only these contenders (ids: see `contenders` below)
#   BENCH_RESULTS=dir         where RESULTS.md and chart.svg go (default bench/results)
#   BENCH_TINY=1              smoke-test this script: tiny sizes, meaningless numbers
#   BENCH_KEEP_NOFILE=1       keep the shell's open-file limit (default: raise it to fs.nr_open)
# Peers are built into bench/scratch (git-ignored); none of their code is committed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRATCH=$ROOT/bench/scratch
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}
SEQ_MIB=${BENCH_SEQ_MIB:-1024}
RANDREAD_MIB=${BENCH_RANDREAD_MIB:-256}
CELL_SECONDS=${BENCH_SECONDS:-3}
THREADS=${BENCH_THREADS:-$(nproc)}
((THREADS < 2)) && THREADS=2
TIMEOUT=${BENCH_TIMEOUT:-3600}
WORKLOAD_LIMIT=${BENCH_WORKLOAD_LIMIT:-300}
ONLY=${BENCH_ONLY:-}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

log() { printf '[compare %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (mounts, drop_caches, kernel passthrough)"
[[ -e /dev/fuse ]] || die "/dev/fuse is missing"

# Passthroughs that keep one fd per inode the kernel knows (fusekit passthrough, libfuse
# passthrough_ll) need more than 100k fds for readdir-100k, and none of them raises its own
# limit: every daemon gets the system maximum unless BENCH_KEEP_NOFILE=1.
NOFILE_BEFORE=$(ulimit -n)
if [[ ${BENCH_KEEP_NOFILE:-} != 1 ]]; then
    ulimit -n "$(cat /proc/sys/fs/nr_open 2>/dev/null || echo 1048576)" 2>/dev/null ||
        ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi

# ---------------------------------------------------------------------------------------------
# Clean-up: every mount this script makes and every daemon it starts is undone on exit,
# whatever happened.
WORK=$(mktemp -d /tmp/fusekit-compare.XXXXXX)
MOUNTS=()   # mount points, unmounted in reverse order
DAEMON=""   # the one FUSE daemon running at a time
URING_PARAM=/sys/module/fuse/parameters/enable_uring
URING_SAVED=""

# Whether $1 is a mount point, from the mount table (`mountpoint` stats the path, which fails
# with ENOTCONN on a FUSE mount whose daemon died: such a mount must still be undone).
is_mounted() {
    awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo
}

abort_fuse() {  # abort the FUSE connection behind mount point $1 (a hung daemon)
    local dev
    dev=$(awk -v m="$1" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo)
    [[ -n $dev && -w /sys/fs/fuse/connections/${dev#*:}/abort ]] &&
        echo 1 >"/sys/fs/fuse/connections/${dev#*:}/abort" 2>/dev/null
    return 0
}

unmount_point() {  # unmount $1 if mounted: politely, then abort + lazy
    local m=$1 i
    for i in 1 2 3; do
        is_mounted "$m" || return 0
        umount "$m" 2>/dev/null && return 0
        sleep 0.5
    done
    log "unmount of $m is stuck: aborting the connection"
    abort_fuse "$m"
    umount -l "$m" 2>/dev/null || true
}

stop_daemon() {  # wait up to 10 s for $DAEMON to exit after its unmount, then kill it
    local pid=$DAEMON i
    DAEMON=""
    [[ -n $pid ]] || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    log "daemon $pid did not exit: killing it"
    kill -TERM "$pid" 2>/dev/null || true
    sleep 1
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    if [[ -n $RUNNER_PID ]]; then  # a benchmark still running: stop it before unmounting
        kill -TERM "$RUNNER_PID" 2>/dev/null || true
        wait "$RUNNER_PID" 2>/dev/null || true
    fi
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do unmount_point "${MOUNTS[i]}"; done
    [[ -n $HOLD_FD ]] && exec {HOLD_FD}>&-
    stop_daemon
    [[ -n $URING_SAVED ]] && echo "$URING_SAVED" >"$URING_PARAM" 2>/dev/null
    if grep -q " $WORK" /proc/self/mountinfo; then
        log "something is still mounted under $WORK: leaving it for inspection"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Build fusekit and the peers. A contender whose build fails is "not available", with the reason.
declare -A UNAVAILABLE  # contender id -> reason
VERSIONS=()

log "building fusekit-bench and fusekit (release) into $CARGO_TARGET_DIR"
(cd "$ROOT" && cargo build --release -p fusekit-bench) >"$WORK/build-bench.log" 2>&1 ||
    { tail -20 "$WORK/build-bench.log" >&2; die "cannot build fusekit-bench"; }
BENCH_BIN=$CARGO_TARGET_DIR/release/fusekit-bench
FUSEKIT=$CARGO_TARGET_DIR/release/fusekit
if ! (cd "$ROOT" && cargo build --release -p fusekit-cli) >"$WORK/build-cli.log" 2>&1; then
    log "fusekit-cli does not build: fusekit contenders not available"
    tail -5 "$WORK/build-cli.log" >&2
    FUSEKIT=""
fi
VERSIONS+=("fusekit: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)")

# The runner: `fusekit bench` when the CLI has it with every flag this script passes, else the
# library's own runner (the same library code either way).
RUNNER=("$BENCH_BIN" run)
if [[ -n $FUSEKIT ]] && cli_help=$("$FUSEKIT" bench --help 2>/dev/null) &&
    grep -q -- '--seq-mib' <<<"$cli_help" && grep -q -- '--randread-mib' <<<"$cli_help" &&
    grep -q -- '--workload-limit' <<<"$cli_help"; then
    RUNNER=("$FUSEKIT" bench)
fi
log "runner: ${RUNNER[*]}"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

build_libfuse() {
    local ex=/usr/share/doc/libfuse3-dev/examples out=$SCRATCH/libfuse f
    if ! dpkg -s libfuse3-dev >/dev/null 2>&1; then
        log "installing libfuse3-dev (for libfuse's example filesystems)"
        apt-get install -y -qq libfuse3-dev pkg-config >"$WORK/apt.log" 2>&1 ||
            { echo "apt-get install libfuse3-dev failed"; return 1; }
    fi
    [[ -d $ex ]] || { echo "libfuse3-dev does not ship example sources ($ex)"; return 1; }
    mkdir -p "$out"
    for f in passthrough passthrough_fh passthrough_ll; do
        [[ -f $ex/$f.c ]] || { echo "$ex/$f.c is not shipped"; return 1; }
        # shellcheck disable=SC2046
        gcc -O2 -Wall $(pkg-config fuse3 --cflags) "$ex/$f.c" -o "$out/$f" \
            $(pkg-config fuse3 --libs) >"$WORK/gcc-$f.log" 2>&1 ||
            { echo "gcc $f.c failed: $(tail -1 "$WORK/gcc-$f.log")"; return 1; }
    done
}
LIBFUSE_VERSION=$(dpkg-query -W -f '${Version}' libfuse3-dev 2>/dev/null || true)
if reason=$(build_libfuse); then
    LIBFUSE_VERSION=$(dpkg-query -W -f '${Version}' libfuse3-dev)
    VERSIONS+=("libfuse: $LIBFUSE_VERSION (Debian libfuse3-dev, examples from /usr/share/doc/libfuse3-dev/examples, gcc -O2)")
else
    for id in libfuse-passthrough libfuse-passthrough-fh libfuse-passthrough-ll; do
        UNAVAILABLE[$id]=$reason
    done
    log "libfuse examples not available: $reason"
fi

build_fuser() {
    local proj=$SCRATCH/fuser-peer src
    mkdir -p "$proj/src"
    cat >"$proj/Cargo.toml" <<'EOF'
[package]
name = "fuser-peer"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
fuser = "*"
EOF
    echo 'fn main() {}' >"$proj/src/main.rs"
    (cd "$proj" && cargo fetch) >"$WORK/fuser-fetch.log" 2>&1 ||
        { echo "cargo fetch of fuser failed"; return 1; }
    local ver
    ver=$(cd "$proj" && cargo pkgid fuser 2>/dev/null | sed 's/.*[@#]//')
    src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/fuser-"$ver" 2>/dev/null | head -1)
    [[ -d $src/examples ]] || { echo "fuser $ver has no examples in its package"; return 1; }
    # Build its own example from a copy of the unpacked package (its rust-toolchain pin is
    # ignored: this machine has one toolchain).
    rm -rf "$SCRATCH/fuser-src" && cp -r "$src" "$SCRATCH/fuser-src"
    grep -q '^\[workspace\]' "$SCRATCH/fuser-src/Cargo.toml" ||
        printf '\n[workspace]\n' >>"$SCRATCH/fuser-src/Cargo.toml"
    (cd "$SCRATCH/fuser-src" && RUSTUP_TOOLCHAIN=stable \
        CARGO_TARGET_DIR=$SCRATCH/fuser-target cargo build --release --example simple) \
        >"$WORK/fuser-build.log" 2>&1 ||
        { echo "building fuser's simple example failed: $(grep -m1 '^error' "$WORK/fuser-build.log")"; return 1; }
    echo "$ver"
}
if out=$(build_fuser); then
    FUSER_VERSION=$out
    FUSER_SIMPLE=$SCRATCH/fuser-target/release/examples/simple
    VERSIONS+=("fuser: $FUSER_VERSION (from the Rust package registry; its examples/simple.rs built with cargo --release)")
else
    UNAVAILABLE[fuser-simple]=$out
    log "fuser example not available: $out"
fi

# ---------------------------------------------------------------------------------------------
# The work area: one tmpfs holds the native baseline directory and every passthrough's source.
TMPFS=$WORK/tmpfs
MNT=$WORK/mnt
mkdir -p "$TMPFS" "$MNT" "$WORK/json"
mount -t tmpfs -o "size=$((SEQ_MIB + RANDREAD_MIB + 2048))m,mode=0755" fusekit-compare "$TMPFS"
MOUNTS+=("$TMPFS")
SRC=$TMPFS/src
# Touch the memory the run will use once before measuring: in a fresh virtual machine the first
# write to each guest page is a fault on the host, which made the first contender's sequential
# write (the native baseline's) 5-10x slower than later ones.
if [[ ${BENCH_TINY:-} != 1 ]]; then
    log "touching $((SEQ_MIB + RANDREAD_MIB + 1024)) MiB of memory once (first-touch faults of a fresh VM)"
    dd if=/dev/zero of="$TMPFS/prefault" bs=1M count=$((SEQ_MIB + RANDREAD_MIB + 1024)) status=none
    rm -f "$TMPFS/prefault"
fi

ALL_WORKLOADS=$("$BENCH_BIN" list | awk '{print $1}')
# Every workload but stat-latency (measured on its own mount with attribute caching off), with
# readdir-100k last: a daemon that runs out of fds there (one per inode, 100k inodes) would
# otherwise fail every workload after it.
MAIN_ARGS=()
for w in $ALL_WORKLOADS; do
    [[ $w == stat-latency || $w == readdir-100k ]] || MAIN_ARGS+=(--workload "$w")
done
MAIN_ARGS+=(--workload readdir-100k)
SIZE_ARGS=(--threads "$THREADS" --seconds "$CELL_SECONDS" --seq-mib "$SEQ_MIB" --randread-mib "$RANDREAD_MIB")
if "${RUNNER[@]}" --help 2>/dev/null | grep -q -- '--workload-limit'; then
    SIZE_ARGS+=(--workload-limit "$WORKLOAD_LIMIT")
fi
# BENCH_TINY=1: smoke-test the script itself (tiny sizes, meaningless numbers).
[[ ${BENCH_TINY:-} == 1 ]] && SIZE_ARGS=(--tiny)

# Run in the background and waited for, so a TERM to this script is handled at once (bash
# defers traps until a foreground child exits); the clean-up stops it.
RUNNER_PID=""
bench_dir() {  # run the benchmark on $1, JSON to $2, extra args after
    local dir=$1 json=$2 rc=0
    shift 2
    timeout --kill-after=10 "$TIMEOUT" "${RUNNER[@]}" "$dir" "${SIZE_ARGS[@]}" --json "$json" "$@" \
        >"$json.txt" 2>"$json.progress" &
    RUNNER_PID=$!
    wait "$RUNNER_PID" || rc=$?
    RUNNER_PID=""
    return "$rc"
}

# mount_fs MNT LOG CMD...: start a daemon serving MNT in the foreground; wait until mounted.
# On failure MOUNT_ERR says why. (Not called in $(...): the daemon must be this shell's child.)
# With STDIN_CONTROL=1 the daemon's stdin is a FIFO this script holds open, for daemons that
# unmount themselves when stdin closes (fusekit-passthrough's example).
MOUNT_ERR=""
STDIN_CONTROL=""
HOLD_FD=""
mount_fs() {
    local mnt=$1 logf=$2 i
    shift 2
    if [[ -n $STDIN_CONTROL ]]; then
        local fifo=$WORK/stdin.fifo
        rm -f "$fifo" && mkfifo "$fifo"
        "$@" <"$fifo" >"$logf" 2>&1 &
        DAEMON=$!
        exec {HOLD_FD}>"$fifo"
    else
        "$@" </dev/null >"$logf" 2>&1 &
        DAEMON=$!
    fi
    MOUNTS+=("$mnt")
    for i in $(seq 1 100); do
        is_mounted "$mnt" && return 0
        kill -0 "$DAEMON" 2>/dev/null || break
        sleep 0.1
    done
    MOUNT_ERR="did not mount: $(tail -3 "$logf" | tr '\n' ' ')"
    unmount_fs "$mnt"
    return 1
}

unmount_fs() {
    local i
    if [[ -n $HOLD_FD ]]; then  # closing its stdin asks the daemon to unmount itself
        exec {HOLD_FD}>&-
        HOLD_FD=""
        for i in $(seq 1 100); do
            is_mounted "$1" || break
            sleep 0.1
        done
    fi
    unmount_point "$1"
    stop_daemon
}

declare -A NOTES   # contender id -> note under the table
declare -A LABELS  # contender id -> label
declare -A FILES   # contender id -> json files
ORDER=()

wanted() { [[ -z $ONLY || ",$ONLY," == *",$1,"* ]]; }

# contender ID LABEL SUBDIR NOCACHE_NOTE -- DEFAULT_CMD... [--- NOCACHE_CMD...]
# SUBDIR is where the benchmark runs, relative to the mount point (for the libfuse examples that
# mirror / it is the source directory's absolute path). Without a NOCACHE_CMD, stat-latency runs
# on the default mount and NOCACHE_NOTE says why.
contender() {
    local id=$1 label=$2 subdir=$3 note=$4
    shift 5
    local cmd=() nocache=()
    while (($#)) && [[ $1 != --- ]]; do cmd+=("$1"); shift; done
    (($#)) && { shift; nocache=("$@"); }
    ORDER+=("$id")
    LABELS[$id]=$label
    if [[ -n ${UNAVAILABLE[$id]:-} ]]; then
        NOTES[$id]="not available: ${UNAVAILABLE[$id]}"
        return 0
    fi
    wanted "$id" || { NOTES[$id]="not run (BENCH_ONLY)"; UNAVAILABLE[$id]=skipped; return 0; }
    log "== $label: ${cmd[*]}"
    rm -rf "$SRC" && mkdir -p "$SRC"
    local j=$WORK/json/$id failed=""
    if ! mount_fs "$MNT" "$WORK/$id.log" "${cmd[@]}"; then
        NOTES[$id]="not available: $MOUNT_ERR"
        UNAVAILABLE[$id]=mount
        log "$label: $MOUNT_ERR"
        return 0
    fi
    if ((${#nocache[@]})); then
        NOTES[$id]="\`${cmd[*]}\`; stat-latency on \`${nocache[*]}\`"
        bench_dir "$MNT$subdir" "$j-main.json" "${MAIN_ARGS[@]}" ||
            failed="run failed or timed out (${TIMEOUT}s): $(tail -2 "$j-main.json.progress" | tr '\n' ' ')"
        unmount_fs "$MNT"
        if [[ -z $failed ]]; then
            if mount_fs "$MNT" "$WORK/$id-nocache.log" "${nocache[@]}"; then
                bench_dir "$MNT$subdir" "$j-stat.json" --workload stat-latency ||
                    failed="stat-latency failed or timed out: $(tail -2 "$j-stat.json.progress" | tr '\n' ' ')"
                unmount_fs "$MNT"
            else
                failed="stat-latency mount $MOUNT_ERR"
            fi
        fi
    else
        NOTES[$id]="\`${cmd[*]}\`; $note"
        bench_dir "$MNT$subdir" "$j-main.json" --workload stat-latency "${MAIN_ARGS[@]}" ||
            failed="run failed or timed out (${TIMEOUT}s): $(tail -2 "$j-main.json.progress" | tr '\n' ' ')"
        unmount_fs "$MNT"
    fi
    # Whatever finished is reported, even when a later step failed.
    if [[ -f $j-main.json ]]; then
        FILES[$id]=$j-main.json
        [[ -f $j-stat.json ]] && FILES[$id]+=",$j-stat.json"
    fi
    # fusekit's daemon logs the transport it ended up using (io_uring may fall back to /dev/fuse).
    local transport
    transport=$(grep -h -o -m1 'transport=[^ ]*' "$WORK/$id.log" 2>/dev/null | head -1 || true)
    [[ -n $transport ]] && NOTES[$id]+="; daemon reported $transport"
    # A daemon that died says why in its log.
    local errors
    errors=$(grep -h -m1 -E 'panicked at|Segmentation|core dumped|[Ff]atal|^[Ee]rror' "$WORK/$id.log" "$WORK/$id-nocache.log" 2>/dev/null | head -1 || true)
    if [[ -n $errors ]]; then
        failed+="${failed:+; }daemon log: ${errors:0:200}"
    fi
    if [[ -n $failed ]]; then
        NOTES[$id]+="; $failed"
        log "$label: $failed"
    fi
    # Paths in the notes name this run's temporary directory: make them readable.
    NOTES[$id]=${NOTES[$id]//$WORK/\$W}
}

# ---------------------------------------------------------------------------------------------
# The contenders.
ORDER+=(native)
LABELS[native]="native tmpfs"
log "== native tmpfs"
mkdir -p "$TMPFS/native"
bench_dir "$TMPFS/native" "$WORK/json/native.json" || die "the native baseline failed: $(tail -3 "$WORK/json/native.json.progress")"
FILES[native]=$WORK/json/native.json
NOTES[native]="the ceiling: a directory on tmpfs, no FUSE"

fusekit_has() {  # fusekit_has KIND [PATTERN]: the mount subcommand exists (and its help matches)
    [[ -n $FUSEKIT ]] || return 1
    local help
    help=$("$FUSEKIT" mount "$1" --help 2>/dev/null) || return 1
    [[ -z ${2:-} ]] || grep -q -- "$2" <<<"$help"
}

# Fills NOCACHE_ARGS with the options of `fusekit mount KIND` that turn attribute and entry
# caching off, if its help shows any.
NOCACHE_ARGS=()
fusekit_nocache() {
    NOCACHE_ARGS=()
    local help
    help=$("$FUSEKIT" mount "$1" --help 2>/dev/null) || return 0
    if grep -q -- '--attr-timeout' <<<"$help"; then
        NOCACHE_ARGS=(--attr-timeout 0)
        grep -q -- '--entry-timeout' <<<"$help" && NOCACHE_ARGS+=(--entry-timeout 0)
    elif grep -q -- '--timeout' <<<"$help"; then
        NOCACHE_ARGS=(--timeout 0)
    fi
    return 0
}

# with_nocache ID LABEL CMD...: a contender whose no-cache mount is CMD plus
# the last NOCACHE_ARGS (or, without any, stat-latency on the default mount, said in the note).
with_nocache() {
    local id=$1 label=$2
    shift 2
    if ((${#NOCACHE_ARGS[@]})); then
        contender "$id" "$label" "" "" -- "$@" --- "$@" "${NOCACHE_ARGS[@]}"
    else
        contender "$id" "$label" "" \
            "no option to turn attribute caching off: stat-latency with the default timeouts" -- "$@"
    fi
}

# The crate example that mounts a passthrough (unmounts when its stdin closes): the stand-in
# while the CLI has no `mount passthrough`.
PT_EXAMPLE=""
build_pt_example() {
    [[ -n $PT_EXAMPLE ]] && return 0
    (cd "$ROOT" && cargo build --release -p fusekit-passthrough --example passthrough) \
        >"$WORK/build-pt-example.log" 2>&1 || return 1
    PT_EXAMPLE=$CARGO_TARGET_DIR/release/examples/passthrough
}

fusekit_contenders() {
    local missing="does not exist in this build of the fusekit CLI"
    # memfs
    if fusekit_has memfs; then
        fusekit_nocache memfs
        with_nocache fusekit-memfs "fusekit memfs" "$FUSEKIT" mount memfs "$MNT"
        # The same over /dev/fuse with busy polling on (off by default; see `--busy-poll`).
        if fusekit_has memfs --busy-poll; then
            with_nocache fusekit-memfs-busypoll "fusekit memfs (/dev/fuse, --busy-poll 50)" \
                "$FUSEKIT" mount memfs "$MNT" --transport dev --busy-poll 50
        fi
    else
        UNAVAILABLE[fusekit-memfs]="\`fusekit mount memfs\` $missing"
        contender fusekit-memfs "fusekit memfs" "" "" --
    fi
    # passthrough, with and without kernel passthrough
    local pt=("$FUSEKIT" mount passthrough "$SRC" "$MNT")
    if fusekit_has passthrough; then
        fusekit_nocache passthrough
        with_nocache fusekit-passthrough "fusekit passthrough" "${pt[@]}"
        if fusekit_has passthrough --no-kernel-passthrough; then
            with_nocache fusekit-passthrough-nokp "fusekit passthrough (no kernel passthrough)" \
                "${pt[@]}" --no-kernel-passthrough
        else
            UNAVAILABLE[fusekit-passthrough-nokp]="\`fusekit mount passthrough --no-kernel-passthrough\` $missing"
            contender fusekit-passthrough-nokp "fusekit passthrough (no kernel passthrough)" "" "" --
        fi
    elif build_pt_example; then
        log "fusekit mount passthrough $missing: using the fusekit-passthrough crate example instead"
        NOCACHE_ARGS=(--timeout 0)
        STDIN_CONTROL=1
        local ex=("$PT_EXAMPLE" "$SRC" "$MNT")
        with_nocache fusekit-passthrough "fusekit passthrough (crate example)" "${ex[@]}"
        with_nocache fusekit-passthrough-nokp "fusekit passthrough (crate example, no kernel passthrough)" \
            "${ex[@]}" --no-kernel-passthrough
        STDIN_CONTROL=""
    else
        local why="\`fusekit mount passthrough\` $missing, and the crate example does not build"
        UNAVAILABLE[fusekit-passthrough]=$why
        UNAVAILABLE[fusekit-passthrough-nokp]=$why
        contender fusekit-passthrough "fusekit passthrough" "" "" --
        contender fusekit-passthrough-nokp "fusekit passthrough (no kernel passthrough)" "" "" --
    fi
    # io_uring transport
    local kind id
    for kind in memfs passthrough; do
        id=fusekit-$kind-uring
        local cmd=("$FUSEKIT" mount memfs "$MNT" --transport uring)
        [[ $kind == passthrough ]] && cmd=("${pt[@]}" --transport uring)
        if fusekit_has "$kind" transport && [[ -w $URING_PARAM ]]; then
            URING_SAVED=$(cat "$URING_PARAM")
            echo Y >"$URING_PARAM"
            fusekit_nocache "$kind"
            with_nocache "$id" "fusekit $kind (io_uring)" "${cmd[@]}"
            echo "$URING_SAVED" >"$URING_PARAM"
            URING_SAVED=""
        else
            UNAVAILABLE[$id]="\`fusekit mount $kind --transport\` $missing"
            [[ -w $URING_PARAM ]] || UNAVAILABLE[$id]="$URING_PARAM is not writable"
            contender "$id" "fusekit $kind (io_uring)" "" "" --
        fi
    done
}
fusekit_contenders

LF=$SCRATCH/libfuse
LFV=${LIBFUSE_VERSION%%-*}
# High-level passthrough examples mirror / and already set entry/attr/negative timeouts to 0.
contender libfuse-passthrough "libfuse $LFV passthrough" "$SRC" \
    "attribute and entry timeouts are 0 in this example's own init" -- "$LF/passthrough" -f "$MNT"
contender libfuse-passthrough-fh "libfuse $LFV passthrough_fh" "$SRC" \
    "attribute and entry timeouts are 0 in this example's own init" -- "$LF/passthrough_fh" -f "$MNT"
contender libfuse-passthrough-ll "libfuse $LFV passthrough_ll" "" "" -- \
    "$LF/passthrough_ll" -f -o "source=$SRC" "$MNT" --- \
    "$LF/passthrough_ll" -f -o "source=$SRC,timeout=0" "$MNT"
# The same three with the kernel checking permissions (`-o default_permissions`), as fusekit's
# memfs and passthrough always mount: the same permission semantics, and the same price (with
# it the kernel fetches a directory's attributes again after each change in it before the next
# path walk; see docs/kernel-notes.md). The rows above run without it, as the examples do by
# default; these rows say "default_permissions" in their label.
contender libfuse-passthrough-dp "libfuse $LFV passthrough (default_permissions)" "$SRC" \
    "attribute and entry timeouts are 0 in this example's own init" -- \
    "$LF/passthrough" -f -o default_permissions "$MNT"
contender libfuse-passthrough-fh-dp "libfuse $LFV passthrough_fh (default_permissions)" "$SRC" \
    "attribute and entry timeouts are 0 in this example's own init" -- \
    "$LF/passthrough_fh" -f -o default_permissions "$MNT"
contender libfuse-passthrough-ll-dp "libfuse $LFV passthrough_ll (default_permissions)" "" "" -- \
    "$LF/passthrough_ll" -f -o "source=$SRC,default_permissions" "$MNT" --- \
    "$LF/passthrough_ll" -f -o "source=$SRC,timeout=0,default_permissions" "$MNT"
# The example's default single thread: with --n-threads 2 it was seen to die under
# parallel-metadata (EIO, then ENOTCONN), which would only measure a crash.
contender fuser-simple "fuser ${FUSER_VERSION:-?} simple" "" \
    "fixed 1 s attribute TTL in the example (no option); its default single thread; data in its --data-dir on the same tmpfs" -- \
    "${FUSER_SIMPLE:-false}" --data-dir "$SRC" --mount-point "$MNT"

# ---------------------------------------------------------------------------------------------
# Merge.
MERGE=()
for id in "${ORDER[@]}"; do
    if [[ -n ${FILES[$id]:-} ]]; then
        MERGE+=("${LABELS[$id]}=${FILES[$id]}")
    else
        MERGE+=("${LABELS[$id]}=-")
    fi
    MERGE+=(--note "${LABELS[$id]}=${NOTES[$id]:-}")
done
mkdir -p "$RESULTS"
# Requests per operation of the fusekit filesystems, from their sessions' statistics (the
# CLI mounts them itself for this; over the default transport, as `fusekit mount` serves).
ROUND_TRIPS=""
if [[ -n $FUSEKIT ]] && "$FUSEKIT" bench --help 2>/dev/null | grep -q -- --round-trips; then
    log "round trips (requests per operation) of memfs and passthrough"
    if "$FUSEKIT" bench --round-trips --json "$WORK/round-trips.json" \
        >"$WORK/round-trips.txt" 2>"$WORK/round-trips.log"; then
        ROUND_TRIPS=$WORK/round-trips.txt
    else
        log "round trips failed (see below in RESULTS.md)"
        ROUND_TRIPS=$WORK/round-trips.log
    fi
fi
"$BENCH_BIN" merge "${MERGE[@]}" --markdown "$WORK/table.md" --plot "$RESULTS/chart.svg"
# Keep the raw reports next to the chart, so that it can be redrawn without rerunning.
rm -rf "$RESULTS/json"
mkdir -p "$RESULTS/json"
cp "$WORK"/json/*.json "$RESULTS/json/"
[[ -f $WORK/round-trips.json ]] && cp "$WORK/round-trips.json" "$RESULTS/json/"

{
    echo "# fusekit bench: fusekit and peer FUSE frameworks against native tmpfs"
    echo
    echo "Produced by \`bench/compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), \
$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r)."
    echo "Load average (1/5/15 min) when measuring started: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    if [[ $(ulimit -n) == "$NOFILE_BEFORE" ]]; then
        echo "Open-file limit of the daemons (ulimit -n): $NOFILE_BEFORE, which could not be raised here; a passthrough holding one descriptor per inode (libfuse's passthrough_ll) cannot serve readdir-100k under it; fusekit passthrough keeps descriptors within a budget and reopens the rest from file handles."
    else
        echo "Open-file limit of the daemons (ulimit -n): raised from $NOFILE_BEFORE to $(ulimit -n)."
    fi
    echo "Runner: \`$(basename "${RUNNER[0]}") ${RUNNER[1]}\`${BENCH_TINY:+ (BENCH_TINY=1: tiny sizes, numbers meaningless)}; settings under the table."
    echo "Every FUSE contender serves a directory whose data lives on the same tmpfs as the baseline"
    echo "(memfs keeps its data in its own memory). \`stat-latency\` runs on a second mount with"
    echo "attribute and entry caching off where the contender has such an option (see the notes)."
    echo
    echo "Versions:"
    echo
    for v in "${VERSIONS[@]}"; do echo "- $v"; done
    echo
    echo "![chart](chart.svg)"
    echo
    cat "$WORK/table.md"
    echo
    if [[ -n $ROUND_TRIPS ]]; then
        echo "Requests per operation of the fusekit filesystems (\`fusekit bench --round-trips\`,"
        echo "counted by each session by opcode; FORGET and RELEASE that follow an operation count"
        echo "with it; fractions are means over the iterations):"
        echo
        echo '```text'
        cat "$ROUND_TRIPS"
        echo '```'
        echo
    fi
    echo "Permission checks: fusekit's memfs and passthrough always mount with \\`default_permissions\\`"
    echo "(the kernel checks modes); libfuse's examples run both ways, without it (their default, the"
    echo "rows without a suffix) and with it (rows labelled \\`(default_permissions)\\`). fuser's \\`simple\\`"
    echo "example has no option for it and runs without."
    echo
    echo "Workloads: see bench/README.md. \`\$W\` in the notes is the run's temporary directory."
} >"$RESULTS/RESULTS.md"
log "wrote $RESULTS/RESULTS.md and $RESULTS/chart.svg"
cat "$WORK/table.md"
