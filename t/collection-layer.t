#!/bin/sh
# collection-layer.t - collections as a layer over the streaming store
# (issue 13): errors as values (the first failure's own message, naming
# the object once), the record size limit of the memory sink
# (doc/FORMAT.md 5.3), data objects moving several at once, and a
# selected hard link restored without its unselected partner.
. "$(dirname "$0")/lib.sh"
plan_no_plan

SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE

S=$T_TMP/src
mkdir -p "$S/a" "$S/z"
i=0
while [ $i -lt 30 ]; do
    head -c $((i * 97 + 1)) /dev/urandom >"$S/a/f$i"
    i=$((i + 1))
done
echo "linked data" >"$S/a/holder"
ln "$S/a/holder" "$S/z/partner"
head -c 50000 /dev/urandom >"$S/big"

# ---- the first failure's own message ----------------------------------------
expect_fail 2 "a bad zstd level on a new collection" \
    "$SLUICE" backup --to "$T_TMP/bad" --zstd=25 -C "$S" .
like "$(cat "$ERR")" "*SLUICE-COLLECTION: zstd: level*out of range*" \
    "  says the zstd stage's own message, naming the object"
ok "  and leaves no LOCK" [ ! -e "$T_TMP/bad/LOCK" ]

# ---- many objects at once ----------------------------------------------------
C=$T_TMP/coll
run "$SLUICE" backup --to "$C" -z -e --object-size 4K -C "$S" .
is "$RC" 0 "a backup into many small objects"
ID=$(cat "$OUT")
n=$(ls "$C/backups/$ID" | grep -c '^data-')
ok "  stores many data objects ($n)" [ "$n" -ge 10 ]
mkdir -p "$T_TMP/r"
expect_ok "restore of all of them" "$SLUICE" restore --from "$C" -C "$T_TMP/r"
ok "  equals the source" diff -r "$S" "$T_TMP/r"
expect_ok "verify" "$SLUICE" verify --from "$C"
like "$(cat "$OUT")" "1 backups, $n objects checked, all authentic*" \
    "  checks every object"

# ---- a missing object: named once ----------------------------------------------
D=$T_TMP/dmg
cp -a "$C" "$D"
rm "$D/backups/$ID/data-3"
run "$SLUICE" verify --from "$D"
ok "verify of a missing object fails" [ "$RC" -ne 0 ]
ok "  one line" [ "$(line_count "$ERR")" = 1 ]
is "$(grep -o "backups/$ID/data-3" "$ERR" | wc -l | tr -d ' ')" 1 \
    "  naming the object once"

# ---- a hard link whose partner is not selected ------------------------------
mkdir -p "$T_TMP/hl"
expect_ok "restore of a hard link without its partner (the data holder)" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/hl" z/partner
is "$(cat "$T_TMP/hl/z/partner")" "linked data" "  restores its data"
is "$(stat -c %h "$T_TMP/hl/z/partner")" 1 "  as a regular file"
ok "  not the partner" [ ! -e "$T_TMP/hl/a/holder" ]
ok "  leaving no scratch directory" \
    [ -z "$(find "$T_TMP/hl" -name '.sluice-*')" ]
mkdir -p "$T_TMP/hl2"
expect_ok "restore of the holder alone" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/hl2" a/holder
is "$(cat "$T_TMP/hl2/a/holder")" "linked data" "  restores its data"

# ---- the record limit (doc/FORMAT.md 5.3) ------------------------------------
P=$T_TMP/plain
run "$SLUICE" backup --to "$P" -C "$S" a/f1
is "$RC" 0 "an unencrypted, uncompressed collection"
truncate -s 65M "$P/INDEX"
expect_fail 4 "an INDEX larger than the record limit" \
    "$SLUICE" backups --from "$P"
like "$(cat "$ERR")" "*INDEX*record larger than the 67108864-byte limit*" \
    "  is refused, naming it"

done_testing
