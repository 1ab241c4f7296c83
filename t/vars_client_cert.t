# Client-certificate variables, each checked against the certificate file itself (openssl x509).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Temp ();
use POSIX ();
use SecureTest qw(tls_request info_json env_lines run_cmd cert_file key_file sslca);

plan tests => 43, need_module('mod_ssl.c', 'mod_secure.c');

sub x509 {
    my ($file, @args) = @_;
    my ($rc, $out) = run_cmd(['openssl', 'x509', '-in', $file, '-noout', @args], '', 10);
    die "openssl x509 @args: $out" if $rc;
    chomp $out;
    return $out;
}

# "Nov 29 19:29:11 2027 GMT" -> "2027-11-29T19:29:11Z"
sub iso {
    my $d = shift;
    my %m; @m{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = (1 .. 12);
    my ($mon, $day, $h, $mi, $s, $y) = $d =~ /(\w{3})\s+(\d+)\s+(\d+):(\d+):(\d+)\s+(\d{4})/ or return '';
    return sprintf('%04d-%02d-%02dT%02d:%02d:%02dZ', $y, $m{$mon}, $day, $h, $mi, $s);
}

my $crt = cert_file('client_ok');
my $r = tls_request(vhost => 'secure_main', path => '/info',
                    ssl => { SSL_cert_file => $crt, SSL_key_file => key_file('client_ok'),
                             SSL_version => 'TLSv1_2' });
my $v = info_json($r);
is($r->{status}, 200, 'request with client_ok answered');
is($v->{SECURE_CLIENT_VERIFY}, 'SUCCESS', 'SECURE_CLIENT_VERIFY SUCCESS');

(my $sdn = x509($crt, '-subject', '-nameopt', 'RFC2253')) =~ s/^subject=//;
(my $idn = x509($crt, '-issuer', '-nameopt', 'RFC2253')) =~ s/^issuer=//;
is($v->{SECURE_CLIENT_S_DN}, $sdn, 'SECURE_CLIENT_S_DN = openssl x509 -subject (RFC 2253)');
is($v->{SECURE_CLIENT_I_DN}, $idn, 'SECURE_CLIENT_I_DN = openssl x509 -issuer (RFC 2253)');
my ($cn) = $sdn =~ /(?:^|,)CN=([^,]+)/;
is($v->{SECURE_CLIENT_S_DN_CN}, $cn, 'SECURE_CLIENT_S_DN_CN = CN of openssl x509 -subject');
{
    open my $fh, '<', $crt or die;
    local $/;
    my ($pem) = <$fh> =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n)/s;
    is($v->{SECURE_CLIENT_CERT}, $pem, 'SECURE_CLIENT_CERT = the PEM of the certificate file');
}
(my $serial = x509($crt, '-serial')) =~ s/^serial=//;
is($v->{SECURE_CLIENT_SERIAL}, uc $serial, 'SECURE_CLIENT_SERIAL = openssl x509 -serial');
(my $fp = x509($crt, '-fingerprint', '-sha256')) =~ s/^.*=//;
$fp =~ s/://g;
is($v->{SECURE_CLIENT_SHA256}, lc $fp, 'SECURE_CLIENT_SHA256 = openssl x509 -fingerprint -sha256');
{
    my ($rc, $pin) = run_cmd(['sh', '-c', "openssl x509 -in '$crt' -pubkey -noout | openssl pkey -pubin "
                              . "-outform der | openssl dgst -sha256 -binary | base64"], '', 10);
    chomp $pin;
    is($v->{SECURE_CLIENT_SPKI_SHA256}, $pin, 'SECURE_CLIENT_SPKI_SHA256 = RFC 7469 pin from openssl');
}
(my $nb = x509($crt, '-startdate')) =~ s/^notBefore=//;
(my $na = x509($crt, '-enddate')) =~ s/^notAfter=//;
is($v->{SECURE_CLIENT_NOT_BEFORE}, iso($nb), 'SECURE_CLIENT_NOT_BEFORE (ISO 8601 UTC)');
is($v->{SECURE_CLIENT_NOT_AFTER}, iso($na), 'SECURE_CLIENT_NOT_AFTER (ISO 8601 UTC)');
{
    my ($y, $mo, $d, $h, $mi, $s) = iso($na) =~ /(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z/;
    local $ENV{TZ} = 'UTC';
    POSIX::tzset();
    my $left = int((POSIX::mktime($s, $mi, $h, $d, $mo - 1, $y - 1900) - time) / 86400);
    ok(abs($v->{SECURE_CLIENT_DAYS_LEFT} - $left) <= 1, "SECURE_CLIENT_DAYS_LEFT $v->{SECURE_CLIENT_DAYS_LEFT} ~ $left");
}
my $bits = x509($crt, '-text') =~ /Public-Key: \((\d+) bit\)/ ? $1 : 0;
is($v->{SECURE_CLIENT_KEY}, "RSA-$bits", 'SECURE_CLIENT_KEY RSA-<bits>');
my $sigalg = x509($crt, '-text') =~ /Signature Algorithm: (\S+)/ ? $1 : '';
is($v->{SECURE_CLIENT_SIG_ALG}, $sigalg, 'SECURE_CLIENT_SIG_ALG = signature algorithm of the certificate');
is($v->{SECURE_CLIENT_SAN_EMAIL}, 'test-dev@httpd.apache.org', 'SECURE_CLIENT_SAN_EMAIL');
is($v->{SECURE_CLIENT_SAN_DNS}, '', 'SECURE_CLIENT_SAN_DNS empty: none in the certificate');
is($v->{SECURE_CLIENT_REVOCATION}, 'NONE', 'SECURE_CLIENT_REVOCATION NONE: no revocation checking configured on this vhost');

# The backend (CGI) gets the same values.
$r = tls_request(vhost => 'secure_main', path => '/cgi/env.pl',
                 ssl => { SSL_cert_file => $crt, SSL_key_file => key_file('client_ok') });
my $env = env_lines($r);
is($env->{SECURE_CLIENT_SHA256}, lc $fp, 'CGI sees SECURE_CLIENT_SHA256');
is($env->{SECURE_CLIENT_S_DN}, $sdn, 'CGI sees SECURE_CLIENT_S_DN');
is($env->{SECURE_CLIENT_S_DN}, $env->{SSL_CLIENT_S_DN} // $sdn, '... mod_ssl has no StdEnvVars here, or agrees');
ok(!exists $env->{SECURE_CLIENT_CERT}, 'SECURE_CLIENT_CERT not in the environment by default (SecureExportCertData off)');
{
    open my $fh, '<', $crt or die;
    local $/;
    my ($pem) = <$fh> =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n)/s;
    (my $escaped = $pem) =~ s/\n/\\n/g;     # env.pl prints newlines as \n
    $r = tls_request(vhost => 'secure_main', path => '/certdata/env.pl',
                     ssl => { SSL_cert_file => $crt, SSL_key_file => key_file('client_ok') });
    my $cd = env_lines($r);
    is($cd->{SECURE_CLIENT_CERT}, $escaped, 'SecureExportCertData on: the CGI gets SECURE_CLIENT_CERT, the PEM of the file');
    is($cd->{SECURE_CLIENT_SHA256}, lc $fp, '... and the other variables as before');
}

# An EC P-256 client certificate with DNS, URI and e-mail SANs, issued by the test CA during the test.
my $tmp = File::Temp::tempdir('certs-XXXXXX', DIR => Apache::Test::vars('t_logs'), CLEANUP => 1);
my $ca = sslca();
my @steps = (
    ['openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', "$tmp/ec.key"],
    ['openssl', 'req', '-new', '-key', "$tmp/ec.key", '-subj', '/CN=ec-client/O=mod_secure tests',
     '-out', "$tmp/ec.csr"],
);
my $ext = "$tmp/ext.cnf";
open my $fh, '>', $ext or die;
print $fh "subjectAltName=DNS:a.example,DNS:b.example,URI:spiffe://example.org/client,email:ec\@example.org\n"
        . "extendedKeyUsage=clientAuth\n";
close $fh;
push @steps, ['openssl', 'x509', '-req', '-in', "$tmp/ec.csr", '-CA', "$ca/certs/ca.crt", '-CAkey',
              "$ca/keys/ca.pem", '-passin', 'pass:httpd', '-set_serial', '0x1234ABCD', '-days', '30',
              '-sha384', '-extfile', $ext, '-out', "$tmp/ec.crt"];
my $made = 1;
for my $step (@steps) {
    my ($rc, $out) = run_cmd($step, '', 20);
    if ($rc) { diag("@$step: $out"); $made = 0; last }
}
ok($made, 'EC P-256 client certificate issued by the test CA');
$r = tls_request(vhost => 'secure_main', path => '/info',
                 ssl => { SSL_cert_file => "$tmp/ec.crt", SSL_key_file => "$tmp/ec.key" });
$v = info_json($r);
is($r->{status}, 200, 'request with the EC client certificate answered');
is($v->{SECURE_CLIENT_VERIFY}, 'SUCCESS', 'EC certificate verified');
is($v->{SECURE_CLIENT_KEY}, 'EC-P256', 'SECURE_CLIENT_KEY EC-P256');
is($v->{SECURE_CLIENT_SIG_ALG}, 'sha384WithRSAEncryption', 'SECURE_CLIENT_SIG_ALG sha384WithRSAEncryption');
is($v->{SECURE_CLIENT_SERIAL}, '1234ABCD', 'SECURE_CLIENT_SERIAL upper-case hex');
is($v->{SECURE_CLIENT_SAN_DNS}, 'a.example,b.example', 'SECURE_CLIENT_SAN_DNS comma-separated');
is("$v->{SECURE_CLIENT_SAN_DNS_0} $v->{SECURE_CLIENT_SAN_DNS_1}", 'a.example b.example', 'SECURE_CLIENT_SAN_DNS_0 and _1, in certificate order');
ok(!exists $v->{SECURE_CLIENT_SAN_DNS_2} && $v->{SECURE_CLIENT_SAN_IP} eq '' && !exists $v->{SECURE_CLIENT_SAN_IP_0}, '... no _2; SECURE_CLIENT_SAN_IP empty and no _0 without an IP address');
is($v->{SECURE_CLIENT_SAN_URI}, 'spiffe://example.org/client', 'SECURE_CLIENT_SAN_URI');
is($v->{SECURE_CLIENT_SAN_EMAIL}, 'ec@example.org', 'SECURE_CLIENT_SAN_EMAIL');
{
    my $e = env_lines(tls_request(vhost => 'secure_main', path => '/cgi/env.pl',
                                  ssl => { SSL_cert_file => "$tmp/ec.crt", SSL_key_file => "$tmp/ec.key" }));
    is(join(' ', map { $e->{$_} // '-' } qw(SECURE_CLIENT_SAN_DNS_0 SECURE_CLIENT_SAN_DNS_1 SECURE_CLIENT_SAN_DNS_2
                                           SECURE_CLIENT_SAN_URI_0 SECURE_CLIENT_SAN_EMAIL_0)),
       'a.example b.example - spiffe://example.org/client ec@example.org',
       'the CGI gets the numbered subjectAltName variables (and no _2)');
}
ok($v->{SECURE_CLIENT_DAYS_LEFT} == 29 || $v->{SECURE_CLIENT_DAYS_LEFT} == 30,
   "SECURE_CLIENT_DAYS_LEFT of a 30-day certificate: $v->{SECURE_CLIENT_DAYS_LEFT}");

# No client certificate: NONE and no certificate facts.
$r = tls_request(vhost => 'secure_main', path => '/info');
$v = info_json($r);
is($v->{SECURE_CLIENT_VERIFY}, 'NONE', 'no certificate: SECURE_CLIENT_VERIFY NONE');
ok(!exists $v->{SECURE_CLIENT_S_DN}, 'no certificate: no SECURE_CLIENT_S_DN');
ok(!exists $v->{SECURE_CLIENT_SHA256}, 'no certificate: no SECURE_CLIENT_SHA256');
is($v->{SECURE_CLIENT_REVOCATION}, 'NONE', 'no certificate: SECURE_CLIENT_REVOCATION NONE');

# A certificate the CA did not issue (self-signed), accepted by SSLVerifyClient optional_no_ca elsewhere,
# is refused here (optional): the handshake fails, nothing to report.
{
    my ($rc, $out) = run_cmd(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout',
                              "$tmp/self.key", '-out', "$tmp/self.crt", '-subj', '/CN=self', '-days', '2'], '', 30);
    $r = tls_request(vhost => 'secure_main', path => '/info',
                     ssl => { SSL_cert_file => "$tmp/self.crt", SSL_key_file => "$tmp/self.key",
                              SSL_version => 'TLSv1_2' });
    is($rc, 0, 'made a self-signed client certificate (openssl req -x509 succeeded)') or diag($out);
    ok(defined $r->{error}, "unknown-CA client certificate refused by mod_ssl: " . ($r->{error} // 'no error'));
    like($r->{error} // '', qr/alert unknown ca/, '... with the alert unknown_ca (48), mod_ssl\'s answer');
}
