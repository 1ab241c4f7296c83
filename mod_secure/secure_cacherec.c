/* secure_cacherec — one verdict-cache record, authenticated. A shared cache (memcache, redis) is written by
 * whoever can reach it, so a record is believed only when its HMAC, computed with a secret the fleet shares,
 * covers both the value and the id it was read under: a forged, altered or moved record is refused before
 * any of its fields is looked at.
 *
 * Layout (SECURE_CACHEREC_LEN bytes, integers big-endian):
 *   0      version (SECURE_CACHEREC_VERSION)
 *   1      status: 'G', 'R' or 'U'
 *   2      source: index into secure_cacherec_source_names
 *   3      reason: CRLReason as a signed byte, -1 for none
 *   4..11  revoked-at, seconds since the epoch (signed 64-bit; 0 unless revoked)
 *   12..19 expires, seconds since the epoch (signed 64-bit)
 *   20..51 HMAC-SHA256(key, id || bytes 0..19) */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "secure_cacherec.h"

#define CACHEREC_ID_LABEL "mod_secure-revocation-id-v2"
/* Inputs beyond this (about 34,000 years) are refused, so now + TTL + skew cannot overflow and seconds
 * convert to microseconds (apr_time_t) safely. */
#define CACHEREC_TIME_MAX ((int64_t)1 << 40)

const char *const secure_cacherec_source_names[] = { "crl", "denylist", "ocsp", "cache", "crl-fetch", NULL };

int secure_cacherec_source_index(const char *name)
{
    int i;

    for (i = 0; name != NULL && secure_cacherec_source_names[i] != NULL; i++)
        if (!strcmp(name, secure_cacherec_source_names[i]))
            return i;
    return -1;
}

const char *secure_cacherec_strerror(secure_cacherec_rc rc)
{
    static const char *const words[] = {
        [SECURE_CACHEREC_OK] = "it is valid",
        [SECURE_CACHEREC_E_LENGTH] = "it has the wrong length",
        [SECURE_CACHEREC_E_VERSION] = "it has an unknown format version",
        [SECURE_CACHEREC_E_MAC] = ("its MAC does not match (altered, written with another "
                                   "SecureRevocationCacheKey, or copied from another certificate's entry)"),
        [SECURE_CACHEREC_E_FIELD] = "a field is out of range",
        [SECURE_CACHEREC_E_TOO_LONG] = "it claims to stay valid longer than the configured TTL allows",
        [SECURE_CACHEREC_E_EXPIRED] = "it has expired",
        [SECURE_CACHEREC_E_ARG] = "the lookup arguments are invalid",
        [SECURE_CACHEREC_E_CRYPTO] = "its MAC could not be computed",
    };

    if ((unsigned)rc >= sizeof(words) / sizeof(words[0]) || words[rc] == NULL)
        return "unknown error";
    return words[rc];
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put_be64(unsigned char *p, int64_t sv)
{
    uint64_t v = (uint64_t)sv;
    int i;

    for (i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static int64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    /* two's complement without implementation-defined conversion */
    return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

static int digest_part(EVP_MD_CTX *md, const unsigned char *data, size_t len)
{
    unsigned char be[4];

    if (len > UINT32_MAX)
        return 0;
    put_be32(be, (uint32_t)len);
    return EVP_DigestUpdate(md, be, sizeof(be)) && (len == 0 || EVP_DigestUpdate(md, data, len));
}

int secure_cacherec_id(const unsigned char ctx[SECURE_CACHEREC_CTX_LEN], const unsigned char *issuer_name,
                       size_t name_len, const unsigned char *issuer_key, size_t key_len,
                       const unsigned char *serial, size_t serial_len, char out[SECURE_CACHEREC_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0, i;
    EVP_MD_CTX *md = NULL;
    int rc = -1;

    if (ctx == NULL || issuer_name == NULL || name_len == 0 || issuer_key == NULL || key_len == 0
        || serial == NULL || serial_len == 0 || out == NULL)
        return -1;
    if ((md = EVP_MD_CTX_new()) == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)
        || !EVP_DigestUpdate(md, CACHEREC_ID_LABEL, sizeof(CACHEREC_ID_LABEL) - 1)
        || !EVP_DigestUpdate(md, ctx, SECURE_CACHEREC_CTX_LEN)
        || !digest_part(md, issuer_name, name_len) || !digest_part(md, issuer_key, key_len)
        || !digest_part(md, serial, serial_len) || !EVP_DigestFinal_ex(md, d, &dlen)
        || dlen * 2 != SECURE_CACHEREC_ID_LEN)
        goto cleanup;
    for (i = 0; i < dlen; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 0x0f];
    }
    out[SECURE_CACHEREC_ID_LEN] = '\0';
    rc = 0;
cleanup:
    EVP_MD_CTX_free(md);
    return rc;
}

int secure_cacherec_mac(const unsigned char *key, size_t key_len, const char *id, size_t id_len,
                        const unsigned char *body, size_t body_len,
                        unsigned char out[SECURE_CACHEREC_MAC_LEN])
{
    OSSL_PARAM params[2];
    EVP_MAC *mac = NULL;
    EVP_MAC_CTX *mctx = NULL;
    size_t outlen = 0;
    int rc = -1;

    if (key == NULL || key_len == 0 || id == NULL || body == NULL || out == NULL)
        return -1;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (mctx = EVP_MAC_CTX_new(mac)) == NULL
        || !EVP_MAC_init(mctx, key, key_len, params)
        || !EVP_MAC_update(mctx, (const unsigned char *)id, id_len)
        || !EVP_MAC_update(mctx, body, body_len)
        || !EVP_MAC_final(mctx, out, &outlen, SECURE_CACHEREC_MAC_LEN) || outlen != SECURE_CACHEREC_MAC_LEN)
        goto cleanup;
    rc = 0;
cleanup:
    EVP_MAC_CTX_free(mctx);
    EVP_MAC_free(mac);
    return rc;
}

static int key_args_ok(const unsigned char *key, size_t key_len, const char *id, size_t id_len)
{
    return key != NULL && key_len >= SECURE_CACHEREC_KEY_MIN && key_len <= SECURE_CACHEREC_KEY_MAX
           && id != NULL && id_len == SECURE_CACHEREC_ID_LEN;
}

static int status_ok(char status)
{
    return status == 'G' || status == 'R' || status == 'U';
}

static int source_ok(int source)
{
    return source >= 0
           && (size_t)source < sizeof(secure_cacherec_source_names) / sizeof(secure_cacherec_source_names[0]) - 1;
}

secure_cacherec_rc secure_cacherec_encode(const unsigned char *key, size_t key_len, const char *id, size_t id_len,
                                          const secure_cacherec_t *rec, unsigned char out[SECURE_CACHEREC_LEN])
{
    int64_t revoked_at;

    if (!key_args_ok(key, key_len, id, id_len) || rec == NULL || out == NULL)
        return SECURE_CACHEREC_E_ARG;
    revoked_at = rec->status == 'R' ? rec->revoked_at : 0;
    if (!status_ok(rec->status) || !source_ok(rec->source) || rec->reason < -1
        || rec->reason > SECURE_CACHEREC_REASON_MAX || revoked_at < 0 || revoked_at > CACHEREC_TIME_MAX
        || rec->expires <= 0 || rec->expires > CACHEREC_TIME_MAX)
        return SECURE_CACHEREC_E_FIELD;
    out[0] = SECURE_CACHEREC_VERSION;
    out[1] = (unsigned char)rec->status;
    out[2] = (unsigned char)rec->source;
    out[3] = (unsigned char)(rec->reason & 0xff);
    put_be64(out + 4, revoked_at);
    put_be64(out + 12, rec->expires);
    if (secure_cacherec_mac(key, key_len, id, id_len, out, SECURE_CACHEREC_BODY_LEN,
                            out + SECURE_CACHEREC_BODY_LEN) != 0)
        return SECURE_CACHEREC_E_CRYPTO;
    return SECURE_CACHEREC_OK;
}

secure_cacherec_rc secure_cacherec_decode(const unsigned char *key, size_t key_len, const char *id, size_t id_len,
                                          const unsigned char *in, size_t in_len, int64_t now, int64_t ttl,
                                          int64_t unknown_ttl, secure_cacherec_t *out)
{
    unsigned char mac[SECURE_CACHEREC_MAC_LEN];
    secure_cacherec_t r;

    if (!key_args_ok(key, key_len, id, id_len) || in == NULL || out == NULL || now < 0
        || now > CACHEREC_TIME_MAX || ttl < 0 || ttl > CACHEREC_TIME_MAX || unknown_ttl < 0
        || unknown_ttl > CACHEREC_TIME_MAX)
        return SECURE_CACHEREC_E_ARG;
    if (in_len != SECURE_CACHEREC_LEN)
        return SECURE_CACHEREC_E_LENGTH;
    if (in[0] != SECURE_CACHEREC_VERSION)
        return SECURE_CACHEREC_E_VERSION;
    if (secure_cacherec_mac(key, key_len, id, id_len, in, SECURE_CACHEREC_BODY_LEN, mac) != 0)
        return SECURE_CACHEREC_E_CRYPTO;
    if (CRYPTO_memcmp(mac, in + SECURE_CACHEREC_BODY_LEN, SECURE_CACHEREC_MAC_LEN) != 0)
        return SECURE_CACHEREC_E_MAC;
    r.status = (char)in[1];
    r.source = in[2];
    r.reason = in[3] == 0xff ? -1 : (int)in[3];
    r.revoked_at = get_be64(in + 4);
    r.expires = get_be64(in + 12);
    if (!status_ok(r.status) || !source_ok(r.source) || r.reason > SECURE_CACHEREC_REASON_MAX
        || r.revoked_at < 0 || (r.status != 'R' && r.revoked_at != 0)
        || r.revoked_at > now + SECURE_CACHEREC_SKEW || r.expires <= 0)
        return SECURE_CACHEREC_E_FIELD;
    /* beyond CACHEREC_TIME_MAX too (the encoder's bound: what decodes also re-encodes, even at now = max) */
    if (r.expires > CACHEREC_TIME_MAX
        || r.expires > now + (r.status == 'U' ? unknown_ttl : ttl) + SECURE_CACHEREC_SKEW)
        return SECURE_CACHEREC_E_TOO_LONG;
    if (r.expires <= now)
        return SECURE_CACHEREC_E_EXPIRED;
    *out = r;
    return SECURE_CACHEREC_OK;
}
