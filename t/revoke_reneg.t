# Certificates asked for after the handshake: vhost revoke_reneg has SSLVerifyClient none and
# <Location /need-cert> SSLVerifyClient require, and SecureCRL with Apache::TestSSLCA's CRL (revokes
# client_revoked). mod_ssl gets that certificate by TLS 1.2 renegotiation or TLS 1.3 post-handshake
# authentication and verifies it with its own callback, which has no CRL here and never reaches the
# handshake wrapper; mod_secure's access checker (after mod_ssl's) must refuse it: 403, SEC10304, and
# the connection closed by the server (the clients here never ask for the close themselves).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(s_client info_json cert_file key_file error_log_mark error_log_since client);
use SecureRevoke qw(keepalive_requests);

plan tests => 16, need_module('mod_ssl.c', 'mod_secure.c');

sub json_of { my $r = shift; return info_json({ body => $r ? $r->{body} : undef }) }

# ---- TLS 1.2 renegotiation (IO::Socket::SSL holds the certificate and sends it when asked) ----------
my ($err, $resp) = keepalive_requests(vhost => 'revoke_reneg', paths => ['/need-cert', '/info'],
                                      ssl => { SSL_version => 'TLSv1_2', client('client_ok') });
is($resp->[0]{status}, 200, 'TLS 1.2 renegotiation: client_ok gets 200 on /need-cert')
    or diag($err // $resp->[0]{error} // '');
my $v = json_of($resp->[0]);
is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', '... SECURE_CLIENT_REVOCATION GOOD');
is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'crl', '... from the CRL');
is($resp->[1]{status}, 200, '... and the connection stays open: a second request on it gets 200');

my $mark = error_log_mark();
($err, $resp) = keepalive_requests(vhost => 'revoke_reneg', paths => ['/need-cert', '/info'],
                                   ssl => { SSL_version => 'TLSv1_2', client('client_revoked') });
is($resp->[0]{status}, 403, 'TLS 1.2 renegotiation: client_revoked gets 403 on /need-cert')
    or diag($err // $resp->[0]{error} // '');
is($resp->[0]{close_header}, 1, '... with Connection: close');
is($resp->[0]{eof}, 1, '... the server closes the connection');
is(scalar @$resp, 1, '... and the second request gets no response');
my $log = error_log_since($mark);
like($log, qr/SEC10304: \S+: client 127\.0\.0\.1 refused \(403, connection closed\) on a certificate received after the handshake \(renegotiation or post-handshake authentication\): certificate '[^']*CN=client_revoked[^']*' .*is revoked now \(source crl/,
     '... refused by mod_secure (SEC10304, source crl)');
unlike($log, qr/SEC10301: /, '... not by the handshake wrapper (mod_ssl verified with its own callback)');

# ---- TLS 1.3 post-handshake authentication (openssl s_client -enable_pha) --------------------------
# One request per connection: a pipelined second request would sit in front of the client's
# Certificate message and mod_ssl would find no certificate.
my ($rc, $out) = s_client(vhost => 'revoke_reneg', path => '/need-cert',
                          args => ['-tls1_3', '-enable_pha', '-cert', cert_file('client_ok'),
                                   '-key', key_file('client_ok')]);
like($out, qr/^HTTP\/1\.1 200/m, 'TLS 1.3 post-handshake auth: client_ok gets 200 on /need-cert');
like($out, qr/"SECURE_CLIENT_REVOCATION"\s*:\s*"GOOD"/, '... SECURE_CLIENT_REVOCATION GOOD');

# no "Connection: close" from the client: s_client (-ign_eof) ends only when the server closes, so an
# early end proves the close (a kept-alive connection would wait for KeepAliveTimeout)
$mark = error_log_mark();
my $t0 = Time::HiRes::time();
($rc, $out) = s_client(vhost => 'revoke_reneg', request => "GET /need-cert HTTP/1.1\r\nHost: localhost\r\n\r\n",
                       args => ['-tls1_3', '-enable_pha', '-cert', cert_file('client_revoked'),
                                '-key', key_file('client_revoked')]);
my $took = Time::HiRes::time() - $t0;
like($out, qr/^HTTP\/1\.1 403/m, 'TLS 1.3 post-handshake auth: client_revoked gets 403');
like($out, qr/^Connection: close\r?$/mi, '... with Connection: close');
cmp_ok($took, '<', 4, '... and the server closes at once (no keep-alive wait)');
like(error_log_since($mark), qr/SEC10304: .*after the handshake \(renegotiation or post-handshake authentication\): certificate '[^']*CN=client_revoked/,
     '... refused by mod_secure (SEC10304)');
