/*
 * armor.c - an example sluice stage: ASCII armor.
 *
 * Backup (forward) turns the byte stream into base64 text between a
 * BEGIN and an END line, so a backup can be pasted into a mail or a
 * ticket:
 *
 *     -----BEGIN SLUICE ARMOR-----
 *     KLUv/QRYZQAAKGhlbGxvIHdvcmxkCgMAAFb3Hj0=            (76 columns)
 *     -----END SLUICE ARMOR-----
 *
 * Restore (reverse) turns it back.  It is tolerant of what mail and
 * editors do to text - CRLF line endings, blank lines, leading and
 * trailing blanks, lines re-wrapped to another width - and strict about
 * everything else: a character outside the base64 alphabet, a misplaced
 * '=', a missing BEGIN line, anything but blanks after the END line, and
 * above all a missing END line (the text was cut short) are refused with
 * SLUICE_E_FORMAT (exit status 4).
 *
 * Streaming, in constant memory: input blocks are read in place with
 * api->read_next and the output is written straight into the blocks the
 * host hands out with api->reserve/api->commit.  No copy, no buffer that
 * grows with the stream.
 *
 * Parameters (chain spec, backup only): cols=N, the line width, a
 * multiple of 4 from 4 to 76 (default 76).  Restore does not need it (it
 * reads lines of any width), so nothing is recorded in the stream header:
 * the header line is just "armor".  On restore any parameter is refused:
 * it would come from a newer version of this stage.  The stage declares
 * cols (ABI 1.2, `keys` below), so the host itself refuses a misspelled
 * key before open() runs - `armor:colz=64` is a usage error that names
 * cols - and `sluice stages armor` shows it.
 *
 * Build (see README.md and the Makefile):
 *     cc -shared -fPIC $(pkg-config --cflags sluice) -o armor.so armor.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>

#define ARMOR_BEGIN "-----BEGIN SLUICE ARMOR-----"
#define ARMOR_END "-----END SLUICE ARMOR-----"
#define COLS_DEFAULT 76
#define COLS_MAX 76
/* Longest BEGIN/END line (blanks trimmed) the decoder buffers. */
#define MARKER_MAX 64

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The decoder's position in the text. */
enum dec_state {
    D_PRE,    /* blank lines before the BEGIN line         */
    D_BEGIN,  /* inside the BEGIN line                     */
    D_BODY,   /* base64 lines                              */
    D_END,    /* inside a line starting with '-': the END  */
    D_POST    /* after the END line: blanks only           */
};

typedef struct armor {
    const sluice_api *api;
    int direction;

    /* encoder */
    unsigned cols;     /* characters per line                       */
    uint8_t carry[3];  /* bytes of an incomplete group              */
    size_t n_carry;
    unsigned col;      /* characters on the current line so far     */

    /* decoder */
    int8_t value[256]; /* base64 value of a character, or -1        */
    enum dec_state state;
    char marker[MARKER_MAX + 1]; /* the BEGIN/END line being read   */
    size_t marker_len;
    int line_start;    /* nothing but blanks on this line yet       */
    int line_blank_after; /* blanks after text on this line         */
    uint32_t group;    /* bits of the current group of 4 characters */
    unsigned n_group;  /* characters in it                          */
    unsigned n_pad;    /* '=' in it                                 */
    int finished;      /* a padded group ended the data             */
    uint64_t line;     /* line number, 1 = the BEGIN line           */
    uint8_t *dst;      /* reserved output                           */
    size_t dst_cap, dst_len;
} armor;

static int is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int parse_cols(const char *v, unsigned *out)
{
    unsigned n = 0;
    if (!v || !*v)
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || n > COLS_MAX)
            return -1;
        n = n * 10 + (unsigned)(*v - '0');
    }
    if (n < 4 || n > COLS_MAX || n % 4)
        return -1;
    *out = n;
    return 0;
}

static int armor_open(const sluice_stage_args *args, void **ctx,
                      sluice_error *err)
{
    unsigned cols = COLS_DEFAULT;
    for (size_t i = 0; i < args->n_params; i++) {
        const char *k = args->params[i].key, *v = args->params[i].value;
        /* Restore gets exactly what backup recorded, which is nothing:
         * a parameter there was written by a newer armor stage. */
        if (args->direction == SLUICE_REVERSE)
            return sluice_error_set(err, SLUICE_E_FORMAT,
                                    "unknown header parameter '%s' (written "
                                    "by a newer armor stage?)",
                                    k);
        if (strcmp(k, "cols") != 0)
            return sluice_error_set(err, SLUICE_E_USAGE,
                                    "unknown parameter '%s' (armor takes "
                                    "cols=N)",
                                    k);
        if (parse_cols(v, &cols) < 0)
            return sluice_error_set(err, SLUICE_E_USAGE,
                                    "cols='%s': a multiple of 4 from 4 to %d",
                                    v, COLS_MAX);
    }
    armor *a = calloc(1, sizeof *a);
    if (!a)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    a->api = args->api;
    a->direction = args->direction;
    a->cols = cols;
    memset(a->value, -1, sizeof a->value);
    for (int i = 0; i < 64; i++)
        a->value[(uint8_t)alphabet[i]] = (int8_t)i;
    *ctx = a;
    return 0;
}

/* ---- backup: bytes -> armored text ----------------------------------- */

/* Writes the 4 characters of one group (n = 1..3 bytes, '=' padded) and a
 * newline when the line is full.  d has room for 5 bytes. */
static size_t put_group(armor *a, const uint8_t *s, size_t n, uint8_t *d)
{
    uint32_t v = (uint32_t)s[0] << 16;
    if (n > 1)
        v |= (uint32_t)s[1] << 8;
    if (n > 2)
        v |= s[2];
    d[0] = (uint8_t)alphabet[v >> 18];
    d[1] = (uint8_t)alphabet[(v >> 12) & 63];
    d[2] = n > 1 ? (uint8_t)alphabet[(v >> 6) & 63] : '=';
    d[3] = n > 2 ? (uint8_t)alphabet[v & 63] : '=';
    a->col += 4;
    if (a->col == a->cols) {
        d[4] = '\n';
        a->col = 0;
        return 5;
    }
    return 4;
}

/* Room asked for at a time: a few lines, so commits stay infrequent. */
#define ENC_RESERVE 4096

static int encode_chunk(armor *a, const uint8_t *p, size_t n,
                        sluice_output *out)
{
    /* Complete a group left over from the previous input block. */
    if (a->n_carry > 0) {
        while (a->n_carry < 3 && n > 0) {
            a->carry[a->n_carry++] = *p++;
            n--;
        }
        if (a->n_carry < 3)
            return 0;
        size_t cap;
        uint8_t *d = a->api->reserve(out, 5, &cap);
        if (!d)
            return SLUICE_E_CANCELED;
        a->n_carry = 0;
        int rc = a->api->commit(out, put_group(a, a->carry, 3, d));
        if (rc < 0)
            return rc;
    }
    /* Whole groups, straight into the output block. */
    while (n >= 3) {
        size_t cap, used = 0;
        uint8_t *d = a->api->reserve(out, ENC_RESERVE, &cap);
        if (!d)
            return SLUICE_E_CANCELED;
        while (n >= 3 && cap - used >= 5) {
            used += put_group(a, p, 3, d + used);
            p += 3;
            n -= 3;
        }
        int rc = a->api->commit(out, used);
        if (rc < 0)
            return rc;
    }
    /* Keep the rest (0 to 2 bytes) for the next block. */
    memcpy(a->carry, p, n);
    a->n_carry = n;
    return 0;
}

static int run_encode(armor *a, sluice_input *in, sluice_output *out)
{
    int rc = a->api->write(out, ARMOR_BEGIN "\n", sizeof ARMOR_BEGIN);
    if (rc < 0)
        return rc;
    for (;;) {
        const uint8_t *p;
        ptrdiff_t n = a->api->read_next(in, &p);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        rc = encode_chunk(a, p, (size_t)n, out);
        if (rc < 0)
            return rc;
    }
    /* The last, padded group; end the last line; the END line. */
    size_t cap;
    uint8_t *d = a->api->reserve(out, 8 + sizeof ARMOR_END, &cap);
    if (!d)
        return SLUICE_E_CANCELED;
    size_t used = 0;
    if (a->n_carry > 0)
        used += put_group(a, a->carry, a->n_carry, d);
    if (a->col > 0)
        d[used++] = '\n';
    memcpy(d + used, ARMOR_END "\n", sizeof ARMOR_END);
    used += sizeof ARMOR_END;
    return a->api->commit(out, used);
}

/* ---- restore: armored text -> bytes ---------------------------------- */

static int bad(sluice_error *err, const char *what, armor *a)
{
    return sluice_error_set(err, SLUICE_E_FORMAT, "line %llu of the armor: %s",
                            (unsigned long long)a->line, what);
}

static int truncated(sluice_error *err)
{
    return sluice_error_set(err, SLUICE_E_FORMAT,
                            "truncated: the text ends without its '" ARMOR_END
                            "' line");
}

/* The BEGIN or END line just ended: blanks at either end trimmed. */
static int marker_is(armor *a, const char *want)
{
    size_t n = a->marker_len;
    while (n > 0 && is_blank((uint8_t)a->marker[n - 1]))
        n--;
    return n == strlen(want) && memcmp(a->marker, want, n) == 0;
}

static int marker_add(armor *a, uint8_t c)
{
    if (a->marker_len == MARKER_MAX)
        return -1;
    a->marker[a->marker_len++] = (char)c;
    return 0;
}

/* Up to 3 decoded bytes, into the reserved output. */
static int emit(armor *a, sluice_output *out, const uint8_t *b, size_t n)
{
    if (a->dst_cap - a->dst_len < n) {
        if (a->dst) {
            int rc = a->api->commit(out, a->dst_len);
            if (rc < 0)
                return rc;
        }
        a->dst = a->api->reserve(out, 3, &a->dst_cap);
        a->dst_len = 0;
        if (!a->dst) {
            a->dst_cap = 0;
            return SLUICE_E_CANCELED;
        }
    }
    memcpy(a->dst + a->dst_len, b, n);
    a->dst_len += n;
    return 0;
}

/* One character of base64 text (not a blank, not a newline). */
static int body_char(armor *a, uint8_t c, sluice_output *out,
                     sluice_error *err)
{
    if (a->line_blank_after)
        return bad(err, "a blank inside the base64 text", a);
    if (a->finished)
        return bad(err, "base64 text after the final '=' padding", a);
    a->line_start = 0;
    if (c == '=') {
        if (a->n_group < 2)
            return bad(err, "misplaced '=' padding", a);
        a->n_pad++;
        a->group <<= 6;
    } else if (a->value[c] >= 0) {
        if (a->n_pad > 0)
            return bad(err, "base64 text after '=' padding", a);
        a->group = a->group << 6 | (uint32_t)a->value[c];
    } else {
        char msg[64];
        if (c >= 0x21 && c <= 0x7e)
            snprintf(msg, sizeof msg, "invalid character '%c'", c);
        else
            snprintf(msg, sizeof msg, "invalid byte 0x%02x", c);
        return bad(err, msg, a);
    }
    if (++a->n_group < 4)
        return 0;
    uint8_t b[3] = {(uint8_t)(a->group >> 16), (uint8_t)(a->group >> 8),
                    (uint8_t)a->group};
    /* Padding bits must be zero: anything else is not what an encoder
     * writes, so the text was altered. */
    if ((a->n_pad == 1 && b[2]) || (a->n_pad == 2 && (b[1] || b[2])))
        return bad(err, "non-zero bits before the '=' padding", a);
    a->finished = a->n_pad > 0;
    size_t n = 3 - a->n_pad;
    a->group = 0;
    a->n_group = a->n_pad = 0;
    return emit(a, out, b, n);
}

static int decode_byte(armor *a, uint8_t c, sluice_output *out,
                       sluice_error *err)
{
    switch (a->state) {
    case D_PRE:
        if (c == '\n') {
            a->line++;
            return 0;
        }
        if (is_blank(c))
            return 0;
        a->state = D_BEGIN;
        a->marker_len = 0;
        /* fall through */
    case D_BEGIN:
        if (c != '\n') {
            if (marker_add(a, c) < 0)
                return sluice_error_set(err, SLUICE_E_FORMAT,
                                        "not ASCII armor: the text does not "
                                        "start with '" ARMOR_BEGIN "'");
            return 0;
        }
        if (!marker_is(a, ARMOR_BEGIN))
            return sluice_error_set(err, SLUICE_E_FORMAT,
                                    "not ASCII armor: the text does not "
                                    "start with '" ARMOR_BEGIN "'");
        a->state = D_BODY;
        a->line = 2; /* the BEGIN line is line 1 */
        a->line_start = 1;
        return 0;
    case D_BODY:
        if (c == '\n') {
            a->line++;
            a->line_start = 1;
            a->line_blank_after = 0;
            return 0;
        }
        if (is_blank(c)) {
            if (!a->line_start)
                a->line_blank_after = 1;
            return 0;
        }
        if (c == '-' && a->line_start) {
            a->state = D_END;
            a->marker_len = 0;
            return marker_add(a, c);
        }
        return body_char(a, c, out, err);
    case D_END:
        if (c != '\n') {
            if (marker_add(a, c) < 0)
                return bad(err, "expected base64 text or '" ARMOR_END "'",
                           a);
            return 0;
        }
        if (!marker_is(a, ARMOR_END))
            return bad(err, "expected base64 text or '" ARMOR_END "'", a);
        if (a->n_group != 0)
            return bad(err, "the END line cuts a group of 4 base64 "
                            "characters short (text lost?)",
                       a);
        a->state = D_POST;
        a->line++;
        return 0;
    case D_POST:
        if (c == '\n') {
            a->line++;
            return 0;
        }
        if (is_blank(c))
            return 0;
        return bad(err, "text after the '" ARMOR_END "' line", a);
    }
    return sluice_error_set(err, SLUICE_E_INTERNAL, "bad decoder state");
}

static int run_decode(armor *a, sluice_input *in, sluice_output *out,
                      sluice_error *err)
{
    for (;;) {
        const uint8_t *p;
        ptrdiff_t n = a->api->read_next(in, &p);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        for (ptrdiff_t i = 0; i < n; i++) {
            int rc = decode_byte(a, p[i], out, err);
            if (rc < 0)
                return rc;
        }
        /* Hand over what this input block gave before reading the next. */
        if (a->dst && a->dst_len > 0) {
            int rc = a->api->commit(out, a->dst_len);
            a->dst = NULL;
            a->dst_cap = a->dst_len = 0;
            if (rc < 0)
                return rc;
        }
    }
    /* End of input.  A last line without its newline still counts. */
    switch (a->state) {
    case D_PRE:
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "empty input: no ASCII armor");
    case D_BEGIN:
        if (!marker_is(a, ARMOR_BEGIN))
            return sluice_error_set(err, SLUICE_E_FORMAT,
                                    "not ASCII armor: the text does not "
                                    "start with '" ARMOR_BEGIN "'");
        return truncated(err);
    case D_BODY:
        return truncated(err);
    case D_END:
        if (!marker_is(a, ARMOR_END))
            return truncated(err);
        if (a->n_group != 0)
            return bad(err, "the END line cuts a group of 4 base64 "
                            "characters short (text lost?)",
                       a);
        return 0;
    case D_POST:
        return 0;
    }
    return SLUICE_E_INTERNAL;
}

static int armor_run(void *ctx, sluice_input *in, sluice_output *out,
                     sluice_error *err)
{
    armor *a = ctx;
    return a->direction == SLUICE_FORWARD ? run_encode(a, in, out)
                                          : run_decode(a, in, out, err);
}

static void armor_close(void *ctx)
{
    free(ctx);
}

/* ABI 1.2: the keys armor accepts; nothing else reaches armor_open. */
static const sluice_key keys[] = {
    {"cols", SLUICE_KEY_PARAM | SLUICE_KEY_FORWARD,
     "line width: a multiple of 4 from 4 to 76 (default 76)"},
    {NULL, 0, NULL},
};

static const sluice_stage stages[] = {{
    "armor",
    "ASCII armor: base64 text lines, for mail and tickets (example)",
    SLUICE_ROLE_TRANSFORM, /* backup  */
    SLUICE_ROLE_TRANSFORM, /* restore */
    0,                     /* flags: no header MAC */
    armor_open,
    armor_run,
    NULL, /* header_mac */
    armor_close,
    NULL, /* remove (ABI 1.1) */
    keys, /* ABI 1.2 */
    NULL, /* list (ABI 1.3): not an endpoint */
    NULL, /* binding (ABI 1.4) */
}};

static const sluice_plugin plugin =
    SLUICE_PLUGIN_INIT("armor", "1.0", stages);

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
