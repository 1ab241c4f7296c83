/* secure_fetch — the online fetch and the circuit breaker's shared placement (see the header).
 *
 * Why not OSSL_HTTP_get: it follows up to 50 redirections to any host and port (a distribution point
 * could bounce us anywhere), and without a connection of ours OSSL_HTTP_open takes a proxy from the
 * http_proxy environment variable. OSSL_HTTP_transfer on a BIO we connected ourselves does neither: it
 * hands OSSL_HTTP_exchange no redirection URL, so a 301 / 302 ends as HTTP_R_REDIRECTION_NOT_ENABLED,
 * and every other 3xx as an unsupported status; both are failures here (t/online_ssrf.t). */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_mutex.h"
#include "apr_global_mutex.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/httperr.h>

#include <string.h>
#include <strings.h>
#include <time.h>

#include "secure_breaker.h"
#include "secure_config.h"
#include "secure_fetch.h"
#include "secure_log.h"
#include "secure_ossl.h"
#include "secure_status.h"

APLOG_USE_MODULE(secure);

#define SECURE_FETCH_BREAKER_MUTEX "secure-online-breaker"

/* ---- URLs --------------------------------------------------------------------------------------- */

const char *secure_fetch_url_problem(const char *url)
{
    char *user = NULL;
    int use_ssl = 0, parsed;
    const unsigned char *c;

    if (url == NULL || *url == '\0')
        return "the URL is empty or holds a NUL byte";
    if (strnlen(url, SECURE_BREAKER_URL_MAX) >= SECURE_BREAKER_URL_MAX)
        return "the URL is longer than 511 bytes";
    for (c = (const unsigned char *)url; *c; c++)
        if (*c <= 0x20 || *c >= 0x7f)
            return "the URL contains blanks, control characters or non-ASCII bytes";
    if (strncasecmp(url, "http://", 7) != 0)
        return strncasecmp(url, "https://", 8) == 0
               ? "https is not supported (OCSP responses and CRLs carry their own signature); use http://"
               : "only http:// URLs are fetched";
    parsed = OSSL_HTTP_parse_url(url, &use_ssl, &user, NULL, NULL, NULL, NULL, NULL, NULL);
    secure_ossl_discard("a URL that does not parse is refused below in operator words");
    if (!parsed || use_ssl) {
        OPENSSL_free(user);
        return "the URL does not parse as http://host[:port]/path";
    }
    if (user != NULL && *user != '\0') {
        OPENSSL_free(user);
        return "the URL carries user information (user@host), which is never sent";
    }
    OPENSSL_free(user);
    /* OSSL_HTTP_parse_url takes an '@' in the authority as the end of user information; an empty one
     * ("http://@host/") is refused too */
    {
        const char *auth = url + 7, *end = auth + strcspn(auth, "/?#");
        if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
            return "the URL carries user information (user@host), which is never sent";
    }
    return NULL;
}

const char *secure_fetch_uri(const GENERAL_NAME *gn, apr_pool_t *p)
{
    const unsigned char *u;
    int len;

    if (gn == NULL || gn->type != GEN_URI)
        return NULL;
    u = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
    len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
    if (u == NULL || len <= 0 || memchr(u, '\0', (size_t)len) != NULL)
        return "";
    return apr_pstrmemdup(p, (const char *)u, (apr_size_t)len);
}

/* ---- OpenSSL errors ----------------------------------------------------------------------------- */

/* OpenSSL's HTTP client checks the body against its DER header, the Content-Length, the Content-Type and
 * our size cap before it hands the body over. These reasons mean the peer did answer, with bytes that
 * are not what we asked for: the same verdict as a body d2i rejects. Which check sees the bytes first
 * depends only on the framing, so both must be reported alike. */
static const int bad_body_reasons[] = {
    HTTP_R_MISSING_ASN1_ENCODING, HTTP_R_ERROR_PARSING_ASN1_LENGTH, HTTP_R_INCONSISTENT_CONTENT_LENGTH,
    HTTP_R_ASN1_LEN_EXCEEDS_MAX_RESP_LEN, HTTP_R_MAX_RESP_LEN_EXCEEDED, HTTP_R_UNEXPECTED_CONTENT_TYPE,
    HTTP_R_MISSING_CONTENT_TYPE,
};

/* What the errors of a failed exchange mean: a redirection, a body of the wrong kind, or neither. */
typedef struct {
    int redirect;
    int bad_body;
} fetch_errs_t;

static int is_redirect_error(unsigned long e, const char *data)
{
    int reason = ERR_GET_REASON(e);

    if (reason == HTTP_R_REDIRECTION_NOT_ENABLED || reason == HTTP_R_MISSING_REDIRECT_LOCATION
        || reason == HTTP_R_TOO_MANY_REDIRECTIONS || reason == HTTP_R_REDIRECTION_FROM_HTTPS_TO_HTTP)
        return 1;
    /* any other 3xx: OpenSSL reports the status code in the error data ("code=307") */
    return (reason == HTTP_R_STATUS_CODE_UNSUPPORTED || reason == HTTP_R_RECEIVED_ERROR)
           && data != NULL && strncmp(data, "code=3", 6) == 0;
}

/* Classifies one error of a failed exchange into the fetch_errs_t baton (secure_ossl_errors_seen). */
static void transfer_error_seen(void *baton, unsigned long e, const char *data)
{
    fetch_errs_t *fe = baton;
    size_t i;

    if (ERR_GET_LIB(e) != ERR_LIB_HTTP)
        return;
    for (i = 0; i < sizeof(bad_body_reasons) / sizeof(*bad_body_reasons); i++)
        if (ERR_GET_REASON(e) == bad_body_reasons[i])
            fe->bad_body = 1;
    fe->redirect |= is_redirect_error(e, data);
}

/* ---- the exchange ------------------------------------------------------------------------------- */

/* One connection attempt to host:port (each address the name resolves to), bounded by max_time. OpenSSL's
 * own connect in OSSL_HTTP_open (BIO_do_connect_retry) takes a refused connection for a passing state
 * and tries again every 100 ms until the timeout, so a peer that is down held the handshake, and its
 * worker thread, for the whole timeout. A refusal is an answer: give up at once. The connected BIO (the
 * caller frees it), or NULL with the reason in the error queue; *timed_out says whether max_time passed. */
static BIO *peer_connect(const char *host, const char *port, time_t max_time, int *timed_out)
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

BIO *secure_fetch(const secure_fetch_req_t *rq, secure_fetch_result_t *res, const char **why, apr_pool_t *p)
{
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    int use_ssl = 0, timed_out, left;
    BIO *body = NULL, *cbio = NULL;
    const char *fullpath, *problem;
    apr_time_t t0 = apr_time_now();
    time_t max_time = time(NULL) + rq->timeout;   /* OpenSSL's deadlines are whole seconds of time() */

    *res = SECURE_FETCH_INTERNAL;
    if ((problem = secure_fetch_url_problem(rq->url)) != NULL) {
        *res = SECURE_FETCH_REFUSED;
        *why = apr_psprintf(p, "%s URL %s is refused: %s", rq->what, rq->url ? rq->url : "(none)", problem);
        secure_status_count(SECURE_CTR_ONLINE_REFUSED);
        goto cleanup;
    }
    if (!OSSL_HTTP_parse_url(rq->url, &use_ssl, NULL, &host, &port, NULL, &path, &query, NULL)) {
        *res = SECURE_FETCH_REFUSED;
        *why = apr_psprintf(p, "%s URL %s is refused: it does not parse (%s)", rq->what, rq->url,
                            secure_ossl_errors(p));
        goto cleanup;
    }
    fullpath = (query && *query) ? apr_pstrcat(p, path, "?", query, NULL) : path;
    /* our own connection, so no proxy from httpd's environment either */
    if ((cbio = peer_connect(host, port, max_time, &timed_out)) == NULL) {
        const char *errs = secure_ossl_errors(p);

        *res = timed_out ? SECURE_FETCH_TIMEOUT : SECURE_FETCH_CONNECT;
        *why = timed_out ? apr_psprintf(p, "%s %s timed out after %d s while connecting (%s)", rq->what, rq->url,
                                        rq->timeout, errs)
                         : apr_psprintf(p, "cannot connect to %s %s: failed after %" APR_TIME_T_FMT " ms (%s)",
                                        rq->what, rq->url, apr_time_as_msec(apr_time_now() - t0), errs);
        goto cleanup;
    }
    /* max_bytes caps what a hostile peer can make us buffer; the rest of the timeout, rounded up to
     * whole seconds (all OpenSSL takes), covers sending and receiving. Not max_time - time(NULL): a
     * connect that crossed a second boundary would cut the exchange to timeout - 1 s. A NULL request
     * body makes this a GET; no redirection URL is passed on, so none is followed. */
    left = (int)((apr_time_from_sec(rq->timeout) - (apr_time_now() - t0) + APR_USEC_PER_SEC - 1)
                 / APR_USEC_PER_SEC);
    body = OSSL_HTTP_transfer(NULL, host, port, fullpath, 0, NULL, NULL, cbio, NULL, NULL, NULL, 0, NULL,
                              rq->req_type, rq->req, rq->resp_type, 1, rq->max_bytes, left > 0 ? left : 1, 0);
    if (body == NULL) {
        apr_time_t spent = apr_time_now() - t0;
        fetch_errs_t fe = { 0, 0 };
        const char *errs = secure_ossl_errors_seen(p, transfer_error_seen, &fe);

        if (fe.redirect) {
            *res = SECURE_FETCH_REDIRECT;
            *why = apr_psprintf(p, "%s %s answered with a redirection, which is never followed (%s)", rq->what,
                                rq->url, errs);
        }
        else if (fe.bad_body) {
            *res = SECURE_FETCH_BAD_BODY;
            *why = apr_psprintf(p, "%s %s sent bytes that are not %s (%s)", rq->what, rq->url, rq->resp_name,
                                errs);
        }
        else if (spent >= apr_time_from_sec(rq->timeout) - apr_time_from_msec(50)) {
            *res = SECURE_FETCH_TIMEOUT;
            *why = apr_psprintf(p, "%s %s timed out after %d s (%s)", rq->what, rq->url, rq->timeout, errs);
        }
        else {
            *res = SECURE_FETCH_HTTP;
            *why = apr_psprintf(p, "HTTP exchange with %s %s failed after %" APR_TIME_T_FMT " ms (%s)", rq->what,
                                rq->url, apr_time_as_msec(spent), errs);
        }
        goto cleanup;
    }
    *res = SECURE_FETCH_OK;
cleanup:
    BIO_free_all(cbio);   /* OSSL_HTTP_transfer leaves a BIO it was given to the caller */
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    OPENSSL_free(query);
    /* every failure above took the errors into *why; what is left came from a success (e.g. a retried connect) */
    secure_ossl_discard("left over from an exchange that succeeded or was reported in *why");
    return body;
}

/* ---- the circuit breaker in shared memory --------------------------------------------------------- */

/* The table lives in anonymous shared memory created in post_config and inherited by the children; the
 * global mutex serialises every look-up and update across processes and threads (the breaker is
 * consulted only before a network exchange, so the lock is never on a hot path). */
static secure_breaker_slot_t *breaker_table;
static apr_global_mutex_t *breaker_mutex;

apr_status_t secure_fetch_pre_config(apr_pool_t *pconf)
{
    breaker_table = NULL;
    breaker_mutex = NULL;
    return ap_mutex_register(pconf, SECURE_FETCH_BREAKER_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
}

apr_status_t secure_fetch_post_config(apr_pool_t *pconf, server_rec *s, int needed)
{
    apr_size_t size = sizeof(secure_breaker_slot_t) * SECURE_FETCH_BREAKER_SLOTS;
    void *mem;
    apr_status_t rv;

    breaker_table = NULL;
    breaker_mutex = NULL;
    if (!needed)
        return APR_SUCCESS;
    if ((rv = secure_shared_table_create(pconf, s, size, SECURE_FETCH_BREAKER_MUTEX, "the responders' circuit breaker",
                                         &mem, &breaker_mutex)) != APR_SUCCESS)
        return rv;
    breaker_table = mem;
    return APR_SUCCESS;
}

/* ---- queries in flight per URL, this process (SecureOCSPMaxInflight) ------------------------------ */

typedef struct {
    char url[SECURE_BREAKER_URL_MAX];   /* "" = free */
    long n;
} inflight_slot_t;

static inflight_slot_t inflight_table[SECURE_FETCH_INFLIGHT_URLS];
static apr_thread_mutex_t *inflight_mutex;   /* NULL: no cap in this process (see child_init) */

static apr_status_t inflight_gone(void *data)
{
    (void)data;
    inflight_mutex = NULL;
    return APR_SUCCESS;
}

int secure_fetch_inflight_enter(const char *url, long max)
{
    inflight_slot_t *slot = NULL, *free_slot = NULL;
    int ok = 1;
    size_t i;

    if (inflight_mutex == NULL || url == NULL || strlen(url) >= SECURE_BREAKER_URL_MAX
        || apr_thread_mutex_lock(inflight_mutex) != APR_SUCCESS)
        return 1;
    for (i = 0; i < SECURE_FETCH_INFLIGHT_URLS && slot == NULL; i++) {
        if (inflight_table[i].url[0] == '\0') {
            if (free_slot == NULL)
                free_slot = &inflight_table[i];
        }
        else if (strcmp(inflight_table[i].url, url) == 0)
            slot = &inflight_table[i];
    }
    if (slot == NULL && (slot = free_slot) != NULL) {
        memcpy(slot->url, url, strlen(url) + 1);
        slot->n = 0;
    }
    if (slot != NULL) {
        if (slot->n >= max)
            ok = 0;
        else
            slot->n++;
    }
    apr_thread_mutex_unlock(inflight_mutex);
    return ok;
}

void secure_fetch_inflight_leave(const char *url)
{
    size_t i;

    if (inflight_mutex == NULL || url == NULL || apr_thread_mutex_lock(inflight_mutex) != APR_SUCCESS)
        return;
    for (i = 0; i < SECURE_FETCH_INFLIGHT_URLS; i++)
        if (inflight_table[i].url[0] != '\0' && strcmp(inflight_table[i].url, url) == 0) {
            if (--inflight_table[i].n <= 0)
                memset(&inflight_table[i], 0, sizeof(inflight_table[i]));
            break;
        }
    apr_thread_mutex_unlock(inflight_mutex);
}

void secure_fetch_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    memset(inflight_table, 0, sizeof(inflight_table));
    if ((rv = apr_thread_mutex_create(&inflight_mutex, APR_THREAD_MUTEX_DEFAULT, pchild)) != APR_SUCCESS) {
        inflight_mutex = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     SECTAG(11606) "SecureOCSPMaxInflight: cannot create this process's in-flight table; "
                     "OCSP queries are not capped per responder in this process");
    }
    else
        apr_pool_cleanup_register(pchild, NULL, inflight_gone, apr_pool_cleanup_null);

    if (breaker_mutex == NULL)
        return;
    rv = apr_global_mutex_child_init(&breaker_mutex, apr_global_mutex_lockfile(breaker_mutex), pchild);
    if (rv != APR_SUCCESS) {
        /* without the lock the table cannot be used safely: this process fetches nothing (UNKNOWN) */
        breaker_mutex = NULL;
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     SECTAG(11052) "SecureOCSP / SecureCRLFetch: this process cannot attach to the circuit "
                     "breaker's mutex; its online revocation checks answer UNKNOWN without a query");
    }
}

int secure_fetch_breaker_allow(const char *url, long probe_secs, apr_time_t *until, const char **why,
                               apr_pool_t *p)
{
    int64_t open_until = 0;
    secure_breaker_state_t st;
    apr_status_t rv;

    if (breaker_table == NULL || breaker_mutex == NULL) {
        *why = "the circuit breaker is not available in this process (see the startup log)";
        return 0;
    }
    if ((rv = apr_global_mutex_lock(breaker_mutex)) != APR_SUCCESS) {
        *why = apr_psprintf(p, "cannot take the circuit breaker's mutex (%pm)", &rv);
        return 0;
    }
    st = secure_breaker_check(breaker_table, SECURE_FETCH_BREAKER_SLOTS, url, apr_time_sec(apr_time_now()),
                              probe_secs, &open_until);
    apr_global_mutex_unlock(breaker_mutex);
    switch (st) {
    case SECURE_BREAKER_ALLOW:
        return 1;
    case SECURE_BREAKER_OPEN:
        *until = apr_time_from_sec(open_until);
        *why = apr_psprintf(p, "its circuit is open for %" APR_TIME_T_FMT " s more after repeated failures",
                            apr_time_sec(*until - apr_time_now()) + 1);
        return 0;
    case SECURE_BREAKER_PROBING:
        *until = apr_time_from_sec(open_until);
        secure_status_count(SECURE_CTR_OCSP_PROBE_HELD);
        *why = apr_psprintf(p, "its circuit is half-open and another check is the one probe allowed (given up in "
                            "%" APR_TIME_T_FMT " s at most)", apr_time_sec(*until - apr_time_now()) + 1);
        return 0;
    case SECURE_BREAKER_FULL:
        secure_status_count(SECURE_CTR_ONLINE_REFUSED);
        *why = apr_psprintf(p, "the circuit breaker already tracks %d failing URLs, all with open circuits, "
                            "and cannot track one more", SECURE_FETCH_BREAKER_SLOTS);
        return 0;
    default:
        *why = "the URL is empty or too long for the circuit breaker";
        return 0;
    }
}

int secure_fetch_breaker_record(server_rec *s, const char *url, int ok, const secure_fetch_limits_t *lim)
{
    secure_breaker_state_t st;
    apr_status_t rv;

    if (breaker_table == NULL || breaker_mutex == NULL)
        return 0;
    if ((rv = apr_global_mutex_lock(breaker_mutex)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     SECTAG(11053) "circuit breaker: cannot take its mutex; the %s of %s is not recorded",
                     ok ? "success" : "failure", url);
        return 0;
    }
    st = secure_breaker_record(breaker_table, SECURE_FETCH_BREAKER_SLOTS, url, ok, apr_time_sec(apr_time_now()),
                               (uint32_t)lim->failures, (int64_t)lim->retry);
    apr_global_mutex_unlock(breaker_mutex);
    if (st == SECURE_BREAKER_OPEN) {
        secure_status_count(SECURE_CTR_OCSP_BREAKER_OPEN);
        return 1;
    }
    if (st == SECURE_BREAKER_FULL || st == SECURE_BREAKER_BAD_URL) {
        secure_status_count(SECURE_CTR_ONLINE_REFUSED);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SECTAG(11054) "circuit breaker: cannot record the failure of %s: %s", url,
                     st == SECURE_BREAKER_FULL ? "every one of its slots holds an open circuit; the URL is not "
                                                 "queried again until one closes"
                                               : "the URL is empty or too long");
    }
    return 0;
}
