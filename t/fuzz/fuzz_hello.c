/* libFuzzer target for secure_hello: the parser, every formatter and the readiness judgement.
 * Sources: secure_hello.c secure_readiness.c
 *
 * Each input is tried twice: as given, and with its 3-byte handshake length rewritten to match the
 * input size, because random bytes almost never carry a consistent length and would otherwise stop
 * at the first check. Both copies live in exactly-sized heap blocks so ASan flags any read past len.
 * On a successful parse the formatters' own promises are checked, and a violation aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "secure_hello.h"
#include "secure_readiness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static secure_hello_t h;

static void check(int cond)
{
    if (!cond)
        abort();
}

static int is_lower_hex(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == '\0';
}

/* Every formatter, into a roomy buffer (must succeed) and into a tiny one (must fail cleanly or
 * fit, and always leave a terminated string). */
static void format_all(size_t small) /* small < 64 */
{
    static char big[16384];
    char tiny[64];
    int (*const fmt[])(const secure_hello_t *, char *, size_t) = {
        secure_hello_ja3_string, secure_hello_ja3, secure_hello_ja4, secure_hello_ja4_r,
        secure_hello_ja4_o, secure_hello_ja4_ro,
        secure_hello_versions, secure_hello_alpn, secure_hello_groups,
    };
    size_t i;

    for (i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
        int rc;
        check(fmt[i](&h, big, sizeof big) == 0);
        check(strlen(big) < sizeof big);
        memset(tiny, 'x', sizeof tiny);
        rc = fmt[i](&h, tiny, small);
        if (small == 0) {
            check(rc == -1 && tiny[0] == 'x');
        } else {
            check(memchr(tiny, '\0', small) != NULL);
            check(rc == 0 || (rc == -1 && tiny[0] == '\0'));
            check(tiny[small] == 'x');
        }
    }
    check(secure_hello_ja3(&h, big, sizeof big) == 0 && is_lower_hex(big, 32));
    check(secure_hello_ja4(&h, big, sizeof big) == 0 && strlen(big) == 36 && big[0] == 't' && big[10] == '_'
          && big[23] == '_');
    for (i = 0; i < h.n_groups; i++)
        (void)secure_hello_group_name(h.groups[i]);
}

static void one(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    int rc = secure_hello_parse(data, size, &h, &why);

    check(rc >= SECURE_HELLO_OK && rc <= SECURE_HELLO_TOO_LARGE);
    check(why != NULL && secure_hello_strerror(rc) != NULL);
    if (rc != SECURE_HELLO_OK)
        return;
    check(h.n_ciphers <= SECURE_HELLO_MAX_CIPHERS && h.n_exts <= SECURE_HELLO_MAX_EXTS);
    check(h.n_alpn <= SECURE_HELLO_MAX_ALPN && h.alpn_buf_len <= sizeof h.alpn_buf);
    check(memchr(h.sni, '\0', sizeof h.sni) != NULL);
    format_all(size % 64);
    {
        /* a TLS 1.2-1.3 rule set shaped like the profiles' (no libssl needed to build it here) */
        static const secure_rules_t rules = {
            .min_version = TLS1_2_VERSION, .max_version = TLS1_3_VERSION,
            .ciphers = { 0xc02b, 0xc02f, 0xcca8, 0x009e }, .n_ciphers = 4,
            .suites = { 0x1301, 0x1302, 0x1303 }, .n_suites = 3,
            .group_nids = { NID_X25519, NID_X9_62_prime256v1 }, .n_groups = 2, .groups = "X25519:prime256v1",
        };
        secure_ready_t r = secure_readiness_check(&h, &rules);
        check(r >= SECURE_READY && r < SECURE_READY_OUTCOMES && secure_readiness_name(r) != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    one(copy, size);
    if (size >= 4) {
        size_t l = size - 4;
        copy[0] = 1;
        copy[1] = (uint8_t)(l >> 16);
        copy[2] = (uint8_t)(l >> 8);
        copy[3] = (uint8_t)l;
        one(copy, size);
    }
    free(copy);
    return 0;
}
