/* secure_types — the revocation status and verdict types every concern shares. A leaf header: it includes
 * no other header of the module, so any concern may include it without closing a circle
 * (build/include-cycles checks that). */
#ifndef SECURE_TYPES_H
#define SECURE_TYPES_H

#include "apr_time.h"

/* Revocation status of a certificate. */
typedef enum {
    SECURE_REV_NONE = 0,        /* no client certificate / not checked */
    SECURE_REV_GOOD,
    SECURE_REV_REVOKED,
    SECURE_REV_UNKNOWN,
} secure_rev_status_t;

/* One revocation answer for one certificate, from any source. */
typedef struct secure_verdict {
    secure_rev_status_t status;   /* GOOD, REVOKED or UNKNOWN (NONE: no source had an answer) */
    const char *source;           /* "crl", "denylist", "ocsp", "cache", "crl-fetch", "unverified" (static) */
    int reason;                   /* CRL reason code (RFC 5280 CRLReason), -1 when none */
    apr_time_t revoked_at;        /* revocation time, 0 when not revoked / unknown */
    apr_time_t expires;           /* until when this answer may be reused (cache), 0 = do not cache */
    const char *detail;           /* operator words for the log ("responder timed out after 3 s") */
} secure_verdict_t;

#endif /* SECURE_TYPES_H */
