/* stagelist.c - the `sluice stages` listing; see stagelist.h. */
#include "stagelist.h"

#include <stdio.h>
#include <string.h>

#include "status.h"

#define NAME_MIN_WIDTH 12

typedef struct listing {
    const char *only; /* NULL: all stages                     */
    int verbose;
    int width;        /* of the STAGE column                  */
    int n;            /* rows printed (or, pass 1, seen)      */
} listing;

/* "source+sink" etc.: the roles a stage plays in one direction. */
static void roles_str(unsigned roles, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s%s%s",
             roles & SLUICE_ROLE_SOURCE ? "source" : "",
             (roles & SLUICE_ROLE_SOURCE) && (roles & ~SLUICE_ROLE_SOURCE)
                 ? "+" : "",
             roles & SLUICE_ROLE_TRANSFORM ? "transform" : "",
             (roles & SLUICE_ROLE_TRANSFORM) && (roles & SLUICE_ROLE_SINK)
                 ? "+" : "",
             roles & SLUICE_ROLE_SINK ? "sink" : "");
}

static const char *dirs_str(unsigned flags)
{
    switch (flags & SLUICE_KEY_BOTH) {
    case SLUICE_KEY_FORWARD: return "backup";
    case SLUICE_KEY_REVERSE: return "restore";
    default: return "both";
    }
}

static void print_keys(const loaded_stage *st)
{
    if (!st->vt.keys) {
        printf("    (declares no keys: options are not checked)\n");
        return;
    }
    if (!st->vt.keys[0].key)
        printf("    (takes no parameters or options)\n");
    for (const sluice_key *k = st->vt.keys; k->key; k++)
        printf("    %-6s %-20s %-7s %s\n",
               k->flags & SLUICE_KEY_PARAM ? "param" : "option", k->key,
               dirs_str(k->flags), k->summary);
}

/* Pass 1: the widest stage name, so long names keep the table aligned. */
static void measure(void *arg, const loaded_stage *st, int shadowed,
                    const char *load_error)
{
    listing *li = arg;
    (void)shadowed;
    if (load_error || (li->only && strcmp(li->only, st->vt.name)))
        return;
    int len = (int)strlen(st->vt.name);
    if (len > li->width)
        li->width = len;
    li->n++;
}

static void print_stage(void *arg, const loaded_stage *st, int shadowed,
                        const char *load_error)
{
    listing *li = arg;
    if (load_error) {
        if (!li->only)
            printf("%-*s %s\n", li->width, "(unusable)", load_error);
        return;
    }
    if (li->only && strcmp(li->only, st->vt.name))
        return;
    char fwd[40], rev[40];
    roles_str(st->vt.forward_roles, fwd, sizeof fwd);
    roles_str(st->vt.reverse_roles, rev, sizeof rev);
    printf("%-*s %-16s %-16s ABI %u.%u  %s%s\n    %s\n", li->width,
           st->vt.name, fwd, rev, st->abi_major, st->abi_minor, st->path,
           shadowed ? "  (shadowed by an earlier directory)" : "",
           st->vt.summary ? st->vt.summary : "");
    if (li->verbose || li->only)
        print_keys(st);
}

int stagelist_print(loader *l, const char *name, int verbose)
{
    listing li = {name, verbose, NAME_MIN_WIDTH, 0};
    loader_list(l, measure, &li);
    if (name && li.n == 0) {
        fprintf(stderr, "sluice: usage: stages: no stage '%.64s' (see "
                        "sluice stages)\n", name);
        return EXIT_USAGE;
    }
    int seen = li.n;
    printf("%-*s %-16s %-16s\n", li.width, "STAGE", "BACKUP", "RESTORE");
    li.n = 0;
    loader_list(l, print_stage, &li);
    if (seen == 0) {
        fprintf(stderr, "sluice: stages: no plugins found in");
        for (const char *const *d = loader_dirs(l); *d; d++)
            fprintf(stderr, " %s", *d);
        fputc('\n', stderr);
        return EXIT_PLUGIN;
    }
    return EXIT_OK;
}
