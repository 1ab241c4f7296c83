/* secure_revoke — the client-certificate revocation pipeline run from the verify wrapper (deny list ->
 * verdict cache -> CRL -> OCSP), the unknown-status answer, the request-time re-check (verdicts kept per
 * certificate and vhost rules: resumption, renegotiation, post-handshake auth, SNI != Host, subrequests),
 * and `Require secure-revocation`. */
#ifndef SECURE_REVOKE_H
#define SECURE_REVOKE_H

#include "httpd.h"
#include "http_config.h"
#include "mod_auth.h"
#include <openssl/ssl.h>

#include "secure_conn.h"

struct secure_revoke_conf;

/* Directive handlers (secure_revoke.c) and their entries spliced into secure_cmds[] (each ends with a
 * comma). All take effect in the server config and in <VirtualHost>. */
const char *secure_revoke_cmd_crl(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_revoke_cmd_interval(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_revoke_cmd_max_stale(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_revoke_cmd_expiry_warning(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_revoke_cmd_denylist(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_revoke_cmd_scope(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_revoke_cmd_unknown(cmd_parms *cmd, void *dconf, const char *arg);
#define SECURE_REVOKE_CMDS \
    AP_INIT_TAKE1("SecureCRL", secure_revoke_cmd_crl, NULL, RSRC_CONF, \
                  "file or directory of PEM / DER CRLs (repeatable); reloaded when changed"), \
    AP_INIT_TAKE1("SecureCRLCheckInterval", secure_revoke_cmd_interval, NULL, RSRC_CONF, \
                  "seconds between checks of SecureCRL / SecureDenyList files for changes (default 10)"), \
    AP_INIT_TAKE1("SecureCRLMaxStale", secure_revoke_cmd_max_stale, NULL, RSRC_CONF, \
                  "seconds past a CRL's nextUpdate it still counts (default 0)"), \
    AP_INIT_TAKE1("SecureCRLExpiryWarning", secure_revoke_cmd_expiry_warning, NULL, RSRC_CONF, \
                  "warn when a loaded CRL's nextUpdate is closer than this (default 24h; 0: never)"), \
    AP_INIT_TAKE1("SecureDenyList", secure_revoke_cmd_denylist, NULL, RSRC_CONF, \
                  "file of certificates to refuse: 'sha256 <hex>' or 'serial <hex> <issuer>' lines"), \
    AP_INIT_TAKE1("SecureRevocationScope", secure_revoke_cmd_scope, NULL, RSRC_CONF, \
                  "leaf|chain: which client certificates are checked (default leaf)"), \
    AP_INIT_TAKE1("SecureRevocationUnknown", secure_revoke_cmd_unknown, NULL, RSRC_CONF, \
                  "deny|allow|defer: answer when no fresh CRL covers the issuer (default deny)"),

struct secure_revoke_conf *secure_revoke_create_srv(apr_pool_t *p);
struct secure_revoke_conf *secure_revoke_merge_srv(apr_pool_t *p, const struct secure_revoke_conf *base,
                                                   const struct secure_revoke_conf *add);
/* Lifecycle steps, called by mod_secure.c: post_config (after mod_ssl's, which ran init_server and loaded
 * the data) registers the reloads with mod_watchdog; child_init reloads changed files before the child
 * serves anything; check_access re-checks a certificate mod_ssl obtained in its own access check
 * (renegotiation, post-handshake auth). The `Require secure-revocation` provider. */
int secure_revoke_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *main_s);
void secure_revoke_child_init(apr_pool_t *pchild, server_rec *main_s);
/* child_stopping: no watchdog reload runs after this returns (one that was running has finished). */
void secure_revoke_child_stopping(void);
int secure_revoke_check_access(request_rec *r);
extern const authz_provider secure_revoke_authz_provider;
/* mod_ssl's init_server for a vhost with SecureEngine on. APR_SUCCESS or an error that fails startup. */
apr_status_t secure_revoke_init_server(server_rec *s, apr_pool_t *p, SSL_CTX *ctx);
/* Verify wrapper step for the certificate at the ctx's current depth after mod_ssl accepted it: 1 keeps
 * it, 0 fails the handshake (X509 error set on ctx, e.g. X509_V_ERR_CERT_REVOKED -> alert 44). */
int secure_revoke_verify_cert(server_rec *s, secure_conn_t *sc, X509_STORE_CTX *ctx);
/* post_read_request (main requests and internal redirects): judge the connection's client certificate by
 * the revocation rules of r->server unless those rules already judged this certificate on the
 * connection (resumed session, another vhost than the handshake's). OK or an HTTP status (403). */
int secure_revoke_check_request(request_rec *r, secure_conn_t *sc);
/* SecureRevocationScope of vhost s: "leaf" or "chain" (static string). */
const char *secure_revoke_scope_name(const server_rec *s);
/* fixups (every request and subrequest): the same, for a certificate mod_ssl obtained during this
 * request's access check (renegotiation, post-handshake authentication), whatever 'Satisfy Any' let
 * through. OK or an HTTP status (403). */
int secure_revoke_check_fixups(request_rec *r, secure_conn_t *sc);
/* True when vhost s checks client certificates for revocation (SecureEngine on and a source or policy). */
int secure_revoke_active(const server_rec *s);

/* A verdict as the variables and `Require secure-revocation` see it. */
typedef struct secure_rev_view {
    secure_rev_status_t status;   /* NONE: no certificate judged under the vhost's rules */
    const char *source;           /* NULL when none; strings from the caller's pool */
    const char *reason;
    const char *date;
    const char *detail;
} secure_rev_view_t;
/* The verdict for the connection's client certificate under the revocation rules of vhost s (the vhost
 * serving the request, not the one that ran the handshake). Strings copied into p. */
void secure_revoke_verdict(secure_conn_t *sc, const server_rec *s, secure_rev_view_t *out, apr_pool_t *p);

#endif /* SECURE_REVOKE_H */
