/* ocsp_fixtures.h — a fixed OCSP world for the unit tests (t/unit/test_ocspeval.c) and the fuzzer
 * (t/fuzz/fuzz_ocspresp.c): a CA ("CN=fuzz OCSP CA") with a client certificate (serial 0x1001), a
 * delegated responder of the CA (OCSP-signing EKU), a responder certificate the operator would trust as
 * it is (SecureOCSPResponderCert), a stray "CA" with the same name and another key, the request for the
 * client certificate with a fixed nonce, and responses built to a spec. The keys are fixed (P-256, made
 * once with `openssl genpkey`), so responses written as seeds verify in every later run; the certificates
 * are rebuilt at start (ECDSA signatures differ, names, keys and serials do not, so neither does the
 * CertID). Test code only: failures abort. */
#ifndef OCSP_FIXTURES_H
#define OCSP_FIXTURES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#if defined(__GNUC__) || defined(__clang__)
#define OCSPFX_FN static __attribute__((unused))
#else
#define OCSPFX_FN static
#endif

/* The fixed clock of the fixtures: 2026-01-01T00:00:00Z. Responses default to thisUpdate an hour
 * before, nextUpdate a week after. */
#define OCSPFX_NOW ((int64_t)1767225600)
#define OCSPFX_LEAF_SERIAL 0x1001L

#define OCSPFX_KEY_CA \
    "-----BEGIN PRIVATE KEY-----\n" \
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7Q1dTPasvdT5+zNI\n" \
    "oV8Gqn5TEUw3+65OrPB931TDwl+hRANCAATzzkjp7s2IXDIMjLeFKTUmNf7slaJD\n" \
    "AZCrlDGl++u6AhR8BoI10hUweR3Q0DnOGVQ/9utlUE5g78PH+PoMgFVt\n" \
    "-----END PRIVATE KEY-----\n"

#define OCSPFX_KEY_DELEG \
    "-----BEGIN PRIVATE KEY-----\n" \
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgcj67HmH2o5MLmlRs\n" \
    "9pscDnDBPkEAuPeSt5JOYh9eMx6hRANCAARVyxXBDZvXKF+ecbRBY7xIUnYQQ8rZ\n" \
    "P8SvMfRQFYF4fgukenGHO8BCrWvtHh95gJXxfuHviBceOdOh1GnK0QtR\n" \
    "-----END PRIVATE KEY-----\n"

#define OCSPFX_KEY_RESP \
    "-----BEGIN PRIVATE KEY-----\n" \
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4cOn3SXc95WY5KIq\n" \
    "igWZwADFgZwjrOti0chYpxi8c2qhRANCAASUvkiMkAd8ipUxcef3wUVLmKlYbAV9\n" \
    "Uc4HPonQqkEHpEtSmdb6dsPwCBC5eZkc4QzMp0fdTRBOrybvbi0FWiHU\n" \
    "-----END PRIVATE KEY-----\n"

#define OCSPFX_KEY_STRAY \
    "-----BEGIN PRIVATE KEY-----\n" \
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAhZ6T5z2kFqhCJAH\n" \
    "Gv2QUipMEgH5q/UmqVHiFpjTElGhRANCAATFgc9yg8zRMLneE3L4B0ixAe6BDaEi\n" \
    "Qp5TxXPIqpbLT7R9Uz3zh3COXOwHwtEhn/SX+VG7KP5oHNcdv/b1CFgA\n" \
    "-----END PRIVATE KEY-----\n"

static const unsigned char ocspfx_nonce[16] = "mod_secure nonce";

/* Who signs a response. */
enum { OCSPFX_BY_CA = 0, OCSPFX_BY_DELEG, OCSPFX_BY_RESP, OCSPFX_BY_STRAY };
/* The nonce a response carries. */
enum { OCSPFX_NONCE_ECHO = 0, OCSPFX_NONCE_NONE, OCSPFX_NONCE_OTHER };

typedef struct {
    EVP_PKEY *ca_key, *deleg_key, *resp_key, *stray_key;
    X509 *ca, *leaf, *deleg, *resp, *stray;
    X509_STORE *store;                  /* the CA */
    STACK_OF(X509) *signers;            /* resp */
    OCSP_CERTID *id;                    /* the leaf's */
    OCSP_REQUEST *req;                  /* for id, with ocspfx_nonce */
} ocspfx_t;

typedef struct {
    int rstatus;                        /* OCSPResponseStatus; anything but successful has no body */
    int cert_status;                    /* V_OCSP_CERTSTATUS_* */
    int reason;                         /* CRLReason, -1: none */
    int64_t revoked_at;
    int64_t this_at, next_at;           /* 0: the defaults; next_at -1: no nextUpdate */
    int signer;                         /* OCSPFX_BY_* */
    int nonce;                          /* OCSPFX_NONCE_* */
    long serial;                        /* 0: the leaf's */
} ocspfx_spec_t;

static void ocspfx_need(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "ocsp_fixtures: %s failed\n", what);
        abort();
    }
}

static EVP_PKEY *ocspfx_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    ocspfx_need(k != NULL, "reading a fixed key");
    return k;
}

static void ocspfx_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ocspfx_need(ext != NULL && X509_add_ext(x, ext, -1), "adding an extension");
    X509_EXTENSION_free(ext);
}

/* A certificate for key named cn, signed by ikey as issuer (NULL: self-signed), valid 2020-2099. */
static X509 *ocspfx_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, long serial, int kind)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();

    ocspfx_need(x && name && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), serial)
                && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0)
                && X509_set_subject_name(x, name)
                && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name)
                && ASN1_TIME_set_string_X509(X509_getm_notBefore(x), "20200101000000Z")
                && ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "20991231000000Z")
                && X509_set_pubkey(x, key), "building a certificate");
    ocspfx_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
    if (kind == 0) {            /* a CA */
        ocspfx_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        ocspfx_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    } else if (kind == 1) {     /* an OCSP signer */
        ocspfx_ext(x, issuer ? issuer : x, NID_key_usage, "critical,digitalSignature");
        ocspfx_ext(x, issuer ? issuer : x, NID_ext_key_usage, "OCSPSigning");
    } else {                    /* a client */
        ocspfx_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
        ocspfx_ext(x, issuer, NID_ext_key_usage, "clientAuth");
    }
    if (issuer != NULL)
        ocspfx_ext(x, issuer, NID_authority_key_identifier, "keyid");
    ocspfx_need(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0, "signing a certificate");
    X509_NAME_free(name);
    return x;
}

OCSPFX_FN void ocspfx_init(ocspfx_t *f)
{
    OCSP_CERTID *copy;

    memset(f, 0, sizeof(*f));
    f->ca_key = ocspfx_key(OCSPFX_KEY_CA);
    f->deleg_key = ocspfx_key(OCSPFX_KEY_DELEG);
    f->resp_key = ocspfx_key(OCSPFX_KEY_RESP);
    f->stray_key = ocspfx_key(OCSPFX_KEY_STRAY);
    f->ca = ocspfx_cert("fuzz OCSP CA", f->ca_key, NULL, NULL, 1, 0);
    /* the client certificate's own key plays no part in OCSP: it borrows one */
    f->leaf = ocspfx_cert("fuzz client", f->stray_key, f->ca, f->ca_key, OCSPFX_LEAF_SERIAL, 2);
    f->deleg = ocspfx_cert("fuzz delegated responder", f->deleg_key, f->ca, f->ca_key, 0x2002, 1);
    f->resp = ocspfx_cert("fuzz configured responder", f->resp_key, NULL, NULL, 3, 1);
    f->stray = ocspfx_cert("fuzz OCSP CA", f->stray_key, NULL, NULL, 1, 0);
    ocspfx_need((f->store = X509_STORE_new()) != NULL && X509_STORE_add_cert(f->store, f->ca), "the store");
    ocspfx_need((f->signers = sk_X509_new_null()) != NULL && sk_X509_push(f->signers, f->resp), "the signers");
    ocspfx_need((f->id = OCSP_cert_to_id(NULL, f->leaf, f->ca)) != NULL, "the CertID");
    ocspfx_need((f->req = OCSP_REQUEST_new()) != NULL && (copy = OCSP_CERTID_dup(f->id)) != NULL
                && OCSP_request_add0_id(f->req, copy) != NULL
                && OCSP_request_add1_nonce(f->req, (unsigned char *)ocspfx_nonce, sizeof(ocspfx_nonce)),
                "the request");
}

OCSPFX_FN void ocspfx_free(ocspfx_t *f)
{
    OCSP_REQUEST_free(f->req);
    OCSP_CERTID_free(f->id);
    sk_X509_free(f->signers);
    X509_STORE_free(f->store);
    X509_free(f->ca);
    X509_free(f->leaf);
    X509_free(f->deleg);
    X509_free(f->resp);
    X509_free(f->stray);
    EVP_PKEY_free(f->ca_key);
    EVP_PKEY_free(f->deleg_key);
    EVP_PKEY_free(f->resp_key);
    EVP_PKEY_free(f->stray_key);
}

/* A good response for the leaf, signed by the CA, echoing the nonce: change fields from there. */
OCSPFX_FN ocspfx_spec_t ocspfx_good(void)
{
    ocspfx_spec_t s = { OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD, -1, 0, 0, 0,
                        OCSPFX_BY_CA, OCSPFX_NONCE_ECHO, 0 };
    return s;
}

OCSPFX_FN OCSP_RESPONSE *ocspfx_response(const ocspfx_t *f, const ocspfx_spec_t *s)
{
    static const unsigned char other[16] = "another nonce!!";
    OCSP_BASICRESP *bs;
    OCSP_CERTID *cid;
    OCSP_RESPONSE *resp;
    ASN1_INTEGER *serial;
    ASN1_GENERALIZEDTIME *thisupd, *nextupd = NULL, *rev = NULL;
    X509 *cert;
    EVP_PKEY *key;
    unsigned long flags = OCSP_NOCERTS;

    if (s->rstatus != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        ocspfx_need((resp = OCSP_response_create(s->rstatus, NULL)) != NULL, "an unsuccessful response");
        return resp;
    }
    serial = ASN1_INTEGER_new();
    ocspfx_need(serial && ASN1_INTEGER_set(serial, s->serial ? s->serial : OCSPFX_LEAF_SERIAL), "a serial");
    cid = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(f->ca), X509_get0_pubkey_bitstr(f->ca), serial);
    thisupd = ASN1_GENERALIZEDTIME_set(NULL, (time_t)(s->this_at ? s->this_at : OCSPFX_NOW - 3600));
    if (s->next_at >= 0)
        nextupd = ASN1_GENERALIZEDTIME_set(NULL, (time_t)(s->next_at ? s->next_at : OCSPFX_NOW + 7 * 86400));
    if (s->cert_status == V_OCSP_CERTSTATUS_REVOKED)
        rev = ASN1_GENERALIZEDTIME_set(NULL, (time_t)s->revoked_at);
    ocspfx_need((bs = OCSP_BASICRESP_new()) != NULL && cid != NULL && thisupd != NULL
                && (s->next_at < 0 || nextupd != NULL)
                && (s->cert_status != V_OCSP_CERTSTATUS_REVOKED || rev != NULL)
                && OCSP_basic_add1_status(bs, cid, s->cert_status, s->reason, rev, thisupd, nextupd) != NULL,
                "a single response");
    if (s->nonce == OCSPFX_NONCE_ECHO)
        ocspfx_need(OCSP_copy_nonce(bs, f->req) > 0, "echoing the nonce");
    else if (s->nonce == OCSPFX_NONCE_OTHER)
        ocspfx_need(OCSP_basic_add1_nonce(bs, (unsigned char *)other, sizeof(other)), "another nonce");
    switch (s->signer) {
    case OCSPFX_BY_DELEG: cert = f->deleg; key = f->deleg_key; flags = 0; break;
    case OCSPFX_BY_RESP: cert = f->resp; key = f->resp_key; break;
    case OCSPFX_BY_STRAY: cert = f->stray; key = f->stray_key; flags = 0; break;
    default: cert = f->ca; key = f->ca_key; break;
    }
    ocspfx_need(OCSP_basic_sign(bs, cert, key, EVP_sha256(), NULL, flags) > 0, "signing the response");
    ocspfx_need((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) != NULL, "the response");
    OCSP_BASICRESP_free(bs);
    OCSP_CERTID_free(cid);
    ASN1_INTEGER_free(serial);
    ASN1_GENERALIZEDTIME_free(thisupd);
    ASN1_GENERALIZEDTIME_free(nextupd);
    ASN1_GENERALIZEDTIME_free(rev);
    return resp;
}

/* The DER of a response built to s (free with OPENSSL_free); its length in *len. */
OCSPFX_FN unsigned char *ocspfx_der(const ocspfx_t *f, const ocspfx_spec_t *s, size_t *len)
{
    OCSP_RESPONSE *resp = ocspfx_response(f, s);
    unsigned char *der = NULL;
    int n = i2d_OCSP_RESPONSE(resp, &der);

    ocspfx_need(n > 0, "encoding the response");
    OCSP_RESPONSE_free(resp);
    *len = (size_t)n;
    return der;
}

#endif /* OCSP_FIXTURES_H */
