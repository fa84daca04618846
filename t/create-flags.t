#!/bin/sh
# create-flags.t - sluice -c asks for a file's flags (FS_IOC_GETFLAGS) only
# when statx(2) reports one of immutable, append-only, nodump or compressed
# (doc/PERFORMANCE.md, round two): such a flag must still be archived and
# restored.  Needs chattr/lsattr and a file system with flags; run as root
# to restore them.
. "$(dirname "$0")/lib.sh"
plan_no_plan
command -v chattr >/dev/null 2>&1 && command -v lsattr >/dev/null 2>&1 ||
    skip_all "chattr/lsattr not installed"
[ "$(id -u)" = 0 ] || skip_all "restoring file flags needs root"
cd "$T_TMP" || bail_out "cd $T_TMP"
mkdir -p tree out
echo 'not to be dumped' >tree/nodump
echo 'plain' >tree/plain
chattr +d tree/nodump 2>/dev/null || skip_all "no file flags on this file system"

flags() { lsattr -d "$1" 2>/dev/null | cut -d' ' -f1; }

expect_ok "-c of a tree with a nodump file" "$SLUICE" -c -f a.slc tree
expect_ok "-x of it" "$SLUICE" -x -f a.slc -C out
like "$(flags out/tree/nodump)" "*d*" "the nodump flag (reported by statx) is restored"
nok "a file without flags gets none" sh -c "lsattr -d out/tree/plain | cut -d' ' -f1 | grep -q d"
ok "the contents are intact" cmp tree/nodump out/tree/nodump
done_testing
