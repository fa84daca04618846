/*
 * unit-s3xml.c - the s3 stage's listing reader (plugins/s3-xml.c) on the
 * answers a real server gives (RGW's shape, pagination fields, entities)
 * and on what an attacker on the network could send instead: every one
 * must be refused with a reason, never read past its length, never
 * accepted half-parsed.  Also the name check that keeps a listing from
 * steering a delete outside the prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3-xml.h"
#include "tap.h"

typedef struct got {
    int n;
    char keys[512];
    uint64_t size_sum;
    int64_t last_mtime;
    char last_id[64];
} got;

static int collect(void *arg, const s3x_entry *e)
{
    got *g = arg;
    g->n++;
    size_t l = strlen(g->keys);
    snprintf(g->keys + l, sizeof g->keys - l, "%s%s", l ? "," : "", e->key);
    g->size_sum += e->size;
    g->last_mtime = e->mtime;
    snprintf(g->last_id, sizeof g->last_id, "%s",
             e->upload_id ? e->upload_id : "");
    return 0;
}

static int stop_at_first(void *arg, const s3x_entry *e)
{
    (void)e;
    (*(int *)arg)++;
    return -8; /* a host status */
}

/* Parses an objects page held in a buffer of exactly its length (no NUL
 * after it: ASan sees any read past the end). */
static int objects(const char *xml, got *g, s3x_page *pg, char *why)
{
    size_t n = strlen(xml);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, xml, n);
    memset(g, 0, sizeof *g);
    why[0] = '\0';
    int rc = s3x_parse_objects(copy, n, collect, g, pg, why, 200);
    free(copy);
    return rc;
}

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define ROOT_O "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"

int main(void)
{
    plan_no_plan();
    got g;
    s3x_page pg;
    char why[200];

    const char *good =
        HEAD ROOT_O "<Name>b</Name><Prefix>c/</Prefix><KeyCount>2</KeyCount>"
        "<MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>"
        "<NextContinuationToken>tok/+=</NextContinuationToken>\n"
        "<Contents><Key>c/INDEX</Key><LastModified>2026-12-03T17:44:11.123Z"
        "</LastModified><ETag>&quot;abc&quot;</ETag><Size>120</Size>"
        "<Owner><ID>u</ID><DisplayName>u</DisplayName></Owner>"
        "<StorageClass>STANDARD</StorageClass></Contents>\n"
        "<Contents><Key>c/backups/a&amp;b/data-1</Key><LastModified>"
        "2026-12-03T17:44:12Z</LastModified><Size>5</Size><Type/></Contents>"
        "</ListBucketResult>\n";
    is_int(objects(good, &g, &pg, why), 0, "a real page parses (%s)", why);
    is_int(g.n, 2, "... two entries");
    is_str(g.keys, "c/INDEX,c/backups/a&b/data-1", "... keys decoded");
    is_int((long long)g.size_sum, 125, "... sizes");
    is_int(g.last_mtime, 1796319852, "... times (UTC)");
    ok(pg.truncated && !strcmp(pg.next, "tok/+="), "... truncated, token");

    const char *last = ROOT_O "<IsTruncated>false</IsTruncated></ListBucketResult>";
    is_int(objects(last, &g, &pg, why), 0, "an empty last page");
    ok(!pg.truncated && g.n == 0, "... no entry, not truncated");

    int calls = 0;
    is_int(s3x_parse_objects(good, strlen(good), stop_at_first, &calls, &pg,
                             why, sizeof why),
           -8, "the callback's status stops the parse");
    is_int(calls, 1, "... at the first entry");

    static const struct {
        const char *xml, *why;
    } bad[] = {
        {"", "empty answer"},
        {"<Error><Code>x</Code></Error>", "where <ListBucketResult>"},
        {ROOT_O "<IsTruncated>false</IsTruncated>", "not closed"},
        {ROOT_O "<IsTruncated>false</IsTruncated></ListBucketResult>junk",
         "bytes after"},
        {ROOT_O "</ListBucketResult>", "no <IsTruncated>"},
        {ROOT_O "<IsTruncated>true</IsTruncated></ListBucketResult>",
         "truncated without"},
        {ROOT_O "<IsTruncated>maybe</IsTruncated></ListBucketResult>",
         "<IsTruncated>maybe"},
        {ROOT_O "<IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
                "<Size>1</Size></Contents></ListBucketResult>",
         "without its Key"},
        {ROOT_O "<IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
                "<Size>-1</Size><LastModified>2026-12-03T17:44:11Z"
                "</LastModified></Contents></ListBucketResult>",
         "not a size"},
        {ROOT_O "<IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
                "<Size>99999999999999999999</Size><LastModified>2026-12-03T"
                "17:44:11Z</LastModified></Contents></ListBucketResult>",
         "not a size"},
        {ROOT_O "<IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
                "<Size>1</Size><LastModified>yesterday</LastModified>"
                "</Contents></ListBucketResult>",
         "not a time"},
        {ROOT_O "<IsTruncated>false</IsTruncated><Contents><Key>a&#0;b"
                "</Key></Contents></ListBucketResult>",
         "unknown entity"},
        {ROOT_O "<IsTruncated>false</IsTruncated><Contents><Key>a&foo;b"
                "</Key></Contents></ListBucketResult>",
         "unknown entity"},
        {ROOT_O "<!-- c --><IsTruncated>false</IsTruncated></ListBucketResult>",
         "comments"},
        {ROOT_O "<IsTruncated><![CDATA[false]]></IsTruncated></ListBucketResult>",
         "comments"},
        {"<!DOCTYPE x [<!ENTITY a \"b\">]>" ROOT_O "</ListBucketResult>",
         "where an element belongs"},
        {ROOT_O "text<IsTruncated>false</IsTruncated></ListBucketResult>",
         "where an element belongs"},
        {ROOT_O "<IsTruncated>false</Istruncated></ListBucketResult>",
         "closed by"},
        {ROOT_O "<IsTruncated>fa<b>l</b>se</IsTruncated></ListBucketResult>",
         "markup, not text"},
        {ROOT_O "<IsTruncated attr=\"<\">false</IsTruncated></ListBucketResult>",
         "unterminated tag"},
        {"<?xml version=\"1.0\"" ROOT_O, "unterminated XML declaration"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = objects(bad[i].xml, &g, &pg, why);
        ok(rc == -1 && strstr(why, bad[i].why),
           "refused: %.50s... (%s)", bad[i].xml, why);
    }

    /* The message quotes the answer's text: never its control characters
     * (a newline or an escape sequence from the network). */
    static const char *ctl[] = {
        ROOT_O "<IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
               "<Size>1&#10;2</Size><LastModified>2026-12-03T17:44:11Z"
               "</LastModified></Contents></ListBucketResult>",
        ROOT_O "<IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
               "<Size>1</Size><LastModified>2026-12-0\x1b[2JT00:00:00Z"
               "</LastModified></Contents></ListBucketResult>",
        ROOT_O "<IsTruncated>tr\rue</IsTruncated></ListBucketResult>",
    };
    for (size_t i = 0; i < sizeof ctl / sizeof *ctl; i++) {
        int rc = objects(ctl[i], &g, &pg, why), clean = 1;
        for (const char *c = why; *c; c++)
            clean &= (unsigned char)*c >= 0x20 && *c != 0x7f;
        ok(rc == -1 && why[0] && clean,
           "refused with a message without control characters: %s", why);
    }

    /* Nesting deeper than the bound; a key longer than S3X_FIELD_MAX. */
    char deep[4096] = ROOT_O "<IsTruncated>false</IsTruncated><X>";
    for (int i = 0; i < 40; i++)
        strcat(deep, "<a>");
    for (int i = 0; i < 40; i++)
        strcat(deep, "</a>");
    strcat(deep, "</X></ListBucketResult>");
    ok(objects(deep, &g, &pg, why) == -1 && strstr(why, "nested"),
       "deep nesting refused (%s)", why);
    char *longkey = malloc(3000);
    strcpy(longkey, ROOT_O "<IsTruncated>false</IsTruncated><Contents><Key>");
    size_t l = strlen(longkey);
    memset(longkey + l, 'k', 1100);
    strcpy(longkey + l + 1100, "</Key></Contents></ListBucketResult>");
    ok(objects(longkey, &g, &pg, why) == -1 && strstr(why, "longer than"),
       "a key over %d bytes refused (%s)", S3X_FIELD_MAX, why);
    free(longkey);
    /* Every prefix of a good answer is refused, never read past. */
    int cut_ok = 1;
    for (size_t n = 0; n + 1 < strlen(good); n++) {
        char *c = malloc(n ? n : 1);
        memcpy(c, good, n);
        int rc = s3x_parse_objects(c, n, collect, &g, &pg, why, sizeof why);
        free(c);
        /* The only complete prefix is the whole answer minus "\n". */
        cut_ok &= rc == -1 || n == strlen(good) - 1;
    }
    ok(cut_ok, "every truncation of the answer is refused");

    /* ListMultipartUploads. */
    const char *up =
        HEAD "<ListMultipartUploadsResult><Bucket>b</Bucket><KeyMarker/>"
        "<UploadIdMarker></UploadIdMarker><NextKeyMarker>c/k2</NextKeyMarker>"
        "<NextUploadIdMarker>2~x</NextUploadIdMarker><MaxUploads>1000"
        "</MaxUploads><IsTruncated>true</IsTruncated><Upload><Key>c/k1</Key>"
        "<UploadId>2~abc</UploadId><Initiator><ID>u</ID></Initiator>"
        "<Initiated>2026-12-01T00:00:00.000Z</Initiated></Upload>"
        "</ListMultipartUploadsResult>";
    memset(&g, 0, sizeof g);
    is_int(s3x_parse_uploads(up, strlen(up), collect, &g, &pg, why,
                             sizeof why),
           0, "an uploads page parses (%s)", why);
    ok(g.n == 1 && !strcmp(g.keys, "c/k1") && !strcmp(g.last_id, "2~abc") &&
           g.last_mtime == 1796083200,
       "... key, upload id, initiated");
    ok(pg.truncated && !strcmp(pg.next, "c/k2") && !strcmp(pg.next_id, "2~x"),
       "... markers for the next page");
    const char *noid = "<ListMultipartUploadsResult><IsTruncated>false"
                       "</IsTruncated><Upload><Key>k</Key><Initiated>"
                       "2026-12-01T00:00:00Z</Initiated></Upload>"
                       "</ListMultipartUploadsResult>";
    ok(s3x_parse_uploads(noid, strlen(noid), collect, &g, &pg, why,
                         sizeof why) == -1,
       "an upload without its UploadId is refused (%s)", why);
    ok(s3x_parse_uploads(good, strlen(good), collect, &g, &pg, why,
                         sizeof why) == -1,
       "an objects page is not an uploads page");

    /* Names the host may act on. */
    ok(s3x_safe_name("backups/ID/data-1") && s3x_safe_name("INDEX") &&
           s3x_safe_name(".hidden"),
       "plain names are safe");
    static const char *unsafe[] = {"", "/abs", "a//b", "a/", "../x",
                                   "a/../b", "a/./b", ".", "a/\x01b",
                                   "a/\x7f"};
    int all = 1;
    for (size_t i = 0; i < sizeof unsafe / sizeof *unsafe; i++)
        all &= !s3x_safe_name(unsafe[i]);
    ok(all, "empty, absolute, dot and control-character names are not");
    int64_t t;
    ok(s3x_parse_time("2026-02-30T00:00:00Z", &t) == 0 &&
           s3x_parse_time("2026-13-01T00:00:00Z", &t) == -1 &&
           s3x_parse_time("2026-12-01T00:00:00.Z", &t) == -1 &&
           s3x_parse_time("2026-12-01 00:00:00Z", &t) == -1 &&
           s3x_parse_time("2026-12-01T00:00:00+01:00", &t) == -1,
       "times: only the ISO 8601 UTC form");
    return done();
}
