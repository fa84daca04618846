/*
 * fuzz-zstd.c - libFuzzer target for the zstd stage's reverse direction:
 * plugins/zstd.c itself (compiled in), driven through the minimal host of
 * minihost.c, so the plugin's own loop is what is fuzzed - its frame
 * boundary and truncation logic, its use of reserve/commit and its error
 * mapping - with input cut at random places.
 *
 * Input: byte 0 = control (bit 0: mode; bits 1..7: split/reservation
 * seed); the rest is the data.
 *
 * Mode 0: the data is a stage body to decompress.  Besides no crash/leak/
 * UB and the ABI contract (minihost.h), the verdict is compared with an
 * independent reference - libzstd frame by frame (ZSTD_findFrameCompressedSize,
 * then ZSTD_decompressDCtx for a frame the stage decodes whole, the
 * streaming API for any other: decoded_whole) with the stage's
 * documented rule that a window above 2^27 is refused:
 *   reference OK          -> the stage returns 0 and the same bytes
 *   window too large      -> SLUICE_E_UNSUPPORTED
 *   corrupt or truncated  -> SLUICE_E_FORMAT (or UNSUPPORTED)
 * (skipped when either side passes 8 MiB of output).
 *
 * One bit of the split seed (in mode 0, bit 4 of the control byte) sets
 * the stage's threads: 1 (every frame decoded on the stage's thread) or
 * 2 (frames to workers); the verdict must not depend on it.  Frames of
 * zstd before v0.8 are refused by design, and so are blocks larger than
 * their frame's Block_Maximum_Size and empty compressed blocks
 * (blocks_fit).
 *
 * Mode 1: the data is a plaintext; the stage compresses it (a level
 * from the control byte) and decompresses the result again: the
 * round trip must be exact and the compressed body a valid zstd stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader */
#include <zstd.h>
#include <zstd_errors.h>

#include "minihost.h"

#define OUT_MAX ((size_t)8 << 20)
#define FRAME_MAX ((size_t)8 << 20) /* zstd-frames.c: decoded whole */
#define WINDOW_MAX ((unsigned long long)1 << 27)

const sluice_plugin *sluice_plugin_entry(void);

/* Big buffers, allocated once (large allocations are slow under ASan). */
static uint8_t *buf_a, *buf_b, *buf_ref;

static uint8_t *big(uint8_t **p)
{
    if (!*p && !(*p = malloc(OUT_MAX)))
        abort();
    return *p;
}

enum ref_verdict { REF_OK, REF_CORRUPT, REF_WINDOW, REF_TOO_BIG };

/* RFC 8878 3.1.1.2.3: a block's size, and its content's (an RLE
 * block's one byte), are at most the frame's Block_Maximum_Size.
 * libzstd 1.5.4's one-shot decoder does not check either for RLE blocks
 * (its streaming decoder, short of room or fed in pieces, refuses them),
 * and its streaming decoder skips an empty compressed block that its
 * one-shot decoder refuses: the reference checks these itself, as the
 * stage does. */
static int blocks_fit(const uint8_t *f, size_t fsz, const ZSTD_frameHeader *fh)
{
    size_t pos = fh->headerSize;
    while (pos + 3 <= fsz) {
        uint32_t h = f[pos] | (uint32_t)f[pos + 1] << 8 |
                     (uint32_t)f[pos + 2] << 16;
        size_t size = h >> 3;
        unsigned type = (h >> 1) & 3;
        if (size > fh->blockSizeMax || (type == 1 && fh->blockSizeMax < 1) ||
            (type == 2 && size == 0))
            return 0;
        pos += 3 + (type == 1 ? 1 : size);
        if (h & 1)
            break;
    }
    return 1;
}

/* The stage's documented routing (zstd-frames.c, FORMAT.md 2): a frame
 * declaring at most 8 MiB, and taking no more than zstd makes of that,
 * is decoded whole (libzstd's one-shot decoder); any other by the
 * streaming decoder, which keeps only the frame's window (and so refuses
 * a match reaching further back, which the one-shot decoder takes). */
static int decoded_whole(const ZSTD_frameHeader *fh, size_t fsz)
{
    return fh->frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN &&
           fh->frameContentSize <= FRAME_MAX &&
           fsz <= ZSTD_compressBound((size_t)fh->frameContentSize) +
                      ZSTD_FRAMEHEADERSIZE_MAX + 4 + 3;
}

/* One frame through the streaming decoder d, its header first (given
 * the whole frame at once, libzstd 1.5.4 decodes it one-shot), then the
 * rest; a declared content size must be what it makes.  d is one per
 * input, as the stage's is one per run: how far back a streamed frame
 * may reach depends on the buffer earlier frames of the stream grew. */
static int stream_frame(ZSTD_DCtx *d, const uint8_t *f, size_t fsz,
                        const ZSTD_frameHeader *fh, uint8_t *out, size_t cap,
                        size_t *made)
{
    ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
    ZSTD_outBuffer ob = {out, cap, 0};
    size_t r = 1;
    for (int part = 0; part < 2; part++) {
        ZSTD_inBuffer ib = {f, part ? fsz : fh->headerSize,
                            part ? fh->headerSize : 0};
        do {
            size_t before = ib.pos, had = ob.pos;
            r = ZSTD_decompressStream(d, &ob, &ib);
            if (ZSTD_isError(r))
                return REF_CORRUPT;
            if (r != 0 && ob.pos == ob.size)
                return REF_TOO_BIG;
            if (ib.pos == before && ob.pos == had)
                break;
        } while (r != 0 && ib.pos < ib.size);
    }
    *made = ob.pos;
    if (r != 0 || (fh->frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN &&
                   ob.pos != fh->frameContentSize))
        return REF_CORRUPT;
    return REF_OK;
}

static int reference_frames(ZSTD_DCtx *d, ZSTD_DCtx *sd, const uint8_t *src,
                            size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (n == 0)
        return REF_CORRUPT;
    size_t pos = 0;
    while (pos < n) {
        /* Frames of zstd before v0.8 are refused by design (FORMAT.md 2). */
        if (n - pos >= 4) {
            uint32_t m = src[pos] | (uint32_t)src[pos + 1] << 8 |
                         (uint32_t)src[pos + 2] << 16 |
                         (uint32_t)src[pos + 3] << 24;
            if (m >= 0xFD2FB522u && m <= 0xFD2FB527u)
                return REF_CORRUPT;
        }
        size_t fsz = ZSTD_findFrameCompressedSize(src + pos, n - pos);
        ZSTD_frameHeader fh;
        size_t hr = ZSTD_getFrameHeader(&fh, src + pos, n - pos);
        /* (A frame that needs a dictionary fails on that first.) */
        if (hr == 0 && fh.frameType == ZSTD_frame && fh.dictID == 0 &&
            fh.windowSize > WINDOW_MAX)
            return REF_WINDOW;
        if (ZSTD_isError(fsz))
            return REF_CORRUPT;
        int zframe = hr == 0 && fh.frameType == ZSTD_frame;
        if (zframe && !blocks_fit(src + pos, fsz, &fh))
            return REF_CORRUPT;
        if (zframe && !decoded_whole(&fh, fsz)) {
            size_t made = 0;
            int v = stream_frame(sd, src + pos, fsz, &fh, out + *out_len,
                                 cap - *out_len, &made);
            if (v != REF_OK)
                return v;
            *out_len += made;
            pos += fsz;
            continue;
        }
        size_t r = ZSTD_decompressDCtx(d, out + *out_len, cap - *out_len,
                                       src + pos, fsz);
        if (ZSTD_isError(r))
            return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall
                       ? REF_TOO_BIG
                       : REF_CORRUPT;
        *out_len += r;
        pos += fsz;
    }
    return REF_OK;
}

static int reference(const uint8_t *src, size_t n, uint8_t *out, size_t cap,
                     size_t *out_len)
{
    static ZSTD_DCtx *d;
    if (!d && !(d = ZSTD_createDCtx()))
        abort();
    ZSTD_DCtx *sd = ZSTD_createDCtx();
    if (!sd || ZSTD_isError(ZSTD_DCtx_setParameter(sd, ZSTD_d_windowLogMax,
                                                   27)))
        abort();
    int v = reference_frames(d, sd, src, n, out, cap, out_len);
    ZSTD_freeDCtx(sd);
    return v;
}

/* Runs the stage once; the output (up to OUT_MAX) in out, the error's
 * message (for the harness's own report) in msg. */
static int run_stage(int direction, const char *level, const uint8_t *data,
                     size_t size, uint64_t seed, sluice_output *out,
                     uint8_t *keep, char *msg)
{
    const sluice_plugin *pl = sluice_plugin_entry();
    const sluice_stage *st = &pl->stages[0];
    sluice_kv params[1] = {{"level", level}};
    /* One thread: the streaming decoder alone; two: frames to workers. */
    sluice_kv options[1] = {{"threads", seed & 8 ? "2" : "1"}};
    sluice_host host;
    mh_host_init(&host, "zstd");
    sluice_stage_args args;
    mh_args(&args, direction, SLUICE_ROLE_TRANSFORM, params, 1, options, 1,
            &host);
    void *ctx = NULL;
    sluice_error err = {0};
    int rc = st->open(&args, &ctx, &err);
    if (rc < 0) {
        mh_check_result("zstd open", rc, &err);
        mh_bug("zstd open failed with level=%s: %s", level, err.message);
    }
    sluice_input in;
    mh_input_init(&in, data, size, seed, 0);
    mh_output_init(out, seed, OUT_MAX, keep, OUT_MAX);
    memset(&err, 0, sizeof err);
    rc = st->run(ctx, &in, out, &err);
    mh_check_result("zstd run", rc, &err);
    memcpy(msg, err.message, sizeof err.message);
    if (rc == SLUICE_E_CANCELED && out->status != SLUICE_E_CANCELED)
        mh_bug("zstd returned CANCELED but nothing cancelled it");
    if (rc == 0 && in.pos != in.len)
        mh_bug("zstd returned 0 without reading all its input");
    st->close(ctx);
    mh_input_free(&in);
    return rc;
}

static void decompress(const uint8_t *data, size_t size, uint64_t seed)
{
    sluice_output out;
    char msg[SLUICE_ERROR_MAX];
    int rc = run_stage(SLUICE_REVERSE, "3", data, size, seed, &out,
                       big(&buf_a), msg);
    if (out.status == SLUICE_E_CANCELED) {
        mh_output_free(&out);
        return; /* more than OUT_MAX: no verdict */
    }
    uint8_t *ref = big(&buf_ref);
    size_t ref_len = 0;
    int v = reference(data, size, ref, OUT_MAX, &ref_len);
    switch (v) {
    case REF_OK:
        if (rc != 0)
            mh_bug("a valid zstd stream (%zu bytes in, %zu out, threads %d) "
                   "was refused: %d (%s)", size, ref_len, seed & 8 ? 2 : 1,
                   rc, msg);
        if (out.keep_len != ref_len ||
            (ref_len && memcmp(out.keep, ref, ref_len) != 0))
            mh_bug("the stage decoded other bytes than libzstd (%zu vs %zu)",
                   out.keep_len, ref_len);
        break;
    case REF_WINDOW:
        if (rc != SLUICE_E_UNSUPPORTED)
            mh_bug("a frame with a window over 2^27 gave %d (%s), not "
                   "UNSUPPORTED", rc, msg);
        break;
    case REF_CORRUPT:
        if (rc != SLUICE_E_FORMAT && rc != SLUICE_E_UNSUPPORTED)
            mh_bug("an invalid zstd stream gave %d", rc);
        break;
    default:
        break;
    }
    mh_output_free(&out);
}

static void roundtrip(const uint8_t *data, size_t size, uint8_t ctl)
{
    static const char *const levels[] = {"-5", "-1", "1", "3", "5", "9"};
    const char *level = levels[(ctl >> 1) % 6];
    /* Repeat the data to make bodies longer than one reservation. */
    size_t rep = size ? 1 + (ctl >> 4) * 8 : 1;
    uint8_t *pt = malloc(size * rep + 1);
    if (!pt)
        abort();
    for (size_t i = 0; i < rep; i++)
        memcpy(pt + i * size, data, size);
    size_t len = size * rep;
    sluice_output z;
    char msg[SLUICE_ERROR_MAX];
    int rc = run_stage(SLUICE_FORWARD, level, pt, len, ctl, &z, big(&buf_a),
                       msg);
    if (rc != 0)
        mh_bug("compressing %zu bytes failed: %d (%s)", len, rc, msg);
    if (z.keep_over)
        mh_bug("compressed output beyond %zu bytes", OUT_MAX);
    {
        uint8_t *ref = big(&buf_ref);
        size_t ref_len = 0;
        int v = reference(z.keep, z.keep_len, ref, OUT_MAX, &ref_len);
        if (v != REF_OK || ref_len != len || memcmp(ref, pt, len) != 0)
            mh_bug("the compressed body is not a zstd stream of the input "
                   "(reference verdict %d)", v);
    }
    sluice_output back;
    rc = run_stage(SLUICE_REVERSE, level, z.keep, z.keep_len, ctl * 3 + 1,
                   &back, big(&buf_b), msg);
    if (rc != 0)
        mh_bug("decompressing what the stage compressed failed: %d (%s)", rc,
               msg);
    if (back.keep_len != len || (len && memcmp(back.keep, pt, len) != 0))
        mh_bug("round trip of %zu bytes came back as %zu other bytes", len,
               back.keep_len);
    mh_output_free(&back);
    mh_output_free(&z);
    free(pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    if (ctl & 1)
        roundtrip(data + 1, size - 1, ctl);
    else
        decompress(data + 1, size - 1, ctl >> 1);
    return 0;
}
