# Every place that cites the guideline a profile follows (t/conf/policy2.conf.in): the SECURE_POLICY_VERSION
# variable, the SecurePolicy help text of `httpd -L`, and the secure-status page.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureTest qw(tls_request info_json run_cmd httpd_bin);

plan tests => 16, need_module('mod_ssl.c', 'mod_secure.c');

my $r = tls_request(vhost => 'policy2_inter', path => '/info', ssl => { SSL_version => 'TLSv1_3' });
is($r->{status}, 200, 'intermediate: a TLS 1.3 client gets through');
is(info_json($r)->{SECURE_POLICY_VERSION}, 'mozilla-6.0 intermediate', 'SECURE_POLICY_VERSION = mozilla-6.0 intermediate');
$r = tls_request(vhost => 'policy2_old', path => '/info',
                 ssl => { SSL_version => 'TLSv1_1', SSL_cipher_list => 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0' });
is($r->{version}, 'TLSv1.1', 'old: a TLS 1.1 client gets through');
my $v = info_json($r);
is($v->{SECURE_POLICY_VERSION}, 'mozilla-5.8 old', 'SECURE_POLICY_VERSION = mozilla-5.8 old');
is($v->{SECURE_POLICY_RESULT}, 'pass', '... and passes old');
$r = tls_request(vhost => 'policy2_old', path => '/info',
                 ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'DHE-RSA-AES128-GCM-SHA256' });
ok(defined $r->{error} && !defined $r->{status}, 'old (5.8): DHE-RSA-AES128-GCM-SHA256, which 5.7 had, fails the handshake');

my ($rc, $out) = run_cmd([httpd_bin(), '-L', '-f', Apache::Test::config()->{vars}->{t_conf_file}], '', 30);
like($out, qr/modern\|intermediate\|old\|nist-800-52r2\|cnsa: the TLS profile/, 'httpd -L: SecurePolicy names all five profiles');
like($out, qr/intermediate \(Mozilla Server Side TLS v6\.0\): TLSv1\.2 to TLSv1\.3/, '... intermediate cites Mozilla v6.0');
like($out, qr/old \(Mozilla Server Side TLS v5\.8\): TLSv1 to TLSv1\.3; TLS<=1\.2 ciphers: ECDHE-ECDSA-AES128-GCM-SHA256.*?; groups: X25519MLKEM768:X25519:prime256v1:secp384r1/,
     '... old cites Mozilla v5.8, with 5.8\'s groups');
like($out, qr/nist-800-52r2 \(NIST SP 800-52 Rev\. 2 \(2019\), sections [^)]*\): TLSv1\.2 to TLSv1\.3; .*client keys: rsa:2048 ec:256/,
     '... nist-800-52r2 cites SP 800-52 Rev. 2 with its sections');
like($out, qr/cnsa \(CNSA 1\.0 for TLS, RFC 9151 sections [^)]*\): TLSv1\.2 to TLSv1\.3; TLS<=1\.2 ciphers: ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384; TLS 1\.3 suites: TLS_AES_256_GCM_SHA384; groups: secp384r1:ffdhe3072:ffdhe4096; client keys: rsa:3072 ec:384/,
     '... cnsa cites RFC 9151 and lists exactly its suites, groups and key floors');
like($out, qr/SecureMinProtocol \(mod_secure\.c\)\s+TLSv1\.2\|TLSv1\.3: raise the lowest protocol version \(the profile's, or mod_ssl's without SecurePolicy\)/, '... SecureMinProtocol\'s help says it works without SecurePolicy');

$r = tls_request(vhost => 'policy2_ctl', path => '/status');
is($r->{status}, 200, 'secure-status answers');
like($r->{body}, qr{<tr><td>intermediate</td><td>mozilla-6\.0</td><td>Mozilla Server Side TLS v6\.0</td></tr>}, '... its profile table cites mozilla-6.0 for intermediate');
like($r->{body}, qr{<tr><td>old</td><td>mozilla-5\.8</td>}, '... mozilla-5.8 for old');
like($r->{body}, qr{<tr><td>cnsa</td><td>cnsa-1\.0</td><td>CNSA 1\.0 for TLS, RFC 9151}, '... and cnsa-1.0 for cnsa');
