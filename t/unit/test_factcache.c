/* Unit tests of secure_factcache: exact identity (the same DER in another object hits; the same TBS with
 * another signature misses), the SHA-256 against X509_digest, kept values and "no value", the size bound,
 * eviction of the least recently used entry, and one cache per thread; for hellos, keys compared by length and bytes, and secure_hello_fact_key itself. */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tap.h"
#include "x509_fixtures.h"
#include "secure_factcache.h"
#include "secure_hello.h"

void test_factcache(void);
static void test_hello_keys(void);

static EVP_PKEY *cc_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* An unsigned certificate with serial `serial` and CN cn, self-issued. */
static X509 *cc_tbs(long serial, const char *cn, EVP_PKEY *key)
{
    return unit_cert_tbs(serial, cn, NULL, key, 0, 86400);
}

/* x as a fresh object parsed from its DER (what a handshake hands us). */
static X509 *cc_reparse(X509 *x)
{
    unsigned char *der = NULL;
    const unsigned char *q;
    int len = i2d_X509(x, &der);
    X509 *y;

    q = der;
    y = len > 0 ? d2i_X509(NULL, &q, len) : NULL;
    OPENSSL_free(der);
    return y;
}

static X509 *cc_cert(long serial, const char *cn, EVP_PKEY *key)
{
    X509 *x = cc_tbs(serial, cn, key), *y;

    X509_sign(x, key, EVP_sha256());
    y = cc_reparse(x);
    X509_free(x);
    return y;
}

static void test_hello_keys(void)
{
    static secure_hello_t h1, h2;
    unsigned char k1[SECURE_FACTCACHE_KEY_MAX], k2[SECURE_FACTCACHE_KEY_MAX], small[8];
    size_t n1, n2;
    const char *v;
    char s1[64], s2[64];

    memset(&h1, 0, sizeof(h1));
    h1.legacy_version = 0x0303;
    h1.ciphers[0] = 0x1301; h1.ciphers[1] = 0x1302; h1.n_ciphers = 2;
    h1.exts[0] = 0x000a; h1.exts[1] = 0x002b; h1.n_exts = 2;
    h1.groups[0] = 0x001d; h1.n_groups = 1;
    h1.versions[0] = 0x0304; h1.n_versions = 1;
    memcpy(h1.alpn_buf, "h2", 2); h1.alpn_off[0] = 0; h1.alpn_len[0] = 2; h1.n_alpn = 1; h1.alpn_buf_len = 2;
    h1.has_sni = 1;
    strcpy(h1.sni, "a.example");
    h2 = h1;
    strcpy(h2.sni, "b.example");                        /* the name is not a fingerprint input */
    n1 = secure_hello_fact_key(&h1, k1, sizeof(k1));
    n2 = secure_hello_fact_key(&h2, k2, sizeof(k2));
    ok(n1 > 0 && n1 == n2 && memcmp(k1, k2, n1) == 0, "hellos that differ only in the SNI name: one key");
    secure_hello_ja4(&h1, s1, sizeof(s1));
    secure_hello_ja4(&h2, s2, sizeof(s2));
    ok(strcmp(s1, s2) == 0, "... and one JA4 (%s)", s1);
    ok(secure_hello_fact_key(&h1, small, sizeof(small)) == 0, "a key that does not fit: 0");

    /* every input changes the key: the second cipher, SNI sent or not, the ALPN bytes, a list boundary */
    h2 = h1; h2.ciphers[1] = 0x1303;
    n2 = secure_hello_fact_key(&h2, k2, sizeof(k2));
    ok(n2 != n1 || memcmp(k1, k2, n1) != 0, "another cipher: another key");
    h2 = h1; h2.has_sni = 0;
    n2 = secure_hello_fact_key(&h2, k2, sizeof(k2));
    ok(n2 != n1 || memcmp(k1, k2, n1) != 0, "no SNI: another key");
    h2 = h1; memcpy(h2.alpn_buf, "h3", 2);
    n2 = secure_hello_fact_key(&h2, k2, sizeof(k2));
    ok(n2 != n1 || memcmp(k1, k2, n1) != 0, "another ALPN protocol: another key");
    h2 = h1; h2.n_ciphers = 1; h2.exts[0] = 0x1302; h2.exts[1] = 0x000a; h2.exts[2] = 0x002b; h2.n_exts = 3;
    n2 = secure_hello_fact_key(&h2, k2, sizeof(k2));
    ok(n2 != n1 || memcmp(k1, k2, n1) != 0, "an item moved from one list to the next: another key");

    secure_factcache_hello_put(k1, n1, 7, s1);
    ok(secure_factcache_hello_get(k1, n1, 7, &v) && strcmp(v, s1) == 0, "hello value kept and read back");
    ok(!secure_factcache_hello_get(k2, n2, 7, &v), "another key misses");
    ok(!secure_factcache_hello_get(k1, n1 - 1, 7, &v), "a prefix of the key misses");
    ok(!secure_factcache_hello_get(k1, SECURE_FACTCACHE_KEY_MAX + 1, 7, &v), "an over-long key is never kept");
}

static void *other_thread(void *arg)
{
    const char *v = NULL;
    static int seen;

    seen = secure_factcache_get(arg, 0, &v);
    secure_factcache_put(arg, 0, "other thread");      /* freed when this thread ends */
    return &seen;
}

void test_factcache(void)
{
    EVP_PKEY *key = cc_key();
    X509 *a, *a2, *b, *b2, *many[SECURE_FACTCACHE_ENTRIES + 1];
    unsigned char want[32], got[32];
    unsigned int n = 0;
    unsigned long h0, m0, h1, m1;
    const char *v;
    char big[SECURE_FACTCACHE_MAX_BYTES + 1];
    pthread_t th;
    void *res = NULL;
    size_t i;

    secure_factcache_clear();
    a = cc_cert(1, "alice", key);
    a2 = cc_reparse(a);
    ok(a != NULL && a2 != NULL && a != a2, "two objects of one certificate");

    /* the hash is X509_digest's, and the second object is answered from the first one's entry */
    X509_digest(a, EVP_sha256(), want, &n);
    ok(secure_factcache_sha256(a, got) == 0 && memcmp(got, want, 32) == 0, "sha256 = X509_digest (miss)");
    secure_factcache_stats(&h0, &m0);
    memset(got, 0, sizeof(got));
    ok(secure_factcache_sha256(a2, got) == 0 && memcmp(got, want, 32) == 0, "sha256 of the other object");
    secure_factcache_stats(&h1, &m1);
    ok(h1 == h0 + 1 && m1 == m0, "the other object of the same DER is a hit (%lu/%lu -> %lu/%lu)", h0, m0, h1, m1);

    /* values: unknown, then kept; NULL kept as "no value"; a value over the bound is not kept */
    ok(!secure_factcache_get(a, 3, &v), "slot 3 unknown at first");
    secure_factcache_put(a, 3, "CN=alice");
    ok(secure_factcache_get(a2, 3, &v) && v != NULL && strcmp(v, "CN=alice") == 0, "slot 3 kept, read back");
    secure_factcache_put(a, 4, NULL);
    v = "x";
    ok(secure_factcache_get(a, 4, &v) && v == NULL, "no value is kept as known and NULL");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    secure_factcache_put(a, 5, big);
    ok(!secure_factcache_get(a, 5, &v), "a value over SECURE_FACTCACHE_MAX_BYTES is not kept");
    ok(!secure_factcache_get(a, SECURE_FACTCACHE_VALUES, &v), "a slot past the end is never known");

    /* the same TBS signed again (ECDSA signatures differ each time): another certificate */
    b = cc_tbs(1, "alice", key);
    X509_sign(b, key, EVP_sha256());
    b2 = cc_reparse(b);
    X509_free(b);
    ok(b2 != NULL && !secure_factcache_get(b2, 3, &v),
       "the same TBS with another signature is not answered by alice's entry");
    ok(secure_factcache_sha256(b2, got) == 0 && memcmp(got, want, 32) != 0, "and hashes differently");

    /* a different certificate misses */
    ok(!secure_factcache_get(many[0] = cc_cert(2, "bob", key), 3, &v), "another certificate misses");
    X509_free(many[0]);

    /* one cache per thread */
    ok(pthread_create(&th, NULL, other_thread, a) == 0 && pthread_join(th, &res) == 0 && res != NULL
       && *(int *)res == 0, "another thread does not see this thread's entries");
    ok(secure_factcache_get(a, 0, &v) == 0, "nor this thread the other's");

    /* least recently used goes first: touch alice, then add ENTRIES new certificates */
    for (i = 0; i < SECURE_FACTCACHE_ENTRIES; i++) {
        many[i] = cc_cert((long)(100 + i), "many", key);
        secure_factcache_put(many[i], 1, "m");
    }
    ok(!secure_factcache_get(a, 3, &v), "after %d newer certificates alice's entry is gone",
       SECURE_FACTCACHE_ENTRIES);
    ok(secure_factcache_get(many[SECURE_FACTCACHE_ENTRIES - 1], 1, &v) && strcmp(v, "m") == 0,
       "the newest is kept");
    for (i = 0; i < SECURE_FACTCACHE_ENTRIES; i++)
        X509_free(many[i]);

    secure_factcache_clear();
    ok(!secure_factcache_get(a2, 3, &v), "clear drops every entry");
    test_hello_keys();
    X509_free(a);
    X509_free(a2);
    X509_free(b2);
    EVP_PKEY_free(key);
}
