/* secure_revoke — revocation pipeline (placeholder until the revocation issue lands). */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "secure_config.h"
#include "secure_revoke.h"

APLOG_USE_MODULE(secure);

struct secure_revoke_conf {
    int unused;
};

struct secure_revoke_conf *secure_revoke_create_srv(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(struct secure_revoke_conf));
}

struct secure_revoke_conf *secure_revoke_merge_srv(apr_pool_t *p, const struct secure_revoke_conf *base,
                                                   const struct secure_revoke_conf *add)
{
    (void)base;
    (void)add;
    return apr_pcalloc(p, sizeof(struct secure_revoke_conf));
}

void secure_revoke_register_hooks(apr_pool_t *p)
{
    (void)p;
}

apr_status_t secure_revoke_init_server(server_rec *s, apr_pool_t *p, SSL_CTX *ctx)
{
    (void)s;
    (void)p;
    (void)ctx;
    return APR_SUCCESS;
}

int secure_revoke_verify_cert(server_rec *s, secure_conn_t *sc, X509_STORE_CTX *ctx)
{
    (void)s;
    (void)sc;
    (void)ctx;
    return 1;
}

int secure_revoke_check_request(request_rec *r, secure_conn_t *sc)
{
    (void)r;
    (void)sc;
    return OK;
}
