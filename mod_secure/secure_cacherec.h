/* secure_cacherec — the verdict cache's record: cache id derivation, fixed-size binary encoding, and
 * HMAC-SHA256 authentication (OpenSSL EVP_MAC), as pure functions with no httpd or APR types, so that the
 * unit tests and the fuzzer call exactly what the module runs. Nothing here allocates. */
#ifndef SECURE_CACHEREC_H
#define SECURE_CACHEREC_H

#include <stddef.h>
#include <stdint.h>

#define SECURE_CACHEREC_VERSION   2     /* first byte of every record; v1 was unauthenticated text */
#define SECURE_CACHEREC_BODY_LEN  20    /* version, status, source, reason, revoked-at, expires */
#define SECURE_CACHEREC_MAC_LEN   32    /* HMAC-SHA256 over (id || body) */
#define SECURE_CACHEREC_LEN       (SECURE_CACHEREC_BODY_LEN + SECURE_CACHEREC_MAC_LEN)
#define SECURE_CACHEREC_ID_LEN    64    /* lower-case hex SHA-256 */
#define SECURE_CACHEREC_CTX_LEN   32    /* trust-context digest (SHA-256) */
#define SECURE_CACHEREC_KEY_MIN   32    /* shortest accepted MAC secret, in bytes */
#define SECURE_CACHEREC_KEY_MAX   4096  /* longest accepted MAC secret, in bytes */
#define SECURE_CACHEREC_SKEW      300   /* seconds a fleet member's clock may run ahead of ours */
#define SECURE_CACHEREC_REASON_MAX 10   /* RFC 5280 CRLReason aACompromise */

/* What a record says. status: 'G' good, 'R' revoked, 'U' unknown. source: index into
 * secure_cacherec_source_names. Times are seconds since the epoch; revoked_at is 0 unless status is 'R'. */
typedef struct {
    char status;
    int source;
    int reason;          /* -1 (none) .. SECURE_CACHEREC_REASON_MAX */
    int64_t revoked_at;
    int64_t expires;
} secure_cacherec_t;

/* Why a record was not accepted. Every value but OK and EXPIRED means "someone else wrote this". */
typedef enum {
    SECURE_CACHEREC_OK = 0,
    SECURE_CACHEREC_E_LENGTH,    /* not exactly SECURE_CACHEREC_LEN bytes */
    SECURE_CACHEREC_E_VERSION,   /* first byte is not SECURE_CACHEREC_VERSION */
    SECURE_CACHEREC_E_MAC,       /* the MAC does not match (tampered, other key, moved to another id) */
    SECURE_CACHEREC_E_FIELD,     /* authentic but a field is out of range (status, source, reason, times) */
    SECURE_CACHEREC_E_TOO_LONG,  /* expires beyond now + its TTL + SECURE_CACHEREC_SKEW */
    SECURE_CACHEREC_E_EXPIRED,   /* authentic and well-formed, but expires <= now: an ordinary miss */
    SECURE_CACHEREC_E_ARG,       /* bad arguments (key too short, id length, negative now or TTL) */
    SECURE_CACHEREC_E_CRYPTO     /* OpenSSL could not compute the MAC (error queue left for the caller) */
} secure_cacherec_rc;

/* NULL-terminated names of the sources a record may carry (static strings). */
extern const char *const secure_cacherec_source_names[];
/* Index of name in secure_cacherec_source_names, -1 when it is not there. */
int secure_cacherec_source_index(const char *name);
/* Operator words for rc ("its MAC does not match", ...): a static string. */
const char *secure_cacherec_strerror(secure_cacherec_rc rc);

/* Cache id: lower-case hex SHA-256 over a version label, the trust-context digest ctx (what the vhost's
 * online sources were configured to accept), and, each with its length, the issuer's subject name (DER),
 * the issuer's public key bits and the certificate's serial (DER). Writes SECURE_CACHEREC_ID_LEN + 1
 * bytes to out. 0 on success, -1 on a bad argument or an OpenSSL failure. */
int secure_cacherec_id(const unsigned char ctx[SECURE_CACHEREC_CTX_LEN], const unsigned char *issuer_name,
                       size_t name_len, const unsigned char *issuer_key, size_t key_len,
                       const unsigned char *serial, size_t serial_len, char out[SECURE_CACHEREC_ID_LEN + 1]);

/* HMAC-SHA256 with key over (id || body) into out. 0 on success, -1 on failure. */
int secure_cacherec_mac(const unsigned char *key, size_t key_len, const char *id, size_t id_len,
                        const unsigned char *body, size_t body_len,
                        unsigned char out[SECURE_CACHEREC_MAC_LEN]);

/* Encodes rec (fields must be in range; revoked_at is written as 0 unless status is 'R') and its MAC
 * bound to id into out. OK, E_FIELD, E_ARG or E_CRYPTO. */
secure_cacherec_rc secure_cacherec_encode(const unsigned char *key, size_t key_len, const char *id, size_t id_len,
                                          const secure_cacherec_t *rec, unsigned char out[SECURE_CACHEREC_LEN]);

/* Decodes in[0..in_len) read from the cache under id, at time now (seconds): length, then version, then the
 * MAC (constant-time compare, before any field is trusted), then the fields, then expires against
 * now + ttl (unknown_ttl for 'U') + SECURE_CACHEREC_SKEW. *out is filled only on OK. */
secure_cacherec_rc secure_cacherec_decode(const unsigned char *key, size_t key_len, const char *id, size_t id_len,
                                          const unsigned char *in, size_t in_len, int64_t now, int64_t ttl,
                                          int64_t unknown_ttl, secure_cacherec_t *out);

#endif /* SECURE_CACHEREC_H */
