# The per-thread certificate cache (secure_factcache, issue 11) never gives one certificate's facts to
# another. Three client certificates take turns, one connection each, many times, so the server's worker
# threads answer most of them from their cache; every answer is checked against the certificate file
# (openssl x509). Two of the three are twins: the same to-be-signed bytes (subject, serial, dates, key,
# extensions) signed twice with RSA-PSS, so only their signatures and SHA-256 fingerprints differ. A cache
# keyed by issuer + serial, subject or key, or by the TBS alone, would hand one twin's SHA-256 to the other.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Digest::MD5 ();
use Digest::SHA ();
use File::Temp ();
use SecureTest qw(tls_request info_json run_cmd cert_file key_file sslca);

plan tests => 16, need_module('mod_ssl.c', 'mod_secure.c');

my $dir = File::Temp->newdir;
my $ca = sslca();

sub cmd {
    my @c = @_;
    my ($rc, $out) = run_cmd(\@c, '', 20);
    die "@c: $out" if $rc;
    return $out;
}

sub der { my $f = shift; cmd('openssl', 'x509', '-in', $f, '-outform', 'der', '-out', "$f.der");
          open my $fh, '<', "$f.der" or die; binmode $fh; local $/; return <$fh> }
# the to-be-signed part of a certificate's DER (the first element of the outer SEQUENCE; both lengths long)
sub tbs { my $d = shift; return substr($d, 4, 4 + unpack('n', substr($d, 6, 2))) }

cmd('openssl', 'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', "$dir/twin.key", '-subj', '/CN=twin/O=certcache', '-out', "$dir/twin.csr");
# the same request signed twice within one second: identical TBS; PSS salts make the signatures differ
my ($tbs_equal, %der);
for my $try (1 .. 5) {
    for my $n (1, 2) {
        cmd('openssl', 'x509', '-req', '-in', "$dir/twin.csr", '-CA', "$ca/certs/ca.crt", '-CAkey',
            "$ca/keys/ca.pem", '-passin', 'pass:httpd', '-set_serial', '0x4242', '-days', '30', '-sha256',
            '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32', '-out', "$dir/twin$n.crt");
        $der{$n} = der("$dir/twin$n.crt");
    }
    last if ($tbs_equal = tbs($der{1}) eq tbs($der{2}));
}
ok($tbs_equal && $der{1} ne $der{2}, 'twin certificates: the same TBS bytes, different signatures');

my %who = (
    twin1 => ["$dir/twin1.crt", "$dir/twin.key"],
    twin2 => ["$dir/twin2.crt", "$dir/twin.key"],
    ok    => [cert_file('client_ok'), key_file('client_ok')],
);
my %want;
for my $n (keys %who) {
    my $f = $who{$n}[0];
    my $d = $n eq 'twin1' ? $der{1} : $n eq 'twin2' ? $der{2} : der($f);
    (my $s = cmd('openssl', 'x509', '-in', $f, '-noout', '-subject', '-nameopt', 'RFC2253')) =~ s/^subject=//;
    (my $serial = cmd('openssl', 'x509', '-in', $f, '-noout', '-serial')) =~ s/^serial=//;
    chomp($s, $serial);
    $want{$n} = { SECURE_CLIENT_SHA256 => Digest::SHA::sha256_hex($d), SECURE_CLIENT_S_DN => $s,
                  SECURE_CLIENT_SERIAL => uc $serial };
}
isnt($want{twin1}{SECURE_CLIENT_SHA256}, $want{twin2}{SECURE_CLIENT_SHA256}, 'the twins\' fingerprints differ');

# 3 certificates x 12 rounds, one connection each, in turn (bounded: 36 connections, 10 s timeout each)
my (%bad, %seen);
for my $round (1 .. 12) {
    for my $n (qw(twin1 twin2 ok)) {
        my $r = tls_request(vhost => 'secure_main', path => '/info',
                            ssl => { SSL_cert_file => $who{$n}[0], SSL_key_file => $who{$n}[1] });
        my $v = info_json($r);
        $seen{$n}++ if ($r->{status} // 0) == 200;
        for my $k (sort keys %{ $want{$n} }) {
            my $got = $v->{$k} // '(unset)';
            push @{ $bad{$n} }, "round $round $k=$got" if $got ne $want{$n}{$k};
        }
    }
}
for my $n (qw(twin1 twin2 ok)) {
    is($seen{$n} // 0, 12, "$n: 12 connections answered");
    ok(!$bad{$n}, "$n: SHA-256, subject and serial match the certificate file on every connection")
        or diag(join("\n", @{ $bad{$n} }[0 .. ($#{ $bad{$n} } < 5 ? $#{ $bad{$n} } : 5)]));
}

# ClientHellos: three client shapes take turns, 12 rounds each. ab and ba differ only in the order of the
# same two ciphers (so the same sorted JA4 cipher hash, different JA3 and JA4_O); ba0 is ba without ALPN. Each answer is
# checked against what the client was told to send, and JA3 against the MD5 of its own JA3_STRING.
my %shape = (
    ab => { order => [49199, 49200], alpn => ['http/1.1'], ja4_alpn => 'h1',
            ciphers => 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384' },
    ba => { order => [49200, 49199], alpn => ['http/1.1'], ja4_alpn => 'h1',
            ciphers => 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256' },
    ba0 => { order => [49200, 49199], alpn => [], ja4_alpn => '00',
            ciphers => 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256' },
);
my (%hbad, %hseen, %ja4b);
for my $round (1 .. 12) {
    for my $n (qw(ab ba ba0)) {
        my $sh = $shape{$n};
        my $r = tls_request(vhost => 'secure_main', path => '/info',
                            ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => $sh->{ciphers},
                                     (@{ $sh->{alpn} } ? (SSL_alpn_protocols => $sh->{alpn}) : ()) });
        my $v = info_json($r);
        next unless ($r->{status} // 0) == 200;
        $hseen{$n}++;
        my @f = split /,/, $v->{SECURE_JA3_STRING} // '', -1;
        my @c = grep { $_ != 255 } split /-/, $f[1] // '';
        push @{ $hbad{$n} }, "round $round JA3_STRING ciphers '@c'" if "@c" ne "@{ $sh->{order} }";
        push @{ $hbad{$n} }, "round $round JA3 is not md5(JA3_STRING)"
            if ($v->{SECURE_JA3} // '') ne Digest::MD5::md5_hex($v->{SECURE_JA3_STRING} // '');
        my ($a, $b) = split /_/, $v->{SECURE_JA4} // '';
        push @{ $hbad{$n} }, "round $round JA4 '$v->{SECURE_JA4}' ALPN" if substr($a // '', -2) ne $sh->{ja4_alpn};
        push @{ $hbad{$n} }, "round $round JA4_O_ALPN '$v->{SECURE_JA4_O}'"
            if substr((split /_/, $v->{SECURE_JA4_O} // '')[0] // '', -2) ne $sh->{ja4_alpn};
        $ja4b{$n}{$b // ''}++;
    }
}
for my $n (qw(ab ba ba0)) {
    is($hseen{$n} // 0, 12, "hello shape $n: 12 connections answered");
    ok(!$hbad{$n}, "hello shape $n: JA3_STRING ciphers in the order sent, JA3 = md5, ALPN in JA4 and JA4_O, every time")
        or diag(join("\n", @{ $hbad{$n} }[0 .. ($#{ $hbad{$n} } < 5 ? $#{ $hbad{$n} } : 5)]));
}
is(scalar(keys %{ $ja4b{ab} }) + scalar(keys %{ $ja4b{ba} }) + scalar(keys %{ $ja4b{ba0} }), 3,
   'each shape has one JA4 cipher hash on every connection');
is((keys %{ $ja4b{ab} })[0], (keys %{ $ja4b{ba} })[0], '... the same for ab and ba (JA4 sorts the ciphers)');
