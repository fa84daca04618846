/*
 * sluice/plugin.h - the public, versioned C ABI between the sluice host and
 * its stage plugins.  A plugin includes this header and nothing else of
 * sluice; the host reaches a plugin only through what is declared here.
 *
 * The model (see doc/PLUGINS.md for a tutorial):
 *
 *   - A plugin is a shared object exporting one symbol, sluice_plugin_entry,
 *     which returns a constant description (struct sluice_plugin): the ABI
 *     version it was built against and an array of stages it provides.
 *     The entry function must do nothing but return that pointer: the host
 *     checks abi_major/abi_minor/struct sizes before it calls anything else.
 *
 *   - A stage is a vtable (struct sluice_stage): open, run, header_mac, close.
 *     In each direction (forward = backup, reverse = restore) a stage plays
 *     one role: a SOURCE of bytes (in == NULL), a TRANSFORM, or a SINK of
 *     bytes (out == NULL).  run() is called once, on a thread of its own;
 *     it pulls input through api->read_next/api->read and pushes output
 *     through api->reserve/api->commit or api->write.  It never touches
 *     stdin/stdout itself: endpoints are stages too.
 *
 *   - Everything the host offers (stream I/O, passphrase, logging, header
 *     records, cancellation, and since ABI 1.2 a per-session cache of
 *     derived secrets and a resource budget) comes through struct
 *     sluice_api, a table of function pointers that only ever grows at
 *     the end.
 *
 *   - Since ABI 1.3 an endpoint stage may list the objects under a
 *     prefix (struct sluice_stage.list), so a collection's prune can
 *     find what nothing references on any storage.
 *   - Since ABI 1.4 a stage that authenticates what it produces may
 *     report a binding of it (struct sluice_stage.binding), so a
 *     collection can tell its objects apart without hashing every byte.
 *
 *   - Since ABI 1.2 a stage may declare the header parameters and
 *     run-time options it accepts (struct sluice_stage.keys); the host
 *     then refuses any other key before open() is called, and passes the
 *     host-generic options ("threads", "verbose", "progress", ...) only
 *     if they are declared.
 *
 * Compatibility rules: structs in this header only grow at the end.  A
 * plugin built for ABI major M minor m loads in a host of major M and minor
 * >= m; any other major is refused.  Each growable struct starts with (or
 * is accompanied by) its size so that either side can tell which fields
 * the other one knows.
 */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLUICE_ABI_MAJOR 1
#define SLUICE_ABI_MINOR 4

/* The one symbol a plugin exports. */
#define SLUICE_PLUGIN_ENTRY_SYMBOL "sluice_plugin_entry"

#if defined(__GNUC__)
#define SLUICE_EXPORT __attribute__((visibility("default")))
#define SLUICE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SLUICE_EXPORT
#define SLUICE_PRINTF(f, a)
#endif

/* ---- status codes ------------------------------------------------------
 * Functions return 0 on success or one of these negative codes.  The host
 * maps them to documented exit statuses (doc/EXIT.md / sluice(1)). */
enum sluice_status {
    SLUICE_OK = 0,
    SLUICE_E_USAGE = -2,       /* bad parameter, option or argument        */
    SLUICE_E_IO = -3,          /* reading or writing storage failed        */
    SLUICE_E_FORMAT = -4,      /* input is corrupt or not what it claims   */
    SLUICE_E_AUTH = -5,        /* authentication failed: wrong passphrase
                                  or tampered data                         */
    SLUICE_E_NOMEM = -6,       /* out of memory                            */
    SLUICE_E_UNSUPPORTED = -7, /* valid but not supported by this build    */
    SLUICE_E_CANCELED = -8,    /* chain aborted elsewhere; not reported    */
    SLUICE_E_NETWORK = -9,     /* remote storage failed                    */
    SLUICE_E_INTERNAL = -10,   /* a bug                                    */
    SLUICE_E_PIPE = -11        /* the reader of our output went away
                                  (EPIPE): sluice ends quietly as a filter
                                  killed by SIGPIPE would                  */
};

/* An error returned as a value: a status and a one-line message.  The
 * host prints "sluice: <stage>: <message>", so the message names the
 * cause only, without the stage name and without a trailing newline. */
#define SLUICE_ERROR_MAX 512
typedef struct sluice_error {
    int code;
    char message[SLUICE_ERROR_MAX];
} sluice_error;

/* Sets *err and returns code, so that `return sluice_error_set(...)` reads
 * naturally. */
static inline int sluice_error_set(sluice_error *err, int code,
                                   const char *fmt, ...) SLUICE_PRINTF(3, 4);
static inline int sluice_error_set(sluice_error *err, int code,
                                   const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- roles and directions --------------------------------------------- */
enum sluice_direction {
    SLUICE_FORWARD = 1, /* backup: the chain as written in the header     */
    SLUICE_REVERSE = 2  /* restore: the chain undone, last stage first    */
};

enum sluice_role {
    SLUICE_ROLE_SOURCE = 1u << 0,    /* produces bytes; run(in == NULL)  */
    SLUICE_ROLE_TRANSFORM = 1u << 1, /* bytes in, bytes out              */
    SLUICE_ROLE_SINK = 1u << 2       /* consumes bytes; run(out == NULL) */
};

/* Stage flags. */
#define SLUICE_STAGE_HEADER_MAC (1u << 0) /* implements header_mac()      */
/* ABI 1.1: as a sink, honours the run-time option "exclusive=1": the
 * target is created only if it does not exist, atomically (no two
 * exclusive runs on the same target can both succeed); if it exists,
 * run() fails (SLUICE_E_IO, "... exists") and leaves it as it was.  A
 * sink without this flag ignores the option, so the host asks for it
 * only of stages that have the flag. */
#define SLUICE_STAGE_EXCLUSIVE (1u << 1)

/* A key/value pair.  Keys match [a-z0-9_-]+; values recorded in a header
 * match [A-Za-z0-9._:/+=-]* (the host enforces both). */
typedef struct sluice_kv {
    const char *key;
    const char *value;
} sluice_kv;

/* ---- the host side ----------------------------------------------------- */
typedef struct sluice_host sluice_host;     /* one per stage instance       */
typedef struct sluice_input sluice_input;   /* the stage's input stream     */
typedef struct sluice_output sluice_output; /* the stage's output stream    */

/* Output blocks are at least this large, so api->reserve() can always
 * hand out this many contiguous bytes. */
#define SLUICE_RESERVE_MAX (256u * 1024u)

/* Log levels for api->log. */
enum sluice_log_level {
    SLUICE_LOG_WARNING = 1, /* printed unless -q                        */
    SLUICE_LOG_INFO = 2,    /* printed with -v                          */
    SLUICE_LOG_DEBUG = 3    /* printed with -vv                         */
};

/* Flags for api->passphrase. */
#define SLUICE_PASSPHRASE_CONFIRM (1u << 0) /* ask twice when prompting   */

typedef struct sluice_api {
    uint32_t struct_size; /* sizeof(struct sluice_api) as the host built it */
    uint32_t abi_major;
    uint32_t abi_minor;

    /* -- input (transform and sink stages) --
     * read_next: returns the number of bytes (> 0) available at *data,
     * which all count as consumed; 0 at end of stream; a negative status
     * (SLUICE_E_CANCELED when the chain was aborted elsewhere).  *data
     * stays valid until the next call on the same input. */
    ptrdiff_t (*read_next)(sluice_input *in, const uint8_t **data);
    /* read: copies up to len bytes; returns fewer only at end of stream;
     * a negative status on error.  May be mixed with read_next. */
    ptrdiff_t (*read)(sluice_input *in, void *buf, size_t len);

    /* -- output (source and transform stages) --
     * reserve: returns space for at least min bytes (min <=
     * SLUICE_RESERVE_MAX) and its real size in *avail, or NULL if the chain
     * was aborted.  Bytes become output only when committed. */
    uint8_t *(*reserve)(sluice_output *out, size_t min, size_t *avail);
    int (*commit)(sluice_output *out, size_t len);
    /* write: copies len bytes out (convenience over reserve/commit). */
    int (*write)(sluice_output *out, const void *data, size_t len);

    /* -- services -- */
    /* Prints "sluice: <stage>: <message>" on stderr if level is enabled. */
    void (*log)(sluice_host *host, int level, const char *fmt, ...)
        SLUICE_PRINTF(3, 4);
    /* The run was completed but is incomplete (a file could not be read,
     * say): sluice reports it and exits with status 1, as tar does.  Log
     * the reason first. */
    void (*mark_incomplete)(sluice_host *host);
    /* Nonzero once the chain is being aborted (another stage failed, or a
     * signal arrived).  Long blocking work should poll it. */
    int (*cancelled)(sluice_host *host);
    /* Fetches the user's passphrase (from a file, a descriptor, the
     * environment or a terminal prompt) into buf; *len gets its length.
     * The stage must wipe buf when done.  Never from argv. */
    int (*passphrase)(sluice_host *host, unsigned flags, char *buf,
                      size_t cap, size_t *len, sluice_error *err);
    /* Forward open() only: adds key=value to the stage's header line.
     * Record only what the reverse direction needs. */
    int (*record)(sluice_host *host, const char *key, const char *value);
    /* Announces the expected total of bytes this stage will produce
     * (for progress and ETA); optional, heard from the chain's source
     * only.  May be called from any thread, and again to correct it. */
    void (*progress_total)(sluice_host *host, uint64_t total);
    /* Prints one bare line of listing (tar -v: the names of the entries
     * handled), on stdout when stdout does not carry the stream, else on
     * stderr.  No "sluice:" prefix; control characters are escaped. */
    void (*listing)(sluice_host *host, const char *line);

    /* ---- ABI 1.2 (check struct_size before calling: a 1.1 host's table
     * ends above) ----
     *
     * A per-session cache of derived secrets, so that a secret derived
     * from the passphrase (a key from PBKDF2, say) is derived once per
     * session whatever the number of engine runs (a collection makes
     * many).  id names the derivation's inputs other than the passphrase
     * (KDF, iterations, salt); the host scopes it by stage name.  Held in
     * locked memory, never logged, wiped when the session ends.
     * secret_get copies a cached secret of exactly len bytes into secret
     * and returns 1, or returns 0 when there is none; secret_put stores
     * one (0, or a negative status: the cache is full or len too large;
     * the stage then just goes on without it).  id_len and len are at
     * most SLUICE_SECRET_MAX. */
    int (*secret_get)(sluice_host *host, const void *id, size_t id_len,
                      void *secret, size_t len);
    int (*secret_put)(sluice_host *host, const void *id, size_t id_len,
                      const void *secret, size_t len);
    /* Charges amount units of resource (SLUICE_RESOURCE_*) to the budget
     * that every stage of the engine run shares, BEFORE the work or the
     * allocation it pays for.  A negative amount gives units back (memory
     * freed).  Returns 0, or, when the budget would be exceeded, leaves
     * it unchanged, sets err ("... more than the memory budget ...: raise
     * it with --max-memory") and returns SLUICE_E_FORMAT on restore (the
     * stream asks for it) or SLUICE_E_USAGE on backup. */
    int (*charge)(sluice_host *host, int resource, int64_t amount,
                  sluice_error *err);
} sluice_api;

/* Largest id or secret api->secret_get/secret_put handle, in bytes. */
#define SLUICE_SECRET_MAX 64

/* Resources for api->charge. */
enum sluice_resource {
    SLUICE_RESOURCE_MEMORY = 1,  /* bytes of memory                     */
    SLUICE_RESOURCE_KDF_ITER = 2 /* iterations of a password KDF        */
};

/* What open() is given. */
typedef struct sluice_stage_args {
    uint32_t struct_size;  /* sizeof(struct sluice_stage_args), host's   */
    int direction;         /* SLUICE_FORWARD or SLUICE_REVERSE            */
    unsigned role;         /* the one SLUICE_ROLE_* bit chosen            */
    /* Parameters that shape the stream.  Forward: from the chain spec
     * (e.g. `zstd:level=9`); reverse: from the stream header. */
    const sluice_kv *params;
    size_t n_params;
    /* Run-time options that never enter the header: "threads", "path"
     * (for endpoint stages), "verbose", "progress" ("1" when a progress
     * line is shown, so a source may work out its total for
     * api->progress_total).  A stage that declares its keys (ABI 1.2)
     * gets only declared ones; one that does not must ignore the ones it
     * does not know. */
    const sluice_kv *options;
    size_t n_options;
    const sluice_api *api;
    sluice_host *host;
} sluice_stage_args;

/* Returns the value of key in kv[0..n), or NULL. */
static inline const char *sluice_kv_get(const sluice_kv *kv, size_t n,
                                        const char *key)
{
    for (size_t i = 0; i < n; i++) {
        const char *a = kv[i].key, *b = key;
        while (*a && *a == *b) {
            a++;
            b++;
        }
        if (*a == *b)
            return kv[i].value;
    }
    return NULL;
}

/* ---- the plugin side --------------------------------------------------- */
#define SLUICE_MAC_MAX 64

/* ABI 1.2: one key a stage accepts, for struct sluice_stage.keys.
 * flags: exactly one of SLUICE_KEY_PARAM (a header parameter: forward
 * from the chain spec, reverse from the stream header) and
 * SLUICE_KEY_OPTION (a run-time option, never recorded), and one or both
 * of SLUICE_KEY_FORWARD and SLUICE_KEY_REVERSE (the directions it is
 * accepted in). */
#define SLUICE_KEY_PARAM (1u << 0)
#define SLUICE_KEY_OPTION (1u << 1)
#define SLUICE_KEY_FORWARD (1u << 2)
#define SLUICE_KEY_REVERSE (1u << 3)
#define SLUICE_KEY_BOTH (SLUICE_KEY_FORWARD | SLUICE_KEY_REVERSE)

typedef struct sluice_key {
    const char *key;     /* [a-z0-9_-]+, as in struct sluice_kv         */
    unsigned flags;      /* SLUICE_KEY_*                                */
    const char *summary; /* one line, for `sluice stages -v`           */
} sluice_key;

/* ABI 1.3: one entry a stage's list() found, handed to the host's
 * callback.  Only valid during the call: copy what you keep. */
enum sluice_entry_kind {
    SLUICE_ENTRY_OBJECT = 1, /* a stored object (a regular file)         */
    SLUICE_ENTRY_UPLOAD = 2, /* an incomplete multipart upload (S3): not
                                an object; remove() with the run-time
                                option "upload-id" = upload_id aborts it  */
    SLUICE_ENTRY_OTHER = 3   /* something else that is not a directory
                                (a symlink, a FIFO, ...): never followed;
                                remove() removes it like an object       */
};

typedef struct sluice_entry {
    uint32_t struct_size; /* sizeof(struct sluice_entry), the stage's    */
    int kind;             /* SLUICE_ENTRY_*                              */
    /* Relative to the prefix the options name ("backups/ID/data-3"):
     * never empty, never starting with "/", no "." or ".." component,
     * at most SLUICE_ENTRY_NAME_MAX bytes, no NUL. */
    const char *name;
    uint64_t size;        /* bytes stored; 0 for an upload              */
    int64_t mtime;        /* unix seconds: last modified, or when an
                             upload was started                         */
    const char *upload_id;/* SLUICE_ENTRY_UPLOAD only; else NULL        */
} sluice_entry;

#define SLUICE_ENTRY_NAME_MAX 1024

/* The host's callback for list(): 0 to go on, or a negative status,
 * which stops the listing and is what list() returns. */
typedef int (*sluice_list_fn)(void *arg, const sluice_entry *entry);

typedef struct sluice_stage {
    const char *name;    /* [a-z0-9][a-z0-9._-]{0,63}                    */
    const char *summary; /* one line, for `sluice stages`                */
    unsigned forward_roles; /* SLUICE_ROLE_* bits allowed on backup      */
    unsigned reverse_roles; /* SLUICE_ROLE_* bits allowed on restore     */
    unsigned flags;         /* SLUICE_STAGE_*                           */

    /* Validates args, allocates the stage's context.  Forward: records
     * header parameters with args->api->record.  May ask for the
     * passphrase.  Must not start producing output. */
    int (*open)(const sluice_stage_args *args, void **ctx, sluice_error *err);

    /* Moves the whole stream, on a thread of its own.  Returns 0 after
     * end of input has been read and all output written; a sink makes its
     * output durable/visible only then, and checks api->cancelled just
     * before it does (if set: discard, return SLUICE_E_CANCELED).  On
     * error, returns the status (a sink discards what it wrote).  open,
     * run and header_mac return 0 or a negative SLUICE_E_* status and
     * nothing else: the host fails the run on any other value.  On
     * SLUICE_E_CANCELED from the host, returns it; a message set then is
     * context, not an error: the host appends it to the cause's line
     * ("...; archive: extraction stopped after restoring a/b").
     * SLUICE_E_PIPE likewise needs no message. */
    int (*run)(void *ctx, sluice_input *in, sluice_output *out,
               sluice_error *err);

    /* With SLUICE_STAGE_HEADER_MAC: computes the MAC of the header bytes
     * (from "sluice/1" through "---") into mac[0..*mac_len), *mac_len <=
     * SLUICE_MAC_MAX.  Called after open(), before run(), in both
     * directions; on restore the host compares in constant time. */
    int (*header_mac)(void *ctx, const uint8_t *header, size_t len,
                      uint8_t *mac, size_t *mac_len, sluice_error *err);

    /* Frees the context, wiping any key material.  Called once per
     * successful open(), after run() returned (or instead of it). */
    void (*close)(void *ctx);

    /* ---- ABI 1.1 (NULL in plugins built for 1.0: "not supported") ----
     * Endpoint stages: removes the object the run-time options name (the
     * same options a sink's open() would get: "url", "path", ...), on the
     * calling thread, without open()/close().  args->role is
     * SLUICE_ROLE_SINK, args->direction SLUICE_FORWARD; no params.
     * Returns 0 when the object is gone (also when it did not exist) or
     * a status with err set. */
    int (*remove)(const sluice_stage_args *args, sluice_error *err);

    /* ---- ABI 1.2 (NULL in plugins built for 1.0/1.1: "not declared") ----
     * The keys the stage accepts, ended by an entry whose key is NULL; at
     * most 256.  With a table, the host refuses any other parameter
     * (forward: a usage error, exit 2; reverse: a corrupt header, exit 4)
     * or run-time option (a usage error naming the stage and the key,
     * with the closest declared key as a hint) before open() is called,
     * and passes a host-generic option (threads, verbose, progress, ...)
     * only when it is declared.  A table holding only the terminator
     * declares that the stage takes no keys at all.  Without a table
     * (NULL), nothing is checked: open() sees every key, as in ABI 1.1. */
    const sluice_key *keys;

    /* ---- ABI 1.3 (NULL in plugins built for 1.0-1.2: "cannot list") ----
     * Endpoint stages: calls fn(arg, entry) once for each entry under the
     * prefix the run-time options name (the same options remove() gets:
     * "url" s3://BUCKET/PREFIX lists the keys starting with "PREFIX/";
     * "path" DIR lists the tree under the directory DIR), in no
     * particular order, on the calling thread, without open()/close().
     * args as for remove().  Directories are walked, not listed; the
     * walk follows no symbolic link.  An entry may be missed or seen
     * twice if the storage changes meanwhile; the caller holds a lock.
     * Returns 0 after the last entry, fn's status when fn stopped it, or
     * a status with err set. */
    int (*list)(const sluice_stage_args *args, sluice_list_fn fn, void *arg,
                sluice_error *err);

    /* ---- ABI 1.4 (NULL in plugins built for 1.0-1.3: "no binding") ----
     * Transforms whose reverse run refuses any output it did not make
     * without the key (an AEAD, say): after run() returned 0, and before
     * close(), writes SLUICE_BINDING_LEN bytes to out that bind the
     * stage's whole output in the forward direction: forward, the bytes
     * it wrote; reverse, the bytes it read, all authenticated.  Short of
     * knowing the key, no one can make other bytes that the reverse run
     * accepts with the same binding, so a caller that recorded it can
     * check that it reads back the very object it stored, without
     * hashing every byte (a collection's object records, FORMAT.md 5.3).
     * Returns 0, or a negative status with err set when this run has
     * none (the reverse run read an older object format, say). */
    int (*binding)(void *ctx, uint8_t *out, sluice_error *err);
} sluice_stage;

/* The length of what sluice_stage.binding writes (ABI 1.4). */
#define SLUICE_BINDING_LEN 32

typedef struct sluice_plugin {
    uint32_t abi_major;   /* SLUICE_ABI_MAJOR the plugin was built with  */
    uint32_t abi_minor;   /* SLUICE_ABI_MINOR the plugin was built with  */
    uint32_t struct_size; /* sizeof(struct sluice_plugin)                */
    uint32_t stage_size;  /* sizeof(struct sluice_stage): array stride   */
    const char *name;     /* plugin name, for messages                   */
    const char *version;  /* plugin version string                       */
    const sluice_stage *stages;
    size_t n_stages;
} sluice_plugin;

/* Fills the version fields of a struct sluice_plugin initializer. */
#define SLUICE_PLUGIN_INIT(plugin_name, plugin_version, stage_array)      \
    {                                                                     \
        SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR, sizeof(struct sluice_plugin), \
            sizeof(struct sluice_stage), (plugin_name), (plugin_version), \
            (stage_array), sizeof(stage_array) / sizeof((stage_array)[0]) \
    }

/* The entry point every plugin defines, e.g.
 *   static const sluice_plugin plugin =
 *       SLUICE_PLUGIN_INIT("zstd", "1.0", stages);
 *   SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
 *   { return &plugin; }
 */
typedef const sluice_plugin *(*sluice_plugin_entry_fn)(void);
SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void);

#ifdef __cplusplus
}
#endif
#endif /* SLUICE_PLUGIN_H */
