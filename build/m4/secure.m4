dnl SECURE_CHECK_APXS: find apxs and ask it for httpd's and APR's include paths and the modules dir.
AC_DEFUN([SECURE_CHECK_APXS], [
  AC_ARG_WITH([apxs],
    [AS_HELP_STRING([--with-apxs=PATH], [path to httpd's apxs (default: apxs or apxs2 on PATH)])],
    [APXS="$withval"], [APXS=""])
  AS_IF([test -z "$APXS"], [AC_PATH_PROGS([APXS], [apxs apxs2], [], [$PATH:/usr/bin:/usr/sbin:/usr/local/apache2/bin])])
  AS_IF([test -z "$APXS" || test ! -x "$APXS"],
    [AC_MSG_ERROR([apxs not found: install Debian package apache2-dev (apt-get install apache2-dev) or pass --with-apxs=PATH])])
  AC_MSG_CHECKING([httpd include directory])
  APXS_INCLUDEDIR=`$APXS -q INCLUDEDIR`
  AC_MSG_RESULT([$APXS_INCLUDEDIR])
  AC_MSG_CHECKING([APR include directory])
  APR_INCLUDEDIR=`$APXS -q APR_INCLUDEDIR`
  APU_INCLUDEDIR=`$APXS -q APU_INCLUDEDIR 2>/dev/null`
  AC_MSG_RESULT([$APR_INCLUDEDIR])
  APXS_LIBEXECDIR=`$APXS -q LIBEXECDIR`
  APXS_CPPFLAGS="-I$APXS_INCLUDEDIR -I$APR_INCLUDEDIR"
  AS_IF([test -n "$APU_INCLUDEDIR" && test "$APU_INCLUDEDIR" != "$APR_INCLUDEDIR"], [APXS_CPPFLAGS="$APXS_CPPFLAGS -I$APU_INCLUDEDIR"])
  APXS_CPPFLAGS="$APXS_CPPFLAGS `$APXS -q EXTRA_CPPFLAGS`"
  HTTPD_SBIN=`$APXS -q SBINDIR`
  HTTPD_TARGET=`$APXS -q TARGET`
  HTTPD_BIN="$HTTPD_SBIN/$HTTPD_TARGET"
  AS_IF([test ! -f "$APXS_INCLUDEDIR/httpd.h"],
    [AC_MSG_ERROR([httpd.h not found in $APXS_INCLUDEDIR: install Debian package apache2-dev])])
  AS_IF([test ! -f "$APXS_INCLUDEDIR/http_ssl.h"],
    [AC_MSG_ERROR([http_ssl.h not found: mod_secure needs httpd >= 2.4.48 headers (Debian package apache2-dev); the exact check is in mod_secure/secure_compat.h])])
  AC_SUBST([APXS])
  AC_SUBST([APXS_CPPFLAGS])
  AC_SUBST([APXS_LIBEXECDIR])
  AC_SUBST([HTTPD_BIN])
])

dnl SECURE_CHECK_OPENSSL: OpenSSL >= 3.0 through pkg-config.
AC_DEFUN([SECURE_CHECK_OPENSSL], [
  PKG_PROG_PKG_CONFIG
  AS_IF([test -z "$PKG_CONFIG"],
    [AC_MSG_ERROR([pkg-config not found: install Debian package pkg-config])])
  PKG_CHECK_MODULES([OPENSSL], [openssl >= 3.0], [],
    [AC_MSG_ERROR([OpenSSL >= 3.0 development files not found: install Debian package libssl-dev ($OPENSSL_PKG_ERRORS)])])
  OPENSSL_VERSION=`$PKG_CONFIG --modversion openssl`
])
