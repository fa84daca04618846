#!/bin/sh
# hostile.t - what `sluice -d` must refuse cleanly: random bytes, a corrupt
# or truncated body, too many stages, an oversize header, path-like stage
# names, other versions, bad MAC lines.  Each fails with the documented
# status (doc/EXIT.md, doc/FORMAT.md), exactly one line on stderr starting
# "sluice: ", and with -o leaves neither the output nor a temporary file.
. "$(dirname "$0")/lib.sh"
plan_no_plan

cd "$T_TMP" || bail_out "cd $T_TMP"
mkdir out

# refuse STATUS DESC FILE: -d from stdin, and -d -o with FILE as argument.
refuse() {
    expect_fail "$1" "$2: -d from stdin" "$SLUICE" -d <"$3"
    expect_fail "$1" "$2: -d -o FILE" "$SLUICE" -d -o out/result "$3"
    ok "$2: no output file" test ! -e out/result
    no_temp_files out "$2: no temporary file"
    # An existing output is left as it was.
    echo precious >out/kept
    run "$SLUICE" -d -o out/kept "$3"
    is "$(cat out/kept)" precious "$2: an existing -o target is untouched"
    rm -f out/kept
}

mkdata plain 300000
"$SLUICE" -z -o good.slc plain || bail_out "cannot make a stream"
hlen=$(header_len good.slc)
size=$(fsize good.slc)

# ---- not a sluice stream ------------------------------------------------------
mkdata random 1000000
refuse 4 "1 MB of random bytes" random
like "$(cat "$ERR")" "*not a sluice stream*" "random: says it is not a sluice stream"
: >empty
refuse 4 "empty input" empty
head -c 100 /dev/zero >zeros
refuse 4 "100 zero bytes" zeros
if zstd -q -c plain >bare.zst 2>/dev/null; then
    refuse 4 "a bare zstd stream" bare.zst
else
    skip 5 "zstd(1) not installed"
fi

# ---- damaged bodies ---------------------------------------------------------------
# Flip one byte in the middle of the body.
mid=$(((hlen + size) / 2))
{
    head -c "$mid" good.slc
    tail -c +$((mid + 1)) good.slc | head -c 1 | tr '\000-\377' '\377\000-\376'
    tail -c +$((mid + 2)) good.slc
} >corrupt.slc
ok "(corrupt.slc differs from good.slc in one byte)" \
    test "$(cmp -l good.slc corrupt.slc | wc -l)" = 1
refuse 4 "a body with one byte flipped" corrupt.slc
head -c $((size - 10)) good.slc >truncated.slc
refuse 4 "a body missing its last 10 bytes" truncated.slc
head -c $((hlen + 3)) good.slc >trunc3.slc
refuse 4 "a body of 3 bytes" trunc3.slc
head -c "$hlen" good.slc >headeronly.slc
refuse 4 "a header and no body" headeronly.slc
{ cat good.slc; printf 'trailing garbage'; } >trailing.slc
refuse 4 "garbage after the last frame" trailing.slc
{ head -c "$hlen" good.slc; head -c 200000 /dev/urandom; } >randbody.slc
refuse 4 "a random body" randbody.slc
# A frame whose window exceeds 2^27: refused rather than allocated (exit 6
# per doc/FORMAT.md section 2).
if command -v zstd >/dev/null 2>&1 &&
    head -c 1000000 /dev/urandom | zstd -q --long=30 -c >long.zst 2>/dev/null; then
    { printf 'sluice/1\nzstd level=3\n---\n'; cat long.zst; } >window.slc
    refuse 6 "a frame demanding a 1 GiB window" window.slc
else
    skip 5 "zstd(1) cannot make a --long=30 frame"
fi

# ---- bad headers ----------------------------------------------------------------
body=$(mktemp "$T_TMP/body.XXXXXX")
body_of good.slc >"$body"
# mkhdr FILE LINE...: header with these stage lines, then the good body.
mkhdr() {
    t_f=$1
    shift
    { printf 'sluice/1\n'; printf '%s\n' "$@"; printf -- '---\n'; cat "$body"; } >"$t_f"
}

# 40 stages.
set --
i=0
while [ $i -lt 40 ]; do set -- "$@" "zstd level=3"; i=$((i + 1)); done
mkhdr forty.slc "$@"
refuse 4 "a 40-stage header" forty.slc
like "$(cat "$ERR")" "*32*" "40 stages: names the limit of 32"
set --
i=0
while [ $i -lt 33 ]; do set -- "$@" "zstd"; i=$((i + 1)); done
mkhdr thirtythree.slc "$@"
refuse 4 "a 33-stage header" thirtythree.slc

# Oversize: more than 64 KiB of stage lines before the terminator.
{
    printf 'sluice/1\n'
    i=0
    while [ $i -lt 2000 ]; do
        printf 'zstd level=3 padding=%s\n' 0123456789012345678901234567890123456789
        i=$((i + 1))
    done
    printf -- '---\n'
    cat "$body"
} >oversize.slc
ok "(oversize header is over 64 KiB)" test "$(header_len oversize.slc 1000000)" -gt 65536
refuse 4 "an oversize header (~130 KiB of stage lines)" oversize.slc
{ printf 'sluice/1\nzstd level=3 x='; head -c 100000 /dev/zero | tr '\0' 'a'; printf '\n---\n'; cat "$body"; } >longline.slc
refuse 4 "a 100 KB stage line" longline.slc
{ printf 'sluice/1\n'; head -c 2000000 /dev/zero | tr '\0' 'a'; } >noterm.slc
refuse 4 "2 MB without a newline or terminator" noterm.slc
like "$(cat "$ERR")" "*larger than*" "says the header is too large"

# Path-like stage names: refused as a format error before the loader runs.
# A plugin is planted where the name, used as a path, would lead; loading
# it would create $SLUICE_T_MARKER.
if [ -f "$SLUICE_TEST_PLUGINS/badabi.so" ]; then
    mkdir -p plug/a/b
    cp "$SLUICE_TEST_PLUGINS/badabi.so" plug/evil.so
    cp "$SLUICE_TEST_PLUGINS/badabi.so" "$T_TMP/x.so"
    SLUICE_T_MARKER=$T_TMP/marker
    export SLUICE_T_MARKER
    saved_path=$SLUICE_PLUGIN_PATH
    SLUICE_PLUGIN_PATH=$T_TMP/plug/a/b:$SLUICE_PLUGIN_PATH
    for name in '../../evil' '../../tmp/evil' "$T_TMP/x" '/tmp/x' '..' '.evil' 'Evil' 'a/b'; do
        mkhdr pathlike.slc "zstd level=3" "$name"
        refuse 4 "stage name '$name'" pathlike.slc
        like "$(cat "$ERR")" "*invalid stage name*" "'$name': says the name is invalid"
    done
    ok "no planted plugin was loaded" test ! -e "$T_TMP/marker"
    # Control: the marker does appear when the plugin really loads.
    mkhdr badabi.slc "badabi"
    SLUICE_PLUGIN_PATH=$SLUICE_TEST_PLUGINS:$saved_path
    run "$SLUICE" -d badabi.slc
    ok "(control: a plugin loaded by name does create the marker)" test -e "$T_TMP/marker"
    SLUICE_PLUGIN_PATH=$saved_path
    unset SLUICE_T_MARKER
else
    skip 1 "test plugins not built"
fi

# Other refusals of doc/FORMAT.md.
printf 'sluice/2\nzstd level=3\n---\n' >v2.slc
cat "$body" >>v2.slc
refuse 4 "a sluice/2 stream" v2.slc
like "$(cat "$ERR")" "*unsupported*sluice/2*" "sluice/2: says unsupported version"
mkhdr dup.slc "zstd level=3 level=4"
refuse 4 "a duplicate key" dup.slc
mkhdr tab.slc "zstd level=3	"
refuse 4 "a tab in a stage line" tab.slc
mkhdr utf8.slc "zstd level=3 note=caf$(printf '\303\251')"
refuse 4 "UTF-8 in a value" utf8.slc
mkhdr badkey.slc "zstd Level=3"
refuse 4 "an uppercase key" badkey.slc
{ printf 'sluice/1\nzstd level=3\n--- ABCD\n'; cat "$body"; } >upmac.slc
refuse 4 "an uppercase MAC" upmac.slc
{ printf 'sluice/1\nzstd level=3\n---x\n'; cat "$body"; } >dashx.slc
refuse 4 "a '---x' terminator" dashx.slc
printf 'sluice/1\nzstd lev' >trunchdr.slc
refuse 4 "a truncated header" trunchdr.slc
{ printf 'sluice/1\r\nzstd level=3\r\n---\r\n'; cat "$body"; } >crlf.slc
refuse 4 "a CRLF header" crlf.slc
mkhdr unknownparam.slc "zstd level=3 dictionary=x"
refuse 4 "a zstd parameter this version does not know" unknownparam.slc

# A MAC although no stage in the chain authenticates: tampered (exit 5).
{ printf 'sluice/1\nzstd level=3\n--- 00112233445566778899aabbccddeeff\n'; cat "$body"; } >mac.slc
refuse 5 "a MAC on a chain that cannot check it" mac.slc

# A well-formed name that is not installed: plugin error (exit 6).
mkhdr nosuch.slc "zstd level=3" "nosuchstage"
refuse 6 "a stage that is not installed" nosuch.slc
like "$(cat "$ERR")" "*nosuchstage*not found*" "names the missing stage"

# A stage that cannot be a transform on restore (file is an endpoint).
mkhdr filestage.slc "file"
expect_fail 2 "'file' as a transform in a header fails cleanly" "$SLUICE" -d filestage.slc

# An empty chain is valid: the body is the data.
printf 'sluice/1\n---\nhello, world\n' >nochain.slc
expect_ok "a header without stages restores its body as is" "$SLUICE" -d nochain.slc
is "$(cat "$OUT")" "hello, world" "the body comes out unchanged"

# doc/FORMAT.md: the level is informational for the reader ("any valid
# zstd stream decodes"), so a level this build would not write still reads.
mkhdr level22.slc "zstd level=22"
run "$SLUICE" -d level22.slc
is "$RC" 0 "a body recorded as level=22 decodes (level is informational)" ||
    diag_file "$ERR" stderr

# The header trickling in through a pipe, byte by byte: fine.
{
    for c in s l u i c e / 1; do printf %s "$c"; sleep 0.05; done
    printf '\nzstd level=3\n'
    sleep 0.2
    printf -- '---\n'
    cat "$body"
} | timeout -k 5 "$T_TIMEOUT" "$SLUICE" -d >"$OUT" 2>"$ERR"
RC=$?
is "$RC" 0 "a header arriving in small pieces through a pipe"
ok "decodes" cmp -s "$OUT" plain

done_testing
