/* Certificates for the unit tests, built in memory. */
#ifndef X509_FIXTURES_H
#define X509_FIXTURES_H

#include <openssl/x509.h>

/* An unsigned v3 certificate: serial, subject CN cn, issuer CN issuer_cn (NULL: cn, self-issued), public key
 * key, valid from now + from_secs to now + to_secs. The caller adds extensions and signs it. */
X509 *unit_cert_tbs(long serial, const char *cn, const char *issuer_cn, EVP_PKEY *key, long from_secs,
                    long to_secs);

#endif
