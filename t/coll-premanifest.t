#!/bin/sh
# coll-premanifest.t - a backup's MANIFEST is put while its data objects
# are stored (src/collection/premanifest.c): a stream that waits for the
# object records.  It must end as a whole MANIFEST when the backup
# commits, and leave nothing when the backup fails or is given up.
. "$(dirname "$0")/lib.sh"
plan_no_plan
SLUICE_PASSPHRASE=premanifest-test
export SLUICE_PASSPHRASE

S=$T_TMP/src
C=$T_TMP/c
mkdir -p "$S/d"
for i in 1 2 3 4; do mkdata "$S/d/f$i" 1500000; done
mktext "$S/notes" 2000
expect_ok "a first backup" "$SLUICE" backup -z -e -q --to "$C" \
    --object-size 1M -C "$S" .
ID0=$("$SLUICE" backups -q --from "$C")
expect_ok "  verifies" "$SLUICE" verify -q --from "$C"
run "$SLUICE" ls --from "$C"
is "$(grep -c . "$OUT")" 7 "  its MANIFEST lists every entry"

# The data objects fail (a file size limit: EFBIG) while the MANIFEST's
# put waits for its tail: the backup fails, and neither the MANIFEST nor
# a temporary file of it is left.
cp "$C/INDEX" "$T_TMP/index.before"
ls "$C/backups" >"$T_TMP/backups.before"
touch "$S/d"/f*
(
    trap '' XFSZ
    ulimit -f 512
    exec "$SLUICE" backup -q --to "$C" --object-size 1M -C "$S" .
) >"$OUT" 2>"$ERR"
RC=$?
is "$RC" 3 "a backup whose objects cannot be written fails (exit 3)"
like "$(cat "$ERR")" "sluice: file: cannot write *data-*: File too large" \
    "  says why, naming the object"
ok "  INDEX unchanged" cmp -s "$C/INDEX" "$T_TMP/index.before"
ls "$C/backups" >"$T_TMP/backups.after"
ok "  nothing left under backups/" \
    cmp -s "$T_TMP/backups.before" "$T_TMP/backups.after"
is "$(find "$C" -name '.*' | wc -l)" 0 "  no temporary file anywhere"
expect_ok "  the collection verifies" "$SLUICE" verify -q --from "$C"

# An incremental after it: its MANIFEST (put early) names the first
# backup's objects for what did not change.
mktext "$S/more" 3000
expect_ok "an incremental" "$SLUICE" backup -q --to "$C" --object-size 1M \
    -C "$S" .
mkdir "$T_TMP/r"
expect_ok "  restores" "$SLUICE" restore -q --from "$C" -C "$T_TMP/r"
ok "  to the source" eval '[ "$(tree_listing "$S")" = "$(tree_listing "$T_TMP/r")" ]'
run "$SLUICE" diff --from "$C" -q "$ID0" latest
like "$(cat "$OUT")" "*+ more*" "  diff: the new file added"

done_testing
