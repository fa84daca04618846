#!/bin/sh
# frontend.t - the one front end (src/cli): usage errors name the token
# that is wrong and suggest a close spelling, strict numbers, -T is tar's
# everywhere, file:///PATH wherever a local path goes, -v and --progress
# in filter mode, and the build-tree ./sluice finding its own plugins.
. "$(dirname "$0")/lib.sh"
plan_no_plan

cd "$T_TMP" || bail_out "cd $T_TMP"
mkdata data 100000

# ---- the offending token ------------------------------------------------------
expect_fail 2 "-xYf: unknown letter in a cluster" "$SLUICE" -xYf a.slc x
is "$(cat "$ERR")" "sluice: usage: unknown option '-Y' (in '-xYf'): see sluice --help" \
    "... names the letter and the cluster, not argv[0]"
expect_fail 2 "-xQf" "$SLUICE" -xQf a.slc x
nok "... never names 'sluice' as the option" grep -q "option 'sluice'" "$ERR"
expect_fail 2 "mount (no such command)" "$SLUICE" mount --from c
is "$(cat "$ERR")" "sluice: usage: no such command 'mount': see sluice --help" \
    "... says no such command"
expect_fail 2 "backpu" "$SLUICE" backpu --to c x
like "$(cat "$ERR")" "*no such command 'backpu' (did you mean 'backup'?)*" \
    "... and suggests the command close to it"
expect_fail 2 "--form x" "$SLUICE" --form x
like "$(cat "$ERR")" "*unknown option '--form' (did you mean '--from'?)*" \
    "--form suggests --from"
expect_fail 2 "--zzzzzzzz: nothing close" "$SLUICE" --zzzzzzzz
is "$(cat "$ERR")" "sluice: usage: unknown option '--zzzzzzzz': see sluice --help" \
    "... and suggests nothing when nothing is close"
expect_fail 2 "--to in filter mode" "$SLUICE" -z --to x data
like "$(cat "$ERR")" "*option '--to' does not apply to filter and tar modes*" \
    "an option of another command says so"
expect_fail 2 "-z on restore" "$SLUICE" restore -z --from c -C d
like "$(cat "$ERR")" "*option '-z' does not apply to restore*" "... for a command too"
expect_fail 2 "stages with an argument" "$SLUICE" stages extra
like "$(cat "$ERR")" "*'extra'*" "... names the argument"

# ---- strict numbers ---------------------------------------------------------------
expect_fail 2 "filter --passphrase-fd abc" "$SLUICE" -e --passphrase-fd abc -o x data
like "$(cat "$ERR")" "*--passphrase-fd: 'abc'*" "... names the token"
expect_fail 2 "backup --passphrase-fd abc" "$SLUICE" backup --passphrase-fd abc --to c data
like "$(cat "$ERR")" "*--passphrase-fd: 'abc'*" "... the same for backup"
expect_fail 2 "--passphrase-fd 3x" "$SLUICE" backup --passphrase-fd 3x --to c data
expect_fail 2 "--object-size overflow" "$SLUICE" backup --object-size 99999999999G --to c data
like "$(cat "$ERR")" "*--object-size: '99999999999G'*" "... names the token"
expect_fail 2 "--object-size 18446744073709551616" "$SLUICE" backup --object-size 18446744073709551616 --to c data
expect_fail 2 "--object-size 0" "$SLUICE" backup --object-size 0 --to c data
expect_fail 2 "--object-size 10X" "$SLUICE" backup --object-size 10X --to c data
ok "no collection made by a refused command" test ! -e c
expect_fail 2 "--zstd=3x" "$SLUICE" --zstd=3x <data
expect_fail 2 "-99999999999999999999" "$SLUICE" -99999999999999999999 <data
like "$(cat "$ERR")" "*'-99999999999999999999': not a zstd level*" "an overflowing level is refused"

# ---- --chain: no empty field -----------------------------------------------------------
expect_fail 2 "--chain zstd::level=3" "$SLUICE" --chain zstd::level=3 <data
like "$(cat "$ERR")" "*empty parameter in 'zstd::level=3'*" "... names the stage item"
expect_fail 2 "--chain zstd:" "$SLUICE" --chain zstd: <data

# ---- levels: the zstd stage's own message -----------------------------------------
expect_fail 2 "--zstd=25 on a new collection" "$SLUICE" backup --zstd=25 --to col data
like "$(cat "$ERR")" "*zstd: level '25' out of range*" "... prints the stage's message"

# ---- -T is tar's; threads are --threads ---------------------------------------------
expect_fail 2 "-T 4 in filter mode" "$SLUICE" -z -T 4 <data
is "$(cat "$ERR")" "sluice: usage: -T is tar's --files-from; threads are --threads: see sluice --help" \
    "... says what -T is and how threads are spelled"
expect_ok "--threads 2" "$SLUICE" -z --threads 2 -o th.slc data
printf 'data\n' >list
expect_ok "-c -T LIST" "$SLUICE" -c -T list -f tl.slc
run "$SLUICE" -tf tl.slc
is "$(cat "$OUT")" "data" "-T FILE lists the paths to archive"

# ---- file:///PATH ---------------------------------------------------------------------
expect_ok "-o file:///PATH" "$SLUICE" -z -o "file://$T_TMP/fu.slc" data
ok "... writes PATH" test -s fu.slc
expect_ok "-d file:///PATH" "$SLUICE" -d -o "file://$T_TMP/fu.out" "file://$T_TMP/fu.slc"
ok "... reads PATH" cmp -s fu.out data
expect_ok "-cf file:///PATH" "$SLUICE" -cf "file://$T_TMP/fa.slc" data
expect_ok "-tf file:///PATH" "$SLUICE" -tf "file://$T_TMP/fa.slc"
run "$SLUICE" backup -q --to "file://$T_TMP/fcol" data
is "$RC" 0 "backup --to file:///PATH"
ok "... makes the collection at PATH" test -f fcol/SLUICE-COLLECTION
run "$SLUICE" verify -q --from "file://$T_TMP/fcol"
is "$RC" 0 "verify --from file:///PATH"

# ---- -v and --progress in filter mode ---------------------------------------------------
run "$SLUICE" -v -z -o v.slc data
is "$RC" 0 "-v -z exits 0"
like "$(cat "$ERR")" "sluice: chain: zstd level=3*" "-v names the chain"
like "$(cat "$ERR")" "*sluice: 97.7 KiB in -> * out*" "-v ends with the byte counts"
run "$SLUICE" -d -v v.slc
like "$(cat "$ERR")" "*sluice: * in -> 97.7 KiB out*" "-d -v: the byte counts too"
run "$SLUICE" -z --progress -o p.slc data
like "$(cat "$ERR")" "sluice: 97.7 KiB in -> * out*" \
    "--progress on a run shorter than a second prints the summary"
run "$SLUICE" -z -o q.slc data
is "$(cat "$ERR")" "" "without -v or --progress: silent"

# ---- sluice stages: long stage names line up --------------------------------------------
if command -v cc >/dev/null 2>&1; then
    mkdir longname
    cat >longname/long.c <<'EOC'
#include <sluice/plugin.h>
static int o(const sluice_stage_args *a, void **c, sluice_error *e)
{ (void)a; (void)e; *c = 0; return 0; }
static int r(void *c, sluice_input *i, sluice_output *out, sluice_error *e)
{ (void)c; (void)i; (void)out; (void)e; return 0; }
static void x(void *c) { (void)c; }
static const sluice_stage stages[] = {{"a-rather-long-stage-name", "long",
    SLUICE_ROLE_TRANSFORM, SLUICE_ROLE_TRANSFORM, 0, o, r, 0, x}};
static const sluice_plugin plugin = SLUICE_PLUGIN_INIT("long", "1", stages);
SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void) { return &plugin; }
EOC
    if cc -shared -fPIC -I"$SLUICE_SRCDIR/include" -o longname/long.so longname/long.c 2>longname/cc.err; then
        run env SLUICE_PLUGIN_PATH="$T_TMP/longname:$SLUICE_PLUGIN_PATH" "$SLUICE" stages
        head_col=$(head -n 1 "$OUT" | awk '{ print index($0, "BACKUP") }')
        row_col=$(grep '^a-rather-long-stage-name ' "$OUT" | awk '{ print index($0, "transform") }')
        is "$row_col" "$head_col" "a 24-character stage name: the BACKUP column lines up"
    else
        skip 1 "cannot build a test plugin: $(head -n 1 longname/cc.err)"
    fi
else
    skip 1 "no cc"
fi

# ---- the build tree's ./sluice finds its plugins ---------------------------------------
case $SLUICE in
*/sluice) top=${SLUICE%/sluice} ;;
*) top= ;;
esac
if [ -n "$top" ] && [ -d "$top/plugins/.libs" ] &&
    [ "$(cd "$top" && pwd -P)" = "$(cd "$(dirname "$SLUICE")" && pwd -P)" ]; then
    run env -u SLUICE_PLUGIN_PATH "$SLUICE" -z -o bt.slc data
    is "$RC" 0 "./sluice of the build tree runs without SLUICE_PLUGIN_PATH"
    run env -u SLUICE_PLUGIN_PATH "$SLUICE" stages
    like "$(cat "$OUT")" "*zstd *$top/plugins/.libs/zstd.so*" \
        "... loading the plugins built beside it"
    cp "$SLUICE" ./sluice-copy
    run env -u SLUICE_PLUGIN_PATH ./sluice-copy stages
    nok "a copy elsewhere does not look in the build tree" grep -q "$top/plugins/.libs" "$OUT"
else
    skip 3 "not an in-tree build"
fi

done_testing
