#!/bin/sh
# t/format-messages.t - every message doc/FORMAT.md quotes, exactly: each
# case runs the real sluice, checks the exit status and the whole line it
# prints, and checks that doc/FORMAT.md quotes that line's text (the part
# after "sluice: STAGE: ", or the document's template of it where the
# message names a variable thing).  A reworded message then fails here
# until the document says the same (issue 17: every statement of
# FORMAT.md giving an exit status or a message is exercised by a test).
# t/vectors.t checks the same vectors by a part of the message only.
. "$(dirname "$0")/lib.sh"
plan_no_plan

command -v python3 >/dev/null 2>&1 || skip_all "python3 not installed"
V=$SLUICE_SRCDIR/t/vectors
DOC=$SLUICE_SRCDIR/doc/FORMAT.md
PY="$(python3 -c 'import sys; print(sys.executable)') $SLUICE_SRCDIR/t/vectors.py"
cd "$T_TMP" || bail_out "no temporary directory"

# The document, its lines joined (a quoted message may wrap).
tr '\n' ' ' <"$DOC" | sed 's/  */ /g' >doc.txt
in_doc() { # TEXT: quoted in FORMAT.md between backquotes or double quotes
    grep -qF -- "\`$1" doc.txt || grep -qF -- "\"$1" doc.txt
}

# check NAME STATUS LINE DOCTEXT: the last command run (run/expect_fail)
# exited STATUS printing exactly LINE; DOCTEXT is quoted in the document.
check() {
    is "$RC" "$2" "$1: exit $2"
    is "$(cat "$ERR")" "$3" "$1: prints exactly the line"
    ok "$1: FORMAT.md quotes '$4'" in_doc "$4"
}

# ---- refuse.txt: the tables of 1, 2, 3.2, 3.5 -----------------------------
# name | the line sluice prints | the text FORMAT.md quotes
while IFS='|' read -r n line doc; do
    [ -n "$n" ] || continue
    $PY bytes "$V/refuse.txt" refuse "$n" r.slc
    eval "$($PY sh "$V/refuse.txt" refuse "$n")"
    if grep -aq aes-256-gcm r.slc; then
        SLUICE_PASSPHRASE=abc123 run "$SLUICE" -d -o r.out r.slc
    else
        run "$SLUICE" -d -o r.out r.slc
    fi
    check "refuse $n" "$f_exit" "$line" "$doc"
done <<'CASES'
version-2|sluice: header: unsupported stream version 'sluice/2': this sluice reads sluice/1|unsupported stream version 'sluice/2': this sluice reads sluice/1
crlf|sluice: header: line ends in CR: the stream was converted to CRLF text, by a text-mode transfer or editor: an armored stream restores after dos2unix, any other is damaged|line ends in CR: the stream was converted to CRLF text, by a text-mode transfer or editor: an armored stream restores after dos2unix, any other is damaged
no-terminator|sluice: header: truncated header (input ends after 22 bytes)|truncated header (input ends after N bytes)
tab|sluice: header: header contains a non-printable or non-ASCII byte at offset 21|header contains a non-printable or non-ASCII byte at offset N
dup-key|sluice: header: stage zstd: parameter 'level' given twice|stage zstd: parameter 'level' given twice
upper-mac|sluice: header: malformed '---' line: expected '---' or '--- <lowercase hex MAC>'|malformed '---' line: expected '---' or '--- <lowercase hex MAC>'
dash-x|sluice: header: malformed '---' line: expected '---' or '--- <lowercase hex MAC>'|malformed '---' line: expected '---' or '--- <lowercase hex MAC>'
bad-name|sluice: header: invalid stage name '../x': names match [a-z0-9][a-z0-9._-]{0,63}|invalid stage name '../x': names match [a-z0-9][a-z0-9._-]{0,63}
33-stages|sluice: header: more than 32 stages|more than 32 stages
mac-no-auth|sluice: header: the header carries a MAC but no stage in its chain can check it|the header carries a MAC but no stage in its chain can check it
auth-no-mac|sluice: header: the header has no MAC although its chain authenticates: stream tampered with|the header has no MAC although its chain authenticates: stream tampered with
wrong-mac|sluice: header: authentication failed: wrong passphrase, or the header was tampered with|authentication failed: wrong passphrase, or the header was tampered with
kdf-unknown|sluice: aes-256-gcm: unknown kdf 'scrypt': only pbkdf2-sha256 is supported|unknown kdf 'x': only pbkdf2-sha256 is supported
iter-low|sluice: aes-256-gcm: iter=9999: outside the accepted range [10000, 10000000]|iter=9999: outside the accepted range [10000, 10000000]
iter-leading-zero|sluice: aes-256-gcm: iter=064000: not a decimal number|iter=064000: not a decimal number
salt-short|sluice: aes-256-gcm: salt=0102030405060708090a0b0c0d0e0f: not 32 lowercase hex digits|salt=…: not 32 lowercase hex digits
salt-missing|sluice: aes-256-gcm: header lacks salt=|header lacks salt=
salt-twice|sluice: header: stage aes-256-gcm: parameter 'salt' given twice|sluice: header: stage aes-256-gcm: parameter 'salt' given twice
param-unknown|sluice: aes-256-gcm: unknown header parameter 'mode'|unknown header parameter 'x'
body-empty|sluice: aes-256-gcm: truncated: no encrypted object|truncated: no encrypted object
body-in-object-header|sluice: aes-256-gcm: truncated: stream ends inside the object header|truncated: stream ends inside the object header
body-object-header-only|sluice: aes-256-gcm: truncated: stream ends before the final chunk|truncated: stream ends before the final chunk
bad-magic|sluice: aes-256-gcm: not an encrypted object (bad magic)|not an encrypted object (bad magic)
version-3|sluice: aes-256-gcm: unknown object version 3|unknown object version N
flipped-tag|sluice: aes-256-gcm: chunk 0 failed authentication: wrong passphrase, or data corrupt or tampered|chunk 0 failed authentication: wrong passphrase, or data corrupt or tampered
cut-after-full-chunk|sluice: aes-256-gcm: truncated: stream ends before the final chunk|truncated: stream ends before the final chunk
cut-inside-second-chunk|sluice: aes-256-gcm: chunk 1 failed authentication: data corrupt or tampered|chunk N failed authentication: data corrupt or tampered
zstd-empty-body|sluice: zstd: empty input: no zstd frame|empty input: no zstd frame
zstd-cut-frame|sluice: zstd: truncated input: the last zstd frame is incomplete|truncated input: the last zstd frame is incomplete
zstd-level-23|sluice: zstd: level '23' out of range: 1..22, or negative for fast levels|sluice: zstd: level 'X' out of range: 1..22, or negative for fast levels
zstd-unknown-param|sluice: zstd: unknown header parameter 'window'|sluice: zstd: unknown header parameter 'X'
zstd-garbage|sluice: zstd: corrupt input: Unknown frame descriptor|corrupt input: <libzstd's error name>
zstd-window-2-28|sluice: zstd: corrupt input: Frame requires too much memory for decoding|sluice: zstd: corrupt input: Frame requires too much memory for decoding
CASES

# ---- 1: inputs no vector file holds ----------------------------------------
: >empty
run "$SLUICE" -d -o o empty
check "empty input" 4 "sluice: header: empty input: not a sluice stream" \
    "empty input: not a sluice stream"
{ printf 'sluice/1\n'; head -c 70000 /dev/zero | tr '\0' a; } >big
run "$SLUICE" -d -o o big
check "no --- in 65,536 bytes" 4 \
    "sluice: header: larger than 65536 bytes, or no '---' line ends it" \
    "larger than 65536 bytes, or no '---' line ends it"
printf 'hello\n' >plain
run "$SLUICE" -d -o o plain
check "not a sluice stream" 4 "sluice: header: not a sluice stream: no sluice/1 header" \
    "not a sluice stream: no sluice/1 header"
# A frame declaring 65 bytes that holds none (an empty raw block, the
# checksum of nothing), its header arriving in two pieces: libzstd's
# streaming decoder took it (found by t/fuzz/run: zstd); whole, libzstd
# refuses it itself ("Data corruption detected").
{ printf 'sluice/1\nzstd level=3\n---\n'; printf '\050\265\057\375\044\101\001\000\000\231\351\330\121'; } >cs.slc
# The frame goes whole to libzstd's one-shot decoder, however it arrives
# and on any number of threads, and that refuses it.
cs_line="corrupt input: Data corruption detected"
for cut in 29 31 33; do
    for threads in 1 2; do
        RC=0
        { head -c $cut cs.slc; sleep 0.3; tail -c +$((cut + 1)) cs.slc; } |
            "$SLUICE" -d --threads $threads -o o >"$OUT" 2>"$ERR" || RC=$?
        check "a frame holding less than it declares, cut at $cut, --threads $threads" 4 \
            "sluice: zstd: $cs_line" "$cs_line"
    done
done
run "$SLUICE" -d -o o cs.slc
is "$RC" 4 "  whole: refused too (exit 4)"
# A frame of zstd before v0.8 (magic 0xFD2FB527), cut at every split:
# refused by its magic, whatever libzstd's old decoders would make of it.
{ printf 'sluice/1\nzstd level=3\n---\n'; printf '\047\265\057\375\300\004\000\000\000\000'; } >legacy.slc
for cut in 27 29 40; do
    RC=0
    { head -c $cut legacy.slc; sleep 0.2; tail -c +$((cut + 1)) legacy.slc; } |
        "$SLUICE" -d -o o >"$OUT" 2>"$ERR" || RC=$?
    check "a legacy zstd frame, cut at $cut" 4 \
        "sluice: zstd: corrupt input: a zstd frame from before v0.8 (legacy), which this stage does not read" \
        "corrupt input: a zstd frame from before v0.8 (legacy), which this stage does not read"
done
"$SLUICE" -z -o z.slc plain
SLUICE_PASSPHRASE=abc123 run "$SLUICE" -d -o o z.slc
check "passphrase, unencrypted input" 5 \
    "sluice: input: not encrypted, but a passphrase was given: refusing; --allow-unencrypted to accept" \
    "sluice: input: not encrypted, but a passphrase was given: refusing; --allow-unencrypted to accept"
run "$SLUICE" -d -e -o o z.slc
check "-e, unencrypted input" 5 \
    "sluice: input: not encrypted, but -e was given: refusing; --allow-unencrypted to accept" \
    "but -e was given"

# ---- 1, cost limits --------------------------------------------------------
# (A frame of 2 MiB: its output buffer, or the streaming decoder's
# window on one core, is over 1 MiB.)
seq 1 300000 | head -c 2097152 >plain2m
"$SLUICE" -z -o z2m.slc plain2m
run "$SLUICE" -d --max-memory 1M -o o z2m.slc
check "restore over the memory budget" 4 \
    "sluice: zstd: the stream's header asks for more than the memory budget (1 MiB for all stages): raise it with --max-memory" \
    "sluice: STAGE: the stream's header asks for more than the memory budget (1024 MiB for all stages): raise it with --max-memory"
run "$SLUICE" -z --max-memory 1M -o o plain2m
check "backup over the memory budget" 2 \
    "sluice: zstd: the chain needs more than the memory budget (1 MiB for all stages): raise it with --max-memory" \
    "sluice: STAGE: the chain needs more than the memory budget ("
SLUICE_PASSPHRASE=abc123 "$SLUICE" -e -o e.slc plain
SLUICE_PASSPHRASE=abc123 run "$SLUICE" -d --max-kdf-iter 1000 -o o e.slc
check "restore over the KDF budget" 4 \
    "sluice: aes-256-gcm: the stream's header asks for more key-derivation work than the budget (1000 iterations for all stages): raise it with --max-kdf-iter" \
    "sluice: aes-256-gcm: the stream's header asks for more key-derivation work than the budget (N iterations for all stages): raise it with --max-kdf-iter"
SLUICE_PASSPHRASE=abc123 run "$SLUICE" -e --max-kdf-iter 1000 -o o plain
check "backup over the KDF budget" 2 \
    "sluice: aes-256-gcm: the chain needs more key-derivation work than the budget (1000 iterations for all stages): raise it with --max-kdf-iter" \
    "sluice: aes-256-gcm: the chain needs more key-derivation work than the budget (N iterations for all stages): raise it with --max-kdf-iter"

# ---- 2, 3.2: chain parameters on backup ------------------------------------
run "$SLUICE" --chain zstd:window=3 -o o plain
check "backup, unknown zstd parameter" 2 "sluice: zstd: unknown parameter 'window'" \
    "sluice: zstd: unknown parameter 'X'"

# ---- 3.1: passphrase sources -----------------------------------------------
head -c 1025 /dev/zero | tr '\0' a >long
run "$SLUICE" -e --passphrase-file long -o o plain
check "passphrase file too long" 2 \
    "sluice: aes-256-gcm: passphrase from long is longer than 1024 bytes" \
    "passphrase from F is longer than 1024 bytes"
: >emptyp
run "$SLUICE" -e --passphrase-file emptyp -o o plain
check "empty passphrase file" 2 "sluice: aes-256-gcm: the passphrase is empty" \
    "the passphrase is empty"
run "$SLUICE" -e --passphrase-file "$T_TMP/none" -o o plain
check "passphrase file missing" 2 \
    "sluice: aes-256-gcm: cannot open passphrase file $T_TMP/none: No such file or directory" \
    "cannot open passphrase file F: <reason>"
mkdir pdir
run "$SLUICE" -e --passphrase-file pdir -o o plain
check "passphrase file unreadable" 3 \
    "sluice: aes-256-gcm: cannot read passphrase from pdir: Is a directory" \
    "cannot read passphrase from F: <reason>"
if command -v setsid >/dev/null 2>&1; then
    run setsid "$SLUICE" -e -o o plain </dev/null
    check "no passphrase, no terminal" 2 \
        "sluice: aes-256-gcm: no passphrase given: use --passphrase-file, --passphrase-fd or SLUICE_PASSPHRASE (no terminal to prompt on)" \
        "no passphrase given: use --passphrase-file, --passphrase-fd or SLUICE_PASSPHRASE (no terminal to prompt on)"
fi

# ---- 4: archives -------------------------------------------------------------
printf 'root:x:0:0:root:/root:/bin/sh\n' >passwd
mkdir x
run "$SLUICE" -x -f passwd -C x
check "-x of a text file" 4 \
    "sluice: archive: input is not an archive: Unrecognized archive format" \
    "sluice: archive: input is not an archive: Unrecognized archive format"

# ---- 5: collections ----------------------------------------------------------
mkdir src && echo a >src/a && printf abc123 >pw && printf other >pw2
"$SLUICE" backup --to coll --host vec -z -e --passphrase-file pw -C src . >/dev/null 2>&1
run "$SLUICE" backup --to coll -z -e --passphrase-file pw2 -C src .
check "collection, other passphrase" 5 \
    "sluice: coll: wrong passphrase: it does not match the one this collection was created with (nothing was written)" \
    "wrong passphrase: it does not match the one this collection was created with (nothing was written)"
echo "otherhost 1 1 tok" >coll/LOCK
run "$SLUICE" backup --to coll -z -e --passphrase-file pw -C src .
check "collection LOCK held" 3 \
    "sluice: coll: collection is locked by another backup (coll/LOCK: otherhost 1 1 tok): nothing written (remove coll/LOCK if that backup died)" \
    "ROOT: collection is locked by another backup (ROOT/LOCK: HOST PID TIME TOKEN): nothing written (remove ROOT/LOCK if that backup died)"
echo released >coll/LOCK
run "$SLUICE" backup --to coll -z -e --passphrase-file pw -C src .
check "collection LOCK 'released'" 3 \
    "sluice: coll: collection is locked: coll/LOCK holds \"released\" (left by an older sluice): remove it; nothing written" \
    "ROOT: collection is locked: ROOT/LOCK holds \"released\" (left by an older sluice): remove it; nothing written"
rm -f coll/LOCK
run "$SLUICE" backup --to coll --chain zstd --passphrase-file pw -C src .
check "append with a chain that lacks the encryption stage" 2 \
    "sluice: coll: the collection's chain (zstd | aes-256-gcm) has more stages: a backup appends with the recorded chain; omit -z/-e/--chain (this collection is encrypted)" \
    "sluice: ROOT: the collection's chain (zstd | aes-256-gcm) has more stages: a backup appends with the recorded chain; omit -z/-e/--chain (this collection is encrypted)"
"$SLUICE" backup --to plainc -z -C src . >/dev/null 2>&1
run "$SLUICE" backup --to plainc -z -e --passphrase-file pw -C src .
check "append with -e to an unencrypted collection" 2 \
    "sluice: plainc: the collection's chain (zstd) has no aes-256-gcm stage where asked: a backup appends with the recorded chain; omit -z/-e/--chain (this collection is not encrypted)" \
    "sluice: ROOT: the collection's chain (zstd) has no aes-256-gcm stage where asked: a backup appends with the recorded chain; omit -z/-e/--chain (this collection is not encrypted)"
mkdir -p x
run "$SLUICE" restore --from coll --passphrase-file pw --as-of garbage -C x
check "--as-of neither id nor time" 2 \
    "sluice: coll: --as-of 'garbage': no backup id starts with it (a time is written YYYY-MM-DD[THH:MM[:SS]][Z], YYYYMMDDTHHMMSS[Z] or @UNIX)" \
    "sluice: ROOT: --as-of 'garbage': no backup id starts with it (a time is written YYYY-MM-DD[THH:MM[:SS]][Z], YYYYMMDDTHHMMSS[Z] or @UNIX)"

run "$SLUICE" restore --from coll --passphrase-file pw --host vec --as-of @1 -C x
check "--as-of before every backup" 2 \
    "sluice: coll: --as-of '@1': no backup of host vec at or before 1970-01-01T00:00:01Z" \
    "sluice: ROOT: --as-of '@1': no backup of host vec at or before 1970-01-01T00:00:01Z"
d=$(ls -d coll/backups/*/data-1)
mv "$d" "$d.gone"
run "$SLUICE" verify --from coll --passphrase-file pw
check "verify, object missing" 3 \
    "sluice: verify: damaged or missing object: file: cannot open $d: No such file or directory" \
    "sluice: verify: damaged or missing object: file: cannot open ROOT/backups/ID/data-N: No such file or directory"

# ---- doc/EXIT.md: the messages it quotes --------------------------------
tr '\n' ' ' <"$SLUICE_SRCDIR/doc/EXIT.md" | sed 's/  */ /g' >doc.txt
run "$SLUICE" --chain zstd:levle=3 -o o plain
check "EXIT.md 2: undeclared key" 2 \
    "sluice: zstd: unknown parameter 'levle' (did you mean 'level'?)" \
    "zstd: unknown parameter 'levle' (did you mean 'level'?)"
# A frame whose window is 2^27 bytes (128 MiB): within the limit of 2,
# over a 64 MiB budget.
{ printf 'sluice/1\nzstd level=3\n---\n'; printf '\050\265\057\375\000\210\001\000\000'; } >w27.slc
run "$SLUICE" -d -o o w27.slc
is "$RC" 0 "EXIT.md 4: a 128 MiB window inside the default budget restores"
run "$SLUICE" -d --max-memory 64M -o o w27.slc
check "EXIT.md 4: over the budget" 4 \
    "sluice: zstd: the stream's header asks for more than the memory budget (64 MiB for all stages): raise it with --max-memory" \
    "zstd: the stream's header asks for more than the memory budget ("
"$SLUICE" -cf m.slc plain
run "$SLUICE" -tf m.slc nothere
check "EXIT.md 2: -t of a member not in the archive" 2 \
    "sluice: archive: nothere: Not found in archive" \
    "archive: NAME: Not found in archive"
done_testing
