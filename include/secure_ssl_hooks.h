/* Our declarations of mod_ssl's optional hooks (Debian's apache2-dev does not ship mod_ssl_openssl.h).
 * mod_ssl looks optional hooks up by name at run time, so matching name and signature is the contract. */
#ifndef SECURE_SSL_HOOKS_H
#define SECURE_SSL_HOOKS_H

#include "httpd.h"
#include "apr_optional_hooks.h"
#include <openssl/ssl.h>

/* The linkage macros APR_DECLARE_EXTERNAL_HOOK expects for the "SSL" link name (as mod_ssl defines them). */
#ifndef SSL_DECLARE
#define SSL_DECLARE(type)        type
#define SSL_DECLARE_NONSTD(type) type
#define SSL_DECLARE_DATA
#endif

/* Runs after mod_ssl configured a vhost's SSL_CTX (is_proxy: the context is for mod_proxy's outgoing side). */
APR_DECLARE_EXTERNAL_HOOK(ssl, SSL, int, init_server,
                          (server_rec *s, apr_pool_t *p, int is_proxy, SSL_CTX *ctx))

/* Runs after SSL_new() for each connection, before the handshake starts. */
APR_DECLARE_EXTERNAL_HOOK(ssl, SSL, int, pre_handshake,
                          (conn_rec *c, SSL *ssl, int is_proxy))

#endif /* SECURE_SSL_HOOKS_H */
