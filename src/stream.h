/*
 * stream.h - the host side of a stage's input and output: struct
 * sluice_input and struct sluice_output, as handed to run() through the
 * API table.  Each wraps one blockq and the block currently in hand.
 */
#ifndef SLUICE_STREAM_H
#define SLUICE_STREAM_H

#include "block.h"
#include "sluice/plugin.h"

struct sluice_input {
    blockq *q;
    block *cur;          /* block being read, owned until released     */
    size_t off;          /* bytes of cur already handed out            */
    uint8_t *pushback;   /* bytes given back by input_unread, first    */
    size_t pushback_len, pushback_off;
    int status;          /* 0, 1 at EOF, or < 0 once failed            */
};

struct sluice_output {
    blockq *q;
    block *cur;          /* block being filled                         */
    int status;          /* < 0 once failed                            */
    const char *misuse;  /* the call that broke the ABI, if one did    */
};

void input_init(sluice_input *in, blockq *q);
ptrdiff_t input_read_next(sluice_input *in, const uint8_t **data);
ptrdiff_t input_read(sluice_input *in, void *buf, size_t len);
/* Serves buf[0..len) again before anything else (copied). */
/* Right after input_read_next returned a block: hands its last n bytes
 * out again on the next read, without copying. */
void input_giveback(sluice_input *in, size_t n);
int input_unread(sluice_input *in, const uint8_t *buf, size_t len);
void input_close(sluice_input *in);

void output_init(sluice_output *out, blockq *q);
uint8_t *output_reserve(sluice_output *out, size_t min, size_t *avail);
int output_commit(sluice_output *out, size_t len);
int output_write(sluice_output *out, const void *data, size_t len);
/* Pushes what is pending and signals EOF downstream. */
int output_finish(sluice_output *out);
/* After the stage failed: pushes the block in hand and waits until the
 * next stage has taken every block (blockq_wait_taken), so that the
 * bytes the stage wrote before failing go on; a corrupt frame then
 * costs only what follows it.  Gives up when the next stage took no
 * block for a second.  Returns 0, 1 when it gave up, or a status. */
int output_hand_on(sluice_output *out);
void output_close(sluice_output *out);

#endif
