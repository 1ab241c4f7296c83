/* Unit tests of secure_ocspeval, the judgement of an OCSP response behind SecureOCSP. Each response is
 * built with OpenSSL's API to a spec (ocsp_fixtures.h: a fixed CA, its client certificate and the
 * request with a nonce), encoded and judged from its DER bytes, as a download would be, at the
 * fixtures' fixed clock. */
#include <string.h>

#include <openssl/err.h>

#include "secure_ocspeval.h"
#include "ocsp_fixtures.h"
#include "tap.h"

static ocspfx_t fx;

/* Judges the response built to s with nonce / max_age settings; the reason in why. */
static int judge(const ocspfx_spec_t *s, int nonce, long max_age, secure_ocspeval_out_t *out, char *why,
                 size_t whylen)
{
    secure_ocspeval_in_t in = { "http://ocsp.test/", fx.req, fx.id, fx.ca, fx.signers, fx.store, nonce, max_age,
                                300, OCSPFX_NOW };
    size_t len;
    unsigned char *der = ocspfx_der(&fx, s, &len);
    int worked = secure_ocspeval_der(der, len, &in, out, why, whylen);

    OPENSSL_free(der);
    return worked;
}

static void expect_unknown(const char *name, const ocspfx_spec_t *s, int nonce, long max_age,
                           secure_ocspeval_fail_t fail, const char *text)
{
    secure_ocspeval_out_t out;
    char why[SECURE_OCSPEVAL_WHY_MAX] = "";

    is_int(judge(s, nonce, max_age, &out, why, sizeof(why)), 0, "%s: the responder did not work", name);
    is_int(out.status, SECURE_OCSPEVAL_UNKNOWN, "%s: UNKNOWN", name);
    is_int(out.fail, fail, "%s: counted as failure %d", name, (int)fail);
    ok(strstr(why, text) != NULL, "%s: the reason says '%s' (%s)", name, text, why);
    ok(out.ossl_detail || ERR_peek_error() == 0, "%s: no OpenSSL error left behind without ossl_detail", name);
    ERR_clear_error();
}

void test_ocspeval(void)
{
    secure_ocspeval_out_t out;
    char why[SECURE_OCSPEVAL_WHY_MAX];
    ocspfx_spec_t s;
    secure_ocspeval_in_t in;
    static const unsigned char junk[] = { 0x30, 0x03, 0x0a, 0x01 };

    ocspfx_init(&fx);

    s = ocspfx_good();
    is_int(judge(&s, 1, 0, &out, why, sizeof(why)), 1, "good: the responder worked");
    is_int(out.status, SECURE_OCSPEVAL_GOOD, "good: GOOD");
    is_str(why, "responder http://ocsp.test/: good", "good: the answer in words");
    is_int(out.next_update, OCSPFX_NOW + 7 * 86400, "good: nextUpdate read");
    is_int(ERR_peek_error(), 0, "good: the error queue is empty");

    s.signer = OCSPFX_BY_DELEG;
    judge(&s, 1, 0, &out, why, sizeof(why));
    is_int(out.status, SECURE_OCSPEVAL_GOOD, "good from a delegated responder of the issuer (%s)", why);
    s.signer = OCSPFX_BY_RESP;
    judge(&s, 1, 0, &out, why, sizeof(why));
    is_int(out.status, SECURE_OCSPEVAL_GOOD, "good from a trusted responder certificate (%s)", why);
    s = ocspfx_good();
    s.nonce = OCSPFX_NONCE_NONE;
    s.next_at = -1;
    judge(&s, 0, 0, &out, why, sizeof(why));
    is_int(out.status, SECURE_OCSPEVAL_GOOD, "good without nonce and nextUpdate when the nonce is off (%s)", why);
    is_int(out.next_update, 0, "no nextUpdate: next_update 0");

    s = ocspfx_good();
    s.cert_status = V_OCSP_CERTSTATUS_REVOKED;
    s.reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
    s.revoked_at = OCSPFX_NOW - 86400;
    is_int(judge(&s, 1, 0, &out, why, sizeof(why)), 1, "revoked: the responder worked");
    is_int(out.status, SECURE_OCSPEVAL_REVOKED, "revoked: REVOKED");
    is_int(out.reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE, "revoked: reason keyCompromise");
    is_int(out.revoked_at, OCSPFX_NOW - 86400, "revoked: revocationTime");
    is_str(why, "responder http://ocsp.test/: revoked (keyCompromise)", "revoked: the answer in words");
    s.reason = -1;
    judge(&s, 1, 0, &out, why, sizeof(why));
    ok(out.status == SECURE_OCSPEVAL_REVOKED && out.reason == -1 && strstr(why, "no reason given"),
       "revoked without a reason: reason -1 (%s)", why);

    s = ocspfx_good();
    s.cert_status = V_OCSP_CERTSTATUS_UNKNOWN;
    is_int(judge(&s, 1, 0, &out, why, sizeof(why)), 1, "status unknown: the responder worked");
    is_int(out.status, SECURE_OCSPEVAL_UNKNOWN, "status unknown: UNKNOWN");
    is_str(why, "responder http://ocsp.test/ does not know this certificate", "status unknown: in words");

    s = ocspfx_good();
    s.signer = OCSPFX_BY_STRAY;
    expect_unknown("wrong signer", &s, 1, 0, SECURE_OCSPEVAL_FAIL_BAD_SIGNATURE, "is not signed by the issuer");
    s = ocspfx_good();
    s.nonce = OCSPFX_NONCE_OTHER;
    expect_unknown("nonce mismatch", &s, 1, 0, SECURE_OCSPEVAL_FAIL_BAD_NONCE, "does not match the request");
    s.nonce = OCSPFX_NONCE_NONE;
    expect_unknown("nonce missing", &s, 1, 0, SECURE_OCSPEVAL_FAIL_BAD_NONCE, "did not echo the request nonce");
    s = ocspfx_good();
    s.this_at = OCSPFX_NOW - 10 * 86400;
    s.next_at = OCSPFX_NOW - 3 * 86400;
    expect_unknown("stale", &s, 1, 0, SECURE_OCSPEVAL_FAIL_STALE, "its nextUpdate passed 259200 s ago");
    s.next_at = OCSPFX_NOW - 299;
    judge(&s, 1, 0, &out, why, sizeof(why));
    is_int(out.status, SECURE_OCSPEVAL_GOOD, "nextUpdate 299 s ago is within the skew (%s)", why);
    s = ocspfx_good();
    s.this_at = OCSPFX_NOW - 7200;
    expect_unknown("older than max_age", &s, 1, 3600, SECURE_OCSPEVAL_FAIL_STALE,
                   "its thisUpdate is 7200 s old, more than SecureOCSPMaxAge 3600 s");
    s = ocspfx_good();
    s.this_at = OCSPFX_NOW + 301;
    expect_unknown("future thisUpdate", &s, 1, 0, SECURE_OCSPEVAL_FAIL_FUTURE,
                   "its thisUpdate is 301 s from now, more than the 300 s");
    s.this_at = OCSPFX_NOW + 300;
    judge(&s, 1, 0, &out, why, sizeof(why));
    is_int(out.status, SECURE_OCSPEVAL_GOOD, "thisUpdate 300 s ahead is within the skew (%s)", why);
    s = ocspfx_good();
    s.this_at = OCSPFX_NOW - 60;
    s.next_at = OCSPFX_NOW - 120;
    expect_unknown("nextUpdate before thisUpdate", &s, 1, 0, SECURE_OCSPEVAL_FAIL_BAD_RESPONSE,
                   "its nextUpdate is before its thisUpdate");
    s = ocspfx_good();
    s.serial = 0x1002;
    expect_unknown("another certificate", &s, 1, 0, SECURE_OCSPEVAL_FAIL_BAD_RESPONSE, "no matching CertID");
    s = ocspfx_good();
    s.rstatus = OCSP_RESPONSE_STATUS_TRYLATER;
    expect_unknown("tryLater", &s, 1, 0, SECURE_OCSPEVAL_FAIL_BAD_RESPONSE,
                   "answered 'trylater' (OCSPResponseStatus 3)");

    in = (secure_ocspeval_in_t){ "http://ocsp.test/", fx.req, fx.id, fx.ca, NULL, NULL, 1, 0, 300, OCSPFX_NOW };
    is_int(secure_ocspeval_der(junk, sizeof(junk), &in, &out, why, sizeof(why)), 0, "not DER: did not work");
    ok(out.status == SECURE_OCSPEVAL_UNKNOWN && out.fail == SECURE_OCSPEVAL_FAIL_BAD_RESPONSE && out.ossl_detail
       && strstr(why, "not a DER OCSPResponse"), "not DER: UNKNOWN, bad response, OpenSSL detail (%s)", why);
    ERR_clear_error();
    s = ocspfx_good();
    s.signer = OCSPFX_BY_RESP;
    {
        size_t len;
        unsigned char *der = ocspfx_der(&fx, &s, &len);

        secure_ocspeval_der(der, len, &in, &out, why, sizeof(why));
        OPENSSL_free(der);
    }
    is_int(out.fail, SECURE_OCSPEVAL_FAIL_BAD_SIGNATURE, "a responder certificate not configured is not trusted");
    ERR_clear_error();

    ocspfx_free(&fx);
}
