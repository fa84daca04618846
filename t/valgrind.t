#!/bin/sh
# valgrind.t - memcheck (no invalid access, no uninitialised use, no
# definite leak) on successful and failing runs, and helgrind (no data race,
# no lock-order problem) on the engine's threads and the block queue, and
# on -x's writer threads and its directory fixups (600 directories: more
# than one thread sets their metadata).
# Skipped without valgrind and on sanitizer builds (the two do not mix).
. "$(dirname "$0")/lib.sh"
plan_no_plan

command -v valgrind >/dev/null 2>&1 || skip_all "valgrind not installed"
if ldd "$SLUICE" 2>/dev/null | grep -Eq 'lib(asan|ubsan|tsan)'; then
    skip_all "sanitizer build"
fi
# Fails in some containers (no ptrace-like support, odd kernels).
valgrind -q true >/dev/null 2>&1 || skip_all "valgrind does not run here"

T_TIMEOUT=300
cd "$T_TMP" || bail_out "cd $T_TMP"
mkdata data 2000000
SLUICE_PLUGIN_PATH="$SLUICE_TEST_PLUGINS:$SLUICE_PLUGIN_PATH"
export SLUICE_PLUGIN_PATH
vg_status=99

# vg TOOL WANT DESC ARGS...: sluice ARGS under valgrind exits WANT with no
# valgrind error.
vg() {
    vg_tool=$1 vg_want=$2 vg_desc=$3
    shift 3
    if [ "$vg_tool" = memcheck ]; then
        set -- --leak-check=full --errors-for-leak-kinds=definite \
            --show-leak-kinds=definite "$@"
    fi
    run valgrind -q --tool="$vg_tool" --error-exitcode=$vg_status "$@"
    if [ "$RC" = "$vg_want" ] && ! grep -q '^==[0-9]*==' "$ERR"; then
        pass "$vg_tool: $vg_desc"
    else
        fail "$vg_tool: $vg_desc"
        diag "exit status $RC, expected $vg_want"
        diag_file "$ERR" "valgrind"
    fi
}

vg memcheck 0 "-z -o FILE" "$SLUICE" -z --threads 2 -o data.slc data
vg memcheck 0 "-d -o FILE" "$SLUICE" -d -o data.out data.slc
ok "(round trip identical)" cmp -s data.out data
vg memcheck 0 "two-stage chain" "$SLUICE" --chain zstd:level=1,zstd --threads 1 -o two.slc data
vg memcheck 0 "inspect" "$SLUICE" inspect data.slc
vg memcheck 0 "stages (every plugin loaded, unusable ones too)" "$SLUICE" stages
vg memcheck 4 "-d of random bytes" "$SLUICE" -d -o x data
head -c 100000 data.slc >trunc.slc
vg memcheck 4 "-d of a truncated stream" "$SLUICE" -d -o x trunc.slc
vg memcheck 3 "a stage failing mid-stream on backup" \
    "$SLUICE" --chain zstd,failing:after=300000 -o x data
vg memcheck 6 "a plugin with the wrong ABI" "$SLUICE" --chain badabi -o x data
vg memcheck 6 "a missing stage" "$SLUICE" --chain nosuchstage -o x data
vg memcheck 2 "a usage error" "$SLUICE" --chain 'zstd:level=99' -o x data
printf 'sluice/1\nzstd level=3 level=4\n---\n' >dup.slc
vg memcheck 4 "a duplicate header key" "$SLUICE" -d dup.slc
i=0
while [ $i -lt 600 ]; do
    mkdir -p "tree/p$((i % 10))/d$i" && echo $i >"tree/p$((i % 10))/d$i/f"
    i=$((i + 1))
done
expect_ok "(a tree of 600 directories)" "$SLUICE" -c -z -f tree.slc -C tree .
mkdir x1 x2
vg memcheck 0 "-x of 600 directories" "$SLUICE" -x -f tree.slc -C x1
vg helgrind 0 "-x of 600 directories (writers, fixups)" \
    "$SLUICE" -x -f tree.slc -C x2
ok "(-x under helgrind restores the tree)" diff -r tree x2
no_temp_files . "no temporary file left by any of them"

vg helgrind 0 "-z --threads 1 (engine threads and queues)" "$SLUICE" -z --threads 1 -o hg.slc data
vg helgrind 0 "-d" "$SLUICE" -d -o hg.out hg.slc
# Three frames: zstd's workers compress them, and decode them (on a
# machine of two cores and more).
mktext text9m 9000000
vg helgrind 0 "-z --threads 2 of three frames (zstd's frame workers)" \
    "$SLUICE" -z --threads 2 -o hg3.slc text9m
vg helgrind 0 "-d of three frames" "$SLUICE" -d -o hg3.out hg3.slc
ok "(round trip identical)" cmp -s hg3.out text9m
vg helgrind 3 "a failing stage aborting the chain" \
    "$SLUICE" --chain zstd:level=1,failing:after=1500000,zstd:level=1 --threads 1 -o x data
unit=$(dirname "$SLUICE")/t/unit-block
if [ -x "$unit" ]; then
    run valgrind -q --tool=helgrind --error-exitcode=$vg_status "$unit"
    if [ "$RC" = 0 ] && ! grep -q '^==[0-9]*==' "$ERR"; then
        pass "helgrind: t/unit-block (producer/consumer, abort, backpressure)"
    else
        fail "helgrind: t/unit-block (producer/consumer, abort, backpressure)"
        diag_file "$ERR" "valgrind"
    fi
else
    skip 1 "t/unit-block not built"
fi

done_testing
