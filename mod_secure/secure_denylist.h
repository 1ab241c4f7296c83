/* secure_denylist — the SecureDenyList file format: one entry a line, `sha256 <hex of certificate DER>`
 * or `serial <hex> <issuer DN | issuer-name hash>`, comments on lines of their own or after an entry (see
 * doc/revoke.md for the exact rules around `#`). Pure C (no httpd or APR types) so the unit tests and the
 * fuzzer call it directly. The parsed list is heap memory owned by the caller (secure_denylist_free); it is
 * immutable after parsing, so threads may share it. */
#ifndef SECURE_DENYLIST_H
#define SECURE_DENYLIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct secure_denylist secure_denylist_t;

/* Called once per bad line: 1-based line number and the reason in operator words. */
typedef void (*secure_denylist_report_fn)(void *baton, unsigned line, const char *why);

/* Longest accepted line (bytes, without the newline); longer lines are reported and skipped. */
#define SECURE_DENYLIST_MAX_LINE 4096

/* Every allocation of the parser goes through this (realloc by default); tests and the fuzzer replace it
 * to make allocations fail. */
extern void *(*secure_denylist_realloc)(void *ptr, size_t size);

/* Parses text (len bytes, need not be NUL-terminated). Bad lines go to report (may be NULL) and are
 * skipped; the rest is kept. NULL when out of memory: then nothing of the file is kept (never a partial
 * list), and the caller keeps the list it had. */
secure_denylist_t *secure_denylist_parse(const char *text, size_t len, secure_denylist_report_fn report,
                                         void *baton);
void secure_denylist_free(secure_denylist_t *dl);
/* Number of entries kept (fingerprints + serials). */
size_t secure_denylist_count(const secure_denylist_t *dl);
/* Number of `sha256` entries. */
size_t secure_denylist_count_sha256(const secure_denylist_t *dl);

/* What one certificate is matched by. A field the caller could not compute is NULL (has_issuer_hash 0):
 * then an entry that would need it makes the answer UNDECIDED rather than NOT_LISTED.
 * serial_hex: the serial as hex (any case, leading zeros allowed); issuer_hash: X509_NAME_hash_ex() of the
 * issuer (what `openssl x509 -issuer_hash` prints); issuer_dns: the issuer DN in the spellings an operator
 * may paste (RFC 2253, `openssl x509 -issuer`'s "C = US, O = x", the legacy "/C=US/O=x"), of any length;
 * a DN entry matches when its canonical form equals the canonical form of one of them. */
typedef struct secure_denylist_cert {
    const unsigned char *sha256;      /* 32 bytes of SHA-256 over the certificate's DER */
    const char *serial_hex;
    unsigned long issuer_hash;
    int has_issuer_hash;
    const char *const *issuer_dns;
    size_t n_issuer_dns;
} secure_denylist_cert_t;

typedef enum {
    SECURE_DENYLIST_NOT_LISTED = 0,
    SECURE_DENYLIST_LISTED,           /* *line: the first matching line */
    SECURE_DENYLIST_UNDECIDED,        /* nothing matched, but an entry might match what the caller could not compute */
} secure_denylist_result_t;

/* Whether cert is on the list. O(log n) plus the entries that share its serial. */
secure_denylist_result_t secure_denylist_check(const secure_denylist_t *dl, const secure_denylist_cert_t *cert,
                                               unsigned *line);

/* Canonical form of a DN for comparison (ASCII case folded, blanks around separators removed, "\#" inside a
 * value read as "#") into out (outlen bytes). Returns out, or NULL when it does not fit. */
char *secure_denylist_dn_canon(const char *dn, char *out, size_t outlen);

#endif /* SECURE_DENYLIST_H */
