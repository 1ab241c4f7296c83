/* secure_crlcore — parse, check, compact and look up CRLs (see the header; pure C over OpenSSL).
 *
 * A checked CRL is converted into a sorted array of compact entries (crl_entry_t, 16 bytes, plus the
 * serial's bytes) and the X509_CRL can be freed at once: OpenSSL keeps about 260 bytes per revoked
 * entry, which for a million-entry CRL was the bulk of every child's memory. */
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "secure_crlcore.h"

/* One revoked certificate. The serial is kept as the content bytes of its DER INTEGER (magnitude,
 * without leading zero bytes) in the CRL's serial buffer, so an entry has a fixed size whatever the
 * serial's length. */
typedef struct {
    int64_t revoked_at;         /* seconds since the epoch; 0 when the date cannot be read */
    uint32_t off;               /* first serial byte in serials */
    uint16_t len;
    uint8_t neg;                /* negative serial (not allowed by RFC 5280, but OpenSSL accepts them) */
    int8_t reason;              /* CRLReason code, -1 when the entry has none */
} crl_entry_t;

struct secure_crlcore_crl {
    atomic_uint refs;
    X509_NAME *issuer;
    EVP_PKEY *key;              /* key the signature verified with (NULL: covers nothing) */
    int64_t this_update;
    int64_t next_update;
    int has_next_update;
    secure_crlcore_scope_t scope;
    size_t n;
    crl_entry_t *entries;       /* n entries, sorted by serial_cmp, one per serial */
    unsigned char *serials;
};

/* ---- small helpers ----------------------------------------------------------------------------- */

/* Writes a reason into why and returns -1, so that failures read "return fail(...)". */
static int fail(char *why, size_t whylen, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why != NULL && whylen > 0) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The OpenSSL error queue as text (and cleared), for a reason. */
static const char *ossl_errors(char *buf, size_t len)
{
    unsigned long e;
    size_t used = 0;
    char one[200];

    buf[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, one, sizeof(one));
        if (used + strlen(one) + 3 < len)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "; " : "", one);
    }
    return used ? buf : "no OpenSSL detail";
}

static const char *name_text(const X509_NAME *n, char *buf, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long got;

    snprintf(buf, len, "(unprintable name)");
    if (b != NULL && X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0
        && (got = BIO_get_mem_data(b, &data)) >= 0)
        snprintf(buf, len, "%.*s", (int)(got > INT_MAX ? INT_MAX : got), data ? data : "");
    BIO_free(b);
    ERR_clear_error();
    return buf;
}

int secure_crlcore_time(const ASN1_TIME *t, int64_t *out)
{
    static const struct tm epoch = { .tm_year = 70, .tm_mday = 1 };
    struct tm tm;
    int days = 0, secs = 0;

    /* ASN1_TIME_to_tm(NULL) would mean "now": a missing time must not read as one */
    if (t == NULL || !ASN1_TIME_check(t) || !ASN1_TIME_to_tm(t, &tm)
        || !OPENSSL_gmtime_diff(&days, &secs, &epoch, &tm)) {
        ERR_clear_error();
        return -1;
    }
    *out = (int64_t)days * 86400 + secs;
    return 0;
}

static const struct {
    int code;
    const char *name;
} reason_names[] = {
    { CRL_REASON_UNSPECIFIED, "unspecified" },
    { CRL_REASON_KEY_COMPROMISE, "keyCompromise" },
    { CRL_REASON_CA_COMPROMISE, "cACompromise" },
    { CRL_REASON_AFFILIATION_CHANGED, "affiliationChanged" },
    { CRL_REASON_SUPERSEDED, "superseded" },
    { CRL_REASON_CESSATION_OF_OPERATION, "cessationOfOperation" },
    { CRL_REASON_CERTIFICATE_HOLD, "certificateHold" },
    { CRL_REASON_REMOVE_FROM_CRL, "removeFromCRL" },
    { CRL_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
    { CRL_REASON_AA_COMPROMISE, "aACompromise" },
};

const char *secure_crlcore_reason_name(int code)
{
    size_t i;

    for (i = 0; i < sizeof(reason_names) / sizeof(reason_names[0]); i++)
        if (reason_names[i].code == code)
            return reason_names[i].name;
    return "unspecified";
}

/* ---- parsing ----------------------------------------------------------------------------------- */

int secure_crlcore_parse(const void *data, size_t len, secure_crlcore_each_fn each, void *baton,
                         char *why, size_t whylen)
{
    const unsigned char *buf = data;
    char errs[SECURE_CRLCORE_WHY_MAX];
    X509_CRL *crl = NULL;
    BIO *bio = NULL;
    int n = 0, rc = -1;

    ERR_clear_error();
    if (len > 0 && buf[0] == 0x30) {           /* DER is one SEQUENCE; anything else is read as PEM */
        const unsigned char *q = buf;
        if (len > LONG_MAX || (crl = d2i_X509_CRL(NULL, &q, (long)len)) == NULL) {
            fail(why, whylen, "it is neither a PEM nor a DER CRL, or it is truncated (%s)",
                 ossl_errors(errs, sizeof(errs)));
            goto cleanup;
        }
        if (q != buf + len) {
            fail(why, whylen, "the DER CRL is followed by %zu unexpected bytes", (size_t)(buf + len - q));
            goto cleanup;
        }
        if (each(baton, crl, 1, why, whylen) != 0)
            goto cleanup;
        rc = 1;
        goto cleanup;
    }
    if (len > INT_MAX || (bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
        fail(why, whylen, len > INT_MAX ? "the file is too large" : "out of memory");
        goto cleanup;
    }
    while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
        if (each(baton, crl, ++n, why, whylen) != 0)
            goto cleanup;
        X509_CRL_free(crl);
        crl = NULL;
    }
    /* the loop ends at the end of the data (no start line) or at a damaged block */
    if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
        fail(why, whylen, "PEM data after CRL number %d is damaged or truncated (%s)", n,
             ossl_errors(errs, sizeof(errs)));
        goto cleanup;
    }
    rc = n;

cleanup:
    ERR_clear_error();
    X509_CRL_free(crl);
    BIO_free(bio);
    return rc;
}

/* ---- the rules --------------------------------------------------------------------------------- */

/* Extensions whose meaning this code knows (the refused ones included: they get a precise reason). */
static const int crl_ext_known[] = {
    NID_crl_number, NID_authority_key_identifier, NID_issuer_alt_name, NID_issuing_distribution_point,
    NID_delta_crl, NID_freshest_crl, NID_info_access,
};
static const int entry_ext_known[] = {
    NID_crl_reason, NID_invalidity_date, NID_certificate_issuer, NID_hold_instruction_code,
};

static int nid_in(int nid, const int *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (list[i] == nid)
            return 1;
    return 0;
}

/* Index of the first critical extension of exts not in known, or -1. */
static int unknown_critical(const STACK_OF(X509_EXTENSION) *exts, const int *known, size_t n)
{
    int i;

    for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
        if (X509_EXTENSION_get_critical(ext)
            && !nid_in(OBJ_obj2nid(X509_EXTENSION_get_object(ext)), known, n))
            return i;
    }
    return -1;
}

/* The issuingDistributionPoint of crl in *idp (NULL when it has none). -1 with why when it is damaged
 * or present twice, or when its scope is one this code refuses. */
static int idp_scope(X509_CRL *crl, secure_crlcore_scope_t *scope, char *why, size_t whylen)
{
    ISSUING_DIST_POINT *idp;
    int crit = -1, rc = -1;

    *scope = SECURE_CRLCORE_SCOPE_ALL;
    if ((idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL)) == NULL) {
        ERR_clear_error();
        if (crit == -1)
            return 0;
        return fail(why, whylen, crit == -2 ? "it has two issuingDistributionPoint extensions"
                                            : "its issuingDistributionPoint extension is damaged");
    }
    if (idp->indirectCRL)
        fail(why, whylen, "it is an indirect CRL (not supported)");
    else if (idp->onlysomereasons != NULL)
        fail(why, whylen, "it covers only some revocation reasons (not supported: configure the full CRL)");
    else if (idp->onlyattr)
        fail(why, whylen, "it covers only attribute certificates (onlyContainsAttributeCerts)");
    else if (idp->distpoint != NULL)
        fail(why, whylen, "it covers only the certificates of one distribution point (a partitioned CRL, "
             "not supported: configure a complete CRL of the issuer)");
    else if (idp->onlyuser && idp->onlyCA)
        fail(why, whylen, "its issuingDistributionPoint asserts both onlyContainsUserCerts and "
             "onlyContainsCACerts");
    else {
        *scope = idp->onlyuser ? SECURE_CRLCORE_SCOPE_USER
               : idp->onlyCA ? SECURE_CRLCORE_SCOPE_CA : SECURE_CRLCORE_SCOPE_ALL;
        rc = 0;
    }
    ISSUING_DIST_POINT_free(idp);
    return rc;
}

/* 0 when ca may have signed crl (name, key usage, signature); *key gets a reference. */
static int verify_with(X509_CRL *crl, X509 *ca, EVP_PKEY **key)
{
    EVP_PKEY *k = X509_get0_pubkey(ca);

    if (k == NULL || !(X509_get_key_usage(ca) & KU_CRL_SIGN)
        || X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) != 0
        || X509_CRL_verify(crl, k) != 1 || !EVP_PKEY_up_ref(k)) {
        ERR_clear_error();
        return -1;
    }
    *key = k;
    return 0;
}

static int check_signature(X509_CRL *crl, const secure_crlcore_trust_t *trust, EVP_PKEY **key,
                           char *why, size_t whylen)
{
    const X509_NAME *issuer = X509_CRL_get_issuer(crl);
    const char *among = trust && trust->store_name ? trust->store_name : "the trusted CAs";
    char name[256], errs[SECURE_CRLCORE_WHY_MAX];
    X509_STORE_CTX *xs = NULL;
    STACK_OF(X509) *certs = NULL;
    int i, rc = -1;

    if (trust != NULL && trust->issuer != NULL) {
        if (X509_NAME_cmp(X509_get_subject_name(trust->issuer), issuer) != 0)
            return fail(why, whylen, "it was issued by '%s', not by the certificate's issuer",
                        name_text(issuer, name, sizeof(name)));
        if (!(X509_get_key_usage(trust->issuer) & KU_CRL_SIGN))
            return fail(why, whylen, "its issuer's key usage does not allow signing CRLs (cRLSign)");
        if (verify_with(crl, trust->issuer, key) != 0)
            return fail(why, whylen, "its signature does not verify with the issuer's key");
        return 0;
    }
    if (trust == NULL || trust->store == NULL)
        return fail(why, whylen, "no trusted CA is configured to verify it with");
    if ((xs = X509_STORE_CTX_new()) == NULL || !X509_STORE_CTX_init(xs, trust->store, NULL, NULL)) {
        fail(why, whylen, "cannot search the trusted CAs (%s)", ossl_errors(errs, sizeof(errs)));
        goto cleanup;
    }
    certs = X509_STORE_CTX_get1_certs(xs, (X509_NAME *)issuer);
    ERR_clear_error();
    if (certs == NULL || sk_X509_num(certs) == 0) {
        fail(why, whylen, "its issuer '%s' is not among %s", name_text(issuer, name, sizeof(name)), among);
        goto cleanup;
    }
    for (i = 0; i < sk_X509_num(certs) && rc != 0; i++)
        rc = verify_with(crl, sk_X509_value(certs, i), key);
    if (rc != 0)
        fail(why, whylen, "its signature does not verify with the key of any CA named '%s' among %s whose "
             "key usage allows signing CRLs", name_text(issuer, name, sizeof(name)), among);

cleanup:
    sk_X509_pop_free(certs, X509_free);
    X509_STORE_CTX_free(xs);
    ERR_clear_error();
    return rc;
}

int secure_crlcore_check(X509_CRL *crl, const secure_crlcore_trust_t *trust, EVP_PKEY **key, char *why,
                         size_t whylen)
{
    STACK_OF(X509_REVOKED) *revoked;
    secure_crlcore_scope_t scope;
    char oid[80];
    int64_t t;
    int i, bad;

    *key = NULL;
    if (secure_crlcore_time(X509_CRL_get0_lastUpdate(crl), &t) != 0)
        return fail(why, whylen, "its thisUpdate date is malformed");
    if (X509_CRL_get0_nextUpdate(crl) != NULL && secure_crlcore_time(X509_CRL_get0_nextUpdate(crl), &t) != 0)
        return fail(why, whylen, "its nextUpdate date is malformed, so its freshness cannot be judged");
    if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0)
        return fail(why, whylen, "it is a delta CRL (not supported: configure the full CRL)");
    if (idp_scope(crl, &scope, why, whylen) != 0)
        return -1;
    if ((bad = unknown_critical(X509_CRL_get0_extensions(crl), crl_ext_known,
                                sizeof(crl_ext_known) / sizeof(crl_ext_known[0]))) >= 0) {
        OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(X509_CRL_get_ext(crl, bad)), 0);
        return fail(why, whylen, "it has a critical extension this server does not understand (%s)", oid);
    }
    revoked = X509_CRL_get_REVOKED(crl);
    for (i = 0; i < sk_X509_REVOKED_num(revoked); i++) {
        const STACK_OF(X509_EXTENSION) *exts = X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(revoked, i));
        if ((bad = unknown_critical(exts, entry_ext_known,
                                    sizeof(entry_ext_known) / sizeof(entry_ext_known[0]))) >= 0) {
            OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, bad)), 0);
            return fail(why, whylen, "revoked entry number %d has a critical extension this server does not "
                        "understand (%s)", i + 1, oid);
        }
    }
    return check_signature(crl, trust, key, why, whylen);
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
    *neg = ASN1_STRING_type(s) == V_ASN1_NEG_INTEGER && n > 0;   /* -0 is 0 */
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

/* Of two entries for one serial, is a the one to keep rather than b? A revoking entry beats
 * removeFromCRL; then the earlier known revocation date. */
static int entry_better(const crl_entry_t *a, const crl_entry_t *b)
{
    int ar = a->reason != CRL_REASON_REMOVE_FROM_CRL, br = b->reason != CRL_REASON_REMOVE_FROM_CRL;

    if (ar != br)
        return ar;
    return a->revoked_at != 0 && (b->revoked_at == 0 || a->revoked_at < b->revoked_at);
}

static void entry_fill(crl_entry_t *e, X509_REVOKED *rev)
{
    ASN1_ENUMERATED *reason;
    int64_t at;
    long code = -1;

    if (X509_REVOKED_get_ext_by_NID(rev, NID_crl_reason, -1) >= 0) {
        /* a damaged or unknown reason reads as "unspecified": the entry still revokes */
        reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
        code = reason ? ASN1_ENUMERATED_get(reason) : 0;
        if (code < 0 || code > 10 || code == 7)
            code = CRL_REASON_UNSPECIFIED;
        ASN1_ENUMERATED_free(reason);
        ERR_clear_error();
    }
    e->reason = (int8_t)code;
    e->revoked_at = secure_crlcore_time(X509_REVOKED_get0_revocationDate(rev), &at) == 0 ? at : 0;
}

int secure_crlcore_compact(X509_CRL *crl, EVP_PKEY *key, secure_crlcore_crl_t **out, char *why,
                           size_t whylen)
{
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);   /* NULL in an empty CRL */
    int total = revoked ? sk_X509_REVOKED_num(revoked) : 0;
    const X509_NAME *issuer = X509_CRL_get_issuer(crl);
    secure_crlcore_crl_t *c = NULL;
    X509_REVOKED **order = NULL;
    GENERAL_NAMES *gens = NULL;
    size_t bytes = 0, len, w;
    int i, n = 0, covered = 1, neg, rc = -1;

    *out = NULL;
    if ((c = calloc(1, sizeof(*c))) != NULL)
        atomic_init(&c->refs, 1);
    if (c == NULL || (c->issuer = X509_NAME_dup(issuer)) == NULL
        || (total > 0 && (order = malloc((size_t)total * sizeof(*order))) == NULL)) {
        fail(why, whylen, "out of memory");
        goto cleanup;
    }
    if (secure_crlcore_time(X509_CRL_get0_lastUpdate(crl), &c->this_update) != 0) {
        fail(why, whylen, "its thisUpdate date is malformed");
        goto cleanup;
    }
    if (X509_CRL_get0_nextUpdate(crl) != NULL) {
        if (secure_crlcore_time(X509_CRL_get0_nextUpdate(crl), &c->next_update) != 0) {
            fail(why, whylen, "its nextUpdate date is malformed, so its freshness cannot be judged");
            goto cleanup;
        }
        c->has_next_update = 1;
    }
    if (idp_scope(crl, &c->scope, why, whylen) != 0)
        goto cleanup;
    /* In file order, as OpenSSL reads it: a certificateIssuer extension applies to its entry and every
     * later one until the next such extension, and OpenSSL's lookup ignores the entries it gives to
     * another issuer. Leaving those out here keeps the verdicts OpenSSL gave. */
    for (i = 0; i < total; i++) {
        X509_REVOKED *rev = sk_X509_REVOKED_value(revoked, i);
        if (X509_REVOKED_get_ext_by_NID(rev, NID_certificate_issuer, -1) >= 0) {
            GENERAL_NAMES_free(gens);
            if ((gens = X509_REVOKED_get_ext_d2i(rev, NID_certificate_issuer, NULL, NULL)) == NULL) {
                ERR_clear_error();
                fail(why, whylen, "revoked entry number %d has a damaged certificateIssuer extension", i + 1);
                goto cleanup;
            }
            covered = names_issuer(gens, issuer);
        }
        if (!covered)
            continue;
        serial_bytes(X509_REVOKED_get0_serialNumber(rev), &len, &neg);
        bytes += len;
        if (len > UINT16_MAX || bytes > UINT32_MAX) {
            fail(why, whylen, "revoked entry number %d has a serial number too long to be real", i + 1);
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
    if ((n > 0 && (c->entries = malloc((size_t)n * sizeof(*c->entries))) == NULL)
        || (c->serials = malloc(bytes ? bytes : 1)) == NULL) {
        fail(why, whylen, "out of memory");
        goto cleanup;
    }
    bytes = 0;
    for (i = 0, w = 0; i < n; i++) {
        const unsigned char *d = serial_bytes(X509_REVOKED_get0_serialNumber(order[i]), &len, &neg);
        crl_entry_t e;

        entry_fill(&e, order[i]);
        if (w > 0) {
            crl_entry_t *last = &c->entries[w - 1];
            if (serial_cmp(last->neg, c->serials + last->off, last->len, neg, d, len) == 0) {
                /* the same serial again: one entry per serial, the one that says the most */
                if (entry_better(&e, last)) {
                    last->reason = e.reason;
                    last->revoked_at = e.revoked_at;
                }
                continue;
            }
        }
        memcpy(c->serials + bytes, d, len);
        e.off = (uint32_t)bytes;
        e.len = (uint16_t)len;
        e.neg = (uint8_t)neg;
        bytes += len;
        c->entries[w++] = e;
    }
    c->n = w;
    if (key != NULL) {
        if (!EVP_PKEY_up_ref(key)) {
            fail(why, whylen, "out of memory");
            goto cleanup;
        }
        c->key = key;
    }
    *out = c;
    c = NULL;
    rc = 0;

cleanup:
    GENERAL_NAMES_free(gens);
    free(order);
    secure_crlcore_free(c);
    return rc;
}

void secure_crlcore_up_ref(secure_crlcore_crl_t *crl)
{
    atomic_fetch_add(&crl->refs, 1);
}

void secure_crlcore_free(secure_crlcore_crl_t *crl)
{
    if (crl == NULL || atomic_fetch_sub(&crl->refs, 1) != 1)
        return;
    X509_NAME_free(crl->issuer);
    EVP_PKEY_free(crl->key);
    free(crl->entries);
    free(crl->serials);
    free(crl);
}

void secure_crlcore_free_all(secure_crlcore_crl_t **crls, size_t n)
{
    size_t i;

    for (i = 0; crls != NULL && i < n; i++)
        secure_crlcore_free(crls[i]);
    free(crls);
}

/* ---- load = parse + check + compact ------------------------------------------------------------ */

typedef struct {
    const secure_crlcore_trust_t *trust;
    secure_crlcore_report_fn report;
    void *baton;
    secure_crlcore_crl_t **crls;
    size_t n, cap;
    int seen;
    int first_refused;                  /* CRL 1 was refused and not reported yet */
    char first_why[SECURE_CRLCORE_WHY_MAX];
} load_ctx_t;

/* A file of one CRL: its refusal is the file's reason. Of several: each refusal is reported, the
 * first one as soon as a second CRL shows the file has several. */
static void load_refused(load_ctx_t *lc, int number, const char *why)
{
    if (number == 1) {
        lc->first_refused = 1;
        snprintf(lc->first_why, sizeof(lc->first_why), "%s", why);
    }
    else if (lc->report != NULL)
        lc->report(lc->baton, number, why);
}

static void load_flush_first(load_ctx_t *lc)
{
    if (lc->first_refused && lc->report != NULL)
        lc->report(lc->baton, 1, lc->first_why);
    lc->first_refused = 0;
}

static int load_one(void *baton, X509_CRL *crl, int number, char *why, size_t whylen)
{
    load_ctx_t *lc = baton;
    secure_crlcore_crl_t *c = NULL;
    char refused[SECURE_CRLCORE_WHY_MAX];
    EVP_PKEY *key = NULL;

    lc->seen = number;
    if (number == 2)
        load_flush_first(lc);
    if (secure_crlcore_check(crl, lc->trust, &key, refused, sizeof(refused)) != 0
        || secure_crlcore_compact(crl, key, &c, refused, sizeof(refused)) != 0) {
        EVP_PKEY_free(key);
        if (!strcmp(refused, "out of memory"))
            return fail(why, whylen, "out of memory");
        load_refused(lc, number, refused);
        return 0;
    }
    EVP_PKEY_free(key);
    if (lc->n == lc->cap) {
        size_t cap = lc->cap ? lc->cap * 2 : 4;
        secure_crlcore_crl_t **nw = realloc(lc->crls, cap * sizeof(*nw));
        if (nw == NULL) {
            secure_crlcore_free(c);
            return fail(why, whylen, "out of memory");
        }
        lc->crls = nw;
        lc->cap = cap;
    }
    lc->crls[lc->n++] = c;
    return 0;
}

int secure_crlcore_load(const void *data, size_t len, const secure_crlcore_trust_t *trust,
                        secure_crlcore_crl_t ***out, size_t *n, secure_crlcore_report_fn report,
                        void *baton, char *why, size_t whylen)
{
    load_ctx_t lc;
    int seen;

    memset(&lc, 0, sizeof(lc));
    lc.trust = trust;
    lc.report = report;
    lc.baton = baton;
    *out = NULL;
    *n = 0;
    seen = secure_crlcore_parse(data, len, load_one, &lc, why, whylen);
    if (seen < 0 || lc.n == 0) {
        if (seen == 0)
            fail(why, whylen, "it contains no CRL");
        else if (seen == 1 && lc.first_refused)
            fail(why, whylen, "%s", lc.first_why);
        else if (seen > 1)
            fail(why, whylen, "none of its %d CRLs passed the checks", seen);
        secure_crlcore_free_all(lc.crls, lc.n);
        return -1;
    }
    *out = lc.crls;
    *n = lc.n;
    return (int)lc.n;
}

/* ---- facts and lookups ------------------------------------------------------------------------- */

const X509_NAME *secure_crlcore_issuer(const secure_crlcore_crl_t *crl)
{
    return crl->issuer;
}

size_t secure_crlcore_count(const secure_crlcore_crl_t *crl)
{
    return crl->n;
}

size_t secure_crlcore_memory(const secure_crlcore_crl_t *crl)
{
    size_t i, bytes = crl->n * sizeof(crl_entry_t);

    for (i = 0; i < crl->n; i++)
        bytes += crl->entries[i].len;
    return bytes;
}

int64_t secure_crlcore_this_update(const secure_crlcore_crl_t *crl)
{
    return crl->this_update;
}

int secure_crlcore_next_update(const secure_crlcore_crl_t *crl, int64_t *at)
{
    if (crl->has_next_update)
        *at = crl->next_update;
    return crl->has_next_update;
}

secure_crlcore_scope_t secure_crlcore_scope(const secure_crlcore_crl_t *crl)
{
    return crl->scope;
}

int secure_crlcore_covers(const secure_crlcore_crl_t *crl, X509 *cert, X509 *issuer)
{
    const EVP_PKEY *ikey = X509_get0_pubkey(issuer);
    int is_ca;

    ERR_clear_error();
    if (crl->key == NULL || ikey == NULL || X509_NAME_cmp(crl->issuer, X509_get_subject_name(issuer)) != 0
        || EVP_PKEY_eq(crl->key, ikey) != 1)
        return 0;
    /* RFC 5280 6.3.3 (b)(2)(ii)/(iii): "cA asserted in basicConstraints", nothing else */
    is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
    return crl->scope == SECURE_CRLCORE_SCOPE_ALL || (crl->scope == SECURE_CRLCORE_SCOPE_USER && !is_ca)
           || (crl->scope == SECURE_CRLCORE_SCOPE_CA && is_ca);
}

int secure_crlcore_find(const secure_crlcore_crl_t *crl, const ASN1_INTEGER *serial, int *reason,
                        int64_t *revoked_at)
{
    size_t len, lo = 0, hi = crl->n;
    int neg;
    const unsigned char *key = serial_bytes(serial, &len, &neg);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const crl_entry_t *e = &crl->entries[mid];
        int c = serial_cmp(e->neg, crl->serials + e->off, e->len, neg, key, len);
        if (c == 0) {
            /* removeFromCRL (a delta CRL's way to lift a hold) does not revoke, as in OpenSSL's lookup */
            if (e->reason == CRL_REASON_REMOVE_FROM_CRL)
                return 0;
            *reason = e->reason >= 0 ? e->reason : CRL_REASON_UNSPECIFIED;
            *revoked_at = e->revoked_at;
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

size_t secure_crlcore_newly_revoked(const secure_crlcore_crl_t *crl, const secure_crlcore_crl_t *old, size_t max,
                                    secure_crlcore_serial_fn each, void *baton)
{
    size_t i, j = 0, count = 0;
    ASN1_INTEGER *serial = NULL;
    BIGNUM *bn = NULL;

    for (i = 0; i < crl->n; i++) {
        const crl_entry_t *e = &crl->entries[i];
        const unsigned char *eb = crl->serials + e->off;
        int c = 1;

        if (e->reason == CRL_REASON_REMOVE_FROM_CRL)
            continue;
        /* both arrays are sorted by serial_cmp: walk old along */
        while (old != NULL && j < old->n
               && (c = serial_cmp(old->entries[j].neg, old->serials + old->entries[j].off, old->entries[j].len,
                                  e->neg, eb, e->len)) < 0)
            j++;
        if (old != NULL && j < old->n && c == 0 && old->entries[j].reason != CRL_REASON_REMOVE_FROM_CRL)
            continue;
        if (count++ >= max || each == NULL)
            continue;
        /* the INTEGER again from its magnitude and sign (a zero-length magnitude is 0) */
        if ((bn = BN_bin2bn(eb, (int)e->len, bn)) == NULL
            || (BN_set_negative(bn, e->neg), (serial = BN_to_ASN1_INTEGER(bn, serial)) == NULL)) {
            ERR_clear_error();
            continue;
        }
        each(baton, serial, e->reason >= 0 ? e->reason : CRL_REASON_UNSPECIFIED, e->revoked_at);
    }
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return count;
}

secure_crlcore_time_t secure_crlcore_time_state(const secure_crlcore_crl_t *crl, int64_t now,
                                                int64_t max_stale)
{
    if (crl->this_update > now + SECURE_CRLCORE_SKEW)
        return SECURE_CRLCORE_NOT_YET_VALID;
    if (!crl->has_next_update)
        return SECURE_CRLCORE_NO_NEXT_UPDATE;
    if (crl->next_update < now - max_stale)
        return SECURE_CRLCORE_STALE;
    return SECURE_CRLCORE_FRESH;
}

void secure_crlcore_answer_init(secure_crlcore_answer_t *a)
{
    memset(a, 0, sizeof(*a));
    a->status = SECURE_CRLCORE_NONE;
    a->reason = -1;
}

void secure_crlcore_answer_add(secure_crlcore_answer_t *a, const secure_crlcore_crl_t *crl, void *tag,
                               X509 *cert, X509 *issuer, int64_t now, int64_t max_stale)
{
    secure_crlcore_time_t ts;

    if (crl == NULL || !secure_crlcore_covers(crl, cert, issuer))
        return;
    /* of several CRLs from one issuer the newest knows the most */
    if ((ts = secure_crlcore_time_state(crl, now, max_stale)) == SECURE_CRLCORE_FRESH) {
        if (a->fresh == NULL || a->fresh->this_update < crl->this_update) {
            a->fresh = crl;
            a->fresh_tag = tag;
        }
    }
    else if (a->stale == NULL || a->stale->this_update < crl->this_update) {
        a->stale = crl;
        a->stale_tag = tag;
        a->stale_state = ts;
    }
}

secure_crlcore_status_t secure_crlcore_answer_end(secure_crlcore_answer_t *a, X509 *cert)
{
    const secure_crlcore_crl_t *use = a->fresh ? a->fresh : a->stale;
    int reason = -1, listed;
    int64_t at = 0;

    if (use == NULL)
        return a->status = SECURE_CRLCORE_NONE;
    a->crl = use;
    a->tag = a->fresh ? a->fresh_tag : a->stale_tag;
    a->time_state = a->fresh ? SECURE_CRLCORE_FRESH : a->stale_state;
    listed = secure_crlcore_find(use, X509_get0_serialNumber(cert), &reason, &at);
    /* a revocation is final even in an outdated CRL; only "on hold" may have been lifted since */
    if (listed && (a->fresh != NULL || reason != CRL_REASON_CERTIFICATE_HOLD)) {
        a->reason = reason;
        a->revoked_at = at;
        return a->status = SECURE_CRLCORE_REVOKED;
    }
    a->reason = -1;
    a->revoked_at = 0;
    return a->status = a->fresh != NULL ? SECURE_CRLCORE_GOOD : SECURE_CRLCORE_UNKNOWN;
}
