/* args.c - the collection commands' own option parser and startup, kept
 * so this layer works alone; the single front end replaces it with its
 * own and calls collection_run(). */
#include "coll.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../progress.h"
#include "../signals.h"
#include "../status.h"

enum {
    O_TO = 300, O_FROM, O_HOST, O_LOCALITY, O_ASOF, O_CHECKSUM, O_OBJSIZE,
    O_KDF, O_PFILE, O_PFD, O_S3, O_INSECURE, O_ZSTD
};

static int usage(const char *msg)
{
    fprintf(stderr, "sluice: usage: %s: see sluice --help\n", msg);
    return EXIT_USAGE;
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'B')
        end++;
    if (*end == 'B')
        end++;
    if (*end || v == 0)
        return -1;
    *out = v;
    return 0;
}

/* The option table and one switch over it: a screen of one-line cases.
 * (Replaced by the single front end's parser.) */
static int parse(coll_opts *c, const char **cmd, int argc, char **argv)
{
    static const struct option lo[] = {
        {"to", required_argument, NULL, O_TO},
        {"from", required_argument, NULL, O_FROM},
        {"host", required_argument, NULL, O_HOST},
        {"locality", required_argument, NULL, O_LOCALITY},
        {"as-of", required_argument, NULL, O_ASOF},
        {"checksum", no_argument, NULL, O_CHECKSUM},
        {"object-size", required_argument, NULL, O_OBJSIZE},
        {"zstd", optional_argument, NULL, O_ZSTD},
        {"encrypt", no_argument, NULL, 'e'},
        {"directory", required_argument, NULL, 'C'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"kdf-iter", required_argument, NULL, O_KDF},
        {"passphrase-file", required_argument, NULL, O_PFILE},
        {"passphrase-fd", required_argument, NULL, O_PFD},
        {"s3-endpoint", required_argument, NULL, O_S3},
        {"insecure", no_argument, NULL, O_INSECURE},
        {NULL, 0, NULL, 0}};
    memset(c, 0, sizeof *c);
    *cmd = argv[1];
    c->passphrase_fd = -1;
    c->level = 3;
    c->object_size = 256u << 20;
    optind = 2;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "zeC:qv", lo, NULL)) != -1) {
        switch (o) {
        case O_TO:
            if (c->n_to == COLL_MAX_TO)
                return usage("too many --to");
            c->to[c->n_to++] = optarg;
            break;
        case O_FROM: c->from = optarg; break;
        case O_HOST: c->host = optarg; break;
        case O_LOCALITY: c->locality = optarg; break;
        case O_ASOF: c->as_of = optarg; break;
        case O_CHECKSUM: c->checksum = 1; break;
        case O_OBJSIZE:
            if (parse_size(optarg, &c->object_size) < 0)
                return usage("--object-size needs a size (e.g. 64M)");
            break;
        case O_ZSTD:
            c->zstd = 1;
            if (optarg)
                c->level = atoi(optarg);
            break;
        case 'z': c->zstd = 1; break;
        case 'e': c->encrypt = 1; break;
        case 'C': c->directory = optarg; break;
        case 'q': c->quiet = 1; break;
        case 'v': c->verbose++; break;
        case O_KDF: c->kdf_iter = optarg; break;
        case O_PFILE: c->passphrase_file = optarg; break;
        case O_PFD: c->passphrase_fd = atoi(optarg); break;
        case O_S3: c->s3_endpoint = optarg; break;
        case O_INSECURE: c->insecure = 1; break;
        default:
            fprintf(stderr, "sluice: usage: %s: unknown or incomplete "
                            "option '%s': see sluice --help\n",
                    *cmd, argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    c->args = argv + optind;
    c->n_args = argc - optind;
    if (!strcmp(*cmd, "backup")) {
        if (!c->n_to)
            return usage("backup needs --to URL");
        if (!c->n_args)
            return usage("backup needs PATH arguments");
    } else {
        if (!c->from)
            return usage("--from URL is required");
        if (!strcmp(*cmd, "restore") && !c->directory)
            return usage("restore needs -C DIR");
        if (strcmp(*cmd, "restore") && c->n_args)
            return usage("unexpected arguments");
    }
    return 0;
}

int collection_main(int argc, char **argv)
{
    coll_opts c;
    const char *cmd;
    int ex = parse(&c, &cmd, argc, argv);
    if (ex)
        return ex;
    session s;
    session_init(&s);
    s.verbosity = c.quiet ? -1 : c.verbose;
    s.progress_mode = PROGRESS_OFF;
    s.passphrase.file = c.passphrase_file;
    s.passphrase.fd = c.passphrase_fd;
    loader *l = loader_new();
    signal_watch sw;
    if (!l || signals_start(&sw, &s) < 0) {
        fputs("sluice: startup: cannot start: out of memory or threads\n",
              stderr);
        loader_free(l);
        return EXIT_INTERNAL;
    }
    /* One session for every engine run of the command: the key is
     * derived once (the aes stage's per-session cache). */
    ex = collection_run(cmd, &c, &s, l);
    int sig = atomic_load(&s.signal_number);
    signals_stop(&sw);
    session_cleanup(&s);
    loader_free(l);
    fflush(stdout);
    if (sig)
        die_of_signal(sig);
    return ex;
}
