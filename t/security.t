#!/bin/sh
# security.t - the stream-level threats of doc/SECURITY.md (issue 14):
#
#   - downgrade: with a passphrase given (any source) or -e, a restore
#     takes only an input authenticated by an encryption stage; a zstd-only
#     stream, a header without stages, a plain tar are refused (exit 5)
#     before anything is written; --allow-unencrypted is the way out;
#   - secrets in messages: URL userinfo and credential parameters are
#     redacted in every line sluice prints, a stage's log included;
#   - listings: control characters, C1 included, are escaped in names,
#     owners and groups (-t, -tv, -xv) and in `sluice backups`;
#   - the passphrase leaves the environment (and /proc/PID/environ) at
#     once, and the process is not dumpable while it is held;
#   - plaintext of an encrypted input written by -d -o is created 0600;
#   - input that is not an archive is refused by -x and -t (exit 4) before
#     anything is written (not read as mtree).
. "$(dirname "$0")/lib.sh"
plan_no_plan
command -v python3 >/dev/null 2>&1 || skip_all "python3 needed to build archives"
[ -f "$SLUICE_PLUGIN_PATH/aes-256-gcm.so" ] || skip_all "aes-256-gcm.so not built"

cd "$T_TMP" || bail_out "cd $T_TMP"
mkdir out x
PW=secure-test-phrase
printf '%s\n' "$PW" >pw.txt
mkdata plain 300000
SLUICE_PASSPHRASE=$PW "$SLUICE" -z -e -q -o enc.slc plain ||
    bail_out "cannot make enc.slc"
"$SLUICE" -z -q -o z.slc plain || bail_out "cannot make z.slc"
{ printf 'sluice/1\n---\n'; cat plain; } >nostage.slc
mkdir tree && echo content >tree/file
"$SLUICE" -c -f plain.tar -C tree file || bail_out "cannot make plain.tar"

# ---- downgrade ---------------------------------------------------------------
# refused DESC CMD...: exit 5, one line saying why, no output, nothing in x/.
refused() {
    d=$1
    shift
    expect_fail 5 "$d" "$@"
    like "$(cat "$ERR")" "*not encrypted, but * given: refusing; --allow-unencrypted to accept*" \
        "$d: says why"
    ok "$d: no output file" test ! -e out/r
    ok "$d: nothing extracted" test -z "$(ls -A x)"
    no_temp_files out "$d: no temporary file"
}
refused "SLUICE_PASSPHRASE, -d of a zstd-only stream" \
    env SLUICE_PASSPHRASE=$PW "$SLUICE" -d -o out/r z.slc
refused "--passphrase-file, -d of a header without stages" \
    "$SLUICE" -d --passphrase-file pw.txt -o out/r nostage.slc
refused "--passphrase-fd, -d of a header without stages (stdin to stdout)" \
    sh -c 'exec "$1" -d --passphrase-fd 3 <"$2" 3<pw.txt >out/r.stdout' sh "$SLUICE" nostage.slc
ok "... and nothing reached stdout" test ! -s out/r.stdout
rm -f out/r.stdout
refused "SLUICE_PASSPHRASE, -x of a plain tar" \
    env SLUICE_PASSPHRASE=$PW "$SLUICE" -x -f plain.tar -C x
refused "--passphrase-file, -t of a plain tar" \
    "$SLUICE" -t --passphrase-file pw.txt -f plain.tar
ok "... and no listing" test ! -s "$OUT"
refused "-e with -d, no passphrase: a zstd-only stream" \
    "$SLUICE" -d -e -o out/r z.slc
refused "-e with -x: a plain tar" "$SLUICE" -x -e -f plain.tar -C x
refused "-e with -x: a zstd-only .slc" sh -c '"$1" -c -z -f - -C tree file | "$1" -x -e -f - -C x' sh "$SLUICE"

expect_ok "--allow-unencrypted: the zstd-only stream restores" \
    env SLUICE_PASSPHRASE=$PW "$SLUICE" -d --allow-unencrypted -o out/ok z.slc
ok "... exactly" cmp -s out/ok plain
expect_ok "--allow-unencrypted: -x of a plain tar" \
    env SLUICE_PASSPHRASE=$PW "$SLUICE" -x --allow-unencrypted -f plain.tar -C x
ok "... restored" test "$(cat x/file 2>/dev/null)" = content
rm -rf x/* out/ok
expect_ok "no passphrase, no -e: a zstd-only stream restores as before" \
    "$SLUICE" -d -o out/ok z.slc
rm -f out/ok
expect_ok "a passphrase and an encrypted stream: restores" \
    env SLUICE_PASSPHRASE=$PW "$SLUICE" -d -e -o out/ok enc.slc
ok "... exactly" cmp -s out/ok plain
rm -f out/ok

# ---- plaintext of an encrypted input is private -------------------------------
(
    umask 022
    env SLUICE_PASSPHRASE=$PW "$SLUICE" -d -o out/private enc.slc
    "$SLUICE" -d -o out/public z.slc
)
is "$(stat -c %a out/private 2>/dev/null)" 600 \
    "-d -o NEW from an encrypted input: created mode 600 (umask 022)"
is "$(stat -c %a out/public 2>/dev/null)" 644 \
    "-d -o NEW from an unencrypted input: 644, as the umask says"
rm -f out/private out/public

# ---- the passphrase in the environment, core dumps ------------------------------
# The probe stage (t/plugins/probe.c) reports what a stage sees.
SLUICE_PLUGIN_PATH="$SLUICE_TEST_PLUGINS:$SLUICE_PLUGIN_PATH"
export SLUICE_PLUGIN_PATH
probe_stream() {
    { printf 'sluice/1\nprobe%s\n---\n' "$1"; printf 'body'; } >probe.slc
}
probe_stream " ask=1 secret=$PW"
run env SLUICE_PASSPHRASE=$PW "$SLUICE" -d --allow-unencrypted -o out/p probe.slc
is "$RC" 0 "probe: SLUICE_PASSPHRASE, --allow-unencrypted: restores"
like "$(cat "$ERR")" "*env=unset*" \
    "SLUICE_PASSPHRASE is gone from the environment (no program sluice runs inherits it)"
like "$(cat "$ERR")" "*proc-environ=0*" \
    "... and its value from /proc/PID/environ"
like "$(cat "$ERR")" "*dumpable=0*" \
    "SLUICE_PASSPHRASE: the process is not dumpable (no core file, no ptrace)"
run "$SLUICE" -d --passphrase-file pw.txt --allow-unencrypted -o out/p probe.slc
like "$(cat "$ERR")" "*dumpable=0*" \
    "--passphrase-file, once read: the process is not dumpable"
probe_stream ""
run "$SLUICE" -d -o out/p probe.slc
like "$(cat "$ERR")" "*dumpable=1*" \
    "no passphrase at all: dumpable as usual (the probe can tell)"

# ---- secrets in messages ---------------------------------------------------------------
# A stage's log line carries a URL with a password and a signature.
like "$(cat "$ERR")" "*url=http://\*\*\*@example.invalid/x?X-Amz-Signature=\*\*\*&a=1*" \
    "a stage's message: userinfo and X-Amz-Signature redacted by the host"
ok "... the password and the signature appear nowhere" \
    sh -c '! grep -q -e probe-pass -e probe-user -e probesig "$1"' sh "$ERR"
rm -f out/p
# An endpoint's own failure: nothing listens on port 1.
url='http://alice:hunter2@127.0.0.1:1/b/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261203&X-Amz-Signature=deadbeef&X-Amz-Security-Token=sesstok&token=t0k&Sig=s1g'
if [ -f "$SLUICE_PLUGIN_PATH/http.so" ] || [ -f "${SLUICE_PLUGIN_PATH##*:}/http.so" ]; then
    run env SLUICE_NET_RETRIES=1 "$SLUICE" -d "$url"
    ok "http: a failed download exits non-zero ($RC)" test "$RC" -ne 0 -a "$RC" -lt 128
    like "$(cat "$ERR")" "*http://\*\*\*@127.0.0.1:1/b/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=\*\*\*&X-Amz-Signature=\*\*\*&X-Amz-Security-Token=\*\*\*&token=\*\*\*&Sig=\*\*\**" \
        "http: the URL in the message is redacted"
    ok "http: no password, credential, signature or token in any message" \
        sh -c '! grep -q -e alice -e hunter2 -e AKIDEXAMPLE -e deadbeef -e sesstok -e t0k -e s1g "$1"' sh "$ERR"
else
    skip 3 "http.so not built"
fi

# ---- listings: control characters, C1 included ----------------------------------------
# A tar whose member name, owner and group carry ESC and C1 (U+009B, CSI).
python3 - evil.tar <<'EOF' || bail_out "cannot make evil.tar"
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo("n\x1b[31mred\u009b2Jname")
    i.uname = "u\x1b]0;own\x07er"
    i.gname = "g\u009b1mgrp"
    i.size = 2
    t.addfile(i, io.BytesIO(b"hi"))
EOF
# raw FILE: prints 1 if FILE has ESC, BEL or a UTF-8 C1 (\302\200-\302\237).
raw() {
    python3 -c 'import re,sys; d=open(sys.argv[1],"rb").read(); print(int(bool(re.search(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", d))))' "$1"
}
expect_ok "-t of names with ESC and C1" "$SLUICE" -t -f evil.tar
is "$(raw "$OUT")" 0 "-t: no raw control character (C0 or C1) on stdout"
like "$(cat "$OUT")" 'n\\033[31mred\\302\\2332Jname' "-t: shown as octal escapes"
expect_ok "-tv of names, owner and group with ESC and C1" "$SLUICE" -tv -f evil.tar
is "$(raw "$OUT")" 0 "-tv: no raw control character in name, owner or group"
like "$(cat "$OUT")" '*u\\033]0;own\\aer*g\\302\\2331mgrp*' "-tv: owner and group escaped"
expect_ok "-xv of the same" "$SLUICE" -xv -f evil.tar -C x
is "$(raw "$OUT")" 0 "-xv: no raw control character in the listing"
rm -rf x/* x/.[!.]* 2>/dev/null
mkdir evil && : >"evil/$(printf 'c\033[1m\302\233x')"
expect_ok "-cv of a file named with ESC and C1" "$SLUICE" -cv -f out/evil.tar -C evil .
is "$(raw "$OUT")" 0 "-cv: no raw control character in the listing"
rm -f out/evil.tar
# sluice backups: the host name is stored, so as hostile as a member name.
mkdir src && echo hi >src/f
if "$SLUICE" backup -q --to "$T_TMP/col" --host "$(printf 'h\033[2Jx\302\233y')" -C src . >/dev/null 2>&1; then
    expect_ok "backups: a host name with ESC and C1" "$SLUICE" backups --from "$T_TMP/col"
    is "$(raw "$OUT")" 0 "backups: no raw control character on stdout"
    like "$(cat "$OUT")" '*h\\033[2Jx\\302\\233y*' "backups: the host name escaped"
else
    fail "backup with a host name holding ESC and C1"
fi

# ---- input that is not an archive ----------------------------------------------
printf 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n' >passwd.txt
i=0
while [ $i -lt 40 ]; do echo "user$i:x:$((1000 + i)):$((1000 + i))::/home/u$i:/bin/sh"; i=$((i + 1)); done >>passwd.txt
expect_fail 4 "-x of a text file (a passwd file)" "$SLUICE" -x -f passwd.txt -C x
like "$(cat "$ERR")" "sluice: archive: input is not an archive*" "... says it is not an archive"
ok "... nothing was written" test -z "$(ls -A x)"
expect_fail 4 "-t of a text file" "$SLUICE" -t -f passwd.txt
ok "... no listing" test ! -s "$OUT"
expect_ok "-t of a real tar still lists it" "$SLUICE" -t -f plain.tar
is "$(cat "$OUT")" file "... its member"
if command -v bsdtar >/dev/null 2>&1; then
    for f in cpio zip 7zip; do
        bsdtar --format $f -cf t.$f -C tree file 2>/dev/null || continue
        expect_ok "-t of a $f archive (bsdtar's)" "$SLUICE" -t -f t.$f
        is "$(cat "$OUT")" file "... its member"
    done
fi

done_testing
