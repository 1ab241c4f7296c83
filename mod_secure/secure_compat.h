/* Feature macros: every OpenSSL / httpd version check lives here, once. */
#ifndef SECURE_COMPAT_H
#define SECURE_COMPAT_H

#include <openssl/opensslv.h>
/* The httpd-free core (libsecurecore, compiled with -DSECURE_CORE and no httpd include path) gets only the
 * OpenSSL and libc macros. */
#ifndef SECURE_CORE
#include "ap_release.h"
#include "ap_mmn.h"
#endif

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "mod_secure needs OpenSSL >= 3.0"
#endif

/* SSL_get0_group_name() arrived in OpenSSL 3.2; before that, SSL_get_negotiated_group() + a NID name. */
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
#define SECURE_HAVE_GET0_GROUP_NAME 1
#else
#define SECURE_HAVE_GET0_GROUP_NAME 0
#endif

/* The minimum httpd, stated once: the core ssl_var_lookup hook and http_ssl.h (MMN 20120211.104, in the
 * 2.4.47 development line; 2.4.48 is the first release that has them). build/m4/secure.m4 only checks
 * that http_ssl.h exists, to fail early with the package name. */
#ifndef SECURE_CORE
#if !AP_MODULE_MAGIC_AT_LEAST(20120211, 104)
#error "mod_secure needs httpd >= 2.4.48 (http_ssl.h, the core ssl_var_lookup hook)"
#endif
#endif

/* glibc's malloc_trim() returns freed heap to the system (after a big CRL is replaced). */
#if defined(__GLIBC__)
#define SECURE_HAVE_MALLOC_TRIM 1
#else
#define SECURE_HAVE_MALLOC_TRIM 0
#endif

#endif /* SECURE_COMPAT_H */
