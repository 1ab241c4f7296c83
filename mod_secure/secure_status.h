/* secure_status — counters shared by every httpd process (anonymous shared memory created in post_config,
 * inherited by the children) and the `secure-status` handler (HTML, or JSON with ?json). */
#ifndef SECURE_STATUS_H
#define SECURE_STATUS_H

#include "httpd.h"

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
    X(SECURE_CTR_REV_REFRESH_AHEAD,  "revocation_refresh_ahead")

#define SECURE_CTR_ENUM(e, name) e,
typedef enum { SECURE_COUNTERS(SECURE_CTR_ENUM) SECURE_CTR_MAX } secure_counter_t;
#undef SECURE_CTR_ENUM

/* Creates the shared counters (post_config, every config pass; memory from pconf). */
apr_status_t secure_status_init(apr_pool_t *pconf, server_rec *s);
/* Adds one to a counter; a no-op before secure_status_init. Safe from any process or thread. */
void secure_status_count(secure_counter_t ctr);
/* The `secure-status` handler. */
int secure_status_handler(request_rec *r);

#endif /* SECURE_STATUS_H */
