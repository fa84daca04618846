#!/bin/sh
# linkage.t - the sluice binary links no codec, cipher, archive or network
# library: those belong to the plugins (issue 2, item 4).  Checked with ldd
# on the real binary (when libtool built `sluice` as a wrapper script, the
# binary is .libs/sluice or .libs/lt-sluice).
. "$(dirname "$0")/lib.sh"
plan_no_plan

command -v ldd >/dev/null 2>&1 || skip_all "ldd not available"

is_elf() {
    [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]
}

bin=$SLUICE
if ! is_elf "$bin"; then
    d=$(dirname "$SLUICE")
    b=$(basename "$SLUICE")
    for cand in "$d/.libs/$b" "$d/.libs/lt-$b"; do
        if [ -f "$cand" ] && is_elf "$cand"; then
            bin=$cand
            break
        fi
    done
fi
diag "checking $bin"
ok "the sluice binary is an ELF file" is_elf "$bin"

libs=$(ldd "$bin" 2>&1)
rc=$?
if [ $rc -ne 0 ] && printf '%s' "$libs" | grep -q 'not a dynamic executable'; then
    pass "statically linked: no shared library at all"
else
    is "$rc" 0 "ldd reads it"
fi
diag "$libs"
for lib in zstd ssl crypto archive curl lzma bz2 z; do
    if printf '%s\n' "$libs" | grep -Eq "(^|[[:space:]/])lib$lib\.so"; then
        fail "sluice does not link lib$lib"
        diag "$(printf '%s\n' "$libs" | grep "lib$lib\.so")"
    else
        pass "sluice does not link lib$lib"
    fi
done

# The libraries do exist where they belong: the checks above can fail.
zso=${SLUICE_PLUGIN_PATH%%:*}/zstd.so
if [ -f "$zso" ]; then
    like "$(ldd "$zso" 2>&1)" "*libzstd.so*" "(control: the zstd plugin does link libzstd)"
    fso=${SLUICE_PLUGIN_PATH%%:*}/file.so
    if ldd "$fso" 2>&1 | grep -Eq 'lib(zstd|ssl|crypto|archive|curl)\.so'; then
        fail "the file plugin links no codec either"
    else
        pass "the file plugin links no codec either"
    fi
else
    skip 2 "no zstd.so in ${SLUICE_PLUGIN_PATH%%:*}"
fi

# Plugins export exactly one symbol: sluice_plugin_entry.
if command -v nm >/dev/null 2>&1 && [ -f "$zso" ]; then
    for so in "$zso" "${SLUICE_PLUGIN_PATH%%:*}/file.so"; do
        syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | sort | tr '\n' ' ')
        is "$syms" "sluice_plugin_entry " "$(basename "$so") exports only sluice_plugin_entry"
    done
else
    skip 2 "nm not available"
fi

done_testing
