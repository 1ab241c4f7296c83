/* secure_verify — the verify wrapper around mod_ssl's callback. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "secure_conn.h"
#include "secure_log.h"
#include "secure_policy.h"
#include "secure_revoke.h"
#include "secure_verify.h"

APLOG_USE_MODULE(secure);

typedef struct {
    server_rec *s;
    SSL_verify_cb inner;        /* mod_ssl's callback (or NULL: OpenSSL's default verdict stands) */
} secure_verify_ctx_t;

static int secure_ctx_idx = -1;

void secure_verify_init_index(void)
{
    if (secure_ctx_idx < 0)
        secure_ctx_idx = SSL_CTX_get_ex_new_index(0, (void *)"mod_secure verify", NULL, NULL, NULL);
}

static const secure_verify_ctx_t *verify_info(const SSL *ssl)
{
    SSL_CTX *ctx;

    if (ssl == NULL || secure_ctx_idx < 0 || (ctx = SSL_get_SSL_CTX(ssl)) == NULL)
        return NULL;
    return SSL_CTX_get_ex_data(ctx, secure_ctx_idx);
}

server_rec *secure_verify_ctx_server(const SSL *ssl)
{
    const secure_verify_ctx_t *vi = verify_info(ssl);
    return vi ? vi->s : NULL;
}

static int secure_verify_cb(int ok, X509_STORE_CTX *xctx)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    const secure_verify_ctx_t *vi = verify_info(ssl);
    secure_conn_t *sc = secure_conn_from_ssl(ssl);

    if (vi == NULL)             /* cannot happen for a wrapped context; keep OpenSSL's verdict */
        return ok;
    if (vi->inner != NULL)
        ok = vi->inner(ok, xctx);
    if (!ok || sc == NULL)
        return ok;
    sc->hs_server = vi->s;
    /* mod_ssl accepted this certificate (or lets it through under optional_no_ca); ours come second */
    if (!secure_policy_verify_cert(vi->s, sc, xctx))
        return 0;
    if (!secure_revoke_verify_cert(vi->s, sc, xctx))
        return 0;
    return ok;
}

void secure_verify_wrap(server_rec *s, apr_pool_t *p, SSL_CTX *ctx)
{
    SSL_verify_cb current = SSL_CTX_get_verify_callback(ctx);
    secure_verify_ctx_t *vi;

    if (secure_ctx_idx < 0 || current == secure_verify_cb)
        return;
    vi = apr_pcalloc(p, sizeof(*vi));
    vi->s = s;
    vi->inner = current;
    SSL_CTX_set_ex_data(ctx, secure_ctx_idx, vi);
    SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), secure_verify_cb);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 "mod_secure: verify wrapper installed on the TLS context of %s (mod_ssl's callback %s)",
                 s->server_hostname ? s->server_hostname : "(default)", current ? "kept" : "absent");
}
