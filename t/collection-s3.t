#!/bin/sh
# collection-s3.t - backup collections on S3 (a one-node Ceph RGW started
# by t/rgw.sh): the checks of t/collection.t with s3:// roots:
#   - a full backup and three incrementals (additions, modifications,
#     deletions, renames, permission changes); a restore as of each backup
#     equals the source as it was then, entry by entry;
#   - a wrong passphrase on append leaves every object unchanged (keys,
#     sizes and ETags); an unencrypted append is refused; LOCK is gone
#     between backups (DELETE); a LOCK held by another backup makes the
#     append fail, names its holder and stays as it was (If-None-Match: *);
#     two backups started at once: one wins, nothing breaks;
#   - three destinations (three buckets), two hosts in different regions:
#     every data object lies in its host's bucket; both restore from the
#     default URL alone;
#   - a damaged object and a missing object are named by verify and
#     restore.
# Needs ceph-mon ceph-osd radosgw ceph-common awscli python3, and the s3
# stage among the plugins; else skipped (under CI=true: fails).
. "$(dirname "$0")/lib.sh"

. "$T_DIR/rgw-test.sh"
for b in coll-main coll-eu coll-us coll-dmg; do s3 mb "s3://$b" >/dev/null; done

SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE

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
print("\n".join(sorted(out)))
PY
}
same_tree() {
    listing "$2" >"$T_TMP/got.lst"
    if cmp -s "$1" "$T_TMP/got.lst"; then pass "$3"; else
        fail "$3"
        diff "$1" "$T_TMP/got.lst" | head -20 | while IFS= read -r l; do diag "$l"; done
    fi
}
# The state of a bucket prefix: every key with its size and ETag.
bucket_state() {
    s3api list-objects-v2 --bucket "$1" --prefix "$2" \
        --query 'Contents[].[Key,Size,ETag]' --output text | sort
}
keys() { s3api list-objects-v2 --bucket "$1" --query 'Contents[].Key' --output text | tr '\t' '\n' | grep -v '^None$' || :; }

S=$T_TMP/src
C=s3://coll-main/coll
mkdir -p "$S/docs/old" "$S/bin"
echo first >"$S/docs/a.txt"
echo second >"$S/docs/b.txt"
echo gone >"$S/docs/old/gone.txt"
head -c 300000 /dev/urandom >"$S/bin/blob"
head -c 100000 /dev/urandom >"$S/bin/small"
ln -s docs/a.txt "$S/link"
backup() { run "$SLUICE" backup --to "$C" -z -e --object-size 128K -C "$S" "$@" .; }

backup
is "$RC" 0 "full backup to S3"
ID0=$(cat "$OUT")
listing "$S" >"$T_TMP/l0"
ok "several data objects" [ "$(keys coll-main | grep -c "coll/backups/$ID0/data-")" -ge 3 ]
sleep 1
echo "first, modified" >"$S/docs/a.txt"
echo new >"$S/docs/c.txt"
chmod 0600 "$S/docs/b.txt"
backup
is "$RC" 0 "incremental 1"
ID1=$(cat "$OUT")
listing "$S" >"$T_TMP/l1"
sleep 1
rm -r "$S/docs/old"
mv "$S/docs/c.txt" "$S/docs/renamed.txt"
mv "$S/bin/small" "$S/small-moved"
backup
is "$RC" 0 "incremental 2"
ID2=$(cat "$OUT")
listing "$S" >"$T_TMP/l2"
sleep 1
chmod 0700 "$S/bin"
echo replaced >"$S/docs/b.txt"
mkdir -p "$S/new/deep"
backup --checksum
is "$RC" 0 "incremental 3"
ID3=$(cat "$OUT")
listing "$S" >"$T_TMP/l3"

run "$SLUICE" backups --from "$C" -q
is "$(tr '\n' ' ' <"$OUT")" "$ID0 $ID1 $ID2 $ID3 " "backups lists the four, oldest first"
i=0
for id in "$ID0" "$ID1" "$ID2" "$ID3"; do
    mkdir -p "$T_TMP/r$i"
    expect_ok "restore as of backup $i" \
        "$SLUICE" restore --from "$C" --as-of "$id" -C "$T_TMP/r$i"
    same_tree "$T_TMP/l$i" "$T_TMP/r$i" "equals the source as of backup $i"
    i=$((i + 1))
done
expect_ok "verify" "$SLUICE" verify --from "$C" -q
# Browsing (t/coll-browse.t has the details): diff, restore -O of a split
# file (its chunks in order), the backups table.
expect_ok "diff on S3" "$SLUICE" diff --from "$C" "$ID0" "$ID1"
like "$(cat "$OUT")" "M docs/a.txt (6 -> 16 bytes)
U docs/b.txt (mode *-> 0600)
+ docs/c.txt (4 bytes)
1 added, 0 removed, 1 changed, 0 type changed, 1 metadata changed;*" "  the changes"
expect_ok "restore -O of a split file from S3" "$SLUICE" restore --from "$C" -O bin/blob
ok "  byte for byte" cmp -s "$OUT" "$S/bin/blob"
expect_ok "backups on S3" "$SLUICE" backups --from "$C"
like "$(head -n 1 "$OUT")" "ID *TIME *HOST *TYPE *FILES *READ *STORED *PATHS" "  a table"
is "$(tail -n 1 "$OUT")" "4 backups" "  of four"

before=$(bucket_state coll-main coll/)
echo more >"$S/more"
SLUICE_PASSPHRASE=wrong expect_fail 5 "wrong passphrase on append" \
    "$SLUICE" backup --to "$C" -z -e -C "$S" .
like "$(cat "$ERR")" "*passphrase*" "the message says passphrase"
is "$(bucket_state coll-main coll/)" "$before" "every object unchanged (keys, sizes, ETags)"
expect_fail 2 "unencrypted append refused" "$SLUICE" backup --to "$C" --chain zstd -C "$S" .
is "$(bucket_state coll-main coll/)" "$before" "still unchanged"
is "$(keys coll-main | grep -c '^coll/LOCK$')" 0 "no LOCK object between backups (released by DELETE)"
echo "other 1 0" | s3 cp - "$C/LOCK" >/dev/null
expect_fail 3 "a backup while the LOCK is held loses" \
    "$SLUICE" backup --to "$C" -z -e -C "$S" .
like "$(cat "$ERR")" "*$C: collection is locked by another backup ($C/LOCK: other 1 0)*" \
    "the message names the collection, the LOCK and its holder"
is "$(s3 cp "$C/LOCK" - 2>/dev/null)" "other 1 0" "the LOCK is left as it was (If-None-Match: *)"
s3 rm "$C/LOCK" >/dev/null
is "$(bucket_state coll-main coll/)" "$before" "every object unchanged by the loser"
# Two at once: the conditional PUT lets exactly one hold the LOCK.
("$SLUICE" backup --to "$C" -z -e -C "$S" . >"$T_TMP/c1" 2>&1; echo $? >"$T_TMP/c1.rc") &
("$SLUICE" backup --to "$C" -z -e -C "$S" . >"$T_TMP/c2" 2>&1; echo $? >"$T_TMP/c2.rc") &
wait
rcs="$(cat "$T_TMP/c1.rc") $(cat "$T_TMP/c2.rc")"
case $rcs in
"0 3" | "3 0" | "0 0") pass "concurrent backups: each won or lost cleanly ($rcs)" ;;
*) fail "concurrent backups: statuses $rcs"; diag_file "$T_TMP/c1" c1; diag_file "$T_TMP/c2" c2 ;;
esac
is "$(keys coll-main | grep -c '^coll/LOCK$')" 0 "no LOCK left behind"
expect_ok "the collection still verifies" "$SLUICE" verify --from "$C" -q

# Damage one object and remove another, in a copy of the collection.
s3 cp --recursive "$C/" s3://coll-dmg/coll/ >/dev/null
o1=$(keys coll-dmg | grep "coll/backups/$ID0/data-" | head -1)
o2=$(keys coll-dmg | grep "coll/backups/$ID0/data-" | tail -1)
s3 cp "s3://coll-dmg/$o1" "$T_TMP/o1" >/dev/null
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' "$T_TMP/o1"
s3 cp "$T_TMP/o1" "s3://coll-dmg/$o1" >/dev/null
s3 rm "s3://coll-dmg/$o2" >/dev/null
run "$SLUICE" verify --from s3://coll-dmg/coll
ok "verify fails on damage" [ "$RC" -ne 0 ]
like "$(cat "$ERR")" "*$o1*" "verify names the damaged object"
like "$(cat "$ERR")" "*$o2*" "verify names the missing object"
mkdir -p "$T_TMP/rd"
run "$SLUICE" restore --from s3://coll-dmg/coll --as-of "$ID0" -C "$T_TMP/rd"
ok "restore fails on damage" [ "$RC" -ne 0 ]
like "$(cat "$ERR")" "*$o1*" "restore names the damaged object"
like "$(cat "$ERR")" "*$o2*" "restore names the missing object"

# Localities: three buckets, two hosts.
mkdir -p "$T_TMP/ha" "$T_TMP/hb"
echo "host a" >"$T_TMP/ha/a"
head -c 200000 /dev/urandom >"$T_TMP/ha/big"
echo "host b" >"$T_TMP/hb/b"
TO="--to s3://coll-main/loc?locality=default --to s3://coll-eu/loc?locality=region%3Deu-west --to s3://coll-us/loc?locality=region=us-east"
# shellcheck disable=SC2086
expect_ok "host A (eu-west) backs up" "$SLUICE" backup $TO -e -q --host alpha \
    --locality region=eu-west,zone=eu-west-1a -C "$T_TMP/ha" .
# shellcheck disable=SC2086
expect_ok "host B (us-east) backs up" "$SLUICE" backup $TO -e -q --host beta \
    --locality region=us-east -C "$T_TMP/hb" .
is "$(keys coll-eu | grep /data- | grep -vc -- '-alpha-')" 0 "eu holds only host A's data"
ok "eu holds host A's data" [ "$(keys coll-eu | grep -c /data-)" -ge 1 ]
is "$(keys coll-us | grep /data- | grep -vc -- '-beta-')" 0 "us holds only host B's data"
ok "us holds host B's data" [ "$(keys coll-us | grep -c /data-)" -ge 1 ]
is "$(keys coll-main | grep '^loc/' | grep -c /data-)" 0 "the default holds no data object"
mkdir -p "$T_TMP/ra"
expect_ok "host A restores from the default URL alone" \
    "$SLUICE" restore --from s3://coll-main/loc --host alpha -C "$T_TMP/ra"
listing "$T_TMP/ha" >"$T_TMP/la"
same_tree "$T_TMP/la" "$T_TMP/ra" "host A's tree"
mkdir -p "$T_TMP/rb"
expect_ok "host B restores from the default URL alone" \
    "$SLUICE" restore --from s3://coll-main/loc --host beta -C "$T_TMP/rb"
listing "$T_TMP/hb" >"$T_TMP/lb"
same_tree "$T_TMP/lb" "$T_TMP/rb" "host B's tree"
expect_ok "verify from the default URL alone" "$SLUICE" verify --from s3://coll-main/loc -q

done_testing
