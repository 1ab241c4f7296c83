#!/usr/bin/perl
# OCSP responder for the tests: `openssl ocsp -index` behind the test httpd (so it listens on 127.0.0.1
# only). URL: /ocsp/resp.cgi/<pki>/<mode>/<tag>
#   pki   asf (Apache::TestSSLCA) or gen (the CA t/lib/SecureOCSP.pm generates under t/logs/ocsp-pki)
#   mode  good | garbage | wrongsigner | delegated | record | replay | error500 | hang<seconds> |
#         delay<milliseconds> | future (signed under `faketime '+2 hours'`: thisUpdate ahead of us) |
#         expired (signed under `faketime '-3 days'`, valid 1 day: nextUpdate 2 days past)
#   tag   names the query counter t/logs/ocsp-count-<tag>.log (one line per request) and the saved
#         response for record / replay
# Framing: httpd >= 2.4.59 drops a CGI's Content-Length and then sends one only when the script's output
# and its end arrive together, which depends on timing; t/conf/ocsp.conf.in sets ap_trust_cgilike_cl so
# that every answer here carries its Content-Length. /ocsp/nph-resp.cgi/... (which runs this script with
# --nph) answers without one, the body ending when the connection closes: both framings, on purpose.
use strict;
use warnings;
use Fcntl qw(:flock);
use File::Temp ();
use Time::HiRes ();

my $nph = @ARGV && $ARGV[0] eq '--nph';
my $logs = $ENV{OCSP_T_LOGS} or fail(500, 'OCSP_T_LOGS not set');
my $asf = $ENV{OCSP_SSLCA} or fail(500, 'OCSP_SSLCA not set');
my (undef, $pki, $mode, $tag) = split m{/}, ($ENV{PATH_INFO} // '');
$tag //= 'default';
fail(404, 'bad path') unless defined $mode && $pki =~ /^(asf|gen)$/ && $tag =~ /^[\w.-]+$/;

if (open my $c, '>>', "$logs/ocsp-count-$tag.log") {
    flock $c, LOCK_EX;
    print $c "$mode\n";
    close $c;
}

binmode STDIN;
my $len = $ENV{CONTENT_LENGTH} // 0;
my $req = '';
while ($len > length $req) {
    my $n = read STDIN, $req, $len - length $req, length $req;
    last unless $n;
}

if ($mode =~ /^hang(\d+)$/) { sleep $1 }
if ($mode =~ /^delay(\d+)$/) { Time::HiRes::sleep($1 / 1000) }
fail(500, 'asked to fail') if $mode eq 'error500';
if ($mode eq 'garbage') {
    respond(join '', map { chr(($_ * 37 + 11) % 256) } 1 .. 300);
}
if ($mode eq 'replay') {
    open my $f, '<', "$logs/ocsp-saved-$tag.der" or fail(500, 'nothing recorded');
    binmode $f;
    local $/;
    respond(<$f>);
}

my %ca = $pki eq 'asf'
    ? (index => "$asf/index.txt", ca => "$asf/certs/ca.crt", signer => "$asf/certs/ca.crt",
       key => "$asf/keys/ca.pem")
    : (index => "$logs/ocsp-pki/index.txt", ca => "$logs/ocsp-pki/ca.crt",
       signer => "$logs/ocsp-pki/ca.crt", key => "$logs/ocsp-pki/ca.key");
if ($mode eq 'wrongsigner') {
    @ca{qw(signer key)} = ("$logs/ocsp-pki/wrong.crt", "$logs/ocsp-pki/wrong.key");
}
if ($mode eq 'delegated') {
    @ca{qw(signer key)} = ("$logs/ocsp-pki/responder.crt", "$logs/ocsp-pki/responder.key");
}
my $in = File::Temp->new(DIR => $logs, TEMPLATE => 'ocspreq-XXXXXX');
binmode $in;
print $in $req;
close $in;
my $out = File::Temp->new(DIR => $logs, TEMPLATE => 'ocspresp-XXXXXX');
close $out;
# a clock shifted for openssl alone (libfaketime): the response is otherwise a good one
my %shift = (future => '+2 hours', expired => '-3 days');
my @clock = $shift{$mode} ? ('faketime', $shift{$mode}) : ();
fail(500, 'faketime is not installed (build/deps)') if @clock && !grep { -x "$_/faketime" } split /:/,
    ($ENV{PATH} || '/usr/bin:/bin');
my @cmd = (@clock, 'openssl', 'ocsp', '-index', $ca{index}, '-CA', $ca{ca}, '-rsigner', $ca{signer},
           '-rkey', $ca{key}, '-passin', 'pass:httpd', '-ndays', '1', '-reqin', $in->filename,
           '-respout', $out->filename);
# quoted for the shell: the faketime offset is one argument with a blank in it
system(join(' ', map { "'$_'" } @cmd) . ' >/dev/null 2>&1') == 0 or fail(500, "openssl ocsp failed: @cmd");
open my $f, '<', $out->filename or fail(500, 'no response');
binmode $f;
my $resp = do { local $/; <$f> };
if ($mode eq 'record') {
    open my $s, '>', "$logs/ocsp-saved-$tag.der" or fail(500, 'cannot save');
    binmode $s;
    print $s $resp;
    close $s;
}
respond($resp);

sub respond {
    my $body = shift;
    binmode STDOUT;
    if ($nph) {
        print "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\nConnection: close\r\n\r\n$body";
    }
    else {
        print "Content-Type: application/ocsp-response\r\nContent-Length: " . length($body) . "\r\n\r\n$body";
    }
    exit 0;
}

sub fail {
    my ($code, $why) = @_;
    print $nph ? "HTTP/1.0 $code Test failure\r\nConnection: close\r\n" : "Status: $code\r\n";
    print "Content-Type: text/plain\r\n\r\n$why\n";
    exit 0;
}
