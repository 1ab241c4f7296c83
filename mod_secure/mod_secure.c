/* mod_secure — TLS policy, client-certificate revocation and handshake facts beside mod_ssl.
 *
 * This file is the module: its record, the directive table and per-server config assembled from every
 * concern's part, and the whole lifecycle. Every hook is registered here, and each phase is one function
 * that calls the concerns in a written order; concerns export functions, never hook registrations
 * (doc/architecture.md has the table of hooks in phase order). */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "mpm_common.h"
#include "ap_expr.h"
#include "apr_optional.h"
#include "apr_strings.h"
#include "mod_auth.h"

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
static int check_mod_ssl(server_rec *s)
{
    server_rec *v;
    int any = 0;

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

/* ---- configuration: the directive table and the per-server config, gathered from the concerns ---- */

static const command_rec secure_cmds[] = {
    AP_INIT_TAKE1("SecureEngine", secure_config_cmd_engine, NULL, RSRC_CONF,
                  "on|off: apply mod_secure to this virtual host's TLS connections (default off)"),
    AP_INIT_TAKE1("SecureExportVars", secure_config_cmd_export_vars, NULL, RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "on|off: put the SECURE_* variables into the request environment (default on)"),
    AP_INIT_TAKE1("SecureExportCertData", secure_config_cmd_export_cert_data, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "on|off: put SECURE_CLIENT_CERT (the client certificate in PEM) into the request environment "
                  "too (default off)"),
    SECURE_POLICY_CMDS
    SECURE_REVOKE_CMDS
    SECURE_OCSP_CMDS
    SECURE_CACHE_CMDS
    { NULL }
};

static void *secure_create_srv(apr_pool_t *p, server_rec *s)
{
    secure_srv_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    conf->s = s;
    conf->engine = SECURE_UNSET;
    conf->policy = secure_policy_create_srv(p);
    conf->revoke = secure_revoke_create_srv(p);
    conf->ocsp = secure_ocsp_create_srv(p);
    return conf;
}

static void *secure_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    const secure_srv_conf_t *base = basev, *add = addv;
    secure_srv_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    conf->s = add->s;
    SECURE_MERGE_INT(engine);
    conf->policy = secure_policy_merge_srv(p, base->policy, add->policy);
    conf->revoke = secure_revoke_merge_srv(p, base->revoke, add->revoke);
    conf->ocsp = secure_ocsp_merge_srv(p, base->ocsp, add->ocsp);
    return conf;
}

/* What the verdict cache must know of a vhost: asked here, above both the cache and the sources. */
static const char *vhost_trust_context(const server_rec *s, apr_pool_t *p)
{
    const char *ocsp = secure_ocsp_trust_context(s, p);

    return ocsp ? apr_pstrcat(p, ocsp, " scope=", secure_revoke_scope_name(s), NULL) : NULL;
}

static const secure_cache_facts_t cache_facts = { secure_online_enabled, vhost_trust_context };

/* ---- the lifecycle: one function a phase, the concerns in a written order ---------------------- */

/* pre_config: forget the previous generation's settings. */
static int secure_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    int rc;

    secure_cache_set_facts(&cache_facts);
    if ((rc = secure_cache_pre_config(pconf, plog, ptemp)) != OK)
        return rc;
    return secure_online_pre_config(pconf, plog, ptemp);
}

/* check_config (also `httpd -t`, which `apachectl graceful` runs first): everything that can be refused
 * before a running server is touched. 0. each vhost's resolved object (secure_vhost_t); 1. mod_ssl must
 * be there; 2. the policy must leave mod_ssl's settings something (secure_sslconf emulates mod_ssl's
 * directives); 3. a network cache needs a key. */
static int secure_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int rc;

    secure_vhosts_build(pconf, s);
    if ((rc = check_mod_ssl(s)) != OK)
        return rc;
    if ((rc = secure_policy_check_config(pconf, plog, ptemp, s)) != OK)
        return rc;
    return secure_cache_check_config(pconf, plog, ptemp, s);
}

/* post_config, before mod_ssl's (which calls init_server for every TLS vhost): the status counters' shared
 * memory, the verdict cache and the online sources' shared state. */
static int secure_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int rc;

    secure_status_init(pconf, s);
    if ((rc = secure_cache_post_config(pconf, plog, ptemp, s)) != OK)
        return rc;
    return secure_online_post_config(pconf, plog, ptemp, s);
}

/* post_config, after mod_ssl's (init_server has loaded each vhost's CRLs and deny list) and before
 * mod_watchdog's (APR_HOOK_LAST), which starts only the watchdogs registered by then: the reloads. */
static int secure_post_config_late(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    return secure_revoke_post_config(pconf, plog, ptemp, s);
}

/* child_init, before mod_watchdog's (which starts the reload thread): attach to the cache's and the
 * breaker's mutexes, make the fetched-CRL table, then reload changed CRL / deny-list files, so the
 * child's first reload is done before any watchdog thread can start another (each store also takes a
 * try-lock). */
static void secure_child_init(apr_pool_t *pchild, server_rec *s)
{
    secure_status_child_init();
    secure_cache_child_init(pchild, s);
    secure_online_child_init(pchild, s);
    secure_revoke_child_init(pchild, s);
}

/* child_stopping (the MPM is about to let the child exit: a graceful or hard stop, MaxConnectionsPerChild):
 * wait for a reload on mod_watchdog's thread to finish and stop further ones, because nothing joins that
 * thread before exit(). */
static void secure_child_stopping(apr_pool_t *pchild, int graceful)
{
    (void)pchild;
    (void)graceful;
    secure_revoke_child_stopping();
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
    if (!secure_conn_bind_ctx(ctx, s)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     SECTAG(10003) "%s: cannot mark the TLS context as this vhost's (OpenSSL ex_data); "
                     "refusing to start rather than judge its connections by another vhost's rules",
                     secure_config_vhost_name(s));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
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
    if (secure_conn_create(c, ssl, secure_vars_count()) == NULL) {
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
    rc = secure_policy_check_request(r, sc);
    if (rc != OK && rc != DECLINED)
        return rc;
    rc = secure_revoke_check_request(r, sc);
    if (rc != OK && rc != DECLINED)
        return rc;
    return DECLINED;
}

/* fixups, first: every request and subrequest ends its checks here, whatever 'Satisfy Any' let through in
 * the access phase. 1. the policy again (mod_ssl may have renegotiated in its access checker; main
 * requests only); 2. revocation of a certificate mod_ssl obtained for this request or subrequest; 3. the
 * variables, which show those verdicts. */
static int secure_fixups(request_rec *r)
{
    secure_conn_t *sc;
    int rc;

    if (!secure_config_engine_on(r->server))
        return DECLINED;
    if ((rc = secure_policy_fixups(r)) != DECLINED && rc != OK)
        return rc;
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

/* Every hook of the module, in phase order (doc/architecture.md explains each). */
static void secure_register_hooks(apr_pool_t *p)
{
    static const char *const after_ssl[] = { "mod_ssl.c", NULL };
    static const char *const before_ssl[] = { "mod_ssl.c", NULL };
    static const char *const before_watchdog[] = { "mod_watchdog.c", NULL };

    secure_conn_init_ssl_index(p);
    secure_conn_init_ctx_index(p);
    secure_verify_init_index();
    /* configuration */
    ap_hook_pre_config(secure_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(secure_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(secure_post_config, NULL, before_ssl, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, init_server, secure_init_server, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(secure_post_config_late, after_ssl, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(secure_child_init, NULL, before_watchdog, APR_HOOK_MIDDLE);
    ap_hook_child_stopping(secure_child_stopping, NULL, NULL, APR_HOOK_MIDDLE);
    /* connection */
    APR_OPTIONAL_HOOK(ssl, pre_handshake, secure_pre_handshake, NULL, NULL, APR_HOOK_MIDDLE);
    /* request */
    ap_hook_post_read_request(secure_post_read_request, after_ssl, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_access(secure_revoke_check_access, after_ssl, NULL, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "secure-policy", AUTHZ_PROVIDER_VERSION,
                              &secure_policy_authz_provider, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "secure-revocation", AUTHZ_PROVIDER_VERSION,
                              &secure_revoke_authz_provider, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(secure_fixups, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(secure_vars_info_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(secure_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* variables for other modules */
    ap_hook_ssl_var_lookup(secure_vars_ssl_var_lookup, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_expr_lookup(secure_vars_expr_lookup, NULL, NULL, APR_HOOK_MIDDLE);
    APR_REGISTER_OPTIONAL_FN(secure_var_lookup);
}

AP_DECLARE_MODULE(secure) = {
    STANDARD20_MODULE_STUFF,
    secure_config_create_dir,
    secure_config_merge_dir,
    secure_create_srv,
    secure_merge_srv,
    secure_cmds,
    secure_register_hooks,
    AP_MODULE_FLAG_NONE
};
