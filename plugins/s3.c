/*
 * s3.c - the `s3` stage: s3://BUCKET/KEY as either end of a chain.
 *
 * As a sink it uploads.  A stream shorter than one part goes up in one
 * PUT; a longer one as a multipart upload whose part size grows with the
 * stream (part n holds base * (1 + (n-1)/75) bytes, base 8 MiB, so 10,000
 * parts hold 5.1 TiB), with up to SLUICE_S3_CONCURRENCY parts (default
 * 4) uploading in parallel on threads of this stage while the next part
 * fills: memory is at most (concurrency + 1) * current part size.  The
 * object appears only when CompleteMultipartUpload succeeds after the
 * whole stream arrived; on any failure or cancellation (SIGINT/SIGTERM)
 * the upload is aborted, so no partial object and no open upload remain.
 *
 * As a source it downloads with GET, streaming into the chain's output
 * blocks, and resumes with Range after a dropped connection.
 *
 * Requests are signed with AWS Signature Version 4 (sigv4.c), always with
 * x-amz-content-sha256 = the SHA-256 of the body.  Credentials, region and
 * endpoint come from the standard AWS variables and shared files; see
 * doc/S3.md.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "curl-common.h"
#include "hugemap.h"
#include "s3-xml.h"
#include "sigv4.h"
#include "sluice/plugin.h"

#define MIB (1024ull * 1024ull)
#define S3_MIN_PART (5 * MIB)
#define S3_MAX_PART (5ull * 1024 * MIB)
#define S3_MAX_PARTS 10000
#define S3_DEFAULT_PART (8 * MIB)
#define S3_PART_STEP 75 /* parts per growth step */
#define S3_DEFAULT_CONCURRENCY 4
#define S3_MAX_CONCURRENCY 64

/* ---- configuration ------------------------------------------------------ */

typedef struct s3_config {
    char *access_key, *secret_key, *session_token;
    char *region;
    char *endpoint;      /* custom endpoint URL, or NULL for AWS        */
    const char *key_source;    /* where the access key came from         */
    const char *secret_source; /* where the secret came from             */
    char where_buf[2][600];
} s3_config;

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t i = 0;
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

/* Reads key from [section] of an AWS-style INI file.  Returns 1 and a
 * malloc'd value in *out when found, 0 when not (or no file). */
static int ini_get(const char *path, const char *section, const char *key,
                   char **out)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return 0;
    char line[4096];
    int in_section = 0, found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        trim(line);
        if (!line[0] || line[0] == '#' || line[0] == ';')
            continue;
        if (line[0] == '[') {
            char *end = strchr(line, ']');
            if (end)
                *end = '\0';
            char *name = line + 1;
            trim(name);
            in_section = strcmp(name, section) == 0;
            continue;
        }
        if (!in_section)
            continue;
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *k = line, *v = eq + 1;
        trim(k);
        trim(v);
        if (strcasecmp(k, key) == 0) {
            *out = strdup(v);
            found = *out != NULL;
        }
    }
    fclose(f);
    return found;
}

static int ini_has_section(const char *path, const char *section)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        trim(line);
        if (line[0] != '[')
            continue;
        char *end = strchr(line, ']');
        if (end)
            *end = '\0';
        char *name = line + 1;
        trim(name);
        found = strcmp(name, section) == 0;
    }
    fclose(f);
    return found;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static char *home_file(const char *env, const char *rel)
{
    const char *v = env_nonempty(env);
    if (v)
        return strdup(v);
    const char *home = env_nonempty("HOME");
    if (!home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return NULL;
    size_t n = strlen(home) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", home, rel);
    return p;
}

static void config_free(s3_config *c)
{
    if (c->secret_key)
        OPENSSL_cleanse(c->secret_key, strlen(c->secret_key));
    if (c->session_token)
        OPENSSL_cleanse(c->session_token, strlen(c->session_token));
    free(c->access_key);
    free(c->secret_key);
    free(c->session_token);
    free(c->region);
    free(c->endpoint);
    memset(c, 0, sizeof *c);
}

/* Keys from the environment (both or neither).  Returns 1 when they are
 * there, 0 when neither is set, or a status. */
static int keys_from_env(s3_config *c, sluice_error *err)
{
    const char *ak = env_nonempty("AWS_ACCESS_KEY_ID");
    const char *sk = env_nonempty("AWS_SECRET_ACCESS_KEY");
    if (!ak && !sk)
        return 0;
    if (!ak || !sk)
        return sluice_error_set(err, SLUICE_E_USAGE, "%s is set but %s is not",
                                ak ? "AWS_ACCESS_KEY_ID"
                                   : "AWS_SECRET_ACCESS_KEY",
                                ak ? "AWS_SECRET_ACCESS_KEY"
                                   : "AWS_ACCESS_KEY_ID");
    c->access_key = strdup(ak);
    c->secret_key = strdup(sk);
    c->session_token = xstrdup(env_nonempty("AWS_SESSION_TOKEN"));
    c->key_source = "AWS_ACCESS_KEY_ID";
    c->secret_source = "AWS_SECRET_ACCESS_KEY";
    return 1;
}

/* Keys from [section] of file, recording where they came from. */
static void keys_from_file(s3_config *c, const char *file, const char *section)
{
    char *a = NULL, *s = NULL, *t = NULL;
    ini_get(file, section, "aws_access_key_id", &a);
    ini_get(file, section, "aws_secret_access_key", &s);
    ini_get(file, section, "aws_session_token", &t);
    if (!a || !s) {
        free(a);
        free(s);
        free(t);
        return;
    }
    c->access_key = a;
    c->secret_key = s;
    c->session_token = t;
    snprintf(c->where_buf[0], sizeof c->where_buf[0],
             "aws_access_key_id of [%s] in %s", section, file);
    snprintf(c->where_buf[1], sizeof c->where_buf[1],
             "aws_secret_access_key of [%s] in %s", section, file);
    c->key_source = c->where_buf[0];
    c->secret_source = c->where_buf[1];
}

/* Why no keys were found: the profile named is nowhere, or it has none. */
static int no_keys(const char *profile, int explicit_profile,
                   const char *cred_file, const char *conf_file,
                   const char *conf_section, sluice_error *err)
{
    if (explicit_profile && !ini_has_section(cred_file, profile) &&
        !ini_has_section(conf_file, conf_section))
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "AWS profile '%s' not found in %s or %s",
                                profile, cred_file ? cred_file : "?",
                                conf_file ? conf_file : "?");
    return sluice_error_set(
        err, SLUICE_E_USAGE,
        "no credentials: set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or give profile '%s' keys in %s",
        profile, cred_file ? cred_file : "~/.aws/credentials");
}

/* Region and endpoint: the option, then the environment, then the
 * profile's section of the config file. */
static void region_and_endpoint(s3_config *c, const char *endpoint_opt,
                                const char *conf_file,
                                const char *conf_section)
{
    const char *region = env_nonempty("AWS_REGION");
    if (!region)
        region = env_nonempty("AWS_DEFAULT_REGION");
    if (region)
        c->region = strdup(region);
    else if (!ini_get(conf_file, conf_section, "region", &c->region))
        c->region = strdup("us-east-1");
    const char *ep = endpoint_opt && *endpoint_opt ? endpoint_opt : NULL;
    if (!ep)
        ep = env_nonempty("AWS_ENDPOINT_URL_S3");
    if (!ep)
        ep = env_nonempty("AWS_ENDPOINT_URL");
    if (ep)
        c->endpoint = strdup(ep);
    else
        ini_get(conf_file, conf_section, "endpoint_url", &c->endpoint);
}

/* Credentials: the environment first, then the profile's entry in the
 * shared credentials file, then in the config file. */
static int config_load(s3_config *c, const char *endpoint_opt,
                       sluice_error *err)
{
    memset(c, 0, sizeof *c);
    const char *profile = env_nonempty("AWS_PROFILE");
    if (!profile)
        profile = env_nonempty("AWS_DEFAULT_PROFILE");
    int explicit_profile = profile != NULL;
    if (!profile)
        profile = "default";
    char *cred_file = home_file("AWS_SHARED_CREDENTIALS_FILE",
                                ".aws/credentials");
    char *conf_file = home_file("AWS_CONFIG_FILE", ".aws/config");
    char conf_section[300];
    if (!strcmp(profile, "default") && ini_has_section(conf_file, "default"))
        snprintf(conf_section, sizeof conf_section, "default");
    else
        snprintf(conf_section, sizeof conf_section, "profile %s", profile);
    int rc = keys_from_env(c, err);
    if (rc == 0) {
        keys_from_file(c, cred_file, profile);
        if (!c->access_key)
            keys_from_file(c, conf_file, conf_section);
        rc = c->access_key ? 0
                           : no_keys(profile, explicit_profile, cred_file,
                                     conf_file, conf_section, err);
    }
    if (rc >= 0) {
        rc = 0;
        region_and_endpoint(c, endpoint_opt, conf_file, conf_section);
        int ep_given = (endpoint_opt && *endpoint_opt) ||
                       env_nonempty("AWS_ENDPOINT_URL_S3") ||
                       env_nonempty("AWS_ENDPOINT_URL");
        if (!c->access_key || !c->secret_key || !c->region ||
            (ep_given && !c->endpoint))
            rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    free(cred_file);
    free(conf_file);
    if (rc < 0)
        config_free(c);
    return rc;
}

/* ---- the stage ----------------------------------------------------------- */

typedef struct slot {
    uint8_t *buf; /* part_buf_new */
    size_t cap, len;
    int number; /* part number while queued or uploading; 0 when free */
} slot;

typedef struct s3_ctx {
    const sluice_api *api;
    sluice_host *host;
    unsigned role;
    s3_config cfg;
    cc_client cl;
    cc_conn conn; /* the run thread's */

    char *bucket, *key;
    char *display;       /* s3://bucket/key                              */
    char *base_url;      /* scheme://host[:port]                         */
    char *host_header;   /* host[:port]                                  */
    char *object_uri;    /* canonical (= sent) path of the object        */

    uint64_t base_part;
    int concurrency;
    int exclusive; /* sink: create only (If-None-Match: *)             */

    /* multipart state, shared with the workers under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int mu_init;
    slot *slots;
    int n_slots;
    int *queue; /* slot indexes waiting for a worker */
    int q_head, q_len;
    int busy;   /* slots queued or uploading */
    int stop;   /* workers: exit once the queue is empty */
    int failed; /* atomic too: cc_req.stop of every part */
    int fail_code;
    char fail_msg[SLUICE_ERROR_MAX];
    char **etags; /* by part number - 1 */
    pthread_t *workers;
    int n_workers;
    char *upload_id;
    int upload_open; /* initiated, neither completed nor aborted */
    int completing;  /* CompleteMultipartUpload was sent */
    int n_parts;
} s3_ctx;

/* One signed S3 request. */
typedef struct s3_req {
    cc_req r; /* first member */
    s3_ctx *s;
    char *url;
    const char *query;        /* canonical query string, or ""        */
    char payload_hash[SIGV4_HEX_LEN + 1];
    const char *content_type; /* or NULL                                */
    int if_none_match;        /* "If-None-Match: *": create only        */
} s3_req;

static int sign_headers(s3_ctx *s, const char *method, const char *query,
                        const char *payload_hash, struct curl_slist **h)
{
    char date[SIGV4_DATE_LEN + 1];
    sigv4_amz_date(time(NULL), date);
    sigv4_header hs[4] = {
        {"host", s->host_header},
        {"x-amz-content-sha256", payload_hash},
        {"x-amz-date", date},
        {"x-amz-security-token", s->cfg.session_token},
    };
    size_t n = s->cfg.session_token ? 4 : 3;
    sigv4_request sr = {
        s->cfg.access_key, s->cfg.secret_key, s->cfg.region, "s3", method,
        s->object_uri,     query,             date,          payload_hash,
        hs,                n,
    };
    char *auth = sigv4_authorization(&sr, NULL);
    if (!auth)
        return SLUICE_E_NOMEM;
    int rc = cc_header(h, "Host", s->host_header);
    if (rc == 0)
        rc = cc_header(h, "x-amz-content-sha256", payload_hash);
    if (rc == 0)
        rc = cc_header(h, "x-amz-date", date);
    if (rc == 0 && s->cfg.session_token)
        rc = cc_header(h, "x-amz-security-token", s->cfg.session_token);
    if (rc == 0)
        rc = cc_header(h, "Authorization", auth);
    free(auth);
    return rc;
}

static int s3_prepare(cc_req *r)
{
    s3_req *q = (s3_req *)r;
    int rc = sign_headers(q->s, r->method, q->query, q->payload_hash,
                          &r->headers);
    if (rc == 0 && q->content_type)
        rc = cc_header(&r->headers, "Content-Type", q->content_type);
    if (rc == 0 && q->if_none_match)
        rc = cc_header(&r->headers, "If-None-Match", "*");
    return rc;
}

/* Prepares q for METHOD on the object with the canonical query. */
static int s3_req_init(s3_req *q, s3_ctx *s, const char *method,
                       const char *query, const char *what)
{
    memset(q, 0, sizeof *q);
    q->s = s;
    q->query = query ? query : "";
    size_t n = strlen(s->base_url) + strlen(s->object_uri) +
               strlen(q->query) + 2;
    q->url = malloc(n);
    if (!q->url)
        return SLUICE_E_NOMEM;
    snprintf(q->url, n, "%s%s%s%s", s->base_url, s->object_uri,
             q->query[0] ? "?" : "", q->query);
    q->r.method = method;
    q->r.url = q->url;
    q->r.prepare = s3_prepare;
    q->r.what = what;
    memcpy(q->payload_hash, SIGV4_EMPTY_SHA256, sizeof q->payload_hash);
    return 0;
}

static void s3_req_free(s3_req *q)
{
    cc_req_free(&q->r);
    free(q->url);
    q->url = NULL;
}

/* The one line for a failed request: the cause first, then a hint. */
static int s3_fail(s3_ctx *s, sluice_error *err, const char *doing,
                   cc_req *r)
{
    char code[64], region[64];
    cc_xml_tag(r->resp, "Code", code, sizeof code);
    cc_xml_tag(r->resp, "Region", region, sizeof region);
    if (!region[0])
        snprintf(region, sizeof region, "%s", r->bucket_region);
    int http = r->cres == CURLE_OK && r->status > 0;
    long st = r->status;
    if (http && (st == 401 || st == 403)) {
        if (!strcmp(code, "SignatureDoesNotMatch"))
            return sluice_error_set(err, SLUICE_E_NETWORK,
                                    "access denied (%ld %s): check %s", st,
                                    code, s->cfg.secret_source);
        if (!strcmp(code, "InvalidAccessKeyId"))
            return sluice_error_set(err, SLUICE_E_NETWORK,
                                    "access denied (%ld %s): the server "
                                    "does not know access key '%s': check %s",
                                    st, code, s->cfg.access_key,
                                    s->cfg.key_source);
        if (!strcmp(code, "RequestTimeTooSkewed"))
            return sluice_error_set(err, SLUICE_E_NETWORK,
                                    "access denied (%ld %s): check the "
                                    "system clock", st, code);
        if (!strcmp(code, "ExpiredToken") || !strcmp(code, "InvalidToken") ||
            !strcmp(code, "TokenRefreshRequired"))
            return sluice_error_set(err, SLUICE_E_NETWORK,
                                    "access denied (%ld %s): check "
                                    "AWS_SESSION_TOKEN", st, code);
        return sluice_error_set(err, SLUICE_E_NETWORK,
                                "access denied to %s (%ld%s%s): the "
                                "credentials (%s) lack permission",
                                s->display, st, code[0] ? " " : "", code,
                                s->cfg.key_source);
    }
    if (http && (st == 412 || st == 409) && s->exclusive)
        return sluice_error_set(err, SLUICE_E_IO,
                                "%s exists (%ld %s): not replaced",
                                s->display, st,
                                code[0] ? code : "PreconditionFailed");
    if (http && st == 404 && !strcmp(code, "NoSuchBucket"))
        return sluice_error_set(err, SLUICE_E_NETWORK,
                                "bucket '%s' does not exist (404 "
                                "NoSuchBucket)", s->bucket);
    if (http && st == 404 && (!strcmp(code, "NoSuchKey") || !code[0]) &&
        s->role == SLUICE_ROLE_SOURCE)
        return sluice_error_set(err, SLUICE_E_NETWORK,
                                "%s: no such object (404%s%s)", s->display,
                                code[0] ? " " : "", code);
    if (http && region[0] && strcmp(region, s->cfg.region) != 0 &&
        (st == 301 || st == 307 || st == 400))
        return sluice_error_set(err, SLUICE_E_NETWORK,
                                "bucket '%s' is in region %s, not %s: set "
                                "AWS_REGION=%s (HTTP %ld%s%s)",
                                s->bucket, region, s->cfg.region, region, st,
                                code[0] ? " " : "", code);
    return sluice_error_set(err, SLUICE_E_NETWORK, "%s %s: %s", doing,
                            s->display, r->failure);
}

/* ---- open / close ---------------------------------------------------------- */

static int valid_bucket(const char *b, size_t n)
{
    if (n < 3 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)b[i]) && b[i] != '.' && b[i] != '-' &&
            b[i] != '_')
            return 0;
    return 1;
}

static int dns_bucket(const char *b)
{
    if (strchr(b, '.') || strchr(b, '_'))
        return 0;
    for (const char *p = b; *p; p++)
        if (isupper((unsigned char)*p))
            return 0;
    return 1;
}

static char *str_printf(const char *fmt, ...) SLUICE_PRINTF(1, 2);
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* A part's buffer: a mapping of its own in huge pages (hugemap.h).
 * Parts are 5 MiB and up, and every object a collection puts fills
 * fresh ones: in 4 KiB pages each part took a fault a page, which cost
 * more CPU than hashing and sending the part (PERFORMANCE.md). */
static uint8_t *part_buf_new(size_t n)
{
    return HUGEMAP_USE_MALLOC ? malloc(n) : hugemap_new(n);
}

static void part_buf_free(uint8_t *p, size_t n)
{
    if (HUGEMAP_USE_MALLOC)
        free(p);
    else
        hugemap_free(p, n);
}

static void s3_free(s3_ctx *s)
{
    config_free(&s->cfg);
    cc_conn_free(&s->conn);
    free(s->bucket);
    free(s->key);
    free(s->display);
    free(s->base_url);
    free(s->host_header);
    free(s->object_uri);
    free(s->upload_id);
    if (s->slots)
        for (int i = 0; i < s->n_slots; i++)
            part_buf_free(s->slots[i].buf, s->slots[i].cap);
    free(s->slots);
    free(s->queue);
    if (s->etags)
        for (int i = 0; i < S3_MAX_PARTS; i++)
            free(s->etags[i]);
    free(s->etags);
    free(s->workers);
    if (s->mu_init) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
    }
    free(s);
}

/* Where requests go: the custom endpoint, path-style; else AWS,
 * virtual-hosted when the bucket name allows it. */
static int setup_addressing(s3_ctx *s, sluice_error *err)
{
    char *enc_key = sigv4_uri_encode(s->key, 1);
    char *enc_bucket = sigv4_uri_encode(s->bucket, 0);
    int rc = 0;
    if (!enc_key || !enc_bucket) {
        rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
        goto out;
    }
    if (s->cfg.endpoint) {
        const char *ep = s->cfg.endpoint;
        const char *sep = strstr(ep, "://");
        if (!sep || (strncasecmp(ep, "http://", 7) != 0 &&
                     strncasecmp(ep, "https://", 8) != 0)) {
            rc = sluice_error_set(err, SLUICE_E_USAGE,
                                  "endpoint '%s': expected http://HOST[:PORT]"
                                  " or https://HOST[:PORT]", ep);
            goto out;
        }
        const char *hp = sep + 3;
        size_t hlen = strcspn(hp, "/?#");
        if (hlen == 0 || memchr(hp, '@', hlen)) {
            rc = sluice_error_set(err, SLUICE_E_USAGE,
                                  "endpoint '%s': expected http://HOST[:PORT]"
                                  " (credentials go in AWS_* variables)", ep);
            goto out;
        }
        const char *path = hp + hlen;
        size_t plen = strcspn(path, "?#");
        while (plen && path[plen - 1] == '/')
            plen--;
        s->host_header = strndup(hp, hlen);
        for (char *p = s->host_header; p && *p; p++)
            *p = (char)tolower((unsigned char)*p);
        s->base_url = str_printf("%.*s%s", (int)(hp - ep), ep,
                                 s->host_header ? s->host_header : "");
        s->object_uri = str_printf("%.*s/%s/%s", (int)plen, path, enc_bucket,
                                   enc_key);
    } else {
        const char *suffix = strncmp(s->cfg.region, "cn-", 3) == 0
                                 ? "amazonaws.com.cn"
                                 : "amazonaws.com";
        if (dns_bucket(s->bucket)) {
            s->host_header = str_printf("%s.s3.%s.%s", s->bucket,
                                        s->cfg.region, suffix);
            s->object_uri = str_printf("/%s", enc_key);
        } else {
            s->host_header = str_printf("s3.%s.%s", s->cfg.region, suffix);
            s->object_uri = str_printf("/%s/%s", enc_bucket, enc_key);
        }
        s->base_url = str_printf("https://%s",
                                 s->host_header ? s->host_header : "");
    }
    if (!s->host_header || !s->base_url || !s->object_uri)
        rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
out:
    free(enc_key);
    free(enc_bucket);
    return rc;
}

/* The url option, s3://BUCKET/KEY: *b and *blen the bucket, *key the
 * key.  Returns 0 or a usage status naming what is wrong. */
static int parse_s3_url(const char *url, const char **b, size_t *blen,
                        const char **key, sluice_error *err)
{
    if (!url || !*url)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "no URL given (expected s3://BUCKET/KEY)");
    if (strncasecmp(url, "s3://", 5) != 0)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "'%s': expected s3://BUCKET/KEY", url);
    *b = url + 5;
    const char *slash = strchr(*b, '/');
    *blen = slash ? (size_t)(slash - *b) : strlen(*b);
    if (!valid_bucket(*b, *blen))
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "'%s': bucket name '%.*s' must have 3 to 63 "
                                "characters among a-z 0-9 . -",
                                url, (int)*blen, *b);
    if (!slash || !slash[1])
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "'%s': no object key (expected "
                                "s3://BUCKET/KEY)", url);
    if (strlen(slash + 1) > 1024)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "'%s': object keys are at most 1024 bytes",
                                url);
    *key = slash + 1;
    return 0;
}

/* SLUICE_S3_PART_SIZE and SLUICE_S3_CONCURRENCY, checked. */
static int tuning_from_env(s3_ctx *s, sluice_error *err)
{
    s->base_part = S3_DEFAULT_PART;
    const char *v = env_nonempty("SLUICE_S3_PART_SIZE");
    if (v && (cc_parse_size(v, &s->base_part) < 0 ||
              s->base_part < S3_MIN_PART || s->base_part > S3_MAX_PART))
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "SLUICE_S3_PART_SIZE=%s: expected a size "
                                "from 5M to 5G",
                                v);
    s->concurrency = S3_DEFAULT_CONCURRENCY;
    v = env_nonempty("SLUICE_S3_CONCURRENCY");
    if (v) {
        char *end;
        long c = strtol(v, &end, 10);
        if (*end || c < 1 || c > S3_MAX_CONCURRENCY)
            return sluice_error_set(err, SLUICE_E_USAGE,
                                    "SLUICE_S3_CONCURRENCY=%s: expected "
                                    "1 to %d", v, S3_MAX_CONCURRENCY);
        s->concurrency = (int)c;
    }
    return 0;
}

static int s3_open(const sluice_stage_args *args, void **out,
                   sluice_error *err)
{
    const char *url = sluice_kv_get(args->options, args->n_options, "url");
    if (args->n_params)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "takes no parameters (got '%s')",
                                args->params[0].key);
    const char *b = NULL, *key = NULL;
    size_t blen = 0;
    int rc = parse_s3_url(url, &b, &blen, &key, err);
    if (rc < 0)
        return rc;
    s3_ctx *s = calloc(1, sizeof *s);
    if (!s)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    s->api = args->api;
    s->host = args->host;
    s->role = args->role;
    s->bucket = strndup(b, blen);
    s->key = strdup(key);
    s->display = strdup(url);
    if (!s->bucket || !s->key || !s->display)
        rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    if (rc == 0)
        rc = config_load(&s->cfg,
                         sluice_kv_get(args->options, args->n_options,
                                       "s3-endpoint"),
                         err);
    if (rc == 0)
        rc = setup_addressing(s, err);
    if (rc == 0)
        rc = cc_client_init(&s->cl, args->api, args->host, args->options,
                            args->n_options, err);
    if (rc == 0) {
        s->cl.ca_file = env_nonempty("AWS_CA_BUNDLE");
        rc = tuning_from_env(s, err);
    }
    const char *ex = sluice_kv_get(args->options, args->n_options,
                                   "exclusive");
    s->exclusive = ex && strcmp(ex, "0") != 0 &&
                   args->role == SLUICE_ROLE_SINK;
    if (rc == 0 && cc_conn_init(&s->conn, &s->cl) < 0)
        rc = sluice_error_set(err, SLUICE_E_NOMEM, "cannot start libcurl");
    if (rc < 0) {
        s3_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- download -------------------------------------------------------------- */

static int download_sign(cc_download *d, struct curl_slist **h)
{
    s3_ctx *s = d->req.arg;
    return sign_headers(s, "GET", "", SIGV4_EMPTY_SHA256, h);
}

static int run_source(s3_ctx *s, sluice_output *out, sluice_error *err)
{
    cc_download d;
    memset(&d, 0, sizeof d);
    d.req.url = NULL;
    char *url = str_printf("%s%s", s->base_url, s->object_uri);
    if (!url)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    d.req.url = url;
    d.req.what = "GET";
    d.req.arg = s;
    d.sign = download_sign;
    d.api = s->api;
    d.out = out;
    d.host = s->host;
    s->api->log(s->host, SLUICE_LOG_INFO, "downloading %s from %s",
                s->display, url);
    int rc = cc_download_run(&s->conn, &d);
    if (rc == SLUICE_E_NETWORK)
        rc = s3_fail(s, err, "cannot download", &d.req);
    else if (rc == 0) {
        char size[32];
        cc_format_size(d.delivered, size, sizeof size);
        s->api->log(s->host, SLUICE_LOG_INFO, "downloaded %s (%s)",
                    s->display, size);
    }
    cc_req_free(&d.req);
    free(url);
    return rc;
}

/* ---- upload ------------------------------------------------------------------ */

/* Size of part n (1-based): base * (1 + (n-1)/75), at most 5 GiB. */
static uint64_t part_size(const s3_ctx *s, int n)
{
    uint64_t step = (uint64_t)(n - 1) / S3_PART_STEP + 1;
    uint64_t size = s->base_part * step;
    return size > S3_MAX_PART ? S3_MAX_PART : size;
}

static int put_single(s3_ctx *s, const uint8_t *data, size_t len,
                      sluice_error *err)
{
    s3_req q;
    if (s3_req_init(&q, s, "PUT", "", "PUT") < 0)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    sigv4_sha256_hex(data, len, q.payload_hash);
    q.content_type = "application/octet-stream";
    q.if_none_match = s->exclusive;
    q.r.has_body = 1;
    q.r.body = data;
    q.r.body_len = len;
    int rc = cc_perform(&s->conn, &q.r);
    if (rc == SLUICE_E_NETWORK)
        rc = s3_fail(s, err, "cannot upload", &q.r);
    if (rc == 0) {
        char size[32];
        cc_format_size(len, size, sizeof size);
        s->api->log(s->host, SLUICE_LOG_INFO, "uploaded %s (%s, one PUT)",
                    s->display, size);
    }
    s3_req_free(&q);
    return rc;
}

static int initiate(s3_ctx *s, sluice_error *err)
{
    s3_req q;
    if (s3_req_init(&q, s, "POST", "uploads=", "CreateMultipartUpload") < 0)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    q.content_type = "application/octet-stream";
    int rc = cc_perform(&s->conn, &q.r);
    if (rc == SLUICE_E_NETWORK)
        rc = s3_fail(s, err, "cannot start the upload of", &q.r);
    if (rc == 0) {
        char id[1024];
        cc_xml_tag(q.r.resp, "UploadId", id, sizeof id);
        if (!id[0])
            rc = sluice_error_set(err, SLUICE_E_NETWORK,
                                  "cannot start the upload of %s: the "
                                  "server's answer has no UploadId",
                                  s->display);
        else if (!(s->upload_id = strdup(id)))
            rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
        else
            s->upload_open = 1;
    }
    s3_req_free(&q);
    return rc;
}

/* Aborts the open multipart upload; runs even when the chain is being
 * cancelled, with a short budget of its own.  Returns 0, 1 when the
 * upload was already gone (404), or a status with why filled in. */
static int abort_upload(s3_ctx *s, char *why, size_t cap)
{
    if (!s->upload_open)
        return 0;
    char *enc = sigv4_uri_encode(s->upload_id, 0);
    char *query = enc ? str_printf("uploadId=%s", enc) : NULL;
    free(enc);
    s3_req q;
    int rc = SLUICE_E_NOMEM;
    if (query && s3_req_init(&q, s, "DELETE", query,
                             "AbortMultipartUpload") == 0) {
        cc_client quick = s->cl;
        quick.max_attempts = 4;
        if (quick.retry_seconds > 10)
            quick.retry_seconds = 10;
        if (quick.stall_seconds > 30)
            quick.stall_seconds = 30;
        cc_conn c = s->conn;
        c.cl = &quick;
        q.r.ignore_cancel = 1;
        rc = cc_perform(&c, &q.r);
        if (rc < 0 && q.r.status == 404)
            rc = 1; /* already gone */
        if (rc < 0)
            snprintf(why, cap, "%s", q.r.failure[0] ? q.r.failure : "failed");
        s3_req_free(&q);
    } else {
        snprintf(why, cap, "out of memory");
    }
    free(query);
    if (rc >= 0) {
        s->upload_open = 0;
        s->api->log(s->host, SLUICE_LOG_INFO,
                    "aborted the multipart upload of %s", s->display);
    }
    return rc;
}

static int upload_part(s3_ctx *s, cc_conn *conn, slot *sl, char **etag,
                       char *fail, size_t cap, int *code)
{
    char *enc = sigv4_uri_encode(s->upload_id, 0);
    char *query = enc ? str_printf("partNumber=%d&uploadId=%s", sl->number,
                                   enc)
                      : NULL;
    free(enc);
    char what[48];
    snprintf(what, sizeof what, "part %d", sl->number);
    s3_req q;
    if (!query || s3_req_init(&q, s, "PUT", query, what) < 0) {
        free(query);
        *code = SLUICE_E_NOMEM;
        snprintf(fail, cap, "out of memory");
        return SLUICE_E_NOMEM;
    }
    sigv4_sha256_hex(sl->buf, sl->len, q.payload_hash);
    q.r.has_body = 1;
    q.r.body = sl->buf;
    q.r.body_len = sl->len;
    q.r.stop = &s->failed;
    int rc = cc_perform(conn, &q.r);
    if (rc == 0 && !q.r.etag[0]) {
        rc = SLUICE_E_NETWORK;
        snprintf(fail, cap, "cannot upload part %d of %s: no ETag in the "
                 "answer", sl->number, s->display);
        *code = rc;
    } else if (rc == 0) {
        *etag = strdup(q.r.etag);
        if (!*etag) {
            rc = *code = SLUICE_E_NOMEM;
            snprintf(fail, cap, "out of memory");
        }
    } else if (rc == SLUICE_E_NETWORK) {
        sluice_error e = {0};
        char doing[64];
        snprintf(doing, sizeof doing, "cannot upload part %d of",
                 sl->number);
        *code = s3_fail(s, &e, doing, &q.r);
        snprintf(fail, cap, "%s", e.message);
    } else {
        *code = rc;
        fail[0] = '\0';
    }
    s3_req_free(&q);
    free(query);
    return rc;
}

static void set_failed(s3_ctx *s, int code, const char *msg)
{
    /* under mu */
    if (!s->failed) {
        s->fail_code = code;
        snprintf(s->fail_msg, sizeof s->fail_msg, "%s", msg ? msg : "");
        __atomic_store_n(&s->failed, 1, __ATOMIC_RELEASE);
    }
}

static void *worker(void *arg)
{
    s3_ctx *s = arg;
    cc_conn conn;
    int have_conn = cc_conn_init(&conn, &s->cl) == 0;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->q_len == 0 && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->q_len == 0) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        int idx = s->queue[s->q_head];
        s->q_head = (s->q_head + 1) % s->n_slots;
        s->q_len--;
        int skip = s->failed;
        pthread_mutex_unlock(&s->mu);

        slot *sl = &s->slots[idx];
        char *etag = NULL;
        char fail[SLUICE_ERROR_MAX];
        int code = 0, rc = 0;
        if (!skip && !have_conn) {
            rc = code = SLUICE_E_NOMEM;
            snprintf(fail, sizeof fail, "cannot start libcurl");
        } else if (!skip) {
            rc = upload_part(s, &conn, sl, &etag, fail, sizeof fail, &code);
        }

        pthread_mutex_lock(&s->mu);
        if (rc == 0 && !skip) {
            s->etags[sl->number - 1] = etag;
        } else if (rc < 0) {
            free(etag);
            /* A cancelled request after a sibling failed is no news. */
            if (!(rc == SLUICE_E_CANCELED && s->failed))
                set_failed(s, code ? code : rc,
                           rc == SLUICE_E_CANCELED ? "" : fail);
        }
        sl->number = 0;
        s->busy--;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    if (have_conn)
        cc_conn_free(&conn);
    return NULL;
}

/* The part buffers' bookkeeping; buffers themselves grow on demand. */
static int setup_slots(s3_ctx *s, sluice_error *err)
{
    s->n_slots = s->concurrency + 1;
    s->slots = calloc((size_t)s->n_slots, sizeof *s->slots);
    s->queue = calloc((size_t)s->n_slots, sizeof *s->queue);
    s->etags = calloc(S3_MAX_PARTS, sizeof *s->etags);
    s->workers = calloc((size_t)s->concurrency, sizeof *s->workers);
    if (!s->slots || !s->queue || !s->etags || !s->workers)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->mu_init = 1;
    return 0;
}

/* The upload threads, started with the first multipart part; joined by
 * stop_workers() before run() returns. */
static int start_workers(s3_ctx *s, sluice_error *err)
{
    for (int i = 0; i < s->concurrency; i++) {
        if (pthread_create(&s->workers[i], NULL, worker, s) != 0)
            return sluice_error_set(err, SLUICE_E_NOMEM,
                                    "cannot start an upload thread");
        s->n_workers++;
    }
    return 0;
}

static void stop_workers(s3_ctx *s)
{
    if (!s->mu_init)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    s->n_workers = 0;
}

/* A free slot, or -1 once an upload failed. */
static int get_free_slot(s3_ctx *s)
{
    pthread_mutex_lock(&s->mu);
    int idx = -1;
    while (!s->failed) {
        for (int i = 0; i < s->n_slots && idx < 0; i++)
            if (s->slots[i].number == 0)
                idx = i;
        if (idx >= 0)
            break;
        pthread_cond_wait(&s->cv, &s->mu);
    }
    if (idx >= 0)
        s->slots[idx].number = -1; /* filling */
    pthread_mutex_unlock(&s->mu);
    return idx;
}

static void enqueue(s3_ctx *s, int idx, int number)
{
    pthread_mutex_lock(&s->mu);
    s->slots[idx].number = number;
    s->queue[(s->q_head + s->q_len) % s->n_slots] = idx;
    s->q_len++;
    s->busy++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Waits until every queued part is uploaded or one failed. */
static void wait_idle(s3_ctx *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->busy > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

static int complete(s3_ctx *s, sluice_error *err)
{
    /* <CompleteMultipartUpload><Part><PartNumber>N</PartNumber>
     * <ETag>"..."</ETag></Part>...</CompleteMultipartUpload> */
    size_t cap = 64 + (size_t)s->n_parts * 256;
    char *xml = malloc(cap);
    if (!xml)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    size_t len = (size_t)snprintf(xml, cap, "<CompleteMultipartUpload>");
    for (int i = 0; i < s->n_parts; i++)
        len += (size_t)snprintf(xml + len, cap - len,
                                "<Part><PartNumber>%d</PartNumber>"
                                "<ETag>%s</ETag></Part>",
                                i + 1, s->etags[i]);
    len += (size_t)snprintf(xml + len, cap - len,
                            "</CompleteMultipartUpload>");
    char *enc = sigv4_uri_encode(s->upload_id, 0);
    char *query = enc ? str_printf("uploadId=%s", enc) : NULL;
    free(enc);
    int rc = 0;
    for (int tries = 0;; tries++) {
        s3_req q;
        if (!query || s3_req_init(&q, s, "POST", query,
                                  "CompleteMultipartUpload") < 0) {
            rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
            break;
        }
        sigv4_sha256_hex(xml, len, q.payload_hash);
        q.content_type = "application/xml";
        q.r.has_body = 1;
        q.r.body = (const uint8_t *)xml;
        q.r.body_len = len;
        rc = cc_perform(&s->conn, &q.r);
        char code[64];
        cc_xml_tag(q.r.resp, "Code", code, sizeof code);
        if (rc == 0 && q.r.resp && strstr(q.r.resp, "<Error>")) {
            /* S3 may answer 200 and fail in the body. */
            if ((!strcmp(code, "InternalError") ||
                 !strcmp(code, "SlowDown")) && tries < 3) {
                s3_req_free(&q);
                if (cc_sleep(&s->cl, 1.0 + tries, 0) < 0) {
                    rc = SLUICE_E_CANCELED;
                    break;
                }
                continue;
            }
            snprintf(q.r.failure, sizeof q.r.failure, "%s",
                     code[0] ? code : "error in the answer");
            rc = SLUICE_E_NETWORK;
        }
        if (rc == SLUICE_E_NETWORK && q.r.status == 404 &&
            !strcmp(code, "NoSuchUpload") && q.r.attempts > 1) {
            /* The first attempt completed but its answer was lost. */
            rc = 0;
        }
        if (rc == SLUICE_E_NETWORK)
            rc = s3_fail(s, err, "cannot complete the upload of", &q.r);
        s3_req_free(&q);
        break;
    }
    free(query);
    free(xml);
    if (rc == 0)
        s->upload_open = 0;
    return rc;
}

/* Gives a slot back to the pool (its part is not going up). */
static void release_slot(s3_ctx *s, slot *sl)
{
    pthread_mutex_lock(&s->mu);
    sl->number = 0;
    pthread_mutex_unlock(&s->mu);
}

static int too_many_parts(s3_ctx *s, uint64_t total, sluice_error *err)
{
    char max[32];
    cc_format_size(total, max, sizeof max);
    return sluice_error_set(err, SLUICE_E_IO,
                            "%s: the stream is larger than one S3 object of "
                            "%d parts can hold (%s; raise "
                            "SLUICE_S3_PART_SIZE)",
                            s->display, S3_MAX_PARTS, max);
}

/* Reads up to want bytes of the stream into slot sl, growing its buffer
 * first.  Returns the count (short: the end of the stream) or a status;
 * on a status the slot is given back. */
static ptrdiff_t fill_slot(s3_ctx *s, slot *sl, size_t want,
                           sluice_input *in, sluice_error *err)
{
    if (sl->cap < want) {
        part_buf_free(sl->buf, sl->cap);
        sl->buf = part_buf_new(want);
        sl->cap = sl->buf ? want : 0;
        if (!sl->buf) {
            sl->number = 0;
            return sluice_error_set(err, SLUICE_E_NOMEM,
                                    "out of memory for a part of %zu bytes",
                                    want);
        }
    }
    ptrdiff_t n = s->api->read(in, sl->buf, want);
    if (n < 0)
        release_slot(s, sl);
    return n;
}

/* The first part is full: the stream needs a multipart upload. */
static int begin_multipart(s3_ctx *s, size_t want, sluice_error *err)
{
    if (s->exclusive)
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "%s: exclusive=1 (create only) is "
                                "supported for objects of one part only",
                                s->display);
    char ps[32];
    cc_format_size(want, ps, sizeof ps);
    s->api->log(s->host, SLUICE_LOG_INFO,
                "multipart upload of %s to %s%s: parts from %s, %d in "
                "parallel",
                s->display, s->base_url, s->object_uri, ps, s->concurrency);
    int rc = initiate(s, err);
    return rc == 0 ? start_workers(s, err) : rc;
}

/* Reads the next part and hands it to the workers.  Returns 1 to go on,
 * 0 at the end of the stream (or when a part failed: said after the
 * loop), or a status.  A stream shorter than one part goes up in one PUT
 * here: *single is then set and the return is the PUT's status. */
static int next_part(s3_ctx *s, sluice_input *in, uint64_t *total,
                     int *single, sluice_error *err)
{
    int number = s->n_parts + 1;
    if (number > S3_MAX_PARTS)
        return too_many_parts(s, *total, err);
    int idx = get_free_slot(s);
    if (idx < 0)
        return 0; /* a part failed */
    slot *sl = &s->slots[idx];
    size_t want = (size_t)part_size(s, number);
    ptrdiff_t n = fill_slot(s, sl, want, in, err);
    if (n < 0)
        return (int)n;
    sl->len = (size_t)n;
    int eof = (size_t)n < want;
    if (number == 1 && eof) {
        *single = 1;
        int rc = put_single(s, sl->buf, sl->len, err);
        release_slot(s, sl);
        return rc;
    }
    if (n == 0) {
        release_slot(s, sl);
        return 0;
    }
    if (number == 1) {
        int rc = begin_multipart(s, want, err);
        if (rc < 0) {
            release_slot(s, sl);
            return rc;
        }
    }
    s->n_parts = number;
    *total += (uint64_t)n;
    enqueue(s, idx, number);
    return eof ? 0 : 1;
}

/* Waits for the parts in flight, then completes the upload unless
 * something failed (rc, a part, a cancel). */
static int finish_upload(s3_ctx *s, int rc, uint64_t total,
                         sluice_error *err)
{
    if (s->mu_init)
        wait_idle(s);
    stop_workers(s);
    if (rc == 0 && s->failed) {
        rc = s->fail_code ? s->fail_code : SLUICE_E_NETWORK;
        if (rc != SLUICE_E_CANCELED)
            sluice_error_set(err, rc, "%s", s->fail_msg);
    }
    if (rc == 0 && s->api->cancelled(s->host))
        rc = SLUICE_E_CANCELED;
    if (rc == 0) {
        s->completing = 1;
        rc = complete(s, err);
        if (rc == 0) {
            char size[32];
            cc_format_size(total, size, sizeof size);
            s->api->log(s->host, SLUICE_LOG_INFO,
                        "uploaded %s (%s in %d parts)", s->display, size,
                        s->n_parts);
        }
    }
    return rc;
}

/* The upload failed (rc): aborts it, and says so where that failed. */
static void abort_failed_upload(s3_ctx *s, int rc, sluice_error *err)
{
    char why[400];
    int arc = abort_upload(s, why, sizeof why);
    if (arc == 1 && s->completing)
        s->api->log(s->host, SLUICE_LOG_WARNING,
                    "%s was completed just before the interruption: the "
                    "object is there", s->display);
    if (arc >= 0)
        return;
    if (rc == SLUICE_E_CANCELED) {
        s->api->log(s->host, SLUICE_LOG_WARNING,
                    "could not abort the multipart upload of %s (%s): "
                    "remove it with aws s3api abort-multipart-upload "
                    "--upload-id %s",
                    s->display, why, s->upload_id);
    } else {
        size_t len = strlen(err->message);
        snprintf(err->message + len, sizeof err->message - len,
                 "; the multipart upload could not be aborted either "
                 "(upload id %s)", s->upload_id);
    }
    s->upload_open = 0; /* reported; close() must not retry */
}

static int run_sink(s3_ctx *s, sluice_input *in, sluice_error *err)
{
    int rc = setup_slots(s, err);
    uint64_t total = 0;
    for (int more = 1; rc == 0 && more == 1;) {
        int single = 0;
        more = next_part(s, in, &total, &single, err);
        if (single)
            return more;
        if (more < 0)
            rc = more;
    }
    rc = finish_upload(s, rc, total, err);
    if (rc < 0 && s->upload_open)
        abort_failed_upload(s, rc, err);
    return rc;
}

static int s3_run(void *ctx, sluice_input *in, sluice_output *out,
                  sluice_error *err)
{
    s3_ctx *s = ctx;
    return s->role == SLUICE_ROLE_SOURCE ? run_source(s, out, err)
                                         : run_sink(s, in, err);
}

static void s3_close(void *ctx)
{
    s3_ctx *s = ctx;
    if (!s)
        return;
    stop_workers(s);
    if (s->upload_open) {
        /* run() did not get to clean up: never leave an upload open. */
        char why[400];
        if (abort_upload(s, why, sizeof why) < 0)
            s->api->log(s->host, SLUICE_LOG_WARNING,
                        "could not abort the multipart upload of %s (%s): "
                        "upload id %s", s->display, why, s->upload_id);
    }
    s3_free(s);
}

static int s3_abort_named(const sluice_stage_args *args, const char *id,
                          sluice_error *err);

/* DELETE of the object (ABI 1.1 remove()): 204, or 404 when it was not
 * there, are both success.  With "upload-id" (ABI 1.3): aborts that
 * multipart upload of the key instead. */
static int s3_remove(const sluice_stage_args *args, sluice_error *err)
{
    const char *upload = sluice_kv_get(args->options, args->n_options,
                                       "upload-id");
    if (upload)
        return s3_abort_named(args, upload, err);
    void *ctx = NULL;
    int rc = s3_open(args, &ctx, err);
    if (rc < 0)
        return rc;
    s3_ctx *s = ctx;
    s3_req q;
    if (s3_req_init(&q, s, "DELETE", "", "DELETE") < 0) {
        s3_free(s);
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    rc = cc_perform(&s->conn, &q.r);
    if (rc < 0 && q.r.status == 404) {
        char code[64];
        cc_xml_tag(q.r.resp, "Code", code, sizeof code);
        if (strcmp(code, "NoSuchBucket") != 0)
            rc = 0; /* already gone */
    }
    if (rc == SLUICE_E_NETWORK)
        rc = s3_fail(s, err, "cannot delete", &q.r);
    if (rc == 0)
        s->api->log(s->host, SLUICE_LOG_INFO, "deleted %s", s->display);
    s3_req_free(&q);
    s3_free(s);
    return rc;
}

/* ---- list (ABI 1.3) ---------------------------------------------------------
 * ListObjectsV2 then ListMultipartUploads under "KEY/", a page at a time:
 * each answer is held in a buffer of at most LIST_PAGE_MAX bytes (a
 * larger one is refused, whatever max-keys the server heeded) and read
 * by the strict parser of s3-xml.c; a page that does not advance the
 * listing, or more than LIST_MAX_PAGES of them, fails it. */
#define LIST_PAGE_KEYS 1000
#define LIST_PAGE_MAX (4u * 1024u * 1024u)
#define LIST_MAX_PAGES 100000

typedef struct list_req {
    s3_req q; /* first member */
    char *buf;
    size_t len, cap;
    int too_big;
} list_req;

/* Before every attempt: the page starts again. */
static int list_prepare(cc_req *r)
{
    list_req *l = (list_req *)r;
    l->len = 0;
    l->too_big = 0;
    return s3_prepare(r);
}

static int list_data(cc_req *r, const uint8_t *p, size_t n)
{
    list_req *l = (list_req *)r;
    if (n > LIST_PAGE_MAX - l->len) {
        l->too_big = 1;
        return SLUICE_E_NETWORK;
    }
    if (l->len + n > l->cap) {
        size_t c = l->cap ? l->cap : 64 * 1024;
        while (c < l->len + n)
            c *= 2;
        char *b = realloc(l->buf, c);
        if (!b)
            return SLUICE_E_NOMEM;
        l->buf = b;
        l->cap = c;
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
    return 0;
}

/* GET of the bucket with query (canonical: encoded, sorted) into l. */
static int list_get(s3_ctx *s, list_req *l, const char *query,
                    const char *what, sluice_error *err)
{
    if (!query || s3_req_init(&l->q, s, "GET", query, what) < 0)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    l->q.r.prepare = list_prepare;
    l->q.r.on_data = list_data;
    int rc = cc_perform(&s->conn, &l->q.r);
    if (l->too_big)
        rc = sluice_error_set(err, SLUICE_E_NETWORK, "cannot list %s: the "
                              "server's answer is larger than %u bytes",
                              s->display, LIST_PAGE_MAX);
    else if (rc == SLUICE_E_NETWORK)
        rc = s3_fail(s, err, "cannot list", &l->q.r);
    else if (rc < 0 && rc != SLUICE_E_CANCELED)
        rc = sluice_error_set(err, rc, "cannot list %s: out of memory",
                              s->display);
    s3_req_free(&l->q);
    return rc;
}

/* Hands each parsed entry under the prefix to the host's callback. */
typedef struct list_walk {
    s3_ctx *s;
    const char *prefix;
    sluice_list_fn fn;
    void *arg;
} list_walk;

static int list_emit(void *arg, const s3x_entry *x)
{
    list_walk *w = arg;
    size_t pl = strlen(w->prefix);
    const char *rel = x->key + pl;
    if (strncmp(x->key, w->prefix, pl) != 0 || !s3x_safe_name(rel)) {
        /* Outside the prefix, or a name a request would rewrite: the
         * host is never asked to act on it. */
        w->s->api->log(w->s->host, SLUICE_LOG_INFO,
                       "listing %s: skipped a key that is not a plain name "
                       "under the prefix", w->s->display);
        return 0;
    }
    sluice_entry e = {sizeof e,
                      x->upload_id ? SLUICE_ENTRY_UPLOAD : SLUICE_ENTRY_OBJECT,
                      rel, x->size, x->mtime, x->upload_id};
    return w->fn(w->arg, &e);
}

/* The canonical query of a page (parameters sorted, values encoded);
 * pg: where the previous page said to go on, NULL for the first. */
static char *list_query(const char *pfx, const s3x_page *pg, int uploads)
{
    char *m1 = sigv4_uri_encode(pg ? pg->next : "", 0);
    char *m2 = sigv4_uri_encode(pg ? pg->next_id : "", 0);
    char *q = NULL;
    if (m1 && m2 && uploads)
        q = str_printf("%s%s%smax-uploads=%d&prefix=%s%s%s&uploads=",
                       pg ? "key-marker=" : "", pg ? m1 : "", pg ? "&" : "",
                       LIST_PAGE_KEYS, pfx, pg ? "&upload-id-marker=" : "",
                       pg ? m2 : "");
    else if (m1 && m2)
        q = str_printf("%s%s%slist-type=2&max-keys=%d&prefix=%s",
                       pg ? "continuation-token=" : "", pg ? m1 : "",
                       pg ? "&" : "", LIST_PAGE_KEYS, pfx);
    free(m1);
    free(m2);
    return q;
}

typedef int (*page_parser)(const char *, size_t, s3x_fn, void *, s3x_page *,
                           char *, size_t);

/* The pages of one listing; uploads: ListMultipartUploads, else
 * ListObjectsV2. */
static int list_pages(s3_ctx *s, list_walk *w, int uploads,
                      sluice_error *err)
{
    char *pfx = sigv4_uri_encode(w->prefix, 0);
    s3x_page *pg = calloc(1, sizeof *pg);
    list_req l = {0};
    int rc = pfx && pg ? 0 : sluice_error_set(err, SLUICE_E_NOMEM,
                                              "out of memory");
    page_parser parse = uploads ? s3x_parse_uploads : s3x_parse_objects;
    for (int n = 0; rc == 0; n++) {
        char *query = list_query(pfx, n ? pg : NULL, uploads);
        rc = list_get(s, &l, query,
                      uploads ? "ListMultipartUploads" : "ListObjectsV2", err);
        free(query);
        if (rc < 0)
            break;
        char before[2 * S3X_FIELD_MAX + 2], why[300] = "";
        snprintf(before, sizeof before, "%s\n%s", pg->next, pg->next_id);
        rc = parse(l.buf ? l.buf : "", l.len, list_emit, w, pg, why,
                   sizeof why);
        if (rc == -1)
            rc = sluice_error_set(err, SLUICE_E_NETWORK, "cannot list %s: "
                                  "the server's answer is not a listing: %s",
                                  s->display, why);
        if (rc < 0 || !pg->truncated)
            break;
        char after[sizeof before];
        snprintf(after, sizeof after, "%s\n%s", pg->next, pg->next_id);
        if (!strcmp(before, after) || n + 1 >= LIST_MAX_PAGES)
            rc = sluice_error_set(err, SLUICE_E_NETWORK, "cannot list %s: "
                                  "the server's pages do not advance",
                                  s->display);
    }
    free(l.buf);
    free(pg);
    free(pfx);
    return rc;
}

/* A context for bucket-level requests on s3://BUCKET[/KEY]: the object
 * path cut back to the bucket's, *prefix = "KEY/" ("" for none). */
static int list_open(const sluice_stage_args *args, s3_ctx **out,
                     char **prefix, sluice_error *err)
{
    const char *url = sluice_kv_get(args->options, args->n_options, "url");
    if (!url || strncasecmp(url, "s3://", 5) != 0)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "no URL to list (expected s3://BUCKET/PREFIX)");
    const char *slash = strchr(url + 5, '/');
    size_t klen = slash ? strlen(slash + 1) : 0;
    while (klen && slash[klen] == '/')
        klen--;
    size_t blen = slash ? (size_t)(slash - url - 5) : strlen(url + 5);
    /* s3_open wants a key: any will do, the path is cut back below. */
    char *u = str_printf("s3://%.*s/%.*s", (int)blen, url + 5,
                         (int)(klen ? klen : 1), klen ? slash + 1 : "-");
    *prefix = str_printf("%.*s%s", (int)klen, klen ? slash + 1 : "",
                         klen ? "/" : "");
    sluice_kv *kv = malloc((args->n_options + 1) * sizeof *kv);
    int rc = u && *prefix && kv ? 0 : SLUICE_E_NOMEM;
    if (rc == 0) {
        sluice_stage_args a = *args;
        for (size_t i = 0; i < args->n_options; i++)
            kv[i] = strcmp(args->options[i].key, "url")
                        ? args->options[i]
                        : (sluice_kv){"url", u};
        a.options = kv;
        void *ctx = NULL;
        rc = s3_open(&a, &ctx, err);
        *out = ctx;
    } else {
        sluice_error_set(err, rc, "out of memory");
    }
    if (rc == 0) {
        s3_ctx *s = *out;
        char *enc = sigv4_uri_encode(s->key, 1);
        size_t ol = strlen(s->object_uri), el = enc ? strlen(enc) : 0;
        free(s->display);
        s->display = strdup(url);
        if (!enc || !s->display || el > ol ||
            strcmp(s->object_uri + ol - el, enc))
            rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
        else
            s->object_uri[ol - el] = '\0'; /* ".../BUCKET/" or "/" */
        free(enc);
        if (rc < 0)
            s3_free(s);
    }
    free(u);
    free(kv);
    if (rc < 0) {
        free(*prefix);
        *prefix = NULL;
    }
    return rc;
}

static int s3_list(const sluice_stage_args *args, sluice_list_fn fn,
                   void *arg, sluice_error *err)
{
    s3_ctx *s = NULL;
    char *prefix = NULL;
    int rc = list_open(args, &s, &prefix, err);
    if (rc < 0)
        return rc;
    list_walk w = {s, prefix, fn, arg};
    rc = list_pages(s, &w, 0, err);
    if (rc == 0)
        rc = list_pages(s, &w, 1, err);
    free(prefix);
    s3_free(s);
    return rc;
}

/* remove() with "upload-id": AbortMultipartUpload of that upload of the
 * key (404, already gone, is success). */
static int s3_abort_named(const sluice_stage_args *args, const char *id,
                          sluice_error *err)
{
    if (!*id || strlen(id) > S3X_FIELD_MAX)
        return sluice_error_set(err, SLUICE_E_USAGE, "upload-id: expected "
                                "1 to %d bytes", S3X_FIELD_MAX);
    void *ctx = NULL;
    int rc = s3_open(args, &ctx, err);
    if (rc < 0)
        return rc;
    s3_ctx *s = ctx;
    char why[400];
    if (!(s->upload_id = strdup(id))) {
        s3_free(s);
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    s->upload_open = 1;
    rc = abort_upload(s, why, sizeof why);
    if (rc < 0)
        rc = sluice_error_set(err, rc == SLUICE_E_NOMEM ? rc
                                                        : SLUICE_E_NETWORK,
                              "cannot abort the multipart upload of %s: %s",
                              s->display, why);
    s3_free(s);
    return rc < 0 ? rc : 0;
}

/* ABI 1.2: the keys this stage accepts (`sluice stages -v`). */
static const sluice_key keys[] = {
    {"url", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "s3://BUCKET/KEY"},
    {"s3-endpoint", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "endpoint URL of an S3-compatible service (else AWS_ENDPOINT_URL)"},
    {"insecure", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "1 = do not verify TLS certificates"},
    {"verbose", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "1 = say more, 2 = trace requests"},
    {"exclusive", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "sink: 1 = create the object only if it does not exist"},
    {"upload-id", SLUICE_KEY_OPTION | SLUICE_KEY_FORWARD,
     "remove: abort this multipart upload of the key (from list)"},
    {NULL, 0, NULL},
};

static const sluice_stage stages[] = {{
    "s3",
    "S3-compatible object storage (AWS, MinIO, Ceph RGW): s3://BUCKET/KEY",
    SLUICE_ROLE_SOURCE | SLUICE_ROLE_SINK,
    SLUICE_ROLE_SOURCE | SLUICE_ROLE_SINK,
    SLUICE_STAGE_EXCLUSIVE,
    s3_open,
    s3_run,
    NULL,
    s3_close,
    s3_remove,
    keys,
    s3_list,
    NULL, /* binding (ABI 1.4) */
}};

static const sluice_plugin plugin = SLUICE_PLUGIN_INIT("s3", "0.1.0", stages);

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
