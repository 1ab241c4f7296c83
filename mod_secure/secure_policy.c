/* POLICY HELPER: your full instructions are in /work/HELPER-policy-INSTRUCTIONS.md (the prompt had unexpanded placeholders). Work in /work/wt-policy, not here. */
/* secure_policy — TLS profiles and their enforcement (placeholder until the policy issue lands). */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "secure_config.h"
#include "secure_policy.h"

APLOG_USE_MODULE(secure);

struct secure_policy_conf {
    int unused;
};

struct secure_policy_conf *secure_policy_create_srv(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(struct secure_policy_conf));
}

struct secure_policy_conf *secure_policy_merge_srv(apr_pool_t *p, const struct secure_policy_conf *base,
                                                   const struct secure_policy_conf *add)
{
    (void)base;
    (void)add;
    return apr_pcalloc(p, sizeof(struct secure_policy_conf));
}

void secure_policy_register_hooks(apr_pool_t *p)
{
    (void)p;
}

apr_status_t secure_policy_init_server(server_rec *s, apr_pool_t *p, SSL_CTX *ctx)
{
    (void)s;
    (void)p;
    (void)ctx;
    return APR_SUCCESS;
}

int secure_policy_verify_cert(server_rec *s, secure_conn_t *sc, X509_STORE_CTX *ctx)
{
    (void)s;
    (void)sc;
    (void)ctx;
    return 1;
}

int secure_policy_check_request(request_rec *r, secure_conn_t *sc)
{
    (void)r;
    (void)sc;
    return OK;
}

const char *secure_policy_name(const server_rec *s)
{
    (void)s;
    return NULL;
}

const char *secure_policy_mode_name(const server_rec *s)
{
    (void)s;
    return NULL;
}
