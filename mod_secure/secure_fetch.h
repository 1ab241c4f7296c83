/* secure_fetch — the online fetch shared by OCSP (POST) and SecureCRLFetch (GET): OpenSSL's HTTP client
 * over a connection of our own (no proxy from httpd's environment), http:// URLs only, no user
 * information, no redirects (a 3xx answer is a failure), one timeout over connect + send + receive, a
 * size cap; and the circuit breaker (secure_breaker.h) kept in shared memory for all of a server's
 * processes. Callers must hand it only URLs taken from certificates that verified (secure_online_check
 * in secure_ocsp.c enforces that) or from the configuration. */
#ifndef SECURE_FETCH_H
#define SECURE_FETCH_H

#include "httpd.h"
#include <openssl/bio.h>
#include <openssl/x509v3.h>

#include "secure_breaker.h"
#include "secure_ossl.h"

/* Slots of the breaker table (URLs with recent failures, shared by the server's processes). */
#define SECURE_FETCH_BREAKER_SLOTS 128

/* How one fetch ended (callers map it to their counters). */
typedef enum {
    SECURE_FETCH_OK = 0,
    SECURE_FETCH_REFUSED,     /* not tried: the URL is not allowed (scheme, user information, length) */
    SECURE_FETCH_CONNECT,     /* connection refused or unreachable */
    SECURE_FETCH_TIMEOUT,     /* connecting or the exchange exceeded the timeout */
    SECURE_FETCH_REDIRECT,    /* the server answered with a redirection, which is not followed */
    SECURE_FETCH_HTTP,        /* any other HTTP failure (error status, connection closed early, ...) */
    SECURE_FETCH_BAD_BODY,    /* the body is not DER of the expected kind, or too large */
    SECURE_FETCH_INTERNAL     /* out of memory, cannot encode */
} secure_fetch_result_t;

/* One exchange. what names the peer in messages ("responder", "CRL distribution point"). */
typedef struct {
    const char *what;
    const char *url;
    const char *req_type;     /* Content-Type of a POST body; NULL: GET */
    BIO *req;                 /* the POST body (NULL for GET); not consumed */
    const char *resp_type;    /* Content-Type the answer must carry; NULL: any */
    const char *resp_name;    /* what the body must be, for messages ("a DER OCSPResponse") */
    size_t max_bytes;         /* largest body accepted */
    int timeout;              /* seconds, for the whole exchange */
} secure_fetch_req_t;

/* The limits a vhost sets for its online sources (SecureOCSPTimeout, SecureOCSPFailures, SecureOCSPRetry). */
typedef struct {
    int timeout;
    long failures;
    long retry;
    long max_inflight;        /* SecureOCSPMaxInflight */
} secure_fetch_limits_t;

/* Queries in flight per URL in this process: 1 and one more counted when fewer than max are, else 0
 * (the caller opens no socket). Every 1 must be matched by secure_fetch_inflight_leave(url). When the
 * per-process table cannot track url (SECURE_FETCH_INFLIGHT_URLS distinct URLs in flight), 1. */
#define SECURE_FETCH_INFLIGHT_URLS 64
int secure_fetch_inflight_enter(const char *url, long max);
void secure_fetch_inflight_leave(const char *url);

/* NULL when url may be fetched; else why not, in operator words (static string): not http://, user
 * information (user@host), blanks or control characters, SECURE_BREAKER_URL_MAX bytes or more. */
const char *secure_fetch_url_problem(const char *url);

/* The URI of a certificate's GeneralName as a C string (memory from p); NULL when gn is not a URI. A
 * URI holding a NUL byte comes back as "", which secure_fetch_url_problem refuses, so that a truncated
 * URL is never fetched. */
const char *secure_fetch_uri(const GENERAL_NAME *gn, apr_pool_t *p);

/* Runs one exchange: the body as a memory BIO (the caller frees it) with *res SECURE_FETCH_OK, or NULL
 * with *res and *why (operator words naming the URL; memory from p). Never follows a redirection. */
BIO *secure_fetch(const secure_fetch_req_t *rq, secure_fetch_result_t *res, const char **why, apr_pool_t *p);


/* Circuit breaker. 1 when url may be tried now; 0 when not, with *why (memory from p): its circuit is
 * open (then *until = when it closes), another caller is the one half-open probe (for probe_secs after
 * the retry time passed, in any process of the server), the breaker cannot track one more URL, or is
 * unavailable. */
int secure_fetch_breaker_allow(const char *url, long probe_secs, apr_time_t *until, const char **why,
                               apr_pool_t *p);
/* Records one outcome for url under lim; 1 when this failure opened the circuit. A failure that cannot
 * be recorded is logged (on s) and counted. */
int secure_fetch_breaker_record(server_rec *s, const char *url, int ok, const secure_fetch_limits_t *lim);

/* Lifecycle, called from the module's hooks: register the breaker's mutex type (pre_config); create the
 * breaker's shared table and mutex when needed is true (post_config; an error fails startup); attach
 * this child process to the mutex (child_init). */
apr_status_t secure_fetch_pre_config(apr_pool_t *pconf);
apr_status_t secure_fetch_post_config(apr_pool_t *pconf, server_rec *s, int needed);
void secure_fetch_child_init(apr_pool_t *pchild, server_rec *s);

#endif /* SECURE_FETCH_H */
