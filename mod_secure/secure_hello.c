/* secure_hello — ClientHello parser and JA3 / JA4 fingerprints (see secure_hello.h).
 *
 * The input comes straight off the network (via OpenSSL's msg callback, before OpenSSL has validated
 * anything we look at), so every length is checked against the bytes that are really there before it
 * is used, and every list is bounded by the fixed arrays in secure_hello_t. This code neither allocates
 * (only OpenSSL does, inside EVP_Digest) nor keeps state between calls, so any httpd thread may call it. */
#include "secure_hello.h"

#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <pthread.h>

/* ---------------------------------------------------------------------------------------------- */
/* Bounds-checked reader                                                                          */
/* ---------------------------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    size_t len;
    size_t off;
} rd_t;

static size_t rd_left(const rd_t *r)
{
    return r->len - r->off;
}

static int rd_u8(rd_t *r, unsigned *v)
{
    if (rd_left(r) < 1)
        return 0;
    *v = r->p[r->off];
    r->off += 1;
    return 1;
}

static int rd_u16(rd_t *r, unsigned *v)
{
    if (rd_left(r) < 2)
        return 0;
    *v = ((unsigned)r->p[r->off] << 8) | r->p[r->off + 1];
    r->off += 2;
    return 1;
}

static int rd_skip(rd_t *r, size_t n)
{
    if (rd_left(r) < n)
        return 0;
    r->off += n;
    return 1;
}

/* Carves the next n bytes out as their own reader, so a list parser can never wander past its
 * declared end into the next field. */
static int rd_sub(rd_t *r, size_t n, rd_t *sub)
{
    if (rd_left(r) < n)
        return 0;
    sub->p = r->p + r->off;
    sub->len = n;
    sub->off = 0;
    r->off += n;
    return 1;
}

/* RFC 8701: 0x?A?A with both bytes equal. */
static int is_grease(unsigned v)
{
    return (v & 0x0f0fu) == 0x0a0au && (v >> 8) == (v & 0xffu);
}

#define FAIL(code, text)                                                                             \
    do {                                                                                             \
        if (why)                                                                                     \
            *why = (text);                                                                           \
        return (code);                                                                               \
    } while (0)

/* ---------------------------------------------------------------------------------------------- */
/* Extension bodies                                                                               */
/* ---------------------------------------------------------------------------------------------- */

/* Reads a list of 16-bit values whose byte length is a prefix of `prefix` bytes (1 or 2) that must
 * cover the whole extension body exactly; GREASE values are dropped, the rest appended to out[]. */
static int parse_u16_list(rd_t *e, size_t prefix, size_t min_bytes, uint16_t *out, size_t *n, size_t max,
                          const char *what_malformed, const char *what_toolarge, const char **why)
{
    unsigned blen, v;
    int ok = prefix == 1 ? rd_u8(e, &blen) : rd_u16(e, &blen);

    if (!ok || blen != rd_left(e) || blen < min_bytes || (blen & 1u))
        FAIL(SECURE_HELLO_MALFORMED, what_malformed);
    /* The even length checked above means the loop consumes the list exactly. */
    while (rd_u16(e, &v)) {
        if (is_grease(v))
            continue;
        if (*n >= max)
            FAIL(SECURE_HELLO_TOO_LARGE, what_toolarge);
        out[(*n)++] = (uint16_t)v;
    }
    return SECURE_HELLO_OK;
}

/* Host names end up in logs and environment variables: anything but the characters DNS names
 * (and their punycode form) use is left out rather than escaped, since it is not a usable name. */
static int sni_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
        || c == '_';
}

static int parse_sni(rd_t *e, secure_hello_t *h, const char **why)
{
    unsigned blen;
    rd_t list;

    /* RFC 6066 requires at least one entry in a ClientHello; OpenSSL refuses an empty one too. */
    if (!rd_u16(e, &blen) || blen != rd_left(e) || blen < 1 || !rd_sub(e, blen, &list))
        FAIL(SECURE_HELLO_MALFORMED, "server_name extension: list length does not match the extension");
    while (rd_left(&list)) {
        unsigned type, nlen;
        const unsigned char *name;
        if (!rd_u8(&list, &type) || !rd_u16(&list, &nlen) || nlen > rd_left(&list))
            FAIL(SECURE_HELLO_MALFORMED, "server_name extension: a name runs past the end of its list");
        name = list.p + list.off;
        (void)rd_skip(&list, nlen);
        if (type == 0 && h->sni[0] == '\0' && nlen > 0 && nlen < sizeof h->sni) {
            size_t i;
            for (i = 0; i < nlen && sni_char_ok(name[i]); i++)
                ;
            if (i == nlen) {
                memcpy(h->sni, name, nlen);
                h->sni[nlen] = '\0';
            }
        }
    }
    return SECURE_HELLO_OK;
}

static int parse_alpn(rd_t *e, secure_hello_t *h, const char **why)
{
    unsigned blen;

    if (!rd_u16(e, &blen) || blen != rd_left(e) || blen < 2)
        FAIL(SECURE_HELLO_MALFORMED, "ALPN extension: list length does not match the extension");
    while (rd_left(e)) {
        unsigned plen;
        if (!rd_u8(e, &plen) || plen == 0 || plen > rd_left(e))
            FAIL(SECURE_HELLO_MALFORMED, "ALPN extension: empty protocol name or one that runs past the list");
        if (h->n_alpn >= SECURE_HELLO_MAX_ALPN || plen > sizeof h->alpn_buf - h->alpn_buf_len)
            FAIL(SECURE_HELLO_TOO_LARGE, "ALPN extension: too many protocols offered");
        memcpy(h->alpn_buf + h->alpn_buf_len, e->p + e->off, plen);
        h->alpn_off[h->n_alpn] = (uint16_t)h->alpn_buf_len;
        h->alpn_len[h->n_alpn] = (uint8_t)plen;
        h->alpn_buf_len += plen;
        h->n_alpn++;
        (void)rd_skip(e, plen);
    }
    return SECURE_HELLO_OK;
}

static int parse_pformats(rd_t *e, secure_hello_t *h, const char **why)
{
    unsigned blen;

    if (!rd_u8(e, &blen) || blen != rd_left(e) || blen < 1)
        FAIL(SECURE_HELLO_MALFORMED, "ec_point_formats extension: list length does not match the extension");
    if (blen > SECURE_HELLO_MAX_PFORMATS)
        FAIL(SECURE_HELLO_TOO_LARGE, "ec_point_formats extension: too many point formats");
    memcpy(h->pformats, e->p + e->off, blen);
    h->n_pformats = blen;
    return SECURE_HELLO_OK;
}

static int parse_extension(unsigned type, rd_t *e, secure_hello_t *h, const char **why)
{
    switch (type) {
    case 0:
        h->has_sni = 1;
        return parse_sni(e, h, why);
    case 10:
        return parse_u16_list(e, 2, 2, h->groups, &h->n_groups, SECURE_HELLO_MAX_GROUPS,
                              "supported_groups extension: bad list length",
                              "supported_groups extension: too many groups", why);
    case 11:
        return parse_pformats(e, h, why);
    case 13:
        return parse_u16_list(e, 2, 2, h->sigalgs, &h->n_sigalgs, SECURE_HELLO_MAX_SIGALGS,
                              "signature_algorithms extension: bad list length",
                              "signature_algorithms extension: too many algorithms", why);
    case 16:
        return parse_alpn(e, h, why);
    case 43:
        return parse_u16_list(e, 1, 2, h->versions, &h->n_versions, SECURE_HELLO_MAX_VERSIONS,
                              "supported_versions extension: bad list length",
                              "supported_versions extension: too many versions", why);
    default:
        return SECURE_HELLO_OK;
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* The message                                                                                    */
/* ---------------------------------------------------------------------------------------------- */

int secure_hello_parse(const unsigned char *msg, size_t len, secure_hello_t *h, const char **why)
{
    rd_t r, list, exts;
    unsigned v, blen;
    size_t declared;
    /* Duplicate detection has to see GREASE types too (two identical GREASE extensions are just as
     * forbidden), so it keeps its own list of every type seen; its bound is generous enough for any
     * real client and small enough that the quadratic check stays cheap on hostile input. */
    uint16_t seen[2 * SECURE_HELLO_MAX_EXTS];
    size_t n_seen = 0;

    if (why)
        *why = "ok";
    if (h == NULL)
        FAIL(SECURE_HELLO_MALFORMED, "no result structure");
    memset(h, 0, sizeof *h);
    if (msg == NULL || len < 4)
        FAIL(SECURE_HELLO_TRUNCATED, "shorter than a handshake message header");
    if (msg[0] != 1)
        FAIL(SECURE_HELLO_MALFORMED, "not a ClientHello (handshake type is not 1)");
    /* The module copies at most this much per connection; refusing larger input here keeps the
     * contract the same whether the bytes come from the module, a test or the fuzzer. */
    if (len > SECURE_HELLO_MAX_LEN)
        FAIL(SECURE_HELLO_TOO_LARGE, "ClientHello larger than SECURE_HELLO_MAX_LEN");
    declared = ((size_t)msg[1] << 16) | ((size_t)msg[2] << 8) | msg[3];
    if (declared > len - 4)
        FAIL(SECURE_HELLO_TRUNCATED, "message shorter than its handshake length says");
    if (declared < len - 4)
        FAIL(SECURE_HELLO_MALFORMED, "bytes after the end of the ClientHello");

    r.p = msg + 4;
    r.len = declared;
    r.off = 0;

    if (!rd_u16(&r, &v) || !rd_skip(&r, 32))
        FAIL(SECURE_HELLO_TRUNCATED, "message ends inside version or random");
    h->legacy_version = (uint16_t)v;

    if (!rd_u8(&r, &blen) || !rd_skip(&r, blen))
        FAIL(SECURE_HELLO_TRUNCATED, "message ends inside the session id");
    if (blen > 32)
        FAIL(SECURE_HELLO_MALFORMED, "session id longer than 32 bytes");

    if (!rd_u16(&r, &blen) || !rd_sub(&r, blen, &list))
        FAIL(SECURE_HELLO_TRUNCATED, "message ends inside the cipher suite list");
    if (blen < 2 || (blen & 1u))
        FAIL(SECURE_HELLO_MALFORMED, "cipher suite list empty or of odd length");
    while (rd_u16(&list, &v)) {
        if (is_grease(v))
            continue;
        if (h->n_ciphers >= SECURE_HELLO_MAX_CIPHERS)
            FAIL(SECURE_HELLO_TOO_LARGE, "too many cipher suites");
        h->ciphers[h->n_ciphers++] = (uint16_t)v;
    }

    if (!rd_u8(&r, &blen) || !rd_skip(&r, blen))
        FAIL(SECURE_HELLO_TRUNCATED, "message ends inside the compression methods");
    if (blen < 1)
        FAIL(SECURE_HELLO_MALFORMED, "no compression method");

    /* Hellos from before extensions existed (SSLv3, early TLS 1.0 stacks) end here, and RFC 5246
     * still allows it, so a missing extensions block is not an error. */
    if (rd_left(&r) == 0)
        return SECURE_HELLO_OK;

    if (!rd_u16(&r, &blen))
        FAIL(SECURE_HELLO_TRUNCATED, "message ends inside the extensions length");
    if (blen > rd_left(&r))
        FAIL(SECURE_HELLO_TRUNCATED, "extensions run past the end of the message");
    if (blen < rd_left(&r))
        FAIL(SECURE_HELLO_MALFORMED, "bytes after the extensions");
    (void)rd_sub(&r, blen, &exts);

    while (rd_left(&exts)) {
        unsigned type, elen;
        rd_t e;
        size_t i;
        int rc;

        if (!rd_u16(&exts, &type) || !rd_u16(&exts, &elen) || !rd_sub(&exts, elen, &e))
            FAIL(SECURE_HELLO_TRUNCATED, "an extension runs past the end of the message");
        for (i = 0; i < n_seen; i++)
            if (seen[i] == type)
                FAIL(SECURE_HELLO_MALFORMED, "the same extension appears twice");
        if (n_seen >= sizeof seen / sizeof seen[0])
            FAIL(SECURE_HELLO_TOO_LARGE, "too many extensions");
        seen[n_seen++] = (uint16_t)type;
        if (is_grease(type))
            continue;
        if (h->n_exts >= SECURE_HELLO_MAX_EXTS)
            FAIL(SECURE_HELLO_TOO_LARGE, "too many extensions");
        h->exts[h->n_exts++] = (uint16_t)type;
        rc = parse_extension(type, &e, h, why);
        if (rc != SECURE_HELLO_OK)
            return rc;
    }
    return SECURE_HELLO_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* String building                                                                                */
/* ---------------------------------------------------------------------------------------------- */

/* Appends never write past cap-1; once something does not fit the builder stays failed, so the
 * formatters can append unconditionally and check once at the end. */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    int overflow;
} sb_t;

static void sb_init(sb_t *s, char *buf, size_t cap)
{
    s->buf = buf;
    s->cap = cap;
    s->len = 0;
    s->overflow = (buf == NULL || cap == 0);
}

static void sb_putc(sb_t *s, char c)
{
    if (s->overflow || s->len + 1 >= s->cap) {
        s->overflow = 1;
        return;
    }
    s->buf[s->len++] = c;
}

static void sb_puts(sb_t *s, const char *str)
{
    size_t n = strlen(str);
    if (s->overflow || n >= s->cap - s->len) {
        s->overflow = 1;
        return;
    }
    memcpy(s->buf + s->len, str, n);
    s->len += n;
}

static const char hexdig[] = "0123456789abcdef";

static void sb_hex4(sb_t *s, unsigned v)
{
    sb_putc(s, hexdig[(v >> 12) & 0xf]);
    sb_putc(s, hexdig[(v >> 8) & 0xf]);
    sb_putc(s, hexdig[(v >> 4) & 0xf]);
    sb_putc(s, hexdig[v & 0xf]);
}

static void sb_dec(sb_t *s, unsigned v)
{
    char tmp[12];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof tmp);
    while (n)
        sb_putc(s, tmp[--n]);
}

/* NUL-terminates; on overflow leaves "" as the API promises. */
static int sb_finish(sb_t *s)
{
    if (s->buf == NULL || s->cap == 0)
        return -1;
    if (s->overflow) {
        s->buf[0] = '\0';
        return -1;
    }
    s->buf[s->len] = '\0';
    return 0;
}

static void sb_dec_list(sb_t *s, const uint16_t *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (i)
            sb_putc(s, '-');
        sb_dec(s, v[i]);
    }
}

static void sb_hex4_list(sb_t *s, const uint16_t *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (i)
            sb_putc(s, ',');
        sb_hex4(s, v[i]);
    }
}

/* ---- the fingerprint inputs as one key ------------------------------------------------------------ */

typedef struct {
    unsigned char *buf;
    size_t len, size;
    int full;
} key_buf_t;

static void key_put(key_buf_t *k, const void *data, size_t n)
{
    if (n == 0)
        return;
    if (k->full || n > k->size - k->len) {
        k->full = 1;
        return;
    }
    memcpy(k->buf + k->len, data, n);
    k->len += n;
}

/* A count then its items, so lists of different lengths never run into each other. */
static void key_list(key_buf_t *k, const void *items, size_t n, size_t item_size)
{
    uint16_t count = (uint16_t)n;

    key_put(k, &count, sizeof(count));
    key_put(k, items, n * item_size);
}

size_t secure_hello_fact_key(const secure_hello_t *h, unsigned char *buf, size_t bufsz)
{
    key_buf_t k = { buf, 0, bufsz, 0 };
    unsigned char sni = h->has_sni ? 1 : 0;
    size_t i;

    key_put(&k, &h->legacy_version, sizeof(h->legacy_version));
    key_put(&k, &sni, 1);
    key_list(&k, h->ciphers, h->n_ciphers, sizeof(h->ciphers[0]));
    key_list(&k, h->exts, h->n_exts, sizeof(h->exts[0]));
    key_list(&k, h->groups, h->n_groups, sizeof(h->groups[0]));
    key_list(&k, h->sigalgs, h->n_sigalgs, sizeof(h->sigalgs[0]));
    key_list(&k, h->versions, h->n_versions, sizeof(h->versions[0]));
    key_list(&k, h->pformats, h->n_pformats, sizeof(h->pformats[0]));
    key_list(&k, NULL, h->n_alpn, 0);
    for (i = 0; i < h->n_alpn; i++)
        key_list(&k, h->alpn_buf + h->alpn_off[i], h->alpn_len[i], 1);
    return k.full ? 0 : k.len;
}

/* EVP_md5()/EVP_sha256() make OpenSSL 3 look the algorithm up in the provider tables on every digest,
 * which was most of a hello's cost (callgrind: ~2.2k of ~37k instructions per call). Fetch each once per
 * process; fall back to the implicit lookup if an explicit fetch is refused. */
static EVP_MD *hello_md5, *hello_sha256;
static pthread_once_t hello_md_once = PTHREAD_ONCE_INIT;

static void hello_md_fetch(void)
{
    hello_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    hello_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *md_md5(void)
{
    pthread_once(&hello_md_once, hello_md_fetch);
    return hello_md5 ? hello_md5 : EVP_md5();
}

static const EVP_MD *md_sha256(void)
{
    pthread_once(&hello_md_once, hello_md_fetch);
    return hello_sha256 ? hello_sha256 : EVP_sha256();
}

/* Lower-case hex of a digest, truncated to `chars` characters. */
static int digest_hex(const EVP_MD *md, const char *data, size_t len, char *out, size_t chars)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    size_t i;

    if (!EVP_Digest(data, len, d, &dlen, md, NULL) || (size_t)dlen * 2 < chars)
        return -1;
    for (i = 0; i < chars; i++)
        out[i] = hexdig[(d[i / 2] >> ((i & 1) ? 0 : 4)) & 0xf];
    out[chars] = '\0';
    return 0;
}

/* Insertion sort: the lists are short (tens of entries) and bounded, and it needs no scratch. */
static void sort_u16(uint16_t *v, size_t n)
{
    size_t i, j;
    for (i = 1; i < n; i++) {
        uint16_t x = v[i];
        for (j = i; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* JA3                                                                                            */
/* ---------------------------------------------------------------------------------------------- */

/* Longest possible JA3 string: every list full of 5-digit values plus separators. */
#define JA3_MAX (5 + 4 + 6 * (SECURE_HELLO_MAX_CIPHERS + SECURE_HELLO_MAX_EXTS + SECURE_HELLO_MAX_GROUPS) \
                 + 4 * SECURE_HELLO_MAX_PFORMATS + 1)

int secure_hello_ja3_string(const secure_hello_t *h, char *buf, size_t bufsz)
{
    sb_t s;
    size_t i;

    sb_init(&s, buf, bufsz);
    if (h == NULL)
        s.overflow = 1;
    else {
        sb_dec(&s, h->legacy_version);
        sb_putc(&s, ',');
        sb_dec_list(&s, h->ciphers, h->n_ciphers);
        sb_putc(&s, ',');
        sb_dec_list(&s, h->exts, h->n_exts);
        sb_putc(&s, ',');
        sb_dec_list(&s, h->groups, h->n_groups);
        sb_putc(&s, ',');
        for (i = 0; i < h->n_pformats; i++) {
            if (i)
                sb_putc(&s, '-');
            sb_dec(&s, h->pformats[i]);
        }
    }
    return sb_finish(&s);
}

int secure_hello_ja3(const secure_hello_t *h, char *buf, size_t bufsz)
{
    char str[JA3_MAX];

    if (buf == NULL || bufsz == 0)
        return -1;
    buf[0] = '\0';
    if (bufsz < 33 || secure_hello_ja3_string(h, str, sizeof str) != 0)
        return -1;
    if (digest_hex(md_md5(), str, strlen(str), buf, 32) != 0) {
        buf[0] = '\0'; /* MD5 is unavailable when OpenSSL runs in FIPS mode */
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* JA4 (FoxIO technical_details/JA4.md)                                                           */
/* ---------------------------------------------------------------------------------------------- */

static int is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static const char *ja4_version(const secure_hello_t *h)
{
    unsigned v = h->legacy_version;
    size_t i;

    /* The spec takes the highest supported_versions value when the extension is there; one that
     * carried only GREASE leaves nothing to take, so the legacy field is the best remaining signal.
     * Numeric maximum, as the spec says: DTLS code points never reach a TCP listener that works. */
    if (h->n_versions > 0) {
        v = 0;
        for (i = 0; i < h->n_versions; i++)
            if (h->versions[i] > v)
                v = h->versions[i];
    }
    switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    default:     return "00";
    }
}

/* Part a, 10 characters: "t13d1516h2".
 *
 * ALPN characters follow the current spec text, not the reference implementation: when the first or
 * last byte of the first ALPN value is not ASCII alphanumeric, the spec uses the first and last
 * characters of that value's hex encoding (0x30 0xAB -> "3b"), and a one-byte value supplies both
 * characters. FoxIO's Rust tool instead maps non-ASCII characters to '9' and prints "<c>0" for a
 * one-character value, and its Python tool prints "99" when the first byte is above 0x7f, so
 * fingerprints of such (rare, usually hostile) clients differ between implementations. */
static void ja4_a(const secure_hello_t *h, sb_t *s)
{
    size_t nc = h->n_ciphers > 99 ? 99 : h->n_ciphers;
    size_t ne = h->n_exts > 99 ? 99 : h->n_exts;

    sb_putc(s, 't'); /* mod_secure only sees TLS over TCP, never QUIC or DTLS */
    sb_puts(s, ja4_version(h));
    sb_putc(s, h->has_sni ? 'd' : 'i');
    sb_putc(s, (char)('0' + nc / 10));
    sb_putc(s, (char)('0' + nc % 10));
    sb_putc(s, (char)('0' + ne / 10));
    sb_putc(s, (char)('0' + ne % 10));
    if (h->n_alpn == 0 || h->alpn_len[0] == 0) {
        sb_puts(s, "00");
    } else {
        const unsigned char *a = h->alpn_buf + h->alpn_off[0];
        unsigned char first = a[0], last = a[h->alpn_len[0] - 1];
        if (is_alnum(first) && is_alnum(last)) {
            sb_putc(s, (char)first);
            sb_putc(s, (char)last);
        } else {
            sb_putc(s, hexdig[first >> 4]);
            sb_putc(s, hexdig[last & 0xf]);
        }
    }
}

typedef struct {
    uint16_t ciphers[SECURE_HELLO_MAX_CIPHERS];
    size_t n_ciphers;
    uint16_t exts[SECURE_HELLO_MAX_EXTS];
    size_t n_exts;
} ja4_sorted_t;

/* SNI and ALPN are already in part a; leaving them out of part c keeps that part the same for one
 * client whether it connects by name or address, or with another ALPN. */
static void ja4_sort(const secure_hello_t *h, ja4_sorted_t *o)
{
    size_t i;

    memcpy(o->ciphers, h->ciphers, h->n_ciphers * sizeof h->ciphers[0]);
    o->n_ciphers = h->n_ciphers;
    sort_u16(o->ciphers, o->n_ciphers);
    o->n_exts = 0;
    for (i = 0; i < h->n_exts; i++)
        if (h->exts[i] != 0x0000 && h->exts[i] != 0x0010)
            o->exts[o->n_exts++] = h->exts[i];
    sort_u16(o->exts, o->n_exts);
}

/* Raw lists of parts b and c, as hashed: "002f,0035,..." and "0005,000a,..._0403,0804,...". */
static void ja4_raw_b(const ja4_sorted_t *o, sb_t *s)
{
    sb_hex4_list(s, o->ciphers, o->n_ciphers);
}

static void ja4_raw_c(const secure_hello_t *h, const ja4_sorted_t *o, sb_t *s)
{
    sb_hex4_list(s, o->exts, o->n_exts);
    if (h->n_sigalgs > 0) {
        sb_putc(s, '_');
        sb_hex4_list(s, h->sigalgs, h->n_sigalgs);
    }
}

/* Longest raw part: a full list of "xxxx," entries (part c adds the signature algorithms). */
#define JA4_RAW_MAX (5 * (SECURE_HELLO_MAX_CIPHERS + SECURE_HELLO_MAX_EXTS + SECURE_HELLO_MAX_SIGALGS) + 8)

/* The original-order lists of JA4_O / JA4_RO: ciphers and every extension (SNI and ALPN included) as the
 * client sent them, GREASE removed (the parser already did). */
static void ja4_original(const secure_hello_t *h, ja4_sorted_t *o)
{
    memcpy(o->ciphers, h->ciphers, h->n_ciphers * sizeof h->ciphers[0]);
    o->n_ciphers = h->n_ciphers;
    memcpy(o->exts, h->exts, h->n_exts * sizeof h->exts[0]);
    o->n_exts = h->n_exts;
}

/* The hashed form "a_b_c" over the lists in o. */
static int ja4_hashed(const secure_hello_t *h, const ja4_sorted_t *o, char *buf, size_t bufsz)
{
    sb_t s, raw;
    char tmp[JA4_RAW_MAX];
    char hash[13];

    sb_init(&s, buf, bufsz);
    ja4_a(h, &s);

    /* The spec prints twelve zeros for an empty list rather than the hash of an empty string. */
    sb_putc(&s, '_');
    if (o->n_ciphers == 0) {
        sb_puts(&s, "000000000000");
    } else {
        sb_init(&raw, tmp, sizeof tmp);
        ja4_raw_b(o, &raw);
        if (sb_finish(&raw) != 0 || digest_hex(md_sha256(), tmp, raw.len, hash, 12) != 0)
            s.overflow = 1;
        else
            sb_puts(&s, hash);
    }

    sb_putc(&s, '_');
    if (o->n_exts == 0) {
        sb_puts(&s, "000000000000");
    } else {
        sb_init(&raw, tmp, sizeof tmp);
        ja4_raw_c(h, o, &raw);
        if (sb_finish(&raw) != 0 || digest_hex(md_sha256(), tmp, raw.len, hash, 12) != 0)
            s.overflow = 1;
        else
            sb_puts(&s, hash);
    }
    return sb_finish(&s);
}

/* The raw form "a_ciphers_extensions_sigalgs" over the lists in o. */
static int ja4_raw(const secure_hello_t *h, const ja4_sorted_t *o, char *buf, size_t bufsz)
{
    sb_t s;

    sb_init(&s, buf, bufsz);
    ja4_a(h, &s);
    sb_putc(&s, '_');
    ja4_raw_b(o, &s);
    sb_putc(&s, '_');
    ja4_raw_c(h, o, &s);
    return sb_finish(&s);
}

/* Every variant: NULL h writes "" and fails, as an overflow does. */
static int ja4_variant(const secure_hello_t *h, int original, int raw, char *buf, size_t bufsz)
{
    ja4_sorted_t o;

    if (h == NULL) {
        if (bufsz > 0)
            buf[0] = '\0';
        return -1;
    }
    if (original)
        ja4_original(h, &o);
    else
        ja4_sort(h, &o);
    return raw ? ja4_raw(h, &o, buf, bufsz) : ja4_hashed(h, &o, buf, bufsz);
}

int secure_hello_ja4(const secure_hello_t *h, char *buf, size_t bufsz)
{
    return ja4_variant(h, 0, 0, buf, bufsz);
}

int secure_hello_ja4_r(const secure_hello_t *h, char *buf, size_t bufsz)
{
    return ja4_variant(h, 0, 1, buf, bufsz);
}

int secure_hello_ja4_o(const secure_hello_t *h, char *buf, size_t bufsz)
{
    return ja4_variant(h, 1, 0, buf, bufsz);
}

int secure_hello_ja4_ro(const secure_hello_t *h, char *buf, size_t bufsz)
{
    return ja4_variant(h, 1, 1, buf, bufsz);
}

/* ---------------------------------------------------------------------------------------------- */
/* Human-readable lists                                                                           */
/* ---------------------------------------------------------------------------------------------- */

static const char *version_name(unsigned v)
{
    switch (v) {
    case 0x0304: return "TLSv1.3";
    case 0x0303: return "TLSv1.2";
    case 0x0302: return "TLSv1.1";
    case 0x0301: return "TLSv1";
    case 0x0300: return "SSLv3";
    default:     return NULL;
    }
}

static void sb_name_or_hex(sb_t *s, const char *name, unsigned v)
{
    if (name) {
        sb_puts(s, name);
    } else {
        sb_puts(s, "0x");
        sb_hex4(s, v);
    }
}

/* A client without supported_versions offers exactly its legacy_version (and, implicitly, older
 * ones): reporting that single value keeps the variable meaningful for TLS 1.2-only clients. */
int secure_hello_versions(const secure_hello_t *h, char *buf, size_t bufsz)
{
    sb_t s;
    size_t i;

    sb_init(&s, buf, bufsz);
    if (h == NULL)
        s.overflow = 1;
    else if (h->n_versions == 0)
        sb_name_or_hex(&s, version_name(h->legacy_version), h->legacy_version);
    else
        for (i = 0; i < h->n_versions; i++) {
            if (i)
                sb_putc(&s, ',');
            sb_name_or_hex(&s, version_name(h->versions[i]), h->versions[i]);
        }
    return sb_finish(&s);
}

/* ALPN names are arbitrary bytes chosen by the client; the separator, quote, backslash, space and
 * anything non-printable are escaped so the list stays unambiguous and safe in logs. */
int secure_hello_alpn(const secure_hello_t *h, char *buf, size_t bufsz)
{
    sb_t s;
    size_t i, j;

    sb_init(&s, buf, bufsz);
    if (h == NULL)
        s.overflow = 1;
    else
        for (i = 0; i < h->n_alpn; i++) {
            const unsigned char *a = h->alpn_buf + h->alpn_off[i];
            if (i)
                sb_putc(&s, ',');
            for (j = 0; j < h->alpn_len[i]; j++) {
                unsigned char c = a[j];
                if (c > 0x20 && c < 0x7f && c != ',' && c != '"' && c != '\\') {
                    sb_putc(&s, (char)c);
                } else {
                    sb_puts(&s, "\\x");
                    sb_putc(&s, hexdig[c >> 4]);
                    sb_putc(&s, hexdig[c & 0xf]);
                }
            }
        }
    return sb_finish(&s);
}

int secure_hello_groups(const secure_hello_t *h, char *buf, size_t bufsz)
{
    sb_t s;
    size_t i;

    sb_init(&s, buf, bufsz);
    if (h == NULL)
        s.overflow = 1;
    else
        for (i = 0; i < h->n_groups; i++) {
            if (i)
                sb_putc(&s, ',');
            sb_name_or_hex(&s, secure_hello_group_name(h->groups[i]), h->groups[i]);
        }
    return sb_finish(&s);
}

/* The one table of TLS supported groups: the IANA code point, the name as OpenSSL's TLS group list spells
 * it (so it matches SSL_CONF "Groups" settings and `openssl list -tls-groups`), for the registry entries a
 * client may plausibly send; and the NID under which OpenSSL reports a negotiated group, for the groups
 * whose variable value is this name (others keep OpenSSL's short name: NID_undef here). */
static const struct {
    uint16_t id;
    int nid;
    const char *name;
} secure_groups[] = {
    { 1, NID_undef, "sect163k1" },          { 2, NID_undef, "sect163r1" },
    { 3, NID_undef, "sect163r2" },          { 4, NID_undef, "sect193r1" },
    { 5, NID_undef, "sect193r2" },          { 6, NID_undef, "sect233k1" },
    { 7, NID_undef, "sect233r1" },          { 8, NID_undef, "sect239k1" },
    { 9, NID_undef, "sect283k1" },          { 10, NID_undef, "sect283r1" },
    { 11, NID_undef, "sect409k1" },         { 12, NID_undef, "sect409r1" },
    { 13, NID_undef, "sect571k1" },         { 14, NID_undef, "sect571r1" },
    { 15, NID_undef, "secp160k1" },         { 16, NID_undef, "secp160r1" },
    { 17, NID_undef, "secp160r2" },         { 18, NID_undef, "secp192k1" },
    { 19, NID_undef, "secp192r1" },         { 20, NID_undef, "secp224k1" },
    { 21, NID_undef, "secp224r1" },         { 22, NID_undef, "secp256k1" },
    { 23, NID_X9_62_prime256v1, "secp256r1" },
    { 24, NID_secp384r1, "secp384r1" },
    { 25, NID_secp521r1, "secp521r1" },
    { 26, NID_brainpoolP256r1, "brainpoolP256r1" },
    { 27, NID_brainpoolP384r1, "brainpoolP384r1" },
    { 28, NID_brainpoolP512r1, "brainpoolP512r1" },
    { 29, NID_X25519, "x25519" },
    { 30, NID_X448, "x448" },
    { 31, NID_undef, "brainpoolP256r1tls13" },
    { 32, NID_undef, "brainpoolP384r1tls13" },
    { 33, NID_undef, "brainpoolP512r1tls13" },
    { 34, NID_undef, "GC256A" },            { 35, NID_undef, "GC256B" },
    { 36, NID_undef, "GC256C" },            { 37, NID_undef, "GC256D" },
    { 38, NID_undef, "GC512A" },            { 39, NID_undef, "GC512B" },
    { 40, NID_undef, "GC512C" },            { 41, NID_undef, "curveSM2" },
    { 0x0100, NID_ffdhe2048, "ffdhe2048" },
    { 0x0101, NID_ffdhe3072, "ffdhe3072" },
    { 0x0102, NID_ffdhe4096, "ffdhe4096" },
    { 0x0103, NID_ffdhe6144, "ffdhe6144" },
    { 0x0104, NID_ffdhe8192, "ffdhe8192" },
    { 0x0200, NID_undef, "MLKEM512" },      { 0x0201, NID_undef, "MLKEM768" },
    { 0x0202, NID_undef, "MLKEM1024" },
    { 0x11eb, NID_undef, "SecP256r1MLKEM768" },
    { 0x11ec, NID_undef, "X25519MLKEM768" },
    { 0x11ed, NID_undef, "SecP384r1MLKEM1024" },
    { 0x11ee, NID_undef, "curveSM2MLKEM768" },
    { 0x6399, NID_undef, "X25519Kyber768Draft00" },
    { 0x639a, NID_undef, "SecP256r1Kyber768Draft00" },
};
#define SECURE_GROUPS_N (sizeof(secure_groups) / sizeof(secure_groups[0]))

const char *secure_hello_group_name(uint16_t id)
{
    size_t i;

    for (i = 0; i < SECURE_GROUPS_N; i++)
        if (secure_groups[i].id == id)
            return secure_groups[i].name;
    return NULL;
}

int secure_hello_group_nid(uint16_t id)
{
    size_t i;

    for (i = 0; i < SECURE_GROUPS_N; i++)
        if (secure_groups[i].id == id)
            return secure_groups[i].nid;
    return NID_undef;
}

const char *secure_group_name_of_nid(int nid)
{
    size_t i;

    for (i = 0; nid != NID_undef && i < SECURE_GROUPS_N; i++)
        if (secure_groups[i].nid == nid)
            return secure_groups[i].name;
    return NULL;
}

int secure_group_nid_of_name(const char *name)
{
    size_t i;

    for (i = 0; i < SECURE_GROUPS_N; i++)
        if (secure_groups[i].nid != NID_undef && !strcasecmp(secure_groups[i].name, name))
            return secure_groups[i].nid;
    return NID_undef;
}

const char *secure_hello_strerror(int rc)
{
    switch (rc) {
    case SECURE_HELLO_OK:        return "ok";
    case SECURE_HELLO_TRUNCATED: return "truncated";
    case SECURE_HELLO_MALFORMED: return "malformed";
    case SECURE_HELLO_TOO_LARGE: return "too large";
    default:                     return "unknown error";
    }
}
