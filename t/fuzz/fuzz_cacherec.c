/* libFuzzer target for secure_cacherec: decoding and authenticating a verdict-cache record, the bytes a
 * shared cache (memcache, redis) hands back and anyone who reaches that cache may have written.
 * Sources: secure_cacherec.c
 *
 * Each input is decoded three ways: as given (the MAC refuses it unless it is a real record); with
 * its MAC replaced by the correct one for the fixed key and id, so the field and time checks behind the
 * MAC are reached; and, from the first 8 bytes, with an arbitrary "now" and TTLs. The record is always
 * in an exactly-sized heap block so ASan flags any read past its end. Promises checked (abort on
 * violation): an accepted record carries the correct MAC, has in-range fields, expires within
 * now + TTL + skew, and re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "secure_cacherec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[32] = "fuzz-key-fuzz-key-fuzz-key-fuzz!";
static const char id[SECURE_CACHEREC_ID_LEN + 1] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static void check(int cond)
{
    if (!cond)
        abort();
}

static int64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return (int64_t)(v & (((uint64_t)1 << 62) - 1)) * ((p[0] & 0x80) ? -1 : 1);
}

static void try_decode(const uint8_t *rec, size_t len, int64_t now, int64_t ttl, int64_t uttl)
{
    secure_cacherec_t out;
    unsigned char again[SECURE_CACHEREC_LEN], mac[SECURE_CACHEREC_MAC_LEN];
    secure_cacherec_rc rc;

    memset(&out, 0x5a, sizeof(out));
    rc = secure_cacherec_decode(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, rec, len, now, ttl, uttl, &out);
    check(rc >= SECURE_CACHEREC_OK && rc <= SECURE_CACHEREC_E_CRYPTO);
    check(secure_cacherec_strerror(rc) != NULL);
    if (rc != SECURE_CACHEREC_OK)
        return;
    /* only a record carrying the right MAC may pass */
    check(len == SECURE_CACHEREC_LEN);
    check(secure_cacherec_mac(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, rec, SECURE_CACHEREC_BODY_LEN, mac) == 0);
    check(memcmp(mac, rec + SECURE_CACHEREC_BODY_LEN, SECURE_CACHEREC_MAC_LEN) == 0);
    check(out.status == 'G' || out.status == 'R' || out.status == 'U');
    check(out.source >= 0 && secure_cacherec_source_names[out.source] != NULL);
    check(out.reason >= -1 && out.reason <= SECURE_CACHEREC_REASON_MAX);
    check(out.revoked_at >= 0 && out.revoked_at <= now + SECURE_CACHEREC_SKEW);
    check(out.status == 'R' || out.revoked_at == 0);
    check(out.expires > now && out.expires <= now + (out.status == 'U' ? uttl : ttl) + SECURE_CACHEREC_SKEW);
    check(secure_cacherec_encode(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, &out, again) == SECURE_CACHEREC_OK);
    check(memcmp(again, rec, SECURE_CACHEREC_LEN) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t now = INT64_C(1700000000);
    uint8_t *copy = malloc(size ? size : 1);

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    try_decode(copy, size, now, 3600, 30);
    if (size >= SECURE_CACHEREC_BODY_LEN) {
        /* the same body with a valid MAC: what a holder of the key (or a bug in our encoder) could write */
        uint8_t *signed_rec = malloc(SECURE_CACHEREC_LEN);
        if (signed_rec != NULL) {
            memcpy(signed_rec, data, SECURE_CACHEREC_BODY_LEN);
            check(secure_cacherec_mac(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, signed_rec,
                                      SECURE_CACHEREC_BODY_LEN, signed_rec + SECURE_CACHEREC_BODY_LEN) == 0);
            try_decode(signed_rec, SECURE_CACHEREC_LEN, now, 3600, 30);
            if (size >= SECURE_CACHEREC_BODY_LEN + 12) {
                /* arbitrary clock and TTLs, including negative and huge ones */
                int64_t n = be64(data + SECURE_CACHEREC_BODY_LEN) >> 20;
                int64_t t = (int64_t)(((uint32_t)data[SECURE_CACHEREC_BODY_LEN + 8] << 24)
                                      | ((uint32_t)data[SECURE_CACHEREC_BODY_LEN + 9] << 16)
                                      | ((uint32_t)data[SECURE_CACHEREC_BODY_LEN + 10] << 8)
                                      | data[SECURE_CACHEREC_BODY_LEN + 11]);
                try_decode(signed_rec, SECURE_CACHEREC_LEN, n, t, t >> 8);
                try_decode(signed_rec, SECURE_CACHEREC_LEN, be64(data + SECURE_CACHEREC_BODY_LEN), INT64_MAX,
                           INT64_MIN);
            }
            free(signed_rec);
        }
    }
    free(copy);
    return 0;
}
