# Report mode (t/conf/policy.conf.in, vhost policy_report: SecurePolicy intermediate, SecurePolicyMode report,
# over a mod_ssl that allows TLS 1.0+ at security level 0): clients the profile forbids are served, and the
# violation shows in the variables, the counters and a rate-limited error-log line.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureTest qw(tls_request info_json env_lines error_log_mark error_log_since);
use SecurePolicy qw(status_json);

plan tests => 22, need_module('mod_ssl.c', 'mod_secure.c');

sub get {
    my (%ssl) = @_;
    return tls_request(vhost => 'policy_report', path => '/info', ssl => \%ssl);
}

my $before = status_json('policy_report');
ok(exists $before->{policy_violation_cipher}, 'status ?json has the per-rule policy counters');

# TLS 1.1 + a CBC cipher: both rules, in the issue's own example words.
my $mark = error_log_mark();
my $r = get(SSL_version => 'TLSv1_1', SSL_cipher_list => 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0');
is($r->{status}, 200, 'report: a TLS 1.1 ECDHE-RSA-AES128-SHA client is served');
is($r->{version}, 'TLSv1.1', '... over TLS 1.1 (client view)');
my $v = info_json($r);
is($v->{SECURE_POLICY}, 'intermediate', 'SECURE_POLICY = intermediate');
is($v->{SECURE_POLICY_MODE}, 'report', 'SECURE_POLICY_MODE = report');
is($v->{SECURE_POLICY_RESULT}, 'violation', 'SECURE_POLICY_RESULT = violation');
is($v->{SECURE_POLICY_VIOLATION}, "protocol:TLSv1.1 cipher:$r->{cipher}",
   'SECURE_POLICY_VIOLATION names the protocol and the cipher the client negotiated');
like(error_log_since($mark),
     qr/SEC10230: vhost [^,]+, client 127\.0\.0\.1: SecurePolicy intermediate \(report mode\) would refuse this connection: protocol:TLSv1\.1 cipher:ECDHE-RSA-AES128-SHA/,
     'one warning line names the vhost, the client, the profile and the rules (SEC10230)');

# TLS 1.2 with a CBC cipher (no TLS 1.1 needed).
$r = get(SSL_version => 'TLSv1_2', SSL_cipher_list => 'ECDHE-RSA-AES128-SHA');
$v = info_json($r);
is($r->{status}, 200, 'report: TLS 1.2 ECDHE-RSA-AES128-SHA is served');
is($v->{SECURE_POLICY_VIOLATION}, 'cipher:ECDHE-RSA-AES128-SHA', '... SECURE_POLICY_VIOLATION = cipher:ECDHE-RSA-AES128-SHA');

# TLS 1.3 over a group the profile does not list.
$r = get(SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'secp521r1');
$v = info_json($r);
is($r->{status}, 200, 'report: TLS 1.3 over secp521r1 is served');
is($v->{SECURE_POLICY_VIOLATION}, 'group:secp521r1', '... SECURE_POLICY_VIOLATION = group:secp521r1');

# A compliant client passes.
$r = get(SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'X25519');
$v = info_json($r);
is($v->{SECURE_POLICY_RESULT}, 'pass', 'report: a compliant TLS 1.3 client: SECURE_POLICY_RESULT = pass');
is($v->{SECURE_POLICY_VIOLATION}, undef, '... and no SECURE_POLICY_VIOLATION');

# The variables reach a CGI too.
$r = tls_request(vhost => 'policy_report', path => '/cgi/env.pl',
                 ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'AES256-SHA' });
my $env = env_lines($r);
is($env->{SECURE_POLICY_RESULT}, 'violation', 'CGI sees SECURE_POLICY_RESULT');
is($env->{SECURE_POLICY_VIOLATION}, 'cipher:AES256-SHA', 'CGI sees SECURE_POLICY_VIOLATION');

my $after = status_json('policy_report');
is($after->{policy_violation_protocol} - $before->{policy_violation_protocol}, 1, 'counter policy_violation_protocol +1');
is($after->{policy_violation_cipher} - $before->{policy_violation_cipher}, 3, 'counter policy_violation_cipher +3');
is($after->{policy_violation_group} - $before->{policy_violation_group}, 1, 'counter policy_violation_group +1');
is($after->{policy_violation} - $before->{policy_violation}, 4, 'counter policy_violation +4 (one per violating connection)');

# Rate limit: a burst of the same violation writes far fewer lines than connections (one per process and
# 10 s window), and nothing is refused.
$mark = error_log_mark();
my $served = 0;
for (1 .. 8) {
    $r = get(SSL_version => 'TLSv1_2', SSL_cipher_list => 'AES128-SHA256');
    $served++ if ($r->{status} // 0) == 200;
}
my @lines = error_log_since($mark) =~ /SEC10230: .*cipher:AES128-SHA256/g;
is($served, 8, 'a burst of 8 violating connections: all served');
cmp_ok(scalar(@lines), '<', 8, 'the burst wrote fewer report lines than connections (' . scalar(@lines) . ')');
