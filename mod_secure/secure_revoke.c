/* secure_revoke — revocation pipeline (placeholder until the revocation issue lands). */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "secure_log.h"

#include "apr_strings.h"
#include <openssl/ocsp.h>

#include "secure_cache.h"
#include "secure_config.h"
#include "secure_ocsp.h"
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

/* TEMPORARY (branch ocsp): a minimal leaf-only pipeline, cache -> OCSP / CRL fetch -> cache, so that the
 * OCSP tests run before the revocation I pipeline (branch revoke) lands; an UNKNOWN answer lets the
 * handshake finish (like SecureRevocationUnknown defer). Replaced wholesale by the revoke branch. */
int secure_revoke_verify_cert(server_rec *s, secure_conn_t *sc, X509_STORE_CTX *ctx)
{
    secure_verdict_t v = { SECURE_REV_NONE, NULL, -1, 0, 0, NULL };
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    X509 *cert, *issuer;
    apr_pool_t *p = sc->c->pool;

    if (X509_STORE_CTX_get_error_depth(ctx) != 0 || !secure_ocsp_enabled(s) || chain == NULL
        || sk_X509_num(chain) < 2)
        return 1;
    cert = sk_X509_value(chain, 0);
    issuer = sk_X509_value(chain, 1);
    if (!secure_cache_get(s, cert, issuer, &v, p)) {
        secure_ocsp_check(s, sc->c, cert, issuer, X509_STORE_CTX_get0_store(ctx), &v, p);
        secure_cache_put(s, cert, issuer, &v, p);
    }
    sc->rev_checked_in_handshake = 1;
    sc->rev_status = v.status;
    sc->rev_source = v.source;
    sc->rev_detail = v.detail;
    if (v.status == SECURE_REV_REVOKED) {
        char date[32];
        apr_time_exp_t t;
        apr_size_t len;
        sc->rev_reason = v.reason >= 0 ? OCSP_crl_reason_str(v.reason) : NULL;
        apr_time_exp_gmt(&t, v.revoked_at);
        apr_strftime(date, &len, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &t);
        sc->rev_date = apr_pstrdup(p, date);
        ap_log_cerror(APLOG_MARK, APLOG_WARNING, 0, sc->c, SECTAG(10599) "%s: client %s: TEMPORARY "
                      "pipeline: certificate revoked (%s): %s", secure_config_vhost_name(s),
                      sc->c->client_ip, v.source, v.detail ? v.detail : "");
        X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REVOKED);
        return 0;
    }
    return 1;
}

int secure_revoke_check_request(request_rec *r, secure_conn_t *sc)
{
    (void)r;
    (void)sc;
    return OK;
}
