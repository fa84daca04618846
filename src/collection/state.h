/*
 * state.h - what this client has seen of each collection (doc/FORMAT.md
 * 5.10): the highest INDEX sequence number and that INDEX's SHA-256, kept
 * in $XDG_STATE_HOME/sluice/collections/<SALT> (default
 * ~/.local/state/sluice/...), so that an older INDEX put back (a
 * rollback) or a different INDEX under a sequence already seen (a fork)
 * is refused.  Only collections with a salt (encrypted: their INDEX is
 * authenticated) are tracked: without authentication anyone who can
 * write the storage can write any sequence number.
 */
#ifndef SLUICE_COLLECTION_STATE_H
#define SLUICE_COLLECTION_STATE_H

#include "coll.h"

/* After an INDEX was read into k->ix (seq, prev, hash set; seq 0: none
 * or sluice-index/1): refuses a rollback or a fork (says so, naming both
 * sequences and the state file to remove to accept it; EXIT_AUTH), else
 * records what it saw and returns 0. */
int state_check_index(coll *k);
/* After this client wrote k->ix as the new INDEX: records it. */
void state_record_index(coll *k);

#endif
