/* secure_util — small pure helpers (no httpd or APR types; OpenSSL types where the data is OpenSSL's) shared by
 * the module, the unit tests and the fuzzers. Strings returned as `char *` are heap memory the caller frees
 * with free(); NULL means out of memory unless a comment says otherwise. */
#ifndef SECURE_UTIL_H
#define SECURE_UTIL_H

#include <stddef.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Parses a duration: "30", "30s", "5m", "2h", "1d" into seconds. 0 on success, -1 on a bad value or overflow. */
int secure_parse_seconds(const char *s, long *out);
/* Parses a decimal integer (whole string). 0 on success, -1 otherwise. */
int secure_parse_long(const char *s, long *out);
/* Lower-case hex of n bytes into out (2n+1 bytes). Returns out. */
char *secure_hex_lower(const unsigned char *in, size_t n, char *out);
/* 1 when x is self-signed as OpenSSL's chain building sees it (X509_self_signed without the signature
 * check: its own issuer by name and key identifier, keyCertSign allowed); 0 otherwise, also when its key
 * cannot be read (what OpenSSL queued then is dropped). */
int secure_self_signed(X509 *x);

/* ---- certificate data as text for variables ------------------------------------------------------------
 * One escaping rule for every value taken from a certificate (as mod_ssl's, RFC 2253 / RFC 4514): UTF-8 is
 * kept; a backslash and every control character (U+0000-U+001F, U+007F) are escaped, the control characters
 * as \XX (two upper-case hex digits, e.g. CR LF as \0D\0A); bytes that are not valid UTF-8 become \XX too.
 * The result is always valid UTF-8 without control characters, and the escaping can be undone exactly. */

/* A distinguished name in RFC 2253 form (last RDN first, "CN=alice,O=Example"): the rule above plus RFC 2253's
 * own escapes (, + " < > ; and a leading # or space, a trailing space). A name OpenSSL cannot print as text
 * (a BMPString with a lone surrogate ...) comes out with every value in RFC 2253's #hex form instead. */
char *secure_name_rfc2253(const X509_NAME *name);
/* A DN printed by X509_NAME_print_ex() with flags (XN_FLAG_*), bytes that are not valid UTF-8 as \XX; NULL when
 * OpenSSL cannot print it (what it queued meanwhile is dropped) or out of memory. */
char *secure_name_print(const X509_NAME *name, unsigned long flags);
/* One attribute value of a DN, escaped exactly as it appears inside secure_name_rfc2253(). */
char *secure_dn_value(const ASN1_STRING *value);
/* A subjectAltName entry: dNSName, rfc822Name and URI escaped by the rule above (they are IA5Strings, so every
 * byte above 0x7F is escaped as \XX); iPAddress as 192.0.2.1 / 2001:db8::1 (another length: # and hex).
 * NULL for other kinds of names, or when out of memory. */
char *secure_san_value(const GENERAL_NAME *gn);
/* Bytes from the network (a server name ...) with the rule above, but every byte above 0x7F as \XX. */
char *secure_escape_ascii(const char *in, size_t len);

/* n values as one comma-separated list, each value's own commas escaped as "\," (values are escaped by the rule
 * above, so a backslash in them is already "\\" and the list splits unambiguously at every other comma). */
char *secure_list_join(const char *const *items, size_t n);

/* ---- JSON ------------------------------------------------------------------------------------------------ */

/* Worst-case size of secure_json_string()'s output for len input bytes (quotes and NUL included). */
#define SECURE_JSON_STRING_MAX(len) (6 * (size_t)(len) + 3)
/* Writes in (len bytes) as a JSON string literal with its quotes into out (SECURE_JSON_STRING_MAX(len) bytes)
 * and returns its length. Valid UTF-8 passes through; '"' and '\' are escaped, control characters (U+0000-
 * U+001F, U+007F-U+009F) become \n, \r, \t, \b, \f or \u00XX, and each byte that is not part of valid UTF-8
 * (overlong forms, surrogates, above U+10FFFF, truncated sequences) becomes \ufffd. The output is always
 * valid JSON and valid UTF-8. */
size_t secure_json_string(const char *in, size_t len, char *out);
/* Length (1-4) of the valid UTF-8 sequence at the start of p (n bytes), or 0 when it is not one. */
size_t secure_utf8_seq_len(const unsigned char *p, size_t n);

#endif /* SECURE_UTIL_H */
