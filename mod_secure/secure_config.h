/* secure_config — the per-server (vhost) and per-directory configuration structs, SecureEngine /
 * SecureExportVars, the resolved vhosts (secure_vhost_t) and the argument parsers every concern's directive
 * handlers share (each names the directive and the bad value). The directive table is assembled in mod_secure.c. */
#ifndef SECURE_CONFIG_H
#define SECURE_CONFIG_H

#include "httpd.h"
#include "http_config.h"

#define SECURE_UNSET (-1)

struct secure_policy_conf;   /* secure_policy.c owns it */
struct secure_revoke_conf;   /* secure_revoke.c owns it */
struct secure_ocsp_conf;     /* secure_ocsp.c owns it */

typedef struct secure_srv_conf {
    server_rec *s;
    int engine;                          /* SecureEngine: SECURE_UNSET, 0, 1 */
    struct secure_policy_conf *policy;   /* never NULL after create */
    struct secure_revoke_conf *revoke;   /* never NULL after create */
    struct secure_ocsp_conf *ocsp;       /* never NULL after create */
} secure_srv_conf_t;

typedef struct secure_dir_conf {
    int export_vars;                     /* SecureExportVars: SECURE_UNSET, 0, 1 (default 1) */
    int export_cert_data;                /* SecureExportCertData: SECURE_UNSET, 0, 1 (default 0) */
} secure_dir_conf_t;

/* SecureEngine, SecureExportVars and SecureExportCertData (the directive table itself is assembled in mod_secure.c). */
const char *secure_config_cmd_engine(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_config_cmd_export_vars(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_config_cmd_export_cert_data(cmd_parms *cmd, void *dconf, const char *arg);
void *secure_config_create_dir(apr_pool_t *p, char *dir);
void *secure_config_merge_dir(apr_pool_t *p, void *basev, void *addv);

/* A zeroed table of size bytes in anonymous shared memory (inherited by the children) and the global mutex
 * of type mutex_type (registered in pre_config) that guards it, both in pconf: the breaker's and the
 * in-flight markers' tables. On failure it logs which of the two could not be made for what_for ("the
 * responders' circuit breaker"; SEC10004 / SEC10005, startup fails), and *table and *mutex stay NULL. */
struct apr_global_mutex_t;
apr_status_t secure_shared_table_create(apr_pool_t *pconf, server_rec *s, apr_size_t size, const char *mutex_type,
                                        const char *what_for, void **table, struct apr_global_mutex_t **mutex);

/* The vhost's config (never NULL). */
secure_srv_conf_t *secure_config_srv(const server_rec *s);
/* True when SecureEngine is on for vhost s. */
int secure_config_engine_on(const server_rec *s);
/* True when some vhost of the running config has SecureEngine on (set in post_config). */
int secure_config_any_engine(void);
void secure_config_set_any_engine(int on);
/* True when SecureExportVars is on for the request's directory (default on). */
int secure_config_export_vars(const request_rec *r);
/* True when SecureExportCertData is on for the request's directory (default off): SECURE_CLIENT_CERT, the
 * whole certificate in PEM, goes into the environment too. */
int secure_config_export_cert_data(const request_rec *r);
/* "host:port" of a vhost, for log lines (memory from pconf; before post_config named the vhosts, its
 * ServerName). */
const char *secure_config_vhost_name(const server_rec *s);

/* The resolved vhost: one per server_rec (never shared, unlike config objects), made at the start of
 * check_config in pconf. It holds what is computed or loaded for that vhost at startup; each concern
 * owns its part (opaque here). */
typedef struct secure_vhost {
    server_rec *s;
    const char *name;                       /* "host:port", for log lines */
    struct secure_policy_state *policy;     /* secure_policy.c: rules, mod_ssl's view, log limiters */
    struct secure_revoke_rt *revoke;        /* secure_revoke.c: CRL store, deny list */
    int metrics_slot;                       /* secure_status.c: its row in the shared metrics (post_config) */
} secure_vhost_t;
/* Makes every vhost's resolved object (check_config; earlier ones are dropped with their pconf). */
void secure_vhosts_build(apr_pool_t *pconf, server_rec *main_server);
/* The resolved object of vhost s, or NULL for a server_rec of no current generation. */
secure_vhost_t *secure_vhost_get(const server_rec *s);

/* Merge helpers: the added value wins unless it is unset. */
#define SECURE_MERGE_INT(field)  conf->field = (add->field != SECURE_UNSET) ? add->field : base->field
#define SECURE_MERGE_PTR(field)  conf->field = (add->field != NULL) ? add->field : base->field

/* Argument parsers for directive handlers. Each returns NULL or an error message naming the directive
 * (cmd->cmd->name), the bad value and what is allowed; the result goes to *out. */
const char *secure_arg_flag(cmd_parms *cmd, const char *arg, int *out);
const char *secure_arg_seconds(cmd_parms *cmd, const char *arg, long min, long max, long *out);
const char *secure_arg_long(cmd_parms *cmd, const char *arg, long min, long max, long *out);
/* words: NULL-terminated list of allowed keywords (case-insensitive); *out = index into words. */
const char *secure_arg_keyword(cmd_parms *cmd, const char *arg, const char *const *words, int *out);

#endif /* SECURE_CONFIG_H */
