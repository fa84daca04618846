#!/usr/bin/env bash
# s3.t - the s3 stage against a real S3 implementation: a one-node Ceph
# cluster with RGW on 127.0.0.1, started and stopped here (t/rgw.sh).
# Interop is checked with Debian's awscli.
#
# Env: SLUICE (the binary), SLUICE_PLUGIN_PATH (where s3.so is).
# Needs: ceph-mon ceph-osd radosgw ceph-common awscli.  Outside CI a
# missing package skips the file; under CI (CI=true) it fails.
# make check runs tests with $(SHELL), which may be dash: switch to bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
here=$(cd "$(dirname "$0")" && pwd)
SLUICE=${SLUICE:-$here/../sluice}
case $SLUICE in /*) ;; *) SLUICE=$PWD/$SLUICE ;; esac

n=0
failures=0
last=$SECONDS
took() {
    [ $((SECONDS - last)) -lt 15 ] || echo "# ($((SECONDS - last)) s)"
    last=$SECONDS
}
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
    took
}
not_ok() {
    n=$((n + 1))
    failures=$((failures + 1))
    echo "not ok $n - $1"
    took
}
# check DESC CMD...: ok when CMD succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
diag() {
    sed 's/^/# /' "$@"
}
bail() {
    echo "Bail out! $*"
    exit 1
}

AWS=/usr/bin/aws
[ -x "$AWS" ] || AWS=$(command -v aws || true)
for c in ceph-mon ceph-osd radosgw radosgw-admin; do
    if ! command -v "$c" >/dev/null || [ -z "$AWS" ]; then
        what="ceph-mon ceph-osd radosgw ceph-common awscli"
        [ "${CI:-}" = true ] && bail "not installed: $what"
        echo "1..0 # SKIP needs $what"
        exit 0
    fi
done
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-s3.XXXXXX")
rgw=$tmp/rgw
cleanup() {
    [ -n "${prod_pid:-}" ] && kill "$prod_pid" 2>/dev/null
    bash "$here/rgw.sh" stop "$rgw" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A clean, predictable environment: no proxies, no user AWS settings.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
for v in $(env | sed -n 's/^\(AWS_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done
unset SLUICE_NET_RETRIES SLUICE_NET_RETRY_SECONDS SLUICE_NET_STALL_SECONDS
unset SLUICE_S3_PART_SIZE SLUICE_S3_CONCURRENCY
export HOME=$tmp/home
mkdir -p "$HOME"
export AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true

t0=$SECONDS
if ! bash "$here/rgw.sh" start "$rgw" $$ 2>"$tmp/rgw.err"; then
    not_ok "a one-node Ceph cluster with RGW starts on 127.0.0.1"
    diag "$tmp/rgw.err"
    echo "1..$n"
    exit 1
fi
ok "a one-node Ceph cluster with RGW starts on 127.0.0.1 ($((SECONDS - t0)) s)"
# shellcheck disable=SC1091
. "$rgw/env"
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL=$RGW_ENDPOINT

s3api() { "$AWS" --endpoint-url "$RGW_ENDPOINT" s3api "$@"; }
s3cli() { "$AWS" --endpoint-url "$RGW_ENDPOINT" s3 "$@"; }
sl() { timeout 300 "$SLUICE" "$@"; }

# open_uploads BUCKET: the keys of unfinished multipart uploads, one a line.
open_uploads() {
    s3api list-multipart-uploads --bucket "$1" \
        --query 'Uploads[].Key' --output text 2>/dev/null | tr '\t' '\n' |
        grep -v '^None$' | grep -v '^$'
}
no_uploads() {
    [ -z "$(open_uploads "$1")" ]
}
no_object() {
    ! s3api head-object --bucket "$1" --key "$2" >/dev/null 2>&1
}
one_line() {
    [ "$(wc -l <"$1")" -eq 1 ]
}
same() {
    cmp -s "$1" "$2"
}

B=sluice-test
mb() { s3cli mb "$1" >/dev/null; }
check "aws s3 mb creates the bucket" mb "s3://$B"

# Data: random (incompressible), so sizes on the server are the sizes here.
head -c 0 /dev/null >"$tmp/empty"
head -c 1048576 /dev/urandom >"$tmp/r1m"
head -c 48M /dev/urandom >"$tmp/r48m"

# ---- round trips -------------------------------------------------------------
sl -z -o "s3://$B/empty.slc" <"$tmp/empty" 2>"$tmp/err" &&
    sl -d "s3://$B/empty.slc" >"$tmp/out" 2>>"$tmp/err"
check "0-byte stream: backup to s3:// and restore" same "$tmp/empty" "$tmp/out"
diag "$tmp/err"

sl -z -o "s3://$B/one.slc" <"$tmp/r1m" 2>"$tmp/err" &&
    sl -d "s3://$B/one.slc" >"$tmp/out" 2>>"$tmp/err"
check "1 MiB stream: backup to s3:// (one PUT) and restore" \
    same "$tmp/r1m" "$tmp/out"
diag "$tmp/err"

sl -z -v -o "s3://$B/big.slc" <"$tmp/r48m" 2>"$tmp/err.up" &&
    sl -d "s3://$B/big.slc" >"$tmp/out" 2>"$tmp/err"
check "48 MiB stream: backup to s3:// and restore" same "$tmp/r48m" "$tmp/out"
diag "$tmp/err"
etag=$(s3api head-object --bucket "$B" --key big.slc --query ETag --output text)
check "the 48 MiB stream went up as a multipart upload (ETag $etag)" \
    grep -q -- '-[0-9]' <<<"$etag"
check "and the multipart upload reported its parts" \
    grep -q 'uploaded s3://.* in [0-9]* parts' "$tmp/err.up"
check "no multipart upload is left open" no_uploads "$B"

# ---- interop with awscli -------------------------------------------------------
s3cli cp --only-show-errors "s3://$B/big.slc" "$tmp/fetched.slc" &&
    sl -d "$tmp/fetched.slc" >"$tmp/out" 2>"$tmp/err"
check "an object sluice uploaded, fetched with aws s3 cp, restores" \
    same "$tmp/r48m" "$tmp/out"
diag "$tmp/err"

sl -z <"$tmp/r48m" >"$tmp/local.slc" &&
    s3cli cp --only-show-errors "$tmp/local.slc" "s3://$B/by-aws.slc" &&
    sl -d "s3://$B/by-aws.slc" >"$tmp/out" 2>"$tmp/err"
check "an object aws s3 cp uploaded (multipart) restores from s3://" \
    same "$tmp/r48m" "$tmp/out"
diag "$tmp/err"

key='dir/sub dir/key with spaces+plus&amp=eq;é~ü.slc'
sl -z -o "s3://$B/$key" <"$tmp/r1m" 2>"$tmp/err" &&
    s3cli cp --only-show-errors "s3://$B/$key" "$tmp/fetched2.slc" &&
    sl -d "$tmp/fetched2.slc" >"$tmp/out" 2>>"$tmp/err"
check "a key with spaces, +, &, =, ; and UTF-8 is signed and stored as is" \
    same "$tmp/r1m" "$tmp/out"
diag "$tmp/err"

sl inspect "s3://$B/big.slc" >"$tmp/out" 2>"$tmp/err"
check "inspect reads just the header from s3:// and stops the download" \
    grep -q zstd "$tmp/out"
diag "$tmp/err"

# ---- configuration sources -------------------------------------------------------
mkdir -p "$HOME/.aws"
cat >"$HOME/.aws/credentials" <<EOF
[default]
aws_access_key_id = nobody
aws_secret_access_key = nothing

[backup]
aws_access_key_id = $RGW_ACCESS_KEY
aws_secret_access_key = $RGW_SECRET_KEY
EOF
cat >"$HOME/.aws/config" <<EOF
[profile backup]
region = us-east-1
EOF
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_ENDPOINT_URL \
    -u AWS_DEFAULT_REGION AWS_PROFILE=backup \
    timeout 120 "$SLUICE" -d --s3-endpoint "$RGW_ENDPOINT" "s3://$B/one.slc" \
    >"$tmp/out" 2>"$tmp/err"
check "credentials from ~/.aws/credentials (AWS_PROFILE), --s3-endpoint" \
    same "$tmp/r1m" "$tmp/out"
diag "$tmp/err"

mv "$HOME/.aws/credentials" "$tmp/creds"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_PROFILE=backup \
    AWS_SHARED_CREDENTIALS_FILE="$tmp/creds" \
    timeout 120 "$SLUICE" -d "s3://$B/one.slc" >"$tmp/out" 2>"$tmp/err"
check "AWS_SHARED_CREDENTIALS_FILE, endpoint from AWS_ENDPOINT_URL" \
    same "$tmp/r1m" "$tmp/out"
diag "$tmp/err"
rm -rf "$HOME/.aws"

env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
    timeout 60 "$SLUICE" -d "s3://$B/one.slc" >/dev/null 2>"$tmp/err"
rc=$?
check "no credentials at all: exit 2 and one line naming the variables" \
    eval '[ $rc = 2 ] && one_line "$tmp/err" && grep -q AWS_ACCESS_KEY_ID "$tmp/err"'
diag "$tmp/err"

# ---- clear failures ------------------------------------------------------------------
AWS_SECRET_ACCESS_KEY=not-the-secret sl -z -o "s3://$B/denied.slc" \
    <"$tmp/r1m" >/dev/null 2>"$tmp/err"
rc=$?
check "a wrong secret key: exit 3 and exactly one line" \
    eval '[ $rc = 3 ] && one_line "$tmp/err"'
check "which says SignatureDoesNotMatch and to check AWS_SECRET_ACCESS_KEY" \
    grep -q 'sluice: s3: access denied (403 SignatureDoesNotMatch): check AWS_SECRET_ACCESS_KEY' "$tmp/err"
diag "$tmp/err"
check "and nothing was stored" no_object "$B" denied.slc

AWS_SECRET_ACCESS_KEY=not-the-secret sl -z -o "s3://$B/denied.slc" \
    <"$tmp/r48m" >/dev/null 2>"$tmp/err"
rc=$?
check "a wrong secret key on a multipart-sized stream: one line too" \
    eval '[ $rc = 3 ] && one_line "$tmp/err" && grep -q SignatureDoesNotMatch "$tmp/err"'
diag "$tmp/err"

sl -z -o "s3://no-such-bucket/x.slc" <"$tmp/r1m" >/dev/null 2>"$tmp/err"
rc=$?
check "a missing bucket: exit 3 and exactly one line saying so" \
    eval '[ $rc = 3 ] && one_line "$tmp/err" && grep -q "bucket .no-such-bucket. does not exist (404 NoSuchBucket)" "$tmp/err"'
diag "$tmp/err"

sl -d "s3://$B/no-such-key.slc" >/dev/null 2>"$tmp/err"
rc=$?
check "a missing object on restore: exit 3 and one line" \
    eval '[ $rc = 3 ] && one_line "$tmp/err" && grep -q "no such object" "$tmp/err"'
diag "$tmp/err"

sl -d "s3://ab/x" >/dev/null 2>"$tmp/err"
rc=$?
check "a bad bucket name is a usage error (exit 2)" \
    eval '[ $rc = 2 ] && one_line "$tmp/err"'
diag "$tmp/err"

# ---- interruption and failures leave nothing ----------------------------------------
# interrupt SIGNAL KEY: a slow producer (30 MiB, then silence) feeds an
# upload; once the multipart upload is open, SIGNAL goes to sluice.
interrupt() {
    local sig=$1 key=$2
    rm -f "$tmp/in.fifo"
    mkfifo "$tmp/in.fifo"
    (
        head -c 30M /dev/urandom
        exec sleep 60
    ) >"$tmp/in.fifo" &
    prod_pid=$!
    "$SLUICE" -z -o "s3://$B/$key" <"$tmp/in.fifo" 2>"$tmp/err" &
    local pid=$! i
    for i in $(seq 60); do
        open_uploads "$B" | grep -qx "$key" && break
        sleep 0.5
    done
    kill -"$sig" "$pid" 2>/dev/null
    local t=$SECONDS
    for i in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    stopped_in=$((SECONDS - t))
    kill -KILL "$pid" 2>/dev/null
    wait "$pid"
    int_rc=$?
    kill "$prod_pid" 2>/dev/null
    wait "$prod_pid" 2>/dev/null
    prod_pid=
}
interrupt INT interrupted.slc
check "SIGINT in the middle of a large upload: exit 130 within 30 s" \
    eval '[ $int_rc = 130 ] && [ $stopped_in -lt 30 ]'
diag "$tmp/err"
check "SIGINT leaves no object" no_object "$B" interrupted.slc
check "SIGINT leaves no open multipart upload" no_uploads "$B"

interrupt TERM terminated.slc
check "SIGTERM: exit 143, no object, no open multipart upload" \
    eval '[ $int_rc = 143 ] && no_object "$B" terminated.slc && no_uploads "$B"'
diag "$tmp/err"

# A restore whose input turns out corrupt half-way: the chain fails while
# the upload is in progress.
head -c 30000000 "$tmp/local.slc" >"$tmp/truncated.slc"
sl -d -o "s3://$B/restored.bin" "$tmp/truncated.slc" 2>"$tmp/err"
rc=$?
check "a chain failing mid-upload (truncated input): non-zero, one line" \
    eval '[ $rc != 0 ] && one_line "$tmp/err"'
diag "$tmp/err"
check "and it leaves no object and no open multipart upload" \
    eval 'no_object "$B" restored.bin && no_uploads "$B"'

# Memory stays bounded: (concurrency + 1) x part size, not the stream.
# (Not measurable under AddressSanitizer, whose quarantine holds freed
# memory.)
head -c 300M /dev/urandom >"$tmp/r300m"
asan=
ldd "$SLUICE" 2>/dev/null | grep -q libasan && asan=1
peak=0
"$SLUICE" --chain zstd:level=1 -o "s3://$B/r300m.slc" <"$tmp/r300m" \
    2>"$tmp/err" &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
    kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
    [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
    sleep 0.1
done
wait "$pid"
rc=$?
if [ -n "$asan" ]; then
    check "a 300 MiB upload (memory not checked under ASan: $((peak / 1024)) MiB)" \
        eval '[ $rc = 0 ]'
else
    check "a 300 MiB upload peaks at $((peak / 1024)) MiB of memory (< 160 MiB)" \
        eval '[ $rc = 0 ] && [ $peak -gt 0 ] && [ $peak -lt 163840 ]'
fi
diag "$tmp/err"

# ---- the server goes away ----------------------------------------------------------------
# Download resumes: the consumer is slow, so the transfer is mid-way when
# the gateway restarts; the next attempt asks for the rest with Range.
(
    timeout 120 "$SLUICE" -v -d "s3://$B/r300m.slc" 2>"$tmp/err.resume" |
        (sleep 6; cat) >"$tmp/out"
) &
pid=$!
sleep 2
bash "$here/rgw.sh" stop-rgw "$rgw"
bash "$here/rgw.sh" start-rgw "$rgw" 2>"$tmp/rgw.err" || diag "$tmp/rgw.err"
wait "$pid"
check "a download cut by a gateway restart resumes with Range and is whole" \
    eval 'same "$tmp/r300m" "$tmp/out" && grep -q "resuming at byte" "$tmp/err.resume"'
grep -v '^sluice: s3: \(downloading\|downloaded\)' "$tmp/err.resume" | diag

# Upload: the gateway stops for good in the middle; with a 6 s retry
# budget sluice must give up soon with one clear line.  The input pauses
# after 40 MB (a multipart upload under way), so on a fast machine the
# upload cannot finish before the gateway stops.
{ head -c 40000000 "$tmp/r300m"; sleep 8; cat "$tmp/r300m"; } |
    SLUICE_NET_RETRY_SECONDS=6 timeout 120 "$SLUICE" --chain zstd:level=1 \
        -o "s3://$B/stopped.slc" 2>"$tmp/err" &
pid=$!
for i in $(seq 60); do
    open_uploads "$B" | grep -qx stopped.slc && break
    sleep 0.5
done
sleep 1
bash "$here/rgw.sh" stop-rgw "$rgw"
t=$SECONDS
wait "$pid"
rc=$?
took=$((SECONDS - t))
check "the server stopped mid-upload: exit 3 within the retry budget (${took} s)" \
    eval '[ $rc = 3 ] && [ $took -lt 60 ]'
[ $rc = 3 ] || echo "# status $rc"
grep -v '^sluice: s3: retrying in ' "$tmp/err" >"$tmp/err.last"
check "with its retries said, then one line naming the failure and the upload left behind" \
    eval 'grep -q "^sluice: s3: retrying in .* s, attempt 2/" "$tmp/err" && one_line "$tmp/err.last" && grep -q "cannot upload part .*upload id" "$tmp/err.last"'
diag "$tmp/err"
bash "$here/rgw.sh" start-rgw "$rgw" 2>"$tmp/rgw.err" || diag "$tmp/rgw.err"
check "and no object appeared" no_object "$B" stopped.slc
# Tidy up what could not be aborted while the server was down.
s3api list-multipart-uploads --bucket "$B" \
    --query 'Uploads[].[Key,UploadId]' --output text 2>/dev/null |
    while read -r k id; do
        [ "$k" = None ] || s3api abort-multipart-upload --bucket "$B" \
            --key "$k" --upload-id "$id" >/dev/null 2>&1
    done

echo "1..$n"
[ "$failures" = 0 ]
