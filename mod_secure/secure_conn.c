/* secure_conn — per-connection state and the ClientHello capture. */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include <string.h>

#include "secure_conn.h"
#include "secure_hello.h"
#include "secure_log.h"
#include "secure_status.h"

APLOG_USE_MODULE(secure);

static int secure_ssl_idx = -1;

/* mod_ssl owns the SSL and may free it while the connection lives on: when a client speaks plain HTTP to
 * the TLS port, mod_ssl frees it and serves a 400 (and its ErrorDocument, an internal redirect) on the
 * same connection. OpenSSL calls this from SSL_free, on the thread that frees it, so our pointer is
 * cleared before any later hook could read freed memory; every reader checks sc->ssl for NULL. */
static void conn_ssl_freed(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    secure_conn_t *sc = ptr;

    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    if (sc != NULL)
        sc->ssl = NULL;
}

/* httpd unloads and reloads the module between configuration passes (and on every restart), but OpenSSL's
 * ex_data index table lives as long as the process: an index left behind would keep a pointer to
 * conn_ssl_freed in the unloaded copy, and the next SSL_free would jump into unmapped memory. So the
 * index is released in a cleanup of the pool the module is loaded in, which runs before the unload. */
static apr_status_t conn_ssl_index_free(void *data)
{
    (void)data;
    if (secure_ssl_idx >= 0)
        CRYPTO_free_ex_index(CRYPTO_EX_INDEX_SSL, secure_ssl_idx);
    secure_ssl_idx = -1;
    return APR_SUCCESS;
}

void secure_conn_init_ssl_index(apr_pool_t *pconf)
{
    if (secure_ssl_idx >= 0)
        return;
    secure_ssl_idx = SSL_get_ex_new_index(0, (void *)"mod_secure conn", NULL, NULL, conn_ssl_freed);
    if (secure_ssl_idx >= 0)
        apr_pool_cleanup_register(pconf, NULL, conn_ssl_index_free, apr_pool_cleanup_null);
}

secure_conn_t *secure_conn_from_ssl(const SSL *ssl)
{
    if (ssl == NULL || secure_ssl_idx < 0)
        return NULL;
    return SSL_get_ex_data(ssl, secure_ssl_idx);
}

void secure_conn_lock(secure_conn_t *sc)
{
    apr_thread_mutex_lock(sc->mutex);
}

void secure_conn_unlock(secure_conn_t *sc)
{
    apr_thread_mutex_unlock(sc->mutex);
}

secure_conn_t *secure_conn_get(conn_rec *c)
{
    while (c != NULL && c->master != NULL)
        c = c->master;
    if (c == NULL)
        return NULL;
    return ap_get_module_config(c->conn_config, &secure_module);
}

/* Receives the TLS protocol messages OpenSSL reads or writes during the first handshake. We keep the first
 * ClientHello (bounded), the time of the first record header, and the time of the client's Finished. Never
 * alters the handshake. After the client's Finished nothing here is needed any more (the variables describe
 * the first handshake; a renegotiation's hello is not used), so the callback removes itself: records of the
 * rest of the connection, a 50 MB download included, cost no callback. OpenSSL reads the callback pointer
 * afresh before every call, so clearing it from inside the callback is safe. */
/* The random of a TLS 1.3 HelloRetryRequest (RFC 8446, 4.1.3): a ServerHello that is not one. */
static const unsigned char hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static void secure_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                          SSL *ssl, void *arg)
{
    secure_conn_t *sc = arg;
    const unsigned char *b = buf;

    (void)version;
    if (sc == NULL)
        return;
    if (write_p) {      /* our ServerHello (not a HelloRetryRequest): SNI has chosen the vhost (metrics) */
        if (content_type == SSL3_RT_HANDSHAKE && len >= 38 && b[0] == SSL3_MT_SERVER_HELLO
            && memcmp(b + 6, hrr_random, sizeof(hrr_random)) != 0) {
            secure_status_connection(secure_conn_ctx_server(ssl));
            if (sc->hello_capture == SECURE_HELLO_CAPTURED)
                secure_status_readiness(secure_conn_ctx_server(ssl), sc->hello, sc->hello_len);
        }
        return;
    }
    if (content_type == SSL3_RT_HEADER) {
        if (sc->hs_first_byte == 0)
            sc->hs_first_byte = apr_time_now();
        return;
    }
    if (content_type != SSL3_RT_HANDSHAKE || len < 4)
        return;
    if (b[0] == SSL3_MT_CLIENT_HELLO) {
        if (sc->hello_capture != SECURE_HELLO_NONE)
            return;     /* the second hello after a HelloRetryRequest: JA3/JA4 use the first */
        if (len > SECURE_HELLO_MAX_LEN) {
            sc->hello_capture = SECURE_HELLO_OVERSIZE;
            sc->hello_oversize_len = len;
            secure_status_count(SECURE_CTR_HELLO_OVERSIZE);
            return;
        }
        sc->hello = apr_pmemdup(sc->c->pool, buf, len);
        sc->hello_len = len;
        sc->hello_capture = SECURE_HELLO_CAPTURED;
    }
    else if (b[0] == SSL3_MT_FINISHED && sc->hs_client_finished == 0) {
        sc->hs_client_finished = apr_time_now();
        secure_status_handshake(secure_conn_ctx_server(ssl), ssl);
        SSL_set_msg_callback(ssl, NULL);
    }
}

static int stream_pool_oom(int rv)
{
    (void)rv;
    ap_abort_on_oom();
}

/* c->pool's cleanup. It runs after c->pool's sub-pools are gone (mod_http2's session and its streams are
 * children of c->pool), so no stream can still use the values in the private pool. */
static apr_status_t stream_pool_free(void *data)
{
    secure_conn_t *sc = data;

    if (sc->stream_pool != NULL)
        apr_pool_destroy(sc->stream_pool);
    sc->stream_pool = NULL;
    return APR_SUCCESS;
}

apr_pool_t *secure_conn_pool(secure_conn_t *sc, conn_rec *current)
{
    apr_pool_t *p;

    if (current == sc->c)
        return sc->c->pool;
    /* ap_get_protocol() reads what mod_http2 attached to the connection before any stream existed */
    if (current == NULL && strcmp(ap_get_protocol(sc->c), AP_PROTOCOL_HTTP1) == 0)
        return sc->c->pool;
    secure_conn_lock(sc);
    if (sc->stream_pool == NULL) {
        /* unmanaged, with its own allocator: creating it touches nothing that c->pool's thread uses (a
         * sub-pool of c->pool would be linked into c->pool's list of children from this thread) */
        if (apr_pool_create_unmanaged_ex(&sc->stream_pool, stream_pool_oom, NULL) != APR_SUCCESS)
            ap_abort_on_oom();
        apr_pool_tag(sc->stream_pool, "mod_secure_streams");
    }
    p = sc->stream_pool;
    secure_conn_unlock(sc);
    return p;
}

secure_conn_t *secure_conn_create(conn_rec *c, SSL *ssl, apr_size_t nvars)
{
    secure_conn_t *sc;

    while (c->master != NULL)
        c = c->master;
    sc = ap_get_module_config(c->conn_config, &secure_module);
    if (sc != NULL)
        return sc;
    /* without the ex_data slot nobody would tell us when mod_ssl frees the SSL: refuse, do not guess */
    if (secure_ssl_idx < 0)
        return NULL;
    /* On the connection's own thread, before any request: everything from c->pool, no system call (an
     * allocator per connection cost 3 mmap + 4 munmap with Debian's APR, issue 11). */
    sc = apr_pcalloc(c->pool, sizeof(*sc));
    sc->c = c;
    sc->ssl = ssl;
    if (apr_thread_mutex_create(&sc->mutex, APR_THREAD_MUTEX_NESTED, c->pool) != APR_SUCCESS)
        return NULL;
    apr_pool_cleanup_register(c->pool, sc, stream_pool_free, apr_pool_cleanup_null);
    sc->vals = apr_pcalloc(c->pool, sizeof(*sc->vals) * nvars);
    sc->done = apr_pcalloc(c->pool, nvars);
    sc->rev_memo = apr_pcalloc(c->pool, SECURE_REV_MEMO_SLOTS * sizeof(*sc->rev_memo));
    if (!SSL_set_ex_data(ssl, secure_ssl_idx, sc))
        return NULL;
    ap_set_module_config(c->conn_config, &secure_module, sc);
    SSL_set_msg_callback(ssl, secure_msg_cb);
    SSL_set_msg_callback_arg(ssl, sc);
    return sc;
}

/* ---- which vhost a TLS context belongs to ------------------------------------------------------------ *
 * mod_ssl makes one SSL_CTX per vhost and switches the connection to the SNI vhost's; the context an SSL
 * uses now tells which vhost ran its handshake. Kept here, below policy, revocation and the verify
 * wrapper, which all ask. */

static int secure_ctx_server_idx = -1;

static apr_status_t ctx_index_free(void *data)
{
    (void)data;
    if (secure_ctx_server_idx >= 0)
        CRYPTO_free_ex_index(CRYPTO_EX_INDEX_SSL_CTX, secure_ctx_server_idx);
    secure_ctx_server_idx = -1;
    return APR_SUCCESS;
}

int secure_conn_init_ctx_index(apr_pool_t *pconf)
{
    if (secure_ctx_server_idx >= 0)
        return 1;
    secure_ctx_server_idx = SSL_CTX_get_ex_new_index(0, (void *)"mod_secure vhost", NULL, NULL, NULL);
    if (secure_ctx_server_idx < 0)
        return 0;
    apr_pool_cleanup_register(pconf, NULL, ctx_index_free, apr_pool_cleanup_null);
    return 1;
}

int secure_conn_bind_ctx(SSL_CTX *ctx, server_rec *s)
{
    return secure_ctx_server_idx >= 0 && SSL_CTX_set_ex_data(ctx, secure_ctx_server_idx, s);
}

server_rec *secure_conn_ctx_server(const SSL *ssl)
{
    SSL_CTX *ctx;

    if (ssl == NULL || secure_ctx_server_idx < 0 || (ctx = SSL_get_SSL_CTX(ssl)) == NULL)
        return NULL;
    return SSL_CTX_get_ex_data(ctx, secure_ctx_server_idx);
}
