/* libFuzzer target for secure_denylist: the parser, then lookups against what it parsed.
 * Sources: secure_denylist.c
 *
 * Each input is parsed as a SecureDenyList file three ways: as given; with the allocation numbered by its
 * first byte made to fail (the parse must then fail as a whole or give exactly the same list: never a partial
 * one); and, built from the input, a one-line `serial <hex> <dn>` file whose entry must then match a
 * certificate with that serial and issuer DN (the DN may be any length up to the line limit and hold '#').
 * Lookups with fields missing must never answer NOT_LISTED where a full lookup answers LISTED. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secure_denylist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

typedef struct {
    unsigned bad, last;
} bad_t;

static void on_bad(void *baton, unsigned line, const char *why)
{
    bad_t *b = baton;

    check(why != NULL && *why != '\0');
    check(line > b->last);                    /* reported once each, in order */
    b->last = line;
    b->bad++;
}

static long fail_at, alloc_no;

static void *failing_realloc(void *p, size_t n)
{
    if (++alloc_no == fail_at)
        return NULL;
    return realloc(p, n);
}

/* Lookups of a certificate built from the input; returns the full answer. */
static secure_denylist_result_t lookups(const secure_denylist_t *dl, const uint8_t *data, size_t size)
{
    unsigned char sha[32] = { 0 };
    char serial[24], dn1[128];
    const char *dns[2];
    secure_denylist_cert_t c;
    secure_denylist_result_t full, part;
    unsigned line = 0, pline = 0;
    size_t i;

    memcpy(sha, data, size < 32 ? size : 32);
    snprintf(serial, sizeof(serial), "%02X%02X", size > 32 ? data[32] : 0, size > 33 ? data[33] : 1);
    for (i = 0; i + 1 < sizeof(dn1) && 34 + i < size && data[34 + i] != 0; i++)
        dn1[i] = (char)data[34 + i];
    dn1[i] = '\0';
    dns[0] = dn1;
    dns[1] = "CN=x";
    memset(&c, 0, sizeof(c));
    c.sha256 = sha;
    c.serial_hex = serial;
    c.issuer_hash = size > 4 ? (unsigned long)data[1] << 24 | (unsigned long)data[2] << 16 | data[3] << 8 | data[4] : 0;
    c.has_issuer_hash = 1;
    c.issuer_dns = dns;
    c.n_issuer_dns = 2;
    full = secure_denylist_check(dl, &c, &line);
    check(full != SECURE_DENYLIST_UNDECIDED);             /* everything was given */
    check((full == SECURE_DENYLIST_LISTED) == (line != 0));
    /* the same certificate with one field missing at a time: never "not listed" where it is listed */
    for (i = 0; i < 4; i++) {
        secure_denylist_cert_t m = c;
        const char *none[2] = { NULL, NULL };
        if (i == 0) m.sha256 = NULL;
        if (i == 1) m.serial_hex = NULL;
        if (i == 2) m.has_issuer_hash = 0;
        if (i == 3) m.issuer_dns = none;
        part = secure_denylist_check(dl, &m, &pline);
        if (full == SECURE_DENYLIST_LISTED)
            check(part != SECURE_DENYLIST_NOT_LISTED);
        if (part == SECURE_DENYLIST_LISTED)
            check(full == SECURE_DENYLIST_LISTED);
    }
    return full;
}

/* `serial 1a2b <dn>` with dn from the input: when accepted, the entry matches that DN. */
static void round_trip(const uint8_t *data, size_t size)
{
    static char text[SECURE_DENYLIST_MAX_LINE + 1];
    const char *dns[1];
    char *dn;
    secure_denylist_cert_t c;
    secure_denylist_t *dl;
    bad_t bad = { 0, 0 };
    unsigned line = 0;
    size_t i, n = 0, w;

    memcpy(text, "serial 1a2b ", 12);
    dn = text + 12;
    for (i = 0; i < size && n + 13 < sizeof(text); i++)
        if (data[i] != '\n' && data[i] != '\0' && data[i] != '\r')
            dn[n++] = (char)data[i];
    dn[n] = '\0';
    dl = secure_denylist_parse(text, 12 + n, on_bad, &bad);
    check(dl != NULL);
    if (bad.bad == 0 && secure_denylist_count(dl) == 1) {
        while (*dn == ' ' || *dn == '\t' || *dn == '\v' || *dn == '\f')
            dn++;
        w = strcspn(dn, " \t\v\f");
        /* an 8-hex-digit first word is an issuer-name hash, "issuer=" a prefix: not a DN to compare */
        if (strncasecmp(dn, "issuer=", 7) != 0 && !(w == 8 && strspn(dn, "0123456789abcdefABCDEF") >= 8)) {
            dns[0] = dn;
            memset(&c, 0, sizeof(c));
            c.serial_hex = "00001A2B";
            c.has_issuer_hash = 1;
            c.issuer_dns = dns;
            c.n_issuer_dns = 1;
            check(secure_denylist_check(dl, &c, &line) == SECURE_DENYLIST_LISTED && line == 1);
        }
    }
    secure_denylist_free(dl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    secure_denylist_t *dl, *again;
    bad_t bad = { 0, 0 }, bad2 = { 0, 0 };
    char canon[64];

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);                       /* exactly sized: ASan sees any read past the end */
    dl = secure_denylist_parse(copy, size, on_bad, &bad);
    check(dl != NULL);
    lookups(dl, data, size);

    if (size > 0 && data[0] != 0) {
        fail_at = data[0];
        alloc_no = 0;
        secure_denylist_realloc = failing_realloc;
        again = secure_denylist_parse(copy, size, on_bad, &bad2);
        secure_denylist_realloc = realloc;
        if (again != NULL) {
            check(secure_denylist_count(again) == secure_denylist_count(dl));
            check(secure_denylist_count_sha256(again) == secure_denylist_count_sha256(dl));
            check(bad2.bad == bad.bad);
        }
        else
            check(alloc_no >= fail_at);             /* NULL only because an allocation failed */
        secure_denylist_free(again);
    }
    secure_denylist_free(dl);

    round_trip(data, size);
    if (size < sizeof(canon)) {
        char *s = malloc(size + 1);
        if (s != NULL) {
            memcpy(s, data, size);
            s[size] = '\0';
            if (secure_denylist_dn_canon(s, canon, sizeof(canon)) != NULL)
                check(strlen(canon) <= strlen(s));
            free(s);
        }
    }
    free(copy);
    return 0;
}
