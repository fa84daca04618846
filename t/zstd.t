#!/bin/sh
# zstd.t - round trips through the zstd stage at the sizes around the
# block and header boundaries, in filter mode, with -o FILE and a FILE
# argument; the body is an ordinary zstd stream (`zstd -d` decodes it);
# levels, threads, concatenated frames.
. "$(dirname "$0")/lib.sh"
plan_no_plan

cd "$T_TMP" || bail_out "cd $T_TMP"
have_zstd=0
command -v zstd >/dev/null 2>&1 && have_zstd=1

# ---- sizes --------------------------------------------------------------------
for size in 0 1 65535 65536 65537 10485760; do
    if [ "$size" = 10485760 ]; then
        # Half random, half compressible text.
        mkdata in.$size 5242880
        mktext text.$size 5242880
        cat text.$size >>in.$size
        rm -f text.$size
    else
        mkdata in.$size "$size"
    fi

    # Filter mode: stdin -> stdout.
    expect_ok "$size bytes: sluice -z (stdin to stdout)" "$SLUICE" -z <in.$size
    mv "$OUT" f.$size.slc
    is "$(head -n 2 f.$size.slc | tr '\n' '|')" "sluice/1|zstd level=3|" \
        "$size bytes: header names zstd level=3"
    expect_ok "$size bytes: sluice -d (stdin to stdout)" "$SLUICE" -d <f.$size.slc
    ok "$size bytes: filter round trip is identical" cmp -s "$OUT" in.$size

    # -o FILE and a FILE argument.
    expect_ok "$size bytes: sluice -z -o OUT IN" "$SLUICE" -z -o o.$size.slc in.$size
    ok "$size bytes: -o wrote the file, stdout empty" \
        test -f o.$size.slc -a ! -s "$OUT"
    ok "$size bytes: same stream as filter mode" cmp -s o.$size.slc f.$size.slc ||
        diag "(streams may differ only if zstd is nondeterministic)"
    expect_ok "$size bytes: sluice -d -o OUT IN" "$SLUICE" -d -o out.$size o.$size.slc
    ok "$size bytes: -o/FILE round trip is identical" cmp -s out.$size in.$size
    no_temp_files . "$size bytes: no temporary files left"

    # The body decodes with zstd itself.
    if [ "$have_zstd" = 1 ]; then
        body_of f.$size.slc >body.$size.zst
        run zstd -d -q -c body.$size.zst
        is "$RC" 0 "$size bytes: zstd -d decodes the body"
        ok "$size bytes: zstd -d gives the original" cmp -s "$OUT" in.$size
    else
        skip 2 "zstd(1) not installed"
    fi
    rm -f f.$size.slc o.$size.slc out.$size body.$size.zst
done

# A stream written by zstd itself behind a hand-made header.
if [ "$have_zstd" = 1 ]; then
    mktext words 300000
    { printf 'sluice/1\nzstd level=3\n---\n'; zstd -q -c -19 words; } >ext.slc
    expect_ok "-d decodes a body written by zstd(1)" "$SLUICE" -d ext.slc
    ok "identical" cmp -s "$OUT" words
    # Two frames back to back decode as their concatenation (as zstd -d).
    head -c 1000 words >part1
    tail -c +1001 words >part2
    { printf 'sluice/1\nzstd level=3\n---\n'; zstd -q -c part1; zstd -q -c part2; } >cat.slc
    expect_ok "-d decodes concatenated frames" "$SLUICE" -d cat.slc
    ok "as their concatenation" cmp -s "$OUT" words
else
    skip 4 "zstd(1) not installed"
fi

# ---- levels, threads, options -----------------------------------------------------
mktext t1m 1048576
for lv in 1 9 19; do
    expect_ok "-$lv" "$SLUICE" -$lv -o l$lv.slc t1m
    is "$(sed -n 2p l$lv.slc)" "zstd level=$lv" "-$lv records level=$lv"
    run "$SLUICE" -d l$lv.slc
    ok "-$lv round trip" cmp -s "$OUT" t1m
done
ok "level 19 compresses text at least as well as level 1" \
    test "$(fsize l19.slc)" -le "$(fsize l1.slc)"
expect_ok "--zstd=7" "$SLUICE" --zstd=7 -o z7.slc t1m
is "$(sed -n 2p z7.slc)" "zstd level=7" "--zstd=7 records level=7"
expect_ok "--zstd=-5 (a fast level)" "$SLUICE" --zstd=-5 -o zm5.slc t1m
is "$(sed -n 2p zm5.slc)" "zstd level=-5" "records level=-5"
run "$SLUICE" -d zm5.slc
ok "fast level round trip" cmp -s "$OUT" t1m
expect_ok "--chain zstd:level=4" "$SLUICE" --chain zstd:level=4 -o c4.slc t1m
is "$(sed -n 2p c4.slc)" "zstd level=4" "--chain records level=4"
# Levels are plain integers, as the header records them: "03", "+3"
# and "-05" are refused, on backup (2) and in a header (4).
for lv in 03 +3 -05; do
    expect_fail 2 "--chain zstd:level=$lv is refused" \
        "$SLUICE" --chain "zstd:level=$lv" -o bad.slc t1m
    like "$(cat "$ERR")" "sluice: zstd: level '$lv' is not a plain integer*" \
        "... naming the stage and the value"
    { printf 'sluice/1\nzstd level=%s\n---\n' "$lv"; tail -c +27 c4.slc; } >bad$lv.slc
    expect_fail 4 "a header with level=$lv is refused" "$SLUICE" -d bad$lv.slc
    like "$(cat "$ERR")" "*level '$lv' is not a plain integer*" "... saying why"
done
for t in 1 2 0; do
    expect_ok "--threads $t" "$SLUICE" -z --threads $t -o t$t.slc t1m
    run "$SLUICE" -d t$t.slc
    ok "--threads $t round trip" cmp -s "$OUT" t1m
done
expect_ok "--threads 3" "$SLUICE" -z --threads 3 -o th3.slc t1m
run "$SLUICE" -d --threads 2 th3.slc
ok "--threads round trip (and --threads on -d is harmless)" cmp -s "$OUT" t1m
expect_ok "--chain zstd,zstd (the same stage twice)" "$SLUICE" --chain zstd,zstd:level=1 -o zz.slc t1m
is "$(sed -n '2,3p' zz.slc | tr '\n' '|')" "zstd level=3|zstd level=1|" \
    "both lines recorded, in backup order"
expect_ok "-d undoes both" "$SLUICE" -d zz.slc
ok "double zstd round trip" cmp -s "$OUT" t1m

# A pipeline, as users write it.
mkdata r3m 3000000
"$SLUICE" -z <r3m | "$SLUICE" -d >piped
ok "sluice -z | sluice -d" cmp -s piped r3m
cat r3m | "$SLUICE" -z | cat | "$SLUICE" -d | cat >piped2
ok "through cat on both sides (pipes, not files)" cmp -s piped2 r3m

# Overwriting an existing -o target replaces it atomically.
echo "old content" >target
expect_ok "-o over an existing file" "$SLUICE" -d -o target t1.slc
ok "the target now has the new content" cmp -s target t1m
# ---- independent frames (doc/FORMAT.md 2) ---------------------------------------
# The body is frames of 4 MiB of input each (at level 3), each with its
# content size, so a restore decodes them on every core; the bytes do not
# depend on the number of threads.
mktext big 4194304
mkdata rnd 3000000
cat big rnd big >frames.in # 11,388,608 bytes: 3 frames
expect_ok "-z of 11 MB" "$SLUICE" -z -o fr.slc frames.in
expect_ok "--threads 1" "$SLUICE" -z --threads 1 -o fr1.slc frames.in
ok "the same bytes with one thread and with all cores" cmp -s fr.slc fr1.slc
expect_ok "-d" "$SLUICE" -d -o fr.out fr.slc
ok "round trip" cmp -s fr.out frames.in
expect_ok "-d --threads 1 (frame after frame on the stage's thread)" \
    "$SLUICE" -d --threads 1 -o fr1.out fr.slc
ok "round trip" cmp -s fr1.out frames.in
if [ "$have_zstd" = 1 ]; then
    tail -c +27 fr.slc >fr.zst
    zstd -l fr.zst >list 2>&1
    is "$(awk '$NF == "fr.zst" { print $1 }' list)" 3 "zstd -l: 3 frames"
    ok "zstd -d decodes it" sh -c 'zstd -q -d -c fr.zst | cmp -s - frames.in'
    # Frames of unknown size (zstd from a pipe) and of known size mixed:
    # the first go through the streaming decoder, the others to workers.
    head -c 5000000 frames.in >p1
    tail -c +5000001 frames.in | head -c 3000000 >p2
    tail -c +8000001 frames.in >p3
    { printf 'sluice/1\nzstd level=3\n---\n'; zstd -q -c p1
      zstd -q -c <p2; zstd -q -c p3; zstd -q -c <p1; } >mixed.slc
    cat p1 p2 p3 p1 >mixed.want
    expect_ok "-d of frames of known and unknown size, mixed" "$SLUICE" -d -o mixed.out mixed.slc
    ok "in order" cmp -s mixed.out mixed.want
else
    skip 5 "zstd(1) not installed"
fi
# Cut inside the second frame, or a byte changed there: refused, after
# the first frame's bytes went out.
half=$(($(wc -c <fr.slc) / 2)) # inside the second frame, of random bytes
head -c "$half" fr.slc >cut.slc
expect_fail 4 "-d of a stream cut inside a frame" "$SLUICE" -d -o cut.out cut.slc
grep -q 'truncated input: the last zstd frame is incomplete' "$ERR"
ok "says the last frame is incomplete" [ $? = 0 ]
cp fr.slc bad.slc
printf '\377' | dd of=bad.slc bs=1 seek="$half" conv=notrunc 2>/dev/null
expect_fail 4 "-d of a changed byte in a frame" "$SLUICE" -d bad.slc
grep -q 'zstd: corrupt input' "$ERR"
ok "says corrupt input" [ $? = 0 ]
ok "the frame before it went out whole" cmp -s -n 4194304 "$OUT" frames.in
rm -f big rnd frames.in fr.slc fr1.slc fr.out fr1.out fr.zst p1 p2 p3 mixed.* cut.* bad.slc list

# A frame whose matches reach further back than its window (blocks of
# 1,000 bytes compressed with a 128 KiB window, the window descriptor
# then set to 1 KiB; FORMAT.md 2): libzstd's one-shot decoder takes it,
# its streaming decoder refuses it.  Which one a frame gets depends on
# the frame alone, never on --threads: declaring its size (200,000
# bytes), it is decoded whole; not declaring it (20,000), streamed.
V=${SLUICE_VECTORS:-$SLUICE_SRCDIR/t/vectors}
for threads in 1 2; do
    expect_ok "a far match in a frame of declared size, --threads $threads" \
        "$SLUICE" -d --threads $threads -o far.out "$V/zstd-far-match-sized.slc"
    is "$(sha256sum <far.out | cut -c1-64)" \
        10458987bea20606535bcdf38459b286c3fc6286d5a239b86dbdda7aae403077 \
        "  decoded to the bytes compressed"
    rm -f far.out
    expect_fail 4 "a far match in a frame of unknown size, --threads $threads" \
        "$SLUICE" -d --threads $threads -o far.out "$V/zstd-far-match-unsized.slc"
    grep -q 'zstd: corrupt input: Data corruption detected' "$ERR"
    ok "  says corrupt input" [ $? = 0 ]
    ok "  no output file" [ ! -e far.out ]
done

no_temp_files . "no temporary files left in the output directory"

# A large stream keeps memory bounded (not on sanitizer builds, whose
# shadow memory makes virtual size meaningless).
if ldd "$SLUICE" 2>/dev/null | grep -q 'libasan'; then
    skip 1 "sanitizer build"
else
    run sh -c "ulimit -v 1500000 && head -c 300000000 /dev/zero | '$SLUICE' -z --threads 1 | '$SLUICE' -d | wc -c"
    is "$(tr -d ' ' <"$OUT")" 300000000 "300 MB through -z | -d under a 1.5 GB address-space limit"
fi

done_testing
