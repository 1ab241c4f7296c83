/* crl_lookup — cost of loading a big CRL and of one revocation lookup in it, measured on the real code:
 * mod_secure's CRL core (mod_secure/secure_crlcore.c: parse, check against the CA, compact, binary
 * search), and for comparison OpenSSL's X509_CRL_get0_by_serial after its one-time sort (what secure_crl
 * did before the compact store).
 *   cc -std=c11 -O2 -Imod_secure -o crl_lookup bench/crl_lookup.c mod_secure/secure_crlcore.c -lcrypto
 *   ./crl_lookup big.der ca.crt [lookups]
 * gen_crl.c makes big.der: serials 0x10000000 + k are listed, 0x20000000 + k are not. Prints load time,
 * nanoseconds per lookup for listed / not listed serials, and the heap the compact entries take. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "secure_crlcore.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0
        || (buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    else
        *len = (size_t)n;
    if (f != NULL)
        fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    long i, n = argc > 3 ? strtol(argv[3], NULL, 10) : 1000000, hits = 0;
    secure_crlcore_crl_t **crls = NULL, *c;
    secure_crlcore_trust_t trust = { NULL, NULL, NULL };
    X509_STORE *store = X509_STORE_new();
    X509_REVOKED *rev;
    X509_CRL *crl;
    X509 *ca = NULL;
    FILE *f;
    unsigned char *der;
    const unsigned char *q;
    size_t len = 0, ncrl = 0;
    char why[SECURE_CRLCORE_WHY_MAX];
    double t0, t1, t2, t3, t4, t5, t6;
    int reason;
    int64_t at;

    if (argc < 3 || (der = slurp(argv[1], &len)) == NULL || (f = fopen(argv[2], "r")) == NULL)
        return fprintf(stderr, "usage: crl_lookup crl.der ca.crt [lookups]\n"), 2;
    ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (ca == NULL || !X509_STORE_add_cert(store, ca))
        return fprintf(stderr, "crl_lookup: cannot read the CA certificate\n"), 1;
    trust.store = store;

    t0 = now();
    if (secure_crlcore_load(der, len, &trust, &crls, &ncrl, NULL, NULL, why, sizeof(why)) < 0)
        return fprintf(stderr, "crl_lookup: the CRL is refused: %s\n", why), 1;
    t1 = now();
    c = crls[0];
    q = der;
    if ((crl = d2i_X509_CRL(NULL, &q, (long)len)) == NULL)
        return fprintf(stderr, "crl_lookup: not a DER CRL\n"), 1;
    ASN1_INTEGER_set_uint64(serial, 1);
    X509_CRL_get0_by_serial(crl, &rev, serial);          /* OpenSSL's one-time sort */
    t2 = now();
    for (i = 0; i < n; i++) {                            /* listed: 0x10000000 + k */
        ASN1_INTEGER_set_uint64(serial, 0x10000000ULL + (uint64_t)((i * 7919) % (long)secure_crlcore_count(c)));
        hits += secure_crlcore_find(c, serial, &reason, &at);
    }
    t3 = now();
    for (i = 0; i < n; i++) {                            /* not listed */
        ASN1_INTEGER_set_uint64(serial, 0x20000000ULL + (uint64_t)i);
        hits += secure_crlcore_find(c, serial, &reason, &at);
    }
    t4 = now();
    for (i = 0; i < n; i++) {
        ASN1_INTEGER_set_uint64(serial, 0x10000000ULL + (uint64_t)((i * 7919) % (long)secure_crlcore_count(c)));
        hits += X509_CRL_get0_by_serial(crl, &rev, serial) == 1;
    }
    t5 = now();
    for (i = 0; i < n; i++) {
        ASN1_INTEGER_set_uint64(serial, 0x20000000ULL + (uint64_t)i);
        hits += X509_CRL_get0_by_serial(crl, &rev, serial) == 1;
    }
    t6 = now();
    printf("entries %zu, secure_crlcore_load (parse+verify+compact) %.3f s, compact entries %zu bytes "
           "(%.1f per entry)\n"
           "secure_crlcore_find %.0f ns (listed), %.0f ns (not listed); X509_CRL_get0_by_serial %.0f ns "
           "(listed), %.0f ns (not listed); hits %ld (expected %ld)\n",
           secure_crlcore_count(c), t1 - t0, secure_crlcore_memory(c),
           secure_crlcore_count(c) ? (double)secure_crlcore_memory(c) / (double)secure_crlcore_count(c) : 0.0,
           (t3 - t2) / (double)n * 1e9, (t4 - t3) / (double)n * 1e9, (t5 - t4) / (double)n * 1e9,
           (t6 - t5) / (double)n * 1e9, hits, 2 * n);
    secure_crlcore_free_all(crls, ncrl);
    X509_CRL_free(crl);
    X509_free(ca);
    X509_STORE_free(store);
    ASN1_INTEGER_free(serial);
    free(der);
    return 0;
}
