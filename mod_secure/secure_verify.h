/* secure_verify — the verify wrapper: mod_ssl's certificate verify callback, wrapped at SSL_CTX level in
 * init_server (so it survives mod_ssl's SNI context switch), calls mod_ssl's first and then mod_secure's
 * checks (policy key floors, revocation). */
#ifndef SECURE_VERIFY_H
#define SECURE_VERIFY_H

#include "httpd.h"
#include "apr_errno.h"
#include <openssl/ssl.h>

/* Allocates the SSL_CTX ex_data index once per process. */
void secure_verify_init_index(void);
/* Wraps ctx's verify callback for vhost s; idempotent (a context already wrapped is left alone). The
 * wrapper's data lives in p (the pool mod_ssl gave init_server, which outlives the context). APR_SUCCESS,
 * or an error (logged) when the wrapper cannot be installed: startup must fail then. The wrapper refuses
 * a certificate (X509_V_ERR_APPLICATION_VERIFICATION) when it cannot apply the vhost's checks. */
apr_status_t secure_verify_wrap(server_rec *s, apr_pool_t *p, SSL_CTX *ctx);

#endif /* SECURE_VERIFY_H */
