/* secure_cache — revocation verdicts kept in an ap_socache provider, so that every process of a server,
 * and with memcache / redis every server of a fleet, asks a responder once per certificate and TTL.
 *
 * A shared cache is input from outside the server: anyone who can write to memcached could otherwise admit
 * every revoked certificate of the fleet. So every record carries an HMAC-SHA256 (secure_cacherec) over its
 * value and its cache id, made with SecureRevocationCacheKey (shared by the fleet); a network provider is
 * refused without that key. With shmcb or dbm and no key, a random key is made in post_config: the parent
 * forks the children after post_config, so they all hold it, and nothing outside the server knows it. The
 * cache id binds the vhost's trust context (responder, responder certificates, nonce, max age, CRL fetch,
 * scope), so a verdict obtained under laxer rules is never reused by a stricter vhost. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "ap_mpm.h"
#include "util_mutex.h"
#include "apr_atomic.h"
#include "apr_global_mutex.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_user.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "secure_cache.h"
#include "secure_cacherec.h"
#include "secure_config.h"
#include "secure_log.h"
#include "secure_ossl.h"
#include "secure_status.h"

APLOG_USE_MODULE(secure);

#define SECURE_CACHE_MUTEX        "secure-revocation-cache"
#define SECURE_CACHE_NS           "mod_secure-revocation"
#define SECURE_CACHE_REC_MAX      128   /* read buffer: a record is SECURE_CACHEREC_LEN bytes */
#define SECURE_CACHE_GEN_KEY_LEN  32    /* bytes of the key made at startup when none is configured */
#define SECURE_CACHE_LOG_INTERVAL 10    /* seconds between two "record ignored" lines of one process */

/* Global (server config) state: set by the directive handlers during a config pass, reset in pre_config. */
static const ap_socache_provider_t *cache_provider;
/* What the cache must know of a vhost, from the layer above (secure_cache_set_facts). */
static secure_cache_facts_t cache_facts;
static ap_socache_instance_t *cache_instance;
static const char *cache_spec;          /* what the operator wrote, for log lines */
static const char *cache_provider_name; /* e.g. "memcache"; NULL for none */
static int cache_configured;            /* SecureRevocationCache seen in this pass */
/* Each default once: SecureRevocationCacheTTL and SecureRevocationUnknownTTL, seconds. */
#define CACHE_TTL_DEFAULT         3600
#define CACHE_UNKNOWN_TTL_DEFAULT 30
static long cache_ttl = CACHE_TTL_DEFAULT;
static long cache_unknown_ttl = CACHE_UNKNOWN_TTL_DEFAULT;
static const unsigned char *cache_secret;   /* SecureRevocationCacheKey contents (pconf, wiped at cleanup) */
static apr_size_t cache_secret_len;
static const char *cache_secret_file;
static apr_global_mutex_t *cache_mutex; /* only for providers that are not multi-process safe */

/* Run time, built in post_config and read-only afterwards. */
static int cache_ready;                 /* init succeeded in post_config */
static const unsigned char *mac_key;    /* cache_secret, or random bytes made in post_config */
static apr_size_t mac_key_len;
static apr_hash_t *cache_vhosts;        /* server_rec * -> cache_vhost_t */

/* Per process: the "record ignored" log line's rate limit. */
static volatile apr_uint32_t invalid_last_log;
static volatile apr_uint32_t invalid_held;

typedef struct {
    const server_rec *s;                /* also the hash key */
    int online;                         /* SecureOCSP or SecureCRLFetch on: only those use the cache */
    unsigned char ctx[SECURE_CACHEREC_CTX_LEN];   /* digest of the trust context */
} cache_vhost_t;

long secure_cache_ttl(void)
{
    return cache_ttl;
}

long secure_cache_unknown_ttl(void)
{
    return cache_unknown_ttl;
}

/* Providers whose data stays on this host, where only this server's own user can write it. */
static int provider_is_local(const char *name)
{
    return name == NULL || !strcasecmp(name, "shmcb") || !strcasecmp(name, "dbm");
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
        cache_provider_name = NULL;
        cache_spec = "none";
        return NULL;
    }
    sep = ap_strchr_c(arg, ':');
    name = sep ? apr_pstrmemdup(cmd->pool, arg, (apr_size_t)(sep - arg)) : arg;
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
    cache_provider_name = apr_pstrdup(cmd->pool, name);
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

static apr_status_t wipe_secret(void *data)
{
    OPENSSL_cleanse(data, SECURE_CACHEREC_KEY_MAX);
    return APR_SUCCESS;
}

/* What is wrong with the key file's type, mode or owner, like a private key's; NULL when nothing. */
static const char *key_file_problem(apr_pool_t *p, const apr_finfo_t *fi)
{
    static const struct { apr_fileperms_t bit; const char *what; } open_bits[] = {
        { APR_FPROT_GREAD, "readable by its group" }, { APR_FPROT_GWRITE, "writable by its group" },
        { APR_FPROT_WREAD, "readable by everyone" }, { APR_FPROT_WWRITE, "writable by everyone" },
    };
    apr_uid_t me;
    apr_gid_t my_group;
    size_t i;

    if (fi->filetype != APR_REG)
        return "is not a regular file";
    for (i = 0; i < sizeof(open_bits) / sizeof(open_bits[0]); i++)
        if (fi->protection & open_bits[i].bit)
            return apr_psprintf(p, "is %s; a cache key is a secret like a private key: make it readable "
                                "by its owner only (chmod 600)", open_bits[i].what);
    if (apr_uid_current(&me, &my_group, p) != APR_SUCCESS)
        return "cannot be checked: the current user is unknown";
    if (fi->user != 0 && fi->user != me)
        return apr_psprintf(p, "is owned by uid %ld, neither root nor the user reading the configuration "
                            "(uid %ld)", (long)fi->user, (long)me);
    if (fi->size < SECURE_CACHEREC_KEY_MIN || fi->size > SECURE_CACHEREC_KEY_MAX)
        return apr_psprintf(p, "holds %" APR_OFF_T_FMT " bytes; use %d to %d bytes of secret (e.g. "
                            "'openssl rand -hex 32')", fi->size, SECURE_CACHEREC_KEY_MIN, SECURE_CACHEREC_KEY_MAX);
    return NULL;
}

/* SecureRevocationCacheKey: read at config time (as the user that reads the configuration, root for a
 * system server), so that `httpd -t` reports a bad file. Trailing CR / LF are not part of the key, so
 * a file written by an editor and one written by `printf` give the same key. */
const char *secure_cache_cmd_key(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *path, *problem;
    apr_finfo_t before, after;
    apr_file_t *f = NULL;
    unsigned char *buf;
    apr_size_t len = 0;
    apr_status_t rv;

    (void)dconf;
    if (err != NULL)
        return err;
    if ((path = ap_server_root_relative(cmd->pool, arg)) == NULL)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid path", cmd->cmd->name, arg);
    /* stat first: opening a FIFO or a device could block or read forever */
    rv = apr_stat(&before, path, APR_FINFO_TYPE | APR_FINFO_PROT | APR_FINFO_OWNER | APR_FINFO_SIZE
                                 | APR_FINFO_IDENT, cmd->temp_pool);
    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE)
        return apr_psprintf(cmd->pool, "%s: '%s' cannot be read (%pm); give a file of at least %d secret "
                            "bytes, mode 600", cmd->cmd->name, path, &rv, SECURE_CACHEREC_KEY_MIN);
    if ((problem = key_file_problem(cmd->temp_pool, &before)) != NULL)
        return apr_psprintf(cmd->pool, "%s: '%s' %s", cmd->cmd->name, path, problem);
    buf = apr_pcalloc(cmd->pool, SECURE_CACHEREC_KEY_MAX);
    apr_pool_cleanup_register(cmd->pool, buf, wipe_secret, apr_pool_cleanup_null);
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_OS_DEFAULT, cmd->temp_pool);
    if (rv == APR_SUCCESS)
        rv = apr_file_info_get(&after, APR_FINFO_TYPE | APR_FINFO_PROT | APR_FINFO_OWNER | APR_FINFO_SIZE
                                       | APR_FINFO_IDENT, f);
    if (rv == APR_SUCCESS || rv == APR_INCOMPLETE) {
        /* the file read is the file checked: not swapped in between */
        if (after.inode != before.inode || after.device != before.device)
            problem = "was replaced while it was being read; try again";
        else
            problem = key_file_problem(cmd->temp_pool, &after);
        if (problem != NULL)
            rv = APR_EGENERAL;
        else
            rv = apr_file_read_full(f, buf, (apr_size_t)after.size, &len);
    }
    if (f != NULL)
        apr_file_close(f);
    if (rv != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s: '%s' %s", cmd->cmd->name, path,
                            problem ? problem : apr_psprintf(cmd->temp_pool, "cannot be read (%pm)", &rv));
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len < SECURE_CACHEREC_KEY_MIN)
        return apr_psprintf(cmd->pool, "%s: '%s' holds only %" APR_SIZE_T_FMT " bytes of key (line ends "
                            "not counted); at least %d are needed (e.g. 'openssl rand -hex 32')",
                            cmd->cmd->name, path, len, SECURE_CACHEREC_KEY_MIN);
    cache_secret = buf;
    cache_secret_len = len;
    cache_secret_file = path;
    return NULL;
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

void secure_cache_set_facts(const secure_cache_facts_t *facts)
{
    cache_facts = *facts;
}

int secure_cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    cache_provider = NULL;
    cache_instance = NULL;
    cache_spec = NULL;
    cache_provider_name = NULL;
    cache_configured = 0;
    cache_ttl = CACHE_TTL_DEFAULT;
    cache_unknown_ttl = CACHE_UNKNOWN_TTL_DEFAULT;
    cache_secret = NULL;
    cache_secret_len = 0;
    cache_secret_file = NULL;
    cache_mutex = NULL;
    cache_ready = 0;
    mac_key = NULL;
    mac_key_len = 0;
    cache_vhosts = NULL;
    return ap_mutex_register(pconf, SECURE_CACHE_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
}

/* A network cache without SecureRevocationCacheKey would believe whatever anyone who reaches it wrote:
 * refuse it here, so that `httpd -t` (and apachectl graceful, which runs it first) says so. */
int secure_cache_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (cache_secret != NULL || provider_is_local(cache_provider_name))
        return OK;
    for (v = s; v != NULL; v = v->next) {
        if (!secure_config_engine_on(v) || !cache_facts.online(v))
            continue;
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     SECTAG(11000) "SecureRevocationCache %s: a network cache needs SecureRevocationCacheKey "
                     "(a file of at least %d secret bytes, mode 600, the same on every server sharing the "
                     "cache): without it anyone who can write to the cache could admit revoked certificates "
                     "to %s (SecureOCSP / SecureCRLFetch on). Refusing to start; set the key, or use shmcb",
                     cache_spec, SECURE_CACHEREC_KEY_MIN, v->server_hostname ? v->server_hostname : "a vhost");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static apr_status_t cache_destroy(void *data)
{
    server_rec *s = data;

    if (cache_provider != NULL && cache_instance != NULL)
        cache_provider->destroy(cache_instance, s);
    cache_ready = 0;
    return APR_SUCCESS;
}

/* Each vhost's trust-context digest, once per config pass. */
static int cache_bind_vhosts(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;

    cache_vhosts = apr_hash_make(pconf);
    for (v = s; v != NULL; v = v->next) {
        cache_vhost_t *vh;
        const char *text;
        unsigned int len = 0;

        if (!secure_config_engine_on(v))
            continue;
        vh = apr_pcalloc(pconf, sizeof(*vh));
        vh->s = v;
        vh->online = cache_facts.online(v);
        text = cache_facts.trust_context(v, ptemp);
        if (text == NULL || !EVP_Digest(text, strlen(text), vh->ctx, &len, EVP_sha256(), NULL)
            || len != SECURE_CACHEREC_CTX_LEN) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, v,
                         SECTAG(11001) "%s: revocation verdict cache: cannot compute the digest of this "
                         "vhost's OCSP / CRL-fetch settings (out of memory, or a SecureOCSPResponderCert "
                         "that cannot be hashed); refusing to start", secure_config_vhost_name(v));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, v, "mod_secure: verdict cache trust context of %s: %s",
                     secure_config_vhost_name(v), text);
        apr_hash_set(cache_vhosts, &vh->s, sizeof(vh->s), vh);
    }
    return OK;
}

/* The MAC key: SecureRevocationCacheKey, else random bytes made now (shmcb / dbm only; check_config refused
 * a network cache without a key). */
static int cache_choose_key(apr_pool_t *pconf, server_rec *s)
{
    unsigned char *gen;

    if (cache_secret != NULL) {
        mac_key = cache_secret;
        mac_key_len = cache_secret_len;
        return OK;
    }
    gen = apr_pcalloc(pconf, SECURE_CACHEREC_KEY_MAX);
    apr_pool_cleanup_register(pconf, gen, wipe_secret, apr_pool_cleanup_null);
    if (RAND_bytes(gen, SECURE_CACHE_GEN_KEY_LEN) != 1) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     SECTAG(11002) "revocation verdict cache %s: OpenSSL's random generator gave no key for "
                     "the cache records; refusing to start", cache_spec);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    mac_key = gen;
    mac_key_len = SECURE_CACHE_GEN_KEY_LEN;
    return OK;
}

int secure_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    struct ap_socache_hints hints = { SECURE_CACHEREC_ID_LEN, SECURE_CACHEREC_LEN, 30 };
    server_rec *v;
    int online = 0, rc;
    apr_status_t rv;
    const char *err;

    (void)plog;
    /* the first pass only checks the config; the real one opens the cache */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG || !secure_config_any_engine())
        return OK;
    for (v = s; v != NULL; v = v->next)
        if (secure_config_engine_on(v) && cache_facts.online(v))
            online = 1;
    if (!cache_configured) {
        cache_provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb", AP_SOCACHE_PROVIDER_VERSION);
        cache_provider_name = "shmcb";
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
    if ((rc = cache_bind_vhosts(pconf, ptemp, s)) != OK || (rc = cache_choose_key(pconf, s)) != OK)
        return rc;
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
                 SECTAG(10604) "revocation verdict cache: %s, verdicts kept at most %ld s, unknown %ld s; "
                 "records authenticated with %s%s", cache_spec, cache_ttl, cache_unknown_ttl,
                 cache_secret_file ? "SecureRevocationCacheKey " : "a key generated at startup (this "
                 "server's processes only)", cache_secret_file ? cache_secret_file : "");
    return OK;
}

void secure_cache_child_init(apr_pool_t *pchild, server_rec *s)
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


/* ---- records ---------------------------------------------------------------------------------- */

static const cache_vhost_t *cache_vhost(const server_rec *s)
{
    return cache_vhosts ? apr_hash_get(cache_vhosts, &s, sizeof(s)) : NULL;
}

/* The record's id for cert under the vhost's trust context (secure_cacherec_id): the same certificate and
 * settings give the same id on every server of a fleet; two CAs with one name but different keys, or two
 * vhosts with different OCSP rules, never share answers. */
static int cache_id_serial(const cache_vhost_t *vh, const ASN1_INTEGER *cert_serial, X509 *issuer,
                           char *out /* 65 bytes */)
{
    unsigned char *name = NULL, *serial = NULL;
    const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(issuer);
    int namelen = i2d_X509_NAME(X509_get_subject_name(issuer), &name);
    int seriallen = i2d_ASN1_INTEGER(cert_serial, &serial);
    int ok = key != NULL && key->length > 0 && namelen > 0 && seriallen > 0
             && secure_cacherec_id(vh->ctx, name, (size_t)namelen, key->data, (size_t)key->length, serial,
                                   (size_t)seriallen, out) == 0;

    OPENSSL_free(name);
    OPENSSL_free(serial);
    return ok;
}

static int cache_id(const cache_vhost_t *vh, X509 *cert, X509 *issuer, char *out /* 65 bytes */)
{
    return cache_id_serial(vh, X509_get0_serialNumber(cert), issuer, out);
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

/* True when this process may write an "ignored record" line now; *held: lines held back since the last. */
static int invalid_log_pass(apr_uint32_t *held)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&invalid_last_log);

    if ((last != 0 && now - last < SECURE_CACHE_LOG_INTERVAL)
        || apr_atomic_cas32(&invalid_last_log, now, last) != last) {
        apr_atomic_inc32(&invalid_held);
        return 0;
    }
    *held = apr_atomic_xchg32(&invalid_held, 0);
    return 1;
}

static void cache_log(server_rec *s, conn_rec *c, apr_pool_t *p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cache_log(server_rec *s, conn_rec *c, apr_pool_t *p, const char *fmt, ...)
{
    va_list ap;
    const char *msg;

    va_start(ap, fmt);
    msg = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    if (c != NULL)
        ap_log_cerror(APLOG_MARK, APLOG_WARNING, 0, c, "%s", msg);
    else
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "%s", msg);
}

/* A record that someone other than a server holding our key wrote: never trusted, always counted, logged
 * at most once per SECURE_CACHE_LOG_INTERVAL per process. */
static void cache_invalid(server_rec *s, conn_rec *c, X509 *cert, const char *id, secure_cacherec_rc rc,
                          apr_pool_t *p)
{
    apr_uint32_t held = 0;
    const char *serial;

    secure_status_count(SECURE_CTR_CACHE_INVALID);
    if (!invalid_log_pass(&held))
        return;
    serial = secure_ossl_serial(cert, p);
    cache_log(s, c, p, SECTAG(11003) "%s: client %s: revocation verdict cache %s: ignored the record for the "
              "certificate with serial %s from %s (cache id %s): %s; asking the revocation sources instead "
              "(%u similar lines held back; at most one every %d s)", secure_config_vhost_name(s),
              c ? c->client_ip : "-", cache_spec, serial ? serial : "?", secure_ossl_dn(X509_get_issuer_name(cert), p),
              id, secure_cacherec_strerror(rc), held, SECURE_CACHE_LOG_INTERVAL);
}

static secure_rev_status_t status_of(char letter)
{
    return letter == 'G' ? SECURE_REV_GOOD : letter == 'R' ? SECURE_REV_REVOKED : SECURE_REV_UNKNOWN;
}

/* A lookup. stale_secs 0: a fresh record (counted as hit or miss). stale_secs > 0: only a GOOD or REVOKED
 * record whose own expiry passed less than stale_secs ago (not counted; the caller counts its use).
 * quiet: a second look by the same check (single-flight): nothing counted, nothing logged. */
static int cache_lookup(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, long stale_secs, int quiet,
                        secure_verdict_t *v, apr_pool_t *p)
{
    const cache_vhost_t *vh = cache_vhost(s);
    char id[SECURE_CACHEREC_ID_LEN + 1];
    unsigned char rec[SECURE_CACHE_REC_MAX];
    unsigned int len = sizeof(rec);
    secure_cacherec_t r;
    secure_cacherec_rc rc;
    apr_time_t now;
    int hit = 0, invalid = 0;
    apr_status_t rv;

    /* only online sources (OCSP, CRL fetch) fill the cache: a vhost that uses neither must not take
     * another vhost's OCSP answer over its own CRLs */
    if (!cache_ready || vh == NULL || !vh->online || cert == NULL || issuer == NULL)
        return 0;
    if (!cache_id(vh, cert, issuer, id))
        goto cleanup;   /* a miss: the sources are asked */
    if ((rv = cache_lock()) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     SECTAG(10610) "revocation verdict cache %s: cannot take its mutex; lookup skipped",
                     cache_spec);
        goto cleanup;
    }
    rv = cache_provider->retrieve(cache_instance, s, (unsigned char *)id, SECURE_CACHEREC_ID_LEN, rec, &len, p);
    cache_unlock();
    if (rv == APR_ENOMEM || rv == APR_ENOSPC) {   /* longer than the buffer: not one of ours */
        if (!quiet)
            cache_invalid(s, c, cert, id, SECURE_CACHEREC_E_LENGTH, p);
        invalid = 1;
        goto cleanup;
    }
    if (rv != APR_SUCCESS) {
        if (rv != APR_NOTFOUND)
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                         SECTAG(10606) "revocation verdict cache %s: lookup failed for %s; asking the "
                         "sources instead", cache_spec, secure_config_vhost_name(s));
        goto cleanup;
    }
    now = apr_time_now();
    rc = secure_cacherec_decode(mac_key, mac_key_len, id, SECURE_CACHEREC_ID_LEN, rec, len > sizeof(rec) ? 0 : len,
                                apr_time_sec(now), cache_ttl, cache_unknown_ttl, &r);
    if (stale_secs > 0) {
        /* expired (so below every upper bound): decoded again as of stale_secs ago, where it is in time */
        if (rc != SECURE_CACHEREC_E_EXPIRED
            || secure_cacherec_decode(mac_key, mac_key_len, id, SECURE_CACHEREC_ID_LEN, rec, len, apr_time_sec(now)
                                      - stale_secs, cache_ttl, cache_unknown_ttl, &r) != SECURE_CACHEREC_OK
            || r.status == 'U')
            return 0;
        v->status = status_of(r.status);
        v->source = "cache-stale";
        v->reason = r.reason;
        v->revoked_at = apr_time_from_sec(r.revoked_at);
        v->expires = 0;
        v->detail = apr_psprintf(p, "cached answer from %s that expired %" APR_TIME_T_FMT " s ago",
                                 secure_cacherec_source_names[r.source], apr_time_sec(now) - r.expires);
        return 1;
    }
    if (rc == SECURE_CACHEREC_E_EXPIRED)
        goto cleanup;
    if (rc != SECURE_CACHEREC_OK) {
        if (!quiet)
            cache_invalid(s, c, cert, id, rc, p);
        invalid = 1;
        goto cleanup;
    }
    /* decode bounded both times by now + TTL + skew: apr_time_from_sec cannot overflow */
    v->status = status_of(r.status);
    v->source = "cache";
    v->reason = r.reason;
    v->revoked_at = apr_time_from_sec(r.revoked_at);
    v->expires = apr_time_from_sec(r.expires);
    v->detail = apr_psprintf(p, "cached answer from %s, valid %" APR_TIME_T_FMT " s more",
                             secure_cacherec_source_names[r.source], apr_time_sec(v->expires - now));
    hit = 1;
cleanup:
    if (stale_secs == 0 && !quiet) {
        secure_status_count(hit ? SECURE_CTR_CACHE_HITS : SECURE_CTR_CACHE_MISSES);
        secure_status_cache(cache_provider_name, hit ? 0 : invalid ? 2 : 1);
    }
    return hit;
}

int secure_cache_get(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, secure_verdict_t *v, apr_pool_t *p)
{
    return cache_lookup(s, c, cert, issuer, 0, 0, v, p);
}

int secure_cache_peek(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, secure_verdict_t *v, apr_pool_t *p)
{
    return cache_lookup(s, c, cert, issuer, 0, 1, v, p);
}

int secure_cache_get_stale(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, long stale_secs,
                           secure_verdict_t *v, apr_pool_t *p)
{
    return stale_secs > 0 && cache_lookup(s, c, cert, issuer, stale_secs, 1, v, p);
}

void secure_cache_put(server_rec *s, X509 *cert, X509 *issuer, const secure_verdict_t *v, apr_pool_t *p)
{
    secure_cache_put_keep(s, cert, issuer, v, 0, p);
}

void secure_cache_put_keep(server_rec *s, X509 *cert, X509 *issuer, const secure_verdict_t *v, long keep_secs,
                           apr_pool_t *p)
{
    if (cert != NULL)
        secure_cache_put_serial(s, X509_get0_serialNumber(cert), issuer, v, keep_secs, p);
}

void secure_cache_put_serial(server_rec *s, const ASN1_INTEGER *serial, X509 *issuer, const secure_verdict_t *v,
                             long keep_secs, apr_pool_t *p)
{
    const cache_vhost_t *vh = cache_vhost(s);
    char id[SECURE_CACHEREC_ID_LEN + 1];
    unsigned char rec[SECURE_CACHEREC_LEN];
    secure_cacherec_t r;
    apr_time_t now = apr_time_now(), expires;
    apr_status_t rv;

    if (!cache_ready || vh == NULL || !vh->online || v == NULL || serial == NULL || issuer == NULL
        || v->status == SECURE_REV_NONE || v->expires <= now
        || (v->source != NULL && (!strcmp(v->source, "cache") || !strcmp(v->source, "cache-stale"))))
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
    if (!cache_id_serial(vh, serial, issuer, id))
        return;
    r.status = v->status == SECURE_REV_GOOD ? 'G' : v->status == SECURE_REV_REVOKED ? 'R' : 'U';
    r.source = secure_cacherec_source_index(v->source);
    r.reason = v->reason < -1 || v->reason > SECURE_CACHEREC_REASON_MAX ? -1 : v->reason;
    r.revoked_at = v->revoked_at > 0 ? apr_time_sec(v->revoked_at) : 0;
    r.expires = apr_time_sec(expires);
    if (r.source < 0)
        r.source = secure_cacherec_source_index("ocsp");
    if (secure_cacherec_encode(mac_key, mac_key_len, id, SECURE_CACHEREC_ID_LEN, &r, rec) != SECURE_CACHEREC_OK) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SECTAG(11004) "%s: revocation verdict cache %s: could not encode a verdict (%c, expires "
                     "%" APR_INT64_T_FMT "); not stored", secure_config_vhost_name(s), cache_spec, r.status,
                     (apr_int64_t)r.expires);
        return;
    }
    if ((rv = cache_lock()) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     SECTAG(10609) "revocation verdict cache %s: cannot take its mutex; verdict not stored",
                     cache_spec);
        return;
    }
    /* the record says when the verdict expires; the provider keeps a GOOD / REVOKED one keep_secs longer,
     * for SecureRevocationStaleIfError */
    rv = cache_provider->store(cache_instance, s, (unsigned char *)id, SECURE_CACHEREC_ID_LEN,
                               r.status != 'U' && keep_secs > 0 ? expires + apr_time_from_sec(keep_secs) : expires,
                               rec, sizeof(rec), p);
    cache_unlock();
    ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, s, "mod_secure: verdict cache store %s -> %c until %" APR_INT64_T_FMT,
                 id, r.status, (apr_int64_t)r.expires);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     SECTAG(10608) "revocation verdict cache %s: could not store a verdict for %s; the "
                     "next handshake with this certificate asks the sources again",
                     cache_spec, secure_config_vhost_name(s));
}
