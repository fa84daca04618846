#!/bin/sh
# feedback.t - what collection commands tell the operator (issue 15):
#   - the summary that ends a backup counts right on a known tree (new,
#     changed, unchanged, deleted, bytes read), on stderr on a terminal or
#     with -v, as JSON with --json; a cron run (no terminal, no -v) says
#     nothing but the id;
#   - progress: --progress to a file gives plain lines (the last: every
#     file and byte done, 100%) for backup, restore, verify, forget and
#     prune; on a terminal (script(1) gives a pty) one line redrawn with
#     \r and cleared before the summary; -q silences it; stdout keeps
#     only what scripts read;
#   - network retries say so, one redacted line each, through the stage:
#     "http: retrying in T s, attempt 2/3: ...", also for s3; -q hides them.
. "$(dirname "$0")/lib.sh"

plan_no_plan

S=$T_TMP/src
C=$T_TMP/coll
mkdir -p "$S/d"
printf '0123456789' >"$S/d/a"                       # 10 bytes
printf '%020d' 0 >"$S/d/b"                          # 20 bytes
printf '%030d' 0 >"$S/d/c"                          # 30 bytes

# ---- the summary, on a known tree ---------------------------------------------
# Entries are counted: the directory d is one (its mtime changes when a
# file in it goes).
run "$SLUICE" backup -v --to "$C" -C "$S" d
ok "backup -v" [ "$RC" = 0 ]
id1=$(cat "$OUT")
is "$(line_count "$OUT")" 1 "  stdout: the id alone"
like "$(cat "$ERR")" "sluice: backup $id1: files: 4 new, 0 changed, 0 unchanged, 0 deleted; read 60 B, stored * in * s" \
    "  the summary: d and its 3 files new, 60 bytes read"
is "$(line_count "$ERR")" 1 "  one line on stderr"

printf 'xyz' >>"$S/d/b"
run "$SLUICE" backup --json --to "$C" -C "$S" d
like "$(cat "$OUT")" '{"id":"*","new":0,"changed":1,"unchanged":3,"deleted":0,"bytes_read":23,"bytes_stored":*,"seconds":*}' \
    "one file changed: 1 changed, 3 unchanged, 23 bytes read (--json)"
ok "  nothing on stderr" [ ! -s "$ERR" ]
id2=$(sed -n 's/^{"id":"\([^"]*\)".*/\1/p' "$OUT")
stored=$(sed -n 's/.*"bytes_stored":\([0-9]*\).*/\1/p' "$OUT")
on_disk=$(cat "$C/backups/$id2"/* | wc -c | tr -d ' ')
is "$stored" "$on_disk" "  bytes_stored: what backups/ID/ holds (data objects and MANIFEST)"

rm "$S/d/c"
run "$SLUICE" backup -v --to "$C" -C "$S" d
like "$(cat "$ERR")" "sluice: backup *: files: 0 new, 1 changed, 2 unchanged, 1 deleted; read 0 B, stored * in * s" \
    "one file deleted: 1 deleted (d changed: its mtime), nothing read"

echo new >"$S/d/e"
run "$SLUICE" backup --to "$C" -C "$S" d
ok "a backup from cron (no terminal, no -v)" [ "$RC" = 0 ]
is "$(line_count "$OUT")" 1 "  stdout: the id alone"
ok "  stderr: nothing (cron-quiet, like tar)" [ ! -s "$ERR" ]
run "$SLUICE" backup -q -v --to "$C" -C "$S" d
ok "backup -q: nothing at all" eval '[ "$RC" = 0 ] && [ ! -s "$ERR" ] && [ ! -s "$OUT" ]'

# ---- --progress to a file: plain lines ----------------------------------------
P=$T_TMP/pcoll
run "$SLUICE" backup --progress --to "$P" -C "$S" d
ok "backup --progress" [ "$RC" = 0 ]
is "$(line_count "$OUT")" 1 "  stdout: the id alone"
like "$(tail -n 1 "$ERR")" "sluice: backup: 4/4 files, 37 B of 37 B  */s  0:0?  100.0%" \
    "  the last line: every file and byte done, 100%, no ETA"
nok "  no \\r nor escape off a terminal" grep -q "[$(printf '\r\033')]" "$ERR"
mkdir -p "$T_TMP/r" "$T_TMP/r2" "$T_TMP/r3"
run "$SLUICE" restore --progress --from "$P" -C "$T_TMP/r"
ok "restore --progress" eval '[ "$RC" = 0 ] && [ ! -s "$OUT" ]'
like "$(tail -n 1 "$ERR")" "sluice: restore: 4/4 files, * of *  */s  0:0?  100.0%" \
    "  the last line: every file and stored byte fetched"
done_of() { # "X of Y" of the last line: "X Y" (is "$r" "X X": all)
    tail -n 1 "$ERR" | sed -n 's/.* files, \(.*\) of \(.*\)  .*\/s .*/\1 \2/p'
}
r=$(done_of)
is "$r" "${r% * *} ${r% * *}" "  all of it: $r"
ok "  restored" cmp -s "$S/d/b" "$T_TMP/r/d/b"
# A hard link selected without its data holder (the first link in path
# order): restored from a scratch copy of both, which fetches their object
# once more.  Counted as one file, that object's bytes expected: the line
# never shows more done than in all (it said "4/2 files, 16.0 KiB of 8.0 KiB").
H=$T_TMP/hsrc
mkdir -p "$H/h" "$T_TMP/rh"
printf 'linked data' >"$H/h/a"
ln "$H/h/a" "$H/h/z"
echo other >"$H/h/b"
run "$SLUICE" backup --to "$T_TMP/hcoll" -C "$H" h
ok "backup of a tree with a hard link" [ "$RC" = 0 ]
run "$SLUICE" restore --progress --from "$T_TMP/hcoll" -C "$T_TMP/rh" h/z h/b
ok "restore --progress of a hard link without its data holder" [ "$RC" = 0 ]
like "$(tail -n 1 "$ERR")" "sluice: restore: 3/3 files, * of *  */s  0:0?  100.0%" \
    "  the last line: h, h/b and h/z, N/N files, 100%"
r=$(done_of)
is "$r" "${r% * *} ${r% * *}" "  every stored byte it fetched was expected: $r"
over=$(sed -n 's/^sluice: restore: \([0-9]*\)\/\([0-9]*\) files.*/\1 \2/p' "$ERR" |
    while read -r d t; do [ "$d" -le "$t" ] || echo "$d/$t"; done)
is "$over" "" "  no line with more files done than in all"
ok "  h/z restored with its data" cmp -s "$H/h/a" "$T_TMP/rh/h/z"
ok "  h/a not restored" [ ! -e "$T_TMP/rh/h/a" ]
run "$SLUICE" verify --progress --from "$P"
like "$(cat "$OUT")" "1 backups, 1 objects *" "verify --progress: stdout as without"
like "$(tail -n 1 "$ERR")" "sluice: verify: 4/4 files, * of *  */s  0:0?  100.0%" \
    "  the last line: every file checked"
r=$(done_of)
is "$r" "${r% * *} ${r% * *}" "  all of it: $r"
run "$SLUICE" forget --progress --keep-last 1 --from "$C"
ok "forget --progress" [ "$RC" = 0 ]
like "$(tail -n 1 "$ERR")" "sluice: forget: [1-9] manifests read  0:0?" \
    "  the last line: the manifests it read"
run "$SLUICE" prune --progress --from "$C"
ok "prune --progress" [ "$RC" = 0 ]
like "$(cat "$OUT")" "prune: removed * objects, * bytes freed" "  stdout as without"
n=$(sed -n 's/^prune: removed \([0-9]*\) objects, \([0-9]*\) bytes.*/\1 \2/p' "$OUT")
like "$(tail -n 1 "$ERR")" "sluice: prune: ${n% *} objects removed, *  */s  0:0?" \
    "  the last line: the objects removed, as stdout counts them"
for cmd in backup restore verify; do
    case $cmd in
    backup) set -- backup --to "$P" -C "$S" d ;;
    restore) set -- restore --from "$P" -C "$T_TMP/r2" ;;
    verify) set -- verify --from "$P" ;;
    esac
    run "$SLUICE" "$@" -q --progress
    ok "$cmd -q --progress: nothing on stderr" eval '[ "$RC" = 0 ] && [ ! -s "$ERR" ]'
done
expect_fail 2 "backups --progress: not a backups option" \
    "$SLUICE" backups --progress --from "$P"

# ---- on a terminal ------------------------------------------------------------
if command -v script >/dev/null 2>&1; then
    # A run long enough for the first redraw (a second): zstd at level 19
    # on 8 MiB that do not compress.
    mkdir -p "$T_TMP/big"
    mkdata "$T_TMP/big/r" 8388608
    timeout 300 script -qec "'$SLUICE' backup --chain zstd:level=19 --to '$T_TMP/tc' -C '$T_TMP/big' r" \
        /dev/null >"$T_TMP/tty" 2>&1 </dev/null
    ok "backup on a terminal" [ $? = 0 ]
    cr=$(printf '\r')
    esc=$(printf '\033')
    like "$(cat "$T_TMP/tty")" "${cr}sluice: backup: ?/1 files, * of 8.0 MiB  */s  0:0?  *%  ETA *${esc}\\[K*" \
        "  one line redrawn in place (\\r ... ESC[K): files, bytes of the total, rate, ETA"
    like "$(cat "$T_TMP/tty")" "*${esc}\\[K${cr}${esc}\\[K2*-*" \
        "  cleared before the id"
    like "$(cat "$T_TMP/tty")" "*${cr}
sluice: backup 2*: files: 1 new, 0 changed, 0 unchanged, 0 deleted; read 8.0 MiB, stored 8.0 MiB in * s${cr}*" \
        "  then the summary, on a terminal without -v"
    timeout 120 script -qec "'$SLUICE' restore --from '$P' -C '$T_TMP/r3'" /dev/null \
        >"$T_TMP/tty" 2>&1 </dev/null
    st=$?
    ok "a restore shorter than a second on a terminal: quiet" \
        eval '[ "$st" = 0 ] && [ ! -s "$T_TMP/tty" ]'
else
    skip 4 "script(1) (util-linux) is not installed"
fi

# ---- thread safety: helgrind ----------------------------------------------------
# A split file: several chunk objects stored and checked at once (pool.c),
# counted into the line while the progress thread reads it.  No tar object,
# so no libarchive or NSS lookup (their own reports are not ours); glibc
# reusing a joined thread's stack is not a race.
if command -v valgrind >/dev/null 2>&1 &&
    ! ldd "$SLUICE" 2>/dev/null | grep -Eq 'lib(asan|ubsan|tsan)' &&
    valgrind -q true >/dev/null 2>&1; then
    printf '%s\n' '{' '   glibc-reuses-a-joined-thread-stack' '   Helgrind:Race' \
        '   ...' '   fun:allocate_stack' '}' >"$T_TMP/hg.supp"
    mkdir -p "$T_TMP/hsrc"
    mkdata "$T_TMP/hsrc/big" 600000
    for cmd in backup verify; do
        case $cmd in
        backup) set -- backup --object-size 64K --to "$T_TMP/hc" -C "$T_TMP/hsrc" big ;;
        verify) set -- verify --from "$T_TMP/hc" ;;
        esac
        T_TIMEOUT=300 run valgrind -q --tool=helgrind \
            --suppressions="$T_TMP/hg.supp" --error-exitcode=99 \
            "$SLUICE" "$@" --progress
        ok "helgrind: $cmd --progress of a split file (chunks at once): no race" \
            eval '[ "$RC" = 0 ] && ! grep -q "^==[0-9]*==" "$ERR"'
        if grep -q '^==[0-9]*==' "$ERR"; then diag_file "$ERR" helgrind; fi
    done
    like "$(tail -n 1 "$ERR")" "sluice: verify: 1/1 files, * of *  100.0%" \
        "  the line counted every chunk"
else
    skip 3 "valgrind does not run here (or a sanitizer build)"
fi

# ---- network retries ------------------------------------------------------------
# Nothing listens on the port: a real connection failure, retried (3
# attempts when the server was never reached) with short waits.
port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null)
if [ -n "$port" ]; then
    SLUICE_NET_RETRIES=3 run "$SLUICE" -z -o "http://user:hunter2@127.0.0.1:$port/x.slc" "$S/d/a"
    is "$RC" 3 "http: nothing listening: network failure (exit 3)"
    like "$(sed -n 1p "$ERR")" "sluice: http: retrying in ?.? s, attempt 2/3: PUT: *127.0.0.1 port $port*" \
        "  a line a retry: the wait, the attempt, the cause"
    like "$(sed -n 2p "$ERR")" "sluice: http: retrying in ?.? s, attempt 3/3: PUT: *" \
        "  the next one"
    like "$(sed -n 3p "$ERR")" "sluice: http: cannot upload to http://***@127.0.0.1:$port/x.slc: *(gave up after 3 attempts in * s)" \
        "  then the failure"
    is "$(line_count "$ERR")" 3 "  nothing else"
    nok "  the password appears nowhere" grep -q hunter2 "$ERR"
    SLUICE_NET_RETRIES=3 run "$SLUICE" -q -z -o "http://127.0.0.1:$port/x.slc" "$S/d/a"
    is "$(line_count "$ERR")" 1 "  -q: the failure alone"
    SLUICE_NET_RETRIES=3 AWS_ACCESS_KEY_ID=AKIATEST AWS_SECRET_ACCESS_KEY=secret \
        run "$SLUICE" backup --s3-endpoint "http://127.0.0.1:$port" \
        --to s3://feedback-test/coll -C "$S" d
    is "$RC" 3 "s3: a backup, nothing listening: network failure (exit 3)"
    like "$(sed -n 1p "$ERR")" "sluice: s3: retrying in ?.? s, attempt 2/3: GET: *127.0.0.1 port $port*" \
        "  s3 says its retries too"
    nok "  the secret key appears nowhere" grep -q secret "$ERR"
else
    skip 9 "python3 is needed to find a free port"
fi

done_testing
