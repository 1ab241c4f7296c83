# Certificates that mod_ssl asks for inside a subrequest, and 'Satisfy Any' (issue 9, finding 7).
# Vhost revoke_subreq (t/conf/revoke_request.conf.in): SSLVerifyClient none, the asf CRL (revokes
# client_revoked);
#   /revoke_request/ssi/page.shtml      SSI page: <!--#include virtual="/revoke_request/secret/secret.txt" -->
#   /revoke_request/secret/             SSLVerifyClient require (TLS 1.2 renegotiation, here in a subrequest)
#   /revoke_request/satisfy/            SSLVerifyClient require + Basic auth (Require valid-user) + Satisfy Any
# A revoked certificate obtained in the include's subrequest must not have its content served, and a
# revocation refusal must not be overridden by valid credentials under 'Satisfy Any'.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Digest::SHA ();
use MIME::Base64 ();
use SecureTest qw(tls_request cert_file key_file error_log_mark error_log_since client);
use SecureRevoke qw(keepalive_requests);

plan tests => 14, need_module('mod_ssl.c', 'mod_secure.c', 'mod_include.c', 'mod_auth_basic.c',
                              'mod_authn_file.c', 'mod_access_compat.c');

my $rv = Apache::Test::config()->{vars}->{t_logs} . '/revoke/request';
# keepalive_requests hands back a chunked body as it came
sub dechunk {
    my $b = shift // '';
    my $out = '';
    while ($b =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
        my $len = hex $1;
        last if $len == 0;
        $out .= substr($b, 0, $len, '');
        $b =~ s/\A\r\n//;
    }
    return $out;
}

# ---- SSI include virtual: the certificate arrives in the subrequest --------------------------------
my ($err, $resp) = keepalive_requests(vhost => 'revoke_subreq', paths => ['/revoke_request/ssi/page.shtml'],
                                      ssl => { SSL_version => 'TLSv1_2', client('client_ok') });
like(dechunk($resp->[0]{body}), qr/page-start\s+SECRET-SUBREQUEST-CONTENT\s+page-end/,
     'client_ok: the SSI page includes the content that asked for its certificate (renegotiation in a subrequest)')
    or diag($err // $resp->[0]{error} // explain($resp));

my $mark = error_log_mark();
($err, $resp) = keepalive_requests(vhost => 'revoke_subreq', paths => ['/revoke_request/ssi/page.shtml',
                                                                       '/revoke_request/ssi/page.shtml'],
                                   ssl => { SSL_version => 'TLSv1_2', client('client_revoked') });
my $body = dechunk($resp->[0]{body});
like($body, qr/page-start/, 'client_revoked: the SSI page itself is served') or diag($err // explain($resp));
unlike($body, qr/SECRET-SUBREQUEST-CONTENT/, '... without the content of the subrequest that got the revoked certificate');
like($body, qr/\[an error occurred while processing this directive\]/, '... whose include fails');
# the page's headers were on their way before the include ran, so no "Connection: close": the server
# closes the connection after the page instead
is($resp->[0]{status}, 200, '... with the status the page began with');
ok(@$resp == 2 && !defined $resp->[1]{status} && $resp->[1]{eof},
   '... and the server closes the connection after it: the second request gets no response')
    or diag(explain($resp));
like(error_log_since($mark), qr/SEC10304: \S+: client 127\.0\.0\.1 refused \(403, connection closed\) on a certificate received in a subrequest \(renegotiation or post-handshake authentication\): certificate '[^']*CN=client_revoked/,
     '... SEC10304 names the subrequest and the certificate');

# ---- 'Satisfy Any': valid credentials do not override a revocation refusal -------------------------
{
    open my $fh, '>', "$rv/htpasswd" or die "$rv/htpasswd: $!";
    print {$fh} 'alice:{SHA}' . MIME::Base64::encode_base64(Digest::SHA::sha1('wonderland'), '') . "\n";
    close $fh;
}
my %auth = (Authorization => 'Basic ' . MIME::Base64::encode_base64('alice:wonderland', ''));

my $r = tls_request(vhost => 'revoke_subreq', path => '/revoke_request/satisfy/secret.txt', headers => \%auth,
                    ssl => { SSL_version => 'TLSv1_2', client('client_ok') });
is($r->{status}, 200, "Satisfy Any: client_ok with valid credentials gets 200") or diag($r->{error} // '');
like($r->{body} // '', qr/SECRET-SATISFY-CONTENT/, '... and the content');

$mark = error_log_mark();
$r = tls_request(vhost => 'revoke_subreq', path => '/revoke_request/satisfy/secret.txt', headers => \%auth,
                 ssl => { SSL_version => 'TLSv1_2', client('client_revoked') });
is($r->{status}, 403, "Satisfy Any: client_revoked with valid credentials gets 403, not 200")
    or diag($r->{error} // '');
unlike($r->{body} // '', qr/SECRET-SATISFY-CONTENT/, '... and no content');
my $log = error_log_since($mark);
like($log, qr/SEC10304: \S+: client 127\.0\.0\.1 refused \(403, connection closed\) on a certificate received after the handshake \(renegotiation or post-handshake authentication\): certificate '[^']*CN=client_revoked/,
     '... refused in the access check (SEC10304)');
like($log, qr/SEC11101: \S+: client 127\.0\.0\.1 refused \(403\) before the handler: the access check refused its client certificate, and authentication under 'Satisfy Any' would have let the request through/,
     '... and again before the handler, where Satisfy Any cannot reach (SEC11101)');

$r = tls_request(vhost => 'revoke_subreq', path => '/revoke_request/satisfy/secret.txt',
                 ssl => { SSL_version => 'TLSv1_2', client('client_revoked') });
isnt($r->{status} // 0, 200, 'Satisfy Any: client_revoked without credentials is not served either');
