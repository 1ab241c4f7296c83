/* secure_denylist — the SecureDenyList file format: one entry a line, `sha256 <hex of certificate DER>`
 * or `serial <hex> <issuer DN | issuer-name hash>`, `#` comments. Pure C (no httpd or APR types) so the
 * unit tests call it directly. The parsed list is heap memory owned by the caller
 * (secure_denylist_free); it is immutable after parsing, so threads may share it. */
#ifndef SECURE_DENYLIST_H
#define SECURE_DENYLIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct secure_denylist secure_denylist_t;

/* Called once per bad line: 1-based line number and the reason in operator words. */
typedef void (*secure_denylist_report_fn)(void *baton, unsigned line, const char *why);

/* Longest accepted line (bytes, without the newline); longer lines are reported and skipped. */
#define SECURE_DENYLIST_MAX_LINE 4096

/* Parses text (len bytes, need not be NUL-terminated). Bad lines go to report (may be NULL) and are
 * skipped; the rest is kept. NULL only when out of memory. */
secure_denylist_t *secure_denylist_parse(const char *text, size_t len, secure_denylist_report_fn report,
                                         void *baton);
void secure_denylist_free(secure_denylist_t *dl);
/* Number of entries kept (fingerprints + serials). */
size_t secure_denylist_count(const secure_denylist_t *dl);

/* What one certificate is matched by. serial_hex: the serial as hex (any case, leading zeros allowed);
 * issuer_hash: X509_NAME_hash_ex() of the issuer (what `openssl x509 -issuer_hash` prints); issuer_dns:
 * the issuer DN in the spellings an operator may paste (RFC 2253, `openssl x509 -issuer`'s
 * "C = US, O = x", the legacy "/C=US/O=x"); a DN entry matches when its canonical form equals one. */
typedef struct secure_denylist_cert {
    const unsigned char *sha256;      /* 32 bytes of SHA-256 over the certificate's DER */
    const char *serial_hex;
    unsigned long issuer_hash;
    const char *const *issuer_dns;
    size_t n_issuer_dns;
} secure_denylist_cert_t;

/* Line number (> 0) of the first entry matching cert, or 0 when none does. O(log n). */
unsigned secure_denylist_match(const secure_denylist_t *dl, const secure_denylist_cert_t *cert);

/* Canonical form of a DN for comparison (case folded, blanks around separators removed) into out
 * (outlen bytes). Returns out, or NULL when it does not fit. */
char *secure_denylist_dn_canon(const char *dn, char *out, size_t outlen);

#endif /* SECURE_DENYLIST_H */
