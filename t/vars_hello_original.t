# SECURE_JA4_O and SECURE_JA4_RO, the JA4 specification's original-order variants (ciphers and extensions as
# the client sent them, SNI and ALPN kept among the extensions), each checked against an independent
# computation from tshark's dissection of the very hello the client sent (t/lib/SecureHello.pm), and against
# SECURE_JA4_R (same sets, other order). Config: t/conf/secure_basic.conf.in (secure_main, /info).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureHello qw(s_client_hello ja4_original_from_tshark);

plan tests => 22, need_module('mod_ssl.c', 'mod_secure.c');

my @cases = (
    ['TLS 1.3, groups and ALPN offered', ['-tls1_3', '-groups', 'X25519:P-256:P-384', '-alpn', 'foo,http/1.1'], 'localhost'],
    ['TLS 1.2, one cipher, no SNI', ['-tls1_2', '-cipher', 'ECDHE-RSA-AES256-GCM-SHA384'], ''],
    ['default client', [], 'localhost'],
);
for my $case (@cases) {
    my ($name, $args, $sni) = @$case;
    my $h = s_client_hello(vhost => 'secure_main', path => '/info', args => $args, sni => $sni);
    my $v = $h->{json};
    ok(length $h->{hello} > 100, "$name: s_client printed its ClientHello");
    my ($o, $ro) = ja4_original_from_tshark($h->{hello});
    is($v->{SECURE_JA4_O}, $o, "$name: SECURE_JA4_O = JA4_o computed from tshark's fields");
    is($v->{SECURE_JA4_RO}, $ro, "$name: SECURE_JA4_RO = JA4_ro from tshark's fields");
    # the same sets as the sorted variant: JA4_RO sorted (without SNI and ALPN) is JA4_R
    my ($a, $c, $e, $s) = split /_/, $v->{SECURE_JA4_RO} // '', 4;
    my ($ra, $rc, $re, $rs) = split /_/, $v->{SECURE_JA4_R} // '', 4;
    is(join(',', sort split /,/, $c // ''), $rc, "$name: JA4_RO's ciphers sorted = JA4_R's");
    is(join(',', sort grep { $_ ne '0000' && $_ ne '0010' } split /,/, $e // ''), $re,
       "$name: JA4_RO's extensions without SNI / ALPN, sorted = JA4_R's");
    is($a, substr($v->{SECURE_JA4} // '', 0, 10), "$name: part a is JA4's");
}

# Order is what the original variants add: the same suites in two orders give one JA4 and two JA4_O.
my @h = map {
    s_client_hello(vhost => 'secure_main', path => '/info',
                   args => ['-tls1_3', '-ciphersuites', $_])->{json}
} ('TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256');
is($h[0]{SECURE_JA4}, $h[1]{SECURE_JA4}, 'two cipher orders: the same SECURE_JA4');
isnt($h[0]{SECURE_JA4_O}, $h[1]{SECURE_JA4_O}, '... but two SECURE_JA4_O');
like($h[0]{SECURE_JA4_RO} // '', qr/^t13d\d{4}\w\w_1303,1301[,_]/, '... SECURE_JA4_RO lists them as sent (1303,1301)');
like($h[1]{SECURE_JA4_RO} // '', qr/^t13d\d{4}\w\w_1301,1303[,_]/, '... and (1301,1303)');
