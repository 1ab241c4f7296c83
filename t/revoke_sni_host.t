# Which vhost judges a request (issue 9, finding 1). Three name-based vhosts share one port with the same
# mod_ssl settings (t/conf/revoke_request.conf.in), so mod_ssl lets a request name another vhost than
# the TLS handshake ran under:
#   www.revoke    the port's default: no revocation source, SecureRevocationUnknown allow
#   admin.revoke  SecureDenyList naming client_ok (written below), SecureRevocationUnknown allow
#   crl.revoke    the asf CRL (client_ok GOOD), SecureRevocationUnknown defer, /good needs
#                 `Require secure-revocation good`
# A request must get the verdict of the vhost that serves it (r->server), however the connection was
# made: SNI of another vhost, no SNI at all, or HTTP/2 connection coalescing.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(tls_request info_json s_client cert_file key_file vhost_port run_cmd error_log_mark
                  error_log_since alert_of client);
use SecureRevoke qw(install_file);
use SecurePKI qw(fingerprint_of);

plan tests => 26, need_module('mod_ssl.c', 'mod_secure.c');

my $deny = Apache::Test::config()->{vars}->{t_logs} . '/revoke/request/admin-deny.txt';
my %client_ok = (client('client_ok'));
my $port = vhost_port('revoke_sni');

install_file($deny, data => 'sha256 ' . fingerprint_of(cert_file('client_ok')) . "\n");
Time::HiRes::sleep(2.5);        # SecureCRLCheckInterval 1, in every child

sub get {
    my (%a) = @_;
    return tls_request(vhost => 'revoke_sni', path => $a{path} // '/info', sni => $a{sni}, host => $a{host},
                       ssl => { SSL_version => 'TLSv1_2', %client_ok, %{ $a{ssl} || {} } });
}

# ---- the vhost named by SNI judges the handshake --------------------------------------------------
my ($rc, $out) = s_client(vhost => 'revoke_sni', sni => 'admin.revoke', host => 'admin.revoke', path => '/info',
                          args => ['-tls1_2', '-cert', cert_file('client_ok'), '-key', key_file('client_ok')]);
is(alert_of($out), 44, 'SNI admin.revoke: client_ok (on its deny list) is refused at the handshake, alert 44');

my $r = get(sni => 'www.revoke', host => 'www.revoke');
is($r->{status}, 200, 'SNI www.revoke, Host www.revoke: 200') or diag($r->{error} // '');
is(info_json($r)->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', '... SECURE_CLIENT_REVOCATION UNKNOWN (www has no source)');

# ---- another vhost named by Host judges the request ---------------------------------------------------
my $mark = error_log_mark();
$r = get(sni => 'www.revoke', host => 'admin.revoke');
ok(!$r->{error}, 'SNI www.revoke, Host admin.revoke: mod_ssl serves the request (same SSL settings)')
    or diag($r->{error});
isnt($r->{status}, 200, '... but not with 200');
ok(($r->{status} // 0) == 403 || ($r->{status} // 0) == 421, "... 403 or 421 (got " . ($r->{status} // 'none') . ')');
unlike($r->{body} // '', qr/SECURE_CLIENT_REVOCATION/, '... and no content');
like(error_log_since($mark), qr/SEC10304: admin\.revoke:\d+: client 127\.0\.0\.1 refused \(403[^)]*\) on a request for vhost admin\.revoke:\d+, whose revocation rules differ from those of the handshake's vhost www\.revoke:\d+: certificate '[^']*CN=client_ok[^']*' .*\(source denylist/,
     '... SEC10304 names the vhost, the handshake vhost, the certificate and the deny list');

$r = get(sni => '', host => 'admin.revoke');
ok(!$r->{error}, 'no SNI (handshake under the default vhost www.revoke), Host admin.revoke: a response')
    or diag($r->{error});
isnt($r->{status}, 200, '... not 200');
is($r->{status}, 403, '... 403');

# a vhost without the certificate on a deny list still gets 200 on a connection made for admin's name?
# No: SNI admin refuses the handshake (above). The other way round: SNI crl (GOOD), Host www (UNKNOWN,
# allow) is fine, and the variables say what www's rules say.
$r = get(sni => 'crl.revoke', host => 'www.revoke');
is($r->{status}, 200, 'SNI crl.revoke, Host www.revoke: 200 (www allows unknown)');
is(info_json($r)->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', "... SECURE_CLIENT_REVOCATION is www's verdict, UNKNOWN, not crl's GOOD");

$r = get(sni => 'www.revoke', host => 'crl.revoke');
is($r->{status}, 200, 'SNI www.revoke, Host crl.revoke: 200');
my $v = info_json($r);
is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', "... SECURE_CLIENT_REVOCATION is crl's verdict, GOOD");
is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'crl', '... from the CRL');

# ---- Require secure-revocation reads the verdict of the request's vhost ------------------------------
$r = get(sni => 'crl.revoke', host => 'www.revoke', path => '/good');
is($r->{status}, 403, "SNI crl.revoke (GOOD), Host www.revoke, 'Require secure-revocation good': 403 (www: UNKNOWN)");
$r = get(sni => 'www.revoke', host => 'crl.revoke', path => '/good');
is($r->{status}, 200, "SNI www.revoke (UNKNOWN), Host crl.revoke, 'Require secure-revocation good': 200 (crl: GOOD)");
$r = get(sni => 'crl.revoke', host => 'crl.revoke', path => '/good');
is($r->{status}, 200, "SNI and Host crl.revoke, 'Require secure-revocation good': 200");

# ---- the same on one keep-alive connection: www, then admin (refused), in that order --------------------
$r = get(sni => 'www.revoke', host => 'www.revoke', ssl => { client('client_revoked') });
is($r->{status}, 200, 'client_revoked (not on the deny list) over SNI www.revoke, Host www.revoke: 200');
$r = get(sni => 'www.revoke', host => 'admin.revoke', ssl => { client('client_revoked') });
is($r->{status}, 200, '... and Host admin.revoke: 200 (admin refuses only its deny list; a re-check is no blanket refusal)');

# ---- HTTP/2 connection coalescing: one connection (SNI www.revoke), a request for admin.revoke ---------
SKIP: {
    skip 'mod_http2 not loaded', 5 unless Apache::Test::have_module('mod_http2.c');
    skip 'no curl', 5 unless `curl --version 2>/dev/null` =~ /HTTP2/;
    my @curl = ('curl', '-sk', '--http2', '--max-time', '10', '--resolve', "www.revoke:$port:127.0.0.1",
                '--cert', cert_file('client_ok'), '--key', key_file('client_ok'),
                '-w', '\nHTTP_VERSION=%{http_version} STATUS=%{http_code}\n');
    ($rc, $out) = run_cmd([@curl, "https://www.revoke:$port/info"], '', 20);
    like($out, qr/HTTP_VERSION=2 STATUS=200/, 'h2, SNI and :authority www.revoke: 200 over HTTP/2') or diag($out);
    $mark = error_log_mark();
    ($rc, $out) = run_cmd([@curl, '-H', 'Host: admin.revoke', "https://www.revoke:$port/info"], '', 20);
    like($out, qr/HTTP_VERSION=2 /, 'h2, SNI www.revoke, :authority admin.revoke: answered over the one HTTP/2 connection')
        or diag($out);
    unlike($out, qr/STATUS=200/, '... not with 200');
    like($out, qr/STATUS=(?:403|421)/, '... 403 or 421');
    like(error_log_since($mark), qr/SEC10304: admin\.revoke:\d+: client 127\.0\.0\.1 refused \(403, HTTP\/2/,
         '... SEC10304 for admin.revoke');
}

install_file($deny, data => "\n");
