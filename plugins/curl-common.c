/*
 * curl-common.c - requests with retries, cancellation and one-line
 * failures for the s3 and http stages; see curl-common.h.
 *
 * Retry policy (doc/S3.md): a request is tried again after a connection
 * failure (refused, reset, timed out, closed early), after a stall (no
 * byte moved for SLUICE_NET_STALL_SECONDS), and after HTTP 408, 429,
 * 500, 502, 503, 504 or an S3 RequestTimeout/SlowDown/InternalError.
 * Waits grow exponentially from 0.25 s to 10 s with jitter (or follow
 * Retry-After), and stop after SLUICE_NET_RETRIES attempts or once
 * SLUICE_NET_RETRY_SECONDS have passed since the first failure without
 * progress, whichever comes first.  Anything else (4xx: wrong key,
 * missing bucket...) fails at once.
 */
#define _GNU_SOURCE
#include "curl-common.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define CC_BUFFER_SIZE (256L * 1024L)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

double cc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int env_number(const char *name, double lo, double hi, double *out,
                      sluice_error *err)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || *end || d < lo || d > hi)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "%s=%s: expected a number from %g to %g",
                                name, v, lo, hi);
    *out = d;
    return 0;
}

int cc_client_init(cc_client *c, const sluice_api *api, sluice_host *host,
                   const sluice_kv *options, size_t n_options,
                   sluice_error *err)
{
    memset(c, 0, sizeof *c);
    c->api = api;
    c->host = host;
    c->max_attempts = CC_DEFAULT_ATTEMPTS;
    c->retry_seconds = CC_DEFAULT_RETRY_SECONDS;
    c->stall_seconds = CC_DEFAULT_STALL_SECONDS;
    const char *v = sluice_kv_get(options, n_options, "insecure");
    c->insecure = v && strcmp(v, "0") != 0;
    v = sluice_kv_get(options, n_options, "verbose");
    c->verbose = v ? atoi(v) : 0;
    double d = c->max_attempts;
    int rc = env_number("SLUICE_NET_RETRIES", 1, 1000, &d, err);
    if (rc < 0)
        return rc;
    c->max_attempts = (int)d;
    rc = env_number("SLUICE_NET_RETRY_SECONDS", 0, 86400, &c->retry_seconds,
                    err);
    if (rc < 0)
        return rc;
    rc = env_number("SLUICE_NET_STALL_SECONDS", 1, 86400, &c->stall_seconds,
                    err);
    if (rc < 0)
        return rc;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return sluice_error_set(err, SLUICE_E_INTERNAL,
                                "cannot initialise libcurl: %s",
                                curl_easy_strerror(global_rc));
    return 0;
}

int cc_conn_init(cc_conn *c, cc_client *cl)
{
    memset(c, 0, sizeof *c);
    c->cl = cl;
    c->easy = curl_easy_init();
    c->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)c ^
              (unsigned)getpid();
    return c->easy ? 0 : SLUICE_E_NOMEM;
}

void cc_conn_free(cc_conn *c)
{
    if (c->easy)
        curl_easy_cleanup(c->easy);
    c->easy = NULL;
}

void cc_req_free(cc_req *r)
{
    free(r->resp);
    r->resp = NULL;
    r->resp_len = r->resp_cap_ = 0;
}

int cc_header(struct curl_slist **list, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line)
        return SLUICE_E_NOMEM;
    snprintf(line, n, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(*list, line);
    free(line);
    if (!l)
        return SLUICE_E_NOMEM;
    *list = l;
    return 0;
}

int cc_sleep(const cc_client *cl, double s, int ignore_cancel)
{
    double end = cc_now() + s;
    for (;;) {
        if (!ignore_cancel && cl->api->cancelled(cl->host))
            return SLUICE_E_CANCELED;
        double left = end - cc_now();
        if (left <= 0)
            return 0;
        if (left > 0.05)
            left = 0.05;
        struct timespec ts = {0, (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
}

void cc_xml_tag(const char *xml, const char *tag, char *out, size_t cap)
{
    out[0] = '\0';
    if (!xml || !cap)
        return;
    char open[64], close_[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close_, sizeof close_, "</%s>", tag);
    const char *a = strstr(xml, open);
    if (!a)
        return;
    a += strlen(open);
    const char *b = strstr(a, close_);
    if (!b)
        return;
    size_t n = (size_t)(b - a);
    if (n >= cap)
        n = cap - 1;
    /* One line: control characters become spaces. */
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)a[i] < 0x20 ? ' ' : a[i];
    out[n] = '\0';
}

/* Query parameters whose values are credentials or signatures. */
static int secret_param(const char *name, size_t n)
{
    static const char *const names[] = {
        "x-amz-signature", "x-amz-credential", "x-amz-security-token",
        "x-goog-signature", "x-goog-credential", "signature", "sig",
        "token", "access_token", "password", "passwd", "secret",
        "api_key", "apikey", "awsaccesskeyid",
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0)
            return 1;
    return 0;
}

void cc_redact_url(const char *url, char *out, size_t cap)
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    const char *end = host + strcspn(host, "/?#");
    const char *at = NULL;
    for (const char *p = host; p < end; p++)
        if (*p == '@')
            at = p;
    size_t n = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
#define CC_PUT(p, len)                                                      \
    do {                                                                   \
        int w_ = snprintf(out + n, cap - n, "%.*s", (int)(len), (p));      \
        n += w_ > 0 && (size_t)w_ < cap - n ? (size_t)w_ : 0;              \
    } while (0)
    CC_PUT(url, host - url);
    if (at) {
        CC_PUT("***@", 4);
        host = at + 1;
    }
    const char *q = strchr(host, '?');
    const char *frag = q ? q + strcspn(q, "#") : NULL;
    CC_PUT(host, q ? (size_t)(q - host) : strlen(host));
    while (q && q < frag) {
        /* q at '?' or '&': one parameter up to the next '&' or '#'. */
        const char *param = q + 1;
        size_t len = strcspn(param, "&#");
        size_t name = strcspn(param, "=&#");
        CC_PUT(q, 1);
        if (name < len && secret_param(param, name)) {
            CC_PUT(param, name + 1);
            CC_PUT("***", 3);
        } else {
            CC_PUT(param, len);
        }
        q = param + len;
    }
    if (frag)
        CC_PUT(frag, strlen(frag));
#undef CC_PUT
}

int cc_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    uint64_t mul = 1;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mul = 1ull << 10; break;
        case 'm': case 'M': mul = 1ull << 20; break;
        case 'g': case 'G': mul = 1ull << 30; break;
        case 't': case 'T': mul = 1ull << 40; break;
        default: return -1;
        }
        end++;
        if (*end == 'i')
            end++;
        if (*end == 'B' || *end == 'b')
            end++;
        if (*end)
            return -1;
    }
    if (v > UINT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

void cc_format_size(uint64_t n, char *out, size_t cap)
{
    static const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double d = (double)n;
    while (d >= 1024 && u < 4) {
        d /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%llu bytes", (unsigned long long)n);
    else if (d == (double)(uint64_t)d)
        snprintf(out, cap, "%llu %s", (unsigned long long)d, units[u]);
    else
        snprintf(out, cap, "%.1f %s", d, units[u]);
}

int cc_status_retryable(long status)
{
    return status == 408 || status == 429 || status == 500 ||
           status == 502 || status == 503 || status == 504;
}

/* ---- callbacks ---------------------------------------------------------- */

static void resp_append(cc_req *r, const char *p, size_t n)
{
    if (r->resp_len + n + 1 > r->resp_cap_) {
        if (r->resp_len + 1 >= CC_RESP_MAX)
            return;
        size_t cap = r->resp_cap_ ? r->resp_cap_ : 4096;
        while (cap < r->resp_len + n + 1 && cap < CC_RESP_MAX)
            cap *= 2;
        if (cap > CC_RESP_MAX)
            cap = CC_RESP_MAX;
        char *q = realloc(r->resp, cap);
        if (!q)
            return;
        r->resp = q;
        r->resp_cap_ = cap;
        if (r->resp_len + n + 1 > cap)
            n = cap - r->resp_len - 1;
    }
    memcpy(r->resp + r->resp_len, p, n);
    r->resp_len += n;
    r->resp[r->resp_len] = '\0';
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg)
{
    cc_req *r = arg;
    size_t n = size * nmemb;
    long code = 0;
    curl_easy_getinfo(r->easy_, CURLINFO_RESPONSE_CODE, &code);
    r->status = code;
    if (code >= 200 && code < 300 && r->on_data) {
        int rc = r->on_data(r, (const uint8_t *)p, n);
        r->last_progress_ = cc_now(); /* time blocked downstream is no stall */
        if (rc < 0) {
            r->data_status_ = rc;
            return 0; /* CURLE_WRITE_ERROR */
        }
        r->received += n;
        return n;
    }
    resp_append(r, p, n);
    return n;
}

static void copy_value(const char *p, size_t n, char *out, size_t cap)
{
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    cc_req *r = arg;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue or a redirect). */
        r->etag[0] = r->content_range[0] = r->last_modified[0] = '\0';
        r->bucket_region[0] = '\0';
        /* "HTTP/1.1 403 Forbidden" -> "Forbidden" */
        const char *sp = memchr(p, ' ', n);
        const char *sp2 = sp ? memchr(sp + 1, ' ', n - (size_t)(sp + 1 - p))
                             : NULL;
        r->reason[0] = '\0';
        if (sp2)
            copy_value(sp2 + 1, n - (size_t)(sp2 + 1 - p), r->reason,
                       sizeof r->reason);
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return n;
    size_t name_len = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vn = n - name_len - 1;
#define IS(h) (name_len == sizeof(h) - 1 && strncasecmp(p, h, name_len) == 0)
    if (IS("etag"))
        copy_value(v, vn, r->etag, sizeof r->etag);
    else if (IS("content-range"))
        copy_value(v, vn, r->content_range, sizeof r->content_range);
    else if (IS("last-modified"))
        copy_value(v, vn, r->last_modified, sizeof r->last_modified);
    else if (IS("x-amz-bucket-region"))
        copy_value(v, vn, r->bucket_region, sizeof r->bucket_region);
#undef IS
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
    cc_req *r = arg;
    size_t max = size * nmemb;
    if (r->read) {
        ptrdiff_t n = r->read(r, (uint8_t *)buf, max);
        r->last_progress_ = cc_now(); /* waiting for upstream is no stall */
        if (n < 0) {
            r->data_status_ = (int)n;
            return CURL_READFUNC_ABORT;
        }
        r->sent += (uint64_t)n;
        return (size_t)n;
    }
    size_t left = r->body_len - r->body_off_;
    size_t n = left < max ? left : max;
    if (n)
        memcpy(buf, r->body + r->body_off_, n);
    r->body_off_ += n;
    r->sent += n;
    return n;
}

static int on_seek(void *arg, curl_off_t offset, int origin)
{
    cc_req *r = arg;
    if (r->read || origin != SEEK_SET || offset < 0 ||
        (uint64_t)offset > r->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    r->body_off_ = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    cc_req *r = arg;
    const cc_client *cl = r->conn_->cl;
    (void)dltotal;
    (void)ultotal;
    if ((!r->ignore_cancel && cl->api->cancelled(cl->host)) ||
        (r->stop && __atomic_load_n(r->stop, __ATOMIC_ACQUIRE))) {
        r->cancelled_ = 1;
        return 1;
    }
    double now = cc_now();
    if (dlnow != r->last_dl_ || ulnow != r->last_ul_) {
        r->last_dl_ = dlnow;
        r->last_ul_ = ulnow;
        r->last_progress_ = now;
    } else if (now - r->last_progress_ > cl->stall_seconds) {
        r->stalled_ = 1;
        return 1;
    }
    return 0;
}

/* ---- one attempt ------------------------------------------------------- */

static void set_options(cc_conn *c, cc_req *r)
{
    CURL *e = c->easy;
    const cc_client *cl = c->cl;
    curl_easy_reset(e); /* keeps the connection cache */
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf_);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "sluice/0.1 libcurl");
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, CC_CONNECT_TIMEOUT);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, CC_BUFFER_SIZE);
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, CC_BUFFER_SIZE);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, r);
    if (cl->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (cl->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, cl->ca_file);
    if (cl->use_netrc)
        curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
    if (cl->follow_redirects) {
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    }
    int upload = r->has_body || r->read;
    if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "GET")) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (upload) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, r);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, r);
        curl_off_t size = r->read ? (curl_off_t)r->stream_len
                                  : (curl_off_t)r->body_len;
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, size);
        if (strcmp(r->method, "PUT") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (!strcmp(r->method, "PUT") || !strcmp(r->method, "POST")) {
        /* No body: an explicit empty one. */
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, r);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
        if (strcmp(r->method, "PUT") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
}

/* One line about why the attempt failed, into r->failure. */
static void describe(cc_req *r)
{
    if (r->stalled_) {
        snprintf(r->failure, sizeof r->failure,
                 "no data moved for %.0f s", r->conn_->cl->stall_seconds);
        return;
    }
    if (r->cres != CURLE_OK) {
        const char *msg = r->errbuf_[0] ? r->errbuf_
                                        : curl_easy_strerror(r->cres);
        snprintf(r->failure, sizeof r->failure, "%s", msg);
        return;
    }
    char code[64], message[200];
    cc_xml_tag(r->resp, "Code", code, sizeof code);
    cc_xml_tag(r->resp, "Message", message, sizeof message);
    if (code[0] && message[0])
        snprintf(r->failure, sizeof r->failure, "HTTP %ld %s: %s", r->status,
                 code, message);
    else if (code[0])
        snprintf(r->failure, sizeof r->failure, "HTTP %ld %s", r->status,
                 code);
    else
        snprintf(r->failure, sizeof r->failure, "HTTP %ld%s%s", r->status,
                 r->reason[0] ? " " : "", r->reason);
}

static int transport_retryable(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        return 1;
    default:
        return 0;
    }
}

static int s3_code_retryable(const char *resp)
{
    char code[64];
    cc_xml_tag(resp, "Code", code, sizeof code);
    return !strcmp(code, "RequestTimeout") || !strcmp(code, "SlowDown") ||
           !strcmp(code, "InternalError") ||
           !strcmp(code, "ServiceUnavailable");
}

/* Clears what one attempt of r fills in. */
static void req_reset(cc_req *r)
{
    r->status = 0;
    r->reason[0] = '\0';
    r->cres = CURLE_OK;
    r->etag[0] = r->content_range[0] = r->last_modified[0] = '\0';
    r->bucket_region[0] = r->failure[0] = r->errbuf_[0] = '\0';
    r->content_length = -1;
    r->resp_len = 0;
    if (r->resp)
        r->resp[0] = '\0';
    r->received = r->sent = 0;
    r->body_off_ = 0;
    r->data_status_ = r->stalled_ = r->cancelled_ = 0;
    r->last_dl_ = r->last_ul_ = 0;
    r->last_progress_ = cc_now();
}

/* One attempt of r.  Returns 0 (a 2xx answer), a status to give up
 * with at once (cancelled, the body callback's, prepare's), or 1: it
 * failed, and whether to retry is the caller's to judge. */
static int attempt(cc_conn *c, cc_req *r, double start)
{
    cc_client *cl = c->cl;
    if (!r->ignore_cancel && cl->api->cancelled(cl->host))
        return SLUICE_E_CANCELED;
    r->headers = NULL;
    int rc = r->prepare ? r->prepare(r) : 0;
    if (rc < 0) {
        curl_slist_free_all(r->headers);
        r->headers = NULL;
        return rc;
    }
    set_options(c, r);
    r->cres = curl_easy_perform(c->easy);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(r->headers);
    r->headers = NULL;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_off_t cl_len = -1;
    curl_easy_getinfo(c->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl_len);
    r->content_length = cl_len;
    r->seconds = cc_now() - start;
    if (r->status > 0)
        __atomic_store_n(&cl->reached_, 1, __ATOMIC_RELEASE);
    if (cl->verbose >= 2)
        cl->api->log(cl->host, SLUICE_LOG_DEBUG, "%s %s: HTTP %ld, %s, %.3f s",
                     r->method, r->what ? r->what : "", r->status,
                     r->cres == CURLE_OK ? "ok" : curl_easy_strerror(r->cres),
                     r->seconds);
    if (r->cancelled_ || (!r->ignore_cancel && cl->api->cancelled(cl->host)))
        return SLUICE_E_CANCELED;
    if (r->data_status_ < 0)
        return r->data_status_;
    if (r->cres == CURLE_OK && r->status >= 200 && r->status < 300)
        return 0;
    return 1;
}

static int failure_retryable(const cc_req *r)
{
    if (r->cres != CURLE_OK)
        return r->stalled_ || transport_retryable(r->cres);
    return cc_status_retryable(r->status) ||
           (r->status == 400 && s3_code_retryable(r->resp));
}

/* The wait before attempt streak_attempts + 1: exponential with jitter,
 * or the server's Retry-After (at most 30 s). */
static double backoff(cc_conn *c, int streak_attempts)
{
    double delay = CC_BACKOFF_BASE;
    for (int i = 1; i < streak_attempts && delay < CC_BACKOFF_MAX; i++)
        delay *= 2;
    if (delay > CC_BACKOFF_MAX)
        delay = CC_BACKOFF_MAX;
    delay = delay / 2 +
            (delay / 2) * ((double)rand_r(&c->seed) / (double)RAND_MAX);
    curl_off_t retry_after = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RETRY_AFTER, &retry_after);
    if (retry_after > 0)
        delay = retry_after > 30 ? 30.0 : (double)retry_after;
    return delay;
}

/* An endpoint never reached gets 3 attempts: likely a wrong one. */
static int attempts_allowed(const cc_client *cl, const cc_req *r)
{
    if (!__atomic_load_n(&cl->reached_, __ATOMIC_ACQUIRE) &&
        (r->cres == CURLE_COULDNT_CONNECT ||
         r->cres == CURLE_COULDNT_RESOLVE_HOST) &&
        cl->max_attempts > 3)
        return 3;
    return cl->max_attempts;
}

int cc_perform(cc_conn *c, cc_req *r)
{
    cc_client *cl = c->cl;
    double start = cc_now(), streak = start;
    int streak_attempts = 0;
    r->attempts = 0;
    r->conn_ = c;
    r->easy_ = c->easy;
    for (;;) {
        r->attempts++;
        streak_attempts++;
        req_reset(r);
        int rc = attempt(c, r, start);
        if (rc <= 0)
            return rc;
        describe(r);
        int retry = failure_retryable(r);
        if (r->resumable && r->received > 0) {
            /* Progress was made and the next attempt keeps it: the
             * budget starts again (a request that starts over would
             * otherwise retry forever against an answer cut short). */
            streak = cc_now();
            streak_attempts = 1;
        }
        double delay = backoff(c, streak_attempts);
        double spent = cc_now() - streak;
        int max_attempts = attempts_allowed(cl, r);
        if (retry && streak_attempts < max_attempts &&
            spent + delay <= cl->retry_seconds &&
            (!r->can_retry || r->can_retry(r))) {
            /* A warning, so a run that waits says why (-q hides it);
             * one line through the host, which redacts it. */
            cl->api->log(cl->host, SLUICE_LOG_WARNING,
                         "retrying in %.1f s, attempt %d/%d: %s: %s", delay,
                         streak_attempts + 1, max_attempts,
                         r->what ? r->what : r->method, r->failure);
            if (cc_sleep(cl, delay, r->ignore_cancel) < 0)
                return SLUICE_E_CANCELED;
            continue;
        }
        if (retry && streak_attempts > 1) {
            size_t len = strlen(r->failure);
            snprintf(r->failure + len, sizeof r->failure - len,
                     " (gave up after %d attempts in %.0f s)",
                     streak_attempts, cc_now() - streak);
        }
        return SLUICE_E_NETWORK;
    }
}

/* ---- resumable download -------------------------------------------------- */

/* "bytes START-END/TOTAL" -> start and total (-1 when "*"). */
static int parse_content_range(const char *s, uint64_t *start, int64_t *total)
{
    unsigned long long a, b;
    char tot[32];
    if (sscanf(s, "bytes %llu-%llu/%31s", &a, &b, tot) != 3)
        return -1;
    *start = a;
    *total = tot[0] == '*' ? -1 : (int64_t)strtoll(tot, NULL, 10);
    return 0;
}

static int download_data(cc_req *r, const uint8_t *p, size_t n)
{
    cc_download *d = (cc_download *)r;
    if (!d->started_) {
        /* First bytes of this attempt: is it the part we asked for? */
        d->started_ = 1;
        if (r->status == 206) {
            uint64_t start;
            int64_t total;
            if (parse_content_range(r->content_range, &start, &total) < 0 ||
                start != d->delivered) {
                snprintf(r->failure, sizeof r->failure,
                         "the server resumed at the wrong offset "
                         "(Content-Range '%s', wanted %llu)",
                         r->content_range, (unsigned long long)d->delivered);
                return SLUICE_E_NETWORK;
            }
            if (d->total < 0 && total >= 0)
                d->total = total;
            d->skip_ = 0;
        } else {
            /* A full answer: skip what was already delivered. */
            d->skip_ = d->delivered;
        }
        if (d->delivered == 0 && r->status == 200) {
            curl_off_t len = -1;
            curl_easy_getinfo(r->easy_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
                              &len);
            if (len >= 0) {
                d->total = len;
                d->api->progress_total(d->host, (uint64_t)len);
            }
        }
        if (!d->etag[0] && !d->last_modified[0]) {
            /* Pin the version for any resume; weak ETags cannot be used
             * with If-Match. */
            if (r->etag[0] && strncmp(r->etag, "W/", 2) != 0)
                snprintf(d->etag, sizeof d->etag, "%s", r->etag);
            else if (r->last_modified[0])
                snprintf(d->last_modified, sizeof d->last_modified, "%s",
                         r->last_modified);
        }
    }
    if (d->skip_) {
        size_t k = d->skip_ < n ? (size_t)d->skip_ : n;
        d->skip_ -= k;
        p += k;
        n -= k;
    }
    while (n > 0) {
        size_t avail;
        uint8_t *dst = d->api->reserve(d->out, 1, &avail);
        if (!dst)
            return SLUICE_E_CANCELED;
        size_t k = n < avail ? n : avail;
        memcpy(dst, p, k);
        int rc = d->api->commit(d->out, k);
        if (rc < 0)
            return rc;
        d->delivered += k;
        p += k;
        n -= k;
    }
    return 0;
}

static int download_prepare(cc_req *r)
{
    cc_download *d = (cc_download *)r;
    d->started_ = 0;
    int rc = 0;
    if (d->sign)
        rc = d->sign(d, &r->headers);
    if (rc == 0 && d->delivered > 0) {
        d->api->log(d->host, SLUICE_LOG_INFO, "resuming at byte %llu",
                    (unsigned long long)d->delivered);
        char range[64];
        snprintf(range, sizeof range, "bytes=%llu-",
                 (unsigned long long)d->delivered);
        rc = cc_header(&r->headers, "Range", range);
        if (rc == 0 && d->etag[0])
            rc = cc_header(&r->headers, "If-Match", d->etag);
        else if (rc == 0 && d->last_modified[0])
            rc = cc_header(&r->headers, "If-Unmodified-Since",
                           d->last_modified);
    }
    return rc;
}

int cc_download_run(cc_conn *c, cc_download *d)
{
    cc_req *r = &d->req;
    d->delivered = 0;
    d->total = -1;
    d->etag[0] = d->last_modified[0] = '\0';
    r->method = "GET";
    r->prepare = download_prepare;
    r->on_data = download_data;
    r->resumable = 1;
    int rc = cc_perform(c, r);
    if (rc == SLUICE_E_NETWORK && r->status == 416 && d->total >= 0 &&
        d->delivered == (uint64_t)d->total)
        rc = 0; /* everything had arrived before the connection dropped */
    if (rc == SLUICE_E_NETWORK && r->status == 412 && d->delivered > 0)
        snprintf(r->failure, sizeof r->failure,
                 "the object changed while it was being downloaded "
                 "(HTTP 412 after %llu bytes)",
                 (unsigned long long)d->delivered);
    if (rc == 0 && d->total >= 0 && d->delivered != (uint64_t)d->total) {
        snprintf(r->failure, sizeof r->failure,
                 "got %llu of %lld bytes", (unsigned long long)d->delivered,
                 (long long)d->total);
        rc = SLUICE_E_NETWORK;
    }
    return rc;
}
