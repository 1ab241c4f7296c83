/* secure_breaker — the circuit breaker over responder / CRL distribution point URLs, as a pure table
 * (no httpd or APR types: the caller provides the memory, the clock and the lock, so unit tests call it
 * directly; secure_fetch keeps the table in shared memory under a global mutex).
 *
 * A slot holds one URL that failed recently, keyed by the whole URL (stored and compared in full, so two
 * URLs never share a state). A URL without a slot is closed with no failures; a success frees its slot.
 * The table is bounded: a failure of a URL without a slot takes a free slot, else evicts the least
 * recently used slot whose circuit is closed; when every slot holds an open circuit the URL cannot be
 * tracked and the caller must not try it (SECURE_BREAKER_FULL), never silently run without a breaker. */
#ifndef SECURE_BREAKER_H
#define SECURE_BREAKER_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of the longest URL a slot holds, with its terminating NUL; secure_fetch refuses longer URLs. */
#define SECURE_BREAKER_URL_MAX 512

typedef struct {
    char url[SECURE_BREAKER_URL_MAX];   /* "" = free slot */
    uint32_t failures;                  /* consecutive failures */
    int64_t open_until;                 /* caller's clock (seconds); 0 = closed */
    int64_t last_used;                  /* caller's clock when last looked up or recorded, for eviction */
    int64_t probe_until;                /* half-open: one probe was let through and holds until then */
} secure_breaker_slot_t;

typedef enum {
    SECURE_BREAKER_ALLOW = 0,   /* try the URL */
    SECURE_BREAKER_OPEN,        /* its circuit is open until *until: do not try it */
    SECURE_BREAKER_FULL,        /* it has no slot and none can be had (every slot is open): do not try it */
    SECURE_BREAKER_BAD_URL,     /* NULL, empty or not shorter than SECURE_BREAKER_URL_MAX: do not try it */
    SECURE_BREAKER_PROBING      /* half-open, another caller's probe is out (until *until): do not try it */
} secure_breaker_state_t;

/* May url be tried at now? For OPEN, *until (may be NULL) is when its circuit closes. table has n slots.
 * Once an open circuit's time passed (half-open), exactly one caller gets ALLOW, the probe; the others get
 * PROBING (*until: when the probe is given up) until its outcome is recorded or probe_for passed. */
secure_breaker_state_t secure_breaker_check(secure_breaker_slot_t *table, size_t n, const char *url,
                                            int64_t now, int64_t probe_for, int64_t *until);

/* Records one exchange with url at now. ok: the circuit closes and the slot is freed. A failure: counted
 * in url's slot (taken or evicted as described above); the limit-th consecutive failure, and any failure
 * after a circuit's open time passed (the half-open try), open it until now + retry. Returns
 * SECURE_BREAKER_OPEN when this failure opened the circuit, SECURE_BREAKER_ALLOW when the failure was
 * counted (or the success recorded), FULL or BAD_URL when the failure could not be recorded. */
secure_breaker_state_t secure_breaker_record(secure_breaker_slot_t *table, size_t n, const char *url, int ok,
                                             int64_t now, uint32_t limit, int64_t retry);

#endif /* SECURE_BREAKER_H */
