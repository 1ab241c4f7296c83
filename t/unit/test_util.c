/* Unit tests of secure_util: duration and integer parsing, hex, the escaping of certificate data for variables
 * (DN, DN values, subjectAltName entries, lists) and the JSON string writer. */
#include <limits.h>
#include <string.h>

#include <stdlib.h>

#include <openssl/x509v3.h>

#include "tap.h"
#include "secure_util.h"

void test_util(void);

static void test_escape(void);
static void test_json(void);

void test_util(void)
{
    static const struct { const char *in; int rc; long want; } secs[] = {
        { "0", 0, 0 }, { "10", 0, 10 }, { "30s", 0, 30 }, { "5m", 0, 300 }, { "2h", 0, 7200 },
        { "1d", 0, 86400 }, { "", -1, 0 }, { "-5", -1, 0 }, { " 5", -1, 0 }, { "5x", -1, 0 },
        { "5mm", -1, 0 }, { "m", -1, 0 }, { "99999999999999999999", -1, 0 },
        { "9223372036854775807d", -1, 0 }, { "1.5", -1, 0 },
    };
    static const unsigned char bytes[] = { 0x00, 0x0f, 0xab, 0xff };
    char hex[9];
    long v;
    size_t i;

    for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
        v = -1;
        int rc = secure_parse_seconds(secs[i].in, &v);
        is_int(rc, secs[i].rc, "secure_parse_seconds(\"%s\") returns %d", secs[i].in, secs[i].rc);
        if (secs[i].rc == 0)
            is_int(v, secs[i].want, "secure_parse_seconds(\"%s\") = %ld", secs[i].in, secs[i].want);
    }
    ok(secure_parse_seconds(NULL, &v) == -1, "secure_parse_seconds(NULL) refused");
    ok(secure_parse_long("42", &v) == 0 && v == 42, "secure_parse_long 42");
    ok(secure_parse_long("-7", &v) == 0 && v == -7, "secure_parse_long -7");
    ok(secure_parse_long("7a", &v) == -1, "secure_parse_long refuses trailing garbage");
    ok(secure_parse_long("", &v) == -1, "secure_parse_long refuses empty");
    ok(secure_parse_long("99999999999999999999999", &v) == -1, "secure_parse_long refuses overflow");
    is_str(secure_hex_lower(bytes, sizeof(bytes), hex), "000fabff", "secure_hex_lower");
    test_escape();
    test_json();
}

/* Compares a heap string from secure_util with want, then frees it. */
static void is_heap(char *got, const char *want, const char *what)
{
    is_str(got, want, "%s", what);
    free(got);
}

static X509_NAME *name_of(const char *o, int o_type, const char *cn, int cn_len, int cn_type)
{
    X509_NAME *n = X509_NAME_new();

    X509_NAME_add_entry_by_NID(n, NID_organizationName, o_type, (const unsigned char *)o, -1, -1, 0);
    X509_NAME_add_entry_by_NID(n, NID_commonName, cn_type, (const unsigned char *)cn, cn_len, -1, 0);
    return n;
}

static GENERAL_NAME *san_of(int type, const char *data, int len)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_STRING *s = ASN1_STRING_type_new(type == GEN_IPADD ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);

    ASN1_STRING_set(s, data, len);
    GENERAL_NAME_set0_value(gn, type, s);
    return gn;
}

static void test_escape(void)
{
    static const struct { int type; const char *in; int len; const char *want; const char *what; } sans[] = {
        { GEN_DNS, "a.example,admin.internal", -1, "a.example,admin.internal", "SAN value: a comma stays (one value)" },
        { GEN_DNS, "x\r\nX-Injected: 1", -1, "x\\0D\\0AX-Injected: 1", "SAN value: CR LF escaped" },
        { GEN_EMAIL, "a\\b\x7f@x", -1, "a\\\\b\\7F@x", "SAN value: backslash and DEL escaped" },
        { GEN_URI, "https://x/\xc3\xa9", -1, "https://x/\\C3\\A9", "SAN value: bytes above 0x7F escaped (an IA5String)" },
        { GEN_DNS, "a\0b", 3, "a\\00b", "SAN value: NUL escaped" },
        { GEN_IPADD, "\xc0\x00\x02\x07", 4, "192.0.2.7", "SAN iPAddress v4" },
        { GEN_IPADD, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16, "2001:db8::1", "SAN iPAddress v6" },
        { GEN_IPADD, "\x01\x02\x03\x04\x05", 5, "#0102030405", "SAN iPAddress of another length: #hex" },
    };
    const char *items[] = { "a.example,admin.internal", "b.example", "", "c\\\\,d" };
    X509_NAME *n;
    size_t i;

    n = name_of("Team #1", MBSTRING_UTF8, "alice\r\nX-Injected: 1", -1, MBSTRING_UTF8);
    is_heap(secure_name_rfc2253(n), "CN=alice\\0D\\0AX-Injected: 1,O=Team #1",
            "DN: CR LF escaped as \\0D\\0A, '#' inside a value kept");
    is_heap(secure_dn_value(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 1))), "alice\\0D\\0AX-Injected: 1",
            "DN value: the same escaping");
    X509_NAME_free(n);

    n = name_of("x", MBSTRING_UTF8, "#lead, \"q\" \xc3\xa9+<>;\\ ", -1, MBSTRING_UTF8);
    is_heap(secure_name_rfc2253(n), "CN=\\#lead\\, \\\"q\\\" \xc3\xa9\\+\\<\\>\\;\\\\\\ ,O=x",
            "DN: RFC 2253 specials escaped, UTF-8 kept");
    is_heap(secure_dn_value(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 1))),
            "\\#lead\\, \\\"q\\\" \xc3\xa9\\+\\<\\>\\;\\\\\\ ", "DN value: escaped as inside the DN");
    X509_NAME_free(n);

    n = name_of("x", MBSTRING_UTF8, "a\xff\xc3" "b", 4, V_ASN1_UTF8STRING);
    is_heap(secure_name_rfc2253(n), "CN=a\\FF\\C3b,O=x", "DN: bytes that are not UTF-8 become \\XX");
    X509_NAME_free(n);

    n = name_of("x", MBSTRING_UTF8, "a\xe9\x85", 3, V_ASN1_T61STRING);
    is_heap(secure_name_rfc2253(n), "CN=a\xc3\xa9\xc2\x85,O=x", "DN: a T61String is converted to UTF-8");
    X509_NAME_free(n);

    n = name_of("x", MBSTRING_UTF8, "\0A\xd8\x00", 4, V_ASN1_BMPSTRING);
    {
        char *dn = secure_name_rfc2253(n);
        ok(dn != NULL && strncmp(dn, "CN=#1E04", 8) == 0 && strstr(dn, ",O=#0C0178") != NULL,
           "DN that cannot be printed as text (lone surrogate): every value as #hex (%s)", dn ? dn : "NULL");
        free(dn);
    }
    X509_NAME_free(n);
    n = X509_NAME_new();
    is_heap(secure_name_rfc2253(n), "", "empty DN");
    X509_NAME_free(n);

    for (i = 0; i < sizeof(sans) / sizeof(sans[0]); i++) {
        GENERAL_NAME *gn = san_of(sans[i].type, sans[i].in, sans[i].len < 0 ? (int)strlen(sans[i].in) : sans[i].len);
        is_heap(secure_san_value(gn), sans[i].want, sans[i].what);
        GENERAL_NAME_free(gn);
    }
    {
        GENERAL_NAME *gn = GENERAL_NAME_new();
        ASN1_OBJECT *rid = OBJ_txt2obj("1.2.3", 1);
        GENERAL_NAME_set0_value(gn, GEN_RID, rid);
        ok(secure_san_value(gn) == NULL, "SAN of another kind (registeredID): NULL");
        GENERAL_NAME_free(gn);
    }

    is_heap(secure_list_join(items, 4), "a.example\\,admin.internal,b.example,,c\\\\\\,d",
            "list: commas inside values escaped as \\, (an escaped backslash stays as it is)");
    is_heap(secure_list_join(items, 0), "", "list: none");
    is_heap(secure_list_join(items + 1, 1), "b.example", "list: one value");

    is_heap(secure_escape_ascii("a\\b\r\n\x80.example", 14), "a\\\\b\\0D\\0A\\80.example",
            "network bytes: backslash, controls and bytes above 0x7F escaped");
}

static void is_json(const char *in, size_t len, const char *want, const char *what)
{
    char *out = malloc(SECURE_JSON_STRING_MAX(len));
    size_t n = secure_json_string(in, len, out);

    is_str(out, want, "JSON: %s", what);
    ok(n == strlen(out) && n < SECURE_JSON_STRING_MAX(len), "JSON: %s: length %zu within the bound", what, n);
    free(out);
}

static void test_json(void)
{
    static const struct { const char *in; size_t len; int want; } seq[] = {
        { "a", 1, 1 }, { "\xc3\xa9", 2, 2 }, { "\xe2\x82\xac", 3, 3 }, { "\xf0\x9f\x98\x80", 4, 4 },
        { "\xc0\xaf", 2, 0 }, { "\xc1\xbf", 2, 0 }, { "\xe0\x80\xaf", 3, 0 }, { "\xed\xa0\x80", 3, 0 },
        { "\xed\x9f\xbf", 3, 3 }, { "\xf4\x90\x80\x80", 4, 0 }, { "\xf4\x8f\xbf\xbf", 4, 4 },
        { "\xf5\x80\x80\x80", 4, 0 }, { "\x80", 1, 0 }, { "\xe2\x82", 2, 0 }, { "\xc3", 1, 0 }, { "", 0, 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
        is_int(secure_utf8_seq_len((const unsigned char *)seq[i].in, seq[i].len), seq[i].want,
               "UTF-8 sequence %zu has length %d", i, seq[i].want);

    is_json("", 0, "\"\"", "empty string");
    is_json("alice", 5, "\"alice\"", "ASCII as it is");
    is_json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
            "valid UTF-8 passes through (not \\u00XX per byte)");
    is_json("\"\\/", 3, "\"\\\"\\\\/\"", "quote and backslash escaped, slash not");
    is_json("a\r\nX-Injected: 1\t\b\f", 19, "\"a\\r\\nX-Injected: 1\\t\\b\\f\"", "short escapes");
    is_json("\x01\x1f\x7f\xc2\x85\xc2\x9f\xc2\xa0", 9, "\"\\u0001\\u001F\\u007F\\u0085\\u009F\xc2\xa0\"",
            "C0, DEL and C1 controls as \\u00XX; U+00A0 is not a control");
    is_json("a\0b", 3, "\"a\\u0000b\"", "NUL");
    is_json("\xff\xc0\xaf\xed\xa0\x80\xe2\x82", 8,
            "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"",
            "each byte of invalid UTF-8 (0xFF, overlong, surrogate, truncated) as \\ufffd");
    is_json("\x01\x01", 2, "\"\\u0001\\u0001\"", "worst case stays within SECURE_JSON_STRING_MAX");
}
