#!/bin/sh
# completion.t - contrib/bash-completion/sluice: options (all of the option
# table's, src/cli/options.c),
# subcommands, files where an option takes a file, directories for -C, and
# stage names for --chain (also after a comma, and in --chain=SPEC).
#
# The completion function is called the way bash calls it: COMP_LINE,
# COMP_POINT, COMP_WORDS split at blanks and at the ':' and '=' of
# COMP_WORDBREAKS (as readline does: "--chain=zstd" is "--chain" "=" "zstd"),
# COMP_CWORD; the result is COMPREPLY, which replaces only the text after
# the last word break.  The stage names come from the built sluice (a
# `sluice` on PATH running $SLUICE with the built plugins).
. "$(dirname "$0")/lib.sh"
plan_no_plan

command -v bash >/dev/null 2>&1 || skip_all "bash not available"
script=$SLUICE_SRCDIR/contrib/bash-completion/sluice
[ -f "$script" ] || bail_out "no $script"

cd "$T_TMP" || bail_out "cd $T_TMP"
mkdir bin files files/dir files/dir2
ln -s "$SLUICE" bin/sluice
: >files/data.slc
: >files/dump.sql
: >files/other
PATH=$T_TMP/bin:$PATH
export PATH

ok "the script parses (bash -n)" bash -n "$script"

# complete_line [-u] LINE: prints COMPREPLY, sorted, one word per line; -u
# runs the completion under `set -u`.  Run in $T_TMP/files.  (Directories
# come without their '/': readline adds it, for -o filenames.)
cat >driver.bash <<'EOF'
nounset=
[ "$1" = -u ] && { nounset=1; shift; }
line=$1
. "$SCRIPT" || exit 99
COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
COMP_LINE=$line
COMP_POINT=${#line}
COMP_WORDS=()
tok="" kind=""   # kind: w (word) or b (a run of ':' and '=')
for ((i = 0; i < ${#line}; i++)); do
    c=${line:i:1}
    case $c in
    ' ' | $'\t')
        [[ -n $tok ]] && COMP_WORDS+=("$tok")
        tok="" kind=""
        ;;
    ':' | '=')
        if [[ $kind == w ]]; then COMP_WORDS+=("$tok"); tok=""; fi
        tok+=$c kind=b
        ;;
    *)
        if [[ $kind == b ]]; then COMP_WORDS+=("$tok"); tok=""; fi
        tok+=$c kind=w
        ;;
    esac
done
if [[ -n $tok ]]; then COMP_WORDS+=("$tok"); else COMP_WORDS+=(""); fi
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
[[ -n $nounset ]] && set -u
_sluice sluice "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]-}" || exit 98
[[ ${#COMPREPLY[@]} -gt 0 ]] && printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
exit 0
EOF
complete_line() {
    (cd files && SCRIPT=$script bash --norc --noprofile ../driver.bash "$@")
}
# comp LINE WANT [DESC]: the completions of LINE, space-separated, are WANT.
comp() {
    is "$(complete_line "$1" | tr '\n' ' ' | sed 's/ $//')" "$2" "${3:-'$1' completes to '$2'}"
}
# comp_has LINE WORD...: the completions of LINE include each WORD.
comp_has() {
    _c_line=$1
    shift
    _c_got=$(complete_line "$_c_line")
    for _c_w in "$@"; do
        if printf '%s\n' "$_c_got" | grep -qxF -- "$_c_w"; then
            pass "'$_c_line' offers '$_c_w'"
        else
            fail "'$_c_line' offers '$_c_w'"
            diag "got: $(printf '%s' "$_c_got" | tr '\n' ' ')"
        fi
    done
}
comp_lacks() {
    _c_line=$1
    shift
    _c_got=$(complete_line "$_c_line")
    for _c_w in "$@"; do
        if printf '%s\n' "$_c_got" | grep -qxF -- "$_c_w"; then
            fail "'$_c_line' does not offer '$_c_w'"
        else
            pass "'$_c_line' does not offer '$_c_w'"
        fi
    done
}

# ---- options ------------------------------------------------------------------
comp "sluice --ch" "--chain"
comp "sluice --enc" "--encrypt"
comp "sluice --pas" "--passphrase-fd --passphrase-file"
comp "sluice --prog" "--progress"
comp "sluice -q" "-q"
comp "sluice --no-such" ""
# Every long and every short option of the option table (src/cli/options.c,
# one row a line: MACRO("long", 'l', ... or {"long", 'l', ...) is offered
# (those of a command after its name).
table=$SLUICE_SRCDIR/src/cli/options.c
longs=$(sed -n 's/^ *[A-Z]*[({]"\([a-z0-9-]*\)", .*/\1/p' "$table")
shorts=$(sed -n "s/^ *[A-Z]*[({]\(NULL\|\"[a-z0-9-]*\"\), *'\(.\)'.*/\2/p" "$table" | tr -d '\n')
ok "found the long options in the option table" test "$(printf '%s\n' "$longs" | wc -l)" -gt 20
ok "found the short options in the option table" test "${#shorts}" -gt 10
all=$(for c in "" decrypt-object backup backups restore verify forget prune unlock; do
    complete_line "sluice $c --"; done)
missing=
for o in $longs; do
    printf '%s\n' "$all" | grep -qxF -- "--$o" || missing="$missing --$o"
done
is "$missing" "" "every long option of the table is completed"
all=$(complete_line "sluice -")
missing=
for o in $(printf '%s' "$shorts" | sed 's/./& /g'); do
    printf '%s\n' "$all" | grep -qxF -- "-$o" || missing="$missing -$o"
done
is "$missing" "" "every short option of the table is completed"

# ---- subcommands ----------------------------------------------------------------
comp "sluice sta" "stages"
comp "sluice ins" "inspect"
comp "sluice decr" "decrypt-object"
comp "sluice forg" "forget"
comp "sluice forget --keep-d" "--keep-daily"
comp "sluice prune --d" "--dry-run"
comp "sluice restore --prog" "--progress"
comp "sluice unlock --re" "--remove-all"
comp_has "sluice " "inspect" "stages" "decrypt-object" "data.slc" "dir"
comp "sluice stages " "" "nothing after 'sluice stages'"
comp "sluice inspect d" "data.slc dir dir2 dump.sql" "sluice inspect FILE"
comp "sluice decrypt-object --sa" "--salt"
comp "sluice decrypt-object --enc" "--encryption-info"
comp "sluice decrypt-object --salt " "" "nothing for --salt HEX"
comp "sluice decrypt-object --encryption-info da" "data.slc"

# ---- files and directories ------------------------------------------------------------
comp "sluice -f da" "data.slc"
comp "sluice -xf da" "data.slc" "a clustered -xf takes a file"
comp "sluice -o du" "dump.sql"
comp "sluice --output du" "dump.sql"
comp "sluice --output=du" "dump.sql"
comp "sluice --passphrase-file o" "other"
comp "sluice --files-from o" "other"
comp "sluice -c -f x.slc -T o" "other" "-T FILE in -c mode (tar)"
comp "sluice -cz -f x.slc -T o" "other" "-T FILE after -cz"
comp "sluice -z -T o" "other" "-T FILE in filter mode too: tar's meaning everywhere"
comp "sluice -z --thr" "--threads" "threads are --threads"
comp_has "sluice " "backup" "backups" "restore" "verify"
comp "sluice backup --obj" "--object-size"
comp "sluice restore --as" "--as-of"
comp_has "sluice " "ls" "diff"
comp "sluice diff --js" "--json"
comp "sluice diff --as" "" "diff takes no --as-of (its two backups are arguments)"
comp "sluice restore --to-" "--to-stdout"
comp "sluice backups --f" "--from"
comp "sluice restore --from d" "dir dir2" "--from: directories"
comp "sluice -C d" "dir dir2" "-C: directories only"
comp "sluice --directory=d" "dir dir2" "--directory=: directories only"
comp "sluice -z d" "data.slc dir dir2 dump.sql" "an input FILE"
comp "sluice --threads " ""
comp "sluice --zstd=1" "1 10 11 12 13 14 15 16 17 18 19"

# ---- stage names for --chain ------------------------------------------------------------
comp "sluice --chain z" "zstd"
comp "sluice --chain zs" "zstd"
comp_has "sluice --chain " "zstd" "aes-256-gcm"
comp_lacks "sluice --chain " "file" "archive" "STAGE" "(unusable)"
comp_has "sluice --chain zstd,a" "zstd,aes-256-gcm"
comp_lacks "sluice --chain zstd,a" "zstd,archive"
comp_has "sluice -e --chain aes-256-gcm,z" "aes-256-gcm,zstd"
comp_has "sluice --chain=zstd,a" "zstd,aes-256-gcm"
comp_has "sluice --chain=" "zstd" "aes-256-gcm"
# "zstd:level=9,a": bash has split the word at ':' and '=', so the reply
# replaces only "9,a".
comp_has "sluice --chain zstd:level=9,a" "9,aes-256-gcm"
comp "sluice --chain zstd:lev" "" "nothing for a stage's parameters"
comp "sluice -c --chain zstd -f o" "other" "a file after --chain"
# Plugins on SLUICE_PLUGIN_PATH count: the test stages, when built.
if [ -f "$SLUICE_TEST_PLUGINS/failing.so" ]; then
    got=$(SLUICE_PLUGIN_PATH=$SLUICE_TEST_PLUGINS:$SLUICE_PLUGIN_PATH complete_line "sluice --chain zstd,fa")
    is "$got" "zstd,failing" "stages from SLUICE_PLUGIN_PATH (failing)"
else
    skip 1 "test plugins not built"
fi
mkdir broken
printf '#!/bin/sh\necho "sluice: broken" >&2\nexit 6\n' >broken/sluice
chmod +x broken/sluice
got=$(PATH=$T_TMP/broken:$PATH complete_line "sluice --chain z" 2>&1)
is "$got" "" "a sluice that fails: no stage names, nothing on the terminal"

# ---- robustness ------------------------------------------------------------------
comp_has "-u sluice --chain zstd,a" "zstd,aes-256-gcm"
is "$(complete_line -u "sluice -C d" | tr '\n' ' ')" "dir dir2 " "works under set -u"
# Without COMP_LINE (some callers set only COMP_WORDS).
got=$(cd files && bash --norc --noprofile -c '
    . "$1"
    COMP_WORDS=(sluice --chain zstd,a); COMP_CWORD=2
    _sluice sluice zstd,a --chain
    printf "%s\n" "${COMPREPLY[@]}"' sh "$script")
like "$got" "*zstd,aes-256-gcm*" "without COMP_LINE, from COMP_WORDS alone"
is "$(bash --norc --noprofile -c '. "$1"; complete -p sluice' sh "$script")" \
    "complete -F _sluice sluice" "it registers _sluice for sluice"

done_testing
