#!/bin/sh
# tarhabits.t - tar's habits on -x/-t, checked against what GNU tar does:
#
#   - -O/--to-stdout: member data to stdout, in archive order, nothing on
#     disk; -v names go to stderr; holes come out as zeros;
#   - -k/--keep-old-files: an existing file is kept and reported, exit 1
#     (GNU tar exits 2, sluice's 2 is a usage error: doc/EXIT.md);
#     --skip-old-files keeps it silently, exit 0; existing directories are
#     no conflict for either;
#   - --strip-components N: selection on the stored name, shorter members
#     left out, hard link targets stripped too; N must be a number;
#   - --wildcards: member operands are anchored globs ('*' matches '/'),
#     a directory match selects what lies below; without it names are
#     exact (GNU tar's --no-wildcards default for -x/-t);
#   - --exclude on -x/-t, with the matcher of -c;
#   - -p/--same-permissions/--preserve-permissions, --same-owner and
#     --no-same-owner are taken as tar spells them;
#   - -cv and -xv print a directory the same way: "dir/", as GNU tar;
#   - compressed tar archives (.tar.gz, .tar.xz) still restore with -xf.
. "$(dirname "$0")/lib.sh"
plan_no_plan

cd "$T_TMP" || bail_out "cd $T_TMP"
umask 022
S=$SLUICE

mkdir -p src/doc/adduser src/doc/empty
printf 'adduser notes\n' >src/doc/adduser/README
printf 'top\n' >src/doc/top
printf 'second\n' >src/doc/adduser/zz.c
printf 'main\n' >src/doc/main.c
ln src/doc/top src/doc/top.hard
expect_ok "a fixture archive" "$S" -cf a.slc -C src doc

# ---- -O / --to-stdout ----------------------------------------------------
run "$S" -xOf a.slc -C nowhere doc/top doc/main.c
is "$RC" 0 "-xOf: exit 0"
is "$(cat "$OUT")" "main
top" "-xOf a.slc doc/top doc/main.c: their data on stdout, archive order"
ok "-O writes nothing to disk (-C is not even opened)" test ! -e nowhere
run "$S" -x --to-stdout -f a.slc doc/adduser
is "$(cat "$OUT")" "adduser notes
second" "--to-stdout with a directory: the files below it"
run "$S" -xvOf a.slc doc/top
is "$(cat "$OUT")" "top" "-xvO: only data on stdout"
is "$(cat "$ERR")" "doc/top" "-xvO: the names on stderr"
run "$S" -xOf a.slc doc/nosuch
is "$RC" 2 "-O with a name not in the archive: exit 2, as without -O"
like "$(cat "$ERR")" "*doc/nosuch: Not found in archive*" "and says so"
printf 'pw\n' >pw
expect_ok "an encrypted, compressed archive" \
    "$S" -cze --passphrase-file pw -f ez.slc -C src doc
run "$S" -xOf ez.slc --passphrase-file pw doc/top
is "$RC:$(cat "$OUT")" "0:top" "-O through the chain (-z -e)"
expect_fail 2 "-O with -t is a usage error" "$S" -tOf a.slc
like "$(cat "$ERR")" "*-O*-x*" "the message says -O goes with -x"
# A GNU sparse member: 1 MiB hole, 3 bytes, 1 MiB hole.
dd if=/dev/null of=sparse bs=1 seek=1048576 2>/dev/null
printf 'abc' >>sparse
dd if=/dev/null of=sparse bs=1 seek=2097155 2>/dev/null
tar --sparse -cf sparse.tar sparse
run "$S" -xOf sparse.tar
ok "-O of a sparse member: holes as zeros, the size it has" cmp -s "$OUT" sparse

# ---- -k / --keep-old-files, --skip-old-files ------------------------------
mkdir -p k/doc/adduser
printf 'mine\n' >k/doc/top
run "$S" -xkf a.slc -C k
is "$RC" 1 "-k and an existing file: exit 1 (incomplete)"
like "$(head -n 1 "$ERR")" \
    "sluice: archive: doc/top: already exists: kept, as --keep-old-files asks" \
    "-k: names the file kept"
is "$(cat k/doc/top)" "mine" "-k: the existing file is unchanged"
is "$(cat k/doc/adduser/README)" "adduser notes" \
    "-k: the rest restores (an existing directory is no conflict)"
ok "-k: a hard link to a kept file is restored" test -f k/doc/top.hard
mkdir -p sk/doc
printf 'mine\n' >sk/doc/main.c
expect_ok "--skip-old-files: exit 0, nothing said" \
    "$S" -xf a.slc -C sk --skip-old-files
is "$(cat sk/doc/main.c)" "mine" "--skip-old-files: the existing file is unchanged"
is "$(cat sk/doc/top)" "top" "--skip-old-files: the others restore"
printf 'mine\n' >sk/doc/top
expect_ok "the last of -k and --skip-old-files wins" \
    "$S" -xkf a.slc -C sk --skip-old-files
# A member twice in one archive (tar -r): -k keeps the first.
printf 'one\n' >dup && tar -cf dup.tar dup && printf 'two\n' >dup &&
    tar -rf dup.tar dup && rm dup
mkdir d1 d2 d3
run "$S" -xkf dup.tar -C d1
is "$RC:$(cat d1/dup)" "1:one" "-k and a member twice: the first is kept, exit 1"
run "$S" -xf dup.tar -C d2 --skip-old-files
is "$RC:$(cat d2/dup)" "0:one" "--skip-old-files: the first is kept, exit 0"
run "$S" -xf dup.tar -C d3
is "$RC:$(cat d3/dup)" "0:two" "neither: the last one wins, as tar"
# In a directory the run makes, a symlink is made under its own name at
# once; a member already there (a file, then a symlink of the same name;
# a symlink, then another) takes the temporary way and is replaced.
mkdir -p sl/in && printf 'file\n' >sl/in/x && ln -s first sl/in/y
tar -cf sl.tar -C sl in && rm sl/in/x sl/in/y && ln -s target sl/in/x &&
    ln -s second sl/in/y && tar -rf sl.tar -C sl in/x in/y
mkdir d4
run "$S" -xf sl.tar -C d4
is "$RC:$(readlink d4/in/x):$(readlink d4/in/y)" "0:target:second" \
    "symlinks over a file and over a symlink of the same name: replaced"
mkdir -p rp/doc
printf 'mine\n' >rp/doc/top
expect_ok "without either, an existing file is replaced (tar's default)" \
    "$S" -xf a.slc -C rp
is "$(cat rp/doc/top)" "top" "replaced"

# ---- --strip-components N --------------------------------------------------
mkdir st
expect_ok "--strip-components=1 with a member operand" \
    "$S" -xf a.slc -C st --strip-components=1 doc/adduser
is "$(cd st && find . | LC_ALL=C sort | tr '\n' ' ')" \
    ". ./adduser ./adduser/README ./adduser/zz.c " \
    "selected by the stored name, restored without its first component"
mkdir st2
expect_ok "--strip-components 2: shorter members are left out silently" \
    "$S" -xf a.slc -C st2 --strip-components 2
is "$(cd st2 && find . | LC_ALL=C sort | tr '\n' ' ')" \
    ". ./README ./zz.c " "only what had more than two components"
mkdir st3
expect_ok "--strip-components 1 and a hard link" \
    "$S" -xf a.slc -C st3 --strip-components 1
ok "the link's target is stripped too: one file, two names" \
    test st3/top -ef st3/top.hard
run "$S" -xvf a.slc -C st3 --strip-components 1 doc/top
is "$(cat "$OUT")" "doc/top" "-xv names the member as stored, as GNU tar"
for bad in x -1 '' 1x 99999; do
    expect_fail 2 "--strip-components '$bad' is refused" \
        "$S" -xf a.slc -C st3 --strip-components="$bad"
    like "$(cat "$ERR")" "*strip-components*'$bad'*not a number*" \
        "'$bad': the message names the option and value"
done

# ---- --wildcards ------------------------------------------------------------
run "$S" -tf a.slc --wildcards '*.c'
is "$(cat "$OUT")" "doc/adduser/zz.c
doc/main.c" "-t --wildcards '*.c': '*' matches '/' too"
run "$S" -tf a.slc --wildcards 'doc/a*'
is "$(cat "$OUT")" "doc/adduser/
doc/adduser/README
doc/adduser/zz.c" "a pattern matching a directory selects what lies below"
mkdir w
expect_ok "-x --wildcards '*.c'" "$S" -xf a.slc -C w --wildcards '*.c'
is "$(cd w && find . -type f | LC_ALL=C sort | tr '\n' ' ')" \
    "./doc/adduser/zz.c ./doc/main.c " "-x restores only the matches"
run "$S" -tf a.slc --wildcards 'main.c'
is "$RC" 2 "patterns are anchored: 'main.c' matches no member (exit 2)"
like "$(cat "$ERR")" "*main.c: Not found in archive*" "and says so"
run "$S" -tf a.slc '*.c'
is "$RC" 2 "without --wildcards a name is exact (GNU tar's default)"
like "$(cat "$ERR")" "*\*.c: Not found in archive*" "'*.c' is not found"
run "$S" -tf a.slc --wildcards --no-wildcards '*.c'
is "$RC" 2 "--no-wildcards after --wildcards: exact again"

# ---- --exclude on -x and -t ----------------------------------------------
run "$S" -tf a.slc --exclude adduser
is "$(cat "$OUT")" "doc/
doc/empty/
doc/main.c
doc/top
doc/top.hard" "-t --exclude NAME: unanchored, and what lies below goes too"
mkdir ex
expect_ok "-x --exclude '*.c'" "$S" -xf a.slc -C ex --exclude '*.c'
is "$(cd ex && find . -type f | LC_ALL=C sort | tr '\n' ' ')" \
    "./doc/adduser/README ./doc/top ./doc/top.hard " \
    "-x --exclude: the excluded members are not restored"
run "$S" -tf a.slc --wildcards '*.c' --exclude 'zz*'
is "$(cat "$OUT")" "doc/main.c" "--exclude wins over a selecting pattern"

# ---- permissions and owners, as tar spells them --------------------------
chmod 0750 src/doc/adduser
chmod 0600 src/doc/main.c
expect_ok "an archive with odd modes" "$S" -cf m.slc -C src doc
# --no-same-permissions first: the last wins, so each spelling is seen to
# turn preservation on, for root (on by default) as for anyone.
for p in -p --same-permissions --preserve-permissions; do
    rm -rf pm && mkdir pm
    (umask 077 && "$S" -xf m.slc -C pm --no-same-permissions "$p") 2>err.txt
    is "$(stat -c %a pm/doc/top pm/doc/adduser)" "644
750" "$p: the modes as archived, not masked by the umask"
done
rm -rf pm && mkdir pm
(umask 077 && "$S" -xf m.slc -C pm -p --no-same-permissions) 2>err.txt
is "$(stat -c %a pm/doc/top)" "600" \
    "--no-same-permissions: the umask applies"
if [ "$(id -u)" = 0 ]; then
    chown 12345:12345 src/doc/top
    expect_ok "an archive with another owner" "$S" -cf o.slc -C src doc/top
    for o in "--same-owner 12345" "--no-same-owner 0"; do
        rm -rf ow && mkdir ow
        expect_ok "${o% *} is taken on -x" "$S" -xf o.slc -C ow ${o% *}
        is "$(stat -c %u ow/doc/top)" "${o#* }" "${o% *}: owner ${o#* }"
    done
else
    for o in --same-owner --no-same-owner; do
        rm -rf ow && mkdir ow
        expect_ok "$o is taken on -x" "$S" -xf m.slc -C ow "$o"
        is "$(stat -c %u ow/doc/top)" "$(id -u)" "$o: my files stay mine"
    done
fi

# ---- -cv and -xv agree on directories --------------------------------------
run "$S" -cvf v.slc -C src doc/adduser doc/top
cv=$(cat "$OUT")
mkdir xv
run "$S" -xvf v.slc -C xv
is "$(cat "$OUT")" "$cv" "-cv and -xv print the same names"
is "$cv" "doc/adduser/
doc/adduser/README
doc/adduser/zz.c
doc/top" "a directory is printed 'doc/adduser/', as GNU tar -cv and -xv do"

# ---- compressed tar still detected ------------------------------------------
for z in gz xz; do
    case $z in gz) flag=-z ;; xz) flag=-J ;; esac
    if tar $flag -cf "t.tar.$z" -C src doc 2>/dev/null; then
        rm -rf "d$z" && mkdir "d$z"
        expect_ok "-xf of a .tar.$z made by GNU tar" \
            "$S" -xf "t.tar.$z" -C "d$z"
        ok ".tar.$z: the files restore" cmp -s "d$z/doc/top" src/doc/top
        run "$S" -tf "t.tar.$z" --wildcards '*.c'
        is "$(LC_ALL=C sort "$OUT" | tr '\n' ' ')" \
            "doc/adduser/zz.c doc/main.c " ".tar.$z: -t --wildcards works too"
    else
        skip 3 "tar $flag unavailable"
    fi
done

done_testing
