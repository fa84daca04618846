/*
 * stagekeys.h - what a stage declares it accepts (struct sluice_stage.keys,
 * ABI 1.2), checked by the host: the loader validates a table when it
 * loads a plugin; the engine checks every parameter and run-time option
 * against it before open(), so a misspelled key is an error naming the
 * stage and the key instead of being ignored.
 */
#ifndef SLUICE_STAGEKEYS_H
#define SLUICE_STAGEKEYS_H

#include "sluice/plugin.h"

/* Most keys one stage may declare. */
#define STAGEKEYS_MAX 256

/* 0 if keys (non-NULL) is a well-formed table; else -1 with why set. */
int stagekeys_valid(const sluice_key *keys, char *why, size_t cap);

/* Checks params and options for stage vt in direction and returns in
 * *out (malloc()ed, NULL when *n_out is 0) the options the stage is to
 * get: all of them when it declares nothing; else the declared ones, the
 * host-generic ones it does not declare left out.  An undeclared
 * parameter is SLUICE_E_USAGE forward and SLUICE_E_FORMAT reverse (it
 * came from the stream's header); an undeclared option SLUICE_E_USAGE,
 * with the closest declared key as a hint. */
int stagekeys_apply(const sluice_stage *vt, int direction,
                    const sluice_kv *params, size_t n_params,
                    const sluice_kv *options, size_t n_options,
                    sluice_kv **out, size_t *n_out, sluice_error *err);

/* The declared key closest to key among those with all of flags, if
 * close enough to be a likely typo; else NULL.  (For the unit test.) */
const char *stagekeys_closest(const sluice_key *keys, unsigned flags,
                              const char *key);

#endif
