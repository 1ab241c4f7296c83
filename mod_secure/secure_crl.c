/* secure_crl — CRL store: load, verify, reload on change, O(log n) lookup (see the header).
 *
 * Memory: a generation (crl_gen_t) and the files it holds (crl_file_t) are reference counted and live on
 * the heap, not in a pool, because their lifetime is decided at run time by whichever thread releases
 * them last (a handshake still reading an old generation while the reload thread publishes a new one).
 * Files whose content did not change are shared between consecutive generations.
 *
 * A CRL is parsed with OpenSSL, checked, and then converted into a sorted array of compact entries
 * (crl_entry_t, 16 bytes, plus the serial's bytes); the X509_CRL is freed at once. OpenSSL keeps about
 * 260 bytes per revoked entry, which for a million-entry CRL was the bulk of every child's memory and
 * was doubled by each reload. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_atomic.h"
#include "apr_file_info.h"
#include "apr_file_io.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "secure_compat.h"
#include "secure_config.h"
#include "secure_crl.h"
#include "secure_log.h"
#include "secure_status.h"

#if SECURE_HAVE_MALLOC_TRIM
#include <malloc.h>
#endif

APLOG_USE_MODULE(secure);

/* Largest CRL file read (a 1,000,000-entry CRL is about 40 MB of DER, 55 MB of PEM). */
#define CRL_FILE_MAX ((apr_off_t)512 * 1024 * 1024)

typedef struct {
    apr_ino_t inode;
    apr_dev_t device;
    apr_time_t mtime;
    apr_off_t size;
} file_sig_t;

/* One revoked certificate. The serial is kept as the content bytes of its DER INTEGER (magnitude,
 * without leading zero bytes) in the item's serial buffer, so an entry has a fixed size whatever the
 * serial's length. */
typedef struct {
    int64_t revoked_at;         /* seconds since the epoch; 0 when the date cannot be read */
    uint32_t off;               /* first serial byte in crl_item_t.serials */
    uint16_t len;
    uint8_t neg;                /* negative serial (not allowed by RFC 5280, but OpenSSL accepts them) */
    int8_t reason;              /* CRLReason code, -1 when the entry has none */
} crl_entry_t;

/* One loaded CRL: what lookups and logs need, nothing else. Immutable once built. */
typedef struct {
    X509_NAME *issuer;
    EVP_PKEY *key;              /* public key of the trusted CA the signature verified with */
    ASN1_TIME *last_update;
    ASN1_TIME *next_update;     /* NULL when the CRL has none */
    int only_user, only_ca;     /* issuingDistributionPoint scope */
    int n;
    crl_entry_t *entries;       /* n entries sorted by serial_cmp */
    unsigned char *serials;
} crl_item_t;

typedef struct {
    apr_uint32_t refs;
    char *path;
    file_sig_t sig;
    int n;
    crl_item_t *items;
} crl_file_t;

typedef struct {
    apr_uint32_t refs;
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
    apr_thread_mutex_t *mutex;  /* guards cur (held only to read or swap the pointer) */
    crl_gen_t *cur;
    failed_sig_t *failed;       /* versions that failed to load: not retried until they change */
};

static const char *const reason_names[] = {
    "unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
    "cessationOfOperation", "certificateHold", "unused7", "removeFromCRL", "privilegeWithdrawn",
    "aACompromise",
};

const char *secure_crl_reason_name(int code)
{
    if (code < 0 || code >= (int)(sizeof(reason_names) / sizeof(reason_names[0])) || code == 7)
        return "unspecified";
    return reason_names[code];
}

/* The instant of an ASN1_TIME, and its broken-down form. 0 on a bad time. */
static int time_of(const ASN1_TIME *t, struct tm *tm, apr_time_t *at)
{
    apr_time_exp_t xt;

    if (t == NULL || !ASN1_TIME_to_tm(t, tm))
        return 0;
    memset(&xt, 0, sizeof(xt));
    xt.tm_year = tm->tm_year;
    xt.tm_mon = tm->tm_mon;
    xt.tm_mday = tm->tm_mday;
    xt.tm_hour = tm->tm_hour;
    xt.tm_min = tm->tm_min;
    xt.tm_sec = tm->tm_sec;
    return apr_time_exp_gmt_get(at, &xt) == APR_SUCCESS;
}

const char *secure_crl_time_iso(const ASN1_TIME *t, apr_time_t *out, apr_pool_t *p)
{
    struct tm tm;
    apr_time_t at;

    if (!time_of(t, &tm, &at))
        return NULL;
    if (out != NULL)
        *out = at;
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The OpenSSL error queue as one line (and cleared), for a log message. */
static const char *ossl_errors(apr_pool_t *p)
{
    const char *out = NULL;
    unsigned long e;
    char buf[256];

    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        out = out ? apr_pstrcat(p, out, "; ", buf, NULL) : apr_pstrdup(p, buf);
    }
    return out ? out : "no OpenSSL detail";
}

static const char *name_str(const X509_NAME *n, apr_pool_t *p)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    const char *out = "(unprintable name)";

    if (b != NULL && X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0
        && (len = BIO_get_mem_data(b, &data)) >= 0)
        out = apr_pstrmemdup(p, data, (apr_size_t)len);
    BIO_free(b);
    return out;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

static void item_free(crl_item_t *it)
{
    X509_NAME_free(it->issuer);
    EVP_PKEY_free(it->key);
    ASN1_TIME_free(it->last_update);
    ASN1_TIME_free(it->next_update);
    free(it->entries);
    free(it->serials);
    memset(it, 0, sizeof(*it));
}

/* ---- reference counting ---------------------------------------------------------------------- */

static void file_release(crl_file_t *f)
{
    int i;

    if (f == NULL || apr_atomic_dec32(&f->refs) != 0)
        return;
    for (i = 0; i < f->n; i++)
        item_free(&f->items[i]);
    free(f->items);
    free(f->path);
    free(f);
}

static void gen_release(crl_gen_t *g)
{
    int i;

    if (g == NULL || apr_atomic_dec32(&g->refs) != 0)
        return;
    for (i = 0; i < g->n; i++)
        file_release(g->files[i]);
    free(g->files);
    free(g);
}

static crl_gen_t *gen_acquire(secure_crl_store_t *st)
{
    crl_gen_t *g;

    apr_thread_mutex_lock(st->mutex);
    if ((g = st->cur) != NULL)
        apr_atomic_inc32(&g->refs);
    apr_thread_mutex_unlock(st->mutex);
    return g;
}

static apr_status_t store_cleanup(void *data)
{
    secure_crl_store_t *st = data;
    failed_sig_t *f, *next;

    gen_release(st->cur);
    st->cur = NULL;
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

/* ---- compact entries ---------------------------------------------------------------------------- */

/* The content bytes of a serial INTEGER without leading zero bytes (OpenSSL's decoder already drops
 * them; this keeps keys canonical whatever built the INTEGER), its length and sign. */
static const unsigned char *serial_bytes(const ASN1_INTEGER *s, size_t *len, int *neg)
{
    const unsigned char *d = ASN1_STRING_get0_data(s);
    size_t n = (size_t)ASN1_STRING_length(s);

    while (n > 0 && d[0] == 0) {
        d++;
        n--;
    }
    *len = n;
    *neg = ASN1_STRING_type(s) == V_ASN1_NEG_INTEGER;
    return d;
}

/* Order of serials: sign, length, bytes. Any total order serves the binary search; what must match
 * OpenSSL's is equality (same sign, same magnitude), and it does. */
static int serial_cmp(int an, const unsigned char *a, size_t al, int bn, const unsigned char *b, size_t bl)
{
    int c;

    if (an != bn)
        return an ? -1 : 1;
    if (al != bl)
        c = al < bl ? -1 : 1;
    else if ((c = al ? memcmp(a, b, al) : 0) == 0)
        return 0;
    return an ? -c : c;
}

static int revoked_cmp(const void *a, const void *b)
{
    const X509_REVOKED *ra = *(X509_REVOKED *const *)a, *rb = *(X509_REVOKED *const *)b;
    const unsigned char *ad, *bd;
    size_t al, bl;
    int an, bn;

    ad = serial_bytes(X509_REVOKED_get0_serialNumber(ra), &al, &an);
    bd = serial_bytes(X509_REVOKED_get0_serialNumber(rb), &bl, &bn);
    return serial_cmp(an, ad, al, bn, bd, bl);
}

/* Does a certificateIssuer extension name the CRL's own issuer? */
static int names_issuer(const GENERAL_NAMES *gens, const X509_NAME *issuer)
{
    int i;

    for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DIRNAME && X509_NAME_cmp(g->d.directoryName, issuer) == 0)
            return 1;
    }
    return 0;
}

/* Copies what lookups and logs need from a checked CRL into item: issuer, update times and the revoked
 * entries as a sorted compact array. The CRL itself is left to the caller to free. NULL, or the reason
 * the CRL is refused (from p). */
static const char *crl_compact(X509_CRL *crl, crl_item_t *item, apr_pool_t *p)
{
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);   /* NULL in an empty CRL */
    int total = revoked ? sk_X509_REVOKED_num(revoked) : 0;
    const X509_NAME *issuer = X509_CRL_get_issuer(crl);
    const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
    X509_REVOKED **order = NULL;
    GENERAL_NAMES *gens = NULL;
    const char *why = NULL;
    size_t bytes = 0, len;
    int i, n = 0, covered = 1, neg;

    if ((item->issuer = X509_NAME_dup(issuer)) == NULL
        || X509_CRL_get0_lastUpdate(crl) == NULL
        || (item->last_update = ASN1_TIME_dup(X509_CRL_get0_lastUpdate(crl))) == NULL
        || (nu != NULL && (item->next_update = ASN1_TIME_dup(nu)) == NULL)
        || (total > 0 && (order = malloc((size_t)total * sizeof(*order))) == NULL)) {
        why = "out of memory";
        goto cleanup;
    }
    /* In file order, as OpenSSL reads it: a certificateIssuer extension applies to its entry and every
     * later one until the next such extension, and OpenSSL's lookup ignores the entries it gives to
     * another issuer. Leaving those out here keeps the verdicts OpenSSL gave. */
    for (i = 0; i < total; i++) {
        X509_REVOKED *rev = sk_X509_REVOKED_value(revoked, i);
        if (X509_REVOKED_get_ext_by_NID(rev, NID_certificate_issuer, -1) >= 0) {
            GENERAL_NAMES_free(gens);
            if ((gens = X509_REVOKED_get_ext_d2i(rev, NID_certificate_issuer, NULL, NULL)) == NULL) {
                ERR_clear_error();
                why = apr_psprintf(p, "revoked entry number %d has a damaged certificateIssuer extension",
                                   i + 1);
                goto cleanup;
            }
            covered = names_issuer(gens, issuer);
        }
        if (!covered)
            continue;
        serial_bytes(X509_REVOKED_get0_serialNumber(rev), &len, &neg);
        bytes += len;
        if (len > UINT16_MAX || bytes > UINT32_MAX) {
            why = apr_psprintf(p, "revoked entry number %d has a serial number too long to be real", i + 1);
            goto cleanup;
        }
        order[n++] = rev;
    }
    /* CRL writers often sort by serial already (OpenSSL's X509_CRL_sort does): a 1,000,000-entry qsort
     * costs a few hundred ms of the reload, the check a few ms */
    for (i = 1; i < n && revoked_cmp(&order[i - 1], &order[i]) <= 0; i++)
        ;
    if (i < n)
        qsort(order, (size_t)n, sizeof(*order), revoked_cmp);
    if ((n > 0 && (item->entries = malloc((size_t)n * sizeof(*item->entries))) == NULL)
        || (item->serials = malloc(bytes ? bytes : 1)) == NULL) {
        why = "out of memory";
        goto cleanup;
    }
    bytes = 0;
    for (i = 0; i < n; i++) {
        crl_entry_t *e = &item->entries[i];
        const unsigned char *d = serial_bytes(X509_REVOKED_get0_serialNumber(order[i]), &len, &neg);
        ASN1_ENUMERATED *reason = NULL;
        struct tm tm;
        apr_time_t at;
        long code = -1;

        memcpy(item->serials + bytes, d, len);
        e->off = (uint32_t)bytes;
        e->len = (uint16_t)len;
        e->neg = (uint8_t)neg;
        bytes += len;
        if (X509_REVOKED_get_ext_by_NID(order[i], NID_crl_reason, -1) >= 0) {
            /* a damaged or unknown reason reads as "unspecified", as it did when looked up in OpenSSL */
            reason = X509_REVOKED_get_ext_d2i(order[i], NID_crl_reason, NULL, NULL);
            code = reason ? ASN1_ENUMERATED_get(reason) : 0;
            if (code < 0 || code > INT8_MAX)
                code = 0;
            ASN1_ENUMERATED_free(reason);
            ERR_clear_error();
        }
        e->reason = (int8_t)code;
        e->revoked_at = time_of(X509_REVOKED_get0_revocationDate(order[i]), &tm, &at)
                        ? (int64_t)apr_time_sec(at) : 0;
    }
    item->n = n;

cleanup:
    GENERAL_NAMES_free(gens);
    free(order);
    return why;
}

/* ---- loading ------------------------------------------------------------------------------------ */

/* Checks one parsed CRL and finds the trusted CA whose key signed it. NULL and item filled, or the
 * reason it is refused (from p). */
static const char *crl_check(secure_crl_store_t *st, X509_CRL *crl, crl_item_t *item, apr_pool_t *p)
{
    const X509_NAME *issuer = X509_CRL_get_issuer(crl);
    X509_STORE_CTX *xs = NULL;
    STACK_OF(X509) *certs = NULL;
    ISSUING_DIST_POINT *idp = NULL;
    const char *why = NULL;
    void *delta;
    int i;

    if ((delta = X509_CRL_get_ext_d2i(crl, NID_delta_crl, NULL, NULL)) != NULL) {
        ASN1_INTEGER_free(delta);
        why = "it is a delta CRL (not supported: configure the full CRL)";
        goto cleanup;
    }
    if ((idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, NULL, NULL)) != NULL) {
        if (idp->indirectCRL) {
            why = "it is an indirect CRL (not supported)";
            goto cleanup;
        }
        if (idp->onlysomereasons != NULL) {
            why = "it covers only some revocation reasons (not supported: configure the full CRL)";
            goto cleanup;
        }
        item->only_user = idp->onlyuser;
        item->only_ca = idp->onlyCA;
    }
    if ((xs = X509_STORE_CTX_new()) == NULL || !X509_STORE_CTX_init(xs, st->trust, NULL, NULL)) {
        why = apr_psprintf(p, "cannot search the trusted CAs (%s)", ossl_errors(p));
        goto cleanup;
    }
    certs = X509_STORE_CTX_get1_certs(xs, (X509_NAME *)issuer);
    if (certs == NULL || sk_X509_num(certs) == 0) {
        ERR_clear_error();
        why = apr_psprintf(p, "its issuer '%s' is not among the vhost's trusted CAs "
                           "(SSLCACertificateFile / SSLCACertificatePath)", name_str(issuer, p));
        goto cleanup;
    }
    for (i = 0; i < sk_X509_num(certs); i++) {
        X509 *ca = sk_X509_value(certs, i);
        EVP_PKEY *key = X509_get0_pubkey(ca);
        if (key == NULL || !(X509_get_key_usage(ca) & KU_CRL_SIGN))
            continue;
        if (X509_CRL_verify(crl, key) == 1) {
            EVP_PKEY_up_ref(key);
            item->key = key;
            break;
        }
    }
    ERR_clear_error();
    if (item->key == NULL) {
        why = apr_psprintf(p, "its signature does not verify with the key of any trusted CA named '%s' "
                           "that may sign CRLs", name_str(issuer, p));
        goto cleanup;
    }
    why = crl_compact(crl, item, p);

cleanup:
    ISSUING_DIST_POINT_free(idp);
    sk_X509_pop_free(certs, X509_free);
    X509_STORE_CTX_free(xs);
    return why;
}

/* Parses and checks every CRL in one file (PEM, possibly several, or one DER). Returns a new file entry
 * (refs 1), or NULL with *why set; CRLs refused inside an otherwise good PEM file are logged here. */
static crl_file_t *load_file(secure_crl_store_t *st, const char *path, const file_sig_t *sig,
                             const char **why, apr_pool_t *p)
{
    apr_file_t *fd = NULL;
    char *buf = NULL;
    apr_size_t len = 0, got = 0;
    BIO *bio = NULL;
    crl_file_t *f = NULL;
    X509_CRL *crl = NULL;
    int cap = 0, parsed = 0;
    apr_status_t rv;

    *why = NULL;
    if (sig->size > CRL_FILE_MAX) {
        *why = apr_psprintf(p, "the file is larger than %" APR_OFF_T_FMT " bytes", CRL_FILE_MAX);
        goto cleanup;
    }
    len = (apr_size_t)sig->size;
    if ((rv = apr_file_open(&fd, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p)) != APR_SUCCESS
        || (buf = malloc(len ? len : 1)) == NULL
        || (len > 0 && (rv = apr_file_read_full(fd, buf, len, &got)) != APR_SUCCESS)) {
        *why = buf == NULL && fd != NULL ? "out of memory"
                                         : apr_psprintf(p, "cannot read it (%pm)", &rv);
        goto cleanup;
    }
    if ((f = calloc(1, sizeof(*f))) == NULL || (f->path = dup_str(path)) == NULL
        || (bio = BIO_new_mem_buf(buf, (int)len)) == NULL || len > INT_MAX) {
        *why = "out of memory";
        goto cleanup;
    }
    f->refs = 1;
    f->sig = *sig;
    ERR_clear_error();
    /* DER is one SEQUENCE (0x30); anything else is read as PEM */
    if (len > 0 && (unsigned char)buf[0] != 0x30) {
        while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
            const char *refused;
            crl_item_t item;
            parsed++;
            memset(&item, 0, sizeof(item));
            if ((refused = crl_check(st, crl, &item, p)) != NULL) {
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, st->s,
                             SECTAG(10401) "%s: SecureCRL file %s: CRL number %d in the file refused: %s",
                             secure_config_vhost_name(st->s), path, parsed, refused);
                secure_status_count(SECURE_CTR_CRL_RELOAD_FAILED);
                X509_CRL_free(crl);
                item_free(&item);
                crl = NULL;
                continue;
            }
            /* everything needed is in item now; the parsed CRL is most of the memory */
            X509_CRL_free(crl);
            crl = NULL;
            if (f->n == cap) {
                crl_item_t *nw = realloc(f->items, (size_t)(cap ? cap * 2 : 4) * sizeof(*nw));
                if (nw == NULL) {
                    item_free(&item);
                    *why = "out of memory";
                    goto cleanup;
                }
                f->items = nw;
                cap = cap ? cap * 2 : 4;
            }
            f->items[f->n++] = item;
        }
        /* the loop ends at the end of the data (no start line) or at a damaged block */
        if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
            *why = apr_psprintf(p, "PEM data after CRL number %d is damaged or truncated (%s)", parsed,
                                ossl_errors(p));
            goto cleanup;
        }
        ERR_clear_error();
    }
    else {
        const unsigned char *q = (const unsigned char *)buf;
        if ((crl = d2i_X509_CRL(NULL, &q, (long)len)) == NULL) {
            *why = apr_psprintf(p, "it is neither a PEM nor a DER CRL, or it is truncated (%s)",
                                ossl_errors(p));
            goto cleanup;
        }
        if (q != (const unsigned char *)buf + len) {
            *why = "the DER CRL is followed by unexpected bytes";
            goto cleanup;
        }
        parsed = 1;
        if ((f->items = calloc(1, sizeof(*f->items))) == NULL) {
            *why = "out of memory";
            goto cleanup;
        }
        if ((*why = crl_check(st, crl, &f->items[0], p)) != NULL) {
            item_free(&f->items[0]);
            goto cleanup;
        }
        f->n = 1;
    }
    if (f->n == 0 && *why == NULL)
        *why = parsed ? "no CRL in it passed the checks above" : "it contains no CRL";

cleanup:
    X509_CRL_free(crl);
    BIO_free(bio);
    free(buf);
    if (fd != NULL)
        apr_file_close(fd);
    if (*why != NULL && f != NULL) {
        file_release(f);
        f = NULL;
    }
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

int secure_crl_store_refresh(secure_crl_store_t *st)
{
    apr_pool_t *p = NULL;
    apr_array_header_t *names;
    crl_gen_t *old, *gen = NULL;
    int i, j, changed = 0, removed = 0;
    apr_time_t t0 = apr_time_now();

    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS)
        return 0;
    /* only this thread replaces st->cur, so reading it needs no reference */
    apr_thread_mutex_lock(st->mutex);
    old = st->cur;
    apr_thread_mutex_unlock(st->mutex);

    names = apr_array_make(p, 8, sizeof(const char *));
    for (i = 0; i < st->paths->nelts; i++)
        list_files(st, APR_ARRAY_IDX(st->paths, i, const char *), names, p);
    if ((gen = calloc(1, sizeof(*gen))) == NULL
        || (names->nelts > 0 && (gen->files = calloc((size_t)names->nelts, sizeof(*gen->files))) == NULL))
        goto cleanup;
    gen->refs = 1;

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
            apr_atomic_inc32(&prev->refs);
            gen->files[gen->n++] = prev;
            continue;
        }
        if ((bad = failed_find(st, path)) != NULL && sig_eq(&bad->sig, &sig)) {
            if (prev != NULL) {         /* already reported: keep the last good copy quietly */
                apr_atomic_inc32(&prev->refs);
                gen->files[gen->n++] = prev;
            }
            continue;
        }
        if ((f = load_file(st, path, &sig, &why, p)) == NULL) {
            failed_set(st, path, &sig);
            secure_status_count(SECURE_CTR_CRL_RELOAD_FAILED);
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, st->s,
                         SECTAG(10405) "%s: CRL file %s refused: %s; %s", secure_config_vhost_name(st->s),
                         path, why, prev ? "the previously loaded version of this file stays in force"
                                         : "no CRL from this file is in force");
            if (prev != NULL) {
                apr_atomic_inc32(&prev->refs);
                gen->files[gen->n++] = prev;
            }
            continue;
        }
        failed_clear(st, path);
        changed++;
        secure_status_count(SECURE_CTR_CRL_LOADED);
        for (j = 0; j < f->n; j++) {
            const ASN1_TIME *nu = f->items[j].next_update;
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, st->s,
                         SECTAG(10406) "%s: CRL %s from '%s' %s: %d revoked certificates, next update %s",
                         secure_config_vhost_name(st->s), path,
                         name_str(f->items[j].issuer, p), prev ? "reloaded" : "loaded", f->items[j].n,
                         nu ? secure_crl_time_iso(nu, NULL, p) : "(none)");
        }
        gen->files[gen->n++] = f;
    }
    for (j = 0; old != NULL && j < old->n; j++) {
        int kept = 0;
        for (i = 0; i < gen->n && !kept; i++)
            kept = gen->files[i] == old->files[j] || !strcmp(gen->files[i]->path, old->files[j]->path);
        if (!kept) {
            removed++;
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, st->s,
                         SECTAG(10407) "%s: CRL file %s is gone; its CRLs are no longer used",
                         secure_config_vhost_name(st->s), old->files[j]->path);
        }
    }
    if (old == NULL || changed || removed) {
        apr_thread_mutex_lock(st->mutex);
        st->cur = gen;
        apr_thread_mutex_unlock(st->mutex);
        gen = old;                      /* released below, or later by its last reader */
        if (old != NULL)
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, st->s,
                         SECTAG(10408) "%s: CRL set reloaded in %" APR_TIME_T_FMT " ms (%d changed, %d removed)",
                         secure_config_vhost_name(st->s), apr_time_as_msec(apr_time_now() - t0), changed,
                         removed);
    }

cleanup:
    gen_release(gen);
    apr_pool_destroy(p);
#if SECURE_HAVE_MALLOC_TRIM
    /* parsing a million-entry CRL (freed once compacted) and a replaced generation leave a few hundred
     * MB of free heap behind: give it back, also at startup so that children do not inherit it */
    if (changed + removed > 0)
        malloc_trim(0);
#endif
    return changed + removed;
}

secure_crl_store_t *secure_crl_store_create(server_rec *s, apr_pool_t *p, const apr_array_header_t *paths,
                                            X509_STORE *trust)
{
    secure_crl_store_t *st = apr_pcalloc(p, sizeof(*st));

    st->s = s;
    st->paths = paths;
    if (apr_thread_mutex_create(&st->mutex, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
        return NULL;
    if (trust != NULL && X509_STORE_up_ref(trust))
        st->trust = trust;
    else
        st->trust = X509_STORE_new();   /* no trusted CAs: every CRL is refused, with a reason */
    apr_pool_cleanup_register(p, st, store_cleanup, apr_pool_cleanup_null);
    secure_crl_store_refresh(st);
    return st;
}

int secure_crl_count(secure_crl_store_t *st)
{
    crl_gen_t *g = gen_acquire(st);
    int i, n = 0;

    for (i = 0; g != NULL && i < g->n; i++)
        n += g->files[i]->n;
    gen_release(g);
    return n;
}

/* The first entry of it for serial (binary search), or NULL. */
static const crl_entry_t *crl_find(const crl_item_t *it, const ASN1_INTEGER *serial)
{
    size_t len;
    int neg;
    const unsigned char *key = serial_bytes(serial, &len, &neg);
    int lo = 0, hi = it->n;

    while (lo < hi) {           /* lower bound: a CRL may list a serial twice */
        int mid = lo + (hi - lo) / 2;
        const crl_entry_t *e = &it->entries[mid];
        if (serial_cmp(e->neg, it->serials + e->off, e->len, neg, key, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < it->n) {
        const crl_entry_t *e = &it->entries[lo];
        if (serial_cmp(e->neg, it->serials + e->off, e->len, neg, key, len) == 0)
            return e;
    }
    return NULL;
}

secure_rev_status_t secure_crl_lookup(secure_crl_store_t *st, X509 *cert, X509 *issuer, long max_stale,
                                      secure_verdict_t *v, apr_pool_t *p)
{
    crl_gen_t *g = gen_acquire(st);
    const crl_item_t *fresh = NULL, *stale = NULL;
    const char *fresh_path = NULL;
    const X509_NAME *iname = X509_get_subject_name(issuer);
    const EVP_PKEY *ikey = X509_get0_pubkey(issuer);
    time_t limit = time(NULL) - (time_t)max_stale;
    int i, j, is_ca = X509_check_ca(cert) > 0;
    const crl_entry_t *rev;
    const crl_item_t *use;
    int rc = 0;

    v->status = SECURE_REV_NONE;
    v->source = "crl";
    v->reason = -1;
    v->revoked_at = 0;
    v->expires = 0;
    v->detail = NULL;
    for (i = 0; g != NULL && i < g->n; i++)
        for (j = 0; j < g->files[i]->n; j++) {
            const crl_item_t *it = &g->files[i]->items[j];
            const ASN1_TIME *nu;
            if (X509_NAME_cmp(it->issuer, iname) != 0 || ikey == NULL
                || EVP_PKEY_eq(it->key, ikey) != 1 || (it->only_user && is_ca) || (it->only_ca && !is_ca))
                continue;
            nu = it->next_update;
            if (nu != NULL && X509_cmp_time(nu, &limit) < 0) {
                if (stale == NULL || ASN1_TIME_compare(stale->next_update, nu) < 0)
                    stale = it;
                continue;
            }
            /* several fresh CRLs from one issuer: the newest wins */
            if (fresh == NULL || ASN1_TIME_compare(fresh->last_update,
                                                   it->last_update) < 0) {
                fresh = it;
                fresh_path = g->files[i]->path;
            }
        }
    use = fresh ? fresh : stale;
    if (use == NULL)
        goto cleanup;
    /* removeFromCRL (a delta CRL's way to lift a hold) does not revoke, as in OpenSSL's lookup */
    if ((rev = crl_find(use, X509_get0_serialNumber(cert))) != NULL && rev->reason != 8) {
        rc = 1;
        v->reason = rev->reason >= 0 ? rev->reason : 0;
        v->revoked_at = apr_time_from_sec(rev->revoked_at);
    }
    if (fresh != NULL) {
        v->status = rc == 1 ? SECURE_REV_REVOKED : SECURE_REV_GOOD;
        v->detail = apr_psprintf(p, "CRL %s from '%s' (this update %s)", fresh_path,
                                 name_str(iname, p),
                                 secure_crl_time_iso(fresh->last_update, NULL, p));
    }
    else if (rc == 1 && v->reason != 6) {
        /* a revocation is final even in an outdated CRL; only "on hold" may have been lifted since */
        v->status = SECURE_REV_REVOKED;
        v->detail = apr_psprintf(p, "a CRL from '%s' past its next update (%s) lists it",
                                 name_str(iname, p),
                                 secure_crl_time_iso(stale->next_update, NULL, p));
    }
    else {
        v->status = SECURE_REV_UNKNOWN;
        v->reason = -1;
        v->revoked_at = 0;
        v->detail = apr_psprintf(p, "the newest CRL from '%s' expired at %s (SecureCRLMaxStale %ld s)",
                                 name_str(iname, p),
                                 secure_crl_time_iso(stale->next_update, NULL, p),
                                 max_stale);
    }

cleanup:
    gen_release(g);
    return v->status;
}
