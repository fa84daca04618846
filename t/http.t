#!/usr/bin/env bash
# http.t - the http stage against a real WebDAV server: nginx with
# dav_methods PUT on 127.0.0.1 (plain and TLS), started and stopped here
# (t/nginx.sh).
#
# Env: SLUICE (the binary), SLUICE_PLUGIN_PATH (where http.so is).
# Needs: nginx (and openssl for the TLS checks).  Outside CI a missing
# nginx skips the file; under CI (CI=true) it fails.
# make check runs tests with $(SHELL), which may be dash: switch to bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
here=$(cd "$(dirname "$0")" && pwd)
SLUICE=${SLUICE:-$here/../sluice}
case $SLUICE in /*) ;; *) SLUICE=$PWD/$SLUICE ;; esac

n=0
failures=0
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failures=$((failures + 1))
    echo "not ok $n - $1"
}
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
diag() {
    sed 's/^/# /' "$@"
}
bail() {
    echo "Bail out! $*"
    exit 1
}

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    [ "${CI:-}" = true ] && bail "nginx is not installed"
    echo "1..0 # SKIP needs nginx"
    exit 0
fi
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-http.XXXXXX")
srv=$tmp/nginx
cleanup() {
    [ -n "${prod_pid:-}" ] && kill "$prod_pid" 2>/dev/null
    bash "$here/nginx.sh" stop "$srv" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset CURL_CA_BUNDLE SLUICE_NET_RETRIES SLUICE_NET_RETRY_SECONDS
unset SLUICE_NET_STALL_SECONDS
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export HOME=$tmp/home
mkdir -p "$HOME"

if ! bash "$here/nginx.sh" start "$srv" $$ 2>"$tmp/nginx.err"; then
    not_ok "nginx (dav_methods PUT) starts on 127.0.0.1"
    diag "$tmp/nginx.err"
    echo "1..$n"
    exit 1
fi
ok "nginx (dav_methods PUT) starts on 127.0.0.1"
# shellcheck disable=SC1091
. "$srv/env"

sl() { timeout 120 "$SLUICE" "$@"; }
one_line() { [ "$(wc -l <"$1")" -eq 1 ]; }
same() { cmp -s "$1" "$2"; }
# Nothing stored under NAME, and no request body left in nginx's buffer.
nothing_at() {
    [ ! -e "$NGINX_ROOT/$1" ] && [ -z "$(ls -A "$srv/body")" ]
}

head -c 1048576 /dev/urandom >"$tmp/r1m"
head -c 48M /dev/urandom >"$tmp/r48m"

sl -z -o "$NGINX_URL/one.slc" <"$tmp/r1m" 2>"$tmp/err" &&
    sl -d "$NGINX_URL/one.slc" >"$tmp/out" 2>>"$tmp/err"
check "1 MiB: PUT (Content-Length) to nginx and GET back" \
    same "$tmp/r1m" "$tmp/out"
diag "$tmp/err"

sl -z -o "$NGINX_URL/dir/sub/big.slc" <"$tmp/r48m" 2>"$tmp/err" &&
    sl -d "$NGINX_URL/dir/sub/big.slc" >"$tmp/out" 2>>"$tmp/err"
check "48 MiB: streamed (chunked) PUT and GET back" same "$tmp/r48m" "$tmp/out"
diag "$tmp/err"
sl -d "$NGINX_ROOT/dir/sub/big.slc" >"$tmp/out" 2>"$tmp/err"
check "what nginx stored is the sluice stream" same "$tmp/r48m" "$tmp/out"

sl -z -o "$NGINX_URL/one.slc" <"$tmp/r48m" 2>"$tmp/err" &&
    sl -d "$NGINX_URL/one.slc" >"$tmp/out" 2>>"$tmp/err"
check "PUT replaces an existing file" same "$tmp/r48m" "$tmp/out"

sl -z -o "$NGINX_URL/ro/denied.slc" <"$tmp/r1m" 2>"$tmp/err"
rc=$?
check "a refused PUT (403): exit 3 and one line" \
    eval '[ $rc = 3 ] && one_line "$tmp/err" && grep -q "access denied (HTTP 403 Forbidden)" "$tmp/err"'
diag "$tmp/err"
check "and nothing was stored" nothing_at ro/denied.slc

sl -z -o "$NGINX_URL/ro/denied.slc" <"$tmp/r48m" 2>"$tmp/err"
rc=$?
check "a refused streamed PUT: exit 3, one line, nothing stored" \
    eval '[ $rc = 3 ] && one_line "$tmp/err" && nothing_at ro/denied.slc'
diag "$tmp/err"

sl -d "$NGINX_URL/missing.slc" >/dev/null 2>"$tmp/err"
rc=$?
check "GET of a missing file: exit 3 and one line" \
    eval '[ $rc = 3 ] && one_line "$tmp/err" && grep -q "not found (HTTP 404)" "$tmp/err"'
diag "$tmp/err"

# SIGINT in the middle of a streamed PUT: the body is cut without its
# last chunk, nginx discards it.
rm -f "$tmp/in.fifo"
mkfifo "$tmp/in.fifo"
(
    head -c 30M /dev/urandom
    exec sleep 60
) >"$tmp/in.fifo" &
prod_pid=$!
"$SLUICE" -z -o "$NGINX_URL/interrupted.slc" <"$tmp/in.fifo" 2>"$tmp/err" &
pid=$!
for i in $(seq 100); do
    [ -n "$(ls -A "$srv/body")" ] && break # nginx is receiving the body
    sleep 0.1
done
sleep 1
kill -INT "$pid"
wait "$pid"
rc=$?
kill "$prod_pid" 2>/dev/null
wait "$prod_pid" 2>/dev/null
prod_pid=
sleep 0.5
check "SIGINT during a streamed PUT: exit 130, no file, no partial body" \
    eval '[ $rc = 130 ] && nothing_at interrupted.slc'
diag "$tmp/err"

# A chain that fails half-way (truncated input on restore).
sl -z <"$tmp/r48m" >"$tmp/local.slc"
head -c 30000000 "$tmp/local.slc" >"$tmp/truncated.slc"
sl -d -o "$NGINX_URL/restored.bin" "$tmp/truncated.slc" 2>"$tmp/err"
rc=$?
# nginx removes the aborted request's body file once it notices the
# connection closed: give it a moment (a loaded machine), as above.
for i in $(seq 50); do
    [ -z "$(ls -A "$srv/body")" ] && break
    sleep 0.1
done
check "a chain failing mid-PUT: non-zero, one line, nothing stored" \
    eval '[ $rc != 0 ] && one_line "$tmp/err" && nothing_at restored.bin'
diag "$tmp/err"

# Download resume: the consumer is slow, nginx is killed and restarted
# mid-transfer; the next attempt asks for the rest with Range + If-Match.
head -c 200M /dev/urandom >"$tmp/r200m"
sl --chain zstd:level=1 -o "$NGINX_URL/r200m.slc" <"$tmp/r200m" 2>"$tmp/err"
(
    timeout 120 "$SLUICE" -v -d "$NGINX_URL/r200m.slc" 2>"$tmp/err.resume" |
        (sleep 4; cat) >"$tmp/out"
) &
pid=$!
sleep 1.5
bash "$here/nginx.sh" kill-server "$srv"
bash "$here/nginx.sh" start-server "$srv" 2>"$tmp/nginx.err" || diag "$tmp/nginx.err"
wait "$pid"
check "a download cut by a server restart resumes with Range and is whole" \
    eval 'same "$tmp/r200m" "$tmp/out" && grep -q "resuming at byte" "$tmp/err.resume"'
diag "$tmp/err.resume"

# The server is gone: a clear line, quickly.
port=${NGINX_URL##*:}
bash "$here/nginx.sh" kill-server "$srv"
t=$SECONDS
sl -z -o "$NGINX_URL/down.slc" <"$tmp/r1m" 2>"$tmp/err"
rc=$?
# Each retry is said first (a warning line each, "retrying in"); the
# failure is one line.
grep -v '^sluice: http: retrying in ' "$tmp/err" >"$tmp/err.last"
check "no server listening: exit 3, the retries said, one line, within 20 s" \
    eval '[ $rc = 3 ] && one_line "$tmp/err.last" && [ $((SECONDS - t)) -lt 20 ] && grep -q "port $port" "$tmp/err.last" && [ "$(grep -c "attempt [23]/3" "$tmp/err")" = 2 ]'
diag "$tmp/err"
bash "$here/nginx.sh" start-server "$srv" 2>"$tmp/nginx.err" || diag "$tmp/nginx.err"

# TLS: verified by default, --insecure to skip.
if [ -n "${NGINX_TLS_URL:-}" ]; then
    sl -d "$NGINX_TLS_URL/one.slc" >/dev/null 2>"$tmp/err"
    rc=$?
    check "https with a self-signed certificate fails without --insecure" \
        eval '[ $rc = 3 ] && one_line "$tmp/err" && grep -qi certificate "$tmp/err"'
    diag "$tmp/err"
    sl --insecure -z -o "$NGINX_TLS_URL/tls.slc" <"$tmp/r1m" 2>"$tmp/err" &&
        sl --insecure -d "$NGINX_TLS_URL/tls.slc" >"$tmp/out" 2>>"$tmp/err"
    check "https PUT and GET with --insecure" same "$tmp/r1m" "$tmp/out"
    diag "$tmp/err"
    CURL_CA_BUNDLE=$srv/cert.pem sl -d "https://localhost:${NGINX_TLS_URL##*:}/tls.slc" \
        >"$tmp/out" 2>"$tmp/err"
    check "https verified against CURL_CA_BUNDLE" same "$tmp/r1m" "$tmp/out"
    diag "$tmp/err"
else
    ok "# SKIP no openssl for a TLS certificate"
fi

sl -z -o "ftp://127.0.0.1/x" <"$tmp/r1m" 2>"$tmp/err"
rc=$?
sl -z -o "$NGINX_URL/" <"$tmp/r1m" 2>>"$tmp/err"
rc2=$?
check "an unknown scheme and a directory URL are refused (exit != 0)" \
    eval '[ $rc != 0 ] && [ $rc2 = 2 ]'
diag "$tmp/err"

echo "1..$n"
[ "$failures" = 0 ]
