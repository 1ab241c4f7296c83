/* bench/tls_load.c — a small bounded TLS load client for the benchmarks that h2load cannot run: full
 * handshakes with a client certificate, and resumed handshakes (session tickets).
 *
 * N connections in total, spread over K threads; each connection: TCP connect, TLS handshake (optionally
 * with a client certificate, optionally resuming the thread's last session), one GET with
 * "Connection: close", read to the end, close. Prints one line:
 *   connections N ok O failed F resumed R seconds S rate X/s
 * Bounds: at most N connections, no new connection after -t seconds, 10 s socket timeouts, and a hard
 * alarm at -t + 20 s that ends the process. Exit status 0 only when every started connection succeeded.
 *
 * Build: cc -std=c11 -O2 -pthread -o tls_load bench/tls_load.c -lssl -lcrypto
 * Usage: tls_load -p PORT [-h 127.0.0.1] [-n 1000] [-c 8] [-t 60] [-P /index.html]
 *                 [-C client.crt -K client.key] [-r]     (-r: resume sessions, TLS 1.3 tickets)
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_THREADS 256

static const char *host = "127.0.0.1";
static int port;
static long total = 1000;
static double time_limit = 60;
static const char *path = "/index.html";
static int resume;
static SSL_CTX *ctx;
static struct timespec t_start;

static atomic_long claimed, ok, failed, resumed;
static int latencies;                   /* -L: print percentiles of the successful connections' durations */
static double *lat_ms;                  /* total entries, filled up to lat_n */
static atomic_long lat_n;

static double now_since_start(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t_start.tv_sec) + (double)(t.tv_nsec - t_start.tv_nsec) / 1e9;
}

static int tcp_connect(void)
{
    struct sockaddr_in sa;
    struct timeval tv = { 10, 0 };
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1
        || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0
        || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0
        || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0
        || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One connection; returns 1 when the response was a 200, and updates *sess (resume mode). */
static int one_connection(SSL_SESSION **sess)
{
    char req[512], buf[16384], head[12];
    int fd, n, len, got = 0, status_ok = 0, rc = 0;
    SSL *ssl = NULL;

    if ((fd = tcp_connect()) < 0)
        return 0;
    if ((ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl, fd) || !SSL_set_tlsext_host_name(ssl, "localhost"))
        goto done;
    if (resume && *sess != NULL && !SSL_set_session(ssl, *sess))
        goto done;
    if (SSL_connect(ssl) != 1)
        goto done;
    len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
    if (len <= 0 || (size_t)len >= sizeof(req) || SSL_write(ssl, req, len) != len)
        goto done;
    /* read to the end; keep the first 12 bytes for the status line */
    while ((n = SSL_read(ssl, buf, (int)sizeof(buf))) > 0) {
        if (got < 12) {
            int take = n < 12 - got ? n : 12 - got;
            memcpy(head + got, buf, (size_t)take);
            got += take;
        }
    }
    /* the end must be the server's close_notify (or its TCP close), not a timeout or a TLS error */
    if (SSL_get_error(ssl, n) != SSL_ERROR_ZERO_RETURN)
        goto done;
    status_ok = got == 12 && memcmp(head, "HTTP/1.1 200", 12) == 0;
    if (!status_ok)
        goto done;
    if (SSL_session_reused(ssl))
        atomic_fetch_add(&resumed, 1);
    if (resume) {
        SSL_SESSION *s = SSL_get1_session(ssl);      /* with TLS 1.3: the newest ticket received */
        if (s != NULL && SSL_SESSION_is_resumable(s)) {
            SSL_SESSION_free(*sess);
            *sess = s;
        }
        else
            SSL_SESSION_free(s);
    }
    rc = 1;
done:
    if (ssl != NULL) {
        if (rc)
            SSL_shutdown(ssl);      /* send our close_notify; do not wait for the peer's */
        SSL_free(ssl);
    }
    ERR_clear_error();
    close(fd);
    return rc;
}

static void *worker(void *arg)
{
    SSL_SESSION *sess = NULL;

    (void)arg;
    while (atomic_fetch_add(&claimed, 1) < total) {
        if (now_since_start() > time_limit) {
            atomic_fetch_sub(&claimed, 1);
            break;
        }
        double t0 = now_since_start();
        if (one_connection(&sess)) {
            long k = atomic_fetch_add(&lat_n, 1);
            if (lat_ms != NULL && k < total)
                lat_ms[k] = (now_since_start() - t0) * 1000.0;
            atomic_fetch_add(&ok, 1);
        }
        else
            atomic_fetch_add(&failed, 1);
    }
    SSL_SESSION_free(sess);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr, "usage: tls_load -p PORT [-h HOST] [-n CONNECTIONS] [-c THREADS] [-t SECONDS] [-P PATH] "
                    "[-C CERT -K KEY] [-r] [-L]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *cert = NULL, *key = NULL;
    pthread_t th[MAX_THREADS];
    long threads = 8;
    double secs;
    int opt;
    long i, started;

    while ((opt = getopt(argc, argv, "h:p:n:c:t:P:C:K:rL")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'n': total = atol(optarg); break;
        case 'c': threads = atol(optarg); break;
        case 't': time_limit = atof(optarg); break;
        case 'P': path = optarg; break;
        case 'C': cert = optarg; break;
        case 'K': key = optarg; break;
        case 'r': resume = 1; break;
        case 'L': latencies = 1; break;
        default: usage();
        }
    }
    if (port <= 0 || port > 65535 || total <= 0 || threads <= 0 || threads > MAX_THREADS || time_limit <= 0
        || time_limit > 3600 || (cert == NULL) != (key == NULL) || strlen(path) > 256)
        usage();
    signal(SIGPIPE, SIG_IGN);
    alarm((unsigned)time_limit + 20);   /* the hard bound: SIGALRM ends the process */
    if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL
        || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);             /* our own throw-away server */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);     /* a TCP close after the body ends it too */
    if (cert != NULL && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1
                         || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    if (!resume)
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (latencies && (lat_ms = calloc((size_t)total, sizeof(*lat_ms))) == NULL)
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    for (i = 0; i < threads; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0)
            break;
    started = i;
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    secs = now_since_start();
    printf("connections %ld ok %ld failed %ld resumed %ld seconds %.3f rate %.1f/s\n",
           atomic_load(&ok) + atomic_load(&failed), atomic_load(&ok), atomic_load(&failed),
           atomic_load(&resumed), secs, secs > 0 ? (double)atomic_load(&ok) / secs : 0.0);
    if (lat_ms != NULL) {
        long n = atomic_load(&lat_n) < total ? atomic_load(&lat_n) : total;
        if (n > 0) {
            qsort(lat_ms, (size_t)n, sizeof(*lat_ms), cmp_double);
            printf("latency_ms p50 %.2f p90 %.2f p99 %.2f max %.2f n %ld\n", lat_ms[n / 2], lat_ms[(n * 9) / 10],
                   lat_ms[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], lat_ms[n - 1], n);
        }
        free(lat_ms);
    }
    SSL_CTX_free(ctx);
    return started == threads && atomic_load(&failed) == 0 ? 0 : 1;
}
