/* secure_readiness — ClientHello against a rule set (see secure_readiness.h). */
#include <string.h>

#include <openssl/obj_mac.h>
#include <openssl/tls1.h>

#include "secure_readiness.h"

/* Does the client offer version v? supported_versions when sent (TLS 1.3 clients), else every version from
 * TLS 1.0 up to the legacy field (a TLS 1.2 client accepts TLS 1.0 to 1.2). */
static int offers_version(const secure_hello_t *h, int v)
{
    size_t i;

    if (h->n_versions > 0) {
        for (i = 0; i < h->n_versions; i++)
            if (h->versions[i] == v)
                return 1;
        return 0;
    }
    return v <= TLS1_2_VERSION && v >= TLS1_VERSION && v <= h->legacy_version;
}

static int in_list(uint16_t id, const uint16_t *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (list[i] == id)
            return 1;
    return 0;
}

/* A shared group: one the client lists in supported_groups that the rules allow. A TLS <= 1.2 client
 * without the extension accepts any curve (RFC 8422, 4): then the server picks one of its own. */
static int shares_group(const secure_hello_t *h, const secure_rules_t *rules, int tls13)
{
    size_t i, j;

    if (h->n_groups == 0)
        return !tls13 && rules->n_groups > 0;
    for (i = 0; i < h->n_groups; i++) {
        int nid = secure_hello_group_nid(h->groups[i]);
        for (j = 0; nid != NID_undef && j < rules->n_groups; j++)
            if (rules->group_nids[j] == nid)
                return 1;
    }
    return 0;
}

/* TLS <= 1.2 suites whose key exchange is ECDHE (they need a shared curve; the others do not). */
static int is_ecdhe(uint16_t id)
{
    return (id >= 0xc006 && id <= 0xc03b && id != 0xc01a && id != 0xc01b && id != 0xc01c && id != 0xc01d
            && id != 0xc01e && id != 0xc01f && id != 0xc020 && id != 0xc021 && id != 0xc022)
        || id == 0xc072 || id == 0xc073 || id == 0xc076 || id == 0xc077 || (id >= 0xc086 && id <= 0xc08d)
        || id == 0xcca8 || id == 0xcca9 || id == 0xccac || (id >= 0xc0ac && id <= 0xc0af);
}

secure_ready_t secure_readiness_check(const secure_hello_t *h, const secure_rules_t *rules)
{
    secure_ready_t best = SECURE_READY_NO_PROTOCOL;
    int v;
    size_t i;

    if (h == NULL || rules == NULL)
        return SECURE_READY_NO_PROTOCOL;
    for (v = TLS1_3_VERSION; v >= TLS1_VERSION; v--) {
        int cipher = 0, group = 0;
        if (v < rules->min_version || v > rules->max_version || !offers_version(h, v))
            continue;
        if (v == TLS1_3_VERSION) {
            for (i = 0; i < h->n_ciphers && !cipher; i++)
                cipher = in_list(h->ciphers[i], rules->suites, rules->n_suites);
            group = cipher && shares_group(h, rules, 1);
        }
        else {
            /* any shared cipher that needs no group, or an ECDHE one with a shared curve */
            for (i = 0; i < h->n_ciphers && !group; i++) {
                if (!in_list(h->ciphers[i], rules->ciphers, rules->n_ciphers))
                    continue;
                cipher = 1;
                group = !is_ecdhe(h->ciphers[i]) || shares_group(h, rules, 0);
            }
        }
        if (cipher && group)
            return SECURE_READY;
        if (cipher && best != SECURE_READY_NO_GROUP)
            best = SECURE_READY_NO_GROUP;
        else if (!cipher && best == SECURE_READY_NO_PROTOCOL)
            best = SECURE_READY_NO_CIPHER;
    }
    return best;
}

const char *secure_readiness_name(secure_ready_t r)
{
    static const char *const names[SECURE_READY_OUTCOMES] = { "ready", "protocol", "cipher", "group" };

    return (unsigned)r < SECURE_READY_OUTCOMES ? names[r] : "unknown";
}
