#!/bin/sh
# budget.t - bounded cost for hostile input (issue 14, item 4): one memory
# budget shared by every stage of a chain and a cap on the key-derivation
# work of a header, both enforced before the work is done (ABI 1.2
# api->charge; doc/FORMAT.md section 1, "Cost limits").
#
#   - 32 nested zstd stages whose frames each declare a 128 MiB window:
#     refused (exit 4) at once, in bounded memory; decodes when the budget
#     is raised, so it is the budget that refused;
#   - 32 aes-256-gcm lines at 10^7 iterations: refused (exit 4) before a
#     single key derivation;
#   - --max-memory / --max-kdf-iter: strict values, and a low budget
#     refuses an ordinary stream; a normal -z -e round trip is unaffected.
. "$(dirname "$0")/lib.sh"
plan_no_plan

cd "$T_TMP" || bail_out "cd $T_TMP"
SLUICE_PASSPHRASE='budget test'
export SLUICE_PASSPHRASE

# ---- an ordinary round trip is unaffected -------------------------------------------
mktext plain 3000000
expect_ok "-z -e backs up under the default budget" "$SLUICE" -z -e -o ze.slc plain
expect_ok "... and restores" "$SLUICE" -d -o back ze.slc
ok "... exactly" cmp -s plain back

# ---- memory --------------------------------------------------------------------------
# The nested zstd stream is not encrypted: restored without a passphrase
# (given one, a restore refuses it first as a downgrade, FORMAT.md 1).
unset SLUICE_PASSPHRASE
if command -v zstd >/dev/null 2>&1; then
    head -c 4194304 /dev/zero >layer
    for i in $(seq 32); do # from stdin: no content size, the full window
        zstd -q --zstd=wlog=27 -c <layer >layer.next && mv layer.next layer
    done
    { printf 'sluice/1\n'
      for i in $(seq 32); do printf 'zstd level=3\n'; done
      printf -- '---\n'
      cat layer; } >z32.slc
    diag "32 nested zstd stages: a $(fsize z32.slc)-byte stream"
    start=$(date +%s)
    expect_fail 4 "32 nested zstd stages with 128 MiB windows: refused" \
        "$SLUICE" -d -o out z32.slc
    like "$(cat "$ERR")" "sluice: zstd: *more than the memory budget (1024 MiB*--max-memory*" \
        "... naming the budget and the option to raise it"
    ok "... at once ($(( $(date +%s) - start )) s)" \
        test $(( $(date +%s) - start )) -lt 20
    ok "... and no output file" test ! -e out
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f %M -o rss "$SLUICE" -d z32.slc >/dev/null 2>&1
        kb=$(tail -n 1 rss)
        diag "peak RSS of the refused restore: $kb KB"
        ok "... peak RSS under 64 MiB" test "$kb" -lt 65536
    else
        skip 1 "GNU time not installed"
    fi
    expect_ok "with --max-memory 8G it decodes: the budget refused it" \
        "$SLUICE" --max-memory 8G -d -o out z32.slc
    is "$(fsize out)" 4194304 "... all 4 MiB"
else
    skip 7 "no zstd command to build nested frames"
fi
export SLUICE_PASSPHRASE='budget test'
expect_fail 4 "--max-memory 1M: an ordinary zstd stream is refused" \
    "$SLUICE" --max-memory 1M -d -o out2 ze.slc
like "$(cat "$ERR")" "*memory budget (1 MiB*" "... naming the 1 MiB budget"
expect_fail 4 "--max-memory 512K: refused too" \
    "$SLUICE" --max-memory 512K -d -o out2 ze.slc
like "$(cat "$ERR")" "*memory budget (524288 bytes for*" \
    "... naming the budget exactly (not '0 MiB')"
expect_fail 2 "--max-memory 1M on backup: a usage error" \
    "$SLUICE" --max-memory 1M -z -o zz.slc plain
ok "... and no output file" test ! -e zz.slc
expect_fail 2 "--max-memory 12X is refused" "$SLUICE" --max-memory 12X -d ze.slc
expect_fail 2 "--max-memory 0 is refused" "$SLUICE" --max-memory 0 -d ze.slc

# ---- key derivation --------------------------------------------------------------------
{ printf 'sluice/1\n'
  for i in $(seq 32); do
      printf 'aes-256-gcm kdf=pbkdf2-sha256 iter=10000000 salt=%032x\n' "$i"
  done
  printf -- '--- %064x\n' 0
  head -c 4096 /dev/urandom; } >a32.slc
start=$(date +%s)
expect_fail 4 "32 aes lines at 10^7 iterations: refused" \
    "$SLUICE" -d -o out3 a32.slc
like "$(cat "$ERR")" "sluice: aes-256-gcm: *key-derivation work than the budget*--max-kdf-iter*" \
    "... naming the budget and the option to raise it"
secs=$(( $(date +%s) - start ))
ok "... in under 20 s ($secs s)" test "$secs" -lt 20
run "$SLUICE" -vv -d -o out3 a32.slc
is "$(grep -c 'key derived' "$ERR")" 0 "... before any derivation (-vv)"
expect_fail 4 "--max-kdf-iter 50000: a 64000-iteration header is refused" \
    "$SLUICE" --max-kdf-iter 50000 -d ze.slc
expect_fail 2 "--max-kdf-iter 50000 on backup: a usage error" \
    "$SLUICE" --max-kdf-iter 50000 -e -o e2.slc plain
expect_fail 2 "--max-kdf-iter 1k is refused" "$SLUICE" --max-kdf-iter 1k -d ze.slc
expect_ok "--max-kdf-iter 64000 is enough for one default line" \
    "$SLUICE" --max-kdf-iter 64000 -d -o back2 ze.slc

done_testing
