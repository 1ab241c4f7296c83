/* Unit tests of secure_profiles without httpd: the profile table's invariants (every profile resolves into
 * a non-empty rule set on this OpenSSL, its protocols and groups are known), the lookups (profile, protocol,
 * group names and aliases, the ':' list walker), the rules builder (SecureMinProtocol, SecureCipherExclude,
 * SecureGroups and what each empties) and the narrowing of a real SSL_CTX. */
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>

#include "tap.h"
#include "secure_profiles.h"

void test_profiles(void);

static int id_listed(const uint16_t *ids, size_t n, uint16_t id)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

static void test_table(void)
{
    size_t i, j, n = secure_profiles_count();

    is_int(n, 5, "five profiles: modern, intermediate, old, nist-800-52r2, cnsa");
    for (i = 0; i < n; i++) {
        const secure_profile_t *p = &secure_profiles[i];
        int lo = secure_protocol_version(p->min_protocol), hi = secure_protocol_version(p->max_protocol);
        const char *g = p->groups;
        char item[64];
        secure_rules_t rules;

        ok(p->name && *p->name && p->source && *p->source, "profile %zu has a name and a source", i);
        ok(lo != 0 && hi != 0 && lo <= hi, "%s: protocols %s..%s known and ordered", p->name, p->min_protocol,
           p->max_protocol);
        ok(secure_profile_find(p->name) == p, "%s: found by its own name", p->name);
        for (j = 0; j < i; j++)
            ok(strcasecmp(secure_profiles[j].name, p->name) != 0, "%s: name differs from %s", p->name,
               secure_profiles[j].name);
        ok((hi >= TLS1_3_VERSION) == (*p->suites != '\0'), "%s: TLS 1.3 suites exactly when TLS 1.3 allowed",
           p->name);
        ok((lo <= TLS1_2_VERSION) == (*p->ciphers != '\0'), "%s: TLS<=1.2 ciphers exactly when TLS<=1.2 allowed",
           p->name);
        while (secure_list_next(&g, item, sizeof(item)))
            ok(*item && secure_group_in_profiles(item), "%s: group %s is a profile group", p->name, item);
        is_int(secure_rules_build(&rules, p, 0, NULL, NULL, NULL, 0), SECURE_EMPTY_NONE,
               "%s: resolves into a non-empty rule set", p->name);
        is_int(rules.min_version, lo, "%s: rules keep the lowest protocol", p->name);
        is_int(rules.max_version, hi, "%s: rules keep the highest protocol", p->name);
        ok(rules.n_groups > 0 && rules.n_groups <= SECURE_RULES_MAX_GROUPS, "%s: %zu groups available", p->name,
           rules.n_groups);
    }
}

static void test_lookups(void)
{
    const char *cursor = "a:bc::defghijk", *end = "";
    char item[5];

    ok(secure_profile_find("Intermediate") == secure_profile_find("intermediate"),
       "profile lookup ignores case");
    ok(secure_profile_find("INTERMEDIATE") != NULL, "INTERMEDIATE is a profile");
    ok(secure_profile_find("medium") == NULL, "an unknown profile is NULL");
    ok(secure_profile_find("") == NULL, "an empty name is NULL");
    ok(secure_profile_find(NULL) == NULL, "a NULL name is NULL");

    is_int(secure_protocol_version("TLSv1.2"), TLS1_2_VERSION, "TLSv1.2");
    is_int(secure_protocol_version("tlsv1.3"), TLS1_3_VERSION, "protocol names ignore case");
    is_int(secure_protocol_version("TLSv1"), TLS1_VERSION, "TLSv1 is TLS 1.0");
    is_int(secure_protocol_version("TLSv1.0"), TLS1_VERSION, "TLSv1.0 is TLS 1.0");
    is_int(secure_protocol_version("TLSv1.4"), 0, "an unknown protocol is 0");
    is_int(secure_protocol_version(NULL), 0, "a NULL protocol is 0");
    is_str(secure_protocol_name(TLS1_3_VERSION), "TLSv1.3", "TLS 1.3 is named TLSv1.3");
    is_str(secure_protocol_name(TLS1_VERSION), "TLSv1", "TLS 1.0 is named as OpenSSL spells it");
    ok(secure_protocol_name(0x0305) == NULL, "an unknown version has no name");

    is_int(secure_group_nid("prime256v1"), NID_X9_62_prime256v1, "prime256v1");
    is_int(secure_group_nid("P-256"), NID_X9_62_prime256v1, "P-256 is prime256v1");
    is_int(secure_group_nid("secp256r1"), NID_X9_62_prime256v1, "secp256r1 is prime256v1");
    is_int(secure_group_nid("P-384"), NID_secp384r1, "P-384 is secp384r1");
    is_int(secure_group_nid("x25519"), NID_X25519, "x25519 is X25519");
    is_int(secure_group_nid("no-such-group"), NID_undef, "an unknown group has no NID");
    ok(secure_group_in_profiles("X25519MLKEM768"), "ML-KEM hybrid is a profile group (known without a NID)");
    ok(secure_group_in_profiles("x25519"), "profile group names ignore case");
    ok(!secure_group_in_profiles("ffdhe8192"), "ffdhe8192 is no profile group");
    ok(secure_group_in_profiles("ffdhe3072"), "ffdhe3072 is a profile group (nist-800-52r2, cnsa)");

    ok(secure_list_next(&cursor, item, sizeof(item)), "list: first entry");
    is_str(item, "a", "list: a");
    ok(secure_list_next(&cursor, item, sizeof(item)) && strcmp(item, "bc") == 0, "list: bc");
    ok(secure_list_next(&cursor, item, sizeof(item)) && *item == '\0', "list: an empty entry is returned");
    ok(secure_list_next(&cursor, item, sizeof(item)), "list: a long entry");
    is_str(item, "defg", "list: a long entry is cut to the buffer");
    ok(!secure_list_next(&cursor, item, sizeof(item)), "list: end");
    ok(!secure_list_next(&end, item, sizeof(item)), "list: an empty list has no entry");

    is_str(secure_rule_name(0), "protocol", "rule 0 is protocol");
    is_str(secure_rule_name(SECURE_RULE_COUNT - 1), "client_sig", "the last rule is client_sig");
    is_str(secure_rule_name(SECURE_RULE_COUNT), "?", "a rule index past the table is ?");
    is_str(secure_rule_name(-1), "?", "a negative rule index is ?");
}

static void test_rules_build(void)
{
    const secure_profile_t *modern = secure_profile_find("modern"), *inter = secure_profile_find("intermediate"),
                           *old = secure_profile_find("old");
    secure_rules_t r;
    char skipped[64];
    const uint16_t aes128gcm13 = 0x1301, chacha13 = 0x1303, ecdhe_rsa_aes128gcm = 0xc02f;

    is_int(secure_rules_build(&r, inter, 0, NULL, NULL, NULL, 0), SECURE_EMPTY_NONE, "intermediate builds");
    ok(id_listed(r.ciphers, r.n_ciphers, ecdhe_rsa_aes128gcm), "intermediate allows ECDHE-RSA-AES128-GCM-SHA256");
    ok(id_listed(r.suites, r.n_suites, aes128gcm13), "intermediate allows TLS_AES_128_GCM_SHA256");
    is_int(r.n_suites, 3, "intermediate has the three Mozilla TLS 1.3 suites");

    is_int(secure_rules_build(&r, old, TLS1_2_VERSION, NULL, NULL, NULL, 0), SECURE_EMPTY_NONE,
           "old with SecureMinProtocol TLSv1.2 builds");
    is_int(r.min_version, TLS1_2_VERSION, "SecureMinProtocol raises the floor");
    is_int(secure_rules_build(&r, inter, TLS1_VERSION, NULL, NULL, NULL, 0), SECURE_EMPTY_NONE,
           "a lower SecureMinProtocol builds");
    is_int(r.min_version, TLS1_2_VERSION, "SecureMinProtocol never lowers the profile's floor");

    is_int(secure_rules_build(&r, inter, 0, "ECDHE-RSA-AES128-GCM-SHA256:TLS_CHACHA20_POLY1305_SHA256", NULL, NULL, 0),
           SECURE_EMPTY_NONE, "intermediate minus one cipher and one suite builds");
    ok(!id_listed(r.ciphers, r.n_ciphers, ecdhe_rsa_aes128gcm), "the excluded TLS<=1.2 cipher is gone");
    ok(!id_listed(r.suites, r.n_suites, chacha13), "the excluded TLS 1.3 suite is gone");
    ok(id_listed(r.suites, r.n_suites, aes128gcm13), "the other suites stay");

    is_int(secure_rules_build(&r, inter, 0, "ECDHE", NULL, NULL, 0), SECURE_EMPTY_NONE,
           "excluding every TLS<=1.2 cipher of intermediate still leaves TLS 1.3");
    is_int(r.n_ciphers, 0, "no TLS<=1.2 cipher left");
    is_int(r.min_version, TLS1_3_VERSION, "the protocol range shrinks to TLS 1.3");
    is_int(secure_rules_build(&r, inter, 0, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
                              NULL, NULL, 0),
           SECURE_EMPTY_NONE, "excluding every TLS 1.3 suite of intermediate still leaves TLS 1.2");
    is_int(r.max_version, TLS1_2_VERSION, "the protocol range shrinks to TLS 1.2");
    is_int(secure_rules_build(&r, modern, 0, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
                              NULL, NULL, 0),
           SECURE_EMPTY_SUITES, "modern without its suites is empty (suites)");
    is_int(secure_rules_build(&r, modern, 0, NULL, NULL, NULL, 0), SECURE_EMPTY_NONE, "modern builds");
    is_int(r.n_ciphers, 0, "modern has no TLS<=1.2 cipher");
    is_int(secure_rules_build(&r, inter, 0, "ECDHE:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                              "TLS_CHACHA20_POLY1305_SHA256", NULL, NULL, 0),
           SECURE_EMPTY_SUITES, "intermediate without ciphers and suites is empty (TLS 1.3 left, but no suite)");
    is_int(secure_rules_build(&r, modern, TLS1_3_VERSION + 1, NULL, NULL, NULL, 0), SECURE_EMPTY_PROTOCOL,
           "a floor above the profile's ceiling leaves no protocol");

    is_int(secure_rules_build(&r, inter, 0, NULL, "P-384:no-such-group:X25519", skipped, sizeof(skipped)),
           SECURE_EMPTY_NONE, "SecureGroups with an unknown group builds");
    is_str(r.groups, "P-384:X25519", "the groups keep the operator's order and spelling");
    is_int(r.n_groups, 2, "two groups");
    is_int(r.group_nids[0], NID_secp384r1, "P-384 by NID");
    is_int(r.group_nids[1], NID_X25519, "X25519 by NID");
    is_str(skipped, "no-such-group", "the unknown group is reported as skipped");
    is_int(secure_rules_build(&r, inter, 0, NULL, "no-such-group", skipped, sizeof(skipped)), SECURE_EMPTY_GROUPS,
           "only unknown groups: empty (groups)");
}

static void test_narrow(void)
{
    const secure_profile_t *inter = secure_profile_find("intermediate"), *modern = secure_profile_find("modern");
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    secure_rules_t r;
    secure_narrowed_t out;

    if (!ok(ctx != NULL, "a server SSL_CTX"))
        return;
    SSL_CTX_set_security_level(ctx, 0);
    ok(SSL_CTX_set_cipher_list(ctx, "AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256") == 1,
       "mod_ssl's cipher list (operator's order)");
    secure_rules_build(&r, inter, 0, NULL, NULL, NULL, 0);
    is_int(secure_rules_narrow(ctx, &r, "secp384r1:ffdhe2048:X25519", &out), SECURE_EMPTY_NONE,
           "intermediate narrows the context");
    is_str(out.ciphers, "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
           "ciphers outside the profile are dropped, the operator's order kept");
    is_str(out.groups, "secp384r1:X25519", "mod_ssl's groups outside the profile are dropped");
    is_int(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION, "the context's floor is TLS 1.2");
    is_int(out.max_version, TLS1_3_VERSION, "TLS 1.3 stays allowed");

    secure_rules_build(&r, modern, 0, NULL, NULL, NULL, 0);
    is_int(secure_rules_narrow(ctx, &r, NULL, &out), SECURE_EMPTY_NONE, "modern narrows it further");
    is_int(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION, "the context's floor is TLS 1.3");
    is_str(out.ciphers, "", "no TLS<=1.2 cipher left");
    is_str(out.groups, r.groups, "no mod_ssl groups: the profile's groups");

    ok(SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) == 1, "a context limited to TLS 1.2");
    is_int(secure_rules_narrow(ctx, &r, NULL, NULL), SECURE_EMPTY_PROTOCOL,
           "modern on a TLS 1.2-only context: no protocol left");
    is_int(SSL_CTX_get_max_proto_version(ctx), TLS1_2_VERSION, "nothing is changed when the result would be empty");
    SSL_CTX_free(ctx);
}

/* Floors without SecurePolicy: the pseudo-profile "none" resolves into everything OpenSSL has, so that
 * narrowing changes only what a floor names. */
static void test_none(void)
{
    const secure_profile_t *none = &secure_profile_none;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    secure_rules_t r;
    secure_narrowed_t out;
    const uint16_t aes128sha = 0x002f, ecdhe_rsa_aes128gcm = 0xc02f;

    is_int(secure_rules_build(&r, none, 0, NULL, NULL, NULL, 0), SECURE_EMPTY_NONE, "none builds");
    ok(r.any_group && r.n_groups == 0, "none: no group rule");
    ok(r.n_ciphers > 60 && r.n_ciphers < SECURE_RULES_MAX_CIPHERS, "none: every TLS<=1.2 cipher (%zu), room left",
       r.n_ciphers);
    ok(id_listed(r.ciphers, r.n_ciphers, aes128sha), "none allows AES128-SHA");
    is_int(r.n_suites, 5, "none: all five TLS 1.3 suites");
    is_int(r.rsa_min, 0, "none: no RSA floor");
    is_int(r.ec_min, 0, "none: no EC floor");
    is_int(r.min_version, TLS1_VERSION, "none: from TLS 1.0");

    is_int(secure_rules_build(&r, none, TLS1_3_VERSION, NULL, NULL, NULL, 0), SECURE_EMPTY_NONE,
           "none with SecureMinProtocol TLSv1.3 builds");
    is_int(r.min_version, TLS1_3_VERSION, "... floor TLS 1.3");
    is_int(secure_rules_build(&r, none, 0, "AES128-SHA", "X25519", NULL, 0), SECURE_EMPTY_NONE,
           "none with SecureCipherExclude and SecureGroups builds");
    ok(!id_listed(r.ciphers, r.n_ciphers, aes128sha), "... AES128-SHA excluded");
    ok(id_listed(r.ciphers, r.n_ciphers, ecdhe_rsa_aes128gcm), "... the rest stays");
    ok(!r.any_group && r.n_groups == 1, "... SecureGroups is a group rule");

    if (!ok(ctx != NULL, "a server SSL_CTX"))
        return;
    ok(SSL_CTX_set_cipher_list(ctx, "AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256") == 1, "mod_ssl's cipher list");
    secure_rules_build(&r, none, TLS1_2_VERSION, "AES128-SHA", NULL, NULL, 0);
    is_int(secure_rules_narrow(ctx, &r, "secp384r1:X25519", &out), SECURE_EMPTY_NONE, "none narrows mod_ssl's context");
    is_str(out.ciphers, "ECDHE-RSA-AES128-GCM-SHA256", "only the excluded cipher is gone");
    is_str(out.groups, "secp384r1:X25519", "mod_ssl's groups are left as they are");
    is_int(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION, "the floor is SecureMinProtocol's");
    ok(strstr(out.suites, "TLS_AES_128_GCM_SHA256") != NULL, "TLS 1.3 suites stay");
    SSL_CTX_free(ctx);
}

void test_profiles(void)
{
    test_none();
    test_table();
    test_lookups();
    test_rules_build();
    test_narrow();
}
