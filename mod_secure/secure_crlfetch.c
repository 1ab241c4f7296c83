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
#include "secure_crlfetch.h"
#include "secure_log.h"
#include "secure_ocsp.h"
#include "secure_status.h"

APLOG_USE_MODULE(secure);

#define SECURE_CRLFETCH_SKEW 300L   /* seconds of clock difference allowed for lastUpdate */

typedef struct {
    X509_CRL *crl;                   /* one reference held by the table */
    unsigned char issuer_key[32];    /* sha256 of the issuer key that verified it */
    apr_time_t next_update;
    apr_time_t refresh_at;           /* fetch again from here on, before nextUpdate */
} crl_entry_t;

static apr_pool_t *crl_pool;            /* per process (child_init) */
static apr_hash_t *crl_table;           /* url -> crl_entry_t */
static apr_thread_mutex_t *crl_mutex;

static apr_status_t crl_table_free(void *data)
{
    apr_hash_index_t *hi;

    (void)data;
    for (hi = apr_hash_first(NULL, crl_table); hi; hi = apr_hash_next(hi))
        X509_CRL_free(((crl_entry_t *)apr_hash_this_val(hi))->crl);
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

static apr_time_t asn1_to_apr(const ASN1_TIME *t, apr_time_t now)
{
    int days = 0, secs = 0;

    if (t == NULL || !ASN1_TIME_diff(&days, &secs, NULL, t))
        return 0;
    return now + apr_time_from_sec((apr_time_t)days * 86400 + secs);
}

/* Downloads and verifies the CRL at url for issuer; a new entry (CRL owned by it) or NULL with *why. */
static crl_entry_t *crl_fetch(server_rec *s, const char *url, X509 *issuer, const char **why, apr_pool_t *p)
{
    BIO *body = NULL;
    X509_CRL *crl = NULL;
    crl_entry_t *e = NULL;
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    apr_time_t now = apr_time_now(), last, next;
    unsigned int mdlen = 0;

    secure_status_count(SECURE_CTR_CRL_FETCHES);
    body = OSSL_HTTP_get(url, "", NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 1,
                         (size_t)SECURE_CRLFETCH_MAX_BYTES, secure_ocsp_timeout(s));
    if (body == NULL) {
        *why = apr_psprintf(p, "download failed within %d s or exceeded %ld bytes (%s)",
                            secure_ocsp_timeout(s), SECURE_CRLFETCH_MAX_BYTES, secure_ocsp_ssl_errors(p));
        goto cleanup;
    }
    if ((crl = d2i_X509_CRL_bio(body, NULL)) == NULL) {
        *why = apr_psprintf(p, "the body is not a DER CRL (%s)", secure_ocsp_ssl_errors(p));
        goto cleanup;
    }
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
        *why = "the CRL was issued by another CA than the certificate's issuer";
        goto cleanup;
    }
    if (key == NULL || X509_CRL_verify(crl, key) != 1) {
        *why = apr_psprintf(p, "the CRL's signature does not verify with the issuer's key (%s)",
                            secure_ocsp_ssl_errors(p));
        goto cleanup;
    }
    last = asn1_to_apr(X509_CRL_get0_lastUpdate(crl), now);
    next = asn1_to_apr(X509_CRL_get0_nextUpdate(crl), now);
    if (next == 0 || next <= now) {
        *why = next == 0 ? "the CRL has no nextUpdate, so its freshness cannot be judged"
                         : "the CRL's nextUpdate has passed (the distribution point serves a stale CRL)";
        goto cleanup;
    }
    if (last == 0 || last > now + apr_time_from_sec(SECURE_CRLFETCH_SKEW)) {
        *why = "the CRL's lastUpdate is in the future";
        goto cleanup;
    }
    e = apr_pcalloc(p, sizeof(*e));
    if (!X509_pubkey_digest(issuer, EVP_sha256(), e->issuer_key, &mdlen)) {
        *why = "cannot hash the issuer key";
        e = NULL;
        goto cleanup;
    }
    e->next_update = next;
    /* refresh halfway through the validity, at most an hour before nextUpdate */
    e->refresh_at = next - ((next - last) / 2 < apr_time_from_sec(3600) ? (next - last) / 2
                                                                        : apr_time_from_sec(3600));
    e->crl = crl;
    crl = NULL;
cleanup:
    X509_CRL_free(crl);
    BIO_free(body);
    ERR_clear_error();
    return e;
}

int secure_crlfetch_check(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, secure_verdict_t *v,
                          apr_pool_t *p)
{
    const char *url = cdp_http_url(cert, p), *why = NULL;
    crl_entry_t *e, *fresh = NULL;
    X509_CRL *crl = NULL;
    X509_REVOKED *rev = NULL;
    unsigned char key[32];
    unsigned int mdlen = 0;
    apr_time_t now = apr_time_now(), next = 0, until = 0;
    int due = 1, n;

    if (url == NULL)
        return 0;
    v->source = "crl-fetch";
    if (!X509_pubkey_digest(issuer, EVP_sha256(), key, &mdlen)) {
        why = "cannot hash the issuer key";
        goto unknown;
    }
    if (crl_table != NULL && apr_thread_mutex_lock(crl_mutex) == APR_SUCCESS) {
        e = apr_hash_get(crl_table, url, APR_HASH_KEY_STRING);
        if (e != NULL && !memcmp(e->issuer_key, key, sizeof(key)) && X509_CRL_up_ref(e->crl)) {
            crl = e->crl;
            next = e->next_update;
            due = now >= e->refresh_at;
        }
        apr_thread_mutex_unlock(crl_mutex);
    }
    if (due && secure_breaker_allow(url, &until)) {
        fresh = crl_fetch(s, url, issuer, &why, p);
        secure_breaker_record(s, url, fresh != NULL);
        if (fresh == NULL) {
            secure_status_count(SECURE_CTR_CRL_FETCH_ERRORS);
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SECTAG(10550) "%s: CRL distribution point %s: %s; %s", secure_config_vhost_name(s),
                         url, why, crl ? "keeping the CRL fetched before until its nextUpdate"
                                       : "revocation status of its certificates is UNKNOWN");
        }
        else {
            X509_CRL_free(crl);
            crl = fresh->crl;
            next = fresh->next_update;
            if (crl_table != NULL && X509_CRL_up_ref(crl)
                && apr_thread_mutex_lock(crl_mutex) == APR_SUCCESS) {
                /* the process pool is shared by threads: allocate from it under the mutex only, and
                 * reuse an existing entry so refreshes do not grow it */
                e = apr_hash_get(crl_table, url, APR_HASH_KEY_STRING);
                if (e != NULL)
                    X509_CRL_free(e->crl);
                else {
                    e = apr_pcalloc(crl_pool, sizeof(*e));
                    apr_hash_set(crl_table, apr_pstrdup(crl_pool, url), APR_HASH_KEY_STRING, e);
                }
                *e = *fresh;
                memcpy(e->issuer_key, key, sizeof(key));
                apr_thread_mutex_unlock(crl_mutex);
            }
            n = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         SECTAG(10551) "%s: fetched the CRL of %s from %s: %d revoked, valid %" APR_TIME_T_FMT
                         " s more", secure_config_vhost_name(s), "the issuer", url, n < 0 ? 0 : n,
                         apr_time_sec(next - now));
        }
    }
    else if (due && crl == NULL) {
        why = apr_psprintf(p, "skipped: its circuit is open for %" APR_TIME_T_FMT " s more after "
                           "repeated failures", apr_time_sec(until - now) + 1);
    }
    if (crl == NULL || next <= now) {
        if (crl != NULL)
            why = "the CRL fetched before has passed its nextUpdate and no newer one could be fetched";
        goto unknown;
    }
    v->expires = next;
    if (X509_CRL_get0_by_cert(crl, &rev, cert) == 1) {
        ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
        v->status = SECURE_REV_REVOKED;
        v->reason = reason ? (int)ASN1_ENUMERATED_get(reason) : -1;
        v->revoked_at = asn1_to_apr(X509_REVOKED_get0_revocationDate(rev), now);
        v->detail = apr_psprintf(p, "listed in the CRL from %s", url);
        ASN1_ENUMERATED_free(reason);
    }
    else {
        v->status = SECURE_REV_GOOD;
        v->detail = apr_psprintf(p, "not listed in the CRL from %s", url);
    }
    goto cleanup;
unknown:
    v->status = SECURE_REV_UNKNOWN;
    v->detail = apr_psprintf(p, "CRL distribution point %s: %s", url, why ? why : "no CRL");
    v->expires = now + apr_time_from_sec(secure_cache_unknown_ttl());
    if (c != NULL)
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c, SECTAG(10552) "%s: client %s: revocation status from "
                      "the CRL distribution point is UNKNOWN: %s", secure_config_vhost_name(s), c->client_ip,
                      v->detail);
cleanup:
    X509_CRL_free(crl);
    return 1;
}
