/* secure_ossl — OpenSSL facts as text for log lines and variables, in APR pools (no httpd types): the
 * error queue (the one place that drains it), names, serials, times, CRL reasons. A leaf: it includes
 * only secure_util, and every concern may use it. Strings returned are in the pool p passed in, or
 * static when a comment says so. */
#ifndef SECURE_OSSL_H
#define SECURE_OSSL_H

#include "apr_pools.h"
#include "apr_time.h"

#include <openssl/asn1.h>
#include <openssl/x509.h>

/* ---- the error queue ---------------------------------------------------------------------------------- */

/* Drains this thread's OpenSSL error queue (ERR_get_error_all) into one text: each error as OpenSSL's
 * string followed by its data in parentheses when it has some (ERR_TXT_STRING: "code=404", a file name,
 * ...), joined by "; ". "" when the queue was empty. Put it into the refusal's log line or `why`. */
const char *secure_ossl_errors(apr_pool_t *p);

/* The same, calling seen(baton, code, data) for each error first (data: its text, or NULL), for callers
 * that classify the failure by the reasons OpenSSL raised (a redirection, a stale OCSP response). */
typedef void secure_ossl_seen_fn(void *baton, unsigned long code, const char *data);
const char *secure_ossl_errors_seen(apr_pool_t *p, secure_ossl_seen_fn *seen, void *baton);

/* Drains the queue for a failure that is expected and harmless, or whose consequence the caller reports in
 * its own words; why says which (a literal: "PEM read loop ends with no start line"). The errors are
 * dropped, so that they are not blamed on the next OpenSSL call of this thread. */
void secure_ossl_discard(const char *why);

/* ---- certificate facts ------------------------------------------------------------------------------ */

/* A DN in RFC 2253 form as OpenSSL prints it with XN_FLAG_RFC2253 (non-ASCII bytes as \XX), for logs;
 * "(unprintable name)" when OpenSSL cannot print it. (Variables use secure_name_rfc2253, UTF-8 kept.) */
const char *secure_ossl_dn(const X509_NAME *name, apr_pool_t *p);
/* The serial number in upper-case hex (BN_bn2hex: "-" for a negative one, "0" for zero), or NULL when it
 * cannot be converted (out of memory). */
const char *secure_ossl_serial(const X509 *x, apr_pool_t *p);

/* ---- times and reasons ------------------------------------------------------------------------------ */

/* An instant as ISO 8601 UTC, "2025-01-31T12:00:00Z", written into buf (len bytes, cut to fit;
 * SECURE_OSSL_ISO_LEN holds every year up to 9999); "?" when APR cannot break it down. Returns buf. No pool:
 * a connection's verdict memo is filled under its lock, where no pool may be used. */
#define SECURE_OSSL_ISO_LEN 24
char *secure_ossl_iso_time(apr_time_t t, char *buf, size_t len);
/* An ASN1_TIME (UTCTime or GeneralizedTime) in the same form, and its instant in *out (may be NULL; left
 * alone when the year is out of APR's range); NULL when OpenSSL cannot read the time. */
const char *secure_ossl_asn1_iso(const ASN1_TIME *t, apr_time_t *out, apr_pool_t *p);

#endif /* SECURE_OSSL_H */
