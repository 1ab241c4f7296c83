/* Unit tests of secure_readiness: typical ClientHellos (as lists, the way the parser leaves them) against the
 * built-in profiles' rules. */
#include <string.h>

#include <openssl/tls1.h>

#include "tap.h"
#include "secure_readiness.h"

void test_readiness(void);

static secure_hello_t H;

static void hello(uint16_t legacy, const uint16_t *vers, size_t nv, const uint16_t *ciphers, size_t nc,
                  const uint16_t *groups, size_t ng)
{
    memset(&H, 0, sizeof H);
    H.legacy_version = legacy;
    if (nv > 0)
        memcpy(H.versions, vers, nv * sizeof *vers);
    H.n_versions = nv;
    memcpy(H.ciphers, ciphers, nc * sizeof *ciphers);
    H.n_ciphers = nc;
    if (ng > 0)
        memcpy(H.groups, groups, ng * sizeof *groups);
    H.n_groups = ng;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

void test_readiness(void)
{
    secure_rules_t modern, inter, old;
    char sk[128];
    static const uint16_t v13[] = {0x0304, 0x0303}, v12only[] = {0x0303};
    static const uint16_t browser[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
                                       0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    static const uint16_t g_x25519[] = {0x001d, 0x0017}, g_p521[] = {0x0019}, g_none[] = {0};
    static const uint16_t cbc12[] = {0xc013, 0xc014, 0x002f}, gcm12[] = {0xc02f}, rsa_only[] = {0x002f, 0x0035};
    static const uint16_t s13only[] = {0x1301};

    is_int(secure_rules_build(&modern, secure_profile_find("modern"), 0, NULL, NULL, sk, sizeof sk), 0, "modern rules");
    is_int(secure_rules_build(&inter, secure_profile_find("intermediate"), 0, NULL, NULL, sk, sizeof sk), 0,
           "intermediate rules");
    is_int(secure_rules_build(&old, secure_profile_find("old"), 0, NULL, NULL, sk, sizeof sk), 0, "old rules");

    /* a browser: TLS 1.3 with X25519 passes everything */
    hello(0x0303, v13, N(v13), browser, N(browser), g_x25519, N(g_x25519));
    is_int(secure_readiness_check(&H, &modern), SECURE_READY, "browser: modern");
    is_int(secure_readiness_check(&H, &inter), SECURE_READY, "browser: intermediate");
    is_int(secure_readiness_check(&H, &old), SECURE_READY, "browser: old");

    /* a TLS 1.2-only client with ECDHE-GCM: not modern (protocol), intermediate and old fine */
    hello(0x0303, NULL, 0, gcm12, N(gcm12), g_x25519, N(g_x25519));
    is_int(secure_readiness_check(&H, &modern), SECURE_READY_NO_PROTOCOL, "TLS 1.2 GCM client: modern refuses (protocol)");
    is_int(secure_readiness_check(&H, &inter), SECURE_READY, "TLS 1.2 GCM client: intermediate");
    /* supported_versions saying only TLS 1.2 is the same */
    hello(0x0303, v12only, N(v12only), gcm12, N(gcm12), g_x25519, N(g_x25519));
    is_int(secure_readiness_check(&H, &modern), SECURE_READY_NO_PROTOCOL, "supported_versions 1.2 only: modern refuses");

    /* TLS 1.2 with CBC suites only: intermediate refuses (cipher), old accepts */
    hello(0x0303, NULL, 0, cbc12, N(cbc12), g_x25519, N(g_x25519));
    is_int(secure_readiness_check(&H, &inter), SECURE_READY_NO_CIPHER, "TLS 1.2 CBC client: intermediate refuses (cipher)");
    is_int(secure_readiness_check(&H, &old), SECURE_READY, "TLS 1.2 CBC client: old accepts");

    /* ECDHE-GCM but only P-521: intermediate refuses for the group */
    hello(0x0303, NULL, 0, gcm12, N(gcm12), g_p521, N(g_p521));
    is_int(secure_readiness_check(&H, &inter), SECURE_READY_NO_GROUP, "P-521 only: intermediate refuses (group)");
    /* no supported_groups at all in TLS 1.2: any curve will do */
    hello(0x0303, NULL, 0, gcm12, N(gcm12), g_none, 0);
    is_int(secure_readiness_check(&H, &inter), SECURE_READY, "TLS 1.2 without supported_groups: intermediate");

    /* RSA key exchange only (needs no group), TLS 1.2: only old */
    hello(0x0303, NULL, 0, rsa_only, N(rsa_only), g_none, 0);
    is_int(secure_readiness_check(&H, &inter), SECURE_READY_NO_CIPHER, "RSA kx only: intermediate refuses (cipher)");
    is_int(secure_readiness_check(&H, &old), SECURE_READY, "RSA kx only: old accepts");

    /* TLS 1.3 suite but only P-521 key share group: modern refuses for the group */
    hello(0x0303, v13, 1, s13only, N(s13only), g_p521, N(g_p521));
    is_int(secure_readiness_check(&H, &modern), SECURE_READY_NO_GROUP, "TLS 1.3, P-521 only: modern refuses (group)");
    /* a TLS 1.0 client: old only */
    hello(0x0301, NULL, 0, cbc12, N(cbc12), g_x25519, N(g_x25519));
    is_int(secure_readiness_check(&H, &inter), SECURE_READY_NO_PROTOCOL, "TLS 1.0 client: intermediate refuses (protocol)");
    is_int(secure_readiness_check(&H, &old), SECURE_READY, "TLS 1.0 client: old accepts");
    is_str(secure_readiness_name(SECURE_READY_NO_GROUP), "group", "outcome names");
    is_int(secure_readiness_check(NULL, &old), SECURE_READY_NO_PROTOCOL, "NULL hello: never ready");
}
