# Reloads under fire (finding 5): while handshakes run, a background loop rewrites the SecureCRL file every
# 100 ms with a valid, a corrupt and a truncated version in turn (20 s at most), and the server is
# restarted gracefully every few seconds; children are recycled often (MaxConnectionsPerChild), so a
# child's own check in child_init meets mod_watchdog's reload thread. Run under ASan (t/run-tests fails
# on any sanitizer report). Config: a server of its own (start_instance):
#     SecureCRL <file>  (50,000 entries + client_revoked, signed by the asf CA)
#     SecureCRLCheckInterval 1
#     SecureRevocationUnknown allow   fail-open: a CRL forgotten for a moment would let client_revoked in
# Passes when client_revoked never gets a response, client_ok is always GOOD, and no child crashed.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use POSIX ();
use Time::HiRes ();
use SecureTest qw(s_client cert_file key_file run_cmd httpd_bin wait_until);
use SecurePKI qw(scratch_ca gencrl);
use SecureRevoke qw(install_file);
use SecureTest qw(alert_of);
use SecureOCSP qw(start_instance stop_instance spare_port_base);
use SecureTest qw(t_logs);

plan tests => 9, need_module('mod_ssl.c', 'mod_secure.c');

my $RUN_SECS = 20;          # the rewriting loop
my $HANDSHAKES = 240;       # at most, alternating client_revoked / client_ok
my $RESTART_EVERY = 5;      # seconds between graceful restarts
my $ENTRIES = 50_000;

my $port = spare_port_base() + 5;
my $dir = t_logs() . '/revoke-stress';
File::Path::remove_tree($dir);
File::Path::make_path($dir);

# A big CRL of the asf CA: its index already revokes client_revoked; add $ENTRIES more revoked serials.
my $ca = scratch_ca("$dir/ca");
{
    open my $idx, '>>', "$ca->{dir}/index.txt" or die;
    printf {$idx} "R\t301231000000Z\t251201000000Z,keyCompromise\t%08X\tunknown\t/CN=bulk%d\n", 0x10000000 + $_, $_
        for 0 .. $ENTRIES - 1;
}
my @valid = (gencrl($ca, "$dir/valid-a.crl", hours => 24), gencrl($ca, "$dir/valid-b.crl", hours => 48));
my $good = do { open my $fh, '<', $valid[0] or die; local $/; <$fh> };
my $corrupt = $good;
substr($corrupt, int(length($corrupt) / 2), 8) = 'AAAAAAAA';   # base64 still, the signature breaks
my @variants = ([src => $valid[0]], [data => $corrupt], [data => substr($good, 0, int(length($good) / 2))],
                [src => $valid[1]], [data => $corrupt], [data => substr($good, 0, 1000)]);
my $file = "$dir/crl.pem";
install_file($file, src => $valid[0]);

my $root = start_instance(name => 'stress', ports => [$port], conf => <<"CONF");
MaxConnectionsPerChild 20
<VirtualHost 127.0.0.1:$port>
    SSLEngine on
    SSLCertificateFile "\@SSLCA\@/certs/server.crt"
    SSLCertificateKeyFile "\@SSLCA\@/keys/server.pem"
    SSLCACertificateFile "\@SSLCA\@/certs/ca.crt"
    SSLVerifyClient optional
    SecureEngine on
    SecureCRL "$file"
    SecureCRLCheckInterval 1
    SecureRevocationUnknown allow
    <Location /info>
        SetHandler secure-info
    </Location>
</VirtualHost>
CONF
my $log = "$root/logs/error_log";
my $asan_dir = t_logs() . '/sanitizer';
my @asan_before = glob("$asan_dir/*");

sub check {
    my $name = shift;
    my ($rc, $out) = s_client(port => $port, path => '/info', timeout => 20,
                              args => ['-tls1_3', '-cert', cert_file($name), '-key', key_file($name)]);
    my $status = $out =~ /HTTP\/1\.1 (\d{3})/ ? $1 : 0;
    my $rev = $out =~ /"SECURE_CLIENT_REVOCATION"\s*:\s*"(\w+)"/ ? $1 : '';
    return ($status, $rev, alert_of($out) // 0);
}

# the background writer: bounded in time, exits by itself
my $writer = fork();
die "fork: $!" unless defined $writer;
if ($writer == 0) {
    my $end = Time::HiRes::time() + $RUN_SECS;
    my $i = 0;
    while (Time::HiRes::time() < $end) {
        my $v = $variants[$i++ % @variants];
        install_file($file, @$v);
        Time::HiRes::sleep(0.1);
    }
    install_file($file, src => $valid[0]);
    POSIX::_exit(0);
}

my (%n, @bad);
my $start = Time::HiRes::time();
my $next_restart = $start + $RESTART_EVERY;
my $restarts = 0;
for my $i (1 .. $HANDSHAKES) {
    last if Time::HiRes::time() > $start + $RUN_SECS;
    if (Time::HiRes::time() >= $next_restart) {
        my ($rc, $out) = run_cmd([httpd_bin(), '-f', "$root/httpd.conf", '-k', 'graceful'], '', 30);
        $restarts++ if $rc == 0;
        $next_restart += $RESTART_EVERY;
    }
    my $name = $i % 2 ? 'client_revoked' : 'client_ok';
    my ($status, $rev, $alert) = check($name);
    $n{$name}{total}++;
    $n{$name}{answered}++ if $status;
    if ($name eq 'client_revoked') {
        $n{$name}{refused44}++ if $alert == 44;
        push @bad, "client_revoked got $status ($rev)" if $status;
    }
    elsif ($status) {
        push @bad, "client_ok got $status with $rev" if $status != 200 || $rev ne 'GOOD';
    }
}
waitpid($writer, 0);
my $elapsed = Time::HiRes::time() - $start;
diag(sprintf('%d handshakes in %.1f s, %d graceful restarts', ($n{client_revoked}{total} // 0) + ($n{client_ok}{total} // 0),
             $elapsed, $restarts));

cmp_ok($n{client_revoked}{total} // 0, '>=', 15, 'handshakes with client_revoked ran during the rewrites');
cmp_ok($restarts, '>=', 2, "graceful restarts happened during the rewrites ($restarts)");
is($n{client_revoked}{answered} // 0, 0, 'client_revoked never got a response');
is($n{client_revoked}{refused44} // 0, $n{client_revoked}{total}, '... every attempt was refused with alert 44');
cmp_ok($n{client_ok}{answered} // 0, '>=', 0.9 * ($n{client_ok}{total} // 1), 'client_ok was answered (at least 90 %)');
is(scalar @bad, 0, 'no wrong answer (client_ok always 200 GOOD)') or diag(join "\n", @bad[0 .. ($#bad > 5 ? 5 : $#bad)]);

open my $fh, '<', $log or die "$log: $!";
my $text = do { local $/; <$fh> };
my @crashes = $text =~ /^.*(?:exit signal|AH00052|AH00060|child process \d+ still did not exit).*$/mg;
is(scalar @crashes, 0, 'no child crashed') or diag(join "\n", @crashes[0 .. ($#crashes > 5 ? 5 : $#crashes)]);
my $refused = () = $text =~ /SEC10405: /g;
cmp_ok($refused, '>', 0, "the corrupt and truncated versions were refused ($refused times)");
my @asan_after = glob("$asan_dir/*");
is(scalar @asan_after, scalar @asan_before, 'no new sanitizer report') or diag("@asan_after");

stop_instance('stress');
