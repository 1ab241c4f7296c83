/* crl_lookup — cost of one revocation lookup in a big CRL, independent of TLS noise: the way secure_crl
 * does it (the revoked list copied into a sorted array of compact entries, then a binary search over
 * the serial's content bytes), and for comparison OpenSSL's X509_CRL_get0_by_serial after its one-time
 * sort (what secure_crl did before).
 *   cc -std=c11 -O2 -o crl_lookup crl_lookup.c -lcrypto && ./crl_lookup big.der [lookups]
 * Prints load time and nanoseconds per lookup for serials that are / are not in the CRL, and the heap
 * the compact array takes. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

/* same layout and order as secure_crl.c (positive serials only here: the generator makes no others) */
typedef struct {
    int64_t revoked_at;
    uint32_t off;
    uint16_t len;
    uint8_t neg;
    int8_t reason;
} entry_t;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int key_cmp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
    if (al != bl)
        return al < bl ? -1 : 1;
    return memcmp(a, b, al);
}

static int find(const entry_t *e, const unsigned char *bytes, int n, const ASN1_INTEGER *serial)
{
    const unsigned char *k = ASN1_STRING_get0_data(serial);
    size_t kl = (size_t)ASN1_STRING_length(serial);
    int lo = 0, hi = n;

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (key_cmp(bytes + e[mid].off, e[mid].len, k, kl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && key_cmp(bytes + e[lo].off, e[lo].len, k, kl) == 0;
}

int main(int argc, char **argv)
{
    FILE *f;
    X509_CRL *crl;
    X509_REVOKED *rev;
    STACK_OF(X509_REVOKED) *list;
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    long i, n = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000, hits = 0;
    int m, k;
    size_t bytes = 0;
    entry_t *e;
    unsigned char *sb;
    double t0, t1, t2, t3, t4, t5;

    if (argc < 2 || (f = fopen(argv[1], "rb")) == NULL)
        return fprintf(stderr, "usage: crl_lookup crl.der [lookups]\n"), 2;
    t0 = now();
    crl = d2i_X509_CRL_fp(f, NULL);
    fclose(f);
    if (crl == NULL)
        return fprintf(stderr, "crl_lookup: not a DER CRL\n"), 1;
    ASN1_INTEGER_set_uint64(serial, 1);
    X509_CRL_get0_by_serial(crl, &rev, serial);          /* the one-time sort: the compact copy is built in order */
    list = X509_CRL_get_REVOKED(crl);
    m = list ? sk_X509_REVOKED_num(list) : 0;
    for (k = 0; k < m; k++)
        bytes += (size_t)ASN1_STRING_length(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(list, k)));
    e = calloc((size_t)m + 1, sizeof(*e));
    sb = malloc(bytes + 1);
    if (e == NULL || sb == NULL)
        return fprintf(stderr, "crl_lookup: out of memory\n"), 1;
    for (k = 0, bytes = 0; k < m; k++) {
        const ASN1_INTEGER *s = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(list, k));
        e[k].off = (uint32_t)bytes;
        e[k].len = (uint16_t)ASN1_STRING_length(s);
        memcpy(sb + bytes, ASN1_STRING_get0_data(s), e[k].len);
        bytes += e[k].len;
    }
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
    for (i = 0; i < n; i++) {
        ASN1_INTEGER_set_uint64(serial, 0x10000000ULL + (uint64_t)((i * 7919) % 1000000));
        hits += find(e, sb, m, serial);
    }
    t4 = now();
    for (i = 0; i < n; i++) {
        ASN1_INTEGER_set_uint64(serial, 0x20000000ULL + (uint64_t)i);
        hits += find(e, sb, m, serial);
    }
    t5 = now();
    printf("entries %d, parse+sort+compact %.3f s, compact array %zu bytes (%.1f per entry)\n"
           "compact lookup %.0f ns (listed), %.0f ns (not listed); X509_CRL_get0_by_serial %.0f ns (listed), "
           "%.0f ns (not listed); hits %ld\n",
           m, t1 - t0, (size_t)m * sizeof(*e) + bytes, m ? ((double)m * sizeof(*e) + (double)bytes) / m : 0.0,
           (t4 - t3) / (double)n * 1e9, (t5 - t4) / (double)n * 1e9, (t2 - t1) / (double)n * 1e9,
           (t3 - t2) / (double)n * 1e9, hits);
    X509_CRL_free(crl);
    ASN1_INTEGER_free(serial);
    free(e);
    free(sb);
    return 0;
}
