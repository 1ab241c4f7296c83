/* secure_cache — revocation verdicts kept in an ap_socache provider, so that every process of a server,
 * and with memcache / redis every server of a fleet, asks a responder once per certificate and TTL. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "ap_mpm.h"
#include "util_mutex.h"
#include "apr_global_mutex.h"
#include "apr_strings.h"

#include <openssl/evp.h>

#include "secure_cache.h"
#include "secure_config.h"
#include "secure_log.h"
#include "secure_ocsp.h"
#include "secure_status.h"
#include "secure_util.h"

APLOG_USE_MODULE(secure);

#define SECURE_CACHE_MUTEX    "secure-revocation-cache"
#define SECURE_CACHE_NS       "mod_secure-revocation"
#define SECURE_CACHE_REC_MAX  128   /* a stored record is far shorter; longer data is not ours */

/* Global (server config) state: set by the directive handlers during a config pass, reset in pre_config. */
static const ap_socache_provider_t *cache_provider;
static ap_socache_instance_t *cache_instance;
static const char *cache_spec;          /* what the operator wrote, for log lines */
static int cache_configured;            /* SecureRevocationCache seen in this pass */
static long cache_ttl = 3600;
static long cache_unknown_ttl = 30;
static apr_global_mutex_t *cache_mutex; /* only for providers that are not multi-process safe */
static int cache_ready;                 /* init succeeded in post_config */

long secure_cache_ttl(void)
{
    return cache_ttl;
}

long secure_cache_unknown_ttl(void)
{
    return cache_unknown_ttl;
}

/* ---- directives ------------------------------------------------------------------------------- */

const char *secure_cache_cmd_cache(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *name, *args, *sep;

    (void)dconf;
    if (err != NULL)
        return err;
    if (!strcasecmp(arg, "none")) {
        cache_configured = 1;
        cache_provider = NULL;
        cache_instance = NULL;
        cache_spec = "none";
        return NULL;
    }
    sep = ap_strchr_c(arg, ':');
    name = sep ? apr_pstrmemdup(cmd->temp_pool, arg, (apr_size_t)(sep - arg)) : arg;
    args = sep ? sep + 1 : NULL;
    cache_provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    if (cache_provider == NULL)
        return apr_psprintf(cmd->pool, "%s: '%s': no ap_socache provider named '%s' is loaded; use shmcb, "
                            "memcache:host:port, redis:host:port, dbm:file or none, and load its module "
                            "first (e.g. LoadModule socache_%s_module)", cmd->cmd->name, arg, name, name);
    err = cache_provider->create(&cache_instance, args, cmd->temp_pool, cmd->pool);
    if (err != NULL)
        return apr_psprintf(cmd->pool, "%s: '%s' is not usable: %s", cmd->cmd->name, arg, err);
    cache_configured = 1;
    cache_spec = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

const char *secure_cache_cmd_ttl(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dconf;
    return err ? err : secure_arg_seconds(cmd, arg, 1, 604800, &cache_ttl);
}

const char *secure_cache_cmd_unknown_ttl(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dconf;
    return err ? err : secure_arg_seconds(cmd, arg, 0, 3600, &cache_unknown_ttl);
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

static int cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    cache_provider = NULL;
    cache_instance = NULL;
    cache_spec = NULL;
    cache_configured = 0;
    cache_ttl = 3600;
    cache_unknown_ttl = 30;
    cache_mutex = NULL;
    cache_ready = 0;
    return ap_mutex_register(pconf, SECURE_CACHE_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
}

static apr_status_t cache_destroy(void *data)
{
    server_rec *s = data;

    if (cache_provider != NULL && cache_instance != NULL)
        cache_provider->destroy(cache_instance, s);
    cache_ready = 0;
    return APR_SUCCESS;
}

static int cache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    struct ap_socache_hints hints = { 64, 48, 30 };   /* id: hex sha256; object: one text record */
    server_rec *v;
    int online = 0;
    apr_status_t rv;
    const char *err;

    (void)plog;
    (void)ptemp;
    /* the first pass only checks the config; the real one opens the cache */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG || !secure_config_any_engine())
        return OK;
    for (v = s; v != NULL; v = v->next)
        if (secure_config_engine_on(v) && secure_online_enabled(v))
            online = 1;
    if (!cache_configured) {
        cache_provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb", AP_SOCACHE_PROVIDER_VERSION);
        cache_spec = "shmcb (default)";
        if (cache_provider == NULL) {
            ap_log_error(APLOG_MARK, online ? APLOG_CRIT : APLOG_WARNING, 0, s,
                         SECTAG(10600) "revocation verdict cache: the default provider shmcb is not loaded "
                         "(LoadModule socache_shmcb_module), and no SecureRevocationCache is set%s",
                         online ? ": SecureOCSP / SecureCRLFetch would query the responder on every "
                                  "handshake, refusing to start"
                                : "; verdicts are not cached");
            return online ? HTTP_INTERNAL_SERVER_ERROR : OK;
        }
        if ((err = cache_provider->create(&cache_instance, NULL, ptemp, pconf)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         SECTAG(10601) "revocation verdict cache: cannot create the default shmcb cache: %s",
                         err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if (cache_provider == NULL || cache_instance == NULL)
        return OK;   /* SecureRevocationCache none */
    if (cache_provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&cache_mutex, NULL, SECURE_CACHE_MUTEX, NULL, s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         SECTAG(10602) "revocation verdict cache %s: cannot create its mutex", cache_spec);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    rv = cache_provider->init(cache_instance, SECURE_CACHE_NS, &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     SECTAG(10603) "revocation verdict cache %s: the provider failed to initialise",
                     cache_spec);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, s, cache_destroy, apr_pool_cleanup_null);
    cache_ready = 1;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 SECTAG(10604) "revocation verdict cache: %s, verdicts kept at most %ld s, unknown %ld s",
                 cache_spec, cache_ttl, cache_unknown_ttl);
    return OK;
}

static void cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (cache_mutex == NULL)
        return;
    rv = apr_global_mutex_child_init(&cache_mutex, apr_global_mutex_lockfile(cache_mutex), pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     SECTAG(10605) "revocation verdict cache %s: this process cannot attach to its mutex; "
                     "verdicts are not cached in it", cache_spec);
        cache_ready = 0;
    }
}

void secure_cache_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(cache_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(cache_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(cache_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

/* ---- records ---------------------------------------------------------------------------------- */

/* Hex sha256 of the issuer's name and key and the serial: the same certificate gives the same key on
 * every server of a fleet, and two CAs with one name but different keys never share answers. */
static int cache_key(X509 *cert, X509 *issuer, char *out /* 65 bytes */)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned char *name = NULL, *serial = NULL;
    const ASN1_BIT_STRING *key;
    int namelen, seriallen, ok = 0;
    EVP_MD_CTX *mctx = NULL;

    key = X509_get0_pubkey_bitstr(issuer);
    namelen = i2d_X509_NAME(X509_get_subject_name(issuer), &name);
    seriallen = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &serial);
    if (key == NULL || namelen <= 0 || seriallen <= 0 || (mctx = EVP_MD_CTX_new()) == NULL)
        goto cleanup;
    if (!EVP_DigestInit_ex(mctx, EVP_sha256(), NULL)
        || !EVP_DigestUpdate(mctx, "secure-rev-v1", 13)
        || !EVP_DigestUpdate(mctx, name, (size_t)namelen)
        || !EVP_DigestUpdate(mctx, key->data, (size_t)key->length)
        || !EVP_DigestUpdate(mctx, serial, (size_t)seriallen)
        || !EVP_DigestFinal_ex(mctx, md, &mdlen) || mdlen != 32)
        goto cleanup;
    secure_hex_lower(md, mdlen, out);
    ok = 1;
cleanup:
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(name);
    OPENSSL_free(serial);
    return ok;
}

static const char *const cache_sources[] = { "crl", "denylist", "ocsp", "cache", "crl-fetch", NULL };

static const char *cache_source_name(const char *s)
{
    int i;

    for (i = 0; s != NULL && cache_sources[i] != NULL; i++)
        if (!strcmp(s, cache_sources[i]))
            return cache_sources[i];
    return "cache";
}

static char status_letter(secure_rev_status_t st)
{
    return st == SECURE_REV_GOOD ? 'G' : st == SECURE_REV_REVOKED ? 'R' : 'U';
}

static apr_status_t cache_lock(void)
{
    return cache_mutex ? apr_global_mutex_lock(cache_mutex) : APR_SUCCESS;
}

static void cache_unlock(void)
{
    if (cache_mutex)
        apr_global_mutex_unlock(cache_mutex);
}

int secure_cache_get(server_rec *s, X509 *cert, X509 *issuer, secure_verdict_t *v, apr_pool_t *p)
{
    char key[65], rec[SECURE_CACHE_REC_MAX + 1], letter = 0, src[16];
    unsigned int len = SECURE_CACHE_REC_MAX;
    long long revoked = 0, expires = 0;
    int reason = -1, hit = 0;
    apr_status_t rv;

    /* only online sources (OCSP, CRL fetch) fill the cache: a vhost that uses neither must not take
     * another vhost's OCSP answer over its own CRLs */
    if (!cache_ready || cert == NULL || issuer == NULL || !secure_online_enabled(s)
        || !cache_key(cert, issuer, key))
        return 0;
    if ((rv = cache_lock()) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     SECTAG(10610) "revocation verdict cache %s: cannot take its mutex; lookup skipped",
                     cache_spec);
        return 0;
    }
    rv = cache_provider->retrieve(cache_instance, s, (unsigned char *)key, 64, (unsigned char *)rec, &len, p);
    cache_unlock();
    if (rv != APR_SUCCESS || len == 0 || len > SECURE_CACHE_REC_MAX) {
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                         SECTAG(10606) "revocation verdict cache %s: lookup failed for %s; asking the "
                         "sources instead", cache_spec, secure_config_vhost_name(s));
        goto cleanup;
    }
    rec[len] = '\0';
    /* "v1 <G|R|U> <source> <reason> <revoked-at s> <expires s>": written by secure_cache_put only, but
     * a shared cache may hold anything, so a record that does not parse is a miss */
    if (sscanf(rec, "v1 %c %15s %d %lld %lld", &letter, src, &reason, &revoked, &expires) != 5
        || (letter != 'G' && letter != 'R' && letter != 'U') || reason < -1 || reason > 10
        || revoked < 0 || expires <= 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SECTAG(10607) "revocation verdict cache %s: ignoring a malformed record for key %s",
                     cache_spec, key);
        goto cleanup;
    }
    if (apr_time_from_sec(expires) <= apr_time_now())
        goto cleanup;
    v->status = letter == 'G' ? SECURE_REV_GOOD : letter == 'R' ? SECURE_REV_REVOKED : SECURE_REV_UNKNOWN;
    v->source = "cache";
    v->reason = reason;
    v->revoked_at = apr_time_from_sec(revoked);
    v->expires = apr_time_from_sec(expires);
    v->detail = apr_psprintf(p, "cached answer from %s, valid %" APR_TIME_T_FMT " s more",
                             cache_source_name(src), apr_time_sec(v->expires - apr_time_now()));
    hit = 1;
cleanup:
    secure_status_count(hit ? SECURE_CTR_CACHE_HITS : SECURE_CTR_CACHE_MISSES);
    return hit;
}

void secure_cache_put(server_rec *s, X509 *cert, X509 *issuer, const secure_verdict_t *v, apr_pool_t *p)
{
    char key[65];
    const char *rec;
    apr_time_t now = apr_time_now(), expires;
    apr_status_t rv;

    if (!cache_ready || v == NULL || cert == NULL || issuer == NULL || v->status == SECURE_REV_NONE
        || v->expires <= now || (v->source != NULL && !strcmp(v->source, "cache")))
        return;
    expires = v->expires;
    if (expires > now + apr_time_from_sec(cache_ttl))
        expires = now + apr_time_from_sec(cache_ttl);
    if (v->status == SECURE_REV_UNKNOWN) {
        if (cache_unknown_ttl == 0)
            return;
        if (expires > now + apr_time_from_sec(cache_unknown_ttl))
            expires = now + apr_time_from_sec(cache_unknown_ttl);
    }
    if (!cache_key(cert, issuer, key))
        return;
    rec = apr_psprintf(p, "v1 %c %s %d %" APR_INT64_T_FMT " %" APR_INT64_T_FMT, status_letter(v->status), cache_source_name(v->source),
                       v->reason < -1 || v->reason > 10 ? -1 : v->reason,
                       (apr_int64_t)apr_time_sec(v->revoked_at), (apr_int64_t)apr_time_sec(expires));
    if ((rv = cache_lock()) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     SECTAG(10609) "revocation verdict cache %s: cannot take its mutex; verdict not stored",
                     cache_spec);
        return;
    }
    rv = cache_provider->store(cache_instance, s, (unsigned char *)key, 64, expires,
                               (unsigned char *)rec, (unsigned int)strlen(rec), p);
    cache_unlock();
    ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, s, "mod_secure: verdict cache store %s -> %s", key, rec);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     SECTAG(10608) "revocation verdict cache %s: could not store a verdict for %s; the "
                     "next handshake with this certificate asks the sources again",
                     cache_spec, secure_config_vhost_name(s));
}
