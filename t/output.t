#!/bin/sh
# output.t - what -o FILE does to what is already there.  A regular file is
# replaced atomically (via a temporary .FILE.sluice-XXXXXX beside it); a
# special file (a FIFO, a device such as /dev/null) is written to, never
# replaced; an existing file keeps its permissions, as with gzip/zstd.
. "$(dirname "$0")/lib.sh"
plan_no_plan

cd "$T_TMP" || bail_out "cd $T_TMP"
mkdata data 200000
"$SLUICE" -z -o data.slc data || bail_out "cannot make a stream"

# ---- regular files ---------------------------------------------------------------
echo old >existing
expect_ok "-o over an existing regular file" "$SLUICE" -d -o existing data.slc
ok "replaced by the new content" cmp -s existing data
no_temp_files . "no temporary file left"

echo old >private
chmod 600 private
expect_ok "-o over an existing mode-600 file" "$SLUICE" -d -o private data.slc
is "$(stat -c %a private)" 600 "keeps its mode 600 (restoring a private file must not publish it)"

umask 077
expect_ok "-o to a new file under umask 077" "$SLUICE" -d -o newfile data.slc
is "$(stat -c %a newfile)" 600 "a new file follows the umask"
umask 022

mkdir sub
expect_ok "-o to a relative path in a subdirectory" "$SLUICE" -d -o sub/x data.slc
ok "written there" cmp -s sub/x data
no_temp_files sub "no temporary file in the subdirectory"
expect_ok "-o to an absolute path" "$SLUICE" -d -o "$T_TMP/sub/y" data.slc
ok "written there" cmp -s sub/y data

# A symlink is followed, as gzip -c >LINK or zstd -o LINK would: the
# target gets the data, the link stays a link.
echo old >link-target
ln -s link-target link
expect_ok "-o to a symlink" "$SLUICE" -d -o link data.slc
ok "the link is still a symlink" test -L link
ok "its target has the new content" cmp -s link-target data
no_temp_files . "no temporary file left"

# ---- special files ---------------------------------------------------------------
# A FIFO: the bytes must go into the pipe, and the FIFO must stay a FIFO.
mkfifo fifo
timeout 10 cat fifo >from-fifo &
reader=$!
bg_track $reader
run "$SLUICE" -d -o fifo data.slc
is "$RC" 0 "-o FIFO succeeds" || diag_file "$ERR" stderr
ok "the FIFO is still a FIFO (not replaced by a regular file)" test -p fifo
if [ ! -p fifo ]; then
    # Unblock the reader: its FIFO is gone, nobody will ever open it.
    kill $reader 2>/dev/null
fi
wait $reader 2>/dev/null
ok "the reader of the FIFO got the data" cmp -s from-fifo data

# Character devices (as /dev/null, /dev/full), made here so no real device
# is at risk.  Needs root (mknod).
if mknod null c 1 3 2>/dev/null && mknod full c 1 7 2>/dev/null; then
    run "$SLUICE" -z -o null data
    is "$RC" 0 "-o to a null device succeeds"
    ok "the device is still a character device" test -c null
    no_temp_files . "no temporary file left"
    expect_fail 3 "-o to a full device fails with an I/O error" "$SLUICE" -z -o full data
    ok "that device is still a character device" test -c full
else
    skip 5 "cannot mknod (not root)"
fi

# stdout on a full device.
if [ -w /dev/full ]; then
    expect_fail 3 "stdout on /dev/full: -z" sh -c "exec '$SLUICE' -z data >/dev/full"
    like "$(cat "$ERR")" "*No space*" "says why"
    expect_fail 3 "stdout on /dev/full: -d" sh -c "exec '$SLUICE' -d data.slc >/dev/full"
else
    skip 3 "no /dev/full"
fi

done_testing
