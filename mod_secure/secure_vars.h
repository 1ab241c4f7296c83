/* secure_vars — the one table of SECURE_* variables (name -> function) and every way httpd reads them:
 * r->subprocess_env (fixups), the core ssl_var_lookup hook, ap_expr's %{SECURE_*} and the secure-info
 * handler. Connection-scope values are computed at most once per connection and only when asked for. */
#ifndef SECURE_VARS_H
#define SECURE_VARS_H

#include "httpd.h"
#include "ap_expr.h"

/* Number of variables in the table (sizes the per-connection memo). */
apr_size_t secure_vars_count(void);
/* Value of name for c (and r when not NULL), or NULL when unset. Memory: c->pool or r->pool. */
const char *secure_vars_lookup(conn_rec *c, request_rec *r, const char *name);
/* Puts every set variable into r->subprocess_env. */
void secure_vars_export(request_rec *r);
/* Core ssl_var_lookup hook. */
const char *secure_vars_ssl_var_lookup(apr_pool_t *p, server_rec *s, conn_rec *c, request_rec *r,
                                       const char *name);
/* ap_expr lookup hook: resolves %{SECURE_*}. */
int secure_vars_expr_lookup(ap_expr_lookup_parms *parms);
/* The `secure-info` handler: the visitor's SECURE_* values as JSON. */
int secure_vars_info_handler(request_rec *r);

#endif /* SECURE_VARS_H */
