# The secure-status HTML page, rendered by a real headless browser (Debian's chromium): its DOM says what the
# counters say, and a phone-sized screenshot shows it: each protocol bar is as long as the share written next
# to it, a CRL two hours from its nextUpdate is amber, nothing spills past the right edge. No script runs
# (the page has none). Vhosts metrics_crl and metrics_live (t/conf/metrics.conf.in).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Temp ();
use SecureTest qw(tls_request s_client run_cmd vhost_port wait_until);
use SecureRevoke qw(install_file);
use SecurePKI qw(scratch_ca gencrl);
use SecureMetrics qw(scrape series value sum_of png_decode chromium_bin);

plan tests => 16, need_module('mod_ssl.c', 'mod_secure.c');

my $cfg = Apache::Test::config();
my $logs = $cfg->{vars}->{t_logs};
my $tmp = File::Temp::tempdir("page-XXXXXX", DIR => $logs, CLEANUP => !$ENV{SECURE_KEEP_PAGE});
sub label { my ($text, $vhost) = @_; my $port = vhost_port($vhost);
            my ($l) = grep { /:$port$/ } map { $_->[1]{vhost} // () } series($text); return $l }

# traffic: TLS 1.3 and TLS 1.2 connections to metrics_crl; a CRL 2 h from nextUpdate for metrics_live
tls_request(vhost => 'metrics_crl', path => '/info', ssl => { SSL_version => 'TLSv1_3' }) for 1 .. 3;
s_client(vhost => 'metrics_crl', path => '/info', args => ['-tls1_2']) for 1 .. 2;
my $ca = scratch_ca("$logs/metrics-page-ca");
my $live_crl = "$logs/metrics-crl/page.crl";
install_file($live_crl, src => gencrl($ca, "$ca->{dir}/page.pem", hours => 2));
my $prom = scrape(vhost => 'metrics_crl')->{body};
my ($crl_vh, $live_vh) = (label($prom, 'metrics_crl'), label($prom, 'metrics_live'));
ok(wait_until(10, sub { defined value(scrape(vhost => 'metrics_crl')->{body},
                                      'mod_secure_crl_next_update_timestamp_seconds', file => $live_crl) }),
   'the 2 h CRL is loaded');
# what the page will say: the counters now, plus the page's own TLS 1.3 connection and the scrape above
$prom = scrape(vhost => 'metrics_crl')->{body};
my $h13 = sum_of($prom, 'mod_secure_tls_handshakes_total', vhost => $crl_vh, version => 'TLSv1.3') + 1;
my $h12 = sum_of($prom, 'mod_secure_tls_handshakes_total', vhost => $crl_vh, version => 'TLSv1.2');
my $total = sum_of($prom, 'mod_secure_tls_handshakes_total', vhost => $crl_vh) + 1;
my $pct13 = 100 * $h13 / $total;

sub fetch_page {
    my ($vh, $file) = @_;
    (my $q = $vh) =~ s/([^A-Za-z0-9.\-])/sprintf('%%%02X', ord $1)/ge;
    my $r = tls_request(vhost => 'metrics_crl', path => "/status?vhost=$q", ssl => { SSL_version => 'TLSv1_3' });
    open(my $fh, '>', $file) or die "$file: $!";
    print $fh $r->{body} // '';
    close $fh;
    return $r;
}
my $r = fetch_page($crl_vh, "$tmp/crl.html");
like($r->{headers}{'content-type'} // '', qr{^text/html}, 'the page is HTML');
unlike($r->{body} // '', qr{<script|src=|href="https?:}i, 'no script and nothing loaded from elsewhere');
fetch_page($live_vh, "$tmp/live.html");

SKIP: {
    skip 'chromium not installed (build/deps installs it)', 13 unless chromium_bin();
    my @chrome = (chromium_bin(), '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
                  "--user-data-dir=$tmp/profile", '--window-size=390,1400');

    # 1. the DOM the browser built
    my ($rc, $dom) = run_cmd([@chrome, '--dump-dom', "file://$tmp/crl.html"], '', 90);
    is($rc, 0, 'chromium --dump-dom renders the page');
    like($dom, qr{<section class="vhost" data-vhost="\Q$crl_vh\E">\s*<h2>\Q$crl_vh\E</h2>}, "one section for $crl_vh");
    my $want = sprintf('%.1f', $pct13);
    like($dom, qr{<span class="bl">TLSv1\.3</span><span class="bv">[^<]*</span></div><svg[^>]*aria-label="\Q$want\E %"><rect class="bg"[^>]*></rect><rect class="fg" width="\Q${\ sprintf('%.2f', $pct13)}\E"},
         "the TLSv1.3 bar is $want % wide ($h13 of $total handshakes)");
    like($dom, qr{<span class="bl">TLSv1\.3</span><span class="bv">\Q$want\E % \($h13\)</span>}, "... and says $want % ($h13)");
    like($dom, qr{<span class="bl">TLSv1\.2</span><span class="bv">[\d.]+ % \($h12\)</span>}, "TLSv1.2: $h12 handshakes");
    like($dom, qr{<span class="pill ok" data-fresh="ok">\d+ d \d+ h left</span>}, 'the asf CRL (a year left) is green');

    # 2. what the screenshot shows (phone width)
    ($rc, my $out) = run_cmd([@chrome, "--screenshot=$tmp/crl.png", "file://$tmp/crl.html"], '', 90);
    my $png = png_decode("$tmp/crl.png");
    ok($png && $png->{w} == 390, 'a 390 px wide screenshot') or diag($out);
    # every pixel row crossing a bar: blue (#2f6fdf) then light grey (#eef1f4); the bar's blue share is its value
    my (%ratios, $right_clean);
    $right_clean = 1;
    for my $row (@{ $png ? $png->{rows} : [] }) {
        my @p = unpack('C*', $row);
        my ($blue, $grey) = (0, 0);
        for (my $i = 0; $i < @p; $i += $png->{bpp}) {
            my ($R, $G, $B) = @p[$i .. $i + 2];
            $blue++ if abs($R - 47) < 6 && abs($G - 111) < 6 && abs($B - 223) < 6;
            $grey++ if abs($R - 238) < 3 && abs($G - 241) < 3 && abs($B - 244) < 3;
            $right_clean = 0 if $i >= ($png->{w} - 4) * $png->{bpp} && ($R < 250 || $G < 250 || $B < 250);
        }
        $ratios{ sprintf('%.0f', 100 * $blue / ($blue + $grey)) }++ if $blue + $grey > 40;
    }
    ok(keys %ratios >= 2, 'bars are drawn (' . join(' ', map { "$_%" } sort { $a <=> $b } keys %ratios) . ')');
    ok((grep { abs($_ - $pct13) <= 2 } keys %ratios), sprintf('one bar is %.1f %% blue, as the TLSv1.3 share', $pct13));
    ok($right_clean, 'nothing reaches the right edge at phone width');

    ($rc, $dom) = run_cmd([@chrome, '--dump-dom', "file://$tmp/live.html"], '', 90);
    like($dom, qr{<span class="pill warn" data-fresh="warn">[12] h \d\d min left</span>}, 'the 2 h CRL is marked warn');
    ($rc, $out) = run_cmd([@chrome, "--screenshot=$tmp/live.png", "file://$tmp/live.html"], '', 90);
    $png = png_decode("$tmp/live.png");
    my $amber = 0;
    for my $row (@{ $png ? $png->{rows} : [] }) {
        my @p = unpack('C*', $row);
        for (my $i = 0; $i < @p; $i += $png->{bpp}) {
            $amber++ if $p[$i] == 255 && abs($p[$i + 1] - 241) < 3 && abs($p[$i + 2] - 194) < 3;
        }
    }
    ok($amber > 100, "the screenshot shows it amber ($amber px of #fff1c2)");
    ok(1, 'screenshots: ' . join(', ', map { "$tmp/$_" } qw(crl.png live.png)));
}
unlink $live_crl;
