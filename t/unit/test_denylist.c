/* Unit tests of secure_denylist: the file format (entries, comments, bad lines with their numbers),
 * canonical serial and DN forms, and matching by fingerprint, serial + DN and serial + name hash. */
#include <stdio.h>
#include <string.h>

#include "secure_denylist.h"
#include "tap.h"

typedef struct {
    unsigned lines[16];
    int n;
} bad_t;

static void collect(void *baton, unsigned line, const char *why)
{
    bad_t *b = baton;
    (void)why;
    if (b->n < 16)
        b->lines[b->n++] = line;
}

static secure_denylist_t *parse(const char *text, bad_t *b)
{
    memset(b, 0, sizeof(*b));
    return secure_denylist_parse(text, strlen(text), collect, b);
}

void test_denylist(void)
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
    is_int(bad.n, 6, "six bad lines reported");
    ok(bad.n == 6 && bad.lines[0] == 6 && bad.lines[1] == 7 && bad.lines[2] == 8 && bad.lines[3] == 9
       && bad.lines[4] == 10 && bad.lines[5] == 11, "... with their line numbers (6 to 11)");

    memset(&c, 0, sizeof(c));
    c.sha256 = fp;
    is_int(secure_denylist_match(dl, &c), 3, "fingerprint (colons, mixed case) matches line 3");
    memset(other, 0x5a, sizeof(other));
    c.sha256 = other;
    is_int(secure_denylist_match(dl, &c), 0, "another fingerprint does not match");

    memset(&c, 0, sizeof(c));
    c.serial_hex = "0A";
    c.issuer_dns = dn_legacy;
    c.n_issuer_dns = 1;
    is_int(secure_denylist_match(dl, &c), 0, "serial 0A + only the legacy '/C=US/...' spelling: no match (another syntax)");
    c.issuer_dns = dn_oneline;
    is_int(secure_denylist_match(dl, &c), 4, "serial 0A + 'C = US, O = Example, CN = Test CA' spelling matches line 4");
    c.serial_hex = "a";
    is_int(secure_denylist_match(dl, &c), 4, "... serial without leading zeros, lower case, too");
    c.issuer_dns = dn_rfc;
    is_int(secure_denylist_match(dl, &c), 0, "the same serial under a differently written (reversed) DN does not match");
    c.serial_hex = "0B";
    c.issuer_dns = dn_oneline;
    is_int(secure_denylist_match(dl, &c), 0, "another serial from the same issuer does not match");

    memset(&c, 0, sizeof(c));
    c.serial_hex = "1F2E";
    c.issuer_hash = 0x9d3c0a7bUL;
    is_int(secure_denylist_match(dl, &c), 5, "serial + issuer-name hash matches line 5");
    c.issuer_hash = 0x9d3c0a7cUL;
    is_int(secure_denylist_match(dl, &c), 0, "... not under another issuer hash");
    secure_denylist_free(dl);

    is_str(secure_denylist_dn_canon("  CN = A  B ,  O=X  ", buf, sizeof(buf)), "cn=a b,o=x",
           "DN canonical form: case folded, blanks around separators dropped, inner blanks kept");
    ok(secure_denylist_dn_canon("CN=abcdef", buf, 4) == NULL, "DN canonical form refuses a too small buffer");

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
