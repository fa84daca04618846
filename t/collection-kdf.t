#!/bin/sh
# collection-kdf.t - the key is derived once per command (issue 13):
# backup, restore and verify of a collection of more than 100 objects at
# --kdf-iter 2000000 each derive the key exactly once, however many
# objects they move (every engine run of a command shares one session,
# and the aes-256-gcm stage keeps the derived key in the session's cache).
#
# Counted, not timed: the aes-256-gcm stage logs "aes-256-gcm: key
# derived" at -vv for each derivation it performs.
. "$(dirname "$0")/lib.sh"
plan_no_plan

SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE

S=$T_TMP/src
mkdir -p "$S"
i=0
while [ $i -lt 120 ]; do
    head -c 3000 /dev/urandom >"$S/f$i"
    i=$((i + 1))
done

derivations() {
    grep -c 'aes-256-gcm: key derived' "$ERR" || :
}

run "$SLUICE" -c -e -vv -f "$T_TMP/one.sl" -C "$S" f1
is "$(derivations)" 1 "one sluice -c -e derives the key once"

C=$T_TMP/coll
run "$SLUICE" backup --to "$C" -e --kdf-iter 2000000 --object-size 4K \
    -vv -C "$S" .
is "$RC" 0 "a backup at --kdf-iter 2000000"
ID=$(tail -n 1 "$OUT")
n=$(ls "$C/backups/$ID" | grep -c '^data-')
ok "  into more than 100 objects ($n)" [ "$n" -gt 100 ]
is "$(derivations)" 1 "  derives the key once"

run "$SLUICE" backup --to "$C" -e -vv -C "$S" .
is "$RC" 0 "an incremental"
is "$(derivations)" 1 "  derives the key once (descriptor check included)"

mkdir -p "$T_TMP/r"
run "$SLUICE" restore --from "$C" -vv -C "$T_TMP/r"
is "$RC" 0 "a restore of every object"
is "$(derivations)" 1 "  derives the key once"
ok "  and equals the source" diff -r "$S" "$T_TMP/r"

run "$SLUICE" verify --from "$C" -vv
is "$RC" 0 "a verify of every object"
is "$(derivations)" 1 "  derives the key once"

done_testing
