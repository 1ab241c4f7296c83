/* crl_lookup — cost of one revocation lookup in a big CRL, the way secure_crl does it
 * (X509_CRL_get0_by_serial after the one-time sort), independent of TLS noise.
 *   cc -O2 -o crl_lookup crl_lookup.c -lcrypto && ./crl_lookup big.der [lookups]
 * Prints load time and nanoseconds per lookup for serials that are / are not in the CRL. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/x509.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    FILE *f;
    X509_CRL *crl;
    X509_REVOKED *rev;
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    long i, n = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000, hits = 0;
    double t0, t1, t2, t3;

    if (argc < 2 || (f = fopen(argv[1], "rb")) == NULL)
        return fprintf(stderr, "usage: crl_lookup crl.der [lookups]\n"), 2;
    t0 = now();
    crl = d2i_X509_CRL_fp(f, NULL);
    fclose(f);
    if (crl == NULL)
        return fprintf(stderr, "crl_lookup: not a DER CRL\n"), 1;
    ASN1_INTEGER_set_uint64(serial, 1);
    X509_CRL_get0_by_serial(crl, &rev, serial);          /* the one-time sort */
    t1 = now();
    for (i = 0; i < n; i++) {                            /* present: 0x10000000 + k */
        ASN1_INTEGER_set_uint64(serial, 0x10000000ULL + (uint64_t)((i * 7919) % 1000000));
        hits += X509_CRL_get0_by_serial(crl, &rev, serial) == 1;
    }
    t2 = now();
    for (i = 0; i < n; i++) {                            /* absent */
        ASN1_INTEGER_set_uint64(serial, 0x20000000ULL + (uint64_t)i);
        hits += X509_CRL_get0_by_serial(crl, &rev, serial) == 1;
    }
    t3 = now();
    printf("entries %d, parse+sort %.3f s, lookup %.0f ns (listed), %.0f ns (not listed), hits %ld\n",
           sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), t1 - t0, (t2 - t1) / (double)n * 1e9,
           (t3 - t2) / (double)n * 1e9, hits);
    X509_CRL_free(crl);
    ASN1_INTEGER_free(serial);
    return 0;
}
