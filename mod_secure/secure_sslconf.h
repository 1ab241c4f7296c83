/* secure_sslconf — mod_ssl's TLS settings read from the configuration tree, for check_config (`httpd -t`,
 * which `apachectl graceful` runs first), where mod_ssl has built no SSL_CTX yet. See secure_sslconf.c for
 * why this emulation exists and what it covers. */
#ifndef SECURE_SSLCONF_H
#define SECURE_SSLCONF_H

#include "httpd.h"
#include <openssl/ssl.h>

#include "secure_profiles.h"

/* One mod_ssl setting as the configuration tree has it (value NULL: not configured, mod_ssl's default). */
typedef struct {
    const char *value;
    const char *file;
    int line;
} ssl_setting_t;

/* The mod_ssl settings of a vhost that narrowing intersects with (the main server's, overridden by the
 * vhost's own). */
typedef struct {
    ssl_setting_t engine, protocol, ciphers, suites, groups;
} secure_sslconf_t;

/* The mod_ssl settings of vhost s as configured (strings from p; a NULL value: not configured). */
secure_sslconf_t secure_sslconf_view(apr_pool_t *p, const server_rec *s);
/* mod_ssl's SSLProtocol value applied to ctx (a scratch context): 1, or 0 when a word is not understood. */
int secure_sslconf_apply_protocol(SSL_CTX *ctx, apr_pool_t *p, const char *value);
/* Which mod_ssl directive an empty intersection (why) points at, with its value, file and line; with ctx,
 * also the protocol range the real context has. Memory from p. */
const char *secure_sslconf_conflict(apr_pool_t *p, const secure_sslconf_t *v, secure_empty_t why, SSL_CTX *ctx);

#endif /* SECURE_SSLCONF_H */
