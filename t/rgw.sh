#!/usr/bin/env bash
# rgw.sh - a throw-away one-node Ceph cluster with an S3 gateway (RGW) on
# 127.0.0.1, for the tests.  Everything lives in one temporary directory:
# configuration, monitor and OSD stores (memstore: data in RAM), sockets,
# pid and log files.  Nothing is installed, nothing listens beyond
# loopback, every wait is bounded.
#
#   t/rgw.sh start DIR [OWNER_PID]
#       Starts mon, osd and radosgw in DIR (created, must not exist yet or
#       be empty), creates an S3 user with a fixed key and writes DIR/env:
#         RGW_ENDPOINT=http://127.0.0.1:PORT
#         RGW_ACCESS_KEY=... RGW_SECRET_KEY=...
#       Exits 0 once the gateway answers HTTP; non-zero (with the tail of
#       the relevant log on stderr) after stopping whatever it started.
#       With OWNER_PID, a watchdog stops the cluster when that process is
#       gone, so a test killed hard leaves nothing running.
#   t/rgw.sh stop DIR
#       Stops the daemons (TERM, then KILL after a bounded wait) and
#       removes DIR.
#   t/rgw.sh stop-rgw DIR
#       Stops only the gateway (to test an endpoint going away).
#   t/rgw.sh start-rgw DIR
#       Starts the gateway again on the same port (the data is kept).
#
# Needs Debian's ceph-mon, ceph-osd, radosgw and ceph-common.
set -u

RGW_ACCESS_KEY=${RGW_ACCESS_KEY:-SLUICETESTACCESSKEY0}
RGW_SECRET_KEY=${RGW_SECRET_KEY:-sluice/test/secret/key/0123456789abcdefghij}
START_TIMEOUT=${RGW_START_TIMEOUT:-240}  # seconds, for the whole start (a loaded machine needs minutes)
MEMSTORE_BYTES=${RGW_MEMSTORE_BYTES:-4294967296}  # RAM the OSD may use (full: writes hang)

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

# Debian's python3 (a pyenv or venv shim in PATH can be slow or odd).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

die() {
    echo "rgw.sh: $*" >&2
    exit 1
}

free_port() {
    "$PY" -I -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Seconds left before the start deadline.
left() {
    echo $((deadline - SECONDS))
}

# wait_for SECONDS CMD...: runs CMD until it succeeds or time runs out.
wait_for() {
    local limit=$(($1 + SECONDS))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$limit" ] || return 1
        sleep 0.2
    done
}

ceph_cmd() {
    timeout 20 ceph -c "$dir/ceph.conf" --connect-timeout 10 "$@"
}

# The allocator the daemons run with.  Ceph's own packages link tcmalloc;
# Debian builds them with glibc's malloc, which maps each 4 MiB message
# buffer afresh and faults it in a page at a time (12-25 us a page in a
# VM): a GET of 260 MB cost the daemons 1.7 s of CPU that way, 0.25 s
# with tcmalloc (doc/PERFORMANCE.md, round six).  radosgw depends on
# libgoogle-perftools4, so it is normally there; RGW_MALLOC=libc keeps
# glibc's.  Whatever the caller preloads (a test's shim) is not passed on.
daemon_preload() {
    local lib
    [ "${RGW_MALLOC:-tcmalloc}" = tcmalloc ] || return 0
    for lib in /usr/lib/*/libtcmalloc.so.4 /usr/lib/libtcmalloc.so.4; do
        [ -f "$lib" ] && { echo "$lib"; return 0; }
    done
}

# Starts a daemon in the foreground of a background job, detached from the
# caller's terminal, stdio and process group; records its pid.
spawn() {
    local name=$1
    shift
    setsid env -u LD_PRELOAD ${preload:+LD_PRELOAD=$preload} "$@" \
        </dev/null >>"$dir/log/$name.out" 2>&1 &
    echo $! >"$dir/pids/$name"
}

stop_all() {
    local d=$1 f pid
    [ -d "$d/pids" ] || return 0
    # The watchdog first, so it does not race with us.
    if [ -f "$d/pids/watchdog" ]; then
        pid=$(cat "$d/pids/watchdog")
        kill "$pid" 2>/dev/null
        rm -f "$d/pids/watchdog"
    fi
    for f in rgw osd mon; do
        [ -f "$d/pids/$f" ] || continue
        pid=$(cat "$d/pids/$f")
        kill -TERM "$pid" 2>/dev/null
    done
    local limit=$((SECONDS + 10))
    for f in rgw osd mon; do
        [ -f "$d/pids/$f" ] || continue
        pid=$(cat "$d/pids/$f")
        while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$limit" ]; do
            sleep 0.1
        done
        # setsid made it a group leader: take any children along.
        kill -KILL -- -"$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
        rm -f "$d/pids/$f"
    done
}

stop_rgw() {
    local pid
    [ -f "$1/pids/rgw" ] || return 0
    pid=$(cat "$1/pids/rgw")
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    # setsid made it a group leader: take any children along.
    kill -KILL -- -"$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    rm -f "$1/pids/rgw"
}

# Records how long each step took, in DIR/log/steps.
step() {
    echo "$(date +%s.%N) $*" >>"$dir/log/steps"
}

show_log() {
    local f
    for f in "$@"; do
        [ -f "$dir/log/$f" ] || continue
        echo "---- tail of $f" >&2
        tail -n 15 "$dir/log/$f" >&2
    done
}

fail_start() {
    echo "rgw.sh: $*" >&2
    show_log mon.a.log mon.out osd.0.log osd.out client.rgw.log rgw.out
    stop_all "$dir"
    exit 1
}

# start_rgw PORT SECONDS: starts radosgw, waits until it answers HTTP.
start_rgw() {
    spawn rgw radosgw -c "$dir/ceph.conf" -n client.rgw -f
    rgw_up() {
        "$PY" -I - "$1" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
PY
    }
    wait_for "$2" rgw_up "$1"
}

cmd_start() {
    dir=$1
    local owner=${2:-}
    deadline=$((SECONDS + START_TIMEOUT))
    for c in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph python3; do
        command -v "$c" >/dev/null ||
            die "$c not found: install ceph-mon ceph-osd radosgw ceph-common"
    done
    mkdir -p "$dir" || die "cannot create $dir"
    dir=$(cd "$dir" && pwd)
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
    mkdir -p "$dir/run" "$dir/log" "$dir/pids" "$dir/mon/ceph-a" \
        "$dir/osd/ceph-0" "$dir/rgw"
    step start

    local fsid mon_port rgw_port
    fsid=$(cat /proc/sys/kernel/random/uuid)
    mon_port=$(free_port)
    rgw_port=$(free_port)
    [ "$mon_port" != "$rgw_port" ] || rgw_port=$(free_port)

    cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$mon_port
mon_initial_members = a
public_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
auth_supported = none
ms_mon_client_mode = crc secure
ms_client_mode = crc secure
keyring = /dev/null
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_crit = 0
mon_data_avail_warn = 0
osd_objectstore = memstore
memstore_device_bytes = $MEMSTORE_BYTES
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_autoscale_mode = off
osd_pool_default_pg_num = 4
osd_pool_default_pgp_num = 4
mon_max_pg_per_osd = 1000
paxos_propose_interval = 0.01
paxos_min_wait = 0.01
run_dir = $dir/run
admin_socket = $dir/run/\$name.asok
pid_file = $dir/run/\$name.pid
log_file = $dir/log/\$name.log
mon_cluster_log_file = $dir/log/cluster.log
crash_dir = $dir/run/crash
mon_data = $dir/mon/\$cluster-\$id
osd_data = $dir/osd/\$cluster-\$id
rgw_data = $dir/rgw
debug_ms = 0
log_to_stderr = false
err_to_stderr = true
mon_osd_reporter_subtree_level = osd
osd_max_object_size = 1073741824

[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port
rgw_enable_usage_log = false
rgw_dns_name = 127.0.0.1
EOF

    if [ -n "$owner" ]; then
        # Stops the cluster if the owner dies without calling stop.
        (
            trap '' INT
            while kill -0 "$owner" 2>/dev/null && [ -d "$dir/pids" ]; do
                sleep 1
            done
            [ -d "$dir/pids" ] && rm -f "$dir/pids/watchdog" &&
                bash "$self" stop "$dir"
        ) </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/pids/watchdog"
    fi

    step monmaptool
    monmaptool --create --fsid "$fsid" --addv a "v2:127.0.0.1:$mon_port" \
        "$dir/monmap" >"$dir/log/monmaptool.out" 2>&1 ||
        fail_start "monmaptool failed"
    ceph-mon -c "$dir/ceph.conf" -i a --mkfs --monmap "$dir/monmap" \
        >"$dir/log/mon-mkfs.out" 2>&1 || fail_start "ceph-mon --mkfs failed"
    step mon
    spawn mon ceph-mon -c "$dir/ceph.conf" -i a -f
    wait_for "$(left)" ceph_cmd mon stat || fail_start "the monitor did not start"

    local osd_uuid osd_id
    step osd-new
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    osd_id=$(ceph_cmd osd new "$osd_uuid" 2>>"$dir/log/ceph.out") ||
        fail_start "ceph osd new failed"
    [ "$osd_id" = 0 ] || fail_start "unexpected OSD id '$osd_id'"
    step osd-mkfs
    ceph-osd -c "$dir/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" \
        >"$dir/log/osd-mkfs.out" 2>&1 || fail_start "ceph-osd --mkfs failed"
    step osd
    spawn osd ceph-osd -c "$dir/ceph.conf" -i 0 -f
    osd_up() {
        ceph_cmd osd dump 2>/dev/null | grep -q '^osd\.0 up'
    }
    wait_for "$(left)" osd_up || fail_start "the OSD did not come up"


    step rgw
    start_rgw "$rgw_port" "$(left)" || fail_start "the gateway did not answer"

    step user
    timeout "$(left)" radosgw-admin -c "$dir/ceph.conf" -n client.rgw \
        user create --uid sluice --display-name sluice \
        --access-key "$RGW_ACCESS_KEY" --secret-key "$RGW_SECRET_KEY" \
        >"$dir/log/user.out" 2>&1 || fail_start "radosgw-admin user create failed"

    step done
    cat >"$dir/env" <<EOF
RGW_ENDPOINT=http://127.0.0.1:$rgw_port
RGW_ACCESS_KEY=$RGW_ACCESS_KEY
RGW_SECRET_KEY=$RGW_SECRET_KEY
EOF
}


# One start at a time on this machine (`make -j check` runs t/s3.t and
# t/collection-s3.t at once, and other trees' tests may run beside them):
# free_port picks a port that is free *now*, and the server binds it only
# later, so two starts at once could pick the same one; two Ceph clusters
# starting together on 2 cores also each take twice as long.  The ports
# are picked and bound under an exclusive flock(1) on a file shared by
# every test run (bounded wait; without flock, or after the wait, the
# start goes ahead unlocked, as before).
start_lock() {
    command -v flock >/dev/null 2>&1 || return 0
    exec 9>>"${TMPDIR:-/tmp}/sluice-test-rgw.lock" 2>/dev/null || return 0
    flock -w "$1" 9 || :
}
start_unlock() {
    flock -u 9 2>/dev/null
    exec 9>&-
}

preload=$(daemon_preload)
case ${1:-} in
start)
    [ $# -ge 2 ] || die "usage: rgw.sh start DIR [OWNER_PID]"
    start_lock "$START_TIMEOUT"
    cmd_start "$2" "${3:-}"
    rc=$?
    start_unlock
    exit $rc
    ;;
stop)
    [ $# -ge 2 ] || die "usage: rgw.sh stop DIR"
    stop_all "$2"
    # Only a directory this script set up (it has our ceph.conf).
    if [ -f "$2/ceph.conf" ] && [ -d "$2/pids" ]; then
        rm -rf "$2"
    fi
    ;;
stop-rgw)
    [ $# -ge 2 ] || die "usage: rgw.sh stop-rgw DIR"
    stop_rgw "$2"
    ;;
start-rgw)
    [ $# -ge 2 ] || die "usage: rgw.sh start-rgw DIR"
    dir=$(cd "$2" && pwd) || exit 1
    [ ! -f "$dir/pids/rgw" ] || die "the gateway is running"
    port=$(sed -n 's/^RGW_ENDPOINT=http:\/\/127.0.0.1://p' "$dir/env")
    start_rgw "$port" "$START_TIMEOUT" || {
        show_log client.rgw.log rgw.out
        stop_rgw "$dir"
        die "the gateway did not answer"
    }
    ;;
*)
    die "usage: rgw.sh start|stop|stop-rgw|start-rgw DIR"
    ;;
esac
