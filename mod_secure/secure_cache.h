/* secure_cache — the revocation verdict cache over ap_socache (shmcb on one host, memcache / redis for a
 * fleet), keyed by a hash of issuer + serial; SecureRevocationCache* directives (global). */
#ifndef SECURE_CACHE_H
#define SECURE_CACHE_H

#include "httpd.h"
#include "http_config.h"
#include <openssl/x509.h>

#include "secure_revoke.h"

/* Directive entries spliced into secure_cmds[] (each ends with a comma). */
#define SECURE_CACHE_CMDS

void secure_cache_register_hooks(apr_pool_t *p);
/* Looks up cert (issued by issuer). 1 and *v filled (source "cache") on a fresh hit, else 0. */
int secure_cache_get(server_rec *s, X509 *cert, X509 *issuer, secure_verdict_t *v, apr_pool_t *p);
/* Stores *v until v->expires (UNKNOWN answers for SecureRevocationUnknownTTL at most). */
void secure_cache_put(server_rec *s, X509 *cert, X509 *issuer, const secure_verdict_t *v, apr_pool_t *p);

#endif /* SECURE_CACHE_H */
