#!/bin/sh
# rollback.t - a collection's history is tamper-evident (issue 14 item 3,
# doc/FORMAT.md 5.4 and 5.10, doc/SECURITY.md):
#   - an older INDEX put back (a rollback) is refused, naming both
#     sequence numbers, by restore, verify, backups and backup;
#   - the newest incremental deleted together with its INDEX line (the
#     INDEX before it put back) is refused the same way;
#   - a fork (another INDEX under a sequence already seen, or one that
#     does not chain to it) is refused;
#   - a fresh client (empty state) accepts the collection and records it,
#     mode 0600, under $XDG_STATE_HOME/sluice/;
#   - --as-of takes only an id that exists or a well-formed time;
#   - two data objects with the same member names swapped are refused
#     (the MANIFEST's size/SHA-256 of each object), by restore and verify;
#   - a compressed INDEX bomb is refused at the record limit in bounded
#     memory.
. "$(dirname "$0")/lib.sh"

plan_no_plan

SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE
XDG_STATE_HOME=$T_TMP/state
export XDG_STATE_HOME

S=$T_TMP/src
C=$T_TMP/coll
mkdir -p "$S/d"
echo one >"$S/a"
echo two >"$S/d/b"

backup() {
    run "$SLUICE" backup --to "$C" -z -e -C "$S" .
    [ "$RC" = 0 ] || { diag_file "$ERR" stderr; return 1; }
}

ok "full backup" backup
cp "$C/INDEX" "$T_TMP/INDEX.1"
state=$(ls "$XDG_STATE_HOME"/sluice/collections/ 2>/dev/null | grep -v lock)
ok "the backup recorded the collection in \$XDG_STATE_HOME/sluice" \
    test -n "$state"
f=$XDG_STATE_HOME/sluice/collections/$state
is "$(stat -c %a "$f")" 600 "the state file is mode 0600"
is "$(sed -n 2p "$f")" "seq 1" "it records sequence 1"

echo three >"$S/a"
ok "incremental 1" backup
cp "$C/INDEX" "$T_TMP/INDEX.2"
echo four >"$S/d/b"
ls "$C/backups" >"$T_TMP/ids.2"
ok "incremental 2" backup
is "$(sed -n 2p "$f")" "seq 3" "the state follows to sequence 3"
# (ids made in one second do not sort by time: the new directory)
ID3=$(ls "$C/backups" | grep -vxF -f "$T_TMP/ids.2")

# An older INDEX put back.
cp "$C/INDEX" "$T_TMP/INDEX.3"
cp "$T_TMP/INDEX.1" "$C/INDEX"
mkdir -p "$T_TMP/r1"
expect_fail 5 "restore refuses an older INDEX put back" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/r1"
like "$(cat "$ERR")" "*INDEX went back from sequence 3 to 1: an older INDEX was put back (rollback)*" \
    "the refusal names both sequences"
ok "nothing was restored" test ! -e "$T_TMP/r1/a"
expect_fail 5 "verify refuses it" "$SLUICE" verify --from "$C"
expect_fail 5 "backups refuses it" "$SLUICE" backups --from "$C"
expect_fail 5 "backup refuses to build on it" \
    "$SLUICE" backup --to "$C" -z -e -C "$S" .
cmp -s "$C/INDEX" "$T_TMP/INDEX.1"
ok "the refused backup left INDEX as it was" [ $? = 0 ]

# The newest incremental deleted with its INDEX line: the INDEX before it
# is back and its directory gone.
cp "$T_TMP/INDEX.2" "$C/INDEX"
mv "$C/backups/$ID3" "$T_TMP/gone"
mkdir -p "$T_TMP/r2"
expect_fail 5 "restore refuses a collection whose newest backup was deleted with its INDEX line" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/r2"
like "$(cat "$ERR")" "*from sequence 3 to 2*" "it names sequences 3 and 2"
mv "$T_TMP/gone" "$C/backups/$ID3"

# INDEX removed altogether: backup would start the history anew.
rm "$C/INDEX"
expect_fail 5 "backup refuses a collection whose INDEX was removed" \
    "$SLUICE" backup --to "$C" -z -e -C "$S" .

# The real INDEX back: all is well.
cp "$T_TMP/INDEX.3" "$C/INDEX"
mkdir -p "$T_TMP/r3"
expect_ok "restore takes the newest INDEX back" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/r3"
is "$(cat "$T_TMP/r3/d/b")" four "and restores the newest backup"

# A fork: another client's sequence 3 (same collection, a different
# history from sequence 2 on).
cp -a "$C" "$T_TMP/fork"
cp "$T_TMP/INDEX.2" "$T_TMP/fork/INDEX"
rm -r "$T_TMP/fork/backups/$ID3"
echo other >"$S/a"
st2=$T_TMP/state2
XDG_STATE_HOME=$st2 run "$SLUICE" backup --to "$T_TMP/fork" -z -e -C "$S" .
is "$RC" 0 "another client (empty state) writes its own sequence 3" ||
    diag_file "$ERR" stderr
nok "its INDEX differs from this client's sequence 3" \
    cmp -s "$T_TMP/fork/INDEX" "$T_TMP/INDEX.3"
is "$(sed -n 2p "$st2"/sluice/collections/"$state")" "seq 3" \
    "the other client recorded sequence 3"
cp "$T_TMP/fork/INDEX" "$C/INDEX"
cp -a "$T_TMP/fork/backups/." "$C/backups/"
mkdir -p "$T_TMP/r4"
expect_fail 5 "restore refuses a forked INDEX (same sequence, other hash)" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/r4"
like "$(cat "$ERR")" "*sequence 3*does not follow sequence 3 seen before*forked*" \
    "the refusal says fork and names the sequences"

# A fresh client (empty state) accepts it and records it.
mkdir -p "$T_TMP/r5"
XDG_STATE_HOME=$T_TMP/state3 run "$SLUICE" restore --from "$C" -C "$T_TMP/r5"
is "$RC" 0 "a fresh client accepts the collection"
ok "and records it" test -n "$(ls "$T_TMP/state3/sluice/collections" | grep -v lock)"

# --as-of: an id that does not exist is an error, never a time prefix.
cp "$T_TMP/INDEX.3" "$C/INDEX"
mkdir -p "$T_TMP/r6"
expect_fail 2 "--as-of with an id missing from INDEX is refused" \
    "$SLUICE" restore --from "$C" --as-of "${ID3%-*}-zzzz" -C "$T_TMP/r6"
mkdir -p "$T_TMP/r7"
expect_fail 2 "--as-of with trailing garbage after a time is refused" \
    "$SLUICE" restore --from "$C" --as-of "2026-01-01T00:00:00Zjunk" -C "$T_TMP/r7"
mkdir -p "$T_TMP/r8"
expect_ok "--as-of with the id restores it" \
    "$SLUICE" restore --from "$C" --as-of "$ID3" -C "$T_TMP/r8"

# Two data objects with the same member names swapped: both authenticate
# (one key seals every object), the MANIFEST's size/binding tells them
# apart.
W=$T_TMP/swap
mkdir -p "$T_TMP/sa/d" "$T_TMP/sb/d"
echo host-a >"$T_TMP/sa/d/f"
echo host-b, other contents >"$T_TMP/sb/d/f"
run "$SLUICE" backup --to "$W" -z -e --host ha -C "$T_TMP/sa" .
is "$RC" 0 "backup of host ha"
run "$SLUICE" backup --to "$W" -z -e --host hb -C "$T_TMP/sb" .
is "$RC" 0 "backup of host hb"
A=$(ls "$W/backups" | grep -- -ha-)
B=$(ls "$W/backups" | grep -- -hb-)
# The record of an encrypted collection's object is the binding of
# FORMAT.md 3.9, worked out here apart from sluice: SHA-256 of the
# object's 20 header bytes and every chunk's tag.
salt=$(sed -n 's/^aes-256-gcm .*salt=\([0-9a-f]*\).*/\1/p' "$W/SLUICE-COLLECTION")
"$SLUICE" decrypt-object --salt "$salt" "$W/backups/$A/MANIFEST" 2>"$ERR" |
    zstd -dq >"$T_TMP/manifest-a" 2>>"$ERR"
is "$(head -1 "$T_TMP/manifest-a")" "sluice-manifest/4" \
    "an encrypted collection's manifest is version 4"
rec=$(awk '$1 == "O" && $3 == 1 { print $5 }' "$T_TMP/manifest-a")
want=$(python3 - "$W/backups/$A/data-1" <<'PY'
import hashlib, sys
b = open(sys.argv[1], "rb").read()
tags = [b[o + 65536:o + 65552] for o in range(20, len(b) - 65552, 65552)]
print("binding:" + hashlib.sha256(b[:20] + b"".join(tags) + b[-16:]).hexdigest())
PY
)
is "$rec" "$want" "its object record is the binding of FORMAT.md 3.9"
mv "$W/backups/$A/data-1" "$T_TMP/swap-tmp"
mv "$W/backups/$B/data-1" "$W/backups/$A/data-1"
mv "$T_TMP/swap-tmp" "$W/backups/$B/data-1"
mkdir -p "$T_TMP/rs"
expect_fail 5 "restore refuses a data object swapped with another backup's" \
    "$SLUICE" restore --from "$W" --host ha -C "$T_TMP/rs"
like "$(cat "$ERR")" "*backups/$A/data-1: not the object this backup stored (size/binding differ): swapped or replaced*" \
    "the refusal names the object"
run "$SLUICE" verify --from "$W"
is "$RC" 5 "verify finds the swap (exit 5)"
like "$(cat "$ERR")" "*not the object this backup stored*" \
    "verify names it"

# The vector collection (t/vectors/collection, a sluice-index/1: no
# sequence) seen by a client that recorded sequence 5 for its salt: a
# rollback to an INDEX without sequence, refused; with no state, taken.
V=$T_TMP/vec
cp -a "$SLUICE_VECTORS/collection" "$V"
salt=$(sed -n 's/.* salt=\([0-9a-f]*\).*/\1/p' "$V/SLUICE-COLLECTION" | head -1)
mkdir -p "$T_TMP/vst/sluice/collections"
printf 'sluice-state/1\nseq 5\nhash %064d\n' 0 \
    >"$T_TMP/vst/sluice/collections/$salt"
mkdir -p "$T_TMP/rv"
XDG_STATE_HOME=$T_TMP/vst SLUICE_PASSPHRASE=abc123 \
    run "$SLUICE" restore --from "$V" --host vec -C "$T_TMP/rv"
is "$RC" 5 "vector collection: a client that saw sequence 5 refuses its sequence-less INDEX (exit 5)"
like "$(cat "$ERR")" "*INDEX went back from sequence 5 to 0 (an INDEX without sequence number, or none): an older INDEX was put back (rollback)*remove $T_TMP/vst/sluice/collections/$salt to accept it*" \
    "  naming both sequences and the state file"
mkdir -p "$T_TMP/rv2"
XDG_STATE_HOME=$T_TMP/vst2 SLUICE_PASSPHRASE=abc123 \
    run "$SLUICE" restore --from "$V" --host vec -C "$T_TMP/rv2"
is "$RC" 0 "vector collection: an old (sluice-index/1) collection still restores"

# Record limits (doc/FORMAT.md 5.3): a 33 KB compressed INDEX that
# decodes to 1 GiB is refused at 64 MiB, in bounded memory.
if command -v zstd >/dev/null 2>&1 && [ -x /usr/bin/time ]; then
    Z=$T_TMP/bomb
    run "$SLUICE" backup --to "$Z" -z -C "$S" .
    is "$RC" 0 "a compressed, unencrypted collection"
    head -c 1073741824 /dev/zero | zstd -q -19 >"$Z/INDEX"
    run /usr/bin/time -o "$T_TMP/rss" -f %M "$SLUICE" backups --from "$Z"
    is "$RC" 4 "an INDEX decoding to 1 GiB is refused (exit 4)"
    like "$(cat "$ERR")" "*INDEX*record larger than the 67108864-byte limit*" \
        "  naming it and the limit"
    rss=$(tail -1 "$T_TMP/rss")
    # AddressSanitizer's shadow and quarantine add about 150 MiB to the
    # 64 MiB record at most: the bound is the record limit's, not RSS's.
    lim=204800
    ldd "$SLUICE" 2>/dev/null | grep -q libasan && lim=409600
    ok "  in bounded memory (max RSS ${rss} KiB < $((lim / 1024)) MiB)" \
        [ "$rss" -lt "$lim" ]
else
    skip 4 "zstd or /usr/bin/time not found"
fi

done_testing
