#!/bin/sh
# signals.t - a closed output pipe ends sluice quietly (SIGPIPE, as gzip);
# SIGINT/SIGTERM in the middle of a run end it with 130/143 (or death by
# that signal) after cleaning up: no -o output, no temporary file, an
# existing target untouched, at most one line on stderr.
. "$(dirname "$0")/lib.sh"
plan_no_plan

cd "$T_TMP" || bail_out "cd $T_TMP"
mkdir out
mkdata big 10485760
"$SLUICE" -z -o big.slc big || bail_out "cannot make a stream"

# ---- SIGPIPE ---------------------------------------------------------------------
# The status of sluice itself, on the left of the pipe, goes through a file.
pipe_run() { # pipe_run CMD... : CMD | head -c 10; RC = CMD's status
    rm -f st
    { timeout -k 5 30 "$@" 2>"$ERR"; echo $? >st; } | head -c 10 >"$OUT"
    RC=$(cat st)
}
pipe_run "$SLUICE" -d big.slc
is "$RC" 141 "sluice -d big | head -c 10: ends by SIGPIPE (status 141)"
ok "quietly (nothing on stderr)" test ! -s "$ERR" || diag_file "$ERR" stderr
is "$(fsize "$OUT")" 10 "head got its 10 bytes"
pipe_run "$SLUICE" -d <big.slc
is "$RC" 141 "sluice -d <big | head: status 141"
ok "quietly" test ! -s "$ERR" || diag_file "$ERR" stderr
pipe_run "$SLUICE" -z <big
is "$RC" 141 "sluice -z <big | head: status 141"
ok "quietly" test ! -s "$ERR" || diag_file "$ERR" stderr
pipe_run "$SLUICE" --chain zstd,zstd:level=1 big
is "$RC" 141 "a two-stage chain into a closed pipe: status 141"
ok "quietly" test ! -s "$ERR" || diag_file "$ERR" stderr
# Even when the caller ignores SIGPIPE (sluice must still end, not spin).
pipe_run sh -c "trap '' PIPE; exec '$SLUICE' -d big.slc"
like "$RC" "[1-9]*" "with SIGPIPE ignored by the parent it still ends (status $RC)"
ok "and says at most one line" test "$(line_count "$ERR")" -le 1

# ---- SIGINT / SIGTERM -------------------------------------------------------------
# The input comes from a pipe that delivers 3 MB and then stays open, so
# sluice is mid-run (blocks flowing, source waiting) when the signal comes.
interrupt() { # interrupt SIG WANT DESC ARGS...: runs sluice ARGS <slow pipe
    t_sig=$1 t_want=$2 t_desc=$3
    shift 3
    rm -f slowpipe
    mkfifo slowpipe
    (head -c "$T_FEED" "$T_FEED_FILE"; exec sleep 60) >slowpipe 2>/dev/null &
    t_writer=$!
    bg_track $t_writer
    "$SLUICE" "$@" <slowpipe >"$OUT" 2>"$ERR" &
    t_pid=$!
    bg_track $t_pid
    wait_started $t_pid || diag "sluice did not start its threads"
    sleep 1
    t0=$(date +%s)
    kill -"$t_sig" $t_pid
    # A sluice that ignores the signal is killed after 20 s (status 137).
    wait_exit $t_pid 20
    kill $t_writer 2>/dev/null
    wait $t_writer 2>/dev/null
    is "$RC" "$t_want" "$t_desc: status $t_want after SIG$t_sig" ||
        diag_file "$ERR" stderr
    ok "$t_desc: ends promptly" test $(($(date +%s) - t0)) -lt 10
    ok "$t_desc: at most one line on stderr" test "$(line_count "$ERR")" -le 1 ||
        diag_file "$ERR" stderr
}

T_FEED=3000000 T_FEED_FILE=big
interrupt TERM 143 "-z -o FILE" -z -o out/term.slc
ok "-z -o FILE, SIGTERM: no output file" test ! -e out/term.slc
no_temp_files out "-z -o FILE, SIGTERM: no temporary file"
like "$(cat "$ERR")" "sluice: *SIGTERM*" "-z -o FILE, SIGTERM: says why it stopped"

interrupt INT 130 "-z -o FILE" -z -o out/int.slc
ok "-z -o FILE, SIGINT: no output file" test ! -e out/int.slc
no_temp_files out "-z -o FILE, SIGINT: no temporary file"

echo "previous content" >out/kept
cp out/kept out/kept.orig
interrupt TERM 143 "-z -o over an existing file" -z -o out/kept
ok "SIGTERM: the existing target is untouched" cmp -s out/kept out/kept.orig
no_temp_files out "SIGTERM: no temporary file"

interrupt TERM 143 "--chain zstd,zstd to stdout" --chain zstd,zstd:level=1
interrupt INT 130 "-z to stdout" -z

# Nothing arrives at all.
T_FEED=0
interrupt TERM 143 "-z -o FILE, no input yet" -z -o out/none.slc
ok "no input, SIGTERM: no output file" test ! -e out/none.slc
# -d waiting for the rest of its header.
printf 'sluice/1\nzstd lev' >partial-header
T_FEED=100 T_FEED_FILE=partial-header
interrupt TERM 143 "-d -o FILE waiting for its header" -d -o out/hdr
ok "waiting for the header, SIGTERM: no output file" test ! -e out/hdr
interrupt INT 130 "-d waiting for its header" -d

# Restore, interrupted: the input is a stream whose body keeps coming.
head -c "$(($(fsize big.slc) - 1000))" big.slc >big-partial.slc
rm -f slowpipe
mkfifo slowpipe
(cat big-partial.slc; exec sleep 60) >slowpipe 2>/dev/null &
writer=$!
bg_track $writer
"$SLUICE" -d -o out/restored <slowpipe 2>"$ERR" &
pid=$!
bg_track $pid
wait_started $pid || diag "sluice did not start its threads"
sleep 1
kill -TERM $pid
wait_exit $pid 20
kill $writer 2>/dev/null
wait $writer 2>/dev/null
is "$RC" 143 "-d -o FILE interrupted by SIGTERM: status 143" ||
    diag_file "$ERR" stderr
ok "-d -o FILE, SIGTERM: no output file" test ! -e out/restored
no_temp_files out "-d -o FILE, SIGTERM: no temporary file"

done_testing
