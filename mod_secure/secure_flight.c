/* secure_flight — single-flight for the online sources (see the header).
 *
 * Per process: a fixed table of keys in flight under one mutex and one condition variable. The first
 * caller for a key leads; later ones wait (counted) until the leader lands or their deadline passes.
 * Across processes: a fixed table of markers in anonymous shared memory (made in post_config, inherited
 * by the children) under a global mutex. A leader that finds another process's live marker for its key
 * polls the marker with a growing sleep (5 ms doubling to 100 ms) and, once it is gone, asks the caller's
 * poll function (the verdict cache) for the answer. A leader that lands with secure_flight_land_shared
 * (the OCSP flight) leaves its answer in the marker for SECURE_FLIGHT_ANSWER_HOLD, so the processes that
 * waited, or board meanwhile, take it when the cache has nothing (SecureRevocationCache none, or an
 * answer the cache does not keep): one query per server either way. No answer at all lets a waiter claim
 * the marker and query itself. A marker lives twice the wait bound plus a second: one left by a process
 * that died is taken over then. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_mutex.h"
#include "apr_global_mutex.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"

#include <string.h>

#include "secure_config.h"
#include "secure_flight.h"
#include "secure_log.h"
#include "secure_status.h"

APLOG_USE_MODULE(secure);

#define SECURE_FLIGHT_MUTEX "secure-online-flight"
#define FLIGHT_BACKOFF_MIN apr_time_from_msec(5)
#define FLIGHT_BACKOFF_MAX apr_time_from_msec(100)

typedef struct {
    unsigned char key[32];
    int used;                     /* a leader or waiters hold it */
    int done;                     /* the leader landed: v is its answer */
    unsigned waiters;             /* callers waiting for the answer */
    secure_verdict_t v;           /* detail points at detail[] below; source at a static string */
    char detail[SECURE_FLIGHT_DETAIL_MAX];
} local_slot_t;

typedef struct {
    unsigned char key[32];
    apr_time_t started;           /* 0: free */
    apr_time_t expires;           /* a live marker: now < expires */
    /* an answered marker (secure_flight_land_shared): the leader's verdict, kept until expires (at most
     * SECURE_FLIGHT_ANSWER_HOLD, never past the verdict's own expiry) for the processes that waited on it
     * or board meanwhile and find nothing in the verdict cache (SecureRevocationCache none) */
    int answered;
    int status, reason;
    apr_time_t revoked_at, verdict_expires;
    char source[24];
    char detail[SECURE_FLIGHT_DETAIL_MAX];
} shared_slot_t;

struct secure_flight {
    unsigned char key[32];
    local_slot_t *local;          /* NULL: the local table was full or unavailable */
    shared_slot_t *shared;        /* the marker this flight holds, or NULL */
    apr_time_t started;           /* of that marker, to remove only our own */
};

static local_slot_t local_table[SECURE_FLIGHT_LOCAL_SLOTS];
static apr_thread_mutex_t *local_mutex;   /* NULL: no local single-flight in this process */
static apr_thread_cond_t *local_cond;

static shared_slot_t *shared_table;
static apr_global_mutex_t *shared_mutex;

/* ---- lifecycle ---------------------------------------------------------------------------------- */

apr_status_t secure_flight_pre_config(apr_pool_t *pconf)
{
    shared_table = NULL;
    shared_mutex = NULL;
    return ap_mutex_register(pconf, SECURE_FLIGHT_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
}

apr_status_t secure_flight_post_config(apr_pool_t *pconf, server_rec *s, int needed)
{
    apr_size_t size = sizeof(shared_slot_t) * SECURE_FLIGHT_SHARED_SLOTS;
    void *mem;
    apr_status_t rv;

    shared_table = NULL;
    shared_mutex = NULL;
    if (!needed)
        return APR_SUCCESS;
    if ((rv = secure_shared_table_create(pconf, s, size, SECURE_FLIGHT_MUTEX, "the in-flight query table", &mem,
                                         &shared_mutex)) != APR_SUCCESS)
        return rv;
    shared_table = mem;
    return APR_SUCCESS;
}

static apr_status_t local_table_gone(void *data)
{
    (void)data;
    local_mutex = NULL;
    local_cond = NULL;
    return APR_SUCCESS;
}

void secure_flight_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    memset(local_table, 0, sizeof(local_table));
    local_mutex = NULL;
    local_cond = NULL;
    if ((rv = apr_thread_mutex_create(&local_mutex, APR_THREAD_MUTEX_DEFAULT, pchild)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&local_cond, pchild)) != APR_SUCCESS) {
        local_mutex = NULL;
        local_cond = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     SECTAG(11602) "SecureOCSP / SecureCRLFetch: cannot create this process's in-flight query "
                     "table; concurrent handshakes with one certificate each query on their own");
    }
    else
        apr_pool_cleanup_register(pchild, NULL, local_table_gone, apr_pool_cleanup_null);
    if (shared_mutex == NULL)
        return;
    rv = apr_global_mutex_child_init(&shared_mutex, apr_global_mutex_lockfile(shared_mutex), pchild);
    if (rv != APR_SUCCESS) {
        shared_mutex = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     SECTAG(11603) "SecureOCSP / SecureCRLFetch: this process cannot attach to the mutex of the "
                     "shared in-flight query table; it does not coordinate its queries with the other processes");
    }
}

/* ---- this process --------------------------------------------------------------------------------- */

/* Hands v to the waiters of slot and frees it when nobody waits. */
static void local_land(local_slot_t *slot, const secure_verdict_t *v)
{
    if (slot == NULL || apr_thread_mutex_lock(local_mutex) != APR_SUCCESS)
        return;
    slot->v = *v;
    slot->v.detail = NULL;
    if (v->detail != NULL) {
        apr_cpystrn(slot->detail, v->detail, sizeof(slot->detail));
        slot->v.detail = slot->detail;
    }
    slot->done = 1;
    if (slot->waiters == 0)
        memset(slot, 0, sizeof(*slot));
    else
        apr_thread_cond_broadcast(local_cond);
    apr_thread_mutex_unlock(local_mutex);
}

/* Waits (the local mutex held) for the leader of slot. ANSWER with *v, or TIMEOUT. */
static secure_flight_status_t local_wait(local_slot_t *slot, apr_time_t deadline, secure_verdict_t *v,
                                         apr_pool_t *p)
{
    secure_flight_status_t st = SECURE_FLIGHT_TIMEOUT;
    apr_time_t now;

    slot->waiters++;
    while (!slot->done && (now = apr_time_now()) < deadline)
        apr_thread_cond_timedwait(local_cond, local_mutex, deadline - now);
    if (slot->done && slot->v.status != SECURE_REV_NONE) {
        *v = slot->v;
        v->detail = slot->v.detail ? apr_pstrdup(p, slot->v.detail) : NULL;
        st = SECURE_FLIGHT_ANSWER;
    }
    if (--slot->waiters == 0 && slot->done)
        memset(slot, 0, sizeof(*slot));
    return st;
}

/* ---- the server's processes ----------------------------------------------------------------------- */

typedef enum { SHARED_CLAIMED, SHARED_BUSY, SHARED_NONE, SHARED_ANSWERED } shared_state_t;

/* The answer an answered marker holds, as a verdict in p. Caller holds the lock. */
static void shared_answer_locked(const shared_slot_t *sl, secure_verdict_t *v, apr_pool_t *p)
{
    memset(v, 0, sizeof(*v));
    v->status = (secure_rev_status_t)sl->status;
    v->reason = sl->reason;
    v->revoked_at = sl->revoked_at;
    v->expires = 0;               /* the leader cached it if it could: this copy is not cached again */
    v->source = sl->source[0] != '\0' ? apr_pstrdup(p, sl->source) : NULL;
    v->detail = sl->detail[0] != '\0' ? apr_pstrdup(p, sl->detail) : NULL;
}

/* Claims the marker for key, or reports another live one (its start in *started). Caller holds the lock. */
static shared_state_t shared_claim_locked(const unsigned char key[32], apr_time_t now, apr_time_t life,
                                          secure_flight_t *fl, apr_time_t *started, secure_verdict_t *v,
                                          apr_pool_t *p)
{
    shared_slot_t *free_slot = NULL, *sl;
    size_t i;

    for (i = 0; i < SECURE_FLIGHT_SHARED_SLOTS; i++) {
        sl = &shared_table[i];
        if (sl->started != 0 && now >= sl->expires)
            memset(sl, 0, sizeof(*sl));      /* left by a process that died, or overdue */
        if (sl->started == 0) {
            if (free_slot == NULL)
                free_slot = sl;
            continue;
        }
        if (memcmp(sl->key, key, 32) == 0) {
            *started = sl->started;
            if (!sl->answered)
                return SHARED_BUSY;
            shared_answer_locked(sl, v, p);
            return SHARED_ANSWERED;
        }
    }
    if (free_slot == NULL)
        return SHARED_NONE;
    memcpy(free_slot->key, key, 32);
    free_slot->started = now;
    free_slot->expires = now + life;
    fl->shared = free_slot;
    fl->started = now;
    return SHARED_CLAIMED;
}

/* Whether the marker for key that started at started is still in flight: 1; 0 when it is gone, or
 * answered (then *answered is set and *v holds the answer). */
static int shared_still_busy_locked(const unsigned char key[32], apr_time_t started, int *answered,
                                    secure_verdict_t *v, apr_pool_t *p)
{
    apr_time_t now = apr_time_now();
    size_t i;

    for (i = 0; i < SECURE_FLIGHT_SHARED_SLOTS; i++)
        if (shared_table[i].started == started && now < shared_table[i].expires
            && memcmp(shared_table[i].key, key, 32) == 0) {
            if (!shared_table[i].answered)
                return 1;
            shared_answer_locked(&shared_table[i], v, p);
            *answered = 1;
            return 0;
        }
    return 0;
}

/* The leader of this process coordinates with the others: LEAD (marker claimed, or none to be had),
 * ANSWER (another process answered, through poll), TIMEOUT. */
static secure_flight_status_t shared_board(secure_flight_t *fl, apr_time_t deadline, secure_flight_poll_fn poll,
                                           void *baton, secure_verdict_t *v, apr_pool_t *p)
{
    apr_time_t now = apr_time_now(), started = 0, backoff = FLIGHT_BACKOFF_MIN;
    apr_time_t life = 2 * (deadline > now ? deadline - now : 0) + apr_time_from_sec(1);
    shared_state_t st;
    secure_verdict_t held;
    int busy, counted = 0, answered = 0;

    for (;;) {
        if (apr_global_mutex_lock(shared_mutex) != APR_SUCCESS)
            return SECURE_FLIGHT_LEAD;
        st = shared_claim_locked(fl->key, apr_time_now(), life, fl, &started, &held, p);
        apr_global_mutex_unlock(shared_mutex);
        if (st == SHARED_NONE)
            secure_status_count(SECURE_CTR_FLIGHT_FULL);
        if (st == SHARED_ANSWERED) {
            /* landed just now in another process: the cache first (the leader wrote it), else its answer */
            if (poll == NULL || !poll(baton, v, p))
                *v = held;
            secure_status_count(SECURE_CTR_FLIGHT_WAITS);
            return SECURE_FLIGHT_ANSWER;
        }
        if (st != SHARED_BUSY)
            return SECURE_FLIGHT_LEAD;
        if (!counted++)
            secure_status_count(SECURE_CTR_FLIGHT_WAITS);
        /* another process queries: wait for its marker to go, then read its answer */
        do {
            now = apr_time_now();
            if (now >= deadline)
                return SECURE_FLIGHT_TIMEOUT;
            apr_sleep(backoff < deadline - now ? backoff : deadline - now);
            if (backoff < FLIGHT_BACKOFF_MAX)
                backoff = backoff * 2 < FLIGHT_BACKOFF_MAX ? backoff * 2 : FLIGHT_BACKOFF_MAX;
            if (apr_global_mutex_lock(shared_mutex) != APR_SUCCESS)
                return SECURE_FLIGHT_LEAD;
            busy = shared_still_busy_locked(fl->key, started, &answered, &held, p);
            apr_global_mutex_unlock(shared_mutex);
        } while (busy);
        if (poll != NULL && poll(baton, v, p))
            return SECURE_FLIGHT_ANSWER;
        if (answered) {
            *v = held;
            return SECURE_FLIGHT_ANSWER;
        }
    }
}

/* ---- boarding and landing --------------------------------------------------------------------------- */

secure_flight_status_t secure_flight_board(const unsigned char key[32], int shared, apr_time_t deadline,
                                           secure_flight_poll_fn poll, void *baton, secure_flight_t **f,
                                           secure_verdict_t *v, apr_pool_t *p)
{
    secure_flight_t *fl = apr_pcalloc(p, sizeof(*fl));
    secure_flight_status_t st;
    secure_verdict_t none;
    size_t i;

    memcpy(fl->key, key, 32);
    *f = fl;
    if (local_mutex != NULL && apr_thread_mutex_lock(local_mutex) == APR_SUCCESS) {
        for (i = 0; i < SECURE_FLIGHT_LOCAL_SLOTS; i++)
            if (local_table[i].used && !local_table[i].done && memcmp(local_table[i].key, key, 32) == 0) {
                secure_status_count(SECURE_CTR_FLIGHT_WAITS);
                st = local_wait(&local_table[i], deadline, v, p);
                apr_thread_mutex_unlock(local_mutex);
                if (st == SECURE_FLIGHT_TIMEOUT)
                    secure_status_count(SECURE_CTR_FLIGHT_TIMEOUTS);
                *f = NULL;
                return st;
            }
        for (i = 0; i < SECURE_FLIGHT_LOCAL_SLOTS && fl->local == NULL; i++)
            if (!local_table[i].used) {
                fl->local = &local_table[i];
                memset(fl->local, 0, sizeof(*fl->local));
                memcpy(fl->local->key, key, 32);
                fl->local->used = 1;
            }
        apr_thread_mutex_unlock(local_mutex);
        if (fl->local == NULL)
            secure_status_count(SECURE_CTR_FLIGHT_FULL);
    }
    if (!shared || shared_table == NULL || shared_mutex == NULL)
        return SECURE_FLIGHT_LEAD;
    st = shared_board(fl, deadline, poll, baton, v, p);
    if (st == SECURE_FLIGHT_LEAD)
        return st;
    /* this process's waiters get what this caller got */
    memset(&none, 0, sizeof(none));
    local_land(fl->local, st == SECURE_FLIGHT_ANSWER ? v : &none);
    if (st == SECURE_FLIGHT_TIMEOUT)
        secure_status_count(SECURE_CTR_FLIGHT_TIMEOUTS);
    *f = NULL;
    return st;
}

static void land(secure_flight_t *f, const secure_verdict_t *v, int keep)
{
    if (f == NULL)
        return;
    if (f->shared != NULL && shared_mutex != NULL && apr_global_mutex_lock(shared_mutex) == APR_SUCCESS) {
        shared_slot_t *sl = f->shared;
        apr_time_t now = apr_time_now(), until = now + SECURE_FLIGHT_ANSWER_HOLD;

        if (sl->started == f->started && memcmp(sl->key, f->key, 32) == 0) {
            if (keep && v->status != SECURE_REV_NONE && (v->expires == 0 || v->expires > now)) {
                sl->answered = 1;
                sl->status = (int)v->status;
                sl->reason = v->reason;
                sl->revoked_at = v->revoked_at;
                sl->verdict_expires = v->expires;
                apr_cpystrn(sl->source, v->source ? v->source : "", sizeof(sl->source));
                apr_cpystrn(sl->detail, v->detail ? v->detail : "", sizeof(sl->detail));
                sl->expires = v->expires != 0 && v->expires < until ? v->expires : until;
            }
            else
                memset(sl, 0, sizeof(*sl));
        }
        apr_global_mutex_unlock(shared_mutex);
    }
    f->shared = NULL;
    local_land(f->local, v);
    f->local = NULL;
}

void secure_flight_land(secure_flight_t *f, const secure_verdict_t *v)
{
    land(f, v, 0);
}

void secure_flight_land_shared(secure_flight_t *f, const secure_verdict_t *v)
{
    land(f, v, 1);
}
