#!/bin/sh
# hostile-extra.t - hostile input that t/hostile.t, t/aes.t and t/archive.t
# do not already cover:
#   - header bytes that are not ASCII or not UTF-8 at all (0xff, NUL, DEL,
#     an overlong "/"), names at and past the 64-character limit, names
#     that look like files or options;
#   - repeated stages, both ways: zstd,zstd; aes-256-gcm twice (the header
#     MAC then comes from the last one, and still covers every line); 32
#     stages (the limit) and 33;
#   - every way to get the aes-256-gcm header parameters wrong besides the
#     2^31 iterations and short salt of t/aes.t (0, 9999, 10^7 + 1, 2^32,
#     2^64 + 1, a leading zero, an uppercase or 31/33-digit salt, another
#     KDF, a parameter twice or missing); the largest accepted count, 10^7,
#     costs seconds, not hours;
#   - zstd windows: 2^27 decodes, anything larger is refused (exit 6)
#     before allocating; decompression bombs (1 GiB and 10 GiB of zeros in
#     a few hundred kB) stream through in constant memory;
#   - archives: a hard link that carries data onto a FIFO or a device
#     (cpio/pax allow data on a link) is skipped (exit 1), never written
#     into and never hangs, while one onto a regular file gets its data;
#     deep nesting; over-long names; a damaged block between members
#     (ARCHIVE_RETRY) is reported and skipped, the members after it are
#     restored and listed.
# Every refusal: the documented status, one line on stderr starting
# "sluice: ", no output file and no temporary file.
. "$(dirname "$0")/lib.sh"
plan_no_plan
command -v python3 >/dev/null 2>&1 || skip_all "python3 needed to build hostile input"

cd "$T_TMP" || bail_out "cd $T_TMP"
mkdir out
# The passphrase only for the encrypted streams below: given to a restore
# of an unencrypted one, it would be refused (exit 5, t/security.t).

# refuse STATUS DESC FILE: -d -o fails with STATUS and leaves nothing.
refuse() {
    expect_fail "$1" "$2" "$SLUICE" -d -o out/result "$3"
    ok "$2: no output file" test ! -e out/result
    no_temp_files out "$2: no temporary file"
}

mkdata plain 200000
"$SLUICE" -z -q -o z.slc plain || bail_out "cannot make a stream"
body=$(mktemp "$T_TMP/body.XXXXXX")
body_of z.slc >"$body"
# mkhdr FILE PRINTF-FORMAT: a header from printf's format (escapes allowed),
# then the zstd body.
mkhdr() {
    { printf "$2"; cat "$body"; } >"$1"
}

# ---- header bytes ------------------------------------------------------------------------
mkhdr ff.slc 'sluice/1\nzstd\377 level=3\n---\n'
refuse 4 "byte 0xff in a stage name" ff.slc
like "$(cat "$ERR")" "*non-printable or non-ASCII byte at offset 13*" \
    "0xff: the line gives the offset"
mkhdr nul.slc 'sluice/1\nzstd level=3\000\n---\n'
refuse 4 "a NUL byte in a stage line" nul.slc
mkhdr nulname.slc 'sluice/1\nzs\000td\n---\n'
refuse 4 "a NUL byte inside a stage name" nulname.slc
mkhdr del.slc 'sluice/1\nzstd level=3\177\n---\n'
refuse 4 "a DEL byte" del.slc
mkhdr overlong.slc 'sluice/1\nzstd level=3\n..\300\257..\300\257tmp\300\257x\n---\n'
refuse 4 "an overlong UTF-8 '/' in a stage name" overlong.slc
mkhdr badutf.slc 'sluice/1\nzstd level=3 note=\341\200\n---\n'
refuse 4 "a truncated UTF-8 sequence in a value" badutf.slc
mkhdr macff.slc 'sluice/1\nzstd level=3\n--- 00\377\n'
refuse 4 "a non-ASCII byte in the MAC" macff.slc
mkhdr latin1.slc 'sluice/1\nzstd level=3\n\351\n---\n'
refuse 4 "a Latin-1 byte alone on a line" latin1.slc

# Names: 64 characters is the limit, and a name is never a file name.
n64=$(printf 'a%.0s' $(seq 64))
mkhdr n64.slc "sluice/1\n$n64\n---\n"
refuse 6 "a 64-character stage name: valid, and not installed" n64.slc
mkhdr n65.slc "sluice/1\n${n64}a\n---\n"
refuse 4 "a 65-character stage name" n65.slc
like "$(cat "$ERR")" "*invalid stage name*" "65 characters: said to be invalid"
for name in '-zstd' '.zstd' '_zstd' 'zstd.so' 'zstd/' 'ZSTD' 'zstd\\' 'zstd\040x=1=2'; do
    mkhdr name.slc "sluice/1\n$name\n---\n"
    run "$SLUICE" -d -o out/result name.slc
    if [ "$RC" != 0 ] && [ "$RC" -lt 128 ] && [ "$(line_count "$ERR")" = 1 ] &&
        [ ! -e out/result ]; then
        pass "stage name '$name' is refused (exit $RC)"
    else
        fail "stage name '$name' is refused"
        diag "exit $RC"
        diag_file "$ERR" stderr
    fi
done
rm -f out/result

# ---- repeated stages -----------------------------------------------------------------------
expect_ok "--chain zstd,zstd backs up" "$SLUICE" --chain zstd:level=1,zstd:level=9 -o zz.slc plain
is "$(sed -n '2p;3p' zz.slc | tr '\n' '|')" "zstd level=1|zstd level=9|" \
    "zstd,zstd: both lines in the header, in order"
expect_ok "zstd,zstd restores" "$SLUICE" -d -o out/zz zz.slc
ok "zstd,zstd: round trip exact" cmp -s out/zz plain
rm -f out/zz
SLUICE_PASSPHRASE='hostile input'
export SLUICE_PASSPHRASE
expect_ok "aes-256-gcm twice backs up" \
    "$SLUICE" --chain zstd,aes-256-gcm,aes-256-gcm -o ee.slc plain
expect_ok "aes-256-gcm twice restores" "$SLUICE" -d -o out/ee ee.slc
ok "aes twice: round trip exact" cmp -s out/ee plain
rm -f out/ee
# The first aes line is authenticated too (by the last aes stage's MAC).
sed '3s/iter=64000/iter=64001/' ee.slc >ee-edit.slc
refuse 5 "aes twice: an edit to the first aes line is detected" ee-edit.slc
# Swapping the two aes lines (each salt then meets the other's object).
python3 - ee.slc ee-swap.slc <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
lines = d.split(b"\n", 4)
lines[2], lines[3] = lines[3], lines[2]
open(sys.argv[2], "wb").write(b"\n".join(lines))
PY
refuse 5 "aes twice: swapping the two aes lines is detected" ee-swap.slc
unset SLUICE_PASSPHRASE
chain32=zstd:level=1
i=1
while [ $i -lt 32 ]; do chain32="$chain32,zstd:level=1"; i=$((i + 1)); done
expect_ok "32 stages (the limit): backs up" "$SLUICE" --chain "$chain32" --threads 1 -o c32.slc plain
expect_ok "32 stages: restores" "$SLUICE" -d -o out/c32 c32.slc
ok "32 stages: round trip exact" cmp -s out/c32 plain
rm -f out/c32
expect_fail 2 "33 stages on backup" "$SLUICE" --chain "$chain32,zstd" -o out/c33 plain
ok "33 stages: no output file" test ! -e out/c33

# ---- aes-256-gcm header parameters ------------------------------------------------------------
SLUICE_PASSPHRASE='hostile input'
export SLUICE_PASSPHRASE
"$SLUICE" -e -q -o e.slc plain || bail_out "cannot make e.slc"
salt=$(sed -n 2p e.slc | sed 's/.*salt=//')
# aeshdr FILE PARAMS: e.slc with its aes line's parameters replaced.
aeshdr() {
    python3 - e.slc "$1" "$2" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
lines = d.split(b"\n", 3)
lines[1] = b"aes-256-gcm " + sys.argv[3].encode()
open(sys.argv[2], "wb").write(b"\n".join(lines))
PY
}
for case in \
    "4|iter=0|0 iterations" \
    "4|iter=9999|9999 iterations (below 10^4)" \
    "4|iter=10000001|10^7 + 1 iterations" \
    "4|iter=4294967296|2^32 iterations (does not fit 32 bits)" \
    "4|iter=4294967297|2^32 + 1 iterations (wraps to 1)" \
    "4|iter=18446744073709551617|2^64 + 1 iterations" \
    "4|iter=064000|a leading zero" \
    "4|iter=-64000|a minus sign" \
    "4|iter=6.4e4|not an integer" \
    "4|iter=|an empty count"; do
    want=${case%%|*} rest=${case#*|}
    params=${rest%%|*} desc=${rest#*|}
    aeshdr h.slc "kdf=pbkdf2-sha256 $params salt=$salt"
    refuse "$want" "aes header: $desc" h.slc
done
upper=$(printf '%s' "$salt" | tr a-f A-F)
for case in \
    "4|kdf=pbkdf2-sha256 iter=64000 salt=$upper|an uppercase salt" \
    "4|kdf=pbkdf2-sha256 iter=64000 salt=${salt%?}|a 31-digit salt" \
    "4|kdf=pbkdf2-sha256 iter=64000 salt=${salt}0|a 33-digit salt" \
    "4|kdf=pbkdf2-sha256 iter=64000 salt=|an empty salt" \
    "4|kdf=pbkdf2-sha1 iter=64000 salt=$salt|another KDF" \
    "4|kdf=argon2id iter=64000 salt=$salt|an unknown KDF" \
    "4|iter=64000 salt=$salt|no kdf" \
    "4|kdf=pbkdf2-sha256 salt=$salt|no iter" \
    "4|kdf=pbkdf2-sha256 iter=64000|no salt" \
    "4|kdf=pbkdf2-sha256 iter=64000 salt=$salt mode=ecb|an unknown parameter"; do
    want=${case%%|*} rest=${case#*|}
    params=${rest%%|*} desc=${rest#*|}
    aeshdr h.slc "$params"
    refuse "$want" "aes header: $desc" h.slc
done
# The largest accepted count costs seconds (then the MAC fails: exit 5).
aeshdr h.slc "kdf=pbkdf2-sha256 iter=10000000 salt=$salt"
t0=$(date +%s)
refuse 5 "aes header: 10^7 iterations (the maximum) is tried, then fails the MAC" h.slc
t1=$(date +%s)
ok "... and the key derivation took $((t1 - t0)) s, not hours (< 60 s)" \
    test $((t1 - t0)) -lt 60
unset SLUICE_PASSPHRASE

# ---- zstd windows and decompression bombs -----------------------------------------------------
# zframe FILE WINDOW_LOG MANTISSA BYTES: a sluice stream whose zstd frame
# declares that window and holds BYTES zero bytes as RLE blocks (a few
# bytes per 128 KiB), without content size or checksum.
zframe() {
    python3 - "$@" <<'PY'
import struct, sys
path, wlog, mant, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
out = bytearray(b"sluice/1\nzstd level=3\n---\n\x28\xb5\x2f\xfd")
out += bytes([0, ((wlog - 10) << 3) | mant])
bs = 1 << 17
n, rest = divmod(total, bs)
blk = struct.pack("<I", (bs << 3) | 2)[:3] + b"\0"
blocks = [blk] * n
if rest:
    blocks.append(struct.pack("<I", (rest << 3) | 2)[:3] + b"\0")
last = bytearray(blocks[-1])
last[0] |= 1
blocks[-1] = bytes(last)
out += b"".join(blocks)
open(path, "wb").write(out)
PY
}
zframe w27.slc 27 0 1000000
expect_ok "a frame with a 2^27 window (the limit) decodes" "$SLUICE" -d -o out/w27 w27.slc
is "$(fsize out/w27)" 1000000 "2^27 window: all 1000000 bytes"
rm -f out/w27
zframe w27m.slc 27 1 1000000
refuse 6 "a frame with a 2^27 * 9/8 window" w27m.slc
like "$(cat "$ERR")" "*too much memory*" "window too large: says so"
zframe w31.slc 31 7 1000000
refuse 6 "a frame with a 3.75 GiB window" w31.slc

if [ -x /usr/bin/time ]; then
    # peak ARGS: runs sluice ARGS; RC = its status, PEAK = its peak RSS (KB)
    peak() {
        RC=0
        /usr/bin/time -f %M -o rss.txt "$SLUICE" "$@" >/dev/null 2>"$ERR" || RC=$?
        PEAK=$(tail -n 1 rss.txt)
    }
    zframe bomb1m.slc 17 0 1048576
    zframe bomb1g.slc 17 0 1073741824
    zframe bomb10g.slc 17 0 10737418240
    diag "bombs: 1 GiB in $(fsize bomb1g.slc) bytes, 10 GiB in $(fsize bomb10g.slc) bytes"
    peak -d -o /dev/null bomb1m.slc
    base=$PEAK
    # 1 GiB through a pipe, counted at the other end.
    rm -f rss.txt
    n=$(/usr/bin/time -f %M -o rss.txt "$SLUICE" -d bomb1g.slc 2>"$ERR" | wc -c | tr -d ' ')
    rss1g=$(tail -n 1 rss.txt)
    is "$n" 1073741824 "1 GiB bomb: streams out all 1 GiB through a pipe"
    T_TIMEOUT=300
    peak -d -o /dev/null bomb10g.slc
    rss10g=$PEAK
    is "$RC" 0 "10 GiB bomb: decodes (to /dev/null)" || diag_file "$ERR" stderr
    diag "peak RSS: 1 MiB -> ${base} KB, 1 GiB -> ${rss1g} KB, 10 GiB -> ${rss10g} KB"
    ok "1 GiB bomb: peak RSS within 8 MiB of the 1 MiB one" test $((rss1g - base)) -le 8192
    ok "10 GiB bomb: peak RSS within 8 MiB of the 1 MiB one" test $((rss10g - base)) -le 8192
    ok "10 GiB bomb: peak RSS under 64 MiB" test "$rss10g" -lt 65536
else
    skip 5 "GNU time not installed"
fi

# ---- archives -----------------------------------------------------------------------------------
# newc cpio with two names for one inode: the first a FIFO, a device or
# an empty regular file, the second a regular file carrying data.
# libarchive reports the second as a hard link to the first, with data -
# which must not be written into the FIFO (it would block for ever) or the
# device (archive-extract.c open_link_data), but goes into a regular file.
mkcpio() { # mkcpio FILE fifo|chr|reg
    python3 - "$@" <<'PY'
import sys
def ent(name, mode, ino, nlink, data=b"", rmaj=0, rmin=0):
    nb = name.encode() + b"\0"
    h = "070701" + "".join("%08x" % v for v in (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmaj, rmin, len(nb), 0))
    b = h.encode() + nb
    b += b"\0" * (-len(b) % 4)
    return b + data + b"\0" * (-len(data) % 4)
path, kind = sys.argv[1], sys.argv[2]
if kind == "fifo":
    first = ent("f", 0o010644, 5, 2)
elif kind == "chr":
    first = ent("f", 0o020644, 5, 2, rmaj=1, rmin=7)
elif kind == "longer":
    first = ent("f", 0o100644, 5, 2, b"OLD AND LONGER CONTENT")
else:
    first = ent("f", 0o100644, 5, 2)
open(path, "wb").write(first + ent("h", 0o100644, 5, 2, b"DATA") + ent("TRAILER!!!", 0, 0, 1))
PY
}
mkcpio fifo.cpio fifo
mkdir x.fifo
T_TIMEOUT=15
run "$SLUICE" -xf fifo.cpio -C x.fifo
why=
[ "$RC" = 124 ] && why="hangs (ended by SIGTERM after ${T_TIMEOUT}s)"
[ "$RC" = 137 ] && why="hangs, and SIGTERM does not end it (SIGKILL after ${T_TIMEOUT}+5s)"
[ -z "$why" ] && [ "$RC" != 1 ] && why="exit $RC, expected 1 (incomplete)"
if [ -z "$why" ]; then
    pass "a hard link with data onto a FIFO: skipped, no hang (exit 1)"
else
    fail "a hard link with data onto a FIFO: skipped, no hang (exit 1)"
    diag "$why"
    diag_file "$ERR" stderr
fi
like "$(cat "$ERR")" "*h: refusing to write a hard link's data into its target: not a regular file; skipped*" \
    "FIFO: the skip is said, naming the member"
ok "FIFO: f is still a FIFO, no h" test -p x.fifo/f -a ! -e x.fifo/h
is "$(find x.fifo -name '.sluice-*.tmp')" "" "FIFO: no temporary file left"
if [ "$(id -u)" = 0 ]; then
    mkcpio chr.cpio chr
    mkdir x.chr
    run "$SLUICE" -xf chr.cpio -C x.chr
    # The device is 1:7, /dev/full: a write into it fails with ENOSPC.
    is "$RC" 1 "as root, a hard link with data onto a device node: skipped (exit 1)"
    case $(cat "$ERR") in
    *"No space left"*) fail "device: nothing written into it (it said ENOSPC)" ;;
    *) pass "device: nothing written into it" ;;
    esac
    like "$(cat "$ERR")" "*h: refusing to write a hard link's data into its target: not a regular file; skipped*" \
        "device: the skip is said, naming the member"
    ok "device: f is still the device 1:7, no h" \
        test -c x.chr/f -a "$(stat -c %t:%T x.chr/f)" = 1:7 -a ! -e x.chr/h
    is "$(find x.chr -name '.sluice-*.tmp')" "" "device: no temporary file left"
else
    skip 5 "not root: cannot create device nodes"
fi
# The same onto a regular file: the data goes in, both names one inode.
mkcpio reg.cpio reg
mkdir x.reg
expect_ok "a hard link with data onto a regular file: restored" \
    "$SLUICE" -xf reg.cpio -C x.reg
ok "regular file: h has the data, and is f" \
    test "$(cat x.reg/h)" = DATA -a "$(stat -c %i x.reg/h)" = "$(stat -c %i x.reg/f)"
# The link's data replaces the target's: no old tail after it.
mkcpio longer.cpio longer
mkdir x.longer
expect_ok "a hard link with shorter data onto a regular file: restored" \
    "$SLUICE" -xf longer.cpio -C x.longer
is "$(cat x.longer/f)" DATA "shorter link data: the old tail is gone"
T_TIMEOUT=60

python3 - <<'PY'
import io, tarfile
def add(t, name, data=None, kind=tarfile.REGTYPE, link=""):
    i = tarfile.TarInfo(name)
    i.type, i.linkname = kind, link
    i.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    if data is not None:
        i.size = len(data)
    t.addfile(i, io.BytesIO(data) if data is not None else None)
with tarfile.open("deep.tar", "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "/".join(["d"] * 3000) + "/leaf", b"deep")
with tarfile.open("longname.tar", "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "a" * 300, b"x")
    add(t, "ok", b"fine")
with tarfile.open("dots.tar", "w", format=tarfile.PAX_FORMAT) as t:
    add(t, ".", b"file named dot")
    add(t, "a/./../../b", b"x")
    add(t, "ok", b"fine")
# A damaged block between two members: readers resynchronise (bsdtar
# says "Damaged tar archive / Retrying...") and restore the second one.
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    add(t, "first", b"1" * 100)
first = buf.getvalue()[:1024]
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    add(t, "second", b"2" * 100)
open("retry.tar", "wb").write(first + b"\xa5" * 512 + buf.getvalue())
PY
mkdir x.deep x.long x.dots
run "$SLUICE" -xf deep.tar -C x.deep
ok "a 3000-level deep member: restored or refused, no crash (exit $RC)" \
    test "$RC" -lt 128
no_temp_files x.deep "deep member: no temporary file"
run "$SLUICE" -xf longname.tar -C x.long
is "$RC" 1 "a 300-byte name component: refused, the rest restored (exit 1)"
ok "... the rest restored" test "$(cat x.long/ok)" = fine
run "$SLUICE" -xf dots.tar -C x.dots
is "$RC" 1 "'.' and 'a/./../../b' as file names: refused (exit 1)"
ok "... the target directory is still a directory, and 'ok' restored" \
    test -d x.dots -a "$(cat x.dots/ok)" = fine
ok "... nothing named b outside" test ! -e b -a ! -e x.dots/../b

# ARCHIVE_RETRY from libarchive is not an error to stop on, nor success:
# the damage is said once, the run is incomplete, the rest is read.
mkdir x.retry
run "$SLUICE" -xf retry.tar -C x.retry
is "$RC" 1 "a damaged block between members (ARCHIVE_RETRY): -x exits 1 (incomplete)"
ok "... both members restored, with their data" \
    test "$(cat x.retry/first)" = "$(printf '1%.0s' $(seq 100))" -a \
    "$(cat x.retry/second)" = "$(printf '2%.0s' $(seq 100))"
like "$(cat "$ERR")" "*damaged archive, skipping to the next member*" \
    "... the damage is reported"
is "$(grep -c 'damaged archive' "$ERR")" 1 "... once"
nok "... no libarchive INTERNAL ERROR, no unnamed member" \
    grep -q -e 'INTERNAL ERROR' -e 'unnamed member' "$ERR"
is "$(find x.retry -name '.sluice-*.tmp')" "" "... no temporary file left"
run "$SLUICE" -tf retry.tar
is "$RC" 1 "-t of the same: exits 1 (incomplete)"
is "$(cat "$OUT")" "first
second" "-t of the same: lists both members"
like "$(cat "$ERR")" "*damaged archive, skipping to the next member*" \
    "-t: the damage is reported"
nok "-t: no libarchive INTERNAL ERROR" grep -q 'INTERNAL ERROR' "$ERR"

done_testing
