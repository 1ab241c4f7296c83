/* secure_verify — the verify wrapper around mod_ssl's callback. */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_main.h"


#include "secure_chain.h"
#include "secure_config.h"
#include "secure_conn.h"
#include "secure_log.h"
#include "secure_ossl.h"
#include "secure_policy.h"
#include "secure_revoke.h"
#include "secure_status.h"
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

/* The client's address for a log line when our connection state is missing: mod_ssl keeps the
 * connection as the SSL's app data (every one of its callbacks reads it there). */
static const char *client_of(SSL *ssl)
{
    conn_rec *c = ssl != NULL ? SSL_get_app_data(ssl) : NULL;

    return c != NULL && c->client_ip != NULL ? c->client_ip : "(unknown address)";
}

/* The wrapper runs but cannot apply mod_secure's checks (no vhost data on the context, or no connection
 * state): refuse the certificate rather than let it through unchecked. */
static int refuse_unchecked(SSL *ssl, X509_STORE_CTX *xctx, server_rec *s, const char *why)
{
    secure_status_count(SECURE_CTR_VERIFY_REFUSED_NO_STATE);
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s != NULL ? s : ap_server_conf,
                 SECTAG(11103) "%s: client %s refused at the handshake: %s, so mod_secure cannot check its "
                 "client certificate at depth %d", s != NULL ? secure_config_vhost_name(s) : "(no vhost)",
                 client_of(ssl), why, X509_STORE_CTX_get_error_depth(xctx));
    X509_STORE_CTX_set_error(xctx, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
}

static int secure_verify_cb(int ok, X509_STORE_CTX *xctx)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    const secure_verify_ctx_t *vi = verify_info(ssl);
    secure_conn_t *sc = secure_conn_from_ssl(ssl);
    const char *why = NULL;

    /* the callback is ours only on contexts we wrapped, and each of those carries its data; a context
     * switched in without it would leave us without mod_ssl's callback too */
    if (vi == NULL)
        return refuse_unchecked(ssl, xctx, NULL, "the TLS context verifying it carries no mod_secure data");
    if (vi->inner != NULL)
        ok = vi->inner(ok, xctx);
    if (!ok)
        return ok;
    if (sc == NULL) {
        if (!secure_revoke_active(vi->s) && secure_policy_name(vi->s) == NULL)
            return ok;          /* nothing of ours applies to this vhost */
        return refuse_unchecked(ssl, xctx, vi->s, "its connection has no mod_secure state");
    }
    sc->hs_server = vi->s;
    /* mod_ssl accepted this certificate (or lets it through under optional_no_ca); ours come second */
    if (!secure_policy_verify_cert(vi->s, sc, xctx))
        return 0;
    if (!secure_revoke_verify_cert(vi->s, sc, xctx))
        return 0;
    /* the leaf of a clean chain: keep its intermediates in the session, for the issuers of a resumed
     * session's re-check (secure_chain), whichever vhost's rules judge it then */
    if (X509_STORE_CTX_get_error_depth(xctx) == 0 && X509_STORE_CTX_get_error(xctx) == X509_V_OK
        && !secure_chain_carry(ssl, xctx, &why, sc->c->pool)) {
        secure_status_count(SECURE_CTR_REV_CHAIN_NOT_CARRIED);
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, sc->c,
                      "mod_secure: %s: the intermediates of client %s's chain are not stored in its TLS "
                      "session (%s); a resumed session verifies its certificate with the trusted CAs alone",
                      secure_config_vhost_name(vi->s), sc->c->client_ip, why);
    }
    return ok;
}

apr_status_t secure_verify_wrap(server_rec *s, apr_pool_t *p, SSL_CTX *ctx)
{
    SSL_verify_cb current = SSL_CTX_get_verify_callback(ctx);
    secure_verify_ctx_t *vi;

    if (current == secure_verify_cb)
        return APR_SUCCESS;
    if (secure_ctx_idx < 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     SECTAG(11104) "%s: cannot install mod_secure's certificate checks on the vhost's TLS "
                     "context: OpenSSL gave no SSL_CTX ex_data index (out of memory?); refusing to start "
                     "rather than run without them", secure_config_vhost_name(s));
        return APR_EGENERAL;
    }
    vi = apr_pcalloc(p, sizeof(*vi));
    vi->s = s;
    vi->inner = current;
    if (!SSL_CTX_set_ex_data(ctx, secure_ctx_idx, vi)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     SECTAG(11105) "%s: cannot install mod_secure's certificate checks on the vhost's TLS "
                     "context: OpenSSL could not store their data on it (%s); refusing to start rather "
                     "than run without them", secure_config_vhost_name(s), secure_ossl_errors(p));
        return APR_EGENERAL;
    }
    SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), secure_verify_cb);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 "mod_secure: verify wrapper installed on the TLS context of %s (mod_ssl's callback %s)",
                 s->server_hostname ? s->server_hostname : "(default)", current ? "kept" : "absent");
    return APR_SUCCESS;
}
