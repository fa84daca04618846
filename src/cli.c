/* cli.c - parse the command line. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

enum {
    OPT_ZSTD = 256,
    OPT_CHAIN,
    OPT_THREADS,
    OPT_FILES_FROM,
    OPT_NULL,
    OPT_EXCLUDE,
    OPT_ONE_FS,
    OPT_PASS_FILE,
    OPT_PASS_FD,
    OPT_KDF_ITER,
    OPT_SAME_OWNER,
    OPT_NO_SAME_OWNER,
    OPT_NUMERIC_OWNER,
    OPT_NO_SAME_PERMS,
    OPT_S3_ENDPOINT,
    OPT_INSECURE,
    OPT_PROGRESS,
    OPT_SALT,
    OPT_ENCRYPTION_INFO,
    OPT_SKIP_OLD,
    OPT_STRIP,
    OPT_WILDCARDS,
    OPT_NO_WILDCARDS,
};

static const struct option long_options[] = {
    {"zstd", optional_argument, NULL, OPT_ZSTD},
    {"encrypt", no_argument, NULL, 'e'},
    {"decode", no_argument, NULL, 'd'},
    {"decompress", no_argument, NULL, 'd'},
    {"chain", required_argument, NULL, OPT_CHAIN},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"output", required_argument, NULL, 'o'},
    {"create", no_argument, NULL, 'c'},
    {"extract", no_argument, NULL, 'x'},
    {"list", no_argument, NULL, 't'},
    {"file", required_argument, NULL, 'f'},
    {"directory", required_argument, NULL, 'C'},
    {"files-from", required_argument, NULL, OPT_FILES_FROM},
    {"null", no_argument, NULL, OPT_NULL},
    {"exclude", required_argument, NULL, OPT_EXCLUDE},
    {"one-file-system", no_argument, NULL, OPT_ONE_FS},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"force", no_argument, NULL, 'F'},
    {"passphrase-file", required_argument, NULL, OPT_PASS_FILE},
    {"passphrase-fd", required_argument, NULL, OPT_PASS_FD},
    {"kdf-iter", required_argument, NULL, OPT_KDF_ITER},
    {"same-owner", no_argument, NULL, OPT_SAME_OWNER},
    {"no-same-owner", no_argument, NULL, OPT_NO_SAME_OWNER},
    {"numeric-owner", no_argument, NULL, OPT_NUMERIC_OWNER},
    {"preserve-permissions", no_argument, NULL, 'p'},
    {"same-permissions", no_argument, NULL, 'p'},
    {"to-stdout", no_argument, NULL, 'O'},
    {"keep-old-files", no_argument, NULL, 'k'},
    {"skip-old-files", no_argument, NULL, OPT_SKIP_OLD},
    {"strip-components", required_argument, NULL, OPT_STRIP},
    {"wildcards", no_argument, NULL, OPT_WILDCARDS},
    {"no-wildcards", no_argument, NULL, OPT_NO_WILDCARDS},
    {"no-same-permissions", no_argument, NULL, OPT_NO_SAME_PERMS},
    {"s3-endpoint", required_argument, NULL, OPT_S3_ENDPOINT},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"salt", required_argument, NULL, OPT_SALT},
    {"encryption-info", required_argument, NULL, OPT_ENCRYPTION_INFO},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

void cli_usage(void)
{
    fputs(
        "Usage:\n"
        "  sluice [-z|-LEVEL] [-e] [--chain SPEC] [-o OUT] [FILE]  encode (filter)\n"
        "  sluice -d [-o OUT] [FILE]                   decode whatever the header names\n"
        "  sluice -c [-z] [-e] [-v] -f OUT [-C DIR] PATH...      create an archive\n"
        "  sluice -x [-v] -f IN [-C DIR] [PATH...]               extract\n"
        "  sluice -t [-v] -f IN                                  list\n"
        "    -x/-t: -O (to stdout), -k|--skip-old-files, --strip-components N,\n"
        "    --wildcards, --exclude PAT, -p, --same-owner, --no-same-owner\n"
        "  sluice inspect [FILE]                       print a stream's header\n"
        "  sluice stages                               list stages and their files\n"
        "  sluice decrypt-object (--salt HEX | --encryption-info F) [-o OUT] [FILE]\n"
        "                                              decrypt one bare encrypted object\n"
        "  sluice backup --to URL[?locality=TAG] [--to ...] [-z] [-e] [-C DIR]\n"
        "        [--host NAME] [--locality K=V[,K=V...]] [--checksum]\n"
        "        [--object-size SIZE] [-q] PATH...     full/incremental backup\n"
        "  sluice backups --from URL [--host NAME] [-q]  list a collection's backups\n"
        "  sluice restore --from URL [--as-of ID|TIME] [--host NAME] -C DIR [PATH...]\n"
        "  sluice verify --from URL [-q]               authenticate every object\n"
        "\n"
        "Chain:\n"
        "  -z, --zstd[=LEVEL]   zstd compression (level 1..19, default 3; negative = fast)\n"
        "  -1 ... -19           zstd level (implies -z)\n"
        "  -e, --encrypt        AES-256-GCM encryption (passphrase never on argv)\n"
        "  --chain SPEC         explicit chain: stage[:key=value]...[,stage...]\n"
        "  -T, --threads N      compression threads (default: all cores; -T is\n"
        "                       --files-from in -c mode, as in tar)\n"
        "  --kdf-iter N         PBKDF2 iterations (default 64000)\n"
        "Passphrase:\n"
        "  --passphrase-file F  first line of F\n"
        "  --passphrase-fd N    first line read from descriptor N\n"
        "  SLUICE_PASSPHRASE    environment; else prompted on the terminal\n"
        "Files:\n"
        "  -f, --file F         archive file or URL ('-' = stdin/stdout)\n"
        "  -o, --output F       filter output file (default stdout)\n"
        "  -C, --directory DIR  change to DIR first\n"
        "  --s3-endpoint URL    S3-compatible endpoint (else AWS_ENDPOINT_URL)\n"
        "  --insecure           do not verify TLS certificates\n"
        "  -v, --verbose        list files / say more;  -q, --quiet  say less\n"
        "  --progress           show progress on stderr (default: when it is a\n"
        "                       terminal; -q turns it off)\n"
        "  -F, --force          write binary output to a terminal anyway\n"
        "  -h, --help, -V, --version\n"
        "\n"
        "Exit status: 0 ok, 1 incomplete, 2 usage, 3 I/O, 4 corrupt input,\n"
        "5 wrong passphrase / tampered, 6 plugin, 7 internal; 128+N on signal N.\n"
        "Environment: SLUICE_PLUGIN_PATH, SLUICE_PASSPHRASE.  See sluice(1).\n",
        stdout);
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("sluice: usage: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(": see sluice --help\n", stderr);
    return -1;
}

static int set_mode(cli *c, enum cli_mode m, int *mode_set)
{
    if (*mode_set && c->mode != m)
        return usage_error("%s", "choose one of -c, -x, -t and -d");
    c->mode = m;
    *mode_set = 1;
    return 0;
}

static int add_archive_opt(cli *c, const char *key, const char *value)
{
    if (c->n_archive_opts == CLI_MAX_KV)
        return usage_error("%s", "too many options");
    c->archive_opts[c->n_archive_opts].key = key;
    c->archive_opts[c->n_archive_opts].value = value;
    c->n_archive_opts++;
    return 0;
}

/* Level option "-N" (zstd style): all digits after the dash. */
static int is_level_arg(const char *a)
{
    if (a[0] != '-' || !a[1])
        return 0;
    for (const char *p = a + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

int cli_parse(cli *c, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    c->passphrase_fd = -1;
    int mode_set = 0;
    const char *t_arg = NULL;

    if (argc > 1 && strcmp(argv[1], "inspect") == 0) {
        c->mode = MODE_INSPECT;
        if (argc > 3)
            return usage_error("%s", "inspect takes at most one FILE");
        c->args = argv + 2;
        c->n_args = argc - 2;
        return 0;
    }
    int subcommand = 0;
    if (argc > 1 && strcmp(argv[1], "decrypt-object") == 0) {
        /* The rest parses as usual, one word later. */
        subcommand = 1;
        argv++;
        argc--;
    }
    if (argc > 1 && strcmp(argv[1], "stages") == 0) {
        c->mode = MODE_STAGES;
        if (argc > 2)
            return usage_error("%s", "stages takes no arguments");
        return 0;
    }
    /* zstd-style "-19": take levels out before getopt sees them. */
    int w = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < argc)
                argv[w++] = argv[i++];
            break;
        }
        if (is_level_arg(argv[i])) {
            c->level = atoi(argv[i] + 1);
            c->level_given = 1;
            c->zstd = 1;
            continue;
        }
        argv[w++] = argv[i];
    }
    argc = w;

    optind = 1;
    opterr = 0;
    for (;;) {
        int o = getopt_long(argc, argv, ":zedo:cxtf:C:vqT:pFhVOk", long_options,
                            NULL);
        if (o == -1)
            break;
        int rc = 0;
        switch (o) {
        case 'z': c->zstd = 1; break;
        case OPT_ZSTD:
            c->zstd = 1;
            if (optarg) {
                char *end;
                c->level = (int)strtol(optarg, &end, 10);
                if (*end || !*optarg)
                    return usage_error("--zstd: '%s' is not a level", optarg);
                c->level_given = 1;
            }
            break;
        case 'e': c->encrypt = 1; break;
        case 'd': rc = set_mode(c, MODE_FILTER_REVERSE, &mode_set); break;
        case 'c': rc = set_mode(c, MODE_CREATE, &mode_set); break;
        case 'x': rc = set_mode(c, MODE_EXTRACT, &mode_set); break;
        case 't': rc = set_mode(c, MODE_LIST, &mode_set); break;
        case 'o': c->output = optarg; break;
        case 'f': c->file = optarg; break;
        case 'C': c->directory = optarg; break;
        case 'v': c->verbose++; break;
        case 'q': c->quiet = 1; break;
        case 'F': c->force = 1; break;
        case 'T': t_arg = optarg; break;
        case OPT_CHAIN: c->chain = optarg; break;
        case OPT_THREADS: c->threads = optarg; break;
        case OPT_KDF_ITER: c->kdf_iter = optarg; break;
        case OPT_FILES_FROM: c->files_from = optarg; break;
        case OPT_NULL: c->null_sep = 1; break;
        case OPT_ONE_FS: c->one_file_system = 1; break;
        case OPT_EXCLUDE: rc = add_archive_opt(c, "exclude", optarg); break;
        case OPT_SAME_OWNER: rc = add_archive_opt(c, "same-owner", "1"); break;
        case OPT_NO_SAME_OWNER:
            rc = add_archive_opt(c, "same-owner", "0");
            break;
        case OPT_NUMERIC_OWNER:
            rc = add_archive_opt(c, "numeric-owner", "1");
            break;
        case 'p':
            rc = add_archive_opt(c, "preserve-permissions", "1");
            break;
        case OPT_NO_SAME_PERMS:
            rc = add_archive_opt(c, "preserve-permissions", "0");
            break;
        case 'O': c->to_stdout = 1; break;
        case 'k': rc = add_archive_opt(c, "old-files", "keep"); break;
        case OPT_SKIP_OLD: rc = add_archive_opt(c, "old-files", "skip"); break;
        case OPT_STRIP:
            rc = add_archive_opt(c, "strip-components", optarg);
            break;
        case OPT_WILDCARDS: rc = add_archive_opt(c, "wildcards", "1"); break;
        case OPT_NO_WILDCARDS:
            rc = add_archive_opt(c, "wildcards", "0");
            break;
        case OPT_S3_ENDPOINT: c->s3_endpoint = optarg; break;
        case OPT_INSECURE: c->insecure = 1; break;
        case OPT_PROGRESS: c->progress = 1; break;
        case OPT_SALT: c->salt = optarg; break;
        case OPT_ENCRYPTION_INFO: c->encryption_info = optarg; break;
        case OPT_PASS_FILE: c->passphrase_file = optarg; break;
        case OPT_PASS_FD: {
            char *end;
            long fd = strtol(optarg, &end, 10);
            if (*end || !*optarg || fd < 0 || fd > 1 << 20)
                return usage_error("--passphrase-fd: '%s' is not a "
                                   "descriptor", optarg);
            c->passphrase_fd = (int)fd;
            break;
        }
        case 'h': c->mode = MODE_HELP; return 0;
        case 'V': c->mode = MODE_VERSION; return 0;
        case ':':
            return usage_error("option '%s' needs an argument",
                               argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
        if (rc < 0)
            return -1;
    }
    /* -T: files-from in tar create mode (as tar), threads elsewhere (as
     * zstd). */
    if (t_arg) {
        if (c->mode == MODE_CREATE)
            c->files_from = t_arg;
        else
            c->threads = t_arg;
    }
    c->args = argv + optind;
    c->n_args = argc - optind;
    if (subcommand) {
        if (mode_set)
            return usage_error("%s", "decrypt-object takes no -c/-x/-t/-d");
        c->mode = MODE_DECRYPT_OBJECT;
        if (!c->salt == !c->encryption_info)
            return usage_error("%s", "decrypt-object needs exactly one of "
                                     "--salt HEX and --encryption-info FILE");
    }
    /* As the zstd stage takes them (no --ultra levels 20..22). */
    if (c->level_given && (c->level < -131072 || c->level > 19 ||
                           c->level == 0)) {
        char lv[16];
        snprintf(lv, sizeof lv, "%d", c->level);
        return usage_error("zstd level %s out of range: 1..19, or negative "
                           "for fast levels", lv);
    }
    return 0;
}
