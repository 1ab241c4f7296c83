/* secure_factcache — per-thread texts of recently seen client certificates and ClientHellos (see
 * secure_factcache.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "secure_factcache.h"

typedef struct {
    X509 *cert;                                  /* certificate entries: a reference we hold */
    unsigned char *key;                          /* hello entries: the key bytes (malloc) */
    size_t key_len;
    int used_slot;                               /* 1: the entry is in use */
    unsigned long used;                          /* this thread's clock at the last use (LRU) */
    int have_sha256;
    unsigned char sha256[32];
    size_t bytes;                                /* sum of the kept texts' sizes */
    unsigned char known[SECURE_FACTCACHE_VALUES];
    char *vals[SECURE_FACTCACHE_VALUES];
} entry_t;

typedef struct {
    entry_t certs[SECURE_FACTCACHE_ENTRIES];
    entry_t hellos[SECURE_FACTCACHE_ENTRIES];
    unsigned long clock, hits, misses;
} cache_t;

static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static int cache_key_ok;
static EVP_MD *cache_sha256;                     /* fetched once: an implicit EVP_sha256() looks it up each time */

static void entry_free(entry_t *e)
{
    size_t i;

    for (i = 0; i < SECURE_FACTCACHE_VALUES; i++)
        free(e->vals[i]);
    X509_free(e->cert);
    free(e->key);
    memset(e, 0, sizeof(*e));
}

static void cache_drop(cache_t *c)
{
    size_t i;

    for (i = 0; i < SECURE_FACTCACHE_ENTRIES; i++) {
        entry_free(&c->certs[i]);
        entry_free(&c->hellos[i]);
    }
}

static void cache_free(void *data)
{
    if (data != NULL) {
        cache_drop(data);
        free(data);
    }
}

static void cache_init(void)
{
    cache_key_ok = pthread_key_create(&cache_key, cache_free) == 0;
    cache_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static cache_t *cache_get(int create)
{
    cache_t *c;

    pthread_once(&cache_once, cache_init);
    if (!cache_key_ok)
        return NULL;
    if ((c = pthread_getspecific(cache_key)) != NULL || !create)
        return c;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    if (pthread_setspecific(cache_key, c) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

/* The same DER: X509_cmp compares OpenSSL's SHA-1 of the whole certificate and the TBS bytes; the outer
 * signature algorithm and bits are compared here as well, so equal means equal in every byte that
 * X509_digest hashes. */
static int same_cert(const X509 *a, const X509 *b)
{
    const ASN1_BIT_STRING *sa, *sb;
    const X509_ALGOR *aa, *ab;

    if (X509_cmp(a, b) != 0)
        return 0;
    X509_get0_signature(&sa, &aa, a);
    X509_get0_signature(&sb, &ab, b);
    return sa != NULL && sb != NULL && aa != NULL && ab != NULL
           && ASN1_STRING_cmp(sa, sb) == 0 && X509_ALGOR_cmp(aa, ab) == 0;
}

/* The least recently used entry of table t (a free one first), emptied. */
static entry_t *entry_take(entry_t *t)
{
    entry_t *lru = NULL;
    size_t i;

    for (i = 0; i < SECURE_FACTCACHE_ENTRIES; i++) {
        if (!t[i].used_slot) {
            lru = &t[i];
            break;
        }
        if (lru == NULL || t[i].used < lru->used)
            lru = &t[i];
    }
    entry_free(lru);
    return lru;
}

static entry_t *found(cache_t *c, entry_t *e)
{
    c->hits++;
    e->used = ++c->clock;
    return e;
}

/* x's entry on this thread; with create, a new one on a miss. */
static entry_t *cert_find(X509 *x, int create)
{
    cache_t *c = cache_get(create);
    entry_t *e;
    size_t i;

    if (c == NULL || x == NULL)
        return NULL;
    for (i = 0; i < SECURE_FACTCACHE_ENTRIES; i++)
        if (c->certs[i].cert == x)
            return found(c, &c->certs[i]);
    for (i = 0; i < SECURE_FACTCACHE_ENTRIES; i++)
        if (c->certs[i].cert != NULL && same_cert(c->certs[i].cert, x))
            return found(c, &c->certs[i]);
    c->misses++;
    if (!create || !X509_up_ref(x))
        return NULL;
    e = entry_take(c->certs);
    e->cert = x;
    e->used_slot = 1;
    e->used = ++c->clock;
    return e;
}

static entry_t *hello_find(const void *key, size_t len, int create)
{
    cache_t *c = cache_get(create);
    entry_t *e;
    unsigned char *copy;
    size_t i;

    if (c == NULL || key == NULL || len == 0 || len > SECURE_FACTCACHE_KEY_MAX)
        return NULL;
    for (i = 0; i < SECURE_FACTCACHE_ENTRIES; i++)
        if (c->hellos[i].key_len == len && memcmp(c->hellos[i].key, key, len) == 0)
            return found(c, &c->hellos[i]);
    c->misses++;
    if (!create || (copy = malloc(len)) == NULL)
        return NULL;
    memcpy(copy, key, len);
    e = entry_take(c->hellos);
    e->key = copy;
    e->key_len = len;
    e->used_slot = 1;
    e->used = ++c->clock;
    return e;
}

static int value_get(const entry_t *e, size_t i, const char **val)
{
    if (e == NULL || i >= SECURE_FACTCACHE_VALUES || !e->known[i])
        return 0;
    *val = e->vals[i];
    return 1;
}

static void value_put(entry_t *e, size_t i, const char *val)
{
    size_t len = val != NULL ? strlen(val) + 1 : 0;
    char *copy = NULL;

    if (e == NULL || i >= SECURE_FACTCACHE_VALUES || e->known[i] || len > SECURE_FACTCACHE_MAX_BYTES - e->bytes)
        return;
    if (val != NULL && (copy = malloc(len)) == NULL)
        return;
    if (copy != NULL)
        memcpy(copy, val, len);
    e->vals[i] = copy;
    e->known[i] = 1;
    e->bytes += len;
}

int secure_factcache_sha256(X509 *x, unsigned char out[32])
{
    entry_t *e = cert_find(x, 1);
    unsigned int n = 0;

    if (e != NULL && e->have_sha256) {
        memcpy(out, e->sha256, 32);
        return 0;
    }
    if (!X509_digest(x, cache_sha256 != NULL ? cache_sha256 : EVP_sha256(), out, &n) || n != 32)
        return -1;
    if (e != NULL) {
        memcpy(e->sha256, out, 32);
        e->have_sha256 = 1;
    }
    return 0;
}

int secure_factcache_get(X509 *x, size_t i, const char **val)
{
    return i < SECURE_FACTCACHE_VALUES && value_get(cert_find(x, 0), i, val);
}

void secure_factcache_put(X509 *x, size_t i, const char *val)
{
    if (i < SECURE_FACTCACHE_VALUES)
        value_put(cert_find(x, 1), i, val);
}

int secure_factcache_hello_get(const void *key, size_t len, size_t i, const char **val)
{
    return i < SECURE_FACTCACHE_VALUES && value_get(hello_find(key, len, 0), i, val);
}

void secure_factcache_hello_put(const void *key, size_t len, size_t i, const char *val)
{
    if (i < SECURE_FACTCACHE_VALUES)
        value_put(hello_find(key, len, 1), i, val);
}

void secure_factcache_stats(unsigned long *hits, unsigned long *misses)
{
    cache_t *c = cache_get(0);

    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
}

void secure_factcache_clear(void)
{
    cache_t *c = cache_get(0);

    if (c != NULL)
        cache_drop(c);
}
