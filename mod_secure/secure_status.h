/* secure_status — counters shared by every httpd process (anonymous shared memory created in post_config,
 * inherited by the children) and the `secure-status` handler (HTML, or JSON with ?json). */
#ifndef SECURE_STATUS_H
#define SECURE_STATUS_H

#include "httpd.h"
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "secure_profiles.h"

/* One line per counter: enum name, the name shown on the status page. Adding a counter is adding a line. */
#define SECURE_COUNTERS(X) \
    X(SECURE_CTR_CONNECTIONS,        "connections") \
    X(SECURE_CTR_HELLO_OVERSIZE,     "hello_oversize") \
    X(SECURE_CTR_HELLO_MALFORMED,    "hello_malformed") \
    X(SECURE_CTR_HELLO_MISSING,      "hello_missing") \
    X(SECURE_CTR_POLICY_PASS,        "policy_pass") \
    X(SECURE_CTR_POLICY_VIOLATION,   "policy_violation") \
    X(SECURE_CTR_POLICY_V_PROTOCOL,  "policy_violation_protocol") \
    X(SECURE_CTR_POLICY_V_CIPHER,    "policy_violation_cipher") \
    X(SECURE_CTR_POLICY_V_GROUP,     "policy_violation_group") \
    X(SECURE_CTR_POLICY_V_CLIENTKEY, "policy_violation_client_key") \
    X(SECURE_CTR_POLICY_V_CLIENTSIG, "policy_violation_client_sig") \
    X(SECURE_CTR_POLICY_REJECTED,    "policy_rejected") \
    X(SECURE_CTR_POLICY_MISDIRECTED, "policy_misdirected") \
    X(SECURE_CTR_REV_GOOD,           "revocation_good") \
    X(SECURE_CTR_REV_REVOKED,        "revocation_revoked") \
    X(SECURE_CTR_REV_UNKNOWN,        "revocation_unknown") \
    X(SECURE_CTR_REV_RECHECK,        "revocation_recheck") \
    X(SECURE_CTR_REV_RECHECK_DENIED, "revocation_recheck_denied") \
    X(SECURE_CTR_CRL_LOADED,         "crl_loaded") \
    X(SECURE_CTR_CRL_RELOAD_FAILED,  "crl_reload_failed") \
    X(SECURE_CTR_CRL_COPY_USED,      "crl_copy_used") \
    X(SECURE_CTR_DENYLIST_RELOADS,   "denylist_reloads") \
    X(SECURE_CTR_DENYLIST_BAD_LINES, "denylist_bad_lines") \
    X(SECURE_CTR_DENYLIST_RELOAD_FAILED, "denylist_reload_failed") \
    X(SECURE_CTR_DENYLIST_LOOKUP_ERRORS, "denylist_lookup_errors") \
    X(SECURE_CTR_OCSP_QUERIES,       "ocsp_queries") \
    X(SECURE_CTR_OCSP_ERRORS,        "ocsp_errors") \
    X(SECURE_CTR_OCSP_BREAKER_OPEN,  "ocsp_breaker_open") \
    X(SECURE_CTR_OCSP_SKIPPED,       "ocsp_skipped") \
    X(SECURE_CTR_CACHE_HITS,         "cache_hits") \
    X(SECURE_CTR_CACHE_MISSES,       "cache_misses") \
    X(SECURE_CTR_CRL_FETCHES,        "crl_fetches") \
    X(SECURE_CTR_CRL_FETCH_ERRORS,   "crl_fetch_errors") \
    X(SECURE_CTR_OCSP_TIMEOUTS,      "ocsp_timeouts") \
    X(SECURE_CTR_OCSP_HTTP_ERRORS,   "ocsp_http_errors") \
    X(SECURE_CTR_OCSP_BAD_RESPONSE,  "ocsp_bad_response") \
    X(SECURE_CTR_OCSP_BAD_SIGNATURE, "ocsp_bad_signature") \
    X(SECURE_CTR_OCSP_BAD_NONCE,     "ocsp_bad_nonce") \
    X(SECURE_CTR_OCSP_STALE,         "ocsp_stale") \
    X(SECURE_CTR_OCSP_FUTURE,        "ocsp_future") \
    X(SECURE_CTR_CACHE_INVALID,      "cache_invalid") \
    X(SECURE_CTR_REV_UNVERIFIED,     "revocation_unverified") \
    X(SECURE_CTR_ONLINE_REFUSED,     "online_fetch_refused") \
    X(SECURE_CTR_REV_RECHECK_VHOST,  "revocation_recheck_other_vhost") \
    X(SECURE_CTR_REV_RECHECK_UNVERIFIED, "revocation_recheck_unverified_chain") \
    X(SECURE_CTR_REV_HASH_FAILED,    "revocation_hash_failed") \
    X(SECURE_CTR_REV_CHAIN_NOT_CARRIED, "revocation_chain_not_carried") \
    X(SECURE_CTR_REV_CARRIED_BAD,    "revocation_carried_chain_bad") \
    X(SECURE_CTR_VERIFY_REFUSED_NO_STATE, "verify_refused_no_state") \
    X(SECURE_CTR_FLIGHT_WAITS,       "online_flight_waits") \
    X(SECURE_CTR_FLIGHT_TIMEOUTS,    "online_flight_timeouts") \
    X(SECURE_CTR_FLIGHT_FULL,        "online_flight_full") \
    X(SECURE_CTR_OCSP_INFLIGHT_CAPPED, "ocsp_inflight_capped") \
    X(SECURE_CTR_OCSP_PROBE_HELD,    "ocsp_halfopen_held") \
    X(SECURE_CTR_REV_LIVE_RECHECK,   "revocation_live_recheck") \
    X(SECURE_CTR_REV_STALE_USED,     "revocation_stale_used") \
    X(SECURE_CTR_REV_FIRST_SEEN_DEFERRED, "revocation_first_seen_deferred") \
    X(SECURE_CTR_REV_FIRST_SEEN_DROPPED, "revocation_first_seen_dropped") \
    X(SECURE_CTR_REV_REFRESH_AHEAD,  "revocation_refresh_ahead") \
    X(SECURE_CTR_REV_REFRESH_SWEEP,  "revocation_refresh_sweep") \
    X(SECURE_CTR_METRICS_LOCK_SKIPPED, "metrics_lock_skipped") \
    X(SECURE_CTR_METRICS_CRL_ROWS_FULL, "metrics_crl_rows_full") \
    X(SECURE_CTR_READINESS_UNPARSED, "readiness_hello_unparsed") \
    X(SECURE_CTR_READINESS_TOPK_SKIPPED, "readiness_topk_skipped")

#define SECURE_CTR_ENUM(e, name) e,
typedef enum { SECURE_COUNTERS(SECURE_CTR_ENUM) SECURE_CTR_MAX } secure_counter_t;
#undef SECURE_CTR_ENUM

/* Creates the shared counters and metrics (post_config, every config pass; memory from pconf). Numbers the
 * resolved vhosts (secure_vhost_t.metrics_slot) and gives each a unique label. */
apr_status_t secure_status_init(apr_pool_t *pconf, server_rec *s);
/* Adds one to a counter; a no-op before secure_status_init. Safe from any process or thread. */
/* The server-wide revocation epoch, in the counters' shared memory: bumped when an online source answers
 * REVOKED afresh (a refresh about a certificate whose connections may still be open), read by every
 * process's request-time check with its own reload generation (secure_revoke). One atomic read. */
/* child_init: this process's pid for the shared lock words (see secure_status.c). */
void secure_status_child_init(void);
apr_uint32_t secure_status_rev_epoch(void);
void secure_status_rev_epoch_bump(void);
void secure_status_count(secure_counter_t ctr);
/* The `secure-status` handler: HTML, ?json, or the Prometheus text format 0.0.4 (?prometheus, or an
 * Accept header asking for text/plain;version=0.0.4 or application/openmetrics-text). */
int secure_status_handler(request_rec *r);

/* ---- labelled metrics (doc/metrics.md). Every function is an atomic add or store into the shared memory:
 * no lock and no system call, safe from any thread of any process; s == NULL or an unknown vhost is
 * ignored. ---- */

/* The vhost (after SNI) sent its ServerHello: mod_secure_connections_total. */
void secure_status_connection(const server_rec *s);
/* Policy readiness of one ClientHello (hello: the handshake message, len bytes) at vhost s, after SNI: could it
 * complete under each built-in profile and under the vhost's own policy? Counted per vhost and profile; the
 * JA4 of a hello that a profile refuses goes into that profile's bounded top-fingerprint table (a try-lock:
 * skipped and counted when another thread holds it). CPU only: no system call, no blocking lock. */
void secure_status_readiness(const server_rec *s, const unsigned char *hello, size_t len);
/* The rules vhost s enforces or reports on (its SecurePolicy), for readiness (init_server; kept by pointer). */
void secure_status_policy_rules(const server_rec *s, const secure_rules_t *rules);
/* The handshake finished (client Finished read): version, group and cipher of ssl. */
void secure_status_handshake(const server_rec *s, const SSL *ssl);

typedef enum {
    SECURE_POLICY_PASS = 0, SECURE_POLICY_VIOLATION, SECURE_POLICY_REJECTED, SECURE_POLICY_MISDIRECTED,
    SECURE_POLICY_RESULTS
} secure_policy_result_t;
/* One policy verdict; rule_mask is the SECURE_RULE_* mask (the lowest rule broken is the label). */
void secure_status_policy(const server_rec *s, secure_policy_result_t result, int rule_mask);
/* One revocation verdict of a client certificate: status good / revoked / unknown (secure_rev_status_t),
 * source the verdict's source ("crl", "ocsp", ...; others count as "other"). */
void secure_status_revocation(const server_rec *s, int status, const char *source);
/* One lookup in the verdict cache of provider (its ap_socache name): result 0 hit, 1 miss, 2 invalid. */
void secure_status_cache(const char *provider, int result);

typedef enum {
    SECURE_OCSP_R_GOOD = 0, SECURE_OCSP_R_REVOKED, SECURE_OCSP_R_UNKNOWN, SECURE_OCSP_R_ERROR,
    SECURE_OCSP_R_SKIPPED, SECURE_OCSP_RESULTS
} secure_ocsp_result_t;
/* One OCSP query to url (took: its duration; only queries that were sent go into the histogram). */
void secure_status_ocsp(const char *url, secure_ocsp_result_t result, apr_interval_time_t took);
/* The breaker of url is open until `until` (0: closed). */
void secure_status_ocsp_breaker(const char *url, apr_time_t until);

/* The deny list of vhost s now in force in this process: its path and number of entries. */
void secure_status_denylist(const server_rec *s, const char *path, apr_size_t entries);

/* CRL gauges of one vhost, written by the process that published a new generation (a reload in any
 * process; all processes reload the same files): begin, one put per CRL in force, end. Rows of the vhost
 * that no put names are no longer shown. Not for the handshake path (a short spin lock between writers). */
typedef struct secure_status_crl_batch secure_status_crl_batch_t;
secure_status_crl_batch_t *secure_status_crl_begin(const server_rec *s, apr_pool_t *p);
/* next_update: seconds since the epoch, or -1 when the CRL has none; changed: the file was (re)loaded by
 * this publication (its last-reload time becomes now). */
void secure_status_crl_put(secure_status_crl_batch_t *b, const char *file, const X509_NAME *issuer,
                           apr_int64_t next_update, apr_uint64_t entries, int changed);
void secure_status_crl_end(secure_status_crl_batch_t *b);
/* Freshness of the CRLs of vhost s in force (the reload path, never per handshake): a tagged warning when
 * a CRL's nextUpdate is less than warn seconds away (0: never), an error once nextUpdate + max_stale has
 * passed (its issuer's certificates are now UNKNOWN; unknown_mode: SecureRevocationUnknown's value). Each
 * at most once an hour per CRL and vhost for the whole server. */
void secure_status_crl_freshness(const server_rec *s, long warn, long max_stale, const char *unknown_mode);
/* A CRL file of vhost s failed to load (mod_secure_crl_reload_failures_total). */
void secure_status_crl_failed(const server_rec *s, const char *file);

#endif /* SECURE_STATUS_H */
