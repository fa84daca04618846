/*
 * options.c - the option table and the one parser every command uses.
 * A row names an option's spellings, its group, and what it does to the
 * cli; numbers are parsed strictly (the whole token, range-checked,
 * overflow refused) and a usage error names the token that is wrong.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../presets.h"

enum arg { ARG_NONE, ARG_REQUIRED, ARG_OPTIONAL };
enum action {
    A_SET,     /* int field = min                                         */
    A_COUNT,   /* int field += 1                                          */
    A_STR,     /* const char * field = argument                          */
    A_PATH,    /* A_STR, "file:///path" read as /path                     */
    A_INT,     /* int field = argument, min..max                          */
    A_SIZE,    /* uint64_t field = SIZE[K|M|G][iB], 1..                   */
    A_KV,      /* archive option key = value (or the argument)           */
    A_MODE,    /* the default command's mode = min                        */
    A_LEVEL,   /* --zstd[=LEVEL]                                          */
    A_TO       /* one more --to                                           */
};

typedef struct opt_row {
    const char *name; /* long spelling, or NULL                       */
    char letter;      /* short spelling, or 0                         */
    enum arg arg;
    unsigned group;
    enum action action;
    size_t off;       /* the field in cli                             */
    const char *key, *value; /* A_KV                                  */
    long min, max;
} opt_row;

#define F(f) offsetof(cli, f)
#define FLAG(n, l, g, f) {n, l, ARG_NONE, g, A_SET, F(f), NULL, NULL, 1, 0}
#define COUNT(n, l, g, f) {n, l, ARG_NONE, g, A_COUNT, F(f), NULL, NULL, 0, 0}
#define STR(n, l, g, f) {n, l, ARG_REQUIRED, g, A_STR, F(f), NULL, NULL, 0, 0}
#define PATH(n, l, g, f) {n, l, ARG_REQUIRED, g, A_PATH, F(f), NULL, NULL, 0, 0}
#define INT(n, l, g, f, lo, hi) \
    {n, l, ARG_REQUIRED, g, A_INT, F(f), NULL, NULL, lo, hi}
#define SIZE(n, g, f) {n, 0, ARG_REQUIRED, g, A_SIZE, F(f), NULL, NULL, 0, 0}
#define MODE(n, l, m) {n, l, ARG_NONE, G_FILTER | G_TAR, A_MODE, 0, NULL, NULL, m, 0}
/* An archive-stage switch: value NULL takes the option's argument. */
#define KV(n, l, g, k, v) \
    {n, l, (v) ? ARG_NONE : ARG_REQUIRED, g, A_KV, 0, k, v, 0, 0}

static const opt_row rows[] = {
    {"help", 'h', ARG_NONE, G_ALWAYS, A_SET, F(help), NULL, NULL, 1, 0},
    {"version", 'V', ARG_NONE, G_ALWAYS, A_SET, F(version), NULL, NULL, 1, 0},
    /* chain shorthands (presets.c turns them into stages) */
    FLAG(NULL, 'z', G_SHORTHAND, zstd),
    {"zstd", 0, ARG_OPTIONAL, G_SHORTHAND, A_LEVEL, 0, NULL, NULL, 0, 0},
    FLAG("encrypt", 'e', G_SHORTHAND | G_FETCH, encrypt),
    STR("kdf-iter", 0, G_KDF, kdf_iter),
    STR("chain", 0, G_CHAIN, chain),
    STR("threads", 0, G_CHAIN, threads),
    /* passphrase */
    STR("passphrase-file", 0, G_PASS, passphrase_file),
    INT("passphrase-fd", 0, G_PASS, passphrase_fd, 0, INT_MAX),
    FLAG("allow-unencrypted", 0, G_PASS, allow_unencrypted),
    /* endpoints */
    STR("s3-endpoint", 0, G_NET, s3_endpoint),
    FLAG("insecure", 0, G_NET, insecure),
    /* verbosity */
    COUNT("verbose", 'v', G_VERBOSITY, verbose),
    FLAG("quiet", 'q', G_VERBOSITY, quiet),
    FLAG("progress", 0, G_PROGRESS, progress),
    /* budgets for hostile input (the host checks the values) */
    STR("max-memory", 0, G_VERBOSITY, max_memory),
    STR("max-kdf-iter", 0, G_VERBOSITY, max_kdf_iter),
    /* filter */
    MODE("decode", 'd', MODE_FILTER_REVERSE),
    MODE("decompress", 0, MODE_FILTER_REVERSE),
    PATH("output", 'o', G_OUTPUT, output),
    FLAG("force", 'F', G_OUTPUT, force),
    /* tar */
    MODE("create", 'c', MODE_CREATE),
    MODE("extract", 'x', MODE_EXTRACT),
    MODE("list", 't', MODE_LIST),
    PATH("file", 'f', G_TAR, file),
    PATH("directory", 'C', G_DIR, directory),
    STR("files-from", 'T', G_TAR | G_SELECT, files_from),
    FLAG("null", 0, G_TAR, null_sep),
    FLAG("one-file-system", 0, G_TAR | G_SELECT, one_file_system),
    KV("exclude", 0, G_TAR | G_SELECT, "exclude", NULL),
    PATH("exclude-from", 0, G_SELECT, coll.exclude_from),
    FLAG("exclude-caches", 0, G_SELECT, coll.exclude_caches),
    FLAG("json", 0, G_JSON, coll.json),
    KV("same-owner", 0, G_TAR, "same-owner", "1"),
    KV("no-same-owner", 0, G_TAR, "same-owner", "0"),
    KV("numeric-owner", 0, G_TAR, "numeric-owner", "1"),
    KV("preserve-permissions", 'p', G_TAR, "preserve-permissions", "1"),
    KV("no-same-permissions", 0, G_TAR, "preserve-permissions", "0"),
    KV("same-permissions", 0, G_TAR, "preserve-permissions", "1"),
    FLAG("to-stdout", 'O', G_TAR | G_TOSTDOUT, to_stdout),
    KV("keep-old-files", 'k', G_TAR, "old-files", "keep"),
    KV("skip-old-files", 0, G_TAR, "old-files", "skip"),
    KV("strip-components", 0, G_TAR, "strip-components", NULL),
    KV("wildcards", 0, G_TAR, "wildcards", "1"),
    KV("no-wildcards", 0, G_TAR, "wildcards", "0"),
    /* decrypt-object */
    STR("salt", 0, G_RAW, salt),
    STR("encryption-info", 0, G_RAW, encryption_info),
    /* collections */
    {"to", 0, ARG_REQUIRED, G_STORE, A_TO, 0, NULL, NULL, 0, 0},
    STR("locality", 0, G_STORE, coll.locality),
    FLAG("checksum", 0, G_STORE, coll.checksum),
    SIZE("object-size", G_STORE, coll.object_size),
    PATH("from", 0, G_FETCH, coll.from),
    STR("as-of", 0, G_FETCH, coll.as_of),
    STR("host", 0, G_HOST, coll.host),
    /* forget, prune, unlock */
    INT("keep-last", 0, G_RETAIN, coll.keep_last, 0, INT_MAX),
    INT("keep-hourly", 0, G_RETAIN, coll.keep_hourly, 0, INT_MAX),
    INT("keep-daily", 0, G_RETAIN, coll.keep_daily, 0, INT_MAX),
    INT("keep-weekly", 0, G_RETAIN, coll.keep_weekly, 0, INT_MAX),
    INT("keep-monthly", 0, G_RETAIN, coll.keep_monthly, 0, INT_MAX),
    INT("keep-yearly", 0, G_RETAIN, coll.keep_yearly, 0, INT_MAX),
    STR("keep-within", 0, G_RETAIN, coll.keep_within),
    FLAG("prune", 0, G_RETAIN, coll.prune),
    STR("prune-grace", 0, G_PRUNE, coll.prune_grace),
    FLAG("dry-run", 0, G_DRYRUN, coll.dry_run),
    FLAG("remove-all", 0, G_UNLOCK, coll.remove_all),
};
#define N_ROWS (sizeof rows / sizeof rows[0])

int cli_usage_error(const char *fmt, ...)
{
    char msg[600], line[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* The host's line printer: one line, control characters out, and
     * credentials in an echoed URL redacted like every other message. */
    snprintf(line, sizeof line, "usage: %s: see sluice --help", msg);
    host_print_line(line);
    return -1;
}

/* ---- strict numbers ------------------------------------------------------ */

/* The whole token as a decimal integer in lo..hi. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* SIZE[K|M|G][iB|B]: at least 1, no overflow. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
    }
    if (shift && *end == 'i')
        end++;
    if (*end == 'B')
        end++;
    if (*end || v == 0 || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* ---- applying one option -------------------------------------------------- */

static const char *cmd_name(const cli *c)
{
    return c->cmd->name ? c->cmd->name : "filter and tar modes";
}

static int set_mode(cli *c, int m)
{
    if (c->mode_set && (int)c->mode != m)
        return cli_usage_error("choose one of -c, -x, -t and -d");
    c->mode = (enum cli_mode)m;
    c->mode_set = 1;
    return 0;
}

static int set_level(cli *c, const char *token, const char *digits)
{
    long v;
    if (parse_long(digits, INT_MIN, INT_MAX, &v) < 0 || v == 0)
        return cli_usage_error("'%s': not a zstd level", token);
    c->zstd = 1;
    c->level = (int)v;
    return 0;
}

static int apply(cli *c, const opt_row *r, const char *token, const char *arg)
{
    char *field = (char *)c + r->off;
    long v;
    switch (r->action) {
    case A_SET: *(int *)field = (int)r->min; return 0;
    case A_COUNT: ++*(int *)field; return 0;
    case A_STR: *(const char **)field = arg; return 0;
    case A_PATH: *(const char **)field = preset_local_path(arg); return 0;
    case A_INT:
        if (parse_long(arg, r->min, r->max, &v) < 0)
            return cli_usage_error("%s: '%s' is not a number in %ld..%ld",
                                   token, arg, r->min, r->max);
        *(int *)field = (int)v;
        return 0;
    case A_SIZE:
        if (parse_size(arg, (uint64_t *)field) < 0)
            return cli_usage_error("%s: '%s' is not a size (e.g. 64M)",
                                   token, arg);
        return 0;
    case A_KV:
        if (c->n_archive_opts == CLI_MAX_KV)
            return cli_usage_error("%s: too many options", token);
        c->archive_opts[c->n_archive_opts++] =
            (sluice_kv){r->key, r->value ? r->value : arg};
        return 0;
    case A_MODE: return set_mode(c, (int)r->min);
    case A_LEVEL:
        c->zstd = 1;
        return arg ? set_level(c, token, arg) : 0;
    case A_TO:
        if (c->coll.n_to == COLL_MAX_TO)
            return cli_usage_error("%s: more than %d", token, COLL_MAX_TO);
        c->coll.to[c->coll.n_to++] = preset_local_path(arg);
        return 0;
    }
    return -1;
}

/* ---- finding a row -------------------------------------------------------- */

static int suggest_long(const char *token, const char *name)
{
    const char *words[N_ROWS];
    size_t n = 0;
    for (size_t i = 0; i < N_ROWS; i++)
        if (rows[i].name)
            words[n++] = rows[i].name;
    const char *best = cli_closest(name, words, n);
    if (best)
        return cli_usage_error("unknown option '%s' (did you mean '--%s'?)",
                               token, best);
    return cli_usage_error("unknown option '%s'", token);
}

/* "--name": exact, else a unique prefix of an option this command takes. */
static const opt_row *find_long(const cli *c, const char *name, size_t len,
                                const char *token)
{
    const opt_row *hit = NULL;
    int n_hits = 0;
    for (size_t i = 0; i < N_ROWS; i++) {
        const opt_row *r = &rows[i];
        if (!r->name || strncmp(r->name, name, len))
            continue;
        if (!r->name[len])
            return r;
        if (r->group & c->cmd->groups) {
            hit = r;
            n_hits++;
        }
    }
    if (n_hits == 1)
        return hit;
    if (n_hits > 1) {
        cli_usage_error("option '%s' is ambiguous", token);
        return NULL;
    }
    char copy[128];
    snprintf(copy, sizeof copy, "%.*s", (int)len, name);
    suggest_long(token, copy);
    return NULL;
}

static const opt_row *find_short(char ch, const char *token)
{
    for (size_t i = 0; i < N_ROWS; i++)
        if (rows[i].letter && rows[i].letter == ch)
            return &rows[i];
    if (token[2])
        cli_usage_error("unknown option '-%c' (in '%s')", ch, token);
    else
        cli_usage_error("unknown option '%s'", token);
    return NULL;
}

static int applies(const cli *c, const opt_row *r, const char *spelled)
{
    if (r->group & c->cmd->groups)
        return 0;
    return cli_usage_error("option '%s' does not apply to %s", spelled,
                           cmd_name(c));
}

/* ---- the token loop --------------------------------------------------------- */

static int long_option(cli *c, int argc, char **argv, int *i)
{
    const char *token = argv[*i], *name = token + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const opt_row *r = find_long(c, name, len, token);
    if (!r)
        return -1;
    char spelled[140];
    snprintf(spelled, sizeof spelled, "--%s", r->name);
    if (applies(c, r, spelled) < 0)
        return -1;
    const char *arg = eq ? eq + 1 : NULL;
    if (r->arg == ARG_NONE && arg)
        return cli_usage_error("option '%s' takes no argument", spelled);
    if (r->arg == ARG_REQUIRED && !arg) {
        if (*i + 1 >= argc)
            return cli_usage_error("option '%s' needs an argument", spelled);
        arg = argv[++*i];
    }
    return apply(c, r, spelled, arg);
}

static int short_options(cli *c, int argc, char **argv, int *i)
{
    const char *token = argv[*i];
    for (const char *p = token + 1; *p; p++) {
        const opt_row *r = find_short(*p, token);
        if (!r)
            return -1;
        char spelled[3] = {'-', *p, '\0'};
        if (applies(c, r, spelled) < 0)
            return -1;
        if (r->arg == ARG_NONE) {
            if (apply(c, r, spelled, NULL) < 0)
                return -1;
            continue;
        }
        const char *arg = p[1] ? p + 1 : NULL;
        if (!arg && *i + 1 >= argc)
            return cli_usage_error("option '%s' needs an argument", spelled);
        if (!arg)
            arg = argv[++*i];
        return apply(c, r, spelled, arg);
    }
    return 0;
}

static int is_level(const char *a)
{
    return a[0] == '-' && a[1] >= '0' && a[1] <= '9' &&
           strspn(a + 1, "0123456789") == strlen(a + 1);
}

/* Options anywhere; positional arguments gathered in order at the front
 * of argv + first (never past the token being read). */
static int parse_tokens(cli *c, int argc, char **argv, int first)
{
    int w = first, i = first, rc = 0;
    for (; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            while (++i < argc)
                argv[w++] = argv[i];
            break;
        }
        if (a[0] != '-' || !a[1])
            argv[w++] = argv[i];
        else if (a[1] == '-')
            rc = long_option(c, argc, argv, &i);
        else if (is_level(a) && (c->cmd->groups & G_SHORTHAND))
            rc = set_level(c, a, a + 1);
        else
            rc = short_options(c, argc, argv, &i);
        if (c->help || c->version)
            return 0;
    }
    c->args = argv + first;
    c->n_args = w - first;
    return rc;
}

/* ---- the command word ------------------------------------------------------ */

/* A word that can only be meant as a command: lower-case letters and
 * dashes, and no file of that name here. */
static int looks_like_command(const char *a)
{
    if (!*a || strspn(a, "abcdefghijklmnopqrstuvwxyz-") != strlen(a))
        return 0;
    return access(a, F_OK) != 0;
}

static int no_such_command(const char *word)
{
    const char *names[32];
    size_t n = 0;
    for (const command *k; n < 32 && (k = cli_command_at(n + 1));)
        names[n++] = k->name;
    const char *best = cli_closest(word, names, n);
    if (best)
        return cli_usage_error("no such command '%s' (did you mean '%s'?)",
                               word, best);
    return cli_usage_error("no such command '%s'", word);
}

int cli_parse(cli *c, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    c->passphrase_fd = -1;
    c->coll.passphrase_fd = -1;
    c->coll.object_size = 256u << 20;
    int first = 1;
    c->cmd = cli_command(NULL);
    if (argc > 1 && argv[1][0] != '-') {
        const command *k = cli_command(argv[1]);
        if (k) {
            c->cmd = k;
            first = 2;
        } else if (looks_like_command(argv[1])) {
            return no_such_command(argv[1]);
        }
    }
    if (parse_tokens(c, argc, argv, first) < 0)
        return -1;
    if (c->help || c->version)
        return 0;
    const command *k = c->cmd;
    if (c->n_args < k->min_args || (k->max_args >= 0 && c->n_args > k->max_args)) {
        if (k->max_args == 0)
            return cli_usage_error("%s takes no arguments (got '%s')",
                                   k->name, c->args[0]);
        if (c->n_args > k->max_args)
            return cli_usage_error("%s takes at most %d argument%s (got '%s')",
                                   k->name, k->max_args,
                                   k->max_args == 1 ? "" : "s",
                                   c->args[k->max_args]);
        return cli_usage_error("%s needs %s", k->name,
                               k->min_args == 1 ? "an argument" : "arguments");
    }
    return k->check ? k->check(c) : 0;
}
