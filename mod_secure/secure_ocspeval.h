/* secure_ocspeval — judges one OCSP response against the request that asked for it: pure C over OpenSSL
 * (no httpd or APR types), so the unit tests and the fuzzer call the very code the module runs. It never
 * logs and never counts: it returns the verdict, whether the responder worked (for the circuit breaker),
 * which failure counter applies, and a reason in operator words in a buffer of the caller's.
 *
 * A response counts only when it is "successful", holds a basic response signed by the issuer, a
 * delegated responder of the issuer (chain-checked against the trust store, OCSP-signing EKU) or one of
 * the extra signers the operator trusts, answers for the request's CertID, carries the request's nonce
 * (when asked), and its thisUpdate / nextUpdate are valid at `now` (with the clock skew allowed and the
 * maximum age). Anything else is UNKNOWN with worked = 0.
 *
 * OpenSSL errors: when out->ossl_detail is 1 the failure's OpenSSL errors are left on this thread's error
 * queue, for the caller to append to the reason (" (%s)") through its one error drain (the module:
 * secure_ossl_errors); otherwise the queue is left empty. */
#ifndef SECURE_OCSPEVAL_H
#define SECURE_OCSPEVAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

/* Room for a reason (longer reasons are cut). */
#define SECURE_OCSPEVAL_WHY_MAX 512

typedef enum {
    SECURE_OCSPEVAL_UNKNOWN = 0,        /* no usable answer, or the responder does not know the certificate */
    SECURE_OCSPEVAL_GOOD,
    SECURE_OCSPEVAL_REVOKED
} secure_ocspeval_status_t;

/* Which failure counter a response that did not work feeds (the module maps them to its counters). */
typedef enum {
    SECURE_OCSPEVAL_FAIL_NONE = 0,      /* it worked, or out of memory (no counter of its own) */
    SECURE_OCSPEVAL_FAIL_BAD_RESPONSE,  /* not DER, not successful, no basic response, wrong CertID, bad dates */
    SECURE_OCSPEVAL_FAIL_BAD_NONCE,
    SECURE_OCSPEVAL_FAIL_BAD_SIGNATURE,
    SECURE_OCSPEVAL_FAIL_STALE,         /* nextUpdate passed, or thisUpdate older than max_age */
    SECURE_OCSPEVAL_FAIL_FUTURE         /* thisUpdate beyond now + skew */
} secure_ocspeval_fail_t;

/* What the response is judged against. Nothing here is changed or kept. */
typedef struct secure_ocspeval_in {
    const char *responder;              /* names the responder in reasons (its URL) */
    OCSP_REQUEST *req;                  /* the request sent (its nonce) */
    OCSP_CERTID *id;                    /* the certificate asked about */
    X509 *issuer;                       /* its issuer, from the verified chain: trusted as signer as it is */
    STACK_OF(X509) *signers;            /* more signers trusted as they are (SecureOCSPResponderCert), or NULL */
    X509_STORE *trust;                  /* checks delegated responders' chains; NULL: the issuer alone */
    int nonce;                          /* 1: the response must echo the request's nonce */
    long max_age;                       /* seconds thisUpdate may lie in the past; 0 = no limit */
    long skew;                          /* seconds of clock difference allowed either way */
    int64_t now;                        /* seconds since the epoch (UTC) */
} secure_ocspeval_in_t;

typedef struct secure_ocspeval_out {
    secure_ocspeval_status_t status;
    int worked;                         /* 1: a verified, valid answer (even "unknown"); 0: the responder failed */
    secure_ocspeval_fail_t fail;        /* when worked is 0 */
    int ossl_detail;                    /* 1: append the queued OpenSSL errors to the reason */
    int reason;                         /* CRLReason when REVOKED and given, else -1 */
    int64_t revoked_at;                 /* when REVOKED: revocationTime (0 when unreadable) */
    int64_t next_update;                /* when worked: nextUpdate (0 when absent or unreadable) */
} secure_ocspeval_out_t;

/* Judges resp (not changed) against in. Fills *out and writes the reason into why (whylen bytes, cut to
 * fit): for GOOD / REVOKED the answer ("responder URL: good"), else why it is UNKNOWN. Returns
 * out->worked. */
int secure_ocspeval_response(OCSP_RESPONSE *resp, const secure_ocspeval_in_t *in, secure_ocspeval_out_t *out,
                             char *why, size_t whylen);

/* The same for the DER bytes of a response (len bytes; one OCSPResponse, trailing bytes ignored as
 * d2i_OCSP_RESPONSE_bio does): bytes that do not decode are UNKNOWN, FAIL_BAD_RESPONSE, with ossl_detail. */
int secure_ocspeval_der(const unsigned char *der, size_t len, const secure_ocspeval_in_t *in,
                        secure_ocspeval_out_t *out, char *why, size_t whylen);

#endif /* SECURE_OCSPEVAL_H */
