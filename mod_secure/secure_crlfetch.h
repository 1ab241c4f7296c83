/* secure_crlfetch — CRLs fetched from a client certificate's http CRL distribution point
 * (SecureCRLFetch): downloaded through secure_fetch under SecureOCSPTimeout and a size cap (no redirects),
 * checked with the same rules as a SecureCRL file (the CRL core, secure_crlcore), kept per process until
 * nextUpdate and refreshed before it, in a table keyed by the whole URL and bounded in entries and bytes
 * (least recently used evicted first). */
#ifndef SECURE_CRLFETCH_H
#define SECURE_CRLFETCH_H

#include "httpd.h"
#include <openssl/x509.h>

#include "secure_fetch.h"
#include "secure_types.h"

/* Largest CRL downloaded (bytes); a bigger one is refused and the status is UNKNOWN. */
#define SECURE_CRLFETCH_MAX_BYTES (32L * 1024 * 1024)
/* Bounds of each process's table of fetched CRLs: distribution point URLs, and bytes downloaded. */
#define SECURE_CRLFETCH_TABLE_URLS 64
#define SECURE_CRLFETCH_TABLE_BYTES (64L * 1024 * 1024)

/* Sets up this process's table of fetched CRLs (child_init; freed with pchild). */
void secure_crlfetch_child_init(apr_pool_t *pchild, server_rec *s);
/* 0 when cert names no http distribution point (*v untouched). Else 1 and *v filled with source
 * "crl-fetch": GOOD / REVOKED from a verified, unexpired CRL, UNKNOWN (with detail) when none could be
 * had. issuer must have signed cert (secure_online_check makes sure); lim: the vhost's timeout and
 * breaker limits. c may be NULL. Memory from p. */
int secure_crlfetch_check(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, const secure_fetch_limits_t *lim,
                          secure_verdict_t *v, apr_pool_t *p);

#endif /* SECURE_CRLFETCH_H */
