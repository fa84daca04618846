#!/usr/bin/env bash
# nginx.sh - a throw-away nginx WebDAV server (dav_methods PUT) on
# 127.0.0.1, for the tests.  Configuration, document root, body buffers,
# pid and log files all live in one temporary directory.
#
#   t/nginx.sh start DIR [OWNER_PID]
#       Starts nginx serving DIR/root and writes DIR/env:
#         NGINX_URL=http://127.0.0.1:PORT      PUT/GET/DELETE anywhere
#         NGINX_TLS_URL=https://127.0.0.1:PORT2 the same over TLS, with a
#                                              self-signed certificate
#                                              (only if openssl exists)
#         NGINX_ROOT=DIR/root                  what the server stores
#       /ro/... refuses PUT (403).  nginx writes a PUT body to DIR/body
#       and renames it into place only once it is complete.
#       With OWNER_PID, a watchdog stops nginx when that process is gone.
#   t/nginx.sh stop DIR
#       Stops nginx (QUIT, then KILL after a bounded wait), removes DIR.
#   t/nginx.sh kill-server DIR / start-server DIR
#       Stops nginx at once (TERM: open connections are cut) / starts it
#       again on the same ports, keeping DIR.
#
# Needs Debian's nginx (or nginx-light): the http_dav_module is built in.
set -u

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

# Debian's python3 (a pyenv or venv shim in PATH can be slow or odd).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

die() {
    echo "nginx.sh: $*" >&2
    exit 1
}

free_port() {
    "$PY" -I -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# launch DIR [OWNER_PID]: starts nginx with DIR/nginx.conf, waits until
# it answers.
launch() {
    local dir=$1 owner=${2:-} nginx port
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    port=$(cat "$dir/port")
    setsid "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" \
        </dev/null >>"$dir/logs/nginx.out" 2>&1 &
    echo $! >"$dir/master.pid"
    if [ -n "$owner" ]; then
        (
            trap '' INT
            while kill -0 "$owner" 2>/dev/null && [ -f "$dir/nginx.conf" ]; do
                sleep 1
            done
            [ -f "$dir/nginx.conf" ] && rm -f "$dir/watchdog.pid" &&
                bash "$self" stop "$dir"
        ) </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/watchdog.pid"
    fi
    # Bounded wait until it answers.
    for _ in $(seq 100); do
        if "$PY" -I - "$port" <<'PY' 2>/dev/null; then
import sys, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
PY
            return 0
        fi
        kill -0 "$(cat "$dir/master.pid")" 2>/dev/null || break
        sleep 0.1
    done
    echo "nginx.sh: nginx did not start" >&2
    tail -n 20 "$dir/logs/error.log" "$dir/logs/nginx.out" >&2 2>/dev/null
    stop_all "$dir"
    return 1
}

# kill_server DIR: TERM (fast shutdown: open connections are cut).
kill_server() {
    local d=$1 pid
    [ -f "$d/master.pid" ] || return 0
    pid=$(cat "$d/master.pid")
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    # setsid made it a group leader: take any children along.
    kill -KILL -- -"$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    rm -f "$d/master.pid"
}

stop_all() {
    local d=$1 pid
    [ -d "$d" ] || return 0
    if [ -f "$d/watchdog.pid" ]; then
        kill "$(cat "$d/watchdog.pid")" 2>/dev/null
        rm -f "$d/watchdog.pid"
    fi
    [ -f "$d/master.pid" ] || return 0
    pid=$(cat "$d/master.pid")
    kill -QUIT "$pid" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    # setsid made it a group leader: take any children along.
    kill -KILL -- -"$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    rm -f "$d/master.pid"
}

cmd_start() {
    local dir=$1 owner=${2:-} nginx port
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    [ -x "$nginx" ] || die "nginx not found: install nginx"
    command -v "$PY" >/dev/null || die "python3 not found"
    mkdir -p "$dir" || die "cannot create $dir"
    dir=$(cd "$dir" && pwd)
    mkdir -p "$dir/root/ro" "$dir/body" "$dir/logs" "$dir/tmp"
    port=$(free_port)
    echo "$port" >"$dir/port"
    local tls_port="" tls_conf=""
    if command -v openssl >/dev/null &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
            -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1; then
        tls_port=$(free_port)
        tls_conf="
    server {
        listen 127.0.0.1:$tls_port ssl;
        ssl_certificate $dir/cert.pem;
        ssl_certificate_key $dir/key.pem;
        root $dir/root;
        location / {
            dav_methods PUT DELETE MKCOL;
            create_full_put_path on;
        }
    }"
    fi
    local user_line=""
    [ "$(id -u)" = 0 ] && user_line="user root;"
    cat >"$dir/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 64; }
http {
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;
    client_max_body_size 0;
    server {
        listen 127.0.0.1:$port;
        root $dir/root;
        location / {
            dav_methods PUT DELETE MKCOL;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }
        location /ro/ {
            limit_except GET HEAD { deny all; }
        }
    }$tls_conf
}
EOF
    launch "$dir" "$owner" || exit 1
    {
        echo "NGINX_URL=http://127.0.0.1:$port"
        [ -z "$tls_port" ] || echo "NGINX_TLS_URL=https://127.0.0.1:$tls_port"
        echo "NGINX_ROOT=$dir/root"
    } >"$dir/env"
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
    exec 9>>"${TMPDIR:-/tmp}/sluice-test-nginx.lock" 2>/dev/null || return 0
    flock -w "$1" 9 || :
}
start_unlock() {
    flock -u 9 2>/dev/null
    exec 9>&-
}

case ${1:-} in
start)
    [ $# -ge 2 ] || die "usage: nginx.sh start DIR [OWNER_PID]"
    start_lock 60
    cmd_start "$2" "${3:-}"
    rc=$?
    start_unlock
    exit $rc
    ;;
kill-server)
    [ $# -ge 2 ] || die "usage: nginx.sh kill-server DIR"
    kill_server "$2"
    ;;
start-server)
    [ $# -ge 2 ] || die "usage: nginx.sh start-server DIR"
    [ ! -f "$2/master.pid" ] || die "nginx is running"
    launch "$(cd "$2" && pwd)"
    ;;
stop)
    [ $# -ge 2 ] || die "usage: nginx.sh stop DIR"
    stop_all "$2"
    [ -f "$2/nginx.conf" ] && rm -rf "$2"
    ;;
*)
    die "usage: nginx.sh start|stop|kill-server|start-server DIR"
    ;;
esac
