#!/bin/sh
# aes.t - the aes-256-gcm stage end to end: round trips, fresh salt and IV,
# wrong passphrase, tampering with the header and the body, truncation at
# and between chunk boundaries, trailing garbage, reordered chunks,
# passphrase sources, decrypt-object, the shared vector stream, and memory
# that stays flat with the stream's length.
. "$(dirname "$0")/lib.sh"
plan_no_plan
cd "$T_TMP" || bail_out "cd $T_TMP"

SLUICE_PASSPHRASE='correct horse battery staple'
export SLUICE_PASSPHRASE
CHUNK=65536
# object = "encrypt" + version + IV (20 bytes), then per chunk data + tag
OBJ_HDR=20
TAG=16

# ---- round trips ----------------------------------------------------------------
for size in 0 1 65535 65536 65537 196608 5242880; do
    mkdata in.$size "$size"
    expect_ok "$size bytes: -e encrypts" "$SLUICE" -e -o e.$size.slc in.$size
    expect_ok "$size bytes: -d decrypts" "$SLUICE" -d e.$size.slc
    ok "$size bytes: -e round trip is identical" cmp -s "$OUT" in.$size
    # ciphertext length: header + 20 + n + 16 * (floor(n / 65536) + 1)
    h=$(header_len e.$size.slc)
    is "$(fsize e.$size.slc)" $((h + OBJ_HDR + size + TAG * (size / CHUNK + 1))) \
        "$size bytes: object has the chunked v2 length"
    expect_ok "$size bytes: -z -e" "$SLUICE" -z -e -o ze.$size.slc in.$size
    is "$(sed -n '2p;3p' ze.$size.slc | cut -d' ' -f1 | tr '\n' ' ')" "zstd aes-256-gcm " \
        "$size bytes: -z -e header names zstd then aes-256-gcm"
    expect_ok "$size bytes: -d undoes -z -e" "$SLUICE" -d ze.$size.slc
    ok "$size bytes: -z -e round trip is identical" cmp -s "$OUT" in.$size
done

line3=$(sed -n 2p e.1.slc)
like "$line3" 'aes-256-gcm kdf=pbkdf2-sha256 iter=64000 salt=[0-9a-f]*' \
    "header line: kdf, iter, salt"
like "$(sed -n 3p e.1.slc)" '--- [0-9a-f]*' "terminator carries a MAC"
is "$(sed -n 3p e.1.slc | cut -d' ' -f2 | tr -d '\n' | wc -c | tr -d ' ')" 64 \
    "MAC is 64 hex digits"

# ---- fresh salt and IV --------------------------------------------------------
"$SLUICE" -e -o again.slc in.65537
nok "two encryptions of the same input differ" cmp -s again.slc e.65537.slc
nok "... in their salt" test "$(sed -n 2p again.slc)" = "$(sed -n 2p e.65537.slc)"
h=$(header_len again.slc)
iv1=$(tail -c +$((h + 9)) again.slc | head -c 12 | od -An -tx1 | tr -d ' \n')
iv2=$(tail -c +$((h + 9)) e.65537.slc | head -c 12 | od -An -tx1 | tr -d ' \n')
nok "... and in their IV" test "$iv1" = "$iv2"

# ---- wrong passphrase ------------------------------------------------------------
expect_fail 5 "wrong passphrase is refused" \
    env SLUICE_PASSPHRASE=wrong "$SLUICE" -d ze.65537.slc
like "$(cat "$ERR")" '*passphrase*' "... with a message that says passphrase"
ok "... and no output bytes" test ! -s "$OUT"
echo precious >target
expect_fail 5 "wrong passphrase with -o" \
    env SLUICE_PASSPHRASE=wrong "$SLUICE" -d -o target ze.65537.slc
is "$(cat target)" precious "... leaves the -o target untouched"
no_temp_files . "... and no temporary file"

# ---- tampering: every header byte ------------------------------------------------
# Flipping any bit of any header byte must be caught before output.
h=$(header_len e.1.slc)
# One python run writes every variant (a python start costs more than a
# sluice run here).
python3 - e.1.slc "$h" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
for i in range(int(sys.argv[2])):
    t = bytearray(d); t[i] ^= 0x01
    open("hflip.%d.slc" % i, "wb").write(t)
PY
missed=
i=0
while [ "$i" -lt "$h" ]; do
    run "$SLUICE" -d hflip.$i.slc
    if [ "$RC" = 0 ] || [ "$RC" -ge 128 ] || [ -s "$OUT" ]; then
        missed="$missed $i"
    fi
    rm -f hflip.$i.slc
    i=$((i + 1))
done
is "$missed" "" "a flip in each of the $h header bytes is detected, no output"

# ---- tampering: a sample across the body ----------------------------------------
size=196608
h=$(header_len e.$size.slc)
total=$(fsize e.$size.slc)
offsets="$h $((h + 7)) $((h + 8)) $((h + 19)) $((h + 20)) $((h + 1000)) \
    $((h + 20 + CHUNK)) $((h + 20 + CHUNK + 15)) $((h + 20 + CHUNK + 16)) \
    $((h + 20 + 2 * (CHUNK + TAG) + 5)) $((total - 17)) $((total - 1))"
# shellcheck disable=SC2086
python3 - e.$size.slc $offsets <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
for off in sys.argv[2:]:
    t = bytearray(d); t[int(off)] ^= 0x80
    open("bflip.%s.slc" % off, "wb").write(t)
PY
missed=
for off in $offsets; do
    run "$SLUICE" -d -o t.out bflip.$off.slc
    if [ "$RC" = 0 ] || [ "$RC" -ge 128 ] || [ -e t.out ]; then
        missed="$missed $off"
    fi
    rm -f t.out bflip.$off.slc
done
is "$missed" "" "flips across the body (magic, version, IV, data, tags) are detected"

# ---- truncation ------------------------------------------------------------------
missed=
for cut in 0 1 $((OBJ_HDR)) $((OBJ_HDR + 1)) $((OBJ_HDR + CHUNK)) \
    $((OBJ_HDR + CHUNK + TAG)) $((OBJ_HDR + CHUNK + TAG + 100)) \
    $((OBJ_HDR + 2 * (CHUNK + TAG))) $((OBJ_HDR + 3 * (CHUNK + TAG))) \
    $((OBJ_HDR + 3 * (CHUNK + TAG) + TAG - 1)); do
    head -c $((h + cut)) e.$size.slc >t.slc
    expect_fail_quiet=1
    run "$SLUICE" -d -o t.out t.slc
    if [ "$RC" = 0 ] || [ "$RC" -ge 128 ] || [ -e t.out ]; then
        missed="$missed $cut"
    fi
done
is "$missed" "" "truncation at every chunk boundary and mid-chunk is detected"
expect_fail 4 "truncation exactly at a chunk boundary: clean error" \
    sh -c "head -c $((h + OBJ_HDR + 3 * (CHUNK + TAG))) e.$size.slc | \"\$SLUICE\" -d"

# ---- trailing garbage, reordered chunks -------------------------------------------
{ cat e.$size.slc; printf 'x'; } >t.slc
run "$SLUICE" -d -o t.out t.slc
ok "trailing garbage is detected" test "$RC" != 0 -a "$RC" -lt 128 -a ! -e t.out
python3 - e.$size.slc "$h" swap.slc dup.slc <<'PY'
import sys
src, h, swap, dup = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
d = open(src, "rb").read()
head, body = d[:h + 20], d[h + 20:]
n = 65536 + 16
chunks = [body[i:i + n] for i in range(0, len(body), n)]
open(swap, "wb").write(head + chunks[1] + chunks[0] + b"".join(chunks[2:]))
open(dup, "wb").write(head + chunks[0] + chunks[0] + b"".join(chunks[1:]))
PY
run "$SLUICE" -d -o t.out swap.slc
ok "swapped chunks are detected" test "$RC" = 5 -a ! -e t.out
run "$SLUICE" -d -o t.out dup.slc
ok "a duplicated chunk is detected" test "$RC" = 5 -a ! -e t.out

# ---- passphrase sources ----------------------------------------------------------
printf '%s\n' "$SLUICE_PASSPHRASE" >pass.txt
expect_ok "--passphrase-file (first line)" \
    env -u SLUICE_PASSPHRASE "$SLUICE" -d --passphrase-file pass.txt e.1.slc
ok "... decrypts" cmp -s "$OUT" in.1
expect_ok "--passphrase-fd 3" \
    sh -c 'env -u SLUICE_PASSPHRASE "$SLUICE" -d --passphrase-fd 3 e.1.slc 3<pass.txt'
ok "... decrypts" cmp -s "$OUT" in.1
expect_fail 2 "an empty passphrase is refused" \
    env SLUICE_PASSPHRASE= "$SLUICE" -e in.1
expect_fail 2 "no passphrase and no terminal: a clear error" \
    setsid -w env -u SLUICE_PASSPHRASE "$SLUICE" -e -o x.slc in.1
like "$(cat "$ERR")" '*--passphrase-file*' "... naming the ways to give one"
expect_fail 2 "--kdf-iter below 64000 is refused" "$SLUICE" -e --kdf-iter 5 in.1
expect_ok "--kdf-iter 100000" "$SLUICE" -e --kdf-iter 100000 -o k.slc in.65537
like "$(sed -n 2p k.slc)" '*iter=100000 *' "... recorded in the header"
expect_ok "... and used on restore" "$SLUICE" -d k.slc
ok "... round trip" cmp -s "$OUT" in.65537

# A hostile header asking for 2^31 iterations is refused at once.
sed '2s/iter=64000/iter=2147483648/' e.1.slc >hostile.slc
expect_fail 4 "a header asking for 2^31 KDF iterations is refused" \
    "$SLUICE" -d hostile.slc
sed '2s/salt=\([0-9a-f]*\)/salt=00/' e.1.slc >hostile.slc
expect_fail 4 "a header with a short salt is refused" "$SLUICE" -d hostile.slc

# ---- decrypt-object --------------------------------------------------------------
h=$(header_len e.65537.slc)
tail -c +$((h + 1)) e.65537.slc >bare.obj
salt=$(sed -n 2p e.65537.slc | sed 's/.*salt=//')
expect_ok "decrypt-object --salt" "$SLUICE" decrypt-object --salt "$salt" bare.obj
ok "... gives the plaintext" cmp -s "$OUT" in.65537
python3 -c 'import sys; open("EI","wb").write(b"\x0a\x00" + b"\x12\x10" + bytes.fromhex(sys.argv[1]))' "$salt"
expect_ok "decrypt-object --encryption-info (protobuf field 2)" \
    sh -c '"$SLUICE" decrypt-object --encryption-info EI <bare.obj'
ok "... gives the plaintext" cmp -s "$OUT" in.65537
expect_fail 5 "decrypt-object with a wrong passphrase" \
    env SLUICE_PASSPHRASE=nope "$SLUICE" decrypt-object --salt "$salt" bare.obj
like "$(cat "$ERR")" '*passphrase*' "... says passphrase"

# ---- the shared vector stream --------------------------------------------------------
vec=$SLUICE_SRCDIR/t/vectors/aes256gcm-v2.txt
hex=$(sed -n 's/^stream-bytes name=hello-stream hex=//p' "$vec")
printf '%s' "$hex" | python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read()))' >vector.slc
expect_ok "the vector stream-bytes decrypts with passphrase abc123" \
    env SLUICE_PASSPHRASE=abc123 "$SLUICE" -d vector.slc
is "$(cat "$OUT")" "hello world" "... to 'hello world'"

# ---- memory is flat -----------------------------------------------------------------
if [ -x /usr/bin/time ]; then
    rss() { # rss BYTES -> peak KB of -e then -d over BYTES zero bytes
        /usr/bin/time -f %M -o rss.e sh -c "head -c $1 /dev/zero | \"\$SLUICE\" -e >big.slc"
        /usr/bin/time -f %M -o rss.d sh -c "\"\$SLUICE\" -d <big.slc >/dev/null"
        echo $(($(tail -n1 rss.e) > $(tail -n1 rss.d) ? $(tail -n1 rss.e) : $(tail -n1 rss.d)))
    }
    small=$(rss 4194304)
    large=$(rss 1073741824)
    rm -f big.slc
    diag "peak RSS: 4 MiB -> ${small} KB, 1 GiB -> ${large} KB"
    ok "peak RSS for 1 GiB is within 2 MiB of that for 4 MiB" \
        test $((large - small)) -le 2048
else
    skip 1 "GNU time not installed"
fi

done_testing
