# `Require secure-policy NAME` with every profile name (t/conf/policy2.conf.in, vhost policy2_require: no
# policy of its own, a location per profile). Each connection below is judged by all five profiles; the
# expected grants follow from the profile table (README), e.g. TLS_AES_128_GCM_SHA256 is not CNSA, X25519
# is not NIST SP 800-52r2, ECDHE-RSA-AES128-SHA is only old and NIST.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureTest qw(tls_request info_json error_log_mark error_log_since);

my @profiles = qw(modern intermediate old nist-800-52r2 cnsa);
my @clients = (
    ['TLS 1.3, TLS_AES_128_GCM_SHA256, X25519',
     { SSL_version => 'TLSv1_3', SSL_ciphersuites => 'TLS_AES_128_GCM_SHA256', SSL_ecdh_curve => 'X25519' },
     { modern => 200, intermediate => 200, old => 200, 'nist-800-52r2' => 403, cnsa => 403 }],
    ['TLS 1.3, TLS_AES_256_GCM_SHA384, secp384r1',
     { SSL_version => 'TLSv1_3', SSL_ciphersuites => 'TLS_AES_256_GCM_SHA384', SSL_ecdh_curve => 'secp384r1' },
     { modern => 200, intermediate => 200, old => 200, 'nist-800-52r2' => 200, cnsa => 200 }],
    ['TLS 1.3, TLS_CHACHA20_POLY1305_SHA256, prime256v1',
     { SSL_version => 'TLSv1_3', SSL_ciphersuites => 'TLS_CHACHA20_POLY1305_SHA256', SSL_ecdh_curve => 'prime256v1' },
     { modern => 200, intermediate => 200, old => 200, 'nist-800-52r2' => 403, cnsa => 403 }],
    ['TLS 1.2, ECDHE-RSA-AES256-GCM-SHA384, secp384r1',
     { SSL_version => 'TLSv1_2', SSL_cipher_list => 'ECDHE-RSA-AES256-GCM-SHA384', SSL_ecdh_curve => 'secp384r1' },
     { modern => 403, intermediate => 200, old => 200, 'nist-800-52r2' => 200, cnsa => 200 }],
    ['TLS 1.2, ECDHE-RSA-AES128-SHA, prime256v1',
     { SSL_version => 'TLSv1_2', SSL_cipher_list => 'ECDHE-RSA-AES128-SHA', SSL_ecdh_curve => 'prime256v1' },
     { modern => 403, intermediate => 403, old => 200, 'nist-800-52r2' => 200, cnsa => 403 }],
    ['TLS 1.2, DHE-RSA-AES256-GCM-SHA384',
     { SSL_version => 'TLSv1_2', SSL_cipher_list => 'DHE-RSA-AES256-GCM-SHA384' },
     { modern => 403, intermediate => 403, old => 403, 'nist-800-52r2' => 200, cnsa => 403 }],
);

plan tests => @clients * @profiles + 3, need_module('mod_ssl.c', 'mod_secure.c');

for my $c (@clients) {
    my ($label, $ssl, $want) = @$c;
    for my $p (@profiles) {
        my $r = tls_request(vhost => 'policy2_require', path => "/$p", ssl => $ssl);
        is($r->{status} // "error: $r->{error}", $want->{$p}, "$label: Require secure-policy $p -> $want->{$p}");
    }
}

# what the connection really negotiated (the client's offer was kept to)
my $r = tls_request(vhost => 'policy2_require', path => '/old',
                    ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'DHE-RSA-AES256-GCM-SHA384' });
is($r->{cipher}, 'DHE-RSA-AES256-GCM-SHA384', 'the DHE client negotiated DHE-RSA-AES256-GCM-SHA384');
my $mark = error_log_mark();
$r = tls_request(vhost => 'policy2_require', path => '/cnsa',
                 ssl => { SSL_version => 'TLSv1_3', SSL_ciphersuites => 'TLS_AES_128_GCM_SHA256', SSL_ecdh_curve => 'X25519' });
is($r->{status}, 403, 'Require secure-policy cnsa: 403 for TLS_AES_128_GCM_SHA256 over X25519');
like(error_log_since($mark), qr/SEC10240: vhost [^,]+, client 127\.0\.0\.1: Require secure-policy cnsa not met for \/cnsa: cipher:TLS_AES_128_GCM_SHA256 group:x25519/i,
     '... the log names both rules (SEC10240)');
