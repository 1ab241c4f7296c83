/* secure_crlfetch — CRLs fetched from a client certificate's http CRL distribution point
 * (SecureCRLFetch): downloaded through secure_fetch under SecureOCSPTimeout and a size cap (no redirects),
 * checked with the same rules as a SecureCRL file (the CRL core, secure_crlcore), kept per process until
 * nextUpdate and refreshed before it, in a table keyed by the whole URL and bounded in entries and bytes
 * (least recently used evicted first). Downloads run on the background thread, at most one per URL in
 * flight per server; the processes share what one downloaded through a spool directory. */
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

/* Makes the spool where a process leaves the CRLs it downloaded for the others
 * (DefaultRuntimeDir/mod_secure-crlfetch, handed to User; post_config, in the parent; needed: some vhost
 * has SecureCRLFetch on). fetching_vhost tells the vhosts with SecureCRLFetch on, whose verdict cache
 * records a successor CRL's new revocations are written to. */
void secure_crlfetch_post_config(apr_pool_t *pconf, server_rec *s, int needed,
                                 int (*fetching_vhost)(const server_rec *s));
/* Sets up this process's table of fetched CRLs and of its downloads in progress (child_init; freed with
 * pchild). */
void secure_crlfetch_child_init(apr_pool_t *pchild, server_rec *s);
/* 0 when cert names no http distribution point (*v untouched). Else 1 and *v filled with source
 * "crl-fetch": GOOD / REVOKED from a verified, unexpired CRL, UNKNOWN (with detail) when none could be
 * had. A download runs on the process's background thread (one per URL at a time, shared with the
 * server's other processes through the flight markers and the spool); the caller waits for it at most
 * lim->timeout, unless a still-valid CRL answers meanwhile. issuer must have signed cert (secure_online_check makes sure); lim: the vhost's timeout and
 * breaker limits. c may be NULL. Memory from p. */
int secure_crlfetch_check(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, const secure_fetch_limits_t *lim,
                          secure_verdict_t *v, apr_pool_t *p);

#endif /* SECURE_CRLFETCH_H */
