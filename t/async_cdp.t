# CRL distribution-point downloads off the handshake path, once per server (issue 12, the gaps left:
# "the first download of a CDP CRL happens in a handshake", "CDP downloads are single-flight per process
# only"). A URL that needs a download gets one job on the child's background thread; handshakes wait for
# it (SecureRevocationFirstSeen wait, at most SecureOCSPTimeout) or answer at once (unknown); across the
# processes of a server, one download per URL is in flight (the shared in-flight markers) and the others
# take the CRL from the spool that download left (DefaultRuntimeDir/mod_secure-crlfetch), verified again.
# Setup: the generated CA (t/lib/SecureOCSP.pm); its leaves name a CDP on the main test server,
# /ocsp/crl.cgi/<mode>/<tag> (t/htdocs/ocsp/crl.cgi), which serves ocsp-pki/ca.crl slowly (delay<ms>) or
# hangs (hang<s>) and counts each download in t/logs/ocsp-count-<tag>.log.
#  - "cdpwait" (event, one process, SecureOCSPTimeout 1, CDP hanging 4 s): 6 handshakes with 3 different
#    certificates at once: all UNKNOWN within the timeout, one download between them, and that download
#    ran on a thread that served no connection (the error_log's tid).
#  - "cdpunk" (SecureRevocationFirstSeen unknown, CDP answering in 1 s): 4 handshakes at once answer
#    UNKNOWN "pending" at once; the one download then answers the next handshake.
#  - "cdpherd" (event, 2 processes x 10 threads, CDP answering in 1 s): 16 handshakes with 16 different
#    certificates at once, served by both processes: all GOOD crl-fetch, exactly 1 download at the CDP.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use POSIX ();
use Time::HiRes ();
use SecureTest qw(tls_request info_json t_logs);
use SecureOCSP qw(at_once query_count make_pki make_crl gen_dir start_instance stop_all spare_port_base instance_vhost
                  main_port);

plan tests => 13, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c');

my $base = spare_port_base() + 52;
my %port = (wait => $base, unk => $base + 1, herd => $base + 2);
sub cdp { return 'http://127.0.0.1:' . main_port() . "/ocsp/crl.cgi/$_[0]/$_[1]" }
my @wait = map { "cw$_" } 1 .. 3;
my @unk = map { "cu$_" } 1 .. 2;
my @herd = map { "ch$_" } 1 .. 16;
make_pki((map { $_ => { cdp => cdp('hang4', 'cdpwait') } } @wait),
         (map { $_ => { cdp => cdp('delay1000', 'cdpunk') } } @unk),
         (map { $_ => { cdp => cdp('delay1000', 'cdpherd') } } @herd));
my $gen = gen_dir();
make_crl(600);
unlink map { t_logs() . "/ocsp-count-$_.log" } qw(cdpwait cdpunk cdpherd);

sub vhost {
    my ($port, $extra) = @_;
    return instance_vhost($port, "$gen/ca.crt", "    SecureCRLFetch on\n    SecureRevocationUnknown allow\n"
                                                . ($extra // ''));
}

sub tally { my %n; $n{ join ' ', (split / /)[0 .. 2] }++ for @_; return \%n }
sub slowest { my $m = 0; for (@_) { my $t = (split / /)[3]; $m = $t if $t > $m } return $m }
sub words { my $n = shift; return join(', ', map { "$_: $n->{$_}" } sort keys %$n) }
sub log_lines {
    my ($name, $re) = @_;
    open my $fh, '<', t_logs() . "/inst-$name/logs/error_log" or return ();
    return grep { /$re/ } <$fh>;
}
sub tid_of { my ($t) = $_[0] =~ /\btid (\d+)\]/; return $t // 'none' }

# 1. FirstSeen wait, a hanging distribution point: bounded, one download, not on a connection's thread
start_instance(name => 'cdpwait', mpm => 'event', ports => [$port{wait}],
               conf => "SecureRevocationUnknownTTL 0\n"
                       . vhost($port{wait}, "    SecureOCSPTimeout 1\n    SecureOCSPFailures 100\n"));
{
    my @res = at_once(map { [$port{wait}, $_] } (@wait) x 2);
    my $n = tally(@res);
    is($n->{'200 UNKNOWN crl-fetch'}, 6, 'hanging CDP, FirstSeen wait: 6 handshakes (3 certificates) all UNKNOWN '
       . 'crl-fetch (' . words($n) . ')');
    cmp_ok(slowest(@res), '<', 2.5, sprintf('... the slowest answered %.2f s after they started '
           . '(SecureOCSPTimeout 1; the CDP hangs 4 s)', slowest(@res)));
    is(query_count('cdpwait'), 1, '... and the CDP received exactly 1 download request');
    my @failed = log_lines('cdpwait', qr/SEC10550: /);
    my %conn_tids = map { tid_of($_) => 1 } log_lines('cdpwait', qr/AH01964: Connection to child/);
    ok(@failed == 1 && keys(%conn_tids) >= 1 && !$conn_tids{ tid_of($failed[0]) },
       '... the download ran on a thread that served no connection (tid ' . tid_of($failed[0] // '')
       . ' vs connection threads ' . join(',', sort keys %conn_tids) . ')');
}
stop_all();

# 2. FirstSeen unknown, a slow distribution point: answered at once, downloaded once in the background
start_instance(name => 'cdpunk', mpm => 'event', ports => [$port{unk}],
               conf => vhost($port{unk}, "    SecureOCSPTimeout 5\n    SecureRevocationFirstSeen unknown\n"));
{
    my @res = at_once(map { [$port{unk}, $_] } (@unk) x 2);
    my $n = tally(@res);
    is($n->{'200 UNKNOWN pending'}, 4, 'slow CDP (1 s), FirstSeen unknown: 4 handshakes answered UNKNOWN pending ('
       . words($n) . ')');
    cmp_ok(slowest(@res), '<', 0.9, sprintf('... at once: the slowest in %.2f s', slowest(@res)));
    my $deadline = Time::HiRes::time() + 10;
    Time::HiRes::sleep(0.2) while !log_lines('cdpunk', qr/SEC10551: /) && Time::HiRes::time() < $deadline;
    Time::HiRes::sleep(0.3);
    my @after = at_once(map { [$port{unk}, $_] } @unk);
    is_deeply([map { join ' ', (split / /)[0 .. 1] } @after], ['200 GOOD', '200 GOOD'],
              'once the background download is in, both certificates are GOOD (' . join('; ', @after) . ')');
    is(query_count('cdpunk'), 1, '... after exactly 1 download for the 6 handshakes');
}
stop_all();

# 3. the herd across two processes: one download per server
start_instance(name => 'cdpherd', mpm => 'event', ports => [$port{herd}],
               conf => "StartServers 2\nServerLimit 2\nThreadsPerChild 10\nMaxRequestWorkers 20\n"
                       . "MinSpareThreads 10\nMaxSpareThreads 20\n"
                       . vhost($port{herd}, "    SecureOCSPTimeout 5\n"));
{
    my @res = at_once(map { [$port{herd}, $_] } @herd);
    my $n = tally(@res);
    is($n->{'200 GOOD crl-fetch'}, 16, 'herd: 16 concurrent handshakes, 16 certificates, one CDP: all GOOD '
       . 'crl-fetch (' . words($n) . ')');
    is(query_count('cdpherd'), 1, 'herd: the CDP (1 s per answer) received exactly 1 download request');
    open my $al, '<', t_logs() . '/inst-cdpherd/logs/access_log' or die "access_log: $!";
    my %pids = map { (split / /)[0] => 1 } grep { / GOOD / } <$al>;
    cmp_ok(scalar(keys %pids), '>=', 2, 'herd: served by ' . scalar(keys %pids) . ' processes');
    cmp_ok(scalar(log_lines('cdpherd', qr/SEC11705: .*took the CRL of .* from the spool/)), '>=', 1,
           '... the other process took the CRL from the spool (SEC11705)');
    cmp_ok(slowest(@res), '<', 6, sprintf('herd: all done in %.2f s', slowest(@res)));
}
stop_all();
