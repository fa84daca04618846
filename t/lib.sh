# t/lib.sh - helpers for the shell tests (POSIX sh; sourced, not run).
#
#   . "$(dirname "$0")/lib.sh"
#
# Environment (set by `make check`; defaults suit `prove t/x.t` from the top
# of an in-tree build):
#   SLUICE               the sluice binary
#   SLUICE_PLUGIN_PATH   directory of the built plugins (plugins/.libs)
#   SLUICE_TEST_PLUGINS  directory of the test plugins (t/plugins/.libs)
#   SLUICE_SRCDIR        top of the source tree
#
# TAP:
#   plan N | plan_no_plan; done_testing at the end (prints the plan if
#   none was given and sets the exit status)
#   pass DESC / fail DESC            a result
#   ok DESC CMD...                   passes if CMD succeeds
#   nok DESC CMD...                  passes if CMD fails
#   is GOT WANT DESC                 string equality, with a diagnostic
#   like GOT PATTERN DESC            GOT matches the shell case PATTERN
#   skip N REASON                    N skipped results
#   skip_all REASON                  "1..0 # SKIP" and exit
#   diag TEXT...                     a comment
#
# Running sluice:
#   run CMD...            runs CMD (under a timeout); sets RC and leaves its
#                         stdout in "$OUT", stderr in "$ERR"
#   expect_fail STATUS DESC CMD...
#                         one result: CMD exits with exactly STATUS (< 128,
#                         so it was not killed by a signal, not timed out)
#                         and prints exactly one line on stderr, starting
#                         "sluice: "; stdout/stderr in "$OUT"/"$ERR"
#   expect_ok DESC CMD... one result: CMD exits 0 with nothing on stderr
#   no_temp_files DIR DESC
#                         one result: no ".NAME.sluice-*" file left in DIR
#
# Files: $T_TMP is a fresh directory removed on exit (and on INT/TERM/HUP);
# HOME points inside it so ~/.local/lib/sluice/plugins cannot interfere.
# bg_track PID registers a background process to be killed at exit.

set -u
LC_ALL=C
export LC_ALL

T_DIR=$(cd "$(dirname "$0")" && pwd)
: "${SLUICE_SRCDIR:=$(cd "$T_DIR/.." && pwd)}"
: "${SLUICE:=$PWD/sluice}"
: "${SLUICE_PLUGIN_PATH:=$PWD/plugins/.libs}"
: "${SLUICE_TEST_PLUGINS:=$PWD/t/plugins/.libs}"
export SLUICE SLUICE_PLUGIN_PATH SLUICE_TEST_PLUGINS SLUICE_SRCDIR
# No passphrase from the caller's environment leaks into a test.
unset SLUICE_PASSPHRASE 2>/dev/null || :

# Seconds before a command run by run/expect_* is considered hung.
: "${T_TIMEOUT:=60}"

T_RUN=0
T_FAILED=0
T_PLANNED=
T_BG_PIDS=

T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-t.XXXXXX") || {
    echo "Bail out! cannot create a temporary directory"
    exit 1
}
HOME=$T_TMP/home
export HOME
OUT=$T_TMP/.stdout
ERR=$T_TMP/.stderr
RC=0

# The test shell's own PID ($$ is the same in subshells; this is not).
# shellcheck disable=SC2016
T_MAIN_PID=$(exec sh -c 'echo $PPID')

t_cleanup() {
    # A subshell forked by the test may run the parent's traps if a signal
    # reaches it before it has reset them (bash does this): only the test
    # shell itself cleans up.
    # shellcheck disable=SC2016
    [ "$(exec sh -c 'echo $PPID')" = "$T_MAIN_PID" ] || return 0
    for p in $T_BG_PIDS; do
        kill -9 "$p" 2>/dev/null || :
    done
    rm -rf "$T_TMP"
}
trap 't_cleanup' EXIT
trap 't_cleanup; trap - EXIT; exit 129' HUP
trap 't_cleanup; trap - EXIT; exit 130' INT
trap 't_cleanup; trap - EXIT; exit 143' TERM

bg_track() {
    T_BG_PIDS="$T_BG_PIDS $1"
}

# wait_exit PID SECONDS: waits for the background process PID to end,
# killing it (-9) if it is still running after SECONDS; sets RC to its exit
# status (137 if it had to be killed).  Polls /proc rather than forking a
# watchdog subshell.
wait_exit() {
    _tl_i=0
    while [ "$_tl_i" -lt $(($2 * 10)) ]; do
        _tl_line=
        { IFS= read -r _tl_line </proc/"$1"/stat; } 2>/dev/null || :
        _tl_st=${_tl_line##*) }
        _tl_st=${_tl_st%% *}
        case $_tl_st in '' | Z | X) break ;; esac
        sleep 0.1
        _tl_i=$((_tl_i + 1))
    done
    kill -9 "$1" 2>/dev/null || :
    RC=0
    wait "$1" || RC=$?
}

# wait_started PID: waits (up to 20 s) until process PID runs more than one
# thread.  sluice blocks SIGINT/SIGTERM and starts its signal thread before
# any work, so from then on a signal is handled, not lost or fatal.
wait_started() {
    _tl_i=0
    while [ "$_tl_i" -lt 200 ]; do
        set -- "$1" /proc/"$1"/task/*
        [ $# -ge 3 ] && return 0
        [ -d /proc/"$1" ] || return 1
        sleep 0.1
        _tl_i=$((_tl_i + 1))
    done
    return 1
}

# ---- TAP ------------------------------------------------------------------

plan() {
    T_PLANNED=$1
    echo "1..$1"
}

plan_no_plan() {
    T_PLANNED=
}

skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}

diag() {
    printf '%s\n' "$*" | sed 's/^/# /'
}

# Shows a file as TAP comments (at most 20 lines).
diag_file() {
    if [ -s "$1" ]; then
        echo "# --- $2:"
        head -n 20 "$1" | sed 's/^/#   /'
    fi
}

bail_out() {
    echo "Bail out! $*"
    exit 1
}

t_result() { # t_result 0|1 DESC [DIRECTIVE]
    T_RUN=$((T_RUN + 1))
    # '#' in a description would start a directive.
    case $2 in
    *'#'* | *'
'*) _tl_desc=$(printf '%s' "$2" | tr '#\n' '  ') ;;
    *) _tl_desc=$2 ;;
    esac
    if [ "$1" = 0 ]; then
        echo "ok $T_RUN - $_tl_desc${3:+ # $3}"
    else
        T_FAILED=$((T_FAILED + 1))
        echo "not ok $T_RUN - $_tl_desc${3:+ # $3}"
    fi
    return "$1"
}

pass() { t_result 0 "$1"; }
fail() { t_result 1 "$1"; }

ok() {
    _tl_d=$1
    shift
    if "$@"; then t_result 0 "$_tl_d"; else t_result 1 "$_tl_d"; fi
}

nok() {
    _tl_d=$1
    shift
    if "$@"; then t_result 1 "$_tl_d"; else t_result 0 "$_tl_d"; fi
}

is() {
    if [ "$1" = "$2" ]; then
        t_result 0 "$3"
    else
        t_result 1 "$3"
        diag "     got: '$1'" "expected: '$2'"
        return 1
    fi
}

like() {
    # shellcheck disable=SC2254
    case $1 in
    $2) t_result 0 "$3" ;;
    *)
        t_result 1 "$3"
        diag "     got: '$1'" "expected to match: '$2'"
        return 1
        ;;
    esac
}

skip() {
    _tl_i=0
    while [ "$_tl_i" -lt "$1" ]; do
        T_RUN=$((T_RUN + 1))
        echo "ok $T_RUN # SKIP $2"
        _tl_i=$((_tl_i + 1))
    done
}

todo() { # todo 0|1 DESC REASON: a known failure, reported but not counted
    T_RUN=$((T_RUN + 1))
    if [ "$1" = 0 ]; then
        echo "ok $T_RUN - $2 # TODO $3"
    else
        echo "not ok $T_RUN - $2 # TODO $3"
    fi
}

done_testing() {
    if [ -z "$T_PLANNED" ]; then
        echo "1..$T_RUN"
    elif [ "$T_PLANNED" != "$T_RUN" ]; then
        diag "planned $T_PLANNED tests but ran $T_RUN"
        T_FAILED=$((T_FAILED + 1))
    fi
    if [ "$T_FAILED" -gt 0 ]; then
        diag "failed $T_FAILED of $T_RUN"
        exit 1
    fi
    exit 0
}

# ---- running commands -------------------------------------------------------

# A hung command is killed; timeout(1) then exits 124 (or 137 after -k).
run() {
    RC=0
    timeout -k 5 "$T_TIMEOUT" "$@" >"$OUT" 2>"$ERR" || RC=$?
    return 0
}

# Number of lines in a file (a last line without newline counts).
line_count() {
    _tl_n=0
    if [ -f "$1" ]; then
        while IFS= read -r _tl_line || [ -n "$_tl_line" ]; do
            _tl_n=$((_tl_n + 1))
        done <"$1"
    fi
    echo "$_tl_n"
}

# Checks the one-line stderr rule on "$ERR"; sets _tl_p to what is wrong.
t_one_line_problem() {
    _tl_p=
    _tl_n=$(line_count "$ERR")
    if [ "$_tl_n" != 1 ]; then
        _tl_p="stderr has $_tl_n lines, not 1"
    else
        IFS= read -r _tl_line <"$ERR" || :
        case $_tl_line in
        'sluice: '*) ;;
        *) _tl_p="stderr does not start with 'sluice: '" ;;
        esac
    fi
}

expect_fail() {
    _tl_want=$1
    _tl_d=$2
    shift 2
    run "$@"
    _tl_why=
    if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
        _tl_why="timed out after ${T_TIMEOUT}s (status $RC)"
    elif [ "$RC" -ge 128 ]; then
        _tl_why="killed by signal $((RC - 128))"
    elif [ "$RC" != "$_tl_want" ]; then
        _tl_why="exit status $RC, expected $_tl_want"
    fi
    t_one_line_problem
    _tl_why="$_tl_why${_tl_why:+${_tl_p:+; }}$_tl_p"
    if [ -z "$_tl_why" ]; then
        t_result 0 "$_tl_d (exit $_tl_want)"
    else
        t_result 1 "$_tl_d (exit $_tl_want)"
        diag "$_tl_why"
        diag_file "$ERR" stderr
        return 1
    fi
}

expect_ok() {
    _tl_d=$1
    shift
    run "$@"
    if [ "$RC" = 0 ] && [ ! -s "$ERR" ]; then
        t_result 0 "$_tl_d"
    else
        t_result 1 "$_tl_d"
        diag "exit status $RC"
        diag_file "$ERR" stderr
        return 1
    fi
}

# Temporary files the file stage creates next to its target.
temp_files() {
    find "$1" -maxdepth 1 -name '.*.sluice-*' 2>/dev/null
}

no_temp_files() {
    _tl_left=$(temp_files "$1")
    if [ -z "$_tl_left" ]; then
        t_result 0 "$2"
    else
        t_result 1 "$2"
        diag "left behind: $_tl_left"
        return 1
    fi
}

# ---- data -----------------------------------------------------------------

# mkdata FILE SIZE: SIZE random bytes.
mkdata() {
    head -c "$2" /dev/urandom >"$1"
}

# mktext FILE SIZE: SIZE bytes of compressible text.
mktext() {
    _tl_i=0
    : >"$1.tmp"
    while [ "$(wc -c <"$1.tmp")" -lt "$2" ]; do
        seq "$_tl_i" $((_tl_i + 20000)) >>"$1.tmp"
        _tl_i=$((_tl_i + 20000))
    done
    head -c "$2" "$1.tmp" >"$1"
    rm -f "$1.tmp"
}

# Size of a file in bytes.
fsize() {
    wc -c <"$1" | tr -d ' '
}

# Length of the sluice/1 header of a stream: up to and including the first
# line starting with "---" within the first MAX bytes (default 70000).
# Prints nothing if there is none.
header_len() {
    head -c "${2:-70000}" "$1" | awk '{ n += length($0) + 1 } /^---/ { print n; exit }'
}

# The body of a stream (everything after the header) on stdout.
body_of() {
    _tl_h=$(header_len "$1")
    [ -n "$_tl_h" ] || return 1
    tail -c +$((_tl_h + 1)) "$1"
}

# The ABI this sluice provides, "MAJOR.MINOR", from --version.
host_abi() {
    "$SLUICE" --version | sed -n 's/.*plugin ABI \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p'
}

[ -x "$SLUICE" ] || bail_out "no sluice binary at $SLUICE (build first)"
mkdir -p "$HOME"

# tree_listing DIR: one sorted line an entry below DIR, to compare trees:
# "path f mode size mtime_ns sha256" for files, "path l target" for
# symbolic links, "path d mode" otherwise.
tree_listing() {
    python3 - "$1" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
out = []
for dp, dns, fns in os.walk(root):
    for n in dns + fns:
        p = os.path.join(dp, n)
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        mode = "%04o" % stat.S_IMODE(st.st_mode)
        if stat.S_ISREG(st.st_mode):
            h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            out.append("%s f %s %d %d %s" % (rel, mode, st.st_size, st.st_mtime_ns, h))
        elif stat.S_ISLNK(st.st_mode):
            out.append("%s l %s" % (rel, os.readlink(p)))
        else:
            out.append("%s d %s" % (rel, mode))
print("\n".join(sorted(out)))
PY
}
