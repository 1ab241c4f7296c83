/* secure_crlcore — the one CRL implementation of mod_secure, used by the local store (SecureCRL,
 * secure_crl.c) and by the distribution-point fetch (SecureCRLFetch, secure_crlfetch.c). Pure C over
 * OpenSSL (no httpd or APR types) so the unit tests, the fuzzer and the benchmark call it directly.
 *
 * It parses (DER, or PEM with one or more CRLs), checks each CRL against the same rules (dates, scope,
 * critical extensions, signature by a CA that may sign CRLs), compacts the revoked list into a sorted
 * array and answers lookups. It never logs: every refusal comes back as a reason in operator words.
 *
 * Scope rules (RFC 5280 5.2.5 / 6.3.3): a CRL is used only as a complete CRL for all certificates of its
 * issuer, or for its end-entity certificates only (onlyContainsUserCerts), or its CA certificates only
 * (onlyContainsCACerts). Delta CRLs, indirect CRLs, CRLs limited to some reasons, to attribute
 * certificates or to one distribution point (a partition) are refused, as is any CRL with a critical
 * extension this code does not understand. A compacted CRL is immutable: threads may share it (and
 * count their references with secure_crlcore_up_ref / secure_crlcore_free). */
#ifndef SECURE_CRLCORE_H
#define SECURE_CRLCORE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/* Room for a reason returned by the functions below (longer reasons are cut). */
#define SECURE_CRLCORE_WHY_MAX 512

/* Seconds a thisUpdate may lie in the future (clock difference with the CA) before the CRL is not
 * yet valid. */
#define SECURE_CRLCORE_SKEW 300

typedef struct secure_crlcore_crl secure_crlcore_crl_t;

/* What a CRL's signature is checked against: the CAs named like the CRL's issuer in store (the vhost's
 * trusted CAs), or exactly one certificate (the issuer from a verified chain). Either way the signing
 * certificate's key usage must allow cRLSign. */
typedef struct secure_crlcore_trust {
    X509_STORE *store;
    X509 *issuer;
    const char *store_name;     /* how reasons name store (NULL: "the trusted CAs") */
} secure_crlcore_trust_t;

/* Which certificates of its issuer a CRL covers. */
typedef enum {
    SECURE_CRLCORE_SCOPE_ALL = 0,
    SECURE_CRLCORE_SCOPE_USER,      /* onlyContainsUserCerts: certificates without cA=TRUE */
    SECURE_CRLCORE_SCOPE_CA         /* onlyContainsCACerts: certificates with cA=TRUE */
} secure_crlcore_scope_t;

/* Called for each CRL refused inside a PEM file that holds several: its 1-based number in the file and
 * the reason. The file's other CRLs are kept. */
typedef void (*secure_crlcore_report_fn)(void *baton, int number, const char *why);

/* Called by secure_crlcore_parse for each CRL in the data, in file order (crl is freed after the call;
 * up-ref it to keep it). Return 0 to go on, -1 to stop (the parse then fails with why as set by it). */
typedef int (*secure_crlcore_each_fn)(void *baton, X509_CRL *crl, int number, char *why, size_t whylen);

/* Splits data (len bytes) into CRLs: one DER CRL (first byte 0x30, nothing after it), or PEM blocks.
 * Returns the number of CRLs seen (>= 0; 0 = "it contains no CRL"), or -1 with why on damaged,
 * truncated or unreadable data or when each returned -1. */
int secure_crlcore_parse(const void *data, size_t len, secure_crlcore_each_fn each, void *baton,
                         char *why, size_t whylen);

/* The rules every CRL must pass before it is used: well-formed thisUpdate (and nextUpdate when
 * present), no delta / indirect / partial scope, no unknown critical extension, signature by a CA of
 * trust whose key usage allows cRLSign. 0 and *key (one reference for the caller) set to the key that
 * verified it; -1 with why. */
int secure_crlcore_check(X509_CRL *crl, const secure_crlcore_trust_t *trust, EVP_PKEY **key, char *why,
                         size_t whylen);

/* Builds the compact form of crl: issuer, dates, scope and the revoked entries sorted by serial, one
 * entry per serial (a serial listed twice keeps the revoking entry with the earliest date). key (may be
 * NULL: then the CRL covers nothing) is up-referenced. Entries a certificateIssuer extension assigns to
 * another issuer are left out; a damaged certificateIssuer refuses the CRL. crl is not changed and may
 * be freed at once. 0 and *out (free with secure_crlcore_free), or -1 with why. Does not check the
 * rules: call secure_crlcore_check first. */
int secure_crlcore_compact(X509_CRL *crl, EVP_PKEY *key, secure_crlcore_crl_t **out, char *why,
                           size_t whylen);

/* parse + check + compact: every CRL in data that passes the checks, as a new array of *n compact
 * CRLs (free with secure_crlcore_free_all). In a PEM file with several CRLs the refused ones go to
 * report (may be NULL) and are skipped. Returns *n (> 0), or -1 with why when the data is damaged or no
 * CRL in it passed (a single refused CRL: its reason). */
int secure_crlcore_load(const void *data, size_t len, const secure_crlcore_trust_t *trust,
                        secure_crlcore_crl_t ***out, size_t *n, secure_crlcore_report_fn report,
                        void *baton, char *why, size_t whylen);

/* A compact CRL is reference counted (1 when made): up_ref adds one, free drops one and frees the CRL
 * with the last. Safe from any thread. */
void secure_crlcore_up_ref(secure_crlcore_crl_t *crl);
void secure_crlcore_free(secure_crlcore_crl_t *crl);
/* Frees n CRLs and the array that holds them. */
void secure_crlcore_free_all(secure_crlcore_crl_t **crls, size_t n);

/* Facts about one compact CRL. Times are seconds since the epoch (UTC). */
const X509_NAME *secure_crlcore_issuer(const secure_crlcore_crl_t *crl);
size_t secure_crlcore_count(const secure_crlcore_crl_t *crl);
/* Heap bytes its entries take (the sorted array and the serials' bytes). */
size_t secure_crlcore_memory(const secure_crlcore_crl_t *crl);
int64_t secure_crlcore_this_update(const secure_crlcore_crl_t *crl);
/* 1 and *at when the CRL has a nextUpdate, 0 when it has none (it is then never fresh). */
int secure_crlcore_next_update(const secure_crlcore_crl_t *crl, int64_t *at);
secure_crlcore_scope_t secure_crlcore_scope(const secure_crlcore_crl_t *crl);

/* Does crl answer for cert? Its issuer name and the key that verified it must be issuer's, and cert
 * must be in its scope. */
int secure_crlcore_covers(const secure_crlcore_crl_t *crl, X509 *cert, X509 *issuer);

/* 1 when serial is revoked by crl (*reason: CRLReason code, 0 when the entry has none; *revoked_at: 0
 * when its date is unreadable), 0 when it is not listed or listed as removeFromCRL. O(log n). */
int secure_crlcore_find(const secure_crlcore_crl_t *crl, const ASN1_INTEGER *serial, int *reason,
                        int64_t *revoked_at);

/* Called by secure_crlcore_newly_revoked for one serial (an INTEGER valid during the call only). */
typedef void (*secure_crlcore_serial_fn)(void *baton, const ASN1_INTEGER *serial, int reason, int64_t revoked_at);

/* The serials crl revokes and old does not (a successor CRL's new revocations; removeFromCRL entries do
 * not revoke), in serial order, each handed to each until max calls were made. Returns how many there
 * are (also beyond max). O(n + m). */
size_t secure_crlcore_newly_revoked(const secure_crlcore_crl_t *crl, const secure_crlcore_crl_t *old, size_t max,
                                    secure_crlcore_serial_fn each, void *baton);

/* How a CRL stands at now, allowing max_stale seconds past nextUpdate. */
typedef enum {
    SECURE_CRLCORE_FRESH = 0,
    SECURE_CRLCORE_STALE,           /* nextUpdate + max_stale has passed */
    SECURE_CRLCORE_NO_NEXT_UPDATE,  /* no nextUpdate: its freshness cannot be judged */
    SECURE_CRLCORE_NOT_YET_VALID    /* thisUpdate more than SECURE_CRLCORE_SKEW in the future */
} secure_crlcore_time_t;
secure_crlcore_time_t secure_crlcore_time_state(const secure_crlcore_crl_t *crl, int64_t now,
                                                int64_t max_stale);

/* The answer for one certificate from a set of CRLs, built by feeding every candidate CRL to
 * secure_crlcore_answer_add and then calling secure_crlcore_answer_end. Rules: among the covering
 * CRLs that are fresh, the newest (latest thisUpdate) answers GOOD or REVOKED. When none is fresh, a
 * certificate listed in the covering CRL with the latest nextUpdate is still REVOKED (a revocation is
 * final) unless its reason is certificateHold; otherwise the answer is UNKNOWN. No covering CRL: NONE. */
typedef enum {
    SECURE_CRLCORE_NONE = 0,
    SECURE_CRLCORE_GOOD,
    SECURE_CRLCORE_REVOKED,
    SECURE_CRLCORE_UNKNOWN
} secure_crlcore_status_t;

typedef struct secure_crlcore_answer {
    secure_crlcore_status_t status;
    int reason;                         /* CRLReason when REVOKED, else -1 */
    int64_t revoked_at;                 /* when REVOKED (0: date unreadable) */
    const secure_crlcore_crl_t *crl;    /* the CRL that answered (NULL for NONE) */
    void *tag;                          /* the tag given with that CRL to secure_crlcore_answer_add */
    secure_crlcore_time_t time_state;   /* of that CRL */
    /* private: candidates while adding */
    const secure_crlcore_crl_t *fresh, *stale;
    void *fresh_tag, *stale_tag;
    secure_crlcore_time_t stale_state;
} secure_crlcore_answer_t;

void secure_crlcore_answer_init(secure_crlcore_answer_t *a);
void secure_crlcore_answer_add(secure_crlcore_answer_t *a, const secure_crlcore_crl_t *crl, void *tag,
                               X509 *cert, X509 *issuer, int64_t now, int64_t max_stale);
secure_crlcore_status_t secure_crlcore_answer_end(secure_crlcore_answer_t *a, X509 *cert);

/* RFC 5280 CRLReason name of a code ("keyCompromise"), or "unspecified" for none / an unknown code. */
const char *secure_crlcore_reason_name(int code);
/* Seconds since the epoch of an ASN1_TIME. 0 and *out, or -1 when t is NULL or malformed. */
int secure_crlcore_time(const ASN1_TIME *t, int64_t *out);

#endif /* SECURE_CRLCORE_H */
