/*
 * bench/gen.c - deterministic data for bench/run (not part of sluice).
 *
 *   gen tree DIR SCALE    builds the benchmark corpus under DIR (which must
 *                         not exist); SCALE 8 is the full ~640 MB / ~40k
 *                         file tree, 1 the --quick one (~80 MB / ~5k files)
 *   gen stream BYTES      writes BYTES of source-like text to stdout (for
 *                         the memory-flatness check; 4G works, nothing is
 *                         stored); BYTES takes K, M, G suffixes (binary)
 *
 * Everything comes from a fixed-seed xorshift generator, so the same
 * SCALE gives the same bytes, names and mtimes on every machine.
 *
 * The data is meant to compress like real backups do, not like zeros or
 * noise: source-like text (Zipf-distributed identifiers from a generated
 * vocabulary, indentation, punctuation) compresses about 3-4x at zstd -3;
 * log lines (timestamps, counters, a few hosts and messages) more; a
 * record-structured "database" file about 2x; and some files are random
 * bytes (as media and already-compressed files are).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static uint64_t rng_state;

static void seed(uint64_t s)
{
    rng_state = s * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
    if (!rng_state)
        rng_state = 1;
}

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint32_t below(uint32_t n)
{
    return (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32);
}

/* ---- vocabulary ---------------------------------------------------------- */

#define NWORDS 4096
#define ZIPF_TABLE 65536
static char words[NWORDS][16];
static uint8_t word_len[NWORDS];
static uint16_t zipf[ZIPF_TABLE]; /* uniform 16-bit -> word index */

static const char *const syll[] = {
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "pra", "que",
    "str", "buf", "len", "ptr", "idx", "get", "set", "init", "free", "node",
    "list", "map", "key", "val", "err", "ctx", "cfg", "io", "fd", "tmp",
    "out", "in", "read", "write", "open", "close", "size", "count", "data"};

static const char *const keywords[] = {
    "if", "else", "for", "while", "return", "static", "const", "int",
    "char", "void", "struct", "size_t", "uint8_t", "NULL", "break",
    "case", "switch", "sizeof", "unsigned", "goto"};

static void build_vocab(void)
{
    seed(42);
    size_t ns = sizeof syll / sizeof syll[0];
    for (int i = 0; i < NWORDS; i++) {
        char *w = words[i];
        size_t n = 0;
        if (i < 20) {
            n = strlen(keywords[i]);
            memcpy(w, keywords[i], n);
        } else {
            int parts = 1 + (int)below(3);
            for (int p = 0; p < parts; p++) {
                const char *s = syll[below((uint32_t)ns)];
                size_t l = strlen(s);
                if (n + l + 1 >= sizeof words[0])
                    break;
                if (p && below(3) == 0)
                    w[n++] = '_';
                memcpy(w + n, s, l);
                n += l;
            }
        }
        w[n] = '\0';
        word_len[i] = (uint8_t)n;
    }
    /* Zipf(1): weight 1/(rank+1). */
    double total = 0;
    for (int i = 0; i < NWORDS; i++)
        total += 1.0 / (i + 1);
    double acc = 0;
    int w = 0;
    for (int i = 0; i < ZIPF_TABLE; i++) {
        double target = (i + 0.5) / ZIPF_TABLE * total;
        while (w < NWORDS - 1 && acc + 1.0 / (w + 1) < target) {
            acc += 1.0 / (w + 1);
            w++;
        }
        zipf[i] = (uint16_t)w;
    }
}

/* ---- text kinds ---------------------------------------------------------- */

typedef struct sink {
    uint8_t *buf;
    size_t len, cap;
} sink;

static void put(sink *s, const void *p, size_t n)
{
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1 << 16;
        while (cap < s->len + n)
            cap *= 2;
        s->buf = realloc(s->buf, cap);
        if (!s->buf) {
            perror("gen");
            exit(1);
        }
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void putc_(sink *s, char c)
{
    put(s, &c, 1);
}

static void put_word(sink *s)
{
    int w = zipf[rnd() >> 48];
    put(s, words[w], word_len[w]);
}

/* One line of C-like source. */
static void source_line(sink *s, int *depth)
{
    static const char *const punct[] = {" = ", ", ", "(", ") ", "->", ".",
                                        " + ", " < ", "; ", "[", "] "};
    uint32_t r = below(100);
    if (r < 6) {
        putc_(s, '\n');
        return;
    }
    for (int i = 0; i < *depth; i++)
        put(s, "    ", 4);
    if (r < 10) {
        put(s, "/* ", 3);
        int n = 4 + (int)below(8);
        for (int i = 0; i < n; i++) {
            put_word(s);
            putc_(s, ' ');
        }
        put(s, "*/\n", 3);
        return;
    }
    int n = 2 + (int)below(9);
    for (int i = 0; i < n; i++) {
        put_word(s);
        if (i + 1 < n) {
            const char *pu = punct[below(11)];
            put(s, pu, strlen(pu));
        }
    }
    if (r < 20 && *depth < 4) {
        put(s, " {\n", 3);
        (*depth)++;
    } else if (r < 32 && *depth > 0) {
        put(s, ";\n", 2);
        (*depth)--;
        for (int i = 0; i < *depth; i++)
            put(s, "    ", 4);
        put(s, "}\n", 2);
    } else {
        put(s, ";\n", 2);
    }
}

static void gen_source(sink *s, size_t size)
{
    int depth = 0;
    while (s->len < size)
        source_line(s, &depth);
    s->len = size;
}

/* Log lines: ascending timestamps, a few hosts and levels, messages from
 * the vocabulary, counters. */
static void gen_log(sink *s, size_t size, uint64_t *clock)
{
    static const char *const hosts[] = {"web01", "web02", "db1", "cache3",
                                        "batch7", "edge-eu", "edge-us"};
    static const char *const lvl[] = {"INFO", "INFO", "INFO", "DEBUG",
                                      "WARN", "ERROR"};
    char line[128];
    while (s->len < size) {
        *clock += below(2000);
        uint64_t t = *clock;
        int n = snprintf(line, sizeof line,
                         "2026-%02u-%02u %02u:%02u:%02u.%03u %s %-5s [%u] ",
                         (unsigned)(t / 2678400000ull % 12 + 1),
                         (unsigned)(t / 86400000ull % 28 + 1),
                         (unsigned)(t / 3600000 % 24),
                         (unsigned)(t / 60000 % 60),
                         (unsigned)(t / 1000 % 60), (unsigned)(t % 1000),
                         hosts[below(7)], lvl[below(6)],
                         1000 + below(64));
        put(s, line, (size_t)n);
        int words_n = 3 + (int)below(8);
        for (int i = 0; i < words_n; i++) {
            put_word(s);
            putc_(s, ' ');
        }
        n = snprintf(line, sizeof line, "took=%ums bytes=%u\n", below(900),
                     below(1u << 20));
        put(s, line, (size_t)n);
    }
    s->len = size;
}

/* Fixed-size binary records: ids, small counters, flags, a name. */
static void gen_records(sink *s, size_t size)
{
    uint8_t rec[64];
    uint32_t id = 1;
    while (s->len < size) {
        memset(rec, 0, sizeof rec);
        memcpy(rec, &id, 4);
        id += 1 + below(3);
        uint32_t a = below(1000), b = below(100000);
        memcpy(rec + 4, &a, 4);
        memcpy(rec + 8, &b, 4);
        rec[12] = (uint8_t)below(4);
        uint64_t r = rnd();
        memcpy(rec + 16, &r, below(9));
        int w = zipf[rnd() >> 48];
        memcpy(rec + 32, words[w], word_len[w]);
        put(s, rec, sizeof rec);
    }
    s->len = size;
}

static void gen_random(sink *s, size_t size)
{
    while (s->len < size) {
        uint64_t r = rnd();
        put(s, &r, sizeof r);
    }
    s->len = size;
}

/* ---- the tree ------------------------------------------------------------ */

#define MTIME 1767225600 /* 2026-01-01 00:00:00 UTC */

static void write_file(const char *path, const sink *s)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    size_t off = 0;
    while (off < s->len) {
        ssize_t n = write(fd, s->buf + off, s->len - off);
        if (n < 0) {
            fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
            exit(1);
        }
        off += (size_t)n;
    }
    struct timespec ts[2] = {{MTIME, 0}, {MTIME, 0}};
    futimens(fd, ts);
    close(fd);
}

static void mkdir_p(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "gen: mkdir %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* Sizes of small files: log-uniform between 200 B and 40 KiB (mean about
 * 7.5 KiB), as in a source tree or a home directory. */
static size_t small_size(void)
{
    double u = (double)(rnd() >> 11) / (double)(1ull << 53);
    return (size_t)(200.0 * exp(u * log(40960.0 / 200.0)));
}

static int gen_tree(const char *root, int scale)
{
    char path[4096];
    sink s = {0};
    uint64_t clock = 0;
    build_vocab();
    seed(1000 + (uint64_t)scale);
    if (mkdir(root, 0755) < 0) {
        fprintf(stderr, "gen: mkdir %s: %s\n", root, strerror(errno));
        return 1;
    }
    /* Many small files: 5 top directories per scale unit, 10 below each,
     * 100 files in each of those. */
    int tops = 5 * scale;
    static const char *const ext[] = {".c", ".h", ".txt", ".md", ".json",
                                      ".py", ".log", ".dat", ".png", ".gz"};
    for (int t = 0; t < tops; t++) {
        snprintf(path, sizeof path, "%s/pkg%03d", root, t);
        mkdir_p(path);
        for (int d = 0; d < 10; d++) {
            snprintf(path, sizeof path, "%s/pkg%03d/mod%02d", root, t, d);
            mkdir_p(path);
            for (int f = 0; f < 100; f++) {
                uint32_t kind = below(100);
                int e = kind < 70 ? (int)below(6)           /* source   */
                        : kind < 80 ? 6                      /* log      */
                        : kind < 90 ? 7                      /* records  */
                                    : 8 + (int)below(2);     /* random   */
                int w = zipf[rnd() >> 48];
                snprintf(path, sizeof path, "%s/pkg%03d/mod%02d/%s_%03d%s",
                         root, t, d, words[w], f, ext[e]);
                size_t size = small_size();
                s.len = 0;
                if (e < 6)
                    gen_source(&s, size);
                else if (e == 6)
                    gen_log(&s, size, &clock);
                else if (e == 7)
                    gen_records(&s, size);
                else
                    gen_random(&s, size);
                write_file(path, &s);
            }
        }
    }
    /* Medium files: 12 per scale unit, 256 KiB to 2 MiB. */
    snprintf(path, sizeof path, "%s/media", root);
    mkdir_p(path);
    for (int i = 0; i < 12 * scale; i++) {
        size_t size = (256u << 10) + below(7u << 18);
        s.len = 0;
        const char *x;
        switch (i % 4) {
        case 0: gen_source(&s, size); x = "src.tar"; break;
        case 1: gen_log(&s, size, &clock); x = "log"; break;
        case 2: gen_records(&s, size); x = "db"; break;
        default: gen_random(&s, size); x = "jpg"; break;
        }
        snprintf(path, sizeof path, "%s/media/file%03d.%s", root, i, x);
        write_file(path, &s);
    }
    /* A few large files. */
    snprintf(path, sizeof path, "%s/big", root);
    mkdir_p(path);
    struct {
        const char *name;
        size_t mib;
        int kind;
    } big[] = {{"server.log", 16, 1}, {"records.db", 8, 2},
               {"video.mp4", 6, 3}};
    for (size_t i = 0; i < 3; i++) {
        size_t size = big[i].mib * (size_t)scale << 20;
        s.len = 0;
        if (big[i].kind == 1)
            gen_log(&s, size, &clock);
        else if (big[i].kind == 2)
            gen_records(&s, size);
        else
            gen_random(&s, size);
        snprintf(path, sizeof path, "%s/big/%s", root, big[i].name);
        write_file(path, &s);
    }
    free(s.buf);
    return 0;
}

/* ---- stream -------------------------------------------------------------- */

static int write_all(const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(1, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EPIPE)
                return 1;
            perror("gen: write");
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Slices of a 32 MiB pool of source text at random offsets: as
 * compressible as the text itself (a slice repeats, if at all, much
 * farther back than zstd -3's window), and fast enough (GB/s) not to
 * slow down what it feeds. */
static int gen_stream(uint64_t total)
{
    sink s = {0};
    int depth = 0;
    const size_t pool = 32u << 20;
    build_vocab();
    seed(7);
    while (s.len < pool)
        source_line(&s, &depth);
    while (total > 0) {
        size_t len = (256u << 10) + below(3u << 18);
        if (len > total)
            len = (size_t)total;
        size_t off = below((uint32_t)(pool - len));
        int rc = write_all(s.buf + off, len);
        if (rc)
            return rc < 0;
        total -= len;
    }
    free(s.buf);
    return 0;
}

static uint64_t parse_size(const char *a)
{
    char *end;
    uint64_t v = strtoull(a, &end, 10);
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    }
    if (*end) {
        fprintf(stderr, "gen: bad size '%s'\n", a);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "tree"))
        return gen_tree(argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 1);
    if (argc == 3 && !strcmp(argv[1], "stream"))
        return gen_stream(parse_size(argv[2]));
    fprintf(stderr, "usage: gen tree DIR SCALE | gen stream BYTES\n");
    return 2;
}
