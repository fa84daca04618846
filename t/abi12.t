#!/bin/sh
# abi12.t - plugin ABI 1.2 as users meet it (issue 13):
#
#   - declared keys: a misspelled parameter is refused by the host, naming
#     the stage, the key and the closest declared one (exit 2); an unknown
#     parameter in a stream header is corrupt input (exit 4);
#   - `sluice stages -v` / `sluice stages NAME` show every built-in
#     stage's keys; a stage name longer than 12 characters keeps the table
#     aligned (issue 18);
#   - the key is derived once: -vv prints exactly one "key derived" per
#     run, also for decrypt-object --encryption-info (the aes stage reads
#     that file itself now).
. "$(dirname "$0")/lib.sh"
plan_no_plan

cd "$T_TMP" || bail_out "cd $T_TMP"
SLUICE_PASSPHRASE='abi 1.2'
export SLUICE_PASSPHRASE
mktext plain 300000

# ---- declared keys ---------------------------------------------------------------------
expect_fail 2 "--chain zstd:levle=3" "$SLUICE" --chain zstd:levle=3 -o x.slc plain
is "$(cat "$ERR")" "sluice: zstd: unknown parameter 'levle' (did you mean 'level'?)" \
    "... names the stage, the key and the closest declared one"
expect_fail 2 "--chain aes-256-gcm:itre=100000" \
    "$SLUICE" --chain aes-256-gcm:itre=100000 -o x.slc plain
like "$(cat "$ERR")" "*aes-256-gcm: unknown parameter 'itre' (did you mean 'iter'?)" \
    "... with the hint"
expect_fail 2 "--chain aes-256-gcm:kdf=x: kdf is a restore-only key" \
    "$SLUICE" --chain aes-256-gcm:kdf=x -o x.slc plain
"$SLUICE" -z -o z.slc plain || bail_out "cannot make a stream"
sed '2s/^zstd level=3$/zstd level=3 lvl=1/' z.slc >bad.slc
expect_fail 4 "a header line with an undeclared key" "$SLUICE" -d -o out bad.slc
like "$(cat "$ERR")" "*zstd: unknown header parameter 'lvl'*" "... says which"

# (No passphrase in the environment: stages reads none, and under
# LeakSanitizer a run that took SLUICE_PASSPHRASE and loaded every plugin
# crashes LSan's exit-time tracer: noted open in the closing note.)
unset SLUICE_PASSPHRASE
expect_ok "sluice stages zstd" "$SLUICE" stages zstd
like "$(cat "$OUT")" "*param  level *option threads *" "... shows its keys"
expect_ok "sluice stages -v" "$SLUICE" stages -v
for want in "option path" "option offset" "option exclusive" "param  level" \
    "param  iter" "param  salt" "param  kdf" "option encryption-info" \
    "option no-recursion" "option files-from" "option list"; do
    like "$(cat "$OUT")" "*$want *" "stages -v lists $want"
done
expect_fail 2 "sluice stages nosuch" "$SLUICE" stages nosuch

# A stage with a long name, built from the public header alone.
if command -v "${CC:-cc}" >/dev/null 2>&1; then
    mkdir longname
    cat >longname/long.c <<'C'
#include <sluice/plugin.h>
static int o(const sluice_stage_args *a, void **c, sluice_error *e)
{ (void)a; (void)e; *c = 0; return 0; }
static int r(void *c, sluice_input *i, sluice_output *u, sluice_error *e)
{ (void)c; (void)i; (void)u; (void)e; return 0; }
static void x(void *c) { (void)c; }
static const sluice_stage stages[] = {{"a-rather-long-stage-name", "long",
    SLUICE_ROLE_TRANSFORM, SLUICE_ROLE_TRANSFORM, 0, o, r, 0, x, 0, 0}};
static const sluice_plugin p = SLUICE_PLUGIN_INIT("l", "1", stages);
SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void) { return &p; }
C
    if "${CC:-cc}" -shared -fPIC -I"$SLUICE_SRCDIR/include" \
        -o longname/a-rather-long-stage-name.so longname/long.c 2>cc.err; then
        SLUICE_PLUGIN_PATH="$T_TMP/longname:$SLUICE_PLUGIN_PATH" run "$SLUICE" stages
        # BACKUP starts in the same column in the title and in every row.
        cols=$(awk 'NR == 1 { print index($0, "BACKUP") }
            /^[a-z]/ && !/^\(/ { print index($0, $2) }' "$OUT" | sort -u | wc -l)
        is "$cols" 1 "a 24-character stage name keeps the columns aligned"
        like "$(cat "$OUT")" "*a-rather-long-stage-name transform*" \
            "... and is printed whole"
    else
        diag_file cc.err "cc"
        skip 2 "cannot build a test plugin"
    fi
else
    skip 2 "no C compiler"
fi

# ---- the key is derived once per run -----------------------------------------------
SLUICE_PASSPHRASE='abi 1.2'
export SLUICE_PASSPHRASE
expect_ok "-e" "$SLUICE" -e -o e.slc plain
run "$SLUICE" -vv -e -o e2.slc plain
is "$(grep -c 'key derived' "$ERR")" 1 "-vv -e: exactly one 'key derived'"
run "$SLUICE" -vv -d -o back e.slc
is "$RC" 0 "-vv -d restores"
is "$(grep -c 'key derived' "$ERR")" 1 "-vv -d: exactly one 'key derived'"
h=$(header_len e.slc)
tail -c +$((h + 1)) e.slc >bare.obj
salt=$(sed -n 2p e.slc | sed 's/.*salt=//')
python3 -c 'import sys; open("EI","wb").write(b"\x12\x10" + bytes.fromhex(sys.argv[1]))' "$salt"
run "$SLUICE" decrypt-object -vv --encryption-info EI -o back2 bare.obj
is "$RC" 0 "decrypt-object --encryption-info: the stage reads the file"
ok "... and decrypts" cmp -s plain back2
is "$(grep -c 'key derived' "$ERR")" 1 "... deriving once"
printf 'junk' >EI.bad
expect_fail 4 "a malformed ENCRYPTION-INFO" \
    "$SLUICE" decrypt-object --encryption-info EI.bad -o back3 bare.obj
like "$(cat "$ERR")" "sluice: aes-256-gcm: *ENCRYPTION-INFO*" "... refused by the aes stage"
expect_fail 3 "a missing ENCRYPTION-INFO" \
    "$SLUICE" decrypt-object --encryption-info nosuch -o back3 bare.obj

# A collection makes an engine run per object and record, in one session.
mkdir tree
for i in 1 2 3 4 5 6; do mkdata tree/f$i 70000; done
run "$SLUICE" backup --to "$T_TMP/coll" -e --object-size 100K -vv -C tree .
is "$RC" 0 "collection backup -e"
diag "$(find coll -type f | wc -l) objects"
is "$(grep -c 'key derived' "$ERR")" 1 "... derives the key once for all its objects"
mkdir back.tree
mkdir -p back.tree
run "$SLUICE" restore --from "$T_TMP/coll" -vv -C back.tree
is "$RC" 0 "collection restore"
is "$(grep -c 'key derived' "$ERR")" 1 "... derives the key once"
run "$SLUICE" verify --from "$T_TMP/coll" -vv
is "$(grep -c 'key derived' "$ERR")" 1 "verify derives the key once"

done_testing
