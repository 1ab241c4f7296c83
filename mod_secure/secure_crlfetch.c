/* secure_crlfetch — CRLs from the client certificate's distribution point, for issuers without a local
 * CRL. Each process keeps the CRLs it fetched in a small table keyed by the whole URL (threads share it
 * under a mutex, each reader holds its own reference), bounded by SECURE_CRLFETCH_TABLE_URLS entries and
 * SECURE_CRLFETCH_TABLE_BYTES bytes: the least recently used entry goes first. A fetched CRL is checked,
 * compacted and answered by the CRL core (secure_crlcore), with the same rules as a SecureCRL file.
 * Verdicts go to the shared verdict cache like OCSP answers. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <stdlib.h>
#include <string.h>

#include "secure_background.h"
#include "secure_cache.h"
#include "secure_config.h"
#include "secure_crlcore.h"
#include "secure_crlfetch.h"
#include "secure_fetch.h"
#include "secure_flight.h"
#include "secure_log.h"
#include "secure_ossl.h"
#include "secure_status.h"

APLOG_USE_MODULE(secure);

/* A fetched CRL, checked and compacted by the CRL core (the same rules as SecureCRL files). */
typedef struct {
    secure_crlcore_crl_t *crl;       /* one reference held by the table */
    unsigned char issuer_key[32];    /* sha256 of the issuer key that verified it */
    apr_time_t next_update;
    apr_time_t refresh_at;           /* fetch again from here on, before nextUpdate */
    apr_size_t bytes;                /* what it counts against the byte bound: the larger of the DER bytes
                                      * downloaded and the compact form's heap bytes */
} crl_entry_t;

/* ---- the per-process table ------------------------------------------------------------------------ */

typedef struct {
    char url[SECURE_BREAKER_URL_MAX];   /* the whole distribution point URL; "" = free */
    crl_entry_t e;
    apr_time_t last_used;
    apr_time_t refresh_queued;          /* its successor is being fetched in the background until then */
} crl_slot_t;

static crl_slot_t crl_table[SECURE_CRLFETCH_TABLE_URLS];
static apr_size_t crl_table_bytes;      /* sum of the entries' bytes */
static apr_thread_mutex_t *crl_mutex;   /* NULL: no table in this process (nothing is kept) */

static void slot_free(crl_slot_t *slot)
{
    crl_table_bytes -= slot->e.bytes;
    secure_crlcore_free(slot->e.crl);
    memset(slot, 0, sizeof(*slot));
}

static apr_status_t crl_table_free(void *data)
{
    size_t i;

    (void)data;
    for (i = 0; i < SECURE_CRLFETCH_TABLE_URLS; i++)
        if (crl_table[i].url[0] != '\0')
            slot_free(&crl_table[i]);
    crl_mutex = NULL;
    return APR_SUCCESS;
}

void secure_crlfetch_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    crl_table_bytes = 0;
    memset(crl_table, 0, sizeof(crl_table));
    if ((rv = apr_thread_mutex_create(&crl_mutex, APR_THREAD_MUTEX_DEFAULT, pchild)) != APR_SUCCESS) {
        crl_mutex = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     SECTAG(11057) "SecureCRLFetch: cannot create the mutex of this process's fetched-CRL "
                     "table; CRLs are fetched for each check and not kept");
        return;
    }
    apr_pool_cleanup_register(pchild, NULL, crl_table_free, apr_pool_cleanup_null);
}

static crl_slot_t *slot_find(const char *url)
{
    size_t i;

    for (i = 0; i < SECURE_CRLFETCH_TABLE_URLS; i++)
        if (crl_table[i].url[0] != '\0' && strcmp(crl_table[i].url, url) == 0)
            return &crl_table[i];
    return NULL;
}

/* The least recently used entry other than keep, or NULL when there is none. */
static crl_slot_t *slot_lru(const crl_slot_t *keep)
{
    crl_slot_t *lru = NULL;
    size_t i;

    for (i = 0; i < SECURE_CRLFETCH_TABLE_URLS; i++)
        if (crl_table[i].url[0] != '\0' && &crl_table[i] != keep
            && (lru == NULL || crl_table[i].last_used < lru->last_used))
            lru = &crl_table[i];
    return lru;
}

/* The CRL kept for url when it was verified with the issuer key key: a new reference in *crl, its
 * nextUpdate and whether it is due for a refresh. 0 when none is kept. */
static int table_get(const char *url, const unsigned char key[32], secure_crlcore_crl_t **crl, apr_time_t *next,
                     int *due, apr_time_t now)
{
    crl_slot_t *slot;
    int found = 0;

    if (crl_mutex == NULL || apr_thread_mutex_lock(crl_mutex) != APR_SUCCESS)
        return 0;
    if ((slot = slot_find(url)) != NULL && !memcmp(slot->e.issuer_key, key, 32)) {
        secure_crlcore_up_ref(slot->e.crl);
        slot->last_used = now;
        *crl = slot->e.crl;
        *next = slot->e.next_update;
        *due = now >= slot->e.refresh_at;
        found = 1;
    }
    apr_thread_mutex_unlock(crl_mutex);
    return found;
}

/* Marks the CRL kept for url as being refreshed in the background until until. 1: marked now (the caller
 * queues the download), 0: already marked (someone did), -1: nothing kept for url. */
static int table_mark_refresh(const char *url, apr_time_t now, apr_time_t until)
{
    crl_slot_t *slot;
    int rc = -1;

    if (crl_mutex == NULL || apr_thread_mutex_lock(crl_mutex) != APR_SUCCESS)
        return -1;
    if ((slot = slot_find(url)) != NULL) {
        rc = slot->refresh_queued > now ? 0 : 1;
        if (rc == 1)
            slot->refresh_queued = until;
    }
    apr_thread_mutex_unlock(crl_mutex);
    return rc;
}

static void table_unmark_refresh(const char *url)
{
    crl_slot_t *slot;

    if (crl_mutex == NULL || apr_thread_mutex_lock(crl_mutex) != APR_SUCCESS)
        return;
    if ((slot = slot_find(url)) != NULL)
        slot->refresh_queued = 0;
    apr_thread_mutex_unlock(crl_mutex);
}

/* Keeps fresh (its CRL: a reference of its own is taken) for url, replacing what url had, and evicting
 * least recently used entries while the table is over its bounds. The number of entries evicted. */
static int table_put(const char *url, const crl_entry_t *fresh, apr_time_t now)
{
    crl_slot_t *slot, *old;
    int evicted = 0;

    if (crl_mutex == NULL || apr_thread_mutex_lock(crl_mutex) != APR_SUCCESS)
        return 0;
    secure_crlcore_up_ref(fresh->crl);
    if ((slot = slot_find(url)) != NULL)
        slot_free(slot);
    else {
        for (slot = crl_table; slot < crl_table + SECURE_CRLFETCH_TABLE_URLS && slot->url[0] != '\0'; slot++)
            ;
        if (slot == crl_table + SECURE_CRLFETCH_TABLE_URLS) {
            slot = slot_lru(NULL);
            slot_free(slot);
            evicted++;
        }
    }
    while (crl_table_bytes + fresh->bytes > (apr_size_t)SECURE_CRLFETCH_TABLE_BYTES && (old = slot_lru(slot)) != NULL) {
        slot_free(old);
        evicted++;
    }
    memcpy(slot->url, url, strlen(url) + 1);   /* secure_fetch_url_problem bounded its length */
    slot->e = *fresh;
    slot->last_used = now;
    crl_table_bytes += fresh->bytes;
    apr_thread_mutex_unlock(crl_mutex);
    return evicted;
}

/* The first http:// URI among the certificate's CRL distribution points, or NULL ("" for one holding a
 * NUL byte, which secure_fetch_url_problem refuses). */
static const char *cdp_http_url(X509 *cert, apr_pool_t *p)
{
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
    const char *url = NULL, *u;
    int i, j;

    for (i = 0; dps != NULL && url == NULL && i < sk_DIST_POINT_num(dps); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (dp->distpoint == NULL || dp->distpoint->type != 0)
            continue;
        for (j = 0; url == NULL && j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
            u = secure_fetch_uri(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j), p);
            if (u != NULL && (*u == '\0' || !strncasecmp(u, "http://", 7)))
                url = u;
        }
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    secure_ossl_discard("a certificate without a readable CRL distribution point simply has none");
    return url;
}

/* Downloads the CRL at url and checks it with the CRL core against issuer (the same rules as a SecureCRL
 * file). A new entry (its CRL owned by it) that is fresh now; or NULL with *why, and in *stale a CRL
 * that passed the checks but is not fresh (its revocations still count), or NULL. */
static crl_entry_t *crl_fetch(const char *url, X509 *issuer, int timeout, secure_crlcore_crl_t **stale,
                              const char **why, apr_pool_t *p)
{
    secure_fetch_req_t rq = { "CRL distribution point", url, NULL, NULL, NULL, "a DER CRL",
                              (size_t)SECURE_CRLFETCH_MAX_BYTES, timeout };
    secure_fetch_result_t res;
    secure_crlcore_trust_t trust = { NULL, issuer, NULL };
    secure_crlcore_crl_t **crls = NULL;
    char reason[SECURE_CRLCORE_WHY_MAX];
    BIO *body = NULL;
    char *data = NULL;
    crl_entry_t *e = NULL;
    apr_time_t now = apr_time_now(), last, next;
    int64_t nu = 0;
    size_t n = 0, mem;
    unsigned int mdlen = 0;
    long bytes;

    *stale = NULL;
    secure_status_count(SECURE_CTR_CRL_FETCHES);
    /* a GET of our own: no redirect followed, no proxy from the environment, refused connections given
     * up at once (secure_fetch) */
    if ((body = secure_fetch(&rq, &res, why, p)) == NULL)
        goto cleanup;
    if ((bytes = BIO_get_mem_data(body, &data)) <= 0 || data == NULL) {
        *why = "the body is empty, not a DER CRL";
        goto cleanup;
    }
    if (secure_crlcore_load(data, (size_t)bytes, &trust, &crls, &n, NULL, NULL, reason, sizeof(reason)) < 0) {
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
    mem = secure_crlcore_memory(crls[0]);
    e->bytes = mem > (size_t)bytes ? (apr_size_t)mem : (apr_size_t)bytes;
    /* refresh halfway through the validity, at most an hour before nextUpdate */
    e->refresh_at = next - ((next - last) / 2 < apr_time_from_sec(3600) ? (next - last) / 2
                                                                        : apr_time_from_sec(3600));
    e->crl = crls[0];
    crls[0] = NULL;
cleanup:
    secure_crlcore_free_all(crls, n);
    BIO_free(body);
    secure_ossl_discard("a failed download's reasons are already in *why");
    return e;
}

/* The flight key of a distribution point URL. 0 when it cannot be computed (then no single-flight). */
static int url_flight_key(const char *url, unsigned char key[32])
{
    unsigned int n = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, "crl-fetch:", 10)
             && EVP_DigestUpdate(md, url, strlen(url)) && EVP_DigestFinal_ex(md, key, &n) && n == 32;

    EVP_MD_CTX_free(md);
    secure_ossl_discard("without a flight key the CRL is downloaded on its own");
    return ok;
}

/* Downloads url's CRL for vhost s through the breaker and keeps a fresh one in the table (logged, counted).
 * 0 when the breaker did not let it try (*skipped says why); else 1 with *fresh (crl_fetch's entry: the
 * caller owns one reference on (*fresh)->crl, the table took its own) or NULL with *why, and *stale as
 * crl_fetch gives it (the caller frees it). */
static int crl_download(server_rec *s, const char *url, X509 *issuer, const unsigned char key[32],
                        const secure_fetch_limits_t *lim, int have_old, crl_entry_t **fresh,
                        secure_crlcore_crl_t **stale, const char **why, const char **skipped, apr_pool_t *p)
{
    apr_time_t now = apr_time_now(), until = 0;
    int evicted;

    *fresh = NULL;
    if (!secure_fetch_breaker_allow(url, lim->timeout + 1, &until, skipped, p))
        return 0;
    *fresh = crl_fetch(url, issuer, lim->timeout, stale, why, p);
    if (secure_fetch_breaker_record(s, url, *fresh != NULL, lim))
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, SECTAG(11059) "%s: CRL distribution point %s failed %ld "
                     "times in a row: skipping it for %ld s (SecureOCSPFailures / SecureOCSPRetry)",
                     secure_config_vhost_name(s), url, lim->failures, lim->retry);
    if (*fresh == NULL) {
        secure_status_count(SECURE_CTR_CRL_FETCH_ERRORS);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SECTAG(10550) "%s: CRL distribution point %s: %s; %s", secure_config_vhost_name(s),
                     url, *why, have_old ? "keeping the CRL fetched before until its nextUpdate"
                                         : "revocation status of its certificates is UNKNOWN");
        return 1;
    }
    memcpy((*fresh)->issuer_key, key, 32);
    if ((evicted = table_put(url, *fresh, now)) > 0)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     SECTAG(11060) "%s: this process's table of fetched CRLs is full (%d URLs, %ld MB): "
                     "dropped the %d least recently used to keep the CRL from %s",
                     secure_config_vhost_name(s), SECURE_CRLFETCH_TABLE_URLS,
                     SECURE_CRLFETCH_TABLE_BYTES / (1024 * 1024), evicted, url);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 SECTAG(10551) "%s: fetched the CRL of %s from %s: %" APR_SIZE_T_FMT " revoked, valid %"
                 APR_TIME_T_FMT " s more", secure_config_vhost_name(s), "the issuer", url,
                 (apr_size_t)secure_crlcore_count((*fresh)->crl), apr_time_sec((*fresh)->next_update - now));
    return 1;
}

/* ---- refreshing a kept CRL on the background thread (secure_background) ------------------------- */

typedef struct {
    server_rec *s;
    X509 *issuer;
    unsigned char key[32];
    secure_fetch_limits_t lim;
    char url[SECURE_BREAKER_URL_MAX];
} crl_job_t;

static void crl_job_drop(void *job)
{
    crl_job_t *j = job;

    table_unmark_refresh(j->url);
    X509_free(j->issuer);
    free(j);
}

static void crl_job_run(void *job, apr_pool_t *p)
{
    crl_job_t *j = job;
    crl_entry_t *fresh = NULL;
    secure_crlcore_crl_t *stale = NULL;
    const char *why = NULL, *skipped = NULL;

    if (crl_download(j->s, j->url, j->issuer, j->key, &j->lim, 1, &fresh, &stale, &why, &skipped, p)
        && fresh != NULL) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, j->s, SECTAG(11610) "%s: the CRL from %s was refreshed in the "
                     "background; the one it replaces answered until then", secure_config_vhost_name(j->s), j->url);
        secure_crlcore_free(fresh->crl);     /* crl_fetch's reference; the table keeps its own */
    }
    secure_crlcore_free(stale);
    crl_job_drop(j);                          /* a failed refresh may be queued again by the next check */
}

/* Queues the download of url's successor CRL. 1 when queued. */
static int crl_background_refresh(server_rec *s, const char *url, X509 *issuer, const unsigned char key[32],
                                  const secure_fetch_limits_t *lim)
{
    crl_job_t *j = calloc(1, sizeof(*j));
    secure_bg_job_t bj = { crl_job_run, crl_job_drop, j };

    if (j == NULL || strlen(url) >= sizeof(j->url) || !X509_up_ref(issuer)) {
        free(j);
        return 0;
    }
    j->s = s;
    j->issuer = issuer;
    memcpy(j->key, key, 32);
    j->lim = *lim;
    memcpy(j->url, url, strlen(url) + 1);
    if (secure_bg_submit(&bj) == 1)
        return 1;
    X509_free(issuer);
    free(j);
    return 0;
}

int secure_crlfetch_check(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, const secure_fetch_limits_t *lim,
                          secure_verdict_t *v, apr_pool_t *p)
{
    const char *url = cdp_http_url(cert, p), *why = NULL, *skipped = NULL, *problem;
    crl_entry_t *fresh = NULL;
    secure_crlcore_crl_t *crl = NULL, *stale = NULL;
    secure_crlcore_answer_t a;
    unsigned char key[32], fkey[32];
    unsigned int mdlen = 0;
    apr_time_t now = apr_time_now(), next = 0;
    int due = 1;
    secure_flight_t *f = NULL;
    secure_flight_status_t fst;
    secure_verdict_t sig;
    int mark;

    if (url == NULL)
        return 0;
    v->source = "crl-fetch";
    if ((problem = secure_fetch_url_problem(url)) != NULL) {
        why = apr_psprintf(p, "refused, nothing fetched: %s", problem);
        secure_status_count(SECURE_CTR_ONLINE_REFUSED);
        secure_status_count(SECURE_CTR_CRL_FETCH_ERRORS);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, SECTAG(11058) "%s: client %s: CRL distribution point %s "
                     "of certificate serial %s %s", secure_config_vhost_name(s), c ? c->client_ip : "-", url,
                     secure_ossl_serial(cert, p), why);
        goto unknown;
    }
    if (!X509_pubkey_digest(issuer, EVP_sha256(), key, &mdlen)) {
        why = "cannot hash the issuer key";
        goto unknown;
    }
    table_get(url, key, &crl, &next, &due, now);
    /* a CRL in hand that is still valid keeps answering; its successor downloads on the background thread */
    if (due && crl != NULL && now < next) {
        mark = table_mark_refresh(url, now, now + apr_time_from_sec(2 * lim->timeout + 1));
        if (mark == 1 && !crl_background_refresh(s, url, issuer, key, lim)) {
            table_unmark_refresh(url);      /* no background thread or a full queue: this check fetches */
            mark = -1;
        }
        if (mark >= 0)
            due = 0;
    }
    /* one download per URL in flight in this process: the others wait for it and use what it kept */
    if (due && url_flight_key(url, fkey)
        && (fst = secure_flight_board(fkey, 0, now + apr_time_from_sec(lim->timeout), NULL, NULL, &f, &sig, p))
           != SECURE_FLIGHT_LEAD) {
        secure_crlcore_free(crl);
        crl = NULL;
        table_get(url, key, &crl, &next, &due, apr_time_now());
        if (crl == NULL)
            why = fst == SECURE_FLIGHT_TIMEOUT ? apr_psprintf(p, "another download of it was still in flight after "
                                                              "%d s (SecureOCSPTimeout)", lim->timeout)
                                               : "another download of it failed just now";
        due = 0;
    }
    if (due && crl_download(s, url, issuer, key, lim, crl != NULL, &fresh, &stale, &why, &skipped, p)
        && fresh != NULL) {
        secure_crlcore_free(crl);
        crl = fresh->crl;
        next = fresh->next_update;
    }
    else if (due && crl == NULL) {
        why = apr_psprintf(p, "skipped: %s", skipped);
    }
    if (f != NULL) {
        memset(&sig, 0, sizeof(sig));
        sig.status = fresh != NULL ? SECURE_REV_GOOD : SECURE_REV_UNKNOWN;   /* "look in the table" */
        secure_flight_land(f, &sig);
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
