# Single-flight and bounded concurrency of the online revocation sources (issue 12, items 1 and 5).
# Setup: a generated CA (t/lib/SecureOCSP.pm) and the responder CGI of the main test server, made slow
# (delay<ms>) or hanging (hang<s>) through its URL; each query is one line in its counter file.
#  - instance "herd" (event MPM, 2 child processes x 10 threads, shared shmcb verdict cache):
#    40 new connections at the same moment with one certificate, responder answering in 0.5 s: every
#    one GOOD, at most 1 responder query, connections served by both processes.
#  - instance "cap" (event MPM, one process) with SecureOCSPMaxInflight 1: 4 different certificates at
#    once, responder answering in 1.5 s: 1 query, 3 handshakes take the unknown answer without a socket.
#  - instance "hang" (responder hanging 4 s, SecureOCSPTimeout 1): 6 connections at once with one
#    certificate: one query, every handshake answered (UNKNOWN) within the timeout.
#  - instance "probe" (SecureOCSPFailures 1, SecureOCSPRetry 2, SecureOCSPTimeout 1, hanging responder):
#    once the retry time passed, 5 different certificates at once send exactly one probe.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use POSIX ();
use Time::HiRes ();
use SecureTest qw(tls_request info_json t_logs config_test);
use SecureOCSP qw(at_once query_count responder_url make_pki gen_dir start_instance stop_all spare_port_base
                  instance_vhost);

plan tests => 23, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c');

my $base = spare_port_base() + 33;
my %port = (herd => $base, cap => $base + 1, probe => $base + 2, hang => $base + 3, herdnc => $base + 4);
my @cap = map { "cap$_" } 1 .. 4;
my @probe = map { "probe$_" } 0 .. 5;
make_pki(map { $_ => {} } 'herd', 'herdnc', 'hang', @cap, @probe);
my $gen = gen_dir();

# Config-time check: httpd -t refuses a bad SecureOCSPMaxInflight, naming the directive and the value.
my $load = "LoadModule ssl_module \@MODDIR\@/mod_ssl.so\nLoadModule secure_module \@SECURE_SO\@\n";
for my $bad ('0', '1001', 'many') {
    my ($rc, $out) = config_test("${load}SecureOCSPMaxInflight $bad\n");
    ok($rc != 0 && $out =~ /SecureOCSPMaxInflight: '\Q$bad\E' is not allowed; use a whole number from 1 to 1000/,
       "httpd -t refuses 'SecureOCSPMaxInflight $bad' with a precise message") or diag($out);
}

sub vhost {
    my ($port, $url, $extra) = @_;
    return instance_vhost($port, "$gen/ca.crt", "    SecureOCSP on\n    SecureOCSPResponder \"$url\"\n"
                                                . ($extra // ''));
}

sub tally { my %n; $n{ join ' ', (split / /)[0 .. 2] }++ for @_; return \%n }
sub log_count {
    my ($name, $re) = @_;
    open my $fh, '<', t_logs() . "/inst-$name/logs/error_log" or return 0;
    return scalar grep { /$re/ } <$fh>;
}

# 1. the herd: 40 connections, one certificate, 2 processes
start_instance(name => 'herd', mpm => 'event', ports => [$port{herd}],
               conf => "StartServers 2\nServerLimit 2\nThreadsPerChild 10\nMaxRequestWorkers 20\n"
                       . "MinSpareThreads 10\nMaxSpareThreads 20\n"
                       . vhost($port{herd}, responder_url('gen', 'delay500', 'herd'), "    SecureOCSPTimeout 5\n"));
{
    my $t = Time::HiRes::time();
    my @res = at_once(map { [$port{herd}, 'herd'] } 1 .. 40);
    my $spent = Time::HiRes::time() - $t;
    my $n = tally(@res);
    is(($n->{'200 GOOD ocsp'} // 0) + ($n->{'200 GOOD cache'} // 0), 40,
       'herd: 40 concurrent connections with one certificate are all GOOD ('
       . join(', ', map { "$_: $n->{$_}" } sort keys %$n) . ')');
    is(query_count('herd'), 1, 'herd: the responder (0.5 s per answer) received exactly 1 query');
    open my $al, '<', t_logs() . '/inst-herd/logs/access_log' or die "access_log: $!";
    my %pids = map { (split / /)[0] => 1 } grep { / GOOD / } <$al>;
    cmp_ok(scalar(keys %pids), '>=', 2, 'herd: served by ' . scalar(keys %pids) . ' processes (the marker is '
           . 'shared across processes)');
    cmp_ok($spent, '<', 15, sprintf('herd: all 40 done in %.1f s', $spent));
}
stop_all();

# 1b. the same herd without a verdict cache (SecureRevocationCache none): the leader's answer stays in the
# shared in-flight marker for 2 s, so the other process's waiters take it instead of querying again
start_instance(name => 'herdnc', mpm => 'event', ports => [$port{herdnc}],
               conf => "StartServers 2\nServerLimit 2\nThreadsPerChild 10\nMaxRequestWorkers 20\n"
                       . "MinSpareThreads 10\nMaxSpareThreads 20\nSecureRevocationCache none\n"
                       . vhost($port{herdnc}, responder_url('gen', 'delay500', 'herdnc'), "    SecureOCSPTimeout 5\n"));
{
    my @res = at_once(map { [$port{herdnc}, 'herdnc'] } 1 .. 40);
    my $n = tally(@res);
    is($n->{'200 GOOD ocsp'} // 0, 40, 'herd without a cache: 40 concurrent connections all GOOD from the one '
       . 'query (' . join(', ', map { "$_: $n->{$_}" } sort keys %$n) . ')');
    is(query_count('herdnc'), 1, 'herd without a cache: the responder received exactly 1 query');
    open my $al, '<', t_logs() . '/inst-herdnc/logs/access_log' or die "access_log: $!";
    my %pids = map { (split / /)[0] => 1 } grep { / GOOD / } <$al>;
    cmp_ok(scalar(keys %pids), '>=', 2, 'herd without a cache: served by ' . scalar(keys %pids) . ' processes');
}
stop_all();

# 2. SecureOCSPMaxInflight 1: one process, four certificates, a slow responder
start_instance(name => 'cap', mpm => 'event', ports => [$port{cap}],
               conf => "SecureRevocationUnknownTTL 0\n"
                       . vhost($port{cap}, responder_url('gen', 'delay1500', 'cap'),
                               "    SecureOCSPTimeout 5\n    SecureOCSPMaxInflight 1\n"
                               . "    SecureRevocationUnknown allow\n"));
{
    my @res = at_once(map { [$port{cap}, $_] } @cap);
    my $n = tally(@res);
    is($n->{'200 GOOD ocsp'}, 1, 'cap 1: one handshake got its answer from the responder ('
       . join(', ', map { "$_: $n->{$_}" } sort keys %$n) . ')');
    is($n->{'200 UNKNOWN ocsp'}, 3, '... three took the unknown answer (SecureRevocationUnknown allow)');
    is(log_count('cap', qr/SEC10303: .*SecureOCSPMaxInflight/), 3, '... each logged saying why (SEC10303: '
       . 'SecureOCSPMaxInflight)');
    is(query_count('cap'), 1, '... and the responder received exactly 1 query');
    cmp_ok(log_count('cap', qr/SEC11604: /), '>=', 1, '... logged (SEC11604, rate-limited)');
}
stop_all();

# 2b. a hanging responder: concurrent handshakes with one certificate share the one query and none waits
#     longer than SecureOCSPTimeout (1 s) plus the handshake
start_instance(name => 'hang', mpm => 'event', ports => [$port{hang}],
               conf => "SecureRevocationUnknownTTL 0\n"
                       . vhost($port{hang}, responder_url('gen', 'hang4', 'hang'),
                               "    SecureOCSPTimeout 1\n    SecureOCSPFailures 100\n"
                               . "    SecureRevocationUnknown allow\n"));
{
    my $t = Time::HiRes::time();
    my @res = at_once(map { [$port{hang}, 'hang'] } 1 .. 6);
    my $spent = Time::HiRes::time() - $t - 1.0;     # at_once starts the clients 1 s from now
    my $n = tally(@res);
    is($n->{'200 UNKNOWN ocsp'}, 6, 'hanging responder: six concurrent handshakes with one certificate all UNKNOWN ('
       . join(', ', map { "$_: $n->{$_}" } sort keys %$n) . ')');
    is(query_count('hang'), 1, '... after one query between them');
    cmp_ok($spent, '<', 2.5, sprintf('... all answered %.2f s after they started (SecureOCSPTimeout 1)', $spent));
}
stop_all();

# 3. the half-open probe: the responder hangs longer than the timeout
start_instance(name => 'probe', mpm => 'event', ports => [$port{probe}],
               conf => "SecureRevocationUnknownTTL 0\n"
                       . "StartServers 2\nServerLimit 2\nThreadsPerChild 10\nMaxRequestWorkers 20\n"
                       . "MinSpareThreads 10\nMaxSpareThreads 20\n"
                       . vhost($port{probe}, responder_url('gen', 'hang3', 'probe'),
                               "    SecureOCSPTimeout 1\n    SecureOCSPFailures 1\n    SecureOCSPRetry 2\n"
                               . "    SecureRevocationUnknown allow\n"));
{
    my @res = at_once([$port{probe}, 'probe0']);
    is(join(' ', (split / /, $res[0])[0 .. 2]), '200 UNKNOWN ocsp', 'probe: the hanging responder times out: UNKNOWN');
    is(log_count('probe', qr/SEC10504: /), 1, '... and the circuit opens (SEC10504)');
    my $before = query_count('probe');
    Time::HiRes::sleep(2.5);           # past SecureOCSPRetry 2 (whole seconds)
    @res = at_once(map { [$port{probe}, "probe$_"] } 1 .. 5);
    my $n = tally(@res);
    is($n->{'200 UNKNOWN ocsp'}, 5, 'probe: five handshakes after the retry time: all UNKNOWN');
    is(query_count('probe') - $before, 1, '... and exactly one probe reached the responder');
    is(log_count('probe', qr/SEC10303: .*half-open/), 4, '... the other four held back by the half-open circuit');
}
stop_all();
