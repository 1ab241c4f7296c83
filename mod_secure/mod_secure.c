/* mod_secure — TLS policy, client-certificate revocation and handshake facts beside mod_ssl.
 * This file holds the module record and hook registration only; each concern lives in its own file pair. */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "ap_expr.h"
#include "apr_optional.h"

#include "mod_secure.h"
#include "secure_ssl_hooks.h"
#include "secure_compat.h"
#include "secure_config.h"
#include "secure_conn.h"
#include "secure_log.h"
#include "secure_policy.h"
#include "secure_revoke.h"
#include "secure_ocsp.h"
#include "secure_cache.h"
#include "secure_status.h"
#include "secure_vars.h"
#include "secure_verify.h"

/* SecureEngine on needs mod_ssl: say so at config check (apachectl -t too), not at the first request. */
static int secure_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    int any = 0;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    for (v = s; v != NULL; v = v->next)
        if (secure_config_engine_on(v))
            any = 1;
    secure_config_set_any_engine(any);
    if (any && ap_find_linked_module("mod_ssl.c") == NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     SECTAG(10001) "SecureEngine is on but mod_ssl is not loaded: mod_secure works beside "
                     "mod_ssl, which terminates TLS. Add 'LoadModule ssl_module modules/mod_ssl.so' "
                     "(Debian: a2enmod ssl) or set SecureEngine off");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static int secure_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    (void)ptemp;
    secure_config_name_vhosts(pconf, s);
    secure_status_init(pconf, s);
    return OK;
}

/* mod_ssl's init_server: once per SSL vhost context per config pass (twice at start): idempotent. */
static int secure_init_server(server_rec *s, apr_pool_t *p, int is_proxy, SSL_CTX *ctx)
{
    apr_status_t rv;

    if (is_proxy || ctx == NULL)
        return DECLINED;
    if (!secure_config_engine_on(s)) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                     "mod_secure: TLS context of %s seen, SecureEngine off: left alone",
                     secure_config_vhost_name(s));
        return DECLINED;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "mod_secure: TLS context of %s seen, SecureEngine on",
                 secure_config_vhost_name(s));
    if ((rv = secure_policy_init_server(s, p, ctx)) != APR_SUCCESS)
        return rv;
    if ((rv = secure_revoke_init_server(s, p, ctx)) != APR_SUCCESS)
        return rv;
    if ((rv = secure_verify_wrap(s, p, ctx)) != APR_SUCCESS)
        return rv;
    return OK;
}

/* mod_ssl's pre_handshake: the vhost is not known yet (SNI comes later), so state is created whenever any
 * vhost uses mod_secure; vhosts with SecureEngine off still see nothing (every reader checks r->server). */
static int secure_pre_handshake(conn_rec *c, SSL *ssl, int is_proxy)
{
    if (is_proxy || ssl == NULL || !secure_config_any_engine())
        return DECLINED;
    if (secure_conn_create(c, ssl) == NULL) {
        /* without its state no policy or revocation check could run: refuse the connection, never
         * let it through unchecked */
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                      SECTAG(10002) "client %s: connection refused: mod_secure could not allocate its "
                      "per-connection state (out of memory?)", c->client_ip);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    secure_status_count(SECURE_CTR_CONNECTIONS);
    return OK;
}

/* Each request (and internal redirect) finishes the handshake facts and runs the checks that the
 * handshake could not: resumed sessions, and a Host that selects another vhost than the SNI did (each
 * request is judged by the rules of the vhost serving it; a repeat for the same vhost costs a lookup). */
static int secure_post_read_request(request_rec *r)
{
    secure_conn_t *sc;
    int rc;

    if (!secure_config_engine_on(r->server) || (sc = secure_conn_get(r->connection)) == NULL
        || sc->ssl == NULL)
        return DECLINED;
    sc->facts_done = 1;
    rc = secure_policy_check_request(r, sc);
    if (rc != OK && rc != DECLINED)
        return rc;
    rc = secure_revoke_check_request(r, sc);
    if (rc != OK && rc != DECLINED)
        return rc;
    return DECLINED;
}

/* Every request and subrequest ends its checks here, whatever 'Satisfy Any' let through in the access
 * phase: the last point before the handler to judge a certificate mod_ssl obtained for this request (or
 * subrequest). Then the variables, which show that verdict. */
static int secure_fixups(request_rec *r)
{
    secure_conn_t *sc;
    int rc;

    if (!secure_config_engine_on(r->server))
        return DECLINED;
    if ((sc = secure_conn_get(r->connection)) != NULL && sc->ssl != NULL
        && (rc = secure_revoke_check_fixups(r, sc)) != OK)
        return rc;
    secure_vars_export(r);
    return DECLINED;
}

static const char *secure_var_lookup(conn_rec *c, request_rec *r, const char *name)
{
    return secure_vars_lookup(c, r, name);
}

static void secure_register_hooks(apr_pool_t *p)
{
    static const char *const after_ssl[] = { "mod_ssl.c", NULL };

    secure_conn_init_ssl_index(p);
    secure_verify_init_index();
    ap_hook_check_config(secure_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(secure_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, init_server, secure_init_server, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, pre_handshake, secure_pre_handshake, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(secure_post_read_request, after_ssl, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(secure_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_var_lookup(secure_vars_ssl_var_lookup, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_expr_lookup(secure_vars_expr_lookup, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(secure_vars_info_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(secure_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_REGISTER_OPTIONAL_FN(secure_var_lookup);
    secure_policy_register_hooks(p);
    secure_revoke_register_hooks(p);
    secure_ocsp_register_hooks(p);
    secure_cache_register_hooks(p);
}

AP_DECLARE_MODULE(secure) = {
    STANDARD20_MODULE_STUFF,
    secure_config_create_dir,
    secure_config_merge_dir,
    secure_config_create_srv,
    secure_config_merge_srv,
    secure_cmds,
    secure_register_hooks,
    AP_MODULE_FLAG_NONE
};
