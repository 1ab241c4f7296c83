/* secure_chain — the client certificate's verified chain for the request-time revocation re-check.
 * Issuers (hence OCSP signers and CRL keys) come only from a chain that verified against the vhost's
 * trusted CAs, never from what the client sent: the chain this connection verified, else a new
 * X509_verify_cert of the leaf. A resumed session has no chain (OpenSSL keeps only the leaf in a session),
 * so the handshake stores the chain's intermediates in the session itself (its ticket appdata, which
 * OpenSSL serialises with the session: mod_ssl's session cache and session tickets carry it to every
 * process); the new verification takes them as untrusted helpers only. */
#ifndef SECURE_CHAIN_H
#define SECURE_CHAIN_H

#include "httpd.h"
#include <openssl/ssl.h>

/* Most intermediates, and bytes of them, carried in one session (mod_ssl refuses to cache sessions whose
 * encoding exceeds 10 KB; the leaf is in there too). */
#define SECURE_CHAIN_CARRY_CERTS 4
#define SECURE_CHAIN_CARRY_BYTES 6144

/* Verify wrapper at depth 0 of a chain that verified: stores the intermediates of xctx's chain (between
 * the leaf and the trust anchor) in ssl's session. 1 when stored or when there are none, 0 when they
 * could not be, with *why (static or from p): more than the limits above, no session, the session's
 * appdata taken by someone else, an OpenSSL failure (its errors). */
int secure_chain_carry(SSL *ssl, X509_STORE_CTX *xctx, const char **why, apr_pool_t *p);

/* The verified chain of leaf, the connection's current client certificate, leaf first: a new stack of new
 * references (free with sk_X509_pop_free), or NULL with *why in operator words. *bad_carried is set (from
 * p) when the session carried intermediates that do not decode (a damaged session cache entry); the
 * verification then goes on without them. */
STACK_OF(X509) *secure_chain_verified(SSL *ssl, X509 *leaf, const char **why, const char **bad_carried,
                                      apr_pool_t *p);

#endif /* SECURE_CHAIN_H */
