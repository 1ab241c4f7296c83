/* Unit tests of secure_crlcore, the one CRL implementation behind SecureCRL and SecureCRLFetch. Every
 * CRL here is built with OpenSSL's API (so each case states exactly what is in it), signed, written
 * as DER or PEM and read back through the core, as a file or a download would be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "secure_crlcore.h"
#include "tap.h"
#include "x509_fixtures.h"

#define MAX_ENTRIES 8

typedef struct {
    long serial;
    int reason;                 /* -1: no reason extension */
    long date_off;              /* revocationDate = now + date_off */
    const char *bad_date;       /* malformed revocationDate (GeneralizedTime content) */
    X509_NAME *cert_issuer;     /* certificateIssuer extension naming this */
    int damaged_cert_issuer;    /* certificateIssuer whose content is not GeneralNames */
    int unknown_critical;       /* an entry extension nobody knows, marked critical */
} entry_spec_t;

typedef struct {
    X509 *ca;                   /* issuer name from here */
    EVP_PKEY *key;              /* signs */
    long this_off, next_off;    /* thisUpdate / nextUpdate = now + offset */
    int no_next;
    const char *bad_this, *bad_next;
    entry_spec_t e[MAX_ENTRIES];
    int n;
    int idp_user, idp_ca, idp_attr, idp_reasons, idp_indirect;
    const char *idp_uri;
    int delta;
    int unknown_critical, unknown_noncritical;
} crl_spec_t;

typedef struct {
    unsigned char *data;
    size_t len;
} blob_t;

static time_t now;

static EVP_PKEY *new_key(void)
{
    return EVP_EC_gen("P-256");
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

/* A certificate named cn with key, signed by (issuer, ikey) or self-signed; ku NULL: no keyUsage. */
static X509 *new_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, long serial, int ca,
                      const char *ku)
{
    char icn[256] = "";
    X509 *x;

    if (issuer != NULL)
        X509_NAME_get_text_by_NID(X509_get_subject_name(issuer), NID_commonName, icn, sizeof(icn));
    x = unit_cert_tbs(serial, cn, issuer ? icn : NULL, key, -3600, 86400);
    add_ext(x, issuer ? issuer : x, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (ku != NULL)
        add_ext(x, issuer ? issuer : x, NID_key_usage, ku);
    X509_sign(x, issuer ? ikey : key, EVP_sha256());
    return x;
}

static ASN1_TIME *bad_time(const char *text)
{
    ASN1_STRING *t = ASN1_STRING_type_new(V_ASN1_GENERALIZEDTIME);
    ASN1_STRING_set(t, text, -1);
    return t;
}

static void add_raw_ext(X509_REVOKED *rev, X509_CRL *crl, int nid, const char *oid, int critical,
                        const unsigned char *der, int len)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *obj = oid ? OBJ_txt2obj(oid, 1) : OBJ_nid2obj(nid);
    X509_EXTENSION *ext;

    ASN1_OCTET_STRING_set(os, der, len);
    ext = X509_EXTENSION_create_by_OBJ(NULL, obj, critical, os);
    if (rev != NULL)
        X509_REVOKED_add_ext(rev, ext, -1);
    else
        X509_CRL_add_ext(crl, ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
}

static const unsigned char der_null[] = { 0x05, 0x00 };

static X509_CRL *build(const crl_spec_t *s)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t;
    int i;

    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(s->ca));
    t = s->bad_this ? bad_time(s->bad_this) : ASN1_TIME_adj(NULL, now, 0, s->this_off ? s->this_off : -60);
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_free(t);
    if (!s->no_next) {
        t = s->bad_next ? bad_time(s->bad_next) : ASN1_TIME_adj(NULL, now, 0, s->next_off ? s->next_off : 3600);
        X509_CRL_set1_nextUpdate(crl, t);
        ASN1_TIME_free(t);
    }
    for (i = 0; i < s->n; i++) {
        const entry_spec_t *e = &s->e[i];
        X509_REVOKED *rev = X509_REVOKED_new();
        ASN1_INTEGER *serial = ASN1_INTEGER_new();

        ASN1_INTEGER_set(serial, e->serial);
        X509_REVOKED_set_serialNumber(rev, serial);
        ASN1_INTEGER_free(serial);
        t = e->bad_date ? bad_time(e->bad_date) : ASN1_TIME_adj(NULL, now, 0, e->date_off ? e->date_off : -120);
        X509_REVOKED_set_revocationDate(rev, t);
        ASN1_TIME_free(t);
        if (e->reason >= 0) {
            ASN1_ENUMERATED *r = ASN1_ENUMERATED_new();
            ASN1_ENUMERATED_set(r, e->reason);
            X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, r, 0, 0);
            ASN1_ENUMERATED_free(r);
        }
        if (e->cert_issuer != NULL) {
            GENERAL_NAMES *gens = GENERAL_NAMES_new();
            GENERAL_NAME *g = GENERAL_NAME_new();
            GENERAL_NAME_set0_value(g, GEN_DIRNAME, X509_NAME_dup(e->cert_issuer));
            sk_GENERAL_NAME_push(gens, g);
            X509_REVOKED_add1_ext_i2d(rev, NID_certificate_issuer, gens, 1, 0);
            GENERAL_NAMES_free(gens);
        }
        if (e->damaged_cert_issuer)
            add_raw_ext(rev, NULL, NID_certificate_issuer, NULL, 1, der_null, sizeof(der_null));
        if (e->unknown_critical)
            add_raw_ext(rev, NULL, 0, "1.3.6.1.4.1.99999.2", 1, der_null, sizeof(der_null));
        X509_CRL_add0_revoked(crl, rev);
    }
    if (s->idp_user || s->idp_ca || s->idp_attr || s->idp_reasons || s->idp_indirect || s->idp_uri) {
        ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
        idp->onlyuser = s->idp_user ? 0xff : 0;
        idp->onlyCA = s->idp_ca ? 0xff : 0;
        idp->onlyattr = s->idp_attr ? 0xff : 0;
        idp->indirectCRL = s->idp_indirect ? 0xff : 0;
        if (s->idp_reasons) {
            idp->onlysomereasons = ASN1_BIT_STRING_new();
            ASN1_BIT_STRING_set_bit(idp->onlysomereasons, 1, 1);
        }
        if (s->idp_uri) {
            GENERAL_NAME *g = GENERAL_NAME_new();
            ASN1_IA5STRING *uri = ASN1_IA5STRING_new();
            ASN1_STRING_set(uri, s->idp_uri, -1);
            GENERAL_NAME_set0_value(g, GEN_URI, uri);
            idp->distpoint = DIST_POINT_NAME_new();
            idp->distpoint->type = 0;
            idp->distpoint->name.fullname = GENERAL_NAMES_new();
            sk_GENERAL_NAME_push(idp->distpoint->name.fullname, g);
        }
        X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1, 0);
        ISSUING_DIST_POINT_free(idp);
    }
    if (s->delta) {
        ASN1_INTEGER *base = ASN1_INTEGER_new();
        ASN1_INTEGER_set(base, 1);
        X509_CRL_add1_ext_i2d(crl, NID_delta_crl, base, 1, 0);
        ASN1_INTEGER_free(base);
    }
    if (s->unknown_critical)
        add_raw_ext(NULL, crl, 0, "1.3.6.1.4.1.99999.1", 1, der_null, sizeof(der_null));
    if (s->unknown_noncritical)
        add_raw_ext(NULL, crl, 0, "1.3.6.1.4.1.99999.3", 0, der_null, sizeof(der_null));
    X509_CRL_sign(crl, s->key, EVP_sha256());
    return crl;
}

static blob_t to_der(const crl_spec_t *s)
{
    X509_CRL *crl = build(s);
    blob_t b = { NULL, 0 };
    int len = i2d_X509_CRL(crl, &b.data);

    b.len = len > 0 ? (size_t)len : 0;
    X509_CRL_free(crl);
    return b;
}

/* PEM of n CRLs one after the other. */
static blob_t to_pem(const crl_spec_t *const *specs, int n)
{
    BIO *bio = BIO_new(BIO_s_mem());
    blob_t b = { NULL, 0 };
    char *data;
    long len;
    int i;

    for (i = 0; i < n; i++) {
        X509_CRL *crl = build(specs[i]);
        PEM_write_bio_X509_CRL(bio, crl);
        X509_CRL_free(crl);
    }
    len = BIO_get_mem_data(bio, &data);
    b.data = OPENSSL_malloc((size_t)len);
    memcpy(b.data, data, (size_t)len);
    b.len = (size_t)len;
    BIO_free(bio);
    return b;
}

typedef struct {
    int numbers[8];
    int n;
    char last[SECURE_CRLCORE_WHY_MAX];
} reports_t;

static void collect(void *baton, int number, const char *why)
{
    reports_t *r = baton;
    if (r->n < 8)
        r->numbers[r->n++] = number;
    snprintf(r->last, sizeof(r->last), "%s", why);
}

/* Loads a blob; returns the number of CRLs kept (-1: refused, why in why). */
static int load(blob_t b, const secure_crlcore_trust_t *trust, secure_crlcore_crl_t ***crls, size_t *n,
                reports_t *rep, char *why)
{
    int rc;

    if (rep != NULL)
        memset(rep, 0, sizeof(*rep));
    why[0] = '\0';
    rc = secure_crlcore_load(b.data, b.len, trust, crls, n, rep ? collect : NULL, rep, why,
                             SECURE_CRLCORE_WHY_MAX);
    return rc;
}

/* Refused with a reason containing want? */
static void refused(const crl_spec_t *s, const secure_crlcore_trust_t *trust, const char *want,
                    const char *what)
{
    secure_crlcore_crl_t **crls = NULL;
    size_t n = 0;
    char why[SECURE_CRLCORE_WHY_MAX];
    blob_t b = to_der(s);
    int rc = load(b, trust, &crls, &n, NULL, why);

    ok(rc == -1 && crls == NULL && strstr(why, want) != NULL, "%s: refused (%s)", what, why);
    secure_crlcore_free_all(crls, n);
    OPENSSL_free(b.data);
}

/* Loads one CRL that must pass; NULL (and a failed test point) otherwise. */
static secure_crlcore_crl_t *accepted(const crl_spec_t *s, const secure_crlcore_trust_t *trust, const char *what)
{
    secure_crlcore_crl_t **crls = NULL, *one = NULL;
    size_t n = 0;
    char why[SECURE_CRLCORE_WHY_MAX];
    blob_t b = to_der(s);
    int rc = load(b, trust, &crls, &n, NULL, why);

    if (!ok(rc == 1 && n == 1, "%s: accepted%s%s", what, rc < 0 ? ": " : "", rc < 0 ? why : ""))
        diag("load gave %d", rc);
    if (rc == 1) {
        one = crls[0];
        free(crls);
    }
    OPENSSL_free(b.data);
    return one;
}

static int revoked(const secure_crlcore_crl_t *c, long serial, int *reason, int64_t *at)
{
    ASN1_INTEGER *s = ASN1_INTEGER_new();
    int r = -1, rc;
    int64_t t = 0;

    ASN1_INTEGER_set(s, serial);
    rc = secure_crlcore_find(c, s, reason ? reason : &r, at ? at : &t);
    ASN1_INTEGER_free(s);
    return rc;
}

typedef struct {
    int n;
    long serial[8];
    int reason[8];
} newly_t;

static void newly_collect(void *baton, const ASN1_INTEGER *serial, int reason, int64_t revoked_at)
{
    newly_t *g = baton;

    (void)revoked_at;
    if (g->n < 8) {
        g->serial[g->n] = ASN1_INTEGER_get(serial);
        g->reason[g->n++] = reason;
    }
}

static secure_crlcore_status_t answer(secure_crlcore_crl_t *const *crls, int n, X509 *cert, X509 *issuer,
                                      long max_stale, secure_crlcore_answer_t *a)
{
    int i;

    secure_crlcore_answer_init(a);
    for (i = 0; i < n; i++)
        secure_crlcore_answer_add(a, crls[i], (void *)(crls + i), cert, issuer, (int64_t)now, max_stale);
    return secure_crlcore_answer_end(a, cert);
}

void test_crlcore(void)
{
    EVP_PKEY *cakey = new_key(), *otherkey = new_key(), *leafkey = new_key(), *nosignkey = new_key();
    X509 *ca, *ca_twin, *ca_nosign, *other, *leaf, *sub, *leaf9;
    X509_STORE *store = X509_STORE_new(), *store_nosign = X509_STORE_new();
    secure_crlcore_trust_t trust = { store, NULL, NULL }, by_issuer = { NULL, NULL, NULL },
                           nosign = { store_nosign, NULL, NULL };
    secure_crlcore_crl_t **crls = NULL, *c, *c2, *set[3];
    secure_crlcore_answer_t a;
    reports_t rep;
    char why[SECURE_CRLCORE_WHY_MAX];
    size_t n = 0;
    int reason, rc;
    int64_t at, t;
    blob_t b;

    now = time(NULL);
    ca = new_cert("Test CRL CA", cakey, NULL, NULL, 1, 1, "critical,keyCertSign,cRLSign");
    ca_twin = new_cert("Test CRL CA", otherkey, NULL, NULL, 2, 1, "critical,keyCertSign,cRLSign");
    ca_nosign = new_cert("No CRL Sign CA", nosignkey, NULL, NULL, 3, 1, "critical,keyCertSign");
    other = new_cert("Other CA", otherkey, NULL, NULL, 4, 1, NULL);
    leaf = new_cert("leaf", leafkey, ca, cakey, 5, 0, NULL);
    sub = new_cert("sub CA", leafkey, ca, cakey, 6, 1, "critical,keyCertSign,cRLSign");
    leaf9 = new_cert("leaf nine", leafkey, ca, cakey, 9, 0, NULL);
    X509_STORE_add_cert(store, ca);
    X509_STORE_add_cert(store_nosign, ca_nosign);
    by_issuer.issuer = ca;

    /* ---- a plain CRL, DER ---- */
    {
        crl_spec_t s = { .ca = ca, .key = cakey, .n = 3,
                         .e = { { .serial = 5, .reason = CRL_REASON_KEY_COMPROMISE, .date_off = -7200 },
                                { .serial = 7, .reason = -1 },
                                { .serial = 0x123456789L, .reason = CRL_REASON_SUPERSEDED } } };
        c = accepted(&s, &trust, "a CRL signed by the trusted CA (DER)");
        ok(c != NULL && secure_crlcore_count(c) == 3, "... 3 entries");
        ok(c && revoked(c, 5, &reason, &at) == 1 && reason == CRL_REASON_KEY_COMPROMISE
           && at == (int64_t)now - 7200, "... serial 5 revoked, keyCompromise, with its date");
        ok(c && revoked(c, 7, &reason, NULL) == 1 && reason == CRL_REASON_UNSPECIFIED,
           "... serial 7 revoked, no reason reads unspecified");
        ok(c && revoked(c, 0x123456789L, NULL, NULL) == 1, "... a 5-byte serial is found");
        ok(c && revoked(c, 6, NULL, NULL) == 0 && revoked(c, 0, NULL, NULL) == 0
           && revoked(c, 0x12345678L, NULL, NULL) == 0, "... serials 6, 0, 0x12345678 are not listed");
        ok(c && secure_crlcore_covers(c, leaf, ca), "... it covers a leaf of its CA");
        ok(c && !secure_crlcore_covers(c, leaf, ca_twin), "... not when the issuer has the same name but another key");
        ok(c && !secure_crlcore_covers(c, leaf, other), "... nor for another issuer");
        ok(c && secure_crlcore_time_state(c, (int64_t)now, 0) == SECURE_CRLCORE_FRESH, "... it is fresh");
        ok(c && secure_crlcore_next_update(c, &t) == 1 && t == (int64_t)now + 3600, "... nextUpdate read");
        is_int(answer(&c, 1, leaf, ca, 0, &a), SECURE_CRLCORE_REVOKED, "answer: leaf (serial 5) REVOKED");
        ok(a.reason == CRL_REASON_KEY_COMPROMISE && a.crl == c, "... reason and the CRL that answered");
        is_int(answer(&c, 1, leaf9, ca, 0, &a), SECURE_CRLCORE_GOOD, "answer: serial 9 GOOD");
        is_int(answer(&c, 1, leaf, other, 0, &a), SECURE_CRLCORE_NONE, "answer: another issuer NONE");
        secure_crlcore_free(c);

        c = accepted(&s, &by_issuer, "the same CRL against the certificate's issuer alone");
        secure_crlcore_free(c);
        by_issuer.issuer = other;
        refused(&s, &by_issuer, "not by the certificate's issuer", "against another issuer");
        by_issuer.issuer = ca_twin;
        refused(&s, &by_issuer, "does not verify with the issuer's key", "against a same-name issuer with another key");
        by_issuer.issuer = ca;

        s.key = otherkey;
        refused(&s, &trust, "signature does not verify", "signed by another key under the CA's name");
        s.key = cakey;
        refused(&s, NULL, "no trusted CA", "no trust at all");
        crl_spec_t s2 = s;
        s2.ca = other;
        s2.key = otherkey;
        refused(&s2, &trust, "not among the trusted CAs", "an issuer that is not trusted");
        s2.ca = ca_nosign;
        s2.key = nosignkey;
        refused(&s2, &nosign, "allows signing CRLs", "a CA whose key usage lacks cRLSign");
    }

    /* ---- PEM, several CRLs; damaged data ---- */
    {
        crl_spec_t good = { .ca = ca, .key = cakey, .n = 1, .e = { { .serial = 5, .reason = -1 } } };
        crl_spec_t bad = { .ca = ca, .key = otherkey, .n = 1, .e = { { .serial = 9, .reason = -1 } } };
        const crl_spec_t *two[] = { &bad, &good }, *one_bad[] = { &bad }, *both_bad[] = { &bad, &bad };

        b = to_pem(two, 2);
        rc = load(b, &trust, &crls, &n, &rep, why);
        ok(rc == 1 && n == 1, "PEM with a refused and a good CRL: the good one is kept");
        ok(rep.n == 1 && rep.numbers[0] == 1 && strstr(rep.last, "signature"), "... the refused one is reported "
           "with its number and reason (%s)", rep.last);
        ok(rc == 1 && revoked(crls[0], 5, NULL, NULL) == 1 && revoked(crls[0], 9, NULL, NULL) == 0,
           "... and only the good one answers");
        secure_crlcore_free_all(crls, n);
        /* cut in the middle of the second block */
        b.len = b.len - 100;
        rc = load(b, &trust, &crls, &n, &rep, why);
        ok(rc == -1 && strstr(why, "damaged or truncated"), "truncated PEM refused (%s)", why);
        OPENSSL_free(b.data);

        b = to_pem(one_bad, 1);
        rc = load(b, &trust, &crls, &n, &rep, why);
        ok(rc == -1 && rep.n == 0 && strstr(why, "signature"), "a PEM file of one refused CRL: its reason is "
           "the file's (%s)", why);
        OPENSSL_free(b.data);
        b = to_pem(both_bad, 2);
        rc = load(b, &trust, &crls, &n, &rep, why);
        ok(rc == -1 && rep.n == 2 && strstr(why, "none of its 2 CRLs"), "two refused CRLs: both reported, "
           "file refused (%s)", why);
        OPENSSL_free(b.data);

        b = to_der(&good);
        rc = load((blob_t){ b.data, b.len - 1 }, &trust, &crls, &n, NULL, why);
        ok(rc == -1 && strstr(why, "truncated"), "truncated DER refused (%s)", why);
        b.data = OPENSSL_realloc(b.data, b.len + 1);
        b.data[b.len] = 0;
        rc = load((blob_t){ b.data, b.len + 1 }, &trust, &crls, &n, NULL, why);
        ok(rc == -1 && strstr(why, "followed by 1 unexpected"), "DER with trailing bytes refused (%s)", why);
        OPENSSL_free(b.data);
        rc = load((blob_t){ (unsigned char *)"", 0 }, &trust, &crls, &n, NULL, why);
        ok(rc == -1 && strstr(why, "contains no CRL"), "empty file refused (%s)", why);
        rc = load((blob_t){ (unsigned char *)"hello\n", 6 }, &trust, &crls, &n, NULL, why);
        ok(rc == -1 && strstr(why, "contains no CRL"), "text without a PEM block refused (%s)", why);
    }

    /* ---- serials: negative, duplicate, removeFromCRL ---- */
    {
        crl_spec_t s = { .ca = ca, .key = cakey, .n = 8,
                         .e = { { .serial = -5, .reason = CRL_REASON_KEY_COMPROMISE },
                                { .serial = 9, .reason = CRL_REASON_REMOVE_FROM_CRL },
                                { .serial = 9, .reason = CRL_REASON_CA_COMPROMISE, .date_off = -500 },
                                { .serial = 10, .reason = CRL_REASON_SUPERSEDED, .date_off = -100 },
                                { .serial = 10, .reason = CRL_REASON_KEY_COMPROMISE, .date_off = -900 },
                                { .serial = 11, .reason = CRL_REASON_REMOVE_FROM_CRL },
                                { .serial = 12, .reason = 99 },
                                { .serial = 13, .reason = -1, .bad_date = "20251399999999Z" } } };
        c = accepted(&s, &trust, "a CRL with negative, duplicate and removeFromCRL entries");
        if (c != NULL) {
            ok(revoked(c, -5, &reason, NULL) == 1 && reason == CRL_REASON_KEY_COMPROMISE, "serial -5 revoked");
            ok(revoked(c, 5, NULL, NULL) == 0, "... serial 5 is not (sign matters)");
            is_int(secure_crlcore_count(c), 6, "a serial listed twice is one entry");
            ok(revoked(c, 9, &reason, NULL) == 1 && reason == CRL_REASON_CA_COMPROMISE,
               "serial 9 listed as removeFromCRL and as cACompromise: revoked");
            ok(revoked(c, 10, &reason, &at) == 1 && reason == CRL_REASON_KEY_COMPROMISE && at == (int64_t)now - 900,
               "serial 10 listed twice: the earliest revocation counts");
            is_int(revoked(c, 11, NULL, NULL), 0, "serial 11 removeFromCRL only: not revoked");
            ok(revoked(c, 12, &reason, NULL) == 1 && reason == CRL_REASON_UNSPECIFIED,
               "an unknown reason code still revokes, as unspecified");
            ok(revoked(c, 13, NULL, &at) == 1 && at == 0, "a malformed revocationDate still revokes (date 0)");
            secure_crlcore_free(c);
        }
    }

    /* ---- certificateIssuer ---- */
    {
        crl_spec_t s = { .ca = ca, .key = cakey, .n = 4,
                         .e = { { .serial = 20, .reason = -1 },
                                { .serial = 21, .reason = -1, .cert_issuer = X509_get_subject_name(other) },
                                { .serial = 22, .reason = -1 },
                                { .serial = 23, .reason = -1, .cert_issuer = X509_get_subject_name(ca) } } };
        c = accepted(&s, &trust, "a CRL with certificateIssuer entries");
        ok(c && revoked(c, 20, NULL, NULL) == 1 && revoked(c, 23, NULL, NULL) == 1,
           "entries of the CRL's own issuer revoke (20, and 23 after certificateIssuer names it again)");
        ok(c && revoked(c, 21, NULL, NULL) == 0 && revoked(c, 22, NULL, NULL) == 0,
           "entries certificateIssuer gives to another CA do not (21, and 22 that follows it)");
        secure_crlcore_free(c);
        s.n = 1;
        s.e[0].damaged_cert_issuer = 1;
        refused(&s, &trust, "damaged certificateIssuer", "a damaged certificateIssuer");
    }

    /* ---- scope: issuingDistributionPoint, delta, critical extensions ---- */
    {
        crl_spec_t s = { .ca = ca, .key = cakey, .n = 2,
                         .e = { { .serial = 5, .reason = -1 }, { .serial = 6, .reason = -1 } } };
        crl_spec_t v = s;

        v.idp_user = 1;
        c = accepted(&v, &trust, "onlyContainsUserCerts");
        ok(c && secure_crlcore_scope(c) == SECURE_CRLCORE_SCOPE_USER, "... scope user");
        ok(c && secure_crlcore_covers(c, leaf, ca) && !secure_crlcore_covers(c, sub, ca),
           "... covers the leaf, not the CA certificate");
        if (c)
            is_int(answer(&c, 1, sub, ca, 0, &a), SECURE_CRLCORE_NONE, "... a listed CA certificate gets no answer from it");
        secure_crlcore_free(c);
        v = s;
        v.idp_ca = 1;
        c = accepted(&v, &trust, "onlyContainsCACerts");
        ok(c && secure_crlcore_covers(c, sub, ca) && !secure_crlcore_covers(c, leaf, ca),
           "... covers the CA certificate, not the leaf");
        if (c)
            is_int(answer(&c, 1, sub, ca, 0, &a), SECURE_CRLCORE_REVOKED, "... and revokes the listed CA certificate");
        secure_crlcore_free(c);
        v = s;
        v.idp_attr = 1;
        refused(&v, &trust, "only attribute certificates", "onlyContainsAttributeCerts");
        v = s;
        v.idp_reasons = 1;
        refused(&v, &trust, "only some revocation reasons", "onlySomeReasons");
        v = s;
        v.idp_indirect = 1;
        refused(&v, &trust, "indirect CRL", "indirectCRL");
        v = s;
        v.idp_uri = "http://crl.example/part1.crl";
        refused(&v, &trust, "partitioned CRL", "a distribution point (partition)");
        v = s;
        v.idp_user = v.idp_ca = 1;
        refused(&v, &trust, "both onlyContainsUserCerts and onlyContainsCACerts", "user and CA only at once");
        v = s;
        v.delta = 1;
        refused(&v, &trust, "delta CRL", "a delta CRL");
        v = s;
        v.unknown_critical = 1;
        refused(&v, &trust, "critical extension this server does not understand (1.3.6.1.4.1.99999.1)",
                "an unknown critical CRL extension");
        v = s;
        v.e[1].unknown_critical = 1;
        refused(&v, &trust, "revoked entry number 2 has a critical extension", "an unknown critical entry extension");
        v = s;
        v.unknown_noncritical = 1;
        c = accepted(&v, &trust, "an unknown non-critical extension");
        secure_crlcore_free(c);
    }

    /* ---- dates ---- */
    {
        crl_spec_t s = { .ca = ca, .key = cakey, .n = 2,
                         .e = { { .serial = 5, .reason = CRL_REASON_KEY_COMPROMISE },
                                { .serial = 9, .reason = CRL_REASON_CERTIFICATE_HOLD } } };
        crl_spec_t v = s;

        v.bad_next = "20251301000000Z";
        refused(&v, &trust, "nextUpdate date is malformed", "a malformed nextUpdate (month 13)");
        v.bad_next = "2099";
        refused(&v, &trust, "nextUpdate date is malformed", "a malformed nextUpdate (truncated)");
        v = s;
        v.bad_this = "yesterday";
        refused(&v, &trust, "thisUpdate date is malformed", "a malformed thisUpdate");

        v = s;
        v.no_next = 1;
        c = accepted(&v, &trust, "a CRL without nextUpdate");
        ok(c && secure_crlcore_next_update(c, &t) == 0, "... has no nextUpdate");
        ok(c && secure_crlcore_time_state(c, (int64_t)now, 86400) == SECURE_CRLCORE_NO_NEXT_UPDATE,
           "... and is never fresh");
        if (c) {
            is_int(answer(&c, 1, leaf9, ca, 0, &a), SECURE_CRLCORE_UNKNOWN, "... a certificate on hold in it: UNKNOWN");
            is_int(answer(&c, 1, leaf, ca, 0, &a), SECURE_CRLCORE_REVOKED, "... a revoked one: REVOKED");
        }
        secure_crlcore_free(c);

        v = s;
        v.this_off = -7200;
        v.next_off = -3600;
        c = accepted(&v, &trust, "a CRL past its nextUpdate");
        ok(c && secure_crlcore_time_state(c, (int64_t)now, 0) == SECURE_CRLCORE_STALE, "... is stale");
        ok(c && secure_crlcore_time_state(c, (int64_t)now, 7200) == SECURE_CRLCORE_FRESH, "... fresh within max_stale");
        if (c) {
            is_int(answer(&c, 1, leaf, ca, 0, &a), SECURE_CRLCORE_REVOKED, "... revoked in it stays REVOKED");
            ok(a.time_state == SECURE_CRLCORE_STALE, "... and the answer says the CRL was stale");
            is_int(answer(&c, 1, leaf9, ca, 0, &a), SECURE_CRLCORE_UNKNOWN, "... on hold in it: UNKNOWN");
            is_int(answer(&c, 1, sub, ca, 0, &a), SECURE_CRLCORE_UNKNOWN, "... not listed: UNKNOWN, never GOOD");
            is_int(answer(&c, 1, leaf9, ca, 7200, &a), SECURE_CRLCORE_REVOKED, "... within max_stale, hold revokes");
        }
        v = s;
        v.this_off = 3 * 3600;
        v.next_off = 4 * 3600;
        c2 = accepted(&v, &trust, "a CRL whose thisUpdate is hours ahead");
        ok(c2 && secure_crlcore_time_state(c2, (int64_t)now, 0) == SECURE_CRLCORE_NOT_YET_VALID, "... is not yet valid");
        secure_crlcore_free(c2);

        /* newest fresh CRL wins over an older fresh one and over a stale one */
        v = s;
        v.n = 0;
        v.this_off = -30;
        c2 = accepted(&v, &trust, "a newer, empty CRL");
        v.this_off = -600;
        v.n = 1;
        set[0] = c;
        set[1] = c2;
        set[2] = accepted(&v, &trust, "an older fresh CRL listing serial 5");
        if (c && c2 && set[2]) {
            is_int(answer(set, 3, leaf, ca, 0, &a), SECURE_CRLCORE_GOOD, "three CRLs: the newest fresh one answers");
            ok(a.crl == c2 && a.tag == (void *)(set + 1), "... and it is named with its tag");
            is_int(answer(set, 1, leaf, ca, 0, &a), SECURE_CRLCORE_REVOKED, "the stale one alone: REVOKED");
        }
        secure_crlcore_free(set[2]);
        secure_crlcore_free(c2);
        secure_crlcore_free(c);
    }

    /* ---- compact without checks (what the fuzzer drives) and small helpers ---- */
    {
        crl_spec_t s = { .ca = ca, .key = cakey, .n = 1, .e = { { .serial = 5, .reason = -1 } } };
        X509_CRL *crl = build(&s);
        rc = secure_crlcore_compact(crl, NULL, &c, why, sizeof(why));
        ok(rc == 0 && c != NULL && !secure_crlcore_covers(c, leaf, ca), "compacted without a key: covers nothing");
        if (c != NULL) {
            /* a second reference keeps it alive after the first is dropped (ASan would flag a use) */
            secure_crlcore_up_ref(c);
            secure_crlcore_free(c);
            ok(revoked(c, 5, NULL, NULL) == 1, "up_ref: still readable after one of two references is dropped");
        }
        secure_crlcore_free(c);
        X509_CRL_free(crl);
    }
    /* ---- a successor CRL's new revocations (what SecureCRLFetch writes into the verdict cache) ---- */
    {
        crl_spec_t olds = { .ca = ca, .key = cakey, .n = 3,
                            .e = { { .serial = 5, .reason = -1 }, { .serial = 7, .reason = CRL_REASON_CERTIFICATE_HOLD },
                                   { .serial = 0x123456789L, .reason = -1 } } };
        crl_spec_t news = { .ca = ca, .key = cakey, .n = 5,
                            .e = { { .serial = 5, .reason = -1 }, { .serial = 6, .reason = CRL_REASON_KEY_COMPROMISE },
                                   { .serial = 7, .reason = CRL_REASON_REMOVE_FROM_CRL },
                                   { .serial = 0x123456789L, .reason = -1 }, { .serial = 0x1000000000L, .reason = -1 } } };
        newly_t got = { 0 };
        size_t k;

        c = accepted(&olds, &trust, "newly revoked: the predecessor");
        c2 = accepted(&news, &trust, "newly revoked: the successor");
        k = c && c2 ? secure_crlcore_newly_revoked(c2, c, 10, newly_collect, &got) : 99;
        ok(k == 2 && got.n == 2 && got.serial[0] == 6 && got.serial[1] == 0x1000000000L
           && got.reason[0] == CRL_REASON_KEY_COMPROMISE && got.reason[1] == CRL_REASON_UNSPECIFIED,
           "successor: serials 6 and 0x1000000000 are new (5 and the 5-byte one were listed, 7 is lifted), "
           "in order, with their reasons (%zu: %ld %ld)", k, got.serial[0], got.serial[1]);
        memset(&got, 0, sizeof(got));
        k = c && c2 ? secure_crlcore_newly_revoked(c2, c, 1, newly_collect, &got) : 99;
        ok(k == 2 && got.n == 1 && got.serial[0] == 6, "... with max 1: one handed over, 2 counted");
        k = c ? secure_crlcore_newly_revoked(c, c, 10, NULL, NULL) : 99;
        ok(k == 0, "the same CRL revokes nothing new");
        memset(&got, 0, sizeof(got));
        k = c ? secure_crlcore_newly_revoked(c, NULL, 10, newly_collect, &got) : 99;
        ok(k == 3 && got.n == 3, "no predecessor: all 3 are new");
        secure_crlcore_free(c);
        secure_crlcore_free(c2);
    }
    is_str(secure_crlcore_reason_name(CRL_REASON_KEY_COMPROMISE), "keyCompromise", "reason name keyCompromise");
    is_str(secure_crlcore_reason_name(CRL_REASON_AA_COMPROMISE), "aACompromise", "reason name aACompromise");
    is_str(secure_crlcore_reason_name(7), "unspecified", "reason 7 (unused) reads unspecified");
    is_str(secure_crlcore_reason_name(-1), "unspecified", "no reason reads unspecified");
    {
        ASN1_TIME *tm = ASN1_TIME_new();
        ASN1_TIME_set_string(tm, "20000101000000Z");
        ok(secure_crlcore_time(tm, &t) == 0 && t == 946684800, "2000-01-01 is 946684800");
        ok(secure_crlcore_time(NULL, &t) == -1, "a missing time is an error, not now");
        ASN1_TIME_free(tm);
    }

    X509_free(ca);
    X509_free(ca_twin);
    X509_free(ca_nosign);
    X509_free(other);
    X509_free(leaf);
    X509_free(sub);
    X509_free(leaf9);
    X509_STORE_free(store);
    X509_STORE_free(store_nosign);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(otherkey);
    EVP_PKEY_free(leafkey);
    EVP_PKEY_free(nosignkey);
}
