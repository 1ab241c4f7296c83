/* secure_config — the shared argument parsers, SecureEngine / SecureExportVars, the per-directory config
 * and the vhost accessors. It sits below every concern and includes none of them: the directive table and
 * the per-server create / merge, which gather every concern's part, are assembled in mod_secure.c. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_mutex.h"
#include "apr_shm.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "secure_config.h"
#include "secure_log.h"
#include "secure_util.h"

APLOG_USE_MODULE(secure);

static int secure_any_engine;

/* ---- argument parsers -------------------------------------------------------------------------- */

const char *secure_arg_flag(cmd_parms *cmd, const char *arg, int *out)
{
    if (!strcasecmp(arg, "on"))
        *out = 1;
    else if (!strcasecmp(arg, "off"))
        *out = 0;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is not allowed; use on or off", cmd->cmd->name, arg);
    return NULL;
}

const char *secure_arg_seconds(cmd_parms *cmd, const char *arg, long min, long max, long *out)
{
    long v;

    if (secure_parse_seconds(arg, &v) != 0 || v < min || v > max)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid duration; use %ld to %ld seconds "
                            "(a number, optionally with s, m, h or d)", cmd->cmd->name, arg, min, max);
    *out = v;
    return NULL;
}

const char *secure_arg_long(cmd_parms *cmd, const char *arg, long min, long max, long *out)
{
    long v;

    if (secure_parse_long(arg, &v) != 0 || v < min || v > max)
        return apr_psprintf(cmd->pool, "%s: '%s' is not allowed; use a whole number from %ld to %ld",
                            cmd->cmd->name, arg, min, max);
    *out = v;
    return NULL;
}

const char *secure_arg_keyword(cmd_parms *cmd, const char *arg, const char *const *words, int *out)
{
    const char *allowed = NULL;
    int i;

    for (i = 0; words[i] != NULL; i++) {
        if (!strcasecmp(arg, words[i])) {
            *out = i;
            return NULL;
        }
        allowed = allowed ? apr_pstrcat(cmd->pool, allowed, words[i + 1] ? ", " : " or ", words[i], NULL)
                          : words[i];
    }
    return apr_psprintf(cmd->pool, "%s: '%s' is not allowed; use %s", cmd->cmd->name, arg, allowed);
}

/* ---- directives -------------------------------------------------------------------------------- */

const char *secure_config_cmd_engine(cmd_parms *cmd, void *dconf, const char *arg)
{
    secure_srv_conf_t *conf = ap_get_module_config(cmd->server->module_config, &secure_module);
    (void)dconf;
    return secure_arg_flag(cmd, arg, &conf->engine);
}

const char *secure_config_cmd_export_vars(cmd_parms *cmd, void *dconf, const char *arg)
{
    secure_dir_conf_t *d = dconf;
    return secure_arg_flag(cmd, arg, &d->export_vars);
}

const char *secure_config_cmd_export_cert_data(cmd_parms *cmd, void *dconf, const char *arg)
{
    secure_dir_conf_t *d = dconf;
    return secure_arg_flag(cmd, arg, &d->export_cert_data);
}

/* ---- create / merge ---------------------------------------------------------------------------- */

void *secure_config_create_dir(apr_pool_t *p, char *dir)
{
    secure_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));
    (void)dir;
    d->export_vars = SECURE_UNSET;
    d->export_cert_data = SECURE_UNSET;
    return d;
}

void *secure_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    const secure_dir_conf_t *base = basev, *add = addv;
    secure_dir_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    SECURE_MERGE_INT(export_vars);
    SECURE_MERGE_INT(export_cert_data);
    return conf;
}

/* ---- shared tables ---------------------------------------------------------------------------- */

apr_status_t secure_shared_table_create(apr_pool_t *pconf, server_rec *s, apr_size_t size, const char *mutex_type,
                                        const char *what_for, void **table, apr_global_mutex_t **mutex)
{
    apr_shm_t *shm = NULL;
    apr_status_t rv;

    *table = NULL;
    *mutex = NULL;
    if ((rv = apr_shm_create(&shm, size, NULL, pconf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     SECTAG(10004) "SecureOCSP / SecureCRLFetch: cannot create the shared memory (%" APR_SIZE_T_FMT
                     " bytes) of %s; refusing to start", size, what_for);
        return rv;
    }
    if ((rv = ap_global_mutex_create(mutex, NULL, mutex_type, NULL, s, pconf, 0)) != APR_SUCCESS) {
        *mutex = NULL;
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     SECTAG(10005) "SecureOCSP / SecureCRLFetch: cannot create the mutex of %s (Mutex %s); "
                     "refusing to start", what_for, mutex_type);
        return rv;
    }
    *table = apr_shm_baseaddr_get(shm);
    memset(*table, 0, size);
    return APR_SUCCESS;
}

/* ---- accessors --------------------------------------------------------------------------------- */

secure_srv_conf_t *secure_config_srv(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &secure_module);
}

int secure_config_engine_on(const server_rec *s)
{
    const secure_srv_conf_t *conf = s ? secure_config_srv(s) : NULL;
    return conf != NULL && conf->engine == 1;
}

int secure_config_any_engine(void)
{
    return secure_any_engine;
}

void secure_config_set_any_engine(int on)
{
    secure_any_engine = on;
}

int secure_config_export_vars(const request_rec *r)
{
    const secure_dir_conf_t *d = ap_get_module_config(r->per_dir_config, &secure_module);
    return d == NULL || d->export_vars != 0;
}

int secure_config_export_cert_data(const request_rec *r)
{
    const secure_dir_conf_t *d = ap_get_module_config(r->per_dir_config, &secure_module);
    return d != NULL && d->export_cert_data == 1;
}

/* ---- the resolved vhosts ---------------------------------------------------------------------------- *
 * httpd hands every vhost without a Secure* directive of its own the main server's config object itself,
 * so nothing per vhost may be written into a config object: a name or a loaded CRL store written there
 * would be the last vhost's, for all of them. What is computed or loaded for one vhost lives in its
 * secure_vhost_t, one per server_rec, made at the start of check_config in pconf; the config stays as the
 * directives made it. Read-only after startup except where a concern's own struct says otherwise. */
static apr_hash_t *vhosts;

static apr_status_t vhosts_clear(void *data)
{
    (void)data;
    vhosts = NULL;
    return APR_SUCCESS;
}

void secure_vhosts_build(apr_pool_t *pconf, server_rec *main_server)
{
    server_rec *s;

    vhosts = apr_hash_make(pconf);
    apr_pool_cleanup_register(pconf, NULL, vhosts_clear, apr_pool_cleanup_null);
    for (s = main_server; s != NULL; s = s->next) {
        secure_vhost_t *vh = apr_pcalloc(pconf, sizeof(*vh));
        vh->s = s;
        vh->name = apr_psprintf(pconf, "%s:%u", s->server_hostname ? s->server_hostname : "(default)",
                                s->addrs ? (unsigned)s->addrs->host_port : (unsigned)s->port);
        apr_hash_set(vhosts, &vh->s, sizeof(vh->s), vh);
    }
}

secure_vhost_t *secure_vhost_get(const server_rec *s)
{
    return (s != NULL && vhosts != NULL) ? apr_hash_get(vhosts, &s, sizeof(s)) : NULL;
}

const char *secure_config_vhost_name(const server_rec *s)
{
    const secure_vhost_t *vh = secure_vhost_get(s);

    if (vh != NULL)
        return vh->name;
    return s && s->server_hostname ? s->server_hostname : "(default)";
}
