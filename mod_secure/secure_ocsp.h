/* secure_ocsp — the online revocation sources' entry point (secure_online_check: SecureCRLFetch, then
 * OCSP, only for certificates that verified), OCSP for client certificates through OpenSSL's OCSP API
 * (request, nonce, response verification; the exchange itself is secure_fetch), and the SecureOCSP* /
 * SecureCRLFetch directives. */
#ifndef SECURE_OCSP_H
#define SECURE_OCSP_H

#include "httpd.h"
#include "http_config.h"
#include <openssl/x509.h>

#include "secure_types.h"

struct secure_ocsp_conf;

const char *secure_ocsp_cmd_enable(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_ocsp_cmd_responder(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_ocsp_cmd_timeout(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_ocsp_cmd_nonce(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_ocsp_cmd_max_age(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_ocsp_cmd_responder_cert(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_ocsp_cmd_failures(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_ocsp_cmd_retry(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_ocsp_cmd_crl_fetch(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_ocsp_cmd_max_inflight(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_ocsp_cmd_stale_if_error(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_ocsp_cmd_first_seen(cmd_parms *cmd, void *dconf, const char *arg);
const char *secure_ocsp_cmd_refresh_ahead(cmd_parms *cmd, void *dconf, const char *arg);

/* Directive entries spliced into secure_cmds[] (each ends with a comma). */
#define SECURE_OCSP_CMDS \
    AP_INIT_TAKE1("SecureOCSP", secure_ocsp_cmd_enable, NULL, RSRC_CONF, \
                  "on|off: ask the OCSP responder about client certificates (default off)"), \
    AP_INIT_TAKE1("SecureOCSPResponder", secure_ocsp_cmd_responder, NULL, RSRC_CONF, \
                  "http://host[:port]/path: OCSP responder to use instead of the certificate's AIA URL"), \
    AP_INIT_TAKE1("SecureOCSPTimeout", secure_ocsp_cmd_timeout, NULL, RSRC_CONF, \
                  "seconds (1-60, default 3): bound on one whole responder exchange (connect, send, receive)"), \
    AP_INIT_TAKE1("SecureOCSPNonce", secure_ocsp_cmd_nonce, NULL, RSRC_CONF, \
                  "on|off: send a nonce and require the response to echo it (default on)"), \
    AP_INIT_TAKE1("SecureOCSPMaxAge", secure_ocsp_cmd_max_age, NULL, RSRC_CONF, \
                  "seconds (0 = no limit, default): refuse responses whose thisUpdate is older"), \
    AP_INIT_TAKE1("SecureOCSPResponderCert", secure_ocsp_cmd_responder_cert, NULL, RSRC_CONF, \
                  "PEM file: extra responder certificates trusted to sign OCSP responses"), \
    AP_INIT_TAKE1("SecureOCSPFailures", secure_ocsp_cmd_failures, NULL, RSRC_CONF, \
                  "count (1-1000, default 5): consecutive failures that open a responder's circuit"), \
    AP_INIT_TAKE1("SecureOCSPRetry", secure_ocsp_cmd_retry, NULL, RSRC_CONF, \
                  "seconds (1-86400, default 30): how long an open circuit skips its responder"), \
    AP_INIT_TAKE1("SecureCRLFetch", secure_ocsp_cmd_crl_fetch, NULL, RSRC_CONF, \
                  "on|off: fetch the CRL from the certificate's http CRL distribution point (default off)"), \
    AP_INIT_TAKE1("SecureOCSPMaxInflight", secure_ocsp_cmd_max_inflight, NULL, RSRC_CONF, \
                  "count (1-1000, default 4): OCSP queries in flight at once per responder URL and process"), \
    AP_INIT_TAKE1("SecureRevocationStaleIfError", secure_ocsp_cmd_stale_if_error, NULL, RSRC_CONF, \
                  "seconds (0-7 d, default 0 = off): while every online source fails, an expired verdict this " \
                  "recent still counts"), \
    AP_INIT_TAKE1("SecureRevocationFirstSeen", secure_ocsp_cmd_first_seen, NULL, RSRC_CONF, \
                  "wait|unknown: a certificate not in the cache waits for its query (default wait), or is " \
                  "answered UNKNOWN at once and queried in the background"), \
    AP_INIT_TAKE1("SecureRevocationRefreshAhead", secure_ocsp_cmd_refresh_ahead, NULL, RSRC_CONF, \
                  "seconds (0-1 d, default 0 = off): a cached verdict in use that expires within this is " \
                  "asked again in the background"),

struct secure_ocsp_conf *secure_ocsp_create_srv(apr_pool_t *p);
struct secure_ocsp_conf *secure_ocsp_merge_srv(apr_pool_t *p, const struct secure_ocsp_conf *base,
                                               const struct secure_ocsp_conf *add);
/* Lifecycle steps of the online sources, called by mod_secure.c's phase functions (hook signatures):
 * the circuit breaker's mutex and shared table (secure_fetch) and, per child, its attach and the
 * fetched-CRL table (secure_crlfetch). */
int secure_online_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int secure_online_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
void secure_online_child_init(apr_pool_t *pchild, server_rec *s);
/* True when vhost s has an online revocation source: SecureOCSP on or SecureCRLFetch on. */
int secure_online_enabled(const server_rec *s);
/* Asks the online sources about cert, issued by issuer, for vhost s: the CRL from its distribution
 * point when SecureCRLFetch is on, else / then the OCSP responder. issuer must come from the verified
 * chain or the trust store (trust: the vhost's CA store, for delegated OCSP signers). verified is 0 when
 * the certificate's chain did not verify (X509_STORE_CTX_get_error() != X509_V_OK, e.g. let through by
 * SSLVerifyClient optional_no_ca): then nothing is fetched and *v is NONE with source "unverified". An
 * issuer whose key did not sign cert is refused too (UNKNOWN, no fetch). Otherwise fills *v: GOOD /
 * REVOKED / UNKNOWN with source "ocsp" or "crl-fetch" and expires (NONE when no source applies), and
 * puts that answer in the verdict cache. Single-flight (secure_flight): while a query about the same
 * certificate runs in this server, the caller waits for its answer (the leader's source, or "cache" from
 * another process) at most SecureOCSPTimeout, then gets UNKNOWN (not cached). Never blocks longer than
 * SecureOCSPTimeout per source. c may be NULL. Memory from p. */
void secure_online_check(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, X509_STORE *trust, int verified,
                         secure_verdict_t *v, apr_pool_t *p);
/* The settings that decide which online answers vhost s accepts (responder, SecureOCSPResponderCert
 * digests, nonce, max age, CRL fetch) as canonical text, for the verdict cache's trust context. Memory
 * from p; NULL when a responder certificate cannot be digested. */
const char *secure_ocsp_trust_context(const server_rec *s, apr_pool_t *p);
/* How many first-sight answers (SecureRevocationFirstSeen unknown) this process's background thread has
 * put in the verdict cache: a connection accepted with "pending" is judged again when it changes. One
 * atomic read. */
apr_uint32_t secure_online_answers(void);
/* SecureRevocationRefreshAhead: called on a cache hit for cert (issuer, trust as for secure_online_check)
 * with the cached verdict's expiry. Within the window, queues one background query per certificate and
 * window in this process; otherwise returns after one comparison (no lock, no system call). */
void secure_online_refresh_ahead(server_rec *s, X509 *cert, X509 *issuer, X509_STORE *trust, apr_time_t expires);
/* Whether vhost s has SecureRevocationRefreshAhead (and an online source): then its recently seen
 * certificates are swept. */
int secure_online_sweep_needed(const server_rec *s);
/* On mod_watchdog's thread, every second: queues the refresh of each certificate seen within the last
 * SecureRevocationCacheTTL whose verdict expires within its vhost's window (bounded per pass). */
void secure_online_sweep(void);

#endif /* SECURE_OCSP_H */
