#!/bin/sh
# coll-ops.t - collections for operators (issue 15), on local directories:
#   - the collection remembers its chain: after the first backup neither
#     -z nor -e is needed (the passphrase is still asked for); a flag that
#     contradicts the descriptor is refused; --chain SPEC makes a
#     collection with custom stages, recorded the same way;
#   - failures leave no trace: a first backup that fails (a path typo, no
#     passphrase) leaves no collection behind and names the real cause.
. "$(dirname "$0")/lib.sh"

plan_no_plan

SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE
S=$T_TMP/src
mkdir -p "$S/etc" "$S/home/u"
echo conf >"$S/etc/conf"
echo notes >"$S/home/u/notes"

# ---- the collection remembers its chain -------------------------------------
C=$T_TMP/c-enc
run "$SLUICE" backup -q --to "$C" -z -e -C "$S" etc
ok "a first backup with -z -e" [ "$RC" = 0 ]
echo more >"$S/etc/more"
run "$SLUICE" backup --to "$C" -C "$S" etc
ok "the next one needs neither -z nor -e" [ "$RC" = 0 ]
is "$("$SLUICE" backups -q --from "$C" | wc -l | tr -d ' ')" 2 "  two backups"
mkdir -p "$T_TMP/r1"
run "$SLUICE" restore --from "$C" -C "$T_TMP/r1"
is "$(cat "$T_TMP/r1/etc/more" 2>/dev/null)" more "  the second restores"
SLUICE_PASSPHRASE=wrong expect_fail 5 "without -e the passphrase still counts" \
    "$SLUICE" backup --to "$C" -C "$S" etc
expect_fail 2 "without -e and no passphrase: refused" \
    env -u SLUICE_PASSPHRASE "$SLUICE" backup --to "$C" -C "$S" etc </dev/null
like "$(cat "$ERR")" "*no passphrase*" "  the message says no passphrase"
before=$(ls -R "$C")
expect_fail 2 "-z -9 contradicts the recorded level 3" \
    "$SLUICE" backup --to "$C" -z -9 -C "$S" etc
like "$(cat "$ERR")" "*zstd | aes-256-gcm*level*" "  names the chain and the level"
expect_fail 2 "--chain zstd on an encrypted collection" \
    "$SLUICE" backup --to "$C" --chain zstd -C "$S" etc
like "$(cat "$ERR")" "*is encrypted*" "  says it is encrypted"
is "$(ls -R "$C")" "$before" "  nothing written by the refused ones"
run "$SLUICE" backup -q --to "$C" -e -C "$S" etc
ok "an agreeing -e is fine" [ "$RC" = 0 ]

P=$T_TMP/c-plain
run "$SLUICE" backup -q --to "$P" -C "$S" etc
ok "a plain collection" [ "$RC" = 0 ]
expect_fail 2 "-e on a plain collection" "$SLUICE" backup --to "$P" -e -C "$S" etc
like "$(cat "$ERR")" "*not encrypted*" "  says it is not encrypted"

X=$T_TMP/c-chain
run "$SLUICE" backup -q --to "$X" --chain zstd:level=7,aes-256-gcm:iter=70000 \
    -C "$S" etc
ok "--chain SPEC makes a collection" [ "$RC" = 0 ]
like "$(head -c 200 "$X/SLUICE-COLLECTION")" \
    "*zstd level=7*aes-256-gcm kdf=pbkdf2-sha256 iter=70000 salt=*" \
    "  the descriptor records the stages and a salt"
run "$SLUICE" backup -q --to "$X" -C "$S" etc
ok "  appended without --chain" [ "$RC" = 0 ]
run "$SLUICE" backup -q --to "$X" --chain zstd:level=7,aes-256-gcm:iter=70000 \
    -C "$S" etc
ok "  and with the same --chain" [ "$RC" = 0 ]
expect_fail 2 "  another --chain is refused" \
    "$SLUICE" backup --to "$X" --chain zstd:level=7 -C "$S" etc
mkdir -p "$T_TMP/r2"
run "$SLUICE" restore --from "$X" -C "$T_TMP/r2"
is "$(cat "$T_TMP/r2/etc/conf" 2>/dev/null)" conf "  restores"
expect_fail 2 "--chain with -z" "$SLUICE" backup --to "$T_TMP/c-x" --chain zstd -z -C "$S" etc
ok "  no collection" [ ! -e "$T_TMP/c-x" ]

# ---- failures leave no trace --------------------------------------------------
N=$T_TMP/new/c
expect_fail 3 "a first backup of a path that does not exist" \
    "$SLUICE" backup --to "$N" -C "$S" etc nosuch
like "$(cat "$ERR")" "*nosuch*No such file*" "  the message names the path"
ok "  leaves no collection" [ ! -e "$N" ]
expect_fail 2 "a first encrypted backup with no passphrase" \
    env -u SLUICE_PASSPHRASE "$SLUICE" backup --to "$N" -e -C "$S" etc </dev/null
like "$(cat "$ERR")" "*no passphrase given*" "  says no passphrase"
ok "  leaves no collection" [ ! -e "$N" ]
mkdir -p "$T_TMP/exists"
expect_fail 3 "a first backup into an existing empty directory fails" \
    "$SLUICE" backup --to "$T_TMP/exists" -C "$S" nosuch
ok "  the directory stays (it was there), empty" \
    eval '[ -d "$T_TMP/exists" ] && [ -z "$(ls -A "$T_TMP/exists")" ]'

# restore is as strict as -x
before=$(ls -R "$C")
mkdir "$T_TMP/r3"
mkdir -p "$T_TMP/r3"
expect_fail 2 "restore of a PATH not in the backup (as -x)" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/r3" etc/conf etc/nosuch
like "$(cat "$ERR")" "*etc/nosuch: not found in backup*" "  names the path"
is "$(ls -A "$T_TMP/r3")" "" "  nothing restored"
expect_fail 2 "a leading directory is not the path" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/r3" etc/conf/x
run "$SLUICE" restore --from "$C" -C "$T_TMP/r3" ./etc/ etc/conf
ok "  ./etc/ and etc/conf are found" eval '[ "$RC" = 0 ] && [ -f "$T_TMP/r3/etc/more" ]'
run "$SLUICE" restore --from "$C?locality=default" -C "$T_TMP/r3" etc/conf
ok "--from takes the tagged URL given to --to" [ "$RC" = 0 ]
run "$SLUICE" backups -q --from "$C?locality=default"
ok "  backups too" eval '[ "$RC" = 0 ] && [ -s "$OUT" ]'
is "$(ls -R "$C")" "$before" "  the collection unchanged by all that"

# ---- selection ----------------------------------------------------------------
# Unencrypted collections from here to "feedback": restored without a
# passphrase (given one, a restore refuses them as a downgrade, issue 14).
unset SLUICE_PASSPHRASE
W=$T_TMP/w
mkdir -p "$W/a/cache/x" "$W/a/fake/x" "$W/a/keep" "$W/b"
echo 1 >"$W/a/keep/f"
echo 2 >"$W/a/keep/f.o"
echo 3 >"$W/a/keep/g.tmp"
printf 'Signature: 8a477f597d28d172789f06886806bc55\n# a cache\n' >"$W/a/cache/CACHEDIR.TAG"
echo z >"$W/a/cache/x/big"
echo 'Signature: nope' >"$W/a/fake/CACHEDIR.TAG"
echo y >"$W/a/fake/x/kept"
echo t >"$W/a/keep/.f.sluice-Ab12"
echo b >"$W/b/f"
printf '*.tmp\n\nb\n' >"$T_TMP/excl"
WC=$W/coll
run "$SLUICE" backup -q --to "$WC" --exclude '*.o' --exclude-from "$T_TMP/excl" \
    --exclude-caches -C "$W" .
ok "backup with --exclude, --exclude-from, --exclude-caches" [ "$RC" = 0 ]
mkdir -p "$T_TMP/rw"
run "$SLUICE" restore --from "$WC" -C "$T_TMP/rw"
got=$(cd "$T_TMP/rw" && find . | LC_ALL=C sort | tr '\n' ' ')
is "$got" ". ./a ./a/cache ./a/cache/CACHEDIR.TAG ./a/fake ./a/fake/CACHEDIR.TAG ./a/fake/x ./a/fake/x/kept ./a/keep ./a/keep/f " \
    "  patterns, the cache's contents (not its tag), the collection itself and a temporary file are left out"
echo new >"$W/a/keep/h"
run "$SLUICE" backup --dry-run --to "$WC" --exclude '*.o' --exclude-from "$T_TMP/excl" \
    --exclude-caches -C "$W" .
ok "--dry-run" [ "$RC" = 0 ]
like "$(cat "$OUT")" "*A a/keep/h*" "  lists the new file"
like "$(cat "$ERR")" "*dry run*nothing written*" "  and says nothing was written"
is "$("$SLUICE" backups -q --from "$WC" | wc -l | tr -d ' ')" 1 "  no backup recorded"
run "$SLUICE" backup --dry-run --to "$T_TMP/never" -C "$W" a
ok "--dry-run into a new collection" eval '[ "$RC" = 0 ] && [ ! -e "$T_TMP/never" ]'
like "$(cat "$OUT")" "*A a/keep/f.o*" "  lists what the first backup would store"
printf 'a/keep/f\nb\n' >"$T_TMP/list"
run "$SLUICE" backup -q --to "$T_TMP/fl" --files-from "$T_TMP/list" -C "$W"
ok "--files-from FILE" [ "$RC" = 0 ]
mkdir -p "$T_TMP/rfl"
run "$SLUICE" restore --from "$T_TMP/fl" -C "$T_TMP/rfl"
got=$(cd "$T_TMP/rfl" && find . -type f | LC_ALL=C sort | tr '\n' ' ')
is "$got" "./a/keep/f ./b/f " "  backs up the listed paths"
expect_fail 3 "--exclude-from a missing file" \
    "$SLUICE" backup --to "$T_TMP/ef" --exclude-from "$T_TMP/nosuch" -C "$W" a
ok "  leaves no collection" [ ! -e "$T_TMP/ef" ]

# ---- each path set its own line of incrementals ---------------------------------
PS=$T_TMP/ps
run "$SLUICE" backup -q --to "$PS" -C "$S" etc home
ok "backup of etc home" [ "$RC" = 0 ]
run "$SLUICE" backup -q --to "$PS" -C "$S" ./etc/
ok "then of etc alone" [ "$RC" = 0 ]
ok "  its operand ./etc/ is stored, the directory too" \
    sh -c "'$SLUICE' ls --from '$PS' | grep -q ' etc\$'"
is "$("$SLUICE" backups --from "$PS" | awk 'NR==4 {print $4}')" full \
    "  a new path set starts its own line (full)"
run "$SLUICE" backup -q --to "$PS" -C "$S" home etc
ok "then etc home again" [ "$RC" = 0 ]
is "$("$SLUICE" backups --from "$PS" | awk 'NR==5 {print $4}')" incremental \
    "  an incremental of the first"
mkdir -p "$T_TMP/rps"
run "$SLUICE" restore --from "$PS" -C "$T_TMP/rps"
ok "  the latest restores home too (not marked deleted)" \
    eval '[ -f "$T_TMP/rps/home/u/notes" ] && [ -f "$T_TMP/rps/etc/conf" ]'
last=$("$SLUICE" backups -q --from "$PS" | tail -n 1)
like "$(cat "$PS/backups/$last/MANIFEST")" "*paths $S%0Aetc%0Ahome*" \
    "  the manifest records the -C base and the paths"

# ---- feedback -----------------------------------------------------------------
SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE
echo changed >>"$S/etc/conf"
echo new >"$S/etc/new"
rm -f "$S/etc/more"
run "$SLUICE" backup -v --to "$PS" -C "$S" etc home
ok "backup -v" [ "$RC" = 0 ]
is "$(line_count "$OUT")" 1 "  stdout: the id alone"
like "$(cat "$ERR")" "*backup $(cat "$OUT"): files: 1 new, 2 changed, 3 unchanged, 1 deleted; read 17 B, stored * in * s*" \
    "  stderr: the summary line"
run "$SLUICE" backup -q --to "$PS" -C "$S" etc home
ok "backup -q: nothing on stderr" eval '[ "$RC" = 0 ] && [ ! -s "$ERR" ]'
echo more >>"$S/etc/new"
run "$SLUICE" backup --json --to "$PS" -C "$S" etc home
like "$(cat "$OUT")" '{"id":"*","new":0,"changed":1,"unchanged":5,"deleted":0,"bytes_read":9,"bytes_stored":*,"seconds":*}' \
    "backup --json: one object on stdout"
is "$(line_count "$OUT")" 1 "  one line"
if command -v python3 >/dev/null 2>&1; then
    cp "$OUT" "$T_TMP/json"
    run python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["bytes_stored"] > 0' "$T_TMP/json"
    ok "  parses as JSON" [ "$RC" = 0 ]
fi
run "$SLUICE" backups --json --from "$PS"
cp "$OUT" "$T_TMP/bjson"
is "$(line_count "$T_TMP/bjson")" "$("$SLUICE" backups -q --from "$PS" | wc -l | tr -d ' ')" \
    "backups --json: one line a backup"
like "$(head -n 1 "$T_TMP/bjson")" '{"id":"*","time":*,"host":"*","parent":null,"full":true,"files":*,"bytes_in":*,"bytes_stored":*}' \
    "  the first is full, with no parent"
if command -v python3 >/dev/null 2>&1; then
    run python3 -c 'import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$T_TMP/bjson"
    ok "  every line parses as JSON" [ "$RC" = 0 ]
fi

# ---- browsing -------------------------------------------------------------------
run "$SLUICE" ls --from "$PS" etc
ok "ls PATH" [ "$RC" = 0 ]
like "$(cat "$OUT")" "*-rw-*etc/conf*etc/new*" "  tar -tv style lines"
nok "  only that path" grep -q home "$OUT"
chmod 000 "$PS"/backups/*/data-* 2>/dev/null
mv "$PS/backups" "$PS/b.keep"; mkdir "$PS/backups"
for d in "$PS"/b.keep/*; do mkdir "$PS/backups/${d##*/}"; cp "$d/MANIFEST" "$PS/backups/${d##*/}/"; done
run "$SLUICE" ls --from "$PS" --as-of "$("$SLUICE" backups -q --from "$PS" | head -n 1)"
ok "ls reads no data object (all gone) and takes --as-of" [ "$RC" = 0 ]
like "$(cat "$OUT")" "*home/u/notes*" "  the first backup's entries"
nok "  not the later file" grep -q etc/new "$OUT"
rm -rf "$PS/backups"; mv "$PS/b.keep" "$PS/backups"; chmod 644 "$PS"/backups/*/data-*
expect_fail 2 "ls of a PATH not in the backup" "$SLUICE" ls --from "$PS" nosuch
run "$SLUICE" ls --json --from "$PS" etc/conf
like "$(cat "$OUT")" '{"path":"etc/conf","type":"f","mode":"0644","uid":*,"gid":*,"size":13,"mtime":*,"link":null,"backup":"*"}' \
    "ls --json"
mkdir -p "$T_TMP/ctl"; : >"$T_TMP/ctl/$(printf 'bad\033[2Jname')"
run "$SLUICE" backup -q --to "$T_TMP/ctlc" -C "$T_TMP/ctl" .
run "$SLUICE" ls --from "$T_TMP/ctlc"
nok "ls escapes control characters" grep -q "$(printf '\033')" "$OUT"

done_testing
