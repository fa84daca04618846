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
#     through by the members after it (the cached way to it is dropped);
#   - every directory gets its mode and times after its last member,
#     whether it was held open (several threads at once) or reached by
#     name again (the descriptor budget spent); the same directory twice
#     ends as the last member says; a directory renamed away during the
#     run and replaced keeps what it had, and the one made gets its
#     metadata (with t/raceshim.c).
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

# ---- directory metadata at the end --------------------------------------
# 620 directories, modes and times of their own.
i=0
while [ $i -lt 600 ]; do
    d=meta/p$((i % 20))/d$i
    mkdir -p "$d" && printf '%s\n' $i >"$d/f"
    i=$((i + 1))
done
i=0
for d in meta/p*/d*; do
    case $((i % 4)) in
    0) chmod 0750 "$d" ;; 1) chmod 0711 "$d" ;; 2) chmod 0705 "$d" ;;
    3) chmod 2755 "$d" ;;
    esac
    touch -d "@$((1000000000 + i * 7))" "$d"
    i=$((i + 1))
done
for d in meta/p* meta; do touch -d '@1100000000' "$d"; done
dirmeta() { (cd "$1" && find . -type d -printf '%p %m %U:%G %T@\n' | sort); }
tar -cf meta.tar meta
dirmeta meta >meta.want
for lim in none 200 300; do
    rm -rf m && mkdir m
    if [ $lim = none ]; then
        expect_ok "dirmeta: -x of 620 directories" "$S" -p -xf meta.tar -C m
    else
        expect_ok "dirmeta: -x of 620 directories, ulimit -n $lim" \
            sh -c 'ulimit -n "$1" && exec "$2" -p -xf meta.tar -C m' sh $lim "$S"
    fi
    dirmeta m/meta >meta.got
    ok "dirmeta ($lim): every directory's mode, owner and times" \
        cmp -s meta.want meta.got
done

# The same directory twice: the last member's metadata.
mkdir -p twice/a && chmod 0750 twice/a && touch -d '2001-01-01' twice/a
tar -cf twice.tar -C twice --no-recursion a
chmod 0711 twice/a && touch -d '2002-02-02 02:02:02' twice/a
tar -rf twice.tar -C twice --no-recursion a
mkdir tw
expect_ok "dirmeta: -x of a directory stored twice" "$S" -xf twice.tar -C tw
is "$(stat -c '%a %Y' tw/a)" "711 $(stat -c %Y twice/a)" \
    "dirmeta: the directory stored twice ends as the last says"

# A directory renamed away while the run goes on (at the open of a later
# file), and another put in its place: the metadata goes to the one the
# run made, never to the newcomer; reached by name (no descriptor
# budget), the newcomer is recognised and left alone.
shim=${SLUICE_RACESHIM:-$(dirname "$(dirname "$SLUICE_TEST_PLUGINS")")/.libs/raceshim.so}
if ldd "$S" 2>/dev/null | grep -q libasan; then
    # The shim comes first in LD_PRELOAD (as in t/race.t).
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
    export ASAN_OPTIONS
fi
if [ -f "$shim" ]; then
    mkdir -p rsrc/d rsrc/e
    printf 'late\n' >rsrc/e/late
    chmod 0751 rsrc/d && touch -d '2003-03-03' rsrc/d
    tar -cf race.tar -C rsrc --no-recursion d e e/late
    for lim in none 200; do
        rm -rf rx newcomer && mkdir rx newcomer && chmod 0755 newcomer
        touch -d '2010-10-10' newcomer
        set -- env LD_PRELOAD="$shim" RACE_LOG="$T_TMP/race.log" \
            RACE_AT=late RACE_MOVE=rx/d RACE_IN=newcomer
        rm -f race.log
        if [ $lim = none ]; then
            run "$@" "$S" -xf race.tar -C rx
        else
            run sh -c 'ulimit -n "$1" && shift && exec "$@"' sh $lim \
                "$@" "$S" -xf race.tar -C rx
        fi
        is "$RC" 0 "race ($lim): -x ends well"
        ok "race ($lim): the swap happened" grep -q swapped race.log
        is "$(stat -c '%a %Y' rx/d)" "755 $(date -d '2010-10-10' +%s)" \
            "race ($lim): the newcomer keeps its mode and times"
        if [ $lim = none ]; then
            is "$(stat -c '%a %Y' rx/d.aside)" \
                "751 $(date -d '2003-03-03' +%s)" \
                "race ($lim): the directory made gets its metadata"
        fi
    done
else
    skip "race shim not built ($shim): run make check" 7
fi

done_testing
