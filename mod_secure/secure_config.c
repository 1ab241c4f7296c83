/* secure_config — directive table, create/merge, shared argument parsers. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "secure_config.h"
#include "secure_policy.h"
#include "secure_revoke.h"
#include "secure_ocsp.h"
#include "secure_cache.h"
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

static const char *cmd_engine(cmd_parms *cmd, void *dconf, const char *arg)
{
    secure_srv_conf_t *conf = ap_get_module_config(cmd->server->module_config, &secure_module);
    (void)dconf;
    return secure_arg_flag(cmd, arg, &conf->engine);
}

static const char *cmd_export_vars(cmd_parms *cmd, void *dconf, const char *arg)
{
    secure_dir_conf_t *d = dconf;
    return secure_arg_flag(cmd, arg, &d->export_vars);
}

const command_rec secure_cmds[] = {
    AP_INIT_TAKE1("SecureEngine", cmd_engine, NULL, RSRC_CONF,
                  "on|off: apply mod_secure to this virtual host's TLS connections (default off)"),
    AP_INIT_TAKE1("SecureExportVars", cmd_export_vars, NULL, RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "on|off: put the SECURE_* variables into the request environment (default on)"),
    SECURE_POLICY_CMDS
    SECURE_REVOKE_CMDS
    SECURE_OCSP_CMDS
    SECURE_CACHE_CMDS
    { NULL }
};

/* ---- create / merge ---------------------------------------------------------------------------- */

void *secure_config_create_srv(apr_pool_t *p, server_rec *s)
{
    secure_srv_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    conf->s = s;
    conf->engine = SECURE_UNSET;
    conf->policy = secure_policy_create_srv(p);
    conf->revoke = secure_revoke_create_srv(p);
    conf->ocsp = secure_ocsp_create_srv(p);
    return conf;
}

void *secure_config_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    const secure_srv_conf_t *base = basev, *add = addv;
    secure_srv_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    conf->s = add->s;
    SECURE_MERGE_INT(engine);
    conf->policy = secure_policy_merge_srv(p, base->policy, add->policy);
    conf->revoke = secure_revoke_merge_srv(p, base->revoke, add->revoke);
    conf->ocsp = secure_ocsp_merge_srv(p, base->ocsp, add->ocsp);
    return conf;
}

void *secure_config_create_dir(apr_pool_t *p, char *dir)
{
    secure_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));
    (void)dir;
    d->export_vars = SECURE_UNSET;
    return d;
}

void *secure_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    const secure_dir_conf_t *base = basev, *add = addv;
    secure_dir_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    SECURE_MERGE_INT(export_vars);
    return conf;
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

const char *secure_config_vhost_name(const server_rec *s)
{
    const secure_srv_conf_t *conf = s ? secure_config_srv(s) : NULL;

    if (conf != NULL && conf->name != NULL)
        return conf->name;
    return s && s->server_hostname ? s->server_hostname : "(default)";
}

void secure_config_name_vhosts(apr_pool_t *pconf, server_rec *main_server)
{
    server_rec *s;

    for (s = main_server; s != NULL; s = s->next) {
        secure_srv_conf_t *conf = secure_config_srv(s);
        conf->name = apr_psprintf(pconf, "%s:%u", s->server_hostname ? s->server_hostname : "(default)",
                                  s->addrs ? (unsigned)s->addrs->host_port : (unsigned)s->port);
    }
}

/* ---- what the verdict cache needs to know about a vhost (so that it does not call into OCSP) ---------- */

int secure_config_online_source(const server_rec *s)
{
    return secure_online_enabled(s);
}

const char *secure_config_trust_context(const server_rec *s, apr_pool_t *p)
{
    const char *ocsp = secure_ocsp_trust_context(s, p);

    return ocsp ? apr_pstrcat(p, ocsp, " scope=", secure_revoke_scope_name(s), NULL) : NULL;
}
