/* secure_status — shared counters and metrics, and the secure-status handler (HTML, JSON, Prometheus).
 *
 * Everything lives in one anonymous shared memory segment made in post_config and inherited by the children:
 * the flat event counters, one block per vhost (connections, handshakes by version and group, ciphers,
 * policy and revocation verdicts, deny-list size), the cache lookups, a bounded table of OCSP responders,
 * and a bounded table of the CRLs in force. Label values are bounded: vhosts are numbered at startup,
 * versions, groups, ciphers, verdict sources and cache providers are fixed tables with an "other" entry,
 * responders and CRLs have a fixed number of rows. Counting is an APR atomic add (64 bits): no lock and no
 * system call on the handshake path. Only the CRL and responder tables, written on reload and OCSP paths,
 * take a short spin lock (bounded; skipped and counted when it cannot be had). */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_atomic.h"
#include "apr_shm.h"
#include "apr_strings.h"
#include "apr_time.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/obj_mac.h>
#include <openssl/ssl.h>

#include "secure_config.h"
#include "secure_hello.h"
#include "secure_log.h"
#include "secure_profiles.h"
#include "secure_readiness.h"
#include "secure_status.h"
#include "secure_types.h"

APLOG_USE_MODULE(secure);

#define SECURE_CTR_NAME(e, name) name,
static const char *const secure_counter_names[] = { SECURE_COUNTERS(SECURE_CTR_NAME) };
#undef SECURE_CTR_NAME

/* ---- the bounded label tables ------------------------------------------------------------------------ */

static const struct { int version; const char *name; } versions[] = {
    { TLS1_VERSION, "TLSv1" }, { TLS1_1_VERSION, "TLSv1.1" }, { TLS1_2_VERSION, "TLSv1.2" },
    { TLS1_3_VERSION, "TLSv1.3" }, { 0, "other" },
};
#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

/* "none": no (EC)DHE group (RSA key exchange, or TLS 1.2 finite-field DHE, which names none). */
static const struct { int nid; const char *name; } groups[] = {
    { NID_X25519, "x25519" }, { NID_X9_62_prime256v1, "secp256r1" }, { NID_secp384r1, "secp384r1" },
    { NID_secp521r1, "secp521r1" }, { NID_X448, "x448" }, { NID_ffdhe2048, "ffdhe2048" },
    { NID_ffdhe3072, "ffdhe3072" }, { NID_ffdhe4096, "ffdhe4096" }, { NID_ffdhe6144, "ffdhe6144" },
    { NID_ffdhe8192, "ffdhe8192" }, { NID_undef, "none" }, { -1, "other" },
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

/* IANA names, by the two-byte code point (SSL_CIPHER_get_protocol_id). */
static const struct { unsigned id; const char *name; } ciphers[] = {
    { 0x1301, "TLS_AES_128_GCM_SHA256" }, { 0x1302, "TLS_AES_256_GCM_SHA384" },
    { 0x1303, "TLS_CHACHA20_POLY1305_SHA256" }, { 0x1304, "TLS_AES_128_CCM_SHA256" },
    { 0x1305, "TLS_AES_128_CCM_8_SHA256" },
    { 0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" }, { 0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
    { 0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" }, { 0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
    { 0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
    { 0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
    { 0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" }, { 0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" },
    { 0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
    { 0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" }, { 0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" },
    { 0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" }, { 0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
    { 0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" }, { 0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" },
    { 0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" }, { 0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" },
    { 0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256" }, { 0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384" },
    { 0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256" }, { 0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256" },
    { 0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA" }, { 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA" },
    { 0, "other" },
};
#define NCIPHERS (sizeof(ciphers) / sizeof(ciphers[0]))

static const char *const policy_results[SECURE_POLICY_RESULTS] = { "pass", "violation", "rejected", "misdirected" };
#define NRULES (SECURE_RULE_COUNT + 1)          /* the rules, then "none" */

static const char *const rev_statuses[] = { "good", "revoked", "unknown" };
#define NREVSTATUS 3
static const char *const rev_sources[] = { "denylist", "crl", "cache", "ocsp", "crl-fetch", "none",
                                           "unverified", "other" };
#define NREVSOURCES (sizeof(rev_sources) / sizeof(rev_sources[0]))

static const char *const cache_providers[] = { "shmcb", "memcache", "redis", "dbm", "dc", "other" };
#define NPROVIDERS (sizeof(cache_providers) / sizeof(cache_providers[0]))
static const char *const cache_results[] = { "hit", "miss", "invalid" };
#define NCACHERESULTS 3

static const char *const ocsp_results[SECURE_OCSP_RESULTS] = { "good", "revoked", "unknown", "error", "skipped" };
/* Upper bounds of the query-duration buckets, in microseconds (then +Inf). */
static const apr_int64_t ocsp_buckets_us[] = { 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
                                               2500000, 5000000, 10000000 };
#define NBUCKETS (sizeof(ocsp_buckets_us) / sizeof(ocsp_buckets_us[0]) + 1)

/* ---- the shared memory ------------------------------------------------------------------------------- */

#define RESPONDER_SLOTS 64             /* the last one is "other" */
#define RESPONDER_URL_MAX 256
#define CRL_ROWS 128
#define LABEL_MAX 256
#define READY_PROFILES_MAX 8            /* built-in profiles counted (the table has 5: every one is counted) */
#define READY_CONFIGURED READY_PROFILES_MAX     /* the index of the vhost's own policy */
#define TOPK_SLOTS 10                   /* fingerprints kept per vhost and profile */
#define JA4_LEN 40

/* One heavy hitter (Space-Saving): count over-estimates the true count by at most err. */
typedef struct {
    char ja4[JA4_LEN];
    apr_uint64_t count, err;
} topk_slot_t;

typedef struct {
    apr_uint64_t connections;
    apr_uint64_t handshakes[NVERSIONS][NGROUPS];
    apr_uint64_t ciphers[NCIPHERS];
    apr_uint64_t policy[SECURE_POLICY_RESULTS][NRULES];
    apr_uint64_t revocation[NREVSTATUS][NREVSOURCES];
    apr_uint32_t deny_loaded;
    apr_uint64_t deny_entries;
    char deny_file[LABEL_MAX];
    apr_uint64_t readiness[READY_PROFILES_MAX + 1][SECURE_READY_OUTCOMES];
    apr_uint64_t crl_warn;              /* SecureCRLExpiryWarning in force (seconds), for the page's colours */
    apr_uint32_t topk_lock[READY_PROFILES_MAX];
    topk_slot_t topk[READY_PROFILES_MAX][TOPK_SLOTS];
} vhost_metrics_t;

typedef struct {
    apr_uint32_t used;                  /* 0 free, 1 in use (written under the responder lock) */
    char url[RESPONDER_URL_MAX];        /* "other" stands for every URL beyond the table */
    apr_uint64_t queries[SECURE_OCSP_RESULTS];
    apr_uint64_t buckets[NBUCKETS];     /* not cumulative; the page sums them */
    apr_uint64_t sum_us, count;
    apr_uint64_t open_until;            /* apr_time_t of the breaker's reopening; 0: closed */
} responder_t;

/* A row per (vhost, file, issuer) of a CRL in force; a row with issuer "" counts the file's failures. */
typedef struct {
    apr_uint32_t used, present;
    int vhost;
    char file[LABEL_MAX];
    char issuer[LABEL_MAX];
    apr_int64_t next_update;            /* seconds; -1: none */
    apr_uint64_t entries;
    apr_int64_t last_reload;            /* seconds */
    apr_uint64_t failures;
    apr_int64_t warned_at;              /* seconds: last freshness line (SecureCRLExpiryWarning) */
    int warned_level;                   /* its kind: 1 warning, 2 error (a worse one is not held back) */
} crl_row_t;

typedef struct {
    apr_uint64_t counters[SECURE_CTR_MAX];
    apr_uint64_t cache[NPROVIDERS][NCACHERESULTS];
    apr_uint32_t responder_lock, crl_lock;
    apr_uint32_t rev_epoch;             /* fresh REVOKED answers of online sources (secure_status_rev_epoch) */
    responder_t responders[RESPONDER_SLOTS];
    crl_row_t crl[CRL_ROWS];
    vhost_metrics_t vhosts[1];          /* nvhosts of them */
} metrics_shm_t;

static metrics_shm_t *shm_m;
static apr_uint32_t topk_skips;          /* this process's top-k lock misses (see shm_trylock) */
static apr_uint32_t my_pid;              /* this process (set in post_config and child_init: getpid() is a
                                         * system call, and the lock words are taken on the handshake path) */
static int nvhosts;
static secure_vhost_t **vhost_of_slot;  /* process memory, made before the fork: read-only afterwards */
static const char **label_of_slot;      /* unique label per slot */
static const secure_rules_t **rules_of_slot;    /* the vhost's SecurePolicy rules, or NULL */
static secure_rules_t *builtin_rules;   /* the built-in profiles, untightened */
static size_t n_builtin;

static apr_status_t status_clear(void *data)
{
    (void)data;
    shm_m = NULL;
    nvhosts = 0;
    vhost_of_slot = NULL;
    label_of_slot = NULL;
    rules_of_slot = NULL;
    builtin_rules = NULL;
    n_builtin = 0;
    return APR_SUCCESS;
}

apr_status_t secure_status_init(apr_pool_t *pconf, server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv;
    apr_size_t size;
    server_rec *v;
    int n = 0, i, j;

    my_pid = (apr_uint32_t)getpid();    /* never 0: a lock word of 0 means free */
    for (v = s; v != NULL; v = v->next)
        n++;
    vhost_of_slot = apr_pcalloc(pconf, sizeof(*vhost_of_slot) * (apr_size_t)n);
    label_of_slot = apr_pcalloc(pconf, sizeof(*label_of_slot) * (apr_size_t)n);
    rules_of_slot = apr_pcalloc(pconf, sizeof(*rules_of_slot) * (apr_size_t)n);
    n_builtin = secure_profiles_count() < READY_PROFILES_MAX ? secure_profiles_count() : READY_PROFILES_MAX;
    builtin_rules = apr_pcalloc(pconf, sizeof(*builtin_rules) * n_builtin);
    for (i = 0; i < (int)n_builtin; i++) {
        char skipped[256];
        secure_rules_build(&builtin_rules[i], &secure_profiles[i], 0, NULL, NULL, skipped, sizeof(skipped));
    }
    for (v = s, i = 0; v != NULL; v = v->next) {
        secure_vhost_t *vh = secure_vhost_get(v);
        if (vh == NULL)
            continue;
        vh->metrics_slot = i;
        vhost_of_slot[i] = vh;
        label_of_slot[i] = vh->name;
        for (j = 0; j < i; j++)         /* two vhosts of one name:port: a label each */
            if (strcmp(label_of_slot[j], vh->name) == 0)
                label_of_slot[i] = apr_psprintf(pconf, "%s#%d", vh->name, i);
        i++;
    }
    nvhosts = i;
    apr_pool_cleanup_register(pconf, NULL, status_clear, apr_pool_cleanup_null);
    size = sizeof(metrics_shm_t) + sizeof(vhost_metrics_t) * (apr_size_t)(nvhosts > 0 ? nvhosts : 1);

    /* Anonymous shared memory is inherited by the forked children; a graceful restart makes a new segment
     * (counters start again from zero, as mod_status' do after a restart). */
    rv = apr_shm_create(&shm, size, NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     SECTAG(10701) "cannot create shared memory for the mod_secure counters; "
                     "counters stay per process");
        shm_m = apr_pcalloc(pconf, size);
        return rv;
    }
    shm_m = apr_shm_baseaddr_get(shm);
    memset(shm_m, 0, size);
    return APR_SUCCESS;
}

void secure_status_child_init(void)
{
    my_pid = (apr_uint32_t)getpid();
}

apr_uint32_t secure_status_rev_epoch(void)
{
    return shm_m != NULL ? apr_atomic_read32(&shm_m->rev_epoch) : 0;
}

void secure_status_rev_epoch_bump(void)
{
    if (shm_m != NULL)
        apr_atomic_inc32(&shm_m->rev_epoch);
}

void secure_status_count(secure_counter_t ctr)
{
    if (shm_m != NULL && ctr < SECURE_CTR_MAX)
        apr_atomic_inc64(&shm_m->counters[ctr]);
}

static apr_uint64_t status_get(secure_counter_t ctr)
{
    if (shm_m == NULL || ctr >= SECURE_CTR_MAX)
        return 0;
    return apr_atomic_read64(&shm_m->counters[ctr]);
}

/* The metrics block of vhost s, or NULL. */
static vhost_metrics_t *vhost_block(const server_rec *s)
{
    const secure_vhost_t *vh;

    if (shm_m == NULL || s == NULL || (vh = secure_vhost_get(s)) == NULL || vh->metrics_slot < 0
        || vh->metrics_slot >= nvhosts || vhost_of_slot[vh->metrics_slot] != vh)
        return NULL;
    return &shm_m->vhosts[vh->metrics_slot];
}

static int vhost_slot(const server_rec *s)
{
    const secure_vhost_t *vh;

    if (shm_m == NULL || s == NULL || (vh = secure_vhost_get(s)) == NULL || vh->metrics_slot < 0
        || vh->metrics_slot >= nvhosts || vhost_of_slot[vh->metrics_slot] != vh)
        return -1;
    return vh->metrics_slot;
}

/* ---- recording ---------------------------------------------------------------------------------------- */

void secure_status_connection(const server_rec *s)
{
    vhost_metrics_t *m = vhost_block(s);

    if (m != NULL)
        apr_atomic_inc64(&m->connections);
}

static size_t version_index(int version)
{
    size_t i;

    for (i = 0; i < NVERSIONS - 1 && versions[i].version != version; i++)
        ;
    return i;
}

static size_t group_index(int nid)
{
    size_t i;

    for (i = 0; i < NGROUPS - 1 && groups[i].nid != nid; i++)
        ;
    return i;
}

static size_t cipher_index(const SSL_CIPHER *c)
{
    unsigned id = c ? (unsigned)SSL_CIPHER_get_protocol_id(c) : 0;
    size_t i;

    for (i = 0; i < NCIPHERS - 1 && ciphers[i].id != id; i++)
        ;
    return i;
}

void secure_status_handshake(const server_rec *s, const SSL *ssl)
{
    vhost_metrics_t *m = vhost_block(s);

    if (m == NULL || ssl == NULL)
        return;
    /* every call below reads fields of the SSL: no allocation, no lock */
    apr_atomic_inc64(&m->handshakes[version_index(SSL_version(ssl))]
                                   [group_index(SSL_get_negotiated_group((SSL *)ssl))]);
    apr_atomic_inc64(&m->ciphers[cipher_index(SSL_get_current_cipher(ssl))]);
}

void secure_status_policy(const server_rec *s, secure_policy_result_t result, int rule_mask)
{
    vhost_metrics_t *m = vhost_block(s);
    int rule = SECURE_RULE_COUNT;       /* "none" */
    int i;

    if (m == NULL || result < 0 || result >= SECURE_POLICY_RESULTS)
        return;
    for (i = 0; i < SECURE_RULE_COUNT; i++)
        if (rule_mask & (1 << i)) {
            rule = i;
            break;
        }
    apr_atomic_inc64(&m->policy[result][rule]);
}

void secure_status_revocation(const server_rec *s, int status, const char *source)
{
    vhost_metrics_t *m = vhost_block(s);
    size_t st, src;

    if (m == NULL)
        return;
    switch (status) {
    case SECURE_REV_GOOD: st = 0; break;
    case SECURE_REV_REVOKED: st = 1; break;
    case SECURE_REV_UNKNOWN: st = 2; break;
    default: return;
    }
    for (src = 0; src < NREVSOURCES - 1 && (source == NULL || strcmp(rev_sources[src], source) != 0); src++)
        ;
    apr_atomic_inc64(&m->revocation[st][src]);
}

void secure_status_cache(const char *provider, int result)
{
    size_t i;

    if (shm_m == NULL || result < 0 || result >= NCACHERESULTS)
        return;
    for (i = 0; i < NPROVIDERS - 1 && (provider == NULL || strcmp(cache_providers[i], provider) != 0); i++)
        ;
    apr_atomic_inc64(&shm_m->cache[i][result]);
}

void secure_status_policy_rules(const server_rec *s, const secure_rules_t *rules)
{
    int slot = vhost_slot(s);

    if (slot >= 0)
        rules_of_slot[slot] = rules;
}

/* Space-Saving update of one table (the caller holds its lock): the fingerprint's slot gains one; a new
 * fingerprint takes a free slot or replaces the smallest, inheriting its count as error bound. */
static void topk_add(topk_slot_t *t, const char *ja4)
{
    topk_slot_t *min = &t[0];
    int i;

    for (i = 0; i < TOPK_SLOTS; i++) {
        if (t[i].count > 0 && strcmp(t[i].ja4, ja4) == 0) {
            t[i].count++;
            return;
        }
        if (t[i].count < min->count)
            min = &t[i];
    }
    min->err = min->count;
    min->count++;
    apr_cpystrn(min->ja4, ja4, sizeof(min->ja4));
}

/* A lock word in the shared segment: 0 free, else the pid of the process holding it. A process killed
 * while it held one (a hard stop, the OOM killer) would otherwise leave it taken for good and every later
 * update skipped; so a caller that finds it taken may check whether the holder still exists (kill(pid,
 * 0), a system call: never on the common path) and take a dead holder's lock over. */
static int shm_trylock(apr_uint32_t *lock, int check_holder)
{
    apr_uint32_t me = my_pid, owner;

    if ((owner = apr_atomic_cas32(lock, me, 0)) == 0)
        return 1;
    if (!check_holder || owner == me || kill((pid_t)owner, 0) == 0 || errno != ESRCH)
        return 0;
    return apr_atomic_cas32(lock, me, owner) == owner;      /* the holder is gone */
}

void secure_status_readiness(const server_rec *s, const unsigned char *hello, size_t len)
{
    vhost_metrics_t *m = vhost_block(s);
    secure_hello_t h;
    char ja4[JA4_LEN];
    int slot, have_ja4 = 0;
    size_t p;

    if (m == NULL || hello == NULL)
        return;
    if (secure_hello_parse(hello, len, &h, NULL) != SECURE_HELLO_OK) {
        secure_status_count(SECURE_CTR_READINESS_UNPARSED);
        return;
    }
    slot = vhost_slot(s);
    for (p = 0; p < n_builtin; p++) {
        secure_ready_t r = secure_readiness_check(&h, &builtin_rules[p]);
        apr_atomic_inc64(&m->readiness[p][r]);
        if (r == SECURE_READY)
            continue;
        if (!have_ja4 && !(have_ja4 = secure_hello_ja4(&h, ja4, sizeof(ja4)) == 0))
            continue;
        /* never wait on the handshake path: another thread updating this table makes us skip (counted);
         * one skip in 1024 checks whether the holder still exists (see shm_trylock) */
        if (!shm_trylock(&m->topk_lock[p], 0)
            && !shm_trylock(&m->topk_lock[p], (apr_atomic_inc32(&topk_skips) & 1023) == 1023)) {
            secure_status_count(SECURE_CTR_READINESS_TOPK_SKIPPED);
            continue;
        }
        topk_add(m->topk[p], ja4);
        apr_atomic_set32(&m->topk_lock[p], 0);
    }
    if (rules_of_slot[slot] != NULL)
        apr_atomic_inc64(&m->readiness[READY_CONFIGURED][secure_readiness_check(&h, rules_of_slot[slot])]);
}

/* A spin lock between writers of the responder or CRL table (processes of one server; never the handshake
 * path). Bounded: after about a second it gives up (the caller skips its update and counts it). */
static int table_lock(apr_uint32_t *lock)
{
    int i;

    for (i = 0; i < 1000; i++) {
        if (shm_trylock(lock, i % 100 == 99))
            return 1;
        apr_sleep(1000);
    }
    secure_status_count(SECURE_CTR_METRICS_LOCK_SKIPPED);
    return 0;
}

static void table_unlock(apr_uint32_t *lock)
{
    apr_atomic_set32(lock, 0);
}

/* The responder slot of url: found without a lock when present, else claimed under the lock; the last
 * slot ("other") takes every URL once the table is full. NULL before init. */
static responder_t *responder_slot(const char *url)
{
    responder_t *r;
    int i;

    if (shm_m == NULL || url == NULL)
        return NULL;
    for (i = 0; i < RESPONDER_SLOTS - 1; i++) {
        r = &shm_m->responders[i];
        if (apr_atomic_read32(&r->used) == 1 && strncmp(r->url, url, RESPONDER_URL_MAX - 1) == 0)
            return r;
    }
    if (!table_lock(&shm_m->responder_lock))
        return NULL;
    for (i = 0, r = NULL; i < RESPONDER_SLOTS - 1 && r == NULL; i++) {
        responder_t *t = &shm_m->responders[i];
        if (apr_atomic_read32(&t->used) == 0) {
            apr_cpystrn(t->url, url, sizeof(t->url));
            apr_atomic_set32(&t->used, 1);
            r = t;
        }
        else if (strncmp(t->url, url, RESPONDER_URL_MAX - 1) == 0)
            r = t;
    }
    if (r == NULL) {
        r = &shm_m->responders[RESPONDER_SLOTS - 1];
        if (apr_atomic_read32(&r->used) == 0) {
            apr_cpystrn(r->url, "other", sizeof(r->url));
            apr_atomic_set32(&r->used, 1);
        }
    }
    table_unlock(&shm_m->responder_lock);
    return r;
}

void secure_status_ocsp(const char *url, secure_ocsp_result_t result, apr_interval_time_t took)
{
    responder_t *r = responder_slot(url);
    size_t b;

    if (r == NULL || result < 0 || result >= SECURE_OCSP_RESULTS)
        return;
    apr_atomic_inc64(&r->queries[result]);
    if (result == SECURE_OCSP_R_SKIPPED)
        return;                         /* nothing was sent: no duration */
    if (took < 0)
        took = 0;
    for (b = 0; b < NBUCKETS - 1 && took > ocsp_buckets_us[b]; b++)
        ;
    apr_atomic_inc64(&r->buckets[b]);
    apr_atomic_add64(&r->sum_us, (apr_uint64_t)took);
    apr_atomic_inc64(&r->count);
}

void secure_status_ocsp_breaker(const char *url, apr_time_t until)
{
    responder_t *r = responder_slot(url);

    if (r != NULL)
        apr_atomic_set64(&r->open_until, until > 0 ? (apr_uint64_t)until : 0);
}

void secure_status_denylist(const server_rec *s, const char *path, apr_size_t entries)
{
    vhost_metrics_t *m = vhost_block(s);

    if (m == NULL)
        return;
    if (apr_atomic_read32(&m->deny_loaded) == 0)
        apr_cpystrn(m->deny_file, path ? path : "", sizeof(m->deny_file));  /* a vhost has one list */
    apr_atomic_set64(&m->deny_entries, (apr_uint64_t)entries);
    apr_atomic_set32(&m->deny_loaded, 1);
}

struct secure_status_crl_batch {
    int slot;
    int locked;
    apr_int64_t now;
    apr_pool_t *p;
};

secure_status_crl_batch_t *secure_status_crl_begin(const server_rec *s, apr_pool_t *p)
{
    secure_status_crl_batch_t *b = apr_pcalloc(p, sizeof(*b));
    int i;

    b->slot = vhost_slot(s);
    b->p = p;
    b->now = apr_time_sec(apr_time_now());
    if (b->slot < 0 || !(b->locked = table_lock(&shm_m->crl_lock)))
        return b;
    for (i = 0; i < CRL_ROWS; i++)
        if (shm_m->crl[i].used && shm_m->crl[i].vhost == b->slot && shm_m->crl[i].issuer[0] != '\0')
            shm_m->crl[i].present = 0;
    return b;
}

/* The row of (slot, file, issuer), claimed when new; NULL when the table is full (counted). The caller
 * holds the CRL lock. */
static crl_row_t *crl_row(int slot, const char *file, const char *issuer)
{
    crl_row_t *free_row = NULL;
    int i;

    for (i = 0; i < CRL_ROWS; i++) {
        crl_row_t *r = &shm_m->crl[i];
        if (!r->used) {
            if (free_row == NULL)
                free_row = r;
            continue;
        }
        if (r->vhost == slot && strncmp(r->file, file, LABEL_MAX - 1) == 0
            && strncmp(r->issuer, issuer, LABEL_MAX - 1) == 0)
            return r;
    }
    if (free_row == NULL) {
        secure_status_count(SECURE_CTR_METRICS_CRL_ROWS_FULL);
        return NULL;
    }
    memset(free_row, 0, sizeof(*free_row));
    free_row->used = 1;
    free_row->vhost = slot;
    free_row->next_update = -1;
    apr_cpystrn(free_row->file, file, sizeof(free_row->file));
    apr_cpystrn(free_row->issuer, issuer, sizeof(free_row->issuer));
    return free_row;
}

/* RFC 2253 text of a DN, at most LABEL_MAX - 1 bytes; "(empty)" for an empty one. */
static const char *dn_text(const X509_NAME *name, apr_pool_t *p)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *out = "(unreadable)";
    long len;

    if (bio != NULL && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0
        && (len = BIO_get_mem_data(bio, &data)) >= 0)
        out = len == 0 ? "(empty)" : apr_pstrmemdup(p, data, (apr_size_t)len);
    BIO_free(bio);
    return out;
}

void secure_status_crl_put(secure_status_crl_batch_t *b, const char *file, const X509_NAME *issuer,
                           apr_int64_t next_update, apr_uint64_t entries, int changed)
{
    crl_row_t *r;
    int fresh;

    if (b == NULL || !b->locked || file == NULL)
        return;
    if ((r = crl_row(b->slot, file, issuer ? dn_text(issuer, b->p) : "(empty)")) == NULL)
        return;
    fresh = r->last_reload == 0;
    if (r->next_update != next_update)
        r->warned_at = r->warned_level = 0;     /* another CRL: its own freshness lines */
    r->next_update = next_update;
    r->entries = entries;
    if (changed || fresh)
        r->last_reload = b->now;
    r->present = 1;
}

void secure_status_crl_end(secure_status_crl_batch_t *b)
{
    if (b != NULL && b->locked)
        table_unlock(&shm_m->crl_lock);
}

void secure_status_crl_failed(const server_rec *s, const char *file)
{
    int slot = vhost_slot(s);
    crl_row_t *r;

    if (slot < 0 || file == NULL || !table_lock(&shm_m->crl_lock))
        return;
    if ((r = crl_row(slot, file, "")) != NULL)
        r->failures++;
    table_unlock(&shm_m->crl_lock);
}

/* "YYYY-MM-DDTHH:MM:SSZ" of seconds since the epoch into buf (at least 24 bytes). */
static const char *iso_secs(apr_int64_t secs, char *buf, size_t len)
{
    apr_time_exp_t xt;

    if (apr_time_exp_gmt(&xt, apr_time_from_sec((apr_time_t)secs)) != APR_SUCCESS)
        return "(unreadable time)";
    apr_snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", xt.tm_year + 1900, xt.tm_mon + 1, xt.tm_mday,
                 xt.tm_hour, xt.tm_min, xt.tm_sec);
    return buf;
}

#define FRESHNESS_LOG_INTERVAL 3600     /* one line per CRL and vhost an hour, for the whole server */

void secure_status_crl_freshness(const server_rec *s, long warn, long max_stale, const char *unknown_mode)
{
    int slot = vhost_slot(s), i;
    apr_int64_t now = apr_time_sec(apr_time_now());
    char when[32];

    if (slot < 0)
        return;
    apr_atomic_set64(&shm_m->vhosts[slot].crl_warn, warn > 0 ? (apr_uint64_t)warn : 0);
    if (!table_lock(&shm_m->crl_lock))
        return;
    /* The lines are written under the table lock: they are rare (at most one per row an hour), and the
     * lock is never taken on the handshake path. */
    for (i = 0; i < CRL_ROWS; i++) {
        crl_row_t *c = &shm_m->crl[i];
        apr_int64_t left;
        int level;
        if (!c->used || !c->present || c->vhost != slot || c->issuer[0] == '\0' || c->next_update < 0)
            continue;
        left = c->next_update - now;
        /* stale exactly when the CRL core says so: nextUpdate < now - max_stale */
        level = left + max_stale < 0 ? 2 : (warn > 0 && left < warn) ? 1 : 0;
        if (level == 0 || (c->warned_at != 0 && now - c->warned_at < FRESHNESS_LOG_INTERVAL
                           && level <= c->warned_level))
            continue;
        c->warned_at = now;
        c->warned_level = level;
        if (level == 2) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, vhost_of_slot[slot]->s,
                         SECTAG(11501) "%s: the CRL of issuer '%s' (file %s) is stale: its nextUpdate %s has "
                         "passed and SecureCRLMaxStale (%ld s) is used up; client certificates from this issuer "
                         "are now UNKNOWN on this vhost (SecureRevocationUnknown %s%s) until a newer CRL is "
                         "loaded", label_of_slot[slot], c->issuer, c->file,
                         iso_secs(c->next_update, when, sizeof(when)), max_stale, unknown_mode,
                         strcmp(unknown_mode, "deny") == 0 ? ": they are refused" : "");
        }
        else {
            if (left > 0)
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vhost_of_slot[slot]->s,
                             SECTAG(11500) "%s: the CRL of issuer '%s' (file %s) expires soon: nextUpdate %s, "
                             "in %" APR_INT64_T_FMT " min (SecureCRLExpiryWarning %ld s); publish a newer CRL, "
                             "or client certificates from this issuer become UNKNOWN %ld s after it "
                             "(SecureCRLMaxStale)", label_of_slot[slot], c->issuer, c->file,
                             iso_secs(c->next_update, when, sizeof(when)), left / 60, warn, max_stale);
            else
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vhost_of_slot[slot]->s,
                             SECTAG(11502) "%s: the CRL of issuer '%s' (file %s) passed its nextUpdate %s; "
                             "SecureCRLMaxStale keeps it in use for %" APR_INT64_T_FMT " s more, then client "
                             "certificates from this issuer become UNKNOWN; publish a newer CRL",
                             label_of_slot[slot], c->issuer, c->file, iso_secs(c->next_update, when, sizeof(when)),
                             left + max_stale);
        }
    }
    table_unlock(&shm_m->crl_lock);
}

/* ---- the page ----------------------------------------------------------------------------------------- */

/* A Prometheus label value: backslash, double quote and line feed escaped. */
static const char *prom_escape(const char *v, apr_pool_t *p)
{
    char *out, *o;

    if (strpbrk(v, "\\\"\n") == NULL)
        return v;
    out = o = apr_palloc(p, strlen(v) * 2 + 1);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            *o++ = '\\', *o++ = *v;
        else if (*v == '\n')
            *o++ = '\\', *o++ = 'n';
        else
            *o++ = *v;
    }
    *o = '\0';
    return out;
}

static void prom_family(request_rec *r, const char *name, const char *type, const char *help)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The vhosts shown: every one with SecureEngine on. */
static int slot_shown(int i)
{
    return vhost_of_slot[i] != NULL && secure_config_engine_on(vhost_of_slot[i]->s);
}

#define VH(i) prom_escape(label_of_slot[i], r->pool)

static void prom_vhost_families(request_rec *r)
{
    int i;
    size_t a, b;

    prom_family(r, "mod_secure_connections_total", "counter",
                "TLS connections whose ServerHello the vhost (chosen by SNI) sent.");
    for (i = 0; i < nvhosts; i++)
        if (slot_shown(i))
            ap_rprintf(r, "mod_secure_connections_total{vhost=\"%s\"} %" APR_UINT64_T_FMT "\n", VH(i),
                       apr_atomic_read64(&shm_m->vhosts[i].connections));
    prom_family(r, "mod_secure_tls_handshakes_total", "counter",
                "Completed TLS handshakes by protocol version and key exchange group.");
    for (i = 0; i < nvhosts; i++)
        for (a = 0; slot_shown(i) && a < NVERSIONS; a++)
            for (b = 0; b < NGROUPS; b++) {
                apr_uint64_t n = apr_atomic_read64(&shm_m->vhosts[i].handshakes[a][b]);
                if (n)
                    ap_rprintf(r, "mod_secure_tls_handshakes_total{vhost=\"%s\",version=\"%s\",group=\"%s\"} %"
                               APR_UINT64_T_FMT "\n", VH(i), versions[a].name, groups[b].name, n);
            }
    prom_family(r, "mod_secure_tls_ciphers_total", "counter", "Completed TLS handshakes by cipher suite (IANA name).");
    for (i = 0; i < nvhosts; i++)
        for (a = 0; slot_shown(i) && a < NCIPHERS; a++) {
            apr_uint64_t n = apr_atomic_read64(&shm_m->vhosts[i].ciphers[a]);
            if (n)
                ap_rprintf(r, "mod_secure_tls_ciphers_total{vhost=\"%s\",cipher=\"%s\"} %" APR_UINT64_T_FMT "\n",
                           VH(i), ciphers[a].name, n);
        }
    prom_family(r, "mod_secure_policy_verdicts_total", "counter",
                "SecurePolicy verdicts by result and by the first rule broken (none for pass).");
    for (i = 0; i < nvhosts; i++)
        for (a = 0; slot_shown(i) && a < SECURE_POLICY_RESULTS; a++)
            for (b = 0; b < NRULES; b++) {
                apr_uint64_t n = apr_atomic_read64(&shm_m->vhosts[i].policy[a][b]);
                if (n)
                    ap_rprintf(r, "mod_secure_policy_verdicts_total{vhost=\"%s\",result=\"%s\",rule=\"%s\"} %"
                               APR_UINT64_T_FMT "\n", VH(i), policy_results[a],
                               b < SECURE_RULE_COUNT ? secure_rule_name((int)b) : "none", n);
            }
    prom_family(r, "mod_secure_revocation_verdicts_total", "counter",
                "Client certificate revocation verdicts by status and by the source that answered.");
    for (i = 0; i < nvhosts; i++)
        for (a = 0; slot_shown(i) && a < NREVSTATUS; a++)
            for (b = 0; b < NREVSOURCES; b++) {
                apr_uint64_t n = apr_atomic_read64(&shm_m->vhosts[i].revocation[a][b]);
                if (n)
                    ap_rprintf(r, "mod_secure_revocation_verdicts_total{vhost=\"%s\",status=\"%s\",source=\"%s\"} %"
                               APR_UINT64_T_FMT "\n", VH(i), rev_statuses[a], rev_sources[b], n);
            }
    prom_family(r, "mod_secure_policy_readiness_total", "counter",
                "ClientHellos by whether they could complete under a built-in profile or the vhost's own "
                "policy (configured): ready, or the first thing missing (protocol, cipher, group).");
    for (i = 0; i < nvhosts; i++)
        for (a = 0; slot_shown(i) && a <= READY_PROFILES_MAX; a++)
            for (b = 0; (a < n_builtin || a == READY_CONFIGURED) && b < SECURE_READY_OUTCOMES; b++) {
                apr_uint64_t n = apr_atomic_read64(&shm_m->vhosts[i].readiness[a][b]);
                if (n)
                    ap_rprintf(r, "mod_secure_policy_readiness_total{vhost=\"%s\",profile=\"%s\",outcome=\"%s\"} %"
                               APR_UINT64_T_FMT "\n", VH(i), a == READY_CONFIGURED ? "configured" : secure_profiles[a].name,
                               secure_readiness_name((secure_ready_t)b), n);
            }
    prom_family(r, "mod_secure_denylist_entries", "gauge", "Entries of the SecureDenyList in force.");
    for (i = 0; i < nvhosts; i++)
        if (slot_shown(i) && apr_atomic_read32(&shm_m->vhosts[i].deny_loaded))
            ap_rprintf(r, "mod_secure_denylist_entries{vhost=\"%s\",file=\"%s\"} %" APR_UINT64_T_FMT "\n", VH(i),
                       prom_escape(shm_m->vhosts[i].deny_file, r->pool),
                       apr_atomic_read64(&shm_m->vhosts[i].deny_entries));
}

static void prom_crl_families(request_rec *r, const crl_row_t *rows)
{
    static const struct { const char *name, *type, *help; } fam[] = {
        { "mod_secure_crl_next_update_timestamp_seconds", "gauge",
          "nextUpdate of a CRL in force (seconds since the epoch; absent when the CRL has none)." },
        { "mod_secure_crl_entries", "gauge", "Revoked certificates listed by a CRL in force." },
        { "mod_secure_crl_last_reload_timestamp_seconds", "gauge",
          "When the file holding a CRL in force was last (re)loaded." },
    };
    size_t f;
    int i;

    for (f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        prom_family(r, fam[f].name, fam[f].type, fam[f].help);
        for (i = 0; i < CRL_ROWS; i++) {
            const crl_row_t *c = &rows[i];
            apr_int64_t val;
            if (!c->used || !c->present || c->issuer[0] == '\0' || c->vhost < 0 || c->vhost >= nvhosts
                || (f == 0 && c->next_update < 0))
                continue;
            val = f == 0 ? c->next_update : f == 1 ? (apr_int64_t)c->entries : c->last_reload;
            ap_rprintf(r, "%s{vhost=\"%s\",file=\"%s\",issuer=\"%s\"} %" APR_INT64_T_FMT "\n", fam[f].name,
                       VH(c->vhost), prom_escape(c->file, r->pool), prom_escape(c->issuer, r->pool), val);
        }
    }
    prom_family(r, "mod_secure_crl_reload_failures_total", "counter",
                "CRL file loads that failed (each process that tried counts once).");
    for (i = 0; i < CRL_ROWS; i++) {
        const crl_row_t *c = &rows[i];
        if (c->used && c->issuer[0] == '\0' && c->vhost >= 0 && c->vhost < nvhosts)
            ap_rprintf(r, "mod_secure_crl_reload_failures_total{vhost=\"%s\",file=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       VH(c->vhost), prom_escape(c->file, r->pool), c->failures);
    }
}

static void prom_online_families(request_rec *r)
{
    apr_time_t now = apr_time_now();
    size_t a, b;
    int i;

    prom_family(r, "mod_secure_ocsp_queries_total", "counter",
                "OCSP queries by responder and outcome (skipped: not sent, the breaker was open).");
    for (i = 0; i < RESPONDER_SLOTS; i++) {
        responder_t *o = &shm_m->responders[i];
        for (a = 0; apr_atomic_read32(&o->used) && a < SECURE_OCSP_RESULTS; a++) {
            apr_uint64_t n = apr_atomic_read64(&o->queries[a]);
            if (n)
                ap_rprintf(r, "mod_secure_ocsp_queries_total{responder=\"%s\",result=\"%s\"} %" APR_UINT64_T_FMT
                           "\n", prom_escape(o->url, r->pool), ocsp_results[a], n);
        }
    }
    prom_family(r, "mod_secure_ocsp_query_duration_seconds", "histogram", "Duration of OCSP queries sent.");
    for (i = 0; i < RESPONDER_SLOTS; i++) {
        responder_t *o = &shm_m->responders[i];
        apr_uint64_t cum = 0, count;
        const char *url;
        if (!apr_atomic_read32(&o->used) || (count = apr_atomic_read64(&o->count)) == 0)
            continue;
        url = prom_escape(o->url, r->pool);
        for (b = 0; b < NBUCKETS; b++) {
            cum += apr_atomic_read64(&o->buckets[b]);
            if (b + 1 < NBUCKETS)
                ap_rprintf(r, "mod_secure_ocsp_query_duration_seconds_bucket{responder=\"%s\",le=\"%g\"} %"
                           APR_UINT64_T_FMT "\n", url, (double)ocsp_buckets_us[b] / 1e6, cum);
        }
        /* +Inf is the count, so that the buckets never exceed it while a query is being added */
        ap_rprintf(r, "mod_secure_ocsp_query_duration_seconds_bucket{responder=\"%s\",le=\"+Inf\"} %" APR_UINT64_T_FMT
                   "\n", url, cum > count ? cum : count);
        ap_rprintf(r, "mod_secure_ocsp_query_duration_seconds_sum{responder=\"%s\"} %.6f\n", url,
                   (double)apr_atomic_read64(&o->sum_us) / 1e6);
        ap_rprintf(r, "mod_secure_ocsp_query_duration_seconds_count{responder=\"%s\"} %" APR_UINT64_T_FMT "\n", url,
                   cum > count ? cum : count);
    }
    prom_family(r, "mod_secure_ocsp_breaker_open", "gauge",
                "1 while the circuit breaker of the responder is open (queries skipped), else 0.");
    for (i = 0; i < RESPONDER_SLOTS; i++) {
        responder_t *o = &shm_m->responders[i];
        if (apr_atomic_read32(&o->used))
            ap_rprintf(r, "mod_secure_ocsp_breaker_open{responder=\"%s\"} %d\n", prom_escape(o->url, r->pool),
                       (apr_time_t)apr_atomic_read64(&o->open_until) > now);
    }
    prom_family(r, "mod_secure_cache_lookups_total", "counter",
                "Lookups in the revocation verdict cache (invalid: a record that failed its MAC or decoding).");
    for (a = 0; a < NPROVIDERS; a++)
        for (b = 0; b < NCACHERESULTS; b++) {
            apr_uint64_t n = apr_atomic_read64(&shm_m->cache[a][b]);
            if (n)
                ap_rprintf(r, "mod_secure_cache_lookups_total{provider=\"%s\",result=\"%s\"} %" APR_UINT64_T_FMT
                           "\n", cache_providers[a], cache_results[b], n);
        }
}

/* A copy of the CRL table taken under its lock (so no row is read half written); NULL when the lock
 * cannot be had. */
static crl_row_t *crl_snapshot(apr_pool_t *p)
{
    crl_row_t *rows;

    if (!table_lock(&shm_m->crl_lock))
        return NULL;
    rows = apr_pmemdup(p, shm_m->crl, sizeof(shm_m->crl));
    table_unlock(&shm_m->crl_lock);
    return rows;
}

static void prom_page(request_rec *r)
{
    crl_row_t *rows = crl_snapshot(r->pool);
    int i;

    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    prom_vhost_families(r);
    if (rows != NULL)
        prom_crl_families(r, rows);
    prom_online_families(r);
    prom_family(r, "mod_secure_events_total", "counter",
                "Every mod_secure event counter of the server (the names of the ?json page).");
    for (i = 0; i < SECURE_CTR_MAX; i++)
        ap_rprintf(r, "mod_secure_events_total{event=\"%s\"} %" APR_UINT64_T_FMT "\n", secure_counter_names[i],
                   status_get((secure_counter_t)i));
}

/* Whether the query string has the parameter name ("name", "name=...", anywhere among &-separated ones). */
static int has_arg(const char *args, const char *name)
{
    size_t n = strlen(name);

    while (args != NULL && *args) {
        if (strncmp(args, name, n) == 0 && (args[n] == '\0' || args[n] == '=' || args[n] == '&'))
            return 1;
        args = strchr(args, '&');
        if (args != NULL)
            args++;
    }
    return 0;
}

/* Does the scraper ask for the Prometheus text format? Prometheus sends application/openmetrics-text
 * first and text/plain;version=0.0.4 as a fallback; both are answered with 0.0.4. */
static int wants_prometheus(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");

    if (has_arg(r->args, "prometheus"))
        return 1;
    if (accept == NULL)
        return 0;
    return ap_strcasestr(accept, "application/openmetrics-text") != NULL
        || (ap_strcasestr(accept, "text/plain") != NULL && ap_strcasestr(accept, "version=0.0.4") != NULL);
}

/* ---- the HTML page: per vhost bars (inline SVG), readiness, CRL freshness, breaker, cache; no script ---- */

/* 48113 -> "48,113" (from p). */
static const char *fmt_n(apr_uint64_t n, apr_pool_t *p)
{
    char digits[32], out[48];
    int len = apr_snprintf(digits, sizeof(digits), "%" APR_UINT64_T_FMT, n), i, o = 0;

    for (i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return apr_pstrdup(p, out);
}

static double pct(apr_uint64_t part, apr_uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

#define H(str) ap_escape_html(r->pool, (str))

/* One bar: label, a proportional SVG bar, "pct % (n)". */
static void html_bar(request_rec *r, const char *label, apr_uint64_t n, apr_uint64_t total)
{
    double v = pct(n, total);

    ap_rprintf(r, "<div class=\"bar\"><div class=\"bt\"><span class=\"bl\">%s</span><span class=\"bv\">%.1f %% (%s)"
               "</span></div><svg viewBox=\"0 0 100 8\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"%.1f %%\">"
               "<rect class=\"bg\" width=\"100\" height=\"8\"/><rect class=\"fg\" width=\"%.2f\" height=\"8\"/></svg></div>\n",
               H(label), v, fmt_n(n, r->pool), v, v);
}

static void html_vhost_mix(request_rec *r, vhost_metrics_t *m)
{
    apr_uint64_t ver[NVERSIONS] = { 0 }, grp[NGROUPS] = { 0 }, cip[NCIPHERS], total = 0;
    size_t a, b;

    for (a = 0; a < NVERSIONS; a++)
        for (b = 0; b < NGROUPS; b++) {
            apr_uint64_t n = apr_atomic_read64(&m->handshakes[a][b]);
            ver[a] += n;
            grp[b] += n;
            total += n;
        }
    for (a = 0; a < NCIPHERS; a++)
        cip[a] = apr_atomic_read64(&m->ciphers[a]);
    ap_rprintf(r, "<p class=\"kpi\"><b>%s</b> connections, <b>%s</b> completed handshakes</p>\n",
               fmt_n(apr_atomic_read64(&m->connections), r->pool), fmt_n(total, r->pool));
    if (total == 0)
        return;
    ap_rputs("<h3>Protocols</h3>\n<div class=\"bars\" data-kind=\"version\">\n", r);
    for (a = 0; a < NVERSIONS; a++)
        if (ver[a])
            html_bar(r, versions[a].name, ver[a], total);
    ap_rputs("</div>\n<h3>Key exchange groups</h3>\n<div class=\"bars\" data-kind=\"group\">\n", r);
    for (b = 0; b < NGROUPS; b++)
        if (grp[b])
            html_bar(r, groups[b].name, grp[b], total);
    ap_rputs("</div>\n<h3>Ciphers</h3>\n<div class=\"bars\" data-kind=\"cipher\">\n", r);
    for (a = 0; a < NCIPHERS; a++)
        if (cip[a])
            html_bar(r, ciphers[a].name, cip[a], total);
    ap_rputs("</div>\n", r);
}

static int topk_cmp(const void *x, const void *y)
{
    const topk_slot_t *a = x, *b = y;

    return a->count < b->count ? 1 : a->count > b->count ? -1 : strcmp(a->ja4, b->ja4);
}

static void html_vhost_readiness(request_rec *r, int slot, vhost_metrics_t *m)
{
    size_t p, o;
    int k;

    ap_rputs("<h3>Policy readiness</h3>\n", r);
    for (p = 0; p <= READY_PROFILES_MAX; p++) {
        apr_uint64_t n[SECURE_READY_OUTCOMES], total = 0, refused;
        const char *name;
        topk_slot_t top[TOPK_SLOTS];

        if (p >= n_builtin && p != READY_CONFIGURED)
            continue;
        name = p == READY_CONFIGURED ? "this vhost's SecurePolicy" : secure_profiles[p].name;
        for (o = 0; o < SECURE_READY_OUTCOMES; o++)
            total += (n[o] = apr_atomic_read64(&m->readiness[p][o]));
        if (total == 0)
            continue;
        refused = total - n[SECURE_READY];
        ap_rprintf(r, "<p class=\"ready\" data-profile=\"%s\"><b>%s</b> would have refused <b>%.1f %%</b> of the last "
                   "<b>%s</b> connections to vhost %s (protocol %.1f %%, cipher %.1f %%, group %.1f %%)",
                   p == READY_CONFIGURED ? "configured" : name, H(name), pct(refused, total), fmt_n(total, r->pool),
                   H(label_of_slot[slot]), pct(n[SECURE_READY_NO_PROTOCOL], total),
                   pct(n[SECURE_READY_NO_CIPHER], total), pct(n[SECURE_READY_NO_GROUP], total));
        if (p == READY_CONFIGURED || refused == 0) {
            ap_rputs(".</p>\n", r);
            continue;
        }
        /* a copy of the table: a handshake may be updating it (the copy may be one update behind) */
        memcpy(top, m->topk[p], sizeof(top));
        qsort(top, TOPK_SLOTS, sizeof(top[0]), topk_cmp);
        ap_rputs("; the top fingerprints are:</p>\n<ol class=\"topk\">\n", r);
        for (k = 0; k < TOPK_SLOTS && top[k].count > 0; k++) {
            top[k].ja4[JA4_LEN - 1] = '\0';
            ap_rprintf(r, "<li><code>%s</code> %s%s</li>\n", H(top[k].ja4), fmt_n(top[k].count, r->pool),
                       top[k].err ? apr_psprintf(r->pool, " (at most %s over)", fmt_n(top[k].err, r->pool)) : "");
        }
        ap_rputs("</ol>\n", r);
    }
}

static void html_vhost_revocation(request_rec *r, int slot, const crl_row_t *rows, vhost_metrics_t *m)
{
    apr_int64_t now = apr_time_sec(apr_time_now()), warn = (apr_int64_t)apr_atomic_read64(&m->crl_warn);
    apr_uint64_t v[NREVSTATUS] = { 0 };
    char when[32];
    size_t a, b;
    int i, head = 0;

    for (i = 0; rows != NULL && i < CRL_ROWS; i++) {
        const crl_row_t *c = &rows[i];
        const char *cls, *left;
        apr_int64_t d;
        if (!c->used || !c->present || c->vhost != slot || c->issuer[0] == '\0')
            continue;
        if (!head++)
            ap_rputs("<h3>CRLs in force</h3>\n", r);
        d = c->next_update - now;
        if (c->next_update < 0) {
            cls = "bad";
            left = "no nextUpdate: never fresh";
        }
        else {
            cls = d < 0 ? "bad" : (warn > 0 ? d < warn : d < 86400) ? "warn" : "ok";
            left = d < 0 ? apr_psprintf(r->pool, "expired %" APR_INT64_T_FMT " h %02" APR_INT64_T_FMT " min ago",
                                        -d / 3600, (-d % 3600) / 60)
                 : d >= 86400 ? apr_psprintf(r->pool, "%" APR_INT64_T_FMT " d %" APR_INT64_T_FMT " h left", d / 86400,
                                             (d % 86400) / 3600)
                 : apr_psprintf(r->pool, "%" APR_INT64_T_FMT " h %02" APR_INT64_T_FMT " min left", d / 3600,
                                (d % 3600) / 60);
        }
        ap_rprintf(r, "<div class=\"card crl\"><div><span class=\"pill %s\" data-fresh=\"%s\">%s</span> next update "
                   "%s &middot; entries: %s</div><div class=\"sub\">%s</div><div class=\"sub\"><code>%s</code></div>"
                   "</div>\n", cls, cls, H(left), c->next_update < 0 ? "-" : iso_secs(c->next_update, when, sizeof(when)),
                   fmt_n(c->entries, r->pool), H(c->issuer), H(c->file));
    }
    if (apr_atomic_read32(&m->deny_loaded))
        ap_rprintf(r, "<p>Deny list <code>%s</code>: entries: <b>%s</b>.</p>\n", H(m->deny_file),
                   fmt_n(apr_atomic_read64(&m->deny_entries), r->pool));
    for (a = 0; a < NREVSTATUS; a++)
        for (b = 0; b < NREVSOURCES; b++)
            v[a] += apr_atomic_read64(&m->revocation[a][b]);
    if (v[0] + v[1] + v[2] > 0)
        ap_rprintf(r, "<p class=\"rev\">Client certificates: <b>%s</b> good, <b>%s</b> revoked, <b>%s</b> unknown.</p>\n",
                   fmt_n(v[0], r->pool), fmt_n(v[1], r->pool), fmt_n(v[2], r->pool));
}

static void html_vhost_policy(request_rec *r, vhost_metrics_t *m)
{
    apr_uint64_t res[SECURE_POLICY_RESULTS] = { 0 };
    size_t a, b;

    for (a = 0; a < SECURE_POLICY_RESULTS; a++)
        for (b = 0; b < NRULES; b++)
            res[a] += apr_atomic_read64(&m->policy[a][b]);
    if (res[0] + res[1] + res[2] + res[3] == 0)
        return;
    ap_rprintf(r, "<p class=\"pol\">SecurePolicy verdicts: <b>%s</b> pass, <b>%s</b> violation (report mode), "
               "<b>%s</b> rejected, <b>%s</b> misdirected.</p>\n", fmt_n(res[0], r->pool), fmt_n(res[1], r->pool),
               fmt_n(res[2], r->pool), fmt_n(res[3], r->pool));
}

static void html_online(request_rec *r)
{
    apr_time_t now = apr_time_now();
    apr_uint64_t hit = 0, all = 0;
    size_t a;
    int i, head = 0;

    for (i = 0; i < RESPONDER_SLOTS; i++) {
        responder_t *o = &shm_m->responders[i];
        apr_uint64_t q[SECURE_OCSP_RESULTS], count, open;
        if (!apr_atomic_read32(&o->used))
            continue;
        if (!head++)
            ap_rputs("<h2>OCSP responders</h2>\n", r);
        for (a = 0; a < SECURE_OCSP_RESULTS; a++)
            q[a] = apr_atomic_read64(&o->queries[a]);
        count = apr_atomic_read64(&o->count);
        open = (apr_time_t)apr_atomic_read64(&o->open_until) > now;
        ap_rprintf(r, "<div class=\"card ocsp\"><div><span class=\"pill %s\" data-breaker=\"%s\">breaker %s</span> "
                   "%s good &middot; %s revoked &middot; %s unknown &middot; %s error &middot; %s skipped &middot; "
                   "mean %s</div><div class=\"sub\"><code>%s</code></div></div>\n",
                   open ? "bad" : "ok", open ? "open" : "closed", open ? "open" : "closed",
                   fmt_n(q[0], r->pool), fmt_n(q[1], r->pool), fmt_n(q[2], r->pool), fmt_n(q[3], r->pool),
                   fmt_n(q[4], r->pool), count ? apr_psprintf(r->pool, "%.0f ms",
                   (double)apr_atomic_read64(&o->sum_us) / 1000.0 / (double)count) : "-", H(o->url));
    }
    for (a = 0; a < NPROVIDERS; a++) {
        hit += apr_atomic_read64(&shm_m->cache[a][0]);
        all += apr_atomic_read64(&shm_m->cache[a][0]) + apr_atomic_read64(&shm_m->cache[a][1])
             + apr_atomic_read64(&shm_m->cache[a][2]);
    }
    if (all > 0) {
        ap_rputs("<h2>Verdict cache</h2>\n<div class=\"bars\" data-kind=\"cache\">\n", r);
        html_bar(r, "hit rate", hit, all);
        ap_rputs("</div>\n", r);
    }
}

static const char html_style[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:48rem;"
    "padding:0 .8rem 2rem;color:#1d1d1f;background:#fff;overflow-wrap:anywhere}"
    "h1{font-size:1.4rem;margin:1rem 0 .2rem}h2{font-size:1.15rem;margin:1.6rem 0 .4rem;"
    "border-bottom:2px solid #d0d7de;padding-bottom:.2rem}h3{font-size:.95rem;margin:.9rem 0 .3rem;color:#444}"
    ".meta{color:#555;margin:0}.kpi{margin:.3rem 0}"
    ".bar{margin:.3rem 0;font-size:.9rem}.bt{display:flex;justify-content:space-between;gap:.6rem}"
    ".bar svg{width:100%;height:.8rem;display:block}.bar .bg{fill:#eef1f4}.bar .fg{fill:#2f6fdf}"
    ".bl{min-width:0}.bv{font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".card{border:1px solid #e5e8eb;border-radius:.4rem;padding:.35rem .55rem;margin:.35rem 0;font-size:.9rem}"
    ".sub{color:#555;font-size:.85rem}"
    "table{border-collapse:collapse;font-size:.88rem}td,th{padding:.2rem .5rem;text-align:left;"
    "border-bottom:1px solid #e5e8eb}"
    ".pill{padding:.05rem .45rem;border-radius:.6rem;white-space:nowrap;font-weight:600}"
    ".ok{background:#dff3e3;color:#1a5e2a}.warn{background:#fff1c2;color:#7a5200}.bad{background:#fde0e0;color:#9b1c1c}"
    "code{font-size:.85em}.ready{margin:.35rem 0}.topk{margin:.2rem 0 .6rem;font-size:.85rem}"
    "section.vhost{margin-top:1rem}details{margin-top:1.5rem}";

/* The value of parameter name in the query string, URL-decoded (from p), or NULL. */
static const char *arg_value(const char *args, const char *name, apr_pool_t *p)
{
    size_t n = strlen(name);

    while (args != NULL && *args) {
        if (strncmp(args, name, n) == 0 && args[n] == '=') {
            const char *end = strchr(args + n + 1, '&');
            char *v = end ? apr_pstrmemdup(p, args + n + 1, (apr_size_t)(end - args - n - 1))
                          : apr_pstrdup(p, args + n + 1);
            return ap_unescape_url(v) == OK ? v : NULL;
        }
        args = strchr(args, '&');
        if (args != NULL)
            args++;
    }
    return NULL;
}

static void html_page(request_rec *r)
{
    crl_row_t *rows = crl_snapshot(r->pool);
    const char *only = arg_value(r->args, "vhost", r->pool);   /* ?vhost=host:port: that vhost alone */
    int i, shown = 0;

    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rprintf(r, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<title>mod_secure status</title>\n<style>%s</style></head><body>\n<h1>mod_secure status</h1>\n"
               "<p class=\"meta\">%s &middot; numbers since the last (re)start &middot; <a href=\"?prometheus\">"
               "Prometheus</a> &middot; <a href=\"?json\">JSON</a></p>\n", html_style,
               H(ap_get_server_name(r)));
    for (i = 0; i < nvhosts; i++) {
        vhost_metrics_t *m = &shm_m->vhosts[i];
        if (!slot_shown(i) || (only != NULL && strcmp(only, label_of_slot[i]) != 0))
            continue;
        shown++;
        ap_rprintf(r, "<section class=\"vhost\" data-vhost=\"%s\">\n<h2>%s</h2>\n", H(label_of_slot[i]),
                   H(label_of_slot[i]));
        html_vhost_mix(r, m);
        html_vhost_readiness(r, i, m);
        html_vhost_policy(r, m);
        html_vhost_revocation(r, i, rows, m);
        ap_rputs("</section>\n", r);
    }
    if (!shown)
        ap_rputs(only ? "<p>No vhost of that name has SecureEngine on.</p>\n" : "<p>No vhost has SecureEngine on.</p>\n", r);
    html_online(r);
    ap_rputs("<details><summary>SecurePolicy profiles and their sources</summary>\n<table class=\"counters\">\n"
             "<tr><th>profile</th><th>version</th><th>source</th></tr>\n", r);
    for (i = 0; i < (int)secure_profiles_count(); i++)      /* static strings of the table: no escaping */
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td></tr>\n", secure_profiles[i].name,
                   secure_profiles[i].version, secure_profiles[i].source);
    ap_rputs("</table></details>\n", r);
    ap_rputs("<details><summary>All counters</summary>\n<table class=\"counters\">\n"
             "<tr><th>counter</th><th>value</th></tr>\n", r);
    for (i = 0; i < SECURE_CTR_MAX; i++)
        ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td></tr>\n", secure_counter_names[i],
                   status_get((secure_counter_t)i));
    ap_rputs("</table></details>\n</body></html>\n", r);
}

int secure_status_handler(request_rec *r)
{
    int i, json;

    if (strcmp(r->handler, "secure-status") != 0)
        return DECLINED;
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    apr_table_mergen(r->headers_out, "Vary", "Accept");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (shm_m == NULL)
        return HTTP_SERVICE_UNAVAILABLE;
    json = has_arg(r->args, "json");
    if (!json && wants_prometheus(r)) {
        prom_page(r);
        return OK;
    }
    if (json) {
        ap_set_content_type(r, "application/json");
        ap_rputs("{", r);
        for (i = 0; i < SECURE_CTR_MAX; i++)
            ap_rprintf(r, "%s\"%s\":%" APR_UINT64_T_FMT, i ? "," : "", secure_counter_names[i],
                       status_get((secure_counter_t)i));
        ap_rputs("}\n", r);
        return OK;
    }
    html_page(r);
    return OK;
}
