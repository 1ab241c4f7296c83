/* secure_crlfetch — CRLs fetched from a client certificate's http CRL distribution point
 * (SecureCRLFetch): downloaded with OpenSSL's HTTP client under SecureOCSPTimeout and a size cap, verified
 * with the issuer's key, kept per process until nextUpdate and refreshed before it. */
#ifndef SECURE_CRLFETCH_H
#define SECURE_CRLFETCH_H

#include "httpd.h"
#include <openssl/x509.h>

#include "secure_revoke.h"

/* Largest CRL downloaded (bytes); a bigger one is refused and the status is UNKNOWN. */
#define SECURE_CRLFETCH_MAX_BYTES (32L * 1024 * 1024)

void secure_crlfetch_register_hooks(apr_pool_t *p);
/* 0 when cert names no http distribution point (*v untouched). Else 1 and *v filled with source
 * "crl-fetch": GOOD / REVOKED from a verified, unexpired CRL, UNKNOWN (with detail) when none could be
 * had. c may be NULL. Memory from p. */
int secure_crlfetch_check(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, secure_verdict_t *v,
                          apr_pool_t *p);

#endif /* SECURE_CRLFETCH_H */
