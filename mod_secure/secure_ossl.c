/* secure_ossl — OpenSSL facts as text, in APR pools (see the header). */
#include "secure_ossl.h"

#include "apr_strings.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "secure_util.h"

/* ---- the error queue ---------------------------------------------------------------------------------- */

/* The one loop that empties the queue: every error is taken off it, and, with a pool, appended to the
 * text. */
static const char *drain(apr_pool_t *p, secure_ossl_seen_fn *seen, void *baton)
{
    const char *out = "", *data = NULL;
    char buf[256];
    unsigned long e;
    int flags = 0;

    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        int has_data = (flags & ERR_TXT_STRING) && data != NULL && *data != '\0';
        if (seen != NULL)
            seen(baton, e, has_data ? data : NULL);
        if (p == NULL)
            continue;
        ERR_error_string_n(e, buf, sizeof(buf));
        out = apr_pstrcat(p, out, *out ? "; " : "", buf, has_data ? " (" : "", has_data ? data : "",
                          has_data ? ")" : "", NULL);
    }
    return out;
}

const char *secure_ossl_errors(apr_pool_t *p)
{
    return drain(p, NULL, NULL);
}

const char *secure_ossl_errors_seen(apr_pool_t *p, secure_ossl_seen_fn *seen, void *baton)
{
    return drain(p, seen, baton);
}

void secure_ossl_discard(const char *why)
{
    (void)why;          /* the caller's statement of why dropping is right; it names the call site */
    drain(NULL, NULL, NULL);
}

/* ---- certificate facts ------------------------------------------------------------------------------ */

/* The helpers below report failure in their result; what OpenSSL queued meanwhile is dropped (and only
 * that: ERR_set_mark / ERR_pop_to_mark), so errors queued before the call stay for the caller's report. */

const char *secure_ossl_dn(const X509_NAME *name, apr_pool_t *p)
{
    char *s = name != NULL ? secure_name_print(name, XN_FLAG_RFC2253) : NULL;
    const char *out = s != NULL ? apr_pstrdup(p, s) : "(unprintable name)";

    free(s);
    return out;
}

const char *secure_ossl_serial(const X509 *x, apr_pool_t *p)
{
    BIGNUM *bn;
    char *hex;
    const char *out;

    ERR_set_mark();     /* out of memory: the caller prints the serial as unknown */
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    out = hex != NULL ? apr_pstrdup(p, hex) : NULL;
    ERR_pop_to_mark();
    OPENSSL_free(hex);
    BN_free(bn);
    return out;
}

/* ---- times and reasons ------------------------------------------------------------------------------ */

static void iso_of(char *buf, size_t len, int year, int mon, int mday, int hour, int min, int sec)
{
    apr_snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, mon, mday, hour, min, sec);
}

char *secure_ossl_iso_time(apr_time_t t, char *buf, size_t len)
{
    apr_time_exp_t xt;

    if (apr_time_exp_gmt(&xt, t) != APR_SUCCESS)
        apr_cpystrn(buf, "?", len);
    else
        iso_of(buf, len, xt.tm_year + 1900, xt.tm_mon + 1, xt.tm_mday, xt.tm_hour, xt.tm_min, xt.tm_sec);
    return buf;
}

const char *secure_ossl_asn1_iso(const ASN1_TIME *t, apr_time_t *out, apr_pool_t *p)
{
    struct tm tm;
    apr_time_exp_t xt;
    apr_time_t at;
    char buf[32];
    int ok;

    ERR_set_mark();     /* an unreadable time: the caller reports it as absent */
    ok = t != NULL && ASN1_TIME_to_tm(t, &tm);
    ERR_pop_to_mark();
    if (!ok)
        return NULL;
    if (out != NULL) {
        memset(&xt, 0, sizeof(xt));
        xt.tm_year = tm.tm_year;
        xt.tm_mon = tm.tm_mon;
        xt.tm_mday = tm.tm_mday;
        xt.tm_hour = tm.tm_hour;
        xt.tm_min = tm.tm_min;
        xt.tm_sec = tm.tm_sec;
        if (apr_time_exp_gmt_get(&at, &xt) == APR_SUCCESS)
            *out = at;
    }
    iso_of(buf, sizeof(buf), tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return apr_pstrdup(p, buf);
}

