/* secure_ocsp — the online sources' entry point and OCSP for client certificates. Only a certificate that
 * verified is looked up online, and only with an issuer whose key signed it. An OCSP response counts only
 * when signed by that issuer, a delegated responder of it or a configured responder certificate, for our
 * CertID, fresh, and carrying our nonce. Anything else is UNKNOWN, logged and counted, and feeds the
 * circuit breaker (secure_fetch, shared by the server's processes). */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "apr_atomic.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdlib.h>
#include <string.h>

#include "secure_background.h"
#include "secure_cache.h"
#include "secure_config.h"
#include "secure_crlfetch.h"
#include "secure_factcache.h"
#include "secure_fetch.h"
#include "secure_flight.h"
#include "secure_log.h"
#include "secure_ocsp.h"
#include "secure_ocspeval.h"
#include "secure_ossl.h"
#include "secure_status.h"
#include "secure_util.h"

APLOG_USE_MODULE(secure);

#define SECURE_OCSP_SKEW        300L          /* seconds of clock difference allowed (RFC 6960 practice) */
#define SECURE_OCSP_MAX_RESP    (100 * 1024)  /* an OCSP response for one certificate is a few KB */

struct secure_ocsp_conf {
    int enabled;                        /* SecureOCSP */
    const char *responder;              /* SecureOCSPResponder, NULL = the certificate's AIA */
    long timeout;                       /* SecureOCSPTimeout */
    int nonce;                          /* SecureOCSPNonce */
    long max_age;                       /* SecureOCSPMaxAge, 0 = no limit */
    STACK_OF(X509) *responder_certs;    /* SecureOCSPResponderCert */
    const char *responder_cert_file;
    long failures;                      /* SecureOCSPFailures */
    long retry;                         /* SecureOCSPRetry */
    int crl_fetch;                      /* SecureCRLFetch */
    long max_inflight;                  /* SecureOCSPMaxInflight */
    long stale_if_error;                /* SecureRevocationStaleIfError, 0 = off */
    long refresh_ahead;                 /* SecureRevocationRefreshAhead, 0 = off */
    int first_seen;                     /* SecureRevocationFirstSeen: FIRST_SEEN_* */
};

enum { FIRST_SEEN_WAIT = 0, FIRST_SEEN_UNKNOWN };
static const char *const first_seen_words[] = { "wait", "unknown", NULL };

#define OCSP_DEFAULT(conf, field, dflt) ((conf)->field == SECURE_UNSET ? (dflt) : (conf)->field)

/* Each default once (the README's directive table states the same values). */
#define OCSP_TIMEOUT_DEFAULT  3     /* SecureOCSPTimeout, seconds */
#define OCSP_FAILURES_DEFAULT 5     /* SecureOCSPFailures */
#define OCSP_RETRY_DEFAULT    30    /* SecureOCSPRetry, seconds */
#define OCSP_MAX_AGE_DEFAULT  0     /* SecureOCSPMaxAge: no limit */
#define OCSP_MAX_INFLIGHT_DEFAULT 4 /* SecureOCSPMaxInflight, per responder URL and process */

static struct secure_ocsp_conf *ocsp_conf(const server_rec *s)
{
    return secure_config_srv(s)->ocsp;
}

/* ---- config ----------------------------------------------------------------------------------- */

struct secure_ocsp_conf *secure_ocsp_create_srv(apr_pool_t *p)
{
    struct secure_ocsp_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->enabled = SECURE_UNSET;
    conf->timeout = SECURE_UNSET;
    conf->nonce = SECURE_UNSET;
    conf->max_age = SECURE_UNSET;
    conf->failures = SECURE_UNSET;
    conf->retry = SECURE_UNSET;
    conf->crl_fetch = SECURE_UNSET;
    conf->max_inflight = SECURE_UNSET;
    conf->stale_if_error = SECURE_UNSET;
    conf->refresh_ahead = SECURE_UNSET;
    conf->first_seen = SECURE_UNSET;
    return conf;
}

struct secure_ocsp_conf *secure_ocsp_merge_srv(apr_pool_t *p, const struct secure_ocsp_conf *base,
                                               const struct secure_ocsp_conf *add)
{
    struct secure_ocsp_conf *conf = apr_pcalloc(p, sizeof(*conf));

    SECURE_MERGE_INT(enabled);
    SECURE_MERGE_PTR(responder);
    SECURE_MERGE_INT(timeout);
    SECURE_MERGE_INT(nonce);
    SECURE_MERGE_INT(max_age);
    SECURE_MERGE_PTR(responder_certs);
    SECURE_MERGE_PTR(responder_cert_file);
    SECURE_MERGE_INT(failures);
    SECURE_MERGE_INT(retry);
    SECURE_MERGE_INT(crl_fetch);
    SECURE_MERGE_INT(max_inflight);
    SECURE_MERGE_INT(stale_if_error);
    SECURE_MERGE_INT(refresh_ahead);
    SECURE_MERGE_INT(first_seen);
    return conf;
}

static struct secure_ocsp_conf *cmd_conf(cmd_parms *cmd)
{
    return secure_config_srv(cmd->server)->ocsp;
}

const char *secure_ocsp_cmd_enable(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_flag(cmd, arg, &cmd_conf(cmd)->enabled);
}

const char *secure_ocsp_cmd_nonce(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_flag(cmd, arg, &cmd_conf(cmd)->nonce);
}

const char *secure_ocsp_cmd_crl_fetch(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_flag(cmd, arg, &cmd_conf(cmd)->crl_fetch);
}

const char *secure_ocsp_cmd_timeout(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_seconds(cmd, arg, 1, 60, &cmd_conf(cmd)->timeout);
}

const char *secure_ocsp_cmd_max_age(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_seconds(cmd, arg, 0, 31L * 86400, &cmd_conf(cmd)->max_age);
}

const char *secure_ocsp_cmd_failures(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_long(cmd, arg, 1, 1000, &cmd_conf(cmd)->failures);
}

const char *secure_ocsp_cmd_retry(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_seconds(cmd, arg, 1, 86400, &cmd_conf(cmd)->retry);
}

const char *secure_ocsp_cmd_max_inflight(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_long(cmd, arg, 1, 1000, &cmd_conf(cmd)->max_inflight);
}

const char *secure_ocsp_cmd_stale_if_error(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_seconds(cmd, arg, 0, 7L * 86400, &cmd_conf(cmd)->stale_if_error);
}

const char *secure_ocsp_cmd_refresh_ahead(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_seconds(cmd, arg, 0, 86400, &cmd_conf(cmd)->refresh_ahead);
}

const char *secure_ocsp_cmd_first_seen(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_keyword(cmd, arg, first_seen_words, &cmd_conf(cmd)->first_seen);
}

/* Only plain http: OCSP responses carry their own signature, and OpenSSL's client would need a TLS
 * context of its own for https (RFC 6960 responders are http). The same rules as for a certificate's
 * AIA URL (secure_fetch_url_problem): no user information, no blanks, at most 511 bytes. */
const char *secure_ocsp_cmd_responder(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *problem = secure_fetch_url_problem(arg);

    (void)dconf;
    if (problem != NULL)
        return apr_psprintf(cmd->pool, "%s: '%s' is refused: %s; use http://host[:port]/path", cmd->cmd->name,
                            arg, problem);
    cmd_conf(cmd)->responder = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static apr_status_t free_cert_stack(void *data)
{
    sk_X509_pop_free(data, X509_free);
    return APR_SUCCESS;
}

const char *secure_ocsp_cmd_responder_cert(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    STACK_OF(X509) *certs = NULL;
    BIO *in = NULL;
    X509 *x;
    const char *err = NULL;

    (void)dconf;
    if (path == NULL || (in = BIO_new_file(path, "r")) == NULL) {
        err = apr_psprintf(cmd->pool, "%s: '%s' cannot be opened; use a readable PEM file of responder "
                           "certificates", cmd->cmd->name, arg);
        goto cleanup;
    }
    if ((certs = sk_X509_new_null()) == NULL) {
        err = apr_psprintf(cmd->pool, "%s: out of memory", cmd->cmd->name);
        goto cleanup;
    }
    while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL)
        if (!sk_X509_push(certs, x))
            X509_free(x);
    secure_ossl_discard("PEM read loop ends with no start line");
    if (sk_X509_num(certs) == 0) {
        err = apr_psprintf(cmd->pool, "%s: '%s' holds no PEM certificate; use a PEM file of responder "
                           "certificates", cmd->cmd->name, arg);
        goto cleanup;
    }
    cmd_conf(cmd)->responder_certs = certs;
    cmd_conf(cmd)->responder_cert_file = apr_pstrdup(cmd->pool, path);
    apr_pool_cleanup_register(cmd->pool, certs, free_cert_stack, apr_pool_cleanup_null);
    certs = NULL;
cleanup:
    BIO_free(in);
    if (certs != NULL)
        sk_X509_pop_free(certs, X509_free);
    return err;
}

int secure_online_enabled(const server_rec *s)
{
    const struct secure_ocsp_conf *conf = ocsp_conf(s);
    return conf->enabled == 1 || conf->crl_fetch == 1;
}

const char *secure_ocsp_trust_context(const server_rec *s, apr_pool_t *p)
{
    const struct secure_ocsp_conf *conf = ocsp_conf(s);
    const char *responder = conf->responder ? conf->responder : "(aia)", *certs = "";
    unsigned char md[EVP_MAX_MD_SIZE];
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    unsigned int len = 0;
    int i;

    /* the certificates themselves, not the file name: a changed file is a changed trust context */
    for (i = 0; conf->responder_certs && i < sk_X509_num(conf->responder_certs); i++) {
        if (!X509_digest(sk_X509_value(conf->responder_certs, i), EVP_sha256(), md, &len))
            return NULL;
        certs = apr_pstrcat(p, certs, i ? "," : "", secure_hex_lower(md, len, hex), NULL);
    }
    return apr_psprintf(p, "ocsp=%d responder=%" APR_SIZE_T_FMT ":%s nonce=%d max-age=%ld crl-fetch=%d "
                        "responder-certs=%s", conf->enabled == 1, strlen(responder), responder,
                        conf->nonce != 0, (long)OCSP_DEFAULT(conf, max_age, OCSP_MAX_AGE_DEFAULT), conf->crl_fetch == 1, certs);
}

/* ---- helpers ---------------------------------------------------------------------------------- */

/* Log lines name the client when there is a connection (handshake), else the vhost only. */
static void ocsp_log(server_rec *s, conn_rec *c, apr_pool_t *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void ocsp_log(server_rec *s, conn_rec *c, apr_pool_t *p, int level, const char *fmt, ...)
{
    va_list ap;
    const char *msg;

    if (!APLOG_IS_LEVEL(s, level))
        return;
    va_start(ap, fmt);
    msg = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    if (c != NULL)
        ap_log_cerror(APLOG_MARK, level, 0, c, "%s", msg);
    else
        ap_log_error(APLOG_MARK, level, 0, s, "%s", msg);
}

static const char *cert_subject(X509 *x, apr_pool_t *p)
{
    return secure_ossl_dn(X509_get_subject_name(x), p);
}

static const char *cert_serial(X509 *x, apr_pool_t *p)
{
    const char *serial = secure_ossl_serial(x, p);
    return serial ? serial : "?";
}

/* ---- lifecycle (the breaker lives in secure_fetch, the fetched-CRL table in secure_crlfetch) ---- */

int secure_online_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    return secure_fetch_pre_config(pconf) == APR_SUCCESS && secure_flight_pre_config(pconf) == APR_SUCCESS
           ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

/* Whether vhost s downloads CRLs from distribution points (secure_crlfetch writes their cache records). */
static int fetches_crls(const server_rec *s)
{
    return secure_config_engine_on(s) && ocsp_conf(s)->crl_fetch == 1;
}

int secure_online_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    int needed = 0, crls = 0;

    (void)plog;
    (void)ptemp;
    /* the first pass only checks the config */
    for (v = s; ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG && v != NULL; v = v->next) {
        if (secure_config_engine_on(v) && secure_online_enabled(v))
            needed = 1;
        crls |= fetches_crls(v);
    }
    secure_crlfetch_post_config(pconf, s, crls, fetches_crls);
    return secure_fetch_post_config(pconf, s, needed) == APR_SUCCESS
           && secure_flight_post_config(pconf, s, needed) == APR_SUCCESS ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

/* SecureRevocationRefreshAhead and SecureRevocationFirstSeen unknown: keys queued recently in this
 * process (see claim_key). */
#define REFRESH_SLOTS 256

typedef struct {
    unsigned char key[32];
    int kind;                    /* REFRESH_AHEAD or REFRESH_FIRST_SIGHT */
    apr_time_t until;            /* queued until then: not queued again */
} refresh_slot_t;

enum { REFRESH_AHEAD = 0, REFRESH_FIRST_SIGHT };
static int claim_key(const unsigned char key[32], int kind, apr_time_t now, apr_interval_time_t window);
static void claim_release(const unsigned char key[32], int kind);

static refresh_slot_t refresh_table[REFRESH_SLOTS];
static apr_thread_mutex_t *refresh_mutex;

static apr_status_t refresh_table_gone(void *data)
{
    (void)data;
    refresh_mutex = NULL;
    return APR_SUCCESS;
}

/* Whether vhost s uses the background thread: first sightings answered at once, refresh ahead, or the
 * refresh of fetched CRLs. */
static int uses_background(const server_rec *s)
{
    return secure_config_engine_on(s) && secure_online_enabled(s)
           && (ocsp_conf(s)->first_seen == FIRST_SEEN_UNKNOWN || OCSP_DEFAULT(ocsp_conf(s), refresh_ahead, 0) > 0
               || ocsp_conf(s)->crl_fetch == 1);
}

static void seen_child_init(apr_pool_t *pchild, server_rec *s);

void secure_online_child_init(apr_pool_t *pchild, server_rec *s)
{
    server_rec *v;
    int bg = 0;

    for (v = s; v != NULL; v = v->next)
        bg |= uses_background(v);
    secure_bg_child_init(pchild, s, bg);
    memset(refresh_table, 0, sizeof(refresh_table));
    refresh_mutex = NULL;
    if (bg && apr_thread_mutex_create(&refresh_mutex, APR_THREAD_MUTEX_DEFAULT, pchild) == APR_SUCCESS)
        apr_pool_cleanup_register(pchild, NULL, refresh_table_gone, apr_pool_cleanup_null);
    else
        refresh_mutex = NULL;
    secure_fetch_child_init(pchild, s);
    secure_flight_child_init(pchild, s);
    secure_crlfetch_child_init(pchild, s);
    seen_child_init(pchild, s);
}


static secure_fetch_limits_t online_limits(const struct secure_ocsp_conf *conf)
{
    secure_fetch_limits_t lim;

    lim.timeout = (int)OCSP_DEFAULT(conf, timeout, OCSP_TIMEOUT_DEFAULT);
    lim.failures = OCSP_DEFAULT(conf, failures, OCSP_FAILURES_DEFAULT);
    lim.retry = OCSP_DEFAULT(conf, retry, OCSP_RETRY_DEFAULT);
    lim.max_inflight = OCSP_DEFAULT(conf, max_inflight, OCSP_MAX_INFLIGHT_DEFAULT);
    return lim;
}

/* ---- the OCSP exchange ------------------------------------------------------------------------ */

static void verdict_unknown(secure_verdict_t *v, const char *detail)
{
    v->status = SECURE_REV_UNKNOWN;
    v->detail = detail;
    v->expires = apr_time_now() + apr_time_from_sec(secure_cache_unknown_ttl());
}

/* The first OCSP URL of the certificate's AIA extension, or NULL. */
static const char *aia_ocsp_url(X509 *cert, apr_pool_t *p)
{
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(cert, NID_info_access, NULL, NULL);
    const char *url = NULL;
    int i;

    for (i = 0; aia != NULL && url == NULL && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
        ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        if (OBJ_obj2nid(ad->method) == NID_ad_OCSP)
            url = secure_fetch_uri(ad->location, p);
    }
    AUTHORITY_INFO_ACCESS_free(aia);
    /* an AIA that does not decode is a certificate without a responder URL: the caller says so (SEC10501) */
    secure_ossl_discard("an undecodable AIA extension reads as no OCSP URL");
    return url;
}

/* One POST to the responder through secure_fetch (http:// only, no redirects, the whole exchange bounded
 * by timeout), counted by outcome. The response, or NULL with *why. */
static OCSP_RESPONSE *ocsp_transfer(const char *url, OCSP_REQUEST *req, int timeout, const char **why,
                                    apr_pool_t *p)
{
    static const secure_counter_t counters[] = {
        [SECURE_FETCH_REFUSED] = SECURE_CTR_OCSP_HTTP_ERRORS, [SECURE_FETCH_CONNECT] = SECURE_CTR_OCSP_HTTP_ERRORS,
        [SECURE_FETCH_TIMEOUT] = SECURE_CTR_OCSP_TIMEOUTS, [SECURE_FETCH_REDIRECT] = SECURE_CTR_OCSP_HTTP_ERRORS,
        [SECURE_FETCH_HTTP] = SECURE_CTR_OCSP_HTTP_ERRORS, [SECURE_FETCH_BAD_BODY] = SECURE_CTR_OCSP_BAD_RESPONSE,
        [SECURE_FETCH_INTERNAL] = SECURE_CTR_OCSP_HTTP_ERRORS,
    };
    secure_fetch_req_t rq = { "responder", url, "application/ocsp-request", NULL, "application/ocsp-response",
                              "a DER OCSPResponse", SECURE_OCSP_MAX_RESP, timeout };
    secure_fetch_result_t res = SECURE_FETCH_INTERNAL;
    BIO *rspbio = NULL;
    OCSP_RESPONSE *resp = NULL;

    if ((rq.req = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST), (const ASN1_VALUE *)req)) == NULL) {
        *why = apr_psprintf(p, "cannot encode the request (%s)", secure_ossl_errors(p));
        goto cleanup;
    }
    secure_status_count(SECURE_CTR_OCSP_QUERIES);
    if ((rspbio = secure_fetch(&rq, &res, why, p)) == NULL) {
        secure_status_count(counters[res]);
        goto cleanup;
    }
    if ((resp = d2i_OCSP_RESPONSE_bio(rspbio, NULL)) == NULL) {
        *why = apr_psprintf(p, "responder %s sent bytes that are not a DER OCSPResponse (%s)", url,
                            secure_ossl_errors(p));
        secure_status_count(SECURE_CTR_OCSP_BAD_RESPONSE);
    }
cleanup:
    BIO_free(rq.req);
    BIO_free(rspbio);
    return resp;
}


/* Checks a response against our request through the pure judgement (secure_ocspeval) and fills v
 * (GOOD / REVOKED / UNKNOWN), counting the failure it names. 1 when the responder worked (a verified
 * answer, even "unknown"), 0 when it failed (breaker). */
static int ocsp_evaluate(const struct secure_ocsp_conf *conf, const char *url, OCSP_REQUEST *req,
                         OCSP_RESPONSE *resp, OCSP_CERTID *id, X509 *issuer, X509_STORE *trust,
                         secure_verdict_t *v, apr_pool_t *p)
{
    static const secure_counter_t counters[] = {
        [SECURE_OCSPEVAL_FAIL_BAD_RESPONSE] = SECURE_CTR_OCSP_BAD_RESPONSE,
        [SECURE_OCSPEVAL_FAIL_BAD_NONCE] = SECURE_CTR_OCSP_BAD_NONCE,
        [SECURE_OCSPEVAL_FAIL_BAD_SIGNATURE] = SECURE_CTR_OCSP_BAD_SIGNATURE,
        [SECURE_OCSPEVAL_FAIL_STALE] = SECURE_CTR_OCSP_STALE,
        [SECURE_OCSPEVAL_FAIL_FUTURE] = SECURE_CTR_OCSP_FUTURE,
    };
    apr_time_t now = apr_time_now();
    secure_ocspeval_in_t in = { url, req, id, issuer, conf->responder_certs, trust, conf->nonce != 0,
                                OCSP_DEFAULT(conf, max_age, OCSP_MAX_AGE_DEFAULT), SECURE_OCSP_SKEW, apr_time_sec(now) };
    secure_ocspeval_out_t out;
    char why[SECURE_OCSPEVAL_WHY_MAX];
    const char *detail;
    long next_in;

    secure_ocspeval_response(resp, &in, &out, why, sizeof(why));
    detail = out.ossl_detail ? apr_psprintf(p, "%s (%s)", why, secure_ossl_errors(p)) : apr_pstrdup(p, why);
    if (!out.worked) {
        verdict_unknown(v, detail);
        if (out.fail != SECURE_OCSPEVAL_FAIL_NONE)
            secure_status_count(counters[out.fail]);
        goto cleanup;
    }
    v->detail = detail;
    v->expires = now + apr_time_from_sec(secure_cache_ttl());
    if (out.next_update != 0 && (next_in = (long)(out.next_update - in.now)) > 0
        && now + apr_time_from_sec(next_in) < v->expires)
        v->expires = now + apr_time_from_sec(next_in);
    switch (out.status) {
    case SECURE_OCSPEVAL_GOOD:
        v->status = SECURE_REV_GOOD;
        break;
    case SECURE_OCSPEVAL_REVOKED:
        v->status = SECURE_REV_REVOKED;
        v->reason = out.reason;
        v->revoked_at = out.revoked_at != 0 ? apr_time_from_sec(out.revoked_at) : 0;
        break;
    default:
        v->status = SECURE_REV_UNKNOWN;
        if (v->expires > now + apr_time_from_sec(secure_cache_unknown_ttl()))
            v->expires = now + apr_time_from_sec(secure_cache_unknown_ttl());
        break;
    }
cleanup:
    secure_ossl_discard("every failure above took the errors into the verdict's detail");
    return out.worked;
}

/* 1 for at most one caller per second (per process): rate-limited log lines. */
static apr_uint32_t capped_logged;

static int once_a_second(apr_uint32_t *last)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now()), prev = apr_atomic_read32(last);

    return now != prev && apr_atomic_cas32(last, now, prev) == prev;
}

/* Fills *v from the responder. 1 when the responder gave a verified answer (good, revoked or its own
 * "unknown"), 0 when there was none (no URL, refused, skipped, capped, failed). */
static int ocsp_query(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, X509_STORE *trust,
                      const secure_fetch_limits_t *lim, secure_verdict_t *v, apr_pool_t *p)
{
    const struct secure_ocsp_conf *conf = ocsp_conf(s);
    int worked = 0;
    const char *url, *why = NULL;
    OCSP_CERTID *id = NULL;
    OCSP_REQUEST *req = NULL;
    OCSP_RESPONSE *resp = NULL;
    apr_time_t until = 0, t0 = apr_time_now();

    v->source = "ocsp";
    url = conf->responder ? conf->responder : aia_ocsp_url(cert, p);
    if (url == NULL) {
        verdict_unknown(v, "no OCSP responder: the certificate has no AIA OCSP URL and "
                           "SecureOCSPResponder is not set");
        ocsp_log(s, c, p, APLOG_WARNING, SECTAG(10501) "%s: client %s certificate %s (serial %s): %s",
                 secure_config_vhost_name(s), c ? c->client_ip : "-", cert_subject(cert, p),
                 cert_serial(cert, p), v->detail);
        goto cleanup;
    }
    if ((why = secure_fetch_url_problem(url)) != NULL) {
        verdict_unknown(v, apr_psprintf(p, "responder URL %s is refused: %s", url, why));
        secure_status_count(SECURE_CTR_ONLINE_REFUSED);
        secure_status_count(SECURE_CTR_OCSP_ERRORS);
        ocsp_log(s, c, p, APLOG_WARNING, SECTAG(11056) "%s: client %s certificate %s (serial %s): OCSP status "
                 "UNKNOWN, nothing fetched: %s", secure_config_vhost_name(s), c ? c->client_ip : "-",
                 cert_subject(cert, p), cert_serial(cert, p), v->detail);
        goto cleanup;
    }
    if (!secure_fetch_breaker_allow(url, lim->timeout + 1, &until, &why, p)) {
        verdict_unknown(v, apr_psprintf(p, "responder %s skipped: %s", url, why));
        secure_status_count(SECURE_CTR_OCSP_SKIPPED);
        secure_status_ocsp(url, SECURE_OCSP_R_SKIPPED, 0);
        secure_status_ocsp_breaker(url, until);
        ocsp_log(s, c, p, APLOG_INFO, SECTAG(10502) "%s: client %s certificate %s (serial %s): %s",
                 secure_config_vhost_name(s), c ? c->client_ip : "-", cert_subject(cert, p),
                 cert_serial(cert, p), v->detail);
        goto cleanup;
    }
    if ((id = OCSP_cert_to_id(NULL, cert, issuer)) == NULL || (req = OCSP_REQUEST_new()) == NULL) {
        why = apr_psprintf(p, "cannot build the request (%s)", secure_ossl_errors(p));
        goto failed;
    }
    {
        OCSP_CERTID *copy = OCSP_CERTID_dup(id);
        if (copy == NULL || OCSP_request_add0_id(req, copy) == NULL) {
            OCSP_CERTID_free(copy);
            why = apr_psprintf(p, "cannot build the request (%s)", secure_ossl_errors(p));
            goto failed;
        }
    }
    if (conf->nonce != 0 && !OCSP_request_add1_nonce(req, NULL, -1)) {
        why = apr_psprintf(p, "cannot add a nonce (%s)", secure_ossl_errors(p));
        goto failed;
    }
    /* SecureOCSPMaxInflight: past it no socket is opened; not the responder's failure (no breaker) */
    if (!secure_fetch_inflight_enter(url, lim->max_inflight)) {
        verdict_unknown(v, apr_psprintf(p, "responder %s not asked: %ld queries to it are already in flight from "
                                        "this process (SecureOCSPMaxInflight)", url, lim->max_inflight));
        v->expires = 0;            /* a limit of this process, not an answer: not cached */
        secure_status_count(SECURE_CTR_OCSP_INFLIGHT_CAPPED);
        if (once_a_second(&capped_logged))
            ocsp_log(s, c, p, APLOG_WARNING, SECTAG(11604) "%s: client %s certificate %s (serial %s): OCSP status "
                     "UNKNOWN: %s (logged at most once a second; counter ocsp_inflight_capped)",
                     secure_config_vhost_name(s), c ? c->client_ip : "-", cert_subject(cert, p),
                     cert_serial(cert, p), v->detail);
        goto cleanup;
    }
    resp = ocsp_transfer(url, req, lim->timeout, &why, p);
    secure_fetch_inflight_leave(url);
    if (resp == NULL)
        goto failed;
    worked = ocsp_evaluate(conf, url, req, resp, id, issuer, trust, v, p);
    if (worked) {
        secure_fetch_breaker_record(s, url, 1, lim);
        secure_status_ocsp_breaker(url, 0);
        secure_status_ocsp(url, v->status == SECURE_REV_GOOD ? SECURE_OCSP_R_GOOD : v->status == SECURE_REV_REVOKED
                           ? SECURE_OCSP_R_REVOKED : SECURE_OCSP_R_UNKNOWN, apr_time_now() - t0);
        ocsp_log(s, c, p, APLOG_DEBUG, "mod_secure: %s: client %s certificate %s (serial %s): %s in %"
                 APR_TIME_T_FMT " ms", secure_config_vhost_name(s), c ? c->client_ip : "-",
                 cert_subject(cert, p), cert_serial(cert, p), v->detail, apr_time_as_msec(apr_time_now() - t0));
        goto cleanup;
    }
    why = v->detail;
failed:
    verdict_unknown(v, why);
    secure_status_count(SECURE_CTR_OCSP_ERRORS);
    secure_status_ocsp(url, SECURE_OCSP_R_ERROR, apr_time_now() - t0);
    ocsp_log(s, c, p, APLOG_WARNING, SECTAG(10503) "%s: client %s certificate %s (serial %s): OCSP status "
             "UNKNOWN: %s", secure_config_vhost_name(s), c ? c->client_ip : "-", cert_subject(cert, p),
             cert_serial(cert, p), why);
    if (secure_fetch_breaker_record(s, url, 0, lim)) {
        secure_status_ocsp_breaker(url, apr_time_now() + apr_time_from_sec(lim->retry));
        ocsp_log(s, c, p, APLOG_ERR, SECTAG(10504) "%s: OCSP responder %s failed %ld times in a row: "
                 "skipping it for %ld s (SecureOCSPFailures / SecureOCSPRetry)", secure_config_vhost_name(s),
                 url, lim->failures, lim->retry);
    }
cleanup:
    OCSP_RESPONSE_free(resp);
    OCSP_REQUEST_free(req);
    OCSP_CERTID_free(id);
    secure_ossl_discard("every failure above took the errors into the logged reason");
    return worked;
}

/* The issuer handed to the online sources signs their answers' trust: its key verifies a fetched CRL and
 * it is trusted as OCSP signer as it is (OCSP_TRUSTOTHER). It must be the certificate that issued cert,
 * not merely one that claims to (a client-sent certificate with a matching name and key identifier):
 * its key must verify cert's signature. NULL when it does, else why not (from p). */
static const char *issuer_unsigned(X509 *cert, X509 *issuer, apr_pool_t *p)
{
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    int rc;

    if (key == NULL)
        return apr_psprintf(p, "its key cannot be read (%s)", secure_ossl_errors(p));
    if ((rc = X509_check_issued(issuer, cert)) != X509_V_OK) {
        secure_ossl_discard("X509_check_issued's answer is its return code, printed instead");
        return X509_verify_cert_error_string(rc);
    }
    if (X509_verify(cert, key) != 1)
        return apr_psprintf(p, "its key does not verify the signature (%s)", secure_ossl_errors(p));
    return NULL;
}

/* The online sources themselves: a fetched CRL, then OCSP. 1 when every source that applied failed (the
 * answer is UNKNOWN for want of an answer, not a responder's own "unknown"), else 0. */
static int online_sources(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, X509_STORE *trust,
                          const secure_fetch_limits_t *lim, secure_verdict_t *v, apr_pool_t *p)
{
    const struct secure_ocsp_conf *conf = ocsp_conf(s);

    /* a fetched CRL is a CRL: it comes before OCSP, as a local one does */
    if (conf->crl_fetch == 1 && secure_crlfetch_check(s, c, cert, issuer, lim, v, p)
        && (v->status != SECURE_REV_UNKNOWN || conf->enabled != 1))
        return v->status == SECURE_REV_UNKNOWN;
    if (conf->enabled == 1) {
        v->reason = -1;
        v->revoked_at = 0;
        return !ocsp_query(s, c, cert, issuer, trust, lim, v, p);
    }
    return 0;
}

/* SecureRevocationStaleIfError: every online source failed for cert; a GOOD verdict that expired less than
 * the window ago still counts (REVOKED too: a revocation does not go stale). 1 when *v was replaced. */
static int online_stale(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, long window, secure_verdict_t *v,
                        apr_pool_t *p)
{
    secure_verdict_t old;
    const char *why = v->detail ? v->detail : "no answer";

    if (window <= 0 || !secure_cache_get_stale(s, c, cert, issuer, window, &old, p))
        return 0;
    old.detail = apr_psprintf(p, "%s; used because every online source failed (SecureRevocationStaleIfError "
                              "%ld s): %s", old.detail, window, why);
    *v = old;
    secure_status_count(SECURE_CTR_REV_STALE_USED);
    ocsp_log(s, c, p, APLOG_WARNING, SECTAG(11607) "%s: client %s certificate %s (serial %s): status %s from an "
             "expired verdict: %s", secure_config_vhost_name(s), c ? c->client_ip : "-", cert_subject(cert, p),
             cert_serial(cert, p), v->status == SECURE_REV_GOOD ? "GOOD" : "REVOKED", v->detail);
    return 1;
}

/* The key of a certificate's flight: the vhost's online settings (the config object, at one address in
 * every child), the issuer's key and the serial number, hashed. 0 when it cannot be computed. */
static int flight_key(const struct secure_ocsp_conf *conf, X509 *cert, X509 *issuer, unsigned char key[32])
{
    const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
    unsigned char ikey[EVP_MAX_MD_SIZE];
    unsigned int ilen = 0, klen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && X509_pubkey_digest(issuer, EVP_sha256(), ikey, &ilen)
             && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, &conf, sizeof(conf))
             && EVP_DigestUpdate(md, ikey, ilen)
             && EVP_DigestUpdate(md, ASN1_STRING_get0_data(serial), (size_t)ASN1_STRING_length(serial))
             && EVP_DigestFinal_ex(md, key, &klen) && klen == 32;

    EVP_MD_CTX_free(md);
    secure_ossl_discard("without a flight key the certificate is queried on its own");
    return ok;
}

typedef struct {
    server_rec *s;
    conn_rec *c;
    X509 *cert, *issuer;
    apr_interval_time_t min_left;   /* a cached verdict counts only when valid that much longer */
} online_poll_t;

/* What another process's query left in the verdict cache (secure_flight_poll_fn). */
static int online_poll(void *baton, secure_verdict_t *v, apr_pool_t *p)
{
    online_poll_t *pb = baton;

    return secure_cache_peek(pb->s, pb->c, pb->cert, pb->issuer, v, p) && v->status != SECURE_REV_NONE
           && v->expires > apr_time_now() + pb->min_left;
}

/* Single-flight around the online sources (secure_flight): one query per certificate and vhost settings
 * in flight per server; the others wait, bounded by SecureOCSPTimeout, for its answer. The leader puts
 * its answer in the verdict cache before it lands, so that other processes find it there. min_left: a
 * cached verdict valid less than that much longer does not spare the query (refresh ahead). */
static void online_flight(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, X509_STORE *trust,
                          const secure_fetch_limits_t *lim, apr_interval_time_t min_left, secure_verdict_t *v,
                          apr_pool_t *p)
{
    const struct secure_ocsp_conf *conf = ocsp_conf(s);
    online_poll_t pb = { s, c, cert, issuer, min_left };
    secure_flight_t *f = NULL;
    unsigned char key[32];
    apr_time_t t0 = apr_time_now();

    if (flight_key(conf, cert, issuer, key)) {
        switch (secure_flight_board(key, 1, t0 + apr_time_from_sec(lim->timeout), online_poll, &pb, &f, v, p)) {
        case SECURE_FLIGHT_ANSWER:
            return;
        case SECURE_FLIGHT_TIMEOUT:
            if (apr_time_now() < t0 + apr_time_from_sec(lim->timeout)) {
                /* not a timeout: the leader landed with no answer (no source applies): neither has this one */
                memset(v, 0, sizeof(*v));
                v->reason = -1;
                return;
            }
            verdict_unknown(v, apr_psprintf(p, "another query about this certificate was still in flight after "
                                            "%d s (SecureOCSPTimeout)", lim->timeout));
            v->source = conf->enabled == 1 ? "ocsp" : "crl-fetch";
            v->expires = 0;        /* the leader caches its own answer */
            ocsp_log(s, c, p, APLOG_INFO, SECTAG(11605) "%s: client %s certificate %s (serial %s): status "
                     "UNKNOWN: %s", secure_config_vhost_name(s), c ? c->client_ip : "-", cert_subject(cert, p),
                     cert_serial(cert, p), v->detail);
            return;
        default:
            break;
        }
        /* leading: the previous flight may have landed between this caller's cache miss and now */
        if (online_poll(&pb, v, p)) {
            secure_flight_land(f, v);
            return;
        }
        memset(v, 0, sizeof(*v));
        v->reason = -1;
    }
    if (!(online_sources(s, c, cert, issuer, trust, lim, v, p)
          && online_stale(s, c, cert, issuer, OCSP_DEFAULT(conf, stale_if_error, 0), v, p))
        && v->status != SECURE_REV_NONE) {
        secure_cache_put_keep(s, cert, issuer, v, OCSP_DEFAULT(conf, stale_if_error, 0), p);
        /* after the cache write: open connections with this certificate judge it again and read this */
        if (v->status == SECURE_REV_REVOKED)
            secure_status_rev_epoch_bump();
    }
    secure_flight_land_shared(f, v);    /* the answer also stays in the marker briefly (no cache needed) */
}

/* ---- SecureRevocationFirstSeen unknown: the query runs on the background thread ------------------- */

typedef struct {
    server_rec *s;
    X509 *cert, *issuer;
    X509_STORE *trust;
    int refresh;                 /* a refresh ahead: a cached verdict about to expire does not count */
} first_sight_t;

static void first_sight_drop(void *job)
{
    first_sight_t *j = job;

    X509_free(j->cert);
    X509_free(j->issuer);
    X509_STORE_free(j->trust);
    free(j);
}

static void seen_note(server_rec *s, X509 *cert, X509 *issuer, X509_STORE *trust, apr_time_t expires,
                      apr_time_t now, int touch);

/* First-sight answers this process's background thread got (secure_online_answers). */
static apr_uint32_t bg_answers;

apr_uint32_t secure_online_answers(void)
{
    return apr_atomic_read32(&bg_answers);
}

/* On the background thread: the same single-flight query a handshake would make; it caches the answer. */
static void first_sight_run(void *job, apr_pool_t *p)
{
    first_sight_t *j = job;
    secure_fetch_limits_t lim = online_limits(ocsp_conf(j->s));
    secure_verdict_t v;

    memset(&v, 0, sizeof(v));
    v.reason = -1;
    online_flight(j->s, NULL, j->cert, j->issuer, j->trust, &lim,
                  j->refresh ? apr_time_from_sec(OCSP_DEFAULT(ocsp_conf(j->s), refresh_ahead, 0)) : 0, &v, p);
    /* in the verdict cache now: connections that got "pending" judge their certificate again */
    if (!j->refresh)
        apr_atomic_inc32(&bg_answers);
    else if (v.status == SECURE_REV_GOOD)    /* the sweep sees the new expiry (never a new sighting) */
        seen_note(j->s, j->cert, j->issuer, j->trust, v.expires, apr_time_now(), 0);
    ocsp_log(j->s, NULL, p, APLOG_DEBUG, "mod_secure: %s: background %s of certificate %s (serial %s): %s",
             secure_config_vhost_name(j->s), j->refresh ? "refresh" : "check", cert_subject(j->cert, p),
             cert_serial(j->cert, p), v.detail ? v.detail : "no answer");
    first_sight_drop(j);
}

static apr_uint32_t bg_full_logged;

/* A certificate the cache does not know: queue its query and answer UNKNOWN now (source "pending"; the
 * vhost's SecureRevocationUnknown decides). 0 when this process has no background thread: the caller
 * then asks inline, as with 'wait'. */
/* Queues a background query about cert: secure_bg_submit's answer (1 queued, 0 full, -1 no thread). */
static int background_query(server_rec *s, X509 *cert, X509 *issuer, X509_STORE *trust, int refresh)
{
    first_sight_t *j = calloc(1, sizeof(*j));
    secure_bg_job_t bj = { first_sight_run, first_sight_drop, j };
    int rc = -1;

    if (j != NULL) {
        j->s = s;
        j->refresh = refresh;
        if (X509_up_ref(cert))
            j->cert = cert;
        if (X509_up_ref(issuer))
            j->issuer = issuer;
        if (trust != NULL && X509_STORE_up_ref(trust))
            j->trust = trust;
        if (j->cert != NULL && j->issuer != NULL && (trust == NULL || j->trust != NULL))
            rc = secure_bg_submit(&bj);
    }
    if (rc != 1 && j != NULL)
        first_sight_drop(j);
    return rc;
}

static int first_sight_deferred(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, X509_STORE *trust,
                                secure_verdict_t *v, apr_pool_t *p)
{
    const struct secure_ocsp_conf *conf = ocsp_conf(s);
    unsigned char key[32];
    int rc, claim = -1;

    /* one background query per certificate at a time in this process: a handshake or a request that
     * finds it queued within the last SecureOCSPTimeout + 1 s waits for that answer, it adds none */
    if (flight_key(conf, cert, issuer, key))
        claim = claim_key(key, REFRESH_FIRST_SIGHT, apr_time_now(),
                          apr_time_from_sec(OCSP_DEFAULT(conf, timeout, OCSP_TIMEOUT_DEFAULT) + 1));
    rc = claim == 0 ? 1 : background_query(s, cert, issuer, trust, 0);
    if (rc != 1 && claim == 1)
        claim_release(key, REFRESH_FIRST_SIGHT);
    if (rc < 0)
        return 0;
    v->status = SECURE_REV_UNKNOWN;
    v->source = "pending";
    v->expires = 0;
    if (rc == 1) {
        v->detail = "first sight of this certificate: its status is being asked in the background "
                    "(SecureRevocationFirstSeen unknown)";
        secure_status_count(SECURE_CTR_REV_FIRST_SEEN_DEFERRED);
        return 1;
    }
    v->detail = "first sight of this certificate, and this process's background queue is full; a later "
                "handshake queues it again (SecureRevocationFirstSeen unknown)";
    secure_status_count(SECURE_CTR_REV_FIRST_SEEN_DROPPED);
    if (once_a_second(&bg_full_logged))
        ocsp_log(s, c, p, APLOG_WARNING, SECTAG(11609) "%s: client %s certificate %s (serial %s): status UNKNOWN: "
                 "%s (logged at most once a second; counter revocation_first_seen_dropped)",
                 secure_config_vhost_name(s), c ? c->client_ip : "-", cert_subject(cert, p), cert_serial(cert, p),
                 v->detail);
    return 1;
}

void secure_online_check(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, X509_STORE *trust, int verified,
                         secure_verdict_t *v, apr_pool_t *p)
{
    const struct secure_ocsp_conf *conf = ocsp_conf(s);
    secure_fetch_limits_t lim = online_limits(conf);
    const char *why;

    v->status = SECURE_REV_NONE;
    v->source = NULL;
    v->reason = -1;
    v->revoked_at = 0;
    v->expires = 0;
    v->detail = NULL;
    if (cert == NULL || issuer == NULL)
        return;
    /* A certificate that did not verify names URLs nobody vouches for: asking them would let any client
     * make the server connect where it likes (SSRF), and their answer, signed by a key of the client's
     * choosing, proves nothing. Not checked: NONE, never GOOD. */
    if (!verified) {
        v->source = "unverified";
        v->detail = "certificate did not verify";
        return;
    }
    if ((why = issuer_unsigned(cert, issuer, p)) != NULL) {
        v->status = SECURE_REV_UNKNOWN;
        v->source = "none";
        v->detail = apr_psprintf(p, "the issuer certificate at hand did not sign this certificate (%s); no online "
                                 "source is asked", why);
        v->expires = 0;
        secure_status_count(SECURE_CTR_ONLINE_REFUSED);
        ocsp_log(s, c, p, APLOG_WARNING, SECTAG(11055) "%s: client %s certificate %s (serial %s): %s",
                 secure_config_vhost_name(s), c ? c->client_ip : "-", cert_subject(cert, p), cert_serial(cert, p),
                 v->detail);
        return;
    }
    if (conf->first_seen == FIRST_SEEN_UNKNOWN && first_sight_deferred(s, c, cert, issuer, trust, v, p))
        return;
    online_flight(s, c, cert, issuer, trust, &lim, 0, v, p);
    if (v->status == SECURE_REV_GOOD && OCSP_DEFAULT(conf, refresh_ahead, 0) > 0)
        seen_note(s, cert, issuer, trust, v->expires, apr_time_now(), 1);
}

/* ---- SecureRevocationRefreshAhead: verdicts in use are asked again before they expire ------------- *
 * A cache hit whose verdict expires within the window queues one background query per certificate (and
 * vhost settings) and window in this process: a table of recently queued keys under a mutex, taken only
 * inside the window. The query skips a cached verdict that is itself inside the window, and is shared
 * with every other process through the single-flight markers; a process that boards after another one
 * refreshed finds the new verdict in the cache and asks nothing. */

/* 1 when key was not queued for kind within the window (and is marked now), 0 when it was, -1 without
 * the table. A full table: the oldest goes. */
static int claim_key(const unsigned char key[32], int kind, apr_time_t now, apr_interval_time_t window)
{
    refresh_slot_t *pick = NULL;
    int i, claimed = 1;

    if (refresh_mutex == NULL || apr_thread_mutex_lock(refresh_mutex) != APR_SUCCESS)
        return -1;
    for (i = 0; i < REFRESH_SLOTS; i++) {
        if (refresh_table[i].until > now && refresh_table[i].kind == kind
            && memcmp(refresh_table[i].key, key, 32) == 0) {
            claimed = 0;
            break;
        }
        if (pick == NULL || refresh_table[i].until < pick->until)
            pick = &refresh_table[i];
    }
    if (claimed) {
        memcpy(pick->key, key, 32);
        pick->kind = kind;
        pick->until = now + window;
    }
    apr_thread_mutex_unlock(refresh_mutex);
    return claimed;
}

/* Forgets a claim whose query could not be queued. */
static void claim_release(const unsigned char key[32], int kind)
{
    int i;

    if (refresh_mutex == NULL || apr_thread_mutex_lock(refresh_mutex) != APR_SUCCESS)
        return;
    for (i = 0; i < REFRESH_SLOTS; i++)
        if (refresh_table[i].kind == kind && memcmp(refresh_table[i].key, key, 32) == 0)
            refresh_table[i].until = 0;
    apr_thread_mutex_unlock(refresh_mutex);
}

void secure_online_refresh_ahead(server_rec *s, X509 *cert, X509 *issuer, X509_STORE *trust, apr_time_t expires)
{
    const struct secure_ocsp_conf *conf = ocsp_conf(s);
    apr_interval_time_t window = apr_time_from_sec(OCSP_DEFAULT(conf, refresh_ahead, 0));
    apr_time_t now;
    unsigned char key[32];

    if (window <= 0)
        return;
    now = apr_time_now();
    seen_note(s, cert, issuer, trust, expires, now, 1);
    if (now + window < expires)
        return;
    if (!flight_key(conf, cert, issuer, key) || claim_key(key, REFRESH_AHEAD, now, window) != 1)
        return;
    if (background_query(s, cert, issuer, trust, 1) == 1)
        secure_status_count(SECURE_CTR_REV_REFRESH_AHEAD);
}

/* ---- SecureRevocationRefreshAhead, part two: recently seen certificates, swept by mod_watchdog ------ *
 * The refresh above is triggered by use inside the window: a certificate in steady but sparse use (seen,
 * then not again until its verdict expired) would wait at its next handshake. So each cache hit and each
 * fresh GOOD answer of a vhost with refresh ahead also notes the certificate in this process's table of
 * recently seen ones; mod_watchdog's thread (secure_revoke registers the callback, every second, under
 * the reload guard that child_stopping waits for) calls secure_online_sweep, which queues the refresh of
 * every certificate seen within the last SecureRevocationCacheTTL whose verdict expires within the
 * window: the same claim and background query as above, at most SWEEP_MAX a pass. The other processes
 * find the refreshed verdict in the shared cache (their own sweep's query then asks nothing). The table
 * is found by hash: a handshake's note costs a lock and at most SEEN_PROBE slot comparisons. */
#define SEEN_SLOTS 512
#define SEEN_PROBE 8
#define SWEEP_MAX 16

typedef struct {
    server_rec *s;                      /* NULL: free */
    unsigned char id[32];               /* the certificate's SHA-256 (secure_factcache) */
    X509 *cert, *issuer;                /* references held */
    X509_STORE *trust;
    apr_time_t seen, expires;
} seen_slot_t;

static seen_slot_t seen_table[SEEN_SLOTS];
static apr_thread_mutex_t *seen_mutex;

static void seen_free(seen_slot_t *e)
{
    X509_free(e->cert);
    X509_free(e->issuer);
    X509_STORE_free(e->trust);
    memset(e, 0, sizeof(*e));
}

static apr_status_t seen_table_gone(void *data)
{
    size_t i;

    (void)data;
    for (i = 0; i < SEEN_SLOTS; i++)
        if (seen_table[i].s != NULL)
            seen_free(&seen_table[i]);
    seen_mutex = NULL;
    return APR_SUCCESS;
}

static void seen_child_init(apr_pool_t *pchild, server_rec *s)
{
    server_rec *v;

    memset(seen_table, 0, sizeof(seen_table));
    seen_mutex = NULL;
    for (v = s; v != NULL; v = v->next)
        if (secure_online_sweep_needed(v)) {
            if (apr_thread_mutex_create(&seen_mutex, APR_THREAD_MUTEX_DEFAULT, pchild) == APR_SUCCESS)
                apr_pool_cleanup_register(pchild, NULL, seen_table_gone, apr_pool_cleanup_null);
            else {
                seen_mutex = NULL;
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, SECTAG(11611) "SecureRevocationRefreshAhead: cannot "
                             "create this process's mutex of recently seen certificates; only certificates "
                             "presented inside the window are refreshed ahead in it");
            }
            return;
        }
}

int secure_online_sweep_needed(const server_rec *s)
{
    return secure_config_engine_on(s) && secure_online_enabled(s) && OCSP_DEFAULT(ocsp_conf(s), refresh_ahead, 0) > 0;
}

/* Notes (touch: a sighting now) or updates (touch 0: only the verdict's expiry of a noted certificate). */
static void seen_note(server_rec *s, X509 *cert, X509 *issuer, X509_STORE *trust, apr_time_t expires,
                      apr_time_t now, int touch)
{
    unsigned char id[32];
    seen_slot_t *e = NULL, *old = NULL;
    size_t h, i;

    if (seen_mutex == NULL || cert == NULL || issuer == NULL)
        return;
    if (secure_factcache_sha256(cert, id) != 0) {
        secure_ossl_discard("an unhashable certificate is not refreshed ahead by the sweep");
        return;
    }
    h = ((size_t)id[0] << 8 | id[1]) % SEEN_SLOTS;
    if (apr_thread_mutex_lock(seen_mutex) != APR_SUCCESS)
        return;
    for (i = 0; i < SEEN_PROBE && e == NULL; i++) {
        seen_slot_t *t = &seen_table[(h + i) % SEEN_SLOTS];
        if (t->s == s && memcmp(t->id, id, 32) == 0)
            e = t;
        else if (old == NULL || (old->s != NULL && (t->s == NULL || t->seen < old->seen)))
            old = t;
    }
    if (e == NULL && touch && old != NULL && X509_up_ref(cert)) {
        seen_free(old);                 /* a free slot, or the least recently seen of the probe window */
        e = old;
        e->s = s;
        memcpy(e->id, id, 32);
        e->cert = cert;
        if (X509_up_ref(issuer))
            e->issuer = issuer;
        if (trust != NULL && X509_STORE_up_ref(trust))
            e->trust = trust;
        if (e->issuer == NULL || (trust != NULL && e->trust == NULL))
            seen_free(e), e = NULL;
    }
    if (e != NULL) {
        if (touch)
            e->seen = now;
        e->expires = expires;
    }
    apr_thread_mutex_unlock(seen_mutex);
}

void secure_online_sweep(void)
{
    apr_time_t now = apr_time_now();
    apr_interval_time_t horizon = apr_time_from_sec(secure_cache_ttl());
    unsigned char key[32];
    int queued = 0;
    size_t i;

    if (seen_mutex == NULL || apr_thread_mutex_lock(seen_mutex) != APR_SUCCESS)
        return;
    for (i = 0; i < SEEN_SLOTS && queued < SWEEP_MAX; i++) {
        seen_slot_t *e = &seen_table[i];
        const struct secure_ocsp_conf *conf;
        apr_interval_time_t window;

        if (e->s == NULL)
            continue;
        if (e->seen + horizon < now) {      /* not seen within the TTL: no longer "in use" */
            seen_free(e);
            continue;
        }
        conf = ocsp_conf(e->s);
        window = apr_time_from_sec(OCSP_DEFAULT(conf, refresh_ahead, 0));
        if (now + window < e->expires || !flight_key(conf, e->cert, e->issuer, key)
            || claim_key(key, REFRESH_AHEAD, now, window) != 1)
            continue;
        if (background_query(e->s, e->cert, e->issuer, e->trust, 1) == 1) {
            queued++;
            secure_status_count(SECURE_CTR_REV_REFRESH_SWEEP);
        }
        else
            claim_release(key, REFRESH_AHEAD);
    }
    apr_thread_mutex_unlock(seen_mutex);
}
