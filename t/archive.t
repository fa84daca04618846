#!/bin/sh
# archive.t - the archive stage and tar mode (sluice -c/-x/-t).
#
#   - a fixture tree with every kind of entry (regular files, empty and
#     1 MiB, directories incl. an empty one, symlinks, a hardlink pair,
#     a FIFO, long and deep and non-ASCII names, a sparse file, odd modes
#     and a setgid directory, another owner, nanosecond mtimes, xattrs and
#     ACLs where the tools exist) round-trips through -c/-x, compared
#     entry by entry: type, mode, owner, size, mtime with nanoseconds,
#     link target, content hash, hardlink identity, xattrs/ACLs -- plain,
#     -z, -z -e, through -f - pipes and with -C;
#   - hostile archives write nothing and change nothing outside -C DIR;
#   - a .tar.gz made by GNU tar restores; zip, cpio and tar.xz read;
#   - -t lists exactly the members, -tv like bsdtar;
#   - an unreadable file gives exit 1 and a message; -T/--null,
#     --exclude, --one-file-system, member selection, "Not found";
#   - a truncated or corrupted stream stops with an error naming the last
#     path restored, and leaves no temporary file behind.
# Needs python3 (manifests, hostile archives) and GNU tar.
. "$(dirname "$0")/lib.sh"
plan_no_plan

command -v python3 >/dev/null 2>&1 || bail_out "python3 is needed"
cd "$T_TMP" || bail_out "cd $T_TMP"
umask 022
S=$SLUICE

have_aes=0
t_ifs=$IFS
IFS=:
for d in $SLUICE_PLUGIN_PATH; do
    [ -f "$d/aes-256-gcm.so" ] && have_aes=1
done
IFS=$t_ifs
is_root=0
xflags="-p "
[ "$(id -u)" = 0 ] && is_root=1 xflags=

# ---- helpers ------------------------------------------------------------------

# manifest.py ROOT [sec] [noxattr] [noown]: one line per entry below ROOT
# (ROOT itself included), sorted: path, type, mode, owner, size, mtime
# (ns), symlink target, sha256, hardlink group, xattrs.
cat >manifest.py <<'EOF'
import hashlib, os, stat, sys
root = sys.argv[1]
opts = set(sys.argv[2:])
lines, groups = [], {}
def walk(rel):
    p = os.path.join(root, rel) if rel else root
    st = os.lstat(p)
    m = st.st_mode
    kind = ('d' if stat.S_ISDIR(m) else 'f' if stat.S_ISREG(m) else
            'l' if stat.S_ISLNK(m) else 'p' if stat.S_ISFIFO(m) else '?')
    f = [repr(os.fsencode(rel or '.')), kind, oct(stat.S_IMODE(m))]
    if 'noown' not in opts:
        f.append('%d:%d' % (st.st_uid, st.st_gid))
    if kind == 'f':
        f.append(str(st.st_size))
    mt = st.st_mtime_ns
    f.append(str(mt // 10**9) if 'sec' in opts else str(mt))
    if kind == 'l':
        f.append(repr(os.readlink(p)))
    if kind == 'f':
        h = hashlib.sha256()
        with open(p, 'rb') as fh:
            for b in iter(lambda: fh.read(1 << 20), b''):
                h.update(b)
        f.append(h.hexdigest())
        if st.st_nlink > 1:
            f.append('link#' + groups.setdefault((st.st_dev, st.st_ino),
                                                repr(os.fsencode(rel))))
    if 'noxattr' not in opts and kind in 'fd':
        try:
            names = sorted(os.listxattr(p, follow_symlinks=False))
        except OSError:
            names = []
        for n in names:
            if n.startswith('user.') or n.startswith('system.posix_acl'):
                v = os.getxattr(p, n, follow_symlinks=False)
                f.append('%s=%s' % (n, v.hex()))
    lines.append(' '.join(f))
    if kind == 'd':
        for n in sorted(os.listdir(p)):
            walk(os.path.join(rel, n) if rel else n)
walk('')
for l in sorted(lines):
    print(l)
EOF

manifest() { # manifest DIR [opts...] > FILE
    python3 manifest.py "$@"
}

# same_tree DESC A B [opts]: the manifests of A and B are equal.
same_tree() {
    t_d=$1 t_a=$2 t_b=$3
    shift 3
    manifest "$t_a" "$@" >m.a 2>m.err || { fail "$t_d"; diag_file m.err err; return 1; }
    manifest "$t_b" "$@" >m.b 2>m.err || { fail "$t_d"; diag_file m.err err; return 1; }
    if cmp -s m.a m.b; then
        pass "$t_d"
    else
        fail "$t_d"
        diff m.a m.b | head -n 20 | sed 's/^/# /'
        return 1
    fi
}

# Temporary files the archive stage writes next to a member.
no_archive_temps() {
    t_left=$(find "$1" -name '.sluice-*' 2>/dev/null)
    if [ -z "$t_left" ]; then
        pass "$2"
    else
        fail "$2"
        diag "left behind: $t_left"
    fi
}

# ---- the fixture ----------------------------------------------------------------

F=$T_TMP/src/fx
mkdir -p "$F/dir/sub" "$F/emptydir" "$F/deep/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z"
printf 'hello\n' >"$F/small"
: >"$F/empty"
mkdata "$F/mib" 1048576
mktext "$F/dir/text" 200000
printf 'deep\n' >"$F/deep/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/leaf"
ln -s small "$F/sym"
ln -s ../nowhere/at/all "$F/dir/dangling"
printf 'linked\n' >"$F/dir/hl1"
ln "$F/dir/hl1" "$F/hl2"
long=$(printf 'L%.0s' $(seq 1 150))
longdir=$(printf 'D%.0s' $(seq 1 120))
mkdir "$F/$longdir"
printf 'long\n' >"$F/$longdir/$long"
nonascii=$(printf 'caf\303\251-\346\227\245\346\234\254-\316\273')
printf 'utf8\n' >"$F/$nonascii"
mkdir "$F/$nonascii.d"
truncate -s 64M "$F/sparse"
printf 'middle' | dd of="$F/sparse" bs=1 seek=33554432 conv=notrunc 2>/dev/null
printf 'end' | dd of="$F/sparse" bs=1 seek=67108861 conv=notrunc 2>/dev/null
mkfifo "$F/fifo"
chmod 0600 "$F/small"
chmod 0755 "$F/mib"
chmod 0640 "$F/dir/text"
mkdir "$F/sgid"
chmod 2775 "$F/sgid"
printf 'in sgid\n' >"$F/sgid/file"
chmod 0700 "$F/emptydir"
if [ "$is_root" = 1 ]; then
    chown 65534:65534 "$F/dir/text" "$F/sgid"
fi
have_xattr=0
if command -v setfattr >/dev/null 2>&1 &&
    setfattr -n user.color -v blue "$F/small" 2>/dev/null; then
    setfattr -n user.empty "$F/dir" 2>/dev/null
    have_xattr=1
fi
have_acl=0
if command -v setfacl >/dev/null 2>&1 &&
    setfacl -m u:nobody:r-x,g:daemon:rw- "$F/mib" 2>/dev/null &&
    setfacl -d -m u:nobody:rwx "$F/dir/sub" 2>/dev/null; then
    have_acl=1
fi
# Nanosecond mtimes, each entry its own (children before parents).
python3 - "$F" <<'EOF'
import os, sys
root, n = sys.argv[1], 0
for d, dirs, files in os.walk(root, topdown=False):
    for name in sorted(files) + sorted(dirs) + ['']:
        p = os.path.join(d, name) if name else d
        n += 1
        t = 1600000000 * 10**9 + n * 1000003 + 123456789
        os.utime(p, ns=(t, t), follow_symlinks=False)
EOF
ok "fixture: the sparse file is sparse" \
    test "$(($(stat -c %b "$F/sparse") * $(stat -c %B "$F/sparse")))" -lt 1048576

# ---- round trips ---------------------------------------------------------------

# roundtrip NAME CREATE-FLAGS...: sluice -c FLAGS -f NAME.slc -C src fx,
# then -x into x.NAME, then compare.
roundtrip() {
    t_n=$1
    shift
    expect_ok "$t_n: sluice -c ${*:+$* }-f $t_n.slc -C src fx" \
        "$S" -c "$@" -f "$t_n.slc" -C src fx
    rm -rf "x.$t_n"
    mkdir "x.$t_n"
    # Not root: permissions as archived only with -p (as tar).
    # shellcheck disable=SC2086
    expect_ok "$t_n: sluice -x $xflags-f $t_n.slc -C x.$t_n" \
        "$S" -x $xflags -f "$t_n.slc" -C "x.$t_n"
    same_tree "$t_n: restored tree equals the original, entry by entry" \
        src/fx "x.$t_n/fx"
    ok "$t_n: the restored sparse file is still sparse" \
        test "$(($(stat -c %b "x.$t_n/fx/sparse") * 512))" -lt 1048576
    no_archive_temps "x.$t_n" "$t_n: no temporary files left"
}

roundtrip plain
is "$(head -n 2 plain.slc | tr '\n' '|')" "sluice/1|---|" \
    "plain: a header with no stage, then the archive"
roundtrip zstd -z
is "$(head -n 1 zstd.slc)" "sluice/1" "zstd: a sluice/1 stream"
like "$(sed -n 2p zstd.slc)" "zstd level=3*" "zstd: header names zstd"
if [ "$have_aes" = 1 ]; then
    SLUICE_PASSPHRASE='correct horse battery staple'
    export SLUICE_PASSPHRASE
    roundtrip enc -z -e
    unset SLUICE_PASSPHRASE
else
    skip 5 "aes-256-gcm.so not built (no -e)"
fi
# The entries the manifests saw, for the record.
diag "fixture: $(manifest src/fx | wc -l) entries; xattrs=$have_xattr acls=$have_acl root=$is_root"
if [ "$have_xattr" = 1 ]; then
    is "$(getfattr --only-values -n user.color x.plain/fx/small 2>/dev/null)" blue \
        "xattr user.color restored"
else
    skip 1 "setfattr not available or no user xattrs here"
fi
if [ "$have_acl" = 1 ]; then
    is "$(getfacl -cp x.zstd/fx/mib 2>/dev/null | tr '\n' ' ')" \
        "$(getfacl -cp src/fx/mib 2>/dev/null | tr '\n' ' ')" "ACL restored"
else
    skip 1 "setfacl not available or no ACLs here"
fi

# Through pipes: -f - on both ends.
rm -rf x.pipe && mkdir x.pipe
run sh -c '"$1" -czf - -C src fx | "$1" -x $2 -f - -C x.pipe' sh "$S" "$xflags"
is "$RC" 0 "pipe: sluice -czf - | sluice -xf - exits 0"
same_tree "pipe: restored tree equals the original" src/fx x.pipe/fx
# -C DIR . : member names relative to DIR, as tar -C.
rm -rf x.dot && mkdir x.dot
run sh -c '"$1" -cf - -C src/fx . | "$1" -x $2 -f - -C x.dot' sh "$S" "$xflags"
is "$RC" 0 "-C DIR .: round trip exits 0"
same_tree "-C DIR .: restored into the target itself" src/fx x.dot
run sh -c '"$1" -cf - -C src/fx small dir/sub | "$1" -tf -' sh "$S"
is "$(tr '\n' '|' <"$OUT")" "small|dir/sub/|" "-C DIR PATH...: names as given"

# Verbose create lists the names as stored (directories with a trailing
# '/', as GNU tar and -xv), on stdout when the archive goes to a file, on
# stderr when it goes to stdout.
run "$S" -cvf v.slc -C src fx/small fx/dir/sub
is "$(tr '\n' '|' <"$OUT")" "fx/small|fx/dir/sub/|" \
    "-cv -f FILE names each member on stdout"
run sh -c '"$1" -cvf - -C src fx/small >/dev/null' sh "$S"
is "$(cat "$ERR")" "fx/small" "-cv -f - names each member on stderr"

# ---- listing ------------------------------------------------------------------

cat >names.py <<'EOF'
import sys, tarfile
with tarfile.open(fileobj=sys.stdin.buffer, mode='r|*') as t:
    for m in t:
        n = m.name + ('/' if m.isdir() else '')
        sys.stdout.buffer.write(n.encode('utf-8', 'surrogateescape') + b'\n')
EOF
expect_ok "-t: sluice -tf plain.slc" "$S" -tf plain.slc
cp "$OUT" list.sluice
body_of plain.slc | python3 names.py >list.python
ok "-t lists exactly the members (as python's tarfile reads them)" \
    cmp -s list.sluice list.python || diff list.sluice list.python | head | sed 's/^/# /'
is "$(wc -l <list.sluice | tr -d ' ')" "$(manifest src/fx | wc -l | tr -d ' ')" \
    "-t: one line per entry of the tree"
expect_ok "-tv: sluice -tvf zstd.slc" "$S" -tvf zstd.slc
like "$(grep ' fx/sym ' "$OUT")" "lrwxrwxrwx *fx/sym -> small" "-tv: symlink shown with -> target"
like "$(grep 'fx/hl2' "$OUT")" "h*fx/hl2 link to fx/dir/hl1" "-tv: hardlink shown as link to"
if [ "$is_root" = 1 ]; then
    like "$(grep 'fx/dir/text' "$OUT")" "-rw-r----- *nobody *nogroup *200000 *fx/dir/text" \
        "-tv: mode, owner, group and size as bsdtar -tv"
else
    skip 1 "not root: no other owner in the fixture"
fi
if command -v bsdtar >/dev/null 2>&1; then
    body_of plain.slc >plain.tar
    LC_ALL=C.UTF-8 bsdtar -tvf plain.tar >list.bsdtar 2>/dev/null
    "$S" -tvf plain.slc >list.sluicev 2>/dev/null
    ok "-tv output is the same as bsdtar -tv" cmp -s list.bsdtar list.sluicev ||
        diff list.bsdtar list.sluicev | head | sed 's/^/# /'
else
    skip 1 "bsdtar not installed"
fi
expect_ok "-t with member names lists only those" "$S" -tf plain.slc fx/dir/sub fx/small
is "$(tr '\n' '|' <"$OUT")" "fx/dir/sub/|fx/small|" "-t NAME...: only the named members"

# ---- owners and permissions -----------------------------------------------------

python3 - <<'EOF2'
import io, tarfile
with tarfile.open('owners.tar', 'w', format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo('o/f')
    i.size, i.mode, i.uid, i.gid, i.uname, i.gname = 2, 0o2775, 4242, 4343, 'root', 'root'
    t.addfile(i, io.BytesIO(b'o\n'))
    i = tarfile.TarInfo('o/g')
    i.size, i.mode, i.uid, i.gid, i.uname, i.gname = 2, 0o644, 4242, 4343, 'no-such-user-here', 'no-such-group-here'
    t.addfile(i, io.BytesIO(b'g\n'))
EOF2
if [ "$is_root" = 1 ]; then
    rm -rf x.own && mkdir x.own
    expect_ok "owners: -x as root" "$S" -xf owners.tar -C x.own
    is "$(stat -c '%u:%g %a' x.own/o/f x.own/o/g | tr '\n' ' ')" "0:0 2775 4242:4343 644 " \
        "owners: by name when the name exists here, else by number; modes kept"
    rm -rf x.own && mkdir x.own
    expect_ok "owners: -x --numeric-owner" "$S" -xf owners.tar --numeric-owner -C x.own
    is "$(stat -c '%u:%g' x.own/o/f)" "4242:4343" "owners: --numeric-owner uses the numbers"
    rm -rf x.own && mkdir x.own
    expect_ok "owners: -x --no-same-owner --no-same-permissions" \
        "$S" -xf owners.tar --no-same-owner --no-same-permissions -C x.own
    is "$(stat -c '%u:%g %a' x.own/o/f)" "0:0 755" \
        "owners: --no-same-owner keeps ours; --no-same-permissions applies the umask"
else
    rm -rf x.own && mkdir x.own
    expect_ok "owners: -x -p as a user" "$S" -xpf owners.tar -C x.own
    is "$(stat -c '%u %a' x.own/o/g)" "$(id -u) 644" "owners: a user's files are the user's"
    skip 4 "not root: owners cannot be restored"
fi

# ---- other archive formats on restore -------------------------------------------

(cd src && tar -czf ../gnu.tar.gz fx)
rm -rf x.gnu && mkdir x.gnu
# shellcheck disable=SC2086
expect_ok "GNU tar .tar.gz restores with -x" "$S" -x $xflags -f gnu.tar.gz -C x.gnu
same_tree "GNU tar .tar.gz: restored tree equals the original (seconds)" \
    src/fx x.gnu/fx sec noxattr
run "$S" -tf gnu.tar.gz
ok "GNU tar .tar.gz: -t lists as many members" \
    test "$(wc -l <"$OUT")" = "$(manifest src/fx | wc -l)"
(cd src && tar -cJf ../x.tar.xz fx/dir) 2>/dev/null
expect_ok "tar.xz: -t" "$S" -tf x.tar.xz
like "$(tr '\n' '|' <"$OUT")" "fx/dir/|*fx/dir/hl1|*" "tar.xz: members listed"
if command -v bsdtar >/dev/null 2>&1; then
    (cd src && bsdtar --format zip -cf ../x.zip fx/dir/sub fx/small)
    rm -rf x.zip.d && mkdir x.zip.d
    expect_ok "zip: -x" "$S" -xf x.zip -C x.zip.d
    ok "zip: file content restored" cmp -s src/fx/small x.zip.d/fx/small
    (cd src && bsdtar --format newc -cf ../x.cpio fx/dir fx/hl2)
    rm -rf x.cpio.d && mkdir x.cpio.d
    expect_ok "cpio (newc, with a hardlink): -x" "$S" -xf x.cpio -C x.cpio.d
    ok "cpio: hardlinked files restored as links with their data" \
        test "$(stat -c %i x.cpio.d/fx/hl2)" = "$(stat -c %i x.cpio.d/fx/dir/hl1)" -a \
        "$(cat x.cpio.d/fx/hl2)" = linked
else
    skip 4 "bsdtar not installed (zip, cpio)"
fi

# ---- selection, exclusion, -T ---------------------------------------------------

rm -rf x.sel && mkdir x.sel
expect_ok "-x NAME...: extract selected members" "$S" -xf zstd.slc -C x.sel fx/dir/sub fx/small
is "$(cd x.sel && find . | sort | tr '\n' ' ')" \
    ". ./fx ./fx/dir ./fx/dir/sub ./fx/small " "-x NAME...: only those (and their parents)"
expect_fail 2 "-x with a member not in the archive" "$S" -xf zstd.slc -C x.sel fx/small no/such
like "$(cat "$ERR")" "sluice: archive: no/such: Not found in archive" \
    "-x: the missing member is named"
run sh -c '"$1" -cf - -C src --exclude "*.d" --exclude sub --exclude "fx/deep" fx | "$1" -tf -' sh "$S"
ok "--exclude: excluded names and what lies below are left out" \
    sh -c '! grep -q -e "\.d/" -e "/sub/" -e "fx/deep" "$1" && grep -q "fx/dir/text" "$1"' sh "$OUT"
printf 'fx/small\0fx/dir/sub\0fx/%s\0' "$nonascii" >names0
run sh -c '"$1" -c -C src -T names0 --null -f - | "$1" -tf -' sh "$S"
is "$(tr '\n' '|' <"$OUT")" "fx/small|fx/dir/sub/|fx/$nonascii|" "-T FILE --null"
printf 'fx/small\nfx/sym\n' >names1
run sh -c '"$1" -c -C src -T names1 -f - | "$1" -tf -' sh "$S"
is "$(tr '\n' '|' <"$OUT")" "fx/small|fx/sym|" "-T FILE (one name a line)"

# --one-file-system: a mount point inside the tree is archived, not its content.
mkdir -p ofs/mnt
echo a >ofs/a
if [ "$is_root" = 1 ] && mount -t tmpfs sluice-t ofs/mnt 2>/dev/null; then
    echo inner >ofs/mnt/inner
    run sh -c '"$1" -cf - --one-file-system ofs | "$1" -tf -' sh "$S"
    umount ofs/mnt
    is "$(tr '\n' '|' <"$OUT")" "ofs/|ofs/a|ofs/mnt/|" "--one-file-system stops at the mount point"
else
    skip 1 "cannot mount a tmpfs here"
fi

# ---- unreadable input -------------------------------------------------------------

mkdir -p unr
echo fine >unr/ok
echo secret >unr/noread
chmod 000 unr/noread
# root reads anything: drop the capabilities that let it, when possible.
asuser=
if [ "$is_root" = 1 ]; then
    if command -v setpriv >/dev/null 2>&1 &&
        ! setpriv --bounding-set -dac_override,-dac_read_search cat unr/noread >/dev/null 2>&1; then
        asuser="setpriv --bounding-set -dac_override,-dac_read_search"
    fi
elif ! cat unr/noread >/dev/null 2>&1; then
    asuser=env
fi
if [ -n "$asuser" ]; then
    # shellcheck disable=SC2086
    run $asuser "$S" -cf unr.slc unr
    is "$RC" 1 "unreadable file: exit status 1 (incomplete), as tar"
    like "$(cat "$ERR")" "*sluice: archive: cannot read unr/noread: Permission denied*" \
        "unreadable file: reported by name"
    run "$S" -tf unr.slc
    is "$(tr '\n' '|' <"$OUT")" "unr/|unr/ok|" "unreadable file: left out, the rest archived"
else
    skip 3 "cannot make a file unreadable to this user (setpriv)"
fi
chmod 644 unr/noread

# ---- hostile archives -------------------------------------------------------------

H=$T_TMP/h
mkdir -p "$H/outside" "$H/work"
echo secret >"$H/outside/secret"
python3 - "$H" <<'EOF'
import io, sys, tarfile
H = sys.argv[1]
def add(t, name, data=None, kind=tarfile.REGTYPE, link=''):
    i = tarfile.TarInfo(name)
    i.type, i.linkname = kind, link
    i.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    if data is not None:
        i.size = len(data)
    t.addfile(i, io.BytesIO(data) if data is not None else None)
def mk(n, *members):
    with tarfile.open('%s/%s.tar' % (H, n), 'w', format=tarfile.PAX_FORMAT) as t:
        for m in members:
            add(t, *m)
mk('dotdot', ('../outside/dotdot', b'x'), ('a/../../outside/dotdot2', b'x'))
mk('absolute', (H + '/outside/abs', b'abs'))
mk('symlink-then-file', ('l', None, tarfile.SYMTYPE, H + '/outside'),
   ('l/pwned', b'pwned'))
mk('relsymlink-then-file', ('d/l', None, tarfile.SYMTYPE, '../../../outside'),
   ('d/l/pwned', b'pwned'), ('d/l/secret', b'overwritten'))
mk('hardlink-outside', ('h', None, tarfile.LNKTYPE, H + '/outside/secret'),
   ('h2', None, tarfile.LNKTYPE, '../outside/secret'))
mk('hardlink-via-symlink', ('s', None, tarfile.SYMTYPE, H + '/outside'),
   ('h', None, tarfile.LNKTYPE, 's/secret'))
mk('file-over-symlink', ('l', None, tarfile.SYMTYPE, H + '/outside/secret'),
   ('l', b'replaced'))
mk('dir-over-symlink', ('l', None, tarfile.SYMTYPE, H + '/outside'),
   ('l/', None, tarfile.DIRTYPE), ('l/inside', b'inside'))
EOF
manifest "$H/outside" >outside.before
for h in dotdot absolute symlink-then-file relsymlink-then-file \
    hardlink-outside hardlink-via-symlink file-over-symlink dir-over-symlink; do
    rm -rf "$H/work/t"
    mkdir "$H/work/t"
    run "$S" -xf "$H/$h.tar" -C "$H/work/t"
    manifest "$H/outside" >outside.after
    ok "hostile $h: nothing outside the target changed (exit $RC)" \
        cmp -s outside.before outside.after
    is "$(ls -A "$H/work" | tr '\n' ' ')" "t " \
        "hostile $h: nothing written next to the target"
done
# What the safe outcomes look like.
rm -rf "$H/work/t" && mkdir "$H/work/t"
run "$S" -xf "$H/dotdot.tar" -C "$H/work/t"
is "$RC" 1 "hostile dotdot: refused members make the run incomplete (exit 1)"
like "$(cat "$ERR")" "*refusing a member name with '..'*" "hostile dotdot: said why"
run "$S" -xf "$H/absolute.tar" -C "$H/work/t"
ok "hostile absolute: leading / stripped, restored inside the target" \
    test -f "$H/work/t$H/outside/abs"
rm -rf "$H/work/t" && mkdir "$H/work/t"
run "$S" -xf "$H/symlink-then-file.tar" -C "$H/work/t"
is "$RC" 1 "hostile symlink-then-file: exit 1"
like "$(cat "$ERR")" "*l/pwned: refusing to write through a symbolic link*" \
    "hostile symlink-then-file: said why"
rm -rf "$H/work/t" && mkdir "$H/work/t"
run "$S" -xf "$H/file-over-symlink.tar" -C "$H/work/t"
ok "hostile file-over-symlink: the symlink was replaced, not followed" \
    test ! -L "$H/work/t/l" -a "$(cat "$H/work/t/l")" = replaced
rm -rf "$H/work/t" && mkdir "$H/work/t"
run "$S" -xf "$H/dir-over-symlink.tar" -C "$H/work/t"
ok "hostile dir-over-symlink: a real directory replaced the symlink" \
    test -d "$H/work/t/l" -a ! -L "$H/work/t/l" -a -f "$H/work/t/l/inside"
# An existing symlink in the target directory is not followed either.
rm -rf "$H/work/t" && mkdir "$H/work/t"
ln -s "$H/outside" "$H/work/t/l"
run "$S" -xf "$H/symlink-then-file.tar" -C "$H/work/t"
manifest "$H/outside" >outside.after
ok "pre-existing symlink in the target: not written through" \
    cmp -s outside.before outside.after

# ---- damaged streams ----------------------------------------------------------------

mkdir -p big/d
for i in 1 2 3 4 5 6; do mkdata big/d/f$i 2000000; done
expect_ok "damaged: sluice -czf big.slc" "$S" -czf big.slc big
size=$(fsize big.slc)
head -c $((size / 2)) big.slc >trunc.slc
rm -rf x.trunc && mkdir x.trunc
run "$S" -xf trunc.slc -C x.trunc
is "$RC" 4 "truncated .slc: -x fails (corrupt input)"
no_archive_temps x.trunc "truncated .slc: no temporary file left"
like "$(cat "$ERR")" "sluice: *; archive: extraction stopped [ab][fe][tf]*" \
    "truncated .slc: says how far the restore got, on the cause's line" ||
    diag_file "$ERR" stderr
t_bad=0
for f in x.trunc/big/d/*; do
    [ -e "$f" ] || continue
    cmp -s "$f" "big/d/${f##*/}" || t_bad=1
done
is "$t_bad" 0 "truncated .slc: every file restored is complete"
expect_ok "damaged: sluice -cf big.tar (no compression)" "$S" -cf big.tar big
size=$(fsize big.tar)
head -c $((size / 2 + 700)) big.tar >trunc.tar
rm -rf x.trunct && mkdir x.trunct
expect_fail 4 "truncated uncompressed archive: -x fails" "$S" -xf trunc.tar -C x.trunct
like "$(cat "$ERR")" "*corrupt or truncated archive: *; stopped after restoring big/d/f*" \
    "truncated uncompressed archive: error names the last path restored"
no_archive_temps x.trunct "truncated uncompressed archive: no temporary file left"
cp big.slc corrupt.slc
printf 'CORRUPTCORRUPT' | dd of=corrupt.slc bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
rm -rf x.corrupt && mkdir x.corrupt
run "$S" -xf corrupt.slc -C x.corrupt
ok "corrupted .slc (-z): -x fails (exit $RC)" test "$RC" != 0 -a "$RC" -lt 128
no_archive_temps x.corrupt "corrupted .slc (-z): no temporary file left"
if [ "$have_aes" = 1 ]; then
    SLUICE_PASSPHRASE=pw
    export SLUICE_PASSPHRASE
    expect_ok "damaged: sluice -czef big.enc.slc" "$S" -cze -f big.enc.slc big
    cp big.enc.slc tamper.slc
    # One bit flipped (writing a fixed byte left the stream as it was
    # whenever that byte was already there: once in 256 runs).
    python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 1; open(p, "wb").write(b)' tamper.slc
    rm -rf x.tamper && mkdir x.tamper
    run "$S" -xf tamper.slc -C x.tamper
    is "$RC" 5 "tampered encrypted stream: exit 5 (authentication)"
    # (Before restoring anything when the restore lagged far enough
    # behind the failing stage: what was queued is dropped on abort.)
    like "$(cat "$ERR")" "sluice: *; archive: extraction stopped [ab][fe][tf]*" \
        "tampered encrypted stream: says how far the restore got, on one line"
    no_archive_temps x.tamper "tampered encrypted stream: no temporary file left"
    t_bad=0
    for f in x.tamper/big/d/*; do
        [ -e "$f" ] || continue
        cmp -s "$f" "big/d/${f##*/}" || t_bad=1
    done
    is "$t_bad" 0 "tampered encrypted stream: every file restored is intact"
    unset SLUICE_PASSPHRASE
else
    skip 5 "aes-256-gcm.so not built (no -e)"
fi
echo 'not an archive at all' >junk
expect_fail 4 "-x of something that is not an archive" "$S" -xf junk -C x.corrupt
expect_fail 4 "-t of something that is not an archive" "$S" -tf junk

# ---- replacing what is in the way, below the top ----------------------------------
# (The cached parent directory must stay open while an entry in it is
# replaced: it was once closed first, so this failed with EBADF.)
mkdir -p rep.src/d/e && echo file >rep.src/d/sub && ln -s target rep.src/d/e/ln
mkdir rep.src/d/f
expect_ok "replace: make the archive" "$S" -cf rep.slc -C rep.src d
mkdir -p rep.dst/d/sub rep.dst/d/e/ln && echo old >rep.dst/d/f
expect_ok "replace: -x over an empty dir, a dir and a file in the way" \
    "$S" -xf rep.slc -C rep.dst
ok "replace: the empty directory became the file" \
    test -f rep.dst/d/sub -a "$(cat rep.dst/d/sub 2>/dev/null)" = file
ok "replace: the empty directory became the symlink" test -L rep.dst/d/e/ln
ok "replace: the file became the directory" test -d rep.dst/d/f
no_archive_temps rep.dst "replace: no temporary file left"

# ---- progress: -c pre-scans the operands for a percentage and an ETA ---------------
# The reader starts two seconds late, so the run outlasts the first
# second (before which nothing is drawn); stderr is a file, not a
# terminal, so --progress prints a line a second.
mkdir -p prog.src/d && mkdata prog.src/big 12000000 && mkdata prog.src/d/small 5000
ln prog.src/big prog.src/d/big.link
printf 'big\nd\n' >prog.list
"$S" -cf prog.ref -q -C prog.src . && "$S" -cf prog.ref.T -q -C prog.src -T prog.list
timeout 60 "$S" -c --progress -f - -C prog.src . 2>prog.err |
    { sleep 2; cat >prog.slc; }
like "$(head -n 1 prog.err)" "sluice: * in -> * out *  ?*%  ETA *:*" \
    "-c --progress: a line with bytes, the percentage and an ETA"
like "$(tail -n 1 prog.err)" "sluice: 11.* MiB in -> 11.* MiB out  (1.00x) *  100.0%" \
    "-c --progress: the last line sums up at 100.0%, without an ETA"
ok "-c --progress: stdout is the archive, byte for byte" cmp -s prog.slc prog.ref
timeout 60 "$S" -c --progress -f - -C prog.src -T prog.list 2>prog.err |
    { sleep 2; cat >prog.slc; }
like "$(cat prog.err)" "*%  ETA *" "-c -T FILE --progress: a percentage too"
like "$(tail -n 1 prog.err)" "*100.0%" "... and 100.0% at the end"
ok "-c -T FILE --progress: stdout is the archive" cmp -s prog.slc prog.ref.T
timeout 60 "$S" -c -q --progress -f - -C prog.src . 2>prog.err |
    { sleep 2; cat >prog.slc; }
ok "-c -q --progress: -q silences it" test ! -s prog.err

# ---- usage ------------------------------------------------------------------------

expect_fail 2 "-c without paths" "$S" -cf x.slc
expect_fail 3 "-C to a missing directory" "$S" -xf plain.slc -C no/such/dir

done_testing
