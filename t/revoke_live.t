# Live changes without a restart (vhost revoke_live: SecureCRL directory, SecureDenyList, interval 1 s,
# SecureRevocationUnknown defer), and no bypass through session resumption. The server runs the event
# MPM with several children; each checks the files itself, so every assertion after a change waits
# twice the interval and then checks several new connections.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(tls_request info_json env_lines s_client cert_file key_file error_log_mark error_log_since
                  client_ctx alert_of client);
use SecureRevoke qw(install_file);
use SecurePKI qw(scratch_ca revoke gencrl serial_of fingerprint_of crl_text);

plan tests => 26, need_module('mod_ssl.c', 'mod_secure.c');

my $cfg = Apache::Test::config();
my $rv = $cfg->{vars}->{t_logs} . '/revoke';
my $live = "$rv/live/asf.crl";
my $deny = "$rv/deny.txt";
my $settle = 2.5;            # SecureCRLCheckInterval 1: every child has looked after 2 s

sub info { my ($n, %o) = @_; my $r = tls_request(vhost => 'revoke_live', path => '/info', ssl => { client($n), %{ $o{ssl} || {} } }, %o); return ($r, info_json($r)) }
# several new connections (spread over the children) with client_ok: how many got a response / what alerts
sub probe {
    my $n = shift || 6;
    my (%alerts, $ok);
    for (1 .. $n) {
        my ($rc, $out) = s_client(vhost => 'revoke_live', path => '/info',
                                  args => ['-tls1_2', '-cert', cert_file('client_ok'), '-key', key_file('client_ok')]);
        if ($out =~ /HTTP\/1\.1 200/) { $ok++ } else { $alerts{alert_of($out) // 'none'}++ }
    }
    return ($ok // 0, join(',', map { "${_}x$alerts{$_}" } sort keys %alerts));
}
sub settle { Time::HiRes::sleep($settle) }

# 1. a CRL added to the watched directory is picked up (no CRL at start: UNKNOWN under defer)
my ($r, $v) = info('client_ok');
is($v->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', 'empty CRL directory: client_ok UNKNOWN (defer)');
my $ca = scratch_ca("$rv/ca");
install_file($live, src => gencrl($ca, "$rv/ca/crl0.pem"));
settle();
($r, $v) = info('client_ok');
is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'CRL added to the directory: client_ok GOOD, no restart');
is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'crl', '... source crl');

# 2. revoke client_ok at the CA, publish the new CRL atomically: refused, same server process
my $pid_before = `cat $cfg->{vars}->{t_logs}/httpd.pid`;
revoke($ca, cert_file('client_ok'), 'keyCompromise');
my $crl1 = gencrl($ca, "$rv/ca/crl1.pem");
like(crl_text($crl1), qr/Serial Number: 0*${\ serial_of(cert_file('client_ok'))}\b.*?Key Compromise/si,
     'the new CRL (openssl crl) revokes client_ok for keyCompromise');
# a session saved while client_ok is still good, for the resumption check below
my $ctx = client_ctx(SSL_version => 'TLSv1_2', client('client_ok'));
$r = tls_request(vhost => 'revoke_live', path => '/info', ctx => $ctx);
is($r->{status}, 200, 'session with client_ok established before the new CRL is in force');
my $mark = error_log_mark();
install_file($live, src => $crl1);
settle();
my ($ok, $alerts) = probe();
is($ok, 0, 'after the CRL change no new connection with client_ok gets a response');
is($alerts, '44x6', '... every one ends with alert 44');
is(`cat $cfg->{vars}->{t_logs}/httpd.pid`, $pid_before, '... and the server was not restarted');
like(error_log_since($mark), qr/SEC10406: .*CRL \Q$live\E .*reloaded/, 'the reload is logged');

# 3. resumption: the session from before the change is resumed; the first request is re-checked
$mark = error_log_mark();
$r = tls_request(vhost => 'revoke_live', path => '/info', ctx => $ctx, keepalive => 1);
is($r->{reused}, 1, 'the client resumed its session (no certificate verification in the handshake)');
is($r->{status}, 403, '... the first request gets 403');
is($r->{closed}, 1, '... and the server closes the connection (the client asked for keep-alive)');
my $env = env_lines($r);      # ErrorDocument 403 /cgi/env.pl shows the verdict
is($env->{REDIRECT_SECURE_CLIENT_REVOCATION} // $env->{SECURE_CLIENT_REVOCATION}, 'REVOKED', '... SECURE_CLIENT_REVOCATION REVOKED');
is($env->{REDIRECT_SECURE_CLIENT_REVOCATION_REASON} // $env->{SECURE_CLIENT_REVOCATION_REASON}, 'keyCompromise', '... REASON keyCompromise');
my ($date) = crl_text($crl1, '-nameopt', 'RFC2253') =~ /Serial Number: 0*${\ serial_of(cert_file('client_ok'))}\s+Revocation Date: (\w+ +\d+ [\d:]+ \d+) GMT/s;
my $want_date = '';
if ($date) {
    my %mon; @mon{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = (1 .. 12);
    my ($m, $d, $t, $y) = split /\s+/, $date;
    $want_date = sprintf('%04d-%02d-%02dT%sZ', $y, $mon{$m}, $d, $t);
}
is($env->{REDIRECT_SECURE_CLIENT_REVOCATION_DATE} // $env->{SECURE_CLIENT_REVOCATION_DATE}, $want_date, '... DATE = the CRL entry\'s revocation date');
like(error_log_since($mark), qr/SEC10304: .*refused \(403, connection closed\) on the first request of a resumed session: certificate '[^']*CN=client_ok/,
     '... logged with the reason');

# 4. a corrupt, then a truncated CRL: the last good one stays in force, the failure is logged
for my $bad (['corrupt', "-----BEGIN X509 CRL-----\nbm90IGEgY3Js\n-----END X509 CRL-----\n"],
             ['truncated', substr(do { local $/; open my $fh, '<', $crl1 or die; <$fh> }, 0, 400)]) {
    $mark = error_log_mark();
    install_file($live, data => $bad->[1]);
    settle();
    ($ok, $alerts) = probe(4);
    is("$ok/$alerts", '0/44x4', "$bad->[0] CRL: the previous CRL still refuses client_ok");
    like(error_log_since($mark), qr/SEC10405: .*CRL file \Q$live\E refused: .*previously loaded version of this file stays in force/,
         "... the $bad->[0] file is refused with a logged reason");
}

# 5. an expired CRL (nextUpdate 1 s after issuing): status UNKNOWN, never GOOD
my $ca2 = scratch_ca("$rv/ca2");                         # client_ok not revoked here
install_file($live, src => gencrl($ca2, "$rv/ca2/short.pem", secs => 1));
Time::HiRes::sleep($settle + 1);
($r, $v) = info('client_ok');
is($v->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', 'expired CRL: client_ok UNKNOWN, not GOOD');
install_file($live, src => gencrl($ca2, "$rv/ca2/fresh.pem"));
settle();
($r, $v) = info('client_ok');
is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'a fresh CRL again: GOOD');

# 6. deny list, added live: by fingerprint, then by serial + issuer DN
my $fp = fingerprint_of(cert_file('client_ok'));
install_file($deny, data => "# test\nsha256 $fp\nbogus line\n");
$mark = error_log_mark();
settle();
($ok, $alerts) = probe(4);
is("$ok/$alerts", '0/44x4', 'deny list by SHA-256 fingerprint: client_ok refused with alert 44');
like(error_log_since($mark), qr/SEC10310: .*deny\.txt line 3 ignored/, '... the bad line is reported with its line number');
my $issuer = `openssl x509 -in ${\ cert_file('client_ok')} -noout -issuer -nameopt RFC2253`;
$issuer =~ s/^issuer=//; chomp $issuer;
install_file($deny, data => "serial " . serial_of(cert_file('client_ok')) . " $issuer\n");
settle();
($ok, $alerts) = probe(4);
is("$ok/$alerts", '0/44x4', 'deny list by serial + issuer DN: client_ok refused');
install_file($deny, data => "\n");
settle();
($r, $v) = info('client_ok');
is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'deny list emptied: client_ok GOOD again');
