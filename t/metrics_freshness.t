# Freshness warnings for loaded CRLs (SecureCRLExpiryWarning, default 24h), on the reload path: a CRL close
# to its nextUpdate is a warning (SEC11500), a CRL past nextUpdate + SecureCRLMaxStale an error (SEC11501)
# naming the vhost and the issuer whose certificates are now UNKNOWN; each at most once an hour per CRL for
# the whole server (several children reload every second here). Vhost metrics_live (t/conf/metrics.conf.in):
# a watched CRL directory, SecureCRLCheckInterval 1, SecureCRLMaxStale 0, SecureRevocationUnknown allow.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(tls_request info_json client error_log_mark error_log_since wait_until config_test vhost_port);
use SecureRevoke qw(install_file);
use SecurePKI qw(scratch_ca gencrl);

plan tests => 12, need_module('mod_ssl.c', 'mod_secure.c');

my $cfg = Apache::Test::config();
my $logs = $cfg->{vars}->{t_logs};
my $dir = "$logs/metrics-crl";
my $file = "$dir/fresh.crl";
my $ca = scratch_ca("$logs/metrics-fresh-ca");
my $port = vhost_port('metrics_live');
my ($issuer) = `openssl x509 -in $ca->{dir}/ca.crt -noout -subject -nameopt RFC2253` =~ /subject=(.+)/;
sub revocation { return info_json(tls_request(vhost => 'metrics_live', path => '/info',
                                              ssl => { client('client_ok') }))->{SECURE_CLIENT_REVOCATION} // '' }
sub count_of { my ($tag, $log) = @_; return scalar(() = $log =~ /\Q$tag\E: [^\n]*\Q$file\E/g) }

# 1. the directive checks its value
my $load = "LoadModule ssl_module \@MODDIR\@/mod_ssl.so\nLoadModule secure_module \@SECURE_SO\@\n";
my ($rc, $out) = config_test("${load}SecureCRLExpiryWarning soon\n");
ok($rc != 0 && $out =~ /SecureCRLExpiryWarning: 'soon' is not a valid duration/, 'httpd -t refuses SecureCRLExpiryWarning soon')
    or diag($out);
($rc, $out) = config_test("${load}SecureCRLExpiryWarning 400d\n");
ok($rc != 0 && $out =~ /SecureCRLExpiryWarning: '400d'/, 'httpd -t refuses 400 days (more than a year)') or diag($out);
($rc, $out) = config_test("${load}SecureCRLExpiryWarning 2h\n");
is($rc, 0, 'httpd -t accepts 2h') or diag($out);

# 2. a CRL two hours before its nextUpdate: one warning for the whole server, naming vhost, issuer and file
my $mark = error_log_mark();
install_file($file, src => gencrl($ca, "$ca->{dir}/soon.pem", hours => 2));
ok(wait_until(8, sub { count_of('SEC11500', error_log_since($mark)) >= 1 }), 'a CRL 2 h from nextUpdate: warning SEC11500');
my $log = error_log_since($mark);
like($log, qr/SEC11500: localhost:$port: the CRL of issuer '\Q$issuer\E' \(file \Q$file\E\) expires soon: nextUpdate \S+, in 1[12]\d min \(SecureCRLExpiryWarning 86400 s\)/,
     '... naming the vhost, the issuer, the file and the time left');
Time::HiRes::sleep(3);      # three more reloads in every child
is(count_of('SEC11500', error_log_since($mark)), 1, '... once, not per child or per reload');
is(revocation(), 'GOOD', 'the CRL is still fresh: client_ok GOOD');

# 3. a CRL whose nextUpdate passes in 3 s (SecureCRLMaxStale 0): then an error, and the status is UNKNOWN
$mark = error_log_mark();
install_file($file, src => gencrl($ca, "$ca->{dir}/short.pem", secs => 3));
ok(wait_until(12, sub { count_of('SEC11501', error_log_since($mark)) >= 1 }), 'nextUpdate passed: error SEC11501');
$log = error_log_since($mark);
like($log, qr/SEC11501: localhost:$port: the CRL of issuer '\Q$issuer\E' \(file \Q$file\E\) is stale: .*SecureCRLMaxStale \(0 s\) is used up; client certificates from this issuer are now UNKNOWN on this vhost \(SecureRevocationUnknown allow\)/,
     '... naming the vhost and the issuer now UNKNOWN');
like($log, qr/\[secure:error\][^\n]*SEC11501/, '... at level error');
is(revocation(), 'UNKNOWN', 'and the serving processes agree: client_ok UNKNOWN');
Time::HiRes::sleep(3);
is(count_of('SEC11501', error_log_since($mark)), 1, 'the error is written once');
unlink $file;
