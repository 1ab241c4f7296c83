/* POLICY HELPER: your full instructions are in /work/HELPER-policy-INSTRUCTIONS.md (the prompt had unexpanded placeholders). Work in /work/wt-policy, not here. */
/* secure_policy — TLS profiles (SecurePolicy ...), narrowing a vhost's SSL_CTX, the post-handshake policy
 * check, report mode, client-certificate key floors and the `Require secure-policy` provider. */
#ifndef SECURE_POLICY_H
#define SECURE_POLICY_H

#include "httpd.h"
#include "http_config.h"
#include <openssl/ssl.h>

#include "secure_conn.h"

struct secure_policy_conf;

/* Directive entries spliced into secure_cmds[] (each ends with a comma). */
#define SECURE_POLICY_CMDS

/* Per-vhost sub-config (pool p). */
struct secure_policy_conf *secure_policy_create_srv(apr_pool_t *p);
struct secure_policy_conf *secure_policy_merge_srv(apr_pool_t *p, const struct secure_policy_conf *base,
                                                   const struct secure_policy_conf *add);
/* Registers the policy's own hooks and providers (from the module's register_hooks). */
void secure_policy_register_hooks(apr_pool_t *p);
/* mod_ssl's init_server for a vhost with SecureEngine on: narrow ctx. APR_SUCCESS, or an error that fails
 * startup (logged). */
apr_status_t secure_policy_init_server(server_rec *s, apr_pool_t *p, SSL_CTX *ctx);
/* Verify wrapper step for one certificate after mod_ssl accepted it: 1 keeps it, 0 fails the handshake
 * (with the X509 error set on ctx). */
int secure_policy_verify_cert(server_rec *s, secure_conn_t *sc, X509_STORE_CTX *ctx);
/* First request on a connection: check the negotiated parameters. OK, or an HTTP status to answer. */
int secure_policy_check_request(request_rec *r, secure_conn_t *sc);
/* Profile name of vhost s ("intermediate"), or NULL when no SecurePolicy applies. */
const char *secure_policy_name(const server_rec *s);
/* "enforce" / "report", or NULL when no SecurePolicy applies. */
const char *secure_policy_mode_name(const server_rec *s);

#endif /* SECURE_POLICY_H */
