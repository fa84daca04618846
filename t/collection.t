#!/bin/sh
# collection.t - backup collections (sluice backup, backups, restore,
# verify) on local directories:
#   - a full backup and three incrementals with additions, modifications,
#     deletions, renames and permission changes; a restore as of each
#     backup equals the source as it was then, entry by entry (type, mode,
#     size, mtime, content hash, link target);
#   - a wrong passphrase on append leaves the collection byte-for-byte
#     unchanged; an unencrypted append to an encrypted collection is
#     refused; a second backup while the LOCK exists loses, with one line
#     naming the collection, the LOCK and its holder; two backups started
#     at once (into an existing and into a new collection): one wins;
#   - three destinations, two hosts in different regions: every data
#     object lies in its host's destination, and both hosts restore from
#     the default URL alone;
#   - a damaged object and a missing object are each named by verify and
#     by restore;
#   - hostile records in an unencrypted collection (paths with "..", "/",
#     empty or "." parts, %00, duplicates, missing/repeated header lines,
#     a bad backup id; a symlink where the manifest says directory):
#     restore refuses or reports them and nothing outside DIR changes;
#   - large files split into chunk objects (--object-size): object sizes,
#     byte-exact restore, as of an older backup, reuse by an incremental,
#     verify/restore naming damaged and missing chunks, a restore of
#     another path fetching none, the encrypted variant.
# Needs python3 (tree listings).
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || skip_all "python3 not found"
plan_no_plan

SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE

# listing DIR: one line per entry, sorted: path type mode size mtime sha
# link (directories: no size; symlinks: no mtime).
listing() {
    python3 - "$1" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
out = []
for dp, dns, fns in os.walk(root):
    for n in [None] + dns + fns:
        p = dp if n is None else os.path.join(dp, n)
        if n is None and dp != root:
            continue
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        t = stat.S_IFMT(st.st_mode)
        mode = "%04o" % stat.S_IMODE(st.st_mode)
        if stat.S_ISREG(t):
            h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            out.append("%s f %s %d %d %s" % (rel, mode, st.st_size, st.st_mtime_ns, h))
        elif stat.S_ISDIR(t):
            out.append("%s d %s %d" % (rel, mode, st.st_mtime_ns))
        elif stat.S_ISLNK(t):
            out.append("%s l %s" % (rel, os.readlink(p)))
        else:
            out.append("%s %o %s %d" % (rel, t, mode, st.st_mtime_ns))
print("\n".join(sorted(out)))
PY
}

# Every file under a directory with its SHA-256: the byte-for-byte state.
tree_hash() {
    (cd "$1" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum)
}

same_tree() { # same_tree WANT_LISTING DIR DESC
    listing "$2" >"$T_TMP/got.lst"
    if cmp -s "$1" "$T_TMP/got.lst"; then
        pass "$3"
    else
        fail "$3"
        diff "$1" "$T_TMP/got.lst" | head -20 | while IFS= read -r l; do
            diag "$l"
        done
    fi
}

S=$T_TMP/src
C=$T_TMP/coll
mkdir -p "$S/docs/old" "$S/empty" "$S/bin"
echo "first" >"$S/docs/a.txt"
echo "second" >"$S/docs/b.txt"
echo "to be deleted" >"$S/docs/old/gone.txt"
head -c 300000 /dev/urandom >"$S/bin/blob"
head -c 100000 /dev/urandom >"$S/bin/small"
ln -s docs/a.txt "$S/link"
ln "$S/docs/b.txt" "$S/hard-b"
chmod 0750 "$S/bin"
mkfifo "$S/fifo" 2>/dev/null || :

backup() { # backup [OPTIONS...]: into $C, from $S
    run "$SLUICE" backup --to "$C" -z -e --object-size 128K -C "$S" "$@" .
}

# ---- full + three incrementals ---------------------------------------------
backup
is "$RC" 0 "full backup"
ID0=$(cat "$OUT")
listing "$S" >"$T_TMP/l0"
ok "descriptor is a MAC'd sluice/1 header with the collection's salt" \
    grep -q '^aes-256-gcm kdf=pbkdf2-sha256 iter=[0-9]* salt=[0-9a-f]\{32\}$' \
    "$C/SLUICE-COLLECTION"
n=$(ls "$C/backups/$ID0" | grep -c '^data-')
ok "a large tree is split into several objects ($n)" [ "$n" -ge 3 ]
ok "manifest is encrypted (no path in clear)" \
    sh -c "! grep -q a.txt '$C/backups/$ID0/MANIFEST'"

sleep 1
echo "first, modified" >"$S/docs/a.txt"
echo "new file" >"$S/docs/c.txt"
mkdir "$S/added"
echo "added" >"$S/added/x"
chmod 0600 "$S/docs/b.txt"
backup
is "$RC" 0 "incremental 1: additions, modifications, permission change"
ID1=$(cat "$OUT")
listing "$S" >"$T_TMP/l1"
ok "incremental 1 stores no copy of the unchanged blob" \
    [ "$(cat "$C/backups/$ID1"/data-* | wc -c)" -lt 200000 ]

sleep 1
rm -r "$S/docs/old"
mv "$S/docs/c.txt" "$S/docs/renamed.txt"
mv "$S/bin/small" "$S/small-moved"
rm "$S/link"
ln -s bin/blob "$S/link"
backup
is "$RC" 0 "incremental 2: deletions and renames"
ID2=$(cat "$OUT")
listing "$S" >"$T_TMP/l2"

sleep 1
chmod 0700 "$S/added"
rm "$S/hard-b"
echo "replaced" >"$S/docs/b.txt"
head -c 50000 /dev/urandom >>"$S/bin/blob"
rmdir "$S/empty"
mkdir -p "$S/empty/now/deep"
backup --checksum
is "$RC" 0 "incremental 3 (--checksum): more of everything"
ID3=$(cat "$OUT")
listing "$S" >"$T_TMP/l3"

run "$SLUICE" backups --from "$C"
is "$RC" 0 "backups lists the collection"
like "$(head -n 1 "$OUT")" "ID *TIME *HOST *TYPE *FILES *READ *STORED *PATHS" \
    "a table: a header first"
like "$(sed -n 2p "$OUT")" "------*" "  then a rule"
is "$(line_count "$OUT")" 8 "  four backups between two rules, then the count"
is "$(tail -n 1 "$OUT")" "4 backups" "  the count"
sed -n 3,6p "$OUT" >"$T_TMP/rows"
is "$(awk '{print $1}' "$T_TMP/rows" | tr '\n' ' ')" "$ID0 $ID1 $ID2 $ID3 " \
    "oldest first, id first"
is "$(awk '{print $4}' "$T_TMP/rows" | tr '\n' ' ')" \
    "full incremental incremental incremental " "full, then incrementals"
like "$(head -n 1 "$T_TMP/rows")" "$ID0  20[0-9][0-9]-*Z  * full *[0-9]*  *[0-9.]* *B  *[0-9.]* *B  $S" \
    "id time host type files, human sizes read and stored, the paths"
run "$SLUICE" backups --from "$C" --json
is "$(sed 's/.*"id":"\([^"]*\)".*"full":\([a-z]*\).*/\1 \2/' "$OUT" | tr '\n' ' ')" \
    "$ID0 true $ID1 false $ID2 false $ID3 false " "backups --json: the machine-readable rows"
run "$SLUICE" backups --from "$C" -q
is "$(tr '\n' ' ' <"$OUT")" "$ID0 $ID1 $ID2 $ID3 " "backups -q: ids alone"

i=0
for id in "$ID0" "$ID1" "$ID2" "$ID3"; do
    mkdir -p "$T_TMP/r$i"
    expect_ok "restore as of backup $i" \
        "$SLUICE" restore --from "$C" --as-of "$id" -C "$T_TMP/r$i"
    same_tree "$T_TMP/l$i" "$T_TMP/r$i" \
        "restore as of backup $i equals the source as it was then"
    i=$((i + 1))
done
mkdir -p "$T_TMP/rl"
expect_ok "restore without --as-of: the latest" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/rl"
same_tree "$T_TMP/l3" "$T_TMP/rl" "latest restore equals the source"
mkdir -p "$T_TMP/rp"
expect_ok "restore of one path" \
    "$SLUICE" restore --from "$C" --as-of "$ID1" -C "$T_TMP/rp" docs/a.txt
is "$(cat "$T_TMP/rp/docs/a.txt")" "first, modified" "that path alone, as of then"
ok "nothing else restored" [ ! -e "$T_TMP/rp/bin" ]

expect_ok "verify: every object authentic, every entry present" \
    "$SLUICE" verify --from "$C" -q

# ---- passphrase, encryption, lock -------------------------------------------
before=$(tree_hash "$C")
echo "more" >"$S/docs/more.txt"
SLUICE_PASSPHRASE=wrong expect_fail 5 "wrong passphrase on append" \
    "$SLUICE" backup --to "$C" -z -e -C "$S" .
like "$(cat "$ERR")" "*passphrase*" "the message says passphrase"
is "$(tree_hash "$C")" "$before" "collection byte-for-byte unchanged"
expect_fail 2 "unencrypted append to an encrypted collection refused" \
    "$SLUICE" backup --to "$C" --chain zstd -C "$S" .
like "$(cat "$ERR")" "*encrypted*" "the message says why"
is "$(tree_hash "$C")" "$before" "collection unchanged"
mkdir -p "$T_TMP/rw"
SLUICE_PASSPHRASE=wrong expect_fail 5 "restore with a wrong passphrase" \
    "$SLUICE" restore --from "$C" -C "$T_TMP/rw"

echo "other 1 0" >"$C/LOCK"
expect_fail 3 "a backup while another holds the LOCK loses" \
    "$SLUICE" backup --to "$C" -z -e -C "$S" .
like "$(cat "$ERR")" "*$C: collection is locked by another backup ($C/LOCK: other 1 0)*remove $C/LOCK*" \
    "one line naming the collection, the LOCK and its holder"
is "$(line_count "$ERR")" 1 "  exactly one line"
is "$(cat "$C/LOCK")" "other 1 0" "  the other backup's LOCK is left alone"
rm "$C/LOCK"
is "$(tree_hash "$C")" "$before" "collection unchanged by the loser"
echo released >"$C/LOCK"
expect_fail 3 "a LOCK saying \"released\" (older sluice) is not taken over" \
    "$SLUICE" backup --to "$C" -z -e -C "$S" .
like "$(cat "$ERR")" "*LOCK holds \"released\"*remove it*" "  the message says what to do"
rm "$C/LOCK"
is "$(tree_hash "$C")" "$before" "  collection unchanged"
# Two at once: exactly one wins, the other fails cleanly, nothing breaks.
concurrent() { # concurrent COLLECTION DESC
    ("$SLUICE" backup --to "$1" -z -e -C "$S" . >"$T_TMP/c1" 2>&1; echo $? >"$T_TMP/c1.rc") &
    ("$SLUICE" backup --to "$1" -z -e -C "$S" . >"$T_TMP/c2" 2>&1; echo $? >"$T_TMP/c2.rc") &
    wait
    rcs="$(cat "$T_TMP/c1.rc") $(cat "$T_TMP/c2.rc")"
    case $rcs in
    "0 3" | "3 0" | "0 0") pass "$2: each won or lost cleanly ($rcs)" ;;
    *) fail "$2: statuses $rcs"; diag_file "$T_TMP/c1" c1; diag_file "$T_TMP/c2" c2 ;;
    esac
    case $rcs in
    *3*) ok "  the loser says why in one line naming the collection (and the winner's LOCK)" \
        grep -Eq "^sluice: $1: (collection is locked by another backup \($1/LOCK: [^ ]+ [0-9]+ [0-9]+ [0-9a-f]{16}( [0-9a-f-]{36})?\)|the collection was created by another backup meanwhile)" \
        "$T_TMP/c1" "$T_TMP/c2" ;;
    esac
    ok "  no LOCK left behind" [ ! -e "$1/LOCK" ]
    expect_ok "  the collection verifies" "$SLUICE" verify --from "$1" -q
    run "$SLUICE" backups --from "$1" -q
    is "$(line_count "$OUT")" "$(($(echo "$rcs" | tr -cd 0 | wc -c) + ${3:-0}))" \
        "  INDEX lists every winner"
}
concurrent "$C" "concurrent backups" 4
concurrent "$T_TMP/fresh" "concurrent first backups into a new collection"

# ---- damaged and missing objects --------------------------------------------
D=$T_TMP/dmg
cp -a "$C" "$D"
obj1=$(ls "$D/backups/$ID0"/data-* | head -1)
obj2=$(ls "$D/backups/$ID0"/data-* | tail -1)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' "$obj1"
rm "$obj2"
run "$SLUICE" verify --from "$D"
ok "verify fails" [ "$RC" -ne 0 ]
like "$(cat "$ERR")" "*$ID0/$(basename "$obj1")*" "verify names the damaged object"
like "$(cat "$ERR")" "*$ID0/$(basename "$obj2")*" "verify names the missing object"
mkdir -p "$T_TMP/rd"
run "$SLUICE" restore --from "$D" --as-of "$ID0" -C "$T_TMP/rd"
ok "restore fails" [ "$RC" -ne 0 ]
like "$(cat "$ERR")" "*$ID0/$(basename "$obj1")*" "restore names the damaged object"
like "$(cat "$ERR")" "*$ID0/$(basename "$obj2")*" "restore names the missing object"

# Swapped manifests: each authenticates (one key for the collection), but
# its own id no longer matches where it lies.
W=$T_TMP/swap
cp -a "$C" "$W"
cp "$W/backups/$ID0/MANIFEST" "$T_TMP/m0"
cp "$W/backups/$ID1/MANIFEST" "$W/backups/$ID0/MANIFEST"
cp "$T_TMP/m0" "$W/backups/$ID1/MANIFEST"
run "$SLUICE" restore --from "$W" --as-of "$ID1" -C "$T_TMP/rw"
is "$RC" 4 "swapped manifests: restore refuses (exit 4)"
like "$(cat "$ERR")" "*$ID1/MANIFEST: holds the manifest of backup $ID0 (moved or swapped)*" \
    "swapped manifests: says which and why"
run "$SLUICE" verify --from "$W"
is "$RC" 4 "swapped manifests: verify fails (exit 4)"

# ---- hostile collection records ---------------------------------------------
# Unencrypted collections from here: no passphrase (with one, restore and
# verify refuse an unencrypted collection: t/coll-security.t).
unset SLUICE_PASSPHRASE
# An unencrypted collection: anyone who can write the storage can edit its
# plaintext MANIFEST.  Restore must refuse paths that leave DIR and never
# touch anything outside DIR, whatever the records or data objects say.
O=$T_TMP/outside
HS=$T_TMP/hsrc
H=$T_TMP/hostile
mkdir -p "$O/vdir" "$HS/sub"
echo "victim" >"$O/victim"
echo "inside" >"$O/vdir/x"
chmod 0600 "$O/victim" "$O/vdir/x"
chmod 0700 "$O/vdir"
touch -d 2001-01-01 "$O/victim" "$O/vdir/x" "$O/vdir"
echo "plain" >"$HS/sub/f"
ln -s "$O/vdir" "$HS/d"
expect_ok "an unencrypted collection for the hostile cases" \
    "$SLUICE" backup --to "$H" -q -C "$HS" .
HID=$(cut -d' ' -f2 "$H/INDEX" | tail -1)
HM=$H/backups/$HID/MANIFEST
ok "its manifest is plain text" grep -q '^E f .* sub/f$' "$HM"
cp "$HM" "$T_TMP/manifest.orig"
listing "$O" >"$T_TMP/outside.lst"
vtime=$(stat -c %Y "$O/victim")

# hostile NAME DESC PYTHON: edits the manifest with the python statement
# (lines: the list of lines), restores, expects exit 4 naming the MANIFEST,
# and nothing outside DIR changed.
hostile() {
    cp "$T_TMP/manifest.orig" "$HM"
    python3 - "$HM" "$O" "$3" <<'PY'
import sys
p, O, code = sys.argv[1], sys.argv[2], sys.argv[3]
lines = open(p).read().split("\n")
exec(code)
open(p, "w").write("\n".join(lines))
PY
    rm -rf "$T_TMP/rh-$1"
    mkdir -p "$T_TMP/rh-$1"
    expect_fail 4 "restore refuses a manifest with $2" \
        "$SLUICE" restore --from "$H" -C "$T_TMP/rh-$1"
    like "$(cat "$ERR")" "*backups/$HID/MANIFEST*" "  the message names the object ($1)"
    same_tree "$T_TMP/outside.lst" "$O" "  nothing outside DIR changed ($1)"
}
# An entry line for PATH: a file of mode 0777, owner 0, in object 1.
E='"E f 0777 0 0 6 1000000000 1 1 1 1 0 - %s 1 %s" % (lines[1].split()[1], '
hostile dotdot 'an entry "../../outside/victim"' \
    "lines.insert(-2, $E'../../outside/victim'))"
hostile dotdot2 'an entry "sub/../../outside/victim"' \
    "lines.insert(-2, $E'sub/../../outside/victim'))"
hostile abs 'an absolute entry path' \
    "lines.insert(-2, $E O + '/victim'))"
hostile empty 'an empty path component ("sub//f")' \
    "lines.insert(-2, $E'sub//f'))"
hostile dot 'a "." component ("./sub")' \
    "lines.insert(-2, $E'./sub'))"
hostile trailing 'a trailing "/" ("sub/")' \
    "lines.insert(-2, $E'sub/'))"
hostile nul 'a %00 in a path' \
    "lines.insert(-2, $E'sub/f%00x'))"
hostile dup 'a path listed twice' \
    "lines.insert(-2, [l for l in lines if l.endswith(' sub/f')][0])"
hostile nohost 'no host line' \
    "lines[:] = [l for l in lines if not l.startswith('host ')]"
hostile twoids 'a repeated id line' \
    "lines.insert(2, lines[1])"
hostile twohosts 'a repeated host line' \
    "lines.insert(3, 'host other')"
hostile twoparents 'a repeated parent line' \
    "lines.insert(5, 'parent -')"
hostile badbid 'an entry naming backup "../x"' \
    "lines[-3] = lines[-3].replace(' %s ' % lines[1].split()[1], ' ../x ')"
# Object fields (sluice-manifest/2 "N:COUNT:CHUNK" for a split file).
S='"E %s 0644 0 0 %s 1 1 1 1 1 0 - %s %s sub/g" % ('
hostile obj0 'object number 0' \
    "lines.insert(-2, $S'f', 6, lines[1].split()[1], '0'))"
hostile objbig 'an object number beyond 2^32-1' \
    "lines.insert(-2, $S'f', 6, lines[1].split()[1], '4294967296'))"
hostile splitcount 'a split count not covering the size' \
    "lines.insert(-2, $S'f', 300, lines[1].split()[1], '1:2:100'))"
hostile splitzero 'a split chunk size of 0' \
    "lines.insert(-2, $S'f', 300, lines[1].split()[1], '1:3:0'))"
hostile splitwrap 'split objects beyond data-4294967295' \
    "lines.insert(-2, $S'f', 300, lines[1].split()[1], '4294967295:3:100'))"
hostile splitdir 'a split field on a directory' \
    "lines.insert(-2, $S'd', 300, lines[1].split()[1], '1:3:100'))"
hostile splitjunk 'a malformed split field' \
    "lines.insert(-2, $S'f', 300, lines[1].split()[1], '1:3:100:'))"
hostile splitv1 'a split field in a sluice-manifest/1' \
    "lines[0] = 'sluice-manifest/1'; lines.insert(-2, $S'f', 300, lines[1].split()[1], '1:3:100'))"
# Numbers are plain digits (FORMAT.md 5.3), not what strtoull would read.
hostile sizejunk 'a size with a trailing byte ("6x")' \
    "lines.insert(-2, $S'f', '6x', lines[1].split()[1], '1'))"
hostile sizeneg 'a negative size' \
    "lines.insert(-2, $S'f', '-6', lines[1].split()[1], '1'))"
hostile sizeplus 'a size with a "+"' \
    "lines.insert(-2, $S'f', '+6', lines[1].split()[1], '1'))"
hostile sizebig 'a size beyond 2^64-1' \
    "lines.insert(-2, $S'f', '18446744073709551616', lines[1].split()[1], '1'))"
hostile modebig 'a mode above 07777' \
    "lines.insert(-2, ($E'sub/h')).replace(' 0777 ', ' 17777 '))"
hostile uidbig 'a uid beyond 2^32-1' \
    "lines.insert(-2, ($E'sub/h')).replace(' 0777 0 ', ' 0777 4294967296 '))"
hostile timeplus 'a time line "+5"' \
    "lines[:] = ['time +5' if l.startswith('time ') else l for l in lines]"
# A version-1 manifest (as written before split files) is still read.
sed '1s|^sluice-manifest/[34]$|sluice-manifest/1|; /^O /d' "$T_TMP/manifest.orig" >"$HM"
is "$(head -1 "$HM")" "sluice-manifest/1" "a version-1 manifest"
mkdir -p "$T_TMP/rv1"
expect_ok "  is still restored" "$SLUICE" restore --from "$H" -C "$T_TMP/rv1" sub
is "$(cat "$T_TMP/rv1/sub/f")" "plain" "  its contents"
# Object records: a binding (FORMAT.md 5.3) asked of a chain without -e,
# whose stages give none, and one in a version-3 manifest.
grep -q '^O .* [0-9a-f]\{64\}$' "$T_TMP/manifest.orig" ||
    fail "a collection without -e records the SHA-256 of its objects"
sed '/^O /s/ \([0-9a-f]\{64\}\)$/ binding:\1/' "$T_TMP/manifest.orig" >"$HM"
mkdir -p "$T_TMP/rb1" "$T_TMP/rb2"
expect_fail 6 "a binding record where no stage of the chain gives one" \
    "$SLUICE" restore --from "$H" -C "$T_TMP/rb1"
like "$(cat "$ERR")" "*no stage of the chain binds what it reads (ABI 1.4): cannot check the object*" \
    "  says why"
sed '1s|^sluice-manifest/4$|sluice-manifest/3|; /^O /s/ \([0-9a-f]\{64\}\)$/ binding:\1/' \
    "$T_TMP/manifest.orig" >"$HM"
expect_fail 4 "a binding record in a version-3 manifest" \
    "$SLUICE" restore --from "$H" -C "$T_TMP/rb2"

# A symlink where the manifest says directory: the data object holds the
# symlink d -> OUTSIDE/vdir; the manifest is edited to say "directory
# d, mode 0777" and adds d/x.  Restoring must not chmod/chown/utime
# through the symlink.
cp "$T_TMP/manifest.orig" "$HM"
python3 - "$HM" <<'PY'
import re, sys
p = sys.argv[1]
out = []
for l in open(p).read().split("\n"):
    f = l.split(" ")
    if l.startswith("E l ") and f[-2] == "d":
        f[1], f[2] = "d", "0777"
        d = " ".join(f[:-1])
        out.append(d)
        f[1], f[-2:] = "f", ["d/x"]
        out.append(" ".join(f[:-1] + ["d/x"]))
        continue
    out.append(l)
open(p, "w").write("\n".join(out))
PY
rm -rf "$T_TMP/rh-link"
mkdir -p "$T_TMP/rh-link"
run "$SLUICE" restore --from "$H" -C "$T_TMP/rh-link"
ok "a symlink where the manifest says directory: restore fails ($RC)" [ "$RC" -ne 0 ]
# One line, the first failure's: the object whose member d/x is not the
# entry the manifest says (what it held then gets no metadata, unsaid).
like "$(cat "$ERR")" "*data-1: archive: d/x: *" "  the message names the object and the entry"
is "$(wc -l <"$ERR")" 1 "  in one line"
same_tree "$T_TMP/outside.lst" "$O" "  nothing outside DIR changed (mode, mtime)"
is "$(stat -c %a "$O/vdir")" 700 "  the symlink's target keeps its mode"
is "$(stat -c %Y "$O/victim")" "$vtime" "  the victim keeps its mtime"
cp "$T_TMP/manifest.orig" "$HM"
mkdir -p "$T_TMP/rh-ok"
expect_ok "the untouched collection restores" \
    "$SLUICE" restore --from "$H" -C "$T_TMP/rh-ok"
is "$(readlink "$T_TMP/rh-ok/d")" "$O/vdir" "  with its symlink"
# The INDEX's numbers are plain digits and its kind full or incremental
# (FORMAT.md 5.4): a count read as far as strtoull goes is refused.
cp "$H/INDEX" "$T_TMP/index.orig"
for edit in 's/ full \([0-9]*\) / full \1x /' 's/ full / fullish /' \
    's/^\(B [^ ]*\) \([0-9]*\) /\1 +\2 /'; do
    sed "$edit" "$T_TMP/index.orig" >"$H/INDEX"
    if cmp -s "$H/INDEX" "$T_TMP/index.orig"; then
        fail "the edit $edit changed the INDEX"
        continue
    fi
    expect_fail 4 "backups refuses an INDEX edited with $edit" \
        "$SLUICE" backups --from "$H"
    like "$(cat "$ERR")" "*malformed index line at line *" "  says which line"
done
cp "$T_TMP/index.orig" "$H/INDEX"
expect_ok "the INDEX put back lists again" "$SLUICE" backups --from "$H"

# ---- interrupted: SIGINT during backup, SIGTERM during verify ---------------
SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE
# A signal stops the whole command at once with one line and 128+N; a
# backup it stops leaves the collection as it was (no INDEX entry, and
# the objects it had written removed again).
G=$T_TMP/sigcoll
mkdir -p "$T_TMP/sigsrc"
# Large enough that the signals land inside the backup (0.14 s at 48 MB
# once the runs kept their blocks: all three came too late then).
for i in 1 2 3 4 5 6 7 8; do mkdata "$T_TMP/sigsrc/f$i" 16000000; done
expect_ok "signals: a first backup" "$SLUICE" backup -e -q --to "$G" \
    --object-size 2M -C "$T_TMP/sigsrc" .
cp "$G/INDEX" "$T_TMP/sig.index"
ls "$G/backups" >"$T_TMP/sig.before"
n_int=0
for d in 0.02 0.15 0.4; do
    touch "$T_TMP/sigsrc"/f*
    "$SLUICE" backup -e --to "$G" --object-size 2M -C "$T_TMP/sigsrc" . \
        >/dev/null 2>"$T_TMP/sig.err" &
    pid=$!
    wait_started $pid
    sleep $d
    kill -INT $pid 2>/dev/null
    wait_exit $pid 60
    if [ "$RC" = 130 ]; then
        n_int=$((n_int + 1))
        ok "SIGINT ${d}s into a backup: one line, says interrupted" \
            eval '[ "$(wc -l <"$T_TMP/sig.err")" = 1 ] && grep -q "interrupted: SIGINT received" "$T_TMP/sig.err"'
        ok "SIGINT ${d}s into a backup: INDEX unchanged" cmp -s "$G/INDEX" "$T_TMP/sig.index"
        ls "$G/backups" >"$T_TMP/sig.after"
        ok "SIGINT ${d}s into a backup: nothing left under backups/" \
            cmp -s "$T_TMP/sig.before" "$T_TMP/sig.after"
    else
        is "$RC" 0 "SIGINT ${d}s into a backup: exit 130, or 0 when it had finished"
        cp "$G/INDEX" "$T_TMP/sig.index"
        ls "$G/backups" >"$T_TMP/sig.before"
    fi
done
ok "at least one backup was interrupted ($n_int)" test "$n_int" -ge 1
expect_ok "the interrupted collection verifies" "$SLUICE" verify -q --from "$G"
"$SLUICE" verify --from "$G" >/dev/null 2>"$T_TMP/sig.err" &
pid=$!
wait_started $pid
kill -TERM $pid 2>/dev/null
wait_exit $pid 60
if [ "$RC" = 143 ]; then
    ok "SIGTERM during verify: exit 143, one line, no object called damaged" \
        eval '[ "$(wc -l <"$T_TMP/sig.err")" = 1 ] && grep -q "verify: interrupted: SIGTERM received" "$T_TMP/sig.err"'
else
    is "$RC" 0 "SIGTERM during verify: exit 143, or 0 when it had finished"
fi

# ---- locality-aware destinations, two hosts ---------------------------------
L=$T_TMP/loc
mkdir -p "$T_TMP/ha" "$T_TMP/hb"
echo "host a" >"$T_TMP/ha/a"
head -c 200000 /dev/urandom >"$T_TMP/ha/big"
echo "host b" >"$T_TMP/hb/b"
TO="--to $L/default?locality=default --to $L/eu?locality=region%3Deu-west --to $L/us?locality=region=us-east"
# shellcheck disable=SC2086
expect_ok "host A (eu-west) backs up" \
    "$SLUICE" backup $TO -e -q --host alpha \
    --locality region=eu-west,zone=eu-west-1a -C "$T_TMP/ha" .
# shellcheck disable=SC2086
expect_ok "host B (us-east) backs up" \
    "$SLUICE" backup $TO -e -q --host beta --locality region=us-east \
    -C "$T_TMP/hb" .
echo "host a again" >"$T_TMP/ha/a2"
# shellcheck disable=SC2086
expect_ok "host A incremental" \
    "$SLUICE" backup $TO -e -q --host alpha \
    --locality region=eu-west,zone=eu-west-1a -C "$T_TMP/ha" .
is "$(find "$L/eu" -name 'data-*' | grep -vc -- '-alpha-')" 0 \
    "eu-west holds only host A's data"
ok "eu-west holds host A's data" [ "$(find "$L/eu" -name 'data-*' | wc -l)" -ge 2 ]
is "$(find "$L/us" -name 'data-*' | grep -vc -- '-beta-')" 0 \
    "us-east holds only host B's data"
ok "us-east holds host B's data" [ "$(find "$L/us" -name 'data-*' | wc -l)" -ge 1 ]
is "$(find "$L/default" -name 'data-*' | wc -l | tr -d ' ')" 0 \
    "the default holds no data object"
ok "manifests at the default" [ "$(find "$L/default" -name MANIFEST | wc -l)" -eq 3 ]
mkdir -p "$T_TMP/ra"
expect_ok "host A restores from the default URL alone" \
    "$SLUICE" restore --from "$L/default" --host alpha -C "$T_TMP/ra"
same_tree "$(listing "$T_TMP/ha" >"$T_TMP/la"; echo "$T_TMP/la")" "$T_TMP/ra" \
    "host A's tree restored"
mkdir -p "$T_TMP/rb"
expect_ok "host B restores from the default URL alone" \
    "$SLUICE" restore --from "$L/default" --host beta -C "$T_TMP/rb"
same_tree "$(listing "$T_TMP/hb" >"$T_TMP/lb"; echo "$T_TMP/lb")" "$T_TMP/rb" \
    "host B's tree restored"
expect_ok "verify from the default URL alone" \
    "$SLUICE" verify --from "$L/default" -q
run "$SLUICE" backups --from "$L/default"
is "$(sed -n '3,5p' "$OUT" | awk '{print $3, $4}' | tr '\n' ',')" \
    "alpha full,beta full,alpha incremental," "each host its own chain"

# ---- large files: split into chunk objects ----------------------------------
unset SLUICE_PASSPHRASE # unencrypted, but for the encrypted variant
# A regular file (one link) larger than --object-size is stored as raw chunk
# objects of at most object-size bytes each (MANIFEST field "N:COUNT:CHUNK",
# sluice-manifest/2); hard-linked files stay whole in a tar object.
SS=$T_TMP/ssrc
SC=$T_TMP/scoll
mkdir -p "$SS/big" "$SS/other"
mkdata "$SS/big/file" 307200
echo "small" >"$SS/other/small"
mkdata "$SS/hl" 200000
ln "$SS/hl" "$SS/hl2"
sbackup() { # sbackup DESC COLLECTION [OPTIONS...]: from $SS; the id: $OUT
    _d=$1
    _c=$2
    shift 2
    expect_ok "$_d" "$SLUICE" backup --to "$_c" --object-size 128K \
        -C "$SS" "$@" .
}
# The object field of PATH's entry in a MANIFEST.
objfield() { awk -v p="$2" '$1 == "E" && $NF == p { print $(NF-1) }' "$1"; }
sbackup "backup of a 300 KiB file with --object-size 128K" "$SC"
SID0=$(cat "$OUT")
listing "$SS" >"$T_TMP/sl0"
SM0=$SC/backups/$SID0/MANIFEST
is "$(head -1 "$SM0")" "sluice-manifest/4" "the manifest is version 4"
f0=$(objfield "$SM0" big/file)
like "$f0" "[0-9]*:3:131072" "the file is in 3 chunk objects of 128 KiB ($f0)"
n0=${f0%%:*}
is "$(fsize "$SC/backups/$SID0/data-$n0") $(fsize "$SC/backups/$SID0/data-$((n0 + 1))") $(fsize "$SC/backups/$SID0/data-$((n0 + 2))")" \
    "131072 131072 45056" "chunk objects hold at most object-size bytes"
ok "the chunks are the file's bytes in order" sh -c \
    "cat '$SC/backups/$SID0/data-$n0' '$SC/backups/$SID0/data-$((n0 + 1))' '$SC/backups/$SID0/data-$((n0 + 2))' | cmp -s - '$SS/big/file'"
hlf=$(objfield "$SM0" hl)
case $hlf in
*:* | '') fail "hard-linked files stay whole in one tar object ($hlf)" ;;
*) pass "hard-linked files stay whole in one tar object ($hlf)" ;;
esac
mkdir -p "$T_TMP/sr0"
expect_ok "restore of split files" "$SLUICE" restore --from "$SC" -C "$T_TMP/sr0"
same_tree "$T_TMP/sl0" "$T_TMP/sr0" "restore equals the source, split file byte-exact"
nok "no temporary file left beside it" sh -c "ls -A '$T_TMP/sr0/big' | grep -q sluice"
echo "outside" >"$T_TMP/split-victim"
rm "$T_TMP/sr0/big/file"
ln -s "$T_TMP/split-victim" "$T_TMP/sr0/big/file"
expect_ok "restore of a split file over a symlink" \
    "$SLUICE" restore --from "$SC" -C "$T_TMP/sr0" big/file
is "$(cat "$T_TMP/split-victim")" "outside" "  the symlink's target is untouched"
ok "  the symlink is replaced by the file" sh -c \
    "[ ! -L '$T_TMP/sr0/big/file' ] && cmp -s '$T_TMP/sr0/big/file' '$SS/big/file'"

sleep 1
mkdata "$SS/big/file" 330000
sbackup "incremental: the split file changed (--checksum)" "$SC" --checksum
SID1=$(cat "$OUT")
listing "$SS" >"$T_TMP/sl1"
like "$(objfield "$SC/backups/$SID1/MANIFEST" big/file)" "[0-9]*:3:131072" \
    "the changed file: 3 new chunk objects"
sleep 1
echo "changed" >"$SS/other/small"
sbackup "incremental: the split file unchanged" "$SC"
SID2=$(cat "$OUT")
listing "$SS" >"$T_TMP/sl2"
f1=$(objfield "$SC/backups/$SID1/MANIFEST" big/file)
SM2=$SC/backups/$SID2/MANIFEST
ok "the unchanged split file points at the older backup's chunks" \
    grep -q "^E f .* $SID1 $f1 big/file\$" "$SM2"
is "$(ls "$SC/backups/$SID2" | grep -c '^data-')" 1 \
    "  and no new chunk object is stored (one tar object)"
ok "  that one object is small" [ "$(fsize "$SC/backups/$SID2/data-1")" -lt 131072 ]
i=0
for id in "$SID0" "$SID1" "$SID2"; do
    rm -rf "$T_TMP/sr$i"
    mkdir -p "$T_TMP/sr$i"
    expect_ok "restore as of split backup $i" \
        "$SLUICE" restore --from "$SC" --as-of "$id" -C "$T_TMP/sr$i"
    same_tree "$T_TMP/sl$i" "$T_TMP/sr$i" \
        "restore as of split backup $i equals the source as it was then"
    i=$((i + 1))
done
expect_ok "verify decodes every chunk" "$SLUICE" verify --from "$SC"
like "$(cat "$OUT")" "3 backups, 1[0-9] objects decoded and complete; not authenticated*" \
    "  and counts chunk objects ($(cat "$OUT"))"

# Damaged and missing chunks.
SD=$T_TMP/sdmg
cp -a "$SC" "$SD"
truncate -s 100000 "$SD/backups/$SID0/data-$((n0 + 1))"
n1=${f1%%:*}
rm "$SD/backups/$SID1/data-$((n1 + 2))"
run "$SLUICE" verify --from "$SD"
ok "verify fails on damaged chunks" [ "$RC" -ne 0 ]
like "$(cat "$ERR")" "*$SID0/data-$((n0 + 1)): holds 100000 bytes of big/file*" \
    "verify names the truncated chunk object"
like "$(cat "$ERR")" "*$SID1/data-$((n1 + 2))*" "verify names the missing chunk object"
mkdir -p "$T_TMP/srd"
expect_fail 4 "restore of the truncated chunk fails" \
    "$SLUICE" restore --from "$SD" --as-of "$SID0" -C "$T_TMP/srd" big
like "$(cat "$ERR")" "*$SID0/data-$((n0 + 1))*" "  naming it"
ok "  leaving no file and no temporary" \
    [ -z "$(ls -A "$T_TMP/srd/big")" ]
mkdir -p "$T_TMP/srm"
run "$SLUICE" restore --from "$SD" --as-of "$SID2" -C "$T_TMP/srm" big/file
ok "restore of a missing chunk fails" [ "$RC" -ne 0 ]
like "$(cat "$ERR")" "*$SID1/data-$((n1 + 2))*" "  naming it"
# --checksum: a changed byte in a plain chunk is found by its SHA-256.
cp -a "$SC" "$T_TMP/sflip"
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[7]^=1; open(p,"wb").write(b)' \
    "$T_TMP/sflip/backups/$SID1/data-$n1"
run "$SLUICE" verify --from "$T_TMP/sflip"
ok "verify: a flipped bit in a plain chunk of a --checksum backup" [ "$RC" -ne 0 ]
like "$(cat "$ERR")" "*$SID1/data-$n1*SHA-256*" "  is named"
# Restoring another path fetches no chunk: with every chunk gone, it works.
rm -f "$SD/backups/$SID0/data-$n0" "$SD/backups/$SID0/data-$((n0 + 1))" \
    "$SD/backups/$SID0/data-$((n0 + 2))" "$SD/backups/$SID1/data-$n1" \
    "$SD/backups/$SID1/data-$((n1 + 1))"
mkdir -p "$T_TMP/sro"
expect_ok "restore of another path with every chunk object gone" \
    "$SLUICE" restore --from "$SD" --as-of "$SID2" -C "$T_TMP/sro" other/small
is "$(cat "$T_TMP/sro/other/small")" "changed" "  restores it"
ok "  and not the split file" [ ! -e "$T_TMP/sro/big" ]

# Encrypted and compressed: chunks through the collection's chain.
SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE
SE=$T_TMP/senc
sbackup "encrypted backup of a split file (-z -e)" "$SE" -z -e
SIDE=$(cat "$OUT")
rm -rf "$T_TMP/sre"
mkdir -p "$T_TMP/sre"
expect_ok "encrypted restore" "$SLUICE" restore --from "$SE" -C "$T_TMP/sre"
same_tree "$T_TMP/sl2" "$T_TMP/sre" "encrypted restore equals the source"
ok "chunk objects are not the plain bytes" sh -c \
    "! cmp -s '$SE/backups/$SIDE/data-2' '$SS/big/file'"
expect_ok "encrypted verify" "$SLUICE" verify --from "$SE" -q
rm -rf "$T_TMP/sm"
mkdir -p "$T_TMP/sm"
expect_ok "the encrypted manifest decodes" "$SLUICE" restore --from "$SE" -C "$T_TMP/sm" other/small
fe=$(ls "$SE/backups/$SIDE" | grep '^data-' | sort -t- -k2 -n | sed -n 2p)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' \
    "$SE/backups/$SIDE/$fe"
run "$SLUICE" verify --from "$SE"
ok "verify fails on a tampered encrypted chunk" [ "$RC" -ne 0 ]
like "$(cat "$ERR")" "*$SIDE/$fe*" "  naming it ($fe)"
rm -rf "$T_TMP/sre2"
mkdir -p "$T_TMP/sre2"
run "$SLUICE" restore --from "$SE" -C "$T_TMP/sre2" big/file
ok "restore of it fails" [ "$RC" -ne 0 ]
ok "  leaving no file and no temporary" [ -z "$(ls -A "$T_TMP/sre2/big")" ]

# ---- many directories, few descriptors --------------------------------------
# Objects restore several at once, and every extraction keeps the
# directories it makes open until their metadata is set: the budget for
# that is the process's (half the soft limit), so a restore under
# `ulimit -n 300` still ends well, every directory with its mode and
# times.
SM=$T_TMP/manydirs
i=0
while [ $i -lt 800 ]; do
    d=$SM/p$((i % 16))/d$i
    mkdir -p "$d" && echo $i >"$d/f"
    i=$((i + 1))
done
i=0
for d in "$SM"/p*/d*; do
    chmod $((i % 2 ? 750 : 705)) "$d"
    touch -d "@$((1200000000 + i))" "$d"
    i=$((i + 1))
done
expect_ok "many directories: backup" \
    "$SLUICE" backup --to "$T_TMP/cmany" -z -e --object-size 128K -q -C "$SM" .
rm -rf "$T_TMP/rmany" && mkdir "$T_TMP/rmany"
expect_ok "many directories: restore with ulimit -n 300" \
    sh -c 'ulimit -n 300 && exec "$1" restore --from "$2" -C "$3"' sh \
    "$SLUICE" "$T_TMP/cmany" "$T_TMP/rmany"
is "$(cd "$T_TMP/rmany" && find . -type d -printf '%p %m %T@\n' | sort | cksum)" \
    "$(cd "$SM" && find . -type d -printf '%p %m %T@\n' | sort | cksum)" \
    "many directories: each one's mode and times"

done_testing
