# The online metrics of the secure-status page (Prometheus format): OCSP queries by responder and outcome,
# their duration histogram, the breaker gauge, and the verdict cache's lookups, each checked against the
# responder's own count of the requests it received. Config: t/conf/metrics.conf.in (metrics_ocsp_good: a
# real `openssl ocsp -index` responder; metrics_ocsp_garbage: bytes that are no OCSPResponse;
# metrics_ocsp_breaker: HTTP 500, SecureOCSPFailures 3, SecureOCSPRetry 3; responder tags of their own, so
# that nothing cached or tripped here changes t/ocsp_responder.t), with the default shmcb verdict cache.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(tls_request client wait_until);
use SecureOCSP qw(query_count responder_url make_pki);
use SecurePKI qw(scratch_ca issue);
use SecureMetrics qw(scrape value sum_of promtool promtool_bin);

plan tests => 14, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c');

make_pki();

sub with_cert {
    my ($vhost, $cert) = @_;
    my %c = ref $cert ? (SSL_cert_file => $cert->[0], SSL_key_file => $cert->[1]) : client($cert);
    return tls_request(vhost => $vhost, path => '/info', timeout => 15, ssl => { %c, SSL_version => 'TLSv1_2' });
}
sub page { return scrape(vhost => 'metrics_crl')->{body} }   # the page is the whole server's

# 1. Good, revoked and (a certificate the responder's index does not know) unknown answers through the real
# responder: every query it saw is counted once, with its outcome, and lands in the histogram; the cache
# answers the repeats (earlier tests may have cached client_ok and client_revoked already; an UNKNOWN answer
# is never cached here: SecureRevocationUnknownTTL 0).
my $good = responder_url('asf', 'good', 'mgood');
my $stranger = [issue(scratch_ca(SecureTest::t_logs() . '/metrics-ocsp-ca'), 'metrics-stranger')];
my $before = page();
my $q0 = query_count('mgood');
with_cert('metrics_ocsp_good', 'client_ok') for 1 .. 3;
my $r = with_cert('metrics_ocsp_good', 'client_revoked');
ok(!defined $r->{status}, 'client_revoked is refused by the OCSP answer');
with_cert('metrics_ocsp_good', $stranger) for 1 .. 2;
my $after = page();
my $asked = query_count('mgood') - $q0;
ok($asked >= 2, "the responder was asked $asked time(s) for 6 connections");
my $d = sub { my ($name, %l) = @_; return sum_of($after, $name, %l) - sum_of($before, $name, %l) };
is($d->('mod_secure_ocsp_queries_total', responder => $good), $asked,
   'mod_secure_ocsp_queries_total{responder=...} grew by what the responder received');
is($d->('mod_secure_ocsp_queries_total', responder => $good, result => 'unknown'), 2,
   '... the two for the certificate it does not know are result="unknown"');
is($d->('mod_secure_ocsp_query_duration_seconds_count', responder => $good), $asked, 'histogram count = queries');
is($d->('mod_secure_ocsp_query_duration_seconds_bucket', responder => $good, le => '+Inf'), $asked,
   'histogram +Inf bucket = queries');
is($d->('mod_secure_cache_lookups_total', provider => 'shmcb'), 6, 'one cache lookup per connection (shmcb)');
is($d->('mod_secure_cache_lookups_total', provider => 'shmcb', result => 'miss'), $asked,
   'every miss made one query, every hit none');

# 2. Garbage from the responder is an error of that responder.
my $garbage = responder_url('asf', 'garbage', 'mgarbage');
$before = page();
$q0 = query_count('mgarbage');
with_cert('metrics_ocsp_garbage', 'client_ok');
$after = page();
is($d->('mod_secure_ocsp_queries_total', responder => $garbage, result => 'error'), query_count('mgarbage') - $q0,
   'a garbage answer counts as result="error" (once per query the responder received)');

# 3. The breaker: three failures open it (gauge 1), the next connection is skipped without a query.
my $brk = responder_url('asf', 'error500', 'mbreaker');
ok(wait_until(8, sub { !(value(page(), 'mod_secure_ocsp_breaker_open', responder => $brk) // 0) }),
   'breaker closed (or half-open) at the start');
$before = page();
$q0 = query_count('mbreaker');
my $opened = 0;
for (1 .. 4) {
    with_cert('metrics_ocsp_breaker', 'client_ok');
    last if ($opened = value(page(), 'mod_secure_ocsp_breaker_open', responder => $brk) // 0);
}
is($opened, 1, 'failures open the breaker: mod_secure_ocsp_breaker_open = 1');
my $q1 = query_count('mbreaker');
with_cert('metrics_ocsp_breaker', 'client_ok');
$after = page();
is(query_count('mbreaker'), $q1, 'while open the responder is not asked');
is($d->('mod_secure_ocsp_queries_total', responder => $brk, result => 'skipped'), 1, '... and result="skipped" +1');

SKIP: {
    skip 'promtool not installed', 1 unless promtool_bin();
    my ($rc, $out) = promtool($after, 'check', 'metrics');
    is($rc, 0, 'promtool check metrics accepts the page with histograms') or diag($out);
}
