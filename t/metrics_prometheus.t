# The secure-status page in the Prometheus text format 0.0.4 (t/conf/metrics.conf.in: metrics_crl with
# Apache::TestSSLCA's CRL and a deny list of three entries; metrics_report, modern in report mode;
# metrics_live, a watched CRL directory). promtool validates the page; every value is checked against the
# truth: the CRL file read by openssl, the deny list, the connections and handshakes this test makes.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use Time::HiRes ();
use Time::Local qw(timegm);
use SecureTest qw(tls_request s_client cert_file key_file client alert_of vhost_port run_cmd wait_until);
use SecureRevoke qw(install_file);
use SecurePKI qw(scratch_ca gencrl);
use SecureMetrics qw(scrape series value sum_of promtool promtool_bin);

plan tests => 41, need_module('mod_ssl.c', 'mod_secure.c');

my $cfg = Apache::Test::config();
my $crl_file = SecureTest::sslca() . '/crl/ca-bundle.crl';

# The vhost label of a test vhost: "name:port" of its port.
sub label_of {
    my ($text, $vhost) = @_;
    my $port = vhost_port($vhost);
    my %seen = map { $_->[1]{vhost} => 1 } grep { ($_->[1]{vhost} // '') =~ /:\Q$port\E$/ } series($text);
    my @l = keys %seen;
    return @l == 1 ? $l[0] : undef;
}

# "Dec  2 03:30:00 2027 GMT" (openssl's date) as seconds since the epoch
sub openssl_time {
    my $t = shift;
    my %mon; @mon{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = 0 .. 11;
    $t =~ /^(\w{3})\s+(\d+)\s+(\d+):(\d+):(\d+)\s+(\d{4})\s+GMT/ or return undef;
    return timegm($5, $4, $3, $2, $mon{$1}, $6);
}

# 1. Content negotiation: ?prometheus and a Prometheus scrape's Accept header get 0.0.4; HTML and ?json stay.
my $r = scrape(vhost => 'metrics_crl');
is($r->{status}, 200, '?prometheus answers 200');
like($r->{headers}{'content-type'} // '', qr{^text/plain; version=0\.0\.4}, '... as text/plain; version=0.0.4');
my $prom_accept = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,'
                . 'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
$r = scrape(vhost => 'metrics_crl', path => '/status', accept => $prom_accept);
like($r->{headers}{'content-type'} // '', qr{^text/plain; version=0\.0\.4}, "Prometheus' own Accept header gets 0.0.4");
like($r->{headers}{vary} // '', qr/Accept/, '... with Vary: Accept');
$r = scrape(vhost => 'metrics_crl', path => '/status?prometheus=');
like($r->{headers}{'content-type'} // '', qr{^text/plain; version=0\.0\.4}, '?prometheus= (a params: entry of a scrape config) gets 0.0.4');
$r = scrape(vhost => 'metrics_crl', path => '/status', accept => 'text/plain;version=0.0.4');
like($r->{headers}{'content-type'} // '', qr{^text/plain; version=0\.0\.4}, 'Accept: text/plain;version=0.0.4 gets 0.0.4');
$r = scrape(vhost => 'metrics_crl', path => '/status', accept => 'text/html,*/*;q=0.8');
like($r->{headers}{'content-type'} // '', qr{^text/html}, 'a browser still gets HTML');
$r = scrape(vhost => 'metrics_crl', path => '/status?json');
ok(eval { JSON::PP->new->decode($r->{body})->{connections} } // 0 > 0, '?json still answers the counters');

# 2. promtool accepts the page.
SKIP: {
    skip 'promtool not installed (build/deps installs it)', 2 unless promtool_bin();
    $r = scrape(vhost => 'metrics_crl');
    my ($rc, $out) = promtool($r->{body}, 'check', 'metrics');
    is($rc, 0, 'promtool check metrics: exit 0') or diag($out);
    is($out, '', '... and no lint finding') or diag($out);
}

# 3. The CRL gauges equal what openssl reads from the file in force.
my $page = scrape(vhost => 'metrics_crl')->{body};
my $vh = label_of($page, 'metrics_crl');
ok(defined $vh, "metrics_crl has one vhost label ($vh)");
my ($nu_text) = `openssl crl -in $crl_file -noout -nextupdate` =~ /nextUpdate=(.+)/;
my ($issuer) = `openssl crl -in $crl_file -noout -issuer -nameopt RFC2253` =~ /issuer=(.+)/;
my $entries = () = `openssl crl -in $crl_file -noout -text` =~ /Serial Number:/g;
my %crl = (vhost => $vh, file => $crl_file, issuer => $issuer);
is(value($page, 'mod_secure_crl_next_update_timestamp_seconds', %crl), openssl_time($nu_text),
   "mod_secure_crl_next_update_timestamp_seconds = openssl crl -nextupdate ($nu_text)");
is(value($page, 'mod_secure_crl_entries', %crl), $entries, "mod_secure_crl_entries = $entries serials in the file");
my $reload = value($page, 'mod_secure_crl_last_reload_timestamp_seconds', %crl) // 0;
my $started = (stat("$cfg->{vars}->{t_logs}/httpd.pid"))[9];
ok($reload >= $started - 5 && $reload <= time, 'last reload: when the server started');
is(value($page, 'mod_secure_denylist_entries', vhost => $vh), 3, 'mod_secure_denylist_entries = the 3 valid lines');
like((grep { $_->[0] eq 'mod_secure_denylist_entries' && $_->[1]{vhost} eq $vh } series($page))[0][1]{file} // '',
     qr{/conf/metrics-deny\.txt$}, '... labelled with the deny-list file');

# 4. Connections and handshakes: four TLS 1.3 connections (IO::Socket::SSL), three TLS 1.2 (openssl s_client,
# which says which group and cipher it got); the second scrape is one more TLS 1.3 connection.
my $before = scrape(vhost => 'metrics_crl')->{body};
my $cipher13;
for (1 .. 4) {
    my $x = tls_request(vhost => 'metrics_crl', path => '/info', ssl => { SSL_version => 'TLSv1_3' });
    $cipher13 = $x->{cipher};
}
my ($group12, $cipher12) = ('', '');
for (1 .. 3) {
    my ($rc, $out) = s_client(vhost => 'metrics_crl', path => '/info', args => ['-tls1_2']);
    ($group12) = $out =~ /Server Temp Key: (\w+)/;
    ($cipher12) = $out =~ /Cipher is (\S+)/;
}
my ($iana12) = `openssl ciphers -stdname $cipher12` =~ /^(TLS_\S+)\s+- \Q$cipher12\E\s/m;
my $after = scrape(vhost => 'metrics_crl')->{body};
my $delta = sub { my ($name, %l) = @_; return sum_of($after, $name, %l) - sum_of($before, $name, %l) };
is($delta->('mod_secure_connections_total', vhost => $vh), 8, 'connections_total grew by the 8 connections made');
is($delta->('mod_secure_tls_handshakes_total', vhost => $vh, version => 'TLSv1.3'), 5,
   'handshakes_total{version="TLSv1.3"} grew by 5');
is($delta->('mod_secure_tls_handshakes_total', vhost => $vh, version => 'TLSv1.2', group => lc $group12), 3,
   "handshakes_total{version=\"TLSv1.2\",group=\"\L$group12\E\"} grew by 3 (the group s_client reports)");
is($delta->('mod_secure_tls_ciphers_total', vhost => $vh, cipher => $iana12), 3,
   "ciphers_total{cipher=\"$iana12\"} grew by 3 ($cipher12 for s_client)");
is($delta->('mod_secure_tls_ciphers_total', vhost => $vh, cipher => $cipher13), 5,
   "ciphers_total{cipher=\"$cipher13\"} grew by 5");
is($delta->('mod_secure_tls_handshakes_total', vhost => $vh), 8, 'no other handshake counted');

# 5. Revocation verdicts: client_revoked is refused (alert 44), client_ok is good, both from the CRL.
$before = $after;
my ($rc, $out) = s_client(vhost => 'metrics_crl', path => '/info',
                          args => ['-tls1_2', '-cert', cert_file('client_revoked'), '-key', key_file('client_revoked')]);
is(alert_of($out), 44, 'client_revoked refused (alert 44)');
$r = tls_request(vhost => 'metrics_crl', path => '/info', ssl => { SSL_version => 'TLSv1_3', client('client_ok') });
is($r->{status}, 200, 'client_ok served');
$after = scrape(vhost => 'metrics_crl')->{body};
is($delta->('mod_secure_revocation_verdicts_total', vhost => $vh, status => 'revoked', source => 'crl'), 1,
   'revocation_verdicts_total{status="revoked",source="crl"} +1');
is($delta->('mod_secure_revocation_verdicts_total', vhost => $vh, status => 'good', source => 'crl'), 1,
   'revocation_verdicts_total{status="good",source="crl"} +1');
is($delta->('mod_secure_revocation_verdicts_total', vhost => $vh), 2, '... and nothing else');
is($delta->('mod_secure_connections_total', vhost => $vh), 3, 'connections +3 (revoked, good, scrape)');
is($delta->('mod_secure_tls_handshakes_total', vhost => $vh), 2, 'handshakes +2: the refused one never finished');

# 6. Policy verdicts in report mode (modern): TLS 1.2 is a violation of the protocol rule, TLS 1.3 passes.
$before = $after;
$r = tls_request(vhost => 'metrics_report', path => '/info', ssl => { SSL_version => 'TLSv1_2' });
is($r->{status}, 200, 'report mode serves TLS 1.2');
tls_request(vhost => 'metrics_report', path => '/info', ssl => { SSL_version => 'TLSv1_3' });
$after = scrape(vhost => 'metrics_crl')->{body};
my $rep = label_of($after, 'metrics_report');
is($delta->('mod_secure_policy_verdicts_total', vhost => $rep, result => 'violation', rule => 'protocol'), 1,
   'policy_verdicts_total{result="violation",rule="protocol"} +1');
is($delta->('mod_secure_policy_verdicts_total', vhost => $rep, result => 'pass', rule => 'none'), 1,
   'policy_verdicts_total{result="pass",rule="none"} +1');
is($delta->('mod_secure_policy_verdicts_total', vhost => $rep), 2, '... and nothing else');
is($delta->('mod_secure_connections_total', vhost => $rep), 2, 'connections of metrics_report +2 (the vhost SNI chose)');

# 7. Gauges follow a reload in the serving processes: a CRL put into metrics_live's directory shows up with
# its own nextUpdate; replaced by one with another nextUpdate, the gauge follows; removed, the series goes.
my $live = "$cfg->{vars}->{t_logs}/metrics-crl";
my $ca = scratch_ca("$cfg->{vars}->{t_logs}/metrics-ca");
my $lv = label_of($after, 'metrics_live');
ok(defined $lv && !grep({ $_->[0] =~ /^mod_secure_crl_entries$/ && $_->[1]{vhost} eq $lv } series($after)),
   'metrics_live: no CRL series while its directory is empty');
my $truth = sub {
    my $f = shift;
    my ($t) = `openssl crl -in $f -noout -nextupdate` =~ /nextUpdate=(.+)/;
    return openssl_time($t);
};
my $nu_of = sub {
    my $p = scrape(vhost => 'metrics_crl')->{body};
    return value($p, 'mod_secure_crl_next_update_timestamp_seconds', vhost => $lv, file => "$live/a.crl");
};
install_file("$live/a.crl", src => gencrl($ca, "$cfg->{vars}->{t_logs}/metrics-ca/c1.pem", hours => 48));
my $want = $truth->("$live/a.crl");
ok(wait_until(10, sub { ($nu_of->() // -1) == $want }), 'a CRL added to the directory: gauge = its nextUpdate');
Time::HiRes::sleep(1.1);    # another second, so that the next CRL's nextUpdate differs
install_file("$live/a.crl", src => gencrl($ca, "$cfg->{vars}->{t_logs}/metrics-ca/c2.pem", hours => 72));
my $want2 = $truth->("$live/a.crl");
ok($want2 > $want, 'the replacement CRL has a later nextUpdate (openssl)');
ok(wait_until(10, sub { ($nu_of->() // -1) == $want2 }), 'replaced: the gauge follows to the new nextUpdate');
# every process serves the new CRL: ten scrapes over new connections (any child) all agree
my %seen;
$seen{ $nu_of->() // 'none' }++ for 1 .. 10;
is(join(',', keys %seen), $want2, 'ten scrapes (any child) agree on the gauge');
unlink "$live/a.crl";
ok(wait_until(10, sub { !defined $nu_of->() }), 'removed: the series is gone');

# 8. A file that does not load is counted per file.
my $bad = "$live/bad.crl";
open(my $fh, '>', $bad) or die; print $fh "not a CRL\n"; close $fh;
ok(wait_until(10, sub { (value(scrape(vhost => 'metrics_crl')->{body}, 'mod_secure_crl_reload_failures_total',
                           vhost => $lv, file => $bad) // 0) >= 1 }),
   'a broken file: mod_secure_crl_reload_failures_total{file=...} >= 1');
unlink $bad;
