/* mod_secure public interface: optional functions other modules may call. */
#ifndef MOD_SECURE_H
#define MOD_SECURE_H

#include "httpd.h"
#include "apr_optional.h"

/* Value of one SECURE_* variable for a request (r may be NULL: connection scope), or NULL when it is not
 * set. The string lives in the connection's or request's pool. */
APR_DECLARE_OPTIONAL_FN(const char *, secure_var_lookup, (conn_rec *c, request_rec *r, const char *name));

#endif /* MOD_SECURE_H */
