/*
 * redact.h - takes secrets out of a line before it is printed: the
 * userinfo of a URL (its user:pass@ becomes ***@) and the
 * values of query or key=value parameters that carry credentials
 * (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, Signature,
 * sig, token, password, ...; names compared without case).
 */
#ifndef SLUICE_REDACT_H
#define SLUICE_REDACT_H

#include <stddef.h>

/* Writes text, redacted, into out (cap > 0; always terminated, cut to
 * fit).  Returns the length written. */
size_t redact_line(const char *text, char *out, size_t cap);

#endif
