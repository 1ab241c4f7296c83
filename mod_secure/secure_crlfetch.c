/* secure_crlfetch — CRLs from the client certificate's distribution point, for issuers without a local
 * CRL. Each process keeps the CRLs it fetched in a table keyed by URL (threads share it under a mutex,
 * each reader holds its own reference); verdicts go to the shared verdict cache like OCSP answers. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/x509v3.h>

#include "secure_cache.h"
#include "secure_config.h"
#include "secure_crlcore.h"
#include "secure_crlfetch.h"
#include "secure_log.h"
#include "secure_ocsp.h"
#include "secure_status.h"

APLOG_USE_MODULE(secure);

/* A fetched CRL, checked and compacted by the CRL core (the same rules as SecureCRL files). */
typedef struct {
    secure_crlcore_crl_t *crl;       /* one reference held by the table */
    unsigned char issuer_key[32];    /* sha256 of the issuer key that verified it */
    apr_time_t next_update;
    apr_time_t refresh_at;           /* fetch again from here on, before nextUpdate */
} fetched_crl_t;

static apr_pool_t *crl_pool;            /* per process (child_init) */
static apr_hash_t *crl_table;           /* url -> fetched_crl_t */
static apr_thread_mutex_t *crl_mutex;

static apr_status_t crl_table_free(void *data)
{
    apr_hash_index_t *hi;

    (void)data;
    for (hi = apr_hash_first(NULL, crl_table); hi; hi = apr_hash_next(hi))
        secure_crlcore_free(((fetched_crl_t *)apr_hash_this_val(hi))->crl);
    crl_table = NULL;
    return APR_SUCCESS;
}

static void crlfetch_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)s;
    if (apr_pool_create(&crl_pool, pchild) != APR_SUCCESS)
        return;
    if (apr_thread_mutex_create(&crl_mutex, APR_THREAD_MUTEX_DEFAULT, crl_pool) != APR_SUCCESS)
        return;
    crl_table = apr_hash_make(crl_pool);
    apr_pool_cleanup_register(crl_pool, NULL, crl_table_free, apr_pool_cleanup_null);
}

void secure_crlfetch_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_child_init(crlfetch_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

/* The first http:// URI among the certificate's CRL distribution points, or NULL. */
static const char *cdp_http_url(X509 *cert, apr_pool_t *p)
{
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
    const char *url = NULL;
    int i, j;

    for (i = 0; dps != NULL && url == NULL && i < sk_DIST_POINT_num(dps); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (dp->distpoint == NULL || dp->distpoint->type != 0)
            continue;
        for (j = 0; url == NULL && j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
            const unsigned char *u;
            if (gn->type != GEN_URI)
                continue;
            u = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
            if (!strncasecmp((const char *)u, "http://", 7))
                url = apr_pstrmemdup(p, (const char *)u,
                                     (apr_size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier));
        }
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    return url;
}

/* The whole response body (at most SECURE_CRLFETCH_MAX_BYTES), malloc'ed, or NULL. */
static unsigned char *body_bytes(BIO *body, size_t *len)
{
    size_t cap = 64 * 1024, n = 0;
    unsigned char *buf = malloc(cap), *nw;
    int got;

    while (buf != NULL && (got = BIO_read(body, buf + n, (int)(cap - n))) > 0) {
        n += (size_t)got;
        if (n == cap) {
            if (cap >= (size_t)SECURE_CRLFETCH_MAX_BYTES || (nw = realloc(buf, cap * 2)) == NULL) {
                free(buf);
                return NULL;
            }
            buf = nw;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}

/* Downloads the CRL at url and checks it with the CRL core against issuer (the same rules as a SecureCRL
 * file). A new entry (its CRL owned by it) that is fresh now; or NULL with *why, and in *stale a CRL
 * that passed the checks but is not fresh (its revocations still count), or NULL. */
static fetched_crl_t *crl_fetch(server_rec *s, const char *url, X509 *issuer, secure_crlcore_crl_t **stale,
                                const char **why, apr_pool_t *p)
{
    secure_crlcore_trust_t trust = { NULL, issuer, NULL };
    secure_crlcore_crl_t **crls = NULL;
    char reason[SECURE_CRLCORE_WHY_MAX];
    BIO *body = NULL;
    unsigned char *data = NULL;
    size_t len = 0, n = 0;
    fetched_crl_t *e = NULL;
    apr_time_t now = apr_time_now(), last, next;
    int64_t nu = 0;
    unsigned int mdlen = 0;

    *stale = NULL;
    secure_status_count(SECURE_CTR_CRL_FETCHES);
    body = OSSL_HTTP_get(url, "", NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 1,
                         (size_t)SECURE_CRLFETCH_MAX_BYTES, secure_ocsp_timeout(s));
    if (body == NULL) {
        *why = apr_psprintf(p, "download failed within %d s or exceeded %ld bytes (%s)",
                            secure_ocsp_timeout(s), SECURE_CRLFETCH_MAX_BYTES, secure_ocsp_ssl_errors(p));
        goto cleanup;
    }
    if ((data = body_bytes(body, &len)) == NULL) {
        *why = "cannot read the body (out of memory or too large)";
        goto cleanup;
    }
    if (secure_crlcore_load(data, len, &trust, &crls, &n, NULL, NULL, reason, sizeof(reason)) < 0) {
        *why = apr_pstrcat(p, "the CRL is refused: ", reason, NULL);
        goto cleanup;
    }
    if (n != 1) {
        *why = apr_psprintf(p, "the body holds %" APR_SIZE_T_FMT " CRLs, not one", (apr_size_t)n);
        goto cleanup;
    }
    switch (secure_crlcore_time_state(crls[0], (int64_t)apr_time_sec(now), 0)) {
    case SECURE_CRLCORE_FRESH:
        break;
    case SECURE_CRLCORE_NO_NEXT_UPDATE:
        *why = "the CRL has no nextUpdate, so its freshness cannot be judged";
        break;
    case SECURE_CRLCORE_NOT_YET_VALID:
        *why = "the CRL's thisUpdate is in the future";
        break;
    default:
        *why = "the CRL's nextUpdate has passed (the distribution point serves a stale CRL)";
        break;
    }
    if (*why != NULL) {
        *stale = crls[0];
        crls[0] = NULL;
        goto cleanup;
    }
    e = apr_pcalloc(p, sizeof(*e));
    if (!X509_pubkey_digest(issuer, EVP_sha256(), e->issuer_key, &mdlen)) {
        *why = "cannot hash the issuer key";
        e = NULL;
        goto cleanup;
    }
    secure_crlcore_next_update(crls[0], &nu);
    last = apr_time_from_sec((apr_time_t)secure_crlcore_this_update(crls[0]));
    next = apr_time_from_sec((apr_time_t)nu);
    e->next_update = next;
    /* refresh halfway through the validity, at most an hour before nextUpdate */
    e->refresh_at = next - ((next - last) / 2 < apr_time_from_sec(3600) ? (next - last) / 2
                                                                        : apr_time_from_sec(3600));
    e->crl = crls[0];
    crls[0] = NULL;
cleanup:
    secure_crlcore_free_all(crls, n);
    free(data);
    BIO_free(body);
    ERR_clear_error();
    return e;
}

int secure_crlfetch_check(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, secure_verdict_t *v,
                          apr_pool_t *p)
{
    const char *url = cdp_http_url(cert, p), *why = NULL;
    fetched_crl_t *e, *fresh = NULL;
    secure_crlcore_crl_t *crl = NULL, *stale = NULL;
    secure_crlcore_answer_t a;
    unsigned char key[32];
    unsigned int mdlen = 0;
    apr_time_t now = apr_time_now(), next = 0, until = 0;
    int due = 1;

    if (url == NULL)
        return 0;
    v->source = "crl-fetch";
    if (!X509_pubkey_digest(issuer, EVP_sha256(), key, &mdlen)) {
        why = "cannot hash the issuer key";
        goto unknown;
    }
    if (crl_table != NULL && apr_thread_mutex_lock(crl_mutex) == APR_SUCCESS) {
        e = apr_hash_get(crl_table, url, APR_HASH_KEY_STRING);
        if (e != NULL && !memcmp(e->issuer_key, key, sizeof(key))) {
            secure_crlcore_up_ref(e->crl);
            crl = e->crl;
            next = e->next_update;
            due = now >= e->refresh_at;
        }
        apr_thread_mutex_unlock(crl_mutex);
    }
    if (due && secure_breaker_allow(url, &until)) {
        fresh = crl_fetch(s, url, issuer, &stale, &why, p);
        secure_breaker_record(s, url, fresh != NULL);
        if (fresh == NULL) {
            secure_status_count(SECURE_CTR_CRL_FETCH_ERRORS);
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SECTAG(10550) "%s: CRL distribution point %s: %s; %s", secure_config_vhost_name(s),
                         url, why, crl ? "keeping the CRL fetched before until its nextUpdate"
                                       : "revocation status of its certificates is UNKNOWN");
        }
        else {
            secure_crlcore_free(crl);
            crl = fresh->crl;
            next = fresh->next_update;
            if (crl_table != NULL && apr_thread_mutex_lock(crl_mutex) == APR_SUCCESS) {
                /* the process pool is shared by threads: allocate from it under the mutex only, and
                 * reuse an existing entry so refreshes do not grow it */
                secure_crlcore_up_ref(crl);
                e = apr_hash_get(crl_table, url, APR_HASH_KEY_STRING);
                if (e != NULL)
                    secure_crlcore_free(e->crl);
                else {
                    e = apr_pcalloc(crl_pool, sizeof(*e));
                    apr_hash_set(crl_table, apr_pstrdup(crl_pool, url), APR_HASH_KEY_STRING, e);
                }
                *e = *fresh;
                memcpy(e->issuer_key, key, sizeof(key));
                apr_thread_mutex_unlock(crl_mutex);
            }
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         SECTAG(10551) "%s: fetched the CRL of %s from %s: %" APR_SIZE_T_FMT " revoked, valid %"
                         APR_TIME_T_FMT " s more", secure_config_vhost_name(s), "the issuer", url,
                         (apr_size_t)secure_crlcore_count(crl), apr_time_sec(next - now));
        }
    }
    else if (due && crl == NULL) {
        why = apr_psprintf(p, "skipped: its circuit is open for %" APR_TIME_T_FMT " s more after "
                           "repeated failures", apr_time_sec(until - now) + 1);
    }
    /* the verdict follows the same rules as for SecureCRL files (secure_crlcore_answer_*): the fresh CRL
     * answers; a revocation listed in a CRL that is not fresh (or not fresh any more) still counts */
    secure_crlcore_answer_init(&a);
    if (crl != NULL)
        secure_crlcore_answer_add(&a, crl, NULL, cert, issuer, (int64_t)apr_time_sec(now), 0);
    if (stale != NULL)
        secure_crlcore_answer_add(&a, stale, NULL, cert, issuer, (int64_t)apr_time_sec(now), 0);
    switch (secure_crlcore_answer_end(&a, cert)) {
    case SECURE_CRLCORE_REVOKED:
        v->status = SECURE_REV_REVOKED;
        v->reason = a.reason;
        v->revoked_at = a.revoked_at > 0 ? apr_time_from_sec((apr_time_t)a.revoked_at) : 0;
        v->detail = apr_psprintf(p, "listed in the CRL from %s", url);
        v->expires = a.time_state == SECURE_CRLCORE_FRESH ? next
                                                          : now + apr_time_from_sec(secure_cache_unknown_ttl());
        goto cleanup;
    case SECURE_CRLCORE_GOOD:
        v->status = SECURE_REV_GOOD;
        v->detail = apr_psprintf(p, "not listed in the CRL from %s", url);
        v->expires = next;
        goto cleanup;
    case SECURE_CRLCORE_UNKNOWN:
        if (why == NULL)
            why = "the CRL fetched before has passed its nextUpdate and no newer one could be fetched";
        goto unknown;
    default:
        if (crl != NULL || stale != NULL)
            why = "the CRL does not cover this certificate (issuingDistributionPoint scope)";
        goto unknown;
    }
unknown:
    v->status = SECURE_REV_UNKNOWN;
    v->reason = -1;
    v->revoked_at = 0;
    v->detail = apr_psprintf(p, "CRL distribution point %s: %s", url, why ? why : "no CRL");
    v->expires = now + apr_time_from_sec(secure_cache_unknown_ttl());
    if (c != NULL)
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c, SECTAG(10552) "%s: client %s: revocation status from "
                      "the CRL distribution point is UNKNOWN: %s", secure_config_vhost_name(s), c->client_ip,
                      v->detail);
cleanup:
    secure_crlcore_free(crl);
    secure_crlcore_free(stale);
    return 1;
}
