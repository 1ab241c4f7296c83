/* secure_hello — ClientHello parser and JA3 / JA4 client fingerprints.
 * Pure C (C11 + OpenSSL's libcrypto for MD5/SHA-256): no httpd or APR types, so the unit tests and the
 * fuzzer call it directly. Nothing here allocates: the caller owns every buffer. */
#ifndef SECURE_HELLO_H
#define SECURE_HELLO_H

#include <stddef.h>
#include <stdint.h>

/* Largest ClientHello handshake message mod_secure copies per connection (bigger ones are counted, not parsed). */
#define SECURE_HELLO_MAX_LEN 16384

/* Result codes of secure_hello_parse(). */
enum {
    SECURE_HELLO_OK = 0,
    SECURE_HELLO_TRUNCATED,     /* a length field points past the end of the message */
    SECURE_HELLO_MALFORMED,     /* wrong type, odd list length, trailing bytes, duplicate extension ... */
    SECURE_HELLO_TOO_LARGE,     /* more items than the fixed limits below */
};

#define SECURE_HELLO_MAX_CIPHERS   256
#define SECURE_HELLO_MAX_EXTS      128
#define SECURE_HELLO_MAX_GROUPS    128
#define SECURE_HELLO_MAX_SIGALGS   128
#define SECURE_HELLO_MAX_VERSIONS  32
#define SECURE_HELLO_MAX_PFORMATS  32
#define SECURE_HELLO_MAX_ALPN      32

/* The parsed hello. Lists are in wire order with GREASE values (RFC 8701) removed; counts exclude GREASE. */
typedef struct secure_hello {
    uint16_t legacy_version;
    uint16_t ciphers[SECURE_HELLO_MAX_CIPHERS];   size_t n_ciphers;
    uint16_t exts[SECURE_HELLO_MAX_EXTS];         size_t n_exts;
    uint16_t groups[SECURE_HELLO_MAX_GROUPS];     size_t n_groups;
    uint16_t sigalgs[SECURE_HELLO_MAX_SIGALGS];   size_t n_sigalgs;
    uint16_t versions[SECURE_HELLO_MAX_VERSIONS]; size_t n_versions;   /* supported_versions */
    uint8_t  pformats[SECURE_HELLO_MAX_PFORMATS]; size_t n_pformats;   /* ec_point_formats */
    /* ALPN protocols offered: offsets/lengths into alpn_buf (protocols may contain any byte) */
    uint8_t  alpn_buf[512];                       size_t alpn_buf_len;
    uint16_t alpn_off[SECURE_HELLO_MAX_ALPN];
    uint8_t  alpn_len[SECURE_HELLO_MAX_ALPN];     size_t n_alpn;
    int      has_sni;                             /* server_name extension present */
    char     sni[256];                            /* first host_name, NUL-terminated ("" if none/unusable) */
} secure_hello_t;

/* Parses one ClientHello handshake message (msg[0] == 1, 3-byte length, body; exactly len bytes).
 * Checks every length. Returns SECURE_HELLO_OK or an error code; *why (if why != NULL) gets a static
 * string saying what was wrong, in operator words. On error *h is unspecified. */
int secure_hello_parse(const unsigned char *msg, size_t len, secure_hello_t *h, const char **why);

/* Formatters: each writes a NUL-terminated string into buf of bufsz bytes and returns 0, or -1 (buf then
 * holds "") when it does not fit. */
int secure_hello_ja3_string(const secure_hello_t *h, char *buf, size_t bufsz);   /* "771,4865-...,0-23-...,29-23,0" */
int secure_hello_ja3(const secure_hello_t *h, char *buf, size_t bufsz);          /* md5 hex, 32 chars, bufsz >= 33 */
int secure_hello_ja4(const secure_hello_t *h, char *buf, size_t bufsz);          /* "t13d1516h2_8daaf6152771_e5627efa2ab1", bufsz >= 37 */
int secure_hello_ja4_r(const secure_hello_t *h, char *buf, size_t bufsz);        /* "t13d1516h2_002f,0035,..._0005,000a,..._0403,..." */
/* The original-order variants: ciphers and extensions as sent (SNI and ALPN kept in the extension list),
 * hashed like JA4 (JA4_o, bufsz >= 37) or raw (JA4_ro). */
int secure_hello_ja4_o(const secure_hello_t *h, char *buf, size_t bufsz);        /* "t13d1516h2_acb858a92679_f96a17c57971" */
int secure_hello_ja4_ro(const secure_hello_t *h, char *buf, size_t bufsz);       /* "t13d1516h2_1301,1302,..._002d,0033,0010,..._0403,..." */
int secure_hello_versions(const secure_hello_t *h, char *buf, size_t bufsz);     /* "TLSv1.3,TLSv1.2" (unknown: "0x7f1c") */
int secure_hello_alpn(const secure_hello_t *h, char *buf, size_t bufsz);         /* "h2,http/1.1" (non-printable bytes as \xNN) */
int secure_hello_groups(const secure_hello_t *h, char *buf, size_t bufsz);       /* "x25519,secp256r1,0x11ec" */

/* Everything the formatters above read from h (every list with its count, the ALPN protocols, whether SNI
 * was sent; not the SNI name itself), serialised into buf: two hellos with the same key give the same
 * strings from every formatter, so a cache of them can be keyed by it (secure_factcache). Returns the
 * length, or 0 when it does not fit in bufsz. */
size_t secure_hello_fact_key(const secure_hello_t *h, unsigned char *buf, size_t bufsz);

/* The one table of TLS supported groups (secure_hello.c). IANA name for a code point as OpenSSL spells it
 * ("x25519", "secp256r1", "ffdhe2048", "X25519MLKEM768"), or NULL when unknown. */
const char *secure_hello_group_name(uint16_t id);
/* The OpenSSL NID of a group code point (0x001d -> NID_X25519), or NID_undef when this table has none. */
int secure_hello_group_nid(uint16_t id);
/* The same name for the NID OpenSSL reports a negotiated group under (NID_X25519 -> "x25519"), or NULL for
 * a NID the table does not name. */
const char *secure_group_name_of_nid(int nid);
/* The NID of a group's IANA name, case-insensitive ("secp256r1" -> NID_X9_62_prime256v1), or NID_undef. */
int secure_group_nid_of_name(const char *name);

/* Static name of a secure_hello_parse() result code ("ok", "truncated", ...). */
const char *secure_hello_strerror(int rc);

#endif /* SECURE_HELLO_H */
