#!/bin/sh
# forget.t - retention and space (sluice forget, prune, unlock) on local
# directory collections:
#   - 30 daily backups of a changing tree at simulated times (a build
#     configured with --enable-test-clock takes the time from
#     SLUICE_TEST_NOW; without it the test is skipped), then
#     `forget --keep-daily 7 --keep-weekly 4 --prune`: exactly the policy's
#     backups stay, plus the first (full) one, "needed by" the others for
#     the files they never changed; every survivor restores exactly; the
#     stored bytes shrink to exactly what the survivors' INDEX lines count,
#     and prune's "bytes freed" is the difference;
#   - --dry-run changes nothing; an empty policy is refused;
#   - a backup killed with SIGKILL mid-way leaves a LOCK and orphan
#     objects: the next prune breaks the stale LOCK with a warning and
#     leaves no unreferenced object and no temporary file;
#   - unlock: not locked; a stale LOCK of this machine is removed; another
#     machine's LOCK is shown and kept (exit 3) unless --remove-all.
# Needs python3 (tree listings, dates).
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || skip_all "python3 not found"
plan_no_plan

SLUICE_PASSPHRASE=correct-horse
export SLUICE_PASSPHRASE
C=$T_TMP/coll
S=$T_TMP/src


# stored DIR: the bytes of every object under DIR/backups.
stored() {
    find "$1/backups" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'
}

base=1790856000 # 2026-10-01T12:00:00Z, a Thursday
mkdir -p "$S/static" "$S/rot"
head -c 200000 /dev/urandom >"$S/static/a"
head -c 100000 /dev/urandom >"$S/static/b"
i=1
while [ $i -le 30 ]; do
    now=$((base + (i - 1) * 86400))
    head -c 50000 /dev/urandom >"$S/log"
    rm -f "$S"/rot/*
    head -c 20000 /dev/urandom >"$S/rot/$i"
    SLUICE_TEST_NOW=$now run "$SLUICE" backup --to "$C" -z -e -q -C "$S" .
    if [ "$RC" != 0 ]; then
        fail "backup of day $i"
        diag_file "$ERR" stderr
        break
    fi
    tree_listing "$S" >"$T_TMP/day$i.list"
    if [ $i = 1 ]; then
        # ids start with the backup's UTC time: is the test clock in?
        case $(ls "$C/backups") in
        20261001T120000Z-*) pass "the backup time comes from SLUICE_TEST_NOW" ;;
        *) skip_all "sluice was not configured with --enable-test-clock" ;;
        esac
    fi
    i=$((i + 1))
done
run "$SLUICE" backups --from "$C"
is "$(tail -n 1 "$OUT")" "30 backups" "30 daily backups"
sed '1,2d; /^---/,$d' "$OUT" | awk '{print substr($2, 1, 10), $1}' >"$T_TMP/ids"
id_of() { # id_of YYYY-MM-DD
    awk -v d="$1" '$1 == d {print $2}' "$T_TMP/ids"
}
before=$(stored "$C")
now30=$((base + 29 * 86400 + 3600))

# ---- dry run, empty policy ----------------------------------------------------
cp "$C/INDEX" "$T_TMP/INDEX.before"
SLUICE_TEST_NOW=$now30 run "$SLUICE" forget --from "$C" --keep-daily 7 \
    --keep-weekly 4 --dry-run
is "$RC" 0 "forget --dry-run"
is "$(grep -c '^would forget ' "$OUT")" 20 "the dry run would forget 20 backups"
ok "the dry run changes nothing" cmp -s "$C/INDEX" "$T_TMP/INDEX.before"
is "$(stored "$C")" "$before" "the dry run removes nothing"
expect_fail 2 "forget without a policy is refused" \
    "$SLUICE" forget --from "$C"
expect_fail 2 "a malformed --keep-within is refused" \
    "$SLUICE" forget --from "$C" --keep-within 3x

# ---- forget --keep-daily 7 --keep-weekly 4 --prune --------------------------------
SLUICE_TEST_NOW=$now30 run "$SLUICE" forget --from "$C" --keep-daily 7 \
    --keep-weekly 4 --prune
is "$RC" 0 "forget --keep-daily 7 --keep-weekly 4 --prune"
diag_file "$ERR" stderr
# Daily: Oct 24-30; weekly (ISO weeks, newest of each): Oct 30, 25, 18, 11;
# Oct 1 is the full backup holding static/ that every survivor names.
want=""
for d in 01 11 18 24 25 26 27 28 29 30; do
    want="$want $(id_of 2026-10-$d)"
done
got=$("$SLUICE" backups --from "$C" -q | tr '\n' ' ')
is "$got" "${want# } " "exactly the policy's backups and the one they need are left"
ok "the first backup is kept as needed by the others" \
    grep -q "^keep $(id_of 2026-10-01) (needed by " "$OUT"
ok "daily and weekly reasons are given" \
    grep -q "^keep $(id_of 2026-10-25) (.*daily.*weekly" "$OUT"
is "$(grep -c '^forget ' "$OUT")" 20 "20 backups forgotten"
after=$(stored "$C")
ok "the stored bytes shrink ($before -> $after)" test "$after" -lt "$before"
index_sum=$("$SLUICE" backups --json --from "$C" |
    sed 's/.*"bytes_stored":\([0-9]*\).*/\1/' | awk '{s += $1} END {print s + 0}')
is "$after" "$index_sum" "what is stored is exactly what the survivors count"
freed=$(sed -n 's/^prune: removed [0-9]* objects, \([0-9]*\) bytes freed$/\1/p' "$OUT")
is "$freed" "$((before - after))" "prune says the bytes it freed"
is "$(ls "$C/backups" | wc -l)" 10 "the forgotten backups' directories are gone"
for d in 01 11 18 24 25 26 27 28 29 30; do
    n=${d#0}
    rm -rf "$T_TMP/r"
    mkdir "$T_TMP/r"
    mkdir -p "$T_TMP/r"
    run "$SLUICE" restore --from "$C" --as-of "$(id_of 2026-10-$d)" -C "$T_TMP/r"
    tree_listing "$T_TMP/r" >"$T_TMP/r.list"
    if [ "$RC" = 0 ] && cmp -s "$T_TMP/r.list" "$T_TMP/day$n.list"; then
        pass "the backup of Oct $d restores exactly"
    else
        fail "the backup of Oct $d restores exactly"
        diag_file "$ERR" stderr
        diff "$T_TMP/day$n.list" "$T_TMP/r.list" | head -5 >&2
    fi
done
expect_ok "verify passes after forget and prune" "$SLUICE" verify --from "$C" -q
SLUICE_TEST_NOW=$now30 run "$SLUICE" prune --from "$C"
is "$(cat "$OUT")" "prune: removed 0 objects, 0 bytes freed" \
    "a second prune finds nothing to remove"

# ---- a backup killed with SIGKILL, then prune ------------------------------------
mkdir "$S/big"
i=0
while [ $i -lt 40 ]; do
    head -c 1048576 /dev/urandom >"$S/big/f$i"
    i=$((i + 1))
done
ls "$C/backups" | sort >"$T_TMP/dirs.before"
"$SLUICE" backup --to "$C" -z -e -q --object-size 1M -C "$S" . \
    >/dev/null 2>&1 </dev/null &
pid=$!
bg_track $pid
i=0
while [ $i -lt 600 ]; do
    [ -n "$(find "$C/backups" -newer "$C/INDEX" -name 'data-*' 2>/dev/null)" ] && break
    sleep 0.05
    i=$((i + 1))
done
kill -9 $pid
wait_exit $pid 10
is "$RC" 137 "the backup was killed mid-way"
ok "it left its LOCK" test -f "$C/LOCK"
ls "$C/backups" | sort >"$T_TMP/dirs.after"
ok "it left orphan objects" test -n "$(comm -13 "$T_TMP/dirs.before" "$T_TMP/dirs.after")"
run "$SLUICE" prune --from "$C" -v
is "$RC" 0 "prune after the killed backup"
ok "the stale LOCK is broken with a warning" grep -q "LOCK .* gone: breaking it" "$ERR"
ok "prune names what it removed" grep -q '^removed .*/backups/.*/data-[0-9]* ' "$OUT"
ok "the LOCK is gone" test ! -e "$C/LOCK"
ls "$C/backups" | sort >"$T_TMP/dirs.after"
ok "no backup directory the INDEX does not list" cmp -s "$T_TMP/dirs.before" "$T_TMP/dirs.after"
is "$(stored "$C")" "$index_sum" "no unreferenced object is left"
is "$(find "$C" -name '.*.sluice-*' | wc -l)" 0 "no temporary file is left"
expect_ok "verify passes" "$SLUICE" verify --from "$C" -q

# ---- unlock ---------------------------------------------------------------------
run "$SLUICE" unlock --from "$C"
is "$RC:$(cat "$OUT")" "0:$C: not locked" "unlock: not locked"
sh -c 'echo $$ >"$1"' sh "$T_TMP/deadpid"
boot=$(cat /proc/sys/kernel/random/boot_id)
echo "here $(cat "$T_TMP/deadpid") 1790000000 0123456789abcdef $boot" >"$C/LOCK"
run "$SLUICE" unlock --from "$C"
is "$RC" 0 "unlock removes a stale LOCK of this machine"
ok "... after showing it" grep -q "^$C/LOCK: here " "$OUT"
ok "... and it is gone" test ! -e "$C/LOCK"
echo "faraway 4242 1790000000 0123456789abcdef 00000000-1111-2222-3333-444444444444" >"$C/LOCK"
expect_fail 3 "a backup finds another machine's LOCK" \
    "$SLUICE" backup --to "$C" -z -e -q -C "$S" .
run "$SLUICE" unlock --from "$C"
is "$RC" 3 "unlock keeps another machine's LOCK without --remove-all"
ok "... shows it" grep -q "^$C/LOCK: faraway 4242 " "$OUT"
ok "... says how to remove it" grep -q "unlock --remove-all" "$ERR"
ok "... and it is still there" test -f "$C/LOCK"
run "$SLUICE" unlock --from "$C" --remove-all
is "$RC" 0 "unlock --remove-all removes it"
ok "... and it is gone" test ! -e "$C/LOCK"
echo "busy $$ 1790000000 0123456789abcdef $boot" >"$C/LOCK"
run "$SLUICE" forget --from "$C" --keep-last 1
is "$RC" 3 "a LOCK held by a live process of this machine is not broken"
rm -f "$C/LOCK"

# ---- --host, --keep-within, --dry-run --prune --------------------------------------
C2=$T_TMP/two
for i in 1 2 3 4 5; do
    echo $i >"$S/log"
    for h in vm other; do
        SLUICE_TEST_NOW=$((base + i * 86400)) run "$SLUICE" backup --to "$C2" \
            -z -e -q --host $h -C "$S" log
    done
done
is "$("$SLUICE" backups --from "$C2" -q | wc -l)" 10 "two hosts, five backups each"
cp "$C2/INDEX" "$T_TMP/INDEX2"
SLUICE_TEST_NOW=$((base + 5 * 86400 + 60)) run "$SLUICE" forget --from "$C2" \
    --host other --keep-within 2d --dry-run --prune
is "$RC" 0 "forget --host other --keep-within 2d --dry-run --prune"
is "$(grep -c '^would forget .*-other-' "$OUT")" 3 "  would forget three of other's backups"
ok "  judges no backup of vm" sh -c '! grep -q -- "-vm-" "$1"' sh "$OUT"
is "$(grep -c '^would remove .*-other-.*/MANIFEST ' "$OUT")" 3 \
    "  the dry prune lists what that forget would free"
ok "  and changes nothing" cmp -s "$C2/INDEX" "$T_TMP/INDEX2"
SLUICE_TEST_NOW=$((base + 5 * 86400 + 60)) run "$SLUICE" forget --from "$C2" \
    --host other --keep-within 2d
is "$("$SLUICE" backups --from "$C2" --host other -q | wc -l)" 2 "  other keeps 2"
is "$("$SLUICE" backups --from "$C2" --host vm -q | wc -l)" 5 "  vm keeps 5"

done_testing
