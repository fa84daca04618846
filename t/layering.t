#!/bin/sh
# layering.t - the core names no stage: outside the presets file
# (src/presets.c), no source in src/ holds a stage name as a string
# literal.  Stages are found by name through the loader; which name a
# shorthand (-z, -e, an endpoint's scheme) means is the presets' business.
. "$(dirname "$0")/lib.sh"
plan_no_plan

src=$SLUICE_SRCDIR/src
[ -d "$src" ] || bail_out "no $src"
names='zstd aes-256-gcm archive file s3 http'
exempt='presets.c'

files=$(cd "$src" && find . -name '*.[ch]' | sed 's|^\./||' | sort)

# The code of a file, without comment lines and without the rows of the
# option table (src/cli/options.c), whose strings are option spellings
# (--zstd, --file), not stage names.
code() {
    awk '/^static const opt_row rows\[\] = \{/ { table = 1 }
         table && /^\};/ { table = 0; next }
         table { next }
         /^[ \t]*(\/\*|\*)/ { next }
         { print FILENAME ":" FNR ": " $0 }' "$1"
}
for f in $files; do
    case " $exempt " in *" $f "*) continue ;; esac
    for n in $names; do
        if code "$src/$f" | grep "\"$n\"" >"$T_TMP/hits"; then
            fail "src/$f names stage \"$n\": $(head -n 1 "$T_TMP/hits")"
        fi
    done
done
pass "no stage name in src/ outside the presets (checked $(echo "$files" | wc -l) files)"

# The test can fail: a file that names a stage is caught, in code, not
# in a comment.
printf '/* "zstd" in a comment */\nconst char *x = "zstd";\n' >"$T_TMP/bad.c"
is "$(code "$T_TMP/bad.c" | grep -c '"zstd"')" 1 "a stage name in code is found, one in a comment is not"

done_testing
