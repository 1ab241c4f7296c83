#include "secure_hello.h"
int secure_hello_parse(const unsigned char *msg, size_t len, secure_hello_t *h, const char **why){(void)msg;(void)len;(void)h;if(why)*why="stub";return SECURE_HELLO_MALFORMED;}
int secure_hello_ja3_string(const secure_hello_t *h, char *b, size_t n){(void)h;(void)n;b[0]=0;return -1;}
int secure_hello_ja3(const secure_hello_t *h, char *b, size_t n){(void)h;(void)n;b[0]=0;return -1;}
int secure_hello_ja4(const secure_hello_t *h, char *b, size_t n){(void)h;(void)n;b[0]=0;return -1;}
int secure_hello_ja4_r(const secure_hello_t *h, char *b, size_t n){(void)h;(void)n;b[0]=0;return -1;}
int secure_hello_versions(const secure_hello_t *h, char *b, size_t n){(void)h;(void)n;b[0]=0;return -1;}
int secure_hello_alpn(const secure_hello_t *h, char *b, size_t n){(void)h;(void)n;b[0]=0;return -1;}
int secure_hello_groups(const secure_hello_t *h, char *b, size_t n){(void)h;(void)n;b[0]=0;return -1;}
const char *secure_hello_group_name(uint16_t id){(void)id;return 0;}
const char *secure_hello_strerror(int rc){(void)rc;return "stub";}
