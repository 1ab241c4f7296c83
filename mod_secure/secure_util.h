/* secure_util — small pure helpers (no httpd or APR types) shared by the module and the unit tests. */
#ifndef SECURE_UTIL_H
#define SECURE_UTIL_H

#include <stddef.h>

/* Parses a duration: "30", "30s", "5m", "2h", "1d" into seconds. 0 on success, -1 on a bad value or overflow. */
int secure_parse_seconds(const char *s, long *out);
/* Parses a decimal integer (whole string). 0 on success, -1 otherwise. */
int secure_parse_long(const char *s, long *out);
/* Lower-case hex of n bytes into out (2n+1 bytes). Returns out. */
char *secure_hex_lower(const unsigned char *in, size_t n, char *out);

#endif /* SECURE_UTIL_H */
