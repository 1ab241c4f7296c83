# SecureRevocationScope chain (vhost revoke_chain, trusts only the asf root): an intermediate CA made
# here under the asf root issues a leaf; the client sends leaf + intermediate. Revoking the intermediate
# in the root's CRL refuses the leaf, though the leaf itself is on no CRL. The intermediate's own CRL is
# refused: its signer is not among the vhost's trusted CAs (SSLCACertificateFile holds only the root).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(tls_request info_json s_client error_log_mark error_log_since alert_of client);
use SecureRevoke qw(install_file);
use SecurePKI qw(scratch_ca new_ca issue revoke gencrl serial_of);

plan tests => 8, need_module('mod_ssl.c', 'mod_secure.c');

my $rv = Apache::Test::config()->{vars}->{t_logs} . '/revoke';
my $root = scratch_ca("$rv/chain-root");
my $int = new_ca("$rv/chain-int", 'mod_secure test intermediate', $root);
my ($leaf, $leaf_key) = issue($int, 'chain_leaf');
my $bundle = "$rv/chain-int/chain_leaf+int.pem";
{
    open my $out, '>', $bundle or die;
    for my $f ($leaf, "$rv/chain-int/ca.crt") { open my $in, "<", $f or die; local $/; my $pem = <$in>; print {$out} $pem }
}
my $root_crl = "$rv/chain/root.crl";
my $int_crl = "$rv/chain/int.crl";
install_file($root_crl, src => gencrl($root, "$rv/chain-root/crl0.pem"));
install_file($int_crl, src => gencrl($int, "$rv/chain-int/crl0.der", der => 1));
Time::HiRes::sleep(2.5);

my $mark = error_log_mark();
my $r = tls_request(vhost => 'revoke_chain', path => '/info', ssl => { SSL_cert_file => $bundle, SSL_key_file => $leaf_key });
my $v = info_json($r);
is($r->{status}, 200, 'leaf from the intermediate, intermediate not revoked in the root CRL: 200');
is($v->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', '... UNKNOWN: no verifiable CRL from the intermediate (allow)');
like(error_log_since(0), qr/SEC10405: .*CRL file \Q$int_crl\E refused: its issuer 'O=mod_secure test,CN=mod_secure test intermediate' is not among the vhost's trusted CAs/,
     "the intermediate's CRL is refused with the reason");

$mark = error_log_mark();
revoke($root, "$rv/chain-int/ca.crt", 'cACompromise');
install_file($root_crl, src => gencrl($root, "$rv/chain-root/crl1.pem"));
Time::HiRes::sleep(2.5);
for my $ver ('-tls1_2', '-tls1_3') {
    my ($rc, $out) = s_client(vhost => 'revoke_chain', path => '/info',
                              args => [$ver, '-cert', $leaf, '-key', $leaf_key, '-cert_chain', "$rv/chain-int/ca.crt"]);
    is(alert_of($out), 44, "intermediate revoked in the root's CRL: the leaf is refused with alert 44 ($ver)");
}
my $int_serial = serial_of("$rv/chain-int/ca.crt");
like(error_log_since($mark), qr/SEC10301: .*certificate '[^']*CN=mod_secure test intermediate[^']*' \(serial 0*\Q$int_serial\E,.* at depth 1 is revoked \(source crl, reason cACompromise/,
     'the log names the intermediate, its serial, depth 1 and the reason');

# removing the root's CRL takes effect too: the intermediate is no longer known revoked (UNKNOWN, allow)
unlink $root_crl;
Time::HiRes::sleep(2.5);
$r = tls_request(vhost => 'revoke_chain', path => '/info', ssl => { SSL_cert_file => $bundle, SSL_key_file => $leaf_key });
is(info_json($r)->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', "root CRL removed: the leaf is UNKNOWN again (allow), not refused");
like(error_log_since($mark), qr/SEC10407: .*CRL file \Q$root_crl\E is gone/, 'the removed CRL file is logged');
