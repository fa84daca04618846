#!/bin/sh
# plugins.t - plugins that must be refused (wrong ABI, missing, not a
# shared object) and a stage that fails mid-stream (t/plugins/failing.c):
# no hang, one line on stderr, status 3, and an -o target left exactly as
# it was with no temporary file behind.
. "$(dirname "$0")/lib.sh"
plan_no_plan

[ -f "$SLUICE_TEST_PLUGINS/failing.so" ] && [ -f "$SLUICE_TEST_PLUGINS/badabi.so" ] ||
    skip_all "test plugins not built in $SLUICE_TEST_PLUGINS (run make check)"
base_path=$SLUICE_PLUGIN_PATH
SLUICE_PLUGIN_PATH="$SLUICE_TEST_PLUGINS:$SLUICE_PLUGIN_PATH"
export SLUICE_PLUGIN_PATH
test_path=$SLUICE_PLUGIN_PATH

cd "$T_TMP" || bail_out "cd $T_TMP"
mkdir out
abi=$(host_abi)
major=${abi%.*}
minor=${abi#*.}

mkdata big 10485760
mkdata small 50000

# ---- wrong ABI -------------------------------------------------------------------
expect_fail 6 "a plugin built for ABI $((major + 1)).$minor is refused" \
    "$SLUICE" --chain badabi -o out/x small
like "$(cat "$ERR")" "*$((major + 1)).$minor*" "the message names the plugin's ABI"
like "$(cat "$ERR")" "*$major.$minor*" "the message names this sluice's ABI"
like "$(cat "$ERR")" "*badabi.so*" "the message names the file"
ok "no output file" test ! -e out/x
expect_fail 6 "a plugin needing ABI $major.$((minor + 1)) is refused" \
    "$SLUICE" --chain zstd,badminor small
like "$(cat "$ERR")" "*$major.$((minor + 1))*$major.$minor*" \
    "the message names both versions"
# (Both plugins abort() in every stage function: a clean status shows the
# host called nothing but the entry point.)
{ printf 'sluice/1\nbadabi\n---\n'; cat small; } >badabi.slc
expect_fail 6 "a stream whose header names the bad-ABI stage" "$SLUICE" -d -o out/x badabi.slc
ok "no output file" test ! -e out/x
run "$SLUICE" stages
is "$RC" 0 "sluice stages still works with an unusable plugin around"
like "$(cat "$OUT")" "*unusable*badabi.so*ABI*" "and lists it as unusable, with why"
like "$(cat "$OUT")" "*failing *failing.so*" "and lists the test stage failing"

# ---- missing or broken plugins -----------------------------------------------------
expect_fail 6 "a stage nobody provides" "$SLUICE" --chain zstd,nosuchstage small
like "$(cat "$ERR")" "sluice: nosuchstage: *not found*" "says which stage is missing"
like "$(cat "$ERR")" "*nosuchstage.so*SLUICE_PLUGIN_PATH*" "and where it looked"
mkdir junk
printf 'not a shared object\n' >junk/junk.so
cp "$SLUICE_TEST_PLUGINS/failing.so" junk/renamed.so
SLUICE_PLUGIN_PATH=$T_TMP/junk:$test_path
expect_fail 6 "a .so that is not a shared object" "$SLUICE" --chain junk small
like "$(cat "$ERR")" "*cannot load plugin*" "says it cannot load it"
expect_fail 6 "NAME.so that does not provide NAME" "$SLUICE" --chain renamed small
like "$(cat "$ERR")" "*does not provide*renamed*" "says so"
SLUICE_PLUGIN_PATH=$test_path

# Without the zstd plugin, -z fails clearly (only if no zstd.so is installed
# elsewhere on the search path).
mkdir onlyfile
cp "$base_path/file.so" onlyfile/ 2>/dev/null || :
SLUICE_PLUGIN_PATH=$T_TMP/onlyfile
if [ -f onlyfile/file.so ] && ! "$SLUICE" stages 2>/dev/null | grep -q '^zstd '; then
    expect_fail 6 "-z without a zstd plugin" "$SLUICE" -z -o out/x small
    like "$(cat "$ERR")" "sluice: zstd: *not found*" "names zstd"
else
    skip 2 "a zstd plugin is installed outside the build tree"
fi
SLUICE_PLUGIN_PATH=$test_path

# ---- a stage failing mid-stream ------------------------------------------------------
# timeout 20: a hang is a failure, not a stuck test run.
T_TIMEOUT=20
elapsed() { echo $(($(date +%s) - t_start)); }

t_start=$(date +%s)
expect_fail 3 "backup: --chain zstd,failing:after=100000 fails" \
    "$SLUICE" --chain zstd,failing:after=100000 <big
like "$(cat "$ERR")" "sluice: failing: injected failure*" "the one line names the stage and the cause"
ok "promptly ($(elapsed) s)" test "$(elapsed)" -lt 15
expect_fail 3 "backup: failing first, then zstd" "$SLUICE" --chain failing:after=100000,zstd <big
expect_fail 3 "backup: failing before the first byte" "$SLUICE" --chain failing:after=0,zstd <big
expect_fail 3 "backup: failing after 5 MiB of 10" "$SLUICE" --chain zstd,failing:after=5242880 <big
expect_fail 3 "backup: failing in the middle of three stages" \
    "$SLUICE" --chain zstd:level=1,failing:after=3000000,zstd <big

# -o with a failing chain: the previous content stays, no temporary file.
echo "previous content" >out/target
cp out/target out/target.orig
expect_fail 3 "backup -o over an existing file, failing chain" \
    "$SLUICE" --chain zstd,failing:after=100000 -o out/target big
ok "the existing file is untouched" cmp -s out/target out/target.orig
no_temp_files out "no .target.sluice-* file left"
expect_fail 3 "backup -o to a new file, failing chain" \
    "$SLUICE" --chain zstd,failing:after=100000 -o out/new big
ok "no new file" test ! -e out/new
no_temp_files out "no temporary file left"

# Input that never ends: the failure must still stop the reader of stdin.
mkfifo slowpipe
(head -c 3000000 big; exec sleep 60) >slowpipe 2>/dev/null &
writer=$!
bg_track $writer
t_start=$(date +%s)
expect_fail 3 "a failure while the source waits on a pipe that stays open" \
    "$SLUICE" --chain failing:after=100000 -o out/slow <slowpipe
ok "ends promptly anyway ($(elapsed) s)" test "$(elapsed)" -lt 15
ok "no output file" test ! -e out/slow
no_temp_files out "no temporary file"
kill $writer 2>/dev/null
wait $writer 2>/dev/null

# Output that nobody reads yet: the failure must not wait for it.  after=N
# must be over one block (so the sink holds a block and is stuck writing
# into the full pipe) but within what the link can queue, or the failing
# stage itself waits (backpressure) and never reaches N: blocks are at
# least SLUICE_RESERVE_MAX (256 KiB) and a link holds several.
mkfifo outpipe
(exec sleep 60) <outpipe >/dev/null 2>&1 &
reader=$!
bg_track $reader
t_start=$(date +%s)
expect_fail 3 "a failure while the sink waits on a full pipe" \
    sh -c "exec '$SLUICE' --chain failing:after=900000 <big >outpipe"
ok "ends promptly anyway ($(elapsed) s)" test "$(elapsed)" -lt 15
kill $reader 2>/dev/null
wait $reader 2>/dev/null

# ---- restore failing -----------------------------------------------------------------
expect_ok "backup with failing:on=restore succeeds" \
    "$SLUICE" --chain zstd,failing:after=100000:on=restore -o out/r.slc big
is "$(sed -n 3p out/r.slc)" "failing after=100000 on=restore" "its parameters are in the header"
echo "previous content" >out/restored
cp out/restored out/restored.orig
t_start=$(date +%s)
expect_fail 3 "restore fails mid-stream" "$SLUICE" -d -o out/restored out/r.slc
like "$(cat "$ERR")" "sluice: failing: injected failure*" "names the stage"
ok "promptly ($(elapsed) s)" test "$(elapsed)" -lt 15
ok "the existing -o target is untouched" cmp -s out/restored out/restored.orig
no_temp_files out "no temporary file left"
expect_fail 3 "restore to stdout fails too" "$SLUICE" -d out/r.slc
ok "with only part of the data on stdout" \
    test "$(fsize "$OUT")" -lt "$(fsize big)"
expect_ok "--chain failing:after=N with N beyond the end passes everything" \
    "$SLUICE" --chain failing:after=99999999,zstd -o out/pass.slc big
expect_ok "and restores" "$SLUICE" -d out/pass.slc
ok "identically" cmp -s "$OUT" big

# Plugins being unusable does not matter for chains that do not use them.
expect_ok "zstd works with the test plugins on the path" "$SLUICE" -z -o out/z.slc small

done_testing
