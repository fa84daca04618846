/* usage.c - the --help text, and spelling suggestions for usage errors. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

void cli_usage(void)
{
    fputs(
        "Usage:\n"
        "  sluice [-z|-LEVEL] [-e] [--chain SPEC] [-o OUT] [FILE]  encode (filter)\n"
        "  sluice -d [-o OUT] [FILE]                   decode whatever the header names\n"
        "  sluice -c [-z] [-e] [-v] -f OUT [-C DIR] [-T LIST] PATH...  create an archive\n"
        "  sluice -x [-v] -f IN [-C DIR] [PATH...]               extract\n"
        "  sluice -t [-v] -f IN                                  list\n"
        "  sluice inspect [FILE]                       print a stream's header\n"
        "  sluice stages                               list stages and their files\n"
        "  sluice decrypt-object (--salt HEX | --encryption-info F) [-o OUT] [FILE]\n"
        "                                              decrypt one bare encrypted object\n"
        "  sluice backup --to URL[?locality=TAG] [--to ...] [-z] [-e] [-C DIR]\n"
        "        [--host NAME] [--locality K=V[,K=V...]] [--checksum]\n"
        "        [--object-size SIZE] [--chain SPEC] [--exclude PAT] [--exclude-from F]\n"
        "        [--exclude-caches] [--one-file-system] [--files-from F] [--dry-run]\n"
        "        [--json] [-q] PATH...                 full/incremental backup\n"
        "  sluice backups --from URL [--host NAME] [-q] [--json]\n"
        "                                              list a collection's backups\n"
        "  sluice ls --from URL [--as-of ID|TIME] [--json] [PATH...]\n"
        "                                              list a backup's entries\n"
        "  sluice diff --from URL [--json] ID1 ID2     what changed between backups\n"
        "  sluice restore --from URL [--as-of ID|TIME] [--host NAME] -C DIR [PATH...]\n"
        "  sluice restore --from URL [--as-of ID|TIME] -O PATH  one file to stdout\n"
        "  sluice verify --from URL [-q]               authenticate every object\n"
        "  sluice forget --from URL [--keep-last N] [--keep-hourly N]\n"
        "        [--keep-daily N] [--keep-weekly N] [--keep-monthly N]\n"
        "        [--keep-yearly N] [--keep-within DURATION] [--host NAME]\n"
        "        [--dry-run] [--prune [--prune-grace D]]  drop backups from the INDEX\n"
        "  sluice prune --from URL [--dry-run] [--prune-grace DURATION] [-v]\n"
        "                                              delete unreferenced objects\n"
        "  sluice unlock --from URL [--remove-all]     show and remove a LOCK\n"
        "\n"
        "Chain:\n"
        "  -z, --zstd[=LEVEL]   zstd compression (default level 3; the stage\n"
        "                       checks the level)\n"
        "  -1 ... -19           zstd level (implies -z)\n"
        "  -e, --encrypt        AES-256-GCM encryption (passphrase never on argv)\n"
        "  --chain SPEC         explicit chain: stage[:key=value]...[,stage...]\n"
        "  --threads N          zstd's threads, compressing or decoding\n"
        "                       (default: all cores)\n"
        "  --kdf-iter N         PBKDF2 iterations (default 64000)\n"
        "Passphrase:\n"
        "  --passphrase-file F  first line of F\n"
        "  --passphrase-fd N    first line read from descriptor N\n"
        "  SLUICE_PASSPHRASE    environment; else prompted on the terminal\n"
        "Files:\n"
        "  -f, --file F         archive file or URL ('-' = stdin/stdout)\n"
        "  -o, --output F       filter output file (default stdout)\n"
        "  -C, --directory DIR  change to DIR first\n"
        "  -T, --files-from F   (-c) archive the paths listed in F, as tar\n"
        "                       (file:///PATH is accepted wherever a path is)\n"
        "  --s3-endpoint URL    S3-compatible endpoint (else AWS_ENDPOINT_URL)\n"
        "  --insecure           do not verify TLS certificates\n"
        "  -v, --verbose        list files; in filter mode the chain and the\n"
        "                       byte counts;  -q, --quiet  say less\n"
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

/* Optimal string alignment distance: edits, adjacent swaps counting one
 * ("--form" is one from "--from"). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

const char *cli_closest(const char *word, const char *const *words, size_t n)
{
    const char *best = NULL;
    size_t best_d = 99;
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(word, words[i]);
        if (d < best_d) {
            best = words[i];
            best_d = d;
        }
    }
    /* Close: at most two edits, and fewer than half the word. */
    size_t len = strlen(word);
    return best && best_d <= 2 && best_d * 2 < len ? best : NULL;
}
