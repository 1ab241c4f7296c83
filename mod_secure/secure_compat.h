/* Feature macros: every OpenSSL / httpd version check lives here, once. */
#ifndef SECURE_COMPAT_H
#define SECURE_COMPAT_H

#include <openssl/opensslv.h>
#include "ap_release.h"
#include "ap_mmn.h"

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "mod_secure needs OpenSSL >= 3.0"
#endif

/* SSL_get0_group_name() arrived in OpenSSL 3.2; before that, SSL_get_negotiated_group() + a NID name. */
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
#define SECURE_HAVE_GET0_GROUP_NAME 1
#else
#define SECURE_HAVE_GET0_GROUP_NAME 0
#endif

/* SSL_client_hello_get_extension_order() arrived in 3.2 (we parse the raw hello anyway, for every version). */
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
#define SECURE_HAVE_CH_EXT_ORDER 1
#else
#define SECURE_HAVE_CH_EXT_ORDER 0
#endif

/* ML-KEM hybrid groups exist from OpenSSL 3.5. */
#if OPENSSL_VERSION_NUMBER >= 0x30500000L
#define SECURE_HAVE_MLKEM 1
#else
#define SECURE_HAVE_MLKEM 0
#endif

/* The core ssl_var_lookup / ssl_conn_is_ssl hooks (http_ssl.h) arrived in httpd 2.4.47. */
#if AP_MODULE_MAGIC_AT_LEAST(20120211, 102)
#define SECURE_HAVE_CORE_SSL_HOOKS 1
#else
#error "mod_secure needs httpd >= 2.4.47 (http_ssl.h)"
#endif

/* glibc's malloc_trim() returns freed heap to the system (after a big CRL is replaced). */
#if defined(__GLIBC__)
#define SECURE_HAVE_MALLOC_TRIM 1
#else
#define SECURE_HAVE_MALLOC_TRIM 0
#endif

#endif /* SECURE_COMPAT_H */
