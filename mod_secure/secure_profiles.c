/* secure_profiles — the profile table, rule sets built from it, SSL_CTX narrowing and handshake checks. */
#include "secure_profiles.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "secure_compat.h"
#include "secure_hello.h"
#include "secure_util.h"

#define SECURE_PROFILE_ROW(name, version, source, lo, hi, ciphers, suites, groups, rsa, ec) \
    { name, version, source, lo, hi, ciphers, suites, groups, rsa, ec },
const secure_profile_t secure_profiles[] = { SECURE_PROFILES(SECURE_PROFILE_ROW) };
#undef SECURE_PROFILE_ROW

/* Everything OpenSSL has (security level 0 on the scratch context that resolves it): mod_ssl's own settings
 * are the only limit until a floor narrows them. */
const secure_profile_t secure_profile_none = {
    "none", "none", "no profile: mod_ssl's settings, tightened by the Secure* floors", "TLSv1", "TLSv1.3",
    "ALL:COMPLEMENTOFALL",
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:"
    "TLS_AES_128_CCM_8_SHA256",
    "", 0, 0
};

#define N_PROFILES (sizeof(secure_profiles) / sizeof(secure_profiles[0]))

size_t secure_profiles_count(void)
{
    return N_PROFILES;
}

const secure_profile_t *secure_profile_find(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < N_PROFILES; i++)
        if (!strcasecmp(name, secure_profiles[i].name))
            return &secure_profiles[i];
    return NULL;
}

static const struct { const char *name; int version; } secure_protocols[] = {
    { "SSLv3", SSL3_VERSION },
    { "TLSv1", TLS1_VERSION },
    { "TLSv1.0", TLS1_VERSION },
    { "TLSv1.1", TLS1_1_VERSION },
    { "TLSv1.2", TLS1_2_VERSION },
    { "TLSv1.3", TLS1_3_VERSION },
};

int secure_protocol_version(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof(secure_protocols) / sizeof(secure_protocols[0]); i++)
        if (!strcasecmp(name, secure_protocols[i].name))
            return secure_protocols[i].version;
    return 0;
}

const char *secure_protocol_name(int version)
{
    size_t i;

    for (i = 0; i < sizeof(secure_protocols) / sizeof(secure_protocols[0]); i++)
        if (secure_protocols[i].version == version)
            return secure_protocols[i].name;
    return NULL;
}

int secure_group_nid(const char *name)
{
    char nist[8];
    size_t i;
    int nid = OBJ_sn2nid(name);

    if (nid == NID_undef)
        nid = secure_group_nid_of_name(name);          /* the IANA spelling: secp256r1, x25519 */
    if (nid == NID_undef && strlen(name) < sizeof(nist)) {
        for (i = 0; name[i]; i++)                       /* the NIST spelling in any case: P-256 */
            nist[i] = (char)toupper((unsigned char)name[i]);
        nist[i] = '\0';
        nid = EC_curve_nist2nid(nist);
    }
    return nid;
}

int secure_list_next(const char **cursor, char *item, size_t item_len)
{
    const char *p = *cursor, *end;
    size_t len;

    if (p == NULL || *p == '\0')
        return 0;
    end = strchr(p, ':');
    len = end ? (size_t)(end - p) : strlen(p);
    if (item_len) {
        size_t n = len < item_len - 1 ? len : item_len - 1;
        memcpy(item, p, n);
        item[n] = '\0';
    }
    *cursor = end ? end + 1 : p + len;
    return 1;
}

/* Is the ':'-separated list `list` holding `name` (case-insensitive)? */
static int list_has(const char *list, const char *name)
{
    char item[64];

    while (secure_list_next(&list, item, sizeof(item)))
        if (!strcasecmp(item, name))
            return 1;
    return 0;
}

int secure_group_in_profiles(const char *name)
{
    size_t i;

    for (i = 0; i < N_PROFILES; i++)
        if (list_has(secure_profiles[i].groups, name))
            return 1;
    return 0;
}

/* Appends ":item" (or "item" to an empty buffer); 0, or -1 when it does not fit. */
static int append(char *buf, size_t bufsz, const char *item)
{
    size_t used = strlen(buf), n = strlen(item);

    if (used + n + (used ? 1 : 0) + 1 > bufsz)
        return -1;
    if (used)
        buf[used++] = ':';
    memcpy(buf + used, item, n + 1);
    return 0;
}

static int is_tls13_id(uint16_t id)
{
    return (id >> 8) == 0x13;
}

static int id_in(const uint16_t *ids, size_t n, uint16_t id)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

/* Removes id from ids (keeps order). */
static void id_remove(uint16_t *ids, size_t *n, uint16_t id)
{
    size_t i, j;

    for (i = j = 0; i < *n; i++)
        if (ids[i] != id)
            ids[j++] = ids[i];
    *n = j;
}

/* The IDs of a scratch context's cipher list, TLS 1.3 suites (want13) or the others. */
static void collect_ids(SSL_CTX *ctx, int want13, uint16_t *ids, size_t max, size_t *n)
{
    STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
    int i;

    *n = 0;
    for (i = 0; sk != NULL && i < sk_SSL_CIPHER_num(sk) && *n < max; i++) {
        uint16_t id = (uint16_t)SSL_CIPHER_get_protocol_id(sk_SSL_CIPHER_value(sk, i));
        if (is_tls13_id(id) == want13 && !id_in(ids, *n, id))
            ids[(*n)++] = id;
    }
}

/* A group this OpenSSL can negotiate (it accepts the name in a groups list)? */
static int group_available(SSL_CTX *scratch, const char *name)
{
    int ok;

    ERR_set_mark();
    ok = SSL_CTX_set1_groups_list(scratch, name) == 1;
    ERR_pop_to_mark();
    return ok;
}

secure_empty_t secure_rules_build(secure_rules_t *rules, const secure_profile_t *prof, int min_version,
                                  const char *exclude, const char *groups, char *skipped, size_t skipped_len)
{
    SSL_CTX *scratch = NULL;
    secure_empty_t rv = SECURE_EMPTY_NONE;
    char tls12_exclude[1024] = "", name[64];
    const char *p;

    memset(rules, 0, sizeof(*rules));
    if (skipped && skipped_len)
        skipped[0] = '\0';
    rules->min_version = secure_protocol_version(prof->min_protocol);
    rules->max_version = secure_protocol_version(prof->max_protocol);
    if (min_version > rules->min_version)
        rules->min_version = min_version;
    if (rules->min_version > rules->max_version) {
        rv = SECURE_EMPTY_PROTOCOL;
        goto cleanup;
    }
    if ((scratch = SSL_CTX_new(TLS_server_method())) == NULL) {
        rv = SECURE_EMPTY_OPENSSL;
        goto cleanup;
    }
    SSL_CTX_set_security_level(scratch, 0);

    ERR_set_mark();
    if (*prof->ciphers && SSL_CTX_set_cipher_list(scratch, prof->ciphers) == 1)
        collect_ids(scratch, 0, rules->ciphers, SECURE_RULES_MAX_CIPHERS, &rules->n_ciphers);
    if (SSL_CTX_set_ciphersuites(scratch, prof->suites) == 1)
        collect_ids(scratch, 1, rules->suites, sizeof(rules->suites) / sizeof(rules->suites[0]),
                    &rules->n_suites);
    ERR_pop_to_mark();

    /* SecureCipherExclude: TLS_* entries are TLS 1.3 suite names, the rest an OpenSSL cipher string. */
    if (exclude != NULL) {
        STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(scratch);    /* still the profile's suites */
        int i;

        for (i = 0; sk != NULL && i < sk_SSL_CIPHER_num(sk); i++) {
            const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
            if (list_has(exclude, SSL_CIPHER_get_name(c)))
                id_remove(rules->suites, &rules->n_suites, (uint16_t)SSL_CIPHER_get_protocol_id(c));
        }
    }
    for (p = exclude; secure_list_next(&p, name, sizeof(name)); ) {
        if (*name && strncmp(name, "TLS_", 4) != 0 && append(tls12_exclude, sizeof(tls12_exclude), name) != 0) {
            rv = SECURE_EMPTY_OPENSSL;
            goto cleanup;
        }
    }
    if (*tls12_exclude) {
        uint16_t ex[SECURE_RULES_MAX_CIPHERS * 4];
        size_t n_ex = 0, i;

        ERR_set_mark();
        if (SSL_CTX_set_cipher_list(scratch, tls12_exclude) == 1)
            collect_ids(scratch, 0, ex, sizeof(ex) / sizeof(ex[0]), &n_ex);
        ERR_pop_to_mark();
        for (i = 0; i < n_ex; i++)
            id_remove(rules->ciphers, &rules->n_ciphers, ex[i]);
    }

    /* An emptied side shrinks the protocol range; both emptied leaves nothing. */
    if (rules->n_ciphers == 0 && rules->min_version <= TLS1_2_VERSION) {
        if (rules->max_version < TLS1_3_VERSION) {
            rv = SECURE_EMPTY_CIPHERS;
            goto cleanup;
        }
        rules->min_version = TLS1_3_VERSION;
    }
    if (rules->n_suites == 0 && rules->max_version >= TLS1_3_VERSION) {
        if (rules->min_version >= TLS1_3_VERSION) {
            rv = SECURE_EMPTY_SUITES;
            goto cleanup;
        }
        rules->max_version = TLS1_2_VERSION;
    }

    rules->rsa_min = prof->rsa_min;
    rules->ec_min = prof->ec_min;
    if (groups == NULL && *prof->groups == '\0') {
        rules->any_group = 1;       /* no group rule: mod_ssl's groups stand */
        goto cleanup;
    }
    for (p = groups ? groups : prof->groups; secure_list_next(&p, name, sizeof(name)); ) {
        if (!*name)
            continue;
        if (!group_available(scratch, name)) {
            if (skipped)
                (void)append(skipped, skipped_len, name);
        }
        else if (rules->n_groups < SECURE_RULES_MAX_GROUPS
                 && append(rules->groups, sizeof(rules->groups), name) == 0) {
            rules->group_nids[rules->n_groups++] = secure_group_nid(name);
        }
    }
    if (rules->n_groups == 0)
        rv = SECURE_EMPTY_GROUPS;

cleanup:
    SSL_CTX_free(scratch);
    return rv;
}

/* Is group `name` (as mod_ssl was configured) one the rules allow? Compared by NID where OpenSSL names the
 * group, else by spelling (provider groups such as ML-KEM hybrids have no NID). */
static int rules_allow_group_name(const secure_rules_t *rules, const char *name)
{
    int nid = secure_group_nid(name);
    size_t i;

    if (nid != NID_undef) {
        for (i = 0; i < rules->n_groups; i++)
            if (rules->group_nids[i] == nid)
                return 1;
        return 0;
    }
    return list_has(rules->groups, name);
}

secure_empty_t secure_rules_narrow(SSL_CTX *ctx, const secure_rules_t *rules, const char *ssl_groups,
                                   secure_narrowed_t *out)
{
    secure_narrowed_t local, *n = out ? out : &local;
    STACK_OF(SSL_CIPHER) *sk;
    int lo, hi, i, need12, need13;
    char name[64];
    const char *p;

    memset(n, 0, sizeof(*n));
    lo = (int)SSL_CTX_get_min_proto_version(ctx);
    hi = (int)SSL_CTX_get_max_proto_version(ctx);
    if (lo == 0 || lo < rules->min_version)
        lo = rules->min_version;
    if (hi == 0 || hi > rules->max_version)
        hi = rules->max_version;
    if (lo > hi)
        return SECURE_EMPTY_PROTOCOL;
    n->min_version = lo;
    n->max_version = hi;
    need12 = lo <= TLS1_2_VERSION;
    need13 = hi >= TLS1_3_VERSION;

    /* keep the operator's (mod_ssl's) order; drop what the rules do not allow */
    sk = SSL_CTX_get_ciphers(ctx);
    for (i = 0; sk != NULL && i < sk_SSL_CIPHER_num(sk); i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
        uint16_t id = (uint16_t)SSL_CIPHER_get_protocol_id(c);

        if (is_tls13_id(id) ? !id_in(rules->suites, rules->n_suites, id)
                            : !id_in(rules->ciphers, rules->n_ciphers, id))
            continue;
        if (append(is_tls13_id(id) ? n->suites : n->ciphers,
                   is_tls13_id(id) ? sizeof(n->suites) : sizeof(n->ciphers), SSL_CIPHER_get_name(c)) != 0)
            return SECURE_EMPTY_OPENSSL;
    }
    if (need12 && !*n->ciphers)
        return SECURE_EMPTY_CIPHERS;
    if (need13 && !*n->suites)
        return SECURE_EMPTY_SUITES;

    if (rules->any_group) {
        snprintf(n->groups, sizeof(n->groups), "%s", ssl_groups ? ssl_groups : "(OpenSSL's default)");
    }
    else if (ssl_groups == NULL) {
        memcpy(n->groups, rules->groups, sizeof(n->groups));
    }
    else {
        for (p = ssl_groups; secure_list_next(&p, name, sizeof(name)); )
            if (*name && rules_allow_group_name(rules, name) && append(n->groups, sizeof(n->groups), name) != 0)
                return SECURE_EMPTY_OPENSSL;
    }
    if (!*n->groups)
        return SECURE_EMPTY_GROUPS;

    if (!SSL_CTX_set_min_proto_version(ctx, lo) || !SSL_CTX_set_max_proto_version(ctx, hi))
        return SECURE_EMPTY_OPENSSL;
    if (need12) {
        if (SSL_CTX_set_cipher_list(ctx, n->ciphers) != 1)
            return SECURE_EMPTY_OPENSSL;
    }
    else {
        /* TLS 1.3 only: an empty TLS <= 1.2 list, so that a name-based vhost refuses TLS 1.2 through SNI
         * too (cipher lists follow the SNI switch). OpenSSL sets the list and then reports "no cipher
         * match" for the empty TLS <= 1.2 part: that report is expected here. */
        ERR_set_mark();
        (void)SSL_CTX_set_cipher_list(ctx, "-ALL");
        ERR_pop_to_mark();
    }
    if (SSL_CTX_set_ciphersuites(ctx, need13 ? n->suites : "") != 1)
        return SECURE_EMPTY_OPENSSL;
    if (!rules->any_group && SSL_CTX_set1_groups_list(ctx, n->groups) != 1)
        return SECURE_EMPTY_OPENSSL;
    return SECURE_EMPTY_NONE;
}

static const char *const secure_rule_names[SECURE_RULE_COUNT] = {
    "protocol", "cipher", "group", "client_key", "client_sig"
};

const char *secure_rule_name(int index)
{
    return index >= 0 && index < SECURE_RULE_COUNT ? secure_rule_names[index] : "?";
}

int secure_rules_group_ok(const secure_rules_t *rules, SSL *ssl, char *name, size_t name_len)
{
    int nid = SSL_get_negotiated_group(ssl);
    const char *gname = NULL;
    size_t i;

    if (name && name_len)
        name[0] = '\0';
    if (nid == 0 || nid == NID_undef || rules->any_group)
        return 1;
    if (nid & TLSEXT_nid_unknown) {
        /* a provider group without a NID (e.g. an ML-KEM hybrid): compare by name where OpenSSL has one */
#if SECURE_HAVE_GET0_GROUP_NAME
        gname = SSL_get0_group_name(ssl);
#endif
        if (name && name_len) {
            if (gname)
                snprintf(name, name_len, "%s", gname);
            else
                snprintf(name, name_len, "0x%04x", (unsigned)(nid & 0xffff));
        }
        return gname != NULL && list_has(rules->groups, gname);
    }
    if (name && name_len)
        snprintf(name, name_len, "%s", OBJ_nid2sn(nid));
    for (i = 0; i < rules->n_groups; i++)
        if (rules->group_nids[i] == nid)
            return 1;
    return 0;
}

int secure_rules_check_cert(const secure_rules_t *rules, X509 *cert, int check_sig, char *what, size_t what_len)
{
    EVP_PKEY *key = X509_get0_pubkey(cert);
    int mdnid = NID_undef, bits, floor = 0;
    const char *kind = NULL;

    if (what && what_len)
        what[0] = '\0';
    if (key == NULL) {
        if (what && what_len)
            snprintf(what, what_len, "unreadable-key");
        return SECURE_RULE_CLIENT_KEY;
    }
    bits = EVP_PKEY_get_bits(key);
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        kind = "rsa";
        floor = rules->rsa_min;
        break;
    case EVP_PKEY_DSA:
    case EVP_PKEY_DH:
        kind = "dsa";
        floor = rules->rsa_min;     /* finite-field keys need what RSA needs */
        break;
    case EVP_PKEY_EC:
        kind = "ec";
        floor = rules->ec_min;
        break;
    default:
        break;                      /* Ed25519 / Ed448: fixed sizes above every floor */
    }
    if (kind != NULL && bits < floor) {
        if (what && what_len)
            snprintf(what, what_len, "%s:%d", kind, bits);
        return SECURE_RULE_CLIENT_KEY;
    }
    if (check_sig && !rules->allow_weak_sig
        && X509_get_signature_info(cert, &mdnid, NULL, NULL, NULL) == 1
        && (mdnid == NID_sha1 || mdnid == NID_md5 || mdnid == NID_md5_sha1 || mdnid == NID_md4)) {
        if (what && what_len)
            snprintf(what, what_len, "%s", OBJ_nid2ln(X509_get_signature_nid(cert)));
        return SECURE_RULE_CLIENT_SIG;
    }
    return 0;
}

/* Appends " rule:value" to buf (space-separated). */
static void add_violation(char *buf, size_t bufsz, const char *rule, const char *value)
{
    size_t used = strlen(buf);

    if (used < bufsz)
        snprintf(buf + used, bufsz - used, "%s%s:%s", used ? " " : "", rule, value);
}

int secure_rules_check(const secure_rules_t *rules, SSL *ssl, int check_client, char *buf, size_t bufsz)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    int v = SSL_version(ssl), mask = 0;
    char what[128];

    if (bufsz)
        buf[0] = '\0';
    if (v < rules->min_version || v > rules->max_version) {
        mask |= SECURE_RULE_PROTOCOL;
        add_violation(buf, bufsz, "protocol", SSL_get_version(ssl));
    }
    if (c != NULL) {
        uint16_t id = (uint16_t)SSL_CIPHER_get_protocol_id(c);
        if (is_tls13_id(id) ? !id_in(rules->suites, rules->n_suites, id)
                            : !id_in(rules->ciphers, rules->n_ciphers, id)) {
            mask |= SECURE_RULE_CIPHER;
            add_violation(buf, bufsz, "cipher", SSL_CIPHER_get_name(c));
        }
    }
    if (!secure_rules_group_ok(rules, ssl, what, sizeof(what))) {
        mask |= SECURE_RULE_GROUP;
        add_violation(buf, bufsz, "group", what);
    }
    if (check_client) {
        X509 *leaf = SSL_get0_peer_certificate(ssl);
        STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);   /* server side: without the leaf */
        int i, m;

        if (leaf != NULL && (m = secure_rules_check_cert(rules, leaf, !secure_self_signed(leaf), what, sizeof(what)))) {
            mask |= m;
            add_violation(buf, bufsz, m == SECURE_RULE_CLIENT_KEY ? "client_key" : "client_sig", what);
        }
        for (i = 0; leaf != NULL && chain != NULL && i < sk_X509_num(chain); i++) {
            X509 *x = sk_X509_value(chain, i);
            if (x == leaf || X509_cmp(x, leaf) == 0 || secure_self_signed(x))
                continue;
            if ((m = secure_rules_check_cert(rules, x, 1, what, sizeof(what))) != 0) {
                mask |= m;
                add_violation(buf, bufsz, m == SECURE_RULE_CLIENT_KEY ? "client_key" : "client_sig", what);
            }
        }
    }
    return mask;
}
