/* jobs.h - the commands of jobs.c, for commands.c's table. */
#ifndef SLUICE_CLI_JOBS_H
#define SLUICE_CLI_JOBS_H

#include "cli.h"

int run_default(cli *c, session *s, loader *l); /* filter and tar modes */
int run_inspect(cli *c, session *s, loader *l);
int run_stages(cli *c, session *s, loader *l);
int run_decrypt_object(cli *c, session *s, loader *l);

#endif
