# HTTP/2 and the request-time re-check. Vhost revoke_h2: Protocols h2 http/1.1, SecureCRL (client_ok
# GOOD), SecureDenyList h2-deny.txt checked every second. A client keeps its TLS session while client_ok
# is put on the deny list, then resumes it over h2: a resumed session runs no verify callback, so the
# first request (stream 1) is re-checked and refused. mod_http2 offers a request no way to end its
# connection (doc/revoke.md), so mod_secure refuses every later stream on that connection too.
# (Per-directory SSLVerifyClient cannot reach the re-check over h2: mod_ssl refuses the renegotiation and
# mod_http2 resets the stream with HTTP_1_1_REQUIRED, so the client retries over HTTP/1.1.)
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(cert_file key_file error_log_mark error_log_since client_ctx s_client alert_of client);
use SecureRevoke qw(h2_requests install_file);
use SecurePKI qw(fingerprint_of);

plan tests => 12, need_module('mod_ssl.c', 'mod_secure.c', 'mod_http2.c');

my $cfg = Apache::Test::config();
my $deny = $cfg->{vars}->{t_logs} . '/revoke/h2-deny.txt';
my %client_ok = (client('client_ok'));
sub revocation_of { my $r = shift; return ($r->{body} // '') =~ /"SECURE_CLIENT_REVOCATION"\s*:\s*"(\w+)"/ ? $1 : '' }

# a full handshake over h2 with client_ok; the client context keeps the session
# ALPN belongs to the context: IO::Socket::SSL takes it from SSL_reuse_ctx, not from the socket options
my $ctx = client_ctx(SSL_version => 'TLSv1_2', SSL_alpn_protocols => ['h2'], %client_ok);
my $h = h2_requests(vhost => 'revoke_h2', ctx => $ctx, paths => ['/info']);
is($h->{alpn}, 'h2', 'the client speaks h2') or diag($h->{error} // '');
is($h->{responses}[0]{status}, 200, 'client_ok over h2: stream 1 gets 200');
is(revocation_of($h->{responses}[0]), 'GOOD', '... SECURE_CLIENT_REVOCATION GOOD');

# client_ok goes on the deny list; the server sees it within the check interval
install_file($deny, data => 'sha256 ' . fingerprint_of(cert_file('client_ok')) . "\n");
Time::HiRes::sleep(2.5);
my ($rc, $out) = s_client(vhost => 'revoke_h2', path => '/info',
                          args => ['-tls1_2', '-cert', cert_file('client_ok'), '-key', key_file('client_ok')]);
is(alert_of($out), 44, 'a new handshake with client_ok is refused with alert 44 (deny list in force)');

# the old session, resumed over h2: three streams one after the other on the one connection
my $mark = error_log_mark();
$h = h2_requests(vhost => 'revoke_h2', ctx => $ctx, paths => ['/info', '/info', '/info']);
is($h->{reused}, 1, 'the client resumed its session over h2 (no certificate verification)');
is($h->{alpn}, 'h2', '... still h2');
is($h->{responses}[0]{status}, 403, '... stream 1 gets 403');
is($h->{responses}[1]{status}, 403, '... a later stream on the same connection gets 403 too');
unlike($h->{responses}[1]{body}, qr/SECURE_CLIENT_REVOCATION/, '... and no content');
is(scalar(grep { ($_->{status} // '') eq '403' } @{ $h->{responses} }), scalar @{ $h->{responses} },
   '... every request sent on it is refused') or diag(explain($h));
my $log = error_log_since($mark);
like($log, qr/SEC10304: .*refused \(403, HTTP\/2: every later request on this connection to a vhost with these revocation rules refused too\) on the first request of a resumed session: certificate '[^']*CN=client_ok.*source denylist/,
     'stream 1: SEC10304 names the resumed session and the deny list');
like($log, qr/SEC10315: .*client 127\.0\.0\.1 refused \(403\) on a later request of a connection already refused/,
     'later streams: SEC10315');

install_file($deny, data => "\n");
