/*
 * curl-common.h - what the s3 and http stages share on top of libcurl:
 * one request with retries (backoff with jitter, a bounded budget),
 * cancellation (the host's abort flag polled from curl's progress
 * callback), stall detection, TLS settings, and failure descriptions
 * that fit in one line.
 *
 * Threads: a cc_conn (one curl easy handle, so one kept-alive connection)
 * belongs to one thread at a time; the cc_client settings are read-only
 * once set and shared.
 */
#ifndef SLUICE_CURL_COMMON_H
#define SLUICE_CURL_COMMON_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/plugin.h"

/* Defaults; SLUICE_NET_RETRIES, SLUICE_NET_RETRY_SECONDS and
 * SLUICE_NET_STALL_SECONDS override them (see doc/S3.md). */
#define CC_DEFAULT_ATTEMPTS 10
#define CC_DEFAULT_RETRY_SECONDS 120.0
#define CC_DEFAULT_STALL_SECONDS 60.0
#define CC_CONNECT_TIMEOUT 15L
#define CC_BACKOFF_BASE 0.25 /* seconds; doubles per attempt      */
#define CC_BACKOFF_MAX 10.0  /* seconds; before jitter            */

typedef struct cc_client {
    const sluice_api *api;
    sluice_host *host;
    int insecure;        /* no TLS verification (--insecure)           */
    int verbose;         /* 0, 1 (-v), 2 (-vv)                         */
    int max_attempts;    /* per request, >= 1                          */
    double retry_seconds;/* no retry starts later than this after the
                            first failure without progress            */
    double stall_seconds;/* an attempt moving no byte this long fails */
    const char *ca_file; /* CA bundle, or NULL for the system's        */
    int follow_redirects;
    int use_netrc;       /* credentials from ~/.netrc (http stage)     */
    int reached_;        /* a server answered once (atomic): until then
                            a refused connection is not worth 10 tries */
} cc_client;

/* Fills c with defaults and the SLUICE_NET_* overrides; returns 0 or a
 * usage error in err. */
int cc_client_init(cc_client *c, const sluice_api *api, sluice_host *host,
                   const sluice_kv *options, size_t n_options,
                   sluice_error *err);

typedef struct cc_conn {
    cc_client *cl;
    CURL *easy;
    unsigned seed; /* jitter */
} cc_conn;

int cc_conn_init(cc_conn *c, cc_client *cl);
void cc_conn_free(cc_conn *c);

typedef struct cc_req cc_req;

/* What one request is; fill the inputs, call cc_perform, read the
 * outputs.  Inputs stay untouched by cc_perform. */
struct cc_req {
    /* -- inputs -- */
    const char *method;   /* GET, HEAD, PUT, POST, DELETE               */
    const char *url;
    /* Called before every attempt: sets r->headers (a list the caller
     * owns and frees; cc_perform uses it for that attempt only), e.g. to
     * sign with the current time or to add a Range header.  Returns 0 or
     * a status. */
    int (*prepare)(cc_req *r);
    struct curl_slist *headers;
    /* Request body from memory (has_body), replayed on retry ... */
    int has_body;
    const uint8_t *body;
    size_t body_len;
    /* ... or streamed: read() fills up to max bytes, returns the count,
     * 0 at end, or a negative status to abort the transfer (no final
     * chunk is sent, so the server discards the partial body).  Sent
     * chunked unless stream_len >= 0. */
    ptrdiff_t (*read)(cc_req *r, uint8_t *buf, size_t max);
    int64_t stream_len;
    /* May another attempt be made?  (a streamed body cannot always be
     * replayed).  NULL = yes. */
    int (*can_retry)(cc_req *r);
    /* Successful (2xx) response bodies go here when set; the rest is
     * collected in resp.  Returns 0 or a status (which ends the request
     * without retry). */
    int (*on_data)(cc_req *r, const uint8_t *p, size_t n);
    /* An attempt resumes where the last one stopped (a ranged download):
     * bytes received are progress and start the retry budget anew.  0:
     * every attempt starts over (a listing page), so they are not. */
    int resumable;
    void *arg;            /* for the callbacks                          */
    int ignore_cancel;    /* cleanup requests that must run even when
                             the chain is being aborted                 */
    const int *stop;      /* when set and nonzero: end the transfer as if
                             cancelled (a sibling request failed)       */
    const char *what;     /* for retry log lines: "part 3", "GET", ...  */

    /* -- outputs (per the last attempt) -- */
    long status;          /* HTTP status, 0 if none arrived             */
    CURLcode cres;
    int attempts;
    double seconds;       /* from the first attempt to the end          */
    char reason[64];      /* the status line's reason phrase            */
    char etag[160];
    char content_range[96];
    char last_modified[64];
    char bucket_region[64];/* x-amz-bucket-region                        */
    int64_t content_length;/* of the response, -1 if unknown            */
    char *resp;           /* non-2xx body (or 2xx without on_data),
                             NUL-terminated, capped at CC_RESP_MAX      */
    size_t resp_len;
    uint64_t received;    /* bytes handed to on_data, this attempt      */
    uint64_t sent;        /* body bytes sent, this attempt              */
    char failure[384];    /* why the last attempt failed, one line      */

    /* -- private -- */
    CURL *easy_;
    const cc_conn *conn_;
    size_t body_off_;
    int data_status_;
    int stalled_;
    int cancelled_;
    double last_progress_;
    curl_off_t last_dl_, last_ul_;
    size_t resp_cap_;
    char errbuf_[CURL_ERROR_SIZE];
};

#define CC_RESP_MAX (256u * 1024u)

/* Runs r with retries.  Returns 0 when a 2xx answer arrived in full;
 * SLUICE_E_CANCELED when the chain was aborted (unless ignore_cancel);
 * a status from a callback; or SLUICE_E_NETWORK with r->failure set. */
int cc_perform(cc_conn *c, cc_req *r);

/* Frees what cc_perform allocated in r (resp). */
void cc_req_free(cc_req *r);

/* ---- resumable download ------------------------------------------------
 * GET url into the stage's output, zero-copy from curl's buffer into
 * reserved output blocks.  After a dropped connection the next attempt
 * asks for the rest with Range, pinned to the first answer's ETag
 * (If-Match) or Last-Modified (If-Unmodified-Since), so a changed object
 * fails (412) instead of splicing two versions. */
typedef struct cc_download {
    cc_req req;             /* first member; set url, what, arg         */
    /* Adds authentication (e.g. SigV4) to *headers; may be NULL. */
    int (*sign)(struct cc_download *d, struct curl_slist **headers);
    const sluice_api *api;
    sluice_output *out;
    sluice_host *host;
    /* -- results -- */
    uint64_t delivered;     /* bytes committed to the output            */
    int64_t total;          /* object size, -1 until known              */
    char etag[160];
    char last_modified[64];
    uint64_t skip_;         /* private                                  */
    int started_;
} cc_download;

/* Returns 0 once the whole object was written; else as cc_perform, with
 * d->req describing the failure. */
int cc_download_run(cc_conn *c, cc_download *d);

/* Status classes. */
int cc_status_retryable(long status);

/* The text of <tag>...</tag> in xml into out (empty if absent). */
void cc_xml_tag(const char *xml, const char *tag, char *out, size_t cap);

/* url for a message, into out: user:password@ shown as ***@, and the
 * values of query parameters that carry credentials (X-Amz-Signature,
 * X-Amz-Credential, X-Amz-Security-Token, Signature, sig, token,
 * password, ...; any case) as ***.  The host redacts every line it
 * prints as well; this keeps the stage's own strings clean. */
void cc_redact_url(const char *url, char *out, size_t cap);

/* Seconds on a monotonic clock. */
double cc_now(void);

/* Sleeps s seconds unless the chain is aborted first (returns
 * SLUICE_E_CANCELED then, 0 otherwise). */
int cc_sleep(const cc_client *cl, double s, int ignore_cancel);

/* Appends "name: value" to *list; returns 0 or SLUICE_E_NOMEM. */
int cc_header(struct curl_slist **list, const char *name, const char *value);

/* Parses a size such as "8M", "16MiB", "1G" or "1048576"; 0 on success. */
int cc_parse_size(const char *s, uint64_t *out);

/* Formats n bytes for humans ("8 MiB", "1.5 GiB") into out. */
void cc_format_size(uint64_t n, char *out, size_t cap);

#endif
