#!/bin/sh
# coll-walk.t - the backup's scan on every core (src/collection/scan.c):
# directories shared out from a stack of at most 64 (past that a walker
# walks one itself), lists merged and sorted; and a backup spread over
# objects of equal weight (plan_make's spread).  Whatever the walkers'
# order, the backup lists exactly what find lists, and restores it.
. "$(dirname "$0")/lib.sh"
plan_no_plan

S=$T_TMP/src
mkdir -p "$S"
# 300 directories side by side (more than the stack holds), each with
# two files; a chain 40 deep; names that sort around "/" ("a", "a-b",
# "a.b", "a/x"); symbolic links and an empty directory.
python3 - "$S" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(300):
    d = os.path.join(root, "wide", "d%03d" % i)
    os.makedirs(d)
    for j in range(2):
        with open(os.path.join(d, "f%d" % j), "w") as f:
            f.write("%d-%d\n" % (i, j) * (i % 7 + 1))
deep = os.path.join(root, "deep", *["l%02d" % i for i in range(40)])
os.makedirs(deep)
with open(os.path.join(deep, "bottom"), "w") as f:
    f.write("bottom\n")
for n in ("a", "a-b", "a.b"):
    os.makedirs(os.path.join(root, "sort", n))
    with open(os.path.join(root, "sort", n, "x"), "w") as f:
        f.write(n + "\n")
os.symlink("wide/d000/f0", os.path.join(root, "link"))
os.symlink("nowhere", os.path.join(root, "dangling"))
os.makedirs(os.path.join(root, "empty"))
# Symlinks with their own times (and, as root, owner): restore takes
# them from the tar member, as it does a regular file's.
for i, n in enumerate(("old-link", os.path.join("wide", "d001", "old-link"))):
    p = os.path.join(root, n)
    os.symlink("f0", p)
    os.utime(p, ns=(1000000000 * (1000 + i) + 123456789,) * 2,
             follow_symlinks=False)
    if os.geteuid() == 0:
        os.lchown(p, 65534, 65533)
PY
N=$(cd "$S" && find . | wc -l)

run "$SLUICE" backup --to "$T_TMP/c" --dry-run -C "$S" .
is "$RC" 0 "a dry run of a wide and deep tree"
is "$(grep -c '^A ' "$OUT")" "$N" "  lists every entry find lists ($N)"
(cd "$S" && find . | sed 's|^\./||; s|^\.$|.|' | LC_ALL=C sort) >"$T_TMP/want"
sed 's/^A //' "$OUT" | LC_ALL=C sort >"$T_TMP/got"
ok "  the same names" cmp -s "$T_TMP/want" "$T_TMP/got"
sed 's/^A //' "$OUT" >"$T_TMP/order"
ok "  in path order" eval 'LC_ALL=C sort -c "$T_TMP/order" 2>/dev/null'

expect_ok "the backup" "$SLUICE" backup -q --to "$T_TMP/c" -C "$S" .
run "$SLUICE" ls --from "$T_TMP/c"
is "$(wc -l <"$OUT")" "$N" "  ls lists every entry"
mkdir "$T_TMP/r"
expect_ok "the restore" "$SLUICE" restore --from "$T_TMP/c" -C "$T_TMP/r"
is "$(tree_listing "$T_TMP/r")" "$(tree_listing "$S")" \
    "  equals the source (names, types, modes, sizes, times, contents)"
# Symlinks' and directories' times and owners (which tree_listing leaves
# out): symlinks from their members, directories from the final pass.
meta() {
    (cd "$1" && find . \( -type l -o -type d \) -printf '%p %y %T@ %U %G\n' |
        LC_ALL=C sort)
}
is "$(meta "$T_TMP/r")" "$(meta "$S")" \
    "  every symlink's and directory's time and owner too"

# ---- operands: nested, with a trailing "/", a symlink to a directory ----
# (the slash would make fstatat follow the link: stored as the link, as
# tar does, and the backup complete)
ln -s wide/d002 "$S/dirlink"
run "$SLUICE" backup -q --to "$T_TMP/ops" -C "$S" wide/d001/ dirlink/
is "$RC" 0 "operands wide/d001/ and dirlink/: a complete backup"
run "$SLUICE" ls --from "$T_TMP/ops"
like "$(cat "$OUT")" "*wide/d001/f0*" "  the nested operand's files"
like "$(cat "$OUT")" "*dirlink -> wide/d002*" "  the symlink as a symlink"
nok "  not followed" grep -q "dirlink/" "$OUT"
rm "$S/dirlink"

# ---- spread: a tree of 40 MiB in objects of about equal weight ----------
B=$T_TMP/big
mkdir -p "$B"
python3 - "$B" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(40):
    with open(os.path.join(root, "f%02d" % i), "wb") as f:
        f.write(os.urandom(1 << 20))
PY
expect_ok "a backup of 40 MiB" "$SLUICE" backup --to "$T_TMP/s" -C "$B" .
ID=$(cat "$OUT")
n=$(ls "$T_TMP/s/backups/$ID" | grep -c '^data-')
ok "  is spread over 2 objects or more (not one of --object-size 256M): $n" \
    [ "$n" -ge 2 ]
sizes=$(ls -l "$T_TMP/s/backups/$ID"/data-* | awk '{print $5}' | sort -n)
least=$(echo "$sizes" | head -1)
most=$(echo "$sizes" | tail -1)
ok "  none over the spread's floor and a file ($most bytes)" \
    [ "$most" -le $((17 << 20)) ]
ok "  none under half another ($least..$most bytes)" \
    [ "$least" -ge $((most / 2)) ]
mkdir "$T_TMP/rb"
expect_ok "  which restore" "$SLUICE" restore --from "$T_TMP/s" -C "$T_TMP/rb"
ok "  to the source" diff -r "$B" "$T_TMP/rb"
expect_ok "  and verify" "$SLUICE" verify -q --from "$T_TMP/s"

# ---- a restore by a user other than root: modes exact, whatever the umask
# (regular files take theirs from the tar member, not a final pass)
as_nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
    chmod a+rx "$T_TMP" && $as_nobody test -x "$SLUICE" 2>/dev/null &&
    $as_nobody test -r "$SLUICE_PLUGIN_PATH" 2>/dev/null; then
    M=$T_TMP/modes
    mkdir -p "$M/d750"
    for m in 600 640 644 666 700 755; do
        echo "$m" >"$M/f$m"
        chmod "$m" "$M/f$m"
    done
    chmod 750 "$M/d750"
    expect_ok "modes: a backup" "$SLUICE" backup -q --to "$T_TMP/cm" -C "$M" .
    chmod -R a+rX "$T_TMP/cm"
    mkdir "$T_TMP/rm" && chown 65534:65534 "$T_TMP/rm"
    run $as_nobody env HOME="$T_TMP/rm" sh -c \
        "umask 077; exec '$SLUICE' restore --from '$T_TMP/cm' -C '$T_TMP/rm'"
    is "$RC" 0 "modes: a restore by nobody under umask 077"
    is "$(cd "$T_TMP/rm" && stat -c '%n %a' d750 f*)" \
        "$(cd "$M" && stat -c '%n %a' d750 f*)" "  gives every mode exactly"
else
    skip 3 "not root, no setpriv, or the build is out of nobody's reach"
fi

done_testing
