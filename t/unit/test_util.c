/* Unit tests of secure_util: duration and integer parsing, hex. */
#include <limits.h>
#include <string.h>

#include "tap.h"
#include "secure_util.h"

void test_util(void);

void test_util(void)
{
    static const struct { const char *in; int rc; long want; } secs[] = {
        { "0", 0, 0 }, { "10", 0, 10 }, { "30s", 0, 30 }, { "5m", 0, 300 }, { "2h", 0, 7200 },
        { "1d", 0, 86400 }, { "", -1, 0 }, { "-5", -1, 0 }, { " 5", -1, 0 }, { "5x", -1, 0 },
        { "5mm", -1, 0 }, { "m", -1, 0 }, { "99999999999999999999", -1, 0 },
        { "9223372036854775807d", -1, 0 }, { "1.5", -1, 0 },
    };
    static const unsigned char bytes[] = { 0x00, 0x0f, 0xab, 0xff };
    char hex[9];
    long v;
    size_t i;

    for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
        v = -1;
        int rc = secure_parse_seconds(secs[i].in, &v);
        is_int(rc, secs[i].rc, "secure_parse_seconds(\"%s\") returns %d", secs[i].in, secs[i].rc);
        if (secs[i].rc == 0)
            is_int(v, secs[i].want, "secure_parse_seconds(\"%s\") = %ld", secs[i].in, secs[i].want);
    }
    ok(secure_parse_seconds(NULL, &v) == -1, "secure_parse_seconds(NULL) refused");
    ok(secure_parse_long("42", &v) == 0 && v == 42, "secure_parse_long 42");
    ok(secure_parse_long("-7", &v) == 0 && v == -7, "secure_parse_long -7");
    ok(secure_parse_long("7a", &v) == -1, "secure_parse_long refuses trailing garbage");
    ok(secure_parse_long("", &v) == -1, "secure_parse_long refuses empty");
    ok(secure_parse_long("99999999999999999999999", &v) == -1, "secure_parse_long refuses overflow");
    is_str(secure_hex_lower(bytes, sizeof(bytes), hex), "000fabff", "secure_hex_lower");
}
