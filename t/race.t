#!/bin/sh
# race.t - sluice -c against a local user racing the backup (issue 14,
# item 1): an entry swapped between the scan (readdir, fstatat) and the
# open - a directory or a file replaced by a symlink to something the user
# may not read, or a directory replaced by another one - is never followed
# and never archived under the name that was scanned; the run says so and
# ends incomplete (exit 1) where an entry was left out.  And -c never
# archives its own output: the file sink's temporary file, the archive a
# previous run left at the -f path, or the file stdout is redirected to.
#
# The race is made deterministic by t/raceshim.c (LD_PRELOAD): it swaps
# the entry at the very openat() that opens it; RACE_LOG proves the swap
# happened.
. "$(dirname "$0")/lib.sh"
plan_no_plan

shim=${SLUICE_RACESHIM:-$(dirname "$(dirname "$SLUICE_TEST_PLUGINS")")/.libs/raceshim.so}
[ -f "$shim" ] || skip_all "race shim not built ($shim): run make check"
if ldd "$SLUICE" 2>/dev/null | grep -q libasan; then
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
    export ASAN_OPTIONS
fi
cd "$T_TMP" || bail_out "cd $T_TMP"
case $shim$T_TMP in *' '*) skip_all "a space in the build or temporary path" ;; esac
RLOG=$T_TMP/race.log

# fresh: a tree with a directory and a file the "user" owns, and a secret
# outside it.
fresh() {
    rm -rf tree secret victim "$RLOG" a.slc
    mkdir -p tree/sub secret victim
    echo 'ordinary file' >tree/sub/plain
    echo 'the user file' >tree/file
    echo 'TOP SECRET' >secret/key
    echo 'TOP SECRET' >victim/key
}

# swapped: the shim logged its swap (the race was really run).
swapped() {
    if grep -q swapped "$RLOG" 2>/dev/null; then pass "$1: the swap happened"
    else fail "$1: the swap happened"; fi
}

R="env LD_PRELOAD=$shim RACE_LOG=$RLOG"

# 1. A directory replaced by a symlink to a secret directory.
fresh
run $R RACE_AT=sub RACE_MOVE=tree/sub RACE_LINK="$T_TMP/secret" \
    "$SLUICE" -c -f a.slc tree
swapped "dir -> symlink"
is "$RC" 1 "dir -> symlink: the run ends incomplete"
ok "dir -> symlink: a warning names the entry" grep -q 'tree/sub' "$ERR"
nok "dir -> symlink: nothing below the symlink is archived" \
    sh -c "'$SLUICE' -tf a.slc | grep -q key"

# 2. A directory replaced by another directory (renamed into its place):
#    not the object the scan recorded, so left out - today its contents
#    would go in under the scanned directory's owner and mode.
fresh
run $R RACE_AT=sub RACE_MOVE=tree/sub RACE_IN=victim \
    "$SLUICE" -c -f a.slc tree
swapped "dir -> other dir"
is "$RC" 1 "dir -> other dir: the run ends incomplete"
like "$(cat "$ERR")" "*tree/sub: file changed as we read it; not dumped*" \
    "dir -> other dir: said plainly"
nok "dir -> other dir: its contents are not archived" \
    sh -c "'$SLUICE' -tf a.slc | grep -q key"
ok "dir -> other dir: the rest is archived" \
    sh -c "'$SLUICE' -tf a.slc | grep -qx tree/file"

# 3. A regular file replaced by a symlink to a secret file: readdir said
#    "file", so the symlink is left out (and never followed).
fresh
run $R RACE_AT=file RACE_MOVE=tree/file RACE_LINK="$T_TMP/secret/key" \
    "$SLUICE" -c -f a.slc tree
swapped "file -> symlink"
is "$RC" 1 "file -> symlink: the run ends incomplete"
like "$(cat "$ERR")" "*tree/file: file changed as we read it; not dumped*" \
    "file -> symlink: said plainly"
nok "file -> symlink: the secret's bytes are not in the archive" \
    sh -c "mkdir -p x3 && '$SLUICE' -x -C x3 -f a.slc && grep -rq 'TOP SECRET' x3"
nok "file -> symlink: not stored under the name" test -e x3/tree/file

# 4. A regular file replaced by a directory (the scan said "file").
fresh
run $R RACE_AT=file RACE_MOVE=tree/file RACE_IN=victim \
    "$SLUICE" -c -f a.slc tree
swapped "file -> dir"
is "$RC" 1 "file -> dir: the run ends incomplete"
nok "file -> dir: the directory's contents are not archived" \
    sh -c "'$SLUICE' -tf a.slc | grep -q key"

# 5. Its own output is never archived.
fresh
run "$SLUICE" -c -f tree/out.slc tree
is "$RC" 0 "own output: exit 0"
like "$(cat "$ERR")" "*file is the archive; not dumped*" "own output: said"
nok "own output: the temporary file is not archived" \
    sh -c "'$SLUICE' -tf tree/out.slc | grep -q sluice-"
run "$SLUICE" -c -f tree/out.slc tree
nok "own output: the previous archive at the -f path is not archived" \
    sh -c "'$SLUICE' -tf tree/out.slc | grep -q 'out.slc'"
ok "own output: everything else is" \
    sh -c "'$SLUICE' -tf tree/out.slc | grep -qx tree/sub/plain"
rm -f tree/out.slc
"$SLUICE" -c -f - tree >tree/stdout.tar 2>"$ERR"
nok "own output: the file stdout writes is not archived (-f -)" \
    sh -c "'$SLUICE' -tf tree/stdout.tar | grep -q stdout.tar"

done_testing
