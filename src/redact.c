/* redact.c - secrets out of messages; see redact.h. */
#include "redact.h"

#include <string.h>
#include <strings.h>

/* Parameter names whose value is a credential or signs a request. */
static const char *const secret_names[] = {
    "x-amz-signature", "x-amz-credential", "x-amz-security-token",
    "x-goog-signature", "x-goog-credential", "signature", "sig", "token",
    "access_token", "refresh_token", "id_token", "password", "passwd",
    "pwd", "secret", "client_secret", "api_key", "apikey",
    "awsaccesskeyid", "passphrase",
};

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Where a value ends: the next separator of a query or of a message. */
static size_t value_len(const char *v)
{
    return strcspn(v, "&#;: \t\r\n\"'<>,)");
}

static int secret_name(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof secret_names / sizeof *secret_names; i++)
        if (strlen(secret_names[i]) == n &&
            strncasecmp(name, secret_names[i], n) == 0)
            return 1;
    return 0;
}

/* At "scheme://", the length of the userinfo (up to and with its '@')
 * when the authority has one, else 0. */
static size_t userinfo_len(const char *auth)
{
    size_t end = strcspn(auth, "/?# \t\r\n\"'<>");
    size_t at = 0;
    for (size_t i = 0; i < end; i++)
        if (auth[i] == '@')
            at = i + 1;
    return at;
}

typedef struct sink {
    char *out;
    size_t cap, n;
} sink;

static void put(sink *s, const char *p, size_t n)
{
    size_t room = s->cap - 1 - s->n;
    if (n > room)
        n = room;
    memcpy(s->out + s->n, p, n);
    s->n += n;
}

size_t redact_line(const char *text, char *out, size_t cap)
{
    sink s = {out, cap, 0};
    const char *p = text;
    while (*p) {
        if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
            size_t ui = userinfo_len(p + 3);
            put(&s, p, 3);
            p += 3;
            if (ui) {
                put(&s, "***@", 4);
                p += ui;
            }
            continue;
        }
        /* NAME=value, NAME at a word boundary. */
        if (name_char(*p) && (p == text || !name_char(p[-1]))) {
            size_t n = 0;
            while (name_char(p[n]))
                n++;
            if (p[n] == '=' && secret_name(p, n)) {
                put(&s, p, n + 1);
                p += n + 1;
                size_t v = value_len(p);
                if (v)
                    put(&s, "***", 3);
                p += v;
                continue;
            }
            put(&s, p, n);
            p += n;
            continue;
        }
        put(&s, p, 1);
        p++;
    }
    out[s.n] = '\0';
    return s.n;
}
