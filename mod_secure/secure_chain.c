/* secure_chain — the client certificate's verified chain at request time (see the header). */
#include "httpd.h"
#include "apr_strings.h"

#include <openssl/x509.h>

#include <string.h>

#include "secure_chain.h"
#include "secure_ossl.h"

/* What starts mod_secure's appdata in a session: anything else there belongs to someone else. */
static const unsigned char carry_magic[4] = { 'M', 'S', 'C', '1' };

int secure_chain_carry(SSL *ssl, X509_STORE_CTX *xctx, const char **why, apr_pool_t *p)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xctx);
    SSL_SESSION *sess = SSL_get_session(ssl);
    unsigned char buf[SECURE_CHAIN_CARRY_BYTES], *w;
    void *old = NULL;
    size_t used = sizeof(carry_magic), old_len = 0;
    int n = chain != NULL ? sk_X509_num(chain) : 0, i, len;

    /* leaf + anchor: the anchor is in the trust store, where a new verification finds it again */
    *why = NULL;
    if (n < 3)
        return 1;
    if (sess == NULL) {
        *why = "the connection has no TLS session";
        return 0;
    }
    if (n - 2 > SECURE_CHAIN_CARRY_CERTS) {
        *why = apr_psprintf(p, "%d intermediates, more than the %d stored", n - 2, SECURE_CHAIN_CARRY_CERTS);
        return 0;
    }
    if (SSL_SESSION_get0_ticket_appdata(sess, &old, &old_len) && old_len > 0
        && (old_len < sizeof(carry_magic) || memcmp(old, carry_magic, sizeof(carry_magic)) != 0)) {
        *why = "the session's application data belongs to another module";
        return 0;
    }
    memcpy(buf, carry_magic, sizeof(carry_magic));
    for (i = 1; i < n - 1; i++) {
        X509 *x = sk_X509_value(chain, i);
        if ((len = i2d_X509(x, NULL)) <= 0) {
            *why = apr_psprintf(p, "intermediate %d does not encode (%s)", i, secure_ossl_errors(p));
            return 0;
        }
        if ((size_t)len > sizeof(buf) - used) {
            *why = apr_psprintf(p, "more than the %d bytes stored", SECURE_CHAIN_CARRY_BYTES);
            return 0;
        }
        w = buf + used;
        if (i2d_X509(x, &w) != len) {
            *why = apr_psprintf(p, "intermediate %d does not encode (%s)", i, secure_ossl_errors(p));
            return 0;
        }
        used += (size_t)len;
    }
    if (!SSL_SESSION_set1_ticket_appdata(sess, buf, used)) {
        *why = apr_psprintf(p, "OpenSSL cannot store them in the session (%s)", secure_ossl_errors(p));
        return 0;
    }
    return 1;
}

/* The intermediates the session carries (NULL when none); *bad set when they do not decode. */
static STACK_OF(X509) *carried(SSL *ssl, const char **bad, apr_pool_t *p)
{
    SSL_SESSION *sess = SSL_get_session(ssl);
    void *data = NULL;
    size_t len = 0;
    const unsigned char *q, *end;
    STACK_OF(X509) *sk = NULL;
    int count = 0;

    if (sess == NULL || !SSL_SESSION_get0_ticket_appdata(sess, &data, &len) || data == NULL || len == 0)
        return NULL;
    if (len < sizeof(carry_magic) || memcmp(data, carry_magic, sizeof(carry_magic)) != 0)
        return NULL;            /* another application's appdata: not ours to read */
    if (len > SECURE_CHAIN_CARRY_BYTES || (sk = sk_X509_new_null()) == NULL) {
        *bad = len > SECURE_CHAIN_CARRY_BYTES ? apr_psprintf(p, "%lu bytes, more than mod_secure stores",
                                                             (unsigned long)len)
                                              : "out of memory";
        return NULL;
    }
    q = (const unsigned char *)data + sizeof(carry_magic);
    end = (const unsigned char *)data + len;
    while (q < end) {
        X509 *x;
        if (++count > SECURE_CHAIN_CARRY_CERTS || (x = d2i_X509(NULL, &q, (long)(end - q))) == NULL) {
            *bad = count > SECURE_CHAIN_CARRY_CERTS
                   ? "more certificates than mod_secure stores"
                   : apr_psprintf(p, "certificate %d does not decode: %s", count, secure_ossl_errors(p));
            sk_X509_pop_free(sk, X509_free);
            return NULL;
        }
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            *bad = "out of memory";
            sk_X509_pop_free(sk, X509_free);
            return NULL;
        }
    }
    return sk;
}

STACK_OF(X509) *secure_chain_verified(SSL *ssl, X509 *leaf, const char **why, const char **bad_carried,
                                      apr_pool_t *p)
{
    STACK_OF(X509) *vc = SSL_get0_verified_chain(ssl), *helpers = NULL, *out = NULL;
    X509_STORE *trust;
    X509_STORE_CTX *xs = NULL;
    X509_VERIFY_PARAM *param;
    int err;

    *why = NULL;
    *bad_carried = NULL;
    /* The chain this connection built and verified for this very certificate (full handshake,
     * renegotiation, post-handshake authentication). Under optional_no_ca a failed verification still
     * leaves a chain behind: only a clean result counts. */
    if (vc != NULL && sk_X509_num(vc) > 0 && X509_cmp(sk_X509_value(vc, 0), leaf) == 0
        && SSL_get_verify_result(ssl) == X509_V_OK) {
        if ((out = X509_chain_up_ref(vc)) == NULL)
            *why = "out of memory";
        return out;
    }
    /* Verify again (a resumed session, or a certificate this connection did not verify cleanly): the
     * trusted CAs of the context that ran the handshake, OpenSSL's own rules for a client certificate and
     * the connection's verify parameters, and as untrusted helpers only what the session carried from a
     * handshake that verified. */
    if ((trust = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl))) == NULL) {
        *why = "the vhost has no trust store";
        return NULL;
    }
    helpers = carried(ssl, bad_carried, p);
    if ((xs = X509_STORE_CTX_new()) == NULL || !X509_STORE_CTX_init(xs, trust, leaf, helpers)
        || !X509_STORE_CTX_set_default(xs, "ssl_client")) {
        *why = apr_psprintf(p, "cannot set up a certificate verification (%s)", secure_ossl_errors(p));
        goto cleanup;
    }
    param = X509_STORE_CTX_get0_param(xs);
    X509_VERIFY_PARAM_set_auth_level(param, SSL_get_security_level(ssl));
    if (!X509_VERIFY_PARAM_set1(param, SSL_get0_param(ssl))) {
        *why = apr_psprintf(p, "cannot copy the connection's verify parameters (%s)", secure_ossl_errors(p));
        goto cleanup;
    }
    if (X509_verify_cert(xs) != 1) {
        err = X509_STORE_CTX_get_error(xs);
        *why = apr_psprintf(p, "it does not verify against the vhost's trusted CAs now (%s at depth %d%s)",
                            X509_verify_cert_error_string(err), X509_STORE_CTX_get_error_depth(xs),
                            helpers != NULL ? ", with the intermediates its session carried"
                                            : ", and its session carried no intermediates");
        goto cleanup;
    }
    if ((out = X509_STORE_CTX_get1_chain(xs)) == NULL)
        *why = "out of memory";

cleanup:
    /* a failure above took the errors into *why; X509_verify_cert reports through the context, not the queue */
    secure_ossl_discard("every failure above is in *why");
    X509_STORE_CTX_free(xs);
    sk_X509_pop_free(helpers, X509_free);
    return out;
}
