#!/bin/sh
# t/vectors.t - the vector files of t/vectors/ (doc/FORMAT.md) against the
# real sluice: every vector decodes (or is refused) as the file says, and
# every key, MAC key and MAC is derived again here (t/vectors.py, Python's
# standard library only).  The encrypted bodies were written by an
# implementation of the document (t/gen-vectors.py), not by sluice.
#
#   streams.txt    stream: `sluice -d` gives the plaintext; key, mac_key
#                  and mac re-derived; the stream is header, " ", MAC, "\n",
#                  body; sluice, encoding with the same salt and iter,
#                  writes the very same header and MAC; the intermediate
#                  stage output (stage1_hex) decodes as its stage says;
#                  the aes-256-gcm object starts with "encrypt", 2, the
#                  IV and has the size of FORMAT.md 3.4.
#                  header-mac: re-derived, and written so by sluice.
#                  accept: unencrypted streams (zstd levels, frames) decode.
#   refuse.txt     refuse: `sluice -d` exits with exactly that status, one
#                  line naming the cause, and leaves no -o file.
#   passphrase.txt passphrase: the bytes each source hands over (3.1):
#                  sluice, encrypting with the vectors' salt, writes the
#                  MAC of exactly those bytes; refusals exit 2.
#   collection/    a collection written by `sluice backup` (5): each restore
#                  of collection.txt gives its tree; verify passes; a wrong
#                  passphrase exits 5; the descriptor's body is the chain
#                  over nothing; every record decodes to collection-plain/.
. "$(dirname "$0")/lib.sh"
plan_no_plan

command -v python3 >/dev/null 2>&1 || skip_all "python3 not installed"
V=${SLUICE_VECTORS:-$SLUICE_SRCDIR/t/vectors}
# The interpreter itself, not a version manager's shim: it runs often.
PY="$(python3 -c 'import sys; print(sys.executable)') $SLUICE_SRCDIR/t/vectors.py"
cd "$T_TMP" || bail_out "no temporary directory"

# ---- streams.txt -----------------------------------------------------------
S=$V/streams.txt
for n in $($PY names "$S" stream); do
    f_stage1_hex= f_body_hex=
    eval "$($PY sh "$S" stream "$n")"
    pass=$f_passphrase
    $PY bytes "$S" stream "$n" s.slc
    $PY plain "$S" "$n" plain
    SLUICE_PASSPHRASE=$pass expect_ok "stream $n: sluice -d decodes it" \
        "$SLUICE" -d -o got s.slc
    ok "stream $n: ... to the plaintext" cmp -s got plain

    hdr=$f_header_hex
    set -- $($PY derive "$(printf %s "$pass" | od -An -tx1 | tr -d ' \n')" \
        "$f_salt" "$f_iter" "$hdr")
    is "$1" "$f_key" "stream $n: key = PBKDF2-HMAC-SHA256(passphrase, salt, iter)"
    is "$2" "$f_mac_key" "stream $n: mac_key = HKDF-SHA256(key, info 'sluice/1 header')"
    is "$3" "$f_mac" "stream $n: mac = HMAC-SHA256(mac_key, header bytes)"

    # The stream = signed header bytes, " ", MAC, "\n", body.
    $PY unhex "$hdr$(printf ' %s\n' "$f_mac" | od -An -tx1 | tr -d ' \n')" head
    hlen=$(wc -c <head)
    ok "stream $n: starts with the header bytes, a space, the MAC, a newline" \
        sh -c "head -c $hlen s.slc | cmp -s - head"
    tail -c +$((hlen + 1)) s.slc >body
    if [ -n "$f_body_hex" ]; then
        $PY unhex "$f_body_hex" want.body
        ok "stream $n: ... then body_hex" cmp -s body want.body
    fi

    # sluice itself writes the same header and MAC for the same salt.
    spec=$($PY spec "$hdr")
    SLUICE_PASSPHRASE=$pass run "$SLUICE" --chain "$spec" -o mine.slc plain
    ok "stream $n: sluice --chain $spec writes the same header and MAC" \
        sh -c "[ $RC = 0 ] && head -c $hlen mine.slc | cmp -s - head"

    last=$(printf %s "$spec" | sed 's/.*,//; s/:.*//')
    first=$(printf %s "$spec" | sed 's/[,:].*//')
    st1=$f_stage1_hex
    if [ -n "$st1" ]; then
        $PY unhex "$st1" stage1
        if [ "$first" = zstd ]; then
            lvl=$(printf %s "$spec" | sed 's/^zstd:level=\([-0-9]*\).*/\1/')
            { printf 'sluice/1\nzstd level=%s\n---\n' "$lvl"; cat stage1; } >z.slc
            "$SLUICE" -d -o z.out z.slc
            ok "stream $n: stage1 (the zstd output) decodes to the plaintext" \
                cmp -s z.out plain
        fi
        if [ "$last" = zstd ]; then
            lvl=$(printf %s "$spec" | sed 's/.*,zstd:level=\([-0-9]*\).*/\1/')
            { printf 'sluice/1\nzstd level=%s\n---\n' "$lvl"; cat body; } >z.slc
            "$SLUICE" -d -o z.out z.slc
            ok "stream $n: the body (zstd) decodes to stage1" cmp -s z.out stage1
        fi
    fi
    if [ "$last" = aes-256-gcm ]; then
        inner=plain
        [ -n "$st1" ] && inner=stage1
        L=$(wc -c <"$inner")
        is "$(wc -c <body | tr -d ' ')" $((20 + L + 16 * (L / 65536 + 1))) \
            "stream $n: the object is 20 + L + 16 * (L / 65536 + 1) bytes"
        is "$(head -c 20 body | od -An -tx1 | tr -d ' \n')" \
            "$(printf encrypt | od -An -tx1 | tr -d ' \n')02$f_iv" \
            "stream $n: the object starts with 'encrypt', 0x02, the IV"
    fi
done

for n in $($PY names "$S" header-mac); do
    eval "$($PY sh "$S" header-mac "$n")"
    hdr=$f_header_hex
    $PY unhex "$hdr" h
    salt=$(sed -n 's/.* salt=\([0-9a-f]*\).*/\1/p' h)
    iter=$(sed -n 's/.* iter=\([0-9]*\).*/\1/p' h)
    set -- $($PY derive "$(printf %s "$f_passphrase" | od -An -tx1 | tr -d ' \n')" \
        "$salt" "$iter" "$hdr")
    is "$2" "$f_mac_key" "header-mac $n: mac_key"
    is "$3" "$f_mac" "header-mac $n: mac re-derived"
    printf ' %s\n' "$f_mac" >>h
    printf 'x' >x
    SLUICE_PASSPHRASE=$f_passphrase run "$SLUICE" --chain "$($PY spec "$hdr")" -o mine.slc x
    ok "header-mac $n: sluice writes exactly that header and MAC" \
        sh -c "[ $RC = 0 ] && head -c $(wc -c <h) mine.slc | cmp -s - h"
done

for n in $($PY names "$S" accept); do
    $PY bytes "$S" accept "$n" a.slc
    eval "$($PY sh "$S" accept "$n")"
    $PY unhex "$f_plaintext_hex" plain
    expect_ok "accept $n: sluice -d decodes it" "$SLUICE" -d -o got a.slc
    ok "accept $n: ... to plaintext_hex" cmp -s got plain
done

# ---- refuse.txt ------------------------------------------------------------
R=$V/refuse.txt
for n in $($PY names "$R" refuse); do
    $PY bytes "$R" refuse "$n" r.slc
    eval "$($PY sh "$R" refuse "$n")"
    want=$f_exit msg=$f_message
    rm -f r.out
    # The passphrase only for an encrypted vector: given one, a restore
    # refuses an unencrypted stream first (exit 5, FORMAT.md 1).
    if grep -aq aes-256-gcm r.slc; then
        export SLUICE_PASSPHRASE=abc123
    fi
    expect_fail "$want" "refuse $n" "$SLUICE" -d -o r.out r.slc
    unset SLUICE_PASSPHRASE
    ok "refuse $n: says '$msg'" grep -qF -- "$msg" "$ERR"
    nok "refuse $n: no -o file left" test -e r.out
done

# ---- passphrase.txt --------------------------------------------------------
P=$V/passphrase.txt
printf 'x' >x
for n in $($PY names "$P" passphrase); do
    f_exit= f_bytes_hex= f_mac=
    eval "$($PY sh "$P" passphrase "$n")"
    src=$f_source
    $PY unhex "$f_input_hex" in
    rm -f p.slc
    set -- "$SLUICE" --chain aes-256-gcm:salt=000102030405060708090a0b0c0d0e0f -o p.slc x
    case $src in
    file) run "$@" --passphrase-file in ;;
    fd) run sh -c '"$@" --passphrase-fd 3 3<in' sh "$@" ;;
    env) v=$(cat in; echo x); SLUICE_PASSPHRASE=${v%x} run "$@" ;;
    tty) run $PY tty "$f_input_hex" "$@" ;;
    esac
    if [ -n "$f_exit" ]; then
        is "$RC" "$f_exit" "passphrase $n ($src): refused with exit $f_exit"
        ok "passphrase $n: says '$f_message'" grep -qF -- "$f_message" "$ERR"
        continue
    fi
    mac=$(sed -n 's/^--- \([0-9a-f]*\)$/\1/p' p.slc 2>/dev/null)
    is "$RC:$mac" "0:$f_mac" "passphrase $n ($src): the key is made of bytes_hex"
    set -- $($PY derive "$f_bytes_hex" 000102030405060708090a0b0c0d0e0f 64000 \
        "$(printf 'sluice/1\naes-256-gcm kdf=pbkdf2-sha256 iter=64000 salt=000102030405060708090a0b0c0d0e0f\n---' | od -An -tx1 | tr -d ' \n')")
    is "$3" "$f_mac" "passphrase $n: its mac re-derived from bytes_hex"
done

# ---- collection/ -------------------------------------------------------------
# Written by `sluice backup --to DIR -z -e --host vec --object-size 2K -C
# src .` twice (a full backup, then an incremental) with passphrase abc123;
# collection.txt says what each restore must give.
C=$V/collection
CT=$V/collection.txt
# listing DIR: one line per entry, by path: type, mode, size (files), mtime
# (seconds), link count (files), path, link target, the start of SHA-256.
listing() {
    _d=$1
    (cd "$_d" && find . -printf '%y %m %s %Ts %n %p\t%l\n' | LC_ALL=C sort -t ' ' -k6) |
        while IFS="$(printf '\t')" read -r a l; do
            set -- $a
            t=$1 m=$2 sz=$3 mt=$4 nl=$5
            p=${a#* * * * * }
            case $t in
            f) echo "$t $m $sz $mt $nl $p $(sha256sum <"$_d/$p" | cut -c1-16)" ;;
            l) echo "$t $m 0 $mt 1 $p -> $l" ;;
            *) echo "$t $m 0 $mt 1 $p" ;;
            esac
        done
}
for n in $($PY names "$CT" restore); do
    f_as_of= f_paths=
    eval "$($PY sh "$CT" restore "$n")"
    rm -rf "r.$n" && mkdir "r.$n"
    SLUICE_PASSPHRASE=$f_passphrase expect_ok "collection: restore $n" \
        "$SLUICE" restore --from "$C" --host "$f_host" ${f_as_of:+--as-of "$f_as_of"} \
        -C "r.$n" $(printf %s "$f_paths" | tr , ' ')
    listing "$PWD/r.$n" | { if [ -n "$f_paths" ]; then grep -v ' \.$'; else cat; fi; } >got.list
    $PY tree "$CT" "$n" want.list
    ok "collection: restore $n gives the tree of collection.txt" cmp -s got.list want.list ||
        diff want.list got.list | sed 's/^/# /'
done
# A selected hard link whose partner is not selected is restored as a
# regular file with its data, exit 0 (FORMAT.md 5.8).
rm -rf r.hl && mkdir r.hl
SLUICE_PASSPHRASE=abc123 expect_ok "collection: restore h1 alone (its partner d/h2 not selected)" \
    "$SLUICE" restore --from "$C" --host vec -C r.hl h1
is "$(cat r.hl/h1 2>/dev/null)" hard "... a regular file with its data"
SLUICE_PASSPHRASE=abc123 expect_ok "collection: verify" "$SLUICE" verify -q --from "$C"
mkdir -p r.wrong
SLUICE_PASSPHRASE=abc124 expect_fail 5 "collection: restore with a wrong passphrase" \
    "$SLUICE" restore --from "$C" --host vec -C r.wrong
ok "... says 'wrong passphrase'" grep -qF "wrong passphrase: it does not match the one this collection was created with (nothing was written)" "$ERR"
# The descriptor is header + the chain applied to the empty plaintext
# (5.2): here zstd's frame of nothing, sealed as one version-2 object.
hl=$(sed -n '1,/^---/p' "$C/SLUICE-COLLECTION" | wc -c)
tail -c +$((hl + 1)) "$C/SLUICE-COLLECTION" >desc.obj
is "$(head -c 8 desc.obj | od -An -c | tr -d ' ')" 'encrypt002' \
    "collection: the descriptor's body is one version-2 object"
salt=$(sed -n 's/.* salt=\([0-9a-f]*\).*/\1/p' "$C/SLUICE-COLLECTION")
SLUICE_PASSPHRASE=abc123 run "$SLUICE" decrypt-object --salt "$salt" -o desc.zst desc.obj
{ printf 'sluice/1\nzstd level=3\n---\n'; cat desc.zst; } >desc.slc
run "$SLUICE" -d desc.slc
is "$RC:$(wc -c <"$OUT" | tr -d ' ')" "0:0" \
    "... holding a zstd frame of the empty plaintext"
# Every record object decodes (decrypt-object with the collection's salt,
# then zstd) to the text in collection-plain/ (5.1, 5.3, 5.4, 5.6).
for o in INDEX LOCALITIES backups/20261203T150139Z-vec-7d04/MANIFEST \
    backups/20261203T150146Z-vec-3065/MANIFEST; do
    SLUICE_PASSPHRASE=abc123 "$SLUICE" decrypt-object --salt "$salt" -o rec.zst "$C/$o"
    { printf 'sluice/1\nzstd level=3\n---\n'; cat rec.zst; } >rec.slc
    "$SLUICE" -d -o rec.txt rec.slc
    ok "collection: $o decodes to collection-plain/$o" \
        cmp -s rec.txt "$V/collection-plain/$o"
done

done_testing
