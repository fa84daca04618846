#!/bin/sh
# prune-s3.t - forget and prune on S3 (a one-node Ceph RGW started by
# t/rgw.sh; doc/FORMAT.md 5.11):
#   - six daily backups (simulated clock), `forget --keep-last 3 --prune`:
#     the bytes under backups/ shrink by exactly what prune says it freed,
#     the forgotten backups' keys are gone, every survivor restores
#     exactly, verify passes, a second prune removes nothing;
#   - `prune --dry-run` names what would go and changes nothing;
#   - two destinations (two buckets): the other bucket's objects of a
#     forgotten backup go too, another collection's at the same prefix stay;
#   - a backup killed with SIGKILL in the middle of a multipart upload
#     (deterministic: its S3 traffic goes through a proxy that stops
#     forwarding after 7 MB, and the kill comes once the upload exists):
#     unlock removes its stale LOCK; prune keeps the upload within the
#     grace period (1d by default) and aborts it after (SLUICE_TEST_NOW two
#     days on), leaving no unreferenced object and no multipart upload;
#   - --prune-grace is checked before anything is done;
#   - hostile listings (through a proxy that answers ListObjectsV2 itself):
#     an answer over 4 MiB, pages that do not advance, garbage: refused,
#     exit 3, nothing removed; keys outside the prefix or with ".."
#     components are never acted on;
#   - a plugin built for ABI 1.2 (no list()) still loads and works, and
#     prune on it says the stage cannot list (exit 2, nothing removed).
# Needs ceph-mon ceph-osd radosgw ceph-common awscli python3 and a C
# compiler (the 1.2 plugin), and the s3 stage; else skipped (CI: fails).
. "$(dirname "$0")/lib.sh"

# The test clock first (a local probe): skip_all must come before the
# first test, and rgw-test.sh's "RGW starts" is one.
mkdir -p "$T_TMP/probe-src"
SLUICE_TEST_NOW=1790856000 SLUICE_PASSPHRASE=probe "$SLUICE" backup \
    --to "$T_TMP/probe" -q -C "$T_TMP/probe-src" . >/dev/null 2>&1
case $(ls "$T_TMP/probe/backups" 2>/dev/null) in
20261001T120000Z-*) ;;
*) skip_all "sluice was not configured with --enable-test-clock" ;;
esac
. "$T_DIR/rgw-test.sh"
for b in prune-main prune-eu; do s3 mb "s3://$b" >/dev/null; done

SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE

# A listing by aws that failed prints this instead of what it lists, so
# that no check can take a failed listing for an empty one.
AWS_FAILED="(aws s3api failed: see stderr)"
# keys BUCKET PREFIX: every key under PREFIX, one a line, sorted.
keys() {
    _l=$(s3api list-objects-v2 --bucket "$1" --prefix "$2" \
        --query 'Contents[].Key' --output text) || { echo "$AWS_FAILED"; return; }
    printf '%s\n' "$_l" | tr '\t' '\n' | grep -v '^None$' | grep . | sort || :
}
# stored BUCKET PREFIX: the bytes of every object under PREFIX.
stored() {
    _l=$(s3api list-objects-v2 --bucket "$1" --prefix "$2" \
        --query 'Contents[].Size' --output text) || { echo "$AWS_FAILED"; return; }
    printf '%s\n' "$_l" | tr '\t' '\n' |
        awk '$1 ~ /^[0-9]+$/ {s += $1} END {print s + 0}'
}
# uploads BUCKET: the keys of the incomplete multipart uploads.
uploads() {
    _l=$(s3api list-multipart-uploads --bucket "$1" --query 'Uploads[].Key' \
        --output text) || { echo "$AWS_FAILED"; return; }
    printf '%s\n' "$_l" | tr '\t' '\n' | grep -v '^None$' | grep . | sort || :
}

C=s3://prune-main/coll
S=$T_TMP/src
base=1790856000 # 2026-10-01T12:00:00Z
mkdir -p "$S/static" "$S/rot"
head -c 200000 /dev/urandom >"$S/static/a"
i=1
while [ $i -le 6 ]; do
    head -c 50000 /dev/urandom >"$S/log"
    rm -f "$S"/rot/*
    head -c 20000 /dev/urandom >"$S/rot/$i"
    SLUICE_TEST_NOW=$((base + (i - 1) * 86400)) run "$SLUICE" backup --to "$C" \
        -z -e --object-size 64K -C "$S" .
    [ "$RC" = 0 ] || { fail "backup of day $i"; diag_file "$ERR" stderr; }
    cat "$OUT" >>"$T_TMP/ids"
    tree_listing "$S" >"$T_TMP/day$i.list"
    i=$((i + 1))
done
is "$(wc -l <"$T_TMP/ids")" 6 "six daily backups to S3"
like "$(head -1 "$T_TMP/ids")" "20261001T120000Z-*" \
    "the backup time comes from SLUICE_TEST_NOW"
id() { sed -n "${1}p" "$T_TMP/ids"; }

# ---- --prune-grace is checked first ------------------------------------------
keys prune-main coll/ >"$T_TMP/k.before"
expect_fail 2 "prune --prune-grace 3x" "$SLUICE" prune --from "$C" --prune-grace 3x
like "$(cat "$ERR")" "*--prune-grace*3x*" "... names the option and the value"
expect_fail 2 "forget --prune-grace without --prune" \
    "$SLUICE" forget --from "$C" --keep-last 3 --prune-grace 1d
expect_fail 2 "forget --prune with a bad --prune-grace" \
    "$SLUICE" forget --from "$C" --keep-last 3 --prune --prune-grace soon
keys prune-main coll/ >"$T_TMP/k.after"
ok "... nothing forgotten or removed" cmp -s "$T_TMP/k.before" "$T_TMP/k.after"

# ---- forget, then prune --dry-run, then prune ---------------------------------
before=$(stored prune-main coll/backups/)
now=$((base + 5 * 86400 + 3600))
SLUICE_TEST_NOW=$now run "$SLUICE" forget --from "$C" --keep-last 3
is "$RC" 0 "forget --keep-last 3"
is "$(stored prune-main coll/backups/)" "$before" "forget alone removes nothing"
keys prune-main coll/ >"$T_TMP/k.before"
run "$SLUICE" prune --from "$C" --dry-run
is "$RC" 0 "prune --dry-run"
ok "... names the objects it would remove" \
    grep -q "^would remove $C/backups/$(id 2)/MANIFEST ([0-9]* bytes)$" "$OUT"
keys prune-main coll/ >"$T_TMP/k.after"
ok "... and removes nothing" cmp -s "$T_TMP/k.before" "$T_TMP/k.after"
would=$(sed -n 's/^prune: would remove [0-9]* objects, \([0-9]*\) bytes would be freed$/\1/p' "$OUT")
run "$SLUICE" prune --from "$C"
is "$RC" 0 "prune on S3"
freed=$(sed -n 's/^prune: removed [0-9]* objects, \([0-9]*\) bytes freed$/\1/p' "$OUT")
ok "... says the bytes it freed ($freed)" eval '[ -n "$freed" ] && [ "$freed" -gt 0 ]'
is "$would" "$freed" "... as many as the dry run said"
after=$(stored prune-main coll/backups/)
is "$after" "$((before - freed))" "the stored bytes shrink by exactly that ($before -> $after)"
is "$(keys prune-main "coll/backups/$(id 2)/" | grep -c . || :)" 0 \
    "a forgotten backup's objects are gone, its MANIFEST too"
ok "the first backup, needed by the survivors, keeps its MANIFEST" \
    [ -n "$(keys prune-main "coll/backups/$(id 1)/MANIFEST")" ]
for d in 1 4 5 6; do
    rm -rf "$T_TMP/r$d"
    mkdir "$T_TMP/r$d"
    run "$SLUICE" restore --from "$C" --as-of "$(id $d)" -C "$T_TMP/r$d"
    tree_listing "$T_TMP/r$d" >"$T_TMP/r$d.list"
    ok "the backup of day $d restores exactly" eval \
        '[ "$RC" = 0 ] && cmp -s "$T_TMP/day$d.list" "$T_TMP/r$d.list"'
done
expect_ok "verify passes after prune" "$SLUICE" verify --from "$C" -q
run "$SLUICE" prune --from "$C"
is "$(cat "$OUT")" "prune: removed 0 objects, 0 bytes freed" \
    "a second prune finds nothing to remove"
is "$(keys prune-main coll/ | grep -c '^coll/LOCK$')" 0 "prune released the LOCK"

# ---- two destinations ---------------------------------------------------------------
TO="--to s3://prune-main/loc?locality=default --to s3://prune-eu/loc?locality=region%3Deu"
mkdir -p "$T_TMP/ha"
j=1
while [ $j -le 3 ]; do
    head -c 100000 /dev/urandom >"$T_TMP/ha/f" # each backup needs only its own
    # shellcheck disable=SC2086
    SLUICE_TEST_NOW=$((base + j * 86400)) run "$SLUICE" backup $TO -e \
        --host alpha --locality region=eu -C "$T_TMP/ha" .
    [ "$RC" = 0 ] || { fail "backup $j with two destinations"; diag_file "$ERR" stderr; }
    echo "$(cat "$OUT")" >>"$T_TMP/loc.ids"
    j=$((j + 1))
done
tree_listing "$T_TMP/ha" >"$T_TMP/ha.list"
# Another collection's backup directory at the same destination prefix.
echo stranger | s3 cp - s3://prune-eu/loc/backups/20200101T000000Z-x-0000/data-1 >/dev/null
ok "the other bucket holds the data" [ "$(keys prune-eu loc/backups/ | grep -c /data-)" -ge 3 ]
SLUICE_TEST_NOW=$((base + 4 * 86400)) run "$SLUICE" forget \
    --from s3://prune-main/loc --keep-last 1 --prune -v
is "$RC" 0 "forget --keep-last 1 --prune with two destinations"
ok "... removes data objects at the other destination" \
    grep -q "^removed s3://prune-eu/loc/backups/.*/data-" "$OUT"
mid=$(sed -n 2p "$T_TMP/loc.ids")
is "$(keys prune-eu "loc/backups/$mid/")" "" "the forgotten backup's data is gone there"
"$SLUICE" backups --from s3://prune-main/loc -q | sed 's|.*|/&/|' >"$T_TMP/loc.live"
echo /20200101T000000Z-x-0000/ >>"$T_TMP/loc.live"
is "$(keys prune-eu loc/backups/ | grep -v -F -f "$T_TMP/loc.live")" "" \
    "only the survivors' objects and the stranger's are left there"
ok "... the stranger's object is left alone" \
    s3 ls s3://prune-eu/loc/backups/20200101T000000Z-x-0000/data-1
rm -rf "$T_TMP/ra"
mkdir "$T_TMP/ra"
run "$SLUICE" restore --from s3://prune-main/loc --host alpha -C "$T_TMP/ra"
tree_listing "$T_TMP/ra" >"$T_TMP/ra.list"
ok "the survivor restores exactly" eval '[ "$RC" = 0 ] && cmp -s "$T_TMP/ha.list" "$T_TMP/ra.list"'

# ---- a backup killed with SIGKILL in a multipart upload, then prune ---------------
# A proxy to the gateway that forwards at most LIMIT bytes upstream, then
# stalls every connection: the backup is stuck mid-upload, with its
# multipart upload started, until it is killed.
cat >"$T_TMP/proxy.py" <<'PY'
import socket, sys, threading
port_file, target_port, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lock = threading.Lock()
sent = [0]
stall = threading.Event()
def pump(src, dst, up):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if up:
                with lock:
                    n = max(0, min(len(data), limit - sent[0]))
                    sent[0] += n
                dst.sendall(data[:n])
                if n < len(data):
                    stall.wait()  # forever
            else:
                dst.sendall(data)
    except OSError:
        pass
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(64)
open(port_file, "w").write(str(ls.getsockname()[1]))
while True:
    c, _ = ls.accept()
    u = socket.create_connection(("127.0.0.1", target_port))
    threading.Thread(target=pump, args=(c, u, True), daemon=True).start()
    threading.Thread(target=pump, args=(u, c, False), daemon=True).start()
PY
rgw_port=${RGW_ENDPOINT##*:}
python3 "$T_TMP/proxy.py" "$T_TMP/proxy.port" "$rgw_port" 7000000 &
proxy=$!
bg_track $proxy
i=0
while [ ! -s "$T_TMP/proxy.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
keys prune-main coll/backups/ >"$T_TMP/k.before"
mkdir -p "$S/big"
head -c 12000000 /dev/urandom >"$S/big/one"
head -c 12000000 /dev/urandom >"$S/big/two"
SLUICE_S3_PART_SIZE=5M "$SLUICE" backup --to "$C" -q --object-size 8M \
    --s3-endpoint "http://127.0.0.1:$(cat "$T_TMP/proxy.port")" -C "$S" . \
    >/dev/null 2>"$T_TMP/killed.err" </dev/null &
pid=$!
bg_track $pid
i=0
while [ -z "$(uploads prune-main)" ] && [ $i -lt 120 ]; do
    sleep 0.5
    i=$((i + 1))
done
kill -9 $pid
wait_exit $pid 10
is "$RC" 137 "the backup was killed in a multipart upload"
kill $proxy 2>/dev/null
wait $proxy 2>/dev/null
ok "it left an incomplete multipart upload" [ -n "$(uploads prune-main)" ]
ok "it left its LOCK" [ -n "$(keys prune-main coll/LOCK)" ]
run "$SLUICE" unlock --from "$C"
is "$RC" 0 "unlock removes the killed backup's stale LOCK"
is "$(keys prune-main coll/LOCK)" "" "... it is gone"
run "$SLUICE" prune --from "$C" -v
is "$RC" 0 "prune after the killed backup"
like "$(cat "$OUT")" "*prune: aborted 0 incomplete uploads, kept * started within the grace period*" \
    "... keeps the upload within the grace period (1d)"
ok "... which is still there" [ -n "$(uploads prune-main)" ]
if tr '\n' ' ' <"$SLUICE_SRCDIR/doc/FORMAT.md" | sed 's/  */ /g' |
    grep -qF '`prune: aborted N incomplete uploads, kept M started within the grace period`'; then
    pass "... a line FORMAT.md 5.11 quotes"
else fail "... a line FORMAT.md 5.11 quotes"; fi
keys prune-main coll/backups/ >"$T_TMP/k.after"
ok "... and leaves no unreferenced object" cmp -s "$T_TMP/k.before" "$T_TMP/k.after"
SLUICE_TEST_NOW=$(($(date +%s) + 2 * 86400)) run "$SLUICE" prune --from "$C" -v
is "$RC" 0 "prune two days later (SLUICE_TEST_NOW)"
ok "... names the upload it aborted" grep -q "^aborted incomplete upload $C/backups/.*/data-[0-9]* (started " "$OUT"
is "$(uploads prune-main)" "" "no multipart upload is left"
keys prune-main coll/backups/ >"$T_TMP/k.after"
ok "no unreferenced object is left" cmp -s "$T_TMP/k.before" "$T_TMP/k.after"
expect_ok "verify passes" "$SLUICE" verify --from "$C" -q

# --prune-grace 0 aborts at once.
python3 - "$RGW_ENDPOINT" <<'PY' || :
import subprocess, sys
for key in ("coll/backups/x/data-1", "coll/notes.txt"):
    subprocess.run(["aws", "--endpoint-url", sys.argv[1], "s3api", "create-multipart-upload",
                    "--bucket", "prune-main", "--key", key],
                   check=True, stdout=subprocess.DEVNULL)
PY
ok "a fresh multipart upload" [ -n "$(uploads prune-main)" ]
run "$SLUICE" prune --from "$C" --prune-grace 0
is "$RC:$(uploads prune-main)" "0:coll/notes.txt" \
    "prune --prune-grace 0 aborts it at once, and leaves an upload not under backups/ alone"

# ---- the network is an attacker: hostile listings ---------------------------------
# An HTTP proxy to the gateway that answers ListObjectsV2 itself, as the
# file "mode" says; every other request goes through unchanged (SigV4
# signs the Host header, which is passed as it came).
cat >"$T_TMP/evil.py" <<'PY'
import http.client, http.server, socketserver, sys
port_file, target, mode_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def evil(mode):
    head = '<?xml version="1.0"?><ListBucketResult>'
    if mode == "huge":
        return head + "<IsTruncated>false</IsTruncated><X>" + "a" * 5000000 + "</X></ListBucketResult>"
    if mode == "loop":
        return head + "<IsTruncated>true</IsTruncated><NextContinuationToken>same</NextContinuationToken></ListBucketResult>"
    if mode == "cut":
        return head + "<IsTruncated>false</IsTruncated>" + "<Contents><Key>k</Key></Contents>" * 100 + "</ListBucketResult>"
    if mode == "escape":
        item = "<Contents><Key>%s</Key><LastModified>2020-01-01T00:00:00Z</LastModified><Size>1</Size></Contents>"
        return head + "<IsTruncated>false</IsTruncated>" + "".join(item % k for k in (
            "victim", "coll/backups/x/../../victim", "coll/backups/../victim",
            "coll//backups/x/data-1")) + "</ListBucketResult>"
    return "<html>not xml"
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        mode = open(mode_file).read().strip()
        if self.command == "GET" and "list-type=2" in self.path and mode != "pass":
            data = evil(mode).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if mode == "cut": # half the answer, then the connection drops
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data)
            return
        c = http.client.HTTPConnection("127.0.0.1", target)
        c.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            c.putheader(k, v)
        c.endheaders(body)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_any
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
open(port_file, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
echo pass >"$T_TMP/evil.mode"
python3 "$T_TMP/evil.py" "$T_TMP/evil.port" "$rgw_port" "$T_TMP/evil.mode" &
evil=$!
bg_track $evil
i=0
while [ ! -s "$T_TMP/evil.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
EVIL="--s3-endpoint http://127.0.0.1:$(cat "$T_TMP/evil.port")"
echo victim | s3 cp - s3://prune-main/victim >/dev/null
# shellcheck disable=SC2086
run "$SLUICE" prune --from "$C" $EVIL
is "$RC:$(cat "$OUT")" "0:prune: removed 0 objects, 0 bytes freed" \
    "through the proxy, passing everything: prune works"
keys prune-main "" >"$T_TMP/k.before"
for c in "huge:larger than 4194304 bytes" "loop:pages do not advance" \
    "garbage:not a listing"; do
    echo "${c%%:*}" >"$T_TMP/evil.mode"
    # shellcheck disable=SC2086
    run "$SLUICE" prune --from "$C" $EVIL
    is "$RC" 3 "a listing answer that is ${c%%:*}: exit 3"
    like "$(cat "$ERR")" "*${c#*:}*nothing removed there*" "... says why (${c#*:})"
done
# Every attempt at a page starts over: bytes of a cut answer are no
# progress, so the retries end (they once started their budget anew for
# every byte received, and went on for ever).
echo cut >"$T_TMP/evil.mode"
# shellcheck disable=SC2086
run env SLUICE_NET_RETRIES=3 SLUICE_NET_RETRY_SECONDS=20 timeout 60 \
    "$SLUICE" prune --from "$C" $EVIL
is "$RC" 3 "a listing answer cut short every time: exit 3, not a retry for ever"
like "$(cat "$ERR")" "*gave up after 3 attempts*nothing removed there*" \
    "... says it gave up"
echo escape >"$T_TMP/evil.mode"
# shellcheck disable=SC2086
run "$SLUICE" prune --from "$C" $EVIL -v
is "$RC:$(cat "$OUT")" "0:prune: removed 0 objects, 0 bytes freed" \
    "keys outside the prefix or with dot components are never acted on"
keys prune-main "" >"$T_TMP/k.after"
ok "... nothing removed by any hostile listing, the victim is there" \
    cmp -s "$T_TMP/k.before" "$T_TMP/k.after"
kill $evil 2>/dev/null
wait $evil 2>/dev/null

# ---- a plugin built for ABI 1.2 ------------------------------------------------------
# The real s3 stage presented as ABI 1.2 would see it: the stage struct
# ends before list().
mkdir "$T_TMP/old12"
cat >"$T_TMP/old12/s3old.c" <<'C'
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <sluice/plugin.h>
static sluice_plugin p;
SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    void *h = dlopen(getenv("REAL_S3"), RTLD_NOW | RTLD_LOCAL);
    sluice_plugin_entry_fn f =
        h ? (sluice_plugin_entry_fn)dlsym(h, SLUICE_PLUGIN_ENTRY_SYMBOL) : NULL;
    const sluice_plugin *real = f ? f() : NULL;
    if (!real)
        return NULL;
    p = *real;
    p.abi_minor = 2;
    p.stage_size = offsetof(sluice_stage, list);
    return &p;
}
C
if "${CC:-cc}" -shared -fPIC -I"$SLUICE_SRCDIR/include" -o "$T_TMP/old12/s3.so" \
    "$T_TMP/old12/s3old.c" -ldl 2>"$T_TMP/cc.err"; then
    REAL_S3=$(echo "$SLUICE_PLUGIN_PATH" | cut -d: -f1)/s3.so
    export REAL_S3
    old() { SLUICE_PLUGIN_PATH="$T_TMP/old12:$SLUICE_PLUGIN_PATH" "$@"; }
    old run "$SLUICE" stages
    like "$(cat "$OUT")" "*s3 *1.2 *$T_TMP/old12/s3.so*" "a 1.2 s3 plugin loads"
    old run "$SLUICE" forget --from "$C" --keep-last 2
    is "$RC" 0 "... forget works with it (get, put, remove)"
    keys prune-main coll/ >"$T_TMP/k.before"
    old run "$SLUICE" prune --from "$C"
    is "$RC" 2 "prune with a 1.2 plugin: exit 2"
    is "$(cat "$ERR")" "sluice: prune: $C: the collection's root: the s3 stage cannot list objects (a plugin built for ABI 1.2; listing came in 1.3); nothing removed" \
        "... says the stage cannot list"
    keys prune-main coll/ >"$T_TMP/k.after"
    ok "... nothing removed" cmp -s "$T_TMP/k.before" "$T_TMP/k.after"
    tr '\n' ' ' <"$SLUICE_SRCDIR/doc/FORMAT.md" | sed 's/  */ /g' >"$T_TMP/format.txt"
    ok "... FORMAT.md 5.11 quotes that message" grep -qF \
        "the s3 stage cannot list objects (a plugin built for ABI 1.2; listing came in 1.3); nothing removed\`" \
        "$T_TMP/format.txt"
    is "$(keys prune-main coll/LOCK)" "" "... and the LOCK released"
else
    diag_file "$T_TMP/cc.err" cc
    skip 7 "cannot build the 1.2 plugin"
fi

done_testing
