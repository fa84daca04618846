/*
 * archive.c - the `archive` stage: tar-compatible archives of files with
 * libarchive.  Forward (sluice -c) it is the SOURCE of a pax archive;
 * reverse it is the SINK that extracts one (sluice -x), or, with the
 * option list=1, a TRANSFORM turning one into a listing (sluice -t).
 *
 * This file holds what the roles share: the stage table, option
 * parsing, the reader over the input stream, member selection and name
 * escaping.  See archive-stage.h for the map of the other files.
 */
#include "archive-stage.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- options ------------------------------------------------------------ */

static int parse_flag(const char *key, const char *v, int *out,
                      sluice_error *err)
{
    if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false")) {
        *out = 0;
        return 0;
    }
    return sluice_error_set(err, SLUICE_E_USAGE,
                            "option %s: '%s' is not 0 or 1", key, v);
}

/* strip-components: a plain decimal count (tar refuses "x", "-1", "").
 * Names are at most PATH_MAX bytes, so no more components than that. */
static int parse_count(const char *key, const char *v, unsigned *out,
                       sluice_error *err)
{
    unsigned long n = 0;
    const char *p = v;
    for (; *p >= '0' && *p <= '9' && n <= 4096; p++)
        n = n * 10 + (unsigned long)(*p - '0');
    if (p == v || *p || n > 4096)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "option %s: '%s' is not a number of "
                                "components: 0..4096", key, v);
    *out = (unsigned)n;
    return 0;
}

/* old-files: what -x does when a member's name exists on disk. */
static int parse_old_files(const char *v, int *out, sluice_error *err)
{
    if (!strcmp(v, "replace"))
        *out = ARCH_OLD_REPLACE;
    else if (!strcmp(v, "keep"))
        *out = ARCH_OLD_KEEP;
    else if (!strcmp(v, "skip"))
        *out = ARCH_OLD_SKIP;
    else
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "option old-files: '%s' is not replace, "
                                "keep or skip", v);
    return 0;
}

static int push_str(char ***arr, size_t *n, const char *v)
{
    char **grown = realloc(*arr, (*n + 1) * sizeof **arr);
    if (!grown)
        return -1;
    *arr = grown;
    if (!(grown[*n] = strdup(v)))
        return -1;
    (*n)++;
    return 0;
}

static void ctx_free(arch_ctx *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_args; i++)
        free(c->args[i]);
    for (size_t i = 0; i < c->n_excludes; i++)
        free(c->excludes[i]);
    free(c->args);
    free(c->excludes);
    free(c->directory);
    free(c->files_from);
    free(c->output);
    free(c->matched);
    if (c->exact) {
        for (size_t i = 0; i < c->n_args; i++)
            free(c->exact[i].name);
        free(c->exact);
    }
    if (c->dirfd >= 0)
        close(c->dirfd);
    free(c);
}

static int parse_options(arch_ctx *c, const sluice_stage_args *args,
                         int *list, sluice_error *err)
{
    for (size_t i = 0; i < args->n_options; i++) {
        const char *k = args->options[i].key, *v = args->options[i].value;
        int rc = 0, oom = 0;
        if (!k || !v)
            continue;
        if (!strcmp(k, "directory")) {
            free(c->directory);
            oom = !(c->directory = strdup(v));
        } else if (!strcmp(k, "arg")) {
            oom = push_str(&c->args, &c->n_args, v) < 0;
        } else if (!strcmp(k, "exclude")) {
            oom = push_str(&c->excludes, &c->n_excludes, v) < 0;
        } else if (!strcmp(k, "files-from")) {
            free(c->files_from);
            oom = !(c->files_from = strdup(v));
        } else if (!strcmp(k, "output")) {
            free(c->output);
            oom = !(c->output = strdup(v));
        } else if (!strcmp(k, "null")) {
            rc = parse_flag(k, v, &c->null_sep, err);
        } else if (!strcmp(k, "one-file-system")) {
            rc = parse_flag(k, v, &c->one_fs, err);
        } else if (!strcmp(k, "same-owner")) {
            rc = parse_flag(k, v, &c->same_owner, err);
        } else if (!strcmp(k, "numeric-owner")) {
            rc = parse_flag(k, v, &c->numeric_owner, err);
        } else if (!strcmp(k, "preserve-permissions")) {
            rc = parse_flag(k, v, &c->preserve_perms, err);
        } else if (!strcmp(k, "scanned")) {
            rc = parse_flag(k, v, &c->scanned, err);
        } else if (!strcmp(k, "no-recursion")) {
            rc = parse_flag(k, v, &c->no_recursion, err);
        } else if (!strcmp(k, "progress")) {
            rc = parse_flag(k, v, &c->progress, err);
        } else if (!strcmp(k, "list")) {
            rc = parse_flag(k, v, list, err);
        } else if (!strcmp(k, "to-stdout")) {
            rc = parse_flag(k, v, &c->to_stdout, err);
        } else if (!strcmp(k, "wildcards")) {
            rc = parse_flag(k, v, &c->wildcards, err);
        } else if (!strcmp(k, "old-files")) {
            rc = parse_old_files(v, &c->old_files, err);
        } else if (!strcmp(k, "strip-components")) {
            rc = parse_count(k, v, &c->strip, err);
        } else if (!strcmp(k, "verbose")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || !*v || n < 0)
                rc = sluice_error_set(err, SLUICE_E_USAGE,
                                      "option verbose: '%s' is not a level",
                                      v);
            else
                c->verbose = n > 2 ? 2 : (int)n;
        }
        /* Options of other stages ("threads", "path", ...): ignored. */
        if (oom)
            return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int archive_open(const sluice_stage_args *args, void **out,
                        sluice_error *err)
{
    if (args->n_params)
        return sluice_error_set(err, args->direction == SLUICE_FORWARD
                                         ? SLUICE_E_USAGE
                                         : SLUICE_E_FORMAT,
                                "takes no parameters (got '%s')",
                                args->params[0].key);
    arch_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    c->api = args->api;
    c->host = args->host;
    c->direction = args->direction;
    c->role = args->role;
    c->dirfd = -1;
    c->same_owner = -1;
    c->preserve_perms = -1;
    int list = 0;
    int rc = parse_options(c, args, &list, err);

    /* Scan records list every entry, each checked against its record:
     * a directory's own walk would add unchecked ones (and twice). */
    if (rc == 0 && c->scanned)
        c->no_recursion = 1;
    if (rc == 0 && c->direction == SLUICE_FORWARD) {
        if (c->role != SLUICE_ROLE_SOURCE)
            rc = sluice_error_set(err, SLUICE_E_USAGE,
                                  "can only be the source of a backup");
        else if (c->n_args == 0 && !c->files_from)
            rc = sluice_error_set(err, SLUICE_E_USAGE,
                                  "no paths to archive (give PATH "
                                  "arguments or -T FILE)");
    } else if (rc == 0) {
        if (c->role == SLUICE_ROLE_SINK && (list || c->to_stdout))
            rc = sluice_error_set(err, SLUICE_E_USAGE,
                                  "%s=1 needs an output (the archive "
                                  "stage must be a transform)",
                                  list ? "list" : "to-stdout");
        else if (c->role != SLUICE_ROLE_SINK &&
                 c->role != SLUICE_ROLE_TRANSFORM)
            rc = sluice_error_set(err, SLUICE_E_USAGE,
                                  "cannot be a source on restore");
        if (rc == 0 && c->n_args &&
            !(c->matched = calloc(c->n_args, 1)))
            rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    /* -C: checked now, so a typo fails before anything runs.  Listing
     * touches no directory. */
    if (rc == 0 && c->role != SLUICE_ROLE_TRANSFORM) {
        if (c->directory && *c->directory) {
            c->dirfd = open(c->directory,
                            O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (c->dirfd < 0)
                rc = sluice_error_set(err, SLUICE_E_IO,
                                      "cannot change to directory %s: %s",
                                      c->directory, strerror(errno));
        } else {
            c->dirfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (c->dirfd < 0)
                rc = sluice_error_set(err, SLUICE_E_IO,
                                      "cannot open the current directory: "
                                      "%s", strerror(errno));
        }
    }
    if (rc < 0) {
        ctx_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* libarchive converts names between the locale's charset and UTF-8 (pax
 * headers are UTF-8).  sluice never calls setlocale, so the process runs
 * in "C", where non-ASCII names would be mangled; this thread alone
 * switches LC_CTYPE to UTF-8, leaving the process locale alone. */
static void thread_locale_enter(arch_ctx *c)
{
    static const char *const names[] = {"C.UTF-8", "C.utf8", "en_US.UTF-8"};
    c->loc = (locale_t)0;
    for (size_t i = 0; !c->loc && i < sizeof names / sizeof names[0]; i++)
        c->loc = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
    if (c->loc)
        c->saved_loc = uselocale(c->loc);
}

static void thread_locale_leave(arch_ctx *c)
{
    if (c->loc) {
        uselocale(c->saved_loc);
        freelocale(c->loc);
        c->loc = (locale_t)0;
    }
}

static int archive_run(void *ctx, sluice_input *in, sluice_output *out,
                       sluice_error *err)
{
    arch_ctx *c = ctx;
    int rc;
    thread_locale_enter(c);
    if (c->direction == SLUICE_FORWARD)
        rc = arch_create(c, out, err);
    else if (c->role == SLUICE_ROLE_TRANSFORM)
        rc = arch_list(c, in, out, err);
    else
        rc = arch_extract(c, in, err);
    thread_locale_leave(c);
    return rc; /* with SLUICE_E_CANCELED, err may hold context */
}

static void archive_close(void *ctx)
{
    ctx_free(ctx);
}

/* ---- reading an archive from the input stream --------------------------- */

static la_ssize_t read_cb(struct archive *a, void *ud, const void **buf)
{
    arch_ctx *c = ud;
    const uint8_t *p;
    if (c->before_read)
        c->before_read(c->before_read_arg);
    ptrdiff_t n = c->api->read_next(c->in, &p);
    if (n < 0) {
        c->io_status = (int)n;
        archive_set_error(a, EIO, "the input stream failed");
        return -1;
    }
    *buf = p; /* valid until the next call: what libarchive expects */
    return (la_ssize_t)n;
}

/* The archive formats -x and -t read: those bsdtar users expect, but not
 * libarchive's "mtree" and "raw", which take almost any text or bytes for
 * an archive (a text file read as mtree lists one junk path per line, and
 * -x would create them): input that is no archive is refused before
 * anything is written.  doc/FORMAT.md section 4 lists them. */
static void support_archive_formats(struct archive *a)
{
    archive_read_support_format_tar(a); /* ustar, pax, GNU, v7 */
    archive_read_support_format_cpio(a);
    archive_read_support_format_zip(a);
    archive_read_support_format_7zip(a);
    archive_read_support_format_iso9660(a);
    archive_read_support_format_ar(a);
    archive_read_support_format_xar(a);
    archive_read_support_format_rar(a);
    archive_read_support_format_rar5(a);
    archive_read_support_format_lha(a);
    archive_read_support_format_cab(a);
    archive_read_support_format_empty(a); /* no bytes: no members */
}

struct archive *arch_reader_open(arch_ctx *c, sluice_input *in,
                                 sluice_error *err)
{
    c->in = in;
    struct archive *a = archive_read_new();
    if (!a) {
        sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
        return NULL;
    }
    archive_read_support_filter_all(a);
    support_archive_formats(a);
    if (archive_read_open(a, c, NULL, read_cb, NULL) != ARCHIVE_OK) {
        arch_fail(c, a, SLUICE_E_FORMAT, "input is not an archive", "", err);
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Retries in a row that consumed no input before giving up: libarchive
 * would only fail the same way again. */
#define RETRY_STUCK_MAX 8

int arch_next_header(arch_ctx *c, struct archive *a,
                     struct archive_entry **e)
{
    int warned = 0, stuck = 0;
    la_int64_t at = archive_filter_bytes(a, 0);
    for (;;) {
        int r = archive_read_next_header(a, e);
        if (r != ARCHIVE_RETRY)
            return r;
        if (!warned) {
            const char *m = archive_error_string(a);
            char esc[1024];
            arch_escape(m ? m : "unknown error", esc, sizeof esc);
            c->api->log(c->host, SLUICE_LOG_WARNING,
                        "damaged archive, skipping to the next member "
                        "(%s)", esc);
            c->api->mark_incomplete(c->host);
            warned = 1;
        }
        la_int64_t now = archive_filter_bytes(a, 0);
        if (now != at) {
            at = now;
            stuck = 0;
        } else if (++stuck >= RETRY_STUCK_MAX) {
            archive_set_error(a, EINVAL, "damaged archive: no readable "
                                         "member after the damage");
            return ARCHIVE_FATAL;
        }
    }
}

int arch_fail(arch_ctx *c, struct archive *a, int code, const char *what,
              const char *suffix, sluice_error *err)
{
    if (c->io_status < 0) {
        if (c->io_status == SLUICE_E_CANCELED)
            return SLUICE_E_CANCELED;
        return sluice_error_set(err, c->io_status, "%s: stream failed%s",
                                what, suffix);
    }
    const char *msg = a ? archive_error_string(a) : NULL;
    if (a && archive_errno(a) == ENOMEM)
        code = SLUICE_E_NOMEM;
    return sluice_error_set(err, code, "%s: %s%s", what,
                            msg ? msg : "unknown error", suffix);
}

/* ---- member names ------------------------------------------------------- */

void arch_canon(const char *name, char *buf, size_t cap)
{
    size_t n = 0;
    const char *p = name;
    if (cap == 0)
        return;
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = p;
        while (*e && *e != '/')
            e++;
        size_t len = (size_t)(e - p);
        if (len && !(len == 1 && p[0] == '.')) {
            if (n && n + 1 < cap)
                buf[n++] = '/';
            for (size_t i = 0; i < len && n + 1 < cap; i++)
                buf[n++] = p[i];
        }
        p = e;
    }
    buf[n] = '\0';
}

static int cmp_exact(const void *a, const void *b)
{
    return strcmp(((const struct arch_exact *)a)->name,
                  ((const struct arch_exact *)b)->name);
}

/* no-recursion: exact names, looked up in the sorted canonical args. */
static int exact_selected(arch_ctx *c, const char *name)
{
    if (!c->exact) {
        c->exact = calloc(c->n_args, sizeof *c->exact);
        if (!c->exact)
            return 1;
        for (size_t i = 0; i < c->n_args; i++) {
            size_t cap = strlen(c->args[i]) + 1;
            c->exact[i].index = i;
            if (!(c->exact[i].name = malloc(cap)))
                return 1;
            arch_canon(c->args[i], c->exact[i].name, cap);
        }
        qsort(c->exact, c->n_args, sizeof *c->exact, cmp_exact);
    }
    size_t cap = strlen(name) + 1;
    char *m = malloc(cap);
    if (!m)
        return 1;
    arch_canon(name, m, cap);
    struct arch_exact key = {m, 0};
    struct arch_exact *hit =
        bsearch(&key, c->exact, c->n_args, sizeof *c->exact, cmp_exact);
    if (hit) {
        /* equal names sort together: mark every duplicate */
        struct arch_exact *lo = hit, *end = c->exact + c->n_args;
        while (lo > c->exact && !strcmp(lo[-1].name, m))
            lo--;
        for (; lo < end && !strcmp(lo->name, m); lo++)
            c->matched[lo->index] = 1;
    }
    free(m);
    return hit != NULL;
}

int arch_excluded(const arch_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n_excludes; i++) {
        const char *p = name;
        for (;;) {
            if (fnmatch(c->excludes[i], p, FNM_LEADING_DIR) == 0)
                return 1;
            p = strchr(p, '/');
            if (!p)
                break;
            p++;
        }
    }
    return 0;
}

/* --wildcards: each arg a glob over the whole canonical name, anchored,
 * '*' matching '/' too, and (unless no-recursion) a match on a leading
 * directory selecting what lies below: GNU tar's defaults for -x/-t. */
static int glob_selected(arch_ctx *c, const char *m)
{
    int hit = 0, flags = c->no_recursion ? 0 : FNM_LEADING_DIR;
    for (size_t i = 0; i < c->n_args; i++) {
        size_t acap = strlen(c->args[i]) + 1;
        char *a = malloc(acap);
        if (!a)
            continue;
        arch_canon(c->args[i], a, acap);
        if (fnmatch(a, m, flags) == 0) {
            hit = 1;
            c->matched[i] = 1;
        }
        free(a);
    }
    return hit;
}

/* The canonical form of name, or NULL when out of memory. */
static char *canon_dup(const char *name)
{
    size_t cap = strlen(name) + 1;
    char *m = malloc(cap);
    if (m)
        arch_canon(name, m, cap);
    return m;
}

int arch_selected(arch_ctx *c, const char *name)
{
    if (c->n_excludes || (c->n_args && c->wildcards)) {
        char *m = canon_dup(name);
        if (!m)
            return 1; /* cannot tell: err on the side of restoring */
        int out = c->n_excludes && arch_excluded(c, m);
        int glob = !out && c->n_args && c->wildcards;
        int hit = glob && glob_selected(c, m);
        free(m);
        if (out)
            return 0;
        if (glob)
            return hit;
    }
    if (c->n_args == 0)
        return 1;
    if (c->no_recursion)
        return exact_selected(c, name);
    size_t cap = strlen(name) + 1;
    char *m = malloc(cap);
    if (!m)
        return 1; /* cannot tell: err on the side of restoring */
    arch_canon(name, m, cap);
    int hit = 0;
    for (size_t i = 0; i < c->n_args; i++) {
        size_t acap = strlen(c->args[i]) + 1;
        char abuf[512];
        char *a = acap <= sizeof abuf ? abuf : malloc(acap);
        if (!a)
            continue;
        arch_canon(c->args[i], a, acap);
        size_t al = strlen(a);
        if (al == 0 || (!strncmp(m, a, al) && (m[al] == '\0' ||
                                               m[al] == '/'))) {
            hit = 1;
            c->matched[i] = 1;
        }
        if (a != abuf)
            free(a);
    }
    free(m);
    return hit;
}

int arch_report_unmatched(arch_ctx *c, sluice_error *err)
{
    char list[SLUICE_ERROR_MAX];
    size_t n = 0, missing = 0;
    list[0] = '\0';
    for (size_t i = 0; i < c->n_args; i++) {
        if (c->matched[i])
            continue;
        char esc[256];
        arch_escape(c->args[i], esc, sizeof esc);
        int w = snprintf(list + n, sizeof list - n, "%s%s",
                         missing ? ", " : "", esc);
        if (w > 0 && (size_t)w < sizeof list - n)
            n += (size_t)w;
        missing++;
    }
    if (!missing)
        return 0;
    return sluice_error_set(err, SLUICE_E_USAGE, "%s: Not found in archive",
                            list);
}

void arch_escape(const char *name, char *buf, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        char tmp[5];
        const char *s = tmp;
        switch (*p) {
        case '\\': s = "\\\\"; break;
        case '\a': s = "\\a"; break;
        case '\b': s = "\\b"; break;
        case '\f': s = "\\f"; break;
        case '\n': s = "\\n"; break;
        case '\r': s = "\\r"; break;
        case '\t': s = "\\t"; break;
        case '\v': s = "\\v"; break;
        default:
            /* C0, DEL, and C1 (U+0080-U+009F, \302\200-\302\237 in UTF-8),
             * which terminals obey as escape sequences too. */
            if (*p < 0x20 || *p == 0x7f ||
                (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) ||
                (p > (const unsigned char *)name && p[-1] == 0xc2 &&
                 *p >= 0x80 && *p <= 0x9f))
                snprintf(tmp, sizeof tmp, "\\%03o", *p);
            else {
                tmp[0] = (char)*p;
                tmp[1] = '\0';
            }
        }
        size_t l = strlen(s);
        if (n + l + 1 > cap)
            break;
        memcpy(buf + n, s, l);
        n += l;
    }
    buf[n] = '\0';
}

/* ---- the stage ---------------------------------------------------------- */

/* ABI 1.2: the keys this stage accepts (`sluice stages -v`). */
static const sluice_key keys[] = {
    {"arg", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "a PATH to archive, or a member to extract or list (repeatable)"},
    {"directory", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "change to this directory first (-C)"},
    {"exclude", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "leave out names matching this pattern (repeatable)"},
    {"files-from", SLUICE_KEY_OPTION | SLUICE_KEY_FORWARD,
     "read the PATHs to archive from this file (-T)"},
    {"null", SLUICE_KEY_OPTION | SLUICE_KEY_FORWARD,
     "1 = names in files-from end with NUL, not newline"},
    {"one-file-system", SLUICE_KEY_OPTION | SLUICE_KEY_FORWARD,
     "1 = stay on the file systems of the PATHs"},
    {"no-recursion", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "1 = do not descend into directories"},
    {"scanned", SLUICE_KEY_OPTION | SLUICE_KEY_FORWARD,
     "1 = files-from lines are \"TYPE INO PATH\" from a scan: PATH opened "
     "component by component, never via a symlink, skipped if changed; "
     "no recursion"},
    {"progress", SLUICE_KEY_OPTION | SLUICE_KEY_FORWARD,
     "1 = count the input first, for the progress ETA"},
    {"same-owner", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "extract: 1 = restore owners (default as root)"},
    {"numeric-owner", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "extract: use numeric ids, not names"},
    {"preserve-permissions", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "extract: 1 = ignore the umask (default as root)"},
    {"list", SLUICE_KEY_OPTION | SLUICE_KEY_REVERSE,
     "1 = list the members instead of extracting them (-t)"},
    {"verbose", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "1 = list the names handled, 2 = in long form"},
    {"to-stdout", SLUICE_KEY_OPTION | SLUICE_KEY_REVERSE,
     "1 = write the members' data to the output, not to files (-O)"},
    {"old-files", SLUICE_KEY_OPTION | SLUICE_KEY_REVERSE,
     "extract: replace (default), keep (-k: exit 1) or skip existing files"},
    {"strip-components", SLUICE_KEY_OPTION | SLUICE_KEY_REVERSE,
     "extract: drop this many leading name components (0..4096)"},
    {"wildcards", SLUICE_KEY_OPTION | SLUICE_KEY_REVERSE,
     "1 = member arguments are shell patterns (--wildcards)"},
    {"output", SLUICE_KEY_OPTION | SLUICE_KEY_FORWARD,
     "create: the archive's own path (-f), never archived"},
    {NULL, 0, NULL},
};

static const sluice_stage stages[] = {{
    "archive",
    "tar-compatible archives of files (libarchive): create, extract, list",
    SLUICE_ROLE_SOURCE,
    SLUICE_ROLE_SINK | SLUICE_ROLE_TRANSFORM,
    0,
    archive_open,
    archive_run,
    NULL,
    archive_close,
    NULL, /* remove (ABI 1.1) */
    keys,
    NULL, /* list (ABI 1.3) */
    NULL, /* binding (ABI 1.4) */
}};

static const sluice_plugin plugin =
    SLUICE_PLUGIN_INIT("archive", "0.1.0", stages);

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
