/* secure_util — small pure helpers shared by the module, the unit tests and the fuzzers (see the header). */
#define _POSIX_C_SOURCE 200809L     /* inet_ntop */
#include "secure_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>

int secure_parse_long(const char *s, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int secure_parse_seconds(const char *s, long *out)
{
    char *end;
    long v, mult = 1;

    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0)
        return -1;
    if (*end != '\0') {
        switch (*end) {
        case 's': mult = 1; break;
        case 'm': mult = 60; break;
        case 'h': mult = 3600; break;
        case 'd': mult = 86400; break;
        default: return -1;
        }
        if (end[1] != '\0')
            return -1;
    }
    if (v > LONG_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

char *secure_hex_lower(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
    return out;
}

int secure_self_signed(X509 *x)
{
    int rc;

    ERR_set_mark();
    rc = X509_self_signed(x, 0);
    ERR_pop_to_mark();
    return rc == 1;
}

/* ---- certificate data as text ---------------------------------------------------------------------------- */

static const char hex_upper[] = "0123456789ABCDEF";

size_t secure_utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len, i;

    if (n == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    if (p[0] < 0xc2)                    /* a continuation byte, or an overlong 2-byte form */
        return 0;
    if (p[0] < 0xe0)
        len = 2;
    else if (p[0] < 0xf0) {
        len = 3;
        if (p[0] == 0xe0)
            lo = 0xa0;                  /* overlong */
        else if (p[0] == 0xed)
            hi = 0x9f;                  /* UTF-16 surrogates */
    }
    else if (p[0] < 0xf5) {
        len = 4;
        if (p[0] == 0xf0)
            lo = 0x90;                  /* overlong */
        else if (p[0] == 0xf4)
            hi = 0x8f;                  /* above U+10FFFF */
    }
    else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

/* A copy of what OpenSSL printed (escapes done, UTF-8 kept) in which every byte that is not part of valid
 * UTF-8 becomes \XX, so the result is valid UTF-8 whatever the certificate held. */
static char *utf8_or_escaped(const unsigned char *in, size_t len)
{
    char *out = malloc(3 * len + 1), *o = out;
    size_t i = 0, k;

    if (out == NULL)
        return NULL;
    while (i < len) {
        if ((k = secure_utf8_seq_len(in + i, len - i)) > 0) {
            memcpy(o, in + i, k);
            o += k;
            i += k;
            continue;
        }
        *o++ = '\\';
        *o++ = hex_upper[in[i] >> 4];
        *o++ = hex_upper[in[i] & 0x0f];
        i++;
    }
    *o = '\0';
    return out;
}

static char *bio_text(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);

    return utf8_or_escaped((const unsigned char *)(data ? data : ""), n > 0 ? (size_t)n : 0);
}

/* The printers below report failure by returning NULL; what OpenSSL queued meanwhile is dropped (and only
 * that: errors queued before the call stay for the caller's own report). */
char *secure_name_print(const X509_NAME *name, unsigned long flags)
{
    BIO *b;
    char *out = NULL;

    ERR_set_mark();
    if ((b = BIO_new(BIO_s_mem())) != NULL && X509_NAME_print_ex(b, name, 0, flags) >= 0)
        out = bio_text(b);
    BIO_free(b);
    ERR_pop_to_mark();
    return out;
}

static char *string_print(const ASN1_STRING *s, unsigned long flags)
{
    BIO *b;
    char *out = NULL;

    ERR_set_mark();
    if ((b = BIO_new(BIO_s_mem())) != NULL && ASN1_STRING_print_ex(b, s, flags) >= 0)
        out = bio_text(b);
    BIO_free(b);
    ERR_pop_to_mark();
    return out;
}

/* RFC 2253 with the UTF-8 kept (ESC_MSB off): what mod_ssl uses for SSL_CLIENT_S_DN. */
#define DN_FLAGS (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)
#define DN_VALUE_FLAGS (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)
#define DUMP_FLAGS (ASN1_STRFLGS_DUMP_ALL | ASN1_STRFLGS_DUMP_DER)

char *secure_name_rfc2253(const X509_NAME *name)
{
    char *out;

    if (name == NULL)
        return NULL;
    /* not printable as text (a string invalid in its declared encoding): every value as #hex instead */
    if ((out = secure_name_print(name, DN_FLAGS)) == NULL)
        out = secure_name_print(name, DN_FLAGS | DUMP_FLAGS);
    return out;
}

char *secure_dn_value(const ASN1_STRING *value)
{
    char *out;

    if (value == NULL)
        return NULL;
    if ((out = string_print(value, DN_VALUE_FLAGS)) == NULL)
        out = string_print(value, DN_VALUE_FLAGS | DUMP_FLAGS);
    return out;
}

static char *ip_text(const ASN1_OCTET_STRING *ip)
{
    const unsigned char *d = ASN1_STRING_get0_data(ip);
    int len = ASN1_STRING_length(ip);
    char *out;
    int i;

    if (d != NULL && (len == 4 || len == 16)) {
        if ((out = malloc(INET6_ADDRSTRLEN)) == NULL)
            return NULL;
        if (inet_ntop(len == 4 ? AF_INET : AF_INET6, d, out, INET6_ADDRSTRLEN) != NULL)
            return out;
        free(out);
    }
    if (len < 0 || (out = malloc(2 * (size_t)len + 2)) == NULL)
        return NULL;
    out[0] = '#';
    for (i = 0; i < len; i++) {
        out[1 + 2 * i] = hex_upper[d[i] >> 4];
        out[2 + 2 * i] = hex_upper[d[i] & 0x0f];
    }
    out[1 + 2 * len] = '\0';
    return out;
}

char *secure_san_value(const GENERAL_NAME *gn)
{
    if (gn == NULL)
        return NULL;
    switch (gn->type) {
    case GEN_DNS:
    case GEN_EMAIL:
    case GEN_URI:
        return string_print(gn->d.ia5, ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_ESC_MSB);
    case GEN_IPADD:
        return ip_text(gn->d.ip);
    default:
        return NULL;
    }
}

char *secure_escape_ascii(const char *in, size_t len)
{
    char *out = malloc(3 * len + 1), *o = out;
    size_t i;

    if (out == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\\') {
            *o++ = '\\';
            *o++ = '\\';
        }
        else if (c < 0x20 || c >= 0x7f) {
            *o++ = '\\';
            *o++ = hex_upper[c >> 4];
            *o++ = hex_upper[c & 0x0f];
        }
        else
            *o++ = (char)c;
    }
    *o = '\0';
    return out;
}

char *secure_list_join(const char *const *items, size_t n)
{
    size_t i, size = 1;
    const char *s;
    char *out, *o;

    for (i = 0; i < n; i++) {
        size += strlen(items[i]) + (i > 0);
        for (s = items[i]; (s = strchr(s, ',')) != NULL; s++)
            size++;
    }
    if ((out = o = malloc(size)) == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        if (i > 0)
            *o++ = ',';
        for (s = items[i]; *s; s++) {
            if (*s == ',')
                *o++ = '\\';
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

/* ---- JSON ------------------------------------------------------------------------------------------------ */

size_t secure_json_string(const char *in, size_t len, char *out)
{
    const unsigned char *p = (const unsigned char *)in;
    char *o = out;
    size_t i = 0, k;

    *o++ = '"';
    while (i < len) {
        unsigned char c = p[i];
        unsigned cp;
        if ((k = secure_utf8_seq_len(p + i, len - i)) == 0) {
            memcpy(o, "\\ufffd", 6);             /* not UTF-8: the replacement character */
            o += 6;
            i++;
            continue;
        }
        cp = k == 1 ? c : k == 2 ? (unsigned)((c & 0x1f) << 6 | (p[i + 1] & 0x3f)) : 0x800;
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        }
        else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
            static const char short_esc[] = { ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't' };
            *o++ = '\\';
            if (cp < sizeof(short_esc) && short_esc[cp] != 0)
                *o++ = short_esc[cp];
            else {
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hex_upper[cp >> 4];
                *o++ = hex_upper[cp & 0x0f];
            }
        }
        else {
            memcpy(o, p + i, k);
            o += k;
        }
        i += k;
    }
    *o++ = '"';
    *o = '\0';
    return (size_t)(o - out);
}
