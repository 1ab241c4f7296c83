/* Unit tests of secure_breaker: keyed by the whole URL (no shared state on a hash collision), the
 * failure count and open / half-open states, and the bounded table's eviction of the least recently used
 * closed slot (never an open one, never silently no breaker). */
#include <string.h>

#include "tap.h"
#include "secure_breaker.h"

void test_breaker(void);

#define LIMIT 3
#define RETRY 30

static int slot_of(secure_breaker_slot_t *t, size_t n, const char *url)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(t[i].url, url) == 0)
            return (int)i;
    return -1;
}

static void test_keying(void)
{
    /* both hash to 0x901c8dcf under 32-bit FNV-1a, the key of the breaker before (one shared slot) */
    static const char a[] = "http://ocsp1129599.example/", b[] = "http://ocsp1732382.example/";
    secure_breaker_slot_t t[8];
    char longest[SECURE_BREAKER_URL_MAX + 1], other[SECURE_BREAKER_URL_MAX];
    int64_t until = 0;
    int i;

    memset(t, 0, sizeof(t));
    is_int(secure_breaker_check(t, 8, a, 100, 0, &until), SECURE_BREAKER_ALLOW, "a URL never seen is allowed");
    for (i = 0; i < LIMIT - 1; i++)
        is_int(secure_breaker_record(t, 8, a, 0, 100, LIMIT, RETRY), SECURE_BREAKER_ALLOW,
               "failure %d of %d is counted, the circuit stays closed", i + 1, LIMIT);
    is_int(secure_breaker_record(t, 8, a, 0, 100, LIMIT, RETRY), SECURE_BREAKER_OPEN,
           "failure %d opens the circuit", LIMIT);
    is_int(secure_breaker_check(t, 8, a, 101, 0, &until), SECURE_BREAKER_OPEN, "open: not tried");
    is_int(until, 100 + RETRY, "open until the failure time + retry");
    is_int(secure_breaker_check(t, 8, b, 101, 0, &until), SECURE_BREAKER_ALLOW,
           "another URL with the same 32-bit FNV-1a hash does not share the open circuit");
    is_int(secure_breaker_record(t, 8, b, 0, 101, LIMIT, RETRY), SECURE_BREAKER_ALLOW,
           "... its first failure is its own (closed)");
    ok(slot_of(t, 8, a) >= 0 && slot_of(t, 8, b) >= 0 && slot_of(t, 8, a) != slot_of(t, 8, b),
       "the two URLs have a slot each, with the URL stored in full");
    is_int(t[slot_of(t, 8, b)].failures, 1, "... and b counts 1 failure, not a's 3 + 1");

    /* URLs that differ only in their last byte of the longest length a slot holds */
    memset(other, 'x', sizeof(other) - 1);
    other[sizeof(other) - 1] = '\0';
    memcpy(other, "http://", 7);
    is_int(secure_breaker_record(t, 8, other, 0, 102, 1, RETRY), SECURE_BREAKER_OPEN,
           "a 511-byte URL is tracked (limit 1 opens at once)");
    other[sizeof(other) - 2] = 'y';
    is_int(secure_breaker_check(t, 8, other, 103, 0, NULL), SECURE_BREAKER_ALLOW,
           "a 511-byte URL differing in its last byte has a state of its own");
    memset(longest, 'x', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    is_int(secure_breaker_check(t, 8, longest, 103, 0, NULL), SECURE_BREAKER_BAD_URL, "a 512-byte URL is refused");
    is_int(secure_breaker_record(t, 8, longest, 0, 103, LIMIT, RETRY), SECURE_BREAKER_BAD_URL,
           "... and not recorded");
    is_int(secure_breaker_check(t, 8, "", 103, 0, NULL), SECURE_BREAKER_BAD_URL, "an empty URL is refused");
    is_int(secure_breaker_check(t, 8, NULL, 103, 0, NULL), SECURE_BREAKER_BAD_URL, "a NULL URL is refused");
}

static void test_states(void)
{
    static const char u[] = "http://responder.example/ocsp";
    secure_breaker_slot_t t[4];
    int64_t until = 0;

    memset(t, 0, sizeof(t));
    secure_breaker_record(t, 4, u, 0, 10, LIMIT, RETRY);
    secure_breaker_record(t, 4, u, 0, 11, LIMIT, RETRY);
    is_int(secure_breaker_record(t, 4, u, 1, 12, LIMIT, RETRY), SECURE_BREAKER_ALLOW, "a success is recorded");
    is_int(slot_of(t, 4, u), -1, "a success frees the URL's slot (closed, no failures)");
    secure_breaker_record(t, 4, u, 0, 13, LIMIT, RETRY);
    secure_breaker_record(t, 4, u, 0, 14, LIMIT, RETRY);
    is_int(secure_breaker_check(t, 4, u, 14, 0, NULL), SECURE_BREAKER_ALLOW,
           "the count started again after the success: 2 failures keep it closed");
    is_int(secure_breaker_record(t, 4, u, 0, 15, LIMIT, RETRY), SECURE_BREAKER_OPEN, "the 3rd opens it");
    is_int(secure_breaker_check(t, 4, u, 15 + RETRY - 1, 0, &until), SECURE_BREAKER_OPEN, "open 1 s before retry");
    is_int(secure_breaker_check(t, 4, u, 15 + RETRY, 0, &until), SECURE_BREAKER_ALLOW,
           "half-open once the retry time passed: one try");
    is_int(secure_breaker_record(t, 4, u, 0, 15 + RETRY, LIMIT, RETRY), SECURE_BREAKER_OPEN,
           "one failure of the half-open try opens it again");
    is_int(secure_breaker_check(t, 4, u, 16 + RETRY, 0, &until), SECURE_BREAKER_OPEN, "... for retry seconds more");
    is_int(until, 15 + 2 * RETRY, "... until then");
    is_int(secure_breaker_record(t, 4, u, 1, 15 + 2 * RETRY, LIMIT, RETRY), SECURE_BREAKER_ALLOW,
           "a success of the next try closes it");
    is_int(secure_breaker_check(t, 4, u, 15 + 2 * RETRY, 0, NULL), SECURE_BREAKER_ALLOW, "closed");

    /* half-open with a probe window: exactly one caller goes, the others wait for its outcome */
    secure_breaker_record(t, 4, u, 0, 200, LIMIT, RETRY);
    secure_breaker_record(t, 4, u, 0, 200, LIMIT, RETRY);
    secure_breaker_record(t, 4, u, 0, 200, LIMIT, RETRY);
    is_int(secure_breaker_check(t, 4, u, 200 + RETRY, 4, &until), SECURE_BREAKER_ALLOW,
           "half-open: the first caller is the probe");
    is_int(secure_breaker_check(t, 4, u, 200 + RETRY, 4, &until), SECURE_BREAKER_PROBING,
           "... a second caller at the same time is held back");
    is_int(until, 200 + RETRY + 4, "... until the probe window ends");
    is_int(secure_breaker_check(t, 4, u, 203 + RETRY, 4, NULL), SECURE_BREAKER_PROBING, "... still within it");
    is_int(secure_breaker_check(t, 4, u, 204 + RETRY, 4, NULL), SECURE_BREAKER_ALLOW,
           "a probe that never reported is replaced after its window");
    is_int(secure_breaker_record(t, 4, u, 0, 205 + RETRY, LIMIT, RETRY), SECURE_BREAKER_OPEN,
           "the probe's failure opens the circuit again");
    is_int(secure_breaker_check(t, 4, u, 205 + 2 * RETRY, 4, NULL), SECURE_BREAKER_ALLOW, "next probe");
    is_int(secure_breaker_record(t, 4, u, 1, 205 + 2 * RETRY, LIMIT, RETRY), SECURE_BREAKER_ALLOW,
           "its success closes it");
    is_int(secure_breaker_check(t, 4, u, 205 + 2 * RETRY, 4, NULL), SECURE_BREAKER_ALLOW,
           "closed: everyone goes again");
    is_int(secure_breaker_check(t, 4, u, 205 + 2 * RETRY, 4, NULL), SECURE_BREAKER_ALLOW, "... and again");
}

static void test_eviction(void)
{
    static const char *const urls[] = { "http://a.example/", "http://b.example/", "http://c.example/",
                                        "http://d.example/", "http://e.example/", "http://f.example/" };
    secure_breaker_slot_t t[4];
    int i;

    memset(t, 0, sizeof(t));
    for (i = 0; i < 4; i++)   /* a..d: one failure each at t = 1..4, closed */
        secure_breaker_record(t, 4, urls[i], 0, 1 + i, LIMIT, RETRY);
    secure_breaker_check(t, 4, urls[0], 5, 0, NULL);   /* a used again: b is now the least recently used */
    is_int(secure_breaker_record(t, 4, urls[4], 0, 6, LIMIT, RETRY), SECURE_BREAKER_ALLOW,
           "a 5th failing URL in a full table of 4 is recorded");
    is_int(slot_of(t, 4, urls[1]), -1, "... by evicting the least recently used closed slot (b)");
    ok(slot_of(t, 4, urls[0]) >= 0 && slot_of(t, 4, urls[2]) >= 0 && slot_of(t, 4, urls[3]) >= 0
       && slot_of(t, 4, urls[4]) >= 0, "... a, c, d and e keep their slots");

    /* open circuits are never evicted */
    memset(t, 0, sizeof(t));
    for (i = 0; i < 4; i++)   /* a..d open at t = 100 until 100 + RETRY */
        is_int(secure_breaker_record(t, 4, urls[i], 0, 100, 1, RETRY), SECURE_BREAKER_OPEN,
               "%s opened (limit 1)", urls[i]);
    is_int(secure_breaker_record(t, 4, urls[4], 0, 100, LIMIT, RETRY), SECURE_BREAKER_FULL,
           "every slot open: the failure of a new URL cannot be recorded (FULL, for the caller to log)");
    is_int(slot_of(t, 4, urls[4]), -1, "... it got no slot");
    is_int(secure_breaker_check(t, 4, urls[5], 101, 0, NULL), SECURE_BREAKER_FULL,
           "... and a URL without a slot is not tried (FULL), not silently run without a breaker");
    is_int(secure_breaker_check(t, 4, urls[2], 101, 0, NULL), SECURE_BREAKER_OPEN, "the open circuits stay open");
    is_int(secure_breaker_check(t, 4, urls[4], 100 + RETRY, 0, NULL), SECURE_BREAKER_ALLOW,
           "once their retry time passed the circuits are closed (half-open): a new URL may be tried");
    is_int(secure_breaker_record(t, 4, urls[4], 0, 100 + RETRY, LIMIT, RETRY), SECURE_BREAKER_ALLOW,
           "... and its failure is recorded");
    ok(slot_of(t, 4, urls[4]) >= 0 && slot_of(t, 4, urls[0]) == -1 && slot_of(t, 4, urls[2]) >= 0,
       "... in the slot of the least recently used one (a; c was looked up since)");
    is_int(secure_breaker_record(t, 4, urls[3], 1, 101 + RETRY, LIMIT, RETRY), SECURE_BREAKER_ALLOW,
           "a success is recorded");
    is_int(slot_of(t, 4, urls[3]), -1, "... and frees d's slot");
    is_int(secure_breaker_check(t, 0, urls[0], 1, 0, NULL), SECURE_BREAKER_FULL,
           "a table of 0 slots tracks nothing: FULL");
}

void test_breaker(void)
{
    test_keying();
    test_states();
    test_eviction();
}
