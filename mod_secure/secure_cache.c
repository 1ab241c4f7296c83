/* secure_cache — revocation verdict cache (placeholder until the OCSP issue lands). */
#include "httpd.h"
#include "http_config.h"

#include "secure_cache.h"

void secure_cache_register_hooks(apr_pool_t *p)
{
    (void)p;
}

int secure_cache_get(server_rec *s, X509 *cert, X509 *issuer, secure_verdict_t *v, apr_pool_t *p)
{
    (void)s;
    (void)cert;
    (void)issuer;
    (void)v;
    (void)p;
    return 0;
}

void secure_cache_put(server_rec *s, X509 *cert, X509 *issuer, const secure_verdict_t *v, apr_pool_t *p)
{
    (void)s;
    (void)cert;
    (void)issuer;
    (void)v;
    (void)p;
}
