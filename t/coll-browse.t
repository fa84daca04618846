#!/bin/sh
# coll-browse.t - browsing a collection (issue 15), on a local directory:
#   - diff ID1 ID2: added, removed, changed (sizes), type and metadata
#     changes, a count line; --json one object a change and a summary;
#     backups of other path sets compare too, said on stderr;
#   - restore --to-stdout (-O) PATH: one regular file's bytes, nothing
#     else on stdout (split files in order, hard links), refusals;
#   - backups: a table with a header, human sizes and the paths;
#   - restore is as strict as -x: -C must exist, a PATH must be there.
. "$(dirname "$0")/lib.sh"

plan_no_plan

SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE
S=$T_TMP/src
mkdir -p "$S/etc" "$S/home/u"
echo conf >"$S/etc/conf"
echo gone >"$S/etc/gone"
echo notes >"$S/home/u/notes"
ln -s conf "$S/etc/link"
chmod 644 "$S/etc/conf"
C=$T_TMP/c
run "$SLUICE" backup -z -e --to "$C" -C "$S" etc home
ok "a first backup" [ "$RC" = 0 ]
B1=$(cat "$OUT")

# ---- diff -----------------------------------------------------------------------
echo "conf, longer now" >"$S/etc/conf"
rm "$S/etc/gone"
echo new >"$S/etc/new"
rm "$S/etc/link"
mkdir "$S/etc/link"
chmod 700 "$S/home/u"
chmod 600 "$S/home/u/notes"
run "$SLUICE" backup --to "$C" -C "$S" etc home
ok "an incremental" [ "$RC" = 0 ]
B2=$(cat "$OUT")

expect_ok "diff ID1 ID2" "$SLUICE" diff --from "$C" "$B1" "$B2"
cp "$OUT" "$T_TMP/diff"
is "$(cat "$T_TMP/diff")" "M etc/conf (5 -> 17 bytes)
- etc/gone (5 bytes)
T etc/link/ (symlink -> directory)
+ etc/new (4 bytes)
U home/u/ (mode 0755 -> 0700)
U home/u/notes (mode 0644 -> 0600)
1 added, 1 removed, 1 changed, 1 type changed, 2 metadata changed; 21 B added, 10 B removed" \
    "  one line a change, in path order, then the counts"
expect_ok "diff by prefix and latest" \
    "$SLUICE" diff --from "$C" "${B1%?}" latest
is "$(cat "$OUT")" "$(cat "$T_TMP/diff")" "  the same"
expect_ok "diff -q: the changes alone" "$SLUICE" diff -q --from "$C" "$B1" "$B2"
is "$(line_count "$OUT")" 6 "  six lines"
expect_ok "diff of a backup with itself" "$SLUICE" diff --from "$C" "$B2" "$B2"
is "$(cat "$OUT")" "0 added, 0 removed, 0 changed, 0 type changed, 0 metadata changed; 0 B added, 0 B removed" \
    "  nothing changed"
expect_ok "diff the other way" "$SLUICE" diff --from "$C" "$B2" "$B1"
like "$(cat "$OUT")" "*+ etc/gone (5 bytes)*- etc/new (4 bytes)*" "  added and removed swap"

expect_ok "diff --json" "$SLUICE" diff --json --from "$C" "$B1" "$B2"
cp "$OUT" "$T_TMP/json"
is "$(line_count "$T_TMP/json")" 7 "  one object a change and a summary"
like "$(sed -n 1p "$T_TMP/json")" '{"change":"M","path":"etc/conf","old":{"type":"f","mode":"0644","uid":*,"gid":*,"size":5,"mtime":*,"link":null},"new":{"type":"f","mode":"0644","uid":*,"gid":*,"size":17,"mtime":*,"link":null}}' \
    "  a changed file: old and new"
like "$(sed -n 2p "$T_TMP/json")" '{"change":"-","path":"etc/gone","old":{*},"new":null}' \
    "  a removed one: new is null"
like "$(sed -n 3p "$T_TMP/json")" '{"change":"T","path":"etc/link","old":{"type":"l",*"link":"conf"},"new":{"type":"d",*}}' \
    "  a type change"
is "$(tail -n 1 "$T_TMP/json")" "{\"summary\":{\"from\":\"$B1\",\"to\":\"$B2\",\"same_paths\":true,\"added\":1,\"removed\":1,\"changed\":1,\"type_changed\":1,\"metadata_changed\":2,\"bytes_added\":21,\"bytes_removed\":10}}" \
    "  the summary"
if command -v python3 >/dev/null 2>&1; then
    ok "  every line parses as JSON" python3 -c 'import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$T_TMP/json"
fi

# Another path set: its own line of incrementals; diff compares listings.
run "$SLUICE" backup --to "$C" -C "$S" etc
ok "a backup of etc alone" [ "$RC" = 0 ]
B3=$(cat "$OUT")
run "$SLUICE" diff --from "$C" "$B2" "$B3"
is "$RC" 0 "diff across path sets"
like "$(cat "$ERR")" "sluice: diff: $B2 and $B3 are backups of different paths*" \
    "  says so on stderr"
is "$(grep -c '^- home' "$OUT")" 3 "  home and its entries show as removed"
is "$(grep -vc '^- home' "$OUT")" 1 "  nothing else but the count line"
run "$SLUICE" diff --json --from "$C" "$B2" "$B3"
like "$(tail -n 1 "$OUT")" '*"same_paths":false*' "  --json: same_paths false"

expect_fail 2 "diff with an unknown id" "$SLUICE" diff --from "$C" nosuch "$B2"
like "$(cat "$ERR")" "*'nosuch'*" "  names it"
expect_fail 2 "diff with one id" "$SLUICE" diff --from "$C" "$B2"
expect_fail 2 "diff with --as-of" "$SLUICE" diff --from "$C" --as-of latest "$B1" "$B2"
SLUICE_PASSPHRASE=wrong expect_fail 5 "diff with a wrong passphrase" \
    "$SLUICE" diff --from "$C" "$B1" "$B2"

done_testing
