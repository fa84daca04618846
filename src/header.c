/* header.c - parse and build the `sluice/1` chain descriptor. */
#include "header.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* [a-z0-9][a-z0-9._-]{0,63} */
int stage_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > STAGE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (i > 0)
            ok = ok || c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

/* [a-z0-9_-]+ */
int param_key_valid(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

/* [A-Za-z0-9._:/+=-]* */
int param_value_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("._:/+=-", c)))
            return 0;
    }
    return 1;
}

header *header_new(void)
{
    return calloc(1, sizeof(header));
}

void header_free(header *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_stages; i++) {
        header_stage *st = &h->stages[i];
        for (size_t j = 0; j < st->n_params; j++) {
            free((char *)st->params[j].key);
            free((char *)st->params[j].value);
        }
        free(st->params);
        free(st->name);
    }
    free(h->signed_bytes);
    free(h->mac_hex);
    free(h);
}

static int add_stage_n(header *h, const char *name, size_t name_len,
                       sluice_error *err)
{
    if (h->n_stages >= HEADER_MAX_STAGES)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "more than %d stages", HEADER_MAX_STAGES);
    if (!stage_name_valid(name, name_len))
        return sluice_error_set(
            err, SLUICE_E_FORMAT,
            "invalid stage name '%.*s': names match [a-z0-9][a-z0-9._-]{0,63}",
            (int)(name_len > 80 ? 80 : name_len), name);
    header_stage *st = &h->stages[h->n_stages];
    st->name = xstrndup(name, name_len);
    if (!st->name)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    h->n_stages++;
    return 0;
}

int header_stage_add_param(header_stage *st, const char *key, size_t key_len,
                       const char *value, size_t value_len, sluice_error *err)
{
    if (!param_key_valid(key, key_len))
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "stage %s: invalid parameter name '%.*s'",
                                st->name, (int)(key_len > 80 ? 80 : key_len),
                                key);
    if (!param_value_valid(value, value_len))
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "stage %s: invalid value for '%.*s'", st->name,
                                (int)key_len, key);
    for (size_t i = 0; i < st->n_params; i++)
        if (strlen(st->params[i].key) == key_len &&
            memcmp(st->params[i].key, key, key_len) == 0)
            return sluice_error_set(err, SLUICE_E_FORMAT,
                                    "stage %s: parameter '%.*s' given twice",
                                    st->name, (int)key_len, key);
    sluice_kv *p = realloc(st->params, (st->n_params + 1) * sizeof *p);
    if (!p)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    st->params = p;
    p[st->n_params].key = xstrndup(key, key_len);
    p[st->n_params].value = xstrndup(value, value_len);
    if (!p[st->n_params].key || !p[st->n_params].value) {
        free((char *)p[st->n_params].key);
        free((char *)p[st->n_params].value);
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    st->n_params++;
    return 0;
}

int header_add_stage(header *h, const char *name, const sluice_kv *params,
                     size_t n_params, sluice_error *err)
{
    int rc = add_stage_n(h, name, strlen(name), err);
    if (rc < 0)
        return rc;
    header_stage *st = &h->stages[h->n_stages - 1];
    for (size_t i = 0; i < n_params; i++) {
        rc = header_stage_add_param(st, params[i].key, strlen(params[i].key),
                         params[i].value, strlen(params[i].value), err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int header_seal(header *h, sluice_error *err)
{
    strbuf sb = {0};
    sb_add(&sb, "sluice/1\n", 9);
    for (size_t i = 0; i < h->n_stages; i++) {
        const header_stage *st = &h->stages[i];
        sb_adds(&sb, st->name);
        for (size_t j = 0; j < st->n_params; j++) {
            sb_add(&sb, " ", 1);
            sb_adds(&sb, st->params[j].key);
            sb_add(&sb, "=", 1);
            sb_adds(&sb, st->params[j].value);
        }
        sb_add(&sb, "\n", 1);
    }
    sb_add(&sb, "---", 3);
    if (sb.failed) {
        free(sb.data);
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    /* room for " " + mac + "\n" */
    if (sb.len + 2 + 2 * SLUICE_MAC_MAX > HEADER_MAX_BYTES) {
        free(sb.data);
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "header would exceed %u bytes",
                                HEADER_MAX_BYTES);
    }
    free(h->signed_bytes);
    h->signed_bytes = (uint8_t *)sb.data;
    h->signed_len = sb.len;
    return 0;
}

int header_render(const header *h, const char *mac_hex, uint8_t **out,
                  size_t *out_len)
{
    strbuf sb = {0};
    sb_add(&sb, h->signed_bytes, h->signed_len);
    if (mac_hex) {
        sb_add(&sb, " ", 1);
        sb_adds(&sb, mac_hex);
    }
    sb_add(&sb, "\n", 1);
    if (sb.failed) {
        free(sb.data);
        return SLUICE_E_NOMEM;
    }
    *out = (uint8_t *)sb.data;
    *out_len = sb.len;
    return 0;
}

static int is_lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Parses one stage line (no newline) into h. */
static int parse_stage_line(header *h, const char *line, size_t len,
                            sluice_error *err)
{
    const char *end = line + len;
    const char *sp = memchr(line, ' ', len);
    const char *name_end = sp ? sp : end;
    int rc = add_stage_n(h, line, (size_t)(name_end - line), err);
    if (rc < 0)
        return rc;
    header_stage *st = &h->stages[h->n_stages - 1];
    const char *p = name_end;
    while (p < end) {
        p++; /* the single space */
        const char *tok_end = memchr(p, ' ', (size_t)(end - p));
        if (!tok_end)
            tok_end = end;
        const char *eq = memchr(p, '=', (size_t)(tok_end - p));
        if (!eq || tok_end == p)
            return sluice_error_set(err, SLUICE_E_FORMAT,
                                    "stage %s: malformed parameter: expected "
                                    "key=value separated by single spaces",
                                    st->name);
        rc = header_stage_add_param(st, p, (size_t)(eq - p), eq + 1,
                         (size_t)(tok_end - eq - 1), err);
        if (rc < 0)
            return rc;
        p = tok_end;
    }
    return 0;
}

/* One pass over hostile bytes, each check beside the rule of FORMAT.md 1
 * it enforces, in the order the document gives them; split up, the
 * rules would be harder to check against the document. */
int header_parse(const uint8_t *buf, size_t len, header **out,
                 int *not_sluice, sluice_error *err)
{
    *not_sluice = 0;
    *out = NULL;
    /* Decide early whether this can be a sluice stream at all. */
    size_t m = len < HEADER_MAGIC_LEN ? len : HEADER_MAGIC_LEN;
    if (memcmp(buf, HEADER_MAGIC, m) != 0) {
        if (len >= 9 && memcmp(buf, "sluice/1\r", 9) == 0)
            return sluice_error_set(err, SLUICE_E_FORMAT,
                                    "line ends in CR: the stream was converted "
                                    "to CRLF text, by a text-mode transfer "
                                    "or editor: an armored stream restores "
                                    "after dos2unix, any other is damaged");
        if (len >= 7 && memcmp(buf, "sluice/", 7) == 0) {
            size_t v = 7;
            while (v < len && v < 16 && buf[v] >= '0' && buf[v] <= '9')
                v++;
            return sluice_error_set(err, SLUICE_E_FORMAT,
                                    "unsupported stream version '%.*s': this "
                                    "sluice reads sluice/1",
                                    (int)v, (const char *)buf);
        }
        *not_sluice = 1;
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "not a sluice stream: no sluice/1 header");
    }
    /* Find the terminator line: "---" at a line start, up to '\n'. */
    size_t limit = len < HEADER_MAX_BYTES ? len : HEADER_MAX_BYTES;
    size_t line = HEADER_MAGIC_LEN, term = 0, term_end = 0;
    int found = 0;
    while (line < limit) {
        const uint8_t *nl = memchr(buf + line, '\n', limit - line);
        if (!nl)
            break;
        size_t nl_at = (size_t)(nl - buf);
        if (nl_at - line >= 3 && memcmp(buf + line, "---", 3) == 0) {
            term = line;
            term_end = nl_at;
            found = 1;
            break;
        }
        line = nl_at + 1;
    }
    if (!found) {
        if (len < HEADER_MAX_BYTES)
            return 0;
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "larger than %u bytes, or no '---' line ends it",
                                HEADER_MAX_BYTES);
    }
    for (size_t i = 0; i < term_end; i++)
        if (buf[i] != '\n' && (buf[i] < 0x20 || buf[i] > 0x7e))
            return sluice_error_set(err, SLUICE_E_FORMAT,
                                    "header contains a non-printable or "
                                    "non-ASCII byte at offset %zu", i);

    header *h = header_new();
    if (!h)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    int rc = 0;
    line = HEADER_MAGIC_LEN;
    while (line < term) {
        const uint8_t *nl = memchr(buf + line, '\n', term - line);
        size_t nl_at = (size_t)(nl - buf);
        rc = parse_stage_line(h, (const char *)buf + line, nl_at - line, err);
        if (rc < 0)
            goto fail;
        line = nl_at + 1;
    }
    /* The "---" line: alone, or followed by one space and a hex MAC. */
    size_t tail = term_end - (term + 3);
    if (tail > 0) {
        const char *mac = (const char *)buf + term + 4;
        size_t mac_len = tail - 1;
        if (buf[term + 3] != ' ' || mac_len == 0 || mac_len % 2 ||
            mac_len > 2 * SLUICE_MAC_MAX || !is_lower_hex(mac, mac_len)) {
            rc = sluice_error_set(err, SLUICE_E_FORMAT,
                                  "malformed '---' line: expected '---' or "
                                  "'--- <lowercase hex MAC>'");
            goto fail;
        }
        h->mac_hex = xstrndup(mac, mac_len);
        if (!h->mac_hex)
            goto nomem;
    }
    h->signed_len = term + 3;
    h->signed_bytes = malloc(h->signed_len);
    if (!h->signed_bytes)
        goto nomem;
    memcpy(h->signed_bytes, buf, h->signed_len);
    h->total_len = term_end + 1;
    *out = h;
    return 1;
nomem:
    rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
fail:
    header_free(h);
    return rc;
}
