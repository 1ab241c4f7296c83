/* gen_crl — writes a DER CRL with N revoked serials, signed by a CA, through OpenSSL's X509_CRL_* API
 * (`openssl ca` needs hours for a million entries: it rewrites its text index for each one).
 *   cc -O2 -o gen_crl gen_crl.c -lcrypto
 *   gen_crl ca.crt ca.key out.der N [days]     serials 0x10000000 .. 0x10000000+N-1, reason keyCompromise
 * every 7th entry, valid for days (default 7; negative: already expired). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static int fail(const char *what)
{
    fprintf(stderr, "gen_crl: %s\n", what);
    ERR_print_errors_fp(stderr);
    return 1;
}

int main(int argc, char **argv)
{
    X509 *ca = NULL;
    EVP_PKEY *key = NULL;
    X509_CRL *crl = NULL;
    ASN1_TIME *now = NULL, *next = NULL;
    FILE *f = NULL;
    long n, i, days;
    int rc = 1;

    if (argc < 5)
        return fprintf(stderr, "usage: gen_crl ca.crt ca.key out.der count [days]\n"), 2;
    n = strtol(argv[4], NULL, 10);
    days = argc > 5 ? strtol(argv[5], NULL, 10) : 7;
    if ((f = fopen(argv[1], "r")) == NULL || (ca = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
        rc = fail("cannot read the CA certificate");
        goto cleanup;
    }
    fclose(f);
    if ((f = fopen(argv[2], "r")) == NULL || (key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
        rc = fail("cannot read the CA key (unencrypted PEM)");
        goto cleanup;
    }
    fclose(f);
    f = NULL;
    crl = X509_CRL_new();
    now = X509_gmtime_adj(NULL, 0);
    next = X509_gmtime_adj(NULL, days * 86400L);
    if (crl == NULL || now == NULL || next == NULL || !X509_CRL_set_version(crl, X509_CRL_VERSION_2)
        || !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) || !X509_CRL_set1_lastUpdate(crl, now)
        || !X509_CRL_set1_nextUpdate(crl, next)) {
        rc = fail("cannot set up the CRL");
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *serial = ASN1_INTEGER_new();
        if (r == NULL || serial == NULL || !ASN1_INTEGER_set_uint64(serial, 0x10000000ULL + (uint64_t)i)
            || !X509_REVOKED_set_serialNumber(r, serial) || !X509_REVOKED_set_revocationDate(r, now)) {
            rc = fail("cannot build an entry");
            goto cleanup;
        }
        ASN1_INTEGER_free(serial);
        if (i % 7 == 0) {
            ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
            ASN1_ENUMERATED_set(reason, 1);
            X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0);
            ASN1_ENUMERATED_free(reason);
        }
        if (!X509_CRL_add0_revoked(crl, r)) {
            rc = fail("cannot add an entry");
            goto cleanup;
        }
    }
    if (!X509_CRL_sort(crl) || !X509_CRL_sign(crl, key, EVP_sha256())) {
        rc = fail("cannot sign the CRL");
        goto cleanup;
    }
    if ((f = fopen(argv[3], "wb")) == NULL || !i2d_X509_CRL_fp(f, crl)) {
        rc = fail("cannot write the CRL");
        goto cleanup;
    }
    rc = 0;

cleanup:
    if (f != NULL)
        fclose(f);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    EVP_PKEY_free(key);
    X509_free(ca);
    return rc;
}
