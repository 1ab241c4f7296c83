/* secure_ocsp — OCSP for client certificates with OpenSSL's HTTP client (one timeout over the whole
 * exchange) and OCSP API; a response counts only when signed by the issuer, a delegated responder or a
 * configured responder certificate, for our CertID, fresh, and carrying our nonce. Anything else is
 * UNKNOWN, logged and counted, and feeds a circuit breaker shared by the server's processes. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_atomic.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/httperr.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "secure_cache.h"
#include "secure_config.h"
#include "secure_crlfetch.h"
#include "secure_log.h"
#include "secure_ocsp.h"
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
 * context of its own for https (RFC 6960 responders are http). */
const char *secure_ocsp_cmd_responder(cmd_parms *cmd, void *dconf, const char *arg)
{
    int use_ssl = 0;
    char *host = NULL, *port = NULL, *path = NULL;
    const char *err = NULL;

    (void)dconf;
    if (!OSSL_HTTP_parse_url(arg, &use_ssl, NULL, &host, &port, NULL, &path, NULL, NULL))
        err = apr_psprintf(cmd->pool, "%s: '%s' is not a URL; use http://host[:port]/path", cmd->cmd->name,
                           arg);
    else if (use_ssl)
        err = apr_psprintf(cmd->pool, "%s: '%s': https responders are not supported (OCSP responses are "
                           "signed); use an http:// URL", cmd->cmd->name, arg);
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    ERR_clear_error();
    if (err == NULL)
        cmd_conf(cmd)->responder = apr_pstrdup(cmd->pool, arg);
    return err;
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
    ERR_clear_error();   /* the loop ends on "no start line" */
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

int secure_ocsp_enabled(const server_rec *s)
{
    const struct secure_ocsp_conf *conf = ocsp_conf(s);
    return conf->enabled == 1 || conf->crl_fetch == 1;
}

int secure_ocsp_crl_fetch_on(const server_rec *s)
{
    return ocsp_conf(s)->crl_fetch == 1;
}

int secure_ocsp_timeout(const server_rec *s)
{
    return (int)OCSP_DEFAULT(ocsp_conf(s), timeout, 3);
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
                        conf->nonce != 0, (long)OCSP_DEFAULT(conf, max_age, 0), conf->crl_fetch == 1, certs);
}

/* ---- helpers ---------------------------------------------------------------------------------- */

const char *secure_ocsp_ssl_errors(apr_pool_t *p)
{
    const char *out = "";
    char buf[256];
    unsigned long e;

    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        out = *out ? apr_pstrcat(p, out, "; ", buf, NULL) : apr_pstrdup(p, buf);
    }
    return out;
}

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
    char buf[512];
    X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof(buf));
    return apr_pstrdup(p, buf);
}

static const char *cert_serial(X509 *x, apr_pool_t *p)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    const char *out = apr_pstrdup(p, hex ? hex : "?");

    OPENSSL_free(hex);
    BN_free(bn);
    return out;
}

/* Seconds from now to t (negative in the past); 0 when t cannot be read. */
static long seconds_from_now(const ASN1_TIME *t)
{
    int days = 0, secs = 0;

    if (t == NULL || !ASN1_TIME_diff(&days, &secs, NULL, t))
        return 0;
    return (long)days * 86400L + secs;
}

/* ---- circuit breaker -------------------------------------------------------------------------- */

/* A small open-addressed table in anonymous shared memory (created in post_config, inherited by the
 * children): failures and open-until per URL hash. Races between processes only blur a count by one. */
#define SECURE_BREAKER_SLOTS 64

typedef struct {
    volatile apr_uint32_t hash;        /* 0 = free */
    volatile apr_uint32_t failures;
    volatile apr_uint32_t open_until;  /* epoch seconds; 0 = closed */
} secure_breaker_slot_t;

static secure_breaker_slot_t *breaker_table;
static secure_breaker_slot_t breaker_fallback[SECURE_BREAKER_SLOTS];   /* per process, if no shm */

static apr_uint32_t url_hash(const char *url)
{
    apr_uint32_t h = 2166136261u;   /* FNV-1a */

    for (; *url; url++)
        h = (h ^ (unsigned char)*url) * 16777619u;
    return h ? h : 1;
}

static secure_breaker_slot_t *breaker_slot(const char *url)
{
    secure_breaker_slot_t *t = breaker_table ? breaker_table : breaker_fallback;
    apr_uint32_t h = url_hash(url), cur;
    unsigned i, n;

    for (n = 0, i = h % SECURE_BREAKER_SLOTS; n < SECURE_BREAKER_SLOTS; n++, i = (i + 1) % SECURE_BREAKER_SLOTS) {
        cur = apr_atomic_read32(&t[i].hash);
        if (cur == h)
            return &t[i];
        if (cur == 0 && apr_atomic_cas32(&t[i].hash, h, 0) == 0)
            return &t[i];
        if (apr_atomic_read32(&t[i].hash) == h)
            return &t[i];
    }
    return NULL;   /* more responders than slots: no breaker for this one */
}

int secure_breaker_allow(const char *url, apr_time_t *until)
{
    secure_breaker_slot_t *slot = breaker_slot(url);
    apr_uint32_t open_until;

    if (slot == NULL)
        return 1;
    open_until = apr_atomic_read32(&slot->open_until);
    if (open_until != 0 && (apr_time_t)open_until > apr_time_sec(apr_time_now())) {
        *until = apr_time_from_sec(open_until);
        return 0;
    }
    return 1;
}

/* The limits are the recording vhost's: the n-th failure seen there opens the circuit for every vhost. */
int secure_breaker_record(const server_rec *s, const char *url, int ok)
{
    const struct secure_ocsp_conf *conf = ocsp_conf(s);
    secure_breaker_slot_t *slot = breaker_slot(url);
    apr_uint32_t fails;
    long limit = OCSP_DEFAULT(conf, failures, 5), retry = OCSP_DEFAULT(conf, retry, 30);

    if (slot == NULL)
        return 0;
    if (ok) {
        apr_atomic_set32(&slot->failures, 0);
        apr_atomic_set32(&slot->open_until, 0);
        return 0;
    }
    fails = apr_atomic_inc32(&slot->failures) + 1;
    /* the n-th failure opens the circuit; a failure after it closed (half-open try) opens it again */
    if (fails >= (apr_uint32_t)limit) {
        apr_atomic_set32(&slot->open_until, (apr_uint32_t)(apr_time_sec(apr_time_now()) + retry));
        secure_status_count(SECURE_CTR_OCSP_BREAKER_OPEN);
        return 1;
    }
    return 0;
}

static int breaker_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv;
    apr_size_t size = sizeof(secure_breaker_slot_t) * SECURE_BREAKER_SLOTS;

    (void)plog;
    (void)ptemp;
    breaker_table = NULL;
    if (!secure_config_any_engine())
        return OK;
    rv = apr_shm_create(&shm, size, NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     SECTAG(10500) "OCSP circuit breaker: no shared memory; each process keeps its own "
                     "failure counts");
        return OK;
    }
    breaker_table = apr_shm_baseaddr_get(shm);
    memset(breaker_table, 0, size);
    return OK;
}

void secure_ocsp_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(breaker_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    secure_crlfetch_register_hooks(p);
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
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
    const char *url = NULL;

    if (urls != NULL && sk_OPENSSL_STRING_num(urls) > 0)
        url = apr_pstrdup(p, sk_OPENSSL_STRING_value(urls, 0));
    X509_email_free(urls);
    return url;
}

/* OpenSSL's HTTP client checks the body against its DER header, the Content-Length, the Content-Type and
 * our size cap before it hands the body over. These reasons mean the responder did answer, with bytes
 * that are not an OCSP response: the same verdict as a body d2i rejects. Which check sees the bytes first
 * depends only on the framing (with a Content-Length the client compares it with the DER length; without
 * one it returns the bytes and d2i fails), so both must be reported alike. */
static const int bad_body_reasons[] = {
    HTTP_R_MISSING_ASN1_ENCODING, HTTP_R_ERROR_PARSING_ASN1_LENGTH, HTTP_R_INCONSISTENT_CONTENT_LENGTH,
    HTTP_R_ASN1_LEN_EXCEEDS_MAX_RESP_LEN, HTTP_R_MAX_RESP_LEN_EXCEEDED, HTTP_R_UNEXPECTED_CONTENT_TYPE,
    HTTP_R_MISSING_CONTENT_TYPE,
};

/* Drains the error queue like secure_ocsp_ssl_errors; *bad_body = 1 when an error says the body is not
 * an OCSP response (bad_body_reasons). */
static const char *transfer_errors(apr_pool_t *p, int *bad_body)
{
    const char *out = "";
    char buf[256];
    unsigned long e;
    size_t i;

    *bad_body = 0;
    while ((e = ERR_get_error()) != 0) {
        for (i = 0; i < sizeof(bad_body_reasons) / sizeof(*bad_body_reasons); i++)
            if (ERR_GET_LIB(e) == ERR_LIB_HTTP && ERR_GET_REASON(e) == bad_body_reasons[i])
                *bad_body = 1;
        ERR_error_string_n(e, buf, sizeof(buf));
        out = *out ? apr_pstrcat(p, out, "; ", buf, NULL) : apr_pstrdup(p, buf);
    }
    return out;
}

/* One connection attempt to host:port (each address the name resolves to), bounded by max_time. OpenSSL's
 * own connect in OSSL_HTTP_open (BIO_do_connect_retry) takes a refused connection for a passing state
 * and tries again every 100 ms until the timeout, so a responder that is down held the handshake, and
 * its worker thread, for the whole SecureOCSPTimeout. A refusal is an answer: give up at once. The
 * connected BIO (the caller frees it), or NULL with the reason in the error queue; *timed_out says
 * whether max_time passed. */
static BIO *responder_connect(const char *host, const char *port, time_t max_time, int *timed_out)
{
    BIO *cbio = BIO_new_connect(host);
    int rv;

    *timed_out = 0;
    if (cbio == NULL || BIO_set_conn_port(cbio, port) <= 0 || BIO_set_nbio(cbio, 1) <= 0)
        goto failed;
    while ((rv = BIO_do_connect(cbio)) <= 0 && BIO_should_retry(cbio))
        if ((rv = BIO_wait(cbio, max_time, 100)) <= 0) {   /* writable: connected or refused */
            *timed_out = rv == 0;
            goto failed;
        }
    if (rv > 0)
        return cbio;
failed:
    BIO_free_all(cbio);
    return NULL;
}

/* One POST to the responder: the whole exchange bounded by timeout. The response, or NULL with *why. */
static OCSP_RESPONSE *ocsp_transfer(const char *url, OCSP_REQUEST *req, int timeout, const char **why,
                                    apr_pool_t *p)
{
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    int use_ssl = 0, timed_out, left;
    BIO *reqbio = NULL, *rspbio = NULL, *cbio = NULL;
    OCSP_RESPONSE *resp = NULL;
    const char *fullpath;
    apr_time_t t0 = apr_time_now();
    time_t max_time = time(NULL) + timeout;   /* OpenSSL's deadlines are whole seconds of time() */

    if (!OSSL_HTTP_parse_url(url, &use_ssl, NULL, &host, &port, NULL, &path, &query, NULL) || use_ssl) {
        *why = apr_psprintf(p, "responder URL %s is not a usable http:// URL", url);
        secure_status_count(SECURE_CTR_OCSP_HTTP_ERRORS);
        goto cleanup;
    }
    fullpath = (query && *query) ? apr_pstrcat(p, path, "?", query, NULL) : path;
    if ((reqbio = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST), (const ASN1_VALUE *)req)) == NULL) {
        *why = apr_psprintf(p, "cannot encode the request (%s)", secure_ocsp_ssl_errors(p));
        goto cleanup;
    }
    secure_status_count(SECURE_CTR_OCSP_QUERIES);
    /* our own connection, so no proxy from httpd's environment either */
    if ((cbio = responder_connect(host, port, max_time, &timed_out)) == NULL) {
        const char *errs = secure_ocsp_ssl_errors(p);

        if (timed_out) {
            *why = apr_psprintf(p, "responder %s timed out after %d s while connecting (%s)", url, timeout,
                                errs);
            secure_status_count(SECURE_CTR_OCSP_TIMEOUTS);
        }
        else {
            *why = apr_psprintf(p, "cannot connect to responder %s: failed after %" APR_TIME_T_FMT " ms (%s)",
                                url, apr_time_as_msec(apr_time_now() - t0), errs);
            secure_status_count(SECURE_CTR_OCSP_HTTP_ERRORS);
        }
        goto cleanup;
    }
    /* max_resp_len caps what a hostile responder can make us buffer; the rest of the timeout, rounded
     * up to whole seconds (all OpenSSL takes), covers sending and receiving. Not max_time - time(NULL):
     * a connect that crossed a second boundary would cut the exchange to timeout - 1 s */
    left = (int)((apr_time_from_sec(timeout) - (apr_time_now() - t0) + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC);
    rspbio = OSSL_HTTP_transfer(NULL, host, port, fullpath, 0, NULL, NULL, cbio, NULL, NULL, NULL, 0, NULL,
                                "application/ocsp-request", reqbio, "application/ocsp-response", 1,
                                SECURE_OCSP_MAX_RESP, left > 0 ? left : 1, 0);
    if (rspbio == NULL) {
        apr_time_t spent = apr_time_now() - t0;
        int bad_body;
        const char *errs = transfer_errors(p, &bad_body);

        if (bad_body) {
            *why = apr_psprintf(p, "responder %s sent bytes that are not a DER OCSPResponse (%s)", url, errs);
            secure_status_count(SECURE_CTR_OCSP_BAD_RESPONSE);
        }
        else if (spent >= apr_time_from_sec(timeout) - apr_time_from_msec(50)) {
            *why = apr_psprintf(p, "responder %s timed out after %d s (%s)", url, timeout, errs);
            secure_status_count(SECURE_CTR_OCSP_TIMEOUTS);
        }
        else {
            *why = apr_psprintf(p, "HTTP exchange with responder %s failed after %" APR_TIME_T_FMT
                                " ms (%s)", url, apr_time_as_msec(spent), errs);
            secure_status_count(SECURE_CTR_OCSP_HTTP_ERRORS);
        }
        goto cleanup;
    }
    if ((resp = d2i_OCSP_RESPONSE_bio(rspbio, NULL)) == NULL) {
        *why = apr_psprintf(p, "responder %s sent bytes that are not a DER OCSPResponse (%s)", url,
                            secure_ocsp_ssl_errors(p));
        secure_status_count(SECURE_CTR_OCSP_BAD_RESPONSE);
    }
cleanup:
    BIO_free(reqbio);
    BIO_free(rspbio);
    BIO_free_all(cbio);   /* OSSL_HTTP_transfer leaves a BIO it was given to the caller */
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    OPENSSL_free(query);
    return resp;
}

/* Why OCSP_check_validity refused thisUpdate / nextUpdate, from the reasons it raised (it checks them
 * all): an operator fixes a clock for a future thisUpdate, the responder for an expired nextUpdate. The
 * message, and its counter in *ctr. */
static const char *validity_problem(const char *url, const ASN1_GENERALIZEDTIME *thisupd,
                                    const ASN1_GENERALIZEDTIME *nextupd, long max_age, secure_counter_t *ctr,
                                    apr_pool_t *p)
{
    int future = 0, expired = 0, too_old = 0;
    unsigned long e;

    while ((e = ERR_get_error()) != 0) {
        if (ERR_GET_LIB(e) != ERR_LIB_OCSP)
            continue;
        future |= ERR_GET_REASON(e) == OCSP_R_STATUS_NOT_YET_VALID;
        expired |= ERR_GET_REASON(e) == OCSP_R_STATUS_EXPIRED;
        too_old |= ERR_GET_REASON(e) == OCSP_R_STATUS_TOO_OLD;
    }
    *ctr = SECURE_CTR_OCSP_STALE;
    if (future) {
        *ctr = SECURE_CTR_OCSP_FUTURE;
        return apr_psprintf(p, "response from %s is dated in the future: its thisUpdate is %ld s from now, "
                            "more than the %ld s of clock skew allowed (check the responder's clock and "
                            "ours)", url, seconds_from_now(thisupd), SECURE_OCSP_SKEW);
    }
    if (expired)
        return apr_psprintf(p, "response from %s has expired: its nextUpdate passed %ld s ago (%ld s of "
                            "clock skew allowed); the responder serves outdated responses", url,
                            -seconds_from_now(nextupd), SECURE_OCSP_SKEW);
    if (too_old)
        return apr_psprintf(p, "response from %s is not fresh: its thisUpdate is %ld s old, more than "
                            "SecureOCSPMaxAge %ld s", url, -seconds_from_now(thisupd), max_age);
    *ctr = SECURE_CTR_OCSP_BAD_RESPONSE;
    return apr_psprintf(p, "response from %s has an invalid validity period: thisUpdate %ld s, nextUpdate "
                        "%s%ld s from now", url, seconds_from_now(thisupd), nextupd ? "" : "absent, ",
                        nextupd ? seconds_from_now(nextupd) : 0L);
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
    long max_age = OCSP_DEFAULT(conf, max_age, 0), next_in;
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
                                        secure_ocsp_ssl_errors(p)));
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
    /* Candidate signers found in `certs` are trusted as they are (OCSP_TRUSTOTHER): the issuer (its
     * certificate just passed mod_ssl's chain check) and the operator's SecureOCSPResponderCert. A
     * delegated responder included in the response is chain-checked against the vhost's CA store
     * and must carry the OCSP-signing EKU from the issuer (OpenSSL's ocsp_check_issuer). */
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
                                        secure_ocsp_ssl_errors(p)));
        secure_status_count(SECURE_CTR_OCSP_BAD_SIGNATURE);
        goto cleanup;
    }
    if (!OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd)) {
        verdict_unknown(v, apr_psprintf(p, "response from %s does not cover this certificate (no "
                                        "matching CertID)", url));
        secure_status_count(SECURE_CTR_OCSP_BAD_RESPONSE);
        goto cleanup;
    }
    ERR_clear_error();   /* validity_problem reads the reasons OCSP_check_validity raises */
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
                                 reason >= 0 ? OCSP_crl_reason_str(reason) : "no reason given");
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
    ERR_clear_error();
    return worked;
}

static void ocsp_query(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, X509_STORE *trust,
                       secure_verdict_t *v, apr_pool_t *p)
{
    const struct secure_ocsp_conf *conf = ocsp_conf(s);
    int timeout = (int)OCSP_DEFAULT(conf, timeout, 3), worked = 0;
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
    if (!secure_breaker_allow(url, &until)) {
        verdict_unknown(v, apr_psprintf(p, "responder %s skipped: its circuit is open for %" APR_TIME_T_FMT
                                        " s more after repeated failures", url,
                                        apr_time_sec(until - apr_time_now()) + 1));
        secure_status_count(SECURE_CTR_OCSP_SKIPPED);
        ocsp_log(s, c, p, APLOG_INFO, SECTAG(10502) "%s: client %s certificate %s (serial %s): %s",
                 secure_config_vhost_name(s), c ? c->client_ip : "-", cert_subject(cert, p),
                 cert_serial(cert, p), v->detail);
        goto cleanup;
    }
    if ((id = OCSP_cert_to_id(NULL, cert, issuer)) == NULL || (req = OCSP_REQUEST_new()) == NULL) {
        why = apr_psprintf(p, "cannot build the request (%s)", secure_ocsp_ssl_errors(p));
        goto failed;
    }
    {
        OCSP_CERTID *copy = OCSP_CERTID_dup(id);
        if (copy == NULL || OCSP_request_add0_id(req, copy) == NULL) {
            OCSP_CERTID_free(copy);
            why = apr_psprintf(p, "cannot build the request (%s)", secure_ocsp_ssl_errors(p));
            goto failed;
        }
    }
    if (conf->nonce != 0 && !OCSP_request_add1_nonce(req, NULL, -1)) {
        why = apr_psprintf(p, "cannot add a nonce (%s)", secure_ocsp_ssl_errors(p));
        goto failed;
    }
    if ((resp = ocsp_transfer(url, req, timeout, &why, p)) == NULL)
        goto failed;
    worked = ocsp_evaluate(conf, url, req, resp, id, issuer, trust, v, p);
    if (worked) {
        secure_breaker_record(s, url, 1);
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
    if (secure_breaker_record(s, url, 0))
        ocsp_log(s, c, p, APLOG_ERR, SECTAG(10504) "%s: OCSP responder %s failed %ld times in a row: "
                 "skipping it for %ld s (SecureOCSPFailures / SecureOCSPRetry)", secure_config_vhost_name(s),
                 url, OCSP_DEFAULT(conf, failures, 5), OCSP_DEFAULT(conf, retry, 30));
cleanup:
    OCSP_RESPONSE_free(resp);
    OCSP_REQUEST_free(req);
    OCSP_CERTID_free(id);
    ERR_clear_error();
}

void secure_ocsp_check(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, X509_STORE *trust,
                       secure_verdict_t *v, apr_pool_t *p)
{
    const struct secure_ocsp_conf *conf = ocsp_conf(s);

    v->status = SECURE_REV_NONE;
    v->source = NULL;
    v->reason = -1;
    v->revoked_at = 0;
    v->expires = 0;
    v->detail = NULL;
    if (cert == NULL || issuer == NULL)
        return;
    /* a fetched CRL is a CRL: it comes before OCSP, as a local one does */
    if (conf->crl_fetch == 1 && secure_crlfetch_check(s, c, cert, issuer, v, p)
        && (v->status != SECURE_REV_UNKNOWN || conf->enabled != 1))
        return;
    if (conf->enabled == 1) {
        v->reason = -1;
        v->revoked_at = 0;
        ocsp_query(s, c, cert, issuer, trust, v, p);
    }
}
