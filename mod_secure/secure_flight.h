/* secure_flight — single-flight for the online revocation sources: at most one query in flight per key
 * (a certificate under a vhost's online settings, or a CRL distribution point URL) in each process and
 * across the processes of a server. In a process, later callers wait on a condition variable for the
 * first one's answer (bounded by a deadline); across processes, a shared-memory table of in-flight
 * markers (under `Mutex secure-online-flight`) makes a caller that sees another process's recent marker
 * poll, with a bounded backoff, until the marker goes, then read the answer through the caller's poll
 * function (the verdict cache for a certificate, secure_crlfetch's spool for a CRL) instead of querying. Nothing here runs when a verdict is
 * cached: only a cache miss boards a flight. */
#ifndef SECURE_FLIGHT_H
#define SECURE_FLIGHT_H

#include "httpd.h"

#include "secure_types.h"

/* Keys in flight at once per process, and in-flight markers shared by a server's processes. A caller
 * that finds either table full queries on its own (counted: online_flight_full). */
#define SECURE_FLIGHT_LOCAL_SLOTS 64
#define SECURE_FLIGHT_SHARED_SLOTS 256
/* Bytes of a leader's verdict detail handed to its waiters. */
#define SECURE_FLIGHT_DETAIL_MAX 256
/* How long an answered marker keeps its answer for the other processes. */
#define SECURE_FLIGHT_ANSWER_HOLD apr_time_from_sec(2)

typedef struct secure_flight secure_flight_t;

typedef enum {
    SECURE_FLIGHT_LEAD = 0,   /* this caller queries and must call secure_flight_land() with the answer */
    SECURE_FLIGHT_ANSWER,     /* *v holds another caller's answer (this process), or the poll's (another) */
    SECURE_FLIGHT_TIMEOUT     /* the deadline passed while another caller's query was in flight */
} secure_flight_status_t;

/* Reads the answer another process put where this one can see it (the verdict cache): 1 and *v filled,
 * else 0. Called only after that process's marker went away. */
typedef int (*secure_flight_poll_fn)(void *baton, secure_verdict_t *v, apr_pool_t *p);

/* Boards the flight for key (32 bytes, e.g. a SHA-256). shared: also look at / leave a marker in the
 * table shared by the server's processes (poll may then be NULL only when shared is 0). Waits at most
 * until deadline. LEAD: *f is the flight to land; ANSWER: *v filled (strings from p); TIMEOUT: *v
 * untouched. When the tables are unavailable or full, LEAD (the caller queries alone). */
secure_flight_status_t secure_flight_board(const unsigned char key[32], int shared, apr_time_t deadline,
                                           secure_flight_poll_fn poll, void *baton, secure_flight_t **f,
                                           secure_verdict_t *v, apr_pool_t *p);
/* Ends a flight: removes its shared marker and hands v (status NONE: no answer) to the waiters of this
 * process. Call it after the answer is where poll functions read it (the verdict cache). */
void secure_flight_land(secure_flight_t *f, const secure_verdict_t *v);
/* The same, but an answer (status not NONE) stays in the shared marker for SECURE_FLIGHT_ANSWER_HOLD (never
 * past v->expires), where the other processes' waiters and boarders take it when their poll finds nothing:
 * single-flight across processes without a shared verdict cache. */
void secure_flight_land_shared(secure_flight_t *f, const secure_verdict_t *v);

/* Lifecycle (from secure_ocsp's online lifecycle): register the mutex type (pre_config); create the
 * shared table and its mutex when needed (post_config; an error fails startup); attach this child and
 * create its local table (child_init). */
apr_status_t secure_flight_pre_config(apr_pool_t *pconf);
apr_status_t secure_flight_post_config(apr_pool_t *pconf, server_rec *s, int needed);
void secure_flight_child_init(apr_pool_t *pchild, server_rec *s);

#endif /* SECURE_FLIGHT_H */
