# The Prometheus alerting rules shipped in conf/mod_secure-alerts.yml: promtool accepts them, promtool's rule
# unit tests (t/conf/metrics-alerts-test.yml) see each alert fire when it should and stay silent otherwise,
# and every metric the rules name is one the running server exports (a misspelt name would never fire).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use FindBin ();
use SecureMetrics qw(scrape promtool promtool_bin);

plan tests => 4, need_module('mod_ssl.c', 'mod_secure.c');

my $src = $ENV{SECURE_SRC} && -d "$ENV{SECURE_SRC}/conf" ? $ENV{SECURE_SRC} : "$FindBin::Bin/..";
my $rules = "$src/conf/mod_secure-alerts.yml";
ok(-s $rules, 'conf/mod_secure-alerts.yml is there');

SKIP: {
    skip 'promtool not installed (build/deps installs it)', 3 unless promtool_bin();
    my ($rc, $out) = promtool('', 'check', 'rules', $rules);
    ok($rc == 0 && $out =~ /SUCCESS: 6 rules found/, 'promtool check rules: 6 rules') or diag($out);
    ($rc, $out) = SecureTest::run_cmd(['sh', '-c', 'cd "$1" && "$2" test rules metrics-alerts-test.yml', 'sh',
                                       "$FindBin::Bin/conf", promtool_bin()], '', 60);
    ok($rc == 0 && $out =~ /SUCCESS/, 'promtool test rules: every alert fires when it should, and only then')
        or diag($out);
    open(my $fh, '<', $rules) or die "$rules: $!";
    my %named = map { $_ => 1 } do { local $/; <$fh> } =~ /\b(mod_secure_[a-z_]+)\b/g;
    my $page = scrape(vhost => 'metrics_crl')->{body} // '';
    my %exported = map { $_ => 1 } $page =~ /^# TYPE (\S+) /mg;
    my @missing = grep { !$exported{$_} } sort keys %named;
    ok(!@missing && keys %named >= 5, 'the ' . scalar(keys %named) . ' metrics the rules name are all on the page')
        or diag("not exported: @missing");
}
