# SecureDenyList by serial + issuer DN where the DN holds a '#' or is longer than 1023 characters (issue 9
# finding 8): each entry works, or the line is reported as bad; none is silently never matched.
# Vhost revoke_denylist (t/conf/revoke_denylist.conf.in): deny list dn-deny.txt checked every second, no CRL,
# unknown allowed. The test makes three intermediates under the asf root with `openssl x509 -req` (which keeps
# the subject as given): "CN=ops#2 int" ('#' inside a value), "CN=Team #1" ('#' after a blank, which the file
# must write as '\#') and one with 22 OUs (a DN of about 1,400 characters). Each issues leaves with serials
# 1000 and 1001; the client sends leaf + intermediate.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use Time::HiRes ();
use SecureTest qw(s_client tls_request info_json run_cmd sslca cert_file key_file error_log_mark
                  error_log_since alert_of client write_file);
use SecureRevoke qw(install_file);

plan tests => 18, need_module('mod_ssl.c', 'mod_secure.c');

my $rv = Apache::Test::config()->{vars}->{t_logs} . '/revoke';
my $dir = "$rv/dn-pki";
my $deny = "$rv/dn-deny.txt";
my $asf = sslca();
File::Path::remove_tree($dir);
File::Path::make_path($dir);

sub openssl {
    my ($rc, $out) = run_cmd(['openssl', @_], '', 60);
    die "openssl @_: $out" if $rc;
    return $out;
}

write_file("$dir/ca.cnf", "basicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign, cRLSign\n"
                          . "subjectKeyIdentifier = hash\n");
write_file("$dir/leaf.cnf", "basicConstraints = CA:false\nkeyUsage = critical, digitalSignature\n"
                            . "extendedKeyUsage = clientAuth\n");

# An intermediate with the subject given in openssl's "/A=b/C=d" syntax, signed by the asf root.
sub intermediate {
    my ($name, $subj, $serial) = @_;
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', "$dir/$name.key");
    openssl('req', '-new', '-key', "$dir/$name.key", '-subj', $subj, '-out', "$dir/$name.csr");
    openssl('x509', '-req', '-in', "$dir/$name.csr", '-CA', "$asf/certs/ca.crt", '-CAkey', "$asf/keys/ca.pem",
            '-passin', 'pass:httpd', '-set_serial', $serial, '-days', '2', '-extfile', "$dir/ca.cnf",
            '-out', "$dir/$name.crt");
    return $name;
}
# A leaf of $int with serial $serial; returns the s_client arguments that present it with its chain.
sub leaf {
    my ($int, $serial) = @_;
    my $n = "$int-$serial";
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', "$dir/$n.key");
    openssl('req', '-new', '-key', "$dir/$n.key", '-subj', "/CN=leaf $serial of $int", '-out', "$dir/$n.csr");
    openssl('x509', '-req', '-in', "$dir/$n.csr", '-CA', "$dir/$int.crt", '-CAkey', "$dir/$int.key",
            '-set_serial', "0x$serial", '-days', '2', '-extfile', "$dir/leaf.cnf", '-out', "$dir/$n.crt");
    return ['-cert', "$dir/$n.crt", '-key', "$dir/$n.key", '-cert_chain', "$dir/$int.crt"];
}
sub issuer_rfc2253 {
    my $int = shift;
    (my $dn = openssl('x509', '-in', "$dir/$int.crt", '-noout', '-subject', '-nameopt', 'RFC2253')) =~ s/^subject=//;
    chomp $dn;
    return $dn;
}
# handshake + request with a client certificate: (status line seen, alert number)
sub try_cert {
    my $args = shift;
    my ($rc, $out) = s_client(vhost => 'revoke_denylist', path => '/info', args => ['-tls1_3', @$args]);
    return ($out =~ /HTTP\/1\.1 200/ ? 200 : 0, alert_of($out));
}

my $ou = join '', map { sprintf('/OU=organisational unit number %02d of a very deep hierarchy', $_) } 1 .. 22;
my $long_legacy = "/O=mod_secure test$ou/CN=long int";
intermediate('hash', '/O=mod_secure test/CN=ops#2 int', '0x7001');
intermediate('team', '/O=mod_secure test/CN=Team #1', '0x7002');
intermediate('long', $long_legacy, '0x7003');
my %leaf = map { my ($i, $s) = @$_; ("$i-$s" => leaf($i, $s)) } ['hash', 1000], ['hash', 1001], ['team', 1000],
                                                                  ['long', 1000], ['long', 1001];
my $hash_dn = issuer_rfc2253('hash');
my $team_dn = issuer_rfc2253('team');
my $long_dn = issuer_rfc2253('long');
is($team_dn, 'CN=Team #1,O=mod_secure test', "openssl prints the '#' after a blank as it is: $team_dn");
cmp_ok(length $long_dn, '>', 1023, 'the long issuer DN has ' . length($long_dn) . ' characters');

(my $team_escaped = $team_dn) =~ s/ #/ \\#/;
my $mark = error_log_mark();
install_file($deny, data => "# issuers with '#' and a long DN\n"
                            . "serial 1000 $hash_dn\n"             # line 2
                            . "serial 1000 $team_escaped\n"        # line 3
                            . "serial 1001 $team_dn\n"             # line 4: ambiguous, reported
                            . "serial 1000 $long_dn\n"             # line 5
                            . "serial 1001 $long_legacy\n");       # line 6
Time::HiRes::sleep(2.5);
my $log = error_log_since($mark);
like($log, qr/SEC10314: .*dn-deny\.txt (?:re)?loaded: 4 entries, 1 bad lines/, 'the deny list is loaded: 4 entries, 1 bad line');
like($log, qr/SEC10310: .*dn-deny\.txt line 4 ignored: a '#' after a blank in the issuer DN could start a comment or belong to the DN; write a '#' that is part of the DN as '\\+#'/,
     "the line with 'Team #1' written as openssl prints it is reported, with what to write instead");

$mark = error_log_mark();
my @cases = (['hash-1000', "'#' inside a value ($hash_dn)", 2],
             ['team-1000', "'#' after a blank, written '\\#'", 3],
             ['long-1000', 'a DN of ' . length($long_dn) . ' characters (RFC 2253)', 5],
             ['long-1001', "the same DN in the legacy '/O=.../CN=...' spelling", 6]);
for my $c (@cases) {
    my ($status, $alert) = try_cert($leaf{$c->[0]});
    is($alert, 44, "deny list by serial + issuer DN with $c->[1]: refused with alert 44");
}
$log = error_log_since($mark);
for my $c (@cases[0, 2]) {
    like($log, qr/SEC10301: .*CN=leaf \Q${\ join ' of ', reverse split m{-}, $c->[0]}\E.*source denylist; SecureDenyList \S*dn-deny\.txt line $c->[2]\b/,
         "... the refusal names the deny list line $c->[2]");
}

my ($status) = try_cert($leaf{'hash-1001'});
is($status, 200, 'a leaf of the same issuer with another serial is not refused');
($status) = try_cert(leaf('team', '1001'));
is($status, 200, "the serial on the reported (ambiguous) line is not in force: its leaf gets 200");

install_file($deny, data => "\n");
Time::HiRes::sleep(2.5);
($status) = try_cert($leaf{'long-1000'});
is($status, 200, 'deny list emptied: the long-DN leaf is admitted again');

# A deny list that could not be read at startup (mode 000) refuses every client certificate, not none; once the
# file is readable the next check loads it and the refusals stop, without a restart (issue 9 finding 9).
my $unread = "$rv/unreadable-deny.txt";
like(error_log_since(0), qr/SEC10313: .*unreadable-deny\.txt cannot be read; client certificates are refused until it can be read/,
     'startup: the unreadable deny list is logged');
$mark = error_log_mark();
my ($rc, $out) = s_client(vhost => 'revoke_denylist_unread', path => '/info',
                          args => ['-tls1_3', '-cert', cert_file('client_ok'), '-key', key_file('client_ok')]);
is(alert_of($out), 44, 'client_ok (on no list) is refused with alert 44 while the deny list has never been read');
like(error_log_since($mark), qr/SEC10301: .*CN=client_ok.*source denylist; SecureDenyList \S*unreadable-deny\.txt has not been read successfully/,
     '... and the refusal says why');
my $r = tls_request(vhost => 'revoke_denylist_unread', path => '/info');
is($r->{status}, 200, '... a connection without a client certificate is still served');
chmod 0644, $unread or die "chmod: $!";
Time::HiRes::sleep(2.5);
$r = tls_request(vhost => 'revoke_denylist_unread', path => '/info',
                 ssl => { client('client_ok') });
is(info_json($r)->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', 'the file made readable: loaded at the next check, client_ok admitted (UNKNOWN, allow)');
