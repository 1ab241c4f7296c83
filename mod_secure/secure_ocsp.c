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
    if ((resp = ocsp_transfer(url, req, lim->timeout, &why, p)) == NULL)
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
