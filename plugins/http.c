/*
 * http.c - the `http` stage: http:// and https:// URLs as either end of
 * a chain (https:// maps here too).
 *
 * As a source it downloads with GET (redirects followed), streaming into
 * the chain's output blocks, and resumes with Range after a dropped
 * connection (pinned to the first answer's ETag or Last-Modified).
 *
 * As a sink it uploads with PUT, as WebDAV servers take it (nginx
 * dav_methods PUT, Apache mod_dav...).  A stream that fits in the first
 * 8 MiB goes up in one PUT with a Content-Length, retried as needed.  A
 * longer one is streamed with chunked transfer encoding: memory stays at
 * 8 MiB whatever the size, and a failure while the first 8 MiB are being
 * sent is still retried from the copy in memory; past that a dropped
 * connection fails the run (a stream cannot be rewound).  On failure or
 * cancellation the transfer is cut without its final chunk, so the server
 * sees an incomplete body and discards it: no partial file appears (nginx
 * writes PUT bodies to a temporary file and renames it into place only
 * when complete).
 *
 * TLS certificates are verified unless --insecure is given.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curl-common.h"
#include "sluice/plugin.h"

#define HTTP_FIRST (8u * 1024u * 1024u) /* replayable head of an upload */

typedef struct http_ctx {
    const sluice_api *api;
    sluice_host *host;
    unsigned role;
    char *url;
    char display[1024]; /* url without credentials */
    cc_client cl;
    cc_conn conn;

    /* upload */
    sluice_input *in;
    uint8_t *first;      /* the head of the stream, kept for retries */
    size_t first_len;
    size_t first_off;    /* sent of first, this attempt */
    const uint8_t *pend; /* rest of the current input block */
    size_t pend_len;
    int past_first;      /* read input beyond the head: no more retries */
    int in_eof;
    uint64_t streamed;   /* body bytes handed to curl past the head */
} http_ctx;

/* " Forbidden" or "" */
#define R(r) ((r)->reason[0] ? " " : ""), (r)->reason

static int http_fail(http_ctx *h, sluice_error *err, const char *doing,
                     cc_req *r)
{
    long st = r->cres == CURLE_OK ? r->status : 0;
    if (st == 401 || st == 403)
        return sluice_error_set(err, SLUICE_E_NETWORK,
                                "%s: access denied (HTTP %ld%s%s)%s",
                                h->display, st, R(r),
                                st == 401 ? ": give user:password@ in the "
                                            "URL or in ~/.netrc"
                                          : "");
    if (st == 404 && h->role == SLUICE_ROLE_SOURCE)
        return sluice_error_set(err, SLUICE_E_NETWORK,
                                "%s: not found (HTTP 404)", h->display);
    if (st == 405 || st == 501)
        return sluice_error_set(err, SLUICE_E_NETWORK,
                                "%s: the server does not accept %s (HTTP "
                                "%ld%s%s): is WebDAV PUT enabled there?",
                                h->display, r->method, st, R(r));
    if (st == 409)
        return sluice_error_set(err, SLUICE_E_NETWORK,
                                "%s: HTTP 409 Conflict: does the parent "
                                "directory exist on the server?",
                                h->display);
    if (st == 411)
        return sluice_error_set(err, SLUICE_E_NETWORK,
                                "%s: the server wants a Content-Length "
                                "(HTTP 411): it does not take streamed "
                                "(chunked) uploads", h->display);
    if (st == 413)
        return sluice_error_set(err, SLUICE_E_NETWORK,
                                "%s: too large for the server (HTTP 413): "
                                "raise its body size limit "
                                "(nginx: client_max_body_size 0)",
                                h->display);
    return sluice_error_set(err, SLUICE_E_NETWORK, "%s %s: %s", doing,
                            h->display, r->failure);
}

static int http_open(const sluice_stage_args *args, void **out,
                     sluice_error *err)
{
    const char *url = sluice_kv_get(args->options, args->n_options, "url");
    if (!url || !*url)
        return sluice_error_set(err, SLUICE_E_USAGE, "no URL given");
    if (args->n_params)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "takes no parameters (got '%s')",
                                args->params[0].key);
    char shown[1024];
    cc_redact_url(url, shown, sizeof shown);
    size_t skip = strncasecmp(url, "http://", 7) == 0    ? 7
                  : strncasecmp(url, "https://", 8) == 0 ? 8
                                                         : 0;
    if (!skip)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "'%s': expected http://HOST/PATH or "
                                "https://HOST/PATH", shown);
    const char *hostpart = url + skip;
    size_t hlen = strcspn(hostpart, "/?#");
    if (hlen == 0)
        return sluice_error_set(err, SLUICE_E_USAGE, "'%s': no host", shown);
    const char *path = hostpart + hlen;
    size_t plen = strcspn(path, "?#");
    if (args->role == SLUICE_ROLE_SINK && (plen == 0 || path[plen - 1] == '/'))
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "'%s': give a file name to PUT, not a "
                                "directory", shown);
    if (strchr(url, ' ') || strchr(url, '\n'))
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "'%s': spaces must be written %%20", shown);
    http_ctx *h = calloc(1, sizeof *h);
    if (!h || !(h->url = strdup(url))) {
        free(h);
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    h->api = args->api;
    h->host = args->host;
    h->role = args->role;
    snprintf(h->display, sizeof h->display, "%s", shown);
    int rc = cc_client_init(&h->cl, args->api, args->host, args->options,
                            args->n_options, err);
    if (rc == 0) {
        const char *ca = getenv("CURL_CA_BUNDLE");
        h->cl.ca_file = ca && *ca ? ca : NULL;
        h->cl.use_netrc = 1;
        if (cc_conn_init(&h->conn, &h->cl) < 0)
            rc = sluice_error_set(err, SLUICE_E_NOMEM,
                                  "cannot start libcurl");
    }
    if (rc < 0) {
        free(h->url);
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

/* ---- download ------------------------------------------------------------- */

static int run_source(http_ctx *h, sluice_output *out, sluice_error *err)
{
    cc_download d;
    memset(&d, 0, sizeof d);
    d.req.url = h->url;
    d.req.what = "GET";
    d.api = h->api;
    d.out = out;
    d.host = h->host;
    h->cl.follow_redirects = 1;
    int rc = cc_download_run(&h->conn, &d);
    if (rc == SLUICE_E_NETWORK)
        rc = http_fail(h, err, "cannot download", &d.req);
    else if (rc == 0) {
        char size[32];
        cc_format_size(d.delivered, size, sizeof size);
        h->api->log(h->host, SLUICE_LOG_INFO, "downloaded %s (%s)",
                    h->display, size);
    }
    cc_req_free(&d.req);
    return rc;
}

/* ---- upload --------------------------------------------------------------- */

static ptrdiff_t stream_read(cc_req *r, uint8_t *buf, size_t max)
{
    http_ctx *h = r->arg;
    if (h->first_off < h->first_len) {
        size_t n = h->first_len - h->first_off;
        if (n > max)
            n = max;
        memcpy(buf, h->first + h->first_off, n);
        h->first_off += n;
        return (ptrdiff_t)n;
    }
    if (!h->pend_len && !h->in_eof) {
        h->past_first = 1;
        const uint8_t *p;
        ptrdiff_t n = h->api->read_next(h->in, &p);
        if (n < 0)
            return n; /* aborts the transfer: no final chunk is sent */
        /* The final chunk completes the upload: not once the chain is
         * aborted (a signal that came after the last block). */
        if (n == 0 && h->api->cancelled(h->host))
            return SLUICE_E_CANCELED;
        if (n == 0)
            h->in_eof = 1;
        h->pend = p;
        h->pend_len = (size_t)n;
    }
    size_t n = h->pend_len < max ? h->pend_len : max;
    memcpy(buf, h->pend, n);
    h->pend += n;
    h->pend_len -= n;
    h->streamed += n;
    return (ptrdiff_t)n;
}

static int stream_can_retry(cc_req *r)
{
    http_ctx *h = r->arg;
    if (h->past_first)
        return 0;
    h->first_off = 0; /* replay the head */
    return 1;
}

static int run_sink(http_ctx *h, sluice_input *in, sluice_error *err)
{
    h->in = in;
    h->first = malloc(HTTP_FIRST);
    if (!h->first)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    ptrdiff_t n = h->api->read(in, h->first, HTTP_FIRST);
    if (n < 0)
        return (int)n;
    h->first_len = (size_t)n;
    cc_req r;
    memset(&r, 0, sizeof r);
    r.method = "PUT";
    r.url = h->url;
    r.arg = h;
    r.what = "PUT";
    if ((size_t)n < HTTP_FIRST && h->api->cancelled(h->host))
        return SLUICE_E_CANCELED; /* all read, but aborted: no PUT */
    if ((size_t)n < HTTP_FIRST) {
        r.has_body = 1;
        r.body = h->first;
        r.body_len = h->first_len;
    } else {
        r.read = stream_read;
        r.stream_len = -1;
        r.can_retry = stream_can_retry;
        h->api->log(h->host, SLUICE_LOG_INFO,
                    "streaming to %s (chunked PUT)", h->display);
    }
    int rc = cc_perform(&h->conn, &r);
    uint64_t total = h->first_len + h->streamed;
    if (rc == 0 && r.read && !h->in_eof) {
        /* The server answered before the stream ended. */
        rc = sluice_error_set(err, SLUICE_E_NETWORK,
                              "%s: the server answered HTTP %ld before the "
                              "upload was complete", h->display, r.status);
    } else if (rc == SLUICE_E_NETWORK) {
        rc = http_fail(h, err, "cannot upload to", &r);
        if (r.read && h->past_first && r.cres != CURLE_OK) {
            char sent[32];
            cc_format_size(total, sent, sizeof sent);
            size_t len = strlen(err->message);
            snprintf(err->message + len, sizeof err->message - len,
                     " after %s (a streamed upload cannot be retried past "
                     "its first 8 MiB)", sent);
        }
    } else if (rc == 0) {
        char size[32];
        cc_format_size(total, size, sizeof size);
        h->api->log(h->host, SLUICE_LOG_INFO, "uploaded %s (%s, HTTP %ld)",
                    h->display, size, r.status);
    }
    cc_req_free(&r);
    return rc;
}

static int http_run(void *ctx, sluice_input *in, sluice_output *out,
                    sluice_error *err)
{
    http_ctx *h = ctx;
    return h->role == SLUICE_ROLE_SOURCE ? run_source(h, out, err)
                                         : run_sink(h, in, err);
}

static void http_close(void *ctx)
{
    http_ctx *h = ctx;
    if (!h)
        return;
    cc_conn_free(&h->conn);
    free(h->first);
    free(h->url);
    free(h);
}

/* ABI 1.2: the keys this stage accepts (`sluice stages -v`). */
static const sluice_key keys[] = {
    {"url", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "http:// or https:// URL"},
    {"insecure", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "1 = do not verify TLS certificates"},
    {"verbose", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "1 = say more, 2 = trace requests"},
    {NULL, 0, NULL},
};

static const sluice_stage stages[] = {{
    "http",
    "HTTP(S) URL: GET to read (resumes), PUT to write (WebDAV)",
    SLUICE_ROLE_SOURCE | SLUICE_ROLE_SINK,
    SLUICE_ROLE_SOURCE | SLUICE_ROLE_SINK,
    0,
    http_open,
    http_run,
    NULL,
    http_close,
    NULL, /* remove (ABI 1.1) */
    keys,
    NULL, /* list (ABI 1.3) */
    NULL, /* binding (ABI 1.4) */
}};

static const sluice_plugin plugin =
    SLUICE_PLUGIN_INIT("http", "0.1.0", stages);

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
