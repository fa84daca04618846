/* status.c - map stage status codes to the documented exit statuses. */
#include "status.h"

#include "sluice/plugin.h"

int status_to_exit(int status)
{
    switch (status) {
    case SLUICE_OK: return EXIT_OK;
    case SLUICE_E_USAGE: return EXIT_USAGE;
    case SLUICE_E_IO:
    case SLUICE_E_NETWORK:
    case SLUICE_E_PIPE: return EXIT_IO;
    case SLUICE_E_FORMAT: return EXIT_FORMAT;
    case SLUICE_E_AUTH: return EXIT_AUTH;
    case SLUICE_E_UNSUPPORTED: return EXIT_PLUGIN;
    default: return EXIT_INTERNAL;
    }
}
