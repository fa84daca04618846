# rgw-test.sh - sourced by the tests that need an S3 gateway (after
# t/lib.sh): skips them where Ceph, the aws CLI or the s3 stage is
# missing (bails out under CI=true: CI must not skip them), starts a
# one-node Ceph RGW on loopback for this test (stopped at exit), points
# the aws CLI and sluice's s3 stage at it, and defines s3 and s3api, the
# aws CLI's commands against it.  The test plan starts here.
need="ceph-mon ceph-osd radosgw ceph-common awscli python3"
AWS=$(command -v aws || :)
for c in ceph-mon ceph-osd radosgw radosgw-admin python3; do
    if ! command -v "$c" >/dev/null 2>&1 || [ -z "$AWS" ]; then
        [ "${CI:-}" = true ] && bail_out "not installed: $need"
        skip_all "needs $need"
    fi
done
"$SLUICE" stages 2>/dev/null | grep -q '^s3 ' || {
    [ "${CI:-}" = true ] && bail_out "the s3 stage is not built"
    skip_all "the s3 stage is not built"
}
plan_no_plan

RGW=$T_TMP/rgw
trap 'bash "$T_DIR/rgw.sh" stop "$RGW" >/dev/null 2>&1; t_cleanup' EXIT
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
for v in $(env | sed -n 's/^\(AWS_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true
mkdir -p "$HOME"
if ! bash "$T_DIR/rgw.sh" start "$RGW" $$ 2>"$T_TMP/rgw.err"; then
    fail "RGW starts"
    diag_file "$T_TMP/rgw.err" rgw
    done_testing
fi
pass "RGW starts"
. "$RGW/env"
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL=$RGW_ENDPOINT
s3() { "$AWS" --endpoint-url "$RGW_ENDPOINT" s3 "$@"; }
s3api() { "$AWS" --endpoint-url "$RGW_ENDPOINT" s3api "$@"; }
