/* libFuzzer target for the escaping of certificate data (secure_util): DNs built from the input, DN values,
 * subjectAltName entries, lists of them, network bytes, and the secure-info JSON string writer.
 * Sources: secure_util.c
 *
 * Promises checked on every input: each output is valid UTF-8 (checked by a decoder of its own here, not
 * secure_utf8_seq_len) with no control character; escaped values unescape to exactly the input bytes (the
 * escaping is unambiguous); a list splits back into its values; the JSON writer's output is one valid JSON
 * string literal that decodes back to the input wherever the input was valid UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "secure_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

/* Next code point of UTF-8 at *p (< end), advancing *p; -1 when not valid UTF-8. */
static long utf8_next(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *s = *p;
    long cp, min;
    int n, i;

    if (s[0] < 0x80) { *p = s + 1; return s[0]; }
    if ((s[0] & 0xe0) == 0xc0) { n = 2; cp = s[0] & 0x1f; min = 0x80; }
    else if ((s[0] & 0xf0) == 0xe0) { n = 3; cp = s[0] & 0x0f; min = 0x800; }
    else if ((s[0] & 0xf8) == 0xf0) { n = 4; cp = s[0] & 0x07; min = 0x10000; }
    else return -1;
    if (end - s < n)
        return -1;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *p = s + n;
    return cp;
}

static int valid_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end)
        if (utf8_next(&p, end) < 0)
            return 0;
    return 1;
}

/* Valid UTF-8 without C0 controls or DEL: what every variable value must be. */
static void check_value(const char *s)
{
    size_t i, len;

    check(s != NULL);
    len = strlen(s);
    check(valid_utf8(s, len));
    for (i = 0; i < len; i++)
        check((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] != 0x7f);
}

static int hexv(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Undoes the escaping: "\XX" (upper-case hex) is a byte, "\c" is c. Returns the length written to out. */
static size_t unescape(const char *s, unsigned char *out)
{
    size_t n = 0;

    while (*s) {
        if (*s != '\\') {
            out[n++] = (unsigned char)*s++;
            continue;
        }
        check(s[1] != '\0');                      /* never a lone trailing backslash */
        if (hexv(s[1]) >= 0 && hexv(s[2]) >= 0) {
            out[n++] = (unsigned char)(hexv(s[1]) << 4 | hexv(s[2]));
            s += 3;
        }
        else {
            check(strchr(",+\"\\<>;# ", s[1]) != NULL);
            out[n++] = (unsigned char)s[1];
            s += 2;
        }
    }
    return n;
}

/* The name: entries of [nid selector][type selector][multi-valued flag][len][bytes], while input lasts. */
static X509_NAME *name_from(const uint8_t *d, size_t size)
{
    static const int nids[] = { NID_commonName, NID_organizationName, NID_organizationalUnitName,
                                NID_countryName, NID_domainComponent, NID_pkcs9_emailAddress, NID_undef };
    static const int types[] = { V_ASN1_UTF8STRING, V_ASN1_BMPSTRING, V_ASN1_UNIVERSALSTRING, V_ASN1_T61STRING,
                                 V_ASN1_IA5STRING, V_ASN1_PRINTABLESTRING, V_ASN1_OCTET_STRING, V_ASN1_VISIBLESTRING };
    X509_NAME *n = X509_NAME_new();
    size_t i = 0;

    check(n != NULL);
    while (i + 4 <= size && X509_NAME_entry_count(n) < 16) {
        int nid = nids[d[i] % (sizeof(nids) / sizeof(nids[0]))], type = types[d[i + 1] % 8];
        size_t len = d[i + 3] % 64;
        int set = d[i + 2] & 1 ? -1 : 0;
        if (len > size - i - 4)
            len = size - i - 4;
        if (X509_NAME_entry_count(n) == 0)
            set = 0;
        if (nid == NID_undef) {
            ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
            X509_NAME_add_entry_by_OBJ(n, obj, type, d + i + 4, (int)len, -1, set);
            ASN1_OBJECT_free(obj);
        }
        else
            X509_NAME_add_entry_by_NID(n, nid, type, d + i + 4, (int)len, -1, set);
        i += 4 + len;
    }
    return n;
}

static void fuzz_name(const uint8_t *data, size_t size)
{
    X509_NAME *n = name_from(data, size);
    unsigned char *back;
    char *dn = secure_name_rfc2253(n);
    int i;

    check_value(dn);
    free(dn);
    for (i = 0; i < X509_NAME_entry_count(n); i++) {
        const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
        char *s = secure_dn_value(v);
        check_value(s);
        /* a UTF8String is printed byte for byte: unescaping gives back exactly its bytes */
        if (ASN1_STRING_type(v) == V_ASN1_UTF8STRING) {
            back = malloc(strlen(s) + 1);
            check(back != NULL);
            check(unescape(s, back) == (size_t)ASN1_STRING_length(v));
            check(memcmp(back, ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v)) == 0);
            free(back);
        }
        free(s);
    }
    X509_NAME_free(n);
}

/* Splits a list made by secure_list_join back into values; returns how many matched items[]. */
static void check_list(const char *list, char *const *items, size_t n)
{
    const char *p = list;
    size_t k = 0;

    if (n == 0) {
        check(*list == '\0');
        return;
    }
    for (;;) {
        char *want = items[k];
        while (*p && *p != ',') {
            if (*p == '\\' && p[1] == ',') {      /* an escaped comma belongs to the value */
                check(*want++ == ',');
                p += 2;
            }
            else if (*p == '\\') {                /* any other escape pair is copied as it is */
                check(*want++ == p[0] && *want++ == p[1]);
                p += 2;
            }
            else
                check(*want++ == *p++);
        }
        check(*want == '\0');
        k++;
        if (*p == '\0')
            break;
        p++;
    }
    check(k == n);
}

static void fuzz_san(const uint8_t *data, size_t size)
{
    static const int kinds[] = { GEN_DNS, GEN_EMAIL, GEN_URI, GEN_IPADD };
    char *items[4];
    size_t k, i;
    char *list;

    for (k = 0; k < 4; k++) {
        GENERAL_NAME *gn = GENERAL_NAME_new();
        ASN1_STRING *s = ASN1_STRING_type_new(kinds[k] == GEN_IPADD ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);
        size_t from = k * size / 4, len = (k + 1) * size / 4 - from;
        check(gn != NULL && s != NULL && ASN1_STRING_set(s, data + from, (int)len));
        GENERAL_NAME_set0_value(gn, kinds[k], s);
        items[k] = secure_san_value(gn);
        check_value(items[k]);
        for (i = 0; items[k][i]; i++)
            check((unsigned char)items[k][i] < 0x7f);      /* IA5 and IP text: ASCII only */
        if (kinds[k] != GEN_IPADD) {
            unsigned char *back = malloc(strlen(items[k]) + 1);
            check(back != NULL && unescape(items[k], back) == len && memcmp(back, data + from, len) == 0);
            free(back);
        }
        GENERAL_NAME_free(gn);
    }
    for (k = 0; k <= 4; k++) {
        list = secure_list_join((const char *const *)items, k);
        check_value(list);
        check_list(list, items, k);
        free(list);
    }
    for (k = 0; k < 4; k++)
        free(items[k]);

    list = secure_escape_ascii((const char *)data, size);
    check_value(list);
    for (i = 0; list[i]; i++)
        check((unsigned char)list[i] < 0x7f);
    {
        unsigned char *back = malloc(strlen(list) + 1);
        check(back != NULL && unescape(list, back) == size && memcmp(back, data, size) == 0);
        free(back);
    }
    free(list);
}

/* Decodes one JSON string literal (RFC 8259), checking its syntax; the decoded UTF-8 goes to out. */
static size_t json_decode(const char *s, size_t len, unsigned char *out)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t n = 0;

    check(len >= 2 && p[0] == '"' && end[-1] == '"');
    p++;
    end--;
    while (p < end) {
        long cp;
        if (*p == '\\') {
            check(end - p >= 2);
            switch (p[1]) {
            case '"': case '\\': case '/': out[n++] = p[1]; p += 2; continue;
            case 'b': out[n++] = '\b'; p += 2; continue;
            case 'f': out[n++] = '\f'; p += 2; continue;
            case 'n': out[n++] = '\n'; p += 2; continue;
            case 'r': out[n++] = '\r'; p += 2; continue;
            case 't': out[n++] = '\t'; p += 2; continue;
            case 'u': {
                int i;
                check(end - p >= 6);
                cp = 0;
                for (i = 2; i < 6; i++) {
                    int v = p[i] >= '0' && p[i] <= '9' ? p[i] - '0' : p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10
                            : p[i] >= 'A' && p[i] <= 'F' ? p[i] - 'A' + 10 : -1;
                    check(v >= 0);
                    cp = cp << 4 | v;
                }
                check(cp < 0xd800 || cp > 0xdfff);    /* the writer never needs surrogate pairs */
                p += 6;
                break;
            }
            default:
                check(0);
                continue;
            }
        }
        else {
            check(*p != '"' && *p >= 0x20);            /* no raw quote, no raw control character */
            cp = utf8_next(&p, end);
            check(cp >= 0);                           /* raw bytes are valid UTF-8 */
            check(!(cp >= 0x7f && cp <= 0x9f));       /* DEL and C1 controls are escaped */
        }
        if (cp < 0x80)
            out[n++] = (unsigned char)cp;
        else if (cp < 0x800) {
            out[n++] = (unsigned char)(0xc0 | cp >> 6);
            out[n++] = (unsigned char)(0x80 | (cp & 0x3f));
        }
        else if (cp < 0x10000) {
            out[n++] = (unsigned char)(0xe0 | cp >> 12);
            out[n++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (unsigned char)(0x80 | (cp & 0x3f));
        }
        else {
            out[n++] = (unsigned char)(0xf0 | cp >> 18);
            out[n++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
            out[n++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (unsigned char)(0x80 | (cp & 0x3f));
        }
    }
    return n;
}

static void fuzz_json(const uint8_t *data, size_t size)
{
    char *out = malloc(SECURE_JSON_STRING_MAX(size));
    unsigned char *back = malloc(3 * size + 1);
    size_t n, m;

    check(out != NULL && back != NULL);
    memset(out, 0x55, SECURE_JSON_STRING_MAX(size));
    n = secure_json_string((const char *)data, size, out);
    check(n < SECURE_JSON_STRING_MAX(size) && out[n] == '\0' && strlen(out) == n);
    check(valid_utf8(out, n));
    m = json_decode(out, n, back);
    if (valid_utf8((const char *)data, size))
        check(m == size && memcmp(back, data, size) == 0);
    free(out);
    free(back);
}

/* OpenSSL allocates some state once, on first use (error queue, object tables); doing that here keeps
 * libFuzzer's per-input leak check from running (slowly) on every input. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const uint8_t warm[] = { 6, 1, 0, 4, 0x00, 0x41, 0xd8, 0x00, 0, 0, 1, 2, 'a', 'b' };

    (void)argc;
    (void)argv;
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
    fuzz_name(warm, sizeof(warm));
    fuzz_san(warm, sizeof(warm));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    fuzz_name(copy, size);
    fuzz_san(copy, size);
    fuzz_json(copy, size);
    free(copy);
    ERR_clear_error();       /* building odd names in name_from() queues errors; keep the queue's memory steady */
    return 0;
}
