/* Unit tests of secure_cacherec: the verdict cache's record is believed only when its MAC, made with the
 * fleet's key over (id || value), matches and every field is in range (issue 9, finding 2). */
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "secure_cacherec.h"

void test_cacherec(void);

#define NOW      INT64_C(1700000000)
#define TTL      3600
#define UTTL     30

static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char other_key[32] = "0123456789abcdef0123456789abcdeF";

static void make_ids(char id_a[SECURE_CACHEREC_ID_LEN + 1], char id_b[SECURE_CACHEREC_ID_LEN + 1])
{
    static const unsigned char ctx[SECURE_CACHEREC_CTX_LEN] = { 1 };
    static const unsigned char name[] = { 0x30, 0x03, 0x31, 0x01, 0x00 };
    static const unsigned char pub[] = { 0x04, 0xaa, 0xbb };
    static const unsigned char serial_a[] = { 0x02, 0x01, 0x07 }, serial_b[] = { 0x02, 0x01, 0x08 };

    secure_cacherec_id(ctx, name, sizeof(name), pub, sizeof(pub), serial_a, sizeof(serial_a), id_a);
    secure_cacherec_id(ctx, name, sizeof(name), pub, sizeof(pub), serial_b, sizeof(serial_b), id_b);
}

/* A body with arbitrary fields, authenticated with key under id (what a key holder could write). */
static void sign_raw(unsigned char rec[SECURE_CACHEREC_LEN], const char *id, char status, unsigned char reason,
                     int64_t revoked_at, int64_t expires)
{
    uint64_t r = (uint64_t)revoked_at, e = (uint64_t)expires;
    int i;

    rec[0] = SECURE_CACHEREC_VERSION;
    rec[1] = (unsigned char)status;
    rec[2] = 2;
    rec[3] = reason;
    for (i = 7; i >= 0; i--, r >>= 8, e >>= 8) {
        rec[4 + i] = (unsigned char)r;
        rec[12 + i] = (unsigned char)e;
    }
    secure_cacherec_mac(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, rec, SECURE_CACHEREC_BODY_LEN,
                        rec + SECURE_CACHEREC_BODY_LEN);
}

static secure_cacherec_rc dec(const unsigned char *k, const char *id, const unsigned char *rec, size_t len,
                              secure_cacherec_t *out)
{
    return secure_cacherec_decode(k, 32, id, SECURE_CACHEREC_ID_LEN, rec, len, NOW, TTL, UTTL, out);
}

static void test_ids(void)
{
    static const unsigned char ctx1[SECURE_CACHEREC_CTX_LEN] = { 1 }, ctx2[SECURE_CACHEREC_CTX_LEN] = { 2 };
    static const unsigned char ab[] = "AB", c[] = "C", a[] = "A", bc[] = "BC", s[] = { 2, 1, 5 };
    char x[SECURE_CACHEREC_ID_LEN + 1], y[SECURE_CACHEREC_ID_LEN + 1], z[SECURE_CACHEREC_ID_LEN + 1];
    size_t i;
    int hex = 1;

    ok(secure_cacherec_id(ctx1, ab, 2, c, 1, s, 3, x) == 0, "id: computed");
    is_int(strlen(x), SECURE_CACHEREC_ID_LEN, "id: 64 characters");
    for (i = 0; i < strlen(x); i++)
        hex &= (x[i] >= '0' && x[i] <= '9') || (x[i] >= 'a' && x[i] <= 'f');
    ok(hex, "id: lower-case hex");
    secure_cacherec_id(ctx1, ab, 2, c, 1, s, 3, y);
    is_str(x, y, "id: same inputs, same id (every server of a fleet agrees)");
    secure_cacherec_id(ctx2, ab, 2, c, 1, s, 3, y);
    ok(strcmp(x, y) != 0, "id: another trust context gives another id");
    secure_cacherec_id(ctx1, a, 1, bc, 2, s, 3, z);
    ok(strcmp(x, z) != 0, "id: parts are length-prefixed (name AB + key C != name A + key BC)");
    ok(secure_cacherec_id(ctx1, ab, 0, c, 1, s, 3, y) == -1, "id: empty issuer name refused");
    ok(secure_cacherec_id(NULL, ab, 2, c, 1, s, 3, y) == -1, "id: missing context refused");
}

static void test_good_and_tampered(const char *id_a, const char *id_b)
{
    secure_cacherec_t in = { 'G', 2, -1, 0, NOW + 600 }, out;
    unsigned char rec[SECURE_CACHEREC_LEN], bad[SECURE_CACHEREC_LEN + 1];
    int i, all_refused = 1, any_accepted_other = 0;
    size_t n;

    is_int(secure_cacherec_encode(key, sizeof(key), id_a, SECURE_CACHEREC_ID_LEN, &in, rec), SECURE_CACHEREC_OK,
           "encode GOOD");
    is_int(rec[0], SECURE_CACHEREC_VERSION, "first byte is the version");
    memset(&out, 0, sizeof(out));
    is_int(dec(key, id_a, rec, sizeof(rec), &out), SECURE_CACHEREC_OK, "good record decodes");
    ok(out.status == 'G' && out.source == 2 && out.reason == -1 && out.revoked_at == 0 && out.expires == NOW + 600,
       "good record: every field round-trips");

    /* every single-bit change anywhere in the record is refused */
    for (i = 0; i < SECURE_CACHEREC_LEN * 8; i++) {
        secure_cacherec_rc rc;
        memcpy(bad, rec, sizeof(rec));
        bad[i / 8] ^= (unsigned char)(1u << (i % 8));
        rc = dec(key, id_a, bad, sizeof(rec), &out);
        if (rc != SECURE_CACHEREC_E_MAC && rc != SECURE_CACHEREC_E_VERSION) {
            all_refused = 0;
            diag("bit %d flipped: rc %d", i, (int)rc);
        }
    }
    ok(all_refused, "each of the %d single-bit flips is refused (MAC or version)", SECURE_CACHEREC_LEN * 8);

    is_int(dec(other_key, id_a, rec, sizeof(rec), &out), SECURE_CACHEREC_E_MAC, "wrong key: refused");
    is_int(dec(key, id_b, rec, sizeof(rec), &out), SECURE_CACHEREC_E_MAC,
           "GOOD record copied to another certificate's id: refused");
    for (n = 0; n < SECURE_CACHEREC_LEN; n++)
        if (dec(key, id_a, rec, n, &out) != SECURE_CACHEREC_E_LENGTH)
            any_accepted_other = 1;
    ok(!any_accepted_other, "every truncation (0..%d bytes) refused as a length error", SECURE_CACHEREC_LEN - 1);
    memcpy(bad, rec, sizeof(rec));
    bad[SECURE_CACHEREC_LEN] = 0;
    is_int(dec(key, id_a, bad, sizeof(bad), &out), SECURE_CACHEREC_E_LENGTH, "one byte too long: refused");

    memcpy(bad, rec, sizeof(rec));
    bad[0] = 1;
    is_int(dec(key, id_a, bad, sizeof(rec), &out), SECURE_CACHEREC_E_VERSION, "wrong version: refused");
    memcpy(bad, "v1 G ocsp -1 0 1700000600", 25);
    is_int(dec(key, id_a, bad, 25, &out), SECURE_CACHEREC_E_LENGTH, "an old v1 text record: refused");
    memset(bad, 0, sizeof(bad));
    bad[0] = SECURE_CACHEREC_VERSION;
    bad[1] = 'G';
    is_int(dec(key, id_a, bad, SECURE_CACHEREC_LEN, &out), SECURE_CACHEREC_E_MAC,
           "well-formed GOOD with a zero MAC: refused");
}

static void test_ranges(const char *id)
{
    secure_cacherec_t out;
    unsigned char rec[SECURE_CACHEREC_LEN];

    sign_raw(rec, id, 'G', 0xff, 0, INT64_MAX);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_TOO_LONG, "authentic, expires INT64_MAX: refused");
    sign_raw(rec, id, 'G', 0xff, 0, NOW + TTL + SECURE_CACHEREC_SKEW + 1);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_TOO_LONG, "expires beyond now + TTL + skew: refused");
    sign_raw(rec, id, 'G', 0xff, 0, NOW + TTL + SECURE_CACHEREC_SKEW);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_OK, "expires at now + TTL + skew: accepted");
    sign_raw(rec, id, 'U', 0xff, 0, NOW + UTTL + SECURE_CACHEREC_SKEW + 1);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_TOO_LONG, "UNKNOWN beyond the unknown TTL: refused");
    sign_raw(rec, id, 'R', 1, NOW - 86400, NOW + 60);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_OK, "REVOKED with a reason and a date: accepted");
    ok(out.status == 'R' && out.reason == 1 && out.revoked_at == NOW - 86400, "REVOKED fields read back");
    sign_raw(rec, id, 'G', 0xff, 0, NOW);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_EXPIRED, "expires == now: an expired miss");
    sign_raw(rec, id, 'G', 0xff, 0, -1);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_FIELD, "negative expires: refused");
    sign_raw(rec, id, 'G', 0xff, 0, INT64_MIN);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_FIELD, "expires INT64_MIN: refused");
    sign_raw(rec, id, 'R', 0xff, -1, NOW + 60);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_FIELD, "negative revoked-at: refused");
    sign_raw(rec, id, 'R', 0xff, INT64_MAX, NOW + 60);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_FIELD, "revoked-at in the far future: refused");
    sign_raw(rec, id, 'G', 0xff, NOW - 10, NOW + 60);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_FIELD, "GOOD with a revocation date: refused");
    sign_raw(rec, id, 'G', 0xfe, 0, NOW + 60);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_FIELD, "reason -2: refused");
    sign_raw(rec, id, 'G', 11, 0, NOW + 60);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_FIELD, "reason 11: refused");
    sign_raw(rec, id, 'X', 0xff, 0, NOW + 60);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_FIELD, "status X: refused");
    rec[2] = 5;
    secure_cacherec_mac(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, rec, SECURE_CACHEREC_BODY_LEN,
                        rec + SECURE_CACHEREC_BODY_LEN);
    rec[1] = 'G';
    secure_cacherec_mac(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, rec, SECURE_CACHEREC_BODY_LEN,
                        rec + SECURE_CACHEREC_BODY_LEN);
    is_int(dec(key, id, rec, sizeof(rec), &out), SECURE_CACHEREC_E_FIELD, "source index out of the table: refused");
}

static void test_args(const char *id)
{
    secure_cacherec_t in = { 'G', 2, -1, 0, NOW + 60 }, out;
    unsigned char rec[SECURE_CACHEREC_LEN];

    is_int(secure_cacherec_encode(key, 31, id, SECURE_CACHEREC_ID_LEN, &in, rec), SECURE_CACHEREC_E_ARG,
           "encode: a 31-byte key is refused");
    is_int(secure_cacherec_encode(key, sizeof(key), id, 10, &in, rec), SECURE_CACHEREC_E_ARG,
           "encode: a short id is refused");
    in.expires = 0;
    is_int(secure_cacherec_encode(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, &in, rec), SECURE_CACHEREC_E_FIELD,
           "encode: expires 0 refused");
    in.expires = NOW + 60;
    in.reason = 12;
    is_int(secure_cacherec_encode(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, &in, rec), SECURE_CACHEREC_E_FIELD,
           "encode: reason 12 refused");
    in.reason = -1;
    in.source = 9;
    is_int(secure_cacherec_encode(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, &in, rec), SECURE_CACHEREC_E_FIELD,
           "encode: unknown source refused");
    in.source = 2;
    in.revoked_at = 12345;
    is_int(secure_cacherec_encode(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, &in, rec), SECURE_CACHEREC_OK,
           "encode: GOOD with a stray revocation date is written ...");
    ok(dec(key, id, rec, sizeof(rec), &out) == SECURE_CACHEREC_OK && out.revoked_at == 0, "... with revoked-at 0");
    is_int(secure_cacherec_decode(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, rec, sizeof(rec), -1, TTL, UTTL, &out),
           SECURE_CACHEREC_E_ARG, "decode: negative now refused");
    is_int(secure_cacherec_decode(key, sizeof(key), id, SECURE_CACHEREC_ID_LEN, rec, sizeof(rec), NOW, INT64_MAX, UTTL,
                                  &out), SECURE_CACHEREC_E_ARG, "decode: TTL INT64_MAX refused (no overflow)");
    is_int(secure_cacherec_source_index("crl-fetch"), 4, "source index of crl-fetch");
    is_int(secure_cacherec_source_index("nope"), -1, "source index of an unknown name");
    ok(strstr(secure_cacherec_strerror(SECURE_CACHEREC_E_MAC), "MAC") != NULL, "strerror names the MAC");
    is_str(secure_cacherec_strerror((secure_cacherec_rc)99), "unknown error", "strerror of an unknown code");
}

void test_cacherec(void)
{
    char id_a[SECURE_CACHEREC_ID_LEN + 1], id_b[SECURE_CACHEREC_ID_LEN + 1];

    make_ids(id_a, id_b);
    test_ids();
    test_good_and_tampered(id_a, id_b);
    test_ranges(id_a);
    test_args(id_a);
}
