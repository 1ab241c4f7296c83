/* secure_fault_shim — makes chosen OpenSSL calls fail for mod_secure only, so that t/failclosed_request.t
 * can drive the error paths that no client can reach (hashing fails, the connection state or the verify
 * index is missing) through a real httpd. Loaded with LD_PRELOAD into a scratch server; test code only.
 *
 *   SECURE_FAULT_NO_CTX_INDEX=1   SSL_CTX_get_ex_new_index(..., "mod_secure verify", ...) returns -1
 *   SECURE_FAULT_DIR=<dir>        while <dir>/digest-sha256 exists, X509_digest(..., SHA-256, ...)
 *                                 called from mod_secure.so fails; while <dir>/no-conn-state exists,
 *                                 SSL_get_ex_data of mod_secure's connection index returns NULL
 *
 * Build: cc -shared -fPIC -o secure_fault_shim.so secure_fault_shim.c -ldl -lcrypto */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static int conn_idx = -1;

static int flag_set(const char *name)
{
    const char *dir = getenv("SECURE_FAULT_DIR");
    char path[PATH_MAX];

    if (dir == NULL || snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return 0;
    return access(path, F_OK) == 0;
}

static int from_mod_secure(const void *caller)
{
    Dl_info info;

    return dladdr(caller, &info) != 0 && info.dli_fname != NULL && strstr(info.dli_fname, "mod_secure") != NULL;
}

int CRYPTO_get_ex_new_index(int class_index, long argl, void *argp, CRYPTO_EX_new *new_func,
                            CRYPTO_EX_dup *dup_func, CRYPTO_EX_free *free_func)
{
    static int (*real)(int, long, void *, CRYPTO_EX_new *, CRYPTO_EX_dup *, CRYPTO_EX_free *);
    const char *tag = argp;
    int idx;

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "CRYPTO_get_ex_new_index");
    if (class_index == CRYPTO_EX_INDEX_SSL_CTX && tag != NULL && strcmp(tag, "mod_secure verify") == 0
        && getenv("SECURE_FAULT_NO_CTX_INDEX") != NULL)
        return -1;
    idx = real(class_index, argl, argp, new_func, dup_func, free_func);
    if (class_index == CRYPTO_EX_INDEX_SSL && tag != NULL && strcmp(tag, "mod_secure conn") == 0)
        conn_idx = idx;
    return idx;
}

void *SSL_get_ex_data(const SSL *ssl, int idx)
{
    static void *(*real)(const SSL *, int);

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "SSL_get_ex_data");
    if (idx >= 0 && idx == conn_idx && flag_set("no-conn-state"))
        return NULL;
    return real(ssl, idx);
}

int X509_digest(const X509 *data, const EVP_MD *type, unsigned char *md, unsigned int *len)
{
    static int (*real)(const X509 *, const EVP_MD *, unsigned char *, unsigned int *);

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "X509_digest");
    if (type != NULL && EVP_MD_get_type(type) == NID_sha256 && flag_set("digest-sha256")
        && from_mod_secure(__builtin_return_address(0)))
        return 0;
    return real(data, type, md, len);
}
