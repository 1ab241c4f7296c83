/* secure_vars — the SECURE_* variable table and its readers. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <time.h>

#include "secure_factcache.h"
#include "secure_compat.h"
#include "secure_config.h"
#include "secure_conn.h"
#include "secure_hello.h"
#include "secure_log.h"
#include "secure_ossl.h"
#include "secure_policy.h"
#include "secure_revoke.h"
#include "secure_status.h"
#include "secure_util.h"
#include "secure_vars.h"

APLOG_USE_MODULE(secure);

/* What a value depends on, hence how long it may be memoised. */
typedef enum {
    SECURE_SCOPE_CONN,   /* the handshake: once per connection */
    SECURE_SCOPE_CERT,   /* the client certificate: recomputed when renegotiation / PHA changes it */
    SECURE_SCOPE_REQ,    /* the request's vhost or a verdict that may change: every time */
} secure_scope_t;

typedef struct {
    conn_rec *c;          /* master connection */
    request_rec *r;       /* may be NULL */
    server_rec *s;        /* r->server, else the connection's vhost */
    secure_conn_t *sc;
    SSL *ssl;
    apr_pool_t *p;        /* secure_conn_pool() (under sc's lock) for CONN/CERT values, r->pool for REQ values */
} secure_var_ctx_t;

typedef const char *secure_var_fn(secure_var_ctx_t *vc);

typedef struct {
    const char *name;
    secure_var_fn *fn;
    secure_scope_t scope;
    int certdata;         /* the whole certificate: in the environment only with SecureExportCertData on */
    int cached;           /* a function of the certificate's bytes (CACHE_CERT) or of the ClientHello's
                           * fingerprint inputs (CACHE_HELLO) alone: kept in the thread's secure_factcache,
                           * so the next connection with the same one copies the text */
} secure_var_t;

enum { CACHE_NONE, CACHE_CERT, CACHE_HELLO };

/* A heap string from secure_util as a pool string (NULL stays NULL: the variable is then unset). */
static const char *pool_take(apr_pool_t *p, char *heap)
{
    const char *out = heap ? apr_pstrdup(p, heap) : NULL;

    free(heap);
    return out;
}

/* ---- connection ---------------------------------------------------------------------------------- */

static const char *var_tls_version(secure_var_ctx_t *vc)
{
    return SSL_get_version(vc->ssl);
}

static const char *var_cipher(secure_var_ctx_t *vc)
{
    const SSL_CIPHER *ciph = SSL_get_current_cipher(vc->ssl);
    return ciph ? SSL_CIPHER_get_name(ciph) : NULL;
}

static const char *var_cipher_iana(secure_var_ctx_t *vc)
{
    const SSL_CIPHER *ciph = SSL_get_current_cipher(vc->ssl);
    return ciph ? SSL_CIPHER_standard_name(ciph) : NULL;
}

static const char *var_cipher_bits(secure_var_ctx_t *vc)
{
    const SSL_CIPHER *ciph = SSL_get_current_cipher(vc->ssl);
    return ciph ? apr_itoa(vc->p, SSL_CIPHER_get_bits(ciph, NULL)) : NULL;
}

static const char *var_kex_group(secure_var_ctx_t *vc)
{
    int nid = SSL_get_negotiated_group(vc->ssl);
    const char *name;

    if (nid == 0 || nid == NID_undef)
        return "";
    if ((name = secure_group_name_of_nid(nid)) != NULL)
        return name;                /* the IANA name, which is what clients and the Mozilla guidelines print */
    if (nid & TLSEXT_nid_unknown) {
        /* a group OpenSSL's NID table does not name (a provider group such as an ML-KEM hybrid) */
        const char *n = secure_hello_group_name((uint16_t)(nid & 0xffff));
        return n ? n : apr_psprintf(vc->p, "0x%04x", (unsigned)(nid & 0xffff));
    }
    return OBJ_nid2sn(nid);
}

/* The client chose these bytes (OpenSSL refuses only a NUL): control and non-ASCII bytes are escaped. */
static const char *var_sni(secure_var_ctx_t *vc)
{
    const char *sni = SSL_get_servername(vc->ssl, TLSEXT_NAMETYPE_host_name);
    return sni ? pool_take(vc->p, secure_escape_ascii(sni, strlen(sni))) : "";
}

static const char *var_alpn(secure_var_ctx_t *vc)
{
    const unsigned char *proto = NULL;
    unsigned int len = 0;

    SSL_get0_alpn_selected(vc->ssl, &proto, &len);
    return proto && len ? apr_pstrmemdup(vc->p, (const char *)proto, len) : "";
}

static const char *var_resumed(secure_var_ctx_t *vc)
{
    return SSL_session_reused(vc->ssl) ? "1" : "0";
}

/* The server's handshake signature as a TLS SignatureScheme name (RFC 8446 §4.2.3). OpenSSL 3.0 has no
 * name accessor, so the scheme is rebuilt from signature type, digest and the server key. */
static const char *var_server_sigalg(secure_var_ctx_t *vc)
{
    int type = NID_undef, md = NID_undef;
    const char *hash;
    EVP_PKEY *key;

    if (SSL_session_reused(vc->ssl))
        return "";
    if (!SSL_get_signature_type_nid(vc->ssl, &type) || type == NID_undef)
        return "";
    if (!SSL_get_signature_nid(vc->ssl, &md))
        md = NID_undef;
    switch (md) {
    case NID_sha1: hash = "sha1"; break;
    case NID_sha224: hash = "sha224"; break;
    case NID_sha256: hash = "sha256"; break;
    case NID_sha384: hash = "sha384"; break;
    case NID_sha512: hash = "sha512"; break;
    default: hash = NULL; break;
    }
    switch (type) {
    case EVP_PKEY_ED25519: return "ed25519";
    case EVP_PKEY_ED448: return "ed448";
    case EVP_PKEY_RSA_PSS:
        key = SSL_get_privatekey(vc->ssl);
        return apr_pstrcat(vc->p, "rsa_pss_",
                           key && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA_PSS ? "pss_" : "rsae_",
                           hash ? hash : "unknown", NULL);
    case EVP_PKEY_RSA:
        return apr_pstrcat(vc->p, "rsa_pkcs1_", hash ? hash : "unknown", NULL);
    case EVP_PKEY_EC:
        if (md == NID_sha256) return "ecdsa_secp256r1_sha256";
        if (md == NID_sha384) return "ecdsa_secp384r1_sha384";
        if (md == NID_sha512) return "ecdsa_secp521r1_sha512";
        return apr_pstrcat(vc->p, "ecdsa_", hash ? hash : "unknown", NULL);
    default:
        return apr_psprintf(vc->p, "%s+%s", OBJ_nid2sn(type), hash ? hash : "unknown");
    }
}

static const char *var_handshake_usec(secure_var_ctx_t *vc)
{
    const secure_conn_t *sc = vc->sc;

    if (SSL_session_reused(vc->ssl) || sc->hs_first_byte == 0 || sc->hs_client_finished == 0
        || sc->hs_client_finished < sc->hs_first_byte)
        return NULL;
    return apr_psprintf(vc->p, "%" APR_TIME_T_FMT, sc->hs_client_finished - sc->hs_first_byte);
}

/* ---- ClientHello ----------------------------------------------------------------------------------- */

static secure_hello_t *hello_parse(secure_conn_t *sc);

/* The parsed ClientHello of the connection (parsed once, on demand), or NULL (absent or malformed). */
static const struct secure_hello *vars_hello(conn_rec *c)
{
    secure_conn_t *sc = secure_conn_get(c);

    if (sc == NULL)
        return NULL;
    secure_conn_lock(sc);
    if (!sc->hello_parse_done) {
        sc->hello_parse_done = 1;
        sc->hello_parsed = hello_parse(sc);
    }
    secure_conn_unlock(sc);
    return sc->hello_parsed;
}

/* Parses the captured hello once (caller holds the lock); NULL when there is none or it is bad. */
static secure_hello_t *hello_parse(secure_conn_t *sc)
{
    secure_hello_t *h;
    const char *why = NULL;
    int rc;

    if (sc->hello_capture == SECURE_HELLO_OVERSIZE) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, sc->c,
                      "mod_secure: ClientHello of %" APR_SIZE_T_FMT " bytes is larger than the %d bytes "
                      "kept; no fingerprint for this connection", sc->hello_oversize_len,
                      SECURE_HELLO_MAX_LEN);
        return NULL;
    }
    if (sc->hello_capture != SECURE_HELLO_CAPTURED) {
        secure_status_count(SECURE_CTR_HELLO_MISSING);
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, sc->c,
                      "mod_secure: no ClientHello was captured on this connection; no fingerprint");
        return NULL;
    }
    h = apr_palloc(secure_conn_pool(sc, NULL), sizeof(*h));
    rc = secure_hello_parse(sc->hello, sc->hello_len, h, &why);
    if (rc == SECURE_HELLO_OK) {
        unsigned char key[SECURE_FACTCACHE_KEY_MAX];
        size_t n = secure_hello_fact_key(h, key, sizeof(key));

        if (n > 0) {
            sc->hello_key = apr_pmemdup(secure_conn_pool(sc, NULL), key, n);
            sc->hello_key_len = n;
        }
    }
    if (rc != SECURE_HELLO_OK) {
        secure_status_count(SECURE_CTR_HELLO_MALFORMED);
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, sc->c,
                      "mod_secure: ClientHello of %" APR_SIZE_T_FMT " bytes not fingerprinted: %s (%s)",
                      sc->hello_len, secure_hello_strerror(rc), why ? why : "");
        return NULL;
    }
    return h;
}

typedef int secure_hello_fmt_fn(const secure_hello_t *h, char *buf, size_t bufsz);

static const char *hello_format(secure_var_ctx_t *vc, secure_hello_fmt_fn *fmt, size_t bufsz)
{
    const secure_hello_t *h = vars_hello(vc->c);
    char buf[8192];                     /* on the stack: only the text's own length goes into the pool */

    if (h == NULL || bufsz > sizeof(buf) || fmt(h, buf, bufsz) != 0)
        return NULL;
    return apr_pstrdup(vc->p, buf);
}

/* Bounds: a hello holds at most 256 ciphers, 128 extensions ... so 8 KiB covers every string form. */
static const char *var_ja3(secure_var_ctx_t *vc) { return hello_format(vc, secure_hello_ja3, 33); }
static const char *var_ja3_string(secure_var_ctx_t *vc) { return hello_format(vc, secure_hello_ja3_string, 8192); }
static const char *var_ja4(secure_var_ctx_t *vc) { return hello_format(vc, secure_hello_ja4, 40); }
static const char *var_ja4_r(secure_var_ctx_t *vc) { return hello_format(vc, secure_hello_ja4_r, 8192); }
static const char *var_ja4_o(secure_var_ctx_t *vc) { return hello_format(vc, secure_hello_ja4_o, 40); }
static const char *var_ja4_ro(secure_var_ctx_t *vc) { return hello_format(vc, secure_hello_ja4_ro, 8192); }
static const char *var_hello_versions(secure_var_ctx_t *vc) { return hello_format(vc, secure_hello_versions, 512); }
static const char *var_hello_alpn(secure_var_ctx_t *vc) { return hello_format(vc, secure_hello_alpn, 2048); }
static const char *var_hello_groups(secure_var_ctx_t *vc) { return hello_format(vc, secure_hello_groups, 2048); }

/* ---- client certificate ---------------------------------------------------------------------------- */

static X509 *peer_cert(secure_var_ctx_t *vc)
{
    return SSL_get0_peer_certificate(vc->ssl);
}

static const char *var_client_verify(secure_var_ctx_t *vc)
{
    long rc;

    if (peer_cert(vc) == NULL)
        return "NONE";
    rc = SSL_get_verify_result(vc->ssl);
    if (rc == X509_V_OK)
        return "SUCCESS";
    return apr_pstrcat(vc->p, "FAILED:", X509_verify_cert_error_string(rc), NULL);
}

/* DNs and their values are escaped by one rule (secure_util.h): RFC 2253, UTF-8 kept, control characters and
 * invalid bytes as \\XX, so no certificate can put a line break or a separator into a variable. */
static const char *var_client_s_dn(secure_var_ctx_t *vc)
{
    X509 *x = peer_cert(vc);
    return x ? pool_take(vc->p, secure_name_rfc2253(X509_get_subject_name(x))) : NULL;
}

static const char *var_client_i_dn(secure_var_ctx_t *vc)
{
    X509 *x = peer_cert(vc);
    return x ? pool_take(vc->p, secure_name_rfc2253(X509_get_issuer_name(x))) : NULL;
}

/* The subject's (last) commonName, the value most applications want from a client certificate; escaped as it
 * appears in SECURE_CLIENT_S_DN. */
static const char *var_client_s_dn_cn(secure_var_ctx_t *vc)
{
    X509 *x = peer_cert(vc);
    const X509_NAME *name;
    const X509_NAME_ENTRY *e;
    int i;

    if (x == NULL || (name = X509_get_subject_name(x)) == NULL)
        return NULL;
    i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0)
        return NULL;
    for (int next = i; next >= 0; next = X509_NAME_get_index_by_NID(name, NID_commonName, next))
        i = next;
    e = X509_NAME_get_entry(name, i);
    return e ? pool_take(vc->p, secure_dn_value(X509_NAME_ENTRY_get_data(e))) : NULL;
}

/* The client certificate in PEM, for a backend that wants the whole certificate (as mod_ssl's
 * SSL_CLIENT_CERT); newlines included, so a proxy must encode it before putting it into a header. */
static const char *var_client_cert(secure_var_ctx_t *vc)
{
    X509 *x = peer_cert(vc);
    BIO *bio;
    char *data = NULL;
    long n;
    const char *out = NULL;

    if (x == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
        return NULL;
    if (PEM_write_bio_X509(bio, x) && (n = BIO_get_mem_data(bio, &data)) > 0)
        out = apr_pstrmemdup(vc->p, data, (apr_size_t)n);
    BIO_free(bio);
    return out;
}

static const char *var_client_serial(secure_var_ctx_t *vc)
{
    X509 *x = peer_cert(vc);

    return x ? secure_ossl_serial(x, vc->p) : NULL;   /* upper-case hex, as mod_ssl's SSL_CLIENT_M_SERIAL */
}

static const char *var_client_sha256(secure_var_ctx_t *vc)
{
    X509 *x = peer_cert(vc);
    unsigned char md[32];

    if (x == NULL)
        return NULL;
    /* the revocation check hashed this very object already (caller holds sc's lock) */
    if (vc->sc->rev_leaf_known && vc->sc->rev_leaf_obj == x)
        return secure_hex_lower(vc->sc->rev_leaf_sha256, 32, apr_palloc(vc->p, 2 * 32 + 1));
    if (secure_factcache_sha256(x, md) != 0) {
        secure_ossl_discard("SECURE_CLIENT_SHA256 stays unset for a certificate OpenSSL cannot hash");
        return NULL;
    }
    return secure_hex_lower(md, 32, apr_palloc(vc->p, 2 * 32 + 1));
}

static const char *var_client_spki_sha256(secure_var_ctx_t *vc)
{
    X509 *x = peer_cert(vc);
    unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int len;
    char *b64;

    if (x == NULL)
        return NULL;
    len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    if (len <= 0)
        return NULL;
    if (!EVP_Digest(der, (size_t)len, md, &n, EVP_sha256(), NULL)) {
        OPENSSL_free(der);
        return NULL;
    }
    OPENSSL_free(der);
    b64 = apr_palloc(vc->p, 4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, md, (int)n);
    return b64;
}

static const char *var_client_not_before(secure_var_ctx_t *vc)
{
    X509 *x = peer_cert(vc);
    return x ? secure_ossl_asn1_iso(X509_get0_notBefore(x), NULL, vc->p) : NULL;
}

static const char *var_client_not_after(secure_var_ctx_t *vc)
{
    X509 *x = peer_cert(vc);
    return x ? secure_ossl_asn1_iso(X509_get0_notAfter(x), NULL, vc->p) : NULL;
}

/* Whole days until notAfter, rounded down; negative once expired. Not memoised: it changes with time. */
static const char *var_client_days_left(secure_var_ctx_t *vc)
{
    X509 *x = peer_cert(vc);
    int days = 0, secs = 0;

    if (x == NULL || !ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)))
        return NULL;
    if (secs < 0 && days <= 0)
        days -= 1;
    return apr_itoa(vc->p, days);
}

/* Key type and size as operators say it: RSA-2048, EC-P256, Ed25519. */
static const char *var_client_key(secure_var_ctx_t *vc)
{
    X509 *x = peer_cert(vc);
    EVP_PKEY *pk;
    char group[64];
    size_t glen = 0;
    int nid;

    if (x == NULL || (pk = X509_get0_pubkey(x)) == NULL)
        return NULL;
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_RSA: return apr_psprintf(vc->p, "RSA-%d", EVP_PKEY_get_bits(pk));
    case EVP_PKEY_RSA_PSS: return apr_psprintf(vc->p, "RSA-PSS-%d", EVP_PKEY_get_bits(pk));
    case EVP_PKEY_DSA: return apr_psprintf(vc->p, "DSA-%d", EVP_PKEY_get_bits(pk));
    case EVP_PKEY_ED25519: return "Ed25519";
    case EVP_PKEY_ED448: return "Ed448";
    case EVP_PKEY_EC:
        if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen)) {
            const char *nist;
            nid = OBJ_sn2nid(group);
            if (nid == NID_undef)
                nid = OBJ_ln2nid(group);
            nist = nid != NID_undef ? EC_curve_nid2nist(nid) : NULL;
            if (nist != NULL && nist[0] == 'P' && nist[1] == '-')     /* "P-256" -> "EC-P256" */
                return apr_pstrcat(vc->p, "EC-P", nist + 2, NULL);
            if (nist != NULL)
                return apr_pstrcat(vc->p, "EC-", nist, NULL);
            return apr_pstrcat(vc->p, "EC-", group, NULL);
        }
        return apr_psprintf(vc->p, "EC-%d", EVP_PKEY_get_bits(pk));
    default:
        return apr_psprintf(vc->p, "%s-%d", OBJ_nid2sn(EVP_PKEY_get_base_id(pk)), EVP_PKEY_get_bits(pk));
    }
}

static const char *var_client_sig_alg(secure_var_ctx_t *vc)
{
    X509 *x = peer_cert(vc);
    return x ? OBJ_nid2ln(X509_get_signature_nid(x)) : NULL;
}

/* subjectAltName kinds with variables: NAME holds every value of the kind (see var_client_san), NAME_0,
 * NAME_1 ... each value alone, in certificate order, like mod_ssl's SSL_CLIENT_SAN_DNS_n. */
enum { SAN_DNS, SAN_EMAIL, SAN_URI, SAN_IP };
static const struct { const char *name; int type; } secure_san_vars[] = {
    [SAN_DNS]   = { "SECURE_CLIENT_SAN_DNS",   GEN_DNS },
    [SAN_EMAIL] = { "SECURE_CLIENT_SAN_EMAIL", GEN_EMAIL },
    [SAN_URI]   = { "SECURE_CLIENT_SAN_URI",   GEN_URI },
    [SAN_IP]    = { "SECURE_CLIENT_SAN_IP",    GEN_IPADD },
};
#define SECURE_SAN_N (sizeof(secure_san_vars) / sizeof(secure_san_vars[0]))
#define SECURE_SAN_MAX_INDEX 9999          /* NAME_n: at most 4 digits */

/* The escaped values (secure_san_value) of the client certificate's subjectAltName entries, one array per
 * kind of secure_san_vars, in certificate order, in vc->p. -1 without a certificate, or when its
 * subjectAltName cannot be decoded (the variables are then unset rather than claiming "none"). */
static int san_decode(secure_var_ctx_t *vc, apr_array_header_t *out[SECURE_SAN_N])
{
    X509 *x = peer_cert(vc);
    GENERAL_NAMES *names;
    size_t k;
    int i, crit = -1, rc = 0;

    if (x == NULL)
        return -1;
    names = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    if (names == NULL && crit != -1) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, vc->c, "mod_secure: the client certificate's subjectAltName "
                      "cannot be decoded (or is there twice: %s); the SECURE_CLIENT_SAN_* variables are unset",
                      secure_ossl_errors(vc->p));
        return -1;
    }
    for (k = 0; k < SECURE_SAN_N; k++)
        out[k] = apr_array_make(vc->p, 1, sizeof(const char *));
    for (i = 0; rc == 0 && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        for (k = 0; k < SECURE_SAN_N; k++) {
            const char *v;
            if (gn->type != secure_san_vars[k].type)
                continue;
            if ((v = pool_take(vc->p, secure_san_value(gn))) == NULL)
                rc = -1;
            else
                APR_ARRAY_PUSH(out[k], const char *) = v;
        }
    }
    GENERAL_NAMES_free(names);
    return rc;
}

/* The decoded subjectAltName of the connection's client certificate, memoised per certificate (the four
 * list variables, the numbered ones and every request's export share one decoding). The memo lives in
 * secure_conn_pool(); caller holds sc's lock. */
typedef struct {
    const void *cert;                   /* the certificate decoded; NULL: nothing memoised */
    int rc;                             /* san_decode's answer */
    apr_array_header_t *vals[SECURE_SAN_N];
} secure_san_memo_t;

static int san_collect(secure_var_ctx_t *vc, apr_array_header_t *out[SECURE_SAN_N])
{
    secure_san_memo_t *m = vc->sc->vars_san_memo;
    const X509 *x = peer_cert(vc);
    secure_var_ctx_t cc = *vc;
    size_t k;

    if (x == NULL)
        return -1;
    cc.p = secure_conn_pool(vc->sc, vc->r ? vc->r->connection : NULL);
    if (m == NULL)
        vc->sc->vars_san_memo = m = apr_pcalloc(cc.p, sizeof(*m));
    if (m->cert != x) {
        m->rc = san_decode(&cc, m->vals);
        m->cert = x;
    }
    for (k = 0; k < SECURE_SAN_N; k++)
        out[k] = m->vals[k];
    return m->rc;
}

/* Every value of one kind, comma-separated; a comma inside a value is escaped as "\\," (secure_list_join). */
static const char *var_client_san(secure_var_ctx_t *vc, size_t k)
{
    apr_array_header_t *vals[SECURE_SAN_N];

    if (san_collect(vc, vals) != 0)
        return NULL;
    return pool_take(vc->p, secure_list_join((const char *const *)vals[k]->elts, (size_t)vals[k]->nelts));
}

static const char *var_client_san_dns(secure_var_ctx_t *vc) { return var_client_san(vc, SAN_DNS); }
static const char *var_client_san_email(secure_var_ctx_t *vc) { return var_client_san(vc, SAN_EMAIL); }
static const char *var_client_san_uri(secure_var_ctx_t *vc) { return var_client_san(vc, SAN_URI); }
static const char *var_client_san_ip(secure_var_ctx_t *vc) { return var_client_san(vc, SAN_IP); }

/* Whether name is NAME_n of a subjectAltName kind: sets *kind (index in secure_san_vars) and *n. */
static int san_numbered(const char *name, size_t *kind, int *n)
{
    size_t i, len, digits;

    for (i = 0; i < SECURE_SAN_N; i++) {
        len = strlen(secure_san_vars[i].name);
        if (strncmp(name, secure_san_vars[i].name, len) != 0 || name[len] != '_')
            continue;
        name += len + 1;
        digits = strspn(name, "0123456789");
        if (digits == 0 || digits > 4 || name[digits] != '\0' || (name[0] == '0' && digits > 1))
            return 0;
        *kind = i;
        *n = atoi(name);
        return 1;
    }
    return 0;
}

/* ---- verdicts ------------------------------------------------------------------------------------- */

static const char *var_policy(secure_var_ctx_t *vc) { return secure_policy_name(vc->s); }
static const char *var_policy_mode(secure_var_ctx_t *vc) { return secure_policy_mode_name(vc->s); }
static const char *var_policy_version(secure_var_ctx_t *vc) { return secure_policy_version(vc->s); }
static const char *var_policy_result(secure_var_ctx_t *vc) { return vc->sc->policy_result; }
static const char *var_policy_violation(secure_var_ctx_t *vc) { return vc->sc->policy_violation; }

/* The verdict of the vhost serving the request (r->server), not of the vhost that ran the handshake. */
static secure_rev_view_t revocation_of(secure_var_ctx_t *vc)
{
    secure_rev_view_t v;

    secure_revoke_verdict(vc->sc, vc->s, &v, vc->p);
    return v;
}

static const char *var_revocation(secure_var_ctx_t *vc)
{
    switch (revocation_of(vc).status) {
    case SECURE_REV_GOOD: return "GOOD";
    case SECURE_REV_REVOKED: return "REVOKED";
    case SECURE_REV_UNKNOWN: return "UNKNOWN";
    default: return "NONE";
    }
}

static const char *var_revocation_source(secure_var_ctx_t *vc) { return revocation_of(vc).source; }
static const char *var_revocation_reason(secure_var_ctx_t *vc) { return revocation_of(vc).reason; }
static const char *var_revocation_date(secure_var_ctx_t *vc) { return revocation_of(vc).date; }

/* ---- the table ------------------------------------------------------------------------------------ */

static const secure_var_t secure_var_table[] = {
    { "SECURE_TLS_VERSION",              var_tls_version,        SECURE_SCOPE_CONN, 0, CACHE_NONE },
    { "SECURE_CIPHER",                   var_cipher,             SECURE_SCOPE_CONN, 0, CACHE_NONE },
    { "SECURE_CIPHER_IANA",              var_cipher_iana,        SECURE_SCOPE_CONN, 0, CACHE_NONE },
    { "SECURE_CIPHER_BITS",              var_cipher_bits,        SECURE_SCOPE_CONN, 0, CACHE_NONE },
    { "SECURE_KEX_GROUP",                var_kex_group,          SECURE_SCOPE_CONN, 0, CACHE_NONE },
    { "SECURE_SNI",                      var_sni,                SECURE_SCOPE_CONN, 0, CACHE_NONE },
    { "SECURE_ALPN",                     var_alpn,               SECURE_SCOPE_CONN, 0, CACHE_NONE },
    { "SECURE_SESSION_RESUMED",          var_resumed,            SECURE_SCOPE_CONN, 0, CACHE_NONE },
    { "SECURE_SERVER_SIGALG",            var_server_sigalg,      SECURE_SCOPE_CONN, 0, CACHE_NONE },
    { "SECURE_HANDSHAKE_USEC",           var_handshake_usec,     SECURE_SCOPE_CONN, 0, CACHE_NONE },
    { "SECURE_JA3",                      var_ja3,                SECURE_SCOPE_CONN, 0, CACHE_HELLO },
    { "SECURE_JA3_STRING",               var_ja3_string,         SECURE_SCOPE_CONN, 0, CACHE_HELLO },
    { "SECURE_JA4",                      var_ja4,                SECURE_SCOPE_CONN, 0, CACHE_HELLO },
    { "SECURE_JA4_R",                    var_ja4_r,              SECURE_SCOPE_CONN, 0, CACHE_HELLO },
    { "SECURE_JA4_O",                    var_ja4_o,              SECURE_SCOPE_CONN, 0, CACHE_HELLO },
    { "SECURE_JA4_RO",                   var_ja4_ro,             SECURE_SCOPE_CONN, 0, CACHE_HELLO },
    { "SECURE_CLIENT_HELLO_VERSIONS",    var_hello_versions,     SECURE_SCOPE_CONN, 0, CACHE_HELLO },
    { "SECURE_CLIENT_HELLO_ALPN",        var_hello_alpn,         SECURE_SCOPE_CONN, 0, CACHE_HELLO },
    { "SECURE_CLIENT_HELLO_GROUPS",      var_hello_groups,       SECURE_SCOPE_CONN, 0, CACHE_HELLO },
    { "SECURE_CLIENT_VERIFY",            var_client_verify,      SECURE_SCOPE_CERT, 0, CACHE_NONE },
    { "SECURE_CLIENT_S_DN",              var_client_s_dn,        SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_S_DN_CN",           var_client_s_dn_cn,     SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_I_DN",              var_client_i_dn,        SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_SERIAL",            var_client_serial,      SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_SHA256",            var_client_sha256,      SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_SPKI_SHA256",       var_client_spki_sha256, SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_NOT_BEFORE",        var_client_not_before,  SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_NOT_AFTER",         var_client_not_after,   SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_DAYS_LEFT",         var_client_days_left,   SECURE_SCOPE_REQ, 0, CACHE_NONE },
    { "SECURE_CLIENT_KEY",               var_client_key,         SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_SIG_ALG",           var_client_sig_alg,     SECURE_SCOPE_CERT, 0, CACHE_NONE },
    { "SECURE_CLIENT_SAN_DNS",           var_client_san_dns,     SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_SAN_EMAIL",         var_client_san_email,   SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_SAN_URI",           var_client_san_uri,     SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_SAN_IP",            var_client_san_ip,      SECURE_SCOPE_CERT, 0, CACHE_CERT },
    { "SECURE_CLIENT_CERT",              var_client_cert,        SECURE_SCOPE_CERT, 1, CACHE_CERT },
    { "SECURE_POLICY",                   var_policy,             SECURE_SCOPE_REQ, 0, CACHE_NONE },
    { "SECURE_POLICY_MODE",              var_policy_mode,        SECURE_SCOPE_REQ, 0, CACHE_NONE },
    { "SECURE_POLICY_VERSION",           var_policy_version,     SECURE_SCOPE_REQ, 0, CACHE_NONE },
    { "SECURE_POLICY_RESULT",            var_policy_result,      SECURE_SCOPE_REQ, 0, CACHE_NONE },
    { "SECURE_POLICY_VIOLATION",         var_policy_violation,   SECURE_SCOPE_REQ, 0, CACHE_NONE },
    { "SECURE_CLIENT_REVOCATION",        var_revocation,         SECURE_SCOPE_REQ, 0, CACHE_NONE },
    { "SECURE_CLIENT_REVOCATION_SOURCE", var_revocation_source,  SECURE_SCOPE_REQ, 0, CACHE_NONE },
    { "SECURE_CLIENT_REVOCATION_REASON", var_revocation_reason,  SECURE_SCOPE_REQ, 0, CACHE_NONE },
    { "SECURE_CLIENT_REVOCATION_DATE",   var_revocation_date,    SECURE_SCOPE_REQ, 0, CACHE_NONE },
};

#define SECURE_VAR_N (sizeof(secure_var_table) / sizeof(secure_var_table[0]))
_Static_assert(SECURE_VAR_N <= SECURE_FACTCACHE_VALUES, "secure_factcache keeps a value slot per variable");

apr_size_t secure_vars_count(void)
{
    return SECURE_VAR_N;
}

static int var_index(const char *name)
{
    size_t i;

    if (name == NULL || strncmp(name, "SECURE_", 7) != 0)
        return -1;
    for (i = 0; i < SECURE_VAR_N; i++)
        if (strcmp(secure_var_table[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The certificate the memoised CERT-scope values describe; renegotiation or post-handshake auth
 * replaces the peer certificate, and then those values are recomputed. Caller holds the lock. */
static void cert_memo_check(secure_conn_t *sc, const X509 *now)
{
    size_t i;

    if (sc->memo_cert == now)
        return;
    for (i = 0; i < SECURE_VAR_N; i++)
        if (secure_var_table[i].scope == SECURE_SCOPE_CERT)
            sc->done[i] = 0;
    sc->memo_cert = now;
}

static void var_ctx_init(secure_var_ctx_t *vc, secure_conn_t *sc, request_rec *r)
{
    vc->c = sc->c;
    vc->r = r;
    vc->s = r ? r->server : sc->c->base_server;
    vc->sc = sc;
    vc->ssl = sc->ssl;
    vc->p = r ? r->pool : secure_conn_pool(sc, NULL);
}

/* Value of table entry i; engine and scope already checked by the caller. Connection and certificate
 * values are computed once under the connection's lock into its own pool (HTTP/2 streams share them);
 * request values go to the request's pool. */
static const char *var_value(secure_conn_t *sc, request_rec *r, int i)
{
    const secure_var_t *v = &secure_var_table[i];
    secure_var_ctx_t vc;
    const char *val;

    var_ctx_init(&vc, sc, r);
    secure_conn_lock(sc);       /* verdict fields are written by other streams' threads too */
    if (v->scope == SECURE_SCOPE_REQ) {
        val = v->fn(&vc);
        secure_conn_unlock(sc);
        return val;
    }
    vc.p = secure_conn_pool(sc, r ? r->connection : NULL);
    if (v->scope == SECURE_SCOPE_CERT)
        cert_memo_check(sc, SSL_get0_peer_certificate(sc->ssl));
    if (!sc->done[i]) {
        X509 *x = v->cached == CACHE_CERT ? SSL_get0_peer_certificate(sc->ssl) : NULL;
        const unsigned char *key = NULL;
        const char *kept;

        if (v->cached == CACHE_HELLO && vars_hello(sc->c) != NULL)
            key = sc->hello_key;             /* NULL when the key did not fit: then not cached */
        if ((x != NULL && secure_factcache_get(x, (size_t)i, &kept))
            || (key != NULL && secure_factcache_hello_get(key, sc->hello_key_len, (size_t)i, &kept)))
            sc->vals[i] = kept != NULL ? apr_pstrdup(vc.p, kept) : NULL;
        else {
            sc->vals[i] = v->fn(&vc);
            if (x != NULL)
                secure_factcache_put(x, (size_t)i, sc->vals[i]);
            else if (key != NULL)
                secure_factcache_hello_put(key, sc->hello_key_len, (size_t)i, sc->vals[i]);
        }
        sc->done[i] = 1;
    }
    val = sc->vals[i];
    secure_conn_unlock(sc);
    return val;
}

/* The values of every subjectAltName kind (for the NAME_n variables), memoised with the certificate; -1
 * when there is no certificate or its subjectAltName cannot be read. */
static int san_numbered_values(secure_conn_t *sc, request_rec *r, apr_array_header_t *vals[SECURE_SAN_N])
{
    secure_var_ctx_t vc;
    int rc;

    var_ctx_init(&vc, sc, r);
    secure_conn_lock(sc);
    rc = san_collect(&vc, vals);
    secure_conn_unlock(sc);
    return rc;
}

/* mod_secure answers for c only where SecureEngine is on for the vhost serving it. */
static secure_conn_t *active_conn(conn_rec *c, request_rec *r)
{
    secure_conn_t *sc = secure_conn_get(c);

    if (sc == NULL || sc->ssl == NULL)
        return NULL;
    if (!secure_config_engine_on(r ? r->server : c->base_server))
        return NULL;
    /* a handshake that did not finish has no parameters worth reporting */
    if (!SSL_is_init_finished(sc->ssl))
        return NULL;
    return sc;
}

const char *secure_vars_lookup(conn_rec *c, request_rec *r, const char *name)
{
    secure_conn_t *sc;
    apr_array_header_t *vals[SECURE_SAN_N];
    size_t k;
    int i = var_index(name), n;

    if (i >= 0)
        return (sc = active_conn(c, r)) != NULL ? var_value(sc, r, i) : NULL;
    if (name == NULL || !san_numbered(name, &k, &n) || (sc = active_conn(c, r)) == NULL
        || san_numbered_values(sc, r, vals) != 0 || n >= vals[k]->nelts)
        return NULL;
    return APR_ARRAY_IDX(vals[k], n, const char *);
}

/* Calls fn for every set variable of the request: the table in order, then the numbered SAN values. */
typedef void secure_var_visit_fn(void *baton, request_rec *r, const char *name, const char *val);

static void vars_visit(secure_conn_t *sc, request_rec *r, secure_var_visit_fn *fn, void *baton)
{
    apr_array_header_t *vals[SECURE_SAN_N];
    size_t i, k;
    int n;

    for (i = 0; i < SECURE_VAR_N; i++) {
        const char *val = var_value(sc, r, (int)i);
        if (val != NULL)
            fn(baton, r, secure_var_table[i].name, val);
    }
    if (san_numbered_values(sc, r, vals) != 0)
        return;
    for (k = 0; k < SECURE_SAN_N; k++)
        for (n = 0; n < vals[k]->nelts && n <= SECURE_SAN_MAX_INDEX; n++)
            fn(baton, r, apr_psprintf(r->pool, "%s_%d", secure_san_vars[k].name, n),
               APR_ARRAY_IDX(vals[k], n, const char *));
}

/* What every request of a connection puts into its environment from the connection and certificate
 * scopes (the numbered subjectAltName variables included, the whole certificate not): names and values
 * computed once per client certificate, so a request copies pointers instead of asking the table again
 * (issue 11). In secure_conn_pool(); caller holds sc's lock. */
typedef struct {
    const void *cert;                   /* the peer certificate it was made for (NULL: none) */
    int built;
    int n;
    const char **names;
    const char **vals;
} secure_export_memo_t;

static const secure_export_memo_t *export_memo(secure_conn_t *sc, request_rec *r)
{
    secure_export_memo_t *m = sc->vars_export_memo;
    const X509 *x = SSL_get0_peer_certificate(sc->ssl);
    apr_array_header_t *san[SECURE_SAN_N];
    apr_pool_t *p;
    size_t i, k, max = SECURE_VAR_N;
    int n;

    if (m != NULL && m->built && m->cert == x)
        return m;
    p = secure_conn_pool(sc, r->connection);
    if (san_numbered_values(sc, r, san) == 0)
        for (k = 0; k < SECURE_SAN_N; k++)
            max += (size_t)(san[k]->nelts <= SECURE_SAN_MAX_INDEX ? san[k]->nelts : SECURE_SAN_MAX_INDEX + 1);
    else
        for (k = 0; k < SECURE_SAN_N; k++)
            san[k] = NULL;
    if (m == NULL)
        sc->vars_export_memo = m = apr_pcalloc(p, sizeof(*m));
    m->names = apr_palloc(p, max * sizeof(*m->names));
    m->vals = apr_palloc(p, max * sizeof(*m->vals));
    m->n = 0;
    for (i = 0; i < SECURE_VAR_N; i++) {
        const char *val;
        if (secure_var_table[i].scope == SECURE_SCOPE_REQ || secure_var_table[i].certdata)
            continue;
        if ((val = var_value(sc, r, (int)i)) != NULL) {
            m->names[m->n] = secure_var_table[i].name;
            m->vals[m->n++] = val;
        }
    }
    for (k = 0; k < SECURE_SAN_N; k++)
        for (n = 0; san[k] != NULL && n < san[k]->nelts && n <= SECURE_SAN_MAX_INDEX; n++) {
            m->names[m->n] = apr_psprintf(p, "%s_%d", secure_san_vars[k].name, n);
            m->vals[m->n++] = APR_ARRAY_IDX(san[k], n, const char *);
        }
    m->cert = x;
    m->built = 1;
    return m;
}

/* Whether t has a SECURE_* key already (keys compare without case): a subrequest's copy of its parent's
 * environment, an internal redirect, or something an operator set. Only then must each value replace one
 * (apr_table_setn scans the table for every name); otherwise appending is exact and O(1) per name. */
static int has_secure_key(const apr_table_t *t)
{
    const apr_array_header_t *a = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;
    int i;

    for (i = 0; i < a->nelts; i++)
        if (e[i].key != NULL && ap_cstr_casecmpn(e[i].key, "SECURE_", 7) == 0)
            return 1;
    return 0;
}

void secure_vars_export(request_rec *r)
{
    secure_conn_t *sc = active_conn(r->connection, r);
    const secure_export_memo_t *m;
    size_t i;
    int j, n;
    const char **names, **vals;
    void (*put)(apr_table_t *, const char *, const char *);

    if (sc == NULL || !secure_config_export_vars(r))
        return;
    secure_conn_lock(sc);
    m = export_memo(sc, r);
    n = m->n;                           /* a later rebuild makes new arrays: these stay valid */
    names = m->names;
    vals = m->vals;
    secure_conn_unlock(sc);
    put = has_secure_key(r->subprocess_env) ? apr_table_setn : apr_table_addn;
    for (j = 0; j < n; j++)
        put(r->subprocess_env, names[j], vals[j]);
    for (i = 0; i < SECURE_VAR_N; i++) {
        const char *val;
        if (secure_var_table[i].scope != SECURE_SCOPE_REQ
            && !(secure_var_table[i].certdata && secure_config_export_cert_data(r)))
            continue;
        if ((val = var_value(sc, r, (int)i)) != NULL)
            put(r->subprocess_env, secure_var_table[i].name, val);
    }
}

const char *secure_vars_ssl_var_lookup(apr_pool_t *p, server_rec *s, conn_rec *c, request_rec *r,
                                       const char *name)
{
    (void)p;
    (void)s;
    if (c == NULL || name == NULL || strncmp(name, "SECURE_", 7) != 0)
        return NULL;
    return secure_vars_lookup(c, r, name);
}

static const char *expr_var_fn(ap_expr_eval_ctx_t *ctx, const void *data)
{
    const char *name = data;
    const char *val;

    if (ctx->c == NULL)
        return "";
    val = secure_vars_lookup(ctx->c, ctx->r, name);
    return val ? val : "";
}

int secure_vars_expr_lookup(ap_expr_lookup_parms *parms)
{
    size_t k;
    int i, n;

    if (parms->type != AP_EXPR_FUNC_VAR)
        return DECLINED;
    i = var_index(parms->name);
    if (i >= 0)
        *parms->data = secure_var_table[i].name;
    else if (parms->name != NULL && san_numbered(parms->name, &k, &n))
        *parms->data = apr_pstrdup(parms->pool, parms->name);
    else
        return DECLINED;
    *parms->func = expr_var_fn;
    return OK;
}

static void json_string(request_rec *r, const char *s)
{
    size_t len = strlen(s);
    char *buf = apr_palloc(r->pool, SECURE_JSON_STRING_MAX(len));

    ap_rwrite(buf, (int)secure_json_string(s, len, buf), r);
}

typedef struct {
    int first;
} info_state_t;

static void info_one(void *baton, request_rec *r, const char *name, const char *val)
{
    info_state_t *st = baton;

    ap_rputs(st->first ? "\n  " : ",\n  ", r);
    st->first = 0;
    json_string(r, name);
    ap_rputs(": ", r);
    json_string(r, val);
}

int secure_vars_info_handler(request_rec *r)
{
    secure_conn_t *sc;
    info_state_t st = { 1 };

    if (strcmp(r->handler, "secure-info") != 0)
        return DECLINED;
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    sc = active_conn(r->connection, r);
    ap_rputs("{", r);
    if (sc != NULL)
        vars_visit(sc, r, info_one, &st);
    ap_rputs(st.first ? "}\n" : "\n}\n", r);
    return OK;
}
