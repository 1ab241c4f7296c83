#!/usr/bin/perl
# bench/soak/report.pl --dir DIR — judges a soak run (bench/soak.sh) from what driver.pl recorded:
# prints the summary table and exits 0 on PASS, 1 on FAIL. It can be run again on a kept DIR.
#
# The rules (each printed with its numbers at the end):
#  1. the module is built with ASan, and no sanitizer report (DIR/sanitizer/*, or ASan/UBSan text in the error
#     log);
#  2. no crash: no "exit signal" / AH00060 in the error log, httpd never died, every graceful restart completed;
#  3. never admitted (200), whatever the faults: revoked.crt and denied.crt on both vhosts, unknown.crt and
#     ocsprevoked.crt on the "deny" vhost, and ocsprevoked.crt on the "allow" vhost while OCSP was healthy;
#  4. admitted whenever the sources were healthy: no client certificate, and on the "allow" vhost good, unknown
#     and ocspgood always; on the "deny" vhost good.crt while the CRL was healthy and ocspgood.crt while OCSP was
#     healthy. A refusal counts against it: a 4xx, a TLS alert, or the connection closed after the handshake
#     without an HTTP answer (how a TLS 1.3 refusal can look to a client that is still writing); a timeout or a
#     refused connect counts under rule 5 instead. Tolerance: max(2, 1 %) of those requests.
#       CRL healthy at a request = the CRL in force was a fresh one during the whole of [start - W, end], W =
#       2 x SecureCRLCheckInterval + 1 s. "In force" follows the README's promise: a file that does not verify
#       (corrupt, garbage, truncated, empty, forged, half-written) leaves the last good copy in force, also
#       across a graceful restart; only a CRL that verifies replaces it (a fresh one: healthy; an expired one:
#       not). A version that verifies but was replaced before every child could see it (within
#       SecureCRLCheckInterval + 1 s) leaves both it and the previous one possible: healthy needs "fresh" to be
#       the only possibility.
#       OCSP healthy = the responder was in mode good or slow (0.7 s, under the 2 s timeout) during the whole of
#       [start - H, end], H = SecureOCSPRetry + SecureRevocationUnknownTTL + SecureOCSPTimeout + 4 s (an open
#       circuit and a cached UNKNOWN outlive the fault by that much). A dead cache server is not "unhealthy":
#       the module must then ask the responder itself.
#  5. availability: connection errors (timeouts, refused connects, other failures) at most 2 % of the
#     client-certificate requests, and h2load's failed requests at most 2 %;
#  6. flat per child: VmRSS and open descriptors of the children, compared at the same maturity (per generation
#     of children, the median over samples of children aged >= 8 s), generations of the second half of the run vs
#     the first half: at most +10 % (descriptors: +10 % + 2). Needs a generation in each half.
use strict;
use warnings;
use Getopt::Long;
use List::Util qw(sum max min);

my %o;
GetOptions(\%o, 'dir=s', 'so=s') or die "report.pl: bad options\n";
my $D = $o{dir} or die "report.pl: --dir is required\n";

sub lines { my $f = shift; open my $h, '<', $f or return (); my @l = <$h>; close $h; chomp @l; @l }
my %p = map { split /\t/, $_, 2 } lines("$D/data/params.tsv");
die "report.pl: $D/data/params.tsv is missing: did the driver run?\n" unless defined $p{start};
my ($T0, $TEND) = ($p{start}, $p{end});
my @ev = map { [split /\t/] } lines("$D/data/events.tsv");
my $tstop = (map { $_->[0] } grep { $_->[1] eq 'end' } @ev)[0] // $TEND;

# ---------------------------------------------------------------- timelines
# CRL in force (per the README's promise) and on disk; OCSP mode
my (@crl_eff, @crl_raw, @ocsp);       # [t, state]
for my $e (@ev) {
    my ($t, $k, @a) = @$e;
    if ($k eq 'crl') {
        my ($kind, $v, $state) = @a;
        push @crl_raw, [$t, $state eq 'bad' ? "bad($kind)" : $state];
        push @crl_eff, [$t, $state] if $state ne 'bad';
    }
    push @ocsp, [$t, $a[0]] if $k eq 'ocsp';
}
sub bad_periods {     # [a, b) where the timeline's state fails $ok
    my ($tl, $ok) = @_;
    my (@bad, $from);
    for my $x (@$tl) {
        if (!$ok->($x->[1])) { $from //= $x->[0]; }
        elsif (defined $from) { push @bad, [$from, $x->[0]]; undef $from; }
    }
    push @bad, [$from, 9e18] if defined $from;
    return @bad;
}
# What the children may have in force. A child looks at the file every crl_interval seconds, so a version that
# verifies but stayed on disk for less than that may never have been seen: after it, both it and what was in
# force before are possible. A version that stayed longer is seen by every child. Healthy means: the only
# possibility is a fresh CRL.
my @crl_maybe;        # [t, 'fresh' | 'expired' | 'expired+fresh' ...]: the set of possible CRLs in force
{
    my %possible = (fresh => 1);       # the soak starts with a fresh CRL
    for my $i (0 .. $#crl_raw) {
        my ($t, $st) = @{$crl_raw[$i]};
        next if $st =~ /^bad/;
        my $until = $i < $#crl_raw ? $crl_raw[$i + 1][0] : 9e18;
        %possible = () if $until - $t >= $p{crl_interval} + 1;
        $possible{$st} = 1;
        push @crl_maybe, [$t, join '+', sort keys %possible];
    }
}
my @crl_bad = bad_periods(\@crl_maybe, sub { $_[0] eq 'fresh' });
my @ocsp_bad = bad_periods(\@ocsp, sub { $_[0] eq 'good' || $_[0] eq 'slow' });
sub healthy {
    my ($bad, $win, $t0, $t1) = @_;
    for my $b (@$bad) { return 0 if $t0 < $b->[1] + $win && $t1 >= $b->[0]; }
    return 1;
}
sub state_at {
    my ($tl, $t) = @_;
    my ($s, $since) = ('?', $T0);
    for my $x (@$tl) { last if $x->[0] > $t; ($s, $since) = ($x->[1], $x->[0]); }
    return ($s, $since);
}
my @graceful = grep { $_->[1] eq 'graceful' } @ev;

# Finding 10's pattern: a graceful restart while the CRL file on disk did not verify, up to the next CRL that
# verifies (+ W). The parent reads the files some time after the signal (under ASan, up to a second or more), so
# a file that turned bad within 2 s after the signal counts too. Violations inside such a span are told apart
# from all others, which are new problems.
my @f10;
for my $g (@graceful) {
    my ($raw) = state_at(\@crl_raw, $g->[0]);
    my $tb = $raw =~ /^bad/ ? $g->[0] : undef;
    ($tb) = map { $_->[0] } grep { $_->[0] > $g->[0] && $_->[0] <= $g->[0] + 2 && $_->[1] =~ /^bad/ } @crl_raw
        unless defined $tb;
    next unless defined $tb;
    my ($next) = grep { $_->[0] > $tb } @crl_eff;
    push @f10, [$g->[0], ($next ? $next->[0] : 9e18) + $p{crl_window}];
}

# ---------------------------------------------------------------- client-certificate requests
my @req;
for my $f (glob "$D/data/req-*.tsv") {
    for (lines($f)) {
        my @c = split /\t/;
        next unless @c >= 13;
        my %r;
        @r{qw(t0 t1 w proto tls class vhost result status detail resumed verdict source)} = @c;
        push @req, \%r;
    }
}
@req = sort { $a->{t0} <=> $b->{t0} } @req;

sub expect {
    my ($r) = @_;
    my ($c, $v) = @$r{qw(class vhost)};
    return 'admit' if $c eq 'none';
    return 'refuse' if $c eq 'revoked' || $c eq 'denied';
    return $v eq 'allow' ? 'admit' : 'refuse' if $c eq 'unknown';
    if ($c eq 'good') {
        return 'admit' if $v eq 'allow';
        return healthy(\@crl_bad, $p{crl_window}, $r->{t0}, $r->{t1}) ? 'admit' : 'any';
    }
    my $ok = healthy(\@ocsp_bad, $p{ocsp_window}, $r->{t0}, $r->{t1});
    return $v eq 'allow' ? 'admit' : ($ok ? 'admit' : 'any') if $c eq 'ocspgood';
    return $v eq 'deny' ? 'refuse' : ($ok ? 'refuse' : 'any') if $c eq 'ocsprevoked';
    return 'any';
}
sub outcome {         # ok | refused | error
    my ($r) = @_;
    return 'ok' if $r->{result} eq 'ok';
    return 'refused' if $r->{result} =~ /^(alert|closed)$/ || ($r->{result} eq 'status' && $r->{status} =~ /^4/);
    return 'error';
}

my (%tab, @sec, @adm, $n_admit, $n_err);
$n_admit = $n_err = 0;
for my $r (@req) {
    my $e = $r->{expect} = expect($r);
    my $out = outcome($r);
    my $k = "$r->{class}\t$r->{vhost}\t$r->{proto}";
    $tab{$k}{total}++;
    $tab{$k}{$out}++;
    $tab{$k}{resumed}++ if $r->{resumed};
    $tab{$k}{"exp_$e"}++;
    if ($out eq 'refused') {
        $tab{$k}{why}{$r->{result} eq 'status' ? $r->{status} : "$r->{result} $r->{detail}"}++;
    }
    if ($out eq 'error') { $tab{$k}{errwhy}{$r->{detail} eq '-' ? "status $r->{status}" : $r->{detail}}++; $n_err++; }
    if ($e eq 'refuse' && $out eq 'ok') { push @sec, $r; $tab{$k}{sec}++; }
    if ($e eq 'admit') { $n_admit++; if ($out eq 'refused') { push @adm, $r; $tab{$k}{adm}++; } }
}

# ---------------------------------------------------------------- h2load (no client certificate)
my %h2;
for (lines("$D/data/h2load.tsv")) {
    my ($t0, $t1, $proto, $vhost, $total, $s2, $s4, $s5, $failed, $errored, $timeout) = split /\t/;
    my $k = "$vhost\t$proto";
    $h2{$k}{batches}++;
    $h2{$k}{total} += $total;
    $h2{$k}{ok} += $s2;
    $h2{$k}{s4} += $s4;
    $h2{$k}{s5} += $s5;
    $h2{$k}{failed} += $failed;
}

# ---------------------------------------------------------------- server side
my @elog = lines("$D/logs/error_log");
my @crash = grep { /exit signal|AH00060|seg fault or similar/ } @elog;
my @san_text = grep { /AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/ } @elog;
my @san_files = grep { -s $_ } glob "$D/sanitizer/*";
my $resumed_ops = grep { /resuming normal operations/ } @elog;
my %tags;
for (@elog) { $tags{$1}++ while /(SEC\d{5})/g; }
my @died = grep { $_->[1] =~ /^httpd-(died|start-failed)$/ } @ev;
my %fault;
for my $e (@ev) {
    my ($t, $k, @a) = @$e;
    $fault{"crl $a[0]"}++ if $k eq 'crl';
    $fault{"deny $a[0]"}++ if $k eq 'deny';
    $fault{"ocsp $a[0]"}++ if $k eq 'ocsp';
    $fault{$k}++ if $k =~ /^(memcached|redis)-kill$/;
}
my $starts = grep { $_->[1] eq 'httpd-start' } @ev;

# ---------------------------------------------------------------- RSS and descriptors
# Children live one generation (a graceful restart replaces them) and grow while they serve, so a child is
# compared at the same maturity: per generation, the median over its children's samples aged >= 8 s; then the
# generations that started in the first half of the run against those of the second half. (The aggregate
# median of all children per sample is printed too.)
my (%by_t, %gen, %parent);
my %gstart = (0 => $T0, map { $_->[2] => $_->[0] } @graceful);
for (lines("$D/data/samples.tsv")) {
    my ($t, $role, $pid, $g, $rss, $fds, $socks, $age, $uss) = split /\t/;
    if ($role eq 'parent') { $parent{$t} = [$rss, $fds]; next; }
    push @{$by_t{$t}}, [$rss, $fds];
    next unless ($age // 0) >= 8;
    push @{$gen{$g}{rss}}, $rss;
    push @{$gen{$g}{fds}}, $fds;
    push @{$gen{$g}{uss}}, $uss // 0;
}
sub median { my @s = sort { $a <=> $b } @_; return @s ? ($s[$#s / 2] + $s[@s / 2]) / 2 : 0; }
my $mid = $T0 + ($tstop - $T0) / 2;
my (%half, %agg);
for my $g (sort { $a <=> $b } keys %gen) {
    my $h = ($gstart{$g} // $T0) < $mid ? 'first' : 'second';
    push @{$half{$h}{rss}}, median(@{$gen{$g}{rss}});
    push @{$half{$h}{fds}}, median(@{$gen{$g}{fds}});
    push @{$half{$h}{uss}}, median(@{$gen{$g}{uss}});
    push @{$half{$h}{gens}}, $g;
}
for my $t (keys %by_t) {
    next if $t < $T0 + 15;
    my $h = $t < $mid ? 'first' : 'second';
    push @{$agg{$h}{rss}}, median(map { $_->[0] } @{$by_t{$t}});
    push @{$agg{$h}{fds}}, median(map { $_->[1] } @{$by_t{$t}});
}
my %m = map { my $h = $_; $h => { map { $_ => median(@{$half{$h}{$_} || []}) } qw(rss fds uss) } } qw(first second);
my %ma = map { my $h = $_; $h => { map { $_ => median(@{$agg{$h}{$_} || []}) } qw(rss fds) } } qw(first second);
my $have_halves = $half{first} && $half{second} ? 1 : 0;
my $rss_growth = $m{first}{rss} ? $m{second}{rss} / $m{first}{rss} - 1 : 0;
my $fds_ok = $m{second}{fds} <= $m{first}{fds} * 1.10 + 2;
my @pt = sort { $a <=> $b } grep { $_ >= $T0 + 15 } keys %parent;

# ---------------------------------------------------------------- print
my %module = map { split /\t/, $_, 2 } lines("$D/data/module.tsv");    # written by bench/soak.sh
$o{so} //= $module{so};
my $sanitized = $module{asan} // (defined $o{so} && `nm -D '$o{so}' 2>/dev/null` =~ /__asan_init/ ? 'yes' : 'NO');
printf "\n== mod_secure soak: %.0f s, seed %s, module %s (ASan: %s) ==\n", $tstop - $T0, $p{seed},
    $o{so} // '?', $sanitized;
print "\nclient-certificate requests (h1: IO::Socket::SSL, TLS 1.2/1.3, some resumed; h2: curl --http2)\n";
printf "%-12s %-5s %-3s %6s %6s %7s %6s %6s | %7s %7s | %9s %10s\n", 'class', 'vhost', 'pr', 'total', '200',
    'refused', 'error', 'resumd', 'must200', 'mustnot', 'BYPASS', 'LOCKED-OUT';
for my $k (sort keys %tab) {
    my $x = $tab{$k};
    printf "%-12s %-5s %-3s %6d %6d %7d %6d %6d | %7d %7d | %9d %10d\n", split(/\t/, $k), $x->{total},
        $x->{ok} // 0, $x->{refused} // 0, $x->{error} // 0, $x->{resumed} // 0, $x->{exp_admit} // 0,
        $x->{exp_refuse} // 0, $x->{sec} // 0, $x->{adm} // 0;
}
print "  (must200 / mustnot: requests that had to be admitted / refused at that moment; BYPASS: admitted although\n"
    . "   they had to be refused; LOCKED-OUT: refused although their sources were healthy)\n";
my %why;
for my $k (keys %tab) { for my $w (keys %{$tab{$k}{why} || {}}) { $why{$w} += $tab{$k}{why}{$w}; } }
print "  refusals seen: ", join(', ', map { "$_ x$why{$_}" } sort keys %why), "\n" if %why;
my %errwhy;
for my $k (keys %tab) { for my $w (keys %{$tab{$k}{errwhy} || {}}) { $errwhy{$w} += $tab{$k}{errwhy}{$w}; } }
print "  connection errors: ", join(', ', map { "$_ x$errwhy{$_}" } sort keys %errwhy), "\n" if %errwhy;

print "\nno client certificate (h2load batches of 40 requests)\n";
printf "%-5s %-3s %8s %8s %6s %6s %6s %7s\n", 'vhost', 'pr', 'batches', 'requests', '2xx', '4xx', '5xx', 'failed';
my ($h2_total, $h2_failed) = (0, 0);
for my $k (sort keys %h2) {
    my $x = $h2{$k};
    printf "%-5s %-3s %8d %8d %6d %6d %6d %7d\n", split(/\t/, $k), @$x{qw(batches total ok s4 s5 failed)};
    $h2_total += $x->{total};
    $h2_failed += $x->{failed} + $x->{s4} + $x->{s5};
}

print "\nfaults injected\n";
for my $g ('crl', 'deny', 'ocsp') {
    my @k = sort grep { /^$g / } keys %fault;
    printf "  %-5s %s\n", $g, join(', ', map { (split / /)[1] . " $fault{$_}" } @k);
}
printf "  graceful restarts: %d requested, %d while the CRL file on disk did not verify (or within 2 s); %d "
    . "'resuming normal operations' lines (starts + restarts)\n", scalar @graceful, scalar @f10, $resumed_ops;
printf "  memcached killed %d, redis killed %d; the cache provider switched between them at each restart\n",
    $fault{'memcached-kill'} // 0, $fault{'redis-kill'} // 0;

print "\nserver\n";
printf "  sanitizer reports: %d file(s), %d error-log line(s)\n", scalar @san_files, scalar @san_text;
printf "  child crashes ('exit signal' / AH00060): %d; httpd died or failed to start: %d\n", scalar @crash,
    scalar @died;
print "  log tags: ", join(' ', map { "$_:$tags{$_}" } sort keys %tags), "\n";
if (open my $s, '<', "$D/data/status.json") {
    my $j = <$s> // '';
    my @nz = $j =~ /"(\w+)":([1-9]\d*)/g;
    my %c = @nz;
    print "  secure-status (since the last restart): ", join(' ', map { "$_=$c{$_}" } sort keys %c), "\n";
}
printf "  per child, by generation (median over children aged >= 8 s; generations %s | %s):\n"
    . "    VmRSS %.1f MB -> %.1f MB (%+.1f %%), open fds %.1f -> %.1f; private memory %.1f MB -> %.1f MB\n",
    join(',', @{$half{first}{gens} || []}), join(',', @{$half{second}{gens} || []}), $m{first}{rss} / 1024,
    $m{second}{rss} / 1024, 100 * $rss_growth, $m{first}{fds}, $m{second}{fds}, $m{first}{uss} / 1024,
    $m{second}{uss} / 1024;
printf "  per child, median of per-sample medians (after 15 s): RSS %.1f MB -> %.1f MB, open fds %.1f -> %.1f\n",
    $ma{first}{rss} / 1024, $ma{second}{rss} / 1024, $ma{first}{fds}, $ma{second}{fds};
if (@pt) {
    printf "  parent: RSS %.1f MB -> %.1f MB, open fds %d -> %d (first / last sample)\n",
        $parent{$pt[0]}[0] / 1024, $parent{$pt[-1]}[0] / 1024, $parent{$pt[0]}[1], $parent{$pt[-1]}[1];
}
print "  generations (number:RSS/fds): ",
    join(' ', map { sprintf '%d:%.0fMB/%dfd', $_, median(@{$gen{$_}{rss}}) / 1024, median(@{$gen{$_}{fds}}) }
              sort { $a <=> $b } keys %gen), "\n";

sub context {
    my ($r) = @_;
    my ($raw, $rs) = state_at(\@crl_raw, $r->{t0});
    my ($eff) = state_at(\@crl_maybe, $r->{t0});
    my ($om, $os) = state_at(\@ocsp, $r->{t0});
    my @g = grep { $_->[0] <= $r->{t0} } @graceful;
    my $gs = @g ? sprintf('last graceful #%d %.1f s before (CRL file then %s, cache %s)', $g[-1][2],
                          $r->{t0} - $g[-1][0], $g[-1][3], $g[-1][4]) : 'before the first graceful';
    return sprintf('CRL file %s for %.1f s, in force %s; OCSP %s for %.1f s; %s', $raw, $r->{t0} - $rs, $eff,
                   $om, $r->{t0} - $os, $gs);
}
sub show {
    my ($title, @r) = @_;
    return unless @r;
    print "\n$title (first 12 of ", scalar @r, ")\n";
    for my $r (@r[0 .. min(11, $#r)]) {
        printf "  +%6.1f s %-11s %-5s %s tls%s%s -> %s %s rev=%s src=%s\n    %s\n", $r->{t0} - $T0, $r->{class},
            $r->{vhost}, $r->{proto}, $r->{tls}, $r->{resumed} ? ' resumed' : '', $r->{result},
            $r->{result} eq 'ok' || $r->{result} eq 'status' ? $r->{status} : $r->{detail}, $r->{verdict},
            $r->{source}, context($r);
    }
}
sub causes {
    my $in = grep { in_f10($_) } @_;
    return sprintf "  by cause: %d after a graceful restart while the CRL file on disk did not verify (issue 9, "
        . "finding 10), %d other\n", $in, @_ - $in;
}
sub in_f10 { my $t = $_[0]{t0}; return scalar grep { $t >= $_->[0] && $t <= $_->[1] } @f10; }
sub others_first { return ((grep { !in_f10($_) } @_), (grep { in_f10($_) } @_)); }
show('BYPASS: admitted although it had to be refused (violations outside finding 10\'s pattern first)',
     others_first(@sec));
print causes(@sec) if @sec;
show('LOCKED-OUT: refused although its sources were healthy (outside finding 10\'s pattern first)',
     others_first(@adm));
print causes(@adm) if @adm;

# ---------------------------------------------------------------- verdict
my $n = @req;
my $adm_tol = max(2, int(0.01 * $n_admit));
my @checks = (
    ['the module is built with ASan (the ASan runtime was preloaded)', $sanitized eq 'yes', $sanitized],
    ['0 sanitizer reports', !@san_files && !@san_text, sprintf('%d', @san_files + @san_text)],
    ['0 child crashes, httpd alive throughout', !@crash && !@died,
     sprintf('%d crash lines, %d deaths', scalar @crash, scalar @died)],
    ['every graceful restart completed', $resumed_ops >= @graceful + $starts,
     sprintf('%d requested, %d completed', scalar @graceful, $resumed_ops - $starts)],
    ['revoked / deny-listed / unknown-under-deny never answered 200', !@sec, sprintf('%d bypasses', scalar @sec)],
    ['good certificates admitted whenever their sources were healthy', @adm <= $adm_tol,
     sprintf('%d of %d refused (tolerance %d)', scalar @adm, $n_admit, $adm_tol)],
    ['connection errors <= 2 % (client certificates)', $n && $n_err <= 0.02 * $n, sprintf('%d of %d', $n_err, $n)],
    ['h2load failures <= 2 % (no certificate)', $h2_total && $h2_failed <= 0.02 * $h2_total,
     sprintf('%d of %d', $h2_failed, $h2_total)],
    ['RSS per child flat (second half within 10 % of the first)', $rss_growth <= 0.10 && $have_halves,
     sprintf('%+.1f %%', 100 * $rss_growth)],
    ['open fds per child flat (within 10 % + 2)', $fds_ok && $have_halves,
     sprintf('%.1f -> %.1f', $m{first}{fds}, $m{second}{fds})],
    ['enough traffic to judge (>= 200 client-certificate requests)', $n >= 200, "$n"],
);
print "\nchecks\n";
my $fail = 0;
for my $c (@checks) {
    printf "  [%s] %-66s %s\n", $c->[1] ? 'PASS' : 'FAIL', $c->[0], $c->[2];
    $fail++ unless $c->[1];
}
if (@san_files) {
    print "\nfirst sanitizer report ($san_files[0]):\n";
    my @l = lines($san_files[0]);
    print "  $_\n" for @l[0 .. min(25, $#l)];
}
print "  $_\n" for @crash[0 .. min(4, $#crash)];
print "\nRESULT: ", $fail ? "FAIL ($fail of " . scalar(@checks) . " checks)" : 'PASS', "\n";
exit($fail ? 1 : 0);
