/* libFuzzer target for secure_crlcore: CRL parsing (DER and PEM), the checks, compaction and lookups.
 * Sources: secure_crlcore.c
 *
 * Random bytes never carry a valid signature, so the full load (parse + check + compact) is tried once
 * and must fail cleanly, and then every parsed CRL is also checked and compacted on its own with the
 * fuzz CA's key, so the compaction and the lookups see whatever the parser accepts. The input lives in
 * an exactly-sized heap block so ASan flags any read past its end. Promises checked (abort on a
 * violation): a failure always comes with a reason; a compacted CRL holds at most as many entries as
 * the CRL lists; every serial OpenSSL's own lookup calls revoked (X509_CRL_get0_by_serial == 1) is
 * revoked in the compact form too. Seeds: t/fuzz/corpus/crl (CRLs of "CN=fuzz CA"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "secure_crlcore.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509_STORE *store;
static X509 *ca, *leaf;
static EVP_PKEY *ca_key;

static void check(int cond)
{
    if (!cond)
        abort();
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, long serial)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_sign(x, ikey ? ikey : key, EVP_sha256());
    X509_NAME_free(name);
    return x;
}

int LLVMFuzzerInitialize(int *argc, char **argv[])
{
    EVP_PKEY *leaf_key = EVP_EC_gen("P-256");

    (void)argc;
    (void)argv;
    ca_key = EVP_EC_gen("P-256");
    ca = make_cert("fuzz CA", ca_key, NULL, NULL, 1);
    leaf = make_cert("fuzz leaf", leaf_key, ca, ca_key, 2);
    store = X509_STORE_new();
    X509_STORE_add_cert(store, ca);
    EVP_PKEY_free(leaf_key);
    return 0;
}

static void report(void *baton, int number, const char *why)
{
    (void)baton;
    check(number >= 1 && why != NULL && why[0] != '\0');
}

/* OpenSSL stops reading entry extensions at the first damaged reason code (and marks the CRL invalid,
 * which its verifier refuses): the later entries then have no reason in its eyes. The core reads a
 * damaged reason as "unspecified" entry by entry, so the two are compared only on CRLs OpenSSL reads
 * whole. */
static int reasons_readable(STACK_OF(X509_REVOKED) *revoked, int n)
{
    int i, crit;

    for (i = 0; i < n; i++) {
        ASN1_ENUMERATED *r = X509_REVOKED_get_ext_d2i(sk_X509_REVOKED_value(revoked, i), NID_crl_reason, &crit, NULL);
        ASN1_ENUMERATED_free(r);
        if (r == NULL && crit != -1)
            return 0;
    }
    return 1;
}

/* Every serial OpenSSL calls revoked must be revoked in the compact form too. Runs after compaction:
 * OpenSSL's lookup sorts the CRL's revoked list in place. */
static void compare_with_openssl(X509_CRL *crl, const secure_crlcore_crl_t *c)
{
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    int i, n = revoked ? sk_X509_REVOKED_num(revoked) : 0, reason;
    int64_t at;

    if (!reasons_readable(revoked, n))
        return;

    for (i = 0; i < n && i < 256; i++) {
        ASN1_INTEGER *serial = ASN1_INTEGER_dup(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i)));
        X509_REVOKED *rev = NULL;
        if (serial == NULL)
            continue;
        if (X509_CRL_get0_by_serial(crl, &rev, serial) == 1)
            check(secure_crlcore_find(c, serial, &reason, &at) == 1);
        ASN1_INTEGER_free(serial);
    }
}

static int each(void *baton, X509_CRL *crl, int number, char *why, size_t whylen)
{
    char reason[SECURE_CRLCORE_WHY_MAX];
    secure_crlcore_crl_t *c = NULL;
    secure_crlcore_answer_t a;
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    EVP_PKEY *key = NULL;
    int64_t t;

    (void)baton;
    (void)why;
    (void)whylen;
    check(number >= 1);
    reason[0] = '\0';
    if (secure_crlcore_check(crl, &(secure_crlcore_trust_t){ store, NULL, NULL }, &key, reason, sizeof(reason)) != 0)
        check(key == NULL && reason[0] != '\0');
    EVP_PKEY_free(key);
    reason[0] = '\0';
    if (secure_crlcore_check(crl, &(secure_crlcore_trust_t){ NULL, ca, NULL }, &key, reason, sizeof(reason)) != 0)
        check(key == NULL && reason[0] != '\0');
    EVP_PKEY_free(key);
    reason[0] = '\0';
    if (secure_crlcore_compact(crl, ca_key, &c, reason, sizeof(reason)) != 0) {
        check(c == NULL && reason[0] != '\0');
        return 0;
    }
    check(secure_crlcore_count(c) <= (size_t)(revoked ? sk_X509_REVOKED_num(revoked) : 0));
    check(secure_crlcore_memory(c) >= secure_crlcore_count(c) * 16);
    (void)secure_crlcore_next_update(c, &t);
    (void)secure_crlcore_time_state(c, 1700000000, 0);
    secure_crlcore_answer_init(&a);
    secure_crlcore_answer_add(&a, c, NULL, leaf, ca, 1700000000, 0);
    (void)secure_crlcore_answer_end(&a, leaf);
    compare_with_openssl(crl, c);
    secure_crlcore_free(c);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    secure_crlcore_trust_t trust = { store, NULL, NULL };
    secure_crlcore_crl_t **crls = NULL;
    uint8_t *copy = malloc(size ? size : 1);
    char why[SECURE_CRLCORE_WHY_MAX];
    size_t n = 0;
    int rc;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    why[0] = '\0';
    rc = secure_crlcore_load(copy, size, &trust, &crls, &n, report, NULL, why, sizeof(why));
    check(rc == -1 ? crls == NULL && n == 0 && why[0] != '\0' : rc > 0 && (size_t)rc == n && crls != NULL);
    secure_crlcore_free_all(crls, n);
    why[0] = '\0';
    rc = secure_crlcore_parse(copy, size, each, NULL, why, sizeof(why));
    check(rc >= 0 || why[0] != '\0');
    free(copy);
    return 0;
}
