#!/bin/sh
# cli.t - the command line: --help, --version, usage errors, the terminal
# guard, `sluice inspect`, `sluice stages`.
. "$(dirname "$0")/lib.sh"
plan_no_plan

cd "$T_TMP" || bail_out "cd $T_TMP"
mkdata data 100000

# ---- --help / --version -----------------------------------------------------
for opt in --help -h; do
    expect_ok "$opt exits 0, quietly on stderr" "$SLUICE" $opt
    like "$(cat "$OUT")" "*Usage:*sluice -d*" "$opt prints the usage on stdout"
done
like "$(cat "$OUT")" "*Exit status*" "--help documents the exit statuses"
expect_ok "--version exits 0" "$SLUICE" --version
like "$(cat "$OUT")" "sluice [0-9]*" "--version prints 'sluice VERSION'"
like "$(host_abi)" "[0-9]*.[0-9]*" "--version names the plugin ABI"
expect_ok "-V exits 0" "$SLUICE" -V

# ---- usage errors: status 2, one line ------------------------------------------
expect_fail 2 "unknown option" "$SLUICE" --no-such-option </dev/null
like "$(cat "$ERR")" "sluice: usage: *" "usage errors say 'usage'"
expect_fail 2 "unknown short option" "$SLUICE" -Y </dev/null
expect_fail 2 "option missing its argument" "$SLUICE" -z -o </dev/null
expect_fail 2 "nothing to do (no -z, --chain or -d)" "$SLUICE" <data
expect_fail 2 "two input files" "$SLUICE" -z data data
expect_fail 2 "-d with -z" "$SLUICE" -d -z <data
expect_fail 2 "-d with --chain" "$SLUICE" -d --chain zstd <data
expect_fail 2 "--chain with -z" "$SLUICE" -z --chain zstd <data
expect_fail 2 "--zstd=abc" "$SLUICE" --zstd=abc <data
expect_fail 2 "level -0" "$SLUICE" -0 <data
expect_fail 2 "level 99" "$SLUICE" -99 <data
expect_fail 2 "zstd level 20 (the stage allows 1..19)" "$SLUICE" -20 -o out20 <data
ok "no output file after a refused level" test ! -e out20
is "$(cat "$ERR")" "sluice: zstd: level '20' out of range: 1..19, or negative for fast levels" \
    "the zstd stage itself refuses the level, giving the range it accepts"
expect_fail 2 "--chain zstd:level=22" "$SLUICE" --chain zstd:level=22 <data
like "$(cat "$ERR")" "sluice: zstd: level '22' out of range: 1..19, *" \
    "... and the stage says the same"
expect_fail 2 "--chain ''" "$SLUICE" --chain '' <data
expect_fail 2 "--chain 'zstd,'" "$SLUICE" --chain 'zstd,' <data
expect_fail 2 "--chain with a path-like name" "$SLUICE" --chain ../x <data
expect_fail 2 "--chain zstd:level=abc" "$SLUICE" --chain zstd:level=abc <data
expect_fail 2 "--chain zstd:nosuchparam=1" "$SLUICE" --chain zstd:nosuchparam=1 <data
expect_fail 2 "--chain file (a source/sink, not a transform)" "$SLUICE" --chain file <data
expect_fail 2 "--threads with a bad count" "$SLUICE" -z --threads many <data
expect_fail 2 "-c without -f" "$SLUICE" -c data
expect_fail 2 "inspect with two files" "$SLUICE" inspect data data
expect_fail 2 "stages with an argument" "$SLUICE" stages extra

# ---- input and output errors: status 3 --------------------------------------
expect_fail 3 "missing input file" "$SLUICE" -z no-such-file
like "$(cat "$ERR")" "*no-such-file*" "the message names the file"
expect_fail 3 "output in a missing directory" "$SLUICE" -z -o no/such/dir/out data
expect_fail 3 "-d of a missing file" "$SLUICE" -d no-such-file
expect_fail 3 "inspect of a missing file" "$SLUICE" inspect no-such-file

# ---- '-' means stdin / stdout ------------------------------------------------
run "$SLUICE" -z - <data
is "$RC" 0 "'-' as the input file reads stdin"
cp "$OUT" dash.slc
run "$SLUICE" -d -o - dash.slc
is "$RC" 0 "-o - writes stdout"
ok "and round-trips" cmp -s "$OUT" data

# ---- --progress: never on stdout; a percentage when the size is known --------
# The reader starts two seconds late, so the run outlasts the first
# second (nothing is drawn before); stderr is a file: a line a second.
mkdata pdata 12000000
"$SLUICE" -1 -o pdata.slc pdata
timeout 60 "$SLUICE" -d --progress pdata.slc 2>perr | { sleep 2; cat >pout; }
ok "-d --progress: stdout is the data, byte for byte" cmp -s pout pdata
like "$(head -n 1 perr)" "sluice: * in -> * out  (*x)  */s  0:0*  ?*%  ETA *:*" \
    "-d FILE --progress: bytes, ratio, rate, elapsed, percentage, ETA"
like "$(tail -n 1 perr)" "sluice: 11.* MiB in -> 11.* MiB out *  100.0%" \
    "-d FILE --progress: the last line: 100.0% of the file, no ETA"
nok "-d --progress: no other line on stderr" grep -qv '^sluice: .* in -> ' perr
timeout 60 "$SLUICE" -1 --progress <pdata 2>perr | { sleep 2; cat >pout.slc; }
like "$(cat perr)" "*%  ETA *" "-z --progress: stdin a regular file, so a percentage"
run "$SLUICE" -d -o pout pout.slc
ok "-z --progress: stdout is the stream" cmp -s pout pdata
timeout 60 "$SLUICE" -d -q --progress pdata.slc 2>perr | { sleep 2; cat >pout; }
ok "-d -q --progress: -q silences it" test ! -s perr
rm -f pdata pdata.slc pout pout.slc perr

# ---- terminals -----------------------------------------------------------------
# script(1) gives sluice a terminal; util-linux script -e returns the
# child's status.
if command -v script >/dev/null 2>&1 &&
    script -qec true /dev/null </dev/null >/dev/null 2>&1; then
    tty_run() { # tty_run 'shell command' -> RC, tty output in $OUT
        RC=0
        timeout -k 5 30 script -qec "$1" /dev/null </dev/null >"$OUT" 2>&1 || RC=$?
    }
    tty_run "'$SLUICE' -z <'$T_TMP/data'"
    is "$RC" 2 "-z to a terminal is refused with status 2"
    like "$(tr -d '\r' <"$OUT")" "sluice: *terminal*" "and says why"
    nok "no compressed bytes reached the terminal" grep -q 'sluice/1' "$OUT"
    tty_run "'$SLUICE' --chain zstd <'$T_TMP/data'"
    is "$RC" 2 "--chain to a terminal is refused too"
    tty_run "'$SLUICE' -z -o '$T_TMP/tty.slc' <'$T_TMP/data'"
    is "$RC" 0 "-z -o FILE with a terminal around is fine"
    ok "and writes FILE" test -s "$T_TMP/tty.slc"
    tty_run "'$SLUICE' -d"
    is "$RC" 2 "-d reading a terminal is refused with status 2"
    tty_run "'$SLUICE' -z -F <'$T_TMP/data'"
    is "$RC" 0 "-F overrides the terminal guard"
    like "$(head -c 100 "$OUT")" "*sluice/1*" "and the stream goes to the terminal"
    tty_run "'$SLUICE' -d <'$T_TMP/dash.slc'"
    is "$RC" 0 "-d may write to a terminal (it is the original data)"
else
    skip 10 "script(1) not available"
fi

# ---- sluice stages ---------------------------------------------------------------
expect_ok "sluice stages exits 0" "$SLUICE" stages
stages=$(cat "$OUT")
like "$stages" "*file *$SLUICE_PLUGIN_PATH/file.so*" "lists file with its path"
like "$stages" "*zstd *$SLUICE_PLUGIN_PATH/zstd.so*" "lists zstd with its path"
zline=$(grep '^zstd ' "$OUT" | head -n 1)
like "$zline" "zstd *[A-Za-z]*zstd.so" "the zstd line has a summary"

# ---- sluice inspect --------------------------------------------------------------
"$SLUICE" -9 -o nine.slc data
expect_ok "inspect FILE exits 0" "$SLUICE" inspect nine.slc
insp=$(cat "$OUT")
like "$insp" "*sluice/1*" "inspect names the format"
like "$insp" "*1. zstd*" "inspect lists the stage"
like "$insp" "*level*9*" "inspect shows the stage's parameters"
like "$insp" "*mac:*(none)*" "inspect says there is no MAC"
like "$insp" "*header:*26 bytes*" "inspect shows the header size"
expect_ok "inspect reads stdin" "$SLUICE" inspect <nine.slc
is "$(cat "$OUT")" "$insp" "same output from stdin"
expect_ok "inspect - reads stdin" "$SLUICE" inspect - <nine.slc
"$SLUICE" --chain zstd:level=1,zstd:level=2 -o two.slc data
run "$SLUICE" inspect two.slc
like "$(cat "$OUT")" "*1. zstd*2. zstd*" "inspect shows two stages in order"
expect_fail 4 "inspect of random bytes" "$SLUICE" inspect data
expect_fail 4 "inspect of an empty file" "$SLUICE" inspect </dev/null
mkdata big 3000000
"$SLUICE" -z -o big.slc big
t0=$(date +%s)
expect_ok "inspect of a 3 MB stream" "$SLUICE" inspect big.slc
t1=$(date +%s)
ok "returns at once without reading the body (<5 s)" test $((t1 - t0)) -lt 5
# inspect loads no transform: it only reads the header.
printf 'sluice/1\nnosuchstage k=v\n---\nbody' >unknown.slc
expect_ok "inspect of a stream naming a stage that is not installed" \
    "$SLUICE" inspect unknown.slc
like "$(cat "$OUT")" "*nosuchstage*k*v*" "shows it"

done_testing
