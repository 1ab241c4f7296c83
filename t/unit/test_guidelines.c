/* The profile table against its sources.
 *
 * Mozilla: modern and intermediate against Mozilla's Server Side TLS guidelines 6.0, old against 5.8 (the
 * last version with an `old` configuration), read from the verbatim JSON copies in t/guidelines/ (see the
 * README there). Every field the table carries is compared: the guideline version, the protocol range, the
 * TLS 1.2 ciphers in OpenSSL names and order, the same ciphers by IANA name as this OpenSSL maps them, the
 * TLS 1.3 suites and the groups. A new guideline version is a file copy and a failing line here.
 *
 * nist-800-52r2 and cnsa: against the suites as the documents name them (IANA names, transcribed below
 * with their section), through this OpenSSL's own IANA names of the table's OpenSSL spellings, so a typo
 * in either spelling fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "tap.h"
#include "secure_profiles.h"

void test_guidelines(void);

#ifndef SECURE_GUIDELINES_DIR
#define SECURE_GUIDELINES_DIR "t/guidelines"
#endif

/* ---- a small JSON reader: enough to walk objects and read arrays of strings ---------------------------- */

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Reads a string at p (which points at '"') into buf; returns the position after it, NULL on bad input.
 * The guidelines use no escapes but \" and \\; others are refused rather than guessed. */
static const char *json_string(const char *p, char *buf, size_t len)
{
    size_t n = 0;

    if (*p++ != '"')
        return NULL;
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            if (*p != '"' && *p != '\\' && *p != '/')
                return NULL;
            c = *p++;
        }
        if (n + 1 < len)
            buf[n++] = c;
    }
    if (len)
        buf[n] = '\0';
    return *p == '"' ? p + 1 : NULL;
}

/* Skips one value of any kind; the position after it, or NULL. Depth-bounded. */
static const char *json_skip(const char *p, int depth)
{
    char tmp[2];

    p = ws(p);
    if (depth > 32)
        return NULL;
    if (*p == '"')
        return json_string(p, tmp, sizeof(tmp));
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                if ((p = json_string(ws(p), tmp, sizeof(tmp))) == NULL || *(p = ws(p)) != ':')
                    return NULL;
                p++;
            }
            if ((p = json_skip(p, depth + 1)) == NULL)
                return NULL;
            p = ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p == '-' || (*p >= '0' && *p <= '9') || *p == 't' || *p == 'f' || *p == 'n') {
        while (*p && strchr(",}] \t\r\n", *p) == NULL)
            p++;
        return p;
    }
    return NULL;
}

/* The value of key in the object at p, or NULL. */
static const char *json_member(const char *p, const char *key)
{
    char k[128];

    if (p == NULL || *(p = ws(p)) != '{')
        return NULL;
    p = ws(p + 1);
    while (*p == '"') {
        if ((p = json_string(p, k, sizeof(k))) == NULL || *(p = ws(p)) != ':')
            return NULL;
        p = ws(p + 1);
        if (strcmp(k, key) == 0)
            return p;
        if ((p = json_skip(p, 0)) == NULL)
            return NULL;
        p = ws(p);
        if (*p != ',')
            return NULL;
        p = ws(p + 1);
    }
    return NULL;
}

/* The array of strings at p joined with ':' into buf; 0, or -1 when p is not such an array. */
static int json_string_list(const char *p, char *buf, size_t len)
{
    char item[128];
    size_t used = 0;

    buf[0] = '\0';
    if (p == NULL || *(p = ws(p)) != '[')
        return -1;
    p = ws(p + 1);
    if (*p == ']')
        return 0;
    for (;;) {
        int n;
        if ((p = json_string(ws(p), item, sizeof(item))) == NULL)
            return -1;
        n = snprintf(buf + used, len - used, "%s%s", used ? ":" : "", item);
        if (n < 0 || (size_t)n >= len - used)
            return -1;
        used += (size_t)n;
        p = ws(p);
        if (*p == ']')
            return 0;
        if (*p++ != ',')
            return -1;
    }
}

/* The raw text of a number at p ("6.0"), or "" */
static void json_number_text(const char *p, char *buf, size_t len)
{
    size_t n = 0;

    p = p ? ws(p) : "";
    while (n + 1 < len && ((*p >= '0' && *p <= '9') || *p == '.'))
        buf[n++] = *p++;
    buf[n] = '\0';
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < 1 << 20 && fseek(f, 0, SEEK_SET) == 0
        && (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        else
            buf[n] = '\0';
    }
    fclose(f);
    return buf;
}

/* ---- what the table says, in the guidelines' terms ------------------------------------------------------ */

/* "TLSv1:TLSv1.1:TLSv1.2:TLSv1.3" for a profile from TLSv1 to TLSv1.3. */
static void profile_versions(const secure_profile_t *p, char *buf, size_t len)
{
    int v, lo = secure_protocol_version(p->min_protocol), hi = secure_protocol_version(p->max_protocol);
    size_t used = 0;

    buf[0] = '\0';
    for (v = lo; lo != 0 && v <= hi && used < len; v++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ":" : "", secure_protocol_name(v));
}

/* The IANA names of a TLS <= 1.2 OpenSSL cipher string as this OpenSSL resolves it (security level 0, so
 * that nothing is dropped for strength), ':'-joined in its order; the count in *n. */
static void iana_names(const char *openssl_list, char *buf, size_t len, int *n)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    STACK_OF(SSL_CIPHER) *sk;
    size_t used = 0;
    int i;

    buf[0] = '\0';
    *n = 0;
    if (ctx == NULL)
        return;
    SSL_CTX_set_security_level(ctx, 0);
    if (*openssl_list && SSL_CTX_set_cipher_list(ctx, openssl_list) == 1 && (sk = SSL_CTX_get_ciphers(ctx)) != NULL) {
        for (i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
            const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
            const char *std = SSL_CIPHER_standard_name(c);
            if ((SSL_CIPHER_get_protocol_id(c) >> 8) == 0x13 || std == NULL)
                continue;           /* TLS 1.3 suites are the other list */
            used += (size_t)snprintf(buf + used, len > used ? len - used : 0, "%s%s", used ? ":" : "", std);
            (*n)++;
        }
    }
    SSL_CTX_free(ctx);
}

/* Same set, any order? (':'-lists of at most 64 entries) */
static int same_set(const char *a, const char *b)
{
    char item[128];
    const char *p;
    int na = 0, nb = 0;

    for (p = a; secure_list_next(&p, item, sizeof(item)); na++) {
        const char *q = b;
        char other[128];
        int found = 0;
        while (!found && secure_list_next(&q, other, sizeof(other)))
            found = strcmp(item, other) == 0;
        if (!found)
            return 0;
    }
    for (p = b; secure_list_next(&p, item, sizeof(item)); nb++)
        ;
    return na == nb;
}

static void check_mozilla(const char *file, const char *doc, const char *name)
{
    const secure_profile_t *p = secure_profile_find(name);
    const char *conf = json_member(json_member(doc, "configurations"), name);
    char want[4096], have[4096], ver[16];
    int n;

    if (!ok(p != NULL && conf != NULL, "%s: in the table and in %s", name, file))
        return;
    json_number_text(json_member(doc, "version"), ver, sizeof(ver));
    snprintf(want, sizeof(want), "mozilla-%s", ver);
    is_str(p->version, want, "%s: the table cites the guideline version of %s", name, file);
    ok(strstr(p->source, ver) != NULL, "%s: its source text names version %s (%s)", name, ver, p->source);

    ok(json_string_list(json_member(conf, "tls_versions"), want, sizeof(want)) == 0, "%s: tls_versions read", name);
    profile_versions(p, have, sizeof(have));
    is_str(have, want, "%s: protocol versions as %s", name, file);

    ok(json_string_list(json_member(json_member(conf, "ciphers"), "openssl"), want, sizeof(want)) == 0,
       "%s: ciphers.openssl read", name);
    is_str(p->ciphers, want, "%s: TLS 1.2 ciphers (OpenSSL names, in order) as %s", name, file);

    /* pairwise: the guideline's OpenSSL name i is its IANA name i (where this OpenSSL has the cipher) */
    {
        char iana[4096], one[128], std[4096];
        const char *po = want, *pi = iana;
        int pairs = 0, lacking = 0, bad = 0;

        ok(json_string_list(json_member(json_member(conf, "ciphers"), "iana"), iana, sizeof(iana)) == 0,
           "%s: ciphers.iana read", name);
        while (secure_list_next(&po, one, sizeof(one))) {
            char iname[128];
            if (!secure_list_next(&pi, iname, sizeof(iname))) {
                bad++;
                break;
            }
            iana_names(one, std, sizeof(std), &n);
            if (n == 0)
                lacking++;          /* not built into this OpenSSL (e.g. 3DES): narrowing leaves it out */
            else if (strcmp(std, iname) != 0) {
                diag("%s: OpenSSL %s is %s here, the guideline says %s", name, one, std, iname);
                bad++;
            }
            pairs++;
        }
        ok(bad == 0 && !secure_list_next(&pi, one, sizeof(one)),
           "%s: each of the %d OpenSSL cipher names is its IANA name in %s (%d not in this OpenSSL)", name, pairs,
           file, lacking);
    }

    ok(json_string_list(json_member(conf, "ciphersuites"), want, sizeof(want)) == 0, "%s: ciphersuites read", name);
    is_str(p->suites, want, "%s: TLS 1.3 suites as %s", name, file);

    ok(json_string_list(json_member(conf, "tls_curves"), want, sizeof(want)) == 0, "%s: tls_curves read", name);
    is_str(p->groups, want, "%s: groups as %s", name, file);

    json_number_text(json_member(conf, "rsa_key_size"), ver, sizeof(ver));
    if (*ver)       /* the server key size Mozilla asks for; the table's client floor is no lower */
        ok(p->rsa_min >= atoi(ver), "%s: client RSA floor %d >= the guideline's rsa_key_size %s", name, p->rsa_min, ver);
}

static void check_file(const char *file, const char *const *profiles)
{
    char path[1024];
    const char *dir = getenv("SECURE_GUIDELINES_DIR");
    char *doc;
    size_t i;

    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : SECURE_GUIDELINES_DIR, file);
    doc = read_file(path);
    if (!ok(doc != NULL, "read %s", path))
        return;
    ok(json_skip(doc, 0) != NULL && *ws(json_skip(doc, 0)) == '\0', "%s is one well-formed JSON value", file);
    for (i = 0; profiles[i] != NULL; i++)
        check_mozilla(file, doc, profiles[i]);
    free(doc);
}

/* A compliance profile against its document's IANA names. */
static void check_compliance(const char *name, const char *version, const char *versions, const char *iana12,
                             const char *suites, const char *groups, int rsa_min, int ec_min)
{
    const secure_profile_t *p = secure_profile_find(name);
    char have[4096];
    secure_rules_t r;
    int n;

    if (!ok(p != NULL, "%s is a profile", name))
        return;
    is_str(p->version, version, "%s: version %s", name, version);
    profile_versions(p, have, sizeof(have));
    is_str(have, versions, "%s: protocol versions", name);
    iana_names(p->ciphers, have, sizeof(have), &n);
    if (!ok(same_set(have, iana12), "%s: TLS 1.2 suites are the document's", name))
        diag("have %s\nwant %s", have, iana12);
    is_str(p->suites, suites, "%s: TLS 1.3 suites", name);
    is_str(p->groups, groups, "%s: groups", name);
    is_int(p->rsa_min, rsa_min, "%s: client RSA floor", name);
    is_int(p->ec_min, ec_min, "%s: client EC floor", name);
    is_int(secure_rules_build(&r, p, 0, NULL, NULL, NULL, 0), SECURE_EMPTY_NONE, "%s: resolves on this OpenSSL", name);
    is_int((int)r.n_ciphers, n, "%s: every TLS 1.2 suite is one this OpenSSL has (%d)", name, n);
    is_int(r.rsa_min, rsa_min, "%s: the rules carry the RSA floor", name);
}

void test_guidelines(void)
{
    static const char *const v60[] = { "modern", "intermediate", NULL };
    static const char *const v58[] = { "old", NULL };

    check_file("6.0.json", v60);
    check_file("5.8.json", v58);

    /* NIST SP 800-52 Rev. 2: 3.1 (versions), 3.3.1.1.1 (ECDSA certificates) and 3.3.1.1.2 (RSA certificates),
     * 3.3.1.2 (TLS 1.3), supported groups, 3.2.1 / 4.2.1 (keys). */
    check_compliance("nist-800-52r2", "nist-sp800-52r2", "TLSv1.2:TLSv1.3",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:"
        "TLS_ECDHE_ECDSA_WITH_AES_128_CCM:TLS_ECDHE_ECDSA_WITH_AES_256_CCM:TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8:"
        "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8:TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256:"
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384:TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:"
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:"
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:"
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256:TLS_DHE_RSA_WITH_AES_256_GCM_SHA384:TLS_DHE_RSA_WITH_AES_128_CCM:"
        "TLS_DHE_RSA_WITH_AES_256_CCM:TLS_DHE_RSA_WITH_AES_128_CCM_8:TLS_DHE_RSA_WITH_AES_256_CCM_8:"
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256:TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384:"
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256:TLS_DHE_RSA_WITH_AES_256_CBC_SHA256:"
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:"
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA:TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256",
        "prime256v1:secp384r1:secp521r1:ffdhe2048:ffdhe3072:ffdhe4096", 2048, 256);

    /* CNSA 1.0 for TLS, RFC 9151: section 5 (suites; the DHE-RSA one deliberately left out, see
     * secure_profiles.h), 4.1 (P-384, DH >= 3072), 4.2 (RSA >= 3072, ECDSA P-384). */
    check_compliance("cnsa", "cnsa-1.0", "TLSv1.2:TLSv1.3",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_AES_256_GCM_SHA384", "secp384r1:ffdhe3072:ffdhe4096", 3072, 384);

    /* The floors-only pseudo-profile is not selectable by name. */
    ok(secure_profile_find("none") == NULL, "\"none\" is not a profile SecurePolicy or Require accept");
    is_str(secure_profile_none.version, "none", "the floors-only pseudo-profile's version is none");
}
