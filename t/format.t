#!/bin/sh
# t/format.t - the statements of doc/FORMAT.md that give an exit status or
# a message and that no vector file covers.  Where each statement is tested:
#
#   intro      vector files, all read                     t/vectors.t
#   all        every message quoted, as the exact line printed, and that
#              FORMAT.md (and EXIT.md) quote it: t/format-messages.t
#   1          refused headers (table), MAC present/absent/wrong: refuse.txt
#              via t/vectors.t; a header without --- in 65,536 bytes, empty
#              input, non-sluice input to -x/-t handed to libarchive: here
#   2          zstd levels, frames, window, empty and cut bodies: streams.txt
#              (accept) and refuse.txt (zstd-*) via t/vectors.t
#   3.1        passphrase sources, limits, empty: passphrase.txt via
#              t/vectors.t; no terminal: t/aes.t; passphrases differ,
#              a file that cannot be opened or read: here
#   3.2        iter/salt/kdf chain parameters (exit 2): here and t/aes.t;
#              header parameter checks (exit 4/6): refuse.txt
#   3.3, 3.4   MAC and object layout: streams.txt, aes256gcm-v2.txt
#              (t/vectors.t, t/unit-aes-vectors)
#   3.5        every row of the table: refuse.txt (body-*, cut-*, ...)
#   3.6        version-1 messages and cap: t/unit-aes-vectors
#   4          not an archive, truncated archive (exit 4), empty input
#              (exit 0), socket ignored, `..` member refused (exit 1): here
#   5.2        descriptor body, wrong passphrase (exit 5): t/vectors.t;
#              -e / no -e against the collection (exit 2): t/collection.t
#   5.3, 5.4   hostile MANIFEST / INDEX (exit 4): t/collection.t
#   5.7        LOCK held, created meanwhile (exit 3): t/collection.t,
#              t/collection-s3.t
#   5.8        --as-of by ID and by every time syntax: t/vectors.t;
#              --as-of refusals (exit 2): here; verify messages:
#              t/collection.t; hard link alone: t/vectors.t
. "$(dirname "$0")/lib.sh"
plan_no_plan
cd "$T_TMP" || bail_out "no temporary directory"
# The interpreter itself, not a version manager's shim (slow to start).
PY3=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || PY3=python3

# ---- 1: header --------------------------------------------------------------
{ printf 'sluice/1\n'; head -c 70000 /dev/zero | tr '\0' a; } >long.slc
expect_fail 4 "a header without --- in its first 65,536 bytes" "$SLUICE" -d -o o long.slc
ok "... says it is larger than 65536 bytes or unterminated" \
    grep -qF "larger than 65536 bytes, or no '---' line ends it" "$ERR"
: >empty
expect_fail 4 "empty input to -d" "$SLUICE" -d -o o empty
ok "... says 'empty input: not a sluice stream'" \
    grep -qF "empty input: not a sluice stream" "$ERR"
printf 'hello\n' >plain
expect_fail 4 "input that is not a sluice stream, to -d" "$SLUICE" -d -o o plain
ok "... says 'not a sluice stream: no sluice/1 header'" \
    grep -qF "not a sluice stream: no sluice/1 header" "$ERR"

# ---- 4: the archive stage -----------------------------------------------------
mkdir src dst
printf 'a\n' >src/a
if command -v tar >/dev/null 2>&1; then
    (cd src && tar cf ../plain.tar a)
    expect_ok "-x reads a plain tar made by tar(1) (no sluice header)" \
        "$SLUICE" -x -C dst -f plain.tar
    ok "... restoring its member" cmp -s src/a dst/a
else
    skip 2 "tar not installed"
fi
printf 'x\001\002\n' >junk
expect_fail 4 "-x of input that is not an archive" "$SLUICE" -x -C dst -f junk
ok "... says 'input is not an archive'" \
    grep -qF "archive: input is not an archive" "$ERR"
# Text that libarchive's mtree or raw readers would take is no archive
# either (FORMAT.md 4).
expect_fail 4 "-x of plain text (mtree-like)" "$SLUICE" -x -C dst -f plain
"$SLUICE" -cf a.slc -C src a
head -c 700 a.slc >cut.slc
expect_fail 4 "-x of an archive cut short" "$SLUICE" -x -C dst -f cut.slc
ok "... says 'corrupt or truncated archive'" \
    grep -qF "archive: corrupt or truncated archive" "$ERR"
expect_ok "-x of an empty input: an empty archive, exit 0" "$SLUICE" -x -C dst -f empty
"$SLUICE" -cf - -C src . >dot.slc
tail -c +14 dot.slc | tar tf - >names 2>/dev/null
is "$(tr '\n' ' ' <names)" "./ ./a " "-C DIR . names its members ./ and ./a"
is "$(head -c 13 dot.slc)" "$(printf 'sluice/1\n---')" \
    "-c without transforms: header sluice/1, ---, then the pax archive"
ok "... whose length is a multiple of 512" \
    test $(( ($(wc -c <dot.slc) - 13) % 512 )) = 0
# A member with a '..' component: skipped, one line, exit 1.
$PY3 - <<'EOF' 2>/dev/null || printf 'x' >dotdot.tar
import io, tarfile
b = io.BytesIO()
with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo("../evil"); i.size = 1
    t.addfile(i, io.BytesIO(b"x"))
open("dotdot.tar", "wb").write(b.getvalue())
EOF
run "$SLUICE" -x -C dst -f dotdot.tar
is "$RC" 1 "-x of a member with '..': exit 1"
ok "... refused, named" grep -qF "refusing a member name with '..'" "$ERR"
nok "... and nothing written outside" test -e evil

# ---- 3.1 / 3.2: passphrase and chain parameters --------------------------------
printf 'x' >x
expect_fail 2 "--chain aes-256-gcm:kdf=... is refused" \
    env SLUICE_PASSPHRASE=abc123 "$SLUICE" --chain aes-256-gcm:kdf=pbkdf2-sha256 -o o x
expect_fail 2 "--chain aes-256-gcm:iter=10000001 is refused" \
    env SLUICE_PASSPHRASE=abc123 "$SLUICE" --chain aes-256-gcm:iter=10000001 -o o x
expect_ok "--chain aes-256-gcm:iter=64000 is accepted" \
    env SLUICE_PASSPHRASE=abc123 "$SLUICE" --chain aes-256-gcm:iter=64000 -o o x
expect_fail 2 "--passphrase-file that cannot be opened" \
    "$SLUICE" -e --passphrase-file nonexistent -o o x
ok "... says 'cannot open passphrase file nonexistent'" \
    grep -qF "aes-256-gcm: cannot open passphrase file nonexistent: " "$ERR"
mkdir pdir
expect_fail 3 "--passphrase-file that cannot be read (a directory)" \
    "$SLUICE" -e --passphrase-file pdir -o o x
ok "... says 'cannot read passphrase from pdir'" \
    grep -qF "aes-256-gcm: cannot read passphrase from pdir: " "$ERR"
if command -v python3 >/dev/null 2>&1; then
    # Two different lines at the two prompts ("one\n", "two\n").
    run $PY3 "$SLUICE_SRCDIR/t/vectors.py" tty 6f6e650a,74776f0a \
        "$SLUICE" -e -o o x
    is "$RC" 2 "two different passphrases on the terminal: exit 2"
    ok "... says 'the passphrases do not match'" \
        grep -qF "the passphrases do not match" "$ERR"
else
    skip 2 "python3 not installed"
fi

# ---- 5.8: --as-of ------------------------------------------------------------------
C=${SLUICE_VECTORS:-$SLUICE_SRCDIR/t/vectors}/collection
mkdir -p dst
SLUICE_PASSPHRASE=abc123 expect_fail 2 "--as-of neither an ID nor a time" \
    "$SLUICE" restore --from "$C" --host vec --as-of garbage -C dst
ok "... says so" grep -qF -- "--as-of 'garbage': no backup id starts with it" "$ERR"
SLUICE_PASSPHRASE=abc123 expect_fail 2 "--as-of before the first backup" \
    "$SLUICE" restore --from "$C" --host vec --as-of @5 -C dst
ok "... says 'no backup of host vec at or before ...'" grep -qF "'@5': no backup of host vec at or before 1970-01-01T00:00:05Z" "$ERR"

done_testing
