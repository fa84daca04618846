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

# ---- restore --to-stdout PATH -------------------------------------------------------
mkdata() { head -c "$2" /dev/urandom >"$1"; }
mkdir -p "$S/bin" "$S/hl"
mkdata "$S/bin/blob" 300000
echo "the data of both links" >"$S/hl/a"
ln "$S/hl/a" "$S/hl/b"
run "$SLUICE" backup --to "$C" --object-size 64K -C "$S" etc home bin hl
ok "a backup with a split file and a hard link" [ "$RC" = 0 ]
B4=$(cat "$OUT")
ok "  the blob is split into chunk objects" \
    sh -c "'$SLUICE' ls --json --from '$C' bin/blob >/dev/null && [ \$(ls '$C/backups/$B4' | grep -c '^data-') -ge 5 ]"

expect_ok "restore -O a file" "$SLUICE" restore --from "$C" -O etc/conf
is "$(cat "$OUT")" "conf, longer now" "  its bytes alone on stdout"
expect_ok "restore --to-stdout ./etc/conf --as-of the first backup" \
    "$SLUICE" restore --from "$C" --as-of "$B1" --to-stdout ./etc/conf
is "$(cat "$OUT")" "conf" "  as it was then"
expect_ok "restore -O a split file" "$SLUICE" restore --from "$C" -O bin/blob
ok "  byte for byte, chunks in order" cmp -s "$OUT" "$S/bin/blob"
expect_ok "restore -O the hard link stored as a link (tar)" \
    "$SLUICE" restore --from "$C" -O hl/b
is "$(cat "$OUT")" "the data of both links" "  its partner's data"
expect_ok "restore -O the other" "$SLUICE" restore --from "$C" -O hl/a
is "$(cat "$OUT")" "the data of both links" "  the same"

expect_fail 2 "restore -O a directory" "$SLUICE" restore --from "$C" -O etc
is "$(cat "$ERR")" "sluice: restore: etc: not a regular file (--to-stdout writes one file's contents)" \
    "  says so"
ok "  nothing on stdout" [ ! -s "$OUT" ]
expect_fail 2 "restore -O a symlink" \
    "$SLUICE" restore --from "$C" --as-of "$B1" -O etc/link
ok "  nothing on stdout" [ ! -s "$OUT" ]
expect_fail 2 "restore -O a path not in the backup" \
    "$SLUICE" restore --from "$C" -O etc/nosuch
is "$(cat "$ERR")" "sluice: restore: etc/nosuch: not found in backup $B4" "  says so"
ok "  nothing on stdout" [ ! -s "$OUT" ]
expect_fail 2 "restore -O two paths" "$SLUICE" restore --from "$C" -O etc/conf etc/new
expect_fail 2 "restore -O without a path" "$SLUICE" restore --from "$C" -O
expect_fail 2 "restore -O with -C" "$SLUICE" restore --from "$C" -O etc/conf -C "$T_TMP"

# A closed pipe ends it by SIGPIPE, quietly, as it would gzip.
sh -c "'$SLUICE' restore --from '$C' -O bin/blob 2>'$T_TMP/pipe.err'; echo \$? >'$T_TMP/pipe.rc'" |
    head -c 10 >/dev/null
is "$(cat "$T_TMP/pipe.rc")" 141 "restore -O into a closed pipe: SIGPIPE (141)"
is "$(cat "$T_TMP/pipe.err")" "" "  quietly"

# Tampered data: a failure, even after bytes went out.  Unencrypted
# collections: no passphrase (restore would refuse them, issue 14).
unset SLUICE_PASSPHRASE
P=$T_TMP/plain
run "$SLUICE" backup --to "$P" --object-size 64K -C "$S" bin etc
ok "an unencrypted collection" [ "$RC" = 0 ]
PB=$(cat "$OUT")
cp -a "$P" "$T_TMP/plain2"
last=$(ls "$P/backups/$PB" | grep '^data-' | sort -t- -k2 -n | sed -n 2p)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[100]^=1; open(p,"wb").write(b)' \
    "$P/backups/$PB/$last"
run "$SLUICE" restore --from "$P" -O bin/blob
ok "restore -O of a file whose chunk was edited fails ($RC)" [ "$RC" = 5 ]
like "$(cat "$ERR")" "*backups/$PB/$last*" "  naming the object"
ok "  stdout is not the file" sh -c "! cmp -s '$OUT' '$S/bin/blob'"
obj=$(ls "$T_TMP/plain2/backups/$PB" | grep '^data-' | sort -t- -k2 -n | tail -n 1)
printf 'x' >>"$T_TMP/plain2/backups/$PB/$obj"
expect_fail 5 "restore -O of a file whose tar object grew" \
    "$SLUICE" restore --from "$T_TMP/plain2" -O etc/conf

# Streaming: a file larger than the memory bound passes in constant memory.
if [ -x /usr/bin/time ] && ! ldd "$SLUICE" 2>/dev/null | grep -q libasan; then
    mkdir -p "$T_TMP/bigsrc"
    head -c 200000000 /dev/zero >"$T_TMP/bigsrc/zeros"
    run "$SLUICE" backup --to "$T_TMP/cbig" -z -C "$T_TMP/bigsrc" .
    ok "a backup of a 200 MB file" [ "$RC" = 0 ]
    /usr/bin/time -o "$T_TMP/rss" -f %M "$SLUICE" restore --from "$T_TMP/cbig" -O zeros |
        wc -c >"$T_TMP/bigcount"
    is "$(tr -d ' ' <"$T_TMP/bigcount")" 200000000 "restore -O of it: every byte"
    rss=$(tail -n 1 "$T_TMP/rss")
    ok "  in bounded memory (max RSS $rss KiB < 96 MiB)" [ "$rss" -lt 98304 ]
    rm -rf "$T_TMP/bigsrc" "$T_TMP/cbig"
else
    skip 3 "/usr/bin/time missing, or an ASan build (its shadow memory)"
fi

# ---- backups: a table ------------------------------------------------------------
SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE
expect_ok "backups" "$SLUICE" backups --from "$C"
cp "$OUT" "$T_TMP/table"
like "$(head -n 1 "$T_TMP/table")" "ID *TIME *HOST *TYPE *FILES *READ *STORED *PATHS" "  a header"
like "$(sed -n 2p "$T_TMP/table")" "-------*" "  a rule"
is "$(tail -n 1 "$T_TMP/table")" "4 backups" "  a count last"
is "$(line_count "$T_TMP/table")" 8 "  a line a backup between two rules"
like "$(grep "^$B1 " "$T_TMP/table")" "$B1  20*Z  * full *[0-9]*  *[0-9.]* *B  *[0-9.]* *B  $S/etc $S/home" \
    "  a row: id, time, host, type, files, human sizes, the paths"
like "$(grep "^$B3 " "$T_TMP/table")" "* full *  $S/etc" "  another path set: its paths"
h=$(head -n 1 "$T_TMP/table")
pre=${h%%PATHS}
is "$(sed -n '3,6p' "$T_TMP/table" | cut -c$((${#pre} + 1))- | grep -vc "^$S/")" 0 \
    "  the paths in their column"
expect_ok "backups --host of no backup" "$SLUICE" backups --from "$C" --host nosuch
is "$(tail -n 1 "$OUT")" "0 backups" "  counts none"
expect_ok "backups -q: the ids alone" "$SLUICE" backups -q --from "$C"
is "$(tr '\n' ' ' <"$OUT")" "$B1 $B2 $B3 $B4 " "  oldest first"
expect_ok "backups --json" "$SLUICE" backups --json --from "$C"
like "$(head -n 1 "$OUT")" "{\"id\":\"$B1\",\"time\":*,\"host\":\"*\",\"parent\":null,\"full\":true,\"files\":*,\"bytes_in\":*,\"bytes_stored\":*}" \
    "  as it was: one object a backup"
is "$(line_count "$OUT")" 4 "  four lines"

# ---- restore is as strict as -x --------------------------------------------------
"$SLUICE" -c -e -f "$T_TMP/a.slc" -C "$S" etc 2>/dev/null
run "$SLUICE" -x -f "$T_TMP/a.slc" -C "$T_TMP/nonexistent"
xrc=$RC
like "$(cat "$ERR")" "sluice: archive: cannot change to directory $T_TMP/nonexistent: No such file or directory" \
    "-x -C a missing directory: refused ($xrc)"
expect_fail "$xrc" "restore -C a missing directory: refused as -x refuses it ($xrc)" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/nonexistent"
is "$(cat "$ERR")" "sluice: restore: cannot change to directory $T_TMP/nonexistent: No such file or directory" \
    "  one line saying why"
ok "  and not made" [ ! -e "$T_TMP/nonexistent" ]
expect_fail "$xrc" "restore -C a regular file" \
    "$SLUICE" restore --from "$C" -C "$S/etc/conf"
like "$(cat "$ERR")" "*: Not a directory" "  says so"
mkdir "$T_TMP/rs"
expect_fail 2 "restore of a PATH not in the backup" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/rs" etc/conf etc/nosuch
is "$(cat "$ERR")" "sluice: restore: etc/nosuch: not found in backup $B4" "  names it"
is "$(ls -A "$T_TMP/rs")" "" "  nothing restored"
expect_ok "restore into an existing directory" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/rs" etc/conf
is "$(cat "$T_TMP/rs/etc/conf")" "conf, longer now" "  restores"

done_testing
