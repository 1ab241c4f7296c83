/* C unit tests of mod_secure's pure parts: one binary, TAP on stdout, non-zero exit on failure.
 * Each test group lives in its own t/unit/test_*.c; add a declaration and a call below. */
#define TAP_IMPLEMENTATION
#include "tap.h"

void test_hello(void);
void test_util(void);
void test_denylist(void);
void test_crlcore(void);
void test_ocspeval(void);
void test_cacherec(void);
void test_breaker(void);
void test_groups(void);
void test_profiles(void);
void test_guidelines(void);
void test_readiness(void);
void test_factcache(void);

int main(void)
{
    test_hello();
    test_util();
    test_denylist();
    test_crlcore();
    test_ocspeval();
    test_cacherec();
    test_breaker();
    test_groups();
    test_profiles();
    test_guidelines();
    test_readiness();
    test_factcache();
    return done_testing();
}
