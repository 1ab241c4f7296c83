package SecureHello;
# Independent views of a ClientHello for the fingerprint tests: the bytes `openssl s_client -msg` says it
# sent, dissected by tshark (text2pcap + tshark, no capture privileges needed), and a JA4 computed here in
# Perl from tshark's fields — a second implementation that shares no code with mod_secure's C parser.
use strict;
use warnings FATAL => 'all';

use Digest::SHA qw(sha256_hex);
use File::Temp ();
use JSON::PP ();
use SecureTest ();

use Exporter 'import';
our @EXPORT_OK = qw(s_client_hello tshark_hello ja4_from_tshark ja4_original_from_tshark);

# Runs s_client with -msg against a vhost, asks for $path; returns a hash: out (all output), hello (the
# ClientHello handshake message bytes as a hex string, first hello only), json (the response body parsed
# as JSON when it is secure-info), rc.
sub s_client_hello {
    my %a = @_;
    my ($rc, $out) = SecureTest::s_client(%a, args => ['-msg', @{ $a{args} || [] }]);
    my @lines = split /\n/, $out;
    my @hex;
    for (my $i = 0; $i < @lines; $i++) {
        next unless $lines[$i] =~ /^>>> .*Handshake.*ClientHello/;
        for (my $j = $i + 1; $j < @lines && $lines[$j] =~ /^\s{4}([0-9a-f ]+)$/; $j++) {
            push @hex, split ' ', $1;
        }
        last;
    }
    my $json;
    if ($out =~ /(\{\s*\n\s*"SECURE_.*?\n\})/s) {
        $json = eval { JSON::PP->new->decode($1) };
    }
    return { rc => $rc, out => $out, hello => join('', @hex), json => $json || {} };
}

# tshark's dissection of one ClientHello (hex string of the handshake message). Returns a hash of the
# requested fields (comma-joined when repeated).
sub tshark_hello {
    my ($hex, @fields) = @_;
    my @b = ($hex =~ /(..)/g);
    my $n = @b;
    my @rec = ('16', '03', '01', sprintf('%02x', $n >> 8), sprintf('%02x', $n & 255), @b);
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    open my $fh, '>', "$dir/hello.txt" or die;
    for (my $off = 0; $off < @rec; $off += 16) {
        my $end = $off + 15 > $#rec ? $#rec : $off + 15;
        printf $fh "%06x %s\n", $off, join(' ', @rec[$off .. $end]);
    }
    close $fh;
    my ($rc, $out) = SecureTest::run_cmd(['text2pcap', '-q', '-T', '50000,443', "$dir/hello.txt",
                                          "$dir/hello.pcap"], '', 20);
    die "text2pcap: $out" if $rc;
    ($rc, $out) = SecureTest::run_cmd(['tshark', '-r', "$dir/hello.pcap", '-d', 'tcp.port==443,tls',
                                       '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a',
                                       '-E', 'aggregator=,', map { ('-e', $_) } @fields], '', 30);
    die "tshark: $out" if $rc;
    my ($line) = grep { /\|/ || @fields == 1 } grep { !/^Running as/ } split /\n/, $out;
    my @vals = split /\|/, ($line // ''), -1;
    my %h;
    @h{@fields} = map { $_ // '' } @vals;
    return \%h;
}

sub _grease { my $v = shift; return ($v & 0x0f0f) == 0x0a0a && ($v >> 8) == ($v & 0xff) }

# JA4 (FoxIO JA4.md) computed from tshark's fields of the hello.
sub ja4_from_tshark {
    my $hex = shift;
    my $t = tshark_hello($hex, qw(tls.handshake.version tls.handshake.ciphersuite tls.handshake.extension.type
                                  tls.handshake.sig_hash_alg tls.handshake.extensions.supported_version
                                  tls.handshake.extensions_alpn_str));
    my $nums = sub { [ map { /^0x/i ? hex($_) : $_ + 0 } grep { length } split /,/, (shift // '') ] };
    my @ciphers = grep { !_grease($_) } @{ $nums->($t->{'tls.handshake.ciphersuite'}) };
    my @exts = grep { !_grease($_) } @{ $nums->($t->{'tls.handshake.extension.type'}) };
    my @sigs = @{ $nums->($t->{'tls.handshake.sig_hash_alg'}) };
    my @vers = grep { !_grease($_) } @{ $nums->($t->{'tls.handshake.extensions.supported_version'}) };
    my ($ver) = sort { $b <=> $a } @vers;
    $ver //= hex($t->{'tls.handshake.version'} =~ s/^0x//r);
    my %vname = (0x0304 => '13', 0x0303 => '12', 0x0302 => '11', 0x0301 => '10', 0x0300 => 's3');
    my $sni = (grep { $_ == 0 } @exts) ? 'd' : 'i';
    my ($alpn) = split /,/, $t->{'tls.handshake.extensions_alpn_str'} // '';
    my $a_alpn = defined $alpn && length $alpn ? substr($alpn, 0, 1) . substr($alpn, -1) : '00';
    my $a = sprintf('t%s%s%02d%02d%s', $vname{$ver} // '00', $sni, @ciphers > 99 ? 99 : scalar @ciphers,
                    @exts > 99 ? 99 : scalar @exts, $a_alpn);
    my $clist = join ',', sort map { sprintf '%04x', $_ } @ciphers;
    my $elist = join ',', sort map { sprintf '%04x', $_ } grep { $_ != 0 && $_ != 16 } @exts;
    my $slist = join ',', map { sprintf '%04x', $_ } @sigs;
    my $b = @ciphers ? substr(sha256_hex($clist), 0, 12) : '000000000000';
    my $cin = $slist ne '' ? "${elist}_$slist" : $elist;
    my $c = @exts ? substr(sha256_hex($cin), 0, 12) : '000000000000';
    return ("${a}_${b}_${c}", "${a}_${clist}_${cin}");
}

# JA4_o and JA4_ro (FoxIO JA4.md, original order): part a as in JA4; ciphers and every extension (SNI and
# ALPN included) in the order tshark dissected them from the wire, GREASE dropped; signature algorithms as
# sent. Returns (JA4_o, JA4_ro).
sub ja4_original_from_tshark {
    my $hex = shift;
    my ($ja4) = ja4_from_tshark($hex);
    my $a = substr($ja4, 0, 10);
    my $t = tshark_hello($hex, qw(tls.handshake.ciphersuite tls.handshake.extension.type tls.handshake.sig_hash_alg));
    my $nums = sub { [ map { /^0x/i ? hex($_) : $_ + 0 } grep { length } split /,/, (shift // '') ] };
    my @ciphers = grep { !_grease($_) } @{ $nums->($t->{'tls.handshake.ciphersuite'}) };
    my @exts = grep { !_grease($_) } @{ $nums->($t->{'tls.handshake.extension.type'}) };
    my $clist = join ',', map { sprintf '%04x', $_ } @ciphers;
    my $elist = join ',', map { sprintf '%04x', $_ } @exts;
    my $slist = join ',', map { sprintf '%04x', $_ } @{ $nums->($t->{'tls.handshake.sig_hash_alg'}) };
    my $cin = $slist ne '' ? "${elist}_$slist" : $elist;
    my $b = @ciphers ? substr(sha256_hex($clist), 0, 12) : '000000000000';
    my $c = @exts ? substr(sha256_hex($cin), 0, 12) : '000000000000';
    return ("${a}_${b}_${c}", "${a}_${clist}_${cin}");
}

1;
