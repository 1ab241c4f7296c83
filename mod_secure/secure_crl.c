/* secure_crl — the SecureCRL store of one vhost: files, reloads, generations and persisted copies around
 * the CRL core (secure_crlcore.c does the parsing, checking, compacting and lookups; see both headers).
 *
 * Memory: a generation (crl_gen_t) and the files it holds (crl_file_t) are reference counted and live on
 * the heap, not in a pool, because their lifetime is decided at run time by whichever thread releases
 * them last (a handshake still reading an old generation while the reload thread publishes a new one).
 * Files whose content did not change are shared between consecutive generations.
 *
 * Reloads: one reloader per store at a time. mod_watchdog's child_init starts its thread before ours
 * runs, so the watchdog and child_init can both call secure_crl_store_refresh; the second one finds the
 * reload mutex taken and skips (the running reload sees the same files). Everything a reload reads from
 * the current generation is held by a reference of its own.
 *
 * Persisted copies: every file that verified is also written, as the exact bytes that verified, to
 * DefaultRuntimeDir/mod_secure-crl/<key>.<sha256 of the bytes>.crl, where <key> is derived from the vhost
 * and the file's path (temp file + rename, so a copy is whole or absent). When a file does not verify and
 * no copy of it is in memory (at startup, after a graceful restart), the newest copy is verified again
 * against the trust store and used instead, with a warning: a revocation once known is not forgotten
 * because the file was briefly corrupt or half-written. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_atomic.h"
#include "apr_file_info.h"
#include "apr_file_io.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include "apr_thread_proc.h"
#include "unixd.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "secure_compat.h"
#include "secure_config.h"
#include "secure_crl.h"
#include "secure_crlcore.h"
#include "secure_gen.h"
#include "secure_log.h"
#include "secure_ossl.h"
#include "secure_status.h"
#include "secure_util.h"

#if SECURE_HAVE_MALLOC_TRIM
#include <malloc.h>
#endif

APLOG_USE_MODULE(secure);

/* Largest CRL file read (a 1,000,000-entry CRL is about 40 MB of DER, 55 MB of PEM). */
#define CRL_FILE_MAX ((apr_off_t)512 * 1024 * 1024)
/* Folder of the persisted copies, under DefaultRuntimeDir. */
#define CRL_COPY_DIR "mod_secure-crl"
#define CRL_COPY_KEY_HEX 32             /* characters of the per-file key in a copy's name */

typedef struct {
    apr_ino_t inode;
    apr_dev_t device;
    apr_time_t mtime;
    apr_off_t size;
} file_sig_t;

typedef struct {
    apr_uint32_t refs;
    char *path;
    file_sig_t sig;
    size_t n;
    secure_crlcore_crl_t **crls;
    char *copy;                 /* non-NULL: the CRLs come from this persisted copy, not from path */
} crl_file_t;

/* One generation: the data of a secure_gen_t (secure_gen.h counts its references). */
typedef struct {
    int n;
    crl_file_t **files;
} crl_gen_t;

typedef struct failed_sig {
    struct failed_sig *next;
    char *path;
    file_sig_t sig;
} failed_sig_t;

struct secure_crl_store {
    server_rec *s;
    const apr_array_header_t *paths;
    X509_STORE *trust;
    secure_gen_holder_t cur;    /* the generation in force (crl_gen_t data) */
    apr_thread_mutex_t *reload; /* held by the one reload running; guards failed */
    failed_sig_t *failed;       /* versions that failed to load: not retried until they change */
    const char *copy_dir;       /* persisted copies (NULL: none) */
};

/* "YYYY-MM-DDTHH:MM:SSZ" of seconds since the epoch, from p. */
static const char *iso_time(int64_t secs, apr_pool_t *p)
{
    apr_time_exp_t xt;

    if (apr_time_exp_gmt(&xt, apr_time_from_sec((apr_time_t)secs)) != APR_SUCCESS)
        return "(unreadable time)";
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", xt.tm_year + 1900, xt.tm_mon + 1, xt.tm_mday,
                        xt.tm_hour, xt.tm_min, xt.tm_sec);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

/* ---- reference counting ---------------------------------------------------------------------- */

static void file_release(crl_file_t *f)
{
    if (f == NULL || apr_atomic_dec32(&f->refs) != 0)
        return;
    secure_crlcore_free_all(f->crls, f->n);
    free(f->path);
    free(f->copy);
    free(f);
}

/* Frees a generation's data: its reference on each file (secure_gen calls it on the last reference). */
static void gen_data_free(void *data)
{
    crl_gen_t *g = data;
    int i;

    if (g == NULL)
        return;
    for (i = 0; i < g->n; i++)
        file_release(g->files[i]);
    free(g->files);
    free(g);
}

/* The generation in force, with a reference (secure_gen_release), and its data in *out (NULL: none). */
static secure_gen_t *gen_acquire(secure_crl_store_t *st, crl_gen_t **out)
{
    secure_gen_t *g = secure_gen_acquire(&st->cur);

    *out = g != NULL ? g->data : NULL;
    return g;
}

static void gen_keep(crl_gen_t *gen, crl_file_t *f)
{
    apr_atomic_inc32(&f->refs);
    gen->files[gen->n++] = f;
}

static apr_status_t store_cleanup(void *data)
{
    secure_crl_store_t *st = data;
    failed_sig_t *f, *next;

    X509_STORE_free(st->trust);
    st->trust = NULL;
    for (f = st->failed; f != NULL; f = next) {
        next = f->next;
        free(f->path);
        free(f);
    }
    st->failed = NULL;
    return APR_SUCCESS;
}

/* ---- loading ------------------------------------------------------------------------------------ */

typedef struct {
    secure_crl_store_t *st;
    const char *path;
    int quiet;
} report_ctx_t;

static void report_refused(void *baton, int number, const char *why)
{
    report_ctx_t *rc = baton;

    if (rc->quiet)
        return;
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, rc->st->s,
                 SECTAG(10401) "%s: SecureCRL file %s: CRL number %d in the file refused: %s",
                 secure_config_vhost_name(rc->st->s), rc->path, number, why);
    secure_status_count(SECURE_CTR_CRL_RELOAD_FAILED);
    secure_status_crl_failed(rc->st->s, rc->path);
}

/* The whole content of path (at most max bytes) in a malloc'ed buffer, or NULL with *why from p. */
static char *read_all(const char *path, apr_off_t max, apr_size_t *len, const char **why, apr_pool_t *p)
{
    apr_file_t *fd = NULL;
    apr_finfo_t fi;
    apr_size_t got = 0;
    apr_status_t rv;
    char *buf = NULL;

    if ((rv = apr_file_open(&fd, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p)) != APR_SUCCESS
        || (rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fd)) != APR_SUCCESS) {
        *why = apr_psprintf(p, "cannot read it (%pm)", &rv);
        goto cleanup;
    }
    if (fi.size > max) {
        *why = apr_psprintf(p, "the file is larger than %" APR_OFF_T_FMT " bytes", max);
        goto cleanup;
    }
    *len = (apr_size_t)fi.size;
    if ((buf = malloc(*len ? *len : 1)) == NULL) {
        *why = "out of memory";
        goto cleanup;
    }
    if (*len > 0 && (rv = apr_file_read_full(fd, buf, *len, &got)) != APR_SUCCESS) {
        *why = apr_psprintf(p, "cannot read it (%pm)", &rv);
        free(buf);
        buf = NULL;
    }

cleanup:
    if (fd != NULL)
        apr_file_close(fd);
    return buf;
}

/* A file entry (refs 1) for the CRLs in buf that pass the core's checks, or NULL with *why. */
static crl_file_t *file_from(secure_crl_store_t *st, const char *path, const char *buf, apr_size_t len,
                             int quiet, const char **why, apr_pool_t *p)
{
    secure_crlcore_trust_t trust = { st->trust, NULL, "the vhost's trusted CAs (SSLCACertificateFile / "
                                                      "SSLCACertificatePath)" };
    report_ctx_t rc = { st, path, quiet };
    char reason[SECURE_CRLCORE_WHY_MAX];
    crl_file_t *f;

    if ((f = calloc(1, sizeof(*f))) == NULL || (f->path = dup_str(path)) == NULL) {
        free(f);
        *why = "out of memory";
        return NULL;
    }
    f->refs = 1;
    if (secure_crlcore_load(buf, len, &trust, &f->crls, &f->n, report_refused, &rc, reason,
                            sizeof(reason)) < 0) {
        *why = apr_pstrdup(p, reason);
        file_release(f);
        return NULL;
    }
    return f;
}

/* ---- persisted copies --------------------------------------------------------------------------- */

static void sha256_hex(const void *data, apr_size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;

    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != sizeof(md)) {
        secure_ossl_discard("SHA-256 of a CRL file for its kept copy's name failed: an all-zero name is used");
        memset(md, 0, sizeof(md));
    }
    secure_hex_lower(md, sizeof(md), out);
}

/* The key of path's copies: vhost and path hashed, so any path gives a safe file name. */
static const char *copy_key(secure_crl_store_t *st, const char *path, apr_pool_t *p)
{
    const char *id = apr_pstrcat(p, secure_config_vhost_name(st->s), "\n", path, NULL);
    char hex[65];

    sha256_hex(id, strlen(id), hex);
    hex[CRL_COPY_KEY_HEX] = '\0';
    return apr_pstrdup(p, hex);
}

typedef struct {
    const char *name;           /* full path */
    const char *digest;         /* from the name */
    apr_time_t mtime;           /* the source file's mtime when it verified */
} copy_t;

static int copy_newest_first(const void *a, const void *b)
{
    const copy_t *x = a, *y = b;
    return x->mtime < y->mtime ? 1 : x->mtime > y->mtime ? -1 : 0;
}

/* Every copy of path, newest first. */
static apr_array_header_t *copies_of(secure_crl_store_t *st, const char *path, apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 2, sizeof(copy_t));
    const char *key = copy_key(st, path, p);
    size_t klen = strlen(key);
    apr_finfo_t fi;
    apr_dir_t *dir;

    if (apr_dir_open(&dir, st->copy_dir, p) != APR_SUCCESS)
        return out;
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_MTIME, dir) == APR_SUCCESS) {
        size_t n = strlen(fi.name);
        copy_t *c;
        /* <key>.<64 hex>.crl */
        if (fi.filetype != APR_REG || n != klen + 1 + 64 + 4 || strncmp(fi.name, key, klen) != 0
            || fi.name[klen] != '.' || strcmp(fi.name + n - 4, ".crl") != 0)
            continue;
        c = apr_array_push(out);
        c->name = apr_pstrcat(p, st->copy_dir, "/", fi.name, NULL);
        c->digest = apr_pstrmemdup(p, fi.name + klen + 1, 64);
        c->mtime = fi.mtime;
    }
    apr_dir_close(dir);
    qsort(out->elts, (size_t)out->nelts, sizeof(copy_t), copy_newest_first);
    return out;
}

/* Keeps the bytes of path that just verified (source mtime src_mtime) as its newest copy, unless a copy
 * of a newer version is there already; removes the older copies. Failures are logged, never fatal. */
static void copy_save(secure_crl_store_t *st, const char *path, const char *buf, apr_size_t len,
                      apr_time_t src_mtime, apr_pool_t *p)
{
    apr_array_header_t *old;
    apr_file_t *fd = NULL;
    const char *name, *tmp;
    apr_os_thread_t tid = apr_os_thread_current();
    apr_size_t wrote = 0;
    apr_status_t rv;
    char digest[65];
    int i;

    if (st->copy_dir == NULL)
        return;
    sha256_hex(buf, len, digest);
    name = apr_psprintf(p, "%s/%s.%s.crl", st->copy_dir, copy_key(st, path, p), digest);
    old = copies_of(st, path, p);
    for (i = 0; i < old->nelts; i++) {
        const copy_t *c = &APR_ARRAY_IDX(old, i, copy_t);
        if (!strcmp(c->digest, digest) || c->mtime > src_mtime)
            return;     /* this version is kept already, or a newer one is (another child was faster) */
    }
    tmp = apr_psprintf(p, "%s/.tmp.%" APR_PID_T_FMT ".%lu", st->copy_dir, getpid(),
                       (unsigned long)(uintptr_t)tid);
    if ((rv = apr_file_open(&fd, tmp, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE
                            | APR_FOPEN_BINARY, APR_FPROT_UREAD | APR_FPROT_UWRITE, p)) != APR_SUCCESS
        || (len > 0 && (rv = apr_file_write_full(fd, buf, len, &wrote)) != APR_SUCCESS)
        || (rv = apr_file_flush(fd)) != APR_SUCCESS || (rv = apr_file_sync(fd)) != APR_SUCCESS) {
        if (fd != NULL)
            apr_file_close(fd);
        apr_file_remove(tmp, p);
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, st->s,
                     SECTAG(11151) "%s: cannot keep a copy of the verified CRL file %s in %s; a restart "
                     "while the file is unreadable would forget its revocations", secure_config_vhost_name(st->s),
                     path, st->copy_dir);
        return;
    }
    apr_file_close(fd);
    /* the copy carries the version it is of: the source's mtime orders copies written by several
     * children at once (the newest version wins) */
    apr_file_mtime_set(tmp, src_mtime, p);
    /* as root (the parent): let the children read it too; failing only means they cannot fall back */
    if (geteuid() == 0 && chown(tmp, ap_unixd_config.user_id, (gid_t)-1) != 0)
        ap_log_error(APLOG_MARK, APLOG_DEBUG, APR_FROM_OS_ERROR(errno), st->s, "cannot chown %s", tmp);
    if ((rv = apr_file_rename(tmp, name, p)) != APR_SUCCESS) {
        apr_file_remove(tmp, p);
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, st->s,
                     SECTAG(11152) "%s: cannot keep a copy of the verified CRL file %s as %s",
                     secure_config_vhost_name(st->s), path, name);
        return;
    }
    for (i = 0; i < old->nelts; i++)
        apr_file_remove(APR_ARRAY_IDX(old, i, copy_t).name, p);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, st->s, "%s: kept a copy of the verified CRL file %s as %s",
                 secure_config_vhost_name(st->s), path, name);
}

/* The newest copy of path that is whole (its digest matches its name) and verifies against the trust
 * store today, as a file entry (refs 1), or NULL. */
static crl_file_t *copy_load(secure_crl_store_t *st, const char *path, apr_pool_t *p)
{
    apr_array_header_t *copies;
    int i;

    if (st->copy_dir == NULL)
        return NULL;
    copies = copies_of(st, path, p);
    for (i = 0; i < copies->nelts; i++) {
        const copy_t *c = &APR_ARRAY_IDX(copies, i, copy_t);
        const char *why = NULL;
        apr_size_t len = 0;
        char *buf = read_all(c->name, CRL_FILE_MAX, &len, &why, p), digest[65];
        crl_file_t *f = NULL;

        if (buf != NULL) {
            sha256_hex(buf, len, digest);
            if (strcmp(digest, c->digest) != 0)
                why = "its content does not match the digest in its name";
            else
                f = file_from(st, path, buf, len, 1, &why, p);
            free(buf);
        }
        if (f != NULL && (f->copy = dup_str(c->name)) != NULL)
            return f;
        file_release(f);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, st->s,
                     SECTAG(11153) "%s: the kept copy %s of CRL file %s is not used: %s",
                     secure_config_vhost_name(st->s), c->name, path, why ? why : "out of memory");
    }
    return NULL;
}

/* Makes the folder of the copies (at startup, in the parent) and hands it to the children's user. */
static const char *copy_dir_make(server_rec *s, apr_pool_t *p)
{
    const char *dir = ap_runtime_dir_relative(p, CRL_COPY_DIR);
    apr_status_t rv;

    if (dir == NULL)
        return NULL;
    rv = apr_dir_make(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE, p);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     SECTAG(11154) "%s: cannot create %s for copies of verified CRLs; a restart while a "
                     "SecureCRL file is unreadable will forget its revocations", secure_config_vhost_name(s), dir);
        return NULL;
    }
    if (geteuid() == 0 && chown(dir, ap_unixd_config.user_id, (gid_t)-1) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, APR_FROM_OS_ERROR(errno), s,
                     SECTAG(11155) "%s: cannot hand %s to the server's User; only the parent will keep "
                     "copies of verified CRLs", secure_config_vhost_name(s), dir);
    }
    return dir;
}

/* ---- the files of a store ----------------------------------------------------------------------- */

/* Parses and checks every CRL in one file. Returns a new file entry (refs 1), or NULL with *why set;
 * CRLs refused inside an otherwise good PEM file are logged here. A file that verified is persisted. */
static crl_file_t *load_file(secure_crl_store_t *st, const char *path, const file_sig_t *sig,
                             const char **why, apr_pool_t *p)
{
    apr_size_t len = 0;
    char *buf;
    crl_file_t *f;

    *why = NULL;
    if ((buf = read_all(path, CRL_FILE_MAX, &len, why, p)) == NULL)
        return NULL;
    if ((f = file_from(st, path, buf, len, 0, why, p)) != NULL) {
        f->sig = *sig;
        copy_save(st, path, buf, len, sig->mtime, p);
    }
    free(buf);
    return f;
}

static void sig_of(const apr_finfo_t *fi, file_sig_t *sig)
{
    sig->inode = fi->inode;
    sig->device = fi->device;
    sig->mtime = fi->mtime;
    sig->size = fi->size;
}

static int sig_eq(const file_sig_t *a, const file_sig_t *b)
{
    return a->inode == b->inode && a->device == b->device && a->mtime == b->mtime && a->size == b->size;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every regular file a SecureCRL argument names now (a directory: its files, sorted, no dot files). */
static void list_files(secure_crl_store_t *st, const char *path, apr_array_header_t *out, apr_pool_t *p)
{
    apr_finfo_t fi;
    apr_dir_t *dir;
    apr_status_t rv;
    int first = out->nelts;

    if ((rv = apr_stat(&fi, path, APR_FINFO_TYPE, p)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, st->s,
                     SECTAG(10402) "%s: SecureCRL %s cannot be read now; its CRLs are no longer used",
                     secure_config_vhost_name(st->s), path);
        return;
    }
    if (fi.filetype != APR_DIR) {
        *(const char **)apr_array_push(out) = path;
        return;
    }
    if ((rv = apr_dir_open(&dir, path, p)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, st->s,
                     SECTAG(10403) "%s: SecureCRL directory %s cannot be listed now; its CRLs are no "
                     "longer used", secure_config_vhost_name(st->s), path);
        return;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir) == APR_SUCCESS) {
        size_t n = strlen(fi.name);
        if (fi.name[0] == '.' || fi.name[n - 1] == '~' || (fi.filetype != APR_REG && fi.filetype != APR_LNK))
            continue;
        *(const char **)apr_array_push(out) = apr_pstrcat(p, path, "/", fi.name, NULL);
    }
    apr_dir_close(dir);
    qsort(out->elts + (size_t)first * sizeof(char *), (size_t)(out->nelts - first), sizeof(char *), cmp_str);
}

static failed_sig_t *failed_find(secure_crl_store_t *st, const char *path)
{
    failed_sig_t *f;

    for (f = st->failed; f != NULL; f = f->next)
        if (!strcmp(f->path, path))
            return f;
    return NULL;
}

static void failed_set(secure_crl_store_t *st, const char *path, const file_sig_t *sig)
{
    failed_sig_t *f = failed_find(st, path);

    if (f == NULL) {
        if ((f = calloc(1, sizeof(*f))) == NULL || (f->path = dup_str(path)) == NULL) {
            free(f);
            return;
        }
        f->next = st->failed;
        st->failed = f;
    }
    f->sig = *sig;
}

static void failed_clear(secure_crl_store_t *st, const char *path)
{
    failed_sig_t **pp, *f;

    for (pp = &st->failed; (f = *pp) != NULL; pp = &f->next)
        if (!strcmp(f->path, path)) {
            *pp = f->next;
            free(f->path);
            free(f);
            return;
        }
}

static void log_loaded(secure_crl_store_t *st, const crl_file_t *f, const char *how, apr_pool_t *p)
{
    size_t j;

    for (j = 0; j < f->n; j++) {
        int64_t nu;
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, st->s,
                     SECTAG(10406) "%s: CRL %s from '%s' %s: %" APR_SIZE_T_FMT " revoked certificates, next update %s",
                     secure_config_vhost_name(st->s), f->path, secure_ossl_dn(secure_crlcore_issuer(f->crls[j]), p),
                     how, secure_crlcore_count(f->crls[j]),
                     secure_crlcore_next_update(f->crls[j], &nu) ? iso_time(nu, p) : "(none: never fresh)");
    }
}

/* The gauges of the CRLs now in force (secure_status: mod_secure_crl_*), from the process that published
 * them; a file not in old was (re)loaded now. */
static void publish_metrics(secure_crl_store_t *st, const crl_gen_t *g, const crl_gen_t *old, apr_pool_t *p)
{
    secure_status_crl_batch_t *b = secure_status_crl_begin(st->s, p);
    int i, j, changed;
    size_t k;

    for (i = 0; i < g->n; i++) {
        const crl_file_t *f = g->files[i];
        for (j = 0, changed = 1; old != NULL && j < old->n && changed; j++)
            changed = old->files[j] != f;
        for (k = 0; k < f->n; k++) {
            int64_t nu;
            secure_status_crl_put(b, f->path, secure_crlcore_issuer(f->crls[k]),
                                  secure_crlcore_next_update(f->crls[k], &nu) ? nu : -1,
                                  secure_crlcore_count(f->crls[k]), changed);
        }
    }
    secure_status_crl_end(b);
}

/* One pass over the files; the caller holds st->reload. */
static int store_refresh_locked(secure_crl_store_t *st, apr_pool_t *p)
{
    apr_array_header_t *names;
    crl_gen_t *old, *gen = NULL;
    secure_gen_t *oldg = gen_acquire(st, &old), *newg;
    int i, j, changed = 0, removed = 0;
    apr_time_t t0 = apr_time_now();

    names = apr_array_make(p, 8, sizeof(const char *));
    for (i = 0; i < st->paths->nelts; i++)
        list_files(st, APR_ARRAY_IDX(st->paths, i, const char *), names, p);
    if ((gen = calloc(1, sizeof(*gen))) == NULL
        || (names->nelts > 0 && (gen->files = calloc((size_t)names->nelts, sizeof(*gen->files))) == NULL))
        goto cleanup;
    for (i = 0; i < names->nelts; i++) {
        const char *path = APR_ARRAY_IDX(names, i, const char *), *why;
        crl_file_t *prev = NULL, *f;
        failed_sig_t *bad;
        apr_finfo_t fi;
        file_sig_t sig;
        apr_status_t rv;

        for (j = 0; old != NULL && j < old->n; j++)
            if (!strcmp(old->files[j]->path, path))
                prev = old->files[j];
        if ((rv = apr_stat(&fi, path, APR_FINFO_SIZE | APR_FINFO_MTIME | APR_FINFO_INODE | APR_FINFO_DEV,
                           p)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, st->s,
                         SECTAG(10404) "%s: CRL file %s vanished while reloading; its CRLs are no longer "
                         "used", secure_config_vhost_name(st->s), path);
            continue;
        }
        sig_of(&fi, &sig);
        if (prev != NULL && sig_eq(&prev->sig, &sig)) {
            gen_keep(gen, prev);
            continue;
        }
        if ((bad = failed_find(st, path)) != NULL && sig_eq(&bad->sig, &sig)) {
            if (prev != NULL)           /* already reported: keep the last good copy quietly */
                gen_keep(gen, prev);
            continue;
        }
        if ((f = load_file(st, path, &sig, &why, p)) == NULL) {
            crl_file_t *kept = prev != NULL ? NULL : copy_load(st, path, p);
            failed_set(st, path, &sig);
            secure_status_count(SECURE_CTR_CRL_RELOAD_FAILED);
            secure_status_crl_failed(st->s, path);
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, st->s,
                         SECTAG(10405) "%s: CRL file %s refused: %s; %s", secure_config_vhost_name(st->s),
                         path, why, prev ? "the previously loaded version of this file stays in force"
                                  : kept ? "its last verified copy is used instead (see below)"
                                         : "no CRL from this file is in force");
            if (prev != NULL)
                gen_keep(gen, prev);
            else if (kept != NULL) {
                kept->sig = sig;        /* stands for this version of the file until it changes */
                secure_status_count(SECURE_CTR_CRL_COPY_USED);
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, st->s,
                             SECTAG(11150) "%s: CRL file %s does not verify, so its last verified copy %s "
                             "is in force instead (fix or replace the file)", secure_config_vhost_name(st->s),
                             path, kept->copy);
                log_loaded(st, kept, "loaded from the kept copy", p);
                gen->files[gen->n++] = kept;
                changed++;
            }
            continue;
        }
        failed_clear(st, path);
        changed++;
        secure_status_count(SECURE_CTR_CRL_LOADED);
        log_loaded(st, f, prev ? "reloaded" : "loaded", p);
        gen->files[gen->n++] = f;
    }
    for (j = 0; old != NULL && j < old->n; j++) {
        int kept = 0;
        for (i = 0; i < gen->n && !kept; i++)
            kept = gen->files[i] == old->files[j] || !strcmp(gen->files[i]->path, old->files[j]->path);
        if (!kept) {
            /* its kept copies stay: a file that vanishes for a moment (rm + cp) must not take its
             * revocations with it across a restart */
            removed++;
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, st->s,
                         SECTAG(10407) "%s: CRL file %s is gone; its CRLs are no longer used",
                         secure_config_vhost_name(st->s), old->files[j]->path);
        }
    }
    if (old == NULL || changed || removed) {
        if ((newg = secure_gen_new(gen, gen_data_free)) == NULL)
            goto cleanup;               /* out of memory: the generation in force stays */
        secure_gen_publish(&st->cur, newg);  /* readers keep the old one alive while they use it */
        publish_metrics(st, gen, old, p);   /* we hold st->reload: no reload can free gen meanwhile */
        gen = NULL;
        if (old != NULL)
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, st->s,
                         SECTAG(10408) "%s: CRL set reloaded in %" APR_TIME_T_FMT " ms (%d changed, %d removed)",
                         secure_config_vhost_name(st->s), apr_time_as_msec(apr_time_now() - t0), changed,
                         removed);
    }

cleanup:
    gen_data_free(gen);                 /* a candidate that was not published */
    secure_gen_release(oldg);           /* our own reference */
    return changed + removed;
}

int secure_crl_store_refresh(secure_crl_store_t *st)
{
    apr_pool_t *p = NULL;
    int n;

    /* one reloader at a time: a second caller (watchdog vs child_init) skips, the running one sees the
     * same files */
    if (apr_thread_mutex_trylock(st->reload) != APR_SUCCESS)
        return 0;
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        apr_thread_mutex_unlock(st->reload);
        return 0;
    }
    n = store_refresh_locked(st, p);
    apr_pool_destroy(p);
    apr_thread_mutex_unlock(st->reload);
#if SECURE_HAVE_MALLOC_TRIM
    /* parsing a million-entry CRL (freed once compacted) and a replaced generation leave a few hundred
     * MB of free heap behind: give it back, also at startup so that children do not inherit it */
    if (n > 0)
        malloc_trim(0);
#endif
    return n;
}

secure_crl_store_t *secure_crl_store_create(server_rec *s, apr_pool_t *p, const apr_array_header_t *paths,
                                            X509_STORE *trust)
{
    secure_crl_store_t *st = apr_pcalloc(p, sizeof(*st));

    st->s = s;
    st->paths = paths;
    if (secure_gen_holder_init(&st->cur, p) != APR_SUCCESS
        || apr_thread_mutex_create(&st->reload, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
        return NULL;
    if (trust != NULL && X509_STORE_up_ref(trust))
        st->trust = trust;
    else
        st->trust = X509_STORE_new();   /* no trusted CAs: every CRL is refused, with a reason */
    st->copy_dir = copy_dir_make(s, p);
    apr_pool_cleanup_register(p, st, store_cleanup, apr_pool_cleanup_null);
    secure_crl_store_refresh(st);
    return st;
}

int secure_crl_count(secure_crl_store_t *st)
{
    crl_gen_t *g;
    secure_gen_t *gg = gen_acquire(st, &g);
    int i, n = 0;

    for (i = 0; g != NULL && i < g->n; i++)
        n += (int)g->files[i]->n;
    secure_gen_release(gg);
    return n;
}

secure_rev_status_t secure_crl_lookup(secure_crl_store_t *st, X509 *cert, X509 *issuer, long max_stale,
                                      secure_verdict_t *v, apr_pool_t *p)
{
    crl_gen_t *g;
    secure_gen_t *gg = gen_acquire(st, &g);
    secure_crlcore_answer_t a;
    const crl_file_t *f;
    const char *iname = NULL, *from;
    int64_t now = (int64_t)time(NULL), nu = 0;
    size_t j;
    int i;

    v->status = SECURE_REV_NONE;
    v->source = "crl";
    v->reason = -1;
    v->revoked_at = 0;
    v->expires = 0;
    v->detail = NULL;
    secure_crlcore_answer_init(&a);
    for (i = 0; g != NULL && i < g->n; i++)
        for (j = 0; j < g->files[i]->n; j++)
            secure_crlcore_answer_add(&a, g->files[i]->crls[j], g->files[i], cert, issuer, now, max_stale);
    if (secure_crlcore_answer_end(&a, cert) == SECURE_CRLCORE_NONE)
        goto cleanup;
    f = a.tag;
    iname = secure_ossl_dn(secure_crlcore_issuer(a.crl), p);
    from = f->copy ? apr_psprintf(p, " (its last verified copy %s: the file does not verify)", f->copy) : "";
    secure_crlcore_next_update(a.crl, &nu);
    if (a.status == SECURE_CRLCORE_REVOKED) {
        v->status = SECURE_REV_REVOKED;
        v->reason = a.reason;
        v->revoked_at = a.revoked_at > 0 ? apr_time_from_sec((apr_time_t)a.revoked_at) : 0;
    }
    else
        v->status = a.status == SECURE_CRLCORE_GOOD ? SECURE_REV_GOOD : SECURE_REV_UNKNOWN;
    if (a.time_state == SECURE_CRLCORE_FRESH)
        v->detail = apr_psprintf(p, "CRL %s%s from '%s' (this update %s)", f->path, from, iname,
                                 iso_time(secure_crlcore_this_update(a.crl), p));
    else if (v->status == SECURE_REV_REVOKED)
        v->detail = apr_psprintf(p, "CRL %s%s from '%s' lists it, though %s", f->path, from, iname,
                                 a.time_state == SECURE_CRLCORE_STALE
                                 ? apr_psprintf(p, "it is past its next update (%s)", iso_time(nu, p))
                                 : a.time_state == SECURE_CRLCORE_NO_NEXT_UPDATE ? "it has no nextUpdate"
                                 : "its thisUpdate is in the future");
    else if (a.time_state == SECURE_CRLCORE_STALE)
        v->detail = apr_psprintf(p, "the newest CRL from '%s' expired at %s (SecureCRLMaxStale %ld s)", iname,
                                 iso_time(nu, p), max_stale);
    else if (a.time_state == SECURE_CRLCORE_NO_NEXT_UPDATE)
        v->detail = apr_psprintf(p, "the newest CRL from '%s' has no nextUpdate, so it is never fresh", iname);
    else
        v->detail = apr_psprintf(p, "the newest CRL from '%s' is not valid yet (thisUpdate %s)", iname,
                                 iso_time(secure_crlcore_this_update(a.crl), p));

cleanup:
    secure_gen_release(gg);
    return v->status;
}
