/* secure_denylist — parser and matcher for SecureDenyList files (pure C, see the header). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secure_denylist.h"

#define SHA256_LEN 32
#define SERIAL_MAX_HEX 64          /* RFC 5280 allows 20 octets; leave room for sloppy encoders */

typedef struct {
    unsigned char digest[SHA256_LEN];
    unsigned line;
} dl_sha_t;

typedef struct {
    char serial[SERIAL_MAX_HEX + 1]; /* canonical: lower-case hex, no leading zeros ("0" for zero) */
    int by_hash;                     /* 1: issuer-name hash, 0: DN */
    unsigned long hash;
    char *dn;                        /* canonical DN when !by_hash */
    unsigned line;
} dl_serial_t;

struct secure_denylist {
    dl_sha_t *sha;
    size_t n_sha, cap_sha;
    dl_serial_t *ser;
    size_t n_ser, cap_ser;
};

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower((unsigned char)ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Hex digits with optional ':' separators and an optional 0x prefix into canonical serial form. */
static int canon_serial(const char *in, size_t len, char *out)
{
    size_t i = 0, n = 0;
    int seen_digit = 0;

    if (len >= 2 && in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
        i = 2;
    for (; i < len; i++) {
        if (in[i] == ':')
            continue;
        if (hexval(in[i]) < 0)
            return -1;
        seen_digit = 1;
        if (n == 0 && in[i] == '0')
            continue;
        if (n >= SERIAL_MAX_HEX)
            return -1;
        out[n++] = (char)tolower((unsigned char)in[i]);
    }
    if (!seen_digit)
        return -1;
    if (n == 0)
        out[n++] = '0';
    out[n] = '\0';
    return 0;
}

char *secure_denylist_dn_canon(const char *dn, char *out, size_t outlen)
{
    size_t n = 0;
    const char *p = dn;

    if (outlen == 0)
        return NULL;
    while (*p && isspace((unsigned char)*p))
        p++;
    for (; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (isspace(ch)) {
            /* keep a blank only inside a value: not next to a separator, not at the end */
            const char *q = p;
            while (*q && isspace((unsigned char)*q))
                q++;
            if (*q == '\0' || strchr("=,/+;", *q) || (n > 0 && strchr("=,/+;", out[n - 1])))
                continue;
            ch = ' ';
        }
        if (n + 1 >= outlen)
            return NULL;
        out[n++] = (char)tolower(ch);
    }
    out[n] = '\0';
    return out;
}

static int cmp_sha(const void *a, const void *b)
{
    return memcmp(((const dl_sha_t *)a)->digest, ((const dl_sha_t *)b)->digest, SHA256_LEN);
}

static int cmp_serial(const void *a, const void *b)
{
    const dl_serial_t *x = a, *y = b;
    int c = strcmp(x->serial, y->serial);
    /* equal serials stay in file order, so the first matching line is the one reported */
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

static void report(secure_denylist_report_fn fn, void *baton, unsigned line, const char *why)
{
    if (fn != NULL)
        fn(baton, line, why);
}

/* Next whitespace-delimited word of [*p, end): sets *w and *wlen, advances *p. 0 when none. */
static int next_word(const char **p, const char *end, const char **w, size_t *wlen)
{
    const char *s = *p;

    while (s < end && isspace((unsigned char)*s))
        s++;
    if (s == end)
        return 0;
    *w = s;
    while (s < end && !isspace((unsigned char)*s))
        s++;
    *wlen = (size_t)(s - *w);
    *p = s;
    return 1;
}

static int parse_sha(secure_denylist_t *dl, const char *w, size_t wlen, unsigned line, const char **why)
{
    dl_sha_t e;
    size_t i, n = 0;
    int hi = -1;

    for (i = 0; i < wlen; i++) {
        int v;
        if (w[i] == ':')
            continue;
        if ((v = hexval(w[i])) < 0) {
            *why = "the fingerprint has a character that is not a hex digit";
            return -1;
        }
        if (n >= SHA256_LEN) {
            *why = "the fingerprint is longer than 32 bytes (64 hex digits)";
            return -1;
        }
        if (hi < 0)
            hi = v;
        else {
            e.digest[n++] = (unsigned char)((hi << 4) | v);
            hi = -1;
        }
    }
    if (n != SHA256_LEN || hi >= 0) {
        *why = "the fingerprint must be 64 hex digits (SHA-256 of the certificate's DER)";
        return -1;
    }
    e.line = line;
    if (dl->n_sha == dl->cap_sha) {
        size_t cap = dl->cap_sha ? dl->cap_sha * 2 : 16;
        dl_sha_t *nw = realloc(dl->sha, cap * sizeof(*nw));
        if (nw == NULL) {
            *why = "out of memory";
            return -1;
        }
        dl->sha = nw;
        dl->cap_sha = cap;
    }
    dl->sha[dl->n_sha++] = e;
    return 0;
}

static int is_name_hash(const char *s, size_t len)
{
    size_t i;

    if (len != 8)
        return 0;
    for (i = 0; i < len; i++)
        if (hexval(s[i]) < 0)
            return 0;
    return 1;
}

static int parse_serial(secure_denylist_t *dl, const char *rest, const char *end, unsigned line,
                        const char **why)
{
    dl_serial_t e;
    const char *w, *p = rest;
    size_t wlen, ilen;

    memset(&e, 0, sizeof(e));
    if (!next_word(&p, end, &w, &wlen) || canon_serial(w, wlen, e.serial) != 0) {
        *why = "'serial' needs a hex serial number (up to 64 hex digits) then the issuer";
        return -1;
    }
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    if (end - p > 7 && !strncasecmp(p, "issuer=", 7))
        p += 7;
    ilen = (size_t)(end - p);
    if (ilen == 0) {
        *why = "'serial' needs the issuer after the serial number (a DN or the 8-hex-digit issuer-name hash)";
        return -1;
    }
    e.line = line;
    if (is_name_hash(p, ilen)) {
        e.by_hash = 1;
        e.hash = strtoul(p, NULL, 16);
    }
    else {
        char *raw;
        if (memchr(p, '=', ilen) == NULL) {
            *why = "the issuer is neither a DN (with attribute=value pairs) nor an 8-hex-digit issuer-name hash";
            return -1;
        }
        raw = malloc(ilen + 1);
        e.dn = malloc(ilen + 1);
        if (raw == NULL || e.dn == NULL) {
            free(raw);
            free(e.dn);
            *why = "out of memory";
            return -1;
        }
        memcpy(raw, p, ilen);
        raw[ilen] = '\0';
        secure_denylist_dn_canon(raw, e.dn, ilen + 1);   /* never longer than its input */
        free(raw);
    }
    if (dl->n_ser == dl->cap_ser) {
        size_t cap = dl->cap_ser ? dl->cap_ser * 2 : 16;
        dl_serial_t *nw = realloc(dl->ser, cap * sizeof(*nw));
        if (nw == NULL) {
            free(e.dn);
            *why = "out of memory";
            return -1;
        }
        dl->ser = nw;
        dl->cap_ser = cap;
    }
    dl->ser[dl->n_ser++] = e;
    return 0;
}

static void parse_line(secure_denylist_t *dl, const char *s, const char *end, unsigned line,
                       secure_denylist_report_fn fn, void *baton)
{
    const char *w, *p = s, *hash;
    size_t wlen;
    const char *why = NULL;

    if ((hash = memchr(s, '#', (size_t)(end - s))) != NULL)
        end = hash;
    if (!next_word(&p, end, &w, &wlen))
        return;                                     /* blank or comment */
    if (wlen == 6 && !strncasecmp(w, "sha256", 6)) {
        const char *fp;
        size_t fplen;
        if (!next_word(&p, end, &fp, &fplen))
            why = "'sha256' needs the certificate's SHA-256 fingerprint in hex";
        else if (next_word(&p, end, &w, &wlen))
            why = "unexpected text after the fingerprint";
        else
            parse_sha(dl, fp, fplen, line, &why);
    }
    else if (wlen == 6 && !strncasecmp(w, "serial", 6))
        parse_serial(dl, p, end, line, &why);
    else
        why = "unknown entry type; each line is 'sha256 <hex>' or 'serial <hex> <issuer>'";
    if (why != NULL)
        report(fn, baton, line, why);
}

secure_denylist_t *secure_denylist_parse(const char *text, size_t len, secure_denylist_report_fn fn,
                                         void *baton)
{
    secure_denylist_t *dl = calloc(1, sizeof(*dl));
    const char *p = text, *end = text + len;
    unsigned line = 0;

    if (dl == NULL)
        return NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        line++;
        if (memchr(p, '\0', (size_t)(eol - p)) != NULL)
            report(fn, baton, line, "the line contains a NUL byte");
        else if ((size_t)(eol - p) > SECURE_DENYLIST_MAX_LINE)
            report(fn, baton, line, "the line is longer than 4096 bytes");
        else
            parse_line(dl, p, (eol > p && eol[-1] == '\r') ? eol - 1 : eol, line, fn, baton);
        p = nl ? nl + 1 : end;
    }
    if (dl->n_sha > 1)
        qsort(dl->sha, dl->n_sha, sizeof(*dl->sha), cmp_sha);
    if (dl->n_ser > 1)
        qsort(dl->ser, dl->n_ser, sizeof(*dl->ser), cmp_serial);
    return dl;
}

void secure_denylist_free(secure_denylist_t *dl)
{
    size_t i;

    if (dl == NULL)
        return;
    for (i = 0; i < dl->n_ser; i++)
        free(dl->ser[i].dn);
    free(dl->ser);
    free(dl->sha);
    free(dl);
}

size_t secure_denylist_count(const secure_denylist_t *dl)
{
    return dl ? dl->n_sha + dl->n_ser : 0;
}

static int serial_issuer_matches(const dl_serial_t *e, const secure_denylist_cert_t *cert)
{
    char buf[1024];
    size_t i;

    if (e->by_hash)
        return e->hash == cert->issuer_hash;
    for (i = 0; i < cert->n_issuer_dns; i++)
        if (cert->issuer_dns[i] != NULL
            && secure_denylist_dn_canon(cert->issuer_dns[i], buf, sizeof(buf)) != NULL
            && strcmp(buf, e->dn) == 0)
            return 1;
    return 0;
}

unsigned secure_denylist_match(const secure_denylist_t *dl, const secure_denylist_cert_t *cert)
{
    unsigned best = 0;

    if (dl == NULL || cert == NULL)
        return 0;
    if (cert->sha256 != NULL && dl->n_sha > 0) {
        dl_sha_t key;
        const dl_sha_t *hit;
        memcpy(key.digest, cert->sha256, SHA256_LEN);
        if ((hit = bsearch(&key, dl->sha, dl->n_sha, sizeof(key), cmp_sha)) != NULL) {
            /* duplicates: report the earliest line */
            while (hit > dl->sha && memcmp(hit[-1].digest, key.digest, SHA256_LEN) == 0)
                hit--;
            best = hit->line;
        }
    }
    if (cert->serial_hex != NULL && dl->n_ser > 0) {
        char serial[SERIAL_MAX_HEX + 1];
        size_t lo = 0, hi = dl->n_ser;
        if (canon_serial(cert->serial_hex, strlen(cert->serial_hex), serial) == 0) {
            while (lo < hi) {                       /* first entry with this serial */
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(dl->ser[mid].serial, serial) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (; lo < dl->n_ser && strcmp(dl->ser[lo].serial, serial) == 0; lo++)
                if (serial_issuer_matches(&dl->ser[lo], cert)) {
                    if (best == 0 || dl->ser[lo].line < best)
                        best = dl->ser[lo].line;
                    break;
                }
        }
    }
    return best;
}
