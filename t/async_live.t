# Connections already open when a certificate is revoked (issue 12, item 6). Vhost async_live
# (t/conf/async.conf.in): SecureCRL directory and SecureDenyList checked every second, h2 and http/1.1,
# KeepAliveTimeout 30. A client opens one connection with client_ok, gets 200, waits while the deny list
# or the CRL changes, and sends more requests on the same connection: each change is a new revocation
# generation in every child, so the next request judges the certificate again and is refused within
# SecureCRLCheckInterval + 1 s (HTTP/1.1: 403 and the connection closes; HTTP/2: this and every later
# stream 403). A change that does not concern the certificate leaves the connection working.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(cert_file error_log_mark error_log_since client t_logs);
use SecureRevoke qw(install_file keepalive_requests h2_requests);
use SecurePKI qw(scratch_ca revoke gencrl fingerprint_of);

plan tests => 25, need_module('mod_ssl.c', 'mod_secure.c', 'mod_http2.c');

my $rv = t_logs() . '/revoke';
my $crl = "$rv/async-live/asf.crl";
my $deny = "$rv/async-deny.txt";
my $settle = 2.0;            # SecureCRLCheckInterval 1 + 1 s: the bound the issue sets
my %client_ok = (client('client_ok'));
sub revocation_of { my $r = shift; return ($r->{body} // '') =~ /"SECURE_CLIENT_REVOCATION"\s*:\s*"(\w+)"/ ? $1 : '' }
sub change { my @a = @_; return sub { install_file(@a); Time::HiRes::sleep($settle) } }

# a CRL that does not list client_ok, and one (another copy of the CA) that does
my $ca_good = scratch_ca("$rv/async-ca-good");
my $crl_good = gencrl($ca_good, "$rv/async-ca-good/crl.pem");
my $ca_rev = scratch_ca("$rv/async-ca-rev");
revoke($ca_rev, cert_file('client_ok'), 'keyCompromise');
my $crl_rev = gencrl($ca_rev, "$rv/async-ca-rev/crl.pem");
install_file($deny, data => "\n");
install_file($crl, src => $crl_good);
Time::HiRes::sleep($settle);
my $deny_ok = 'sha256 ' . fingerprint_of(cert_file('client_ok')) . "\n";
my $deny_other = 'sha256 ' . fingerprint_of(cert_file('client_revoked')) . "\n";

# 1. HTTP/1.1 keep-alive, deny-list edit
my $mark = error_log_mark();
my ($err, $resp) = keepalive_requests(vhost => 'async_live', ssl => { %client_ok, SSL_version => 'TLSv1_2' },
                                      timeout => 10, paths => ['/info', change($deny, data => $deny_ok), '/info']);
is($resp->[0]{status}, 200, 'keep-alive: the first request with client_ok gets 200') or diag($err // explain($resp));
is(revocation_of($resp->[0]), 'GOOD', '... GOOD (CRL)');
is($resp->[1]{status}, 403, "keep-alive: after client_ok went on the deny list, the next request on the same "
   . "connection gets 403 (waited $settle s)");
ok($resp->[1]{close_header} && $resp->[1]{eof}, '... and the server closes the connection');
like(error_log_since($mark), qr/SEC10304: .*refused \(403, connection closed\) on a request on a connection accepted before the revocation data changed \(a SecureCRL \/ SecureDenyList reload, or a new REVOKED answer of an online source\): certificate '[^']*CN=client_ok.*source denylist/,
     '... SEC10304 names the open connection and the deny list');
install_file($deny, data => "\n");
Time::HiRes::sleep($settle);

# 2. HTTP/2, deny-list edit
$mark = error_log_mark();
my $h = h2_requests(vhost => 'async_live', ssl => { %client_ok, SSL_version => 'TLSv1_2' }, timeout => 10,
                    paths => ['/info', change($deny, data => $deny_ok), '/info', '/info']);
is($h->{alpn}, 'h2', 'h2: the client speaks h2') or diag($h->{error} // '');
is($h->{responses}[0]{status}, 200, 'h2: stream 1 with client_ok gets 200');
is(revocation_of($h->{responses}[0]), 'GOOD', '... GOOD');
is($h->{responses}[1]{status}, 403, 'h2: after the deny-list edit, the next stream on the same connection gets 403');
is($h->{responses}[2]{status}, 403, '... and so does every later stream');
unlike($h->{responses}[2]{body} // '', qr/SECURE_CLIENT_REVOCATION/, '... without content');
like(error_log_since($mark), qr/SEC10304: .*HTTP\/2: every later request.*on a request on a connection accepted before the revocation data changed \(a SecureCRL \/ SecureDenyList reload, or a new REVOKED answer of an online source\): .*source denylist/,
     '... SEC10304 for the stream');
install_file($deny, data => "\n");
Time::HiRes::sleep($settle);

# 3. HTTP/1.1 keep-alive, CRL reload
$mark = error_log_mark();
($err, $resp) = keepalive_requests(vhost => 'async_live', ssl => { %client_ok, SSL_version => 'TLSv1_2' },
                                   timeout => 10, paths => ['/info', change($crl, src => $crl_rev), '/info']);
is($resp->[0]{status}, 200, 'keep-alive: client_ok gets 200 under a CRL that does not list it') or diag($err // '');
is($resp->[1]{status}, 403, 'keep-alive: after a CRL revoking client_ok is loaded, the next request gets 403');
ok($resp->[1]{close_header} && $resp->[1]{eof}, '... and the connection closes');
like(error_log_since($mark), qr/SEC10304: .*connection accepted before the revocation data changed \(a SecureCRL \/ SecureDenyList reload, or a new REVOKED answer of an online source\): .*CN=client_ok.*source crl, reason keyCompromise/,
     '... SEC10304 names the CRL and the reason');
install_file($crl, src => $crl_good);
Time::HiRes::sleep($settle);

# 4. HTTP/2, CRL reload
$h = h2_requests(vhost => 'async_live', ssl => { %client_ok, SSL_version => 'TLSv1_2' }, timeout => 10,
                 paths => ['/info', change($crl, src => $crl_rev), '/info', '/info']);
is($h->{responses}[0]{status}, 200, 'h2: stream 1 gets 200 under the CRL that does not list client_ok');
is($h->{responses}[1]{status}, 403, 'h2: after the CRL revoking client_ok is loaded, the next stream gets 403');
is($h->{responses}[2]{status}, 403, '... and the one after it');
install_file($crl, src => $crl_good);
Time::HiRes::sleep($settle);

# 5. a change that does not concern client_ok: the connection keeps working (judged again, still GOOD)
$mark = error_log_mark();
($err, $resp) = keepalive_requests(vhost => 'async_live', ssl => { %client_ok, SSL_version => 'TLSv1_2' },
                                   timeout => 10, paths => ['/info', change($deny, data => $deny_other), '/info',
                                                            '/info']);
is($resp->[0]{status}, 200, 'keep-alive: first request 200');
is($resp->[1]{status}, 200, '... another certificate went on the deny list: the next request still gets 200');
is(revocation_of($resp->[1]), 'GOOD', '... GOOD');
ok(!$resp->[1]{close_header} && !$resp->[1]{eof}, '... and the connection stays open');
is($resp->[2]{status}, 200, '... and the request after it too');
unlike(error_log_since($mark), qr/SEC10304: /, '... nothing refused');
install_file($deny, data => "\n");
