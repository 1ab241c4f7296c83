/* secure_crlfetch — CRLs from the client certificate's distribution point, for issuers without a local
 * CRL. Each process keeps the CRLs it fetched in a small table keyed by the whole URL (threads share it
 * under a mutex, each reader holds its own reference), bounded by SECURE_CRLFETCH_TABLE_URLS entries and
 * SECURE_CRLFETCH_TABLE_BYTES bytes: the least recently used entry goes first. A fetched CRL is checked,
 * compacted and answered by the CRL core (secure_crlcore), with the same rules as a SecureCRL file.
 * Verdicts go to the shared verdict cache like OCSP answers.
 *
 * Downloads never run on a handshake's thread (when the process has its background thread): a URL
 * that needs one gets one job on the background thread (secure_background), and the handshakes that
 * need it wait for that job, at most SecureOCSPTimeout. The job first looks in the server's spool
 * (DefaultRuntimeDir/mod_secure-crlfetch/, one DER file per URL written by whichever process downloaded
 * it last), then boards the URL's flight shared by the server's processes (secure_flight): one download
 * per URL in flight per server; the others wait for its marker to go and take the CRL from the spool,
 * verified again with the issuer's key. A CRL that replaces an older one of the same URL and revokes
 * certificates the older one did not is written into the verdict cache as REVOKED for those serials,
 * and the server-wide revocation epoch is bumped, so open connections judge their certificate again. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_file_io.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "unixd.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#define CRLFETCH_SPOOL_DIR "mod_secure-crlfetch"
/* Newly revoked serials written into the verdict cache per installed CRL and vhost; beyond it, their
 * cached GOOD verdicts run out by themselves (logged). */
#define CRLFETCH_NEWLY_REVOKED_MAX 1000
/* Files the spool keeps at most (one per distribution point URL): twice a process's table. */
#define CRLFETCH_SPOOL_FILES (2 * SECURE_CRLFETCH_TABLE_URLS)

/* A fetched CRL, checked and compacted by the CRL core (the same rules as SecureCRL files). */
typedef struct {
    secure_crlcore_crl_t *crl;       /* one reference held by the table */
    unsigned char issuer_key[32];    /* sha256 of the issuer key that verified it */
    unsigned char der_sha256[32];    /* of the DER bytes: whether a successor differs */
    apr_time_t next_update;          /* 0: none (never fresh) */
    apr_time_t refresh_at;           /* fetch again from here on, before nextUpdate */
    apr_size_t bytes;                /* what it counts against the byte bound: the larger of the DER bytes
                                      * downloaded and the compact form's heap bytes */
} crl_entry_t;

/* ---- the per-process table ------------------------------------------------------------------------ */

typedef struct {
    char url[SECURE_BREAKER_URL_MAX];   /* the whole distribution point URL; "" = free */
    crl_entry_t e;
    apr_time_t last_used;
} crl_slot_t;

/* A URL whose job (download or spool read) is queued or running in this process. */
typedef struct {
    char url[SECURE_BREAKER_URL_MAX];   /* "" = free */
    unsigned seq;                       /* bumped when its job ends: waiters watch it */
    char why[256];                      /* the job's failure, for its waiters ("" = it got a fresh CRL) */
} dl_slot_t;

static crl_slot_t crl_table[SECURE_CRLFETCH_TABLE_URLS];
static dl_slot_t dl_table[SECURE_CRLFETCH_TABLE_URLS];
static apr_size_t crl_table_bytes;      /* sum of the entries' bytes */
static apr_thread_mutex_t *crl_mutex;   /* NULL: no table in this process (nothing is kept) */
static apr_thread_cond_t *crl_cond;     /* a job ended (dl_table) */

static const char *spool_dir;           /* NULL: no spool (each process downloads on its own) */
static int (*uses_fetch)(const server_rec *s);   /* vhosts whose cache records a new CRL rewrites */
static server_rec *main_server;         /* the first of the vhosts */

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
    crl_cond = NULL;
    return APR_SUCCESS;
}

void secure_crlfetch_post_config(apr_pool_t *pconf, server_rec *s, int needed,
                                 int (*fetching_vhost)(const server_rec *s))
{
    const char *dir;
    apr_status_t rv;

    spool_dir = NULL;
    uses_fetch = fetching_vhost;
    main_server = s;
    if (!needed || (dir = ap_runtime_dir_relative(pconf, CRLFETCH_SPOOL_DIR)) == NULL)
        return;
    rv = apr_dir_make(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE, pconf);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     SECTAG(11700) "SecureCRLFetch: cannot create %s, where a process leaves the CRLs it "
                     "downloaded for the others; each process downloads every CRL itself", dir);
        return;
    }
    /* as root (the parent): the children, running as User, write there */
    if (geteuid() == 0 && chown(dir, ap_unixd_config.user_id, (gid_t)-1) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, APR_FROM_OS_ERROR(errno), s,
                     SECTAG(11701) "SecureCRLFetch: cannot hand %s to the server's User; each process "
                     "downloads every CRL itself", dir);
        return;
    }
    spool_dir = dir;
}

void secure_crlfetch_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    crl_table_bytes = 0;
    memset(crl_table, 0, sizeof(crl_table));
    memset(dl_table, 0, sizeof(dl_table));
    crl_cond = NULL;
    if ((rv = apr_thread_mutex_create(&crl_mutex, APR_THREAD_MUTEX_DEFAULT, pchild)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&crl_cond, pchild)) != APR_SUCCESS) {
        crl_mutex = NULL;
        crl_cond = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     SECTAG(11057) "SecureCRLFetch: cannot create the mutex of this process's fetched-CRL "
                     "table; nothing fetched can be kept, so certificates with a CRL distribution point are "
                     "UNKNOWN in this process");
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

/* Whether the table holds, for url and key, a CRL with these DER bytes or one issued later than
 * this_update (then a copy read from the spool brings nothing); der NULL and this_update INT64_MAX: any
 * CRL of url and key. */
static int table_has(const char *url, const unsigned char key[32], const unsigned char *der, int64_t this_update)
{
    crl_slot_t *slot;
    int has = 0;

    if (crl_mutex == NULL || apr_thread_mutex_lock(crl_mutex) != APR_SUCCESS)
        return 0;
    if ((slot = slot_find(url)) != NULL && !memcmp(slot->e.issuer_key, key, 32))
        has = der == NULL || !memcmp(slot->e.der_sha256, der, 32)
              || secure_crlcore_this_update(slot->e.crl) > this_update;
    apr_thread_mutex_unlock(crl_mutex);
    return has;
}

/* Keeps fresh (its CRL: a reference of its own is taken) for url, replacing what url had unless that
 * was issued later by the same key, and evicting least recently used entries while the table is over
 * its bounds. *evicted: entries evicted; *old: the CRL it replaced when that came from the same key and
 * had other bytes (a reference for the caller), else NULL. 1 when kept, 0 when not. */
static int table_put(const char *url, const crl_entry_t *fresh, apr_time_t now, int *evicted,
                     secure_crlcore_crl_t **old)
{
    crl_slot_t *slot, *lru;

    *evicted = 0;
    *old = NULL;
    if (crl_mutex == NULL || apr_thread_mutex_lock(crl_mutex) != APR_SUCCESS)
        return 0;
    if ((slot = slot_find(url)) != NULL) {
        if (!memcmp(slot->e.issuer_key, fresh->issuer_key, 32)) {
            if (secure_crlcore_this_update(slot->e.crl) > secure_crlcore_this_update(fresh->crl)) {
                apr_thread_mutex_unlock(crl_mutex);   /* a newer one is in already (another job) */
                return 0;
            }
            if (memcmp(slot->e.der_sha256, fresh->der_sha256, 32) != 0) {
                secure_crlcore_up_ref(slot->e.crl);
                *old = slot->e.crl;
            }
        }
        slot_free(slot);
    }
    else {
        for (slot = crl_table; slot < crl_table + SECURE_CRLFETCH_TABLE_URLS && slot->url[0] != '\0'; slot++)
            ;
        if (slot == crl_table + SECURE_CRLFETCH_TABLE_URLS) {
            slot = slot_lru(NULL);
            slot_free(slot);
            (*evicted)++;
        }
    }
    while (crl_table_bytes + fresh->bytes > (apr_size_t)SECURE_CRLFETCH_TABLE_BYTES && (lru = slot_lru(slot)) != NULL) {
        slot_free(lru);
        (*evicted)++;
    }
    secure_crlcore_up_ref(fresh->crl);
    memcpy(slot->url, url, strlen(url) + 1);   /* secure_fetch_url_problem bounded its length */
    slot->e = *fresh;
    slot->last_used = now;
    crl_table_bytes += fresh->bytes;
    apr_thread_mutex_unlock(crl_mutex);
    return 1;
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

/* The flight key of a distribution point URL (also the name of its spool file). 0 when it cannot be
 * computed (then no single-flight and no spool). */
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

/* ---- checking a CRL and what it changes ----------------------------------------------------------- */

/* Checks data (len DER bytes from url) with the CRL core against issuer (the same rules as a SecureCRL
 * file). A new entry (its CRL owned by it) with *fresh telling whether it is fresh now (else *why says
 * what it is; its revocations still count); NULL with *why when it is refused. */
static crl_entry_t *crl_check(const char *data, size_t len, X509 *issuer, int *fresh, const char **why,
                              apr_pool_t *p)
{
    secure_crlcore_trust_t trust = { NULL, issuer, NULL };
    secure_crlcore_crl_t **crls = NULL;
    char reason[SECURE_CRLCORE_WHY_MAX];
    crl_entry_t *e = NULL;
    apr_time_t now = apr_time_now(), last, next;
    int64_t nu = 0;
    size_t n = 0, mem;
    unsigned int mdlen = 0;

    *fresh = 0;
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
        *fresh = 1;
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
    e = apr_pcalloc(p, sizeof(*e));
    if (!X509_pubkey_digest(issuer, EVP_sha256(), e->issuer_key, &mdlen)
        || !EVP_Digest(data, len, e->der_sha256, NULL, EVP_sha256(), NULL)) {
        *why = "cannot hash the issuer key or the CRL";
        *fresh = 0;
        e = NULL;
        goto cleanup;
    }
    last = apr_time_from_sec((apr_time_t)secure_crlcore_this_update(crls[0]));
    next = secure_crlcore_next_update(crls[0], &nu) ? apr_time_from_sec((apr_time_t)nu) : 0;
    e->next_update = next;
    mem = secure_crlcore_memory(crls[0]);
    e->bytes = mem > len ? (apr_size_t)mem : (apr_size_t)len;
    /* refresh halfway through the validity, at most an hour before nextUpdate; a CRL that is not fresh
     * is due at once */
    e->refresh_at = !*fresh ? 0
                  : next - ((next - last) / 2 < apr_time_from_sec(3600) ? (next - last) / 2 : apr_time_from_sec(3600));
    e->crl = crls[0];
    crls[0] = NULL;
cleanup:
    secure_crlcore_free_all(crls, n);
    secure_ossl_discard("a refused CRL's reasons are already in *why");
    return e;
}

typedef struct {
    server_rec *s;
    X509 *issuer;
    secure_verdict_t v;
    apr_pool_t *p;
} newly_t;

static void newly_revoked_one(void *baton, const ASN1_INTEGER *serial, int reason, int64_t revoked_at)
{
    newly_t *b = baton;
    server_rec *vh;

    b->v.reason = reason;
    b->v.revoked_at = revoked_at > 0 ? apr_time_from_sec((apr_time_t)revoked_at) : 0;
    for (vh = b->s; vh != NULL; vh = vh->next)
        if (uses_fetch != NULL && uses_fetch(vh))
            secure_cache_put_serial(vh, serial, b->issuer, &b->v, 0, b->p);
}

/* Puts e (checked by crl_check; from where: words for the log) in the table for url. When it replaces an
 * older CRL of the same key that did not revoke some certificates it revokes, those serials go into
 * the verdict cache as REVOKED (for every vhost fetching CRLs) and the server-wide revocation epoch is
 * bumped afterwards: open connections with them are refused at their next request. prev (may be NULL):
 * the CRL the spool held before, replaced when this process kept none. 1 when kept. */
static int table_install(server_rec *s, const char *url, X509 *issuer, crl_entry_t *e, const crl_entry_t *prev,
                         const char *from, apr_pool_t *p)
{
    secure_crlcore_crl_t *old = NULL;
    newly_t b;
    size_t n;
    int evicted = 0;

    if (!table_put(url, e, apr_time_now(), &evicted, &old))
        return 0;
    /* none kept here: the one the server downloaded before (its spool) is the one this one replaces */
    if (old == NULL && prev != NULL && memcmp(prev->der_sha256, e->der_sha256, 32) != 0
        && secure_crlcore_this_update(prev->crl) <= secure_crlcore_this_update(e->crl)) {
        secure_crlcore_up_ref(prev->crl);
        old = prev->crl;
    }
    if (evicted > 0)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     SECTAG(11060) "%s: this process's table of fetched CRLs is full (%d URLs, %ld MB): "
                     "dropped the %d least recently used to keep the CRL from %s",
                     secure_config_vhost_name(s), SECURE_CRLFETCH_TABLE_URLS,
                     SECURE_CRLFETCH_TABLE_BYTES / (1024 * 1024), evicted, url);
    if (old == NULL)
        return 1;
    memset(&b, 0, sizeof(b));
    /* every vhost, from the main server on */
    b.s = main_server != NULL ? main_server : s;
    b.issuer = issuer;
    b.p = p;
    b.v.status = SECURE_REV_REVOKED;
    b.v.source = "crl-fetch";
    b.v.detail = "listed in a newer CRL from the distribution point";
    b.v.expires = e->next_update > apr_time_now() ? e->next_update
                                                  : apr_time_now() + apr_time_from_sec(secure_cache_unknown_ttl());
    n = secure_crlcore_newly_revoked(e->crl, old, CRLFETCH_NEWLY_REVOKED_MAX, newly_revoked_one, &b);
    secure_crlcore_free(old);
    if (n == 0)
        return 1;
    /* after the cache writes and the table: open connections judge again and read them */
    secure_status_rev_epoch_bump();
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 SECTAG(11702) "%s: the CRL from %s (%s) revokes %" APR_SIZE_T_FMT " certificate(s) the one it "
                 "replaces did not; %s, and open connections judge their certificates again",
                 secure_config_vhost_name(s), url, from, (apr_size_t)n,
                 n > CRLFETCH_NEWLY_REVOKED_MAX ? apr_psprintf(p, "the first %d are REVOKED in the verdict cache "
                                                              "(the others' cached verdicts run out by themselves)",
                                                              CRLFETCH_NEWLY_REVOKED_MAX)
                                                : "they are REVOKED in the verdict cache");
    return 1;
}

/* ---- the spool: the last CRL downloaded for each URL, for the server's other processes ------------ */

static const char *spool_path(const unsigned char fkey[32], apr_pool_t *p)
{
    char hex[65];
    int i;

    for (i = 0; i < 32; i++)
        apr_snprintf(hex + 2 * i, 3, "%02x", fkey[i]);
    return apr_pstrcat(p, spool_dir, "/", hex, ".crl", NULL);
}

/* Keeps the spool at CRLFETCH_SPOOL_FILES files at most: the least recently written go first. */
static void spool_trim(apr_pool_t *p)
{
    apr_dir_t *dir;
    apr_finfo_t fi;
    const char *oldest = NULL;
    apr_time_t oldest_mtime = 0;
    int n = 0, rounds;

    for (rounds = 0; rounds < 8; rounds++) {
        if (apr_dir_open(&dir, spool_dir, p) != APR_SUCCESS)
            return;
        n = 0;
        oldest = NULL;
        while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_MTIME | APR_FINFO_TYPE, dir) == APR_SUCCESS) {
            size_t len = strlen(fi.name);
            if (fi.filetype != APR_REG || len != 68 || strcmp(fi.name + 64, ".crl") != 0)
                continue;
            n++;
            if (oldest == NULL || fi.mtime < oldest_mtime) {
                oldest = apr_pstrdup(p, fi.name);
                oldest_mtime = fi.mtime;
            }
        }
        apr_dir_close(dir);
        if (n <= CRLFETCH_SPOOL_FILES || oldest == NULL)
            return;
        apr_file_remove(apr_pstrcat(p, spool_dir, "/", oldest, NULL), p);
    }
}

/* Leaves the DER bytes of a fresh CRL downloaded from url where the other processes look (temp file and
 * rename: a reader finds the whole file or the one before). Failures are logged, never fatal. */
static void spool_save(server_rec *s, const char *url, const unsigned char fkey[32], const char *data,
                       apr_size_t len, apr_pool_t *p)
{
    apr_file_t *fd = NULL;
    const char *name, *tmp;
    apr_size_t wrote = 0;
    apr_status_t rv;

    if (spool_dir == NULL || fkey == NULL)
        return;
    name = spool_path(fkey, p);
    tmp = apr_psprintf(p, "%s.tmp.%" APR_PID_T_FMT ".%lu", name, getpid(),
                       (unsigned long)(uintptr_t)apr_os_thread_current());
    if ((rv = apr_file_open(&fd, tmp, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE | APR_FOPEN_BINARY,
                            APR_FPROT_UREAD | APR_FPROT_UWRITE, p)) != APR_SUCCESS
        || (rv = apr_file_write_full(fd, data, len, &wrote)) != APR_SUCCESS
        || (rv = apr_file_close(fd), fd = NULL, rv) != APR_SUCCESS
        || (rv = apr_file_rename(tmp, name, p)) != APR_SUCCESS) {
        if (fd != NULL)
            apr_file_close(fd);
        apr_file_remove(tmp, p);
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     SECTAG(11703) "%s: cannot leave the CRL downloaded from %s in %s for the other processes; "
                     "they download it themselves", secure_config_vhost_name(s), url, spool_dir);
        return;
    }
    spool_trim(p);
}

/* The CRL the spool holds for url when it passes the checks against issuer's key (crl_check: *fresh
 * says whether it is fresh), else NULL (none there, or refused: logged, since only our processes write
 * there). */
static crl_entry_t *spool_read(server_rec *s, const char *url, const unsigned char fkey[32], X509 *issuer,
                               int *fresh, apr_pool_t *p)
{
    apr_file_t *fd = NULL;
    apr_finfo_t fi;
    const char *name, *why = NULL;
    char *data;
    apr_size_t got = 0;
    crl_entry_t *e;

    *fresh = 0;
    if (spool_dir == NULL || fkey == NULL)
        return NULL;
    name = spool_path(fkey, p);
    if (apr_file_open(&fd, name, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p) != APR_SUCCESS)
        return NULL;   /* none yet */
    if (apr_file_info_get(&fi, APR_FINFO_SIZE, fd) != APR_SUCCESS || fi.size <= 0
        || fi.size > SECURE_CRLFETCH_MAX_BYTES || (data = apr_palloc(p, (apr_size_t)fi.size)) == NULL
        || apr_file_read_full(fd, data, (apr_size_t)fi.size, &got) != APR_SUCCESS) {
        apr_file_close(fd);
        return NULL;
    }
    apr_file_close(fd);
    if ((e = crl_check(data, got, issuer, fresh, &why, p)) == NULL) {
        secure_status_count(SECURE_CTR_CRL_FETCH_ERRORS);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SECTAG(11704) "%s: the spooled CRL %s of %s is not used: %s", secure_config_vhost_name(s),
                     name, url, why);
    }
    return e;
}

/* Takes the CRL the spool holds for url when it verifies with issuer's key, is fresh and not yet due
 * for refresh, and is not what the table holds already (another process downloaded it). 1 when it is
 * in the table now, else 0. */
static int spool_take(server_rec *s, const char *url, const unsigned char fkey[32], X509 *issuer, apr_pool_t *p)
{
    crl_entry_t *e;
    int fresh = 0, kept = 0;

    if ((e = spool_read(s, url, fkey, issuer, &fresh, p)) == NULL)
        return 0;
    /* stale or due: this process downloads; what we have already: not an answer to a due download */
    if (!fresh || apr_time_now() >= e->refresh_at
        || table_has(url, e->issuer_key, e->der_sha256, secure_crlcore_this_update(e->crl))) {
        secure_crlcore_free(e->crl);
        return 0;
    }
    kept = table_install(s, url, issuer, e, NULL, "from the spool", p);
    if (kept)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     SECTAG(11705) "%s: took the CRL of %s from the spool, where a process of this server left "
                     "it (no download): %" APR_SIZE_T_FMT " revoked, valid %" APR_TIME_T_FMT " s more",
                     secure_config_vhost_name(s), url, (apr_size_t)secure_crlcore_count(e->crl),
                     apr_time_sec(e->next_update - apr_time_now()));
    secure_crlcore_free(e->crl);
    return kept;
}

/* ---- the download ------------------------------------------------------------------------------- */

/* Downloads url's CRL for vhost s through the breaker, checks it and keeps it in the table (logged,
 * counted); a fresh one also goes to the spool (fkey: its name; NULL: no spool). 1 when a fresh CRL is in
 * the table, else 0 with *why. */
static int crl_download(server_rec *s, const char *url, const unsigned char fkey[32], X509 *issuer,
                        const secure_fetch_limits_t *lim, int have_old, const char **why, apr_pool_t *p)
{
    secure_fetch_req_t rq = { "CRL distribution point", url, NULL, NULL, NULL, "a DER CRL",
                              (size_t)SECURE_CRLFETCH_MAX_BYTES, lim->timeout };
    secure_fetch_result_t res;
    apr_time_t now = apr_time_now(), until = 0;
    const char *skipped = NULL;
    crl_entry_t *e = NULL, *prev = NULL;
    BIO *body = NULL;
    char *data = NULL;
    long bytes = 0;
    int fresh = 0, prev_fresh = 0;

    if (!secure_fetch_breaker_allow(url, lim->timeout + 1, &until, &skipped, p)) {
        *why = apr_psprintf(p, "skipped: %s", skipped);
        return 0;
    }
    secure_status_count(SECURE_CTR_CRL_FETCHES);
    /* a GET of our own: no redirect followed, no proxy from the environment, refused connections given
     * up at once (secure_fetch) */
    if ((body = secure_fetch(&rq, &res, why, p)) != NULL) {
        if ((bytes = BIO_get_mem_data(body, &data)) <= 0 || data == NULL)
            *why = "the body is empty, not a DER CRL";
        else if ((e = crl_check(data, (size_t)bytes, issuer, &fresh, why, p)) != NULL && fresh) {
            /* what this one replaces, when this process kept none: the server's previous download */
            if (!table_has(url, e->issuer_key, NULL, INT64_MAX))
                prev = spool_read(s, url, fkey, issuer, &prev_fresh, p);
            spool_save(s, url, fkey, data, (apr_size_t)bytes, p);
        }
    }
    BIO_free(body);
    secure_ossl_discard("a failed download's reasons are already in *why");
    if (secure_fetch_breaker_record(s, url, fresh, lim))
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, SECTAG(11059) "%s: CRL distribution point %s failed %ld "
                     "times in a row: skipping it for %ld s (SecureOCSPFailures / SecureOCSPRetry)",
                     secure_config_vhost_name(s), url, lim->failures, lim->retry);
    /* one that passed the checks but is not fresh is kept too: its revocations still count */
    if (e != NULL)
        table_install(s, url, issuer, e, prev, "downloaded", p);
    if (prev != NULL)
        secure_crlcore_free(prev->crl);
    if (!fresh) {
        secure_status_count(SECURE_CTR_CRL_FETCH_ERRORS);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SECTAG(10550) "%s: CRL distribution point %s: %s; %s", secure_config_vhost_name(s),
                     url, *why, have_old ? "keeping the CRL fetched before until its nextUpdate"
                                         : "revocation status of its certificates is UNKNOWN");
        if (e != NULL)
            secure_crlcore_free(e->crl);
        return 0;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 SECTAG(10551) "%s: fetched the CRL of %s from %s: %" APR_SIZE_T_FMT " revoked, valid %"
                 APR_TIME_T_FMT " s more", secure_config_vhost_name(s), "the issuer", url,
                 (apr_size_t)secure_crlcore_count(e->crl), apr_time_sec(e->next_update - now));
    secure_crlcore_free(e->crl);   /* crl_check's reference; the table keeps its own */
    return 1;
}

typedef struct {
    server_rec *s;
    const char *url;
    const unsigned char *fkey;
    X509 *issuer;
} spool_poll_t;

/* secure_flight_poll_fn: another process's download of the URL landed; its CRL is in the spool. */
static int spool_poll(void *baton, secure_verdict_t *v, apr_pool_t *p)
{
    spool_poll_t *b = baton;

    if (!spool_take(b->s, b->url, b->fkey, b->issuer, p))
        return 0;
    memset(v, 0, sizeof(*v));
    v->status = SECURE_REV_GOOD;     /* "look in the table" */
    return 1;
}

/* Gets a fresh CRL for url into this process's table: from the spool when another process downloaded
 * it lately, else by downloading it, one download per URL in flight in the server (the others wait for
 * it, at most SecureOCSPTimeout, and take it from the spool). 1 when a fresh CRL is in the table, else
 * 0 with *why. Runs on the background thread (or inline where a process has none). */
static int crl_obtain(server_rec *s, const char *url, X509 *issuer, const secure_fetch_limits_t *lim, int have_old,
                      const char **why, apr_pool_t *p)
{
    unsigned char fkey[32];
    secure_flight_t *f = NULL;
    secure_verdict_t sig;
    spool_poll_t pb = { s, url, fkey, issuer };
    secure_crlcore_crl_t *crl = NULL;
    unsigned char ikey[32];
    unsigned int mdlen = 0;
    apr_time_t next = 0;
    int ok, due = 1;

    /* another job or thread of this process got one meanwhile (a job queued while one ran inline) */
    if (X509_pubkey_digest(issuer, EVP_sha256(), ikey, &mdlen)
        && table_get(url, ikey, &crl, &next, &due, apr_time_now())) {
        secure_crlcore_free(crl);
        if (!due)
            return 1;
    }
    secure_ossl_discard("an issuer key that cannot be hashed fails the CRL's check below, with a reason");
    if (!url_flight_key(url, fkey))
        return crl_download(s, url, NULL, issuer, lim, have_old, why, p);   /* no spool either */
    if (spool_take(s, url, fkey, issuer, p))
        return 1;
    memset(&sig, 0, sizeof(sig));
    switch (secure_flight_board(fkey, 1, apr_time_now() + apr_time_from_sec(lim->timeout), spool_poll, &pb, &f, &sig,
                                p)) {
    case SECURE_FLIGHT_ANSWER:
        if (sig.status == SECURE_REV_GOOD)
            return 1;
        *why = "another download of it failed just now";
        return 0;
    case SECURE_FLIGHT_TIMEOUT:
        *why = apr_psprintf(p, "another download of it was still in flight after %d s (SecureOCSPTimeout)",
                            lim->timeout);
        return 0;
    default:
        break;
    }
    /* leading: a download may have landed between the first look and the boarding */
    ok = spool_take(s, url, fkey, issuer, p) || crl_download(s, url, fkey, issuer, lim, have_old, why, p);
    memset(&sig, 0, sizeof(sig));
    sig.status = ok ? SECURE_REV_GOOD : SECURE_REV_UNKNOWN;
    secure_flight_land(f, &sig);
    return ok;
}

/* ---- jobs on the background thread: one per URL at a time in this process ------------------------- */

typedef struct {
    server_rec *s;
    X509 *issuer;
    secure_fetch_limits_t lim;
    int have_old;                       /* a refresh: a valid CRL answers meanwhile */
    dl_slot_t *slot;
    char url[SECURE_BREAKER_URL_MAX];
} crl_job_t;

/* Ends the job of slot: frees the slot and wakes its waiters. why: NULL when a fresh CRL is in. */
static void dl_end(dl_slot_t *slot, const char *why)
{
    if (crl_mutex == NULL || apr_thread_mutex_lock(crl_mutex) != APR_SUCCESS)
        return;
    apr_cpystrn(slot->why, why != NULL ? why : "", sizeof(slot->why));
    slot->url[0] = '\0';
    slot->seq++;
    apr_thread_cond_broadcast(crl_cond);
    apr_thread_mutex_unlock(crl_mutex);
}

static void crl_job_drop(void *job)
{
    crl_job_t *j = job;

    dl_end(j->slot, "the background thread stopped before it ran");
    X509_free(j->issuer);
    free(j);
}

static void crl_job_run(void *job, apr_pool_t *p)
{
    crl_job_t *j = job;
    const char *why = NULL;
    int ok = crl_obtain(j->s, j->url, j->issuer, &j->lim, j->have_old, &why, p);

    if (ok && j->have_old)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, j->s, SECTAG(11610) "%s: the CRL from %s was refreshed in the "
                     "background; the one it replaces answered until then", secure_config_vhost_name(j->s), j->url);
    dl_end(j->slot, ok ? NULL : why != NULL ? why : "no CRL");
    X509_free(j->issuer);
    free(j);
}

typedef enum { DL_QUEUED, DL_RUNNING, DL_FULL, DL_NO_THREAD } dl_state_t;

/* Makes sure a job for url is queued or running in this process: DL_QUEUED (queued now) or DL_RUNNING
 * (one was already), with *slot and *seq to wait on; DL_FULL (no room: the URL table or the queue) or
 * DL_NO_THREAD (no background thread in this process). */
static dl_state_t dl_start(server_rec *s, const char *url, X509 *issuer, const secure_fetch_limits_t *lim,
                           int have_old, dl_slot_t **slot, unsigned *seq)
{
    crl_job_t *j;
    secure_bg_job_t bj;
    dl_slot_t *free_slot = NULL;
    size_t i;
    int rc;

    if (crl_mutex == NULL || apr_thread_mutex_lock(crl_mutex) != APR_SUCCESS)
        return DL_NO_THREAD;
    for (i = 0; i < SECURE_CRLFETCH_TABLE_URLS; i++) {
        if (dl_table[i].url[0] == '\0') {
            if (free_slot == NULL)
                free_slot = &dl_table[i];
        }
        else if (strcmp(dl_table[i].url, url) == 0) {
            *slot = &dl_table[i];
            *seq = dl_table[i].seq;
            apr_thread_mutex_unlock(crl_mutex);
            return DL_RUNNING;
        }
    }
    if (free_slot == NULL) {
        apr_thread_mutex_unlock(crl_mutex);
        return DL_FULL;
    }
    memcpy(free_slot->url, url, strlen(url) + 1);
    *slot = free_slot;
    *seq = free_slot->seq;
    apr_thread_mutex_unlock(crl_mutex);

    /* queued outside the table's mutex: the background thread takes its own and then, in drop, ours */
    if ((j = calloc(1, sizeof(*j))) == NULL || !X509_up_ref(issuer)) {
        free(j);
        rc = 0;
    }
    else {
        j->s = s;
        j->issuer = issuer;
        j->lim = *lim;
        j->have_old = have_old;
        j->slot = free_slot;
        memcpy(j->url, url, strlen(url) + 1);
        bj.run = crl_job_run;
        bj.drop = crl_job_drop;
        bj.job = j;
        if ((rc = secure_bg_submit(&bj)) == 1)
            return DL_QUEUED;
        X509_free(issuer);
        free(j);
    }
    /* not queued: give the slot back (nobody can be waiting on it yet but callers that came meanwhile,
     * who are woken and find no CRL) */
    dl_end(free_slot, rc < 0 ? "no background thread" : "the background queue is full");
    return rc < 0 ? DL_NO_THREAD : DL_FULL;
}

/* Waits until the job of slot (seen at seq) ends or deadline passes. 1 when it ended, with *why its
 * failure (NULL: it got a fresh CRL); 0 at the deadline. */
static int dl_wait(dl_slot_t *slot, unsigned seq, apr_time_t deadline, const char **why, apr_pool_t *p)
{
    apr_time_t now;
    int ended;

    *why = NULL;
    if (crl_mutex == NULL || apr_thread_mutex_lock(crl_mutex) != APR_SUCCESS)
        return 0;
    while (slot->seq == seq && (now = apr_time_now()) < deadline)
        apr_thread_cond_timedwait(crl_cond, crl_mutex, deadline - now);
    ended = slot->seq != seq;
    if (ended && slot->seq == seq + 1 && slot->why[0] != '\0')
        *why = apr_pstrdup(p, slot->why);
    apr_thread_mutex_unlock(crl_mutex);
    return ended;
}

/* ---- the check ---------------------------------------------------------------------------------- */

int secure_crlfetch_check(server_rec *s, conn_rec *c, X509 *cert, X509 *issuer, const secure_fetch_limits_t *lim,
                          secure_verdict_t *v, apr_pool_t *p)
{
    const char *url = cdp_http_url(cert, p), *why = NULL, *problem;
    secure_crlcore_crl_t *crl = NULL;
    secure_crlcore_answer_t a;
    unsigned char key[32];
    unsigned int mdlen = 0;
    apr_time_t now = apr_time_now(), next = 0;
    int due = 1, valid;
    dl_slot_t *slot = NULL;
    unsigned seq = 0;

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
    valid = crl != NULL && now < next;
    if (due && !valid && secure_bg_is_current()) {
        /* a job of the background thread itself (first sight, refresh ahead): a download job queued
         * behind it would run only after it; fetch here, on the same thread */
        (void)crl_obtain(s, url, issuer, lim, 0, &why, p);
        secure_crlcore_free(crl);
        crl = NULL;
        table_get(url, key, &crl, &next, &due, apr_time_now());
    }
    else if (due) {
        /* a CRL in hand that is still valid keeps answering while its successor is fetched in the
         * background; without one, the job's answer is awaited (never fetched on this thread) */
        switch (dl_start(s, url, issuer, lim, valid, &slot, &seq)) {
        case DL_QUEUED:
        case DL_RUNNING:
            if (valid)
                break;
            if (!dl_wait(slot, seq, now + apr_time_from_sec(lim->timeout), &why, p))
                why = apr_psprintf(p, "its download on the background thread was still running after %d s "
                                      "(SecureOCSPTimeout)", lim->timeout);
            secure_crlcore_free(crl);
            crl = NULL;
            table_get(url, key, &crl, &next, &due, apr_time_now());
            break;
        case DL_FULL:
            if (!valid)
                why = "too many distribution points are being downloaded by this process at once";
            break;
        case DL_NO_THREAD:
            /* a process without its background thread (SEC11608) fetches inline, as before */
            (void)crl_obtain(s, url, issuer, lim, valid, &why, p);
            secure_crlcore_free(crl);
            crl = NULL;
            table_get(url, key, &crl, &next, &due, apr_time_now());
            break;
        }
    }
    /* the verdict follows the same rules as for SecureCRL files (secure_crlcore_answer_*): the fresh CRL
     * answers; a revocation listed in a CRL that is not fresh (or not fresh any more) still counts */
    now = apr_time_now();
    secure_crlcore_answer_init(&a);
    if (crl != NULL)
        secure_crlcore_answer_add(&a, crl, NULL, cert, issuer, (int64_t)apr_time_sec(now), 0);
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
        if (crl != NULL)
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
    return 1;
}
