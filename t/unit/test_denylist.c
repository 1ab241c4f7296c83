/* Unit tests of secure_denylist: the file format (entries, comments, bad lines with their numbers, '#' inside
 * a DN), canonical serial and DN forms, matching by fingerprint, serial + DN (of any length) and serial + name
 * hash, the UNDECIDED answer when the caller could not compute something, and all-or-nothing parsing when
 * memory runs out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secure_denylist.h"
#include "tap.h"

void test_denylist(void);

typedef struct {
    unsigned lines[16];
    const char *why[16];
    int n;
} bad_t;

static void collect(void *baton, unsigned line, const char *why)
{
    bad_t *b = baton;
    if (b->n < 16) {
        b->lines[b->n] = line;
        b->why[b->n++] = why;
    }
}

static secure_denylist_t *parse(const char *text, bad_t *b)
{
    memset(b, 0, sizeof(*b));
    return secure_denylist_parse(text, strlen(text), collect, b);
}

/* Line of the entry listing cert, 0 when not listed, -1 when UNDECIDED. */
static long lookup(const secure_denylist_t *dl, const secure_denylist_cert_t *c)
{
    unsigned line = 99;
    secure_denylist_result_t r = secure_denylist_check(dl, c, &line);

    if (r == SECURE_DENYLIST_UNDECIDED)
        return line == 0 ? -1 : -2;
    if (r == SECURE_DENYLIST_NOT_LISTED)
        return line == 0 ? 0 : -3;
    return line;
}

static void cert_dn(secure_denylist_cert_t *c, const char *serial, const char *const *dns, size_t n)
{
    static const unsigned char unlisted[32] = { 0xee };

    memset(c, 0, sizeof(*c));
    c->sha256 = unlisted;
    c->serial_hex = serial;
    c->issuer_dns = dns;
    c->n_issuer_dns = n;
}

static void test_format(void)
{
    static const unsigned char fp[32] = {
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
    unsigned char other[32];
    const char *dn_rfc[] = { "CN=Test CA,O=Example,C=US" };
    const char *dn_oneline[] = { "C = US, O = Example, CN = Test CA" };
    const char *dn_legacy[] = { "/C=US/O=Example/CN=Test CA" };
    secure_denylist_cert_t c;
    secure_denylist_t *dl;
    bad_t bad;
    char buf[128];

    dl = parse("# comment only\n"
               "\n"
               "sha256 00112233445566778899AABBCCDDEEFF00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff  # trailing\n"
               "serial 0x00:0A issuer=C = US, O = Example, CN = Test CA\r\n"
               "serial 1f2e 9d3c0a7b\n"
               "sha256 0011\n"
               "serial zz CN=x\n"
               "serial 12\n"
               "serial 12 not-a-dn\n"
               "frobnicate 1\n"
               "sha256 " "0011223344556677889900112233445566778899001122334455667788990011 extra\n",
               &bad);
    ok(dl != NULL, "parse returns a list");
    is_int(secure_denylist_count(dl), 3, "three good entries kept");
    is_int(secure_denylist_count_sha256(dl), 1, "... one of them a fingerprint");
    is_int(bad.n, 6, "six bad lines reported");
    ok(bad.n == 6 && bad.lines[0] == 6 && bad.lines[1] == 7 && bad.lines[2] == 8 && bad.lines[3] == 9
       && bad.lines[4] == 10 && bad.lines[5] == 11, "... with their line numbers (6 to 11)");

    memset(&c, 0, sizeof(c));
    c.sha256 = fp;
    c.has_issuer_hash = 1;
    c.n_issuer_dns = 1;
    c.issuer_dns = dn_rfc;
    c.serial_hex = "77";
    is_int(lookup(dl, &c), 3, "fingerprint (colons, mixed case) matches line 3");
    memset(other, 0x5a, sizeof(other));
    c.sha256 = other;
    is_int(lookup(dl, &c), 0, "another fingerprint (serial, issuer known, no entry for them) is not listed");

    cert_dn(&c, "0A", dn_legacy, 1);
    c.sha256 = other;
    c.has_issuer_hash = 1;
    is_int(lookup(dl, &c), 0, "serial 0A + only the legacy '/C=US/...' spelling: no match (another syntax)");
    c.issuer_dns = dn_oneline;
    is_int(lookup(dl, &c), 4, "serial 0A + 'C = US, O = Example, CN = Test CA' spelling matches line 4");
    c.serial_hex = "a";
    is_int(lookup(dl, &c), 4, "... serial without leading zeros, lower case, too");
    c.issuer_dns = dn_rfc;
    is_int(lookup(dl, &c), 0, "the same serial under a differently written (reversed) DN does not match");
    c.serial_hex = "0B";
    c.issuer_dns = dn_oneline;
    is_int(lookup(dl, &c), 0, "another serial from the same issuer does not match");

    cert_dn(&c, "1F2E", dn_rfc, 1);
    c.sha256 = other;
    c.issuer_hash = 0x9d3c0a7bUL;
    c.has_issuer_hash = 1;
    is_int(lookup(dl, &c), 5, "serial + issuer-name hash matches line 5");
    c.issuer_hash = 0x9d3c0a7cUL;
    is_int(lookup(dl, &c), 0, "... not under another issuer hash");
    secure_denylist_free(dl);

    is_str(secure_denylist_dn_canon("  CN = A  B ,  O=X  ", buf, sizeof(buf)), "cn=a b,o=x",
           "DN canonical form: case folded, blanks around separators dropped, inner blanks kept");
    ok(secure_denylist_dn_canon("CN=abcdef", buf, 4) == NULL, "DN canonical form refuses a too small buffer");
    is_str(secure_denylist_dn_canon("O=Team \\#1,CN=\\#lead,OU=a\\\\#b", buf, sizeof(buf)),
           "o=team #1,cn=\\#lead,ou=a\\\\#b",
           "DN canonical form: '\\#' inside a value is '#', at a value's start it stays escaped, '\\\\#' is not an escape of '#'");

    {
        const char *trail[] = { "CN=x\\ ,O=y\\ " };          /* RFC 2253: values ending in a space */
        dl = parse("serial 5 CN=x\\ ,O=y\\  \t\n", &bad);
        cert_dn(&c, "5", trail, 1);
        c.has_issuer_hash = 1;
        is_int(lookup(dl, &c), 1, "a DN ending in an escaped space keeps it (only unescaped blanks are trimmed)");
        secure_denylist_free(dl);
    }

    dl = parse("", &bad);
    is_int(secure_denylist_count(dl), 0, "empty file: no entries");
    is_int(bad.n, 0, "... no bad lines");
    secure_denylist_free(dl);

    {
        static char big[SECURE_DENYLIST_MAX_LINE + 100];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        dl = parse(big, &bad);
        ok(bad.n == 1 && bad.lines[0] == 1 && secure_denylist_count(dl) == 0, "an over-long line is refused");
        secure_denylist_free(dl);
    }
    {
        const char nul[] = "sha256 00\0 11\nserial 1 CN=x\n";
        memset(&bad, 0, sizeof(bad));
        dl = secure_denylist_parse(nul, sizeof(nul) - 1, collect, &bad);
        ok(bad.n == 1 && bad.lines[0] == 1 && secure_denylist_count(dl) == 1,
           "a line with a NUL byte is refused, the next one kept");
        secure_denylist_free(dl);
    }
}

/* Finding 8: '#' inside an issuer DN either works or is reported; comments elsewhere still work. */
static void test_hash_sign(void)
{
    const char *ops[] = { "CN=ops#2,O=Example" };
    const char *team[] = { "CN=int,O=Team #1" };             /* openssl x509 -issuer -nameopt RFC2253 */
    const char *team_oneline[] = { "O = Team #1, CN = int" };
    const char *lead[] = { "CN=\\#lead,O=Example" };          /* RFC 2253 escapes a leading '#' */
    const char *lead_legacy[] = { "/O=Example/CN=#lead" };
    const char *plain[] = { "CN=x,O=Example" };
    secure_denylist_cert_t c;
    secure_denylist_t *dl;
    bad_t bad;

    dl = parse("   # an indented comment\n"
               "serial 01 CN=ops#2,O=Example\n"
               "serial 02 CN=int,O=Team #1\n"
               "serial 03 CN=int,O=Team \\#1\n"
               "serial 04 O = Team \\#1, CN = int\n"
               "serial 05 CN=\\#lead,O=Example\n"
               "serial 06 /O=Example/CN=#lead\n"
               "serial 07 9d3c0a7b   # by issuer hash, with a comment\n"
               "serial 08 CN=x,O=Example # an old-style trailing comment\n"
               "serial 09 # no issuer\n"
               "sha256 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff # fine\n"
               "sha256 00112233445566778899aabbccddeeff00112233445566778899aabbccddeefe#glued\n",
               &bad);
    is_int(secure_denylist_count(dl), 7, "'#' lines: seven entries kept");
    ok(bad.n == 4 && bad.lines[0] == 3 && bad.lines[1] == 9 && bad.lines[2] == 10 && bad.lines[3] == 12,
       "... lines 3, 9, 10 and 12 reported (got %d: %u %u %u %u)", bad.n, bad.lines[0], bad.lines[1],
       bad.lines[2], bad.lines[3]);
    ok(bad.n > 0 && strstr(bad.why[0], "'\\#'") != NULL,
       "... a '#' after a blank in a DN is reported as ambiguous and the message says to write '\\#'");

    cert_dn(&c, "1", ops, 1);
    c.has_issuer_hash = 1;
    is_int(lookup(dl, &c), 2, "'#' inside a DN value (no blank before it) is part of the DN");
    cert_dn(&c, "3", team, 1);
    c.has_issuer_hash = 1;
    is_int(lookup(dl, &c), 4, "'O=Team \\#1' in the file matches the issuer 'O=Team #1' as openssl prints it");
    cert_dn(&c, "2", team, 1);
    c.has_issuer_hash = 1;
    is_int(lookup(dl, &c), 0, "the ambiguous line 3 is not in force (it was reported)");
    cert_dn(&c, "4", team_oneline, 1);
    c.has_issuer_hash = 1;
    is_int(lookup(dl, &c), 5, "... the same in the 'O = Team \\#1, CN = int' spelling");
    cert_dn(&c, "5", lead, 1);
    c.has_issuer_hash = 1;
    is_int(lookup(dl, &c), 6, "a value starting with '#', escaped as RFC 2253 writes it");
    cert_dn(&c, "6", lead_legacy, 1);
    c.has_issuer_hash = 1;
    is_int(lookup(dl, &c), 7, "... and in the legacy '/O=.../CN=#lead' spelling");
    cert_dn(&c, "7", plain, 1);
    c.issuer_hash = 0x9d3c0a7bUL;
    c.has_issuer_hash = 1;
    is_int(lookup(dl, &c), 8, "serial + issuer hash followed by a comment");
    secure_denylist_free(dl);
}

/* Finding 8: DNs longer than any fixed buffer match (up to the 4096-byte line limit of the file). */
static void test_long_dn(void)
{
    static char line[SECURE_DENYLIST_MAX_LINE + 200], dn[SECURE_DENYLIST_MAX_LINE + 100];
    const char *dns[1] = { dn };
    secure_denylist_cert_t c;
    secure_denylist_t *dl;
    bad_t bad;
    size_t i, n = 0;

    for (i = 0; i < 40; i++)                            /* 40 x "OU=" + 60 characters + "," = 2,600 bytes */
        n += (size_t)snprintf(dn + n, sizeof(dn) - n, "OU=unit %02zu %.*s,", i, 52, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdef");
    snprintf(dn + n, sizeof(dn) - n, "CN=long issuer");
    ok(strlen(dn) > 2048, "a DN of %zu characters", strlen(dn));
    snprintf(line, sizeof(line), "serial 7f %s\n", dn);
    dl = parse(line, &bad);
    is_int(secure_denylist_count(dl), 1, "... is accepted in the file");
    cert_dn(&c, "7F", dns, 1);
    c.has_issuer_hash = 1;
    is_int(lookup(dl, &c), 1, "... and matches the certificate's issuer of that length");
    dn[strlen(dn) - 1] = 'X';
    is_int(lookup(dl, &c), 0, "... a DN differing in its last character does not");
    secure_denylist_free(dl);

    for (; n < SECURE_DENYLIST_MAX_LINE; )
        n += (size_t)snprintf(dn + n, sizeof(dn) - n, "OU=more,");
    snprintf(line, sizeof(line), "serial 7f %sCN=x\n", dn);
    dl = parse(line, &bad);
    ok(bad.n == 1 && secure_denylist_count(dl) == 0, "a DN beyond the 4096-byte line limit is reported, not kept");
    secure_denylist_free(dl);
}

/* Finding 9: what the caller could not compute never makes a listed certificate "not listed". */
static void test_undecided(void)
{
    static const unsigned char fp[32] = { 1, 2, 3 };
    unsigned char other[32];
    const char *dns_ok[] = { "CN=CA,O=Example" };
    const char *dns_part[] = { NULL, "CN=CA,O=Example" };
    const char *dns_none[] = { NULL, NULL };
    char text[256];
    secure_denylist_cert_t c;
    secure_denylist_t *dl;
    bad_t bad;
    size_t i;

    memset(other, 0x5a, sizeof(other));
    strcpy(text, "sha256 ");
    for (i = 0; i < 32; i++)
        sprintf(text + strlen(text), "%02x", fp[i]);
    strcat(text, "\nserial 10 CN=CA,O=Example\nserial 11 0badc0de\n");
    dl = parse(text, &bad);
    is_int(secure_denylist_count(dl), 3, "undecided: three entries");

    cert_dn(&c, "99", dns_ok, 1);
    c.sha256 = NULL;
    c.has_issuer_hash = 1;
    is_int(lookup(dl, &c), -1, "no SHA-256 while the list has fingerprints: UNDECIDED, not 'not listed'");
    c.serial_hex = "10";
    is_int(lookup(dl, &c), 2, "... but a serial entry still matches: LISTED (serial entries are checked)");
    c.sha256 = other;
    c.serial_hex = NULL;
    is_int(lookup(dl, &c), -1, "no serial while the list has serial entries: UNDECIDED");
    c.serial_hex = "10";
    c.issuer_dns = dns_none;
    c.n_issuer_dns = 2;
    is_int(lookup(dl, &c), -1, "no issuer DN spelling for an entry with this serial: UNDECIDED");
    c.issuer_dns = dns_part;
    is_int(lookup(dl, &c), 2, "one spelling missing, another matches: LISTED");
    c.serial_hex = "12";
    c.issuer_dns = dns_none;
    is_int(lookup(dl, &c), 0, "no entry has this serial: the missing DN does not matter (not listed)");
    c.serial_hex = "11";
    c.has_issuer_hash = 0;
    is_int(lookup(dl, &c), -1, "no issuer hash for a hash entry with this serial: UNDECIDED");
    c.sha256 = fp;
    is_int(lookup(dl, &c), 1, "the fingerprint matches: LISTED whatever else is missing");
    secure_denylist_free(dl);
}

/* Finding 9: out of memory while parsing gives no list, never a partial one. */
static long fail_at, alloc_no;

static void *failing_realloc(void *p, size_t n)
{
    if (++alloc_no == fail_at)
        return NULL;
    return realloc(p, n);
}

static void test_out_of_memory(void)
{
    static char text[64 * 40];
    void *(*orig)(void *, size_t) = secure_denylist_realloc;
    size_t full, i;
    int partial = 0, failed = 0, tries = 0;
    bad_t bad;
    secure_denylist_t *dl;

    text[0] = '\0';
    for (i = 0; i < 40; i++)                       /* enough entries to grow both arrays twice */
        sprintf(text + strlen(text), i % 2 ? "serial %zx CN=ca %zu,O=x\n" : "serial %zx 0badc0de\n", i + 1, i);
    dl = parse(text, &bad);
    full = secure_denylist_count(dl);
    secure_denylist_free(dl);
    is_int(full, 40, "out of memory: the file has 40 entries");
    secure_denylist_realloc = failing_realloc;
    for (fail_at = 1; fail_at < 200; fail_at++) {
        alloc_no = 0;
        dl = parse(text, &bad);
        tries++;
        if (dl == NULL)
            failed++;
        else if (secure_denylist_count(dl) != full)
            partial++;
        secure_denylist_free(dl);
        if (alloc_no < fail_at)
            break;                                  /* every allocation has been made to fail once */
    }
    secure_denylist_realloc = orig;
    ok(failed > 20, "allocation %d of %d made to fail: %d parses failed as a whole", (int)fail_at, tries, failed);
    is_int(partial, 0, "... and none returned a partial list");
    is_int(bad.n, 0, "... nor reported lines as bad because of it");
}

void test_denylist(void)
{
    test_format();
    test_hash_sign();
    test_long_dn();
    test_undecided();
    test_out_of_memory();
}
