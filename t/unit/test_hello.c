/* Unit tests of secure_hello: spec vectors (JA3, JA4), real captured ClientHellos checked against
 * independent tools (tshark's JA3, FoxIO's Python JA4), and hostile input (truncation, bad lengths,
 * duplicates, oversize lists). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "secure_hello.h"
#include "tap.h"
#include "hello_fixtures.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The comma operator sequences the parse before the description's arguments are read, so a
 * "(%s)", why in the description shows this parse's reason, not the previous one's. */
static int rc_tmp;
#define is_rc(call, want, ...) (rc_tmp = (call), is_int(rc_tmp, (want), __VA_ARGS__))

/* ---------------------------------------------------------------------------------------------- */
/* A ClientHello builder for synthetic vectors                                                    */
/* ---------------------------------------------------------------------------------------------- */

typedef struct {
    unsigned char b[20000];
    size_t n;
    size_t open[8]; /* offsets of length prefixes still to be patched */
    size_t open_w[8];
    int depth;
} hb_t;

static hb_t hb; /* static: too big for a comfortable stack frame */

static void put8(unsigned v)
{
    hb.b[hb.n++] = (unsigned char)v;
}

static void put16(unsigned v)
{
    put8(v >> 8);
    put8(v & 0xff);
}

static void putn(const void *p, size_t n)
{
    memcpy(hb.b + hb.n, p, n);
    hb.n += n;
}

/* Opens a length-prefixed block of prefix width w (1, 2 or 3 bytes); close() patches it. */
static void open_len(int w)
{
    hb.open[hb.depth] = hb.n;
    hb.open_w[hb.depth] = (size_t)w;
    hb.depth++;
    while (w--)
        put8(0);
}

static void close_len(void)
{
    size_t at, w, len;
    hb.depth--;
    at = hb.open[hb.depth];
    w = hb.open_w[hb.depth];
    len = hb.n - at - w;
    while (w--) {
        hb.b[at + w] = (unsigned char)(len & 0xff);
        len >>= 8;
    }
}

static void hello_begin(unsigned version)
{
    int i;
    hb.n = 0;
    hb.depth = 0;
    put8(1);
    open_len(3);
    put16(version);
    for (i = 0; i < 32; i++)
        put8((unsigned)i * 7u);
    put8(0); /* empty session id */
}

static void ciphers(const uint16_t *c, size_t n)
{
    size_t i;
    open_len(2);
    for (i = 0; i < n; i++)
        put16(c[i]);
    close_len();
}

static void compression_null(void)
{
    put8(1);
    put8(0);
}

static void ext_raw(unsigned type, const void *data, size_t len)
{
    put16(type);
    put16((unsigned)len);
    putn(data, len);
}

/* An extension whose body is one list of 16-bit values with a w-byte length prefix. */
static void ext_u16list(unsigned type, int w, const uint16_t *v, size_t n)
{
    size_t i;
    put16(type);
    open_len(2);
    open_len(w);
    for (i = 0; i < n; i++)
        put16(v[i]);
    close_len();
    close_len();
}

static void ext_sni(const char *host)
{
    put16(0);
    open_len(2);
    open_len(2);
    put8(0);
    open_len(2);
    putn(host, strlen(host));
    close_len();
    close_len();
    close_len();
}

/* protos: each entry is (length, bytes...) so that arbitrary bytes can be offered. */
static void ext_alpn_raw(const unsigned char *protos, size_t len)
{
    put16(16);
    open_len(2);
    open_len(2);
    putn(protos, len);
    close_len();
    close_len();
}

static void ext_alpn1(const char *p)
{
    unsigned char tmp[300];
    size_t n = strlen(p);
    tmp[0] = (unsigned char)n;
    memcpy(tmp + 1, p, n);
    ext_alpn_raw(tmp, n + 1);
}

static void ext_pformats(const unsigned char *f, size_t n)
{
    put16(11);
    open_len(2);
    put8((unsigned)n);
    putn(f, n);
    close_len();
}

static int hello_end(void)
{
    close_len(); /* the 3-byte handshake length */
    return hb.depth == 0;
}

static int parse_hb(secure_hello_t *h, const char **why)
{
    return secure_hello_parse(hb.b, hb.n, h, why);
}

static secure_hello_t H; /* ~2.5 KiB: keep off the stack like the module does */

/* ---------------------------------------------------------------------------------------------- */
/* Spec vectors                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

static void test_ja3_vector(void)
{
    static const uint16_t c[] = {47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4};
    static const uint16_t groups[] = {23, 24, 25};
    static const unsigned char pf[] = {0};
    char s[512], md5[33];
    const char *why = NULL;

    hello_begin(0x0301);
    ciphers(c, NELEM(c));
    compression_null();
    open_len(2);
    ext_sni("example.com");
    ext_u16list(10, 2, groups, NELEM(groups));
    ext_pformats(pf, 1);
    close_len();
    hello_end();

    is_rc(parse_hb(&H, &why), SECURE_HELLO_OK, "JA3 vector: parses (%s)", why);
    is_int(secure_hello_ja3_string(&H, s, sizeof s), 0, "JA3 vector: string fits");
    is_str(s, "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0", "JA3 vector: string");
    is_int(secure_hello_ja3(&H, md5, sizeof md5), 0, "JA3 vector: md5 computed");
    is_str(md5, "ada70206e40642a3e4461f35503241d5", "JA3 vector: md5 (Salesforce example)");
    is_str(H.sni, "example.com", "JA3 vector: SNI host name");
    is_str((secure_hello_versions(&H, s, sizeof s), s), "TLSv1", "no supported_versions: legacy version named");
}

/* The spec's worked example: 15 ciphers, 16 extensions (with SNI and ALPN h2), plus GREASE in every
 * list that may carry it, which must change nothing. */
static void build_ja4_example(int sigalgs_only_grease)
{
    static const uint16_t c[] = {0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                                 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    static const uint16_t sig[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    static const uint16_t sig_grease[] = {0x1a1a};
    static const uint16_t vers[] = {0x5a5a, 0x0304, 0x0303};
    static const uint16_t groups[] = {0x6a6a, 0x001d, 0x0017, 0x0018};
    static const unsigned char compress_cert[] = {0x02, 0x00, 0x02};
    static const unsigned char key_share[] = {0x00, 0x05, 0x6a, 0x6a, 0x00, 0x01, 0x00};
    static const unsigned char alps[] = {0x00, 0x03, 0x02, 'h', '2'};
    static const unsigned char psk_modes[] = {0x01, 0x01};
    static const unsigned char status_req[] = {0x01, 0x00, 0x00, 0x00, 0x00};
    static const unsigned char reneg[] = {0x00};
    static const unsigned char pf[] = {0x00};
    static const unsigned char pad[16] = {0};

    hello_begin(0x0303);
    ciphers(c, NELEM(c));
    compression_null();
    open_len(2);
    ext_raw(0x3a3a, "", 0);
    ext_raw(0x001b, compress_cert, sizeof compress_cert);
    ext_sni("example.com");
    ext_raw(0x0033, key_share, sizeof key_share);
    ext_alpn1("h2");
    ext_raw(0x4469, alps, sizeof alps);
    ext_raw(0x0017, "", 0);
    ext_raw(0x002d, psk_modes, sizeof psk_modes);
    if (sigalgs_only_grease)
        ext_u16list(0x000d, 2, sig_grease, NELEM(sig_grease));
    else
        ext_u16list(0x000d, 2, sig, NELEM(sig));
    ext_raw(0x0005, status_req, sizeof status_req);
    ext_raw(0x0023, "", 0);
    ext_raw(0x0012, "", 0);
    ext_u16list(0x002b, 1, vers, NELEM(vers));
    ext_raw(0xff01, reneg, sizeof reneg);
    ext_pformats(pf, 1);
    ext_u16list(0x000a, 2, groups, NELEM(groups));
    ext_raw(0x0015, pad, sizeof pad);
    ext_raw(0x4a4a, reneg, sizeof reneg);
    close_len();
    hello_end();
}

static void test_ja4_vector(void)
{
    char s[1024];
    const char *why = NULL;

    build_ja4_example(0);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_OK, "JA4 vector: parses (%s)", why);
    is_int(H.n_ciphers, 15, "JA4 vector: 15 ciphers, GREASE removed");
    is_int(H.n_exts, 16, "JA4 vector: 16 extensions, GREASE removed");
    is_int(secure_hello_ja4(&H, s, sizeof s), 0, "JA4 vector: computed");
    is_str(s, "t13d1516h2_8daaf6152771_e5627efa2ab1", "JA4 vector: matches the spec example");
    is_int(secure_hello_ja4_r(&H, s, sizeof s), 0, "JA4_r vector: computed");
    is_str(s,
           "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,"
           "000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601",
           "JA4_r vector: matches the spec example");
    /* the original-order variants of the same example (JA4.md lists them too) */
    is_int(secure_hello_ja4_o(&H, s, sizeof s), 0, "JA4_o vector: computed");
    is_str(s, "t13d1516h2_acb858a92679_18f69afefd3d", "JA4_o vector: matches the spec example");
    is_int(secure_hello_ja4_ro(&H, s, sizeof s), 0, "JA4_ro vector: computed");
    is_str(s,
           "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_001b,0000,"
           "0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015_0403,0804,0401,0503,0805,0501,"
           "0806,0601", "JA4_ro vector: matches the spec example (SNI and ALPN kept, wire order)");
    is_str((secure_hello_versions(&H, s, sizeof s), s), "TLSv1.3,TLSv1.2", "versions: GREASE dropped, named");
    is_str((secure_hello_groups(&H, s, sizeof s), s), "x25519,secp256r1,secp384r1", "groups: GREASE dropped");
    is_str((secure_hello_alpn(&H, s, sizeof s), s), "h2", "alpn list");

    /* The spec's second example: same extensions, no signature algorithms -> no '_' suffix. */
    build_ja4_example(1);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_OK, "JA4 vector without sigalgs: parses (%s)", why);
    is_int(H.n_sigalgs, 0, "sigalgs list of only GREASE is empty");
    is_int(secure_hello_ja4(&H, s, sizeof s), 0, "JA4 without sigalgs: computed");
    is_str(strrchr(s, '_') + 1, "6d807ffa2a79", "JA4 without sigalgs: part c as in the spec");
    secure_hello_ja4_r(&H, s, sizeof s);
    ok(strstr(s, "4469,ff01") != NULL && s[strlen(s) - 1] == '1' && strstr(s, "ff01_") == NULL,
       "JA4_r without sigalgs ends after the extension list: %s", s);
}

/* ALPN characters: every example of the spec's "ALPN Extension Value" section. */
static void test_ja4_alpn(void)
{
    static const struct {
        const char *label;
        unsigned char bytes[8];
        size_t len;
        const char *want;
    } v[] = {
        {"h2", {'h', '2'}, 2, "h2"},
        {"http/1.1", {'h', 't', 't', 'p', '/', '1', '.', '1'}, 8, "h1"},
        {"single char", {'x'}, 1, "xx"},
        {"0xAB", {0xab}, 1, "ab"},
        {"0x20", {0x20}, 1, "20"},
        {"0xAB 0xCD", {0xab, 0xcd}, 2, "ad"},
        {"0x20 0x61", {0x20, 0x61}, 2, "21"},
        {"0x30 0xAB", {0x30, 0xab}, 2, "3b"},
        {"0x61 0x20", {0x61, 0x20}, 2, "60"},
        {"0x30 0x31 0xAB 0xCD", {0x30, 0x31, 0xab, 0xcd}, 4, "3d"},
        {"0x30 0xAB 0xCD 0x31", {0x30, 0xab, 0xcd, 0x31}, 4, "01"},
    };
    static const uint16_t c[] = {0x1301};
    char s[256];
    size_t i;

    for (i = 0; i < NELEM(v); i++) {
        unsigned char protos[16];
        protos[0] = (unsigned char)v[i].len;
        memcpy(protos + 1, v[i].bytes, v[i].len);
        protos[1 + v[i].len] = 2; /* a second protocol, which must not matter */
        protos[2 + v[i].len] = 'h';
        protos[3 + v[i].len] = '3';
        hello_begin(0x0303);
        ciphers(c, 1);
        compression_null();
        open_len(2);
        ext_alpn_raw(protos, v[i].len + 4);
        close_len();
        hello_end();
        if (parse_hb(&H, NULL) != SECURE_HELLO_OK || secure_hello_ja4(&H, s, sizeof s) != 0) {
            ok(0, "JA4 ALPN %s: parse or format failed", v[i].label);
            continue;
        }
        s[10] = '\0';
        is_str(s + 8, v[i].want, "JA4 ALPN %s -> %s", v[i].label, v[i].want);
    }

    hello_begin(0x0303);
    ciphers(c, 1);
    compression_null();
    open_len(2);
    ext_alpn_raw((const unsigned char *)"\003a,b\001\000\002h2", 9);
    close_len();
    hello_end();
    is_rc(parse_hb(&H, NULL), SECURE_HELLO_OK, "odd ALPN names parse");
    secure_hello_alpn(&H, s, sizeof s);
    is_str(s, "a\\x2cb,\\x00,h2", "ALPN list escapes the separator and control bytes");
}

/* A hello with nothing after the compression methods (legal before extensions existed). */
static void test_no_extensions(void)
{
    static const uint16_t c[] = {0x002f, 0x0035, 0x000a};
    char s[256];
    const char *why = NULL;

    hello_begin(0x0301);
    ciphers(c, NELEM(c));
    compression_null();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_OK, "hello without extensions block parses (%s)", why);
    secure_hello_ja3_string(&H, s, sizeof s);
    is_str(s, "769,47-53-10,,,", "JA3 string with empty lists");
    secure_hello_ja4(&H, s, sizeof s);
    ok(strncmp(s, "t10i030000_", 11) == 0 && strcmp(s + 24, "000000000000") == 0,
       "JA4 without extensions: t10i030000, part c zeros: %s", s);
    secure_hello_ja4_r(&H, s, sizeof s);
    is_str(s, "t10i030000_000a,002f,0035_", "JA4_r without extensions");
    secure_hello_groups(&H, s, sizeof s);
    is_str(s, "", "no groups: empty list");

    /* Only GREASE ciphers: the spec prints zeros rather than the hash of nothing. */
    {
        static const uint16_t g[] = {0x0a0a, 0xfafa};
        hello_begin(0x0303);
        ciphers(g, NELEM(g));
        compression_null();
        hello_end();
        is_rc(parse_hb(&H, NULL), SECURE_HELLO_OK, "GREASE-only cipher list parses");
        secure_hello_ja4(&H, s, sizeof s);
        is_str(s, "t12i000000_000000000000_000000000000", "JA4 of an all-GREASE hello");
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Real captures                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

/* Expected values come from other tools, never from this code: JA3 from tshark 4.0.17
 * (`tshark -r X.pcap -Y tls.handshake.type==1 -T fields -e tls.handshake.ja3 -e tls.handshake.ja3_full`,
 * see t/unit/data/tshark_ja3.txt), JA4 from FoxIO's Python ja4.py run on the same pcaps. */
#define A10 "aaaaaaaaaa"
#define A60 A10 A10 A10 A10 A10 A10
static const struct fixture {
    const char *name;
    const unsigned char *msg;
    size_t len;
    const char *ja3_full, *ja3, *ja4, *ja4_r_prefix;
    const char *versions, *groups, *alpn, *sni;
} fixtures[] = {
    {"openssl s_client (TLS 1.3)", fx_openssl_tls13_bin, sizeof fx_openssl_tls13_bin,
     "771,4866-4867-4865-49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-103-"
     "49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,0-11-10-35-22-23-13-43-45-51,"
     "29-23-30-25-24-256-257-258-259-260,0-1-2",
     "a3afc2c46ba4a7d7fbe1cfb7a3031c2f", "t13d311000_e8f1e7e78f70_1f22a2ca17c4",
     "t13d311000_002f,0033,0035,0039,003c,003d,0067,006b,009c,009d,009e,009f,00ff,1301,",
     "TLSv1.3,TLSv1.2,TLSv1.1,TLSv1",
     "x25519,secp256r1,x448,secp521r1,secp384r1,ffdhe2048,ffdhe3072,ffdhe4096,ffdhe6144,ffdhe8192", "",
     "www.example.com"},
    {"openssl s_client -tls1_2", fx_openssl_tls12_bin, sizeof fx_openssl_tls12_bin,
     "771,49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-103-49162-49172-57-49161-"
     "49171-51-157-156-61-60-53-47-255,0-11-10-35-22-23-13,29-23-30-25-24,0-1-2",
     "871a754af286dfb70c1b53c6887c62e0", "t12d280700_d943125447b4_e7e480e5a997",
     "t12d280700_002f,0033,0035,0039,003c,003d,0067,006b,009c,009d,009e,009f,00ff,c009,", "TLSv1.2",
     "x25519,secp256r1,x448,secp521r1,secp384r1", "", "www.example.com"},
    {"curl 7.88.1", fx_curl_bin, sizeof fx_curl_bin,
     "771,4866-4867-4865-49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-103-"
     "49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,0-11-10-16-22-23-49-13-43-45-51-21,"
     "29-23-30-25-24-256-257-258-259-260,0-1-2",
     "0149f47eabf9a20d0893e2a44e5a6323", "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6",
     "t13d3112h2_002f,0033,0035,0039,003c,003d,0067,006b,009c,009d,009e,009f,00ff,1301,",
     "TLSv1.3,TLSv1.2,TLSv1.1,TLSv1",
     "x25519,secp256r1,x448,secp521r1,secp384r1,ffdhe2048,ffdhe3072,ffdhe4096,ffdhe6144,ffdhe8192", "h2,http/1.1",
     "localhost"},
    {"Chromium 156 #0", fx_chromium_0_bin, sizeof fx_chromium_0_bin,
     "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
     "11-16-0-17613-65281-18-35-23-51764-43-27-5-51-13-65037-45-10,4588-29-23-24,0",
     "ce4a2f87b388d0eb8e30b7bf400ddf75", "t13d1517h2_8daaf6152771_cb7bf5808d99",
     "t13d1517h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,"
     "0012,0017,001b,0023,002b,002d,0033,44cd,ca34,fe0d,ff01_0904,0905,0906,0403,0804,0401,0503,0805,0501,0806,0601",
     "TLSv1.3,TLSv1.2", "X25519MLKEM768,x25519,secp256r1,secp384r1", "h2,http/1.1", "www.example.test"},
    {"Chromium 156 #1", fx_chromium_1_bin, sizeof fx_chromium_1_bin,
     "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
     "23-17613-43-0-16-27-45-51-35-18-13-51764-10-65281-11-5-65037,4588-29-23-24,0",
     "0a42eeabbc8e619c8a9e8f19850e982c", "t13d1517h2_8daaf6152771_cb7bf5808d99", "t13d1517h2_002f,",
     "TLSv1.3,TLSv1.2", "X25519MLKEM768,x25519,secp256r1,secp384r1", "h2,http/1.1", "www.example.test"},
    {"Chromium 156 #2", fx_chromium_2_bin, sizeof fx_chromium_2_bin,
     "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
     "13-11-43-17613-65281-23-27-18-45-51-65037-0-35-16-10-5-51764,4588-29-23-24,0",
     "2561e05649c474c4bff94e4a3c6f411e", "t13d1517h2_8daaf6152771_cb7bf5808d99", "t13d1517h2_002f,",
     "TLSv1.3,TLSv1.2", "X25519MLKEM768,x25519,secp256r1,secp384r1", "h2,http/1.1", "www.example.test"},
    {"openssl, hello split over 2 records", fx_openssl_split_bin, sizeof fx_openssl_split_bin,
     "771,4866-4867-4865-49196-49200-163-159-52393-52392-52394-49327-49325-49315-49311-49245-49249-49239-49235-"
     "167-49195-49199-162-158-49326-49324-49314-49310-49244-49248-49238-49234-166-49188-49192-107-106-49267-49271-"
     "196-195-109-197-49187-49191-103-64-49266-49270-190-189-108-191-49162-49172-57-56-136-135-49177-58-137-49161-"
     "49171-51-50-69-68-49176-52-70-157-49313-49309-49233-156-49312-49308-49232-61-192-60-186-53-132-47-65-255,"
     "0-11-10-35-16-22-23-13-43-45-51,29-23-30-25-24-256-257-258-259-260,0-1-2",
     "8b696dacefdfd97ac5dc15ccafa6d5ea", "t13d8711h2_c66346c74e42_5ac7197df9d2", "t13d8711h2_002f,0032,",
     "TLSv1.3,TLSv1.2,TLSv1.1,TLSv1",
     "x25519,secp256r1,x448,secp521r1,secp384r1,ffdhe2048,ffdhe3072,ffdhe4096,ffdhe6144,ffdhe8192", NULL,
     A60 "." A60 "." A60 ".split.example.test"},
};

static void test_fixtures(void)
{
    size_t i;
    char s[4096];

    for (i = 0; i < NELEM(fixtures); i++) {
        const struct fixture *f = &fixtures[i];
        const char *why = NULL;

        if (!is_rc(secure_hello_parse(f->msg, f->len, &H, &why), SECURE_HELLO_OK, "%s: parses (%s)", f->name, why))
            continue;
        secure_hello_ja3_string(&H, s, sizeof s);
        is_str(s, f->ja3_full, "%s: JA3 string equals tshark's", f->name);
        secure_hello_ja3(&H, s, sizeof s);
        is_str(s, f->ja3, "%s: JA3 hash equals tshark's", f->name);
        secure_hello_ja4(&H, s, sizeof s);
        is_str(s, f->ja4, "%s: JA4 equals FoxIO ja4.py's", f->name);
        secure_hello_ja4_r(&H, s, sizeof s);
        ok(strncmp(s, f->ja4_r_prefix, strlen(f->ja4_r_prefix)) == 0, "%s: JA4_r starts like FoxIO ja4.py's", f->name);
        secure_hello_versions(&H, s, sizeof s);
        is_str(s, f->versions, "%s: versions", f->name);
        secure_hello_groups(&H, s, sizeof s);
        is_str(s, f->groups, "%s: groups", f->name);
        if (f->alpn) {
            secure_hello_alpn(&H, s, sizeof s);
            is_str(s, f->alpn, "%s: ALPN list", f->name);
        }
        ok(H.has_sni, "%s: SNI present", f->name);
        is_str(H.sni, f->sni, "%s: SNI host name", f->name);
    }
}

/* Chromium permutes its extensions on every connection (different JA3 each time) but JA4 sorts
 * them, so the three captures must agree on JA4 - the reason JA4 exists. */
static void test_chromium(void)
{
    static const struct {
        const unsigned char *m;
        size_t n;
    } c[] = {{fx_chromium_0_bin, sizeof fx_chromium_0_bin},
             {fx_chromium_1_bin, sizeof fx_chromium_1_bin},
             {fx_chromium_2_bin, sizeof fx_chromium_2_bin}};
    char first[64] = "", s[64], ja3_0[33] = "", ja3[33];
    size_t i, j, raw_grease;
    int grease_left = 0, stable = 1, ja3_differs = 0;

    /* Walk the raw cipher list independently of the parser: the capture must really carry GREASE
     * for the removal check to mean anything. */
    {
        const unsigned char *m = fx_chromium_0_bin;
        size_t off = 4 + 2 + 32, clen;
        off += 1 + m[off];
        clen = ((size_t)m[off] << 8) | m[off + 1];
        raw_grease = 0;
        for (j = 0; j < clen; j += 2) {
            unsigned v = ((unsigned)m[off + 2 + j] << 8) | m[off + 3 + j];
            if ((v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff))
                raw_grease++;
        }
        ok(raw_grease > 0, "Chromium capture carries %zu GREASE cipher(s)", raw_grease);
    }

    for (i = 0; i < NELEM(c); i++) {
        if (secure_hello_parse(c[i].m, c[i].n, &H, NULL) != SECURE_HELLO_OK) {
            stable = 0;
            continue;
        }
        for (j = 0; j < H.n_ciphers; j++)
            grease_left |= (H.ciphers[j] & 0x0f0f) == 0x0a0a;
        for (j = 0; j < H.n_exts; j++)
            grease_left |= (H.exts[j] & 0x0f0f) == 0x0a0a;
        for (j = 0; j < H.n_groups; j++)
            grease_left |= (H.groups[j] & 0x0f0f) == 0x0a0a;
        for (j = 0; j < H.n_versions; j++)
            grease_left |= (H.versions[j] & 0x0f0f) == 0x0a0a;
        for (j = 0; j < H.n_sigalgs; j++)
            grease_left |= (H.sigalgs[j] & 0x0f0f) == 0x0a0a;
        secure_hello_ja4(&H, s, sizeof s);
        secure_hello_ja3(&H, ja3, sizeof ja3);
        if (i == 0) {
            strcpy(first, s);
            strcpy(ja3_0, ja3);
        } else {
            stable &= strcmp(first, s) == 0;
            ja3_differs |= strcmp(ja3_0, ja3) != 0;
        }
    }
    ok(!grease_left, "Chromium: no GREASE value left in any parsed list");
    ok(stable, "Chromium: JA4 identical over 3 connections (%s)", first);
    ok(ja3_differs, "Chromium: JA3 differs between connections (extension order is randomised)");
    ok(strncmp(first, "t13d", 4) == 0 && strncmp(first + 8, "h2_", 3) == 0, "Chromium: JA4 looks like t13d....h2_");
}

/* ---------------------------------------------------------------------------------------------- */
/* Hostile and broken input                                                                       */
/* ---------------------------------------------------------------------------------------------- */

/* Every prefix of a real hello, in an exactly-sized heap copy so ASan sees any read past the end:
 * first as delivered (the 3-byte length then disagrees), then with the length patched to match,
 * which must still fail everywhere except the one cut that leaves a valid extension-less hello. */
static void test_truncation(const char *name, const unsigned char *msg, size_t len)
{
    size_t cut, bad_plain = 0, bad_patched = 0, legal_cut = 0, ok_cuts = 0;
    int crashed_rc = 0;
    size_t off = 4 + 2 + 32;

    /* Where a hello without extensions would end: after session id, ciphers, compression. */
    off += 1 + msg[off];
    off += 2 + (((size_t)msg[off] << 8) | msg[off + 1]);
    off += 1 + msg[off];
    legal_cut = off;

    for (cut = 0; cut < len; cut++) {
        unsigned char *p = malloc(cut ? cut : 1);
        int rc;
        if (!p)
            abort();
        memcpy(p, msg, cut);
        rc = secure_hello_parse(p, cut, &H, NULL);
        if (rc == SECURE_HELLO_OK)
            bad_plain++;
        if (rc < 0 || rc > SECURE_HELLO_TOO_LARGE)
            crashed_rc = 1;
        if (cut >= 4) {
            size_t l = cut - 4;
            p[1] = (unsigned char)(l >> 16);
            p[2] = (unsigned char)(l >> 8);
            p[3] = (unsigned char)l;
            rc = secure_hello_parse(p, cut, &H, NULL);
            if (rc == SECURE_HELLO_OK) {
                if (cut == legal_cut)
                    ok_cuts++;
                else
                    bad_patched++;
            }
        }
        free(p);
    }
    is_int(bad_plain, 0, "%s: all %zu truncations (length field unpatched) rejected", name, len);
    is_int(bad_patched, 0, "%s: all truncations with a consistent length field rejected", name);
    is_int(ok_cuts, 1, "%s: ...except the cut right after the compression methods (legal, no extensions)", name);
    ok(!crashed_rc, "%s: only documented result codes", name);
}

/* The parser takes the reassembled handshake message; the record layer (or OpenSSL's msg callback)
 * joins the fragments. This reassembles a real 2-record capture the way the callback would. */
static void test_records(void)
{
    static unsigned char msg[4096];
    const unsigned char *r = fx_openssl_split_records;
    size_t n = sizeof fx_openssl_split_records, off = 0, mlen = 0, records = 0, first_len = 0;
    const char *why = NULL;

    while (off + 5 <= n) {
        size_t rl = ((size_t)r[off + 3] << 8) | r[off + 4];
        if (r[off] != 22 || off + 5 + rl > n || mlen + rl > sizeof msg)
            break;
        memcpy(msg + mlen, r + off + 5, rl);
        mlen += rl;
        off += 5 + rl;
        if (records++ == 0)
            first_len = rl;
    }
    is_int(off, n, "split capture: records walk to the end");
    is_int(records, 2, "split capture: the hello came in 2 records");
    ok(mlen == sizeof fx_openssl_split_bin && memcmp(msg, fx_openssl_split_bin, mlen) == 0,
       "split capture: reassembled message equals the captured handshake message");
    is_rc(secure_hello_parse(msg, first_len, &H, &why), SECURE_HELLO_TRUNCATED,
           "split capture: the first record alone is TRUNCATED (%s)", why);
    is_rc(secure_hello_parse(msg, mlen, &H, &why), SECURE_HELLO_OK, "split capture: reassembled message parses");
}

static void test_length_field(void)
{
    static unsigned char m[sizeof fx_openssl_tls13_bin + 1];
    size_t n = sizeof fx_openssl_tls13_bin;
    const char *why = NULL;

    memcpy(m, fx_openssl_tls13_bin, n);
    m[3]++;
    is_rc(secure_hello_parse(m, n, &H, &why), SECURE_HELLO_TRUNCATED, "3-byte length len-3: TRUNCATED (%s)", why);
    m[3] -= 2;
    is_rc(secure_hello_parse(m, n, &H, &why), SECURE_HELLO_MALFORMED, "3-byte length len-5: MALFORMED (%s)", why);
    memcpy(m, fx_openssl_tls13_bin, n);
    m[n] = 0;
    is_rc(secure_hello_parse(m, n + 1, &H, &why), SECURE_HELLO_MALFORMED, "a trailing byte: MALFORMED (%s)", why);
    m[0] = 2;
    is_rc(secure_hello_parse(m, n, &H, &why), SECURE_HELLO_MALFORMED, "handshake type 2: MALFORMED (%s)", why);
    is_rc(secure_hello_parse(NULL, 0, &H, &why), SECURE_HELLO_TRUNCATED, "NULL message: TRUNCATED");
}

static void hello_with_ext(unsigned type, const void *data, size_t len)
{
    static const uint16_t c[] = {0x1301};
    hello_begin(0x0303);
    ciphers(c, 1);
    compression_null();
    open_len(2);
    ext_raw(type, data, len);
    close_len();
    hello_end();
}

static void test_malformed(void)
{
    static const uint16_t c[] = {0x1301, 0x1302};
    static const uint16_t g[] = {0x001d};
    const char *why = NULL;

    /* Odd cipher suite list length. */
    hello_begin(0x0303);
    put16(3);
    put16(0x1301);
    put8(0x13);
    compression_null();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "odd cipher list length: MALFORMED (%s)", why);

    hello_begin(0x0303);
    put16(0);
    compression_null();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "empty cipher list: MALFORMED (%s)", why);

    hello_begin(0x0303);
    ciphers(c, 2);
    put8(0);
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "no compression method: MALFORMED (%s)", why);

    hello_begin(0x0303);
    hb.b[hb.n - 1] = 33;
    for (int i = 0; i < 33; i++)
        put8(0);
    ciphers(c, 2);
    compression_null();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "33-byte session id: MALFORMED (%s)", why);

    /* Extension length running past the extensions block / the message. */
    hello_begin(0x0303);
    ciphers(c, 2);
    compression_null();
    open_len(2);
    put16(0x0017);
    put16(10);
    put16(0);
    close_len();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_TRUNCATED, "extension length overruns: TRUNCATED (%s)", why);

    hello_begin(0x0303);
    ciphers(c, 2);
    compression_null();
    put16(8);
    ext_raw(0x0017, "", 0);
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_TRUNCATED, "extensions length overruns the message: TRUNCATED (%s)", why);

    hello_begin(0x0303);
    ciphers(c, 2);
    compression_null();
    put16(0);
    put8(0);
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "byte after the extensions: MALFORMED (%s)", why);

    hello_begin(0x0303);
    ciphers(c, 2);
    compression_null();
    put8(0);
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_TRUNCATED, "one byte where the extensions length goes: TRUNCATED (%s)", why);

    /* Duplicate extensions (RFC 8446 4.2), including two identical GREASE ones. */
    hello_begin(0x0303);
    ciphers(c, 2);
    compression_null();
    open_len(2);
    ext_u16list(10, 2, g, 1);
    ext_raw(0x0017, "", 0);
    ext_u16list(10, 2, g, 1);
    close_len();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "duplicate supported_groups: MALFORMED (%s)", why);

    hello_begin(0x0303);
    ciphers(c, 2);
    compression_null();
    open_len(2);
    ext_raw(0x0a0a, "", 0);
    ext_raw(0x0a0a, "", 0);
    close_len();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "duplicate GREASE extension: MALFORMED (%s)", why);

    /* Inner list lengths of the parsed extensions. */
    hello_with_ext(10, "\x00\x04\x00\x1d", 4);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "groups list longer than extension: MALFORMED (%s)", why);
    hello_with_ext(10, "\x00\x01\x00", 3);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "groups list of odd length: MALFORMED (%s)", why);
    hello_with_ext(10, "\x00\x02\x00\x1d\x00", 5);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "bytes after groups list: MALFORMED (%s)", why);
    hello_with_ext(13, "\x00", 1);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "sigalgs list length cut: MALFORMED (%s)", why);
    hello_with_ext(43, "\x03\x03\x04\x03", 4);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "supported_versions odd length: MALFORMED (%s)", why);
    hello_with_ext(11, "\x00", 1);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "empty ec_point_formats: MALFORMED (%s)", why);
    hello_with_ext(16, "\x00\x03\x00\x01h", 5);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "empty ALPN protocol name: MALFORMED (%s)", why);
    hello_with_ext(16, "\x00\x03\x05h2", 5);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "ALPN name past its list: MALFORMED (%s)", why);
    hello_with_ext(0, "", 0);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "empty server_name extension: MALFORMED (%s)", why);
    hello_with_ext(0, "\x00\x05\x00\x00\x09" "abc", 8);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_MALFORMED, "host name past its list: MALFORMED (%s)", why);

    /* Unusable host names are dropped but the extension still counts (JA4 'd'). */
    hello_with_ext(0, "\x00\x07\x00\x00\x04" "a\nb.", 9);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_OK, "host name with a control character parses");
    ok(H.has_sni && H.sni[0] == '\0', "...SNI counted as present, name left empty");
}

static void hello_n_exts(size_t n)
{
    static const uint16_t c[] = {0x1301};
    size_t i;
    hello_begin(0x0303);
    ciphers(c, 1);
    compression_null();
    open_len(2);
    for (i = 0; i < n; i++)
        ext_raw(0x1000 + (unsigned)i, "", 0);
    close_len();
    hello_end();
}

static void test_too_large(void)
{
    static uint16_t c[SECURE_HELLO_MAX_CIPHERS + 1];
    static uint16_t v[SECURE_HELLO_MAX_GROUPS + 1];
    static unsigned char protos[600];
    size_t i;
    const char *why = NULL;
    char s[64];

    for (i = 0; i < NELEM(c); i++)
        c[i] = (uint16_t)(0x0100 + i);
    for (i = 0; i < NELEM(v); i++)
        v[i] = (uint16_t)(0x0100 + i);

    hello_begin(0x0303);
    ciphers(c, SECURE_HELLO_MAX_CIPHERS);
    compression_null();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_OK, "%d ciphers: OK", SECURE_HELLO_MAX_CIPHERS);
    secure_hello_ja4(&H, s, sizeof s);
    ok(strncmp(s + 4, "9900", 4) == 0, "cipher count capped at 99 in JA4: %.10s", s);
    hello_begin(0x0303);
    ciphers(c, SECURE_HELLO_MAX_CIPHERS + 1);
    compression_null();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_TOO_LARGE, "%d ciphers: TOO_LARGE (%s)", SECURE_HELLO_MAX_CIPHERS + 1, why);

    hello_begin(0x0303);
    ciphers(c, 1);
    compression_null();
    open_len(2);
    ext_u16list(10, 2, v, SECURE_HELLO_MAX_GROUPS + 1);
    close_len();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_TOO_LARGE, "%d groups: TOO_LARGE (%s)", SECURE_HELLO_MAX_GROUPS + 1, why);

    hello_begin(0x0303);
    ciphers(c, 1);
    compression_null();
    open_len(2);
    ext_u16list(13, 2, v, SECURE_HELLO_MAX_SIGALGS + 1);
    close_len();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_TOO_LARGE, "%d sigalgs: TOO_LARGE (%s)", SECURE_HELLO_MAX_SIGALGS + 1, why);

    hello_begin(0x0303);
    ciphers(c, 1);
    compression_null();
    open_len(2);
    ext_u16list(43, 1, v, SECURE_HELLO_MAX_VERSIONS + 1);
    close_len();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_TOO_LARGE, "%d versions: TOO_LARGE (%s)", SECURE_HELLO_MAX_VERSIONS + 1, why);

    {
        unsigned char pf[SECURE_HELLO_MAX_PFORMATS + 1] = {0};
        hello_begin(0x0303);
        ciphers(c, 1);
        compression_null();
        open_len(2);
        ext_pformats(pf, sizeof pf);
        close_len();
        hello_end();
        is_rc(parse_hb(&H, &why), SECURE_HELLO_TOO_LARGE, "%d point formats: TOO_LARGE (%s)",
               SECURE_HELLO_MAX_PFORMATS + 1, why);
    }

    /* Extensions: the limit is reached with distinct types. */
    hello_n_exts(SECURE_HELLO_MAX_EXTS);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_OK, "%d extensions: OK", SECURE_HELLO_MAX_EXTS);
    secure_hello_ja4(&H, s, sizeof s);
    ok(strncmp(s + 6, "99", 2) == 0, "extension count capped at 99 in JA4: %.10s", s);
    hello_n_exts(SECURE_HELLO_MAX_EXTS + 1);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_TOO_LARGE, "%d extensions: TOO_LARGE (%s)", SECURE_HELLO_MAX_EXTS + 1, why);

    /* ALPN: too many names, and too many bytes for alpn_buf. */
    for (i = 0; i < SECURE_HELLO_MAX_ALPN + 1; i++) {
        protos[2 * i] = 1;
        protos[2 * i + 1] = 'a';
    }
    hello_begin(0x0303);
    ciphers(c, 1);
    compression_null();
    open_len(2);
    ext_alpn_raw(protos, 2 * (SECURE_HELLO_MAX_ALPN + 1));
    close_len();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_TOO_LARGE, "%d ALPN names: TOO_LARGE (%s)", SECURE_HELLO_MAX_ALPN + 1, why);
    for (i = 0; i < 3; i++) {
        protos[200 * i] = 199;
        memset(protos + 200 * i + 1, 'x', 199);
    }
    hello_begin(0x0303);
    ciphers(c, 1);
    compression_null();
    open_len(2);
    ext_alpn_raw(protos, 600);
    close_len();
    hello_end();
    is_rc(parse_hb(&H, &why), SECURE_HELLO_TOO_LARGE, "600 bytes of ALPN names: TOO_LARGE (%s)", why);

    /* Whole message over the module's copy limit. */
    hello_begin(0x0303);
    ciphers(c, 1);
    compression_null();
    open_len(2);
    {
        static unsigned char pad[SECURE_HELLO_MAX_LEN];
        ext_raw(0x0015, pad, sizeof pad - 40);
    }
    close_len();
    hello_end();
    ok(hb.n > SECURE_HELLO_MAX_LEN, "oversize hello built (%zu bytes)", hb.n);
    is_rc(parse_hb(&H, &why), SECURE_HELLO_TOO_LARGE, "hello over SECURE_HELLO_MAX_LEN: TOO_LARGE (%s)", why);
}

static void test_formatters(void)
{
    char s[64];
    int rc;

    if (secure_hello_parse(fx_chromium_0_bin, sizeof fx_chromium_0_bin, &H, NULL) != SECURE_HELLO_OK) {
        ok(0, "formatters: chromium fixture parses");
        return;
    }
    memset(s, 'x', sizeof s);
    rc = secure_hello_ja3(&H, s, 32);
    ok(rc == -1 && s[0] == '\0', "JA3 into 32 bytes: -1 and empty string");
    rc = secure_hello_ja3(&H, s, 33);
    ok(rc == 0 && strlen(s) == 32, "JA3 into 33 bytes: fits");
    memset(s, 'x', sizeof s);
    rc = secure_hello_ja4(&H, s, 36);
    ok(rc == -1 && s[0] == '\0', "JA4 into 36 bytes: -1 and empty string");
    rc = secure_hello_ja4(&H, s, 37);
    ok(rc == 0 && strlen(s) == 36, "JA4 into 37 bytes: fits");
    memset(s, 'x', sizeof s);
    rc = secure_hello_ja4_r(&H, s, sizeof s);
    ok(rc == -1 && s[0] == '\0', "JA4_r into 64 bytes: -1 and empty string");
    rc = secure_hello_ja3_string(&H, s, sizeof s);
    ok(rc == -1 && s[0] == '\0', "JA3 string into 64 bytes: -1 and empty string");
    rc = secure_hello_versions(&H, s, 8);
    ok(rc == -1 && s[0] == '\0', "versions into 8 bytes: -1");
    rc = secure_hello_versions(&H, s, 16);
    ok(rc == 0 && strcmp(s, "TLSv1.3,TLSv1.2") == 0, "versions into exactly 16 bytes: fits");
    s[0] = 'x';
    is_int(secure_hello_groups(&H, s, 0), -1, "bufsz 0: -1");
    ok(s[0] == 'x', "bufsz 0: nothing written");
    is_int(secure_hello_alpn(&H, NULL, 10), -1, "NULL buffer: -1");
    is_int(secure_hello_ja4(NULL, s, sizeof s), -1, "NULL hello: -1");

    H.n_groups = 3;
    H.groups[0] = 0x11ec;
    H.groups[1] = 0x6399;
    H.groups[2] = 0x1234;
    secure_hello_groups(&H, s, sizeof s);
    is_str(s, "X25519MLKEM768,X25519Kyber768Draft00,0x1234", "unknown group printed as 0x%%04x");
    is_str(secure_hello_group_name(0x11eb), "SecP256r1MLKEM768", "group name 0x11eb");
    is_str(secure_hello_group_name(0x0100), "ffdhe2048", "group name 0x0100");
    is_str(secure_hello_group_name(0x001a), "brainpoolP256r1", "group name 26");
    ok(secure_hello_group_name(0xfafa) == NULL, "no name for GREASE group");
    H.n_versions = 2;
    H.versions[0] = 0x7f1c;
    H.versions[1] = 0x0300;
    secure_hello_versions(&H, s, sizeof s);
    is_str(s, "0x7f1c,SSLv3", "unknown version printed as 0x%%04x");
    is_str(secure_hello_strerror(SECURE_HELLO_OK), "ok", "strerror ok");
    is_str(secure_hello_strerror(SECURE_HELLO_TRUNCATED), "truncated", "strerror truncated");
    is_str(secure_hello_strerror(SECURE_HELLO_MALFORMED), "malformed", "strerror malformed");
    is_str(secure_hello_strerror(SECURE_HELLO_TOO_LARGE), "too large", "strerror too large");
    is_str(secure_hello_strerror(42), "unknown error", "strerror unknown");
}

void test_hello(void)
{
    size_t i;

    test_ja3_vector();
    test_ja4_vector();
    test_ja4_alpn();
    test_no_extensions();
    test_fixtures();
    test_chromium();
    test_records();
    test_length_field();
    test_malformed();
    test_too_large();
    test_formatters();
    for (i = 0; i < NELEM(fixtures); i++)
        test_truncation(fixtures[i].name, fixtures[i].msg, fixtures[i].len);
}
