/* secure_revoke — the client-certificate revocation pipeline (see the header).
 *
 * Per certificate: deny list -> verdict cache -> a fresh local CRL from the issuer -> OCSP (when on, its
 * answer is cached) -> UNKNOWN. The handshake path runs in the verify wrapper; the request path re-checks
 * a certificate that never went through it on this connection (resumed session, renegotiation, TLS 1.3
 * post-handshake auth). In each httpd child a mod_watchdog callback stats the SecureCRL and
 * SecureDenyList files every SecureCRLCheckInterval seconds and swaps in changed data; see
 * doc/revoke.md for how that behaves with several children. */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"
#include "mod_watchdog.h"
#include "apr_atomic.h"
#include "apr_file_info.h"
#include "apr_file_io.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <stdlib.h>
#include <string.h>

#include "secure_cache.h"
#include "secure_config.h"
#include "secure_crl.h"
#include "secure_denylist.h"
#include "secure_log.h"
#include "secure_ocsp.h"
#include "secure_revoke.h"
#include "secure_status.h"

APLOG_USE_MODULE(secure);

#define REVOKE_DEFAULT_INTERVAL 10
#define REVOKE_MAX_CHAIN 10          /* request-time walk up the chain */

/* X509 error for "status unknown and SecureRevocationUnknown deny". OpenSSL 3.0 has no alert mapping for
 * it, so the client gets certificate_unknown (46), distinct from certificate_revoked (44) and true to the
 * meaning; X509_V_ERR_UNABLE_TO_GET_CRL would send unknown_ca (48), which points operators at the wrong
 * problem. Measured in t/revoke_crl.t. */
#define REVOKE_UNKNOWN_X509_ERR X509_V_ERR_OCSP_CERT_UNKNOWN

enum { SCOPE_LEAF = 0, SCOPE_CHAIN };
enum { UNKNOWN_DENY = 0, UNKNOWN_ALLOW, UNKNOWN_DEFER };
static const char *const scope_words[] = { "leaf", "chain", NULL };
static const char *const unknown_words[] = { "deny", "allow", "defer", NULL };

/* ---- the deny list holder: one reloadable, reference-counted parsed file ------------------------ */

typedef struct {
    apr_uint32_t refs;
    secure_denylist_t *dl;
} deny_gen_t;

typedef struct {
    server_rec *s;
    const char *path;
    apr_thread_mutex_t *mutex;   /* guards cur */
    deny_gen_t *cur;
    apr_ino_t inode;             /* what was last read (or failed), to notice a change */
    apr_time_t mtime;
    apr_off_t size;
    int seen;
} deny_holder_t;

struct secure_revoke_conf {
    apr_array_header_t *crl_paths;   /* SecureCRL (NULL: unset) */
    long interval;
    long max_stale;
    const char *denylist_path;
    int scope;
    int unknown;
    /* run time, filled by init_server on the vhost's merged config */
    int active;
    secure_crl_store_t *crls;
    deny_holder_t *deny;
};

/* secure_conn_t.rev_leaf_state: the leaf in rev_leaf_sha256 was not checked yet / was accepted / was
 * refused. REFUSED is final for the connection: on HTTP/1.1 the connection closes after the 403, but a
 * request cannot end an HTTP/2 connection (doc/revoke.md), so every later stream must be refused too. */
enum { SECURE_LEAF_UNCHECKED = 0, SECURE_LEAF_ACCEPTED, SECURE_LEAF_REFUSED };

static const char *iso_time(apr_time_t t, apr_pool_t *p);

static struct secure_revoke_conf *revoke_conf(const server_rec *s)
{
    return secure_config_srv(s)->revoke;
}

static long conf_interval(const struct secure_revoke_conf *c)
{
    return c->interval == SECURE_UNSET ? REVOKE_DEFAULT_INTERVAL : c->interval;
}

static long conf_max_stale(const struct secure_revoke_conf *c)
{
    return c->max_stale == SECURE_UNSET ? 0 : c->max_stale;
}

static int conf_scope(const struct secure_revoke_conf *c)
{
    return c->scope == SECURE_UNSET ? SCOPE_LEAF : c->scope;
}

static int conf_unknown(const struct secure_revoke_conf *c)
{
    return c->unknown == SECURE_UNSET ? UNKNOWN_DENY : c->unknown;
}

/* ---- configuration ------------------------------------------------------------------------------ */

struct secure_revoke_conf *secure_revoke_create_srv(apr_pool_t *p)
{
    struct secure_revoke_conf *c = apr_pcalloc(p, sizeof(*c));

    c->interval = SECURE_UNSET;
    c->max_stale = SECURE_UNSET;
    c->scope = SECURE_UNSET;
    c->unknown = SECURE_UNSET;
    return c;
}

struct secure_revoke_conf *secure_revoke_merge_srv(apr_pool_t *p, const struct secure_revoke_conf *base,
                                                   const struct secure_revoke_conf *add)
{
    struct secure_revoke_conf *conf = apr_pcalloc(p, sizeof(*conf));

    /* a vhost's SecureCRL list replaces the server's, it does not extend it */
    SECURE_MERGE_PTR(crl_paths);
    SECURE_MERGE_INT(interval);
    SECURE_MERGE_INT(max_stale);
    SECURE_MERGE_PTR(denylist_path);
    SECURE_MERGE_INT(scope);
    SECURE_MERGE_INT(unknown);
    return conf;
}

static const char *readable_path(cmd_parms *cmd, const char *arg, int want_dir_ok, const char **out)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t fi;
    apr_status_t rv;

    if (path == NULL)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid path", cmd->cmd->name, arg);
    if ((rv = apr_stat(&fi, path, APR_FINFO_TYPE, cmd->temp_pool)) != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s: '%s' cannot be read (%pm); give %s", cmd->cmd->name, path, &rv,
                            want_dir_ok ? "a CRL file (PEM or DER) or a directory of CRL files"
                                        : "a readable deny-list file");
    if (fi.filetype != APR_REG && !(want_dir_ok && fi.filetype == APR_DIR))
        return apr_psprintf(cmd->pool, "%s: '%s' is not a %s", cmd->cmd->name, path,
                            want_dir_ok ? "regular file or directory" : "regular file");
    *out = path;
    return NULL;
}

const char *secure_revoke_cmd_crl(cmd_parms *cmd, void *dconf, const char *arg)
{
    struct secure_revoke_conf *c = revoke_conf(cmd->server);
    const char *path, *err;

    (void)dconf;
    if ((err = readable_path(cmd, arg, 1, &path)) != NULL)
        return err;
    if (c->crl_paths == NULL)
        c->crl_paths = apr_array_make(cmd->pool, 2, sizeof(const char *));
    *(const char **)apr_array_push(c->crl_paths) = path;
    return NULL;
}

const char *secure_revoke_cmd_interval(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_seconds(cmd, arg, 1, 86400, &revoke_conf(cmd->server)->interval);
}

const char *secure_revoke_cmd_max_stale(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_seconds(cmd, arg, 0, 30L * 86400, &revoke_conf(cmd->server)->max_stale);
}

const char *secure_revoke_cmd_denylist(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return readable_path(cmd, arg, 0, &revoke_conf(cmd->server)->denylist_path);
}

const char *secure_revoke_cmd_scope(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_keyword(cmd, arg, scope_words, &revoke_conf(cmd->server)->scope);
}

const char *secure_revoke_cmd_unknown(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_keyword(cmd, arg, unknown_words, &revoke_conf(cmd->server)->unknown);
}

/* ---- deny list ---------------------------------------------------------------------------------- */

static void deny_gen_release(deny_gen_t *g)
{
    if (g == NULL || apr_atomic_dec32(&g->refs) != 0)
        return;
    secure_denylist_free(g->dl);
    free(g);
}

static deny_gen_t *deny_acquire(deny_holder_t *h)
{
    deny_gen_t *g;

    apr_thread_mutex_lock(h->mutex);
    if ((g = h->cur) != NULL)
        apr_atomic_inc32(&g->refs);
    apr_thread_mutex_unlock(h->mutex);
    return g;
}

static apr_status_t deny_cleanup(void *data)
{
    deny_holder_t *h = data;

    deny_gen_release(h->cur);
    h->cur = NULL;
    return APR_SUCCESS;
}

typedef struct {
    deny_holder_t *h;
    unsigned bad;
} deny_report_t;

static void deny_report_line(void *baton, unsigned line, const char *why)
{
    deny_report_t *rep = baton;

    rep->bad++;
    secure_status_count(SECURE_CTR_DENYLIST_BAD_LINES);
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, rep->h->s,
                 SECTAG(10310) "%s: SecureDenyList %s line %u ignored: %s; the other entries stay in force",
                 secure_config_vhost_name(rep->h->s), rep->h->path, line, why);
}

/* Re-reads the deny list when its file changed (watchdog callback, child_init, or startup). */
static void deny_refresh(deny_holder_t *h)
{
    apr_pool_t *p = NULL;
    apr_finfo_t fi;
    apr_file_t *fd = NULL;
    char *buf = NULL;
    apr_size_t got = 0;
    deny_gen_t *g = NULL, *old;
    deny_report_t rep = { h, 0 };
    apr_status_t rv;

    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS)
        return;
    rv = apr_stat(&fi, h->path, APR_FINFO_SIZE | APR_FINFO_MTIME | APR_FINFO_INODE | APR_FINFO_TYPE, p);
    if (rv != APR_SUCCESS || fi.filetype != APR_REG) {
        if (!h->seen || h->size != -1)
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, h->s,
                         SECTAG(10311) "%s: SecureDenyList %s cannot be read; %s",
                         secure_config_vhost_name(h->s), h->path,
                         h->cur ? "the entries read before stay in force" : "no deny-list entry is in force");
        h->seen = 1;
        h->size = -1;
        goto cleanup;
    }
    if (h->seen && fi.inode == h->inode && fi.mtime == h->mtime && fi.size == h->size)
        goto cleanup;
    h->seen = 1;
    h->inode = fi.inode;
    h->mtime = fi.mtime;
    h->size = fi.size;
    if (fi.size > 64 * 1024 * 1024) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, h->s,
                     SECTAG(10312) "%s: SecureDenyList %s is larger than 64 MB; the entries read before "
                     "stay in force", secure_config_vhost_name(h->s), h->path);
        goto cleanup;
    }
    if ((rv = apr_file_open(&fd, h->path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p)) != APR_SUCCESS
        || (buf = apr_palloc(p, (apr_size_t)fi.size + 1)) == NULL
        || (fi.size > 0 && (rv = apr_file_read_full(fd, buf, (apr_size_t)fi.size, &got)) != APR_SUCCESS)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, h->s,
                     SECTAG(10313) "%s: SecureDenyList %s cannot be read; the entries read before stay in force",
                     secure_config_vhost_name(h->s), h->path);
        goto cleanup;
    }
    if ((g = calloc(1, sizeof(*g))) == NULL || (g->dl = secure_denylist_parse(buf, got, deny_report_line,
                                                                             &rep)) == NULL) {
        free(g);
        g = NULL;
        goto cleanup;
    }
    g->refs = 1;
    apr_thread_mutex_lock(h->mutex);
    old = h->cur;
    h->cur = g;
    apr_thread_mutex_unlock(h->mutex);
    g = NULL;
    deny_gen_release(old);
    secure_status_count(SECURE_CTR_DENYLIST_RELOADS);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, h->s,
                 SECTAG(10314) "%s: SecureDenyList %s %s: %lu entries, %u bad lines",
                 secure_config_vhost_name(h->s), h->path, old ? "reloaded" : "loaded",
                 (unsigned long)secure_denylist_count(h->cur->dl), rep.bad);

cleanup:
    if (fd != NULL)
        apr_file_close(fd);
    apr_pool_destroy(p);
}

static deny_holder_t *deny_create(server_rec *s, apr_pool_t *p, const char *path)
{
    deny_holder_t *h = apr_pcalloc(p, sizeof(*h));

    h->s = s;
    h->path = path;
    if (apr_thread_mutex_create(&h->mutex, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
        return NULL;
    apr_pool_cleanup_register(p, h, deny_cleanup, apr_pool_cleanup_null);
    deny_refresh(h);
    return h;
}

/* ---- one certificate through the pipeline ------------------------------------------------------- */

static const char *name_rfc2253(const X509_NAME *n, unsigned long flags, apr_pool_t *p)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    const char *out = "";

    if (b != NULL && X509_NAME_print_ex(b, n, 0, flags) >= 0 && (len = BIO_get_mem_data(b, &data)) >= 0)
        out = apr_pstrmemdup(p, data, (apr_size_t)len);
    BIO_free(b);
    return out;
}

static const char *serial_hex(X509 *cert, apr_pool_t *p)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    const char *out = hex ? apr_pstrdup(p, hex) : "?";

    OPENSSL_free(hex);
    BN_free(bn);
    return out;
}

static int deny_lookup(deny_holder_t *h, X509 *cert, secure_verdict_t *v, apr_pool_t *p)
{
    deny_gen_t *g = deny_acquire(h);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const char *dns[3];
    char legacy[512];
    secure_denylist_cert_t dc;
    unsigned line = 0;
    const X509_NAME *in = X509_get_issuer_name(cert);

    if (g == NULL || secure_denylist_count(g->dl) == 0)
        goto cleanup;
    if (!X509_digest(cert, EVP_sha256(), md, &mdlen) || mdlen != 32) {
        ERR_clear_error();
        goto cleanup;
    }
    dns[0] = name_rfc2253(in, XN_FLAG_RFC2253, p);
    dns[1] = name_rfc2253(in, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB, p);
    dns[2] = X509_NAME_oneline(in, legacy, sizeof(legacy));
    memset(&dc, 0, sizeof(dc));
    dc.sha256 = md;
    dc.serial_hex = serial_hex(cert, p);
    dc.issuer_hash = X509_NAME_hash_ex(in, NULL, NULL, NULL);
    dc.issuer_dns = dns;
    dc.n_issuer_dns = 3;
    if ((line = secure_denylist_match(g->dl, &dc)) != 0) {
        v->status = SECURE_REV_REVOKED;
        v->source = "denylist";
        v->reason = -1;
        v->revoked_at = 0;
        v->expires = 0;
        v->detail = apr_psprintf(p, "SecureDenyList %s line %u", h->path, line);
    }

cleanup:
    deny_gen_release(g);
    return line != 0;
}

/* Fills *v for cert issued by issuer (NULL when the chain had no issuer for it). */
static void revoke_check_cert(server_rec *s, const struct secure_revoke_conf *conf, conn_rec *c, X509 *cert,
                              X509 *issuer, X509_STORE *trust, secure_verdict_t *v, apr_pool_t *p)
{
    const char *stale = NULL;

    memset(v, 0, sizeof(*v));
    v->reason = -1;
    if (conf->deny != NULL && deny_lookup(conf->deny, cert, v, p))
        return;
    if (issuer == NULL) {
        v->status = SECURE_REV_UNKNOWN;
        v->source = "none";
        v->detail = "its issuer certificate is not available";
        return;
    }
    /* A fresh local CRL comes before the shared cache: it is authoritative, costs one O(log n) lookup, and
     * must not be masked by a GOOD that an online source gave before the CRL listed the certificate. */
    if (conf->crls != NULL) {
        secure_rev_status_t st = secure_crl_lookup(conf->crls, cert, issuer, conf_max_stale(conf), v, p);
        if (st == SECURE_REV_GOOD || st == SECURE_REV_REVOKED)
            return;
        if (st == SECURE_REV_UNKNOWN)
            stale = v->detail;
    }
    memset(v, 0, sizeof(*v));
    v->reason = -1;
    if (secure_cache_get(s, cert, issuer, v, p) && v->status != SECURE_REV_NONE)
        return;     /* secure_cache_get counts hits and misses */
    /* The online sources: SecureCRLFetch (a CRL from the certificate's distribution point) and
     * SecureOCSP, both behind secure_ocsp_check; their answers go to the shared cache. */
    if (secure_ocsp_enabled(s)) {
        memset(v, 0, sizeof(*v));
        v->reason = -1;
        secure_ocsp_check(s, c, cert, issuer, trust, v, p);
        if (v->status != SECURE_REV_NONE) {
            secure_cache_put(s, cert, issuer, v, p);
            return;
        }
    }
    memset(v, 0, sizeof(*v));
    v->reason = -1;
    v->status = SECURE_REV_UNKNOWN;
    v->source = "none";
    v->detail = stale ? stale
                      : apr_psprintf(p, "no fresh CRL from '%s' is loaded%s",
                                     name_rfc2253(X509_get_subject_name(issuer), XN_FLAG_RFC2253, p),
                                     secure_ocsp_enabled(s) ? " and OCSP gave no answer" : "");
}

static int severity(secure_rev_status_t st)
{
    switch (st) {
    case SECURE_REV_GOOD: return 1;
    case SECURE_REV_UNKNOWN: return 2;
    case SECURE_REV_REVOKED: return 3;
    default: return 0;
    }
}

static void record_reset(secure_conn_t *sc)
{
    secure_conn_lock(sc);
    sc->rev_status = SECURE_REV_NONE;
    sc->rev_source = NULL;
    sc->rev_reason = NULL;
    sc->rev_date = NULL;
    sc->rev_detail = NULL;
    secure_conn_unlock(sc);
}

/* The connection's answer is the worst over the certificates checked (chain scope), else the leaf's.
 * Strings are copied into the connection's pool for request-time values (secure_conn_pool): v may live in
 * a request pool, and HTTP/2 streams record from several threads. */
static void record(secure_conn_t *sc, const secure_verdict_t *v, conn_rec *current)
{
    secure_conn_lock(sc);
    if (severity(v->status) >= severity(sc->rev_status)) {
        sc->rev_status = v->status;
        sc->rev_source = v->source;
        sc->rev_reason = v->status == SECURE_REV_REVOKED && v->reason >= 0 ? secure_crl_reason_name(v->reason)
                                                                          : NULL;
        sc->rev_date = v->status == SECURE_REV_REVOKED && v->revoked_at > 0
                           ? iso_time(v->revoked_at, secure_conn_pool(sc, current)) : NULL;
        sc->rev_detail = v->detail ? apr_pstrdup(secure_conn_pool(sc, current), v->detail) : NULL;
    }
    secure_conn_unlock(sc);
}

/* The object and its cached SHA-1: both must match for the request-time fast path, so a new certificate
 * that happens to be allocated where the old one was is still checked. Caller holds the lock. */
static int leaf_quick_id(X509 *leaf, unsigned char sha1[20])
{
    unsigned int n = 0;

    if (!X509_digest(leaf, EVP_sha1(), sha1, &n) || n != 20) {
        ERR_clear_error();
        return 0;
    }
    return 1;
}

static void remember_leaf_quick(secure_conn_t *sc, X509 *leaf)
{
    sc->rev_leaf_ptr = leaf_quick_id(leaf, sc->rev_leaf_sha1) ? leaf : NULL;
}

/* The handshake accepted this leaf (verify wrapper, connection thread, before any request). */
static void remember_leaf(secure_conn_t *sc, X509 *leaf)
{
    unsigned int n = 0;

    if (apr_atomic_read32(&sc->rev_leaf_state) == SECURE_LEAF_REFUSED)
        return;
    if (X509_digest(leaf, EVP_sha256(), sc->rev_leaf_sha256, &n) && n == 32) {
        remember_leaf_quick(sc, leaf);
        apr_atomic_set32(&sc->rev_leaf_state, SECURE_LEAF_ACCEPTED);
    }
    ERR_clear_error();
}

static const char *describe(X509 *cert, apr_pool_t *p)
{
    return apr_psprintf(p, "'%s' (serial %s, issuer '%s')",
                        name_rfc2253(X509_get_subject_name(cert), XN_FLAG_RFC2253, p), serial_hex(cert, p),
                        name_rfc2253(X509_get_issuer_name(cert), XN_FLAG_RFC2253, p));
}

static const char *iso_time(apr_time_t t, apr_pool_t *p)
{
    apr_time_exp_t xt;
    char buf[32];
    apr_size_t n;

    apr_time_exp_gmt(&xt, t);
    if (apr_strftime(buf, &n, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &xt) != APR_SUCCESS)
        return "?";
    return apr_pstrdup(p, buf);
}

static const char *verdict_words(const secure_verdict_t *v, apr_pool_t *p)
{
    return apr_psprintf(p, "source %s%s%s%s%s; %s", v->source ? v->source : "none",
                        v->status == SECURE_REV_REVOKED && v->reason >= 0 ? ", reason " : "",
                        v->status == SECURE_REV_REVOKED && v->reason >= 0 ? secure_crl_reason_name(v->reason) : "",
                        v->revoked_at ? ", revoked " : "", v->revoked_at ? iso_time(v->revoked_at, p) : "",
                        v->detail ? v->detail : "no detail");
}

int secure_revoke_verify_cert(server_rec *s, secure_conn_t *sc, X509_STORE_CTX *ctx)
{
    struct secure_revoke_conf *conf = revoke_conf(s);
    STACK_OF(X509) *chain;
    X509 *cert, *issuer = NULL;
    secure_verdict_t v;
    conn_rec *c = sc->c;
    int depth, n;

    if (!conf->active)
        return 1;
    depth = X509_STORE_CTX_get_error_depth(ctx);
    chain = X509_STORE_CTX_get0_chain(ctx);
    n = chain ? sk_X509_num(chain) : 0;
    if (depth < 0 || depth >= n)
        return 1;
    if (depth == n - 1)             /* OpenSSL calls back from the trust anchor down: a new chain */
        record_reset(sc);
    if (depth > 0 && (conf_scope(conf) == SCOPE_LEAF || depth == n - 1))
        return 1;
    cert = sk_X509_value(chain, depth);
    if (depth + 1 < n)
        issuer = sk_X509_value(chain, depth + 1);
    else if (X509_check_issued(cert, cert) == X509_V_OK)
        issuer = cert;
    revoke_check_cert(s, conf, c, cert, issuer, X509_STORE_CTX_get0_store(ctx), &v, c->pool);
    record(sc, &v, c);
    if (depth == 0)
        remember_leaf(sc, cert);
    if (v.status == SECURE_REV_REVOKED) {
        secure_status_count(SECURE_CTR_REV_REVOKED);
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                      SECTAG(10301) "%s: client %s refused at the handshake: certificate %s at depth %d is "
                      "revoked (%s)", secure_config_vhost_name(s), c->client_ip, describe(cert, c->pool), depth,
                      verdict_words(&v, c->pool));
        X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REVOKED);
        return 0;
    }
    if (v.status == SECURE_REV_UNKNOWN) {
        if (conf_unknown(conf) == UNKNOWN_DENY) {
            secure_status_count(SECURE_CTR_REV_UNKNOWN);
            ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                          SECTAG(10302) "%s: client %s refused at the handshake: revocation status of "
                          "certificate %s at depth %d is unknown (%s) and SecureRevocationUnknown is deny",
                          secure_config_vhost_name(s), c->client_ip, describe(cert, c->pool), depth,
                          verdict_words(&v, c->pool));
            X509_STORE_CTX_set_error(ctx, REVOKE_UNKNOWN_X509_ERR);
            return 0;
        }
        ap_log_cerror(APLOG_MARK, conf_unknown(conf) == UNKNOWN_ALLOW ? APLOG_INFO : APLOG_DEBUG, 0, c,
                      SECTAG(10303) "%s: client %s: revocation status of certificate %s at depth %d is unknown "
                      "(%s); handshake continues (SecureRevocationUnknown %s)", secure_config_vhost_name(s),
                      c->client_ip, describe(cert, c->pool), depth, verdict_words(&v, c->pool),
                      unknown_words[conf_unknown(conf)]);
    }
    if (depth == 0)
        secure_status_count(sc->rev_status == SECURE_REV_GOOD ? SECURE_CTR_REV_GOOD : SECURE_CTR_REV_UNKNOWN);
    return 1;
}

/* ---- the request-time re-check -------------------------------------------------------------------- */

/* The issuer of cert: from the vhost's trusted CAs, else from the chain the client sent. New reference. */
static X509 *find_issuer(SSL *ssl, X509_STORE *trust, X509 *cert)
{
    X509_STORE_CTX *xs = X509_STORE_CTX_new();
    STACK_OF(X509) *sent = SSL_get_peer_cert_chain(ssl);
    X509 *issuer = NULL;
    int i;

    if (xs != NULL && X509_STORE_CTX_init(xs, trust, cert, NULL)
        && X509_STORE_CTX_get1_issuer(&issuer, xs, cert) != 1)
        issuer = NULL;
    for (i = 0; issuer == NULL && sent != NULL && i < sk_X509_num(sent); i++) {
        X509 *cand = sk_X509_value(sent, i);
        if (X509_cmp(cand, cert) != 0 && X509_check_issued(cand, cert) == X509_V_OK && X509_up_ref(cand))
            issuer = cand;
    }
    X509_STORE_CTX_free(xs);
    ERR_clear_error();
    return issuer;
}

/* A later request on a connection whose certificate was refused: HTTP/1.1 closes after the first 403, so
 * this is an HTTP/2 stream (or a pipelined request), and mod_http2 gives a request no way to end the
 * connection: refuse each one. OK (not refused) only for an internal redirect, see below. */
static int refuse_again(request_rec *r)
{
    /* the ErrorDocument of the refused request itself runs as an internal redirect: let it show the
     * verdict (a later request on the connection was refused as itself before it could redirect) */
    if (r->prev != NULL)
        return OK;
    secure_status_count(SECURE_CTR_REV_RECHECK_DENIED);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  SECTAG(10315) "%s: client %s refused (403) on a later request of a connection already refused "
                  "for its client certificate (%s)", secure_config_vhost_name(r->server), r->connection->client_ip,
                  r->connection->master ? "HTTP/2 cannot close the connection from a request"
                                        : "the connection closes after this response");
    r->connection->keepalive = AP_CONN_CLOSE;
    return HTTP_FORBIDDEN;
}

static int revoke_recheck(request_rec *r, secure_conn_t *sc, const char *when)
{
    struct secure_revoke_conf *conf = revoke_conf(r->server);
    X509 *leaf, *cert, *issuer = NULL;
    X509_STORE *trust;
    apr_uint32_t state;
    unsigned char sha1[20];
    unsigned char md[32];
    unsigned int mdlen = 0;
    secure_verdict_t v, worst;
    X509 *worst_cert = NULL;
    int level, status = OK;

    if (!conf->active || sc->ssl == NULL)
        return OK;
    if (apr_atomic_read32(&sc->rev_leaf_state) == SECURE_LEAF_REFUSED)
        return refuse_again(r);
    if ((leaf = SSL_get0_peer_certificate(sc->ssl)) == NULL)
        return OK;
    /* the common case, every request after the handshake checked this very certificate object: no hash */
    secure_conn_lock(sc);
    if (sc->rev_leaf_ptr == leaf && (state = apr_atomic_read32(&sc->rev_leaf_state)) != SECURE_LEAF_UNCHECKED
        && leaf_quick_id(leaf, sha1) && memcmp(sha1, sc->rev_leaf_sha1, 20) == 0) {
        secure_conn_unlock(sc);
        return state == SECURE_LEAF_REFUSED ? refuse_again(r) : OK;
    }
    secure_conn_unlock(sc);
    if (!X509_digest(leaf, EVP_sha256(), md, &mdlen) || mdlen != 32) {
        ERR_clear_error();
        return OK;
    }
    /* checked on this connection before (HTTP/2: concurrent streams may both get here unchecked; each then
     * reaches the same verdict) */
    if ((state = apr_atomic_read32(&sc->rev_leaf_state)) != SECURE_LEAF_UNCHECKED
        && memcmp(sc->rev_leaf_sha256, md, 32) == 0)
        return state == SECURE_LEAF_REFUSED ? refuse_again(r) : OK;
    secure_status_count(SECURE_CTR_REV_RECHECK);
    record_reset(sc);
    trust = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(sc->ssl));
    memset(&worst, 0, sizeof(worst));
    cert = leaf;
    X509_up_ref(cert);
    for (level = 0; level < REVOKE_MAX_CHAIN; level++) {
        issuer = find_issuer(sc->ssl, trust, cert);
        if (issuer == NULL && X509_check_issued(cert, cert) == X509_V_OK && X509_up_ref(cert))
            issuer = cert;
        revoke_check_cert(r->server, conf, r->connection, cert, issuer, trust, &v, r->pool);
        record(sc, &v, r->connection);
        if (severity(v.status) >= severity(worst.status)) {
            worst = v;
            X509_free(worst_cert);
            worst_cert = cert;
            X509_up_ref(worst_cert);
        }
        /* chain scope stops below the trust anchor (self-signed) */
        if (conf_scope(conf) == SCOPE_LEAF || issuer == NULL || issuer == cert
            || X509_check_issued(issuer, issuer) == X509_V_OK)
            break;
        X509_free(cert);
        cert = issuer;
        issuer = NULL;
    }
    secure_conn_lock(sc);
    memcpy(sc->rev_leaf_sha256, md, 32);
    remember_leaf_quick(sc, leaf);
    secure_conn_unlock(sc);
    if (worst.status == SECURE_REV_REVOKED
        || (worst.status == SECURE_REV_UNKNOWN && conf_unknown(conf) == UNKNOWN_DENY)) {
        apr_atomic_set32(&sc->rev_leaf_state, SECURE_LEAF_REFUSED);
        secure_status_count(SECURE_CTR_REV_RECHECK_DENIED);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      SECTAG(10304) "%s: client %s refused (403, %s) on %s: certificate %s %s (%s)",
                      secure_config_vhost_name(r->server), r->connection->client_ip,
                      r->connection->master ? "HTTP/2: every later request on this connection refused too"
                                            : "connection closed", when,
                      describe(worst_cert, r->pool),
                      worst.status == SECURE_REV_REVOKED ? "is revoked now"
                                                         : "has an unknown revocation status and "
                                                           "SecureRevocationUnknown is deny",
                      verdict_words(&worst, r->pool));
        r->connection->keepalive = AP_CONN_CLOSE;
        status = HTTP_FORBIDDEN;
    }
    else {
        apr_atomic_set32(&sc->rev_leaf_state, SECURE_LEAF_ACCEPTED);
    }
    X509_free(worst_cert);
    X509_free(issuer);
    X509_free(cert);
    return status;
}

int secure_revoke_check_request(request_rec *r, secure_conn_t *sc)
{
    return revoke_recheck(r, sc, SSL_session_reused(sc->ssl) ? "the first request of a resumed session"
                                                             : "the first request of the connection");
}

/* After mod_ssl's access checker, which may have renegotiated (TLS 1.2) or asked for a certificate after
 * the handshake (TLS 1.3) through its own verify callback: check a client certificate we have not seen. */
static int revoke_check_access(request_rec *r)
{
    secure_conn_t *sc;

    if (r->main != NULL || !secure_config_engine_on(r->server) || (sc = secure_conn_get(r->connection)) == NULL
        || sc->ssl == NULL)
        return DECLINED;
    return revoke_recheck(r, sc, "a certificate received after the handshake (renegotiation or "
                                 "post-handshake authentication)") == OK ? DECLINED : HTTP_FORBIDDEN;
}

/* ---- Require secure-revocation good [unknown] [none] -------------------------------------------- */

static const char *revocation_parse(cmd_parms *cmd, const char *req_line, const void **parsed)
{
    int *mask = apr_pcalloc(cmd->pool, sizeof(int));
    const char *w, *line = req_line;

    while ((w = ap_getword_conf(cmd->temp_pool, &line)) != NULL && *w) {
        if (!strcasecmp(w, "good"))
            *mask |= 1 << SECURE_REV_GOOD;
        else if (!strcasecmp(w, "unknown"))
            *mask |= 1 << SECURE_REV_UNKNOWN;
        else if (!strcasecmp(w, "none"))
            *mask |= 1 << SECURE_REV_NONE;
        else
            return apr_psprintf(cmd->pool, "Require secure-revocation: '%s' is not allowed; use good, "
                                "unknown or none (one or more)", w);
    }
    if (*mask == 0)
        return "Require secure-revocation: name at least one of good, unknown or none";
    *parsed = mask;
    return NULL;
}

static authz_status revocation_check(request_rec *r, const char *req_line, const void *parsed)
{
    const int *mask = parsed;
    secure_conn_t *sc = secure_conn_get(r->connection);
    secure_rev_status_t st = sc ? sc->rev_status : SECURE_REV_NONE;

    (void)req_line;
    if (*mask & (1 << st))
        return AUTHZ_GRANTED;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  SECTAG(10305) "%s: client %s denied by 'Require secure-revocation %s': the client "
                  "certificate's revocation status is %s%s%s", secure_config_vhost_name(r->server),
                  r->connection->client_ip, req_line,
                  st == SECURE_REV_GOOD ? "GOOD" : st == SECURE_REV_REVOKED ? "REVOKED"
                  : st == SECURE_REV_UNKNOWN ? "UNKNOWN" : "NONE (no client certificate checked)",
                  sc && sc->rev_detail ? ": " : "", sc && sc->rev_detail ? sc->rev_detail : "");
    return AUTHZ_DENIED;
}

static const authz_provider revocation_provider = { revocation_check, revocation_parse };

/* ---- reloading: a mod_watchdog child watchdog ------------------------------------------------------ *
 * httpd's own per-child timer thread (parent = 0, singleton = 0: every child keeps its own copy of the
 * data, so every child must look at the files) calls one callback per vhost every SecureCRLCheckInterval.
 * The callback stats the files and reloads changed ones outside any lock, then swaps a pointer, exactly
 * as the earlier home-made thread did; mod_watchdog starts and stops the thread with the child (stopped
 * in a pre-cleanup, before the child's pool goes away). */

#define REVOKE_WATCHDOG_NAME "mod_secure-revocation-reload"

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register_callback;

/* The vhosts with something to reload in this configuration generation (pconf), for child_init. */
static apr_array_header_t *reload_confs;

static void reload_conf(struct secure_revoke_conf *c)
{
    if (c->crls != NULL)
        secure_crl_store_refresh(c->crls);
    if (c->deny != NULL)
        deny_refresh(c->deny);
}

static apr_status_t reload_watchdog_cb(int state, void *data, apr_pool_t *temp)
{
    (void)temp;
    /* STARTING is skipped: child_init already checked, before the child served anything */
    if (state == AP_WATCHDOG_STATE_RUNNING)
        reload_conf(data);
    return APR_SUCCESS;          /* anything else makes mod_watchdog stop calling us for good */
}

/* After mod_ssl's post_config (which ran init_server and loaded the data) and before mod_watchdog's
 * (APR_HOOK_LAST), which starts only watchdogs that have callbacks by then. */
static int revoke_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *main_s)
{
    ap_watchdog_t *wd = NULL;
    server_rec *s;
    apr_status_t rv;
    int i;

    (void)plog;
    (void)ptemp;
    reload_confs = apr_array_make(pconf, 4, sizeof(struct secure_revoke_conf *));
    for (s = main_s; s != NULL; s = s->next) {
        struct secure_revoke_conf *c = revoke_conf(s);
        if (secure_config_engine_on(s) && (c->crls != NULL || c->deny != NULL))
            *(struct secure_revoke_conf **)apr_array_push(reload_confs) = c;
    }
    if (reload_confs->nelts == 0 || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (wd_get_instance == NULL || wd_register_callback == NULL) {
        /* Failing is what an operator can act on; silently never reloading would not be. */
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, main_s,
                     SECTAG(10316) "SecureCRL / SecureDenyList need mod_watchdog to reload changed files: "
                     "add 'LoadModule watchdog_module modules/mod_watchdog.so' (it ships with httpd; "
                     "Debian builds it in)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((rv = wd_get_instance(&wd, REVOKE_WATCHDOG_NAME, 0, 0, pconf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, main_s,
                     SECTAG(10317) "cannot create the mod_watchdog instance that reloads SecureCRL and "
                     "SecureDenyList files");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (i = 0; i < reload_confs->nelts; i++) {
        struct secure_revoke_conf *c = APR_ARRAY_IDX(reload_confs, i, struct secure_revoke_conf *);
        if ((rv = wd_register_callback(wd, apr_time_from_sec(conf_interval(c)), c, reload_watchdog_cb))
            != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, main_s,
                         SECTAG(10306) "cannot register the SecureCRL / SecureDenyList reload with mod_watchdog");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

/* A child forked long after startup must not serve the parent's startup copy: check now, synchronously,
 * before this child accepts a connection (mod_watchdog's first call comes an interval later). */
static void revoke_child_init(apr_pool_t *pchild, server_rec *main_s)
{
    int i;

    (void)pchild;
    (void)main_s;
    for (i = 0; reload_confs != NULL && i < reload_confs->nelts; i++)
        reload_conf(APR_ARRAY_IDX(reload_confs, i, struct secure_revoke_conf *));
}

void secure_revoke_register_hooks(apr_pool_t *p)
{
    static const char *const after_ssl[] = { "mod_ssl.c", NULL };

    ap_hook_post_config(revoke_post_config, after_ssl, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(revoke_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_access(revoke_check_access, after_ssl, NULL, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "secure-revocation", AUTHZ_PROVIDER_VERSION,
                              &revocation_provider, AP_AUTH_INTERNAL_PER_CONF);
}

apr_status_t secure_revoke_init_server(server_rec *s, apr_pool_t *p, SSL_CTX *ctx)
{
    struct secure_revoke_conf *conf = revoke_conf(s);
    X509_STORE *trust = SSL_CTX_get_cert_store(ctx);

    conf->active = conf->crl_paths != NULL || conf->denylist_path != NULL || conf->scope != SECURE_UNSET
                   || conf->unknown != SECURE_UNSET || secure_ocsp_enabled(s);
    if (!conf->active || conf->crls != NULL || conf->deny != NULL)
        return APR_SUCCESS;
    if (!(SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER))
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SECTAG(10307) "%s: revocation checks are configured but SSLVerifyClient asks for no "
                     "client certificate here; they apply only where a <Location> asks for one",
                     secure_config_vhost_name(s));
    if (conf->crl_paths != NULL) {
        if ((conf->crls = secure_crl_store_create(s, p, conf->crl_paths, trust)) == NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, SECTAG(10409) "%s: cannot create the CRL store",
                         secure_config_vhost_name(s));
            return APR_EGENERAL;
        }
        if (secure_crl_count(conf->crls) == 0)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SECTAG(10410) "%s: SecureCRL is set but no usable CRL was loaded (none there, or "
                         "refused above); client certificates get SecureRevocationUnknown %s until one is",
                         secure_config_vhost_name(s), unknown_words[conf_unknown(conf)]);
    }
    if (conf->denylist_path != NULL && (conf->deny = deny_create(s, p, conf->denylist_path)) == NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, SECTAG(10308) "%s: cannot create the deny list",
                     secure_config_vhost_name(s));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}
