# CRL scope and dates (finding 8): a CRL is used only as a complete CRL of its issuer. Partitioned CRLs
# (issuingDistributionPoint with a distribution point), attribute-certificate-only CRLs and CRLs whose
# nextUpdate is malformed are refused with a reason; a CRL without nextUpdate is never fresh. Before,
# each of them was taken as complete and fresh, so a certificate it does not list came out GOOD.
# Config: a server of its own (start_instance):
#     SecureCRL <dir>                 one file in it, replaced by another of a new name for each case
#                                     (a refused new version of a file would leave the old one in force)
#     SecureCRLCheckInterval 1
#     SecureRevocationUnknown allow   the verdict shows as SECURE_CLIENT_REVOCATION
# The CRLs come from a copy of the asf CA with an empty index (they list nothing), so client_revoked,
# revoked in the asf CA's own full CRL, is GOOD only if a partial or undatable CRL is wrongly believed.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use SecureTest qw(s_client cert_file key_file sslca run_cmd wait_until);
use SecurePKI qw(scratch_ca ca_cmd gencrl);
use SecureRevoke qw(install_file);
use SecureTest qw(alert_of);
use SecureOCSP qw(start_instance stop_instance spare_port_base);
use SecureTest qw(t_logs);

plan tests => 16, need_module('mod_ssl.c', 'mod_secure.c');

my $port = spare_port_base() + 6;
my $dir = t_logs() . '/revoke-scope';
File::Path::remove_tree($dir);
File::Path::make_path("$dir/crl");
my $case = 0;
my $file;
my $ca = scratch_ca("$dir/ca");
{ open my $fh, '>', "$ca->{dir}/index.txt" or die; }     # lists nothing
open my $cnf, '>>', $ca->{cnf} or die;
print {$cnf} <<'EXT';
[ crl_partition ]
issuingDistributionPoint = critical, @idp_partition
[ idp_partition ]
fullname = URI:http://crl.example/partition-1.crl
[ crl_attr ]
issuingDistributionPoint = critical, @idp_attr
[ idp_attr ]
onlyAA = TRUE
[ crl_user ]
issuingDistributionPoint = critical, @idp_user
[ idp_user ]
onlyuser = TRUE
EXT
close $cnf;

my $root = start_instance(name => 'scope', ports => [$port], conf => <<"CONF");
<VirtualHost 127.0.0.1:$port>
    SSLEngine on
    SSLCertificateFile "\@SSLCA\@/certs/server.crt"
    SSLCertificateKeyFile "\@SSLCA\@/keys/server.pem"
    SSLCACertificateFile "\@SSLCA\@/certs/ca.crt"
    SSLVerifyClient optional
    SecureEngine on
    SecureCRL "$dir/crl"
    SecureCRLCheckInterval 1
    SecureRevocationUnknown allow
    <Location /info>
        SetHandler secure-info
    </Location>
</VirtualHost>
CONF
my $log = "$root/logs/error_log";
sub log_size { return -s $log || 0 }
sub log_since { my $m = shift; open my $fh, '<', $log or return ''; seek $fh, $m, 0; local $/; return <$fh> // '' }

# A PEM CRL with the extensions of a section of the CA's config.
sub gencrl_ext {
    my ($out, $section) = @_;
    ca_cmd('ca', '-gencrl', '-config', $ca->{cnf}, '-passin', $ca->{pass}, '-crlexts', $section, '-out', $out);
    return $out;
}

# SECURE_CLIENT_REVOCATION of client_revoked (or 'alert 44' when refused)
sub verdict {
    my $name = shift // 'client_revoked';
    my ($rc, $out) = s_client(port => $port, path => '/info',
                              args => ['-tls1_3', '-cert', cert_file($name), '-key', key_file($name)]);
    return 'alert ' . alert_of($out) if defined alert_of($out);
    return $out =~ /"SECURE_CLIENT_REVOCATION"\s*:\s*"(\w+)"/ ? $1 : 'no answer';
}

# Puts a CRL in the directory as its only file, under a new name; waits until the server has read it
# (SEC10406 loaded / SEC10405 refused) and every child answers $want for $name (3 connections in a row;
# 8 s at most each).
sub install_and_wait {
    my ($src, $want, $name) = @_;
    my $mark = log_size();
    unlink glob("$dir/crl/*");
    $file = "$dir/crl/case" . ++$case . '.crl';
    install_file($file, src => $src);
    wait_until(8, sub { log_since($mark) =~ /SEC1040[56]: .*CRL \S*\Q$file\E/ });
    my $last = '';
    my $ok = wait_until(8, sub {
        for (1 .. 3) { $last = verdict($name); return 0 if $last ne $want }
        return 1;
    });
    return $ok ? $want : $last;
}

# ---- DER surgery: change a CRL's TBSCertList and sign it again with the CA key ------------------------
sub der_len {
    my $n = shift;
    return chr($n) if $n < 0x80;
    my $b = '';
    while ($n) { $b = chr($n & 0xff) . $b; $n >>= 8 }
    return chr(0x80 | length $b) . $b;
}
# (tag, header length, content length) of the TLV at $off
sub tlv {
    my ($d, $off) = @_;
    my $l = ord substr($d, $off + 1, 1);
    return (ord(substr($d, $off, 1)), 2, $l) if $l < 0x80;
    my $n = $l & 0x7f;
    my $len = 0;
    $len = ($len << 8) | ord(substr($d, $off + 2 + $_, 1)) for 0 .. $n - 1;
    return (ord(substr($d, $off, 1)), 2 + $n, $len);
}
# $edit gets the TBSCertList content (without its header) and returns the new content.
sub resign {
    my ($der, $edit) = @_;
    my (undef, $oh) = tlv($der, 0);
    my (undef, $th, $tl) = tlv($der, $oh);
    my $tbs_body = $edit->(substr($der, $oh + $th, $tl));
    my $tbs = "\x30" . der_len(length $tbs_body) . $tbs_body;
    my $rest = substr($der, $oh + $th + $tl);
    my (undef, $ah, $al) = tlv($rest, 0);
    my $alg = substr($rest, 0, $ah + $al);
    open my $fh, '>', "$dir/tbs.der" or die;
    binmode $fh;
    print $fh $tbs;
    close $fh;
    ca_cmd('dgst', '-sha256', '-sign', "$ca->{dir}/ca.key", '-passin', $ca->{pass}, '-out', "$dir/sig", "$dir/tbs.der");
    my $sig = do { open my $s, '<', "$dir/sig" or die; binmode $s; local $/; <$s> };
    my $bits = "\x03" . der_len(1 + length $sig) . "\x00" . $sig;
    my $body = $tbs . $alg . $bits;
    return "\x30" . der_len(length $body) . $body;
}
sub write_der { my ($name, $bytes) = @_; open my $fh, '>', "$dir/$name" or die; binmode $fh; print $fh $bytes; close $fh; "$dir/$name" }
sub read_file { my $f = shift; open my $fh, '<', $f or die; binmode $fh; local $/; <$fh> }

# ---- controls: a complete CRL works both ways ---------------------------------------------------------
is(install_and_wait(sslca() . '/crl/ca-bundle.crl', 'alert 44'), 'alert 44',
   'control: the asf CA\'s complete CRL refuses client_revoked (alert 44)');
is(install_and_wait(gencrl($ca, "$dir/complete.crl"), 'GOOD'), 'GOOD',
   'control: a complete CRL of the copy CA (listing nothing) says GOOD');

# ---- scope ---------------------------------------------------------------------------------------------
my $mark = log_size();
is(install_and_wait(gencrl_ext("$dir/partition.crl", 'crl_partition'), 'UNKNOWN'), 'UNKNOWN',
   'a partitioned CRL (IDP with a distribution point) is not taken as complete: UNKNOWN, not GOOD');
like(log_since($mark), qr/SEC10405: .*CRL file \Q$file\E refused: it covers only the certificates of one distribution point \(a partitioned CRL/,
     '... it is refused with the reason');
$mark = log_size();
is(install_and_wait(gencrl_ext("$dir/attr.crl", 'crl_attr'), 'UNKNOWN'), 'UNKNOWN',
   'an onlyContainsAttributeCerts CRL: UNKNOWN, not GOOD');
like(log_since($mark), qr/SEC10405: .*refused: it covers only attribute certificates/, '... refused with the reason');
is(install_and_wait(gencrl_ext("$dir/user.crl", 'crl_user'), 'GOOD'), 'GOOD',
   'an onlyContainsUserCerts CRL covers a client (leaf) certificate: GOOD');
is(install_and_wait(sslca() . '/crl/ca-bundle.crl', 'alert 44'), 'alert 44', '(back to the complete CRL: alert 44)');

# ---- dates ---------------------------------------------------------------------------------------------
my $plain = read_file(gencrl($ca, "$dir/plain.der", der => 1));
# thisUpdate and nextUpdate follow the issuer Name in the TBS: UTCTime 0x17, length 13
my $month13 = resign($plain, sub {
    my $t = shift;
    my $i = index($t, "\x17\x0d");
    $i = index($t, "\x17\x0d", $i + 15);               # the second time: nextUpdate
    substr($t, $i + 2 + 2, 2) = '13';                  # YYMMDD...: month 13
    return $t;
});
$mark = log_size();
is(install_and_wait(write_der('month13.der', $month13), 'UNKNOWN'), 'UNKNOWN',
   'a CRL whose nextUpdate is malformed (month 13, validly signed) does not count as fresh: UNKNOWN, not GOOD');
like(log_since($mark), qr/SEC10405: .*refused: its nextUpdate date is malformed/, '... refused with the reason');
my $no_next = resign($plain, sub {
    my $t = shift;
    my $i = index($t, "\x17\x0d");
    $i = index($t, "\x17\x0d", $i + 15);
    substr($t, $i, 15) = '';                           # drop nextUpdate (it is OPTIONAL in the syntax)
    return $t;
});
my $text = `openssl crl -inform DER -in ${\ write_der('nonext.der', $no_next)} -noout -text 2>&1`;
like($text, qr/Next Update: NONE/, 'the re-signed CRL without nextUpdate parses (openssl crl: Next Update: NONE)');
$mark = log_size();
is(install_and_wait("$dir/nonext.der", 'UNKNOWN'), 'UNKNOWN',
   'a CRL without nextUpdate is never fresh: UNKNOWN, not GOOD');
like(log_since($mark), qr/SEC10406: .*next update \(none: never fresh\)/, '... it is loaded, and the log says it is never fresh');
is(verdict('client_ok'), 'UNKNOWN', '... for client_ok as well');

# a CRL that lists client_revoked and has no nextUpdate still revokes
install_file("$ca->{dir}/index.txt", src => sslca() . '/index.txt');
my $listing = resign(read_file(gencrl($ca, "$dir/listing.der", der => 1)), sub {
    my $t = shift;
    my $i = index($t, "\x17\x0d");
    $i = index($t, "\x17\x0d", $i + 15);
    substr($t, $i, 15) = '';
    return $t;
});
is(install_and_wait(write_der('listing-nonext.der', $listing), 'alert 44'), 'alert 44',
   'a CRL without nextUpdate that lists client_revoked still refuses it (a revocation is final)');
is(verdict('client_ok'), 'UNKNOWN', '... while client_ok, not listed, is UNKNOWN');

stop_instance('scope');
