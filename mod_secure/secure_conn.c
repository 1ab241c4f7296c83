/* secure_conn — per-connection state and the ClientHello capture. */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include "secure_conn.h"
#include "secure_hello.h"
#include "secure_log.h"
#include "secure_status.h"
#include "secure_vars.h"

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

/* Receives every TLS protocol message OpenSSL reads or writes. We keep the first ClientHello (bounded),
 * the time of the first record header, and the time of the client's Finished. Never alters the handshake. */
static void secure_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                          SSL *ssl, void *arg)
{
    secure_conn_t *sc = arg;
    const unsigned char *b = buf;

    (void)version;
    (void)ssl;
    if (sc == NULL || write_p)
        return;
    if (content_type == SSL3_RT_HEADER) {
        if (sc->hs_first_byte == 0)
            sc->hs_first_byte = apr_time_now();
        return;
    }
    if (content_type != SSL3_RT_HANDSHAKE || len < 4)
        return;
    if (b[0] == SSL3_MT_CLIENT_HELLO) {
        sc->hello_count++;
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
    }
}

secure_conn_t *secure_conn_create(conn_rec *c, SSL *ssl)
{
    secure_conn_t *sc;
    apr_allocator_t *allocator = NULL;

    while (c->master != NULL)
        c = c->master;
    sc = ap_get_module_config(c->conn_config, &secure_module);
    if (sc != NULL)
        return sc;
    /* without the ex_data slot nobody would tell us when mod_ssl frees the SSL: refuse, do not guess */
    if (secure_ssl_idx < 0)
        return NULL;
    sc = apr_pcalloc(c->pool, sizeof(*sc));
    sc->c = c;
    sc->ssl = ssl;
    if (apr_allocator_create(&allocator) != APR_SUCCESS
        || apr_pool_create_ex(&sc->pool, c->pool, NULL, allocator) != APR_SUCCESS) {
        if (allocator != NULL)
            apr_allocator_destroy(allocator);
        return NULL;
    }
    apr_allocator_owner_set(allocator, sc->pool);
    apr_pool_tag(sc->pool, "mod_secure_conn");
    if (apr_thread_mutex_create(&sc->mutex, APR_THREAD_MUTEX_NESTED, sc->pool) != APR_SUCCESS)
        return NULL;
    sc->vals = apr_pcalloc(sc->pool, sizeof(*sc->vals) * secure_vars_count());
    sc->done = apr_pcalloc(sc->pool, secure_vars_count());
    if (!SSL_set_ex_data(ssl, secure_ssl_idx, sc))
        return NULL;
    ap_set_module_config(c->conn_config, &secure_module, sc);
    SSL_set_msg_callback(ssl, secure_msg_cb);
    SSL_set_msg_callback_arg(ssl, sc);
    return sc;
}
