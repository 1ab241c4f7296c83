/* Certificates for the unit tests (x509_fixtures.h). */
#include "x509_fixtures.h"

static X509_NAME *cn_name(const char *cn)
{
    X509_NAME *n = X509_NAME_new();

    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    return n;
}

X509 *unit_cert_tbs(long serial, const char *cn, const char *issuer_cn, EVP_PKEY *key, long from_secs,
                    long to_secs)
{
    X509 *x = X509_new();
    X509_NAME *sn = cn_name(cn), *in = cn_name(issuer_cn != NULL ? issuer_cn : cn);

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_set_subject_name(x, sn);
    X509_set_issuer_name(x, in);
    X509_gmtime_adj(X509_getm_notBefore(x), from_secs);
    X509_gmtime_adj(X509_getm_notAfter(x), to_secs);
    X509_set_pubkey(x, key);
    X509_NAME_free(sn);
    X509_NAME_free(in);
    return x;
}
