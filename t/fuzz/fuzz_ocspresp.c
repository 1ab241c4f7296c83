/* libFuzzer target for secure_ocspeval: the judgement of an OCSP response's bytes against a fixed request.
 * Sources: secure_ocspeval.c secure_crlcore.c
 *
 * The world is fixed (t/unit/ocsp_fixtures.h): a CA with fixed keys, its client certificate (the CertID),
 * the request with a fixed nonce, a delegated responder of the CA, a responder certificate trusted as it
 * is, the clock at 2026-01-01. Each input is the responder's answer, judged twice: nonce required and no
 * maximum age, then nonce off and a one-day maximum age. Promises checked (abort on a violation): every
 * answer has a reason; the responder "worked" exactly when the answer is GOOD, REVOKED or a verified
 * "unknown", and a failure names its counter; an OpenSSL error is left on the queue only when the
 * answer says so; a GOOD or REVOKED answer is for the request's CertID, within the time rules, carries
 * the request's nonce when required, and its signature verifies (checked here with ASN1_item_verify,
 * not OpenSSL's OCSP code) with the key of the CA, of the delegated responder or of the trusted responder
 * certificate: a response signed by any other key is never GOOD.
 *
 * Seeds: t/fuzz/corpus/ocspresp/, written by this target itself: OCSPRESP_WRITE_SEEDS=DIR runs it once to
 * write them (good from each signer, revoked, unknown, another signer, a flipped signature byte, another
 * nonce, stale, future, another certificate, tryLater) and exit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "secure_crlcore.h"
#include "secure_ocspeval.h"
#include "../unit/ocsp_fixtures.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ocspfx_t fx;

static void check(int cond)
{
    if (!cond)
        abort();
}

static void write_seed(const char *dir, const char *name, const ocspfx_spec_t *s, int flip)
{
    char path[4096];
    size_t len;
    unsigned char *der = ocspfx_der(&fx, s, &len);
    FILE *fp;

    if (flip)
        der[len - 5] ^= 0x01;   /* inside the signature, at the end of the encoding */
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    check((fp = fopen(path, "wb")) != NULL && fwrite(der, 1, len, fp) == len && fclose(fp) == 0);
    OPENSSL_free(der);
}

static void write_seeds(const char *dir)
{
    ocspfx_spec_t s = ocspfx_good();

    write_seed(dir, "good_ca", &s, 0);
    write_seed(dir, "bad_signature", &s, 1);
    s.signer = OCSPFX_BY_DELEG;
    write_seed(dir, "good_delegated", &s, 0);
    s.signer = OCSPFX_BY_RESP;
    write_seed(dir, "good_responder_cert", &s, 0);
    s.signer = OCSPFX_BY_STRAY;
    write_seed(dir, "good_other_key", &s, 0);
    s = ocspfx_good();
    s.nonce = OCSPFX_NONCE_NONE;
    s.next_at = -1;
    write_seed(dir, "good_no_nonce_no_next", &s, 0);
    s.nonce = OCSPFX_NONCE_OTHER;
    write_seed(dir, "other_nonce", &s, 0);
    s = ocspfx_good();
    s.cert_status = V_OCSP_CERTSTATUS_REVOKED;
    s.reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
    s.revoked_at = OCSPFX_NOW - 86400;
    write_seed(dir, "revoked", &s, 0);
    s = ocspfx_good();
    s.cert_status = V_OCSP_CERTSTATUS_UNKNOWN;
    write_seed(dir, "unknown", &s, 0);
    s = ocspfx_good();
    s.this_at = OCSPFX_NOW - 10 * 86400;
    s.next_at = OCSPFX_NOW - 3 * 86400;
    write_seed(dir, "stale", &s, 0);
    s = ocspfx_good();
    s.this_at = OCSPFX_NOW + 3600;
    write_seed(dir, "future", &s, 0);
    s = ocspfx_good();
    s.serial = 0x1002;
    write_seed(dir, "other_certificate", &s, 0);
    s.rstatus = OCSP_RESPONSE_STATUS_TRYLATER;
    write_seed(dir, "trylater", &s, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seeds = getenv("OCSPRESP_WRITE_SEEDS");

    (void)argc;
    (void)argv;
    ocspfx_init(&fx);
    if (seeds != NULL) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

/* 1 when the response's signature verifies with key. */
static int signed_by(OCSP_BASICRESP *bs, EVP_PKEY *key)
{
    int ok = ASN1_item_verify(ASN1_ITEM_rptr(OCSP_RESPDATA), OCSP_resp_get0_tbs_sigalg(bs),
                              OCSP_resp_get0_signature(bs), OCSP_resp_get0_respdata(bs), key) == 1;

    ERR_clear_error();
    return ok;
}

/* An answer the function calls GOOD or REVOKED, checked on its own. */
static void check_answer(const uint8_t *data, size_t size, const secure_ocspeval_in_t *in,
                         const secure_ocspeval_out_t *out)
{
    const unsigned char *q = data;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &q, (long)size);
    OCSP_BASICRESP *bs;
    ASN1_GENERALIZEDTIME *rev, *thisupd, *nextupd;
    int status, reason;
    int64_t at;

    check(resp != NULL && OCSP_response_status(resp) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
    check((bs = OCSP_response_get1_basic(resp)) != NULL);
    check(signed_by(bs, fx.ca_key) || signed_by(bs, fx.deleg_key) || signed_by(bs, fx.resp_key));
    check(!in->nonce || OCSP_check_nonce(fx.req, bs) == 1);
    check(OCSP_resp_find_status(bs, fx.id, &status, &reason, &rev, &thisupd, &nextupd) == 1);
    check(status == (out->status == SECURE_OCSPEVAL_GOOD ? V_OCSP_CERTSTATUS_GOOD : V_OCSP_CERTSTATUS_REVOKED));
    check(secure_crlcore_time(thisupd, &at) == 0 && at <= in->now + in->skew);
    check(in->max_age == 0 || at >= in->now - in->max_age);
    check(out->next_update == 0 || out->next_update >= in->now - in->skew);
    check(out->status != SECURE_OCSPEVAL_REVOKED || out->reason == (reason >= 0 ? reason : -1));
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
}

static void judge(const uint8_t *data, size_t size, int nonce, long max_age)
{
    secure_ocspeval_in_t in = { "http://ocsp.fuzz/", fx.req, fx.id, fx.ca, fx.signers, fx.store, nonce, max_age,
                                300, OCSPFX_NOW };
    secure_ocspeval_out_t out;
    char why[SECURE_OCSPEVAL_WHY_MAX];
    int worked;

    memset(why, 0, sizeof(why));
    worked = secure_ocspeval_der(data, size, &in, &out, why, sizeof(why));
    check(worked == out.worked && (worked == 0 || worked == 1));
    check(why[0] != '\0' && memchr(why, '\0', sizeof(why)) != NULL);
    check(out.ossl_detail || ERR_peek_error() == 0);
    ERR_clear_error();
    if (!worked) {
        check(out.status == SECURE_OCSPEVAL_UNKNOWN);
        check(out.fail != SECURE_OCSPEVAL_FAIL_NONE || strstr(why, "out of memory") != NULL);
        return;
    }
    check(out.fail == SECURE_OCSPEVAL_FAIL_NONE);
    if (out.status != SECURE_OCSPEVAL_UNKNOWN)
        check_answer(data, size, &in, &out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exactly-sized heap copy, so ASan flags any read past the end */
    uint8_t *copy = malloc(size ? size : 1);

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    judge(copy, size, 1, 0);
    judge(copy, size, 0, 86400);
    free(copy);
    return 0;
}
