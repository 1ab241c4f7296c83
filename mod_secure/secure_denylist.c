/* secure_denylist — parser and matcher for SecureDenyList files (pure C, see the header). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secure_denylist.h"

#define SHA256_LEN 32
#define SERIAL_MAX_HEX 64          /* RFC 5280 allows 20 octets; leave room for sloppy encoders */
#define DL_NOMEM (-2)              /* parse result: out of memory, the whole parse fails */

void *(*secure_denylist_realloc)(void *ptr, size_t size) = realloc;

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

/* ---- canonical DN form, produced one byte at a time ------------------------------------------------------
 * Streaming keeps matching free of buffers and so of length limits: a certificate's DN of any length is
 * compared against an entry without a copy. */

typedef struct {
    const char *p;
    int prev;              /* last byte produced, 0 before the first */
    int pending;           /* second byte of an escape pair still to produce, or -1 */
} dn_canon_t;

static int is_blank(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

static int ascii_fold(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

static void canon_init(dn_canon_t *c, const char *dn)
{
    c->p = dn;
    c->prev = 0;
    c->pending = -1;
    while (is_blank((unsigned char)*c->p))
        c->p++;
}

/* The next byte of the canonical form, 0 at its end. */
static int canon_next(dn_canon_t *c)
{
    for (;;) {
        int ch;
        if (c->pending >= 0) {
            ch = c->pending;
            c->pending = -1;
            return c->prev = ch;
        }
        ch = (unsigned char)*c->p;
        if (ch == '\0')
            return 0;
        c->p++;
        if (is_blank(ch)) {
            /* keep one blank inside a value: not next to a separator, not at the end */
            while (is_blank((unsigned char)*c->p))
                c->p++;
            if (*c->p == '\0' || strchr("=,/+;", *c->p) != NULL || (c->prev != 0 && strchr("=,/+; ", c->prev)))
                continue;
            return c->prev = ' ';
        }
        if (ch == '\\' && *c->p != '\0') {
            int esc = (unsigned char)*c->p++;
            /* RFC 2253 needs '#' escaped only at a value's start; "\#" elsewhere is the same as '#' */
            if (esc == '#' && c->prev != '=')
                return c->prev = '#';
            c->pending = ascii_fold(esc);
            return c->prev = '\\';
        }
        return c->prev = ascii_fold(ch);
    }
}

char *secure_denylist_dn_canon(const char *dn, char *out, size_t outlen)
{
    dn_canon_t c;
    size_t n = 0;
    int ch;

    if (outlen == 0)
        return NULL;
    canon_init(&c, dn);
    while ((ch = canon_next(&c)) != 0) {
        if (n + 1 >= outlen)
            return NULL;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    return out;
}

/* Whether the DN raw, canonicalised, equals canon (already canonical). */
static int dn_matches(const char *raw, const char *canon)
{
    dn_canon_t c;
    int ch;

    canon_init(&c, raw);
    do {
        ch = canon_next(&c);
        if (ch != (unsigned char)*canon++)
            return 0;
    } while (ch != 0);
    return 1;
}

/* ---- parsing ------------------------------------------------------------------------------------------- */

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

    while (s < end && is_blank((unsigned char)*s))
        s++;
    if (s == end)
        return 0;
    *w = s;
    while (s < end && !is_blank((unsigned char)*s))
        s++;
    *wlen = (size_t)(s - *w);
    *p = s;
    return 1;
}

/* Nothing but blanks, or a comment, from p to end. */
static int rest_is_comment(const char *p, const char *end)
{
    while (p < end && is_blank((unsigned char)*p))
        p++;
    return p == end || *p == '#';
}

/* Grows an array of elements of size sz to hold one more; 0, or DL_NOMEM. */
static int grow(void **arr, size_t n, size_t *cap, size_t sz)
{
    size_t ncap;
    void *nw;

    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    if (ncap > ((size_t)-1) / sz || (nw = secure_denylist_realloc(*arr, ncap * sz)) == NULL)
        return DL_NOMEM;
    *arr = nw;
    *cap = ncap;
    return 0;
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
    if (grow((void **)&dl->sha, dl->n_sha, &dl->cap_sha, sizeof(*dl->sha)) != 0)
        return DL_NOMEM;
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

/* end with trailing blanks removed, but not a blank escaped by a backslash ("CN=x\\ ", RFC 2253's way of
 * writing a value that ends in a space). */
static const char *trim_end(const char *p, const char *end)
{
    while (end > p && is_blank((unsigned char)end[-1])) {
        const char *b = end - 1;
        while (b > p && b[-1] == '\\')
            b--;
        if ((end - 1 - b) % 2 == 1)
            break;
        end--;
    }
    return end;
}

/* A '#' right after a blank: in the DN it could be a comment or part of a value ("O=Team #1"). */
static int has_blank_hash(const char *p, size_t len)
{
    size_t i;

    for (i = 1; i < len; i++)
        if (p[i] == '#' && is_blank((unsigned char)p[i - 1]))
            return 1;
    return 0;
}

/* `serial <hex> <issuer>`: the issuer is an 8-hex-digit name hash (a comment may follow) or a DN, which runs
 * to the end of the line, '#' included (see doc/revoke.md). */
static int parse_serial(secure_denylist_t *dl, const char *rest, const char *end, unsigned line,
                        const char **why)
{
    dl_serial_t e;
    const char *w, *p = rest, *q;
    size_t wlen, ilen;
    char *raw;

    memset(&e, 0, sizeof(e));
    if (!next_word(&p, end, &w, &wlen) || canon_serial(w, wlen, e.serial) != 0) {
        *why = "'serial' needs a hex serial number (up to 64 hex digits) then the issuer";
        return -1;
    }
    while (p < end && is_blank((unsigned char)*p))
        p++;
    end = trim_end(p, end);
    if (end - p > 7 && !strncasecmp(p, "issuer=", 7))
        p += 7;
    ilen = (size_t)(end - p);
    if (ilen == 0 || *p == '#') {
        *why = "'serial' needs the issuer after the serial number (a DN or the 8-hex-digit issuer-name hash)";
        return -1;
    }
    e.line = line;
    q = p;
    if (next_word(&q, end, &w, &wlen) && is_name_hash(w, wlen) && rest_is_comment(q, end)) {
        e.by_hash = 1;
        e.hash = strtoul(w, NULL, 16);
    }
    else if (memchr(p, '=', ilen) == NULL) {
        *why = "the issuer is neither a DN (with attribute=value pairs) nor an 8-hex-digit issuer-name hash";
        return -1;
    }
    else if (has_blank_hash(p, ilen)) {
        *why = "a '#' after a blank in the issuer DN could start a comment or belong to the DN; write a '#' "
               "that is part of the DN as '\\#' and put comments on a line of their own";
        return -1;
    }
    else {
        if ((raw = secure_denylist_realloc(NULL, ilen + 1)) == NULL
            || (e.dn = secure_denylist_realloc(NULL, ilen + 1)) == NULL) {
            free(raw);
            return DL_NOMEM;
        }
        memcpy(raw, p, ilen);
        raw[ilen] = '\0';
        secure_denylist_dn_canon(raw, e.dn, ilen + 1);   /* never longer than its input */
        free(raw);
        if (e.dn[0] == '\0') {
            free(e.dn);
            *why = "the issuer DN is empty";
            return -1;
        }
    }
    if (grow((void **)&dl->ser, dl->n_ser, &dl->cap_ser, sizeof(*dl->ser)) != 0) {
        free(e.dn);
        return DL_NOMEM;
    }
    dl->ser[dl->n_ser++] = e;
    return 0;
}

/* 0 (kept, blank or reported as bad), or DL_NOMEM. */
static int parse_line(secure_denylist_t *dl, const char *s, const char *end, unsigned line,
                      secure_denylist_report_fn fn, void *baton)
{
    const char *w, *p = s;
    size_t wlen;
    const char *why = NULL;
    int rc = 0;

    if (!next_word(&p, end, &w, &wlen) || w[0] == '#')
        return 0;                                   /* blank or comment */
    if (wlen == 6 && !strncasecmp(w, "sha256", 6)) {
        const char *fp;
        size_t fplen;
        if (!next_word(&p, end, &fp, &fplen) || fp[0] == '#')
            why = "'sha256' needs the certificate's SHA-256 fingerprint in hex";
        else if (!rest_is_comment(p, end))
            why = "unexpected text after the fingerprint (a comment starts with '#')";
        else
            rc = parse_sha(dl, fp, fplen, line, &why);
    }
    else if (wlen == 6 && !strncasecmp(w, "serial", 6))
        rc = parse_serial(dl, p, end, line, &why);
    else
        why = "unknown entry type; each line is 'sha256 <hex>' or 'serial <hex> <issuer>'";
    if (rc == DL_NOMEM)
        return DL_NOMEM;
    if (why != NULL)
        report(fn, baton, line, why);
    return 0;
}

secure_denylist_t *secure_denylist_parse(const char *text, size_t len, secure_denylist_report_fn fn,
                                         void *baton)
{
    secure_denylist_t *dl = secure_denylist_realloc(NULL, sizeof(*dl));
    const char *p = text, *end = text + len;
    unsigned line = 0;

    if (dl == NULL)
        return NULL;
    memset(dl, 0, sizeof(*dl));
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        line++;
        if (memchr(p, '\0', (size_t)(eol - p)) != NULL)
            report(fn, baton, line, "the line contains a NUL byte");
        else if ((size_t)(eol - p) > SECURE_DENYLIST_MAX_LINE)
            report(fn, baton, line, "the line is longer than 4096 bytes");
        else if (parse_line(dl, p, (eol > p && eol[-1] == '\r') ? eol - 1 : eol, line, fn, baton) == DL_NOMEM) {
            secure_denylist_free(dl);               /* all or nothing: never a partial list */
            return NULL;
        }
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

size_t secure_denylist_count_sha256(const secure_denylist_t *dl)
{
    return dl ? dl->n_sha : 0;
}

/* ---- matching ------------------------------------------------------------------------------------------ */

/* 1: the entry's issuer is cert's; 0: it is not; -1: cannot tell (what it needs was not computed). */
static int serial_issuer_matches(const dl_serial_t *e, const secure_denylist_cert_t *cert)
{
    size_t i;
    int missing = 0;

    if (e->by_hash)
        return cert->has_issuer_hash ? e->hash == cert->issuer_hash : -1;
    if (cert->n_issuer_dns == 0)
        return -1;
    for (i = 0; i < cert->n_issuer_dns; i++) {
        if (cert->issuer_dns[i] == NULL)
            missing = 1;
        else if (dn_matches(cert->issuer_dns[i], e->dn))
            return 1;
    }
    return missing ? -1 : 0;
}

secure_denylist_result_t secure_denylist_check(const secure_denylist_t *dl, const secure_denylist_cert_t *cert,
                                               unsigned *line)
{
    unsigned best = 0;
    int undecided = 0;

    *line = 0;
    if (dl == NULL)
        return SECURE_DENYLIST_NOT_LISTED;
    if (dl->n_sha > 0) {
        if (cert->sha256 == NULL)
            undecided = 1;
        else {
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
    }
    if (dl->n_ser > 0) {
        char serial[SERIAL_MAX_HEX + 1];
        size_t lo = 0, hi = dl->n_ser;
        if (cert->serial_hex == NULL)
            undecided = 1;
        /* a serial that is not plain hex of at most 64 digits (negative, longer) cannot be in the file */
        else if (canon_serial(cert->serial_hex, strlen(cert->serial_hex), serial) == 0) {
            while (lo < hi) {                       /* first entry with this serial */
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(dl->ser[mid].serial, serial) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            /* in file order: the first entry that matches is the earliest line with this serial */
            for (; lo < dl->n_ser && strcmp(dl->ser[lo].serial, serial) == 0; lo++) {
                int m = serial_issuer_matches(&dl->ser[lo], cert);
                if (m < 0)
                    undecided = 1;
                else if (m > 0) {
                    if (best == 0 || dl->ser[lo].line < best)
                        best = dl->ser[lo].line;
                    break;
                }
            }
        }
    }
    if (best != 0) {
        *line = best;
        return SECURE_DENYLIST_LISTED;
    }
    return undecided ? SECURE_DENYLIST_UNDECIDED : SECURE_DENYLIST_NOT_LISTED;
}
