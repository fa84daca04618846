#!/bin/sh
# extract-order.t - what -x's shortcuts for many small files must keep
# (plugins/archive-extract.c):
#
#   - the parent of a member is reached from the directories the last
#     member's parent went through: members that climb back up to an
#     ancestor, or jump to a sibling, land where their names say, with
#     their data, modes and times; a deep tree keeps a bounded number of
#     them open;
#   - in a directory the run made, a small file is created under its own
#     name at once; a name already there (the same member twice, an empty
#     directory in the way) still ends as the last member says;
#   - a directory replaced by a symlink between members is not written
#     through by the members after it (the cached way to it is dropped).
. "$(dirname "$0")/lib.sh"
plan_no_plan

cd "$T_TMP" || bail_out "cd $T_TMP"
umask 022
S=$SLUICE

# ---- order: down, up to an ancestor, across -----------------------------
mkdir -p src/a/b/c src/a/d src/e
printf 'f1\n' >src/a/b/c/f1
printf 'f2\n' >src/a/d/f2
printf 'f3\n' >src/a/b/f3
printf 'f4\n' >src/a/f4
printf 'f5\n' >src/f5
printf 'f6\n' >src/e/f6
chmod 0640 src/a/b/f3
chmod 0751 src/a/d
touch -d '2001-02-03 04:05:06' src/a/b/c/f1 src/a/f4 src/a/d
# Explicit order: the walk of -c would sort names.
tar -cf order.tar -C src --no-recursion a a/b a/b/c a/b/c/f1 a/d a/d/f2 \
    a/b/f3 a/f4 f5 e e/f6
mkdir x
expect_ok "order: -x of members that go down, back up and across" \
    "$S" -xf order.tar -C x
ok "order: every file has its data" diff -r src x
is "$(stat -c %a x/a/b/f3)" 640 "order: a file's mode, after climbing back up"
is "$(stat -c %a x/a/d)" 751 "order: a directory's mode"
is "$(stat -c %Y x/a/b/c/f1)" "$(stat -c %Y src/a/b/c/f1)" \
    "order: a deep file's mtime"
is "$(stat -c %Y x/a/f4)" "$(stat -c %Y src/a/f4)" \
    "order: an ancestor's file's mtime"
is "$(stat -c %Y x/a/d)" "$(stat -c %Y src/a/d)" "order: a directory's mtime"
is "$(find x -name '.sluice-*' | wc -l)" 0 "order: no temporary left"

# ---- deep: more levels than are kept open --------------------------------
p=deep
i=0
: >deep.list
while [ $i -lt 80 ]; do
    i=$((i + 1))
    p=$p/d$i
    echo "$p" >>deep.list
done
mkdir -p "$p"
printf 'bottom\n' >"$p/f"
mid=$(sed -n 40p deep.list)
printf 'middle\n' >"$mid/g"
printf 'top\n' >deep/h
{ echo deep; cat deep.list; echo "$p/f"; echo "$mid/g"; echo deep/h; } >deep.order
tar -cf deep.tar --no-recursion -T deep.order
mkdir v
# 80 levels, at most 64 descriptors: only a bounded number stay open.
expect_ok "deep: -x of an 80-level tree with 64 descriptors" \
    sh -c 'ulimit -n 64 && exec "$1" -xf deep.tar -C v' sh "$S"
ok "deep: every file has its data" diff -r deep v/deep

# ---- the same name twice in a directory the run makes -------------------
mkdir -p dup/d
printf 'first\n' >dup/d/f
tar -cf dup.tar -C dup d d/f
printf 'second, longer\n' >dup/d/f
tar -rf dup.tar -C dup d/f
mkdir y
expect_ok "twice: -x of a file stored twice" "$S" -xf dup.tar -C y
is "$(cat y/d/f)" "second, longer" "twice: the last one wins"

# An empty directory in the way of a file of the same name.
rm -rf dup && mkdir -p dup/d/x
tar -cf way.tar -C dup d d/x
rmdir dup/d/x && printf 'file now\n' >dup/d/x
tar -rf way.tar -C dup d/x
mkdir z
expect_ok "in the way: -x of an empty directory, then a file of its name" \
    "$S" -xf way.tar -C z
is "$(cat z/d/x 2>/dev/null)" "file now" "in the way: the file replaces it"
is "$(find z -name '.sluice-*' | wc -l)" 0 "in the way: no temporary left"

# ---- a directory replaced by a symlink, then a member below it ----------
mkdir -p outside sw/d/s
printf 'inner\n' >sw/d/keep
tar -cf swap.tar -C sw d d/s d/keep
rmdir sw/d/s && ln -s ../../outside sw/d/s
tar -rf swap.tar -C sw d/s
rm sw/d/s && mkdir sw/d/s && printf 'evil\n' >sw/d/s/evil
tar -rf swap.tar -C sw d/s/evil
mkdir -p w
run "$S" -xf swap.tar -C w
is "$RC" 1 "swap: -x ends incomplete (exit 1)"
like "$(cat "$ERR")" "*symbolic link*" "swap: says why"
is "$(ls outside | wc -l)" 0 "swap: nothing written through the symlink"
ok "swap: the symlink is in place" test -L w/d/s
is "$(cat w/d/keep)" "inner" "swap: the rest is restored"

done_testing
