/* secure_policy — TLS profiles (SecurePolicy ...), narrowing a vhost's SSL_CTX, the post-handshake policy
 * check, report mode, client-certificate key floors and the `Require secure-policy` provider. The profile
 * table and the OpenSSL work without httpd types live in secure_profiles.[ch]. */
#ifndef SECURE_POLICY_H
#define SECURE_POLICY_H

#include "httpd.h"
#include "http_config.h"
#include "mod_auth.h"
#include <openssl/ssl.h>

#include "secure_conn.h"
#include "secure_profiles.h"

struct secure_policy_conf;

/* Directive handlers (secure_policy.c), spliced into secure_cmds[] by SECURE_POLICY_CMDS. */
const char *secure_policy_cmd_policy(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_policy_cmd_mode(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_policy_cmd_min_protocol(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_policy_cmd_cipher_exclude(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_policy_cmd_groups(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_policy_cmd_client_key_min(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_policy_cmd_allow_sha1(cmd_parms *cmd, void *dconf, const char *arg);

/* Directive entries spliced into secure_cmds[] (each ends with a comma). */
#define SECURE_POLICY_CMDS \
    AP_INIT_TAKE1("SecurePolicy", secure_policy_cmd_policy, NULL, RSRC_CONF, \
                  "modern|intermediate|old|nist-800-52r2|cnsa: the TLS profile this virtual host enforces (none by " \
                  "default), with its source:" \
                  SECURE_PROFILES_HELP), \
    AP_INIT_TAKE1("SecurePolicyMode", secure_policy_cmd_mode, NULL, RSRC_CONF, \
                  "enforce|report: narrow TLS and refuse violating connections, or only record violations " \
                  "(default enforce)"), \
    AP_INIT_TAKE1("SecureMinProtocol", secure_policy_cmd_min_protocol, NULL, RSRC_CONF, \
                  "TLSv1.2|TLSv1.3: raise the lowest protocol version (the profile's, or mod_ssl's without SecurePolicy)"), \
    AP_INIT_TAKE1("SecureCipherExclude", secure_policy_cmd_cipher_exclude, NULL, RSRC_CONF, \
                  "OpenSSL cipher string (TLS_* names: TLS 1.3 suites): remove these from the profile (or from " \
                  "mod_ssl's lists without SecurePolicy)"), \
    AP_INIT_TAKE1("SecureGroups", secure_policy_cmd_groups, NULL, RSRC_CONF, \
                  "group1:group2...: key-exchange groups in preference order, a subset of the profile's (without " \
                  "SecurePolicy: of mod_ssl's)"), \
    AP_INIT_ITERATE("SecureClientKeyMin", secure_policy_cmd_client_key_min, NULL, RSRC_CONF, \
                    "rsa:BITS ec:BITS: smallest client-certificate keys accepted (default: the profile's, " \
                    "rsa:2048 ec:256, cnsa rsa:3072 ec:384; none without SecurePolicy)"), \
    AP_INIT_TAKE1("SecureClientAllowSHA1", secure_policy_cmd_allow_sha1, NULL, RSRC_CONF, \
                  "on|off: accept client certificate chains signed with SHA-1 or MD5 (default off with " \
                  "SecurePolicy, no rule without)"),

/* Per-vhost sub-config (pool p). */
struct secure_policy_conf *secure_policy_create_srv(apr_pool_t *p);
struct secure_policy_conf *secure_policy_merge_srv(apr_pool_t *p, const struct secure_policy_conf *base,
                                                   const struct secure_policy_conf *add);
/* Lifecycle steps, called by mod_secure.c: check_config builds each vhost's rules and refuses a policy that
 * mod_ssl's settings leave empty (httpd -t too); fixups checks again after mod_ssl's per-directory
 * renegotiation (OK/DECLINED or an HTTP status). The `Require secure-policy` provider. */
int secure_policy_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *main_s);
int secure_policy_fixups(request_rec *r);
extern const authz_provider secure_policy_authz_provider;
/* mod_ssl's init_server for a vhost with SecureEngine on: narrow ctx. APR_SUCCESS, or an error that fails
 * startup (logged). */
apr_status_t secure_policy_init_server(server_rec *s, apr_pool_t *p, SSL_CTX *ctx);
/* Verify wrapper step for one certificate after mod_ssl accepted it: 1 keeps it, 0 fails the handshake
 * (with the X509 error set on ctx). */
int secure_policy_verify_cert(server_rec *s, secure_conn_t *sc, X509_STORE_CTX *ctx);
/* First request on a connection: check the negotiated parameters. OK, or an HTTP status to answer. */
int secure_policy_check_request(request_rec *r, secure_conn_t *sc);
/* Profile name of vhost s ("intermediate"; "none": floors without SecurePolicy), or NULL when no policy
 * applies. */
const char *secure_policy_name(const server_rec *s);
/* "mozilla-6.0 intermediate" (the profile's guideline, its version and the profile), "none" for floors
 * without a profile, or NULL when no policy applies (static or pconf memory). */
const char *secure_policy_version(const server_rec *s);
/* "enforce" / "report", or NULL when no SecurePolicy applies. */
const char *secure_policy_mode_name(const server_rec *s);

#endif /* SECURE_POLICY_H */
