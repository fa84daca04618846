#!/bin/sh
# sdk.t - the plugin SDK as a plugin author meets it (issue 9):
#
#   * `make install DESTDIR=...` installs the binary, the stages, the header,
#     sluice.pc, the man pages and the bash completion;
#   * examples/armor builds out of tree against the installed SDK only
#     (pkg-config, no file from the source tree but armor.c);
#   * the installed sluice runs --chain zstd,aes-256-gcm,armor and back
#     (0 B, 1 B, ..., 1 MiB), the armored text is printable ASCII lines,
#     and truncated or damaged armor fails cleanly (exit 4, one line);
#   * `sluice stages` names the file each stage comes from; a plugin in
#     ~/.local/lib/sluice/plugins is found without SLUICE_PLUGIN_PATH;
#   * ABI 1.2: armor declares its keys; a misspelled one is refused by the
#     host (exit 2) with a hint, and `sluice stages armor` shows them;
#   * ABI compatibility: t/plugins/oldstage.c, built against ABI 1.0 with
#     its own, shortest acceptable copy of struct sluice_stage, loads and
#     works; a stage struct shorter than the host's minimum is refused.
#     (A newer major or minor being refused is t/plugins.t's job.)
#
# Works from a read-only source tree (make distcheck): everything is built
# in $T_TMP.
. "$(dirname "$0")/lib.sh"
plan_no_plan

builddir=$(cd "$(dirname "$SLUICE")" && pwd)
srcdir=$SLUICE_SRCDIR
MAKE=${MAKE:-make}
CC=${CC:-cc}

[ -f "$builddir/Makefile" ] || skip_all "no Makefile beside $SLUICE: needs a configured build tree"
command -v "$MAKE" >/dev/null 2>&1 || skip_all "no make"
command -v "$CC" >/dev/null 2>&1 || skip_all "no C compiler ($CC)"
command -v pkg-config >/dev/null 2>&1 || skip_all "no pkg-config"
[ -f "$srcdir/examples/armor/armor.c" ] || skip_all "no examples/armor in $srcdir"

cd "$T_TMP" || bail_out "cd $T_TMP"

# A sub-make must not join the jobserver or inherit variables of the
# `make check` that runs us.
run_make() {
    run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES "$MAKE" "$@"
}

# ---- install into a DESTDIR ------------------------------------------------------
DEST=$T_TMP/dest
T_TIMEOUT=600 run_make -C "$builddir" install DESTDIR="$DEST"
if [ "$RC" != 0 ]; then
    fail "make install DESTDIR=... (status $RC)"
    diag_file "$OUT" stdout
    diag_file "$ERR" stderr
    done_testing
fi
pass "make install DESTDIR=..."

# Where things went: from what was installed, not from a guess of the
# prefix (distcheck installs under its own).
find_one() { # find_one PATTERN: the first installed file whose path matches
    find "$DEST" -path "$1" -type f 2>/dev/null | head -n 1
}
SL=$(find_one '*/bin/sluice')
pcfile=$(find_one '*/pkgconfig/sluice.pc')
header=$(find_one '*/include/sluice/plugin.h')
zstd_so=$(find_one '*/sluice/zstd.so')
ok "installed: bin/sluice" test -x "$SL"
ok "installed: sluice/plugin.h" test -n "$header"
ok "installed: sluice.pc" test -n "$pcfile"
ok "installed: the stage plugins" test -n "$zstd_so"
[ -x "$SL" ] && [ -n "$pcfile" ] && [ -n "$header" ] && [ -n "$zstd_so" ] ||
    bail_out "the installation is incomplete"
plugindir=$(dirname "$zstd_so")
for st in file zstd aes-256-gcm archive; do
    ok "installed: $st.so" test -f "$plugindir/$st.so"
done
is "$(find "$plugindir" -name '*.la' | tr '\n' ' ')" "" \
    "no libtool archive (*.la) in the plugin directory"
ok "installed: man page sluice(1)" test -n "$(find_one '*/man1/sluice.1')"
ok "installed: man page sluice-plugin(7)" test -n "$(find_one '*/man7/sluice-plugin.7')"
ok "installed: bash completion" test -n "$(find_one '*/bash-completion/completions/sluice')"
# sluice(1) names every option of src/cli.c (as roff: \-\-chain, \-z).
if [ -f "$srcdir/src/cli.c" ]; then
    man1=$srcdir/doc/sluice.1
    missing=
    for o in $(sed -n 's/^ *{"\([a-z0-9-]*\)", *[a-z_]*argument.*/\1/p' "$srcdir/src/cli.c"); do
        grep -qF -- "$(printf '%s' "--$o" | sed 's/-/\\-/g')" "$man1" || missing="$missing --$o"
    done
    for o in $(sed -n 's/.*getopt_long(argc, argv, "\([^"]*\)".*/\1/p' "$srcdir/src/cli.c" |
        tr -d ':' | sed 's/./& /g'); do
        grep -qE -- "\\\\-$o([^A-Za-z0-9]|\$)" "$man1" || missing="$missing -$o"
    done
    is "$missing" "" "sluice(1) documents every option of src/cli.c"
fi
if command -v groff >/dev/null 2>&1; then
    for m in $(find "$DEST" -path '*/man[17]/*' -type f); do
        w=$(groff -t -man -Tutf8 -ww -z "$m" 2>&1)
        is "$w" "" "$(basename "$m") renders without groff warnings"
    done
fi

# ---- pkg-config against the installed sluice.pc only ------------------------
# PKG_CONFIG_LIBDIR (not _PATH): no system directory is searched, so a
# sluice installed on this machine cannot stand in.  The SYSROOT maps the
# .pc's prefix into the DESTDIR; should a pkg-config not apply it, use a
# copy of sluice.pc whose prefix points into the DESTDIR instead.
PKG_CONFIG_LIBDIR=$(dirname "$pcfile")
PKG_CONFIG_SYSROOT_DIR=$DEST
export PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
unset PKG_CONFIG_PATH CPATH C_INCLUDE_PATH 2>/dev/null || :
cflags=$(pkg-config --cflags sluice 2>&1)
case $cflags in
*"$DEST"*) ;;
*)
    diag "pkg-config ignores PKG_CONFIG_SYSROOT_DIR ($cflags): relocating sluice.pc"
    mkdir -p pc
    sed "s|^prefix=|prefix=$DEST|" "$pcfile" >pc/sluice.pc
    PKG_CONFIG_LIBDIR=$T_TMP/pc
    unset PKG_CONFIG_SYSROOT_DIR
    cflags=$(pkg-config --cflags sluice 2>&1)
    ;;
esac
like "$cflags" "*-I$DEST/*" "pkg-config --cflags sluice points into the installation"
incdir=$(printf '%s' "$cflags" | sed 's/^ *-I//; s/ *$//')
ok "... where sluice/plugin.h is" test -f "$incdir/sluice/plugin.h"
pdir=$(pkg-config --variable=plugindir sluice)
case $pdir in
"$DEST"*) ;;
*) pdir=$DEST$pdir ;;
esac
is "$pdir" "$plugindir" "pkg-config --variable=plugindir sluice is where the stages are"
version=$("$SL" --version | sed -n 's/^sluice \([^ ]*\) .*/\1/p')
is "$(pkg-config --modversion sluice)" "$version" "sluice.pc has the version of sluice --version"

# The header alone, strictly: self-contained, C99 and C11, and C++.
printf '#include <sluice/plugin.h>\nint sdk_t_dummy;\n' >hdr.c
for std in c99 c11; do
    run "$CC" $cflags -std=$std -pedantic -Wall -Wextra -Werror -c -o hdr.o hdr.c
    is "$RC" 0 "sluice/plugin.h compiles alone with -std=$std -pedantic -Werror"
    [ "$RC" = 0 ] || diag_file "$ERR" "$CC"
done
if command -v c++ >/dev/null 2>&1; then
    run c++ $cflags -Wall -Wextra -Werror -x c++ -c -o hdr.o hdr.c
    is "$RC" 0 "sluice/plugin.h compiles as C++"
    [ "$RC" = 0 ] || diag_file "$ERR" c++
fi

# ---- build examples/armor out of tree, against the installed SDK ------------
mkdir armor
run_make -C armor -f "$srcdir/examples/armor/Makefile" CC="$CC" \
    CFLAGS="-O2 -g -Wall -Wextra -Werror"
is "$RC" 0 "examples/armor builds with its Makefile"
[ "$RC" = 0 ] || { diag_file "$OUT" stdout; diag_file "$ERR" stderr; }
like "$(cat "$OUT")" "*-shared*-fPIC*-I$DEST/*armor.c*" "with cc -shared -fPIC and the installed header"
case $(cat "$OUT") in
*"-I$srcdir"*) fail "and nothing from the source tree's include/" ;;
*) pass "and nothing from the source tree's include/" ;;
esac
[ -f armor/armor.so ] || bail_out "no armor.so"
if command -v nm >/dev/null 2>&1; then
    is "$(nm -D --defined-only armor/armor.so | awk '$2 ~ /^[TDBR]$/ { print $3 }')" \
        "sluice_plugin_entry" "armor.so exports sluice_plugin_entry and nothing else"
fi

# ---- the installed sluice with armor ----------------------------------------
SLUICE_PLUGIN_PATH=$T_TMP/armor:$plugindir
export SLUICE_PLUGIN_PATH
expect_ok "installed sluice stages" "$SL" stages
like "$(cat "$OUT")" "*
armor *transform*transform*ABI $(host_abi)*$T_TMP/armor/armor.so*" "lists armor (built for this ABI) and the file it comes from"
like "$(cat "$OUT")" "*
zstd *$plugindir/zstd.so*" "and the installed zstd, from the installed plugin directory"

printf 'correct horse battery staple\n' >pw
mkdata d0 0
mkdata d1 1
mkdata d2 2
mkdata d57 57
mkdata d58 58
mkdata d1M 1048576
for f in d0 d1 d2 d57 d58 d1M; do
    n=$(fsize $f)
    expect_ok "$n B: --chain zstd,aes-256-gcm,armor" \
        "$SL" --chain zstd,aes-256-gcm,armor --passphrase-file pw -o $f.txt $f
    # Printable ASCII (0x20-0x7e) and newlines only, ending in a newline.
    is "$(LC_ALL=C tr -d '\n -~' <$f.txt | wc -c | tr -d ' ')" 0 \
        "$n B: the output is printable ASCII"
    is "$(tail -c 1 $f.txt | od -An -c | tr -d ' ')" '\n' "$n B: ... in whole lines"
    expect_ok "$n B: sluice -d" "$SL" -d --passphrase-file pw -o $f.out $f.txt
    ok "$n B: restores the input" cmp -s $f $f.out
done

# The shape of the text: the sluice/1 header, then BEGIN, 76-column lines,
# a shorter last line, END.
t=d1M.txt
is "$(sed -n 3p $t)" "aes-256-gcm kdf=pbkdf2-sha256 iter=64000 salt=$(sed -n 3p $t | sed 's/.*salt=//')" \
    "the header lists aes-256-gcm"
is "$(sed -n 4p $t)" "armor" "armor records nothing in the header"
is "$(sed -n 6p $t)" "-----BEGIN SLUICE ARMOR-----" "the armor starts with a BEGIN line"
is "$(tail -n 1 $t)" "-----END SLUICE ARMOR-----" "and ends with an END line"
sed -n '7,$p' $t | sed '$d' >body.b64
is "$(sed '$d' body.b64 | awk 'length($0) != 76' | wc -l | tr -d ' ')" 0 "every line but the last has 76 columns"
last=$(tail -n 1 body.b64)
ok "the last one no more" test "${#last}" -le 76 -a "${#last}" -gt 0
if command -v base64 >/dev/null 2>&1; then
    is "$(base64 -d <body.b64 | head -c 7)" "encrypt" \
        "it is standard base64: base64 -d gives the encrypted object"
fi
like "$(sed -n 5p d0.txt)" "--- [0-9a-f]*" "0 B: the header ends with its MAC"
is "$(sed -n 6p d0.txt)" "-----BEGIN SLUICE ARMOR-----" "0 B: then BEGIN"
expect_ok "0 B: --chain armor alone" "$SL" --chain armor -o e.txt d0
is "$(cat e.txt)" "sluice/1
armor
---
-----BEGIN SLUICE ARMOR-----
-----END SLUICE ARMOR-----" "0 B: the header, BEGIN, END, nothing else"
expect_ok "0 B: and back" "$SL" -d -o e.out e.txt
ok "0 B: to nothing" test -f e.out -a ! -s e.out

# Text as mail leaves it: CRLF, indented, blank lines, re-wrapped to 64.
hlen=$(sed -n '1,5p' $t | wc -c | tr -d ' ')
{
    head -c "$hlen" $t
    printf '\r\n   \r\n'
    echo '  -----BEGIN SLUICE ARMOR-----  '
    tr -d '\n' <body.b64 | fold -w 64 | sed 's/^/ /; s/$/ \r/'
    printf '\n\r\n-----END SLUICE ARMOR-----\r\n\r\n'
} >mail.txt
expect_ok "armor with CRLF, blanks and 64 columns" "$SL" -d --passphrase-file pw -o mail.out mail.txt
ok "restores the input" cmp -s d1M mail.out
# The whole text with CRLF line endings: the sluice/1 header itself then
# has "\r\n", which is refused (doc/FORMAT.md section 1: no \r) with a
# message that says what happened and how an armored stream comes back.
sed 's/$/\r/' d1.txt >crlf.txt
expect_fail 4 "a stream converted to CRLF as a whole is refused" \
    "$SL" -d --passphrase-file pw -o crlf.out crlf.txt
like "$(cat "$ERR")" "sluice: header: line ends in CR: the stream was converted to CRLF text*dos2unix*" \
    "the message says the stream was converted to CRLF, and what to do"
is "$(wc -l <"$ERR" | tr -d ' ')" 1 "in one line"
ok "nothing written" test ! -e crlf.out
tr -d '\r' <crlf.txt >crlf-back.txt
expect_ok "converted back (dos2unix), the armored stream restores" \
    "$SL" -d --passphrase-file pw -o crlf.out crlf-back.txt
ok "to the input" cmp -s d1 crlf.out

# ---- truncated and damaged armor: exit 4, one line, nothing left behind ----
mkdir out
echo "previous" >out/keep
lines=$(wc -l <$t | tr -d ' ')
head -n $((lines - 1)) $t >cut-end.txt
expect_fail 4 "armor without its END line (cut at a line end)" \
    "$SL" -d --passphrase-file pw -o out/keep cut-end.txt
like "$(cat "$ERR")" "sluice: armor: truncated*END SLUICE ARMOR*" "says armor, truncated, END line"
is "$(cat out/keep)" "previous" "the -o target is left as it was"
no_temp_files out "no temporary file left"
head -n $((lines / 2)) $t >cut-half.txt
expect_fail 4 "armor cut in half" "$SL" -d --passphrase-file pw -o out/x cut-half.txt
like "$(cat "$ERR")" "sluice: armor: truncated*" "says truncated"
ok "no output file" test ! -e out/x
head -c $(($(fsize $t) - 100)) $t >cut-mid.txt
expect_fail 4 "armor cut inside a line" "$SL" -d --passphrase-file pw -o out/x cut-mid.txt
{ sed '$d' $t; echo '-----END SLUICE'; } >cut-marker.txt
expect_fail 4 "armor whose END line is cut short" "$SL" -d --passphrase-file pw -o out/x cut-marker.txt
{ sed '$d' $t | sed '$s/...$//'; echo '-----END SLUICE ARMOR-----'; } >lost.txt
expect_fail 4 "armor that lost characters before END" "$SL" -d --passphrase-file pw -o out/x lost.txt
sed '10s/^\(.\{20\}\)./\1*/' $t >bad.txt
expect_fail 4 "a character outside base64" "$SL" -d --passphrase-file pw -o out/x bad.txt
like "$(cat "$ERR")" "sluice: armor: line 5 of the armor: invalid character '\*'" \
    "names the line of the armor and the character"
{ cat $t; echo 'Regards, Alice'; } >trailer.txt
expect_fail 4 "text after the END line" "$SL" -d --passphrase-file pw -o out/x trailer.txt
sed '6d' $t >nobegin.txt
expect_fail 4 "no BEGIN line" "$SL" -d --passphrase-file pw -o out/x nobegin.txt
ok "no output file after any of them" test ! -e out/x
no_temp_files out "and no temporary file"
"$SL" --chain armor -o plain.txt d1
sed '2s/.*/armor cols=76/' plain.txt >newer.txt
expect_fail 4 "a header parameter armor does not know (a newer armor)" \
    "$SL" -d --passphrase-file pw -o out/x newer.txt
expect_fail 2 "armor:cols=5 (not a multiple of 4)" "$SL" --chain armor:cols=5 -o out/x d1
expect_fail 2 "armor:foo=1" "$SL" --chain armor:foo=1 -o out/x d1
# ABI 1.2: armor declares cols; the host refuses a misspelling itself.
expect_fail 2 "armor:colz=64 (misspelled, ABI 1.2 declared keys)" \
    "$SL" --chain armor:colz=64 -o out/x d1
is "$(cat "$ERR")" "sluice: armor: unknown parameter 'colz' (did you mean 'cols'?)" \
    "... refused by the host, naming the stage, the key and the declared one"
ok "... no output file" test ! -e out/x
expect_ok "sluice stages armor" "$SL" stages armor
like "$(cat "$OUT")" "*param  cols *backup *line width*" \
    "... shows the key armor declares, with its summary"
expect_ok "armor:cols=64" "$SL" --chain armor:cols=64 -o c64.txt d57
is "$(sed -n 5p c64.txt | wc -c | tr -d ' ')" 65 "writes 64-column lines"
expect_ok "and restores" "$SL" -d -o c64.out c64.txt
ok "identically" cmp -s d57 c64.out

# Through pipes, and with the example's own `make check`.
run sh -c "'$SL' --chain zstd,armor <d1M | '$SL' -d | cmp -s - d1M"
is "$RC" 0 "sluice --chain zstd,armor | sluice -d, through pipes"
run_make -C armor -f "$srcdir/examples/armor/Makefile" check SLUICE="$SL"
is "$RC" 0 "make check of examples/armor (SLUICE_PLUGIN_PATH=. sluice ...)"
[ "$RC" = 0 ] || { diag_file "$OUT" stdout; diag_file "$ERR" stderr; }

# ---- the per-user plugin directory --------------------------------------------
userdir=$HOME/.local/lib/sluice/plugins
run_make -C armor -f "$srcdir/examples/armor/Makefile" install
is "$RC" 0 "make install of examples/armor"
ok "puts armor.so in ~/.local/lib/sluice/plugins" test -f "$userdir/armor.so"
# The installed sluice looks in its compiled-in plugin directory, which is
# not there in a DESTDIR: the per-user directory gets the file stage too.
cp "$plugindir/file.so" "$userdir/"
expect_ok "without SLUICE_PLUGIN_PATH: sluice stages" env -u SLUICE_PLUGIN_PATH "$SL" stages
like "$(cat "$OUT")" "*
armor *$userdir/armor.so*" "finds armor in ~/.local/lib/sluice/plugins"
expect_ok "--chain armor, found there" env -u SLUICE_PLUGIN_PATH "$SL" --chain armor -o u.txt d58
expect_ok "and back" env -u SLUICE_PLUGIN_PATH "$SL" -d -o u.out u.txt
ok "identically" cmp -s d58 u.out
expect_ok "with SLUICE_PLUGIN_PATH too: sluice stages" "$SL" stages
like "$(cat "$OUT")" "*
armor *$T_TMP/armor/armor.so*
armor *$userdir/armor.so*shadowed*" "SLUICE_PLUGIN_PATH comes first; the per-user copy is shown shadowed"
rm -f "$userdir/file.so"
# Debugging a plugin: SLUICE_PLUGIN_PATH=. from its build directory.
run sh -c "cd armor && SLUICE_PLUGIN_PATH=. '$SL' stages"
like "$(cat "$OUT")" "*
armor *./armor.so*" "SLUICE_PLUGIN_PATH=. sluice stages shows the plugin being built"

# ---- ABI compatibility: a plugin built for an older minor --------------------
mkdir old short
if [ -f "$SLUICE_TEST_PLUGINS/oldstage.so" ]; then
    cp "$SLUICE_TEST_PLUGINS/oldstage.so" old/
    pass "oldstage.so from make check"
else
    run "$CC" -shared -fPIC -fvisibility=hidden $cflags -Wall -Wextra -Werror \
        -o old/oldstage.so "$srcdir/t/plugins/oldstage.c"
    is "$RC" 0 "oldstage.so builds against the installed SDK"
    [ "$RC" = 0 ] || diag_file "$ERR" "$CC"
fi
run "$CC" -shared -fPIC -fvisibility=hidden $cflags -DOLDSTAGE_TOO_SHORT \
    -Wall -Wextra -Werror -o short/oldshort.so "$srcdir/t/plugins/oldstage.c"
is "$RC" 0 "so does its variant with a stage struct that is too short"
SLUICE_PLUGIN_PATH=$T_TMP/old:$T_TMP/short:$plugindir
abi=$(host_abi)
expect_ok "sluice stages with the ABI 1.0 plugin" "$SL" stages
like "$(cat "$OUT")" "*
oldstage *transform *transform *ABI 1.0*old/oldstage.so*" "lists it, built for ABI 1.0"
like "$(cat "$OUT")" "*
oldstage-b *transform *sink *ABI 1.0*old/oldstage.so*
    second stage of the ABI 1.0 test plugin*" \
    "its second stage reads intact (the array stride is its stage_size)"
like "$(cat "$OUT")" "*(unusable)*oldshort.so*impossible struct sizes*" \
    "a stage struct shorter than the host's minimum is unusable, and why"
expect_ok "an ABI 1.0 plugin works in an ABI $abi host (backup)" \
    "$SL" --chain zstd,oldstage,armor -o old.txt d1M
is "$(sed -n 3p old.txt)" "oldstage v=1" "it recorded its parameter"
expect_ok "and restore" "$SL" -d -o old.out old.txt
ok "identically" cmp -s d1M old.out
run "$SL" -v --chain oldstage -o /dev/null d1
diag "$(cat "$ERR")"
expect_fail 6 "a plugin whose stage struct is too short is refused" \
    "$SL" --chain oldshort -o out/x d1
like "$(cat "$ERR")" "*oldshort.so*impossible struct sizes*" "naming the file and why"
ok "no output file" test ! -e out/x

# ---- make uninstall ------------------------------------------------------------
T_TIMEOUT=600 run_make -C "$builddir" uninstall DESTDIR="$DEST"
is "$RC" 0 "make uninstall DESTDIR=..."
is "$(find "$plugindir" -type f 2>/dev/null | tr '\n' ' ')" "" \
    "uninstall leaves no plugin behind (the .so files go without their .la)"

done_testing
