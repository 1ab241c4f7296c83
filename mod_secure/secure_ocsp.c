/* secure_ocsp — the online sources' entry point and OCSP for client certificates. Only a certificate that
 * verified is looked up online, and only with an issuer whose key signed it. An OCSP response counts only
 * when signed by that issuer, a delegated responder of it or a configured responder certificate, for our
 * CertID, fresh, and carrying our nonce. Anything else is UNKNOWN, logged and counted, and feeds the
 * circuit breaker (secure_fetch, shared by the server's processes). */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "apr_strings.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "secure_cache.h"
#include "secure_config.h"
#include "secure_crlfetch.h"
#include "secure_fetch.h"
#include "secure_crlcore.h"
#include "secure_log.h"
#include "secure_ocsp.h"
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
};

#define OCSP_DEFAULT(conf, field, dflt) ((conf)->field == SECURE_UNSET ? (dflt) : (conf)->field)

/* Each default once (the README's directive table states the same values). */
#define OCSP_TIMEOUT_DEFAULT  3     /* SecureOCSPTimeout, seconds */
#define OCSP_FAILURES_DEFAULT 5     /* SecureOCSPFailures */
#define OCSP_RETRY_DEFAULT    30    /* SecureOCSPRetry, seconds */
#define OCSP_MAX_AGE_DEFAULT  0     /* SecureOCSPMaxAge: no limit */

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

/* Seconds from now to t (negative in the past); 0 when t cannot be read. */
static long seconds_from_now(const ASN1_TIME *t)
{
    int days = 0, secs = 0;

    if (t == NULL || !ASN1_TIME_diff(&days, &secs, NULL, t))
        return 0;
    return (long)days * 86400L + secs;
}

/* ---- lifecycle (the breaker lives in secure_fetch, the fetched-CRL table in secure_crlfetch) ---- */

int secure_online_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    return secure_fetch_pre_config(pconf) == APR_SUCCESS ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

int secure_online_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    int needed = 0;

    (void)plog;
    (void)ptemp;
    /* the first pass only checks the config */
    for (v = s; ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG && v != NULL; v = v->next)
        if (secure_config_engine_on(v) && secure_online_enabled(v))
            needed = 1;
    return secure_fetch_post_config(pconf, s, needed) == APR_SUCCESS ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

void secure_online_child_init(apr_pool_t *pchild, server_rec *s)
{
    secure_fetch_child_init(pchild, s);
    secure_crlfetch_child_init(pchild, s);
}


static secure_fetch_limits_t online_limits(const struct secure_ocsp_conf *conf)
{
    secure_fetch_limits_t lim;

    lim.timeout = (int)OCSP_DEFAULT(conf, timeout, OCSP_TIMEOUT_DEFAULT);
    lim.failures = OCSP_DEFAULT(conf, failures, OCSP_FAILURES_DEFAULT);
    lim.retry = OCSP_DEFAULT(conf, retry, OCSP_RETRY_DEFAULT);
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


/* The reasons OCSP_check_validity raised (it checks them all). */
typedef struct {
    int future, expired, too_old;
} validity_errs_t;

static void validity_error_seen(void *baton, unsigned long e, const char *data)
{
    validity_errs_t *ve = baton;

    (void)data;
    if (ERR_GET_LIB(e) != ERR_LIB_OCSP)
        return;
    ve->future |= ERR_GET_REASON(e) == OCSP_R_STATUS_NOT_YET_VALID;
    ve->expired |= ERR_GET_REASON(e) == OCSP_R_STATUS_EXPIRED;
    ve->too_old |= ERR_GET_REASON(e) == OCSP_R_STATUS_TOO_OLD;
}

/* Why OCSP_check_validity refused thisUpdate / nextUpdate, from the reasons it raised (it checks them
 * all): an operator fixes a clock for a future thisUpdate, the responder for an expired nextUpdate. The
 * message, and its counter in *ctr. */
static const char *validity_problem(const char *url, const ASN1_GENERALIZEDTIME *thisupd,
                                    const ASN1_GENERALIZEDTIME *nextupd, long max_age, secure_counter_t *ctr,
                                    apr_pool_t *p)
{
    validity_errs_t ve = { 0, 0, 0 };
    const char *errs = secure_ossl_errors_seen(p, validity_error_seen, &ve);

    *ctr = SECURE_CTR_OCSP_STALE;
    if (ve.future) {
        *ctr = SECURE_CTR_OCSP_FUTURE;
        return apr_psprintf(p, "response from %s is dated in the future: its thisUpdate is %ld s from now, "
                            "more than the %ld s of clock skew allowed (check the responder's clock and "
                            "ours)", url, seconds_from_now(thisupd), SECURE_OCSP_SKEW);
    }
    if (ve.expired)
        return apr_psprintf(p, "response from %s has expired: its nextUpdate passed %ld s ago (%ld s of "
                            "clock skew allowed); the responder serves outdated responses", url,
                            -seconds_from_now(nextupd), SECURE_OCSP_SKEW);
    if (ve.too_old)
        return apr_psprintf(p, "response from %s is not fresh: its thisUpdate is %ld s old, more than "
                            "SecureOCSPMaxAge %ld s", url, -seconds_from_now(thisupd), max_age);
    *ctr = SECURE_CTR_OCSP_BAD_RESPONSE;
    return apr_psprintf(p, "response from %s has an invalid validity period: thisUpdate %ld s, nextUpdate "
                        "%s%ld s from now (%s)", url, seconds_from_now(thisupd), nextupd ? "" : "absent, ",
                        nextupd ? seconds_from_now(nextupd) : 0L, *errs ? errs : "no OpenSSL detail");
}

/* Checks a response against our request; fills v (GOOD / REVOKED / UNKNOWN). 1 when the responder
 * worked (a verified answer, even "unknown"), 0 when it failed (breaker). */
static int ocsp_evaluate(const struct secure_ocsp_conf *conf, const char *url, OCSP_REQUEST *req,
                         OCSP_RESPONSE *resp, OCSP_CERTID *id, X509 *issuer, X509_STORE *trust,
                         secure_verdict_t *v, apr_pool_t *p)
{
    OCSP_BASICRESP *bs = NULL;
    STACK_OF(X509) *certs = NULL;
    X509_STORE *own_store = NULL;
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    int rstatus, status = -1, reason = -1, nonce, i, worked = 0;
    long max_age = OCSP_DEFAULT(conf, max_age, OCSP_MAX_AGE_DEFAULT), next_in;
    apr_time_t now = apr_time_now();

    rstatus = OCSP_response_status(resp);
    if (rstatus != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        verdict_unknown(v, apr_psprintf(p, "responder %s answered '%s' (OCSPResponseStatus %d)", url,
                                        OCSP_response_status_str(rstatus), rstatus));
        secure_status_count(SECURE_CTR_OCSP_BAD_RESPONSE);
        goto cleanup;
    }
    if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
        verdict_unknown(v, apr_psprintf(p, "responder %s sent no basic OCSP response (%s)", url,
                                        secure_ossl_errors(p)));
        secure_status_count(SECURE_CTR_OCSP_BAD_RESPONSE);
        goto cleanup;
    }
    if (conf->nonce != 0) {
        /* 1: ours came back. -1: the responder ignored it, 0: a different one, 3: one we never sent */
        nonce = OCSP_check_nonce(req, bs);
        if (nonce != 1) {
            verdict_unknown(v, apr_psprintf(p, "responder %s %s", url,
                                            nonce == -1 ? "did not echo the request nonce (set "
                                                          "SecureOCSPNonce off for responders that "
                                                          "pre-sign responses)"
                                                        : "answered with a nonce that does not match "
                                                          "the request (replayed or mixed-up response)"));
            secure_status_count(SECURE_CTR_OCSP_BAD_NONCE);
            goto cleanup;
        }
    }
    /* Candidate signers found in `certs` are trusted as they are (OCSP_TRUSTOTHER), so `certs` holds only
     * certificates we trust: the issuer (from the verified chain or the trust store, and its key signed
     * the certificate: secure_online_check) and the operator's SecureOCSPResponderCert; never a
     * certificate the client sent. A delegated responder included in the response is chain-checked
     * against the vhost's CA store and must be issued by that issuer with the OCSP-signing EKU
     * (OpenSSL's ocsp_check_issuer). */
    if ((certs = sk_X509_new_null()) == NULL || !sk_X509_push(certs, issuer))
        goto nomem;
    for (i = 0; conf->responder_certs && i < sk_X509_num(conf->responder_certs); i++)
        if (!sk_X509_push(certs, sk_X509_value(conf->responder_certs, i)))
            goto nomem;
    if (trust == NULL) {
        if ((own_store = X509_STORE_new()) == NULL || !X509_STORE_add_cert(own_store, issuer))
            goto nomem;
        trust = own_store;
    }
    if (OCSP_basic_verify(bs, certs, trust, OCSP_TRUSTOTHER) <= 0) {
        verdict_unknown(v, apr_psprintf(p, "response from %s is not signed by the issuer, a delegated "
                                        "responder of the issuer or a SecureOCSPResponderCert (%s)", url,
                                        secure_ossl_errors(p)));
        secure_status_count(SECURE_CTR_OCSP_BAD_SIGNATURE);
        goto cleanup;
    }
    if (!OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd)) {
        verdict_unknown(v, apr_psprintf(p, "response from %s does not cover this certificate (no "
                                        "matching CertID)", url));
        secure_status_count(SECURE_CTR_OCSP_BAD_RESPONSE);
        goto cleanup;
    }
    /* validity_problem reads the reasons OCSP_check_validity raises: start from an empty queue */
    secure_ossl_discard("left over from OCSP_resp_find_status, which succeeded");
    if (!OCSP_check_validity(thisupd, nextupd, SECURE_OCSP_SKEW, max_age > 0 ? max_age : -1)) {
        secure_counter_t ctr;

        verdict_unknown(v, validity_problem(url, thisupd, nextupd, max_age, &ctr, p));
        secure_status_count(ctr);
        goto cleanup;
    }
    worked = 1;
    v->expires = now + apr_time_from_sec(secure_cache_ttl());
    if (nextupd != NULL && (next_in = seconds_from_now(nextupd)) > 0
        && now + apr_time_from_sec(next_in) < v->expires)
        v->expires = now + apr_time_from_sec(next_in);
    switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
        v->status = SECURE_REV_GOOD;
        v->detail = apr_psprintf(p, "responder %s: good", url);
        break;
    case V_OCSP_CERTSTATUS_REVOKED:
        v->status = SECURE_REV_REVOKED;
        v->reason = reason >= 0 ? reason : -1;
        v->revoked_at = rev ? now + apr_time_from_sec(seconds_from_now(rev)) : 0;
        v->detail = apr_psprintf(p, "responder %s: revoked (%s)", url,
                                 reason >= 0 ? secure_crlcore_reason_name(reason) : "no reason given");
        break;
    default:
        v->status = SECURE_REV_UNKNOWN;
        v->detail = apr_psprintf(p, "responder %s does not know this certificate", url);
        if (v->expires > now + apr_time_from_sec(secure_cache_unknown_ttl()))
            v->expires = now + apr_time_from_sec(secure_cache_unknown_ttl());
        break;
    }
    goto cleanup;
nomem:
    verdict_unknown(v, "out of memory while checking the OCSP response");
cleanup:
    sk_X509_free(certs);   /* the certificates belong to the caller and the config */
    X509_STORE_free(own_store);
    OCSP_BASICRESP_free(bs);
    secure_ossl_discard("every failure above took the errors into the verdict's detail");
    return worked;
}

static void ocsp_query(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, X509_STORE *trust,
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
    if (!secure_fetch_breaker_allow(url, &until, &why, p)) {
        verdict_unknown(v, apr_psprintf(p, "responder %s skipped: %s", url, why));
        secure_status_count(SECURE_CTR_OCSP_SKIPPED);
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
    if ((resp = ocsp_transfer(url, req, lim->timeout, &why, p)) == NULL)
        goto failed;
    worked = ocsp_evaluate(conf, url, req, resp, id, issuer, trust, v, p);
    if (worked) {
        secure_fetch_breaker_record(s, url, 1, lim);
        ocsp_log(s, c, p, APLOG_DEBUG, "mod_secure: %s: client %s certificate %s (serial %s): %s in %"
                 APR_TIME_T_FMT " ms", secure_config_vhost_name(s), c ? c->client_ip : "-",
                 cert_subject(cert, p), cert_serial(cert, p), v->detail, apr_time_as_msec(apr_time_now() - t0));
        goto cleanup;
    }
    why = v->detail;
failed:
    verdict_unknown(v, why);
    secure_status_count(SECURE_CTR_OCSP_ERRORS);
    ocsp_log(s, c, p, APLOG_WARNING, SECTAG(10503) "%s: client %s certificate %s (serial %s): OCSP status "
             "UNKNOWN: %s", secure_config_vhost_name(s), c ? c->client_ip : "-", cert_subject(cert, p),
             cert_serial(cert, p), why);
    if (secure_fetch_breaker_record(s, url, 0, lim))
        ocsp_log(s, c, p, APLOG_ERR, SECTAG(10504) "%s: OCSP responder %s failed %ld times in a row: "
                 "skipping it for %ld s (SecureOCSPFailures / SecureOCSPRetry)", secure_config_vhost_name(s),
                 url, lim->failures, lim->retry);
cleanup:
    OCSP_RESPONSE_free(resp);
    OCSP_REQUEST_free(req);
    OCSP_CERTID_free(id);
    secure_ossl_discard("every failure above took the errors into the logged reason");
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
    /* a fetched CRL is a CRL: it comes before OCSP, as a local one does */
    if (conf->crl_fetch == 1 && secure_crlfetch_check(s, c, cert, issuer, &lim, v, p)
        && (v->status != SECURE_REV_UNKNOWN || conf->enabled != 1))
        return;
    if (conf->enabled == 1) {
        v->reason = -1;
        v->revoked_at = 0;
        ocsp_query(s, c, cert, issuer, trust, &lim, v, p);
    }
}
