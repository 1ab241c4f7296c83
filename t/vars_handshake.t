# Handshake variables: each equals what this test's own TLS client negotiated on the same connection.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use IO::Socket::SSL ();
use SecureTest qw(tls_request info_json env_lines run_cmd);


plan tests => 34, need_module('mod_ssl.c', 'mod_secure.c');

# IANA name of an OpenSSL cipher name, from `openssl ciphers -stdname` (independent of the module).
my %iana;
{
    my ($rc, $out) = run_cmd(['openssl', 'ciphers', '-stdname', 'ALL:@SECLEVEL=0'], '', 10);
    for (split /\n/, $out) {
        my ($std, $ossl) = /^\s*(\S+)\s+-\s+(\S+)/ or next;
        $iana{$ossl} = $std;
    }
}

# TLS 1.3, X25519, ALPN http/1.1
my $r = tls_request(vhost => 'secure_main', path => '/info',
                    ssl => { SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'X25519',
                             SSL_alpn_protocols => ['http/1.1'] });
my $v = info_json($r);
is($r->{status}, 200, 'secure-info answers over TLS 1.3');
is($v->{SECURE_TLS_VERSION}, $r->{version}, 'SECURE_TLS_VERSION = client view');
is($v->{SECURE_TLS_VERSION}, 'TLSv1.3', '... TLSv1.3');
is($v->{SECURE_CIPHER}, $r->{cipher}, 'SECURE_CIPHER = client view');
is($v->{SECURE_CIPHER_IANA}, $iana{$r->{cipher}}, 'SECURE_CIPHER_IANA = openssl ciphers -stdname');
is($v->{SECURE_CIPHER_BITS}, ($r->{cipher} =~ /128/ ? 128 : 256), 'SECURE_CIPHER_BITS');
is($v->{SECURE_KEX_GROUP}, 'x25519', 'SECURE_KEX_GROUP = the only group offered');
is($v->{SECURE_SNI}, 'localhost', 'SECURE_SNI = name sent');
is($v->{SECURE_ALPN}, 'http/1.1', 'SECURE_ALPN = protocol selected');
is($r->{alpn}, 'http/1.1', '... as the client saw it');
is($v->{SECURE_SESSION_RESUMED}, '0', 'SECURE_SESSION_RESUMED = 0 on a full handshake');

# TLS 1.2, one chosen cipher, P-256, no ALPN, no SNI
$r = tls_request(vhost => 'secure_main', path => '/info', sni => '',
                 ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'ECDHE-RSA-AES128-GCM-SHA256',
                          SSL_ecdh_curve => 'prime256v1' });
$v = info_json($r);
is($r->{status}, 200, 'secure-info answers over TLS 1.2');
is($v->{SECURE_TLS_VERSION}, 'TLSv1.2', 'SECURE_TLS_VERSION TLSv1.2');
is($v->{SECURE_CIPHER}, 'ECDHE-RSA-AES128-GCM-SHA256', 'SECURE_CIPHER = the one offered');
is($v->{SECURE_CIPHER}, $r->{cipher}, '... = client view');
is($v->{SECURE_CIPHER_IANA}, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'SECURE_CIPHER_IANA');
is($v->{SECURE_CIPHER_BITS}, 128, 'SECURE_CIPHER_BITS 128');
is($v->{SECURE_KEX_GROUP}, 'secp256r1', 'SECURE_KEX_GROUP secp256r1');
is($v->{SECURE_SNI}, '', 'SECURE_SNI empty without SNI');
is($v->{SECURE_ALPN}, '', 'SECURE_ALPN empty without ALPN');

# TLS 1.2 RSA key exchange: no group
$r = tls_request(vhost => 'secure_main', path => '/info',
                 ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'AES256-GCM-SHA384' });
$v = info_json($r);
is($v->{SECURE_CIPHER}, 'AES256-GCM-SHA384', 'RSA key exchange cipher');
is($v->{SECURE_KEX_GROUP}, '', 'SECURE_KEX_GROUP empty for non-ECDHE');

# Resumption: a second connection with the saved session, TLS 1.2 (session id) and TLS 1.3 (ticket)
for my $ver ('TLSv1_2', 'TLSv1_3') {
    my $ctx = SecureTest::client_ctx(SSL_version => $ver);
    $r = tls_request(vhost => 'secure_main', path => '/info', ctx => $ctx);
    $v = info_json($r);
    is($v->{SECURE_SESSION_RESUMED}, '0', "$ver first connection: not resumed");
    $r = tls_request(vhost => 'secure_main', path => '/info', ctx => $ctx);
    $v = info_json($r);
    is($r->{reused}, 1, "$ver client resumed its session");
    is($v->{SECURE_SESSION_RESUMED}, '1', "$ver SECURE_SESSION_RESUMED = 1 on the resumed connection");
}

# The same values reach CGI, mod_rewrite (%{SSL:...}), mod_headers (%{...}s), ap_expr.
$r = tls_request(vhost => 'secure_main', path => '/rewrite', ssl => { SSL_version => 'TLSv1_3' });
my $env = env_lines($r);
is($env->{QUERY_STRING}, "rw_cipher=$r->{cipher}", 'mod_rewrite %{SSL:SECURE_CIPHER}');
is($r->{headers}{'x-secure-cipher'}, $r->{cipher}, 'mod_headers %{SECURE_CIPHER}s');
is($env->{SECURE_CIPHER}, $r->{cipher}, 'CGI SECURE_CIPHER');
is($env->{TEST_SETENVIFEXPR}, 'modern', 'SetEnvIfExpr %{SECURE_TLS_VERSION}');

$r = tls_request(vhost => 'secure_main', path => '/tls13only', ssl => { SSL_version => 'TLSv1_2' });
is($r->{status}, 403, 'Require expr %{SECURE_TLS_VERSION}: TLS 1.2 refused');
$r = tls_request(vhost => 'secure_main', path => '/tls13only', ssl => { SSL_version => 'TLSv1_3' });
is($r->{status}, 404, 'Require expr %{SECURE_TLS_VERSION}: TLS 1.3 let through (404: no file)');
