#!/bin/sh
# t/manpage.t - doc/sluice.1 against the front end: groff -ww finds nothing
# to warn about (both man pages); the SYNOPSIS names every command of the
# command table (src/cli/commands.c); every long and short option of the
# option table (src/cli/options.c, one row a line, as t/completion.t reads
# it) is documented.  A new row in either table fails here until sluice(1)
# describes it.
. "$(dirname "$0")/lib.sh"
plan_no_plan

command -v groff >/dev/null 2>&1 || skip_all "groff not installed"
man1=$SLUICE_SRCDIR/doc/sluice.1
man7=$SLUICE_SRCDIR/doc/sluice-plugin.7
cd "$T_TMP" || bail_out "cd $T_TMP"

for p in "$man1" "$man7"; do
    groff -ww -man -Tutf8 "$p" >/dev/null 2>warn
    is "$(cat warn)" "" "groff -ww -man: no warning for $(basename "$p")"
done

# The page as text, without overstrike, hyphens as ASCII.
groff -man -Tutf8 -P-cbou "$man1" 2>/dev/null |
    sed 's/‐/-/g; s/−/-/g' >man.txt
sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' man.txt >synopsis.txt
ok "found the SYNOPSIS" test -s synopsis.txt

cmds=$(sed -n '/ commands\[\] = {/,/^};/s/^ *{"\([a-z-]*\)",.*/\1/p' \
    "$SLUICE_SRCDIR/src/cli/commands.c")
ok "found the commands in the command table" \
    test "$(printf '%s\n' $cmds | wc -l)" -ge 7
missing=
for c in $cmds; do
    grep -qE "^ +sluice +$c( |\$)" synopsis.txt || missing="$missing $c"
done
is "$missing" "" "the SYNOPSIS names every command"

table=$SLUICE_SRCDIR/src/cli/options.c
longs=$(sed -n 's/^ *[A-Z]*[({]"\([a-z0-9-]*\)", .*/\1/p' "$table")
shorts=$(sed -n "s/^ *[A-Z]*[({]\(NULL\|\"[a-z0-9-]*\"\), *'\(.\)'.*/\2/p" "$table" | tr -d '\n')
ok "found the long options in the option table" \
    test "$(printf '%s\n' $longs | wc -l)" -gt 20
ok "found the short options in the option table" test "${#shorts}" -gt 10
missing=
for o in $longs; do
    grep -qE -- "--$o([^a-z0-9-]|\$)" man.txt || missing="$missing --$o"
done
is "$missing" "" "sluice(1) documents every long option of the table"
missing=
for l in $(printf %s "$shorts" | fold -w1); do
    grep -qE -- "(^|[^a-zA-Z0-9-])-$l([^a-zA-Z0-9-]|\$)" man.txt ||
        missing="$missing -$l"
done
is "$missing" "" "sluice(1) documents every short option of the table"

done_testing
