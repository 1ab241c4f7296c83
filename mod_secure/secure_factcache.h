/* secure_factcache — texts mod_secure derives from what a client sends, kept per worker thread for the
 * last few distinct senders, so a client that makes one full handshake after another does not pay for
 * them again (issue 11):
 *   - a client certificate's SHA-256 (the revocation check's identity) and its SECURE_CLIENT_* texts
 *     (DNs, serial, SPKI pin, dates, key), found by the certificate itself;
 *   - a ClientHello's fingerprints (JA3, JA4 and their variants, offered versions, ALPN, groups), found by
 *     the exact bytes of everything the fingerprints are computed from (secure_hello_fact_key).
 *
 * Identity is exact. A certificate entry answers for a certificate only when it is the same object, or
 * when OpenSSL's X509_cmp finds it equal (its SHA-1 of the whole DER and the TBS bytes) and the outer
 * signature algorithm and signature bits are equal too: the same DER, hence the same facts. A hello entry
 * answers only for a key of the same length and bytes. Nothing is shared between threads, so nothing is
 * locked; certificate entries hold a reference to their certificate; everything is freed when the thread
 * ends. A value pointer is valid until this thread's next call into this file: copy it at once. */
#ifndef SECURE_FACTCACHE_H
#define SECURE_FACTCACHE_H

#include <stddef.h>
#include <openssl/x509.h>

#define SECURE_FACTCACHE_ENTRIES 8       /* per thread and kind (certificates, hellos) */
#define SECURE_FACTCACHE_VALUES 48       /* value slots per entry (indexed by the caller's variable table) */
#define SECURE_FACTCACHE_MAX_BYTES 16384 /* texts kept per entry (beyond it a value is not kept): a
                                          * thread holds at most 16 entries of it and 8 certificates */
#define SECURE_FACTCACHE_KEY_MAX 4096    /* longest hello key kept (a longer one is simply not cached) */

/* The SHA-256 of x's DER into out: from this thread's cache, or computed (and remembered). 0 on success,
 * -1 when OpenSSL cannot hash it (the error stays on OpenSSL's queue). */
int secure_factcache_sha256(X509 *x, unsigned char out[32]);

/* Value slot i (< SECURE_FACTCACHE_VALUES) remembered for certificate x: 1 and *val (NULL for "no value")
 * when known, 0 when not (or when x has no entry on this thread). */
int secure_factcache_get(X509 *x, size_t i, const char **val);

/* Remembers value slot i for x (val NULL: "no value"); the text is copied. Keeps nothing when out of
 * memory or over SECURE_FACTCACHE_MAX_BYTES. */
void secure_factcache_put(X509 *x, size_t i, const char *val);

/* The same for the hello whose fingerprint inputs are key[0..len) (at most SECURE_FACTCACHE_KEY_MAX). */
int secure_factcache_hello_get(const void *key, size_t len, size_t i, const char **val);
void secure_factcache_hello_put(const void *key, size_t len, size_t i, const char *val);

/* This thread's lookups that found an entry and that did not, since it started (tests and benches). */
void secure_factcache_stats(unsigned long *hits, unsigned long *misses);

/* Drops this thread's entries (tests). */
void secure_factcache_clear(void);

#endif
