/* secure_conn — per-connection state: created in mod_ssl's pre_handshake hook, kept in the (master)
 * connection's conn_config and in the SSL's ex_data; the state lives in c->pool, request-time values in
 * secure_conn_pool(). */
#ifndef SECURE_CONN_H
#define SECURE_CONN_H

#include "httpd.h"
#include <openssl/ssl.h>

#include "secure_types.h"

/* Outcome of capturing the ClientHello in the msg callback. */
typedef enum {
    SECURE_HELLO_NONE = 0,      /* nothing seen (yet) */
    SECURE_HELLO_CAPTURED,      /* one hello copied */
    SECURE_HELLO_OVERSIZE,      /* larger than SECURE_HELLO_MAX_LEN: not kept */
} secure_hello_capture_t;


/* One revocation verdict for the connection's client certificate under one vhost's revocation rules. */
#define SECURE_REV_MEMO_SLOTS 4
typedef struct secure_rev_memo {
    const void *rules;                  /* the judging vhost's revocation state (its secure_vhost_t); NULL: free */
    int state;                          /* secure_revoke's SECURE_LEAF_* (checking, accepted, refused) */
    unsigned age;                       /* when the slot was last filled, to reuse the oldest */
    secure_rev_status_t status;         /* the worst over the certificates checked */
    char source[16];                    /* "crl", "denylist", "ocsp", "cache", "crl-fetch", "none" */
    const char *reason;                 /* CRL reason name of a revoked certificate (static), or NULL */
    char date[24];                      /* its revocation time, ISO 8601 UTC, or "" */
    char detail[200];                   /* operator words for logs (cut at this size) */
    unsigned gen;                       /* secure_revoke's revocation generation the verdict was made at */
    unsigned answers;                   /* background answers this process had got by then (secure_ocsp) */
    int pending;                        /* the verdict is UNKNOWN "pending": judged again once one more is in */
} secure_rev_memo_t;

typedef struct secure_conn {
    conn_rec *c;
    SSL *ssl;                           /* mod_ssl's; NULL once mod_ssl freed it (ex_data free callback) */
    /* Memory and threads. Handshake-time writes happen on the connection's own thread before any request
     * exists and use c->pool. Request-time writes (memoised variables, policy and revocation verdicts)
     * hold the (nested) mutex and allocate from secure_conn_pool(): c->pool itself for requests on the
     * connection (HTTP/1.x: one thread at a time), a private pool for HTTP/2 streams, which run on other
     * threads while mod_http2's session thread keeps using c->pool. The private pool has its own
     * allocator and is created on first use, so an HTTP/1.x connection costs no allocator (and no mmap). */
    apr_pool_t *stream_pool;            /* the private pool; NULL until a stream needed it */
    struct apr_thread_mutex_t *mutex;   /* in c->pool: a pthread mutex, created without a system call */
    const void *memo_cert;              /* the peer certificate the CERT-scope memo describes */
    server_rec *hs_server;              /* vhost whose SSL_CTX ran the handshake (after SNI), or NULL */

    /* handshake timing (microseconds since the epoch; 0 = not seen) */
    apr_time_t hs_first_byte;           /* first record header read from the client */
    apr_time_t hs_client_finished;      /* the client's Finished message read */

    /* ClientHello copy (handshake message: type, 3-byte length, body) */
    secure_hello_capture_t hello_capture;
    unsigned char *hello;
    apr_size_t hello_len;
    apr_size_t hello_oversize_len;      /* length of a hello too large to keep */

    /* memoised variable values, indexed by secure_vars' table; done[i] set once computed */
    const char **vals;
    unsigned char *done;
    void *vars_san_memo;                /* secure_vars: the decoded subjectAltName, per certificate */
    void *vars_export_memo;             /* secure_vars: the connection's export list, per certificate */
    struct secure_hello *hello_parsed;  /* parsed once on demand; NULL if absent or bad */
    int hello_parse_done;
    unsigned char *hello_key;           /* secure_hello_fact_key of hello_parsed (NULL: none), for
                                         * secure_factcache */
    apr_size_t hello_key_len;

    /* Client-certificate revocation verdicts (secure_revoke). A verdict belongs to one certificate and one
     * set of revocation rules (the merged config of the vhost that judged it): the handshake's vhost
     * fills one, and a request whose Host selects a vhost with other rules (SNI != Host, no SNI, HTTP/2
     * connection coalescing) gets one of its own. rev_memo has SECURE_REV_MEMO_SLOTS entries, allocated
     * in sc->pool on first use; all of this is read and written under the connection's lock (HTTP/2
     * streams run on several threads). */
    struct secure_rev_memo *rev_memo;
    unsigned char rev_leaf_sha256[32];  /* the certificate the verdicts are about (rev_leaf_known) */
    int rev_leaf_known;
    X509 *rev_leaf_obj;                 /* the certificate object last judged, a reference we hold: while
                                         * it lives no other certificate can get its address, so a pointer
                                         * compare is the per-request "same certificate" test */

    /* policy verdict (secure_policy fills these at the first request) */
    const char *policy_result;          /* "pass" / "violation", NULL before checking */
    const char *policy_violation;       /* "protocol:TLSv1.1 cipher:..." */
    int policy_checked;
    server_rec *policy_server;          /* the vhost the verdict is for (a later Host may differ) */
    const SSL_SESSION *policy_session;  /* the session it is for (renegotiation makes a new one) */
    const X509 *policy_peer;            /* the client certificate it saw (post-handshake auth adds one) */
} secure_conn_t;

/* Creates the state for c (the master connection) and attaches it to c and ssl. Pool: c->pool. Installs
 * the TLS message callback that captures the ClientHello; it removes itself at the client's Finished. */
secure_conn_t *secure_conn_create(conn_rec *c, SSL *ssl, apr_size_t nvars);
/* The state of c or of its master connection (HTTP/2), or NULL when mod_secure is not on it. */
secure_conn_t *secure_conn_get(conn_rec *c);
/* The state attached to an SSL (verify callbacks), or NULL. */
secure_conn_t *secure_conn_from_ssl(const SSL *ssl);
/* The pool for request-time values of sc (they live as long as the connection): c->pool when current is
 * the connection itself (HTTP/1.x, its own thread), else the connection's private pool, created once under
 * sc's lock. current == NULL means the caller cannot tell (a value computed for the connection, not for a
 * request): then the private pool whenever the connection speaks HTTP/2. Call with sc's lock held when
 * allocating from the private pool: streams share it. Never NULL (aborts the child when out of memory). */
apr_pool_t *secure_conn_pool(secure_conn_t *sc, conn_rec *current);
/* Serialise request-time updates of sc (nested: a locked section may call another). */
void secure_conn_lock(secure_conn_t *sc);
void secure_conn_unlock(secure_conn_t *sc);
/* Allocates the SSL ex_data index (its free callback clears sc->ssl when mod_ssl frees the SSL) and
 * releases it in a cleanup of pconf, before httpd unloads the module. Call from register_hooks. */
void secure_conn_init_ssl_index(apr_pool_t *pconf);

/* The vhost whose TLS context an SSL uses now (after SNI): bound in init_server. The index is made in
 * register_hooks (0 on failure) and released in a cleanup of pconf. */
int secure_conn_init_ctx_index(apr_pool_t *pconf);
int secure_conn_bind_ctx(SSL_CTX *ctx, server_rec *s);
server_rec *secure_conn_ctx_server(const SSL *ssl);

#endif /* SECURE_CONN_H */
