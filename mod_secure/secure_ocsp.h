/* secure_ocsp — OCSP for client certificates through OpenSSL's HTTP client and OCSP API (request, nonce,
 * whole-exchange timeout, response verification), the per-responder circuit breaker, and the
 * SecureOCSP* directives. */
#ifndef SECURE_OCSP_H
#define SECURE_OCSP_H

#include "httpd.h"
#include "http_config.h"
#include <openssl/x509.h>

#include "secure_revoke.h"

struct secure_ocsp_conf;

/* Directive entries spliced into secure_cmds[] (each ends with a comma). */
#define SECURE_OCSP_CMDS

struct secure_ocsp_conf *secure_ocsp_create_srv(apr_pool_t *p);
struct secure_ocsp_conf *secure_ocsp_merge_srv(apr_pool_t *p, const struct secure_ocsp_conf *base,
                                               const struct secure_ocsp_conf *add);
void secure_ocsp_register_hooks(apr_pool_t *p);
/* True when SecureOCSP on applies to vhost s. */
int secure_ocsp_enabled(const server_rec *s);
/* Asks the responder about cert (issued by issuer; trust = the vhost's CA store for signer checks).
 * Fills *v: GOOD / REVOKED / UNKNOWN with source "ocsp" and expires; never blocks longer than
 * SecureOCSPTimeout. c may be NULL (logs then name the vhost only). Memory from p. */
void secure_ocsp_check(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, X509_STORE *trust,
                       secure_verdict_t *v, apr_pool_t *p);

#endif /* SECURE_OCSP_H */
