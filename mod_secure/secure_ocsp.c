/* secure_ocsp — OCSP for client certificates (placeholder until the OCSP issue lands). */
#include "httpd.h"
#include "http_config.h"

#include "secure_ocsp.h"

struct secure_ocsp_conf {
    int unused;
};

struct secure_ocsp_conf *secure_ocsp_create_srv(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(struct secure_ocsp_conf));
}

struct secure_ocsp_conf *secure_ocsp_merge_srv(apr_pool_t *p, const struct secure_ocsp_conf *base,
                                               const struct secure_ocsp_conf *add)
{
    (void)base;
    (void)add;
    return apr_pcalloc(p, sizeof(struct secure_ocsp_conf));
}

void secure_ocsp_register_hooks(apr_pool_t *p)
{
    (void)p;
}

int secure_ocsp_enabled(const server_rec *s)
{
    (void)s;
    return 0;
}

void secure_ocsp_check(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, X509_STORE *trust,
                       secure_verdict_t *v, apr_pool_t *p)
{
    (void)s;
    (void)c;
    (void)cert;
    (void)issuer;
    (void)trust;
    (void)p;
    v->status = SECURE_REV_NONE;
}
