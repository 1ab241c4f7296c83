/* secure_cache — the revocation verdict cache over ap_socache (shmcb on one host, memcache / redis for a
 * fleet): records authenticated with HMAC-SHA256 (secure_cacherec), keyed by the issuer, the serial and the
 * vhost's trust context; SecureRevocationCache* directives (global). */
#ifndef SECURE_CACHE_H
#define SECURE_CACHE_H

#include "httpd.h"
#include "http_config.h"
#include <openssl/x509.h>

#include "secure_types.h"

const char *secure_cache_cmd_cache(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_cache_cmd_ttl(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_cache_cmd_unknown_ttl(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_cache_cmd_key(cmd_parms *cmd, void *dconf, const char *arg);

/* Directive entries spliced into secure_cmds[] (each ends with a comma). */
#define SECURE_CACHE_CMDS \
    AP_INIT_TAKE1("SecureRevocationCache", secure_cache_cmd_cache, NULL, RSRC_CONF, \
                  "provider[:args] (global): ap_socache provider for revocation verdicts, e.g. shmcb, " \
                  "memcache:host:port, redis:host:port, dbm:file, or none (default shmcb)"), \
    AP_INIT_TAKE1("SecureRevocationCacheTTL", secure_cache_cmd_ttl, NULL, RSRC_CONF, \
                  "seconds (1-604800, default 3600, global): longest time a verdict is reused"), \
    AP_INIT_TAKE1("SecureRevocationUnknownTTL", secure_cache_cmd_unknown_ttl, NULL, RSRC_CONF, \
                  "seconds (0-3600, default 30, global): how long an UNKNOWN answer is reused (0 = never)"), \
    AP_INIT_TAKE1("SecureRevocationCacheKey", secure_cache_cmd_key, NULL, RSRC_CONF, \
                  "file (global): secret of at least 32 bytes, readable by its owner only, that " \
                  "authenticates cache records; required with memcache / redis"),

/* What the cache needs to know of a vhost, given by the module (mod_secure.c) before check_config, so that
 * the cache stays below the revocation sources it serves: whether the vhost asks an online source, and
 * the canonical text of the settings that decide which online answers it accepts (its trust context;
 * memory from p, NULL on failure). */
typedef struct {
    int (*online)(const server_rec *s);
    const char *(*trust_context)(const server_rec *s, apr_pool_t *p);
} secure_cache_facts_t;
void secure_cache_set_facts(const secure_cache_facts_t *facts);
/* Lifecycle steps, called by mod_secure.c's phase functions (hook signatures, same return values):
 * pre_config resets the settings; check_config refuses a network cache without SecureRevocationCacheKey
 * (httpd -t too); post_config binds each vhost's trust context and opens the provider; child_init
 * attaches a process to the provider's mutex. */
int secure_cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int secure_cache_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
int secure_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
void secure_cache_child_init(apr_pool_t *pchild, server_rec *s);
/* Looks up cert (issued by issuer) for vhost s (c: the client's connection, may be NULL; for log lines).
 * 1 and *v filled (source "cache") on an authentic, fresh hit, else 0; a record that is not authentic is
 * ignored, counted (cache_invalid) and logged. */
int secure_cache_get(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, secure_verdict_t *v, apr_pool_t *p);
/* secure_cache_get without counting or logging anything: a second look by a check that already looked
 * (single-flight), so that one check counts one hit or miss and one invalid record. */
int secure_cache_peek(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, secure_verdict_t *v, apr_pool_t *p);
/* Stores *v until v->expires (UNKNOWN answers for SecureRevocationUnknownTTL at most). */
void secure_cache_put(server_rec *s, X509 *cert, X509 *issuer, const secure_verdict_t *v, apr_pool_t *p);
/* The same, but the cache keeps a GOOD / REVOKED record keep_secs past its expiry, for
 * secure_cache_get_stale (SecureRevocationStaleIfError). */
void secure_cache_put_keep(server_rec *s, X509 *cert, X509 *issuer, const secure_verdict_t *v, long keep_secs,
                           apr_pool_t *p);
/* secure_cache_put_keep for the certificate of issuer with serial number serial (the certificate itself
 * not at hand: a successor CRL's new revocations). */
void secure_cache_put_serial(server_rec *s, const ASN1_INTEGER *serial, X509 *issuer, const secure_verdict_t *v,
                             long keep_secs, apr_pool_t *p);
/* 1 and *v filled (source "cache-stale", expires 0) when the cache holds an authentic GOOD or REVOKED
 * record for cert whose expiry passed less than stale_secs ago; else 0. Not counted as hit or miss. */
int secure_cache_get_stale(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, long stale_secs,
                           secure_verdict_t *v, apr_pool_t *p);
/* SecureRevocationCacheTTL / SecureRevocationUnknownTTL in seconds. */
long secure_cache_ttl(void);
long secure_cache_unknown_ttl(void);

#endif /* SECURE_CACHE_H */
