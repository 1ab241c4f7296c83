/* secure_revoke — the client-certificate revocation pipeline (see the header).
 *
 * Per certificate: deny list -> verdict cache -> a fresh local CRL from the issuer -> OCSP (when on, its
 * answer is cached) -> UNKNOWN. The handshake path runs in the verify wrapper; the request path judges
 * the connection's certificate by the rules of the vhost serving each request whenever those rules have
 * no verdict for it yet (resumed session, renegotiation, TLS 1.3 post-handshake auth, a Host naming
 * another vhost than the SNI, subrequests), with issuers from the verified chain only.
 * In each httpd child a mod_watchdog callback stats the SecureCRL and SecureDenyList files every
 * SecureCRLCheckInterval seconds and swaps in changed data; see doc/revoke.md for how that behaves with
 * several children. */
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
#include "secure_factcache.h"
#include "secure_chain.h"
#include "secure_config.h"
#include "secure_crl.h"
#include "secure_denylist.h"
#include "secure_fetch.h"
#include "secure_crlcore.h"
#include "secure_log.h"
#include "secure_gen.h"
#include "secure_ocsp.h"
#include "secure_ossl.h"
#include "secure_revoke.h"
#include "secure_status.h"
#include "secure_util.h"

APLOG_USE_MODULE(secure);

#define REVOKE_DEFAULT_INTERVAL 10
#define REVOKE_DEFAULT_EXPIRY_WARNING 86400     /* SecureCRLExpiryWarning: a day */
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

/* ---- the revocation generation: which data a connection's verdicts were made with ------------------ *
 * Bumped in this process whenever a reload publishes a changed deny list or CRL store (every process
 * reloads its own copy, so a per-process counter is exact), plus the server-wide epoch that a fresh REVOKED
 * answer of an online source bumps (secure_status_rev_epoch: an OCSP refresh in one process reaches the
 * connections of every process; the re-check then reads that answer from the verdict cache). A
 * connection's verdict records the number it was made at; a request that finds another one judges the
 * certificate again, once: a certificate revoked while its keep-alive or HTTP/2 connection stays open is
 * refused at its next request. Two atomic reads per request, no lock and no system call. */
static apr_uint32_t revoke_generation;

static apr_uint32_t revoke_gen_now(void)
{
    /* both only grow, so the sum changes whenever either does */
    return apr_atomic_read32(&revoke_generation) + secure_status_rev_epoch();
}

static void revoke_gen_bump(void)
{
    apr_atomic_inc32(&revoke_generation);
}

/* ---- the deny list holder: one reloadable, reference-counted parsed file ------------------------ */

/* Readers take a reference on the parsed list in force (gen: secure_gen, whose data is a
 * secure_denylist_t). Reloads come from mod_watchdog's thread, child_init and startup, and may overlap
 * (mod_watchdog's child_init runs before ours): `reload` lets one reloader at a time in, and only that
 * reloader touches the fields below it. */
typedef struct {
    server_rec *s;
    const char *path;
    secure_gen_holder_t gen;
    apr_thread_mutex_t *reload;  /* held by the one reloader; guards inode .. loaded */
    apr_ino_t inode;             /* what was last read (or refused for good), to notice a change */
    apr_time_t mtime;
    apr_off_t size;
    int seen;
    int loaded;                  /* a list was published */
} deny_holder_t;

struct secure_revoke_conf {
    apr_array_header_t *crl_paths;   /* SecureCRL (NULL: unset) */
    long interval;
    long max_stale;
    long expiry_warning;             /* SecureCRLExpiryWarning (secure_status warns) */
    const char *denylist_path;
    int scope;
    int unknown;
};

/* A vhost's revocation state, in its resolved object (secure_vhost_t): the config object may be shared
 * with other vhosts (httpd hands every vhost without a Secure* directive of its own the main server's),
 * but the CRL store is verified against this vhost's own trust store. Filled by init_server; the identity
 * of "the rules a verdict was reached under" on a connection (secure_rev_memo_t.rules). */
typedef struct secure_revoke_rt {
    const struct secure_revoke_conf *conf;  /* the vhost's merged directives (read-only) */
    server_rec *s;                          /* the vhost, for the freshness warnings */
    int active;
    secure_crl_store_t *crls;
    deny_holder_t *deny;
} revoke_rt_t;

/* secure_rev_memo_t.state, one verdict slot per set of revocation rules: CHECKING while the handshake
 * walks the chain (or when it could not finish), then ACCEPTED or REFUSED. REFUSED is final for those
 * rules on the connection: on HTTP/1.1 the connection closes after the 403, but a request cannot end an
 * HTTP/2 connection (doc/revoke.md), so every later stream for a vhost with those rules is refused too. */
enum { SECURE_LEAF_CHECKING = 0, SECURE_LEAF_ACCEPTED, SECURE_LEAF_REFUSED };


static revoke_rt_t *revoke_rt(const server_rec *s)
{
    secure_vhost_t *vh = secure_vhost_get(s);

    return vh != NULL ? vh->revoke : NULL;
}

static int rt_active(const revoke_rt_t *rt)
{
    return rt != NULL && rt->active;
}

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

static long conf_expiry_warning(const struct secure_revoke_conf *c)
{
    return c->expiry_warning == SECURE_UNSET ? REVOKE_DEFAULT_EXPIRY_WARNING : c->expiry_warning;
}

static int conf_scope(const struct secure_revoke_conf *c)
{
    return c->scope == SECURE_UNSET ? SCOPE_LEAF : c->scope;
}

static int conf_unknown(const struct secure_revoke_conf *c)
{
    return c->unknown == SECURE_UNSET ? UNKNOWN_DENY : c->unknown;
}

const char *secure_revoke_scope_name(const server_rec *s)
{
    return scope_words[conf_scope(revoke_conf(s))];
}

/* ---- configuration ------------------------------------------------------------------------------ */

struct secure_revoke_conf *secure_revoke_create_srv(apr_pool_t *p)
{
    struct secure_revoke_conf *c = apr_pcalloc(p, sizeof(*c));

    c->interval = SECURE_UNSET;
    c->max_stale = SECURE_UNSET;
    c->expiry_warning = SECURE_UNSET;
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
    SECURE_MERGE_INT(expiry_warning);
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

const char *secure_revoke_cmd_expiry_warning(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_seconds(cmd, arg, 0, 365L * 86400, &revoke_conf(cmd->server)->expiry_warning);
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

static void deny_free(void *dl)
{
    secure_denylist_free(dl);
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

/* A reload that did not happen: logged, counted; the list in force (if any) stays. Caller holds h->reload. */
static void deny_reload_failed(deny_holder_t *h, apr_status_t rv, const char *why)
{
    secure_status_count(SECURE_CTR_DENYLIST_RELOAD_FAILED);
    ap_log_error(APLOG_MARK, APLOG_ERR, rv, h->s,
                 SECTAG(11200) "%s: SecureDenyList %s not reloaded: %s; %s", secure_config_vhost_name(h->s),
                 h->path, why, h->loaded ? "the entries read before stay in force"
                           : "client certificates are refused until it can be read");
}

/* Reads and publishes the file when it changed; the caller holds h->reload. A failure that may pass (out of
 * memory, a read error) does not record the file as seen, so the next check tries again. */
static void deny_reload_locked(deny_holder_t *h)
{
    apr_pool_t *p = NULL;
    apr_finfo_t fi;
    apr_file_t *fd = NULL;
    char *buf = NULL;
    apr_size_t got = 0;
    secure_denylist_t *dl = NULL;
    secure_gen_t *g = NULL;
    deny_report_t rep = { h, 0 };
    apr_status_t rv;
    int had = h->loaded;

    if ((rv = apr_pool_create_unmanaged_ex(&p, NULL, NULL)) != APR_SUCCESS) {
        deny_reload_failed(h, rv, "out of memory");
        return;
    }
    rv = apr_stat(&fi, h->path, APR_FINFO_SIZE | APR_FINFO_MTIME | APR_FINFO_INODE | APR_FINFO_TYPE, p);
    if (rv != APR_SUCCESS || fi.filetype != APR_REG) {
        if (!h->seen || h->size != -1)
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, h->s,
                         SECTAG(10311) "%s: SecureDenyList %s cannot be read; %s",
                         secure_config_vhost_name(h->s), h->path,
                         h->loaded ? "the entries read before stay in force"
                                   : "client certificates are refused until it can be read");
        h->seen = 1;
        h->size = -1;
        goto cleanup;
    }
    if (h->seen && fi.inode == h->inode && fi.mtime == h->mtime && fi.size == h->size)
        goto cleanup;
    if (fi.size > 64 * 1024 * 1024) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, h->s,
                     SECTAG(10312) "%s: SecureDenyList %s is larger than 64 MB; %s", secure_config_vhost_name(h->s),
                     h->path, h->loaded ? "the entries read before stay in force"
                                        : "client certificates are refused until it can be read");
        goto seen;                              /* refused until the file changes */
    }
    if ((rv = apr_file_open(&fd, h->path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p)) != APR_SUCCESS
        || (buf = apr_palloc(p, (apr_size_t)fi.size + 1)) == NULL
        || (fi.size > 0 && (rv = apr_file_read_full(fd, buf, (apr_size_t)fi.size, &got)) != APR_SUCCESS)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, h->s,
                     SECTAG(10313) "%s: SecureDenyList %s cannot be read; %s", secure_config_vhost_name(h->s),
                     h->path, h->loaded ? "the entries read before stay in force"
                                        : "client certificates are refused until it can be read");
        secure_status_count(SECURE_CTR_DENYLIST_RELOAD_FAILED);
        goto cleanup;
    }
    /* all or nothing: out of memory while parsing gives no list at all, never a partial one */
    if ((dl = secure_denylist_parse(buf, got, deny_report_line, &rep)) == NULL
        || (g = secure_gen_new(dl, deny_free)) == NULL) {
        secure_denylist_free(dl);
        deny_reload_failed(h, APR_ENOMEM, "out of memory while parsing it (nothing of this version is used)");
        goto cleanup;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, h->s,
                 SECTAG(10314) "%s: SecureDenyList %s %s: %lu entries, %u bad lines",
                 secure_config_vhost_name(h->s), h->path, had ? "reloaded" : "loaded",
                 (unsigned long)secure_denylist_count(dl), rep.bad);
    secure_gen_publish(&h->gen, g);
    revoke_gen_bump();
    secure_status_denylist(h->s, h->path, secure_denylist_count(dl));
    h->loaded = 1;
    secure_status_count(SECURE_CTR_DENYLIST_RELOADS);

seen:
    h->seen = 1;
    h->inode = fi.inode;
    h->mtime = fi.mtime;
    h->size = fi.size;
cleanup:
    if (fd != NULL)
        apr_file_close(fd);
    apr_pool_destroy(p);
}

/* Re-reads the deny list when its file changed (watchdog callback, child_init, or startup). When another
 * thread is reloading this list right now, that reload publishes the current file: skip. */
static void deny_refresh(deny_holder_t *h)
{
    apr_status_t rv = apr_thread_mutex_trylock(h->reload);

    if (rv != APR_SUCCESS) {
        if (!APR_STATUS_IS_EBUSY(rv)) {
            secure_status_count(SECURE_CTR_DENYLIST_RELOAD_FAILED);
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, h->s, SECTAG(11202) "%s: SecureDenyList %s not checked for "
                         "changes: its reload lock failed; the list in force stays", secure_config_vhost_name(h->s),
                         h->path);
        }
        return;
    }
    deny_reload_locked(h);
    apr_thread_mutex_unlock(h->reload);
}

static deny_holder_t *deny_create(server_rec *s, apr_pool_t *p, const char *path)
{
    deny_holder_t *h = apr_pcalloc(p, sizeof(*h));

    h->s = s;
    h->path = path;
    if (secure_gen_holder_init(&h->gen, p) != APR_SUCCESS
        || apr_thread_mutex_create(&h->reload, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
        return NULL;
    deny_refresh(h);
    return h;
}

/* ---- one certificate through the pipeline ------------------------------------------------------- */

/* One spelling of the issuer DN for the deny list (pool copy), or NULL when OpenSSL could not print it. */
static const char *deny_issuer_spelling(const X509_NAME *n, unsigned long flags, apr_pool_t *p)
{
    char *s = secure_name_print(n, flags);
    const char *out = s ? apr_pstrdup(p, s) : NULL;

    free(s);
    return out;
}

static const char *deny_issuer_legacy(const X509_NAME *n, apr_pool_t *p)
{
    char *s = X509_NAME_oneline(n, NULL, 0);       /* allocated: no length limit but OpenSSL's own */
    const char *out = s ? apr_pstrdup(p, s) : NULL;

    OPENSSL_free(s);
    return out;
}

/* Whether cert is refused by the deny list; fills *v then. A certificate the list cannot be checked against is
 * refused too: the file was never read (unreadable, too large or out of memory at startup), or the certificate's
 * SHA-256, serial or issuer name could not be computed while entries of that kind exist. A deny list must not
 * let a certificate through because of an error. */
static int deny_lookup(deny_holder_t *h, X509 *cert, secure_verdict_t *v, apr_pool_t *p)
{
    secure_gen_t *g = secure_gen_acquire(&h->gen);
    const secure_denylist_t *dl = g != NULL ? g->data : NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    const char *dns[4];
    secure_denylist_cert_t dc;
    secure_denylist_result_t res = SECURE_DENYLIST_NOT_LISTED;
    unsigned line = 0;
    int hash_ok = 0;
    const X509_NAME *in = X509_get_issuer_name(cert);

    memset(&dc, 0, sizeof(dc));
    if (g == NULL)
        res = SECURE_DENYLIST_UNDECIDED;
    else if (secure_denylist_count(dl) > 0) {
        if (secure_factcache_sha256(cert, md) == 0)
            dc.sha256 = md;
        else
            secure_ossl_discard("the deny list's sha256 entries cannot match an unhashable certificate");
        if (secure_denylist_count(dl) > secure_denylist_count_sha256(dl)) {
            /* serial entries: the spellings an operator may have pasted (see secure_denylist.h) */
            dc.serial_hex = secure_ossl_serial(cert, p);
            dc.issuer_hash = X509_NAME_hash_ex(in, NULL, NULL, &hash_ok);
            dc.has_issuer_hash = hash_ok;
            dns[0] = deny_issuer_spelling(in, XN_FLAG_RFC2253, p);
            dns[1] = deny_issuer_spelling(in, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB, p);  /* SECURE_CLIENT_I_DN */
            dns[2] = deny_issuer_spelling(in, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB, p);
            dns[3] = deny_issuer_legacy(in, p);
            dc.issuer_dns = dns;
            dc.n_issuer_dns = 4;
        }
        res = secure_denylist_check(dl, &dc, &line);
    }
    if (res == SECURE_DENYLIST_NOT_LISTED)
        goto cleanup;
    v->status = SECURE_REV_REVOKED;
    v->source = "denylist";
    v->reason = -1;
    v->revoked_at = 0;
    v->expires = 0;
    if (res == SECURE_DENYLIST_LISTED) {
        v->detail = apr_psprintf(p, "SecureDenyList %s line %u", h->path, line);
        goto cleanup;
    }
    secure_status_count(SECURE_CTR_DENYLIST_LOOKUP_ERRORS);
    if (g == NULL) {
        /* the refusal line of the caller (SEC10301 / SEC10304) says this; the cause was logged at load time */
        v->detail = apr_psprintf(p, "SecureDenyList %s has not been read successfully (see the errors logged "
                                 "when it was loaded); client certificates are refused until it is", h->path);
    }
    else {
        const char *err = secure_ossl_errors(p);
        v->detail = apr_psprintf(p, "SecureDenyList %s could not be checked: the certificate's %s could not be "
                                 "computed (%s); refused rather than let through", h->path,
                                 dc.sha256 == NULL ? "SHA-256" : dc.serial_hex == NULL ? "serial number"
                                                               : "issuer name", *err ? err : "no OpenSSL error");
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, h->s, SECTAG(11201) "%s: %s", secure_config_vhost_name(h->s),
                     v->detail);
    }

cleanup:
    /* a lookup error was taken into the refusal above; any other was about a value the list did not need */
    secure_ossl_discard("a value that could not be computed was not needed: the list has no entry of its kind");
    secure_gen_release(g);
    return res != SECURE_DENYLIST_NOT_LISTED;
}

/* Fills *v for cert issued by issuer (NULL when the chain had no issuer for it). verified: the chain
 * verified (0 when mod_ssl let an unverified certificate through, e.g. SSLVerifyClient optional_no_ca). */
static void revoke_check_cert(server_rec *s, const revoke_rt_t *rt, conn_rec *c, X509 *cert,
                              X509 *issuer, X509_STORE *trust, int verified, secure_verdict_t *v, apr_pool_t *p)
{
    const struct secure_revoke_conf *conf = rt->conf;
    const char *stale = NULL;

    memset(v, 0, sizeof(*v));
    v->reason = -1;
    if (rt->deny != NULL && deny_lookup(rt->deny, cert, v, p))
        return;
    /* Not verified: nothing vouches for its issuer or its URLs. No cache, CRL or online look-up (no
     * fetch, never GOOD): its status is UNKNOWN, so SecureRevocationUnknown decides (deny refuses it, as
     * for any certificate whose revocation status cannot be established; doc/ocsp.md). */
    if (!verified) {
        v->status = SECURE_REV_UNKNOWN;
        v->source = "unverified";
        v->detail = "the certificate did not verify, so no revocation source is asked";
        return;
    }
    if (issuer == NULL) {
        v->status = SECURE_REV_UNKNOWN;
        v->source = "none";
        v->detail = "its issuer certificate is not available";
        return;
    }
    /* A fresh local CRL comes before the shared cache: it is authoritative, costs one O(log n) lookup, and
     * must not be masked by a GOOD that an online source gave before the CRL listed the certificate. */
    if (rt->crls != NULL) {
        secure_rev_status_t st = secure_crl_lookup(rt->crls, cert, issuer, conf_max_stale(conf), v, p);
        if (st == SECURE_REV_GOOD || st == SECURE_REV_REVOKED)
            return;
        if (st == SECURE_REV_UNKNOWN)
            stale = v->detail;
    }
    memset(v, 0, sizeof(*v));
    v->reason = -1;
    if (secure_cache_get(s, c, cert, issuer, v, p) && v->status != SECURE_REV_NONE) {
        secure_online_refresh_ahead(s, cert, issuer, trust, v->expires);   /* near expiry: ask again */
        return;     /* secure_cache_get counts hits and misses */
    }
    /* The online sources: SecureCRLFetch (a CRL from the certificate's distribution point) and
     * SecureOCSP, both behind secure_online_check; their answers go to the shared cache. */
    if (secure_online_enabled(s)) {
        memset(v, 0, sizeof(*v));
        v->reason = -1;
        secure_online_check(s, c, cert, issuer, trust, verified, v, p);   /* caches its answer */
        if (v->status != SECURE_REV_NONE)
            return;
    }
    memset(v, 0, sizeof(*v));
    v->reason = -1;
    v->status = SECURE_REV_UNKNOWN;
    v->source = "none";
    v->detail = stale ? stale
                      : apr_psprintf(p, "no fresh CRL from '%s' is loaded%s",
                                     secure_ossl_dn(X509_get_subject_name(issuer), p),
                                     secure_online_enabled(s) ? " and OCSP gave no answer" : "");
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

/* ---- verdicts per (certificate, revocation rules) on a connection ---------------------------------- *
 * A verdict is about one certificate (sc->rev_leaf_*) under the rules of one merged revocation config:
 * httpd hands every vhost without a Secure* directive of its own the main server's config object, so
 * the pointer is the identity of the rules. The handshake's vhost fills one slot; a request for a vhost
 * with other rules gets one of its own (SNI != Host, no SNI, HTTP/2 coalescing). Callers hold the lock. */

/* The slot for rules, or NULL. create: take a free slot, else reuse the oldest that is not a refusal
 * (refusals are final); NULL when every slot holds a refusal (that request is then judged unmemoised). */
static secure_rev_memo_t *memo_slot(secure_conn_t *sc, const revoke_rt_t *rules, int create)
{
    secure_rev_memo_t *m, *pick = NULL;
    unsigned newest = 0;
    int i;

    if (rules == NULL)
        return NULL;
    if (sc->rev_memo == NULL
        && (!create || (sc->rev_memo = apr_pcalloc(secure_conn_pool(sc, NULL), SECURE_REV_MEMO_SLOTS * sizeof(*m)))
                == NULL))
        return NULL;
    for (i = 0; i < SECURE_REV_MEMO_SLOTS; i++)
        if (sc->rev_memo[i].rules == rules)
            return &sc->rev_memo[i];
    if (!create)
        return NULL;
    for (i = 0; i < SECURE_REV_MEMO_SLOTS; i++) {
        m = &sc->rev_memo[i];
        if (m->age > newest)
            newest = m->age;
        if (pick != NULL && pick->rules == NULL)
            continue;
        if (m->rules == NULL || (m->state != SECURE_LEAF_REFUSED && (pick == NULL || m->age < pick->age)))
            pick = m;
    }
    if (pick != NULL) {
        memset(pick, 0, sizeof(*pick));
        pick->rules = rules;
        pick->age = newest + 1;
    }
    return pick;
}

/* A verdict folded into a slot: the slot keeps the worst (chain scope checks several certificates). */
static void memo_merge(secure_rev_memo_t *m, const secure_verdict_t *v)
{
    if (m->status != SECURE_REV_NONE && severity(v->status) < severity(m->status))
        return;
    m->status = v->status;
    apr_cpystrn(m->source, v->source ? v->source : "none", sizeof(m->source));
    m->reason = v->status == SECURE_REV_REVOKED && v->reason >= 0 ? secure_crlcore_reason_name(v->reason) : NULL;
    m->date[0] = '\0';
    if (v->status == SECURE_REV_REVOKED && v->revoked_at > 0)
        secure_ossl_iso_time(v->revoked_at, m->date, sizeof(m->date));
    apr_cpystrn(m->detail, v->detail ? v->detail : "", sizeof(m->detail));
    m->pending = v->status == SECURE_REV_UNKNOWN && v->source != NULL && !strcmp(v->source, "pending");
}

/* The connection's certificate changed (renegotiation, post-handshake authentication): what was accepted
 * about the old one says nothing about the new one. Refusals stay (final for their rules), and so does
 * keep (the slot being filled for the new certificate). */
static void memo_forget_accepted(secure_conn_t *sc, const secure_rev_memo_t *keep)
{
    int i;

    for (i = 0; sc->rev_memo != NULL && i < SECURE_REV_MEMO_SLOTS; i++)
        if (&sc->rev_memo[i] != keep && sc->rev_memo[i].rules != NULL
            && sc->rev_memo[i].state != SECURE_LEAF_REFUSED)
            memset(&sc->rev_memo[i], 0, sizeof(sc->rev_memo[i]));
}

/* The rules of the vhost whose verify wrapper runs the handshake (set just before it calls us). */
static const revoke_rt_t *handshake_rules(const secure_conn_t *sc)
{
    return sc->hs_server != NULL ? revoke_rt(sc->hs_server) : NULL;
}

/* Handshake: a new chain is being verified (OpenSSL calls back from the trust anchor down). */
static void record_reset(secure_conn_t *sc)
{
    secure_rev_memo_t *m;

    secure_conn_lock(sc);
    if ((m = memo_slot(sc, handshake_rules(sc), 1)) != NULL && m->state != SECURE_LEAF_REFUSED) {
        const void *rules = m->rules;
        unsigned age = m->age;
        memset(m, 0, sizeof(*m));
        m->rules = rules;
        m->age = age;
        m->gen = revoke_gen_now();   /* the data this handshake's verdicts are made with */
        m->answers = secure_online_answers();   /* read before a "pending" answer can be given */
    }
    secure_conn_unlock(sc);
}

/* Handshake: one certificate's verdict, folded into the handshake vhost's slot. */
static void record(secure_conn_t *sc, const secure_verdict_t *v)
{
    secure_rev_memo_t *m;

    secure_conn_lock(sc);
    if ((m = memo_slot(sc, handshake_rules(sc), 1)) != NULL)
        memo_merge(m, v);
    secure_conn_unlock(sc);
}

/* Handshake: the worst verdict recorded so far for the chain being verified. */
static secure_rev_status_t handshake_status(secure_conn_t *sc)
{
    secure_rev_memo_t *m;
    secure_rev_status_t st = SECURE_REV_NONE;

    secure_conn_lock(sc);
    if ((m = memo_slot(sc, handshake_rules(sc), 0)) != NULL)
        st = m->status;
    secure_conn_unlock(sc);
    return st;
}

static apr_status_t release_leaf(void *data)
{
    secure_conn_t *sc = data;

    X509_free(sc->rev_leaf_obj);
    sc->rev_leaf_obj = NULL;
    return APR_SUCCESS;
}

/* Holds a reference to leaf as the object the verdicts were checked on. A renegotiation frees the old
 * peer certificate, and a new one could be allocated at its address; holding the old one prevents that,
 * so the request-time fast path needs no hashing. Released with the connection. Caller holds the lock. */
static void hold_leaf(secure_conn_t *sc, X509 *leaf)
{
    if (sc->rev_leaf_obj == leaf || !X509_up_ref(leaf))
        return;
    if (sc->rev_leaf_obj == NULL)
        apr_pool_cleanup_register(secure_conn_pool(sc, NULL), sc, release_leaf, apr_pool_cleanup_null);
    X509_free(sc->rev_leaf_obj);
    sc->rev_leaf_obj = leaf;
}

/* Makes leaf (whose SHA-256 is md) the certificate the verdicts are about; a change of certificate drops
 * the accepted verdicts except keep's. Caller holds the lock. */
static void memo_set_leaf(secure_conn_t *sc, X509 *leaf, const unsigned char md[32], const secure_rev_memo_t *keep)
{
    if (!sc->rev_leaf_known || memcmp(sc->rev_leaf_sha256, md, 32) != 0)
        memo_forget_accepted(sc, keep);
    memcpy(sc->rev_leaf_sha256, md, 32);
    sc->rev_leaf_known = 1;
    hold_leaf(sc, leaf);
}

/* Handshake: the wrapper reached the leaf (depth 0) with the chain's verdicts recorded. Without its hash
 * the slot stays CHECKING, and the first request re-checks (and refuses when hashing fails again). */
static void remember_leaf(secure_conn_t *sc, X509 *leaf)
{
    secure_rev_memo_t *m;
    unsigned char md[32];

    if (secure_factcache_sha256(leaf, md) != 0) {
        secure_ossl_discard("the leaf stays unjudged: the first request hashes it again and refuses with the "
                            "errors if that fails too");
        return;
    }
    secure_conn_lock(sc);
    if ((m = memo_slot(sc, handshake_rules(sc), 1)) != NULL && m->state != SECURE_LEAF_REFUSED) {
        memo_set_leaf(sc, leaf, md, m);
        m->state = SECURE_LEAF_ACCEPTED;
    }
    secure_conn_unlock(sc);
}

static const char *describe(X509 *cert, apr_pool_t *p)
{
    const char *serial = secure_ossl_serial(cert, p);

    return apr_psprintf(p, "'%s' (serial %s, issuer '%s')", secure_ossl_dn(X509_get_subject_name(cert), p),
                        serial ? serial : "?", secure_ossl_dn(X509_get_issuer_name(cert), p));
}

static const char *verdict_words(const secure_verdict_t *v, apr_pool_t *p)
{
    char when[SECURE_OSSL_ISO_LEN];

    return apr_psprintf(p, "source %s%s%s%s%s; %s", v->source ? v->source : "none",
                        v->status == SECURE_REV_REVOKED && v->reason >= 0 ? ", reason " : "",
                        v->status == SECURE_REV_REVOKED && v->reason >= 0 ? secure_crlcore_reason_name(v->reason) : "",
                        v->revoked_at ? ", revoked " : "",
                        v->revoked_at ? secure_ossl_iso_time(v->revoked_at, when, sizeof(when)) : "",
                        v->detail ? v->detail : "no detail");
}

int secure_revoke_verify_cert(server_rec *s, secure_conn_t *sc, X509_STORE_CTX *ctx)
{
    const revoke_rt_t *rt = revoke_rt(s);
    const struct secure_revoke_conf *conf;
    STACK_OF(X509) *chain;
    X509 *cert, *issuer = NULL;
    secure_verdict_t v;
    conn_rec *c = sc->c;
    int depth, n;

    if (!rt_active(rt))
        return 1;
    conf = rt->conf;
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
    else if (secure_self_signed(cert))
        issuer = cert;
    revoke_check_cert(s, rt, c, cert, issuer, X509_STORE_CTX_get0_store(ctx),
                      X509_STORE_CTX_get_error(ctx) == X509_V_OK, &v, c->pool);
    record(sc, &v);
    if (depth == 0)
        remember_leaf(sc, cert);
    if (v.status == SECURE_REV_REVOKED) {
        secure_status_count(SECURE_CTR_REV_REVOKED);
        secure_status_revocation(s, SECURE_REV_REVOKED, v.source);
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                      SECTAG(10301) "%s: client %s refused at the handshake: certificate %s at depth %d is "
                      "revoked (%s)", secure_config_vhost_name(s), c->client_ip, describe(cert, c->pool), depth,
                      verdict_words(&v, c->pool));
        X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REVOKED);
        return 0;
    }
    if (v.status == SECURE_REV_UNKNOWN && v.source != NULL && strcmp(v.source, "unverified") == 0) {
        secure_status_count(SECURE_CTR_REV_UNVERIFIED);
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      SECTAG(11061) "%s: client %s: certificate %s at depth %d did not verify (%s) but mod_ssl "
                      "let it through (SSLVerifyClient optional_no_ca or alike): nothing looked up or fetched, "
                      "status UNKNOWN", secure_config_vhost_name(s), c->client_ip, describe(cert, c->pool), depth,
                      X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    }
    if (v.status == SECURE_REV_UNKNOWN) {
        if (conf_unknown(conf) == UNKNOWN_DENY) {
            secure_status_count(SECURE_CTR_REV_UNKNOWN);
            secure_status_revocation(s, SECURE_REV_UNKNOWN, v.source);
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
    if (depth == 0) {
        secure_status_count(handshake_status(sc) == SECURE_REV_GOOD ? SECURE_CTR_REV_GOOD : SECURE_CTR_REV_UNKNOWN);
        secure_status_revocation(s, handshake_status(sc) == SECURE_REV_GOOD ? SECURE_REV_GOOD : SECURE_REV_UNKNOWN,
                                 v.source);
    }
    return 1;
}

/* ---- the request-time re-check -------------------------------------------------------------------- *
 * The verdict a request gets is the one of the vhost serving it (r->server), for the certificate on the
 * connection now. It is re-judged when that vhost's rules have no verdict for this certificate yet:
 * after session resumption (no verify callback runs), after mod_ssl obtained a certificate with its own
 * callback (per-directory renegotiation, TLS 1.3 post-handshake authentication), and when the request
 * names another vhost than the handshake ran under. The common case (same vhost, same certificate) costs
 * a lock and a few pointer compares. Issuers come only from the verified chain (secure_chain). */

/* The vhost whose TLS context ran the handshake (after SNI), for the log. */
static server_rec *handshake_server(secure_conn_t *sc, SSL *ssl)
{
    server_rec *hs = secure_conn_ctx_server(ssl);

    return hs != NULL ? hs : sc->hs_server;
}

/* Whether r runs the ErrorDocument of a refused request (an internal redirect after a 403), itself or in
 * one of its subrequests: that page may show the verdict. */
static int is_error_document(const request_rec *r)
{
    while (r->main != NULL)
        r = r->main;
    return r->prev != NULL && r->prev->status == HTTP_FORBIDDEN;
}

#define REVOKE_REFUSED_NOTE "mod_secure-revocation-refused"

/* A later request for rules that refused the certificate on this connection: HTTP/1.1 closes after the
 * first 403, so this is an HTTP/2 stream (or a pipelined request), and mod_http2 gives a request no way
 * to end the connection: refuse each one. Or it is the very request refused in its access check that
 * authentication let through under 'Satisfy Any'. */
static int refuse_again(request_rec *r)
{
    if (is_error_document(r))
        return OK;
    secure_status_count(SECURE_CTR_REV_RECHECK_DENIED);
    if (apr_table_get(r->notes, REVOKE_REFUSED_NOTE) != NULL)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      SECTAG(11101) "%s: client %s refused (403) before the handler: the access check refused "
                      "its client certificate, and authentication under 'Satisfy Any' would have let the "
                      "request through", secure_config_vhost_name(r->server), r->connection->client_ip);
    else
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SECTAG(10315) "%s: client %s refused (403) on a later request of a connection already "
                      "refused for its client certificate (%s)", secure_config_vhost_name(r->server),
                      r->connection->client_ip,
                      r->connection->master ? "HTTP/2 cannot close the connection from a request"
                                            : "the connection closes after this response");
    r->connection->keepalive = AP_CONN_CLOSE;
    return HTTP_FORBIDDEN;
}

/* Hashing the client certificate failed: without its identity no verdict can be remembered or looked
 * up (deny list, cache), so the request is refused rather than let through unchecked. */
static int refuse_unhashable(request_rec *r, X509 *leaf)
{
    const char *errs = secure_ossl_errors(r->pool);

    secure_status_count(SECURE_CTR_REV_HASH_FAILED);
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  SECTAG(11100) "%s: client %s refused (403): cannot compute the SHA-256 of its client "
                  "certificate %s%s%s, so its revocation status cannot be checked",
                  secure_config_vhost_name(r->server), r->connection->client_ip, describe(leaf, r->pool),
                  *errs ? ": " : "", errs);
    r->connection->keepalive = AP_CONN_CLOSE;
    return HTTP_FORBIDDEN;
}

/* Judges leaf under conf with its verified chain; fills *worst (the worst verdict) and returns the
 * certificate it is about (a reference held by *chain or by the connection). */
static X509 *judge_chain(request_rec *r, SSL *ssl, const revoke_rt_t *rt, X509 *leaf,
                         STACK_OF(X509) **chain, secure_verdict_t *worst)
{
    X509_STORE *trust = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
    const char *why = NULL, *bad = NULL;
    secure_verdict_t v;
    X509 *cert, *issuer, *worst_cert = leaf;
    int n, level, last;

    if ((*chain = secure_chain_verified(ssl, leaf, &why, &bad, r->pool)) == NULL)
        secure_status_count(SECURE_CTR_REV_RECHECK_UNVERIFIED);
    if (bad != NULL) {
        secure_status_count(SECURE_CTR_REV_CARRIED_BAD);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      SECTAG(11102) "%s: client %s: the intermediates stored in its resumed TLS session are "
                      "damaged (%s) and were ignored; the certificate is verified without them",
                      secure_config_vhost_name(r->server), r->connection->client_ip, bad);
    }
    n = *chain != NULL ? sk_X509_num(*chain) : 0;
    /* chain scope: every certificate but the trust anchor (the last one; a lone self-signed leaf that is
     * itself trusted is checked against itself) */
    last = conf_scope(rt->conf) == SCOPE_CHAIN && n > 2 ? n - 2 : 0;
    memset(worst, 0, sizeof(*worst));
    worst->reason = -1;
    for (level = 0; level <= last; level++) {
        cert = n > 0 ? sk_X509_value(*chain, level) : leaf;
        /* never the client's word for an issuer: without a verified chain there is none */
        issuer = level + 1 < n ? sk_X509_value(*chain, level + 1) : n == 1 ? cert : NULL;
        /* online sources only for a chain that verified now (finding 4): otherwise UNKNOWN, nothing fetched */
        revoke_check_cert(r->server, rt, r->connection, cert, issuer, trust, *chain != NULL, &v, r->pool);
        if (issuer == NULL && v.status == SECURE_REV_UNKNOWN && why != NULL)
            v.detail = apr_psprintf(r->pool, "its issuer is not known: %s", why);
        if (worst->status == SECURE_REV_NONE || severity(v.status) >= severity(worst->status)) {
            *worst = v;
            worst_cert = cert;
        }
    }
    return worst_cert;
}

static int revoke_recheck(request_rec *r, secure_conn_t *sc, const char *when)
{
    const revoke_rt_t *rt = revoke_rt(r->server);
    const struct secure_revoke_conf *conf;
    SSL *ssl = sc->ssl;         /* mod_ssl frees it only on the connection's own thread, between requests */
    secure_rev_memo_t *m;
    server_rec *hs;
    STACK_OF(X509) *chain = NULL;
    X509 *leaf, *worst_cert;
    unsigned char md[32];
    secure_verdict_t worst;
    int state, refused, other_vhost = 0, live, pending = 0;
    apr_uint32_t gen = revoke_gen_now(), answers = 0;

    if (!rt_active(rt) || ssl == NULL)
        return OK;
    conf = rt->conf;
    secure_conn_lock(sc);
    m = memo_slot(sc, rt, 0);
    state = m != NULL ? m->state : SECURE_LEAF_CHECKING;
    /* accepted before the revocation data changed (a reload): judged again, this once */
    live = state == SECURE_LEAF_ACCEPTED && m->gen != gen;
    /* accepted while its status was being asked in the background (SecureRevocationFirstSeen unknown):
     * judged again once this process got a background answer (only such connections read the count) */
    if (state == SECURE_LEAF_ACCEPTED && !live && m->pending
        && m->answers != (answers = secure_online_answers()))
        live = pending = 1;
    if (live)
        state = SECURE_LEAF_CHECKING;
    if (state == SECURE_LEAF_REFUSED) {
        secure_conn_unlock(sc);
        return refuse_again(r);
    }
    if ((leaf = SSL_get0_peer_certificate(ssl)) == NULL) {
        secure_conn_unlock(sc);
        return OK;
    }
    /* the common case: these rules accepted this very certificate object */
    if (state == SECURE_LEAF_ACCEPTED && sc->rev_leaf_obj == leaf) {
        secure_conn_unlock(sc);
        return OK;
    }
    secure_conn_unlock(sc);
    if (secure_factcache_sha256(leaf, md) != 0)
        return refuse_unhashable(r, leaf);
    secure_conn_lock(sc);
    if (sc->rev_leaf_known && memcmp(sc->rev_leaf_sha256, md, 32) == 0) {
        /* the same certificate in another object (a resumed session), or rules that have not judged it */
        if (!live && (m = memo_slot(sc, rt, 0)) != NULL && m->state == SECURE_LEAF_ACCEPTED && m->gen == gen) {
            hold_leaf(sc, leaf);
            secure_conn_unlock(sc);
            return OK;
        }
        other_vhost = m == NULL;
    }
    secure_conn_unlock(sc);

    /* HTTP/2: concurrent streams may both get here; each reaches the same verdict */
    secure_status_count(SECURE_CTR_REV_RECHECK);
    hs = handshake_server(sc, ssl);
    if (pending) {
        secure_status_count(SECURE_CTR_REV_LIVE_RECHECK);
        when = "a request on a connection accepted while its revocation status was asked in the background";
    }
    else if (live) {
        secure_status_count(SECURE_CTR_REV_LIVE_RECHECK);
        when = "a request on a connection accepted before the revocation data changed (a SecureCRL / "
               "SecureDenyList reload, or a new REVOKED answer of an online source)";
    }
    else if (other_vhost && hs != NULL && revoke_rt(hs) != rt) {
        secure_status_count(SECURE_CTR_REV_RECHECK_VHOST);
        when = apr_psprintf(r->pool, "a request for vhost %s, whose revocation rules differ from those of the "
                            "handshake's vhost %s", secure_config_vhost_name(r->server),
                            secure_config_vhost_name(hs));
    }
    if (!pending)
        answers = secure_online_answers();   /* before the judgement: one that lands meanwhile counts again */
    worst_cert = judge_chain(r, ssl, rt, leaf, &chain, &worst);
    refused = worst.status == SECURE_REV_REVOKED
              || (worst.status == SECURE_REV_UNKNOWN && conf_unknown(conf) == UNKNOWN_DENY);
    secure_conn_lock(sc);
    if ((m = memo_slot(sc, rt, 1)) != NULL && m->state != SECURE_LEAF_REFUSED) {
        memo_set_leaf(sc, leaf, md, m);
        m->status = SECURE_REV_NONE;
        m->gen = gen;
        m->answers = answers;
        memo_merge(m, &worst);
        m->state = refused ? SECURE_LEAF_REFUSED : SECURE_LEAF_ACCEPTED;
    }
    secure_conn_unlock(sc);
    if (refused) {
        secure_status_count(SECURE_CTR_REV_RECHECK_DENIED);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      SECTAG(10304) "%s: client %s refused (403, %s) on %s: certificate %s %s (%s)",
                      secure_config_vhost_name(r->server), r->connection->client_ip,
                      r->connection->master ? "HTTP/2: every later request on this connection to a vhost "
                                              "with these revocation rules refused too"
                                            : "connection closed", when,
                      describe(worst_cert, r->pool),
                      worst.status == SECURE_REV_REVOKED ? "is revoked now"
                                                         : "has an unknown revocation status and "
                                                           "SecureRevocationUnknown is deny",
                      verdict_words(&worst, r->pool));
        apr_table_setn(r->notes, REVOKE_REFUSED_NOTE, "1");
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    sk_X509_pop_free(chain, X509_free);
    return refused ? HTTP_FORBIDDEN : OK;
}

int secure_revoke_check_request(request_rec *r, secure_conn_t *sc)
{
    int resumed = sc->ssl != NULL && SSL_session_reused(sc->ssl);

    return revoke_recheck(r, sc, resumed ? "the first request of a resumed session"
                                         : "the first request of the connection");
}

/* The last step before the handler for every request and subrequest: 'Satisfy Any' can let a request
 * past a refusal of the access check, and a subrequest (SSI include virtual, mod_dir's index lookups)
 * can make mod_ssl obtain a certificate that its main request never saw. */
int secure_revoke_check_fixups(request_rec *r, secure_conn_t *sc)
{
    return revoke_recheck(r, sc, r->main != NULL
                          ? "a certificate received in a subrequest (renegotiation or post-handshake "
                            "authentication)"
                          : "a certificate received after the handshake (renegotiation or post-handshake "
                            "authentication)");
}

int secure_revoke_active(const server_rec *s)
{
    return secure_config_engine_on(s) && rt_active(revoke_rt(s));
}

void secure_revoke_verdict(secure_conn_t *sc, const server_rec *s, secure_rev_view_t *out, apr_pool_t *p)
{
    const revoke_rt_t *rt = revoke_rt(s);
    const secure_rev_memo_t *m;

    memset(out, 0, sizeof(*out));
    if (!rt_active(rt))
        return;
    secure_conn_lock(sc);
    if ((m = memo_slot(sc, rt, 0)) != NULL && m->state != SECURE_LEAF_CHECKING) {
        out->status = m->status;
        out->source = m->source[0] ? apr_pstrdup(p, m->source) : NULL;
        out->reason = m->reason;
        out->date = m->date[0] ? apr_pstrdup(p, m->date) : NULL;
        out->detail = m->detail[0] ? apr_pstrdup(p, m->detail) : NULL;
    }
    secure_conn_unlock(sc);
}

/* After mod_ssl's access checker, which may have renegotiated (TLS 1.2) or asked for a certificate after
 * the handshake (TLS 1.3) through its own verify callback: check a client certificate we have not seen,
 * in subrequests too. Refusing here spares the client an authentication prompt; the fixups check above
 * is the one 'Satisfy Any' cannot bypass. */
int secure_revoke_check_access(request_rec *r)
{
    secure_conn_t *sc;

    if (!secure_config_engine_on(r->server) || (sc = secure_conn_get(r->connection)) == NULL || sc->ssl == NULL)
        return DECLINED;
    return revoke_recheck(r, sc, r->main != NULL
                          ? "a certificate received in a subrequest (renegotiation or post-handshake "
                            "authentication)"
                          : "a certificate received after the handshake (renegotiation or post-handshake "
                            "authentication)") == OK ? DECLINED : HTTP_FORBIDDEN;
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

/* Grants on the verdict of the request's own vhost for the certificate on the connection now (judged
 * first when that vhost has none yet), never on another vhost's. */
static authz_status revocation_check(request_rec *r, const char *req_line, const void *parsed)
{
    const int *mask = parsed;
    secure_conn_t *sc = secure_conn_get(r->connection);
    secure_rev_view_t v;
    secure_rev_status_t st;

    memset(&v, 0, sizeof(v));
    if (sc != NULL && sc->ssl != NULL && secure_config_engine_on(r->server)) {
        if (revoke_recheck(r, sc, "a request under 'Require secure-revocation'") != OK)
            return AUTHZ_DENIED;
        secure_revoke_verdict(sc, r->server, &v, r->pool);
    }
    st = v.status;
    if (*mask & (1 << st))
        return AUTHZ_GRANTED;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  SECTAG(10305) "%s: client %s denied by 'Require secure-revocation %s': the client "
                  "certificate's revocation status is %s%s%s", secure_config_vhost_name(r->server),
                  r->connection->client_ip, req_line,
                  st == SECURE_REV_GOOD ? "GOOD" : st == SECURE_REV_REVOKED ? "REVOKED"
                  : st == SECURE_REV_UNKNOWN ? "UNKNOWN" : "NONE (no client certificate checked)",
                  v.detail ? ": " : "", v.detail ? v.detail : "");
    return AUTHZ_DENIED;
}

const authz_provider secure_revoke_authz_provider = { revocation_check, revocation_parse };

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

static void reload_conf(revoke_rt_t *rt)
{
    if (rt->crls != NULL) {
        if (secure_crl_store_refresh(rt->crls) > 0)
            revoke_gen_bump();
        secure_status_crl_freshness(rt->s, conf_expiry_warning(rt->conf), conf_max_stale(rt->conf),
                                    unknown_words[conf_unknown(rt->conf)]);
    }
    if (rt->deny != NULL)
        deny_refresh(rt->deny);
}

/* A child that stops must not exit while mod_watchdog's thread is in the middle of a reload: mod_watchdog
 * keeps its child thread in a pool the child never destroys, so nothing joins it before exit() runs
 * OpenSSL's atexit cleanup and the child pool's cleanups under a thread that is still parsing a CRL (a
 * child exiting after MaxConnectionsPerChild while a reload ran is the likely cause of a crash seen once in
 * t/revoke_reload_stress.t). reload_pass is held for each watchdog reload; secure_revoke_child_stopping
 * sets reload_stopping, then takes and releases reload_pass, so it returns only when no reload runs and
 * none can start. */
static apr_thread_mutex_t *reload_pass;     /* in the process pool, which outlives pchild (the watchdog
                                             * thread may still look at it after pchild is gone); NULL
                                             * before child_init */
static apr_uint32_t reload_stopping;

static apr_status_t reload_watchdog_cb(int state, void *data, apr_pool_t *temp)
{
    (void)temp;
    /* STARTING is skipped: child_init already checked, before the child served anything */
    if (state != AP_WATCHDOG_STATE_RUNNING || apr_atomic_read32(&reload_stopping))
        return APR_SUCCESS;      /* anything else makes mod_watchdog stop calling us for good */
    if (reload_pass == NULL || apr_thread_mutex_lock(reload_pass) != APR_SUCCESS)
        return APR_SUCCESS;
    if (!apr_atomic_read32(&reload_stopping))
        reload_conf(data);
    apr_thread_mutex_unlock(reload_pass);
    return APR_SUCCESS;
}

/* SecureRevocationRefreshAhead's sweep of recently seen certificates (secure_online_sweep), under the
 * same guard as the reloads: it only queues background jobs, but it must not run while the child exits. */
static int sweep_registered;

static apr_status_t sweep_watchdog_cb(int state, void *data, apr_pool_t *temp)
{
    (void)data;
    (void)temp;
    if (state != AP_WATCHDOG_STATE_RUNNING || apr_atomic_read32(&reload_stopping))
        return APR_SUCCESS;
    if (reload_pass == NULL || apr_thread_mutex_lock(reload_pass) != APR_SUCCESS)
        return APR_SUCCESS;
    if (!apr_atomic_read32(&reload_stopping))
        secure_online_sweep();
    apr_thread_mutex_unlock(reload_pass);
    return APR_SUCCESS;
}

void secure_revoke_child_stopping(void)
{
    apr_atomic_set32(&reload_stopping, 1);
    if (reload_pass != NULL && apr_thread_mutex_lock(reload_pass) == APR_SUCCESS)
        apr_thread_mutex_unlock(reload_pass);   /* the reload that was running has finished */
}

/* After mod_ssl's post_config (which ran init_server and loaded the data) and before mod_watchdog's
 * (APR_HOOK_LAST), which starts only watchdogs that have callbacks by then. */
int secure_revoke_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *main_s)
{
    ap_watchdog_t *wd = NULL;
    server_rec *s;
    apr_status_t rv;
    int i;

    (void)plog;
    (void)ptemp;
    reload_confs = apr_array_make(pconf, 4, sizeof(revoke_rt_t *));
    sweep_registered = 0;
    for (s = main_s; s != NULL; s = s->next) {
        revoke_rt_t *rt = revoke_rt(s);
        if (secure_config_engine_on(s) && rt != NULL && (rt->crls != NULL || rt->deny != NULL))
            *(revoke_rt_t **)apr_array_push(reload_confs) = rt;
        sweep_registered |= secure_online_sweep_needed(s);
    }
    if ((reload_confs->nelts == 0 && !sweep_registered)
        || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        sweep_registered = 0;
        return OK;
    }
    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (wd_get_instance == NULL || wd_register_callback == NULL) {
        /* Failing is what an operator can act on; silently never reloading would not be. */
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, main_s,
                     SECTAG(10316) "SecureCRL / SecureDenyList need mod_watchdog to reload changed files, and "
                     "SecureRevocationRefreshAhead to refresh recently seen certificates: "
                     "add 'LoadModule watchdog_module modules/mod_watchdog.so' (it ships with httpd; "
                     "Debian builds it in)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((rv = wd_get_instance(&wd, REVOKE_WATCHDOG_NAME, 0, 0, pconf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, main_s,
                     SECTAG(10317) "cannot create the mod_watchdog instance that reloads SecureCRL and "
                     "SecureDenyList files and refreshes recently seen certificates ahead");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (i = 0; i < reload_confs->nelts; i++) {
        revoke_rt_t *rt = APR_ARRAY_IDX(reload_confs, i, revoke_rt_t *);
        if ((rv = wd_register_callback(wd, apr_time_from_sec(conf_interval(rt->conf)), rt, reload_watchdog_cb))
            != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, main_s,
                         SECTAG(10306) "cannot register the SecureCRL / SecureDenyList reload with mod_watchdog");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if (sweep_registered
        && (rv = wd_register_callback(wd, apr_time_from_sec(1), NULL, sweep_watchdog_cb)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, main_s, SECTAG(10322) "cannot register "
                     "SecureRevocationRefreshAhead's sweep of recently seen certificates with mod_watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* A child forked long after startup must not serve the parent's startup copy: check now, synchronously,
 * before this child accepts a connection (mod_watchdog's first call comes an interval later). */
void secure_revoke_child_init(apr_pool_t *pchild, server_rec *main_s)
{
    int i;

    apr_atomic_set32(&reload_stopping, 0);
    reload_pass = NULL;
    (void)pchild;
    if ((reload_confs != NULL || sweep_registered)
        && apr_thread_mutex_create(&reload_pass, APR_THREAD_MUTEX_DEFAULT, main_s->process->pool) != APR_SUCCESS) {
        reload_pass = NULL;     /* then the watchdog does not reload (logged): this child keeps its data */
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, main_s, SECTAG(10319) "cannot create this process's reload "
                     "mutex: SecureCRL / SecureDenyList files are not reloaded in it, and recently seen "
                     "certificates are not swept, until it is replaced");
    }
    for (i = 0; reload_confs != NULL && i < reload_confs->nelts; i++)
        reload_conf(APR_ARRAY_IDX(reload_confs, i, revoke_rt_t *));
}


apr_status_t secure_revoke_init_server(server_rec *s, apr_pool_t *p, SSL_CTX *ctx)
{
    const struct secure_revoke_conf *conf = revoke_conf(s);
    X509_STORE *trust = SSL_CTX_get_cert_store(ctx);
    secure_vhost_t *vh = secure_vhost_get(s);
    revoke_rt_t *rt;

    if (vh == NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, SECTAG(10318) "%s: no resolved vhost for this TLS context "
                     "(mod_secure's check_config did not run for it); refusing to start",
                     secure_config_vhost_name(s));
        return APR_EGENERAL;
    }
    if (vh->revoke != NULL)
        return APR_SUCCESS;     /* init_server runs once per TLS context; this vhost's state exists */
    vh->revoke = rt = apr_pcalloc(p, sizeof(*rt));
    rt->conf = conf;
    rt->s = s;
    rt->active = conf->crl_paths != NULL || conf->denylist_path != NULL || conf->scope != SECURE_UNSET
                 || conf->unknown != SECURE_UNSET || secure_online_enabled(s);
    if (!rt->active)
        return APR_SUCCESS;
    if (!(SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER))
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SECTAG(10307) "%s: revocation checks are configured but SSLVerifyClient asks for no "
                     "client certificate here; they apply only where a <Location> asks for one",
                     secure_config_vhost_name(s));
    if (conf->crl_paths != NULL) {
        if ((rt->crls = secure_crl_store_create(s, p, conf->crl_paths, trust)) == NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, SECTAG(10409) "%s: cannot create the CRL store",
                         secure_config_vhost_name(s));
            return APR_EGENERAL;
        }
        if (secure_crl_count(rt->crls) == 0)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SECTAG(10410) "%s: SecureCRL is set but no usable CRL was loaded (none there, or "
                         "refused above); client certificates get SecureRevocationUnknown %s until one is",
                         secure_config_vhost_name(s), unknown_words[conf_unknown(conf)]);
    }
    if (conf->denylist_path != NULL && (rt->deny = deny_create(s, p, conf->denylist_path)) == NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, SECTAG(10308) "%s: cannot create the deny list",
                     secure_config_vhost_name(s));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}
