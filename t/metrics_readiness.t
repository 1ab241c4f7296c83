# Policy readiness: for every ClientHello, whether it could complete under each built-in profile and under the
# vhost's own SecurePolicy, counted per vhost (mod_secure_policy_readiness_total), with the JA4s a profile would
# lock out in a bounded table (Space-Saving) that the HTML page shows. Vhost metrics_report
# (t/conf/metrics.conf.in): SecurePolicy modern in report mode over mod_ssl's defaults, so every client is
# served and judged. The fingerprints are checked against JA4 computed from tshark's dissection of the hello.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureTest qw(tls_request vhost_port);
use SecureHello qw(s_client_hello ja4_from_tshark);
use SecureMetrics qw(scrape series value sum_of);

plan tests => 19, need_module('mod_ssl.c', 'mod_secure.c');

my $port = vhost_port('metrics_report');
sub page { return scrape(vhost => 'metrics_crl')->{body} }
sub html { return scrape(vhost => 'metrics_crl', path => '/status')->{body} }
my $vh;
sub rd { my ($text, $profile, $outcome) = @_; return sum_of($text, 'mod_secure_policy_readiness_total', vhost => $vh, profile => $profile, $outcome ? (outcome => $outcome) : ()) }

my $before = page();
($vh) = grep { /:$port$/ } map { $_->[1]{vhost} // () } series($before);
$vh //= "localhost:$port";

# 1. three TLS 1.2 ECDHE-GCM clients, two TLS 1.3 ones, one TLS 1.2 CBC-only client
my @ja4_12;
for (1 .. 3) {
    my $h = s_client_hello(vhost => 'metrics_report', path => '/info', args => ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']);
    push @ja4_12, (ja4_from_tshark($h->{hello}))[0];
}
s_client_hello(vhost => 'metrics_report', path => '/info', args => ['-tls1_3']) for 1 .. 2;
my $cbc = s_client_hello(vhost => 'metrics_report', path => '/info', args => ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA']);
my ($ja4_cbc) = ja4_from_tshark($cbc->{hello});
my $after = page();
my $d = sub { my ($p, $o) = @_; return rd($after, $p, $o) - rd($before, $p, $o) };
is($d->('modern'), 6, 'every ClientHello is judged under modern (6)');
is($d->('modern', 'ready'), 2, 'modern: the two TLS 1.3 clients are ready');
is($d->('modern', 'protocol'), 4, 'modern: the four TLS 1.2 clients fail on the protocol');
is($d->('intermediate', 'ready'), 5, 'intermediate: all but the CBC-only client are ready');
is($d->('intermediate', 'cipher'), 1, 'intermediate: the CBC-only client fails on the cipher');
is($d->('old', 'ready'), 6, 'old: every client is ready');
is($d->('nist-800-52r2', 'ready'), 6, 'nist-800-52r2 (issue 14: every profile is counted): every client is ready (its list has the ECDHE-RSA GCM and CBC suites)');
is($d->('cnsa', 'ready'), 2, 'cnsa: only the TLS 1.3 clients (TLS_AES_256_GCM_SHA384, P-384 offered) are ready');
is($d->('cnsa', 'cipher'), 4, 'cnsa: the four TLS 1.2 clients offer no AES-256-GCM suite');
is($d->('configured', 'protocol'), 4, "the vhost's own policy (modern): the same four fail");
is($d->('configured', 'ready'), 2, '... and two are ready');

# 2. the page says it in words, with the top fingerprints (JA4 computed from tshark's view)
is(scalar(keys %{{ map { $_ => 1 } @ja4_12 }}), 1, 'the three TLS 1.2 hellos have one JA4');
my $html = html();
my ($sect) = $html =~ /(<section class="vhost" data-vhost="\Q$vh\E">.*?<\/section>)/s;
ok(defined $sect, "the page has a section for $vh");
my ($ready, $refused) = (rd($after, 'modern', 'ready'), rd($after, 'modern'));
my $want = sprintf('%.1f', 100 * ($refused - $ready) / $refused);
$refused = join(',', reverse map { scalar reverse } unpack('(A3)*', reverse $refused));
like($sect // '', qr{<b>modern</b> would have refused <b>\Q$want\E %</b> of the last <b>\Q$refused\E</b> connections to vhost \Q$vh\E},
     "\"modern would have refused $want % of the last $refused connections to vhost $vh\"");
my ($modern_list) = ($sect // '') =~ /data-profile="modern".*?<ol class="topk">(.*?)<\/ol>/s;
like($modern_list // '', qr{<code>\Q$ja4_12[0]\E</code> \d}, 'modern: the TLS 1.2 JA4 is among the top fingerprints');
my ($inter_list) = ($sect // '') =~ /data-profile="intermediate".*?<ol class="topk">(.*?)<\/ol>/s;
like($inter_list // '', qr{<code>\Q$ja4_cbc\E</code>}, 'intermediate: the CBC-only JA4 is listed');
unlike($inter_list // '', qr{\Q$ja4_12[0]\E}, '... and the GCM one is not (intermediate accepts it)');

# 3. the table is bounded: twelve more distinct fingerprints (one cipher each) cannot grow it past 10 rows,
# and the heavy hitter stays first
my @one = qw(ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305 ECDHE-RSA-AES128-SHA256 ECDHE-RSA-AES256-SHA384
             ECDHE-RSA-AES256-SHA AES128-GCM-SHA256 AES256-GCM-SHA384 AES128-SHA256 AES256-SHA256 AES128-SHA AES256-SHA
             DHE-RSA-AES128-GCM-SHA256);
s_client_hello(vhost => 'metrics_report', path => '/info', args => ['-tls1_2', '-cipher', $_]) for @one;
s_client_hello(vhost => 'metrics_report', path => '/info', args => ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']) for 1 .. 3;
$html = html();
($sect) = $html =~ /(<section class="vhost" data-vhost="\Q$vh\E">.*?<\/section>)/s;
($modern_list) = ($sect // '') =~ /data-profile="modern".*?<ol class="topk">(.*?)<\/ol>/s;
my @rows = ($modern_list // '') =~ /<li>/g;
ok(@rows == 10, 'modern: ' . scalar(@rows) . ' rows after 14 distinct fingerprints (bounded at 10)');
like($modern_list // '', qr{\A\s*<li><code>\Q$ja4_12[0]\E</code> 6}, 'the heavy hitter (6 hellos) is first, with its count');
