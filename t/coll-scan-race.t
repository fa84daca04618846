#!/bin/sh
# coll-scan-race.t - the scan of `sluice backup` walks the tree by
# descriptor (src/collection/scan.c): an entry swapped for a symlink
# between its fstatat and its open - a directory below the operand, or
# (with --checksum) a regular file about to be hashed - is never
# followed: the scan says it changed, leaves it out, and the backup ends
# incomplete (exit 1) and restores.  The swap is run by t/raceshim.c at
# the openat() of the name given as RACE_AT.
. "$(dirname "$0")/lib.sh"
plan_no_plan
unset SLUICE_PASSPHRASE
cd "$T_TMP" || bail_out "cd $T_TMP"
shim=${SLUICE_RACESHIM:-$(dirname "$(dirname "$SLUICE_TEST_PLUGINS")")/.libs/raceshim.so}
[ -f "$shim" ] || skip_all "race shim not built ($shim): run make check"
if ldd "$SLUICE" 2>/dev/null | grep -q libasan; then
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
    export ASAN_OPTIONS
fi
RLOG=$T_TMP/race.log

fresh() {
    rm -rf tree secret c r "$RLOG"
    mkdir -p tree/sub/deep secret
    echo 'the user file' >tree/sub/deep/small
    echo 'another file' >tree/sub/hashed
    echo 'TOP SECRET' >secret/small
    echo 'TOP SECRET' >secret/hashed
}

# race NAME AT MOVE LINK [OPTION]: a backup of tree/sub with the swap.
race() {
    name=$1 at=$2 move=$3 link=$4
    shift 4
    fresh
    run env LD_PRELOAD="$shim" RACE_LOG="$RLOG" RACE_AT="$at" \
        RACE_MOVE="$move" RACE_LINK="$link" \
        "$SLUICE" backup -q "$@" --to "$T_TMP/c" -C tree sub
    ok "$name: the swap happened" grep -q swapped "$RLOG"
    is "$RC" 1 "$name: the backup ends incomplete (exit 1)"
    ok "$name: says the entry changed" \
        grep -q 'changed as we read it; not dumped' "$ERR"
    nok "$name: no stored object holds the secret" \
        sh -c "grep -rqa 'TOP SECRET' '$T_TMP/c'"
    mkdir -p r && run "$SLUICE" restore --from "$T_TMP/c" -C r
    is "$RC" 0 "$name: the backup restores (exit 0)"
    nok "$name: nothing of the secret restored" \
        sh -c "grep -rqa 'TOP SECRET' r"
}

race "directory below the operand" deep tree/sub/deep "$T_TMP/secret"
nok "directory below the operand: left out" test -e r/sub/deep
ok "directory below the operand: what did not change is restored" \
    grep -q 'another file' r/sub/hashed
race "file hashed by --checksum" hashed tree/sub/hashed \
    "$T_TMP/secret/hashed" --checksum
nok "file hashed by --checksum: left out" test -e r/sub/hashed
ok "file hashed by --checksum: what did not change is restored" \
    grep -q 'the user file' r/sub/deep/small
done_testing
