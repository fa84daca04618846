/*
 * presets.h - the one place in the core that names stages: the chain the
 * shorthand options ask for (-z, -LEVEL, --zstd=L, -e, --kdf-iter), the
 * forward chain a stored descriptor implies, the raw-object chain of
 * decrypt-object, the endpoint stage for a path or URL, and the archive
 * stage of the tar modes.  Stage parameters are passed on as given: each
 * stage validates its own (no copied ranges here).
 */
#ifndef SLUICE_PRESETS_H
#define SLUICE_PRESETS_H

#include "engine.h"
#include "header.h"

typedef struct preset_opts {
    int zstd;             /* -z or a level given                      */
    int level;            /* zstd level; 0 = the preset default (3)   */
    int encrypt;          /* -e                                        */
    const char *kdf_iter; /* --kdf-iter, or NULL                       */
    const char *salt_hex; /* a fixed salt (collections), or NULL       */
} preset_opts;

/* Appends the chain p asks for to chain; 0 or a status with err set. */
int preset_chain(const preset_opts *p, header *chain, sluice_error *err);

/* The forward chain that continues a stream whose recorded chain is d
 * (the parameters a stage takes back on the forward side). */
int preset_forward_from(const header *d, header *f, sluice_error *err);

/* 1 if the recorded chain h encrypts. */
int preset_encrypts(const header *h);

/* decrypt-object: the encryption stage's header line for a bare object,
 * from its salt (hex; NULL: the stage reads it from its
 * encryption-info= option) and iteration count (NULL = the default). */
/* A collection's chain made by -e or --chain: its encryption stage gets
 * the collection's salt (and the iteration count) fixed, unless the
 * chain gave them. */
int preset_collection_salt(header *chain, const char *salt_hex,
                           const char *kdf_iter, sluice_error *err);

int preset_raw_object(const char *salt_hex, const char *kdf_iter,
                      header *chain, sluice_error *err);

/* Endpoint options from the command line, applied to network stages. */
typedef struct preset_net {
    const char *s3_endpoint;
    int insecure;
    int verbose;
} preset_net;

#define PRESET_EP_KV 8
typedef struct preset_endpoint {
    char scheme[32];
    sluice_kv kv[PRESET_EP_KV];
    size_t n; /* used; a caller may append a few options after them */
} preset_endpoint;

/* The endpoint stage for target: "scheme://..." names the stage after
 * its scheme (https is http's), "file:///path" and anything else is the
 * file stage ("-" = stdin/stdout).  spec points into e. */
void preset_endpoint_for(const char *target, const preset_net *net,
                         preset_endpoint *e, stage_spec *spec);
/* The file stage for a local path, whatever it looks like. */
void preset_file_endpoint(const char *path, preset_endpoint *e,
                          stage_spec *spec);
/* A local path in "file:///path" (or file://localhost/path) spelling
 * turned into the path (a pointer into url); any other string as is. */
const char *preset_local_path(const char *url);

/* Restore: the sink options for the plaintext of an authenticated
 * (encrypted) input, set on job: a new file is created private (the file
 * stage's mode=0600); other sinks as they are.  e and sink come from
 * preset_endpoint_for. */
void preset_private_sink(preset_endpoint *e, const stage_spec *sink,
                         engine_job *job);

/* The stage that makes and unpacks archives (-c, -x, -t). */
const char *preset_archive_stage(void);

#endif
