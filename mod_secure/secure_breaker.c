/* secure_breaker — the circuit breaker table (see the header). Linear scans: the table is small and is
 * consulted only before a network exchange, which costs far more. */
#define _POSIX_C_SOURCE 200809L     /* strnlen */
#include <string.h>

#include "secure_breaker.h"

static int url_usable(const char *url)
{
    return url != NULL && *url != '\0' && strnlen(url, SECURE_BREAKER_URL_MAX) < SECURE_BREAKER_URL_MAX;
}

static secure_breaker_slot_t *find(secure_breaker_slot_t *table, size_t n, const char *url)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (table[i].url[0] != '\0' && strcmp(table[i].url, url) == 0)
            return &table[i];
    return NULL;
}

static int is_open(const secure_breaker_slot_t *slot, int64_t now)
{
    return slot->open_until != 0 && slot->open_until > now;
}

/* A free slot, else the least recently used closed one, else NULL (every slot holds an open circuit). */
static secure_breaker_slot_t *victim(secure_breaker_slot_t *table, size_t n, int64_t now)
{
    secure_breaker_slot_t *lru = NULL;
    size_t i;

    for (i = 0; i < n; i++) {
        if (table[i].url[0] == '\0')
            return &table[i];
        if (!is_open(&table[i], now) && (lru == NULL || table[i].last_used < lru->last_used))
            lru = &table[i];
    }
    return lru;
}

secure_breaker_state_t secure_breaker_check(secure_breaker_slot_t *table, size_t n, const char *url,
                                            int64_t now, int64_t probe_for, int64_t *until)
{
    secure_breaker_slot_t *slot;

    if (!url_usable(url))
        return SECURE_BREAKER_BAD_URL;
    if ((slot = find(table, n, url)) == NULL)
        return victim(table, n, now) != NULL ? SECURE_BREAKER_ALLOW : SECURE_BREAKER_FULL;
    slot->last_used = now;
    if (is_open(slot, now)) {
        if (until != NULL)
            *until = slot->open_until;
        return SECURE_BREAKER_OPEN;
    }
    if (slot->open_until != 0) {                     /* half-open: one probe at a time */
        if (slot->probe_until > now) {
            if (until != NULL)
                *until = slot->probe_until;
            return SECURE_BREAKER_PROBING;
        }
        slot->probe_until = now + (probe_for > 0 ? probe_for : 0);
    }
    return SECURE_BREAKER_ALLOW;
}

secure_breaker_state_t secure_breaker_record(secure_breaker_slot_t *table, size_t n, const char *url, int ok,
                                             int64_t now, uint32_t limit, int64_t retry)
{
    secure_breaker_slot_t *slot;
    int half_open;

    if (!url_usable(url))
        return SECURE_BREAKER_BAD_URL;
    slot = find(table, n, url);
    if (ok) {
        if (slot != NULL)
            memset(slot, 0, sizeof(*slot));
        return SECURE_BREAKER_ALLOW;
    }
    if (slot == NULL) {
        if ((slot = victim(table, n, now)) == NULL)
            return SECURE_BREAKER_FULL;
        memset(slot, 0, sizeof(*slot));
        memcpy(slot->url, url, strlen(url) + 1);
    }
    slot->last_used = now;
    half_open = slot->open_until != 0 && !is_open(slot, now);
    if (slot->failures < UINT32_MAX)
        slot->failures++;
    slot->probe_until = 0;
    if (half_open || slot->failures >= (limit > 0 ? limit : 1)) {
        slot->open_until = now + (retry > 0 ? retry : 1);
        return SECURE_BREAKER_OPEN;
    }
    return SECURE_BREAKER_ALLOW;
}
