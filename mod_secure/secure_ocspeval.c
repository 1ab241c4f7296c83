/* secure_ocspeval — the judgement of one OCSP response (see secure_ocspeval.h). The time checks are done
 * here against the caller's `now` (OCSP_check_validity would read the system clock), with the same rules:
 * thisUpdate at most skew in the future and, with a maximum age, at most max_age in the past; nextUpdate,
 * when present, at most skew in the past and not before thisUpdate. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "secure_crlcore.h"
#include "secure_ocspeval.h"

/* Writes a reason into why (cut to fit). */
static void say(char *why, size_t whylen, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void say(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* Seconds from now to t (negative in the past); 0 when t is absent or cannot be read. */
static long seconds_from(const ASN1_GENERALIZEDTIME *t, int64_t now)
{
    int64_t at;

    if (t == NULL || secure_crlcore_time(t, &at) != 0)
        return 0;
    at -= now;
    return at > LONG_MAX ? LONG_MAX : at < LONG_MIN ? LONG_MIN : (long)at;
}

/* 1 and *at when t is a well-formed GeneralizedTime, else 0. */
static int read_time(const ASN1_GENERALIZEDTIME *t, int64_t *at)
{
    int ok = ASN1_GENERALIZEDTIME_check(t) && secure_crlcore_time(t, at) == 0;

    ERR_clear_error();  /* a malformed time is reported in our words */
    return ok;
}

/* The validity period at in->now: 1 when thisUpdate / nextUpdate are acceptable; else 0 with the reason
 * and its counter (an operator fixes a clock for a future thisUpdate, the responder for an expired
 * nextUpdate, so the first of these that applies is named). */
static int validity_ok(const ASN1_GENERALIZEDTIME *thisupd, const ASN1_GENERALIZEDTIME *nextupd,
                       const secure_ocspeval_in_t *in, secure_ocspeval_out_t *out, char *why, size_t whylen)
{
    int64_t this_at = 0, next_at = 0;
    int this_ok = read_time(thisupd, &this_at), next_ok = nextupd == NULL || read_time(nextupd, &next_at);
    int future = this_ok && this_at > in->now + in->skew;
    int too_old = this_ok && in->max_age > 0 && this_at < in->now - in->max_age;
    int expired = nextupd != NULL && next_ok && next_at < in->now - in->skew;
    int backwards = nextupd != NULL && this_ok && next_ok && next_at < this_at;

    if (this_ok && next_ok && !future && !too_old && !expired && !backwards)
        return 1;
    out->fail = SECURE_OCSPEVAL_FAIL_STALE;
    if (future) {
        out->fail = SECURE_OCSPEVAL_FAIL_FUTURE;
        say(why, whylen, "response from %s is dated in the future: its thisUpdate is %ld s from now, more than "
            "the %ld s of clock skew allowed (check the responder's clock and ours)", in->responder,
            seconds_from(thisupd, in->now), in->skew);
    } else if (expired) {
        say(why, whylen, "response from %s has expired: its nextUpdate passed %ld s ago (%ld s of clock skew "
            "allowed); the responder serves outdated responses", in->responder, -seconds_from(nextupd, in->now),
            in->skew);
    } else if (too_old) {
        say(why, whylen, "response from %s is not fresh: its thisUpdate is %ld s old, more than SecureOCSPMaxAge "
            "%ld s", in->responder, -seconds_from(thisupd, in->now), in->max_age);
    } else {
        out->fail = SECURE_OCSPEVAL_FAIL_BAD_RESPONSE;
        say(why, whylen, "response from %s has an invalid validity period: thisUpdate %ld s, nextUpdate %s%ld s "
            "from now (%s)", in->responder, seconds_from(thisupd, in->now), nextupd ? "" : "absent, ",
            seconds_from(nextupd, in->now),
            !this_ok ? "its thisUpdate is not a valid GeneralizedTime"
                     : !next_ok ? "its nextUpdate is not a valid GeneralizedTime"
                                : "its nextUpdate is before its thisUpdate");
    }
    return 0;
}

int secure_ocspeval_response(OCSP_RESPONSE *resp, const secure_ocspeval_in_t *in, secure_ocspeval_out_t *out,
                             char *why, size_t whylen)
{
    OCSP_BASICRESP *bs = NULL;
    STACK_OF(X509) *certs = NULL;
    X509_STORE *own_store = NULL, *trust = in->trust;
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    int rstatus, status = -1, reason = -1, nonce, i;
    int64_t at;

    out->status = SECURE_OCSPEVAL_UNKNOWN;
    out->worked = 0;
    out->fail = SECURE_OCSPEVAL_FAIL_BAD_RESPONSE;
    out->ossl_detail = 0;
    out->reason = -1;
    out->revoked_at = 0;
    out->next_update = 0;
    ERR_clear_error();  /* only this response's errors may reach the reason */

    rstatus = OCSP_response_status(resp);
    if (rstatus != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        say(why, whylen, "responder %s answered '%s' (OCSPResponseStatus %d)", in->responder,
            OCSP_response_status_str(rstatus), rstatus);
        goto cleanup;
    }
    if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
        say(why, whylen, "responder %s sent no basic OCSP response", in->responder);
        out->ossl_detail = 1;
        goto cleanup;
    }
    if (in->nonce) {
        /* 1: ours came back. -1: the responder ignored it, 0: a different one, 3: one we never sent */
        nonce = OCSP_check_nonce(in->req, bs);
        if (nonce != 1) {
            say(why, whylen, "responder %s %s", in->responder,
                nonce == -1 ? "did not echo the request nonce (set SecureOCSPNonce off for responders that "
                              "pre-sign responses)"
                            : "answered with a nonce that does not match the request (replayed or mixed-up "
                              "response)");
            out->fail = SECURE_OCSPEVAL_FAIL_BAD_NONCE;
            goto cleanup;
        }
    }
    /* Candidate signers found in `certs` are trusted as they are (OCSP_TRUSTOTHER), so `certs` holds only
     * certificates the caller trusts: the issuer (from the verified chain or the trust store, its key
     * signed the certificate) and the operator's extra signers; never a certificate the client sent. A
     * delegated responder included in the response is chain-checked against the trust store and must be
     * issued by that issuer with the OCSP-signing EKU (OpenSSL's own checks in OCSP_basic_verify). */
    if ((certs = sk_X509_new_null()) == NULL || !sk_X509_push(certs, in->issuer))
        goto nomem;
    for (i = 0; in->signers != NULL && i < sk_X509_num(in->signers); i++)
        if (!sk_X509_push(certs, sk_X509_value(in->signers, i)))
            goto nomem;
    if (trust == NULL) {
        if ((own_store = X509_STORE_new()) == NULL || !X509_STORE_add_cert(own_store, in->issuer))
            goto nomem;
        trust = own_store;
    }
    if (OCSP_basic_verify(bs, certs, trust, OCSP_TRUSTOTHER) <= 0) {
        say(why, whylen, "response from %s is not signed by the issuer, a delegated responder of the issuer or a "
            "SecureOCSPResponderCert", in->responder);
        out->fail = SECURE_OCSPEVAL_FAIL_BAD_SIGNATURE;
        out->ossl_detail = 1;
        goto cleanup;
    }
    if (!OCSP_resp_find_status(bs, in->id, &status, &reason, &rev, &thisupd, &nextupd)) {
        say(why, whylen, "response from %s does not cover this certificate (no matching CertID)", in->responder);
        goto cleanup;
    }
    ERR_clear_error();  /* left over from OCSP_resp_find_status, which succeeded */
    if (!validity_ok(thisupd, nextupd, in, out, why, whylen))
        goto cleanup;
    out->worked = 1;
    out->fail = SECURE_OCSPEVAL_FAIL_NONE;
    if (nextupd != NULL && secure_crlcore_time(nextupd, &at) == 0)
        out->next_update = at;
    switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
        out->status = SECURE_OCSPEVAL_GOOD;
        say(why, whylen, "responder %s: good", in->responder);
        break;
    case V_OCSP_CERTSTATUS_REVOKED:
        out->status = SECURE_OCSPEVAL_REVOKED;
        out->reason = reason >= 0 ? reason : -1;
        if (rev != NULL && secure_crlcore_time(rev, &at) == 0)
            out->revoked_at = at;
        say(why, whylen, "responder %s: revoked (%s)", in->responder,
            reason >= 0 ? secure_crlcore_reason_name(reason) : "no reason given");
        break;
    default:
        out->status = SECURE_OCSPEVAL_UNKNOWN;
        say(why, whylen, "responder %s does not know this certificate", in->responder);
        break;
    }
    goto cleanup;
nomem:
    out->fail = SECURE_OCSPEVAL_FAIL_NONE;
    out->ossl_detail = 0;
    say(why, whylen, "out of memory while checking the OCSP response");
cleanup:
    sk_X509_free(certs);    /* the certificates belong to the caller */
    X509_STORE_free(own_store);
    OCSP_BASICRESP_free(bs);
    if (!out->ossl_detail)
        ERR_clear_error();
    return out->worked;
}

int secure_ocspeval_der(const unsigned char *der, size_t len, const secure_ocspeval_in_t *in,
                        secure_ocspeval_out_t *out, char *why, size_t whylen)
{
    const unsigned char *q = der;
    OCSP_RESPONSE *resp;
    int worked;

    ERR_clear_error();
    if (len > LONG_MAX || (resp = d2i_OCSP_RESPONSE(NULL, &q, (long)len)) == NULL) {
        out->status = SECURE_OCSPEVAL_UNKNOWN;
        out->worked = 0;
        out->fail = SECURE_OCSPEVAL_FAIL_BAD_RESPONSE;
        out->ossl_detail = 1;
        out->reason = -1;
        out->revoked_at = 0;
        out->next_update = 0;
        say(why, whylen, "responder %s sent bytes that are not a DER OCSPResponse", in->responder);
        return 0;
    }
    worked = secure_ocspeval_response(resp, in, out, why, whylen);
    OCSP_RESPONSE_free(resp);
    return worked;
}
